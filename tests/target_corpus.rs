//! The shipped rule pack and the SigmaHQ corpus through every spec target: no panics, every
//! skip carries the `unsupported` code and a reason, and (when node_modules is installed) every
//! emitted KQL query of the shipped rules passes Kusto.Language's analysis.

#[path = "target_util.rs"]
mod util;

use detc::ir::Rule;
use detc::target::Outcome;
use std::collections::BTreeMap;
use util::*;

/// Compile a pack; returns per target: (compiled queries by rule, skip messages).
/// Per target: (rule name, query) of compiled rules, and skip messages.
type Results = BTreeMap<&'static str, (Vec<(String, String)>, Vec<String>)>;

fn run(rules: &[Rule]) -> Results {
    let mut out = BTreeMap::new();
    for t in TARGETS {
        let (mut ok, mut skipped) = (Vec::new(), Vec::new());
        for (rule, outcome) in packs::compile_all(rules, t) {
            match outcome {
                // A rule split into parts (too long for Sentinel): each part's query.
                Outcome::Compiled(c) => ok.extend(
                    c.query
                        .into_iter()
                        .chain(c.parts)
                        .map(|q| (rule.name.clone(), q)),
                ),
                Outcome::Skipped(d) => {
                    assert!(
                        matches!(d.code, "unsupported" | "not-normalized" | "query-too-long"),
                        "{d:?}"
                    );
                    assert!(d.loc.is_some(), "{d:?}");
                    skipped.push(format!("{}: {}", rule.name, d.message));
                }
            }
        }
        out.insert(t, (ok, skipped));
    }
    out
}

#[test]
fn shipped_rules_compile_to_every_target() {
    let rules = packs::shipped();
    if rules.is_empty() {
        return;
    }
    let results = run(&rules);
    for (t, (ok, skipped)) in &results {
        eprintln!("{t}: {} compiled, {} skipped", ok.len(), skipped.len());
        for s in skipped {
            eprintln!("  {s}");
        }
    }
    // Raw Splunk covers every log source the shipped pack uses.
    assert!(results["splunk"].1.is_empty(), "{:#?}", results["splunk"].1);
    if !kql_ready() {
        return;
    }
    for t in ["kql-defender", "kql-sentinel"] {
        let qs = &results[t].0;
        assert!(!qs.is_empty());
        for (r, (name, q)) in kusto(t, qs).iter().zip(qs) {
            assert_eq!(r["errors"], serde_json::json!([]), "{t} {name}:\n{q}");
        }
    }
}

#[test]
fn sigmahq_corpus_never_panics() {
    let Some(rules) = packs::sigmahq() else {
        return;
    };
    assert!(rules.len() > 3000, "{}", rules.len());
    for (t, (ok, skipped)) in run(&rules) {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for s in &skipped {
            let r = s.splitn(3, ": ").nth(2).unwrap_or(s);
            let key: String = r.chars().take(70).collect();
            *reasons.entry(key).or_default() += 1;
        }
        let mut top: Vec<_> = reasons.into_iter().collect();
        top.sort_by_key(|x| std::cmp::Reverse(x.1));
        eprintln!("{t}: {} compiled, {} skipped", ok.len(), skipped.len());
        for (r, n) in top.iter().take(8) {
            eprintln!("  {n:5} {r}");
        }
    }
}
