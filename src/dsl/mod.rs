//! The rule language (`.det` files): parser (nom) to AST, lowering to IR, and the formatter.

use crate::diag::{Diagnostic, SourceId};
use crate::ir::Rule;

/// Parse and lower every rule of a `.det` file. Never panics; syntax errors are diagnostics.
pub fn parse(source: SourceId, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let _ = (source, text);
    (Vec::new(), Vec::new())
}

/// Format a `.det` file in the canonical layout.
pub fn format(source: SourceId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let _ = source;
    Ok(text.to_string())
}

/// Print an IR rule as canonical `.det` text.
pub fn to_dsl(rule: &Rule) -> String {
    format!("rule {} {{\n}}\n", rule.name)
}
