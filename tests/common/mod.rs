//! Helpers shared by the tests that run the `detc` binary (included with `mod common;`; not a
//! test of its own).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run `detc` in `dir` without colours.
pub fn detc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("detc runs")
}

/// A run's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
