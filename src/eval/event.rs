//! The event model the evaluator matches against: a flat map from field name to one or more
//! values, with the case-folded text of every value computed once when the event is built (so
//! that thousands of case-insensitive tests do not fold the same text again).

use rustc_hash::FxHashMap;

use crate::ir::norm::{parse_number, Number};

/// One value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text; `lower` is its lowercase form ([`fold`]) when it differs from `raw`.
    Str {
        raw: Box<str>,
        lower: Option<Box<str>>,
    },
    /// A JSON number, with its text (used by string patterns and keywords).
    Num {
        text: Box<str>,
        n: Number,
    },
    Bool(bool),
    Null,
}

impl Val {
    pub fn str(s: &str) -> Val {
        // Most values are already lowercase ASCII (or have no letters): skip the folded copy.
        let lower = if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
            None
        } else {
            let l = fold(s);
            (l != s).then(|| l.into_boxed_str())
        };
        Val::Str {
            raw: s.into(),
            lower,
        }
    }

    pub fn num(n: Number) -> Val {
        Val::Num {
            text: n.to_string().into(),
            n,
        }
    }

    /// A value from JSON; arrays and objects are the caller's business (see [`Event::push_json`]).
    pub fn from_json(v: &serde_json::Value) -> Val {
        match v {
            serde_json::Value::String(s) => Val::str(s),
            serde_json::Value::Number(n) => {
                let num = match n.as_i64() {
                    Some(i) => Number::Int(i),
                    None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
                };
                Val::Num {
                    text: n.to_string().into(),
                    n: num,
                }
            }
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Null => Val::Null,
            other => Val::str(&other.to_string()),
        }
    }

    /// The text of the value as a string pattern sees it; `cased` picks the original text,
    /// otherwise the lowercase form.
    pub fn text(&self, cased: bool) -> Option<&str> {
        match self {
            Val::Str { raw, lower } => Some(if cased {
                raw
            } else {
                lower.as_deref().unwrap_or(raw)
            }),
            Val::Num { text, .. } => Some(text),
            Val::Bool(true) => Some("true"),
            Val::Bool(false) => Some("false"),
            Val::Null => None,
        }
    }

    /// The original text (strings and numbers only).
    pub fn raw(&self) -> Option<&str> {
        match self {
            Val::Str { raw, .. } => Some(raw),
            Val::Num { text, .. } => Some(text),
            Val::Bool(_) | Val::Null => None,
        }
    }

    /// The value as a number: a JSON number, or a string that parses to one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Val::Num { n, .. } => Some(n.as_f64()),
            Val::Str { raw, .. } => parse_number(raw.trim()).map(Number::as_f64),
            Val::Bool(_) | Val::Null => None,
        }
    }

    /// Null in Sigma's sense: JSON null or the empty string.
    pub fn is_null(&self) -> bool {
        match self {
            Val::Null => true,
            Val::Str { raw, .. } => raw.is_empty(),
            Val::Num { .. } | Val::Bool(_) => false,
        }
    }
}

/// Case-insensitive matching lowers both sides one character at a time (why:
/// [`crate::ir::case`]).
pub use crate::ir::case::fold;

/// Most nesting levels of a JSON event that are flattened; deeper objects are kept as text.
pub(crate) const MAX_DEPTH: usize = 32;

/// A flat event: field name -> values (a list-valued field has several).
///
/// Fields are added through [`Event::push`] and [`Event::set`], which keep the name index up
/// to date; `fields` is public for reading.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub fields: Vec<(Box<str>, Vec<Val>)>,
    /// Name -> index into `fields`, built once the event has [`INDEX_FROM`] fields: finding a
    /// name by scanning made an event of 100,000 keys cost time quadratic in its size, while
    /// the usual event (a few dozen fields) is scanned faster than it is hashed.
    index: Option<FxHashMap<Box<str>, u32>>,
}

/// Fields from which an [`Event`] indexes its names.
const INDEX_FROM: usize = 32;

/// Two events are equal when their fields are (the index is derived from them).
impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.fields == other.fields
    }
}

impl Event {
    pub fn new() -> Event {
        Event::default()
    }

    /// Build a flat event from a JSON object: nested objects become dotted names (`a.b`),
    /// arrays become several values, fields whose name starts with `_` are ignored (except the
    /// top-level ones log source routing reads, such as Zeek's `_path`).
    pub fn from_json_map(map: &serde_json::Map<String, serde_json::Value>) -> Event {
        let mut e = Event::new();
        for (k, v) in map {
            if k.starts_with('_') && !super::logsource::keeps_underscore_field(k) {
                continue;
            }
            e.push_json(k, v, 0);
        }
        e
    }

    /// Add a JSON value under `name`, flattening objects and arrays. An array is a list value
    /// (its objects and arrays as JSON text), and the leaves of the objects in it are added
    /// under dotted names too, all elements' values together (Okta's `target` array of
    /// objects gives `target.displayName` with one value per target, as Sigma rules and
    /// SIEMs read it).
    pub fn push_json(&mut self, name: &str, v: &serde_json::Value, depth: usize) {
        match v {
            serde_json::Value::Object(m) if depth < MAX_DEPTH => {
                for (k, x) in m {
                    if k.starts_with('_') {
                        continue;
                    }
                    self.push_json(&format!("{name}.{k}"), x, depth + 1);
                }
            }
            serde_json::Value::Array(xs) => {
                let vals: Vec<Val> = xs
                    .iter()
                    .map(|x| match x {
                        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                            Val::str(&x.to_string())
                        }
                        _ => Val::from_json(x),
                    })
                    .collect();
                self.set(name, vals);
                if depth < MAX_DEPTH {
                    for x in xs {
                        if let serde_json::Value::Object(m) = x {
                            self.push_leaves(name, m, depth + 1);
                        }
                    }
                }
            }
            other => self.push(name, Val::from_json(other)),
        }
    }

    /// The leaves of an object inside an array, appended under `name.key` (values of several
    /// elements accumulate; arrays inside add each element).
    fn push_leaves(
        &mut self,
        name: &str,
        m: &serde_json::Map<String, serde_json::Value>,
        depth: usize,
    ) {
        for (k, x) in m {
            if k.starts_with('_') {
                continue;
            }
            let key = format!("{name}.{k}");
            match x {
                serde_json::Value::Object(o) if depth < MAX_DEPTH => {
                    self.push_leaves(&key, o, depth + 1)
                }
                serde_json::Value::Array(xs) => {
                    for y in xs {
                        match y {
                            serde_json::Value::Object(o) if depth < MAX_DEPTH => {
                                self.push_leaves(&key, o, depth + 1)
                            }
                            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                                self.push(&key, Val::str(&y.to_string()))
                            }
                            _ => self.push(&key, Val::from_json(y)),
                        }
                    }
                }
                other => self.push(&key, Val::from_json(other)),
            }
        }
    }

    /// Append a value to a field (creating it).
    pub fn push(&mut self, name: &str, v: Val) {
        match self.position(name) {
            Some(i) => self.fields[i].1.push(v),
            None => self.add(name, vec![v]),
        }
    }

    /// Set a field's values, replacing any previous ones.
    pub fn set(&mut self, name: &str, vals: Vec<Val>) {
        match self.position(name) {
            Some(i) => self.fields[i].1 = vals,
            None => self.add(name, vals),
        }
    }

    pub fn get(&self, name: &str) -> Option<&[Val]> {
        self.position(name).map(|i| self.fields[i].1.as_slice())
    }

    /// Where the field `name` is in `fields`.
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(name).map(|&i| i as usize),
            None => self.fields.iter().position(|(k, _)| &**k == name),
        }
    }

    /// A new field (not yet in the event).
    fn add(&mut self, name: &str, vals: Vec<Val>) {
        let i = self.fields.len();
        self.fields.push((name.into(), vals));
        match &mut self.index {
            Some(ix) => {
                ix.insert(name.into(), i as u32);
            }
            None if self.fields.len() >= INDEX_FROM => {
                self.index = Some(
                    self.fields
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i as u32))
                        .collect(),
                );
            }
            None => {}
        }
    }

    /// The first value of a field as text.
    pub fn get_text(&self, name: &str) -> Option<&str> {
        self.get(name)?.iter().find_map(Val::raw)
    }
}
