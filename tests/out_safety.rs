//! Nothing lost, nothing escapes: the reproducers of ../shared/repro (path_traversal,
//! out_replaces_user_folder, interrupted_build, broken_rule_still_matches, misc) as regression
//! tests. Inputs are copied into tests/fixtures/repro/.

mod common;

use std::path::{Path, PathBuf};

use common::{detc, stderr};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/repro")
        .join(name)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

const VSS: &str = r#"rule vssadmin_delete_shadows {
  title "Shadow copies deleted with vssadmin"
  level high
  logsource product=windows category=process_creation
  vss = Image endswith "\vssadmin.exe"
  del = CommandLine contains all "delete", "shadows"
  condition vss and del
}
"#;

#[test]
fn a_rule_name_cannot_write_outside_out() {
    let t = tempfile::tempdir().unwrap();
    let work = t.path().join("proj/a/b");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(fixture("path_traversal.det"), t.path().join("evil.det")).unwrap();
    let before = files(t.path());
    for args in [
        &["build", "../../../evil.det", "--out", "dist"][..],
        &[
            "convert",
            "--to",
            "sigma",
            "../../../evil.det",
            "--out",
            "conv",
        ][..],
        &[
            "convert",
            "--to",
            "dsl",
            "../../../evil.det",
            "--out",
            "conv",
        ][..],
    ] {
        let o = detc(&work, args);
        let err = stderr(&o);
        assert_ne!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            err.contains("error[invalid-rule-name]") && err.contains("evil.det:1:6"),
            "{args:?}: {err}"
        );
        assert!(err.contains("not a plain identifier"), "{err}");
        // Nothing was written anywhere.
        assert_eq!(files(t.path()), before, "{args:?}");
    }
    // `check` and `test` report the same error at the same place.
    for cmd in ["check", "test"] {
        let o = detc(&work, &[cmd, "../../../evil.det"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("evil.det:1:6"), "{}", stderr(&o));
    }
}

#[test]
fn a_name_too_long_for_the_file_system_is_a_diagnostic_on_the_rule() {
    let t = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("rule_name_long300.det"), t.path().join("long.det")).unwrap();
    for cmd in [&["check", "long.det"][..], &["build", "long.det"][..]] {
        let o = detc(t.path(), cmd);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(err.contains("long.det:1:6"), "{err}");
        assert!(
            err.contains("rule name is 300 bytes long; at most 200"),
            "{err}"
        );
    }
    assert!(!t.path().join("dist").exists());
}

#[test]
fn an_unsafe_sigma_file_stem_gives_a_safe_name_and_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let rule = "title: T\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n";
    std::fs::write(t.path().join("9 evil..name.yml"), rule).unwrap();
    let o = detc(
        t.path(),
        &["build", "9 evil..name.yml", "--out", "dist", "-t", "sigma"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("warning[unsafe-rule-name]"), "{err}");
    assert!(err.contains("the rule is named `9_evil__name`"), "{err}");
    assert!(t.path().join("dist/sigma/9_evil__name.yml").exists());
}

#[test]
fn out_never_replaces_a_folder_detc_did_not_write() {
    let t = tempfile::tempdir().unwrap();
    let rules = t.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("vss.det"), VSS).unwrap();
    std::fs::write(rules.join("NOTES.txt"), "my notes").unwrap();
    let before = files(t.path());
    // `detc build --out rules` (default input `rules`), and any other foreign folder.
    for args in [
        &["build", "--out", "rules"][..],
        &["build", "rules", "--out", "rules/../rules"][..],
        &["convert", "--to", "sigma", "rules", "--out", "rules"][..],
    ] {
        let o = detc(t.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("error[output-folder]"), "{err}");
        assert!(err.contains("refusing to replace `rules"), "{err}");
        assert_eq!(files(t.path()), before);
    }
    // A file named by --out is not replaced either.
    std::fs::write(t.path().join("notes.md"), "x").unwrap();
    let o = detc(t.path(), &["build", "--out", "notes.md"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(t.path().join("notes.md")).unwrap(),
        "x"
    );
    // A new folder, an empty one, and then detc's own output are fine.
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    for out in ["dist", "empty", "dist"] {
        let o = detc(t.path(), &["build", "--out", out]);
        assert_eq!(o.status.code(), Some(0), "{out}: {}", stderr(&o));
        assert!(t.path().join(out).join("manifest.json").exists());
    }
}

#[test]
fn convert_out_replaces_only_its_own_unchanged_output() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("src")).unwrap();
    std::fs::write(t.path().join("src/vss.det"), VSS).unwrap();
    let run = || {
        detc(
            t.path(),
            &["convert", "--to", "sigma", "src", "--out", "conv"],
        )
    };
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        files(&t.path().join("conv")),
        ["manifest.json", "vssadmin_delete_shadows.yml"]
    );
    // Re-running over its own, unchanged output is fine.
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Files are created with the umask, like `build` (not 0600 temporary-file modes).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let built = detc(t.path(), &["build", "src", "--out", "dist", "-t", "sigma"]);
        assert_eq!(built.status.code(), Some(0));
        let mode = |p: &str| {
            std::fs::metadata(t.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            mode("conv/vssadmin_delete_shadows.yml"),
            mode("dist/sigma/vssadmin_delete_shadows.yml")
        );
        std::fs::create_dir(t.path().join("plain")).unwrap();
        assert_eq!(mode("conv"), mode("plain"));
        assert_eq!(mode("dist"), mode("plain"));
    }
    // An edited converted rule is never overwritten.
    let edited = t.path().join("conv/vssadmin_delete_shadows.yml");
    std::fs::write(&edited, "title: edited by hand\n").unwrap();
    let o = run();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`vssadmin_delete_shadows.yml` was changed after detc convert wrote it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&edited).unwrap(),
        "title: edited by hand\n"
    );
}

#[test]
fn a_rule_with_an_error_is_never_evaluated() {
    let t = tempfile::tempdir().unwrap();
    for f in ["badcond.det", "badmod.det", "e.jsonl", "e2.jsonl"] {
        std::fs::copy(fixture(f), t.path().join(f)).unwrap();
    }
    // Before the fix: badcond's `(portopening` without `)` became "any selection" and
    // badmod's `endwith` became equality, and both matched.
    for (rule, events, code) in [
        ("badcond.det", "e2.jsonl", "error[syntax]"),
        ("badmod.det", "e.jsonl", "error[unknown-modifier]"),
    ] {
        let o = detc(t.path(), &["match", "--rules", rule, "--events", events]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(err.contains(code), "{err}");
        assert!(err.contains("0 rule(s) (1 skipped with errors)"), "{err}");
        let o = detc(t.path(), &["test", rule]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("0 example(s)") && err.contains("1 rule(s) with errors not run"),
            "{err}"
        );
        assert!(!err.contains("example failed"), "{err}");
        let o = detc(t.path(), &["convert", "--to", "sigma", rule]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // A good rule next to a broken one still runs.
    std::fs::write(
        t.path().join("good.det"),
        VSS.replace("vssadmin_delete_shadows", "good"),
    )
    .unwrap();
    std::fs::write(
        t.path().join("v.jsonl"),
        r#"{"Image":"C:\\Windows\\System32\\vssadmin.exe","CommandLine":"vssadmin delete shadows /all"}"#,
    )
    .unwrap();
    let o = detc(
        t.path(),
        &[
            "match",
            "--rules",
            "good.det",
            "badmod.det",
            "--events",
            "v.jsonl",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 rule(s) (1 skipped with errors)"), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
}

/// Many small rules, so that writing the pack takes long enough to be interrupted.
fn many_rules(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "rule r{i} {{\n  title \"t{i}\"\n  level low\n  logsource product=windows category=process_creation\n  sel = CommandLine contains \"x{i}\"\n  condition sel\n}}\n"
            )
        })
        .collect()
}

fn staging_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect()
}

#[cfg(unix)]
#[test]
fn an_interrupted_build_leaves_no_staging_folder_and_out_intact() {
    use std::process::{Command, Stdio};
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("many.det"), many_rules(1500)).unwrap();
    let o = detc(t.path(), &["build", "many.det", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = files(&t.path().join("out"));
    let mut interrupted = 0;
    for signal in ["INT", "TERM", "INT", "TERM"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_detc"))
            .args(["build", "many.det", "--out", "out"])
            .current_dir(t.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the staging folder to appear, then interrupt the write.
        let started = std::time::Instant::now();
        while staging_left(t.path()).iter().all(|n| !n.contains(".tmp-"))
            && started.elapsed().as_secs() < 60
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        if status.code() == Some(130) {
            interrupted += 1;
        } else {
            assert_eq!(status.code(), Some(0), "{status:?}");
        }
        assert_eq!(staging_left(t.path()), Vec::<String>::new(), "{status:?}");
        assert_eq!(files(&t.path().join("out")), before);
    }
    assert!(interrupted > 0, "no run was interrupted while writing");
}

#[test]
fn a_later_build_removes_staging_folders_of_a_killed_build() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("vss.det"), VSS).unwrap();
    // As SIGKILL leaves it: a staging folder with detc's marker, of a process that is gone
    // (pids above the kernel's pid_max never run), and a look-alike folder that is not detc's.
    let stale = t.path().join(".out.tmp-AbC123");
    std::fs::create_dir_all(stale.join("sigma")).unwrap();
    std::fs::write(stale.join(".detc-staging"), "4194305").unwrap();
    std::fs::write(stale.join("sigma/x.yml"), "x").unwrap();
    let foreign = t.path().join(".out.tmp-mine");
    std::fs::create_dir_all(&foreign).unwrap();
    let o = detc(t.path(), &["build", "vss.det", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stale.exists());
    assert!(foreign.exists());
}
