//! `detc diff`: per rule and target, what a change does to the built pack; two pack folders or
//! two git revisions.

mod common;

use std::path::Path;
use std::process::Command;

use common::{detc, stderr};

fn rule(name: &str, id: &str, image: &str) -> String {
    format!(
        r#"rule {name} {{
  title "t {name}"
  id {id}
  level high
  logsource product=windows category=process_creation
  sel = Image endswith "{image}"
  condition sel
}}
"#
    )
}

const ID_A: &str = "11111111-1111-4111-8111-111111111111";
const ID_B: &str = "22222222-2222-4222-8222-222222222222";
const ID_C: &str = "33333333-3333-4333-8333-333333333333";
const ID_D: &str = "44444444-4444-4444-8444-444444444444";

fn write_rules(dir: &Path, files: &[(&str, String)]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
}

/// Old: a, b, c. New: a changed, b removed, c renamed to c2, d added.
fn two_versions(root: &Path) {
    write_rules(
        &root.join("rules"),
        &[
            ("a.det", rule("a", ID_A, "\\a.exe")),
            ("b.det", rule("b", ID_B, "\\b.exe")),
            ("c.det", rule("c", ID_C, "\\c.exe")),
        ],
    );
}

fn new_version(root: &Path) {
    write_rules(
        &root.join("rules"),
        &[
            ("a.det", rule("a", ID_A, "\\a2.exe")),
            ("c.det", rule("c2", ID_C, "\\c.exe")),
            ("d.det", rule("d", ID_D, "\\d.exe")),
        ],
    );
}

#[test]
fn diff_of_two_packs_names_each_rule_and_target_change() {
    let t = tempfile::tempdir().unwrap();
    two_versions(t.path());
    assert_eq!(
        detc(t.path(), &["build", "--out", "old"]).status.code(),
        Some(0)
    );
    new_version(t.path());
    assert_eq!(
        detc(t.path(), &["build", "--out", "new"]).status.code(),
        Some(0)
    );
    let o = detc(t.path(), &["diff", "old", "new", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules = v["rules"].as_array().unwrap();
    let find = |n: &str| {
        rules
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("{n}: {v:#}"))
    };
    assert_eq!(find("a")["change"]["kind"], "changed");
    assert_eq!(find("b")["change"]["kind"], "removed");
    assert_eq!(find("c2")["change"]["kind"], "renamed");
    assert_eq!(find("c2")["change"]["from"], "c");
    assert_eq!(find("d")["change"]["kind"], "added");
    assert_eq!(rules.len(), 4);
    // Every target of `a` changed; its KQL file diff shows the old and the new value.
    let a = find("a");
    assert_eq!(
        a["targets"].as_array().unwrap().len(),
        detc::target::builtin_target_names().len(),
        "{a:#}"
    );
    let kql = a["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "kql-defender")
        .unwrap();
    let d = kql["file_diffs"]["kql-defender/a.kql"].as_str().unwrap();
    assert!(
        d.contains("-| where FolderPath endswith \"\\\\a.exe\""),
        "{d}"
    );
    assert!(
        d.contains("+| where FolderPath endswith \"\\\\a2.exe\""),
        "{d}"
    );
    // Splunk's query lives in the shared savedsearches.conf: the query diff shows it.
    let splunk = a["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "splunk")
        .unwrap();
    assert!(splunk["query_diff"].as_str().unwrap().contains("a2.exe"));
    assert!(
        v["shared_files"]["splunk/savedsearches.conf"]["added"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Markdown: a collapsible section per rule, diffs fenced.
    let o = detc(t.path(), &["diff", "old", "new", "--format", "markdown"]);
    let md = String::from_utf8(o.stdout).unwrap();
    assert_eq!(md.matches("<details>").count(), 4, "{md}");
    assert!(md.contains("```diff\n"), "{md}");
    // The same pack twice: no differences.
    let o = detc(t.path(), &["diff", "new", "new"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("0 rule(s) added, 0 removed, 0 renamed, 0 changed"),
        "{text}"
    );
    // Not a pack: exit 2 with the reason.
    let o = detc(t.path(), &["diff", "rules", "new"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no manifest.json"), "{}", stderr(&o));
}

#[test]
fn diff_of_two_git_revisions_builds_each_in_a_temporary_folder() {
    let t = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(t.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    two_versions(t.path());
    git(&["add", "-A"]);
    git(&["commit", "-qm", "one"]);
    new_version(t.path());
    git(&["add", "-A"]);
    git(&["commit", "-qm", "two"]);
    let o = detc(
        t.path(),
        &[
            "diff",
            "--git",
            "HEAD~1..HEAD",
            "--format",
            "json",
            "-t",
            "sigma",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rules"].as_array().unwrap().len(), 4, "{v:#}");
    // Sources are named as in the repository, not by the temporary folder.
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("/tmp"),
        "{v:#}"
    );
    // `REV..` compares with the files as they are: an uncommitted change shows.
    std::fs::write(t.path().join("rules/d.det"), rule("d", ID_D, "\\d2.exe")).unwrap();
    let o = detc(t.path(), &["diff", "--git", "HEAD..", "-t", "sigma"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("rule `d`: changed"), "{text}");
    assert!(
        text.contains("+        Image|endswith: '\\d2.exe'"),
        "{text}"
    );
}
