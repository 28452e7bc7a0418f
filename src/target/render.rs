//! The generic query renderer: [`Expr`] plus one [`Dialect`] of a target spec gives query text.
//!
//! Nothing here knows a particular platform. Platform knowledge lives in the spec's templates;
//! this module decides *which* template a predicate needs (exact, contains, wildcard, regex,
//! ...), quotes every value with the dialect's own escaping, and refuses (with the construct
//! and span) whatever the dialect cannot express exactly.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::spec::{Dialect, FieldColumn, Kind, LogSourceSpec, RegexEngine, Spec, StringSyntax};
use crate::diag::Span;
use crate::ir::norm::{Expr, Position, Pred, Test};
use crate::ir::{CmpOp, Piece, SigmaString};

/// Column types of one table (`column -> type`).
pub type Table = BTreeMap<String, String>;

/// Why a rule (or one predicate of it) cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What cannot be expressed, in words ("a case-sensitive match", "the field `X`").
    pub construct: String,
    /// The predicate's span, when the problem belongs to one.
    pub span: Option<Span>,
}

impl Unsupported {
    fn at(span: Span, construct: impl Into<String>) -> Unsupported {
        Unsupported {
            construct: construct.into(),
            span: Some(span),
        }
    }
}

/// A `field.json` template a list field needs, or why the field cannot be written.
fn list_template(
    t: &Option<String>,
    key: &str,
    name: &str,
    span: Span,
) -> Result<String, Unsupported> {
    t.clone().ok_or_else(|| {
        Unsupported::at(
            span,
            format!("the list field `{name}` (the dialect has no `field.json.{key}`)"),
        )
    })
}

/// The lambda variable a test on a list field (`json_arrays`) is written on.
const LIST_VAR: &str = "detc_v";

/// A field read through declared JSON arrays (`Renderer::json_list`).
struct JsonList {
    /// The scalar values (text), one per element holding one; never NULL itself.
    values: String,
    /// The JSON text at the field's path in every element that has the path.
    texts: String,
}

/// Deepest condition nesting rendered (far beyond any real rule; guards the recursion).
pub(crate) const MAX_DEPTH: usize = 256;

/// Fill `{name}` slots in one pass. Text inserted for a slot is never scanned again, so a value
/// containing `{field}` stays literal. `{{`/`}}` are not special: templates here are tiny.
pub fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}').and_then(|j| {
            let name = &after[..j];
            slots.iter().find(|(n, _)| *n == name).map(|(_, v)| (j, *v))
        }) {
            Some((j, v)) => {
                out.push_str(v);
                rest = &after[j + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Characters that must not appear raw in any literal, even where the language would allow
/// them: control characters, line and paragraph separators, zero-width and bidirectional
/// formatting characters (so a query always reads as it runs), and the noncharacters
/// U+FFFE/U+FFFF (not text: YAML and other consumers reject them).
pub fn is_special_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Quote `text` as a string literal of the dialect. `Err(c)` names a character the dialect
/// cannot write inside a literal.
pub fn quote(text: &str, s: &StringSyntax) -> Result<String, char> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push_str(&s.quote);
    push_escaped(&mut out, text, s)?;
    out.push_str(&s.quote);
    Ok(out)
}

fn push_escaped(out: &mut String, text: &str, s: &StringSyntax) -> Result<(), char> {
    // ASCII characters that need a look-up (controls, escaped and forbidden ones) as a bit set;
    // runs of other ASCII characters are copied whole. Most literals are one such run.
    let mut special: u128 = ((1u128 << 32) - 1) | (1u128 << 127);
    for &c in s.escapes.keys().chain(&s.forbidden) {
        if c.is_ascii() {
            special |= 1u128 << (c as u32);
        }
    }
    let mut rest = text;
    loop {
        let plain = rest
            .bytes()
            .position(|b| b >= 128 || (special >> b) & 1 == 1)
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        push_escaped_char(out, c, s)?;
        rest = &rest[c.len_utf8()..];
    }
}

fn push_escaped_char(out: &mut String, c: char, s: &StringSyntax) -> Result<(), char> {
    if s.forbidden.contains(&c) {
        return Err(c);
    }
    if let Some(e) = s.escapes.get(&c) {
        out.push_str(e);
    } else if is_special_char(c) {
        match &s.control {
            Some(t) => out.push_str(&fill(t, &[("hex4", &format!("{:04x}", c as u32))])),
            None => return Err(c),
        }
    } else {
        out.push(c);
    }
    Ok(())
}

/// Escape literal text for a regex that PCRE and RE2 read alike: metacharacters get a backslash,
/// special characters become `\x{..}` so the regex text stays printable.
pub fn regex_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
            out.push(c);
        } else if is_special_char(c) {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
}

/// An anchored regex with exactly the pattern's meaning: `*` any run (newlines included),
/// `?` one character, case-insensitive unless `cased`.
/// `p` with its literal text lowered as detc lowers it ([`crate::ir::case`]).
fn folded(p: &SigmaString) -> SigmaString {
    let mut p = p.clone();
    for piece in &mut p.pieces {
        if let Piece::Lit(t) = piece {
            *t = crate::ir::case::fold(t);
        }
    }
    p
}

pub fn pattern_regex(p: &SigmaString, cased: bool) -> String {
    let mut out = String::from(if cased { "(?s)^" } else { "(?is)^" });
    for piece in &p.pieces {
        match piece {
            Piece::Lit(t) => regex_escape(t, &mut out),
            Piece::Star => out.push_str(".*"),
            Piece::Qmark => out.push('.'),
            // Placeholders are resolved by normalisation; an unresolved one never matches.
            Piece::Placeholder(n) => regex_escape(&format!("%{n}%"), &mut out),
        }
    }
    out.push('$');
    out
}

/// A regex that finds an element `<{element}>...</{name}>` of XML text whose value matches the
/// pattern, as the Windows event renderer writes the text (the XML of the `Event` table's
/// `EventData`): `&` and `<` only as `&amp;` and `&lt;`; `>`, `"` and `'` raw or as `&gt;`,
/// `&quot;`, `&apos;`. The value is read from the start tag on as whole characters and
/// entities: `*` is any run of them (no raw `<`: it stays inside the element), `?` one. Case-insensitive unless `cased`, on the
/// value only (XML names are case-sensitive). `None` for a pattern an empty value matches
/// (an empty element may be written `<Data/>`).
pub fn xml_element_regex(element: &str, p: &SigmaString, cased: bool) -> Option<String> {
    if p.pieces.iter().all(|x| matches!(x, Piece::Star)) {
        return None;
    }
    let name = element.split_whitespace().next()?;
    let mut out = String::from("<");
    regex_escape(element, &mut out);
    out.push('>');
    out.push_str(if cased { "(?:" } else { "(?i:" });
    for piece in &p.pieces {
        match piece {
            Piece::Lit(t) => {
                for c in t.chars() {
                    let entity = match c {
                        '&' => Some("&amp;"),
                        '<' => Some("&lt;"),
                        '>' => Some("&gt;"),
                        '"' => Some("&quot;"),
                        '\'' => Some("&apos;"),
                        _ => None,
                    };
                    match (c, entity) {
                        ('&' | '<', Some(e)) => out.push_str(e),
                        (_, Some(e)) => {
                            out.push_str("(?:");
                            regex_escape(&c.to_string(), &mut out);
                            out.push('|');
                            out.push_str(e);
                            out.push(')');
                        }
                        (_, None) => regex_escape(&c.to_string(), &mut out),
                    }
                }
            }
            // Whole characters or entities: a literal after `*` cannot start inside an
            // entity (`amp` must not match the text `a&amp;b`).
            Piece::Star => out.push_str("(?:[^<&]|&#?[0-9A-Za-z]+;)*"),
            Piece::Qmark => out.push_str("(?:[^<&]|&#?[0-9A-Za-z]+;)"),
            // Placeholders are resolved by normalisation; an unresolved one never matches.
            Piece::Placeholder(n) => regex_escape(&format!("%{n}%"), &mut out),
        }
    }
    out.push_str(")</");
    regex_escape(name, &mut out);
    out.push('>');
    Some(out)
}

/// `re` with every unescaped `$` outside a character class replaced by `end`, unless the
/// regex turns on multi-line mode itself (`(?m)`, where `$` means end of line alike in the
/// engines). For engines whose non-multi-line `$` also matches before a final line break.
pub fn rewrite_regex_end(re: &str, end: &str) -> String {
    let inline_m = re.match_indices("(?").any(|(i, _)| {
        re[i + 2..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .any(|c| c == 'm')
    });
    if inline_m {
        return re.to_string();
    }
    let mut out = String::with_capacity(re.len() + 4);
    let mut chars = re.chars().peekable();
    let mut class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !class => {
                class = true;
                out.push(c);
                // `]` first in a class (after an optional `^`) is a literal.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            ']' if class => {
                class = false;
                out.push(c);
            }
            '$' if !class => out.push_str(end),
            _ => out.push(c),
        }
    }
    out
}

/// Renders conditions of one rule for one dialect of one target.
pub struct Renderer<'a> {
    pub spec: &'a Spec,
    pub dialect: &'a Dialect,
    pub logsource: &'a LogSourceSpec,
    /// Column schema of the log source's table, when the target keeps one.
    pub schema: Option<&'a Table>,
    /// The dialect's `field.bare` regex, compiled once when the target is loaded.
    field_re: &'a regex::Regex,
    /// Columns read so far (for `Dialect::grouped_by`).
    read: RefCell<Vec<String>>,
}

impl<'a> Renderer<'a> {
    pub fn new(
        spec: &'a Spec,
        dialect: &'a Dialect,
        field_re: &'a regex::Regex,
        logsource: &'a LogSourceSpec,
        schema: Option<&'a Table>,
    ) -> Renderer<'a> {
        Renderer {
            spec,
            dialect,
            logsource,
            schema,
            field_re,
            read: RefCell::new(Vec::new()),
        }
    }

    /// Compile a dialect's `field.bare` pattern (anchored).
    pub fn field_regex(dialect: &Dialect) -> Result<regex::Regex, String> {
        regex::Regex::new(&format!("^(?:{})$", dialect.field.bare))
            .map_err(|e| format!("dialect `{}`: bad `field.bare` regex: {e}", dialect.name))
    }

    /// `name` as an identifier of the dialect: bare when `field.bare` matches it, else with
    /// `field.quoted`; `None` when it cannot be written (no `quoted`, or a forbidden or control
    /// character in it). For names the target itself introduces, such as a correlation's
    /// output columns.
    pub fn ident(dialect: &Dialect, bare: &regex::Regex, name: &str) -> Option<String> {
        if bare.is_match(name) {
            return Some(name.to_string());
        }
        let f = &dialect.field;
        let t = f.quoted.as_ref()?;
        (!name
            .chars()
            .any(|c| f.quoted_forbidden.contains(&c) || is_special_char(c)))
        .then(|| fill(t, &[("name", name)]))
    }

    /// The condition as it goes into a query template (a top-level OR grouped when asked).
    pub fn condition(&self, e: &Expr) -> Result<String, Unsupported> {
        let cond = self.expr(e, false, 0)?;
        Ok(
            if self.dialect.group_top_or && matches!(e, Expr::Or(xs) if xs.len() > 1) {
                fill(&self.dialect.group, &[("x", &cond)])
            } else {
                cond
            },
        )
    }

    /// The whole query for a condition.
    pub fn query(&self, e: &Expr) -> Result<String, Unsupported> {
        self.check_grouped(e)?;
        self.read.borrow_mut().clear();
        let cond = self.condition(e)?;
        let tpl = match (
            &self.logsource.constraint,
            &self.dialect.query_unconstrained,
        ) {
            (None, Some(u)) => u,
            _ => &self.dialect.query,
        };
        Ok(self.assemble(tpl, &cond, None))
    }

    /// The query with `prefilter` (already rendered by the prefilter dialect) in front.
    pub fn query_prefiltered(
        &self,
        prefilter: &str,
        e: &Expr,
    ) -> Result<Option<String>, Unsupported> {
        let tpl = match (
            &self.logsource.constraint,
            &self.dialect.query_prefiltered_unconstrained,
        ) {
            (None, Some(u)) => u,
            _ => match &self.dialect.query_prefiltered {
                Some(t) => t,
                None => return Ok(None),
            },
        };
        self.check_grouped(e)?;
        self.read.borrow_mut().clear();
        let cond = self.condition(e)?;
        Ok(Some(self.assemble(tpl, &cond, Some(prefilter))))
    }

    fn assemble(&self, tpl: &str, cond: &str, prefilter: Option<&str>) -> String {
        let constraint = self.logsource.constraint.as_deref();
        let table = self.logsource.table.as_deref().unwrap_or("");
        let extend: String = match &self.dialect.extend {
            Some(t) => self
                .logsource
                .extend
                .iter()
                .map(|(n, e)| fill(t, &[("name", n), ("expr", e)]))
                .collect(),
            None => String::new(),
        };
        let mut slots: Vec<(&str, &str)> = vec![
            ("extend", &extend),
            ("constraint", constraint.unwrap_or("")),
            ("table", table),
            ("condition", cond),
            ("prefilter", prefilter.unwrap_or("")),
        ];
        // The grouped-by var with every column the condition reads (`Dialect::grouped_by`).
        let grouped: Option<(&str, String)> = self.dialect.grouped_by.as_deref().map(|var| {
            let mut cols: Vec<String> = match self.logsource.vars.get(var) {
                Some(serde_json::Value::String(s)) => {
                    s.split_whitespace().map(str::to_string).collect()
                }
                _ => Vec::new(),
            };
            for c in self.read.borrow().iter() {
                if !cols.contains(c) {
                    cols.push(c.clone());
                }
            }
            (var, cols.join(" "))
        });
        if let Some((var, cols)) = &grouped {
            slots.push((var, cols.as_str()));
        }
        // String variables of the log source (e.g. the tstats `by` clause) are slots too.
        for (k, v) in &self.logsource.vars {
            if let serde_json::Value::String(s) = v {
                if grouped.as_ref().is_none_or(|(g, _)| g != k) {
                    slots.push((k.as_str(), s.as_str()));
                }
            }
        }
        fill(tpl, &slots)
    }

    /// With `grouped_by`, rows whose grouped column is empty are dropped before the condition
    /// runs. The log source's own grouped columns are grouped by every query of the target
    /// anyway; a column the condition adds must not change which events count: the condition
    /// must be false for an event lacking it.
    fn check_grouped(&self, e: &Expr) -> Result<(), Unsupported> {
        let Some(var) = &self.dialect.grouped_by else {
            return Ok(());
        };
        if self.dialect.grouped_keeps_nulls {
            // No event is dropped by grouping: the condition sees every event as it is.
            return Ok(());
        }
        let base: Vec<&str> = match self.logsource.vars.get(var) {
            Some(serde_json::Value::String(s)) => s.split_whitespace().collect(),
            _ => Vec::new(),
        };
        let mut preds = Vec::new();
        collect_preds(e, &mut preds, 0);
        for p in preds {
            let fields = p.field.iter().chain(match &p.test {
                Test::FieldRef { other, .. } => Some(other),
                _ => None,
            });
            for f in fields {
                // The raw column (`field` returns it quoted for the dialect).
                self.field(f, p.span)?;
                let column = self.read.borrow().last().cloned().unwrap_or_default();
                if !base.contains(&column.as_str()) && absent_value(e, f, 0) != Some(false) {
                    return Err(Unsupported::at(
                        p.span,
                        format!(
                            "a condition that can be true when `{f}` is absent (grouping drops \
                             events without it)"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Render one condition; `neg` is true under an odd number of negations.
    pub fn expr(&self, e: &Expr, neg: bool, depth: usize) -> Result<String, Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported {
                construct: format!("a condition nested deeper than {MAX_DEPTH} levels"),
                span: None,
            });
        }
        let d = self.dialect;
        match e {
            Expr::And(xs) | Expr::Or(xs) => {
                let sep = if matches!(e, Expr::And(_)) {
                    &d.and
                } else {
                    &d.or
                };
                let mut parts = Vec::with_capacity(xs.len());
                for x in xs {
                    parts.push(self.operand(x, neg, depth)?);
                }
                Ok(self.chain(parts, sep))
            }
            Expr::Not(x) => {
                let inner = self.operand(x, !neg, depth)?;
                Ok(fill(&d.not, &[("x", &inner)]))
            }
            Expr::Const(b) => {
                let t = if *b { &d.true_expr } else { &d.false_expr };
                t.clone().ok_or_else(|| Unsupported {
                    construct: format!("the constant `{b}`"),
                    span: None,
                })
            }
            Expr::Pred(p) => self.pred(p, neg),
        }
    }

    /// Operands joined by `sep`; with `max_chain`, long runs become grouped runs of at most that
    /// many operands (repeatedly, so the nesting depth grows with the logarithm of the length).
    fn chain(&self, mut parts: Vec<String>, sep: &str) -> String {
        let n = match self.dialect.max_chain {
            Some(n) if n >= 2 => n,
            _ => return parts.join(sep),
        };
        while parts.len() > n {
            parts = parts
                .chunks(n)
                .map(|c| match c {
                    [one] => one.clone(),
                    _ => fill(&self.dialect.group, &[("x", &c.join(sep))]),
                })
                .collect();
        }
        parts.join(sep)
    }

    /// A sub-expression as an operand: compound ones get the dialect's grouping.
    fn operand(&self, e: &Expr, neg: bool, depth: usize) -> Result<String, Unsupported> {
        let s = self.expr(e, neg, depth + 1)?;
        Ok(match e {
            Expr::And(xs) | Expr::Or(xs) if xs.len() > 1 => fill(&self.dialect.group, &[("x", &s)]),
            _ => s,
        })
    }

    /// Whether a Sigma field is mapped to an expression rather than a column name.
    fn is_expression(&self, name: &str) -> bool {
        self.spec
            .mapping(self.logsource, name)
            .is_some_and(|m| !self.field_re.is_match(m))
    }

    /// Whether a field may hold text where a rule compares it with a number: it is mapped to an
    /// expression, to a computed (`extend`) column, or to a column the schema types `string`
    /// (Kusto compares a string with a number only after `todouble`).
    fn holds_text(&self, name: &str) -> bool {
        if self.is_expression(name) {
            return true;
        }
        let column = self.spec.mapping(self.logsource, name).unwrap_or(name);
        self.logsource.extend.contains_key(column)
            || self
                .schema
                .and_then(|t| t.get(column))
                .is_some_and(|ty| ty == "string")
    }

    /// The column or expression a Sigma field becomes, written as the dialect needs.
    pub fn field(&self, name: &str, span: Span) -> Result<String, Unsupported> {
        let (column, mapped) = match self.spec.field_column(self.logsource, name) {
            FieldColumn::Mapped(m) => (m.to_string(), true),
            FieldColumn::Kept => (name.to_string(), false),
            FieldColumn::Unmapped => {
                return Err(Unsupported::at(
                    span,
                    format!(
                        "the field `{name}` (no mapping for this log source{})",
                        self.logsource
                            .table
                            .as_deref()
                            .map(|t| format!(", table `{t}`"))
                            .unwrap_or_default()
                    ),
                ))
            }
        };
        if !mapped {
            if self.list_arrays(&column).is_some() {
                return Err(Unsupported::at(
                    span,
                    format!(
                        "the field `{name}` here (a list: one value per element of a JSON array in `json_arrays`; only a test on it is expressible)"
                    ),
                ));
            }
            if let Some(expr) = self.json_field(&column, span)? {
                return Ok(expr);
            }
        }
        let is_ident = self.field_re.is_match(&column);
        // Columns (mapped or kept) must exist in the table; mapped expressions are trusted.
        if let (Some(schema), true) = (self.schema, is_ident || !mapped) {
            if !schema.contains_key(&column) && !self.logsource.extend.contains_key(&column) {
                return Err(Unsupported::at(
                    span,
                    format!(
                        "the field `{name}` (column `{column}` is not in table `{}`)",
                        self.logsource.table.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
        self.read.borrow_mut().push(column.clone());
        if is_ident || (mapped && !self.dialect.field.quote_mapped) {
            // Mapped columns and expressions are target text, written verbatim.
            return Ok(column);
        }
        let f = &self.dialect.field;
        match &f.quoted {
            Some(t)
                if !column
                    .chars()
                    .any(|c| f.quoted_forbidden.contains(&c) || is_special_char(c)) =>
            {
                Ok(fill(t, &[("name", &column)]))
            }
            _ => Err(Unsupported::at(
                span,
                format!("the field name `{}`", column.escape_debug()),
            )),
        }
    }

    /// A dotted field whose first segment is one of the log source's `json_columns`: the
    /// dialect's JSON access (`field.json`) reading the rest as a path into that column, each
    /// dot one level (the column's own name: the root). `None` when the field is a flat
    /// column.
    fn json_field(&self, name: &str, span: Span) -> Result<Option<String>, Unsupported> {
        let Some(json) = &self.dialect.field.json else {
            return Ok(None);
        };
        // The column itself reads the scalar at the root: a JSON column holding an object has
        // no value of its own in detc match, one holding a string has that string.
        let (col, rest) = name.split_once('.').unwrap_or((name, ""));
        if !self.logsource.json_columns.iter().any(|c| c == col) {
            return Ok(None);
        }
        let keys: Vec<&str> = rest.split('.').filter(|_| !rest.is_empty()).collect();
        let path = self.json_path(name, col, &keys, span)?;
        let column = self.json_column(col, span)?;
        Ok(Some(fill(
            &json.expr,
            &[("column", &column), ("path", &path)],
        )))
    }

    /// The JSON column `col` written as a field (and recorded as read).
    fn json_column(&self, col: &str, span: Span) -> Result<String, Unsupported> {
        let column = Self::ident(self.dialect, self.field_re, col).ok_or_else(|| {
            Unsupported::at(span, format!("the field name `{}`", col.escape_debug()))
        })?;
        self.read.borrow_mut().push(col.to_string());
        Ok(column)
    }

    /// `keys` as the dialect's JSON path from the root, quoted as a string literal.
    fn json_path(
        &self,
        name: &str,
        col: &str,
        keys: &[&str],
        span: Span,
    ) -> Result<String, Unsupported> {
        let Some(json) = &self.dialect.field.json else {
            return Err(Unsupported::at(span, format!("the JSON field `{name}`")));
        };
        let bare = regex::Regex::new(&format!("^(?:{})$", json.key_bare)).map_err(|e| {
            Unsupported::at(
                span,
                format!("the dialect's `field.json.key_bare` regex ({e})"),
            )
        })?;
        let mut path = json.root.clone();
        for key in keys {
            // detc match never reads a `_` key below the top level (src/eval/event.rs), nor
            // an empty one a path cannot name.
            if key.is_empty() || key.starts_with('_') {
                return Err(Unsupported::at(
                    span,
                    format!("the field `{name}` (JSON key `{key}` in column `{col}`)"),
                ));
            }
            if bare.is_match(key) {
                path.push_str(&fill(&json.key, &[("key", key)]));
            } else if key
                .chars()
                .any(|c| json.key_quoted_forbidden.contains(&c) || is_special_char(c))
            {
                return Err(Unsupported::at(
                    span,
                    format!("the field `{name}` (JSON key `{}`)", key.escape_debug()),
                ));
            } else {
                path.push_str(&fill(&json.key_quoted, &[("key", key)]));
            }
        }
        self.lit(&path, span)
    }

    /// For a kept field under a JSON column whose path crosses arrays the log source declares
    /// (`json_arrays`): the key counts (after the column) at which each declared array
    /// ends, outermost first (0: the column itself). `None` for any other field.
    fn list_arrays(&self, name: &str) -> Option<Vec<usize>> {
        if self.logsource.json_arrays.is_empty() || self.dialect.field.json.is_none() {
            return None;
        }
        let (col, rest) = name.split_once('.').unwrap_or((name, ""));
        if !self.logsource.json_columns.iter().any(|c| c == col) {
            return None;
        }
        if !matches!(
            self.spec.field_column(self.logsource, name),
            FieldColumn::Kept
        ) {
            return None;
        }
        let keys: Vec<&str> = rest.split('.').filter(|_| !rest.is_empty()).collect();
        let ends: Vec<usize> = (0..=keys.len())
            .filter(|&i| {
                let prefix = std::iter::once(col)
                    .chain(keys[..i].iter().copied())
                    .collect::<Vec<_>>()
                    .join(".");
                self.logsource.json_arrays.contains(&prefix)
            })
            .collect();
        (!ends.is_empty()).then_some(ends)
    }

    /// A field crossing declared JSON arrays as lists (`None` for any other field): the
    /// scalar values (`field.json.expr` at the rest of the path of every element, NULLs
    /// dropped: one per element that has a string, number or boolean there, as `detc match`
    /// reads it) and the JSON texts at that path (to find JSON nulls, which `detc match`
    /// counts as null values). A field naming a declared array itself reads its scalar
    /// elements (ECS `containerDefinitions.command`, an array of strings); an object or array
    /// element has no value there, where `detc match` reads its JSON text (whose spelling an
    /// engine does not keep: docs/TARGETS.md, "JSON columns").
    fn json_list(&self, name: &str, span: Span) -> Result<Option<JsonList>, Unsupported> {
        let Some(ends) = self.list_arrays(name) else {
            return Ok(None);
        };
        let json = self
            .dialect
            .field
            .json
            .as_ref()
            .expect("list_arrays checks");
        let (col, rest) = name.split_once('.').unwrap_or((name, ""));
        let keys: Vec<&str> = rest.split('.').filter(|_| !rest.is_empty()).collect();
        let need = |t: &Option<String>, key: &str| list_template(t, key, name, span);
        let at = need(&json.at, "at")?;
        let elements = need(&json.elements, "elements")?;
        let each = need(&json.each, "each")?;
        let flatten = need(&json.flatten, "flatten")?;
        let present = need(&json.present, "present")?;
        need(&json.some, "some")?;
        need(&json.size, "size")?;
        let column = self.json_column(col, span)?;
        let at_path = |j: &str, from: usize, to: usize| -> Result<String, Unsupported> {
            let path = self.json_path(name, col, &keys[from..to], span)?;
            Ok(fill(&at, &[("json", j), ("path", &path)]))
        };
        let first = ends[0];
        let base = if first == 0 {
            column
        } else {
            at_path(&column, 0, first)?
        };
        let mut list = fill(&elements, &[("json", &base)]);
        let mut prev = first;
        let mut level = 1;
        // Distinct lambda variables per level: no shadowing of each other or of a column.
        for &end in &ends[1..] {
            let var = format!("detc_e{level}");
            let inner = fill(&elements, &[("json", &at_path(&var, prev, end)?)]);
            let mapped = fill(&each, &[("list", &list), ("var", &var), ("expr", &inner)]);
            list = fill(&flatten, &[("x", &mapped)]);
            prev = end;
            level += 1;
        }
        let var = format!("detc_e{level}");
        let path = self.json_path(name, col, &keys[prev..], span)?;
        let scalar = fill(&json.expr, &[("column", &var), ("path", &path)]);
        let values = fill(
            &present,
            &[
                (
                    "list",
                    &fill(&each, &[("list", &list), ("var", &var), ("expr", &scalar)]),
                ),
                ("var", LIST_VAR),
            ],
        );
        // Without NULLs (missing paths) too, so that `some` over it is never NULL (Spark's
        // `exists` is NULL when a test is NULL and none is true).
        let texts = fill(
            &present,
            &[
                (
                    "list",
                    &fill(
                        &each,
                        &[
                            ("list", &list),
                            ("var", &var),
                            ("expr", &at_path(&var, prev, keys.len())?),
                        ],
                    ),
                ),
                ("var", LIST_VAR),
            ],
        );
        Ok(Some(JsonList { values, texts }))
    }

    /// A test on a list field (`json_list`): the test on the lambda variable inside the
    /// dialect's `some`; `null` and `exists` count the values.
    fn list_pred(&self, p: &Pred, list: &JsonList) -> Result<Option<String>, Unsupported> {
        let span = p.span;
        let name = p.field.as_deref().unwrap_or("");
        let json = self.dialect.field.json.as_ref().expect("json_list checks");
        let need = |t: &Option<String>, key: &str| list_template(t, key, name, span);
        let some = need(&json.some, "some")?;
        let size = fill(&need(&json.size, "size")?, &[("list", &list.values)]);
        let cmp = |op: &str| {
            self.dialect
                .cmp
                .get(op)
                .cloned()
                .ok_or_else(|| Unsupported::at(span, format!("the comparison `{op}`")))
        };
        match &p.test {
            Test::FieldRef { .. } => Err(Unsupported::at(
                span,
                format!("a field reference with the list field `{name}` (one value per element of a JSON array)"),
            )),
            Test::Exists(b) => {
                let op = cmp(if *b { "gt" } else { "eq" })?;
                Ok(Some(format!("{size} {op} 0")))
            }
            Test::Null => {
                // Sigma's null for a list, as detc match reads it: no value, or some value
                // empty or a JSON null (which the scalar values drop: found in the texts).
                let null_t = self
                    .template(Kind::Null)
                    .ok_or_else(|| Unsupported::at(span, "a `null` test"))?;
                let eq_t = self
                    .template(Kind::EqCased)
                    .ok_or_else(|| Unsupported::at(span, "a `null` test"))?;
                let empty = fill(null_t, &[("field", LIST_VAR)]);
                let json_null = fill(
                    eq_t,
                    &[("field", LIST_VAR), ("value", &self.lit("null", span)?)],
                );
                let parts = [
                    format!("{size} {} 0", cmp("eq")?),
                    fill(&some, &[("list", &list.values), ("var", LIST_VAR), ("test", &empty)]),
                    fill(&some, &[("list", &list.texts), ("var", LIST_VAR), ("test", &json_null)]),
                ];
                Ok(Some(fill(
                    &self.dialect.group,
                    &[("x", &parts.join(&self.dialect.or))],
                )))
            }
            _ => Ok(None),
        }
    }

    fn template(&self, kind: Kind) -> Option<&str> {
        self.dialect.matchers.get(&kind).map(String::as_str)
    }

    fn lit(&self, text: &str, span: Span) -> Result<String, Unsupported> {
        quote(text, &self.dialect.string)
            .map_err(|c| Unsupported::at(span, format!("the character {:?} in a string", c)))
    }

    /// `{value_lower}`: the literal lowered as detc lowers it, quoted; empty when the template
    /// does not use it.
    fn lit_lower(&self, template: &str, text: &str, span: Span) -> Result<String, Unsupported> {
        if template.contains("{value_lower}") {
            self.lit(&crate::ir::case::fold(text), span)
        } else {
            Ok(String::new())
        }
    }

    fn pattern(&self, p: &SigmaString) -> Option<String> {
        let d = self.dialect;
        let mut out = d.string.quote.clone();
        for piece in &p.pieces {
            match piece {
                Piece::Lit(t) => push_escaped(&mut out, t, &d.string).ok()?,
                Piece::Star => out.push_str(d.wildcard_multi.as_deref()?),
                Piece::Qmark => out.push_str(d.wildcard_single.as_deref()?),
                Piece::Placeholder(_) => return None,
            }
        }
        out.push_str(&d.string.quote);
        Some(out)
    }

    /// A regex as this dialect writes it (`regex_prefix`, `regex_end`).
    fn regex_text(&self, re: String, multi_line: bool) -> String {
        let re = match (&self.dialect.regex_end, multi_line) {
            (Some(end), false) => rewrite_regex_end(&re, end),
            _ => re,
        };
        match &self.dialect.regex_prefix {
            Some(p) => format!("{p}{re}"),
            None => re,
        }
    }

    fn regex_lit(&self, re: &str, span: Span) -> Result<String, Unsupported> {
        // Parsing is enough to tell whether RE2 has every feature the pattern uses; compiling
        // it (as `Regex::new` would) costs ~30x more, and the corpus has many regexes.
        if self.spec.regex_engine == RegexEngine::Re2
            && regex_syntax::Parser::new().parse(re).is_err()
        {
            return Err(Unsupported::at(
                span,
                "a regular expression with features RE2 does not have (look-around, back-references, ...)",
            ));
        }
        self.lit(re, span)
    }

    fn pred(&self, p: &Pred, neg: bool) -> Result<String, Unsupported> {
        let span = p.span;
        if let Some((name, x)) = p
            .field
            .as_deref()
            .and_then(|f| self.logsource.xml_fields.get_key_value(f))
        {
            return self.xml_test(name, x, &p.test, span);
        }
        // A field crossing a declared JSON array: the test is written on the lambda variable
        // of the dialect's `some` over its values.
        let list = match p.field.as_deref() {
            Some(f) => self.json_list(f, span)?,
            None => None,
        };
        if let Some(l) = &list {
            if let Some(done) = self.list_pred(p, l)? {
                return Ok(done);
            }
        }
        let field = match &p.field {
            Some(_) if list.is_some() => Some(LIST_VAR.to_string()),
            Some(f) => Some(self.field(f, span)?),
            None => None,
        };
        let fld = field.as_deref().unwrap_or("");
        let (kind, text) = match &p.test {
            Test::Str { pattern, cased } => match &field {
                None => self.keyword(pattern, *cased, span)?,
                Some(_) => self.string_test(fld, pattern, *cased, span)?,
            },
            Test::Regex { pattern, flags } => {
                let mut re = String::new();
                let fl: String = [
                    (flags.ignore_case, 'i'),
                    (flags.multi_line, 'm'),
                    (flags.dot_all, 's'),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, c)| *c)
                .collect();
                if !fl.is_empty() {
                    re.push_str(&format!("(?{fl})"));
                }
                let classes = &self.dialect.regex_classes;
                re.push_str(&crate::ir::regex_classes::rewrite(
                    pattern,
                    &crate::ir::regex_classes::Spelling {
                        outside: &|c| classes.outside.get(&c).map(String::as_str),
                        in_set: &|c| classes.in_set.get(&c).map(String::as_str),
                        lift: &|c| classes.lift.contains(&c),
                    },
                ));
                let q = self.regex_lit(&self.regex_text(re, flags.multi_line), span)?;
                let kind = if field.is_some() {
                    Kind::Regex
                } else {
                    Kind::KeywordRegex
                };
                let t = self
                    .template(kind)
                    .ok_or_else(|| Unsupported::at(span, "a regular expression"))?;
                (kind, fill(t, &[("field", fld), ("regex", &q)]))
            }
            Test::Cidr(net) => {
                let (kind, what) = match net {
                    ipnet::IpNet::V4(_) => (Kind::Cidr4, "an IPv4 CIDR match"),
                    ipnet::IpNet::V6(n)
                        if overlaps_ipv4_mapped(n)
                            && self.template(Kind::Cidr6Mapped).is_some() =>
                    {
                        (Kind::Cidr6Mapped, "an IPv6 CIDR match")
                    }
                    ipnet::IpNet::V6(_) => (Kind::Cidr6, "an IPv6 CIDR match"),
                };
                let t = self
                    .template(kind)
                    .ok_or_else(|| Unsupported::at(span, what))?;
                let q = self.lit(&net.to_string(), span)?;
                // `{net_regex}`: the network as an anchored regex over address text, for
                // languages without an address type (the SQL targets).
                let nr = if t.contains("{net_regex}") {
                    let re = super::cidr_regex::net_regex(net);
                    self.regex_lit(&self.regex_text(re, false), span)?
                } else {
                    String::new()
                };
                (
                    kind,
                    fill(t, &[("field", fld), ("net", &q), ("net_regex", &nr)]),
                )
            }
            Test::Num { op, value } => {
                // A field that may hold text (an expression, a computed column, a string
                // column): the dialect's `num_expr` converts it first, when it has one.
                let kind = match (&p.field, self.template(Kind::NumExpr)) {
                    (Some(f), Some(_)) if self.holds_text(f) => Kind::NumExpr,
                    _ => Kind::Num,
                };
                let t = self
                    .template(kind)
                    .ok_or_else(|| Unsupported::at(span, "a numeric comparison"))?;
                let opname = op.name();
                let o =
                    self.dialect.cmp.get(opname).ok_or_else(|| {
                        Unsupported::at(span, format!("the comparison `{opname}`"))
                    })?;
                let n = value.to_string();
                (kind, fill(t, &[("field", fld), ("op", o), ("number", &n)]))
            }
            Test::Bool(b) => {
                // Text (`tostring(EventData.Signed)`) is compared with text, not a bool.
                let kind = match (&p.field, self.template(Kind::BoolExpr)) {
                    (Some(f), Some(_)) if self.holds_text(f) => Kind::BoolExpr,
                    _ => Kind::Bool,
                };
                let t = self
                    .template(kind)
                    .ok_or_else(|| Unsupported::at(span, "a boolean value"))?;
                (
                    kind,
                    fill(
                        t,
                        &[("field", fld), ("bool", if *b { "true" } else { "false" })],
                    ),
                )
            }
            Test::Null => {
                if field.is_none() {
                    return Err(Unsupported::at(span, "a `null` keyword"));
                }
                let t = self
                    .template(Kind::Null)
                    .ok_or_else(|| Unsupported::at(span, "a `null` test"))?;
                (Kind::Null, fill(t, &[("field", fld)]))
            }
            Test::Exists(b) => {
                let kind = if *b {
                    Kind::ExistsTrue
                } else {
                    Kind::ExistsFalse
                };
                let t = self
                    .template(kind)
                    .ok_or_else(|| Unsupported::at(span, "an `exists` test"))?;
                (kind, fill(t, &[("field", fld)]))
            }
            Test::FieldRef {
                other,
                position,
                cased,
            } => {
                let o = self.field(other, span)?;
                let kind = match (position, cased) {
                    (Position::Exact, false) => Kind::FieldrefEq,
                    (Position::Exact, true) => Kind::FieldrefEqCased,
                    (Position::Contains, false) => Kind::FieldrefContains,
                    (Position::Contains, true) => Kind::FieldrefContainsCased,
                    (Position::StartsWith, false) => Kind::FieldrefStartswith,
                    (Position::StartsWith, true) => Kind::FieldrefStartswithCased,
                    (Position::EndsWith, false) => Kind::FieldrefEndswith,
                    (Position::EndsWith, true) => Kind::FieldrefEndswithCased,
                };
                let t = self.template(kind).ok_or_else(|| {
                    Unsupported::at(span, format!("a field reference (`{}`)", kind.name()))
                })?;
                (kind, fill(t, &[("field", fld), ("other", &o)]))
            }
            Test::TimePart { part, op, value } => {
                let _ = (op, value);
                return Err(Unsupported::at(
                    span,
                    format!("the time-part modifier `{part}`"),
                ));
            }
        };
        let (text, fld) = match &list {
            Some(l) => {
                let some = self
                    .dialect
                    .field
                    .json
                    .as_ref()
                    .and_then(|j| j.some.as_ref());
                let some = some.expect("json_list checks");
                (
                    fill(
                        some,
                        &[("list", &l.values), ("var", LIST_VAR), ("test", &text)],
                    ),
                    l.values.as_str(),
                )
            }
            None => (text, fld),
        };
        // A numeric test whose operator is total (never null) needs no guard.
        let total = match &p.test {
            Test::Num { op, .. } => self.dialect.total_cmp.iter().any(|c| c == op.name()),
            _ => false,
        };
        let guard = self
            .dialect
            .guards
            .get(&kind)
            .or(self.dialect.guard.as_ref());
        match (guard, neg && !total && self.dialect.guarded.contains(&kind)) {
            (Some(g), true) => Ok(fill(g, &[("field", fld), ("expr", &text)])),
            _ => Ok(text),
        }
    }

    /// A string test on a field held by XML elements of a text column (`xml_fields`): the
    /// dialect's `regex` matcher with [`xml_element_regex`]. The column is text and never
    /// null (Kusto: an absent string is ""), so the test needs no guard under `not`.
    fn xml_test(
        &self,
        name: &str,
        x: &super::spec::XmlField,
        test: &Test,
        span: Span,
    ) -> Result<String, Unsupported> {
        let unsupported = |what: &str| {
            Unsupported::at(
                span,
                format!(
                    "{what} on the field `{name}` (XML elements <{}> of column `{}`)",
                    x.element, x.column
                ),
            )
        };
        let Test::Str { pattern, cased } = test else {
            return Err(unsupported("a test other than a string match"));
        };
        let re = xml_element_regex(&x.element, pattern, *cased)
            .ok_or_else(|| unsupported("a match that an empty element satisfies"))?;
        // The column is target data (the entry's own), so it is checked against the schema
        // whatever the entry's `unmapped_fields` says about the rule's fields.
        if self.schema.is_some_and(|t| !t.contains_key(&x.column)) {
            return Err(unsupported(
                "the column is not in the table: a string match",
            ));
        }
        self.read.borrow_mut().push(x.column.clone());
        let column = &x.column;
        let t = self
            .template(Kind::Regex)
            .ok_or_else(|| unsupported("a regular expression"))?;
        let q = self.lit(&self.regex_text(re, false), span)?;
        Ok(fill(t, &[("field", column), ("regex", &q)]))
    }

    /// A whole-value string pattern on a field: the most specific template that can express
    /// it, else a wildcard pattern, else an anchored regex.
    fn string_test(
        &self,
        fld: &str,
        p: &SigmaString,
        cased: bool,
        span: Span,
    ) -> Result<(Kind, String), Unsupported> {
        let pieces = p.pieces.as_slice();
        let specific = match pieces {
            [] => Some((Kind::Eq, Kind::EqCased, String::new())),
            [Piece::Lit(t)] => Some((Kind::Eq, Kind::EqCased, t.clone())),
            [Piece::Star, Piece::Lit(t), Piece::Star] => {
                Some((Kind::Contains, Kind::ContainsCased, t.clone()))
            }
            [Piece::Lit(t), Piece::Star] => {
                Some((Kind::Startswith, Kind::StartswithCased, t.clone()))
            }
            [Piece::Star, Piece::Lit(t)] => Some((Kind::Endswith, Kind::EndswithCased, t.clone())),
            _ => None,
        };
        let mut first_err: Option<Unsupported> = None;
        if let Some((k, kc, text)) = specific {
            let kind = if cased { kc } else { k };
            if let Some(t) = self.template(kind) {
                match self.lit(&text, span) {
                    Ok(v) => {
                        let pat = self.pattern(p).unwrap_or_default();
                        let vl = self.lit_lower(t, &text, span)?;
                        return Ok((
                            kind,
                            fill(
                                t,
                                &[
                                    ("field", fld),
                                    ("value", &v),
                                    ("value_lower", &vl),
                                    ("pattern", &pat),
                                ],
                            ),
                        ));
                    }
                    Err(e) => first_err = Some(e),
                }
            }
        }
        let wk = if cased {
            Kind::WildcardCased
        } else {
            Kind::Wildcard
        };
        if let (Some(t), Some(pat)) = (self.template(wk), self.pattern(p)) {
            return Ok((wk, fill(t, &[("field", fld), ("pattern", &pat)])));
        }
        if self.dialect.wildcard_regex {
            if let (false, Some(t)) = (cased, self.template(Kind::RegexLower)) {
                let re = pattern_regex(&folded(p), true);
                let re = self.lit(&self.regex_text(re, false), span)?;
                return Ok((Kind::RegexLower, fill(t, &[("field", fld), ("regex", &re)])));
            }
            if let Some(t) = self.template(Kind::Regex) {
                let re = self.lit(&self.regex_text(pattern_regex(p, cased), false), span)?;
                return Ok((Kind::Regex, fill(t, &[("field", fld), ("regex", &re)])));
            }
        }
        Err(first_err.unwrap_or_else(|| {
            Unsupported::at(
                span,
                format!(
                    "a {}match of `{}`",
                    if cased { "case-sensitive " } else { "" },
                    p.to_sigma()
                ),
            )
        }))
    }

    /// A keyword: the pattern (already `*...*`) anywhere in any value of the event.
    fn keyword(
        &self,
        p: &SigmaString,
        cased: bool,
        span: Span,
    ) -> Result<(Kind, String), Unsupported> {
        if let [Piece::Star, Piece::Lit(t), Piece::Star] = p.pieces.as_slice() {
            let kind = if cased {
                Kind::KeywordCased
            } else {
                Kind::Keyword
            };
            if let Some(tpl) = self.template(kind) {
                if let (Ok(v), Ok(vl)) = (self.lit(t, span), self.lit_lower(tpl, t, span)) {
                    return Ok((kind, fill(tpl, &[("value", &v), ("value_lower", &vl)])));
                }
            }
        }
        if !cased {
            if let (Some(t), Some(pat)) = (self.template(Kind::KeywordWildcard), self.pattern(p)) {
                return Ok((Kind::KeywordWildcard, fill(t, &[("pattern", &pat)])));
            }
        }
        if let (false, Some(t)) = (cased, self.template(Kind::KeywordRegexLower)) {
            let re = self.lit(
                &self.regex_text(pattern_regex(&folded(p), true), false),
                span,
            )?;
            return Ok((Kind::KeywordRegexLower, fill(t, &[("regex", &re)])));
        }
        if let Some(t) = self.template(Kind::KeywordRegex) {
            let re = self.lit(&self.regex_text(pattern_regex(p, cased), false), span)?;
            return Ok((Kind::KeywordRegex, fill(t, &[("regex", &re)])));
        }
        Err(Unsupported::at(
            span,
            format!("the keyword `{}`", p.to_sigma()),
        ))
    }
}

/// The fields a condition reads (sorted, each once; a field reference's other field too) and
/// whether it has keywords (field-less values): what a target's shared files may declare for
/// the rule's table (the SQL targets' `CREATE TABLE` statements).
pub fn condition_reads(e: &Expr) -> (Vec<String>, bool) {
    let mut preds = Vec::new();
    collect_preds(e, &mut preds, 0);
    let mut fields = std::collections::BTreeSet::new();
    let mut keywords = false;
    for p in preds {
        match &p.field {
            Some(f) => {
                fields.insert(f.clone());
            }
            None => keywords = true,
        }
        if let Test::FieldRef { other, .. } = &p.test {
            fields.insert(other.clone());
        }
    }
    (fields.into_iter().collect(), keywords)
}

/// The spelling of a comparison, for messages.
/// Every predicate of a condition.
fn collect_preds<'e>(e: &'e Expr, out: &mut Vec<&'e Pred>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| collect_preds(x, out, depth + 1)),
        Expr::Not(x) => collect_preds(x, out, depth + 1),
        Expr::Const(_) => {}
        Expr::Pred(p) => out.push(p),
    }
}

/// The condition's value for an event without `field`, when that alone decides it (Sigma:
/// every test on an absent field is false except `null` and `exists: false`).
fn absent_value(e: &Expr, field: &str, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    match e {
        Expr::And(xs) => {
            let vs: Vec<Option<bool>> = xs
                .iter()
                .map(|x| absent_value(x, field, depth + 1))
                .collect();
            if vs.contains(&Some(false)) {
                Some(false)
            } else if vs.iter().all(|v| *v == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        Expr::Or(xs) => {
            let vs: Vec<Option<bool>> = xs
                .iter()
                .map(|x| absent_value(x, field, depth + 1))
                .collect();
            if vs.contains(&Some(true)) {
                Some(true)
            } else if vs.iter().all(|v| *v == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        Expr::Not(x) => absent_value(x, field, depth + 1).map(|v| !v),
        Expr::Const(b) => Some(*b),
        Expr::Pred(p) => {
            let other = match &p.test {
                Test::FieldRef { other, .. } => Some(other.as_str()),
                _ => None,
            };
            if p.field.as_deref() == Some(field) {
                Some(matches!(p.test, Test::Null | Test::Exists(false)))
            } else if other == Some(field) {
                Some(false)
            } else {
                None
            }
        }
    }
}

pub fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
    }
}

/// Whether an IPv6 network shares addresses with the IPv4-mapped range `::ffff:0:0/96`. Sigma
/// compares addresses by family (IPv4 text is never in an IPv6 network), but some platforms
/// read IPv4 text as its mapped IPv6 address; such networks get the `cidr6_mapped` template.
fn overlaps_ipv4_mapped(net: &ipnet::Ipv6Net) -> bool {
    let mapped = ipnet::Ipv6Net::new(std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96)
        .expect("a valid prefix length");
    net.contains(&mapped.network()) || mapped.contains(&net.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_single_pass() {
        assert_eq!(
            fill(
                "{field}={value}",
                &[("field", "{value}"), ("value", "\"x\"")]
            ),
            "{value}=\"x\""
        );
        assert_eq!(fill("a {unknown} b", &[]), "a {unknown} b");
    }

    #[test]
    fn regex_end_replaces_only_unescaped_dollars_outside_classes() {
        assert_eq!(rewrite_regex_end(r"a$", r"\z"), r"a\z");
        assert_eq!(
            rewrite_regex_end(r"a\$b[$]c[]$]$", r"\z"),
            r"a\$b[$]c[]$]\z"
        );
        assert_eq!(rewrite_regex_end(r"[^]$]|x$", r"\z"), r"[^]$]|x\z");
        // A regex that turns on multi-line mode itself keeps its `$`.
        assert_eq!(rewrite_regex_end(r"(?im)a$", r"\z"), r"(?im)a$");
    }

    #[test]
    fn pattern_regex_is_anchored_and_escaped() {
        let p = SigmaString::parse(r"C:\a*b?.exe", false);
        assert_eq!(pattern_regex(&p, false), r"(?is)^C:\\a.*b.\.exe$");
        let re = regex::Regex::new(&pattern_regex(&p, false)).unwrap();
        assert!(re.is_match(r"c:\A\x\nYbz.EXE"));
        assert!(!re.is_match(r"c:\A\x\nYbz.EXE.bak"));
    }
}
