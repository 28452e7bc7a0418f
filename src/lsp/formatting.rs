//! Formatting: exactly `detc fmt` (`dsl::format`). A range request gets the edits of the
//! whole-file formatting that touch the range (a line diff of the file and its formatted
//! text), so that formatting a selection never gives a layout `detc fmt` would change.

use lsp_types::{Position, Range, TextEdit};

use super::documents::Document;
use crate::pack::load::Kind;

/// The edits that format the document, or `None` when it cannot be formatted (a Sigma file,
/// or syntax errors: they are shown as diagnostics, and `detc fmt` refuses such a file too).
pub fn format(doc: &Document, range: Option<Range>) -> Option<Vec<TextEdit>> {
    if doc.kind() == Some(Kind::Sigma) {
        return None;
    }
    let formatted = crate::dsl::format(super::analysis::DOC, &doc.text).ok()?;
    if formatted == doc.text {
        return Some(Vec::new());
    }
    let Some(range) = range else {
        let end = doc.position(doc.text.len());
        return Some(vec![TextEdit::new(
            Range::new(Position::new(0, 0), end),
            formatted,
        )]);
    };
    let diff = similar::TextDiff::from_lines(doc.text.as_str(), formatted.as_str());
    let new_lines: Vec<&str> = formatted.split_inclusive('\n').collect();
    let mut edits = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let old = op.old_range();
        let new = op.new_range();
        // Lines old.start..old.end become new_lines[new]; keep the hunks that touch the range.
        let (first, last) = (old.start as u32, old.end.max(old.start + 1) as u32 - 1);
        if last < range.start.line || first > range.end.line {
            continue;
        }
        let start = doc.position(doc.line_start(old.start));
        let end = doc.position(doc.line_start(old.end));
        edits.push(TextEdit::new(
            Range::new(start, end),
            new_lines[new.clone()].concat(),
        ));
    }
    Some(edits)
}
