//! The rule language (`.det` files): lexer and parser (nom) to a syntax tree, lowering to IR,
//! the canonical formatter, and printing IR rules (for instance read from Sigma) as `.det` text.
//!
//! - [`parse`]: text to IR rules plus diagnostics (syntax errors, unknown modifiers and keys).
//! - [`format`]: the canonical layout of a file (`detc fmt`), comments kept.
//! - [`to_dsl`]: one IR rule as canonical `.det` text (the Sigma migration path).
//!
//! The reference for the language is docs/DSL.md.

pub mod ast;
pub mod lexer;
pub mod lower;
pub mod parser;
pub mod print;

use crate::diag::{Diagnostic, SourceId};
use crate::ir::Rule;

/// Larger files are refused rather than tokenised (a token list costs about 40 bytes per token).
pub const MAX_FILE_SIZE: usize = 16 << 20;

/// Parse a file into its syntax tree (no lowering). Syntax errors are returned as diagnostics.
pub fn parse_ast(source: SourceId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    if text.len() > MAX_FILE_SIZE {
        let d = Diagnostic::error(
            "file-too-large",
            format!(
                "this file has {} bytes; rule files are limited to {} MiB",
                text.len(),
                MAX_FILE_SIZE >> 20
            ),
        )
        .at(crate::diag::Loc::new(source, crate::diag::Span::at(0)))
        .expected("several smaller .det files");
        return (ast::File::default(), vec![d]);
    }
    parse_tokens(source, text, &lexer::lex(text))
}

/// [`parse_ast`] on the tokens of `text` (`lexer::lex`, or `lexer::relex` after an edit).
pub fn parse_tokens(
    source: SourceId,
    text: &str,
    toks: &[lexer::Token],
) -> (ast::File, Vec<Diagnostic>) {
    let mut p = parser::Parser::new(source, toks, text);
    let file = p.file();
    (file, p.diags)
}

/// Parse and lower every rule of a `.det` file. Never panics; syntax errors are diagnostics.
/// Rules that have errors are reported and left out of the result.
pub fn parse(source: SourceId, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    lower(source, parse_ast(source, text))
}

/// [`parse`] with the tokens of `text` given (see [`parse_tokens`]); a text over
/// [`MAX_FILE_SIZE`] is refused as by [`parse`].
pub fn parse_lexed(
    source: SourceId,
    text: &str,
    toks: &[lexer::Token],
) -> (Vec<Rule>, Vec<Diagnostic>) {
    if text.len() > MAX_FILE_SIZE {
        return parse(source, text);
    }
    lower(source, parse_tokens(source, text, toks))
}

fn lower(
    source: SourceId,
    (file, mut diags): (ast::File, Vec<Diagnostic>),
) -> (Vec<Rule>, Vec<Diagnostic>) {
    let (rules, more) = lower::lower_file(source, &file);
    diags.extend(more);
    (rules, diags)
}

/// Canonical layout of a `.det` file (`detc fmt`). Comments are kept; the result parses to the
/// same IR. Fails with the syntax errors when the file has any (a line the parser skipped would
/// otherwise be lost); problems found after parsing (a missing condition, an unknown key, ...)
/// do not prevent formatting.
pub fn format(source: SourceId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (file, diags) = parse_ast(source, text);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags.into_iter().filter(Diagnostic::is_error).collect());
    }
    Ok(print::print_file(&file))
}

/// One IR rule as canonical `.det` text; `parse(to_dsl(r))` gives back `r` (spans aside).
pub fn to_dsl(rule: &Rule) -> String {
    let file = ast::File {
        rules: vec![print::rule_to_ast(rule)],
        trailing: Vec::new(),
    };
    print::print_file(&file)
}

/// A copy of `rule` with every span and its `loc` cleared, for comparing the IR of two parses
/// (`parse(format(x))` vs `parse(x)`, `parse(to_dsl(r))` vs `r`).
pub fn without_spans(rule: &Rule) -> Rule {
    use crate::diag::{Loc, Span};
    use crate::ir::{Cond, RuleBody};
    fn cond(c: &Cond) -> Cond {
        match c {
            Cond::And(xs) => Cond::And(xs.iter().map(cond).collect()),
            Cond::Or(xs) => Cond::Or(xs.iter().map(cond).collect()),
            Cond::Not(x) => Cond::Not(Box::new(cond(x))),
            Cond::Sel(s) => Cond::Sel(crate::ir::Spanned::new(s.value.clone(), Span::default())),
            Cond::Of(q, t) => Cond::Of(
                *q,
                crate::ir::Spanned::new(t.value.clone(), Span::default()),
            ),
        }
    }
    let mut r = rule.clone();
    r.loc = Loc::default();
    for s in [&mut r.meta.id, &mut r.meta.status, &mut r.meta.level]
        .into_iter()
        .flatten()
    {
        s.span = Span::default();
    }
    for t in &mut r.meta.tags {
        t.span = Span::default();
    }
    for e in &mut r.tests {
        e.span = Span::default();
    }
    match &mut r.body {
        RuleBody::Detection(d) => {
            d.condition = cond(&d.condition);
            d.condition_span = Span::default();
            for s in &mut d.selections {
                s.span = Span::default();
                for m in s.groups.iter_mut().flatten() {
                    m.span = Span::default();
                }
            }
        }
        RuleBody::Correlation(c) => {
            c.timespan.span = Span::default();
            for r in &mut c.rules {
                r.span = Span::default();
            }
        }
    }
    r
}
