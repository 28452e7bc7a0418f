//! detc diagnostics as LSP diagnostics: the same code, message, span, label, "expected" text
//! and notes as `detc check` prints, secondary labels as related information, and the "did
//! you mean" fix kept in `data` for the code action.

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString};

use super::documents::{path_to_uri, Document};
use super::workspace::Workspace;
use crate::diag::{Diagnostic, Severity};

pub const SOURCE: &str = "detc";

/// One diagnostic of `doc` in LSP form.
pub fn to_lsp(d: &Diagnostic, doc: &Document, ws: &Workspace) -> lsp_types::Diagnostic {
    let range = match d.loc {
        Some(l) => doc.range(l.span),
        None => doc.range(crate::diag::Span::at(0)),
    };
    let mut message = d.message.clone();
    if !d.label.is_empty() && d.label != d.message {
        message.push_str(&format!(" ({})", d.label));
    }
    if let Some(x) = &d.expected {
        message.push_str(&format!("\nexpected: {x}"));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if let Some(help) = help(d.code) {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            let location = if l.loc.source == super::analysis::DOC {
                Location::new(doc.uri.clone(), doc.range(l.loc.span))
            } else {
                let path = ws.path_of(l.loc.source)?;
                let f = ws.files.get(path)?;
                let other = Document::new(path_to_uri(path)?, 0, f.text.clone());
                Location::new(other.uri.clone(), other.range(l.loc.span))
            };
            Some(DiagnosticRelatedInformation {
                location,
                message: l.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: None,
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: d.fix.as_ref().map(|f| serde_json::json!({ "fix": f })),
    }
}

/// The one-line help text of a code (src/report/codes.rs), as `detc check --format sarif`
/// gives it.
fn help(code: &str) -> Option<&'static str> {
    crate::report::codes::CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, h)| *h)
}
