//! Canonical printing: syntax tree to `.det` text (the formatter), and IR to syntax tree (the
//! Sigma-to-`.det` migration path). Both share one printer, so `to_dsl` output is already
//! formatted.

use crate::ir::{
    Cond, Example, Expect, Matcher, Modifier, OfTarget, Piece, Quant, Rule, RuleBody, SigmaString,
    Value,
};

use super::ast::*;
use super::lexer::is_bare_word;
use super::lower::{key_index, lower_cond, modifier, string_value, KEYS, LOGSOURCE_KEYS};
use super::parser::{is_cond_keyword, is_ident};
use crate::diag::Span;

const INDENT: &str = "  ";
/// Above this width a list of strings (`refs`) goes one per line.
const WIDTH: usize = 100;

/// Quote exact text: `"..."`, or `'...'` when that avoids doubling a `"`.
pub fn quote_exact(text: &str) -> String {
    if text.contains('"') && !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("\"{}\"", text.replace('"', "\"\""))
    }
}

/// Indent the continuation lines of a quoted metadata string whose opening quote is at column
/// `col`, so that the parser's dedent (`parser::dedent`) gives back exactly the text. The usual
/// layout is four spaces (two deeper than the item). That reads back only when some line with
/// more than white space starts at the margin; otherwise (every such line starts with white
/// space, or there is none) the lines are aligned just after the quote, the most the parser
/// strips. Empty lines get no indentation.
fn indent_block(quoted: String, col: usize) -> String {
    const BLOCK: usize = 4;
    let Some((first, rest)) = quoted.split_once('\n') else {
        return quoted;
    };
    // The text without its closing quote.
    let text = &rest[..rest.len().saturating_sub(1)];
    let flush = text.split('\n').any(|l| {
        let l = l.trim_end_matches('\r');
        !l.bytes().all(|b| matches!(b, b' ' | b'\t')) && !l.starts_with([' ', '\t'])
    });
    let pad = " ".repeat(if flush { BLOCK.min(col + 1) } else { col + 1 });
    let mut out = first.to_string();
    for line in rest.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

fn quote_seg(seg: &Seg) -> String {
    if seg.double {
        format!("\"{}\"", seg.text.replace('"', "\"\""))
    } else {
        format!("'{}'", seg.text.replace('\'', "''"))
    }
}

/// String literal segments that read back (under `modifiers`) as exactly `s`: wildcards and
/// placeholders in `"..."`, literal text containing `*`, `?`, `"` (or `%` with `expand`) in
/// `'...'`, other literal text in `"..."`.
pub fn pieces_to_segs(s: &SigmaString, modifiers: &[Modifier]) -> Vec<Seg> {
    if Value::is_verbatim(modifiers) {
        let text = s.as_plain().unwrap_or_else(|| s.to_sigma());
        let double = !text.contains('"') || text.contains('\'');
        return vec![Seg { double, text }];
    }
    let expand = modifiers.contains(&Modifier::Expand);
    let mut segs: Vec<Seg> = Vec::new();
    let mut push = |double: bool, text: &str| match segs.last_mut() {
        Some(last) if last.double == double => last.text.push_str(text),
        _ => segs.push(Seg {
            double,
            text: text.to_string(),
        }),
    };
    for p in &s.pieces {
        match p {
            Piece::Lit(t) => {
                let exact = t.contains(['*', '?', '"']) || (expand && t.contains('%'));
                push(!exact, t);
            }
            Piece::Star => push(true, "*"),
            Piece::Qmark => push(true, "?"),
            Piece::Placeholder(n) => push(true, &format!("%{n}%")),
        }
    }
    if segs.is_empty() {
        segs.push(Seg {
            double: true,
            text: String::new(),
        });
    }
    segs
}

fn print_segs(segs: &[Seg]) -> String {
    segs.iter().map(quote_seg).collect::<Vec<_>>().join(" ")
}

fn float(f: f64) -> String {
    format!("{f:?}")
}

/// A field name: bare if it is an identifier, else quoted.
fn field_name(f: &str) -> String {
    if is_ident(f) && f != "keywords" && !matches!(f, "true" | "false" | "null") {
        f.to_string()
    } else {
        quote_exact(f)
    }
}

/// A word-like value: bare when it reads back the same, else quoted.
fn bare_or_quoted(t: &str) -> String {
    bare_or_quoted_at(t, 0)
}

/// A word-like metadata value starting at column `col`.
fn bare_or_quoted_at(t: &str, col: usize) -> String {
    if is_bare_word(t) {
        t.to_string()
    } else {
        indent_block(quote_exact(t), col)
    }
}

// ---- conditions ----

pub fn print_cond(c: &Cond) -> String {
    fn wrap(c: &Cond, paren: bool) -> String {
        if paren {
            format!("({})", print_cond(c))
        } else {
            print_cond(c)
        }
    }
    match c {
        // An `and` inside an `or` keeps its parentheses: not needed, but easier to read.
        Cond::Or(xs) => xs
            .iter()
            .map(|x| wrap(x, matches!(x, Cond::Or(_) | Cond::And(_))))
            .collect::<Vec<_>>()
            .join(" or "),
        Cond::And(xs) => xs
            .iter()
            .map(|x| wrap(x, matches!(x, Cond::Or(_) | Cond::And(_))))
            .collect::<Vec<_>>()
            .join(" and "),
        Cond::Not(x) => format!("not {}", wrap(x, matches!(**x, Cond::Or(_) | Cond::And(_)))),
        Cond::Sel(n) => n.value.clone(),
        Cond::Of(q, t) => format!(
            "{} of {}",
            match q {
                Quant::One => "1",
                Quant::All => "all",
            },
            match &t.value {
                OfTarget::Them => "them",
                OfTarget::Pattern(p) => p.as_str(),
            }
        ),
    }
}

fn cond_to_ast(c: &Cond) -> CondAst {
    let w = |text: String| Word {
        text,
        span: Span::default(),
    };
    match c {
        Cond::And(xs) => CondAst::And(xs.iter().map(cond_to_ast).collect()),
        Cond::Or(xs) => CondAst::Or(xs.iter().map(cond_to_ast).collect()),
        Cond::Not(x) => CondAst::Not(Box::new(cond_to_ast(x))),
        Cond::Sel(n) => CondAst::Sel(w(n.value.clone())),
        Cond::Of(q, t) => CondAst::Of {
            all: *q == Quant::All,
            target: w(match &t.value {
                OfTarget::Them => "them".into(),
                OfTarget::Pattern(p) => p.clone(),
            }),
            span: Span::default(),
        },
    }
}

// ---- the printer ----

struct Out {
    s: String,
}

impl Out {
    fn comments(&mut self, indent: &str, cs: &[Comment]) {
        for c in cs {
            if c == BLANK {
                self.s.push('\n');
                continue;
            }
            self.s.push_str(indent);
            self.s.push('#');
            self.s.push_str(c);
            self.s.push('\n');
        }
    }
    /// The column (in characters) where the next character goes.
    fn col(&self) -> usize {
        let line = self
            .s
            .rfind('\n')
            .map_or(self.s.as_str(), |n| &self.s[n + 1..]);
        line.chars().count()
    }
    fn end(&mut self, trailing: &Option<Comment>) {
        if let Some(c) = trailing {
            self.s.push_str(" #");
            self.s.push_str(c);
        }
        self.s.push('\n');
    }
}

/// Print a parsed file canonically.
pub fn print_file(file: &File) -> String {
    let mut out = Out { s: String::new() };
    for (i, r) in file.rules.iter().enumerate() {
        if i > 0 {
            out.s.push('\n');
        }
        print_rule(r, &mut out);
    }
    if !file.trailing.is_empty() {
        if !file.rules.is_empty() {
            out.s.push('\n');
        }
        out.comments("", &file.trailing);
    }
    out.s
}

fn print_rule(r: &RuleAst, out: &mut Out) {
    out.comments("", &r.leading);
    out.s
        .push_str(&format!("{} {} {{", r.kind.keyword(), r.name.text));
    out.end(&r.header_comment);

    let mut meta: Vec<(usize, &Item)> = Vec::new();
    let mut sels = Vec::new();
    let mut conds = Vec::new();
    let mut tests = Vec::new();
    for item in &r.items {
        match &item.kind {
            ItemKind::Meta { key, .. } => {
                meta.push((key_index(&key.text, r.kind).unwrap_or(KEYS.len()), item))
            }
            ItemKind::Selection { .. } => sels.push(item),
            ItemKind::Condition(_) => conds.push(item),
            ItemKind::Test { .. } => tests.push(item),
        }
    }
    meta.sort_by_key(|(i, _)| *i);
    let sections: [Vec<&Item>; 4] = [
        meta.into_iter().map(|(_, i)| i).collect(),
        sels,
        conds,
        tests,
    ];
    let mut first_section = true;
    for (si, section) in sections.iter().enumerate() {
        if section.is_empty() {
            continue;
        }
        if !first_section {
            out.s.push('\n');
        }
        first_section = false;
        for (ii, item) in section.iter().enumerate() {
            // Blank lines are kept between selections and between tests.
            if ii > 0 && item.blank_before && (si == 1 || si == 3) {
                out.s.push('\n');
            }
            print_item(item, out);
        }
    }
    if !r.end_comments.is_empty() {
        if !first_section {
            out.s.push('\n');
        }
        out.comments(INDENT, &r.end_comments);
    }
    out.s.push('}');
    out.end(&r.trailing);
}

fn print_item(item: &Item, out: &mut Out) {
    out.comments(INDENT, &item.leading);
    out.s.push_str(INDENT);
    match &item.kind {
        ItemKind::Meta { key, args } => print_meta(&key.text, args, out),
        ItemKind::Selection { name, groups } => print_selection(&name.text, groups, out),
        ItemKind::Condition(c) => {
            out.s.push_str("condition ");
            out.s.push_str(&print_cond(&lower_cond(c)));
        }
        ItemKind::Test { hit, fields, .. } => {
            out.s
                .push_str(if *hit { "test hit " } else { "test miss " });
            out.s.push_str(&print_map(fields));
        }
    }
    out.end(&item.trailing);
}

/// Keys whose values are free text (always quoted).
const TEXT_KEYS: &[&str] = &[
    "title",
    "description",
    "author",
    "license",
    "refs",
    "falsepositives",
];

fn print_meta(key: &str, args: &[Arg], out: &mut Out) {
    out.s.push_str(key);
    let text_key = TEXT_KEYS.contains(&key);
    // Rendered at column `col`; multi-line strings are indented to their column.
    let arg_text = |a: &Arg, col: usize| -> String {
        match a {
            Arg::KeyVal(k, v) => format!(
                "{}={}",
                k.text,
                bare_or_quoted_at(&v.text().unwrap_or_default(), col + k.text.len() + 1)
            ),
            Arg::Map(fields, _) => print_map(fields),
            Arg::Word(_) | Arg::Str(_) => {
                let t = a.text().unwrap_or_default();
                if text_key {
                    indent_block(quote_exact(&t), col)
                } else if key == "attack" {
                    let lower = t.to_ascii_lowercase();
                    let b = lower.as_bytes();
                    if b.len() > 1 && matches!(b[0], b't' | b'g' | b's') && b[1].is_ascii_digit() {
                        bare_or_quoted_at(&t.to_ascii_uppercase(), col)
                    } else {
                        bare_or_quoted_at(&lower, col)
                    }
                } else {
                    bare_or_quoted_at(&t, col)
                }
            }
        }
    };
    let mut parts: Vec<&Arg> = args.iter().collect();
    if key == "logsource" {
        // Canonical key order.
        parts.sort_by_key(|a| match a {
            Arg::KeyVal(k, _) => LOGSOURCE_KEYS
                .iter()
                .position(|x| *x == k.text)
                .unwrap_or(LOGSOURCE_KEYS.len()),
            _ => LOGSOURCE_KEYS.len(),
        });
    }
    // The layout depends only on the text, never on where it lands (idempotence).
    let total: usize = key.len()
        + parts
            .iter()
            .map(|p| arg_text(p, 0).len() + 1)
            .sum::<usize>();
    let one_per_line = text_key && parts.len() > 1 && total > WIDTH;
    for (i, p) in parts.iter().enumerate() {
        // Only a string may start a continuation line (the parser reads anything else at the
        // start of a line as a new item), so a map or `k=v` stays on the line before it.
        if one_per_line && i > 0 && matches!(p, Arg::Word(_) | Arg::Str(_)) {
            // Continuation lines: four spaces (the loop adds the fourth).
            out.s.push_str("\n   ");
        }
        out.s.push(' ');
        let col = out.col();
        out.s.push_str(&arg_text(p, col));
    }
}

fn resolved_mods(m: &MatcherAst) -> Vec<Modifier> {
    m.modifiers
        .iter()
        .filter_map(|w| modifier(&w.text))
        .collect()
}

fn print_matcher(m: &MatcherAst) -> String {
    let mut s = match &m.field {
        None => "keywords".to_string(),
        Some(f) => field_name(&f.text),
    };
    for w in &m.modifiers {
        s.push(' ');
        s.push_str(&w.text);
    }
    let mods = resolved_mods(m);
    let values: Vec<String> = m
        .values
        .iter()
        .map(|v| match v {
            ValAst::Str(st) => print_segs(&pieces_to_segs(&string_value(st, &mods), &mods)),
            ValAst::Int(i, _) => i.to_string(),
            ValAst::Float(f, _) => float(*f),
            ValAst::Bool(b, _) => b.to_string(),
            ValAst::Null(_) => "null".into(),
        })
        .collect();
    s.push(' ');
    s.push_str(&values.join(", "));
    s
}

fn group_inline(g: &Group) -> bool {
    g.matchers.len() <= 1
        && g.matchers
            .iter()
            .all(|m| m.leading.is_empty() && m.trailing.is_none())
}

fn print_selection(name: &str, groups: &[Group], out: &mut Out) {
    out.s.push_str(name);
    out.s.push_str(" = ");
    if let [g] = groups {
        if let [m] = g.matchers.as_slice() {
            if m.leading.is_empty() && m.trailing.is_none() {
                out.s.push_str(&print_matcher(&m.matcher));
                return;
            }
        }
    }
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.s.push_str(" or ");
        }
        if group_inline(g) {
            match g.matchers.first() {
                Some(m) => {
                    out.s.push_str("{ ");
                    out.s.push_str(&print_matcher(&m.matcher));
                    out.s.push_str(" }");
                }
                None => out.s.push_str("{ }"),
            }
            continue;
        }
        out.s.push_str("{\n");
        for m in &g.matchers {
            out.comments("    ", &m.leading);
            out.s.push_str("    ");
            out.s.push_str(&print_matcher(&m.matcher));
            out.end(&m.trailing);
        }
        out.s.push_str(INDENT);
        out.s.push('}');
    }
}

fn print_ev(v: &EvVal) -> String {
    match v {
        EvVal::Str(s) => quote_exact(&s.text()),
        EvVal::Int(i, _) => i.to_string(),
        EvVal::Float(f, _) => float(*f),
        EvVal::Bool(b, _) => b.to_string(),
        EvVal::Null(_) => "null".into(),
        EvVal::Word(w) => bare_or_quoted(&w.text),
        EvVal::List(items, _) => format!(
            "[{}]",
            items.iter().map(print_ev).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn print_map(fields: &[(Word, EvVal)]) -> String {
    if fields.is_empty() {
        return "{ }".into();
    }
    let inner: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            let key = if is_ident(&k.text) && !matches!(k.text.as_str(), "true" | "false" | "null")
            {
                k.text.clone()
            } else {
                quote_exact(&k.text)
            };
            format!("{key}: {}", print_ev(v))
        })
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

// ---- IR to syntax tree ----

fn word(t: &str) -> Word {
    Word {
        text: t.to_string(),
        span: Span::default(),
    }
}

fn str_arg(t: &str) -> Arg {
    Arg::Str(Str {
        segs: vec![Seg {
            double: true,
            text: t.to_string(),
        }],
        span: Span::default(),
    })
}

fn meta_item(key: &str, args: Vec<Arg>) -> Item {
    item(ItemKind::Meta {
        key: word(key),
        args,
    })
}

fn item(kind: ItemKind) -> Item {
    Item {
        leading: Vec::new(),
        trailing: None,
        blank_before: false,
        kind,
        span: Span::default(),
    }
}

fn json_to_ev(v: &serde_json::Value) -> EvVal {
    use serde_json::Value as J;
    let sp = Span::default();
    match v {
        J::Null => EvVal::Null(sp),
        J::Bool(b) => EvVal::Bool(*b, sp),
        J::Number(n) => match n.as_i64() {
            Some(i) => EvVal::Int(i, sp),
            None => EvVal::Float(n.as_f64().unwrap_or(0.0), sp),
        },
        J::String(s) => EvVal::Str(Str {
            segs: vec![Seg {
                double: true,
                text: s.clone(),
            }],
            span: sp,
        }),
        J::Array(xs) => EvVal::List(xs.iter().map(json_to_ev).collect(), sp),
        // Events are flat; a nested object can only be kept as its JSON text.
        J::Object(_) => EvVal::Str(Str {
            segs: vec![Seg {
                double: true,
                text: v.to_string(),
            }],
            span: sp,
        }),
    }
}

fn matcher_to_ast(m: &Matcher) -> MatcherAst {
    let sp = Span::default();
    MatcherAst {
        field: m.field.as_deref().map(word),
        modifiers: m.modifiers.iter().map(|md| word(md.name())).collect(),
        values: m
            .values
            .iter()
            .map(|v| match v {
                Value::Str(s) => ValAst::Str(Str {
                    segs: pieces_to_segs(s, &m.modifiers),
                    span: sp,
                }),
                Value::Int(i) => ValAst::Int(*i, sp),
                Value::Float(f) => ValAst::Float(*f, sp),
                Value::Bool(b) => ValAst::Bool(*b, sp),
                Value::Null => ValAst::Null(sp),
            })
            .collect(),
        span: sp,
    }
}

fn test_item(e: &Example) -> Item {
    item(ItemKind::Test {
        hit: e.expect == Expect::Hit,
        keyword: word("test"),
        fields: e
            .event
            .iter()
            .map(|(k, v)| (word(k), json_to_ev(v)))
            .collect(),
    })
}

/// Whether a tag can be written in the `attack` line and read back unchanged.
fn attack_word(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix("attack.")?;
    (!rest.is_empty() && rest == rest.to_ascii_lowercase() && is_bare_word(rest)).then_some(rest)
}

/// The syntax tree of an IR rule.
pub fn rule_to_ast(rule: &Rule) -> RuleAst {
    let m = &rule.meta;
    let mut items = Vec::new();
    let mut single = |key: &str, v: Option<&str>| {
        if let Some(v) = v {
            items.push(meta_item(key, vec![str_arg(v)]));
        }
    };
    single("title", (!m.title.is_empty()).then_some(m.title.as_str()));
    single("id", m.id.as_ref().map(|s| s.value.as_str()));
    single("name", m.sigma_name.as_deref());
    single("status", m.status.as_ref().map(|s| s.value.as_str()));
    single("level", m.level.as_ref().map(|s| s.value.as_str()));
    single("description", m.description.as_deref());
    single("author", m.author.as_deref());
    single("date", m.date.as_deref());
    single("modified", m.modified.as_deref());
    single("license", m.license.as_deref());
    single("taxonomy", m.taxonomy.as_deref());
    let n_attack = m
        .tags
        .iter()
        .take_while(|t| attack_word(&t.value).is_some())
        .count();
    let mut list = |key: &str, vals: Vec<&str>| {
        if !vals.is_empty() {
            items.push(meta_item(key, vals.into_iter().map(str_arg).collect()));
        }
    };
    list(
        "attack",
        m.tags[..n_attack]
            .iter()
            .filter_map(|t| attack_word(&t.value))
            .collect(),
    );
    list(
        "tags",
        m.tags[n_attack..]
            .iter()
            .map(|t| t.value.as_str())
            .collect(),
    );
    list("refs", m.references.iter().map(String::as_str).collect());
    list(
        "falsepositives",
        m.falsepositives.iter().map(String::as_str).collect(),
    );
    list("fields", m.fields.iter().map(String::as_str).collect());
    list("scope", m.scope.iter().map(String::as_str).collect());
    for r in &m.related {
        items.push(meta_item("related", vec![str_arg(&r.kind), str_arg(&r.id)]));
    }
    let ls = &rule.logsource;
    let kvs: Vec<Arg> = [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
        ("definition", &ls.definition),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .map(|v| Arg::KeyVal(word(k), Box::new(str_arg(v))))
    })
    .collect();
    if !kvs.is_empty() {
        items.push(meta_item("logsource", kvs));
    }
    for (k, v) in &m.custom {
        items.push(meta_item(
            "custom",
            vec![str_arg(k), str_arg(&v.to_string())],
        ));
    }
    let kind = match &rule.body {
        RuleBody::Detection(d) => {
            for s in &d.selections {
                let groups = s
                    .groups
                    .iter()
                    .map(|g| Group {
                        matchers: g
                            .iter()
                            .map(|m| MatcherLine {
                                leading: Vec::new(),
                                trailing: None,
                                matcher: matcher_to_ast(m),
                            })
                            .collect(),
                        span: Span::default(),
                        braced: true,
                    })
                    .collect();
                items.push(item(ItemKind::Selection {
                    name: word(&s.name),
                    groups,
                }));
            }
            if !matches!(&d.condition, Cond::And(xs) if xs.is_empty()) {
                items.push(item(ItemKind::Condition(cond_to_ast(&d.condition))));
            }
            RuleKind::Rule
        }
        RuleBody::Correlation(c) => {
            items.push(meta_item("type", vec![str_arg(c.kind.name())]));
            items.push(meta_item(
                "rules",
                c.rules.iter().map(|r| str_arg(&r.value)).collect(),
            ));
            if !c.group_by.is_empty() {
                items.push(meta_item(
                    "group-by",
                    c.group_by.iter().map(|g| str_arg(g)).collect(),
                ));
            }
            items.push(meta_item("timespan", vec![str_arg(&c.timespan.value.text)]));
            if let Some(cc) = &c.condition {
                let mut args = Vec::new();
                for (op, n) in &cc.cmps {
                    args.push(str_arg(op.name()));
                    args.push(str_arg(&n.to_string()));
                }
                if let Some(f) = &cc.field {
                    args.push(str_arg("field"));
                    args.push(str_arg(f));
                }
                items.push(meta_item("condition", args));
            }
            for (name, map) in &c.aliases {
                let fields = map
                    .iter()
                    .map(|(r, f)| {
                        let v = if is_ident(f) {
                            EvVal::Word(word(f))
                        } else {
                            EvVal::Str(Str {
                                segs: vec![Seg {
                                    double: true,
                                    text: f.clone(),
                                }],
                                span: Span::default(),
                            })
                        };
                        (word(r), v)
                    })
                    .collect();
                items.push(meta_item(
                    "alias",
                    vec![str_arg(name), Arg::Map(fields, Span::default())],
                ));
            }
            if c.generate {
                items.push(meta_item("generate", vec![str_arg("true")]));
            }
            RuleKind::Correlation
        }
    };
    items.extend(rule.tests.iter().map(test_item));
    RuleAst {
        kind,
        name: word(&rule.name),
        span: Span::default(),
        leading: Vec::new(),
        header_comment: None,
        items,
        end_comments: Vec::new(),
        trailing: None,
        syntax_errors: 0,
        broken: Vec::new(),
    }
}

/// Whether a selection name can be written in a condition as is.
pub fn plain_name(n: &str) -> bool {
    is_bare_word(n) && !is_cond_keyword(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Spanned;

    fn segs(p: Vec<Piece>, mods: &[Modifier]) -> String {
        print_segs(&pieces_to_segs(&SigmaString { pieces: p }, mods))
    }

    #[test]
    fn strings_are_quoted_canonically() {
        let lit = |s: &str| Piece::Lit(s.into());
        assert_eq!(segs(vec![lit(r"C:\Windows\")], &[]), r#""C:\Windows\""#);
        assert_eq!(segs(vec![lit("a*b")], &[]), "'a*b'");
        assert_eq!(
            segs(vec![Piece::Star, lit("/x?id="), Piece::Star], &[]),
            r#""*" '/x?id=' "*""#
        );
        assert_eq!(segs(vec![lit(r#"say "hi""#)], &[]), r#"'say "hi"'"#);
        assert_eq!(segs(vec![lit(r#"it's "x"*"#)], &[]), r#"'it''s "x"*'"#);
        assert_eq!(segs(vec![], &[]), r#""""#);
        assert_eq!(
            segs(
                vec![lit("50%"), Piece::Placeholder("p".into())],
                &[Modifier::Expand]
            ),
            r#"'50%' "%p%""#
        );
        assert_eq!(segs(vec![lit(r#"a"b*"#)], &[Modifier::Re]), r#"'a"b*'"#);
        assert_eq!(segs(vec![lit(r#"a"b'"#)], &[Modifier::Re]), r#""a""b'""#);
    }

    #[test]
    fn sigma_escaping_of_unc_paths() {
        // Documented in docs/DSL.md.
        let s = SigmaString {
            pieces: vec![Piece::Lit(r"\\server\share".into())],
        };
        assert_eq!(s.to_sigma(), r"\\\server\share");
    }

    #[test]
    fn conditions_get_minimal_parentheses() {
        let s = |n: &str| Cond::Sel(Spanned::new(n.to_string(), Span::default()));
        let c = Cond::And(vec![
            Cond::Or(vec![s("a"), s("b")]),
            Cond::Not(Box::new(Cond::And(vec![s("c"), s("d")]))),
            Cond::And(vec![s("e"), s("f")]),
        ]);
        assert_eq!(print_cond(&c), "(a or b) and not (c and d) and (e and f)");
        let o = Cond::Or(vec![
            Cond::And(vec![s("a"), s("b")]),
            Cond::Not(Box::new(s("c"))),
        ]);
        assert_eq!(print_cond(&o), "(a and b) or not c");
    }
}
