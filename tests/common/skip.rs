//! One visible line for each optional test suite that did not run (included with
//! `#[path = "common/skip.rs"] mod skip;`).

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

/// Say, once per suite and test binary, that `suite` was not run, why, and how to run it.
/// Written to the process's real stderr, past the test harness's output capture, so a plain
/// `cargo test` shows it even though the tests pass.
pub fn skipped(suite: &str, why: &str, enable: &str) {
    // Per suite: one binary can skip several (a missing corpus and a missing Kusto parser).
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = SAID
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(suite.to_string());
    if first {
        let _ = writeln!(
            std::io::stderr(),
            "note: {suite} NOT RUN: {why}; to run it: {enable} (README: Optional test suites)"
        );
    }
}
