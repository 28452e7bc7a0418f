//! Tokens to syntax tree, with error recovery.
//!
//! The language is line-oriented: a rule body is a sequence of items, one per line (a selection
//! block or a test may span several lines inside braces). On a syntax error the parser reports it
//! and skips to the end of the line (or the end of the brace block that started on it), so every
//! broken line of a file is reported once. Recursion (conditions, nested lists) is bounded by
//! [`MAX_DEPTH`].

use crate::diag::{Diagnostic, Loc, SourceId, Span};

use super::ast::*;
use super::lexer::{Tok, Token};
use super::lower::{closest, modifier};
use crate::ir::modifier::MODIFIERS;
use crate::ir::Modifier;

/// Deepest nesting of parentheses / `not` in a condition, or of lists in a test value.
pub const MAX_DEPTH: usize = 64;

/// Marker: the current item is broken and has been reported.
struct Broken;

type PResult<T> = Result<T, Broken>;

pub struct Parser<'t> {
    toks: &'t [Token],
    /// The source text (for columns: multi-line metadata strings are dedented).
    text: &'t str,
    pos: usize,
    source: SourceId,
    text_len: usize,
    pub diags: Vec<Diagnostic>,
    /// Syntax errors reported so far (to count those inside one rule).
    errors: usize,
    /// Comments met in the middle of an item; they are moved before it.
    stray: Vec<Comment>,
    /// Indentation of the line of the `condition` being parsed (continuation lines go deeper).
    cond_indent: usize,
    /// Open parentheses in the condition being parsed (inside them new lines are free).
    cond_parens: usize,
    /// Where to resume after a broken item, when not at its start (a multi-line condition).
    resume: Option<usize>,
}

fn describe(t: Option<&Token>) -> String {
    match t.map(|t| &t.kind) {
        None => "end of file".into(),
        Some(Tok::Word(w)) => format!("`{w}`"),
        Some(Tok::Str { .. }) => "a string".into(),
        Some(Tok::LBrace) => "`{`".into(),
        Some(Tok::RBrace) => "`}`".into(),
        Some(Tok::LParen) => "`(`".into(),
        Some(Tok::RParen) => "`)`".into(),
        Some(Tok::LBracket) => "`[`".into(),
        Some(Tok::RBracket) => "`]`".into(),
        Some(Tok::Comma) => "`,`".into(),
        Some(Tok::Eq) => "`=`".into(),
        Some(Tok::Colon) => "`:`".into(),
        Some(Tok::Newline) => "end of line".into(),
        Some(Tok::Comment(_)) => "a comment".into(),
    }
}

/// Comments without the blank-line markers at their end.
fn trim_blank(mut comments: Vec<Comment>) -> Vec<Comment> {
    while comments.last().is_some_and(|c| c == BLANK) {
        comments.pop();
    }
    comments
}

/// A condition operator or quantifier word.
pub fn is_cond_keyword(w: &str) -> bool {
    matches!(w, "and" | "or" | "not" | "of" | "them" | "all" | "1")
}

/// Spaces and tabs at the start of a line of a multi-line string.
fn indent_width(line: &str) -> usize {
    line.bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// Remove the source indentation from the continuation lines of a multi-line metadata string.
///
/// `col` is the column just after the opening quote (where the first line's text starts). The
/// margin is the smallest indentation (spaces and tabs, one column each) of the continuation
/// lines that hold more than white space, but never more than `col`: the first line counts as
/// indented to `col`. Every continuation line loses up to the margin. So text indented under the
/// key or aligned under the opening quote reads as written, relative indentation is kept, and
/// the printer can write any text back exactly by indenting continuation lines to `col`.
pub fn dedent(text: &str, col: usize) -> String {
    let Some((first, rest)) = text.split_once('\n') else {
        return text.to_string();
    };
    let margin = rest
        .split('\n')
        .filter(|l| {
            !l.trim_end_matches('\r')
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t'))
        })
        .map(indent_width)
        .min()
        .unwrap_or(col)
        .min(col);
    let mut out = first.to_string();
    for line in rest.split('\n') {
        out.push('\n');
        // Spaces and tabs are one byte each.
        out.push_str(&line[indent_width(line).min(margin)..]);
    }
    out
}

/// A plain identifier: `[A-Za-z_][A-Za-z0-9_.]*` (field names that need no quotes).
pub fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// A number literal: an `i64`, or a finite decimal.
pub fn parse_number(w: &str) -> Option<ValNum> {
    let body = w.strip_prefix('-').unwrap_or(w);
    let first = body.chars().next()?;
    if !first.is_ascii_digit() {
        return None;
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    if body.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(i) = w.parse::<i64>() {
            return Some(ValNum::Int(i));
        }
    }
    match w.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(ValNum::Float(f)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValNum {
    Int(i64),
    Float(f64),
}

impl<'t> Parser<'t> {
    pub fn new(source: SourceId, toks: &'t [Token], text: &'t str) -> Parser<'t> {
        Parser {
            toks,
            text,
            pos: 0,
            source,
            text_len: text.len(),
            diags: Vec::new(),
            errors: 0,
            stray: Vec::new(),
            cond_indent: 0,
            cond_parens: 0,
            resume: None,
        }
    }

    fn peek(&self) -> Option<&'t Token> {
        self.toks.get(self.pos)
    }
    fn peek_kind(&self) -> Option<&'t Tok> {
        self.peek().map(|t| &t.kind)
    }
    fn peek_at(&self, n: usize) -> Option<&'t Tok> {
        self.toks.get(self.pos + n).map(|t| &t.kind)
    }
    fn bump(&mut self) -> Option<&'t Token> {
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }
    /// Span of the current token (zero-width at the end of the file).
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => Span::at(self.text_len),
        }
    }
    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[self.pos - 1].span.end as usize
        }
    }
    /// End of the last consumed token that is not a newline or a comment.
    fn content_end(&self) -> usize {
        self.toks[..self.pos]
            .iter()
            .rev()
            .find(|t| !matches!(t.kind, Tok::Newline | Tok::Comment(_)))
            .map_or(0, |t| t.span.end as usize)
    }

    fn loc(&self, span: Span) -> Loc {
        Loc::new(self.source, span)
    }

    fn error_here(&mut self, label: &str, expected: &str) -> Broken {
        // A new line is pointed at where it starts (its span would reach into the next line).
        let span = match self.peek() {
            Some(t) if t.kind == Tok::Newline => Span::at(t.span.start as usize),
            _ => self.here(),
        };
        let found = describe(self.peek());
        let msg = format!("unexpected {found}");
        self.error(span, msg, label, expected)
    }

    fn error(&mut self, span: Span, msg: String, label: &str, expected: &str) -> Broken {
        self.errors += 1;
        self.diags.push(
            Diagnostic::error("syntax", msg)
                .at(self.loc(span))
                .label(label)
                .expected(expected),
        );
        Broken
    }

    fn at_line_end(&self) -> bool {
        matches!(
            self.peek_kind(),
            None | Some(Tok::Newline | Tok::Comment(_))
        )
    }

    /// Skip the rest of a broken line: up to the newline that is not inside braces opened on the
    /// way, or up to a `}` that closes the enclosing block (left unconsumed).
    fn recover_line(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            if self.at_rule_header() {
                return;
            }
            match t.kind {
                Tok::Newline if depth == 0 => {
                    self.pos += 1;
                    return;
                }
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// At `rule NAME {` or `correlation NAME {` at the start of a line.
    fn at_rule_header(&self) -> bool {
        let line_start = self.pos == 0 || matches!(self.toks[self.pos - 1].kind, Tok::Newline);
        line_start
            && matches!(self.peek_kind(), Some(Tok::Word(w)) if w == "rule" || w == "correlation")
            && matches!(self.peek_at(1), Some(Tok::Word(_)))
            && matches!(self.peek_at(2), Some(Tok::LBrace))
    }

    /// Consume an optional trailing comment and the newline; anything else is an error.
    fn end_line(&mut self, expected: &str) -> PResult<Option<Comment>> {
        let mut comment = None;
        if let Some(Tok::Comment(c)) = self.peek_kind() {
            comment = Some(c.clone());
            self.pos += 1;
        }
        match self.peek_kind() {
            None => Ok(comment),
            Some(Tok::Newline) => {
                self.pos += 1;
                Ok(comment)
            }
            // A closing brace may end the line of the last item of a block.
            Some(Tok::RBrace) if comment.is_none() => Ok(None),
            _ => Err(self.error_here("unexpected here", expected)),
        }
    }

    /// Skip newlines and own-line comments; returns the comments and whether a blank line was
    /// among them.
    fn skip_blank(&mut self) -> (Vec<Comment>, bool) {
        let mut comments = Vec::new();
        let mut blank = false;
        let mut line_empty = true;
        while let Some(t) = self.peek() {
            match &t.kind {
                Tok::Newline => {
                    if line_empty {
                        blank = true;
                        // A blank line between comments is kept (see `ast::BLANK`).
                        if comments.last().is_some_and(|c: &Comment| c != BLANK) {
                            comments.push(BLANK.to_string());
                        }
                    }
                    line_empty = true;
                }
                Tok::Comment(c) => {
                    comments.push(c.clone());
                    line_empty = false;
                }
                _ => break,
            }
            self.pos += 1;
        }
        (comments, blank)
    }

    fn word(&mut self) -> Option<Word> {
        match self.peek() {
            Some(Token {
                kind: Tok::Word(w),
                span,
            }) => {
                self.pos += 1;
                Some(Word {
                    text: w.clone(),
                    span: *span,
                })
            }
            _ => None,
        }
    }

    /// Adjacent string literals. Reports an unterminated one.
    fn strings(&mut self) -> PResult<Option<Str>> {
        let mut segs = Vec::new();
        let mut span: Option<Span> = None;
        while let Some(Token {
            kind:
                Tok::Str {
                    text,
                    double,
                    terminated,
                },
            span: s,
        }) = self.peek()
        {
            if !terminated {
                let at = Span::new(s.start as usize, s.start as usize + 1);
                return Err(self.error(
                    at,
                    "unterminated string".into(),
                    "this quote is never closed",
                    if *double {
                        "a closing `\"` (write `\"\"` for a quote inside)"
                    } else {
                        "a closing `'` (write `''` for a quote inside)"
                    },
                ));
            }
            self.pos += 1;
            segs.push(Seg {
                double: *double,
                text: text.clone(),
            });
            span = Some(span.map_or(*s, |sp| sp.to(*s)));
        }
        Ok(span.map(|span| Str { segs, span }))
    }

    /// Exactly one string token, as a word (a quoted name).
    fn single_string(&mut self) -> PResult<Word> {
        let save = self.pos;
        let s = self.strings()?.ok_or(Broken)?;
        // Re-read just the first token.
        self.pos = save + 1;
        let text = s.segs.first().map(|g| g.text.clone()).unwrap_or_default();
        Ok(Word {
            text,
            span: self.toks[save].span,
        })
    }

    /// Column (in characters from the start of its line) of the byte offset `at`.
    fn column(&self, at: u32) -> usize {
        let before = self.text.get(..at as usize).unwrap_or("");
        let line = before.rfind('\n').map_or(before, |n| &before[n + 1..]);
        line.chars().count()
    }

    /// Indentation (in characters) of the line holding byte offset `at`.
    fn line_indent(&self, at: u32) -> usize {
        let before = self.text.get(..at as usize).unwrap_or("");
        let start = before.rfind('\n').map_or(0, |n| n + 1);
        self.text[start..]
            .chars()
            .take_while(|c| *c != '\n' && (c.is_whitespace() || *c == '\u{feff}'))
            .count()
    }

    /// At the end of a line: the position of the first token of the next line that holds more
    /// than a comment, if `accept` takes it.
    fn next_line(&self, accept: impl Fn(&Self, usize) -> bool) -> Option<usize> {
        let mut i = self.pos;
        let mut newline = false;
        while let Some(t) = self.toks.get(i) {
            match t.kind {
                Tok::Newline => newline = true,
                Tok::Comment(_) => {}
                _ => break,
            }
            i += 1;
        }
        (newline && i < self.toks.len() && accept(self, i)).then_some(i)
    }

    /// Move to `to` (from [`Self::next_line`]); the comments skipped go before the item.
    fn continue_at(&mut self, to: usize) {
        for t in &self.toks[self.pos..to] {
            if let Tok::Comment(c) = &t.kind {
                self.stray.push(c.clone());
            }
        }
        self.pos = to;
    }

    fn word_at(&self, i: usize, w: &str) -> bool {
        matches!(self.toks.get(i).map(|t| &t.kind), Some(Tok::Word(x)) if x == w)
    }

    /// The condition continues on the next line with the operator `op`: inside parentheses, or
    /// on a line indented deeper than the `condition` line.
    fn cond_continues_with(&mut self, op: &str) -> bool {
        if self.is_word(op) {
            return true;
        }
        let next = self.next_line(|p, i| {
            p.word_at(i, op)
                && (p.cond_parens > 0 || p.line_indent(p.toks[i].span.start) > p.cond_indent)
        });
        match next {
            Some(i) => {
                self.continue_at(i);
                true
            }
            None => false,
        }
    }

    /// The expression is incomplete (after an operator or `(`): its operand may be on the next
    /// line, inside parentheses or indented deeper than the `condition` line.
    fn cond_operand_next_line(&mut self) {
        if matches!(self.peek_kind(), Some(Tok::Newline | Tok::Comment(_))) {
            if let Some(i) = self.next_line(|p, i| {
                p.cond_parens > 0 || p.line_indent(p.toks[i].span.start) > p.cond_indent
            }) {
                self.continue_at(i);
            }
        }
    }

    /// One string token as a metadata value: its continuation lines dedented (see
    /// [`dedent`]) against the column just after the opening quote.
    fn meta_string(&mut self) -> PResult<Arg> {
        let w = self.single_string()?;
        let col = self.column(w.span.start) + 1;
        Ok(Arg::Str(Str {
            segs: vec![Seg {
                double: true,
                text: dedent(&w.text, col),
            }],
            span: w.span,
        }))
    }

    // ---- file and rule structure ----

    pub fn file(&mut self) -> File {
        let mut file = File::default();
        loop {
            let (comments, _) = self.skip_blank();
            let Some(t) = self.peek() else {
                file.trailing = trim_blank(comments);
                break;
            };
            let kind = match &t.kind {
                Tok::Word(w) if w == "rule" => Some(RuleKind::Rule),
                Tok::Word(w) if w == "correlation" => Some(RuleKind::Correlation),
                _ => None,
            };
            match kind {
                Some(kind) => {
                    if let Some(mut r) = self.rule(kind) {
                        r.leading = comments;
                        file.rules.push(r);
                    }
                }
                None => {
                    let _ = self.error_here(
                        "a rule starts with `rule` or `correlation`",
                        "`rule NAME {` or `correlation NAME {`",
                    );
                    self.skip_to_rule_start();
                }
            }
        }
        file
    }

    /// After garbage at the top level: skip to the next line that starts with `rule` or
    /// `correlation`.
    fn skip_to_rule_start(&mut self) {
        self.pos += 1;
        while let Some(t) = self.peek() {
            let line_start = self.pos == 0 || matches!(self.toks[self.pos - 1].kind, Tok::Newline);
            if line_start && matches!(&t.kind, Tok::Word(w) if w == "rule" || w == "correlation") {
                return;
            }
            self.pos += 1;
        }
    }

    fn rule(&mut self, kind: RuleKind) -> Option<RuleAst> {
        let errors_before = self.errors;
        let kw = self.bump()?.span;
        let Some(name) = self.word() else {
            let _ = self.error_here("expected the rule name", "a rule name such as `my_rule`");
            self.skip_to_rule_start_or_block();
            return None;
        };
        // The name becomes the output files' name: anything but a plain identifier could write
        // outside the output folder (`../x`) or past the file system's name limit. The rule is
        // still parsed so its other problems show, but it fails.
        if let Err(problem) = crate::ir::name::check_rule_name(&name.text) {
            self.errors += 1;
            let label = match problem {
                crate::ir::name::NameProblem::TooLong { .. } => "too long for a file name",
                _ => "not a plain identifier",
            };
            self.diags.push(
                Diagnostic::error("invalid-rule-name", problem.message(&name.text))
                    .at(self.loc(name.span))
                    .label(label)
                    .expected(crate::ir::name::EXPECTED),
            );
        }
        let open = self.here();
        if !matches!(self.peek_kind(), Some(Tok::LBrace)) {
            let _ = self.error_here("expected `{` after the rule name", "`{`");
            self.skip_to_rule_start_or_block();
            return None;
        }
        self.pos += 1;
        let header_comment = match self.end_line("a new line after `{`") {
            Ok(c) => c,
            Err(Broken) => {
                self.recover_line();
                None
            }
        };
        let mut items = Vec::new();
        let mut broken = Vec::new();
        let end_comments;
        let close;
        let mut unclosed = false;
        loop {
            let (comments, blank) = self.skip_blank();
            match self.peek_kind() {
                None => {
                    let _ = self.error(
                        open,
                        "unclosed `{`".into(),
                        "this rule is never closed",
                        "`}` at the end of the rule",
                    );
                    end_comments = comments;
                    close = self.text_len;
                    break;
                }
                Some(Tok::RBrace) => {
                    end_comments = trim_blank(comments);
                    close = self.here().end as usize;
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            let start = self.here();
            // A new rule at the start of a line inside an unclosed one: stop here.
            if self.at_rule_header() {
                let _ = self.error(
                    open,
                    "unclosed `{`".into(),
                    "this rule is never closed",
                    "`}` before the next rule",
                );
                end_comments = comments;
                close = self.prev_end();
                unclosed = true;
                break;
            }
            self.stray.clear();
            self.resume = None;
            let item_start = self.pos;
            match self.item(kind) {
                Ok((kind, trailing)) => {
                    let mut leading = comments;
                    leading.append(&mut self.stray);
                    items.push(Item {
                        leading,
                        trailing,
                        blank_before: blank,
                        kind,
                        span: start.to(Span::at(self.content_end())),
                    });
                }
                Err(Broken) => {
                    let word = |i: usize| match self.toks.get(i) {
                        Some(Token {
                            kind: Tok::Word(w),
                            span,
                        }) => Some(Word {
                            text: w.clone(),
                            span: *span,
                        }),
                        _ => None,
                    };
                    let first = word(item_start);
                    let is_sel = kind == RuleKind::Rule
                        && matches!(
                            self.toks.get(item_start + 1).map(|t| &t.kind),
                            Some(Tok::Eq)
                        );
                    broken.push(BrokenItem {
                        condition: kind == RuleKind::Rule
                            && first.as_ref().is_some_and(|w| w.text == "condition"),
                        selection: first.filter(|_| is_sel),
                    });
                    // Skip the whole item, braces balanced from its start.
                    self.pos = item_start;
                    if let Some(at) = self.resume.take() {
                        self.pos = at;
                    } else {
                        self.recover_line();
                    }
                    if self.pos == item_start {
                        // Always make progress.
                        self.pos += 1;
                    }
                }
            }
        }
        let trailing = if unclosed {
            None
        } else if let Some(Tok::Comment(c)) = self.peek_kind() {
            self.pos += 1;
            Some(c.clone())
        } else {
            None
        };
        if !unclosed && !self.at_line_end() {
            let _ = self.error_here("expected the end of the line", "a new line after `}`");
            self.recover_line();
        }
        Some(RuleAst {
            kind,
            name,
            span: kw.to(Span::at(close)),
            leading: Vec::new(),
            header_comment,
            items,
            end_comments,
            trailing,
            syntax_errors: self.errors - errors_before,
            broken,
        })
    }

    /// A broken rule header: skip its block if one follows on the line, else to the next rule.
    fn skip_to_rule_start_or_block(&mut self) {
        while !self.at_line_end() {
            if matches!(self.peek_kind(), Some(Tok::LBrace)) {
                let mut depth = 0usize;
                while let Some(t) = self.bump() {
                    match t.kind {
                        Tok::LBrace => depth += 1,
                        Tok::RBrace => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
                return;
            }
            self.pos += 1;
        }
    }

    fn item(&mut self, kind: RuleKind) -> PResult<(ItemKind, Option<Comment>)> {
        let Some(key) = self.word() else {
            return Err(self.error_here(
                "expected a metadata key, a selection or `condition`",
                "a metadata key (`title`, `id`, ...), `NAME = ...`, `condition` or `test`",
            ));
        };
        if matches!(self.peek_kind(), Some(Tok::Eq)) && kind == RuleKind::Rule {
            self.pos += 1;
            let groups = self.selection_body()?;
            let trailing = self.end_line("`,` and another value, or a new line")?;
            return Ok((ItemKind::Selection { name: key, groups }, trailing));
        }
        match (key.text.as_str(), kind) {
            ("condition", RuleKind::Rule) => {
                self.cond_indent = self.line_indent(key.span.start);
                self.cond_parens = 0;
                let cond = self.condition().and_then(|c| {
                    Ok((c, self.end_line("`and`, `or` or the end of the condition")?))
                });
                match cond {
                    Ok((cond, trailing)) => Ok((ItemKind::Condition(cond), trailing)),
                    Err(b) => {
                        // Resume after the line of the error (the condition may span lines),
                        // and skip the continuation lines that follow it.
                        self.recover_line();
                        while (self.word_at(self.pos, "and") || self.word_at(self.pos, "or"))
                            && self.line_indent(self.here().start) > self.cond_indent
                        {
                            self.recover_line();
                        }
                        self.resume = Some(self.pos);
                        Err(b)
                    }
                }
            }
            ("test", RuleKind::Rule) => self.test(key),
            _ => {
                let args = self.meta_args()?;
                let trailing = self.end_line("another value or a new line")?;
                Ok((ItemKind::Meta { key, args }, trailing))
            }
        }
    }

    // ---- metadata ----

    fn meta_args(&mut self) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            match self.peek_kind() {
                Some(Tok::Word(_)) => {
                    let w = self.word().ok_or(Broken)?;
                    if matches!(self.peek_kind(), Some(Tok::Eq)) {
                        self.pos += 1;
                        let v = if let Some(v) = self.word() {
                            Arg::Word(v)
                        } else if matches!(self.peek_kind(), Some(Tok::Str { .. })) {
                            self.meta_string()?
                        } else {
                            return Err(
                                self.error_here("expected a value after `=`", "a word or a string")
                            );
                        };
                        args.push(Arg::KeyVal(w, Box::new(v)));
                    } else {
                        args.push(Arg::Word(w));
                    }
                }
                // Each string is its own value here (`refs "a" "b"` is two references).
                Some(Tok::Str { .. }) => {
                    let a = self.meta_string()?;
                    args.push(a);
                }
                Some(Tok::LBrace) => {
                    let (fields, span) = self.event_map()?;
                    args.push(Arg::Map(fields, span));
                }
                Some(Tok::Comma) => {
                    // Commas between metadata values are allowed and ignored.
                    self.pos += 1;
                }
                Some(Tok::Newline | Tok::Comment(_)) | None => {
                    // A string at the start of a following line continues the list (`refs`);
                    // comment lines may come between.
                    let save = self.pos;
                    let mut comments = Vec::new();
                    let mut newline = false;
                    while let Some(t) = self.peek_kind() {
                        match t {
                            Tok::Comment(c) => comments.push(c.clone()),
                            Tok::Newline => newline = true,
                            _ => break,
                        }
                        self.pos += 1;
                    }
                    if newline
                        && !args.is_empty()
                        && matches!(self.peek_kind(), Some(Tok::Str { .. }))
                    {
                        self.stray.extend(comments);
                        continue;
                    }
                    self.pos = save;
                    return Ok(args);
                }
                _ => {
                    return Err(self.error_here("unexpected here", "a word, a string or a new line"))
                }
            }
        }
    }

    // ---- selections ----

    fn selection_body(&mut self) -> PResult<Vec<Group>> {
        if !matches!(self.peek_kind(), Some(Tok::LBrace)) {
            let m = self.matcher()?;
            return Ok(vec![Group {
                span: m.span,
                matchers: vec![MatcherLine {
                    leading: Vec::new(),
                    trailing: None,
                    matcher: m,
                }],
                braced: false,
            }]);
        }
        let mut groups = vec![self.group()?];
        loop {
            // `} or {` may be split before the `or`: `}` then a line starting with `or {`.
            if let Some(i) = self.next_line(|p, i| {
                p.word_at(i, "or")
                    && matches!(p.toks.get(i + 1).map(|t| &t.kind), Some(Tok::LBrace))
            }) {
                self.continue_at(i);
            }
            if !self.is_word("or") {
                break;
            }
            self.pos += 1;
            self.skip_newlines_collecting();
            if !matches!(self.peek_kind(), Some(Tok::LBrace)) {
                return Err(self.error_here(
                    "expected `{` after `or`",
                    "`{` starting another group of matchers",
                ));
            }
            groups.push(self.group()?);
        }
        Ok(groups)
    }

    fn skip_newlines_collecting(&mut self) {
        let (comments, _) = self.skip_blank();
        self.stray
            .extend(comments.into_iter().filter(|c| c != BLANK));
    }

    fn group(&mut self) -> PResult<Group> {
        let open = self.bump().ok_or(Broken)?.span;
        let mut matchers = Vec::new();
        loop {
            let (leading, _) = self.skip_blank();
            match self.peek_kind() {
                Some(Tok::RBrace) => {
                    self.stray
                        .extend(leading.into_iter().filter(|c| c != BLANK));
                    let close = self.bump().ok_or(Broken)?.span;
                    return Ok(Group {
                        matchers,
                        span: open.to(close),
                        braced: true,
                    });
                }
                None => {
                    return Err(self.error(
                        open,
                        "unclosed `{`".into(),
                        "this group is never closed",
                        "`}`",
                    ))
                }
                _ => {}
            }
            let matcher = match self.matcher() {
                Ok(m) => m,
                Err(Broken) => {
                    // Keep parsing the other lines of the block.
                    self.recover_line();
                    continue;
                }
            };
            let trailing = match self.end_line("`,` and another value, or a new line") {
                Ok(t) => t,
                Err(Broken) => {
                    self.recover_line();
                    None
                }
            };
            matchers.push(MatcherLine {
                leading,
                trailing,
                matcher,
            });
        }
    }

    fn matcher(&mut self) -> PResult<MatcherAst> {
        let start = self.here();
        let field = match self.peek_kind() {
            Some(Tok::Word(w)) if w == "keywords" => {
                self.pos += 1;
                None
            }
            Some(Tok::Word(w)) if is_ident(w) => self.word(),
            Some(Tok::Word(w)) => {
                let w = w.clone();
                let b = self.error(
                    self.here(),
                    format!("`{w}` is not a plain field name"),
                    "quote this field name",
                    &format!("a field name: an identifier, or a quoted string such as \"{w}\""),
                );
                if w.contains('|') {
                    // Sigma habit: `Image|endswith`.
                    let spaced = w.replace('|', " ");
                    if let Some(d) = self.diags.last_mut() {
                        d.notes.push(format!(
                            "modifiers are words after the field, without `|`: `{spaced} \"...\"`"
                        ));
                    }
                }
                return Err(b);
            }
            // One string token only: a value may follow directly (`"c-uri" "/x"`).
            Some(Tok::Str { .. }) => Some(self.single_string()?),
            _ => {
                return Err(
                    self.error_here("expected a field name", "a field name, `keywords` or `{`")
                )
            }
        };
        let mut modifiers = Vec::new();
        let mut unknown = false;
        while let Some(Tok::Word(w)) = self.peek_kind() {
            if matches!(w.as_str(), "true" | "false" | "null") || parse_number(w).is_some() {
                break;
            }
            let w = self.word().ok_or(Broken)?;
            if modifier(&w.text).is_none() {
                unknown = true;
                self.unknown_modifier(&w);
            }
            modifiers.push(w);
        }
        let first = if unknown {
            // Already reported; a missing value is most likely the unquoted word itself.
            self.value_quiet().ok_or(Broken)?
        } else {
            self.value()?
        };
        let mut values = vec![first];
        while matches!(self.peek_kind(), Some(Tok::Comma)) {
            self.pos += 1;
            self.skip_newlines_collecting();
            values.push(self.value()?);
        }
        Ok(MatcherAst {
            field,
            modifiers,
            values,
            span: start.to(Span::at(self.prev_end())),
        })
    }

    fn unknown_modifier(&mut self, w: &Word) {
        self.errors += 1;
        let mut d = Diagnostic::error("unknown-modifier", format!("unknown modifier `{}`", w.text))
            .at(self.loc(w.span))
            .label("not a modifier")
            .expected(format!("a modifier ({}) or a value", Modifier::all_names()));
        if modifier(&w.text.to_ascii_lowercase()).is_some() {
            d = d.note("modifiers are written in lower case");
        } else if let Some(c) = closest(&w.text, MODIFIERS.iter().map(|(n, _)| *n)) {
            d = d.suggest(c);
        } else {
            d = d.note("text values are quoted: \"...\" (a pattern) or '...' (exact text)");
        }
        self.diags.push(d);
    }

    /// A value, or `None` without a diagnostic.
    fn value_quiet(&mut self) -> Option<ValAst> {
        let save = (self.pos, self.diags.len(), self.errors);
        match self.value() {
            Ok(v) => Some(v),
            Err(Broken) => {
                self.pos = save.0;
                self.diags.truncate(save.1);
                self.errors = save.2;
                None
            }
        }
    }

    fn value(&mut self) -> PResult<ValAst> {
        if let Some(s) = self.strings()? {
            return Ok(ValAst::Str(s));
        }
        if let Some(Token {
            kind: Tok::Word(w),
            span,
        }) = self.peek()
        {
            let v = match w.as_str() {
                "true" => Some(ValAst::Bool(true, *span)),
                "false" => Some(ValAst::Bool(false, *span)),
                "null" => Some(ValAst::Null(*span)),
                _ => match parse_number(w) {
                    Some(ValNum::Int(i)) => Some(ValAst::Int(i, *span)),
                    Some(ValNum::Float(f)) => Some(ValAst::Float(f, *span)),
                    None => None,
                },
            };
            if let Some(v) = v {
                self.pos += 1;
                return Ok(v);
            }
        }
        let b = self.error_here(
            "expected a value",
            "a modifier, a value (a string, a number, true, false or null)",
        );
        if matches!(self.peek_kind(), Some(Tok::Colon)) {
            if let Some(d) = self.diags.last_mut() {
                d.notes.push(
                    "no `:` after a field or modifier: write `Image endswith \"\\x.exe\"`".into(),
                );
            }
        }
        Err(b)
    }

    // ---- conditions ----

    fn condition(&mut self) -> PResult<CondAst> {
        if self.at_line_end() {
            return Err(self.error_here(
                "the condition is empty",
                "a condition such as `selection and not filter`",
            ));
        }
        let c = self.cond_or(0)?;
        if !self.at_line_end() {
            if let Some(Token {
                kind: Tok::Word(w),
                span,
            }) = self.peek()
            {
                if !is_cond_keyword(w) {
                    let lower = w.to_ascii_lowercase();
                    let hint = if is_cond_keyword(&lower) {
                        format!("write `{lower}` in lower case")
                    } else {
                        "`and`, `or` or the end of the condition".to_string()
                    };
                    self.errors += 1;
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-condition-keyword",
                            format!("`{w}` is not a condition operator"),
                        )
                        .at(self.loc(*span))
                        .label("unknown operator")
                        .expected(hint),
                    );
                    return Err(Broken);
                }
            }
            return Err(
                self.error_here("unexpected here", "`and`, `or` or the end of the condition")
            );
        }
        Ok(c)
    }

    fn too_deep(&mut self) -> Broken {
        self.errors += 1;
        self.diags.push(
            Diagnostic::error(
                "nesting-too-deep",
                format!("the condition nests more than {MAX_DEPTH} levels deep"),
            )
            .at(self.loc(self.here()))
            .label("too deep")
            .expected("a flatter condition (use `1 of` / `all of`, or name sub-conditions)"),
        );
        Broken
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek_kind(), Some(Tok::Word(x)) if x == w)
    }

    fn cond_or(&mut self, depth: usize) -> PResult<CondAst> {
        let mut items = vec![self.cond_and(depth)?];
        while self.cond_continues_with("or") {
            self.pos += 1;
            items.push(self.cond_and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().ok_or(Broken)?
        } else {
            CondAst::Or(items)
        })
    }

    fn cond_and(&mut self, depth: usize) -> PResult<CondAst> {
        let mut items = vec![self.cond_not(depth)?];
        while self.cond_continues_with("and") {
            self.pos += 1;
            items.push(self.cond_not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().ok_or(Broken)?
        } else {
            CondAst::And(items)
        })
    }

    fn cond_not(&mut self, depth: usize) -> PResult<CondAst> {
        if depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.cond_operand_next_line();
        if self.is_word("not") {
            self.pos += 1;
            return Ok(CondAst::Not(Box::new(self.cond_not(depth + 1)?)));
        }
        self.cond_atom(depth)
    }

    fn cond_atom(&mut self, depth: usize) -> PResult<CondAst> {
        const EXPECTED: &str = "a selection name, `not`, `(`, `1 of` or `all of`";
        match self.peek() {
            Some(Token {
                kind: Tok::LParen,
                span,
            }) => {
                let open = *span;
                self.pos += 1;
                self.cond_parens += 1;
                let inner = self.cond_or(depth + 1);
                self.cond_parens -= 1;
                let inner = inner?;
                if let Some(i) = self.next_line(|p, i| matches!(p.toks[i].kind, Tok::RParen)) {
                    self.continue_at(i);
                }
                if !matches!(self.peek_kind(), Some(Tok::RParen)) {
                    if self.at_line_end() {
                        return Err(self.error(
                            open,
                            "unclosed `(`".into(),
                            "this parenthesis is never closed",
                            "`)`",
                        ));
                    }
                    return Err(self.error_here("unexpected here", "`and`, `or` or `)`"));
                }
                self.pos += 1;
                Ok(CondAst::Paren(Box::new(inner)))
            }
            Some(Token {
                kind: Tok::Word(w),
                span,
            }) => {
                let span = *span;
                let next_is_of = matches!(self.peek_at(1), Some(Tok::Word(x)) if x == "of");
                if next_is_of {
                    let all = match w.as_str() {
                        "1" => false,
                        "all" => true,
                        _ => {
                            self.errors += 1;
                            self.diags.push(
                                Diagnostic::error(
                                    "unknown-condition-keyword",
                                    format!("`{w} of` is not a quantifier"),
                                )
                                .at(self.loc(span))
                                .label("unknown quantifier")
                                .expected("`1 of` or `all of`"),
                            );
                            return Err(Broken);
                        }
                    };
                    self.pos += 2;
                    let Some(target) = self.word() else {
                        return Err(self.error_here(
                            "expected what to count",
                            "`them` or a selection name pattern such as `filter_*`",
                        ));
                    };
                    if is_cond_keyword(&target.text) && target.text != "them" {
                        return Err(self.error(
                            target.span,
                            format!("unexpected `{}`", target.text),
                            "expected what to count",
                            "`them` or a selection name pattern such as `filter_*`",
                        ));
                    }
                    let span = span.to(target.span);
                    return Ok(CondAst::Of { all, target, span });
                }
                if is_cond_keyword(w) {
                    return Err(self.error_here("expected an operand", EXPECTED));
                }
                let w = self.word().ok_or(Broken)?;
                Ok(CondAst::Sel(w))
            }
            _ => Err(self.error_here("expected an operand", EXPECTED)),
        }
    }

    // ---- tests ----

    fn test(&mut self, keyword: Word) -> PResult<(ItemKind, Option<Comment>)> {
        let hit = match self.peek_kind() {
            Some(Tok::Word(w)) if w == "hit" => true,
            Some(Tok::Word(w)) if w == "miss" => false,
            _ => return Err(self.error_here("expected `hit` or `miss`", "`hit` or `miss`")),
        };
        self.pos += 1;
        if !matches!(self.peek_kind(), Some(Tok::LBrace)) {
            return Err(self.error_here("expected the test event", "`{ Field: value, ... }`"));
        }
        let (fields, _) = self.event_map()?;
        let trailing = self.end_line("a new line after the test")?;
        Ok((
            ItemKind::Test {
                hit,
                keyword,
                fields,
            },
            trailing,
        ))
    }

    /// `{ key: value, ... }`; commas or new lines separate entries.
    fn event_map(&mut self) -> PResult<(Vec<(Word, EvVal)>, Span)> {
        let open = self.bump().ok_or(Broken)?.span;
        let mut fields = Vec::new();
        loop {
            self.skip_newlines_collecting();
            match self.peek_kind() {
                Some(Tok::RBrace) => {
                    let close = self.bump().ok_or(Broken)?.span;
                    return Ok((fields, open.to(close)));
                }
                Some(Tok::Comma) => {
                    self.pos += 1;
                    continue;
                }
                None => {
                    return Err(self.error(
                        open,
                        "unclosed `{`".into(),
                        "this event is never closed",
                        "`}`",
                    ))
                }
                _ => {}
            }
            let key = if let Some(w) = self.word() {
                w
            } else if let Some(s) = self.strings()? {
                Word {
                    text: s.text(),
                    span: s.span,
                }
            } else {
                return Err(self.error_here(
                    "expected a field name",
                    "a field name, a quoted field name or `}`",
                ));
            };
            if !matches!(self.peek_kind(), Some(Tok::Colon)) {
                return Err(self.error_here("expected `:` after the field name", "`:`"));
            }
            self.pos += 1;
            let v = self.ev_value(0)?;
            fields.push((key, v));
            match self.peek_kind() {
                Some(Tok::Comma | Tok::Newline | Tok::Comment(_) | Tok::RBrace) => {}
                _ => {
                    return Err(self
                        .error_here("unexpected here", "`,`, a new line or `}` after the value"))
                }
            }
        }
    }

    fn ev_value(&mut self, depth: usize) -> PResult<EvVal> {
        if depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        if let Some(s) = self.strings()? {
            return Ok(EvVal::Str(s));
        }
        match self.peek() {
            Some(Token {
                kind: Tok::LBracket,
                span,
            }) => {
                let open = *span;
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_newlines_collecting();
                    match self.peek_kind() {
                        Some(Tok::RBracket) => {
                            let close = self.bump().ok_or(Broken)?.span;
                            return Ok(EvVal::List(items, open.to(close)));
                        }
                        Some(Tok::Comma) if !items.is_empty() => {
                            self.pos += 1;
                        }
                        None => {
                            return Err(self.error(
                                open,
                                "unclosed `[`".into(),
                                "this list is never closed",
                                "`]`",
                            ))
                        }
                        _ => items.push(self.ev_value(depth + 1)?),
                    }
                }
            }
            Some(Token {
                kind: Tok::Word(w),
                span,
            }) => {
                let span = *span;
                let v = match w.as_str() {
                    "true" => EvVal::Bool(true, span),
                    "false" => EvVal::Bool(false, span),
                    "null" => EvVal::Null(span),
                    _ => match parse_number(w) {
                        Some(ValNum::Int(i)) => EvVal::Int(i, span),
                        Some(ValNum::Float(f)) => EvVal::Float(f, span),
                        None => EvVal::Word(Word {
                            text: w.clone(),
                            span,
                        }),
                    },
                };
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.error_here(
                "expected a value",
                "a string, a number, true, false, null or a list `[...]`",
            )),
        }
    }
}
