//! Deployable artifacts of the spec targets, parsed back: Splunk `savedsearches.conf` (with a
//! small reader of .conf syntax, continuation lines included), Defender `.kql` files with their
//! header comment, Sentinel analytic rule YAML; and correlation rules.

#[path = "target_util.rs"]
mod util;

use std::collections::BTreeMap;

use detc::target::{Backend, Compiled, Ctx, Outcome};
use util::*;

const PACK: &str = r#"
rule net_add {
  title "Local account added [admin] by net.exe"
  id 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10
  status experimental
  level high
  description "First line
    second line ends with a backslash \
    [fake] = stanza"
  attack T1136.001 T1098 persistence
  refs "https://example.org/a"
  logsource product=windows category=process_creation
  net = Image endswith "\net.exe", "\net1.exe"
  add = CommandLine contains all "localgroup", "/add"
  condition net and add
}

rule failed_logon {
  title "Failed logon"
  id 0d1c5e9a-4b7f-4a43-9a0c-1f2e3d4c5b6a
  level low
  logsource product=windows service=security
  sel = EventID 4625
  condition sel
}

rule rdp_conn {
  title "RDP connection"
  level medium
  logsource product=windows category=network_connection
  sel = DestinationPort 3389
  condition sel
}

correlation many_net_adds {
  title "Many local accounts added"
  id 2a7c0d1e-9f8b-4c6d-8e5f-3a2b1c0d9e8f
  level high
  type event_count
  rules net_add
  group-by Computer
  timespan 1h
  condition gte 5
}
"#;

fn build(target_name: &str) -> (Vec<(String, Outcome)>, Vec<detc::target::OutFile>) {
    let (rules, exprs) = pack(PACK);
    let t = target(target_name);
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let outcomes: Vec<(String, Outcome)> = (0..rules.len())
        .map(|i| (rules[i].name.clone(), t.compile(i, &cx)))
        .collect();
    let compiled: Vec<(&detc::ir::Rule, &Compiled)> = outcomes
        .iter()
        .zip(&rules)
        .filter_map(|((_, o), r)| match o {
            Outcome::Compiled(c) => Some((r, c)),
            Outcome::Skipped(_) => None,
        })
        .collect();
    let shared = t.finish(&compiled).expect("finish");
    (outcomes, shared)
}

/// Splunk .conf reader: `[stanza]`, `key = value`, a trailing `\` continues the value on the
/// next line (the newline is kept), `#` comments.
fn parse_conf(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') {
            assert!(t.ends_with(']'), "bad stanza line {t:?}");
            let name = t[1..t.len() - 1].to_string();
            assert!(!name.contains(['[', ']']), "{name}");
            assert!(
                out.insert(name.clone(), BTreeMap::new()).is_none(),
                "duplicate stanza {name}"
            );
            current = Some(name);
            continue;
        }
        let (k, v) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("not key = value: {line:?}"));
        let mut value = v.to_string();
        while value.ends_with('\\') {
            value.pop();
            value.push('\n');
            value.push_str(lines.next().expect("continuation"));
        }
        let stanza = current.clone().expect("key outside a stanza");
        out.get_mut(&stanza)
            .unwrap()
            .insert(k.trim().to_string(), value);
    }
    out
}

#[test]
fn savedsearches_conf_parses_back() {
    for t in ["splunk", "splunk-cim"] {
        let (outcomes, shared) = build(t);
        assert_eq!(shared.len(), 2);
        assert_eq!(shared[0].path, format!("{t}/savedsearches.conf"));
        assert_eq!(shared[1].path, format!("{t}/macros.conf"));
        let macros = parse_conf(&shared[1].contents);
        let conf = parse_conf(&shared[0].contents);
        let compiled: Vec<(&String, &Compiled)> = outcomes
            .iter()
            .filter_map(|(n, o)| match o {
                Outcome::Compiled(c) => Some((n, c)),
                Outcome::Skipped(_) => None,
            })
            .collect();
        assert_eq!(conf.len(), compiled.len(), "{t}: {}", shared[0].contents);
        for (name, c) in compiled {
            assert_eq!(
                c.shared_files,
                vec![
                    format!("{t}/savedsearches.conf"),
                    format!("{t}/macros.conf")
                ]
            );
            // Every macro a search calls (a correlation's too: its rules' searches are in it)
            // has a stanza in macros.conf.
            for m in c.query.as_deref().unwrap().split('`').skip(1).step_by(2) {
                let stanza = macros
                    .iter()
                    .find(|(k, _)| k.as_str() == m)
                    .unwrap_or_else(|| panic!("{t}: {name} calls `{m}`, not in macros.conf"))
                    .1;
                assert!(!stanza["definition"].is_empty());
                assert_eq!(stanza["iseval"], "0");
            }
            let (_, stanza) = conf
                .iter()
                .find(|(k, _)| k.ends_with(&format!("({name})")))
                .unwrap_or_else(|| panic!("{t}: no stanza for {name}"));
            assert_eq!(stanza["search"], c.query.clone().unwrap());
            assert_eq!(stanza["enableSched"], "1");
            let ann: serde_json::Value =
                serde_json::from_str(&stanza["action.correlationsearch.annotations"]).unwrap();
            assert_eq!(ann["detc_rule"], serde_json::json!(name));
            if name == "net_add" {
                assert_eq!(
                    ann["mitre_attack"],
                    serde_json::json!(["T1136.001", "T1098"])
                );
                let d = &stanza["description"];
                assert!(d.starts_with("First line\n"), "{d:?}");
                assert!(d.contains("[fake] = stanza"), "{d:?}");
            }
        }
    }
}

#[test]
fn splunk_compiles_the_whole_pack_including_the_correlation() {
    let (outcomes, _) = build("splunk");
    for (n, o) in &outcomes {
        assert!(matches!(o, Outcome::Compiled(_)), "{n}: {o:?}");
    }
    let Outcome::Compiled(c) = &outcomes[3].1 else {
        unreachable!()
    };
    let q = c.query.as_deref().unwrap();
    assert!(q.ends_with(r#"| eval detc_rule="net_add" | bin _time span=1h | stats count as event_count by _time Computer | search event_count>=5"#), "{q}");
}

#[test]
fn defender_kql_files_have_a_header_comment() {
    let (outcomes, shared) = build("kql-defender");
    assert!(shared.is_empty());
    let mut seen = 0;
    for (name, o) in &outcomes {
        match o {
            Outcome::Compiled(c) => {
                seen += 1;
                assert_eq!(c.files.len(), 1);
                let f = &c.files[0];
                assert_eq!(f.path, format!("kql-defender/{name}.kql"));
                let q = c.query.as_deref().unwrap();
                let (header, body) = f
                    .contents
                    .split_at(f.contents.find(q).expect("query in file"));
                assert!(header.lines().all(|l| l.starts_with("//")), "{header}");
                assert!(header.contains("// ATT&CK: T1136.001, T1098") || name != "net_add");
                // The Security log is not in Defender XDR: read from the Sentinel workspace,
                // and the header says so.
                assert_eq!(
                    header.contains("// data: Microsoft Sentinel table SecurityEvent"),
                    name == "failed_logon",
                    "{header}"
                );
                assert_eq!(body.trim_end(), q);
            }
            Outcome::Skipped(d) => panic!("{name}: {d:?}"),
        }
    }
    assert_eq!(seen, 4);
}

#[test]
fn sentinel_analytic_rules_parse_as_yaml() {
    let (outcomes, _) = build("kql-sentinel");
    for (name, o) in &outcomes {
        let Outcome::Compiled(c) = o else {
            panic!("{name}: {o:?}")
        };
        let f = &c.files[0];
        assert_eq!(f.path, format!("kql-sentinel/{name}.yaml"));
        let y: serde_yaml::Value =
            serde_yaml::from_str(&f.contents).unwrap_or_else(|e| panic!("{e}\n{}", f.contents));
        assert_eq!(y["query"].as_str(), c.query.as_deref());
        assert_eq!(y["kind"].as_str(), Some("Scheduled"));
        for k in [
            "id",
            "name",
            "description",
            "severity",
            "requiredDataConnectors",
            "queryFrequency",
            "queryPeriod",
            "triggerOperator",
            "triggerThreshold",
            "tactics",
            "relevantTechniques",
            "entityMappings",
            "version",
        ] {
            assert!(y.get(k).is_some(), "{name}: missing {k}\n{}", f.contents);
        }
        if name == "net_add" {
            assert_eq!(y["severity"].as_str(), Some("High"));
            assert_eq!(y["tactics"][0].as_str(), Some("Persistence"));
            assert_eq!(
                y["name"].as_str(),
                Some("Local account added [admin] by net.exe")
            );
            assert_eq!(
                y["requiredDataConnectors"][0]["connectorId"].as_str(),
                Some("MicrosoftThreatProtection")
            );
        }
        if name == "failed_logon" {
            assert_eq!(
                c.query.as_deref(),
                Some("SecurityEvent\n| where EventID == 4625")
            );
        }
        if name == "many_net_adds" {
            let q = c.query.as_deref().unwrap();
            assert!(
                q.contains("| summarize event_count = count() by bin(TimeGenerated, 1h), Computer"),
                "{q}"
            );
            assert_eq!(y["queryPeriod"].as_str(), Some("1h"));
        }
    }
}
