//! The README's 30-second example is executed, so it stays true: the rule passes its examples,
//! compiles to every target, and the KQL shown is what detc emits.

use std::process::Command;

fn blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        if line.starts_with("```") {
            match cur.take() {
                Some(b) => out.push(b),
                None => cur = Some(String::new()),
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

#[test]
fn readme_example_runs_as_shown() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## A 30-second example").expect("section")..];
    let b = blocks(section);
    let (rule, session, splunk) = (&b[0], &b[1], &b[2]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portopening.det"), rule).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_detc"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let fmt = run(&["fmt", "--check", "portopening.det"]);
    assert!(
        fmt.status.success(),
        "the README rule is in canonical layout"
    );
    let test = run(&["test", "portopening.det"]);
    assert!(test.status.success());
    let test_line = String::from_utf8_lossy(&test.stderr).trim().to_string();
    assert!(session.contains(&test_line), "README shows `{test_line}`");
    let build = run(&["build", "portopening.det", "--out", "out"]);
    assert!(build.status.success());
    let build_line = String::from_utf8_lossy(&build.stderr).trim().to_string();
    assert!(session.contains(&build_line), "README shows `{build_line}`");
    let kql = std::fs::read_to_string(
        dir.path()
            .join("out/kql-defender/netsh_portopening_example.kql"),
    )
    .unwrap();
    let tail: Vec<&str> = kql.lines().rev().take(2).collect();
    for l in tail {
        assert!(session.contains(l), "README shows the KQL line `{l}`");
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/manifest.json")).unwrap(),
    )
    .unwrap();
    let spl = manifest["rules"][0]["targets"]["splunk"]["query"]
        .as_str()
        .unwrap();
    assert_eq!(splunk.trim(), spl.trim(), "README shows the Splunk query");
    // The macros the query calls are defined in macros.conf, as the README says.
    let macros = std::fs::read_to_string(dir.path().join("out/splunk/macros.conf")).unwrap();
    for m in [
        "detc_windows_process_creation",
        "detc_windows_process_creation_security",
    ] {
        assert!(
            macros.contains(&format!("\n[{m}]\ndefinition = ")),
            "{macros}"
        );
    }
}
