//! Reports for CI systems and code hosts: diagnostics as SARIF 2.1.0 (code scanning) and as
//! GitHub Actions workflow commands, examples as JUnit XML (test reports). Each is a pure
//! function from diagnostics (and their sources) to text; the CLI picks one with `--format`.

pub mod codes;
pub mod github;
pub mod junit;
pub mod sarif;

use crate::diag::{Diagnostic, Sources};

/// Where a diagnostic points: file, and 1-based start and end (line, column in characters;
/// the end is the position after the last character).
pub(crate) struct Place {
    pub file: Option<String>,
    pub start: Option<(usize, usize)>,
    pub end: Option<(usize, usize)>,
}

pub(crate) fn place(d: &Diagnostic, sources: &Sources) -> Place {
    match d.loc {
        Some(l) => Place {
            file: Some(slashes(&sources.path(l.source).display().to_string())),
            start: Some(sources.line_col(l.source, l.span.start)),
            end: Some(sources.line_col(l.source, l.span.end)),
        },
        None => Place {
            file: d.path.as_ref().map(|p| slashes(&p.display().to_string())),
            start: None,
            end: None,
        },
    }
}

/// A path as CI systems show it: `/` separators, no leading `./`.
fn slashes(p: &str) -> String {
    let p = p.replace('\\', "/");
    p.strip_prefix("./").map(str::to_string).unwrap_or(p)
}

/// The full text of a diagnostic for a one-message report: message, what was expected, notes.
pub(crate) fn full_message(d: &Diagnostic) -> String {
    let mut m = d.message.clone();
    if let Some(e) = &d.expected {
        m.push_str(&format!("\nexpected: {e}"));
    }
    for n in &d.notes {
        m.push_str(&format!("\nnote: {n}"));
    }
    m
}
