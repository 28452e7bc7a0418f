//! The GitHub Action (`action.yml`) run as a runner runs it, offline: every `run:` step of the
//! composite action is executed with bash (`--noprofile --norc -eo pipefail`, as GitHub runs a
//! composite `shell: bash` step) in a sample rule-pack repository on a pull-request branch, with
//! `${{ ... }}` expressions replaced as GitHub would (inputs at their defaults, `github.*` of a
//! pull request, `steps.*.outputs` from `$GITHUB_OUTPUT`) and the runner's files (`RUNNER_TEMP`,
//! `GITHUB_OUTPUT`, `GITHUB_PATH`). An expression this test does not know fails it, so a change
//! to the action is either covered here or seen. Not run: the two `uses:` steps, GitHub's own
//! actions (`github/codeql-action/upload-sarif`, `actions/github-script`), which need GitHub;
//! their inputs (the SARIF file, the diff markdown) are checked instead.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Replace every `${{ expr }}` GitHub would; panics on an unknown expression.
fn expand(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("closed expression") + i;
        let expr = rest[i + 3..end].trim();
        let v = values
            .get(expr)
            .unwrap_or_else(|| panic!("action.yml uses `{expr}`, which this test does not know"));
        out.push_str(v);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A step's `if:` as GitHub evaluates it for a pull request with default inputs.
fn condition(cond: Option<&str>) -> bool {
    match cond.map(str::trim) {
        None | Some("always()") => true,
        Some("inputs.out != ''") => true,
        Some("github.event_name == 'pull_request' && inputs.comment-diff == 'true'") => true,
        Some(other) => panic!("action.yml has the condition `{other}`, unknown to this test"),
    }
}

fn outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn action_run_steps_work_on_a_pull_request() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo.join("action.yml")).unwrap()).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_sequence().unwrap();

    // The sample rule-pack repository: `origin` with the base branch, a clone on a PR branch
    // that changes one rule (and rebuilds its committed dist/, as the docs ask).
    let t = tempfile::tempdir().unwrap();
    let origin = t.path().join("origin.git");
    let work = t.path().join("work");
    std::fs::create_dir_all(work.join("rules")).unwrap();
    let rule =
        std::fs::read_to_string(repo.join("rules/netsh_portopening/netsh_process.det")).unwrap();
    std::fs::write(work.join("rules/netsh.det"), &rule).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    assert!(common::detc(&work, &["build", "rules", "--out", "dist"])
        .status
        .success());
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "base"]);
    git(t.path(), &["clone", "-q", "--bare", "work", "origin.git"]);
    git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&work, &["checkout", "-q", "-b", "feature"]);
    // A change to a selection value (the "\\netsh.exe" image of the netsh selection).
    let changed = rule.replacen(
        r#"Image endswith "\netsh.exe""#,
        r#"Image endswith "\netsh2.exe""#,
        1,
    );
    assert_ne!(changed, rule, "the sample change must change the rule");
    std::fs::write(work.join("rules/netsh.det"), changed).unwrap();
    assert!(common::detc(&work, &["build", "rules", "--out", "dist"])
        .status
        .success());
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "change"]);

    // The runner's environment; detc is already on PATH, so "Install detc" installs nothing.
    let runner_temp = t.path().join("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let github_output = t.path().join("github_output");
    let github_path = t.path().join("github_path");
    let detc_dir = Path::new(env!("CARGO_BIN_EXE_detc")).parent().unwrap();
    let path = format!(
        "{}:{}",
        detc_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for (name, input) in action["inputs"].as_mapping().unwrap() {
        let key: &'static str = Box::leak(format!("inputs.{}", name.as_str().unwrap()).into());
        values.insert(key, input["default"].as_str().unwrap().to_string());
    }
    values.insert("github.action_path", repo.display().to_string());
    values.insert("github.base_ref", "main".into());

    let mut ran = Vec::new();
    for step in steps {
        let name = step["name"].as_str().unwrap_or("(unnamed)");
        if !condition(step["if"].as_str()) {
            continue;
        }
        let Some(script) = step["run"].as_str() else {
            assert!(step["uses"].is_string(), "{name}: neither run nor uses");
            continue;
        };
        assert_eq!(step["shell"], "bash", "{name}");
        // Step outputs written so far are visible to later steps' expressions.
        for (k, v) in outputs(&github_output) {
            for id in ["check", "test"] {
                let key: &'static str = Box::leak(format!("steps.{id}.outputs.{k}").into());
                values.insert(key, v.clone());
            }
        }
        let script = expand(script, &values);
        let file = t.path().join("step.sh");
        std::fs::write(&file, &script).unwrap();
        let o = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(&work)
            .env("PATH", &path)
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_PATH", &github_path)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "step `{name}` failed:\n{script}\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        ran.push(name.to_string());
    }
    assert_eq!(
        ran,
        [
            "Install detc",
            "detc check",
            "detc test",
            "detc build --check",
            "Query diff"
        ]
    );
    // What the two GitHub-run steps would read.
    let out = outputs(&github_output);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out["sarif"]).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let junit = std::fs::read_to_string(&out["junit"]).unwrap();
    assert!(junit.contains("<testcase"), "{junit}");
    let diff = std::fs::read_to_string(runner_temp.join("detc-diff.md")).unwrap();
    assert!(diff.contains("netsh"), "{diff}");
    assert!(diff.contains("netsh2.exe"), "{diff}");
    // Nothing was installed: detc was found on PATH.
    assert!(!github_path.exists() || std::fs::read_to_string(&github_path).unwrap().is_empty());
}
