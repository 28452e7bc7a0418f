//! A YAML node tree with byte spans: the Sigma reader's view of a file.
//!
//! `serde_yaml` gives no positions for values, and diagnostics must point at the offending key or
//! value. So the reader parses with `saphyr-parser` (an event parser that reports a span for
//! every event) and builds this small tree itself: every scalar, sequence and mapping keeps the
//! byte range it was written at. Scalars keep their text and whether they were quoted, so the
//! reader decides types (`4688` is a number, `'4688'` a string) with YAML 1.2 core-schema rules.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

use crate::diag::Span;

/// Deepest nesting accepted; Sigma rules need about six levels.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Text and whether it was written plain (unquoted, not a block scalar): only plain scalars
    /// can be null, booleans or numbers.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in written order.
    Map(Vec<(Node, Node)>),
}

/// A scalar resolved with the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }
    /// The text of a scalar (whatever its type), `None` for collections.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => Some(resolve_plain(text)),
            Kind::Scalar { text, plain: false } => Some(Scalar::Str(text)),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.scalar(), Some(Scalar::Null))
    }
    /// Value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }
    /// Human name of the node's shape, for "expected X, found Y" messages.
    pub fn shape(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => match self.scalar() {
                Some(Scalar::Null) => "null",
                Some(Scalar::Bool(_)) => "a boolean",
                Some(Scalar::Int(_) | Scalar::Float(_)) => "a number",
                _ => "a string",
            },
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

fn resolve_plain(t: &str) -> Scalar<'_> {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    // `00000429` is an integer for YAML 1.2 but a string for PyYAML (pySigma), and it is always
    // meant as text (a registry value, a code): keep numbers with leading zeros as strings.
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Scalar::Str(t);
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = t.parse::<i64>() {
            return Scalar::Int(i);
        }
    }
    if let Some(hex) = t.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Scalar::Int(i);
        }
    }
    if let Some(oct) = t.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Scalar::Int(i);
        }
    }
    if is_core_float(digits) {
        if let Ok(f) = t.parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    Scalar::Str(t)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` without the sign.
fn is_core_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// A YAML error: message and byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
    /// The document's extent (from its first to its last node).
    pub span: Span,
}

/// Parse every document of `text`. A syntax error stops parsing (YAML cannot recover); the
/// documents before it are returned with the error.
pub fn parse(text: &str) -> (Vec<Document>, Option<YamlError>) {
    let lines = LineIndex::new(text);
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        lines: &lines,
    };
    let mut docs = Vec::new();
    loop {
        match b.next() {
            Err(e) => return (docs, Some(e)),
            Ok(None) => return (docs, None),
            Ok(Some((Event::DocumentStart(_), _))) => match b.node(0) {
                Err(e) => return (docs, Some(e)),
                Ok(root) => {
                    let span = root.span;
                    docs.push(Document { root, span });
                    // DocumentEnd.
                    if let Err(e) = b.next() {
                        return (docs, Some(e));
                    }
                }
            },
            Ok(Some(_)) => {}
        }
    }
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    lines: &'a LineIndex<'a>,
}

type Ev<'a> = (Event<'a>, Span);

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Option<Ev<'a>>, YamlError> {
        match self.parser.next_event() {
            None => Ok(None),
            Some(Ok((Event::StreamEnd, _))) => Ok(None),
            Some(Ok((ev, sp))) => {
                let span = Span::new(self.lines.byte(sp.start), self.lines.byte(sp.end));
                Ok(Some((ev, span)))
            }
            Some(Err(e)) => Err(self.scan_error(&e)),
        }
    }

    fn scan_error(&self, e: &ScanError) -> YamlError {
        let at = self.lines.byte(*e.marker());
        YamlError {
            message: e.info().to_string(),
            span: Span::at(at),
        }
    }

    fn node(&mut self, depth: usize) -> Result<Node, YamlError> {
        let (ev, span) = match self.next()? {
            Some(x) => x,
            None => {
                return Err(YamlError {
                    message: "unexpected end of the YAML stream".into(),
                    span: Span::at(self.lines.len),
                })
            }
        };
        self.node_from(ev, span, depth)
    }

    fn node_from(&mut self, ev: Event<'a>, span: Span, depth: usize) -> Result<Node, YamlError> {
        if depth > MAX_DEPTH {
            return Err(YamlError {
                message: format!("the YAML is nested more than {MAX_DEPTH} levels deep"),
                span,
            });
        }
        match ev {
            Event::Scalar(text, style, _, tag) => {
                // `!!str 123` is a string whatever it looks like.
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                Ok(Node {
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain && !forced_str,
                    },
                    span,
                })
            }
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                let mut end = span.end;
                loop {
                    match self.next_required()? {
                        (Event::SequenceEnd, _) => break,
                        (ev, sp) => {
                            let n = self.node_from(ev, sp, depth + 1)?;
                            end = n.span.end;
                            items.push(n);
                        }
                    }
                }
                Ok(Node {
                    kind: Kind::Seq(items),
                    span: Span::new(span.start as usize, end as usize),
                })
            }
            Event::MappingStart(..) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut end = span.end;
                loop {
                    match self.next_required()? {
                        (Event::MappingEnd, _) => break,
                        (ev, sp) => {
                            let k = self.node_from(ev, sp, depth + 1)?;
                            let v = self.node(depth + 1)?;
                            end = v.span.end.max(k.span.end);
                            entries.push((k, v));
                        }
                    }
                }
                Ok(Node {
                    kind: Kind::Map(entries),
                    span: Span::new(span.start as usize, end as usize),
                })
            }
            Event::Alias(_) => Err(YamlError {
                message: "YAML aliases (`*name`) are not supported in Sigma rules".into(),
                span,
            }),
            other => Err(YamlError {
                message: format!("unexpected YAML event {other:?}"),
                span,
            }),
        }
    }

    fn next_required(&mut self) -> Result<Ev<'a>, YamlError> {
        match self.next()? {
            Some(x) => Ok(x),
            None => Err(YamlError {
                message: "unexpected end of the YAML stream".into(),
                span: Span::at(self.lines.len),
            }),
        }
    }
}

/// Maps the parser's line/column markers to byte offsets in time independent of the line's
/// length: a marker's column counts characters, and walking a line from its start for every
/// marker made a long line (a one-line flow list of 100,000 items) cost time quadratic in its
/// length.
struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// Per line, the index in `marks` of its first checkpoint.
    first_mark: Vec<usize>,
    /// Byte offsets of every [`MARK_EVERY`]th character of each line (the line's start first).
    marks: Vec<usize>,
    len: usize,
}

/// Characters between two checkpoints of [`LineIndex`]: a look-up walks at most this many.
const MARK_EVERY: usize = 64;

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let mut first_mark = Vec::with_capacity(starts.len());
        let mut marks = Vec::with_capacity(starts.len() + text.len() / MARK_EVERY);
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            first_mark.push(marks.len());
            let line = &text[start..end];
            if line.is_ascii() {
                // One character per byte: every checkpoint is a fixed step.
                marks.extend(
                    (0..line.len().max(1))
                        .step_by(MARK_EVERY)
                        .map(|i| start + i),
                );
            } else {
                marks.extend(
                    line.char_indices()
                        .step_by(MARK_EVERY)
                        .map(|(i, _)| start + i),
                );
                if line.is_empty() {
                    marks.push(start);
                }
            }
        }
        LineIndex {
            text,
            starts,
            first_mark,
            marks,
            len: text.len(),
        }
    }

    /// Byte offset of a marker (line is 1-based, column 0-based in characters).
    fn byte(&self, m: Marker) -> usize {
        let line = m.line().max(1) - 1;
        if line >= self.starts.len() {
            return self.len;
        }
        let end = self.starts.get(line + 1).copied().unwrap_or(self.len);
        let last_mark = self
            .first_mark
            .get(line + 1)
            .copied()
            .unwrap_or(self.marks.len());
        let k = self.first_mark[line] + m.col() / MARK_EVERY;
        if k >= last_mark {
            return end;
        }
        let from = self.marks[k];
        match self.text[from..end]
            .char_indices()
            .nth(m.col() % MARK_EVERY)
        {
            Some((i, _)) => from + i,
            None => end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let text = "a: 1\nb:\n    - 'x y'\n    - é: z\n";
        let (docs, err) = parse(text);
        assert!(err.is_none());
        let root = &docs[0].root;
        let b = root.get("b").unwrap();
        let Kind::Seq(items) = &b.kind else { panic!() };
        assert_eq!(&text[items[0].span.range()], "'x y'");
        let (k, v) = &items[1].as_map().unwrap()[0];
        assert_eq!(&text[k.span.range()], "é");
        assert_eq!(&text[v.span.range()], "z");
        assert_eq!(root.get("a").unwrap().scalar(), Some(Scalar::Int(1)));
    }

    #[test]
    fn core_schema_types() {
        for (t, want) in [
            ("~", Scalar::Null),
            ("", Scalar::Null),
            ("true", Scalar::Bool(true)),
            ("-12", Scalar::Int(-12)),
            ("0x17", Scalar::Int(23)),
            ("1.5", Scalar::Float(1.5)),
            ("2019-10-23", Scalar::Str("2019-10-23")),
            ("yes", Scalar::Str("yes")),
            ("00000429", Scalar::Str("00000429")),
            ("0", Scalar::Int(0)),
            ("1e", Scalar::Str("1e")),
        ] {
            assert_eq!(resolve_plain(t), want, "{t}");
        }
    }

    #[test]
    fn errors_and_depth() {
        let (_, err) = parse("a: [1, 2\nb: c\n");
        assert!(err.is_some());
        let deep = "[".repeat(200) + &"]".repeat(200);
        let (_, err) = parse(&deep);
        assert!(err.unwrap().message.contains("nested"));
    }

    /// The checkpointed line index gives what walking each line from its start gives, on
    /// ASCII and non-ASCII lines, empty lines, past a line's end and past the last line.
    #[test]
    fn line_index_agrees_with_a_walk() {
        let long: String = (0..300)
            .map(|i| if i % 7 == 0 { 'é' } else { 'a' })
            .collect();
        let text = format!("ab\n\n{long}\n{}\nlast é", "x".repeat(200));
        let idx = LineIndex::new(&text);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (l, line) in lines.iter().enumerate() {
            let start = idx.starts[l];
            for col in 0..line.chars().count() + 3 {
                let want = line
                    .char_indices()
                    .nth(col)
                    .map(|(i, _)| start + i)
                    .unwrap_or(start + line.len());
                assert_eq!(
                    idx.byte(Marker::new(0, l + 1, col)),
                    want,
                    "line {l} col {col}"
                );
            }
        }
        assert_eq!(idx.byte(Marker::new(0, lines.len() + 1, 0)), text.len());
    }

    /// A one-line flow list of 100,000 items: every item's span is right, and the index holds
    /// one checkpoint per 64 characters (a look-up walks at most 63), not a walk from the
    /// line's start per item (which took minutes at this size).
    #[test]
    fn long_flow_list_spans() {
        let n = 100_000;
        let items: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
        let text = format!("k: [{}]\n", items.join(", "));
        let idx = LineIndex::new(&text);
        assert!(idx.marks.len() <= text.len() / MARK_EVERY + 3);
        let (docs, err) = parse(&text);
        assert!(err.is_none());
        let Kind::Seq(seq) = &docs[0].root.get("k").unwrap().kind else {
            panic!("not a list")
        };
        assert_eq!(seq.len(), n);
        for (i, node) in seq.iter().enumerate().step_by(997) {
            assert_eq!(&text[node.span.range()], items[i]);
        }
    }

    #[test]
    fn multiple_documents() {
        let (docs, err) = parse("a: 1\n---\nb: 2\n");
        assert!(err.is_none());
        assert_eq!(docs.len(), 2);
        assert!(docs[1].root.get("b").is_some());
    }
}
