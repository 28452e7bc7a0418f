//! Build script: a JSON copy of every YAML file of the built-in targets (`targets/**/*.yaml`),
//! embedded next to the YAML. Parsing the specs and table schemas with the YAML parser was most
//! of a small run's start-up; serde_json reads the same data 5–10 times faster
//! (docs/PERFORMANCE.md, "compile"). A file that does not convert (a YAML construct JSON has no
//! form for) is left out and read as YAML at run time; a unit test in `src/target/mod.rs`
//! checks that each copy deserialises to exactly what its YAML does.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=targets");
    let out =
        Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("targets-json");
    // Always create the folder: the binary embeds it even when no file converts.
    std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
    let Ok(targets) = std::fs::read_dir("targets") else {
        return;
    };
    for target in targets.flatten() {
        copy_yaml(&target.path(), &out.join(target.file_name()));
    }
}

/// JSON copies of the YAML files under `dir` (recursively: `logsources/`, `schema/`) into `out`.
fn copy_yaml(dir: &Path, out: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for file in entries.flatten() {
        let path = file.path();
        if path.is_dir() {
            copy_yaml(&path, &out.join(file.file_name()));
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(value) = serde_yaml::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        std::fs::create_dir_all(out).expect("OUT_DIR is writable");
        let name = format!("{}.json", file.file_name().to_string_lossy());
        std::fs::write(out.join(name), value.to_string()).expect("OUT_DIR is writable");
    }
}
