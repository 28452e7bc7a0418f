//! `detc` on `.det` files with syntax errors: the rest of a broken rule is still checked in the
//! same run, and the broken rule is neither tested nor compiled.

mod common;

use common::detc;
use std::process::Output;

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const BROKEN: &str = r#"rule broken {
  title "Broken rule"
  id not-a-uuid
  sel = Image endswith "\x.exe"
  bad = Image endswith
  condition sel and missing and bad
  test miss { Image: "C:\x.exe" }
}

rule fine {
  title "Fine"
  id 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10
  sel = Image endswith "\y.exe"
  condition sel
  test hit { Image: "C:\y.exe" }
}
"#;

#[test]
fn check_reports_syntax_and_semantic_errors_of_one_rule_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.det"), BROKEN).unwrap();
    let o = detc(dir.path(), &["check", "."]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for code in [
        "error[syntax]",
        "error[invalid-uuid]",
        "error[undefined-selection]",
    ] {
        assert!(out.contains(code), "no {code} in\n{out}");
    }
    // The broken selection line still defines `bad`, and the condition is not reported as
    // unused or missing.
    assert!(!out.contains("selection `bad` is not defined"), "{out}");
    assert!(!out.contains("unused-selection"), "{out}");
    assert!(!out.contains("missing-condition"), "{out}");
}

#[test]
fn a_rule_with_a_syntax_error_is_not_tested_or_compiled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.det"), BROKEN).unwrap();
    let o = detc(dir.path(), &["test", "."]);
    let out = all_output(&o);
    // Only the example of `fine` runs: `broken` is checked but not evaluated.
    assert!(out.contains("1 example(s): 1 ok, 0 failing"), "{out}");
    let o = detc(dir.path(), &["build", "."]);
    assert_ne!(o.status.code(), Some(0), "{}", all_output(&o));
    let out = all_output(&o);
    assert!(out.contains("error[syntax]"), "{out}");
}
