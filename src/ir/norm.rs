//! Normalisation: the rule *as written* becomes the semantic expression targets and the
//! evaluator consume.
//!
//! Here, and only here, Sigma's value semantics are decided: `contains`/`startswith`/`endswith`
//! become wildcards, encodings (`base64`, `base64offset`, `utf16*`, `wide`) and `windash` expand
//! to alternatives, `neq` becomes a negation, `1 of x*` / `all of them` become OR/AND over the
//! named selections, and placeholders are resolved. A back end never sees a modifier list, so
//! it cannot forget one.

use std::collections::BTreeMap;

use base64::Engine;

use super::{
    CmpOp, Cond, Detection, Matcher, Modifier, OfTarget, Piece, Quant, Rule, SigmaString, Value,
};
use crate::diag::{Diagnostic, Span};

/// The semantic condition of a detection rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
    /// Only produced for degenerate input (an empty AND is true, an empty OR is false).
    Const(bool),
}

/// One test on one field (or on any value of the event, for keywords).
#[derive(Debug, Clone, PartialEq)]
pub struct Pred {
    /// `None`: a keyword, matched against every value of the event.
    pub field: Option<String>,
    pub test: Test,
    /// The matcher this predicate came from, for diagnostics raised by targets.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Whole-value pattern match; `*`/`?` pieces are wildcards (position modifiers have already
    /// become wildcards here). Case-insensitive unless `cased`.
    Str { pattern: SigmaString, cased: bool },
    /// Regular expression (Sigma's PCRE subset), unanchored: it matches anywhere in the value.
    Regex { pattern: String, flags: ReFlags },
    /// The value parses as an IP address inside the network.
    Cidr(ipnet::IpNet),
    /// Numeric comparison: `field <op> value`. Plain numeric values are `Eq`.
    Num { op: CmpOp, value: Number },
    /// Boolean equality.
    Bool(bool),
    /// `field: null`: the field is absent, null, or the empty string.
    Null,
    /// `field|exists: true/false`.
    Exists(bool),
    /// `field|fieldref: other`: compares with another field of the same event.
    FieldRef {
        other: String,
        position: Position,
        cased: bool,
    },
    /// Time-part modifiers (`|hour`, `|day`, ...): the part of a timestamp field compared with a
    /// number.
    TimePart {
        part: Modifier,
        op: CmpOp,
        value: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReFlags {
    pub ignore_case: bool,
    pub multi_line: bool,
    pub dot_all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Placeholder values for `|expand` (`%Administrators%` -> list of values), from the command line.
pub type Placeholders = BTreeMap<String, Vec<String>>;

/// Options for normalisation.
#[derive(Debug, Default, Clone, Copy)]
pub struct NormOptions<'a> {
    pub placeholders: Option<&'a Placeholders>,
}

/// Most windash alternatives one value may expand to (5^5); beyond that the rule is rejected
/// rather than compiled into a query nobody can run.
const MAX_WINDASH_VARIANTS: usize = 3125;

/// The dash-like characters `windash` makes interchangeable.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Normalise a detection rule's condition. Errors are diagnostics at the offending span; the
/// rule's checks ([`super::check`]) report most problems earlier with better context.
pub fn normalize(rule: &Rule, opts: NormOptions) -> Result<Expr, Vec<Diagnostic>> {
    let det = rule.detection().ok_or_else(|| {
        vec![Diagnostic::error(
            "not-a-detection",
            "correlation rules have no single-event condition",
        )
        .at(rule.loc)]
    })?;
    let mut errors = Vec::new();
    let mut cx = Cx {
        rule,
        det,
        by_name: by_name(det),
        opts,
        errors: &mut errors,
        depth: 0,
    };
    let e = cx.cond(&det.condition);
    if errors.is_empty() {
        Ok(simplify(e))
    } else {
        Err(errors)
    }
}

/// Normalise one selection of a detection rule on its own (as if it were the condition).
pub fn normalize_selection(
    rule: &Rule,
    sel: &super::Selection,
    opts: NormOptions,
) -> Result<Expr, Vec<Diagnostic>> {
    let det = rule.detection().ok_or_else(Vec::new)?;
    let mut errors = Vec::new();
    let mut cx = Cx {
        rule,
        det,
        by_name: None,
        opts,
        errors: &mut errors,
        depth: 0,
    };
    let e = cx.selection_expr(sel);
    if errors.is_empty() {
        Ok(simplify(e))
    } else {
        Err(errors)
    }
}

/// Selections from which a condition's names are looked up in a map rather than by a scan
/// (a condition naming each of 100,000 selections must not be quadratic).
const INDEX_SELECTIONS: usize = 16;

/// Selection name -> selection (the first of a name, as [`Detection::selection`]), for
/// detections with many selections.
fn by_name(det: &Detection) -> Option<rustc_hash::FxHashMap<&str, &super::Selection>> {
    (det.selections.len() >= INDEX_SELECTIONS).then(|| {
        let mut m = rustc_hash::FxHashMap::default();
        for s in &det.selections {
            m.entry(s.name.as_str()).or_insert(s);
        }
        m
    })
}

struct Cx<'a, 'e> {
    rule: &'a Rule,
    det: &'a Detection,
    by_name: Option<rustc_hash::FxHashMap<&'a str, &'a super::Selection>>,
    opts: NormOptions<'a>,
    errors: &'e mut Vec<Diagnostic>,
    depth: usize,
}

impl<'a> Cx<'a, '_> {
    fn err(&mut self, span: Span, code: &'static str, msg: String) {
        self.errors
            .push(Diagnostic::error(code, msg).at(self.rule.loc(span)));
    }

    /// The bytes an encoding modifier (`md`) encodes: the previous encoding's output, else
    /// the plain values; a value with wildcards cannot be encoded (an error at `span`).
    fn bytes_to_encode(
        &mut self,
        previous: Option<Vec<Vec<u8>>>,
        forms: &[SigmaString],
        span: Span,
        md: &Modifier,
    ) -> Option<Vec<Vec<u8>>> {
        if previous.is_some() {
            return previous;
        }
        match plain_forms(forms) {
            Some(p) => Some(p.into_iter().map(String::into_bytes).collect()),
            None => {
                self.err(
                    span,
                    "invalid-modifier-combination",
                    format!("`{md}` cannot encode a value with wildcards"),
                );
                None
            }
        }
    }

    fn cond(&mut self, c: &Cond) -> Expr {
        match c {
            Cond::And(xs) => Expr::And(xs.iter().map(|x| self.cond(x)).collect()),
            Cond::Or(xs) => Expr::Or(xs.iter().map(|x| self.cond(x)).collect()),
            Cond::Not(x) => Expr::Not(Box::new(self.cond(x))),
            Cond::Sel(name) => match self.selection(&name.value) {
                Some(sel) => self.selection_expr(sel),
                None => {
                    self.err(
                        name.span,
                        "undefined-selection",
                        format!("selection `{}` is not defined", name.value),
                    );
                    Expr::Const(false)
                }
            },
            Cond::Of(q, target) => {
                let sels: Vec<_> = self
                    .det
                    .selections
                    .iter()
                    .filter(|s| of_matches(&target.value, &s.name))
                    .collect();
                if sels.is_empty() {
                    self.err(
                        target.span,
                        "undefined-selection",
                        "no selection matches this pattern".to_string(),
                    );
                }
                let xs = sels.into_iter().map(|s| self.selection_expr(s)).collect();
                match q {
                    Quant::One => Expr::Or(xs),
                    Quant::All => Expr::And(xs),
                }
            }
        }
    }

    fn selection(&self, name: &str) -> Option<&'a super::Selection> {
        match &self.by_name {
            Some(m) => m.get(name).copied(),
            None => self.det.selection(name),
        }
    }

    fn selection_expr(&mut self, sel: &super::Selection) -> Expr {
        // Guards against selections that (through a bug elsewhere) refer to themselves.
        self.depth += 1;
        if self.depth > 64 {
            return Expr::Const(false);
        }
        let e = Expr::Or(
            sel.groups
                .iter()
                .map(|g| Expr::And(g.iter().map(|m| self.matcher(m)).collect()))
                .collect(),
        );
        self.depth -= 1;
        e
    }

    fn matcher(&mut self, m: &Matcher) -> Expr {
        let all = m.has(Modifier::All);
        let neq = m.has(Modifier::Neq);
        let mut alts = Vec::new();
        for v in &m.values {
            match self.value(m, v) {
                Some(e) => alts.push(e),
                None => return Expr::Const(false),
            }
        }
        let e = if all { Expr::And(alts) } else { Expr::Or(alts) };
        if neq {
            Expr::Not(Box::new(e))
        } else {
            e
        }
    }

    /// One written value becomes one expression (an OR when it expands to several forms).
    fn value(&mut self, m: &Matcher, v: &Value) -> Option<Expr> {
        let pred = |test: Test| {
            Expr::Pred(Pred {
                field: m.field.clone(),
                test,
                span: m.span,
            })
        };
        let cmp = m.modifiers.iter().find_map(|x| match x {
            Modifier::Gt => Some(CmpOp::Gt),
            Modifier::Gte => Some(CmpOp::Gte),
            Modifier::Lt => Some(CmpOp::Lt),
            Modifier::Lte => Some(CmpOp::Lte),
            _ => None,
        });
        if let Some(part) = m.modifiers.iter().copied().find(|x| x.is_time_part()) {
            let n = match v {
                Value::Int(i) => *i,
                _ => {
                    self.err(
                        m.span,
                        "invalid-value",
                        format!("`{part}` compares with a whole number"),
                    );
                    return None;
                }
            };
            return Some(pred(Test::TimePart {
                part,
                op: cmp.unwrap_or(CmpOp::Eq),
                value: n,
            }));
        }
        if m.has(Modifier::Exists) {
            return match v {
                Value::Bool(b) => Some(pred(Test::Exists(*b))),
                _ => {
                    self.err(
                        m.span,
                        "invalid-value",
                        "`exists` takes `true` or `false`".into(),
                    );
                    None
                }
            };
        }
        if let Some(op) = cmp {
            let n = match v {
                Value::Int(i) => Number::Int(*i),
                Value::Float(f) => Number::Float(*f),
                Value::Str(s) => match s.as_plain().and_then(|t| parse_number(&t)) {
                    Some(n) => n,
                    None => {
                        self.err(
                            m.span,
                            "invalid-value",
                            format!("`{}` compares with a number", op.name()),
                        );
                        return None;
                    }
                },
                _ => {
                    self.err(
                        m.span,
                        "invalid-value",
                        format!("`{}` compares with a number", op.name()),
                    );
                    return None;
                }
            };
            return Some(pred(Test::Num { op, value: n }));
        }
        // A keyword is text anywhere in the event, whatever YAML type its value had: a keyword
        // `0` is the text "0" (a numeric test has no field to read).
        let typed = m.field.is_some() && (m.modifiers.is_empty() || only_generic(&m.modifiers));
        let s = match v {
            Value::Int(i) if typed => {
                return Some(pred(Test::Num {
                    op: CmpOp::Eq,
                    value: Number::Int(*i),
                }))
            }
            Value::Float(f) if typed => {
                return Some(pred(Test::Num {
                    op: CmpOp::Eq,
                    value: Number::Float(*f),
                }))
            }
            Value::Bool(b) if typed => return Some(pred(Test::Bool(*b))),
            Value::Null => return Some(pred(Test::Null)),
            Value::Int(i) => SigmaString::literal(&i.to_string()),
            Value::Float(f) => SigmaString::literal(&f.to_string()),
            Value::Bool(b) => SigmaString::literal(&b.to_string()),
            Value::Str(s) => s.clone(),
        };
        if m.has(Modifier::Re) {
            let flags = ReFlags {
                ignore_case: m.has(Modifier::ReI),
                multi_line: m.has(Modifier::ReM),
                dot_all: m.has(Modifier::ReS),
            };
            let text = s.as_plain().unwrap_or_else(|| s.to_sigma());
            return Some(pred(Test::Regex {
                pattern: text,
                flags,
            }));
        }
        if m.has(Modifier::Cidr) {
            let text = s.as_plain().unwrap_or_default();
            return match text.trim().parse::<ipnet::IpNet>().or_else(|_| {
                text.trim()
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
            }) {
                Ok(net) => Some(pred(Test::Cidr(net.trunc()))),
                Err(_) => {
                    self.err(
                        m.span,
                        "invalid-cidr",
                        format!("`{text}` is not a CIDR network"),
                    );
                    None
                }
            };
        }
        let position = position_of(&m.modifiers);
        let cased = m.has(Modifier::Cased);
        if m.has(Modifier::FieldRef) {
            return Some(pred(Test::FieldRef {
                other: s.as_plain().unwrap_or_default(),
                position,
                cased,
            }));
        }
        // Value transformations, in the order written.
        let mut forms = vec![s];
        if forms[0].has_placeholders() {
            forms = self.expand_placeholders(m, &forms[0])?;
        }
        let mut bytes_mode: Option<Vec<Vec<u8>>> = None;
        for md in &m.modifiers {
            match md {
                Modifier::Windash => {
                    let mut out = Vec::new();
                    for f in &forms {
                        out.extend(windash(f));
                    }
                    if out.len() > MAX_WINDASH_VARIANTS {
                        self.err(
                            m.span,
                            "windash-explosion",
                            format!(
                                "`windash` expands this value into {} variants (at most {MAX_WINDASH_VARIANTS})",
                                out.len()
                            ),
                        );
                        return None;
                    }
                    forms = out;
                }
                Modifier::Utf16Le | Modifier::Wide | Modifier::Utf16Be | Modifier::Utf16 => {
                    let src = self.bytes_to_encode(bytes_mode.take(), &forms, m.span, md)?;
                    let enc = |b: &Vec<u8>| -> Vec<u8> {
                        let text = String::from_utf8_lossy(b);
                        let units: Vec<u16> = text.encode_utf16().collect();
                        let mut out = Vec::new();
                        match md {
                            Modifier::Utf16Be => {
                                units.iter().for_each(|u| out.extend(u.to_be_bytes()))
                            }
                            Modifier::Utf16 => {
                                out.extend([0xFF, 0xFE]);
                                units.iter().for_each(|u| out.extend(u.to_le_bytes()))
                            }
                            _ => units.iter().for_each(|u| out.extend(u.to_le_bytes())),
                        }
                        out
                    };
                    bytes_mode = Some(src.iter().map(enc).collect());
                }
                Modifier::Base64 | Modifier::Base64Offset => {
                    let src = self.bytes_to_encode(bytes_mode.take(), &forms, m.span, md)?;
                    let mut out = Vec::new();
                    for b in &src {
                        if *md == Modifier::Base64 {
                            out.push(SigmaString::literal(
                                &base64::engine::general_purpose::STANDARD.encode(b),
                            ));
                        } else {
                            out.extend(
                                base64_offsets(b)
                                    .into_iter()
                                    .map(|t| SigmaString::literal(&t)),
                            );
                        }
                    }
                    forms = out;
                }
                _ => {}
            }
        }
        if let Some(b) = bytes_mode {
            // An encoding without base64 leaves raw bytes; keep them as Latin-1 text so that
            // NUL bytes survive (targets that cannot express them reject the rule).
            forms = b
                .iter()
                .map(|bytes| {
                    SigmaString::literal(&bytes.iter().map(|&c| c as char).collect::<String>())
                })
                .collect();
        }
        let keyword = m.field.is_none();
        let mut alts: Vec<Expr> = forms
            .into_iter()
            .map(|f| {
                let pattern = apply_position(f, position, keyword);
                pred(Test::Str { pattern, cased })
            })
            .collect();
        Some(if alts.len() == 1 {
            alts.pop().expect("one")
        } else {
            Expr::Or(alts)
        })
    }

    fn expand_placeholders(&mut self, m: &Matcher, s: &SigmaString) -> Option<Vec<SigmaString>> {
        let mut out = vec![SigmaString::default()];
        for p in &s.pieces {
            match p {
                Piece::Placeholder(name) => {
                    let vals = match self.opts.placeholders.and_then(|ph| ph.get(name)) {
                        Some(v) if !v.is_empty() => v,
                        _ => {
                            self.err(
                                m.span,
                                "unresolved-placeholder",
                                format!("placeholder `%{name}%` has no value (give a placeholder file with --placeholders)"),
                            );
                            return None;
                        }
                    };
                    let mut next = Vec::new();
                    for prefix in &out {
                        for v in vals {
                            let mut x = prefix.clone();
                            for q in SigmaString::parse(v, false).pieces {
                                x.push(q);
                            }
                            next.push(x);
                        }
                    }
                    out = next;
                }
                other => out.iter_mut().for_each(|x| x.push(other.clone())),
            }
        }
        Some(out)
    }
}

fn only_generic(mods: &[Modifier]) -> bool {
    mods.iter()
        .all(|m| matches!(m, Modifier::All | Modifier::Neq | Modifier::Cased))
}

fn plain_forms(forms: &[SigmaString]) -> Option<Vec<String>> {
    forms.iter().map(|f| f.as_plain()).collect()
}

pub fn parse_number(t: &str) -> Option<Number> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(Number::Int(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Number::Float)
}

fn position_of(mods: &[Modifier]) -> Position {
    // The last position modifier wins, as in pySigma.
    mods.iter()
        .rev()
        .find_map(|m| match m {
            Modifier::Contains => Some(Position::Contains),
            Modifier::StartsWith => Some(Position::StartsWith),
            Modifier::EndsWith => Some(Position::EndsWith),
            _ => None,
        })
        .unwrap_or(Position::Exact)
}

/// Add the wildcards a position modifier implies. Keywords match anywhere in a value.
fn apply_position(mut s: SigmaString, pos: Position, keyword: bool) -> SigmaString {
    let pos = if keyword { Position::Contains } else { pos };
    let lead = matches!(pos, Position::Contains | Position::EndsWith);
    let trail = matches!(pos, Position::Contains | Position::StartsWith);
    if lead && !s.starts_with_star() {
        s.pieces.insert(0, Piece::Star);
    }
    if trail && !s.ends_with_star() {
        s.pieces.push(Piece::Star);
    }
    s
}

/// All `windash` variants of a value: every dash or slash that starts a switch (preceded by a
/// non-word character or the start, followed by a word character) becomes each of
/// [`WINDASH_CHARS`].
pub fn windash(s: &SigmaString) -> Vec<SigmaString> {
    // Work on a flat list of pieces with literal characters split out.
    #[derive(Clone)]
    enum P {
        C(char),
        Other(Piece),
    }
    let mut flat = Vec::new();
    for p in &s.pieces {
        match p {
            Piece::Lit(t) => flat.extend(t.chars().map(P::C)),
            other => flat.push(P::Other(other.clone())),
        }
    }
    let is_word = |p: Option<&P>| matches!(p, Some(P::C(c)) if c.is_alphanumeric() || *c == '_');
    let mut slots = Vec::new();
    for i in 0..flat.len() {
        if let P::C(c) = flat[i] {
            if (c == '-' || c == '/')
                && !is_word(if i == 0 { None } else { flat.get(i - 1) })
                && is_word(flat.get(i + 1))
            {
                slots.push(i);
            }
        }
    }
    let mut out = Vec::new();
    let n = slots.len() as u32;
    let total = (WINDASH_CHARS.len() as u64).saturating_pow(n);
    if total > MAX_WINDASH_VARIANTS as u64 {
        // Report the size; the caller turns it into a diagnostic.
        return vec![SigmaString::default(); MAX_WINDASH_VARIANTS + 1];
    }
    for k in 0..total {
        let mut v = flat.clone();
        let mut r = k;
        for &i in &slots {
            v[i] = P::C(WINDASH_CHARS[(r % 5) as usize]);
            r /= 5;
        }
        let mut ss = SigmaString::default();
        for p in v {
            match p {
                P::C(c) => ss.push_lit(c.encode_utf8(&mut [0; 4])),
                P::Other(o) => ss.push(o),
            }
        }
        out.push(ss);
    }
    out
}

/// The three base64 forms of `value` at byte offsets 0, 1 and 2 of an enclosing text, each cut
/// to the characters that do not depend on the neighbouring bytes (pySigma's algorithm).
pub fn base64_offsets(value: &[u8]) -> Vec<String> {
    let start = [0usize, 2, 3];
    let end_trim = [0usize, 3, 2];
    let mut out = Vec::new();
    for i in 0..3 {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(value);
        let enc = base64::engine::general_purpose::STANDARD.encode(&buf);
        let trim = end_trim[(value.len() + i) % 3];
        let end = enc.len().saturating_sub(trim);
        let s = if start[i] < end {
            enc[start[i]..end].to_string()
        } else {
            String::new()
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Whether a selection name matches the target of `1 of` / `all of`.
pub fn of_matches(target: &OfTarget, name: &str) -> bool {
    match target {
        OfTarget::Them => !name.starts_with('_'),
        OfTarget::Pattern(p) => glob_match(p, name),
    }
}

fn glob_match(p: &str, s: &str) -> bool {
    match p.find('*') {
        None => p == s,
        Some(i) => {
            let (pre, rest) = (&p[..i], &p[i + 1..]);
            if !s.starts_with(pre) {
                return false;
            }
            let tail = &s[pre.len()..];
            (0..=tail.len())
                .filter(|&k| tail.is_char_boundary(k))
                .any(|k| glob_match(rest, &tail[k..]))
        }
    }
}

/// Flatten nested AND/OR, drop single-element groups, fold constants.
pub fn simplify(e: Expr) -> Expr {
    match e {
        Expr::And(xs) => simplify_chain(xs, true),
        Expr::Or(xs) => simplify_chain(xs, false),
        Expr::Not(x) => match simplify(*x) {
            Expr::Const(b) => Expr::Const(!b),
            Expr::Not(inner) => *inner,
            other => Expr::Not(Box::new(other)),
        },
        other => other,
    }
}

/// `simplify` for an AND (`and`) or OR chain: `and` is the chain's neutral constant, `!and`
/// its absorbing one.
fn simplify_chain(xs: Vec<Expr>, and: bool) -> Expr {
    let mut out = Vec::new();
    for x in xs {
        match (simplify(x), and) {
            (Expr::And(inner), true) | (Expr::Or(inner), false) => out.extend(inner),
            (Expr::Const(c), _) if c == and => {}
            (Expr::Const(_), _) => return Expr::Const(!and),
            (other, _) => out.push(other),
        }
    }
    match out.len() {
        0 => Expr::Const(and),
        1 => out.pop().expect("one"),
        _ if and => Expr::And(out),
        _ => Expr::Or(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_matches_pysigma() {
        // pySigma: `|base64offset|contains: /bin/bash` gives these three forms.
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn windash_expands_switches_only() {
        let v = windash(&SigmaString::literal("-enc a-b"));
        assert_eq!(v.len(), 5);
        assert!(v.iter().any(|s| s.as_plain().unwrap() == "/enc a-b"));
        assert!(v.iter().all(|s| s.as_plain().unwrap().ends_with("a-b")));
    }

    #[test]
    fn of_patterns() {
        assert!(of_matches(&OfTarget::Pattern("sel*".into()), "selection"));
        assert!(!of_matches(&OfTarget::Pattern("sel*".into()), "filter"));
        assert!(!of_matches(&OfTarget::Them, "_hidden"));
    }
}
