//! One visible line for each optional test suite that did not run (included with
//! `#[path = "common/skip.rs"] mod skip;`).

use std::io::Write;
use std::sync::Once;

/// Say, once per test binary, that `suite` was not run, why, and how to run it. Written to the
/// process's real stderr, past the test harness's output capture, so a plain `cargo test` shows
/// it even though the tests pass.
pub fn skipped(suite: &str, why: &str, enable: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "note: {suite} NOT RUN: {why}; to run it: {enable} (README: Optional test suites)"
        );
    });
}
