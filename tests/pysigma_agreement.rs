//! Semantic agreement with pySigma (the Sigma reference implementation): for every SigmaHQ rule,
//! detc's normalised expression (`detc debug ir`) must equal the condition tree pySigma builds,
//! in the same canonical JSON (tests/pysigma/compare.py). Differences must be listed, with a
//! reason, in tests/pysigma/known.txt. Needs a Python with pySigma: set DETC_PYTHON to it; when
//! unset the test prints a note and passes (CI sets it).

#[path = "common/pysigma.rs"]
mod pysigma;

use pysigma::{manifest, n, shared};
use std::path::Path;
use std::process::Command;

/// Runs compare.py; returns its JSON summary (last stdout line) and the whole output.
fn compare(
    python: &str,
    rules: &Path,
    known: &Path,
    extra: &[&str],
) -> (serde_json::Value, String) {
    pysigma::summary(
        pysigma::script(python, "compare.py")
            .arg("--rules")
            .arg(rules)
            .arg("--known")
            .arg(known)
            .args(["--show", "2"])
            .args(extra),
    )
}

fn python() -> Option<String> {
    pysigma::python("the pySigma agreement suite")
}

#[test]
fn fixtures_agree_and_the_comparison_can_fail() {
    let Some(py) = python() else { return };
    let rules = manifest("tests/pysigma/fixtures");
    let known = rules.join("known.txt");
    let (s, out) = compare(&py, &rules, &known, &[]);
    assert_eq!(n(&s, "unexplained"), 0, "{out}");
    assert_eq!(n(&s, "stale"), 0, "{out}");
    assert_eq!(n(&s, "rules"), 27, "{out}");
    assert_eq!(n(&s, "equal"), 21, "{out}");
    // Every detc expression altered: no rule may still compare equal.
    let (m, out) = compare(&py, &rules, &known, &["--mutate"]);
    assert_eq!(n(&m, "equal"), 0, "{out}");
    assert_eq!(n(&m, "different"), 22, "{out}");
}

#[test]
fn sigmahq_corpus_agrees_with_pysigma() {
    let Some(py) = python() else { return };
    let rules = shared("sigmahq/rules");
    let (s, out) = compare(&py, &rules, &manifest("tests/pysigma/known.txt"), &[]);
    println!("{out}");
    assert!(n(&s, "rules") >= 3000, "{out}");
    assert_eq!(n(&s, "unexplained"), 0, "unexplained differences:\n{out}");
    assert_eq!(n(&s, "stale"), 0, "stale known.txt entries:\n{out}");
}

/// `detc debug ir` itself (no Python needed): one JSON line per rule, canonical expression;
/// a file that yields no rule gives an `error` line instead.
#[test]
fn debug_ir_prints_one_canonical_line_per_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "title: x\ndetection: [\n").expect("write");
    let good = manifest("tests/pysigma/fixtures/conditions.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(["debug", "ir"])
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("run detc");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let rule = &lines[0];
    assert_eq!(rule["name"], "conditions");
    let expr = &rule["expr"];
    // (all of selection_* or keywords) and not 1 of filter_*, with `neq` negating C = 3:
    // the filter's NOT and neq's NOT cancel.
    let want = serde_json::json!({"and": [
        {"field": "C", "num": 3, "op": "eq"},
        {"or": [
            {"and": [
                {"field": "A", "num": 1, "op": "eq"},
                {"field": "B", "num": 2, "op": "eq"}
            ]},
            {"field": null, "str": [{"wild": "*"}, "alpha", {"wild": "*"}], "cased": false},
            {"field": null, "str": [{"wild": "*"}, "be", {"wild": "*"}, "ta", {"wild": "*"}], "cased": false}
        ]}
    ]});
    assert_eq!(expr, &want, "{expr}");
    assert!(lines[1]["source"].as_str().unwrap().ends_with("bad.yml"));
    assert!(lines[1]["error"].is_string(), "{}", lines[1]);
}
