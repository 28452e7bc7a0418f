//! The KQL targets' fallback data sources: kql-defender reads Microsoft Sentinel workspace
//! tables (advanced hunting in the unified Defender portal) only where Defender XDR has no
//! native table or the native entry cannot express a rule, says so in the `note` (manifest
//! `data`, `.kql` header), and both targets read the ASIM parsers (`_Im_WebSession()`,
//! `_Im_NetworkSession()`) for proxy Host headers and IDS alerts. The queries, correlations
//! included, parse and analyse with Kusto.Language against the kept schemas.

#[path = "target_util.rs"]
mod util;

use detc::target::{Compiled, Outcome};
use serde_json::json;
use util::*;

/// Compile a one-rule pack; the compiled result or the skip diagnostic's message and notes.
fn compiled(target_name: &str, logsource: &str, body: &str) -> Result<Compiled, String> {
    let (rules, exprs) = pack(&rule_src("t", logsource, body));
    match compile(&target(target_name), &rules, &exprs, 0) {
        Outcome::Compiled(c) => Ok(c),
        Outcome::Skipped(d) => Err(format!("{} {:?}", d.message, d.notes)),
    }
}

/// A Defender XDR Advanced Hunting table (read natively by kql-defender, no `note`), as opposed
/// to a Microsoft Sentinel workspace table.
fn is_xdr(table: &str) -> bool {
    table.starts_with("Device") || table == "CloudAppEvents"
}

/// The first line of a query: the table or function it reads.
fn source(c: &Compiled) -> &str {
    c.query.as_deref().unwrap().lines().next().unwrap()
}

#[test]
fn sentinel_tables_kept_by_both_kql_targets_are_equal() {
    let (d, s) = (target("kql-defender"), target("kql-sentinel"));
    let shared: Vec<&String> = d.tables.keys().filter(|t| !is_xdr(t)).collect();
    for t in [
        "SecurityEvent",
        "WindowsEvent",
        "CommonSecurityLog",
        "W3CIISLog",
        "DnsEvents",
        "_Im_WebSession()",
        "_Im_NetworkSession()",
    ] {
        assert!(
            shared.iter().any(|s| s.as_str() == t),
            "kql-defender lacks {t}"
        );
    }
    for t in shared {
        assert_eq!(d.tables.get(t), s.tables.get(t), "table {t} differs");
    }
}

/// The Sentinel data both KQL targets read (every entry on a table that is not a Defender XDR
/// table): the same entries, in the same order, with the same fields, in both targets.
#[test]
fn sentinel_data_entries_of_both_kql_targets_agree() {
    let (d, s) = (target("kql-defender"), target("kql-sentinel"));
    let sentinel_data = |b: &detc::target::spec_backend::SpecBackend| {
        b.spec
            .logsources
            .iter()
            .filter(|e| e.table.as_deref().is_some_and(|t| !is_xdr(t)))
            .map(|e| {
                (
                    e.when.clone(),
                    e.table.clone(),
                    e.constraint.clone(),
                    e.fields.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (de, se) = (sentinel_data(&d), sentinel_data(&s));
    assert!(de.len() >= 30, "{}", de.len());
    assert_eq!(de, se);
    // kql-defender says what each of them reads.
    for e in d
        .spec
        .logsources
        .iter()
        .filter(|e| e.table.as_deref().is_some_and(|t| !is_xdr(t)))
    {
        assert!(e.note.is_some(), "{:?} has no note", e.when);
        assert_eq!(
            e.extend.get("Timestamp").map(String::as_str),
            Some("TimeGenerated")
        );
    }
}

#[test]
fn defender_prefers_native_tables() {
    let c = compiled(
        "kql-defender",
        PROC,
        "  sel = Image endswith \"\\\\net1.exe\"\n  condition sel",
    )
    .unwrap();
    assert_eq!(source(&c), "DeviceProcessEvents");
    assert_eq!(c.note, None);
    let kql = &c.files[0].contents;
    assert!(!kql.contains("// data:"), "{kql}");

    let c = compiled(
        "kql-defender",
        "product=windows category=file_delete",
        "  sel = TargetFilename endswith \".pf\"\n  condition sel",
    )
    .unwrap();
    assert_eq!(source(&c), "DeviceFileEvents");
    assert_eq!(c.note, None);

    // Microsoft 365 audit records: CloudAppEvents (the record in RawEventData) first.
    let c = compiled(
        "kql-defender",
        "product=m365 service=audit",
        "  sel = Operation \"New-InboxRule\"\n  d = Directionality \"Inbound\"\n  condition sel and d",
    )
    .unwrap();
    assert_eq!(source(&c), "CloudAppEvents");
    assert_eq!(c.note, None);
    assert!(
        c.query
            .as_deref()
            .unwrap()
            .contains("tostring(RawEventData.Directionality) =~ \"Inbound\""),
        "{:?}",
        c.query
    );
    // kql-sentinel reads the same records from OfficeActivity.
    let c = compiled(
        "kql-sentinel",
        "product=m365 service=audit",
        "  sel = Operation \"New-InboxRule\"\n  condition sel",
    )
    .unwrap();
    assert_eq!(source(&c), "OfficeActivity");
}

#[test]
fn defender_falls_back_to_sentinel_tables_and_says_so() {
    let cases = [
        // Defender XDR has no column for Sysmon's User: the Sysmon channel has.
        (
            "product=windows category=file_delete",
            "  sel = TargetFilename endswith \".pf\"\n  u = User endswith \"\\\\SYSTEM\"\n  condition sel and not u",
            "WindowsEvent",
            "Microsoft Sentinel table WindowsEvent",
        ),
        // No Defender XDR table for these log sources at all.
        (
            "product=windows service=security",
            "  sel = EventID 4720\n  condition sel",
            "SecurityEvent",
            "Microsoft Sentinel table SecurityEvent",
        ),
        (
            "product=windows category=ps_script",
            "  sel = ScriptBlockText contains \"Set-MpPreference\"\n  condition sel",
            "WindowsEvent",
            "Microsoft Sentinel table WindowsEvent",
        ),
        (
            "category=firewall",
            "  sel = dst_port 445\n  condition sel",
            "CommonSecurityLog",
            "Microsoft Sentinel table CommonSecurityLog",
        ),
        // CEF has no Host header column: the ASIM Web Session parser does.
        (
            "category=proxy",
            "  sel = \"cs-host\" endswith \".example\"\n  condition sel",
            "_Im_WebSession()",
            "ASIM Web Session parser _Im_WebSession",
        ),
        (
            "category=ids",
            "  sel = alert_signature contains \"ETERNALBLUE\"\n  condition sel",
            "_Im_NetworkSession()",
            "ASIM Network Session parser _Im_NetworkSession",
        ),
    ];
    for (ls, body, table, note) in cases {
        let c = compiled("kql-defender", ls, body).unwrap_or_else(|e| panic!("{ls}: {e}"));
        assert_eq!(source(&c), table, "{ls}");
        let n = c.note.clone().unwrap_or_default();
        assert!(n.starts_with(note), "{ls}: {n}");
        let kql = &c.files[0].contents;
        assert!(kql.contains(&format!("// data: {n}\n")), "{kql}");
        // Correlations and custom detections read Timestamp; Sentinel tables have TimeGenerated.
        assert!(
            c.query
                .as_deref()
                .unwrap()
                .contains("| extend Timestamp = TimeGenerated"),
            "{ls}"
        );
    }
}

#[test]
fn asim_entries_select_their_event_types() {
    for t in ["kql-defender", "kql-sentinel"] {
        let c = compiled(
            t,
            "category=proxy",
            "  sel = \"cs-host\" re \"^\\\\d+\\\\.\"\n  condition sel",
        )
        .unwrap();
        let q = c.query.unwrap();
        assert!(q.contains("| where EventType == \"HTTPsession\""), "{q}");
        assert!(q.contains("HttpHost matches regex"), "{q}");
        let c = compiled(
            t,
            "category=ids",
            "  sel = alert_signature contains \"MS17-010\"\n  condition sel",
        )
        .unwrap();
        let q = c.query.unwrap();
        assert!(q.contains("| where EventType == \"IDS\""), "{q}");
        assert!(q.contains("ThreatName contains \"MS17-010\""), "{q}");
    }
}

#[test]
fn a_field_no_entry_has_is_still_skipped_with_each_fallbacks_reason() {
    // Neither CEF, ASIM Web Session nor the W3C custom table keeps the HTTP version.
    let e = compiled(
        "kql-defender",
        "category=proxy",
        "  sel = \"cs-version\" \"HTTP/1.0\"\n  condition sel",
    )
    .unwrap_err();
    assert!(e.contains("cs-version"), "{e}");
    assert!(e.contains("fallback (ASIM Web Session parser"), "{e}");
    assert!(e.contains("WebProxy_CL"), "{e}");
}

const FALLBACK_PACK: &str = r#"
rule user_added {
  title "user added"
  logsource product=windows service=security
  sel = EventID 4720
  condition sel
}
rule ip_host {
  title "ip host"
  logsource category=proxy
  sel = "cs-host" re "^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?$"
  condition sel
}
rule ids {
  title "ids"
  logsource category=ids
  sel = alert_signature contains "DOUBLEPULSAR"
  condition sel
}
correlation many_users {
  title "many users"
  type event_count
  rules user_added
  group-by Computer
  timespan 1h
  condition gte 5
}
correlation many_hosts {
  title "many hosts"
  type value_count
  rules ip_host
  group-by src_ip
  timespan 1h
  condition gte 3 field dst_ip
}
"#;

#[test]
fn fallback_queries_and_correlations_parse_and_analyze() {
    let (rules, exprs) = pack(FALLBACK_PACK);
    for t in ["kql-defender", "kql-sentinel"] {
        let b = target(t);
        let mut qs = Vec::new();
        for i in 0..rules.len() {
            match compile(&b, &rules, &exprs, i) {
                Outcome::Compiled(c) => qs.push((rules[i].name.clone(), c.query.unwrap())),
                Outcome::Skipped(d) => panic!("{t} {}: {}", rules[i].name, d.message),
            }
        }
        if !kql_ready() {
            continue;
        }
        for (r, (id, q)) in kusto(t, &qs).iter().zip(&qs) {
            assert_eq!(r["errors"], json!([]), "{t} {id}:\n{q}");
        }
    }
}

/// A correlation has no log source entry of its own: its `.kql` header and manifest `data` say
/// what its rules read (the distinct notes of their entries), and nothing when they read the
/// target's own data.
#[test]
fn correlations_say_what_data_their_rules_read() {
    let (rules, exprs) = pack(FALLBACK_PACK);
    let idx = |name: &str| rules.iter().position(|r| r.name == name).unwrap();
    let b = target("kql-defender");
    for (corr, base) in [("many_users", "user_added"), ("many_hosts", "ip_host")] {
        let base_note = match compile(&b, &rules, &exprs, idx(base)) {
            Outcome::Compiled(c) => c.note.expect("the base rule reads a fallback"),
            Outcome::Skipped(d) => panic!("{base}: {}", d.message),
        };
        match compile(&b, &rules, &exprs, idx(corr)) {
            Outcome::Compiled(c) => {
                assert_eq!(c.note.as_deref(), Some(base_note.as_str()), "{corr}");
                let kql = &c.files[0].contents;
                assert!(kql.contains(&format!("// data: {base_note}\n")), "{kql}");
            }
            Outcome::Skipped(d) => panic!("{corr}: {}", d.message),
        }
    }
    // SecurityEvent is kql-sentinel's own table: no data line for the correlation over it.
    match compile(&target("kql-sentinel"), &rules, &exprs, idx("many_users")) {
        Outcome::Compiled(c) => {
            assert_eq!(c.note, None);
            assert!(!c.files[0].contents.contains("// data:"));
        }
        Outcome::Skipped(d) => panic!("many_users: {}", d.message),
    }
}
