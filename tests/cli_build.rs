//! End-to-end `detc build` on the shipped rules: determinism, `--check` drift detection, the
//! manifest and the ATT&CK Navigator layer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn detc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("detc runs")
}

fn build_into(out: &Path) -> Output {
    detc(&["build", "rules", "--out", out.to_str().unwrap()])
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn two_builds_give_identical_bytes() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    assert!(build_into(&a).status.success());
    assert!(build_into(&b).status.success());
    let (fa, fb) = (read_all(&a), read_all(&b));
    assert!(fa.len() > 10);
    assert_eq!(fa, fb);
}

#[test]
fn check_catches_edited_missing_and_extra_files() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("dist");
    assert!(build_into(&out).status.success());
    let check = || detc(&["build", "rules", "--check", "--out", out.to_str().unwrap()]);
    let clean = check();
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    // A hand-edited generated file is stale.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let first = manifest["rules"][0]["targets"]["sigma"]["files"][0]
        .as_str()
        .unwrap()
        .to_string();
    let edited = out.join(&first);
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}# edited by hand\n")).unwrap();
    std::fs::write(out.join("stray.txt"), "not generated").unwrap();
    std::fs::remove_file(out.join("COVERAGE.md")).unwrap();
    let o = check();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("stale: {}", out.join(&first).display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing:") && stdout.contains("COVERAGE.md"),
        "{stdout}"
    );
    assert!(
        stdout.contains("extra:") && stdout.contains("stray.txt"),
        "{stdout}"
    );
}

#[test]
fn manifest_and_navigator_layer_describe_the_pack() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("dist");
    assert!(build_into(&out).status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["detc_version"], env!("CARGO_PKG_VERSION"));
    let rules = manifest["rules"].as_array().unwrap();
    for r in rules {
        assert!(uuid::Uuid::parse_str(r["id"].as_str().unwrap()).is_ok());
        for (_, entry) in r["targets"].as_object().unwrap() {
            if entry.get("skipped").is_some() {
                continue;
            }
            for f in entry["files"].as_array().unwrap() {
                assert!(
                    out.join(f.as_str().unwrap()).is_file(),
                    "{f} listed but not written"
                );
            }
            assert_eq!(entry["sha256"].as_str().unwrap().len(), 64);
        }
    }
    let layer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("attack-navigator.json")).unwrap()).unwrap();
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["domain"], "enterprise-attack");
    let techniques = layer["techniques"].as_array().unwrap();
    assert!(!techniques.is_empty());
    // Scores are rule counts.
    for t in techniques {
        let id = t["techniqueID"].as_str().unwrap();
        let count = rules
            .iter()
            .filter(|r| r["attack"].as_array().unwrap().iter().any(|a| a == id))
            .count();
        assert_eq!(t["score"], count, "{id}");
    }
}

/// The (target, rule) pairs the manifest records as skipped must be exactly those listed in
/// tests/shipped_skips.txt.
#[test]
fn shipped_skips_are_exactly_the_reviewed_list() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("dist");
    assert!(build_into(&out).status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let mut actual = std::collections::BTreeSet::new();
    for r in manifest["rules"].as_array().unwrap() {
        for (target, entry) in r["targets"].as_object().unwrap() {
            if entry.get("skipped").is_some() {
                actual.insert(format!("{target} {}", r["name"].as_str().unwrap()));
            }
        }
    }
    let listed: std::collections::BTreeSet<String> =
        std::fs::read_to_string(root().join("tests/shipped_skips.txt"))
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
    let new: Vec<_> = actual.difference(&listed).collect();
    let fixed: Vec<_> = listed.difference(&actual).collect();
    assert!(new.is_empty() && fixed.is_empty(), "skips changed; update tests/shipped_skips.txt\nnew skips: {new:#?}\nno longer skipped: {fixed:#?}");
    // The sigma and splunk targets express every shipped rule.
    assert!(
        actual
            .iter()
            .all(|l| !l.starts_with("sigma ") && !l.starts_with("splunk ")),
        "{actual:?}"
    );
}

#[test]
fn shipped_rules_pass_check_test_and_fmt() {
    let check = detc(&["check", "rules"]);
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{err}");
    // The only warnings allowed are the reviewed target skips (`unsupported`).
    let other: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning[") && !l.starts_with("warning[unsupported]"))
        .collect();
    assert!(
        other.is_empty(),
        "detc check rules must give no other warnings:\n{err}"
    );
    let test = detc(&["test", "rules"]);
    assert_eq!(
        test.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    let fmt = detc(&["fmt", "--check", "rules"]);
    assert_eq!(
        fmt.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fmt.stdout)
    );
}

/// A skip is a warning (exit 0, recorded in the manifest) unless `--strict`, which makes it an
/// error that stops the build.
#[test]
fn strict_turns_target_skips_into_errors() {
    let t = tempfile::tempdir().unwrap();
    // A rule on a log source kql-defender has no entry for (neither Defender XDR nor the
    // Sentinel fallbacks keep the AppLocker channel).
    std::fs::write(
        t.path().join("fw.det"),
        r#"rule fw_rule_added {
  title "Firewall rule added by netsh"
  id 4f0c2a6e-1b7d-4f3a-9c2e-5d6b7a8c9d01
  status experimental
  level low
  logsource product=windows service=applocker
  sel = ModifyingApplication endswith "\netsh.exe"
  condition sel
}
"#,
    )
    .unwrap();
    let run = |strict: bool| {
        let mut args = vec![
            "build",
            "fw.det",
            "--target",
            "kql-defender",
            "--out",
            "out",
        ];
        if strict {
            args.push("--strict");
        }
        Command::new(env!("CARGO_BIN_EXE_detc"))
            .args(&args)
            .current_dir(t.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let lenient = run(false);
    assert_eq!(lenient.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&lenient.stderr).contains("warning[unsupported]"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("out/manifest.json")).unwrap())
            .unwrap();
    assert!(manifest["rules"][0]["targets"]["kql-defender"]["skipped"].is_string());
    std::fs::remove_dir_all(t.path().join("out")).unwrap();
    let strict = run(true);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("error[unsupported]"));
    assert!(
        !t.path().join("out").exists(),
        "a strict build with a skip writes nothing"
    );
}
