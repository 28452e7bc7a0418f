//! `detc match` from the command line: JSON lines on stdout, summary and diagnostics on stderr,
//! `--logsource`, table output, exit codes.

use std::process::Command;

const RULE: &str = r#"title: PHP probe
id: 0b8f1a52-1111-4222-8333-944455556666
status: experimental
logsource:
    category: proxy
detection:
    selection:
        c-uri|contains: '/index.php'
    condition: selection
level: medium
"#;

fn detc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn matches_declared_source_and_reports_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("php_probe.yml");
    std::fs::write(&rule, RULE).unwrap();
    let events = dir.path().join("proxy.jsonl");
    std::fs::write(
        &events,
        "{\"c-uri\": \"/index.php?id=1\", \"@timestamp\": \"2025-05-01T12:00:00Z\", \"host\": \"gw1\"}\n{broken\n{\"c-uri\": \"/home\"}\n{\"c-uri\": \"/x/INDEX.PHP\"}\n",
    )
    .unwrap();
    let (r, e) = (rule.to_str().unwrap(), events.to_str().unwrap());
    let (code, out, err) = detc(&[
        "match",
        "--rules",
        r,
        "--events",
        e,
        "--logsource",
        "category=proxy",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}\n{err}");
    assert_eq!(lines[0]["index"], 0);
    assert_eq!(lines[0]["rule_id"], "0b8f1a52-1111-4222-8333-944455556666");
    assert_eq!(lines[0]["level"], "medium");
    assert_eq!(lines[0]["timestamp"], "2025-05-01T12:00:00Z");
    assert_eq!(lines[0]["computer"], "gw1");
    assert_eq!(lines[1]["index"], 3);
    assert!(err.contains("record 1"), "{err}");
    assert!(err.contains("proxy.jsonl"), "{err}");
    assert!(err.contains("3 event(s): 2 match(es)"), "{err}");
    assert_eq!(code, 1, "a bad record is an error");

    // Another declared source: the proxy rule does not apply.
    let (_, out, _) = detc(&[
        "match",
        "--rules",
        r,
        "--events",
        e,
        "--logsource",
        "category=firewall",
    ]);
    assert!(out.is_empty());
    // Table output.
    let (_, out, _) = detc(&["match", "--rules", r, "--events", e, "--format", "table"]);
    assert!(out.lines().next().unwrap().contains("php_probe"), "{out}");
    // A bad --logsource is a usage error.
    let (code, _, err) = detc(&[
        "match",
        "--rules",
        r,
        "--events",
        e,
        "--logsource",
        "colour=red",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown logsource key"));
}

#[test]
fn missing_event_path_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("r.yml");
    std::fs::write(&rule, RULE).unwrap();
    let (code, _, err) = detc(&[
        "match",
        "--rules",
        rule.to_str().unwrap(),
        "--events",
        "/nonexistent/x.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.jsonl"), "{err}");
}
