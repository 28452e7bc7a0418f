//! The syntax tree of a `.det` file: what was written, with spans and comments, before any
//! interpretation. The formatter prints it; lowering turns it into the IR.

use crate::diag::Span;

/// A comment (`# text`) with the text after `#`, or [`BLANK`].
pub type Comment = String;

/// Stands for a blank line between comments in a list of comments (a comment's own text never
/// contains a newline).
pub const BLANK: &str = "\n";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub rules: Vec<RuleAst>,
    /// Comments after the last rule.
    pub trailing: Vec<Comment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Rule,
    Correlation,
}

impl RuleKind {
    pub fn keyword(self) -> &'static str {
        match self {
            RuleKind::Rule => "rule",
            RuleKind::Correlation => "correlation",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleAst {
    pub kind: RuleKind,
    pub name: Word,
    /// From the keyword to the closing brace.
    pub span: Span,
    pub leading: Vec<Comment>,
    /// Comment on the `rule name {` line.
    pub header_comment: Option<Comment>,
    pub items: Vec<Item>,
    /// Comments before the closing brace.
    pub end_comments: Vec<Comment>,
    /// Comment after the closing brace.
    pub trailing: Option<Comment>,
    /// Syntax errors inside this rule. Lowering still returns the rest of it (with the syntax
    /// diagnostics inside its span, so it is checked but never compiled).
    pub syntax_errors: usize,
    /// Items the parser had to skip.
    pub broken: Vec<BrokenItem>,
}

/// An item skipped after a syntax error, with what its first words tell about it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenItem {
    /// `NAME = ...`: the selection's name.
    pub selection: Option<Word>,
    /// The line starts with `condition`.
    pub condition: bool,
}

/// A bare word or identifier with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

/// One part of a string literal: `"..."` (a pattern) or `'...'` (exact text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub double: bool,
    pub text: String,
}

/// Adjacent string literals, concatenated.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub segs: Vec<Seg>,
    pub span: Span,
}

impl Str {
    /// The text with the quotes removed (for exact-text positions).
    pub fn text(&self) -> String {
        self.segs.iter().map(|s| s.text.as_str()).collect()
    }
}

/// An argument of a metadata line.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Word(Word),
    Str(Str),
    /// `key=value` (logsource).
    KeyVal(Word, Box<Arg>),
    /// `{ key: value, ... }` (correlation `alias`).
    Map(Vec<(Word, EvVal)>, Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Word(w) => w.span,
            Arg::Str(s) => s.span,
            Arg::KeyVal(k, v) => k.span.to(v.span()),
            Arg::Map(_, s) => *s,
        }
    }
    /// The text of a word or string argument.
    pub fn text(&self) -> Option<String> {
        match self {
            Arg::Word(w) => Some(w.text.clone()),
            Arg::Str(s) => Some(s.text()),
            Arg::KeyVal(..) | Arg::Map(..) => None,
        }
    }
}

/// One line-level item in a rule body, with the comments attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub leading: Vec<Comment>,
    pub trailing: Option<Comment>,
    /// A blank line came before this item (kept between selections and between tests).
    pub blank_before: bool,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `key arg arg ...` (metadata, and the keys of a correlation, including its `condition`).
    Meta {
        key: Word,
        args: Vec<Arg>,
    },
    Selection {
        name: Word,
        groups: Vec<Group>,
    },
    Condition(CondAst),
    Test {
        hit: bool,
        keyword: Word,
        fields: Vec<(Word, EvVal)>,
    },
}

/// An AND-group of matchers: `{ ... }`, or a selection written as one matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub matchers: Vec<MatcherLine>,
    pub span: Span,
    /// Written with braces (`name = { m }` rather than `name = m`).
    pub braced: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatcherLine {
    pub leading: Vec<Comment>,
    pub trailing: Option<Comment>,
    pub matcher: MatcherAst,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatcherAst {
    /// `None` for `keywords`.
    pub field: Option<Word>,
    pub modifiers: Vec<Word>,
    pub values: Vec<ValAst>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValAst {
    Str(Str),
    Int(i64, Span),
    Float(f64, Span),
    Bool(bool, Span),
    Null(Span),
}

impl ValAst {
    pub fn span(&self) -> Span {
        match self {
            ValAst::Str(s) => s.span,
            ValAst::Int(_, s) | ValAst::Float(_, s) | ValAst::Bool(_, s) | ValAst::Null(s) => *s,
        }
    }
}

/// A value in a test event or an alias map.
#[derive(Debug, Clone, PartialEq)]
pub enum EvVal {
    Str(Str),
    Int(i64, Span),
    Float(f64, Span),
    Bool(bool, Span),
    Null(Span),
    /// A bare word (field names in `alias` maps).
    Word(Word),
    List(Vec<EvVal>, Span),
}

impl EvVal {
    pub fn span(&self) -> Span {
        match self {
            EvVal::Str(s) => s.span,
            EvVal::Word(w) => w.span,
            EvVal::Int(_, s)
            | EvVal::Float(_, s)
            | EvVal::Bool(_, s)
            | EvVal::Null(s)
            | EvVal::List(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CondAst {
    And(Vec<CondAst>),
    Or(Vec<CondAst>),
    Not(Box<CondAst>),
    /// `( ... )`, kept so that lowering reproduces the written grouping.
    Paren(Box<CondAst>),
    Sel(Word),
    /// `1 of x` / `all of x`; `all` is true for `all`. The word is the target (`them` or a name
    /// pattern); the span covers the whole quantifier expression.
    Of {
        all: bool,
        target: Word,
        span: Span,
    },
}
