//! The shipped rule pack and the SigmaHQ corpus through every spec target: no panics, every
//! skip carries the `unsupported` code and a reason, and (when node_modules is installed) every
//! emitted KQL query of the shipped rules passes Kusto.Language's analysis.

#[path = "target_util.rs"]
mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use detc::diag::SourceId;
use detc::ir::norm::{normalize, NormOptions};
use detc::ir::Rule;
use detc::target::{Backend, Ctx, Outcome};
use util::*;

fn shipped() -> Vec<Rule> {
    let paths = files_with_ext(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"), "det");
    let mut rules = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        let (rs, _) = detc::dsl::parse(SourceId(i as u32), &text);
        rules.extend(rs);
    }
    rules
}

/// Compile a pack; returns per target: (compiled queries by rule, skip messages).
/// Per target: (rule name, query) of compiled rules, and skip messages.
type Results = BTreeMap<&'static str, (Vec<(String, String)>, Vec<String>)>;

fn run(rules: &[Rule]) -> Results {
    let exprs: Vec<_> = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    let cx = Ctx {
        rules,
        exprs: &exprs,
    };
    let mut out = BTreeMap::new();
    for t in TARGETS {
        let b = target(t);
        let (mut ok, mut skipped) = (Vec::new(), Vec::new());
        for (i, rule) in rules.iter().enumerate() {
            match b.compile(i, &cx) {
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
    let rules = shipped();
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    let root = if root.is_dir() {
        root
    } else {
        PathBuf::from("/work/shared/sigmahq/rules")
    };
    let mut paths = Vec::new();
    paths.extend(files_with_ext(&root, "yml"));
    if paths.is_empty() {
        eprintln!("SigmaHQ corpus not found; skipping");
        return;
    }
    let mut rules = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        let stem = p.file_stem().unwrap().to_string_lossy();
        let (rs, _) = detc::sigma::read_named(SourceId(i as u32), &text, &stem);
        rules.extend(rs);
    }
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
