//! Fuzzing findings as regression tests, and the fuzz properties on the shipped rules.
//!
//! Each file under `tests/fixtures/fuzz/<target>/` is an input a fuzz target (fuzz/, see
//! docs/FUZZING.md) once failed on, minimised; it is replayed through the very checks the target
//! runs (`fuzz/src/checks.rs`, included below), so the test fails exactly when the finding is
//! back.

#[allow(dead_code)]
#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

use checks::{Dialect, Sentinel};
use detc::diag::SourceId;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The finding files of one target (at least one: an empty folder would make its test vacuous).
fn findings(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("tests/fixtures/fuzz").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no findings in {}", dir.display());
    out
}

fn text(p: &Path, b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap_or_else(|_| panic!("{} is not UTF-8", p.display()))
}

#[test]
fn det_parse_findings() {
    for (p, b) in findings("det_parse") {
        checks::det_file(&text(&p, &b));
    }
}

#[test]
fn sigma_read_findings() {
    for (p, b) in findings("sigma_read") {
        checks::sigma_file(&text(&p, &b));
    }
}

#[test]
fn events_json_findings() {
    for (_, b) in findings("events_json") {
        checks::json_events(&b);
    }
}

/// The empty selection name of `empty_selection_name.yml` is refused where it is written.
#[test]
fn sigma_selection_names_must_be_spellable() {
    for (name, ok) in [
        ("sel_1.a-b", true),
        ("$sel", true),
        ("''", false),
        ("'a b'", false),
        ("'a:b'", false),
        ("'x,y'", false),
        ("'and'", false),
        ("'them'", false),
    ] {
        let text = format!(
            "title: t\nlogsource:\n  product: windows\ndetection:\n  {name}:\n    Image: x\n  condition: 1 of them\n"
        );
        let (_, diags) = detc::sigma::read(SourceId(0), &text);
        let bad = diags.iter().any(|d| d.code == "invalid-selection-name");
        assert_eq!(!bad, ok, "{name}: {diags:#?}");
    }
}

/// `value_count_without_condition.yml`: a counting correlation needs its threshold in Sigma as
/// in the rule language; a temporal one does not.
#[test]
fn counting_correlations_need_a_condition() {
    for (kind, needed) in [
        ("event_count", true),
        ("value_count", true),
        ("temporal", false),
    ] {
        let text = format!("correlation:\n  type: {kind}\n  rules: [a, b]\n  timespan: 1h\n");
        let (_, diags) = detc::sigma::read(SourceId(0), &text);
        let missing = diags
            .iter()
            .any(|d| d.code == "missing-key" && d.message.contains("`condition`"));
        assert_eq!(missing, needed, "{kind}: {diags:#?}");
    }
}

/// Every shipped rule passes the `.det` properties, and the value markers reach the queries
/// (the literal check is not vacuous).
#[test]
fn shipped_rules_pass_the_fuzz_properties() {
    let mut files = Vec::new();
    let mut stack = vec![root().join("rules")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "det") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 10);
    let mut reached = 0;
    for p in &files {
        let t = std::fs::read_to_string(p).unwrap();
        checks::det_file(&t);
        let (rules, _) = detc::dsl::parse(SourceId(0), &t);
        if checks::queries(&t, &rules) > 0 {
            reached += 1;
        }
    }
    // Rules testing only addresses (`cidr`) or numbers have no free-text value to mark.
    assert!(
        reached * 4 >= files.len() * 3,
        "marked values reached the queries of only {reached} of {} files",
        files.len()
    );
}

/// The literal check itself: values kept inside literals pass, a value that breaks out of its
/// literal (or sits outside any) fails, in both dialects.
#[test]
fn literal_check_catches_values_outside_literals() {
    let s = Sentinel::for_input("");
    assert_eq!((s.open.as_str(), s.close.as_str()), ("qzv0k", "qzv0w"));
    let ok = [
        (
            Dialect::Spl,
            r#"CommandLine="*qzv0ka\"b*qzv0w" OR x IN ("qzv0kcqzv0w")"#,
        ),
        (
            Dialect::Spl,
            r#"| where match(f, "(?i)^QZV0Ka\\.exeqzv0w$")"#,
        ),
        (
            Dialect::Kql,
            r#"T | where f has "qzv0k\"x\"qzv0w" and g =~ @"qzv0kc:\""qzv0w""#,
        ),
        (
            Dialect::Kql,
            "T // a comment\n| where f in~ ('qzv0kaqzv0w', h\"qzv0kbqzv0w\")",
        ),
    ];
    for (d, q) in ok {
        assert!(checks::check_query(d, q, &s).unwrap() > 0, "{q}");
    }
    let bad = [
        (Dialect::Spl, r#"CommandLine="qzv0ka" | delete "qzv0w""#),
        (Dialect::Spl, r#"CommandLine=qzv0kaqzv0w"#),
        (Dialect::Spl, r#"x="qzv0ka\""#),
        (
            Dialect::Kql,
            r#"T | where f has "qzv0ka" or 1==1 or "qzv0w""#,
        ),
        (Dialect::Kql, "T // qzv0kaqzv0w\n| take 1"),
        (Dialect::Kql, r#"T | where f == @"qzv0ka\"qzv0w""#),
    ];
    for (d, q) in bad {
        assert!(checks::check_query(d, q, &s).is_err(), "{q}");
    }
}
