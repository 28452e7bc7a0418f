//! Shared helpers for the target tests (included with `#[path]`; not a test of its own).
#![allow(dead_code)]

#[path = "common/skip.rs"]
mod skip;

#[path = "common/packs.rs"]
pub mod packs;
#[allow(unused_imports)] // not every target test walks a folder
pub use packs::files_with_ext;

use detc::diag::SourceId;
use detc::ir::norm::Expr;
use detc::ir::Rule;
use detc::target::spec_backend::SpecBackend;
use detc::target::{load_spec_target, Backend, Compiled, Ctx, Outcome};

pub const TARGETS: [&str; 4] = ["splunk", "splunk-cim", "kql-defender", "kql-sentinel"];

pub fn target(name: &str) -> SpecBackend {
    load_spec_target(name, None).unwrap_or_else(|d| panic!("{name}: {d:?}"))
}

/// Parse `.det` text into rules and their normalised conditions.
pub fn pack(text: &str) -> (Vec<Rule>, Vec<Option<Expr>>) {
    let (rules, diags) = detc::dsl::parse(SourceId(0), text);
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let exprs = packs::normalized(&rules);
    (rules, exprs)
}

/// Read Sigma YAML (a rule named `t`) into rules and their normalised conditions.
pub fn sigma_pack(yaml: &str) -> (Vec<Rule>, Vec<Option<Expr>>) {
    let (rules, diags) = detc::sigma::read_named(SourceId(0), yaml, "t");
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let exprs = packs::normalized(&rules);
    (rules, exprs)
}

/// Wrap detection lines into a process_creation rule.
pub fn rule_src(name: &str, logsource: &str, body: &str) -> String {
    format!(
        "rule {name} {{\n  title \"Test {name}\"\n  id 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10\n  status experimental\n  level high\n  attack T1136.001 defense-evasion\n  description \"A test rule\"\n  logsource {logsource}\n{body}\n}}\n"
    )
}

pub const PROC: &str = "product=windows category=process_creation";

/// Compile rule 0 of a pack for a target.
pub fn compile(target: &dyn Backend, rules: &[Rule], exprs: &[Option<Expr>], i: usize) -> Outcome {
    target.compile(i, &Ctx { rules, exprs })
}

/// The query of a one-rule pack, or the skip message.
pub fn query(target_name: &str, logsource: &str, body: &str) -> Result<String, String> {
    let (rules, exprs) = pack(&rule_src("t", logsource, body));
    match compile(&target(target_name), &rules, &exprs, 0) {
        Outcome::Compiled(Compiled { query, .. }) => Ok(query.expect("query")),
        Outcome::Skipped(d) => Err(d.message),
    }
}

/// Whether the Kusto parser (tests/kql/node_modules) is installed. With `DETC_KQL_CHECK=1`
/// (as in CI) a missing install is a failure, not a silent skip.
pub fn kql_ready() -> bool {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kql/node_modules/@kusto");
    let required = std::env::var("DETC_KQL_CHECK").is_ok_and(|v| v == "1");
    assert!(
        dir.is_dir() || !required,
        "DETC_KQL_CHECK=1 but tests/kql/node_modules is missing: run `npm ci --prefix tests/kql`"
    );
    if !dir.is_dir() {
        skip::skipped(
            "the Kusto parser suite (Microsoft's Kusto.Language reads back every KQL query)",
            "tests/kql/node_modules is not installed",
            "`npm ci --prefix tests/kql` (needs Node.js), then set DETC_KQL_CHECK=1 to make a missing install fail",
        );
    }
    dir.is_dir()
}

/// Parse and analyse `(id, query)` pairs with Kusto.Language (tests/kql/check.js) against the
/// target's table schemas; one result object (`{"id", "errors", ...}`) per query, in order.
pub fn kusto(target_name: &str, queries: &[(String, String)]) -> Vec<serde_json::Value> {
    let t = target(target_name);
    kusto_raw(
        &t,
        &queries
            .iter()
            .map(|(id, q)| serde_json::json!({"id": id, "query": q}))
            .collect::<Vec<_>>(),
    )
}

/// Like [`kusto`], with the `{"id", "query"}` objects already built.
pub fn kusto_raw(t: &SpecBackend, queries: &[serde_json::Value]) -> Vec<serde_json::Value> {
    use std::io::Write;
    let input = serde_json::json!({ "tables": t.tables, "queries": queries });
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kql/check.js");
    let mut child = std::process::Command::new("node")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "check.js failed");
    serde_json::from_slice(&out.stdout).unwrap()
}
