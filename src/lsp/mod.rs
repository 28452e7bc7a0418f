//! `detc lsp`: a Language Server Protocol server for `.det` and Sigma rule files, on the same
//! reader, checker, formatter and back ends as the command line (see docs/EDITORS.md).
//!
//! - [`server`]: the message loop over stdio (`lsp-server`) and the dispatch of requests;
//!   [`Server`] handles one message at a time with no I/O, so tests and the benchmark drive it
//!   directly.
//! - [`documents`]: open documents, incremental sync, offsets and UTF-16 positions.
//! - [`workspace`]: the rule files of the workspace folders (cross-file names and ids).
//! - [`analysis`]: a document checked as `detc check` + `detc test` check a file.
//! - [`diagnostics`], [`completion`], [`hover`], [`navigation`], [`formatting`], [`actions`]:
//!   one feature each.
//! - [`knowledge`]: the embedded taxonomy, ATT&CK and modifier tables, and the targets' field
//!   mappings.

pub mod actions;
pub mod analysis;
pub mod completion;
pub mod diagnostics;
pub mod documents;
pub mod formatting;
pub mod hover;
pub mod knowledge;
pub mod navigation;
pub mod server;
pub mod workspace;

pub use server::Server;

use crate::diag::Span;
use crate::ir::Selection;

/// What a feature needs about the document at hand.
pub struct Ctx<'a> {
    pub doc: &'a documents::Document,
    pub an: &'a analysis::Analysis,
    pub ws: &'a workspace::Workspace,
    pub know: &'a knowledge::Knowledge,
}

/// The name-like word around `offset` (letters, digits, `_ . - *`), with its span; Sigma's
/// `|` and the rule language's punctuation end it.
pub fn word_at(text: &str, offset: usize) -> Option<(String, Span)> {
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '*');
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let start = text[..off]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(off, |(i, _)| i);
    let end = text[off..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| off + i);
    (start < end).then(|| (text[start..end].to_string(), Span::new(start, end)))
}

/// The source text of a selection, from its name to the end of its last matcher.
pub fn selection_text<'t>(text: &'t str, s: &Selection) -> &'t str {
    let end = s
        .groups
        .iter()
        .flatten()
        .map(|m| m.span.end)
        .chain([s.span.end])
        .max()
        .unwrap_or(s.span.end) as usize;
    let start = s.span.start as usize;
    text.get(start..end.min(text.len())).unwrap_or("")
}

/// Serve LSP over stdin/stdout until the client says `exit`.
pub fn run_stdio() -> Result<(), String> {
    let (conn, io) = lsp_server::Connection::stdio();
    server::run(conn)?;
    io.join().map_err(|e| format!("detc lsp: {e}"))
}
