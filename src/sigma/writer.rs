//! IR to Sigma YAML: one document per rule, keys in the specification's order, 4-space indents
//! (the SigmaHQ convention), every string quoted so that no value can change the document's
//! structure.
//!
//! Quoting policy (deterministic, chosen per string, never per rule):
//! - detection values: always quoted (single quotes; double quotes with escapes when the text has
//!   line breaks or control characters), so `'4688'` stays a string and `*`, `%`, `: ` are data;
//! - keys and free-text metadata: plain when the text is unambiguous in YAML (see
//!   [`plain_ok`]), quoted otherwise;
//! - numbers, booleans and `null` plain.

use std::fmt::Write as _;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::ir::{
    Correlation, Detection, Matcher, Meta, Modifier, Rule, RuleBody, Selection, Value,
};

use super::cond;

const IND: &str = "    ";

/// Write one rule as a Sigma YAML document.
pub fn write(rule: &Rule) -> String {
    let mut w = W::default();
    let m = &rule.meta;
    w.kv(0, "title", &m.title);
    if let Some(id) = &m.id {
        w.kv(0, "id", &id.value);
    }
    if !m.related.is_empty() {
        w.key(0, "related");
        for r in &m.related {
            w.line(1, &format!("- id: {}", scalar(&r.id)));
            w.line(1, &format!("  type: {}", scalar(&r.kind)));
        }
    }
    if let Some(n) = &m.sigma_name {
        w.kv(0, "name", n);
    }
    opt(&mut w, "taxonomy", &m.taxonomy);
    if let Some(s) = &m.status {
        w.kv(0, "status", &s.value);
    }
    opt(&mut w, "description", &m.description);
    opt(&mut w, "license", &m.license);
    w.list(0, "references", &m.references);
    opt(&mut w, "author", &m.author);
    if let Some(d) = &m.date {
        w.line(0, &format!("date: {}", date(d)));
    }
    if let Some(d) = &m.modified {
        w.line(0, &format!("modified: {}", date(d)));
    }
    let tags: Vec<String> = m.tags.iter().map(|t| t.value.to_lowercase()).collect();
    w.list(0, "tags", &tags);
    let ls = &rule.logsource;
    let has_logsource = [&ls.category, &ls.product, &ls.service, &ls.definition]
        .iter()
        .any(|x| x.is_some());
    match &rule.body {
        RuleBody::Detection(d) => {
            w.logsource(rule);
            detection(&mut w, d);
        }
        RuleBody::Correlation(c) => {
            if has_logsource {
                w.logsource(rule);
            }
            correlation(&mut w, c);
        }
    }
    tail(&mut w, m);
    examples(&mut w, rule);
    w.out
}

/// The key under which a rule's examples (`test hit { ... }` in `.det`) travel in Sigma YAML,
/// so that DSL -> Sigma -> IR keeps them. A custom key, which Sigma tools ignore.
pub(crate) const TESTS_KEY: &str = "x-detc-tests";

fn examples(w: &mut W, rule: &Rule) {
    if rule.tests.is_empty() {
        return;
    }
    w.key(0, TESTS_KEY);
    for t in &rule.tests {
        let expect = match t.expect {
            crate::ir::Expect::Hit => "hit",
            crate::ir::Expect::Miss => "miss",
        };
        w.line(1, &format!("-   expect: {expect}"));
        if t.event.is_empty() {
            w.line(2, "event: {}");
        } else {
            w.key(2, "event");
            for (k, v) in &t.event {
                w.json(3, k, v);
            }
        }
    }
}

fn opt(w: &mut W, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        w.kv(0, key, v);
    }
}

fn tail(w: &mut W, m: &Meta) {
    w.list(0, "fields", &m.fields);
    w.list(0, "falsepositives", &m.falsepositives);
    if let Some(l) = &m.level {
        w.kv(0, "level", &l.value);
    }
    w.list(0, "scope", &m.scope);
    for (k, v) in &m.custom {
        w.json(0, k, v);
    }
}

/// Sigma wants `YYYY-MM-DD`; older rules wrote `YYYY/MM/DD`.
pub(crate) fn normalize_date(d: &str) -> String {
    let b = d.as_bytes();
    if b.len() == 10 && b[4] == b'/' && b[7] == b'/' {
        d.replace('/', "-")
    } else {
        d.to_string()
    }
}

fn date(d: &str) -> String {
    let d = normalize_date(d);
    let b = d.as_bytes();
    let iso = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if iso {
        d
    } else {
        quote(&d)
    }
}

fn detection(w: &mut W, d: &Detection) {
    w.key(0, "detection");
    for s in &d.selections {
        selection(w, s);
    }
    w.kv(1, "condition", &cond::print(&d.condition));
}

fn key_of(m: &Matcher) -> String {
    let mut k = m.field.clone().unwrap_or_default();
    for md in &m.modifiers {
        k.push('|');
        k.push_str(md.name());
    }
    k
}

fn selection(w: &mut W, s: &Selection) {
    let name = key(&s.name);
    match s.groups.as_slice() {
        [] => w.line(1, &format!("{name}: []")),
        // A plain keyword list.
        [g] if g.len() == 1
            && g[0].field.is_none()
            && g[0].modifiers.is_empty()
            && !g[0].values.is_empty() =>
        {
            w.line(1, &format!("{name}:"));
            for v in &g[0].values {
                w.line(2, &format!("- {}", value(v, &g[0].modifiers)));
            }
        }
        [g] => {
            if g.is_empty() {
                w.line(1, &format!("{name}: {{}}"));
            } else {
                w.line(1, &format!("{name}:"));
                group(w, 2, g, false);
            }
        }
        groups => {
            w.line(1, &format!("{name}:"));
            for g in groups {
                if g.is_empty() {
                    w.line(2, "- {}");
                } else {
                    group(w, 2, g, true);
                }
            }
        }
    }
}

/// One AND-group as a mapping; `item` writes it as a list item (`- key: ...`).
fn group(w: &mut W, depth: usize, g: &[Matcher], item: bool) {
    let g = merge_duplicate_keys(g);
    for (i, m) in g.iter().enumerate() {
        let k = key(&key_of(m));
        let (d, prefix) = match (item, i) {
            (true, 0) => (depth, "- "),
            (true, _) => (depth, "  "),
            (false, _) => (depth, ""),
        };
        let extra = if item { "  " } else { "" };
        match m.values.as_slice() {
            [v] => w.line(d, &format!("{prefix}{k}: {}", value(v, &m.modifiers))),
            [] => w.line(d, &format!("{prefix}{k}: []")),
            vs => {
                w.line(d, &format!("{prefix}{k}:"));
                for v in vs {
                    w.line(d + 1, &format!("{extra}- {}", value(v, &m.modifiers)));
                }
            }
        }
    }
}

/// A YAML mapping cannot hold one key twice, but an AND-group can test one field twice
/// (`CommandLine contains "a"` and `CommandLine contains "b"`). Such matchers are merged into
/// one `|all` list when that means the same thing: every one of them is an AND of its values
/// (it has `all`, or a single value) and none has `neq` (which negates the whole list).
/// Matchers that cannot be merged stay as they are; [`check_writable`] reports them.
fn merge_duplicate_keys(g: &[Matcher]) -> Vec<Matcher> {
    let base = |m: &Matcher| {
        let mut k = m.clone();
        k.modifiers.retain(|x| *x != Modifier::All);
        key_of(&k)
    };
    let mergeable =
        |m: &Matcher| (m.has(Modifier::All) || m.values.len() == 1) && !m.has(Modifier::Neq);
    // Only keys that actually repeat are touched: `K|contains: a` next to `K|contains|all: [b,
    // c]` is valid YAML and stays as written.
    // Sets and maps by key, not scans: a group of 100,000 fields must not be quadratic.
    let mut keys = FxHashSet::default();
    let repeated: FxHashSet<String> = g
        .iter()
        .filter(|m| !keys.insert(key_of(m)))
        .map(base)
        .collect();
    if repeated.is_empty() {
        return g.to_vec();
    }
    let mut out: Vec<Matcher> = Vec::new();
    // Base key -> index in `out` of its first matcher (repeated keys only).
    let mut first: FxHashMap<String, usize> = FxHashMap::default();
    for m in g {
        let b = base(m);
        let dup = if repeated.contains(&b) {
            first.get(&b).copied()
        } else {
            None
        };
        if dup.is_none() && repeated.contains(&b) {
            first.insert(b, out.len());
        }
        match dup {
            Some(i) if mergeable(&out[i]) && mergeable(m) => {
                let o = &mut out[i];
                if !o.has(Modifier::All) {
                    o.modifiers.push(Modifier::All);
                }
                o.values.extend(m.values.iter().cloned());
            }
            _ => out.push(m.clone()),
        }
    }
    out
}

/// Constructs of the IR that Sigma YAML cannot spell: a field name containing `|`, and a field
/// tested twice in one AND-group in a way that cannot be merged into one `|all` list (the
/// writer would have to repeat a YAML key). [`write`] still writes such rules (the repeated key
/// makes the reader fail loudly rather than drop a test); callers should report these first.
pub fn check_writable(rule: &Rule) -> Vec<crate::diag::Diagnostic> {
    let mut out = Vec::new();
    let RuleBody::Detection(d) = &rule.body else {
        return out;
    };
    for s in &d.selections {
        for g in &s.groups {
            for m in g {
                if m.field.as_deref().is_some_and(|f| f.contains('|')) {
                    out.push(
                        crate::diag::Diagnostic::error(
                            "sigma-unwritable",
                            "Sigma cannot spell a field name containing `|`",
                        )
                        .at(rule.loc(m.span)),
                    );
                }
            }
            let merged = merge_duplicate_keys(g);
            let mut keys = FxHashSet::default();
            for m in &merged {
                if !keys.insert(key_of(m)) {
                    out.push(
                        crate::diag::Diagnostic::error(
                            "sigma-unwritable",
                            format!(
                                "selection `{}` tests `{}` twice in one group; Sigma YAML cannot repeat a key",
                                s.name,
                                key_of(m)
                            ),
                        )
                        .at(rule.loc(m.span))
                        .note("split the group, or use `all` with single values"),
                    );
                }
            }
        }
    }
    out
}

fn value(v: &Value, mods: &[Modifier]) -> String {
    match v {
        Value::Str(_) => quote(&v.to_text(mods).unwrap_or_default()),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
    }
}

fn float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        // `{:?}` keeps a decimal point (`1.0`), so the value reads back as a float.
        let s = format!("{f:?}");
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

fn correlation(w: &mut W, c: &Correlation) {
    w.key(0, "correlation");
    w.kv(1, "type", c.kind.name());
    let rules: Vec<String> = c.rules.iter().map(|r| r.value.clone()).collect();
    w.list(1, "rules", &rules);
    w.list(1, "group-by", &c.group_by);
    w.kv(1, "timespan", &c.timespan.value.text);
    if let Some(cc) = &c.condition {
        w.key(1, "condition");
        for (op, n) in &cc.cmps {
            w.line(2, &format!("{}: {n}", op.name()));
        }
        if let Some(f) = &cc.field {
            w.kv(2, "field", f);
        }
    }
    if !c.aliases.is_empty() {
        w.key(1, "aliases");
        for (alias, map) in &c.aliases {
            if map.is_empty() {
                w.line(2, &format!("{}: {{}}", key(alias)));
                continue;
            }
            w.key(2, alias);
            for (rule, field) in map {
                w.kv(3, rule, field);
            }
        }
    }
    if c.generate {
        w.line(1, "generate: true");
    }
}

#[derive(Default)]
struct W {
    out: String,
}

impl W {
    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push_str(IND);
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    /// `KEY:` (a block follows) or `KEY: VALUE`. YAML allows an implicit key of at most 1024
    /// characters; a longer one is written in the explicit form (`? KEY` then `: VALUE`), which
    /// has no limit (a fuzz finding: a long custom key was written so it no longer read back).
    fn entry(&mut self, depth: usize, k: &str, value: Option<&str>) {
        let k = key(k);
        let v = value.map(|v| format!(" {v}")).unwrap_or_default();
        if k.chars().count() > MAX_IMPLICIT_KEY {
            self.line(depth, &format!("? {k}"));
            self.line(depth, &format!(":{v}"));
        } else {
            self.line(depth, &format!("{k}:{v}"));
        }
    }
    fn key(&mut self, depth: usize, k: &str) {
        self.entry(depth, k, None);
    }
    fn kv(&mut self, depth: usize, k: &str, v: &str) {
        self.entry(depth, k, Some(&scalar(v)));
    }
    fn list(&mut self, depth: usize, k: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.key(depth, k);
        for i in items {
            self.line(depth + 1, &format!("- {}", scalar(i)));
        }
    }
    /// A custom key's JSON value as YAML.
    fn json(&mut self, depth: usize, k: &str, v: &serde_json::Value) {
        use serde_json::Value as J;
        match v {
            J::Array(a) if !a.is_empty() => {
                self.key(depth, k);
                for x in a {
                    self.json_item(depth + 1, x);
                }
            }
            J::Object(o) if !o.is_empty() => {
                self.key(depth, k);
                for (k2, v2) in o {
                    self.json(depth + 1, k2, v2);
                }
            }
            other => self.entry(depth, k, Some(&json_scalar(other))),
        }
    }
    fn json_item(&mut self, depth: usize, v: &serde_json::Value) {
        use serde_json::Value as J;
        match v {
            J::Array(a) if !a.is_empty() => {
                // Nested lists: a block sequence inside a sequence item.
                self.line(depth, "-");
                for x in a {
                    self.json_item(depth + 1, x);
                }
            }
            J::Object(o) if !o.is_empty() => {
                self.line(depth, "-");
                for (k2, v2) in o {
                    self.json(depth + 1, k2, v2);
                }
            }
            other => self.line(depth, &format!("- {}", json_scalar(other))),
        }
    }
    fn logsource(&mut self, rule: &Rule) {
        let ls = &rule.logsource;
        self.key(0, "logsource");
        for (k, v) in [
            ("category", &ls.category),
            ("product", &ls.product),
            ("service", &ls.service),
            ("definition", &ls.definition),
        ] {
            if let Some(v) = v {
                self.kv(1, k, v);
            }
        }
        if ls == &Default::default() {
            // An empty logsource must still be a mapping.
            self.out.truncate(self.out.len() - 1);
            self.out.push_str(" {}\n");
        }
    }
}

fn json_scalar(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => float(f),
            _ => n.to_string(),
        },
        J::String(s) => scalar(s),
        J::Array(_) => "[]".into(),
        J::Object(_) => "{}".into(),
    }
}

/// The longest implicit (`KEY: value`) key YAML allows, in characters.
const MAX_IMPLICIT_KEY: usize = 1024;

/// A mapping key: plain when safe.
fn key(k: &str) -> String {
    scalar(k)
}

/// A string scalar: plain when [`plain_ok`], quoted otherwise.
pub(crate) fn scalar(s: &str) -> String {
    if plain_ok(s) || is_uuid(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// A hyphenated UUID (8-4-4-4-12 hex digits) is a string for every YAML resolver: no number or
/// timestamp has that shape.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `s` can be written as a plain scalar and read back as the same string by any YAML
/// 1.1 or 1.2 parser: it starts with a letter or `_`, uses a conservative character set (no
/// `:`, `#` or other indicators), has no edge spaces, and is not a word YAML reads as a boolean
/// or null.
pub(crate) fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A leading digit is safe only with a letter that no YAML number or timestamp contains
    // (`1h`; not hex digits, `x`, `o`, `b`, `t`, `z`); `(` is not a YAML indicator.
    let starts_ok = first.is_ascii_alphabetic()
        || matches!(first, '_' | '(')
        || (first.is_ascii_digit()
            && s.chars()
                .any(|c| c.is_ascii_alphabetic() && !"abcdefABCDEFxXoObBtTzZ".contains(c)));
    if !starts_ok || s.ends_with(' ') {
        return false;
    }
    if !s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                ' ' | '_' | '.' | ',' | '(' | ')' | '/' | '-' | '+' | '|' | '*' | '?' | '=' | ';'
            )
    }) {
        return false;
    }
    const RESERVED: &[&str] = &["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// A quoted scalar: single quotes unless the text needs escapes.
pub(crate) fn quote(s: &str) -> String {
    if s.chars().any(needs_escape) {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if needs_escape(c) => {
                    let _ = write!(out, "\\u{:04X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Characters that cannot appear raw inside a single-quoted scalar and survive: line breaks,
/// tabs, control characters (C0, DEL, C1: outside YAML's printable set), and the Unicode
/// characters YAML treats as breaks or BOM or does not allow (U+FFFE, U+FFFF). Every YAML
/// output escapes these (the Sentinel template's `yaml_str` too).
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}
