//! Every KQL query compiled from the SigmaHQ corpus (3,141 rules, both KQL targets) passes
//! Microsoft's Kusto.Language analysis against the target's schema.yaml: the Windows channel
//! mappings (`tostring(EventData.X)`, `EventData["New Value"]`), the total guards
//! (`coalesce(...)`), `todouble` and `parse_ipv4` must all be valid, well-typed Kusto for every
//! rule shape the corpus has, not only for the shipped pack.
//!
//! Needs tests/kql/node_modules (`npm ci --prefix tests/kql`) and /work/shared/sigmahq; with
//! `DETC_KQL_CHECK=1` a missing install is a failure.

#[path = "target_util.rs"]
mod util;

use std::path::Path;

use detc::diag::SourceId;
use detc::ir::norm::{normalize, NormOptions};
use detc::target::{Backend, Ctx, Outcome};
use serde_json::{json, Value};
use util::{files_with_ext, kql_ready, kusto_raw};

/// The corpus rules and their normalised conditions (none when the corpus is absent).
fn corpus() -> (Vec<detc::ir::Rule>, Vec<Option<detc::ir::norm::Expr>>) {
    let paths = files_with_ext(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules"),
        "yml",
    );
    let mut rules = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        let stem = p.file_stem().unwrap().to_string_lossy();
        rules.extend(detc::sigma::read_named(SourceId(i as u32), &text, &stem).0);
    }
    let exprs: Vec<_> = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    (rules, exprs)
}

#[test]
fn sigmahq_kql_queries_parse_and_analyze_without_errors() {
    if !kql_ready() {
        eprintln!("skipping: tests/kql/node_modules is not installed");
        return;
    }
    let (rules, exprs) = corpus();
    if rules.is_empty() {
        eprintln!("SigmaHQ corpus not found; skipping");
        return;
    }
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    for name in ["kql-defender", "kql-sentinel"] {
        let target = util::target(name);
        // A rule split into parts (too long for Sentinel) is analysed part by part.
        let queries: Vec<Value> = (0..rules.len())
            .flat_map(|i| match target.compile(i, &cx) {
                Outcome::Compiled(c) => c
                    .query
                    .into_iter()
                    .chain(c.parts)
                    .map(|q| json!({"id": rules[i].name, "query": q}))
                    .collect(),
                Outcome::Skipped(_) => Vec::new(),
            })
            .collect();
        assert!(queries.len() > 1000, "{name}: {} queries", queries.len());
        let results: Vec<Value> = kusto_raw(&target, &queries);
        assert_eq!(results.len(), queries.len());
        let bad: Vec<&Value> = results
            .iter()
            .filter(|r| r["errors"].as_array().is_some_and(|e| !e.is_empty()))
            .collect();
        assert!(
            bad.is_empty(),
            "{name}: {} queries with errors, e.g. {:#}",
            bad.len(),
            bad[0]
        );
        eprintln!("{name}: {} SigmaHQ queries analysed", results.len());
    }
}

/// Text is compared with text: no KQL query of the corpus compares a `tostring(...)` (text)
/// with a bare `true`/`false` (Sysmon's `Signed`, `Initiated` are text in EventData; detc
/// writes `=~ "true"`). Kusto.Language accepts the mixed comparison, so this is its own check.
#[test]
fn sigmahq_kql_queries_never_compare_text_with_a_bool() {
    let (rules, exprs) = corpus();
    if rules.is_empty() {
        eprintln!("SigmaHQ corpus not found; skipping");
        return;
    }
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let bad = regex::Regex::new(r"tostring\([^()]*\)\s*(==|=~|!=|!~)\s*(true|false)\b").unwrap();
    let text_bool = regex::Regex::new(r#"tostring\([^()]*\) =~ "(true|false)""#).unwrap();
    for name in ["kql-defender", "kql-sentinel"] {
        let target = util::target(name);
        let (mut n, mut text) = (0, 0);
        for (i, r) in rules.iter().enumerate() {
            if let Outcome::Compiled(c) = target.compile(i, &cx) {
                for q in c.query.into_iter().chain(c.parts) {
                    assert!(!bad.is_match(&q), "{name} {}: {q}", r.name);
                    n += 1;
                    text += usize::from(text_bool.is_match(&q));
                }
            }
        }
        assert!(n > 1000, "{name}: {n} queries");
        // The corpus has such rules (Sysmon `Signed`, `Initiated` on WindowsEvent).
        assert!(text > 0, "{name}: no text comparison with a boolean value");
    }
}
