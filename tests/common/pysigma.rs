//! What the pySigma comparison suites share (included with
//! `#[path = "common/pysigma.rs"] mod pysigma;`): where the repo, the shared corpus and the
//! Python with pySigma are, and running a comparison script in tests/pysigma/ for its summary.
#![allow(dead_code)]

#[path = "skip.rs"]
mod skip;

use std::path::PathBuf;
use std::process::Command;

/// `sub` in the repo.
pub fn manifest(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(sub)
}

/// `sub` in the shared test data: `../shared` next to the repo, else `/work/shared`.
pub fn shared(sub: &str) -> PathBuf {
    let p = manifest("../shared").join(sub);
    if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared").join(sub)
    }
}

/// The Python named by DETC_PYTHON, or `None` (and a note that `suite` did not run).
pub fn python(suite: &str) -> Option<String> {
    match std::env::var("DETC_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            skip::skipped(
                suite,
                "DETC_PYTHON is not set",
                "set DETC_PYTHON to a Python with pySigma and its Splunk and Kusto backends",
            );
            None
        }
    }
}

/// `python tests/pysigma/<name> --detc <the detc binary>`, for the caller's arguments.
pub fn script(python: &str, name: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(manifest("tests/pysigma").join(name))
        .arg("--detc")
        .arg(env!("CARGO_BIN_EXE_detc"));
    cmd
}

/// Runs a comparison script, which must succeed; returns its JSON summary (last stdout line)
/// and the whole output.
pub fn summary(cmd: &mut Command) -> (serde_json::Value, String) {
    let out = cmd.output().expect("run the comparison script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("summary line");
    (serde_json::from_str(last).expect("JSON summary"), stdout)
}

/// The summary's count `k`.
pub fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("summary has no `{k}`: {v}"))
}
