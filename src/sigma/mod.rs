//! Sigma YAML: the reader (Sigma rules to IR) and the writer (IR to Sigma rules).

use crate::diag::{Diagnostic, SourceId};
use crate::ir::Rule;

/// Read every rule of a Sigma YAML file (one or more documents).
pub fn read(source: SourceId, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let _ = (source, text);
    (Vec::new(), Vec::new())
}

/// Write one rule as a Sigma YAML document, keys in the specification's order.
pub fn write(rule: &Rule) -> String {
    format!("title: {}\n", rule.meta.title)
}

/// Like [`read`], naming rules after the file stem (`stem`, `stem_2`, ... for extra documents).
pub fn read_named(source: SourceId, text: &str, stem: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let _ = stem;
    read(source, text)
}
