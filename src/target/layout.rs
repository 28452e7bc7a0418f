//! The folder layout of a spec target, so that a new log source or table is one small file:
//!
//! ```text
//! targets/<name>/target.yaml                 tokens, templates, presets, limits
//! targets/<name>/logsources/<product>/<category or service>.yaml
//!                                            a list of entries for one log source, tried in order
//! targets/<name>/schema/<Table>.yaml         `Table: {column: type}`
//! ```
//!
//! `target.yaml` may still carry `logsources:` and `schema_file:` itself (a small
//! `--targets-dir` target); both are read, `target.yaml`'s entries first. Entries with equal
//! `match` keys are fallbacks tried in order, so they must be in one file (checked here): the
//! order a reader sees is the order detc tries.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::render::Table;
use super::spec::{LogSourceSpec, Spec};
use crate::diag::Diagnostic;

const LOGSOURCES: &str = "logsources/";
const SCHEMA: &str = "schema/";

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

fn bad(origin: &str, file: &str, msg: String) -> Diagnostic {
    Diagnostic::error("invalid-target", msg).in_file(format!("{origin}/{file}"))
}

/// Every log source entry of the target, with presets merged in: `target.yaml`'s entries,
/// then each file under `logsources/` in path order.
pub fn logsources(
    origin: &str,
    files: &BTreeMap<String, String>,
    spec: &Spec,
) -> Result<Vec<LogSourceSpec>, Diagnostic> {
    let mut out = Vec::new();
    // match keys (lower-cased) -> the file that declares them
    let mut owner: BTreeMap<Vec<(String, String)>, String> = BTreeMap::new();
    // macro name -> (definition, the file that first defines it)
    let mut defined: BTreeMap<String, (String, String)> = BTreeMap::new();
    // macros the constraints name, with where (checked once every file is read)
    let mut named: Vec<(String, String, usize)> = Vec::new();
    let mut add = |file: &str, raw: &[Value]| -> Result<(), Diagnostic> {
        for (n, entry) in raw.iter().enumerate() {
            let at = |msg: String| bad(origin, file, format!("log source entry {}: {msg}", n + 1));
            let merged = resolve(entry, spec).map_err(at)?;
            let ls: LogSourceSpec =
                serde_json::from_value(merged).map_err(|e| at(e.to_string()))?;
            let key: Vec<(String, String)> = ls
                .when
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_ascii_lowercase()))
                .collect();
            match owner.get(&key) {
                Some(first) if first != file => {
                    return Err(at(format!(
                        "log source {} is also declared in {first}; keep a log source's entries \
                         (the first choice and its fallbacks) in one file, in the order they are tried",
                        describe(&key)
                    )))
                }
                _ => {
                    owner.insert(key, file.to_string());
                }
            }
            for (name, def) in &ls.macros {
                if !is_macro_name(name) {
                    return Err(at(format!(
                        "macro name `{name}` is not a search macro name (letters, digits, `_`, `-`, `.`)"
                    )));
                }
                match defined.get(name) {
                    Some((d, first)) if d != def => {
                        return Err(at(format!(
                            "macro `{name}` is defined as `{def}` here and as `{d}` in {first}; \
                             one macro has one default definition"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        defined.insert(name.clone(), (def.clone(), file.to_string()));
                    }
                }
            }
            let constraints = ls
                .constraint
                .iter()
                .chain(ls.also.iter().map(|a| &a.constraint));
            for c in constraints {
                for name in macro_refs(c).map_err(&at)? {
                    named.push((name, file.to_string(), n + 1));
                }
            }
            out.push(ls);
        }
        Ok(())
    };
    add("target.yaml", &spec.inline_logsources)?;
    for (path, text) in files.range(LOGSOURCES.to_string()..) {
        if !path.starts_with(LOGSOURCES) {
            break;
        }
        if !is_yaml(path) {
            continue;
        }
        let raw: Vec<Value> = super::parse_yaml(origin, path, text).map_err(|e| {
            bad(
                origin,
                path,
                format!("expected a list of log source entries: {e}"),
            )
        })?;
        add(path, &raw)?;
    }
    for (name, file, n) in named {
        if !defined.contains_key(&name) {
            return Err(bad(
                origin,
                &file,
                format!(
                    "log source entry {n}: its constraint names the macro `{name}`, which no \
                     entry defines; add `macros: {{{name}: <default definition>}}`"
                ),
            ));
        }
    }
    Ok(out)
}

/// Search macro names: what Splunk accepts in a `macros.conf` stanza name, minus the
/// argument count suffix (macros with arguments are not used by constraints).
fn is_macro_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The macro names a constraint reads: the text between each pair of backticks (SPL's macro
/// call syntax), up to an argument list.
fn macro_refs(constraint: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = constraint.split('`').collect();
    if parts.len() % 2 == 0 {
        return Err(format!(
            "constraint `{constraint}` has an unpaired backtick (a macro is named as `name`)"
        ));
    }
    parts
        .iter()
        .skip(1)
        .step_by(2)
        .map(|inner| {
            let name = inner.split('(').next().unwrap_or_default();
            if is_macro_name(name) {
                Ok(name.to_string())
            } else {
                Err(format!(
                    "constraint `{constraint}` names `{inner}` between backticks, which is not a macro name"
                ))
            }
        })
        .collect()
}

/// The column schemas: `schema_file` when the spec names one, then every file under
/// `schema/`. A table declared twice is an error.
pub fn tables(
    origin: &str,
    files: &BTreeMap<String, String>,
    spec: &Spec,
) -> Result<BTreeMap<String, Table>, Diagnostic> {
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    let mut from: BTreeMap<String, String> = BTreeMap::new();
    let mut paths: Vec<&str> = Vec::new();
    if let Some(f) = &spec.schema_file {
        if !files.contains_key(f.as_str()) {
            return Err(bad(
                origin,
                "target.yaml",
                format!("schema file `{f}` is missing"),
            ));
        }
        paths.push(f);
    }
    paths.extend(
        files
            .keys()
            .filter(|p| p.starts_with(SCHEMA) && is_yaml(p))
            .map(String::as_str),
    );
    for path in paths {
        let parsed: BTreeMap<String, Table> = super::parse_yaml(origin, path, &files[path])
            .map_err(|e| {
                bad(
                    origin,
                    path,
                    format!("expected `Table: {{column: type}}`: {e}"),
                )
            })?;
        for (table, columns) in parsed {
            if let Some(first) = from.get(&table) {
                return Err(bad(
                    origin,
                    path,
                    format!("table `{table}` is also declared in {first}"),
                ));
            }
            from.insert(table.clone(), path.to_string());
            out.insert(table, columns);
        }
    }
    Ok(out)
}

/// An entry with its presets merged in: each `use`d preset in order, then the entry's own
/// keys; mappings (`fields`, `extend`, `vars`) merge key by key, anything else is replaced.
fn resolve(entry: &Value, spec: &Spec) -> Result<Value, String> {
    let Value::Object(own) = entry else {
        return Err("expected a mapping with `match`".into());
    };
    let mut own = own.clone();
    let uses: Vec<String> = match own.remove("use") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!("`use` lists preset names, found {other}")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("`use` lists preset names, found {other}")),
    };
    let mut out = Map::new();
    for name in uses {
        let Some(preset) = spec.presets.get(&name) else {
            let known: Vec<&str> = spec.presets.keys().map(String::as_str).collect();
            return Err(format!(
                "unknown preset `{name}` (presets in target.yaml: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        let Value::Object(p) = preset else {
            return Err(format!("preset `{name}` must be a mapping of entry keys"));
        };
        merge(&mut out, p.clone());
    }
    merge(&mut out, own);
    Ok(Value::Object(out))
}

fn merge(out: &mut Map<String, Value>, add: Map<String, Value>) {
    for (k, v) in add {
        match (out.get_mut(&k), v) {
            (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
            (_, v) => {
                out.insert(k, v);
            }
        }
    }
}

fn describe(key: &[(String, String)]) -> String {
    let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Spec {
        serde_yaml::from_str(yaml).unwrap()
    }

    const BASE: &str =
        "name: t\ndialects: []\npresets:\n  p: {fields: {A: a, B: b}, note: from preset}\n";

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn presets_merge_under_the_entry() {
        let s = spec(BASE);
        let f = files(&[(
            "logsources/x/y.yaml",
            "- match: {product: x, category: y}\n  use: [p]\n  fields: {B: own, C: c}\n",
        )]);
        let ls = logsources("t", &f, &s).unwrap();
        assert_eq!(ls.len(), 1);
        let got: Vec<(&str, &str)> = ls[0]
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, [("A", "a"), ("B", "own"), ("C", "c")]);
        assert_eq!(ls[0].note.as_deref(), Some("from preset"));
    }

    #[test]
    fn one_log_source_lives_in_one_file() {
        let s = spec(BASE);
        let f = files(&[
            ("logsources/a.yaml", "- match: {product: x}\n  table: T1\n"),
            ("logsources/b.yaml", "- match: {PRODUCT: X}\n  table: T2\n"),
        ]);
        let e = logsources("t", &f, &s).unwrap_err();
        assert!(
            e.message.contains("also declared in logsources/a.yaml"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_preset_and_unknown_key_are_named() {
        let s = spec(BASE);
        let f = files(&[("logsources/a.yaml", "- match: {product: x}\n  use: [q]\n")]);
        let e = logsources("t", &f, &s).unwrap_err();
        assert!(
            e.message.contains("unknown preset `q`") && e.message.contains("p"),
            "{}",
            e.message
        );
        let f = files(&[("logsources/a.yaml", "- match: {product: x}\n  tabel: T\n")]);
        let e = logsources("t", &f, &s).unwrap_err();
        assert!(e.message.contains("unknown field `tabel`"), "{}", e.message);
    }

    #[test]
    fn macros_are_defined_once_and_every_named_macro_exists() {
        let s = spec(BASE);
        let ok = files(&[
            (
                "logsources/a.yaml",
                "- match: {product: a}\n  constraint: '`m_a` x=1'\n  macros: {m_a: 'sourcetype=a'}\n",
            ),
            (
                "logsources/b.yaml",
                "- match: {product: b}\n  constraint: '`m_a`'\n  also: [{constraint: '`m_b`'}]\n  macros: {m_a: 'sourcetype=a', m_b: 'sourcetype=b'}\n",
            ),
        ]);
        let ls = logsources("t", &ok, &s).unwrap();
        assert_eq!(ls[1].macros["m_b"], "sourcetype=b");
        let undefined = files(&[(
            "logsources/a.yaml",
            "- match: {product: a}\n  also: [{constraint: '`m_c` y=2'}]\n",
        )]);
        let e = logsources("t", &undefined, &s).unwrap_err();
        assert!(
            e.message
                .contains("names the macro `m_c`, which no entry defines"),
            "{}",
            e.message
        );
        let twice = files(&[
            (
                "logsources/a.yaml",
                "- match: {product: a}\n  macros: {m: 'x=1'}\n",
            ),
            (
                "logsources/b.yaml",
                "- match: {product: b}\n  macros: {m: 'x=2'}\n",
            ),
        ]);
        let e = logsources("t", &twice, &s).unwrap_err();
        assert!(
            e.message.contains("macro `m`") && e.message.contains("logsources/a.yaml"),
            "{}",
            e.message
        );
        let unpaired = files(&[(
            "logsources/a.yaml",
            "- match: {product: a}\n  constraint: '`m x=1'\n",
        )]);
        let e = logsources("t", &unpaired, &s).unwrap_err();
        assert!(e.message.contains("unpaired backtick"), "{}", e.message);
    }

    #[test]
    fn schema_files_merge_and_duplicates_are_refused() {
        let s = spec(BASE);
        let f = files(&[
            ("schema/A.yaml", "A: {x: string}\n"),
            ("schema/B.yaml", "B: {y: long}\n"),
        ]);
        let t = tables("t", &f, &s).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t["B"]["y"], "long");
        let f = files(&[
            ("schema/A.yaml", "A: {x: string}\n"),
            ("schema/Z.yaml", "A: {}\n"),
        ]);
        let e = tables("t", &f, &s).unwrap_err();
        assert!(
            e.message.contains("also declared in schema/A.yaml"),
            "{}",
            e.message
        );
    }
}
