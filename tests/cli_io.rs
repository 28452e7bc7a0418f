//! CLI behaviour on bad input that is not about rule content: missing paths, unknown targets,
//! empty files, invalid UTF-8, binary junk. Each must give a diagnostic and the right exit code,
//! and never touch an existing output folder.

mod common;

use common::{detc, stderr};

#[test]
fn missing_input_is_an_io_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = detc(dir.path(), &["build", "no/such/folder"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no/such/folder"), "{}", stderr(&o));
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn unknown_target_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let o = detc(dir.path(), &["build", "--target", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown target `nosuch`"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("sigma"),
        "lists the known targets: {}",
        stderr(&o)
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = detc(dir.path(), &["build", "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn empty_file_is_a_rule_error_with_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.det"), "").unwrap();
    let o = detc(dir.path(), &["check", "empty.det"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty.det:1:1"), "{}", stderr(&o));
}

#[test]
fn invalid_utf8_points_at_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.det"),
        b"rule x {\n  title \"a\xff\"\n}\n",
    )
    .unwrap();
    let o = detc(dir.path(), &["check", "bad.det"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("invalid-utf8"), "{err}");
    assert!(err.contains("bad.det:2:11"), "{err}");
}

#[test]
fn binary_junk_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("junk.det"), &junk).unwrap();
    std::fs::write(dir.path().join("junk.yml"), &junk).unwrap();
    let o = detc(dir.path(), &["check", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn json_diagnostics_carry_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.det"), "\n\n").unwrap();
    let o = detc(dir.path(), &["check", "--format", "json", "empty.det"]);
    assert_eq!(o.status.code(), Some(1));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON object per line");
    assert_eq!(v["code"], "empty-file");
    assert_eq!(v["severity"], "error");
    assert_eq!(v["file"], "empty.det");
    assert_eq!(v["line"], 1);
    assert_eq!(v["column"], 1);
}

#[test]
fn failed_build_leaves_existing_dist_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("sigma")).unwrap();
    std::fs::write(dist.join("sigma/old.yml"), "old").unwrap();
    // An earlier build's output (detc replaces only folders it wrote).
    std::fs::write(
        dist.join("manifest.json"),
        r#"{"detc_version": "0.1.0", "rules": []}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.det"), "").unwrap();
    let o = detc(dir.path(), &["build", "empty.det"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dist.join("sigma/old.yml")).unwrap(),
        "old"
    );
    // No temporary folders are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn selection_names_that_pysigma_misreads_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("note.det"),
        "rule note_rule {\n  title \"t\"\n  id 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10\n  logsource product=windows category=process_creation\n  note = Image endswith \"\\x.exe\"\n  condition note\n}\n",
    )
    .unwrap();
    let o = detc(dir.path(), &["check", "note.det", "--target", "sigma"]);
    assert!(
        stderr(&o).contains("warning[pysigma-incompatible-name]"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("note.det:5:3"), "{}", stderr(&o));
}
