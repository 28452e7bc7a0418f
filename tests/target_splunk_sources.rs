//! The Splunk targets beyond Windows (issue 11): one sample rule per log source family
//! (`target_splunk_sources.det`) rendered for `splunk` and `splunk-cim` as insta snapshots, and
//! the search macro contract: every raw-event constraint is a macro named after its log source,
//! and `macros.conf` defines exactly the macros the pack's searches call, with the definitions
//! the log source files give.

#[path = "target_util.rs"]
mod util;

use std::collections::BTreeMap;

use detc::target::spec_backend::SpecBackend;
use detc::target::{Backend, Compiled, Ctx, Outcome};
use util::*;

const SAMPLES: &str = include_str!("target_splunk_sources.det");
const SPLUNK_TARGETS: [&str; 2] = ["splunk", "splunk-cim"];

/// Every sample compiled for `t` (a skip fails the test), in order, with `finish`'s files.
fn compile_all(t: &SpecBackend) -> (Vec<(String, Compiled)>, BTreeMap<String, String>) {
    let (rules, exprs) = pack(SAMPLES);
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let compiled: Vec<(String, Compiled)> = (0..rules.len())
        .map(|i| match t.compile(i, &cx) {
            Outcome::Compiled(c) => (rules[i].name.clone(), c),
            Outcome::Skipped(d) => panic!("{}: {} skipped: {}", t.name(), rules[i].name, d.message),
        })
        .collect();
    let refs: Vec<_> = rules.iter().zip(compiled.iter().map(|(_, c)| c)).collect();
    let files = t
        .finish(&refs)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect();
    (compiled, files)
}

/// The macro names a query calls (text between backticks).
fn calls(q: &str) -> Vec<&str> {
    q.split('`').skip(1).step_by(2).collect()
}

/// `macros.conf` read back: stanza -> definition.
fn read_macros_conf(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stanza = None;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            stanza = Some(s.to_string());
        } else if let (Some(s), Some(d)) = (&stanza, line.strip_prefix("definition = ")) {
            out.insert(s.clone(), d.to_string());
        }
    }
    out
}

#[test]
fn one_rule_per_log_source_family_for_the_splunk_targets() {
    for name in SPLUNK_TARGETS {
        let t = target(name);
        let (compiled, files) = compile_all(&t);
        let mut out = String::new();
        for (rule, c) in &compiled {
            out.push_str(&format!("## {rule}\n{}\n", c.query.as_deref().unwrap()));
            if let Some(n) = &c.note {
                out.push_str(&format!("data: {n}\n"));
            }
            out.push('\n');
        }
        let macros = &files[&format!("{name}/macros.conf")];
        out.push_str(&format!("--- {name}/macros.conf\n{macros}"));
        insta::assert_snapshot!(format!("splunk_sources_{name}"), out);
    }
}

#[test]
fn macros_conf_defines_exactly_the_macros_the_searches_call() {
    for name in SPLUNK_TARGETS {
        let t = target(name);
        let defined: BTreeMap<&str, &str> = t
            .spec
            .logsources
            .iter()
            .flat_map(|l| l.macros.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (compiled, files) = compile_all(&t);
        let conf = read_macros_conf(&files[&format!("{name}/macros.conf")]);
        let mut called = std::collections::BTreeSet::new();
        for (rule, c) in &compiled {
            let q = c.query.as_deref().unwrap();
            if q.starts_with("| tstats ") {
                assert!(calls(q).is_empty(), "{name} {rule}: {q}");
                continue;
            }
            // A raw-event search starts with its log source's macro (grouped per source
            // when the log source has several).
            assert!(
                q.trim_start_matches('(').starts_with('`'),
                "{name} {rule}: {q}"
            );
            called.extend(calls(q));
        }
        let conf_names: Vec<&str> = conf.keys().map(String::as_str).collect();
        assert_eq!(
            conf_names,
            called.iter().copied().collect::<Vec<_>>(),
            "{name}"
        );
        for (m, d) in &conf {
            assert_eq!(Some(&d.as_str()), defined.get(m.as_str()), "{name}: {m}");
        }
    }
}

#[test]
fn every_raw_event_constraint_is_one_macro_named_after_its_log_source() {
    for name in SPLUNK_TARGETS {
        let t = target(name);
        for ls in &t.spec.logsources {
            // splunk-cim's data model entries select a dataset (`nodename=`, `sourcetype=`)
            // inside tstats, where a raw-event macro does not apply.
            if ls.table.is_some() {
                continue;
            }
            let keys: Vec<&str> = ls.when.values().map(String::as_str).collect();
            let constraints = ls
                .constraint
                .iter()
                .chain(ls.also.iter().map(|a| &a.constraint));
            for c in constraints {
                let m = c
                    .strip_prefix('`')
                    .and_then(|c| c.strip_suffix('`'))
                    .unwrap_or_else(|| panic!("{name} {keys:?}: `{c}` is not one macro call"));
                assert!(
                    ls.macros.get(m).is_some_and(|d| !d.trim().is_empty()),
                    "{name} {keys:?}: macro {m} has no definition in its own entry"
                );
                assert!(m.starts_with("detc_"), "{name}: {m}");
                // Named after the log source: each of its keys' words appears in the name
                // (product `any` omitted; `google_workspace.admin` -> `google_workspace_admin`).
                for k in &keys {
                    let word = k.to_ascii_lowercase().replace(['.', '-'], "_");
                    let word = word.strip_prefix("gcp_").unwrap_or(&word);
                    assert!(
                        m.contains(word) || *k == "application",
                        "{name}: macro {m} is not named after the log source {keys:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_backtick_in_a_value_does_not_hide_a_macro_call() {
    // PowerShell's escape character in a value: the Security 4688 half of the query calls its
    // macro after a literal backtick, and macros.conf must still define it.
    let text = rule_src(
        "tick",
        PROC,
        "  sel = CommandLine contains \"`\"\n  condition sel",
    );
    let (rules, exprs) = pack(&text);
    let t = target("splunk");
    let Outcome::Compiled(c) = compile(&t, &rules, &exprs, 0) else {
        panic!("skipped")
    };
    let q = c.query.clone().unwrap();
    assert!(
        q.contains("`detc_windows_process_creation_security`"),
        "{q}"
    );
    let files = t.finish(&[(&rules[0], &c)]).unwrap();
    let conf = read_macros_conf(&files[1].contents);
    let names: Vec<&str> = conf.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "detc_windows_process_creation",
            "detc_windows_process_creation_security"
        ],
        "{q}"
    );
}
