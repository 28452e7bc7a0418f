//! Loading targets: the embedded built-ins, a folder on disk, and bad specs as diagnostics.

use std::path::Path;

use detc::target::{builtin_target_names, load_builtin_targets, load_targets};

fn names(dir: Option<&Path>) -> Vec<String> {
    load_targets(dir)
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .iter()
        .map(|b| b.name().to_string())
        .collect()
}

#[test]
fn builtin_targets_are_embedded() {
    assert_eq!(
        names(None),
        [
            "sigma",
            "kql-defender",
            "kql-sentinel",
            "splunk",
            "splunk-cim",
            "sql-duckdb",
            "sql-spark"
        ]
    );
}

/// Selecting targets by folder name without parsing them relies on each built-in folder being
/// named like its spec.
#[test]
fn builtin_names_without_loading_match_the_loaded_specs() {
    assert_eq!(builtin_target_names(), names(None));
}

#[test]
fn only_the_selected_builtin_targets_are_loaded() {
    let load = |ns: &[&str]| -> Vec<String> {
        let ns: Vec<String> = ns.iter().map(|s| s.to_string()).collect();
        load_builtin_targets(&ns)
            .unwrap_or_else(|d| panic!("{d:#?}"))
            .iter()
            .map(|b| b.name().to_string())
            .collect()
    };
    assert_eq!(load(&["splunk-cim", "sigma"]), ["sigma", "splunk-cim"]);
    assert_eq!(load(&["kql-sentinel"]), ["kql-sentinel"]);
    assert!(load(&["no-such-target"]).is_empty());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn a_targets_folder_replaces_the_builtins() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/splunk");
    copy_dir(&src, &tmp.path().join("my-splunk"));
    let spec = tmp.path().join("my-splunk/target.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("name: splunk\n", "name: my-splunk\n")).unwrap();
    assert_eq!(names(Some(tmp.path())), ["sigma", "my-splunk"]);
}

#[test]
fn a_bad_spec_is_a_diagnostic() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("broken")).unwrap();
    std::fs::write(
        tmp.path().join("broken/target.yaml"),
        "name: broken\nbogus_key: 1\n",
    )
    .unwrap();
    let errs = match load_targets(Some(tmp.path())) {
        Ok(_) => panic!("loaded a broken target"),
        Err(e) => e,
    };
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].code, "invalid-target");
    assert!(errs[0]
        .path
        .as_ref()
        .unwrap()
        .ends_with("broken/target.yaml"));
}

/// A `data` file that is missing or not YAML is a diagnostic naming it; a good one reaches the
/// templates as `target.data.<name>`.
#[test]
fn target_data_files_are_loaded_or_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/kql-sentinel");
    let dir = tmp.path().join("kql-sentinel");
    copy_dir(&src, &dir);
    assert_eq!(names(Some(tmp.path())), ["sigma", "kql-sentinel"]);
    std::fs::write(dir.join("attack.yaml"), "techniques: [").unwrap();
    let errs = load_targets(Some(tmp.path()))
        .err()
        .expect("bad data file loads");
    assert!(errs[0].message.contains("attack.yaml"), "{:?}", errs[0]);
    std::fs::remove_file(dir.join("attack.yaml")).unwrap();
    let errs = load_targets(Some(tmp.path()))
        .err()
        .expect("missing data file loads");
    assert_eq!(errs[0].code, "invalid-target");
    assert!(
        errs[0]
            .message
            .contains("data file `attack.yaml` is missing"),
        "{:?}",
        errs[0]
    );
}
