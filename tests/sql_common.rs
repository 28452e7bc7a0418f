//! The differential check of the SQL targets (included with `#[path]` by tests/sql_*.rs): the
//! SigmaHQ regression events (JSON and EVTX, read by detc's own readers and prepared by its
//! engine) are loaded into one table per log source of the layout docs/TARGETS.md describes,
//! every compiled query runs on the real engine (tests/sql/run.py), and the rows each returns
//! must be exactly the events `detc match` reports for that rule.
#![allow(dead_code)]

#[path = "common/skip.rs"]
mod skip;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use detc::diag::Sources;
use detc::eval::engine::{Engine, EngineOptions};
use detc::eval::event::{Event, Val};
use detc::eval::logsource::Class;
use detc::ir::norm::{normalize, Expr, NormOptions};
use detc::ir::{LogSource, Rule};
use detc::target::{load_spec_target, Backend, Ctx, Outcome};
use serde_json::{json, Map, Value};

pub fn shared(sub: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(sub);
    if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared").join(sub)
    }
}

/// The Python to run tests/sql/run.py with: `DETC_SQL_PYTHON`, else `python3`; `None` (with a
/// visible NOT RUN note) when it cannot import `module`, unless `DETC_SQL_CHECK=1` (CI), which
/// makes a missing engine a failure.
pub fn python_with(module: &str, suite: &str) -> Option<String> {
    let py = std::env::var("DETC_SQL_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var("DETC_SQL_CHECK").as_deref() != Ok("1"),
        "DETC_SQL_CHECK=1 but `{py}` cannot import {module}"
    );
    skip::skipped(
        suite,
        &format!("`{py}` cannot import {module}"),
        &format!("set DETC_SQL_PYTHON to a Python with `{module}` (pip install duckdb pyspark)"),
    );
    None
}

/// The text a table column holds for one value (docs/TARGETS.md, "SQL targets").
fn cell(v: &Val) -> Value {
    match v {
        Val::Str { raw, .. } => Value::String(raw.to_string()),
        Val::Num { text, .. } => Value::String(text.to_string()),
        Val::Bool(b) => Value::String(b.to_string()),
        Val::Null => Value::Null,
    }
}

/// One row: every single-valued field, plus `raw` (the text of every string and number value).
/// `None` for an event with a list-valued field, which the scalar layout cannot hold.
fn row(id: usize, e: &Event) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    let mut raw = Vec::new();
    for (name, vals) in &e.fields {
        if vals.len() != 1 {
            return None;
        }
        for v in vals {
            if matches!(v, Val::Str { .. } | Val::Num { .. }) {
                raw.push(cell(v));
            }
        }
        m.insert(name.to_string(), cell(&vals[0]));
    }
    m.insert("raw".into(), Value::Array(raw));
    m.insert("detc_id".into(), json!(id));
    Some(m)
}

/// The row of a table whose log source has JSON columns (docs/TARGETS.md, "SQL targets"):
/// the fields under each JSON column `a` (`a`, `a.b`, `a.b.c`) become one JSON value, each
/// dot one level, the rest stay as in the flat row. `None` when they do not make one value
/// (`a.b` a scalar and `a.b.c` present), or a number is not written the way DuckDB writes
/// it back (json_extract_string gives `1.5` for `1.50`; json_number), which the layout
/// cannot keep apart from the value's text.
fn json_row(flat: &Map<String, Value>, ev: &Event, json: &[String]) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut objs: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, v) in flat {
        let top = name.split('.').next().unwrap_or(name);
        if !json.iter().any(|j| j == top) {
            out.insert(name.clone(), v.clone());
        }
    }
    for (name, vals) in &ev.fields {
        let mut keys = name.split('.');
        let top = keys.next().unwrap_or(name);
        let Some(top) = json.iter().find(|j| *j == top) else {
            continue;
        };
        let leaf = match &vals[0] {
            Val::Str { raw, .. } => Value::String(raw.to_string()),
            Val::Num { text, .. } => json_number(text)?,
            Val::Bool(b) => Value::Bool(*b),
            Val::Null => Value::Null,
        };
        let rest: Vec<&str> = keys.collect();
        if rest.is_empty() {
            if objs.insert(top.as_str(), leaf).is_some() {
                return None;
            }
            continue;
        }
        let mut slot = objs.entry(top.as_str()).or_insert_with(|| json!({}));
        for (i, k) in rest.iter().enumerate() {
            let obj = slot.as_object_mut()?;
            if i + 1 == rest.len() {
                if obj.insert(k.to_string(), leaf.clone()).is_some() {
                    return None;
                }
                break;
            }
            slot = obj.entry(k.to_string()).or_insert_with(|| json!({}));
        }
    }
    for (top, v) in objs {
        out.insert(top.to_string(), Value::String(v.to_string()));
    }
    Some(out)
}

/// A number's text as a JSON number, when DuckDB's json_extract_string gives that text back:
/// an integer in its shortest form, or a fraction written as its shortest round-trip
/// decimal without exponent in the range where DuckDB writes no exponent either (checked on
/// DuckDB 2.0.1: `40.3157`, `0.000001` back as written; `1.50`, `1e3`, `0.0000001` not).
fn json_number(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<i64>() {
        return (n.to_string() == text).then(|| json!(n));
    }
    let f: f64 = text.parse().ok()?;
    let plain = (1e-6..1e15).contains(&f.abs()) && f.fract() != 0.0 && format!("{f}") == text;
    plain.then(|| json!(f))
}

/// The row of a table whose log source has JSON columns, built from the event's source JSON
/// (docs/TARGETS.md, "JSON columns"): each JSON column holds the value's JSON text, the other
/// fields are the event's single-valued ones. `None` when a field a rule of the table reads
/// (`reads`) holds what the layout cannot: a list-valued flat field, an array on a JSON path
/// that is not one of the log source's `json_arrays` (`holds`), a key with a dot on the path,
/// or a number the engine writes back differently (json_number).
fn source_row(
    id: usize,
    ev: &Event,
    src: &Map<String, Value>,
    json: &[String],
    arrays: &[String],
    reads: &BTreeSet<String>,
) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut raw = Vec::new();
    for (name, vals) in &ev.fields {
        for v in vals {
            if matches!(v, Val::Str { .. } | Val::Num { .. }) {
                raw.push(cell(v));
            }
        }
        let top = name.split('.').next().unwrap_or(name);
        if json.iter().any(|j| j == top) {
            continue;
        }
        if vals.len() == 1 {
            out.insert(name.to_string(), cell(&vals[0]));
        } else if reads.contains(name.as_ref() as &str) {
            return None;
        }
    }
    for j in json {
        let Some(v) = src.get(j) else {
            // A column the reader derives (GCP's `gcp.audit.method_name`): from its fields.
            let under = |n: &str| n.split('.').next() == Some(j.as_str());
            if ev.fields.iter().any(|(n, vs)| under(n) && vs.len() != 1) {
                return None;
            }
            out.extend(json_row(&Map::new(), ev, std::slice::from_ref(j))?);
            continue;
        };
        for f in reads {
            let mut keys = f.split('.');
            if keys.next() != Some(j.as_str()) {
                continue;
            }
            let keys: Vec<&str> = keys.collect();
            if !holds(v, j, &keys, arrays) {
                return None;
            }
        }
        out.insert(j.clone(), Value::String(v.to_string()));
    }
    out.insert("raw".into(), Value::Array(raw));
    out.insert("detc_id".into(), json!(id));
    Some(out)
}

/// Whether the layout reads the field `prefix.keys...` of `v` (the value at `prefix`) as
/// `detc match` does: through declared arrays (`arrays`: every element, a non-array as one),
/// with no other array on the path or at the end, and a number at the end the engine gives
/// back as written. A declared array read itself must hold scalars only (`detc match` reads
/// an object element as JSON text, which the engine spells its own way).
fn holds(v: &Value, prefix: &str, keys: &[&str], arrays: &[String]) -> bool {
    let number_ok = |x: &Value| match x {
        Value::Number(n) => json_number(&n.to_string()).is_some(),
        _ => true,
    };
    if arrays.iter().any(|a| a == prefix) {
        let items: Vec<&Value> = match v {
            Value::Array(xs) => xs.iter().collect(),
            other => vec![other],
        };
        if keys.is_empty() {
            return items
                .iter()
                .all(|x| !x.is_object() && !x.is_array() && number_ok(x));
        }
        return items.iter().all(|x| step(x, prefix, keys, arrays));
    }
    if v.is_array() {
        return false;
    }
    if keys.is_empty() {
        return number_ok(v);
    }
    step(v, prefix, keys, arrays)
}

/// `holds` one level down: `v` is an object (or an element of a declared array).
fn step(v: &Value, prefix: &str, keys: &[&str], arrays: &[String]) -> bool {
    // Anything else (a scalar, an array inside an array): no value on either side.
    let Value::Object(m) = v else { return true };
    // `{"b.c": 1}` is `b.c` for detc match but not the path `$.b.c`.
    let rest = keys.join(".");
    if m.keys()
        .any(|k| k.contains('.') && (rest == *k || rest.starts_with(&format!("{k}."))))
    {
        return false;
    }
    match m.get(keys[0]) {
        None => true,
        Some(x) => holds(x, &format!("{prefix}.{}", keys[0]), &keys[1..], arrays),
    }
}

/// What one differential run compared.
#[derive(Debug, Default)]
pub struct Report {
    pub queries: usize,
    pub tables: usize,
    pub events: usize,
    /// Events left out: a list-valued field (the layout is scalar).
    pub list_events: usize,
    /// Events left out of a table with JSON columns: a field a rule of the table reads is one
    /// the layout cannot hold (source_row: an array on its path that is not declared, ...),
    /// or, without the event's JSON, their fields under a JSON column do not make one JSON
    /// value (`a` and `a.b` both present) or hold a number whose text the engine would not
    /// give back as written (json_row).
    pub json_excluded: usize,
    /// Rules left out: they read a field whose name equals another's but for case, which a
    /// case-insensitive engine reads as one column.
    pub case_excluded: Vec<String>,
    /// Rows in all tables (an event is in the table of every log source it belongs to).
    pub rows: usize,
    /// (query, event) pairs decided, i.e. rows the queries were run over.
    pub compared: usize,
    pub matches: usize,
    pub disagreements: Vec<String>,
    pub errors: Vec<String>,
    pub seconds: f64,
}

/// JSON event objects as the engine reads them, each with the log sources it belongs to.
pub fn prepare_json(engine: &Engine, values: &[Value]) -> Vec<(Event, Class)> {
    values
        .iter()
        .map(|v| {
            let mut ev = Event::from_json_map(v.as_object().expect("a JSON object event"));
            let class = engine.prepare(&mut ev);
            (ev, class)
        })
        .collect()
}

/// Load the corpus rules with their normalised conditions.
pub fn corpus() -> (Vec<Rule>, Vec<Option<Expr>>) {
    let mut sources = Sources::new();
    let (rules, _) = detc::pack::load::load_rules(&[shared("sigmahq/rules")], &mut sources);
    let exprs = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    (rules, exprs)
}

/// Every event of the regression data (JSON and EVTX files), prepared by the engine.
pub fn regression_events(engine: &Engine) -> Vec<(Event, Class)> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![shared("sigmahq/regression_data/rules")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json" || x == "evtx") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        detc::eval::read::read_file(&f, &mut |rec| {
            let mut ev = rec.event;
            let class = engine.prepare(&mut ev);
            out.push((ev, class));
        });
    }
    out
}

/// Run the differential check of target `target` on `engine_name` (`duckdb` or `spark`) over
/// `events` for `rules`: tables per log source, every compiled query, rows compared with the
/// evaluator's matches.
/// The events of a differential run: as detc reads them and, where they were JSON, as JSON
/// (for the tables with JSON columns: `source_row`).
pub struct Events<'a> {
    pub events: &'a [(Event, Class)],
    pub sources: Option<&'a [Value]>,
}

pub fn differential(
    py: &str,
    engine_name: &str,
    target: &str,
    rules: &[Rule],
    exprs: &[Option<Expr>],
    events: Events,
    engine: &Engine,
) -> Report {
    let Events { events, sources } = events;
    // DuckDB reads identifiers case-insensitively; the Spark session is case-sensitive.
    let case_insensitive = engine_name == "duckdb";
    // One folder per run: tests of one process may run at once over the same rules.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let work = std::env::temp_dir().join(format!(
        "detc-sql-{engine_name}-{}-{}-{}",
        std::process::id(),
        rules.len(),
        RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&work).unwrap();
    let backend = load_spec_target(target, None).expect("target loads");
    let cx = Ctx { rules, exprs };
    let mut report = Report {
        events: events.len(),
        ..Report::default()
    };
    // table -> (log source, columns, rule indexes)
    let mut tables: BTreeMap<String, (LogSource, BTreeSet<String>, Vec<usize>)> = BTreeMap::new();
    // table -> the log source's JSON columns (sql-duckdb's `json_columns`)
    let mut json_cols: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // table -> the log source's declared JSON arrays (`json_arrays`)
    let mut json_arrs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queries = Vec::new();
    for i in 0..rules.len() {
        let Outcome::Compiled(c) = backend.compile(i, &cx) else {
            continue;
        };
        let Some(ls) = c.logsource else { continue };
        let table = backend
            .entry(ls)
            .table
            .clone()
            .expect("every SQL log source has a table");
        json_cols.insert(table.clone(), backend.entry(ls).json_columns.clone());
        json_arrs.insert(table.clone(), backend.entry(ls).json_arrays.clone());
        let entry = tables
            .entry(table.clone())
            .or_insert_with(|| (rules[i].logsource.clone(), BTreeSet::new(), Vec::new()));
        if let Some(e) = &exprs[i] {
            entry.1.extend(detc::target::render::condition_reads(e).0);
        }
        entry.2.push(i);
        queries.push(json!({"rule": i, "name": rules[i].name, "table": table, "sql": c.query}));
    }
    report.tables = tables.len();
    // The evaluator's matches: rule -> event ids.
    let mut expected: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut scratch = engine.scratch();
    let mut hits = Vec::new();
    let mut rows: Vec<Option<Map<String, Value>>> = Vec::with_capacity(events.len());
    for (id, (ev, class)) in events.iter().enumerate() {
        engine.matches(ev, class, &mut scratch, &mut hits);
        for &h in &hits {
            expected.entry(h).or_default().insert(id);
        }
        let r = row(id, ev);
        report.list_events += usize::from(r.is_none());
        rows.push(r);
    }
    let mut manifest_tables = Map::new();
    let mut in_table: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut excluded: BTreeSet<usize> = BTreeSet::new();
    for (table, (ls, cols, idx)) in &mut tables {
        let members = in_table.entry(table.clone()).or_default();
        let mut event_cols: BTreeSet<String> = BTreeSet::new();
        let json = &json_cols[table];
        // This table's rows: the flat ones, or with the JSON columns built (json_row).
        let mut table_rows: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
        for (id, (ev, class)) in events.iter().enumerate() {
            let serves = match class {
                Class::Unknown => true,
                Class::Sources(ids) => ids
                    .iter()
                    .any(|&s| engine.logsources.sources[s].provides.serves(ls)),
            };
            if !serves {
                continue;
            }
            let src = sources.and_then(|s| s[id].as_object());
            let r = match src {
                // From the source JSON: arrays under the declared paths are kept.
                Some(src) if !json.is_empty() => {
                    source_row(id, ev, src, json, &json_arrs[table], cols)
                }
                _ => {
                    let Some(flat) = rows[id].as_ref() else {
                        continue;
                    };
                    if json.is_empty() {
                        Some(flat.clone())
                    } else {
                        json_row(flat, ev, json)
                    }
                }
            };
            let Some(r) = r else {
                report.json_excluded += 1;
                continue;
            };
            members.insert(id);
            event_cols.extend(r.keys().filter(|k| *k != "raw" && *k != "detc_id").cloned());
            table_rows.insert(id, r);
        }
        // The rules read a JSON column by its name (`a` for `a.b.c`).
        *cols = cols
            .iter()
            .map(|c| {
                let top = c.split('.').next().unwrap_or(c);
                if json.iter().any(|j| j == top) {
                    top.to_string()
                } else {
                    c.clone()
                }
            })
            .collect();
        if case_insensitive {
            // Names equal but for case are one column to the engine: keep one spelling (the
            // events' first), and leave out the rules that read another spelling, whose
            // meaning the engine cannot keep apart (docs/TARGETS.md, "SQL targets").
            let mut by_lower: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for c in cols.iter().chain(&event_cols) {
                let v = by_lower.entry(c.to_lowercase()).or_default();
                if !v.contains(c) {
                    v.push(c.clone());
                }
            }
            for names in by_lower.values().filter(|v| v.len() > 1) {
                let keep = names
                    .iter()
                    .find(|n| event_cols.contains(*n))
                    .unwrap_or(&names[0])
                    .clone();
                // Only data decides: a spelling no event has reads an empty column either way.
                if event_cols.contains(&keep) {
                    for &i in idx.iter() {
                        let reads = exprs[i]
                            .as_ref()
                            .map(|e| detc::target::render::condition_reads(e).0)
                            .unwrap_or_default();
                        if reads.iter().any(|f| names.contains(f) && *f != keep) {
                            excluded.insert(i);
                        }
                    }
                }
                for n in names.iter().filter(|n| **n != keep) {
                    cols.remove(n);
                    event_cols.remove(n);
                }
            }
        }
        cols.extend(event_cols);
        let path = work.join(format!("{table}.ndjson"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for &id in members.iter() {
            serde_json::to_writer(&mut f, &table_rows[&id]).unwrap();
            f.write_all(b"\n").unwrap();
        }
        report.rows += members.len();
        manifest_tables.insert(
            table.clone(),
            json!({"file": path, "columns": cols.iter().collect::<Vec<_>>(), "json": json}),
        );
    }
    for (_, _, idx) in tables.values_mut() {
        idx.retain(|i| !excluded.contains(i));
    }
    queries.retain(|q| !excluded.contains(&(q["rule"].as_u64().unwrap() as usize)));
    report.queries = queries.len();
    report.case_excluded = excluded.iter().map(|&i| rules[i].name.clone()).collect();
    let manifest = json!({"engine": engine_name, "tables": manifest_tables, "queries": queries});
    let mpath = work.join("manifest.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/run.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(&mpath)
        .output()
        .expect("run tests/sql/run.py");
    assert!(
        out.status.success(),
        "tests/sql/run.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("run.py prints JSON");
    // DETC_SQL_KEEP=1 keeps the tables and the manifest, to rerun tests/sql/run.py by hand.
    if std::env::var("DETC_SQL_KEEP").as_deref() != Ok("1") {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("kept {}", work.display());
    }
    report.seconds = result["seconds"].as_f64().unwrap_or(0.0);
    for e in result["errors"].as_array().into_iter().flatten() {
        report.errors.push(e.to_string());
    }
    for (table, (_, _, idx)) in &tables {
        let members = &in_table[table];
        for &i in idx {
            report.compared += members.len();
            let got: BTreeSet<usize> = result["rows"][i.to_string()]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64().map(|n| n as usize))
                        .collect()
                })
                .unwrap_or_default();
            // Events left out of the tables (list-valued fields) are not compared.
            let want: BTreeSet<usize> = expected
                .get(&i)
                .map(|s| s.intersection(members).copied().collect())
                .unwrap_or_default();
            report.matches += want.len();
            if result["rows"].get(i.to_string()).is_none() {
                continue; // an error, reported above
            }
            if got != want {
                let extra: Vec<_> = got.difference(&want).collect();
                let missing: Vec<_> = want.difference(&got).collect();
                report.disagreements.push(format!(
                    "{} ({table}): SQL also returns events {extra:?}, misses {missing:?}",
                    rules[i].name
                ));
            }
        }
    }
    report
}

/// The whole corpus check for one target and engine; prints the figures.
pub fn corpus_differential(py: &str, engine_name: &str, target: &str) -> Report {
    let (rules, exprs) = corpus();
    assert!(rules.len() > 3000, "SigmaHQ corpus: {} rules", rules.len());
    let (engine, _) = Engine::new(&rules, &EngineOptions::default());
    let events = regression_events(&engine);
    assert!(events.len() > 400, "{} regression events", events.len());
    let r = differential(
        py,
        engine_name,
        target,
        &rules,
        &exprs,
        Events {
            events: &events,
            sources: None,
        },
        &engine,
    );
    eprintln!(
        "{target} on {engine_name}: {} queries over {} tables ({} rows from {} events, {} left out for list-valued fields, {} (table, event) pairs for JSON columns; {} rules left out for field names equal but for case: {:?}); {} (query, row) pairs compared, {} matches; {} disagreements, {} errors; engine time {:.1} s",
        r.queries,
        r.tables,
        r.rows,
        r.events,
        r.list_events,
        r.json_excluded,
        r.case_excluded.len(),
        r.case_excluded,
        r.compared,
        r.matches,
        r.disagreements.len(),
        r.errors.len(),
        r.seconds
    );
    r
}

/// Detections exercising every modifier and matcher kind on `CommandLine` (and `Image`,
/// `User`, `a.b` for field references and dotted names); each also runs negated.
const GENERATED: &[(&str, &str)] = &[
    ("eq", "CommandLine: abc"),
    ("eq_empty", "CommandLine: ''"),
    ("eq_quote", "CommandLine: \"a'b\""),
    ("eq_percent", "CommandLine: a%b"),
    ("eq_underscore", "CommandLine: a_b"),
    ("eq_backslash", "CommandLine: 'a\\b'"),
    ("eq_escaped_star", "CommandLine: 'a\\*b'"),
    ("eq_escaped_qmark", "CommandLine: 'a\\?b'"),
    ("eq_unicode", "CommandLine: İstanbul"),
    ("eq_eszett", "CommandLine: ß"),
    ("eq_number", "CommandLine: 12"),
    ("eq_bool", "CommandLine: true"),
    ("eq_list", "CommandLine: [abc, 'a%b', '12']"),
    ("contains", "CommandLine|contains: b"),
    ("contains_all", "CommandLine|contains|all: [a, c]"),
    ("contains_percent", "CommandLine|contains: '%'"),
    ("contains_newline", "CommandLine|contains: \"x\\ny\""),
    ("startswith", "CommandLine|startswith: a"),
    ("endswith", "CommandLine|endswith: c"),
    ("endswith_path", "CommandLine|endswith: '\\cmd.exe'"),
    ("cased", "CommandLine|cased: aBc"),
    ("contains_cased", "CommandLine|contains|cased: B"),
    ("startswith_cased", "CommandLine|startswith|cased: A"),
    ("endswith_cased", "CommandLine|endswith|cased: C"),
    ("wildcard_star", "CommandLine: 'a*c'"),
    ("wildcard_qmark", "CommandLine: 'a?c'"),
    ("wildcard_mixed", "CommandLine: '*a?b*'"),
    ("wildcard_cased", "CommandLine|cased: 'A*'"),
    ("wildcard_newline", "CommandLine: 'x*y'"),
    ("wildcard_end", "CommandLine: 'ab?'"),
    ("re", "CommandLine|re: 'b.'"),
    ("re_anchored", "CommandLine|re: '^abc$'"),
    ("re_dollar", "CommandLine|re: 'c$'"),
    ("re_i", "CommandLine|re|i: '^ABC$'"),
    ("re_m", "CommandLine|re|m: '^y$'"),
    ("re_s", "CommandLine|re|s: 'x.y'"),
    ("re_dot", "CommandLine|re: 'x.y'"),
    ("re_digit", "CommandLine|re: '^\\d+$'"),
    ("re_word", "CommandLine|re: '^\\w+$'"),
    ("re_space", "CommandLine|re: '\\s'"),
    ("re_class_dollar", "CommandLine|re: '[$]'"),
    ("re_unicode_i", "CommandLine|re|i: 'ä'"),
    ("re_not_digit", "CommandLine|re: '^\\D+$'"),
    ("re_not_word", "CommandLine|re: '\\W'"),
    ("re_not_space", "CommandLine|re: '^\\S+$'"),
    ("re_space_set", "CommandLine|re: '^a[\\s]b$'"),
    ("re_word_set", "CommandLine|re: '^[\\w.]+$'"),
    ("re_boundary", "CommandLine|re: '\\bb'"),
    ("re_not_boundary", "CommandLine|re: 'x\\B'"),
    ("re_i_word", "CommandLine|re|i: '^\\w+$'"),
    ("re_i_word_set", "CommandLine|re|i: '^[\\w.]+$'"),
    ("re_i_not_word", "CommandLine|re|i: '\\W'"),
    ("re_i_kelvin", "CommandLine|re|i: '^k$'"),
    ("re_i_boundary", "CommandLine|re|i: '\\bk'"),
    ("eq_sigma", "CommandLine: ΟΔΟΣ"),
    ("contains_final_sigma", "CommandLine|contains: ος"),
    ("wildcard_sigma", "CommandLine: 'ο?ο*'"),
    ("wildcard_dotted_i", "CommandLine: '?stanbul'"),
    ("keyword_sigma", "'δοσ'"),
    ("cidr4", "CommandLine|cidr: 10.0.0.0/8"),
    ("cidr4_24", "CommandLine|cidr: 192.168.1.0/24"),
    ("cidr6", "CommandLine|cidr: 'fe80::/10'"),
    ("gt", "CommandLine|gt: 5"),
    ("gte", "CommandLine|gte: 12"),
    ("lt", "CommandLine|lt: 0"),
    ("lte", "CommandLine|lte: 1.5"),
    ("null", "CommandLine: null"),
    ("exists", "CommandLine|exists: true"),
    ("not_exists", "CommandLine|exists: false"),
    ("fieldref", "CommandLine|fieldref: Image"),
    ("fieldref_contains", "CommandLine|fieldref|contains: User"),
    (
        "fieldref_startswith",
        "CommandLine|fieldref|startswith: User",
    ),
    ("fieldref_endswith", "CommandLine|fieldref|endswith: User"),
    ("fieldref_cased", "CommandLine|fieldref|cased: Image"),
    ("dotted", "a.b: abc"),
    ("windash", "CommandLine|windash|contains: ' -x'"),
    ("base64offset", "CommandLine|base64offset|contains: abc"),
    ("utf16", "CommandLine|utf16le|base64: ab"),
    ("keyword", "'b'"),
    ("keyword_cased", "'|cased': B"),
    ("keyword_wildcard", "'a?c'"),
    ("keyword_number", "'12'"),
];

/// Values crossing case, escaping, null/empty, number, address and line-break edges.
fn generated_values() -> Vec<Value> {
    let mut v: Vec<Value> = [
        "",
        "abc",
        "ABC",
        "aBc",
        "a%b",
        "a_b",
        "a\\b",
        "a'b",
        "a*b",
        "a?b",
        "axb",
        "x\ny",
        "abc\n",
        "x\nabc",
        "İstanbul",
        "istanbul",
        "i̇stanbul",
        "ß",
        "SS",
        "ÄBC",
        "äbc",
        " 12 ",
        "12",
        "1e3",
        "-3.5",
        "0x10",
        "1.5",
        "5",
        "true",
        "FALSE",
        "10.1.2.3",
        "10.1.2.3 ",
        "010.1.2.3",
        "192.168.1.1",
        "192.168.2.1",
        "::1",
        "fe80::1",
        "FE80::1",
        "C:\\Windows\\System32\\cmd.exe",
        "cmd.EXE",
        "😀",
        "a b",
        "a\tb",
        "٣",
        "٣x٣",
        "ΟΔΟΣ",
        "οδοσ",
        "οδος",
        "ſ",
        "\u{212A}",
        "k\u{212A}",
        "a\u{B}b",
        "a\u{A0}b",
        "éb",
        "xé",
        "xa",
        "\u{3000}12\u{2003}",
        "abcé",
        "$",
        "a -x",
        "a /x",
        "a –x",
        "YWJj",
        "YQBiAA==",
        "xYWJjx",
        "B",
        "b",
        "c",
        "C",
    ]
    .iter()
    .map(|s| json!(s))
    .collect();
    v.extend([
        json!(12),
        json!(1.5),
        json!(-3),
        json!(true),
        json!(false),
        Value::Null,
    ]);
    v
}

/// Rules of [`GENERATED`] (each plain and negated) and events pairing the values over the
/// fields they read (an absent field too).
pub fn generated() -> (Vec<Rule>, Vec<Option<Expr>>, Vec<Value>) {
    let mut rules = Vec::new();
    for (i, (name, sel)) in GENERATED.iter().enumerate() {
        let keyword = !sel.contains(": ") || sel.starts_with("'|");
        for neg in [false, true] {
            let cond = if neg { "not sel" } else { "sel" };
            let det = if keyword && !sel.starts_with("'|") {
                format!("sel:\n    - {sel}")
            } else if keyword {
                // A cased keyword: the `|cased` modifier on a field-less list.
                "sel:\n    '|cased':\n      - B".to_string()
            } else {
                format!("sel:\n    {sel}")
            };
            let text = format!(
                "title: {name}\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  {det}\n  condition: {cond}\n"
            );
            let stem = format!("gen_{name}{}", if neg { "_not" } else { "" });
            let (rs, diags) = detc::sigma::read_named(detc::diag::SourceId(i as u32), &text, &stem);
            let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{stem}: {errors:?}\n{text}");
            rules.extend(rs);
        }
    }
    let exprs = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    let vals = generated_values();
    let n = vals.len();
    let mut events = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        for (k, j) in [(0, i), (1, (i + 1) % n), (2, (i * 7 + 3) % n)] {
            let mut m = Map::new();
            m.insert("CommandLine".into(), v.clone());
            if k != 2 {
                m.insert("Image".into(), vals[j].clone());
            }
            m.insert("User".into(), vals[(j + k) % n].clone());
            m.insert("a".into(), json!({"b": vals[(i + 2 * k) % n].clone()}));
            events.push(Value::Object(m));
        }
    }
    // A missing CommandLine, and an event where Image equals CommandLine but for case.
    events.push(json!({"Image": "abc", "User": "b"}));
    events.push(json!({"CommandLine": "ABC", "Image": "abc", "User": "BC"}));
    (rules, exprs, events)
}

/// `rules` over JSON event objects on one engine (the tables with JSON columns built from
/// the objects themselves).
fn json_differential(
    py: &str,
    engine_name: &str,
    target: &str,
    rules: &[Rule],
    exprs: &[Option<Expr>],
    values: &[Value],
) -> Report {
    let (engine, _) = Engine::new(rules, &EngineOptions::default());
    let events = prepare_json(&engine, values);
    let sources = Events {
        events: &events,
        sources: Some(values),
    };
    differential(py, engine_name, target, rules, exprs, sources, &engine)
}

/// The generated rules over the generated events, on one engine.
pub fn generated_differential(py: &str, engine_name: &str, target: &str) -> Report {
    let (rules, exprs, values) = generated();
    let r = json_differential(py, engine_name, target, &rules, &exprs, &values);
    eprintln!(
        "{target} on {engine_name}, generated: {} of {} rules compiled, {} events, {} (query, row) pairs, {} matches; {} disagreements, {} errors",
        r.queries,
        rules.len(),
        r.events,
        r.compared,
        r.matches,
        r.disagreements.len(),
        r.errors.len()
    );
    r
}

/// The corpus run on `engine` agreed exactly with `detc match`: enough queries and matches
/// compared, no query refused, no disagreement.
pub fn assert_exact(r: &Report, engine: &str) {
    assert!(r.queries > 3000, "{} queries", r.queries);
    assert!(r.matches > 300, "only {} matches compared", r.matches);
    assert_agree(r, engine);
}

/// No query refused by `engine` and every row it returned (or left out) is what `detc match`
/// says for that rule and event.
pub fn assert_agree(r: &Report, engine: &str) {
    assert!(
        r.errors.is_empty(),
        "queries {engine} refused:\n{}",
        r.errors.join("\n")
    );
    assert!(
        r.disagreements.is_empty(),
        "{} disagreements with detc match on {engine}:\n{}",
        r.disagreements.len(),
        r.disagreements.join("\n")
    );
}

// ---------------------------------------------------------------- correlations

/// Base rules over two log sources (two tables), one of them overlapping the others (an event
/// matching `step_a` or `step_b` also matches `step_any`), and correlations of every type and
/// condition operator: one or two group-by fields or none, aliases across tables, a
/// `value_count` field, timespans from 30 s to 1 h.
pub const CORRELATION_RULES: &str = r#"
rule step_a {
  title "a"
  logsource product=windows category=process_creation
  sel = CommandLine "run_a"
  condition sel
}
rule step_b {
  title "b"
  logsource product=windows category=process_creation
  sel = CommandLine "run_b"
  condition sel
}
rule step_any {
  title "any step"
  logsource product=windows category=process_creation
  sel = CommandLine startswith "run_"
  condition sel
}
rule step_c {
  title "c"
  logsource product=windows category=network_connection
  sel = DestinationHostname "c2.example"
  condition sel
}
correlation count_gte {
  title "count_gte"
  type event_count
  rules step_a step_b
  group-by Computer
  timespan 10m
  condition gte 3
}
correlation count_lt {
  title "count_lt"
  type event_count
  rules step_a
  group-by Computer
  timespan 1m
  condition lt 2
}
correlation count_eq {
  title "count_eq"
  type event_count
  rules step_any
  group-by Computer ParentImage
  timespan 5m
  condition eq 2
}
correlation count_range {
  title "count_range"
  type event_count
  rules step_a step_c
  timespan 2m
  condition gt 1 lte 3
}
correlation count_lte_hosts {
  title "count_lte_hosts"
  type event_count
  rules step_b step_c
  group-by host
  timespan 30s
  condition lte 1
  alias host { step_b: Computer, step_c: SourceHostname }
}
correlation values_gte {
  title "values_gte"
  type value_count
  rules step_a step_b
  group-by Computer
  timespan 10m
  condition gte 2 field User
}
correlation values_range {
  title "values_range"
  type value_count
  rules step_any step_c
  group-by host
  timespan 1h
  condition gt 1 lt 4 field User
  alias host { step_any: Computer, step_c: SourceHostname }
}
correlation values_eq_all {
  title "values_eq_all"
  type value_count
  rules step_b
  timespan 5m
  condition eq 3 field User
}
correlation all_three {
  title "all_three"
  type temporal
  rules step_a step_b step_c
  group-by host
  timespan 10m
  alias host { step_a: Computer, step_b: Computer, step_c: SourceHostname }
}
correlation overlap_all {
  title "overlap_all"
  type temporal
  rules step_a step_any
  timespan 5m
}
correlation seq_three {
  title "seq_three"
  type temporal_ordered
  rules step_a step_b step_c
  group-by host
  timespan 10m
  alias host { step_a: Computer, step_b: Computer, step_c: SourceHostname }
}
correlation seq_two_keys {
  title "seq_two_keys"
  type temporal_ordered
  rules step_a step_b
  group-by Computer ParentImage
  timespan 5m
}
correlation seq_overlap {
  title "seq_overlap"
  type temporal_ordered
  rules step_any step_b
  group-by Computer
  timespan 5m
}
"#;

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// One generated event: milliseconds after [`T0_MS`], what it is (0 `run_a`, 1 `run_b`,
/// 2 `run_x` (only `step_any`), 3 a connection to c2.example, 4 unrelated), host, parent, user.
type CorrEv = (i64, usize, Value, &'static str, Value);

fn corr_event((t, kind, host, parent, user): &CorrEv) -> Value {
    let mut m = Map::new();
    m.insert("Channel".into(), json!(SYSMON));
    m.insert(
        "@timestamp".into(),
        json!(jiff::Timestamp::from_millisecond(T0_MS + t)
            .unwrap()
            .to_string()),
    );
    let host_field = if *kind == 3 {
        m.insert("EventID".into(), json!(3));
        m.insert("DestinationHostname".into(), json!("c2.example"));
        "SourceHostname"
    } else {
        m.insert("EventID".into(), json!(1));
        let cmd = ["run_a", "run_b", "run_x", "", "notepad"][*kind];
        m.insert("CommandLine".into(), json!(cmd));
        "Computer"
    };
    // `"<absent>"` stands for an absent field (`Value::Null` is a JSON null).
    if *host != json!("<absent>") {
        m.insert(host_field.into(), host.clone());
    }
    m.insert("ParentImage".into(), json!(parent));
    if !user.is_null() {
        m.insert("User".into(), user.clone());
    }
    Value::Object(m)
}

/// Event sequences for the correlations: written ones (bursts at and just over the timespan,
/// a window restarting after a match, ordered and reversed steps, one event matching two
/// rules, empty, absent, null, boolean and numeric group values, events of one millisecond in
/// and against the rules' order), then random ones from a fixed seed, a sixth of them in the
/// millisecond of the event before.
pub fn correlation_events() -> Vec<Value> {
    let h = |s: &str| json!(s);
    let u = |s: &str| json!(s);
    let mut seqs: Vec<Vec<CorrEv>> = vec![
        // Three of a and b within exactly 10 minutes: one window; 1 ms more: none.
        vec![
            (0, 0, h("h1"), "p1", u("u1")),
            (300_000, 1, h("h1"), "p1", u("u2")),
            (600_000, 0, h("h1"), "p1", u("u1")),
        ],
        vec![
            (0, 0, h("h1"), "p1", u("u1")),
            (300_000, 1, h("h1"), "p1", u("u2")),
            (600_001, 0, h("h1"), "p1", u("u1")),
        ],
        // A burst of seven: the window restarts after each match.
        (0..7)
            .map(|i| (i * 1000, (i % 2) as usize, h("h1"), "p1", u("u1")))
            .collect(),
        // In order, reversed, and in order across the two tables.
        vec![
            (0, 0, h("h1"), "p1", u("u1")),
            (1000, 1, h("h1"), "p1", u("u2")),
            (2000, 3, h("h1"), "p1", u("u3")),
        ],
        vec![
            (0, 3, h("h1"), "p1", u("u1")),
            (1000, 1, h("h1"), "p1", u("u2")),
            (2000, 0, h("h1"), "p1", u("u3")),
        ],
        // A started sequence does not outlive a match: a b a c b c.
        vec![
            (0, 0, h("h1"), "p1", u("u1")),
            (10, 1, h("h1"), "p1", u("u1")),
            (20, 0, h("h1"), "p1", u("u1")),
            (30, 3, h("h1"), "p1", u("u1")),
            (40, 1, h("h1"), "p1", u("u1")),
            (50, 3, h("h1"), "p1", u("u1")),
        ],
        // Group values: empty (a group of its own), absent and JSON null (not counted),
        // boolean and number (their text).
        vec![
            (0, 0, h(""), "p1", u("u1")),
            (10, 1, h(""), "p1", u("u2")),
            (20, 0, h(""), "p1", u("u3")),
            (30, 0, json!("<absent>"), "p1", u("u1")),
            (40, 1, json!("<absent>"), "p1", u("u2")),
            (50, 0, json!("<absent>"), "p1", u("u3")),
            (60, 0, Value::Null, "p1", u("u1")),
            (70, 1, Value::Null, "p1", u("u2")),
            (80, 0, Value::Null, "p1", u("u3")),
            (90, 0, json!(true), "p1", u("u1")),
            (100, 1, json!(true), "p1", u("u2")),
            (110, 0, json!(true), "p1", u("u3")),
            (120, 0, json!(7), "p1", json!(1)),
            (130, 1, json!(7), "p1", json!(false)),
            (140, 0, json!(7), "p1", u("")),
        ],
        // One millisecond: b before a in the input, then c; a, b, a; a value twice.
        vec![
            (0, 1, h("h1"), "p1", u("u2")),
            (0, 0, h("h1"), "p1", u("u1")),
            (0, 3, h("h1"), "p1", u("u3")),
        ],
        vec![
            (5, 0, h("h1"), "p1", u("u1")),
            (5, 1, h("h1"), "p1", u("u9")),
            (5, 0, h("h1"), "p1", u("u1")),
            (5, 0, h("h1"), "p1", u("u0")),
        ],
        // Values: missing, empty, repeated.
        vec![
            (0, 0, h("h2"), "p1", Value::Null),
            (10, 1, h("h2"), "p1", u("")),
            (20, 0, h("h2"), "p1", u("")),
            (30, 1, h("h2"), "p1", u("u1")),
        ],
    ];
    // Random sequences (xorshift, fixed seed): 4 hosts (one of them empty), 2 parents, 4 users
    // and an absent one, bursts of milliseconds and gaps of minutes.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..60 {
        let len = 5 + next(40) as usize;
        let mut t = 0i64;
        let mut seq = Vec::new();
        for _ in 0..len {
            t += match (next(6), next(3)) {
                (0, _) => 0,
                (_, 0) => 1 + next(300_000) as i64,
                _ => 1 + next(20_000) as i64,
            };
            let host = ["h1", "h2", "h3", ""][next(4) as usize];
            let user = match next(5) {
                4 => Value::Null,
                k => json!(format!("u{k}")),
            };
            seq.push((
                t,
                next(5) as usize,
                json!(host),
                ["p1", "p2"][next(2) as usize],
                user,
            ));
        }
        seqs.push(seq);
    }
    // The sequences one after another, a day apart (longer than any sequence and timespan),
    // hosts renamed per sequence so that groups never span two of them.
    let mut out = Vec::new();
    for (i, seq) in seqs.into_iter().enumerate() {
        for (t, kind, host, parent, user) in seq {
            let host = match host.as_str() {
                Some(s) if !s.is_empty() && s != "<absent>" => json!(format!("c{i}-{s}")),
                _ => host,
            };
            let base = i as i64 * 86_400_000;
            out.push(corr_event(&(base + t, kind, host, parent, user)));
        }
    }
    out
}

/// One correlation window as compared: group values (in group-by order), first and last
/// time (ms since the epoch), count.
pub type Window = (Vec<String>, i64, i64, u64);

/// What the correlation run compared.
#[derive(Debug, Default)]
pub struct CorrReport {
    pub correlations: usize,
    pub events: usize,
    pub windows: usize,
    /// Windows per correlation (detc match's).
    pub per_correlation: BTreeMap<String, usize>,
    /// Correlation name -> what differs.
    pub disagreements: Vec<String>,
    pub errors: Vec<String>,
    pub seconds: f64,
}

fn ms_of(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|| panic!("a timestamp: {v}"))
}

/// The windows `detc match` (the CLI) reports: correlation name -> windows, sorted.
fn detc_windows(
    rules_text: &str,
    events: &[Value],
    group_by: &BTreeMap<String, Vec<String>>,
    work: &Path,
) -> BTreeMap<String, Vec<Window>> {
    std::fs::write(work.join("rules.det"), rules_text).unwrap();
    let mut ndjson = String::new();
    for e in events {
        ndjson.push_str(&format!("{e}\n"));
    }
    std::fs::write(work.join("events.jsonl"), ndjson).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(["match", "--rules"])
        .arg(work.join("rules.det"))
        .arg("--events")
        .arg(work.join("events.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "detc match: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: BTreeMap<String, Vec<Window>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v.get("correlation").is_none() {
            continue;
        }
        let name = v["rule_name"].as_str().unwrap().to_string();
        let group = group_by[&name]
            .iter()
            .map(|g| v["group"][g].as_str().expect("group value").to_string())
            .collect();
        m.entry(name).or_default().push((
            group,
            ms_of(&v["first_timestamp"]),
            ms_of(&v["timestamp"]),
            v["count"].as_u64().unwrap(),
        ));
    }
    for w in m.values_mut() {
        w.sort();
    }
    m
}

/// Every correlation of `rules_text` compiled for `target` and run on `engine_name` over
/// `events` (one table per log source with the layout's time column), compared window by
/// window with what `detc match` reports for the same rules and events.
pub fn correlation_differential(
    py: &str,
    engine_name: &str,
    target: &str,
    rules_text: &str,
    events: &[Value],
) -> CorrReport {
    let work = std::env::temp_dir().join(format!(
        "detc-sqlcorr-{engine_name}-{}-{}",
        std::process::id(),
        events.len()
    ));
    std::fs::create_dir_all(&work).unwrap();
    let (rules, diags) = detc::dsl::parse(detc::diag::SourceId(0), rules_text);
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let exprs: Vec<Option<Expr>> = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    let backend = load_spec_target(target, None).expect("target loads");
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let (engine, _) = Engine::new(&rules, &EngineOptions::default());
    let prepared = prepare_json(&engine, events);
    // One table per log source of the detection rules; correlations are the queries.
    let mut tables: BTreeMap<String, LogSource> = BTreeMap::new();
    let mut queries = Vec::new();
    let mut group_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let compiled = backend.compile(i, &cx);
        match (&r.body, compiled) {
            (detc::ir::RuleBody::Detection(_), Outcome::Compiled(c)) => {
                let table = backend.entry(c.logsource.unwrap()).table.clone().unwrap();
                tables.insert(table, r.logsource.clone());
            }
            (detc::ir::RuleBody::Correlation(corr), Outcome::Compiled(c)) => {
                group_by.insert(r.name.clone(), corr.group_by.clone());
                queries.push(
                    json!({"rule": i, "name": r.name, "sql": c.query, "group": corr.group_by}),
                );
            }
            (_, Outcome::Skipped(d)) => panic!("{target}: `{}` skipped: {}", r.name, d.message),
        }
    }
    let mut manifest_tables = Map::new();
    let mut rows_total = 0;
    for (table, ls) in &tables {
        let mut cols: BTreeSet<String> = BTreeSet::new();
        let path = work.join(format!("{table}.ndjson"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for (id, (ev, class)) in prepared.iter().enumerate() {
            let serves = match class {
                Class::Unknown => false,
                Class::Sources(ids) => ids
                    .iter()
                    .any(|&s| engine.logsources.sources[s].provides.serves(ls)),
            };
            if !serves {
                continue;
            }
            let mut r = row(id, ev).expect("no list-valued fields");
            let t = detc::eval::engine::event_time(ev).map(|t| t.as_millisecond());
            r.insert("detc_event_ms".into(), json!(t));
            cols.extend(ev.fields.iter().map(|(n, _)| n.to_string()));
            serde_json::to_writer(&mut f, &r).unwrap();
            f.write_all(b"\n").unwrap();
            rows_total += 1;
        }
        manifest_tables.insert(
            table.clone(),
            json!({"file": path, "columns": cols, "time": "event_time"}),
        );
    }
    assert!(
        rows_total >= events.len(),
        "every event is in a table ({rows_total} rows, {} events)",
        events.len()
    );
    let manifest = json!({"engine": engine_name, "tables": manifest_tables, "queries": [], "correlations": queries, "time": "event_time"});
    let mpath = work.join("manifest.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/run.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(&mpath)
        .output()
        .expect("run tests/sql/run.py");
    assert!(
        out.status.success(),
        "tests/sql/run.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("run.py prints JSON");
    let expected = detc_windows(rules_text, events, &group_by, &work);
    if std::env::var("DETC_SQL_KEEP").as_deref() != Ok("1") {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("kept {}", work.display());
    }
    let mut report = CorrReport {
        correlations: queries.len(),
        events: events.len(),
        seconds: result["seconds"].as_f64().unwrap_or(0.0),
        ..CorrReport::default()
    };
    for e in result["errors"].as_array().into_iter().flatten() {
        report.errors.push(e.to_string());
    }
    for name in group_by.keys() {
        let want = expected.get(name).cloned().unwrap_or_default();
        let Some(rows) = result["windows"][name].as_array() else {
            continue; // an error, reported above
        };
        let mut got: Vec<Window> = rows
            .iter()
            .map(|r| {
                let r = r.as_array().unwrap();
                let group = r[3..]
                    .iter()
                    .map(|g| g.as_str().expect("group text").to_string())
                    .collect();
                (
                    group,
                    r[1].as_i64().unwrap(),
                    r[0].as_i64().unwrap(),
                    r[2].as_u64().unwrap(),
                )
            })
            .collect();
        got.sort();
        report.windows += want.len();
        report.per_correlation.insert(name.clone(), want.len());
        if got != want {
            let extra: Vec<_> = got.iter().filter(|w| !want.contains(w)).collect();
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
            report.disagreements.push(format!(
                "{name}: SQL also returns {extra:?}, misses {missing:?} ({} vs {} windows)",
                got.len(),
                want.len()
            ));
        }
    }
    eprintln!(
        "{target} on {engine_name}, correlations: {} queries over {} events, {} windows of detc match compared ({:?}); {} disagreements, {} errors; engine time {:.2} s",
        report.correlations,
        report.events,
        report.windows,
        report.per_correlation,
        report.disagreements.len(),
        report.errors.len(),
        report.seconds
    );
    report
}

/// Every correlation agreed window for window with `detc match`, and enough windows compared.
pub fn assert_windows_exact(r: &CorrReport, min_windows: usize) {
    assert!(
        r.errors.is_empty(),
        "queries the engine refused:\n{}",
        r.errors.join("\n")
    );
    assert!(
        r.disagreements.is_empty(),
        "{} correlations disagree with detc match:\n{}",
        r.disagreements.len(),
        r.disagreements.join("\n")
    );
    assert!(
        r.windows >= min_windows,
        "only {} windows compared",
        r.windows
    );
    // Every correlation reports some windows: none is compared on empty results only.
    for (name, n) in &r.per_correlation {
        assert!(*n > 0, "`{name}`: no window to compare");
    }
}

/// The sample pack's rules (tests/target_samples.det: `many_failed_logons`, an `event_count`
/// over Security 4625, and `powershell_then_c2`, a `temporal_ordered` from process creation to
/// network connection) with events for them: failed logons of three accounts (one `-`, which
/// the rule leaves out) in bursts and spread out, encoded PowerShell and connections to the
/// rule's network or elsewhere on four hosts, from a fixed seed, each in its own millisecond.
pub fn sample_correlations() -> (String, Vec<Value>) {
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/target_samples.det"),
    )
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let at = |t: i64| {
        json!(jiff::Timestamp::from_millisecond(T0_MS + t)
            .unwrap()
            .to_string())
    };
    let mut events = Vec::new();
    let mut t = 0i64;
    for _ in 0..1500 {
        // Bursts (under a second) and gaps of up to 20 minutes.
        t += 1 + if next(4) == 0 {
            next(1_200_000)
        } else {
            next(1000)
        } as i64;
        let host = json!(["ws1", "ws2", "ws3", "srv1"][next(4) as usize]);
        let user = ["alice", "bob", "-"][next(3) as usize];
        let image = [
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "C:\\Windows\\System32\\cmd.exe",
        ][next(2) as usize];
        let cmd = [
            "powershell -enc SQBFAFgA",
            "powershell -nop -w hidden",
            "dir",
        ][next(3) as usize];
        let ip = ["175.45.176.9", "210.52.109.200", "8.8.8.8"][next(3) as usize];
        let ev = match next(4) {
            0 | 1 => json!({
                "Channel": "Security", "EventID": 4625, "@timestamp": at(t), "Computer": host,
                "TargetUserName": user,
            }),
            2 => json!({
                "Channel": SYSMON, "EventID": 1, "@timestamp": at(t), "Computer": host,
                "Image": image, "CommandLine": cmd, "ParentImage": "C:\\Windows\\explorer.exe",
            }),
            _ => json!({
                "Channel": SYSMON, "EventID": 3, "@timestamp": at(t), "Computer": host,
                "DestinationIp": ip,
            }),
        };
        events.push(ev);
    }
    (rules, events)
}

/// Selections over a CloudTrail log source, whose objects are JSON columns in sql-duckdb: each
/// reads a field of `requestParameters` (nested, a key the JSON path must quote, the column
/// itself) or a flat one.
const NESTED: &[(&str, &str)] = &[
    ("n_eq", "requestParameters.name: admin"),
    ("n_contains", "requestParameters.name|contains: DMI"),
    ("n_deep", "requestParameters.policy.effect: allow"),
    (
        "n_deeper",
        "requestParameters.policy.cond.ip|cidr: 10.0.0.0/8",
    ),
    ("n_num", "requestParameters.count|gt: 5"),
    ("n_num_text", "requestParameters.count: '7'"),
    ("n_bool", "requestParameters.enable: 'true'"),
    ("n_null", "requestParameters.name: null"),
    ("n_exists", "requestParameters.name|exists: true"),
    ("n_object", "requestParameters.policy|exists: true"),
    ("n_dash", "requestParameters.key-id: k1"),
    ("n_space", "requestParameters.user name|startswith: bo"),
    ("n_column", "requestParameters: plain"),
    ("n_flat", "eventName|endswith: Policy"),
    ("n_re", "requestParameters.policy.effect|re: '^(?i)DENY$'"),
    // Through the declared arrays `requestParameters.containerDefinitions` and its `command`.
    ("a_eq", "requestParameters.containerDefinitions.name: web"),
    (
        "a_contains",
        "requestParameters.containerDefinitions.image|contains: NGINX",
    ),
    (
        "a_wild",
        "requestParameters.containerDefinitions.image: 'ng*x:?*'",
    ),
    (
        "a_re",
        "requestParameters.containerDefinitions.name|re: '^(?i)DB[0-9]$'",
    ),
    (
        "a_null",
        "requestParameters.containerDefinitions.name: null",
    ),
    (
        "a_exists",
        "requestParameters.containerDefinitions.name|exists: true",
    ),
    (
        "a_missing",
        "requestParameters.containerDefinitions.name|exists: false",
    ),
    (
        "a_num",
        "requestParameters.containerDefinitions.cpu|gte: 256",
    ),
    (
        "a_deep",
        "requestParameters.containerDefinitions.env.mode: prod",
    ),
    (
        "a_cmd",
        "requestParameters.containerDefinitions.command|contains: curl",
    ),
    (
        "a_cmd_null",
        "requestParameters.containerDefinitions.command: null",
    ),
];

/// `requestParameters.containerDefinitions` of the NESTED events: an array of objects, one
/// object instead of an array, an empty array, JSON null elements and values, missing keys,
/// nested objects in elements, strings and numbers, arrays inside (declared: `command`, or
/// not: `name`), an array of arrays, a plain string.
fn container_definitions() -> Vec<Value> {
    vec![
        json!([
            {"name": "web", "image": "nginx:1.25", "cpu": 256, "command": ["curl", "-s"], "env": {"mode": "prod"}},
            {"name": "db1", "image": "postgres", "cpu": "128"}
        ]),
        json!({"name": "Web", "image": "NGINX:latest", "command": "curl http://x", "cpu": 1024}),
        json!([]),
        json!([null, {"name": null, "image": "ngx"}, {"name": "DB2", "env": {"mode": null}}]),
        json!([{"image": "nginx:1"}, {"cpu": 512}]),
        json!([{"name": {"first": "web"}, "env": {"mode": "dev"}}, {"name": "", "env": null}]),
        json!([{"name": 5, "cpu": "1024"}, {"name": "5", "cpu": 7.5, "command": []}]),
        json!(null),
        json!([{"name": "web", "command": []}, {"name": "x", "command": [null, "curl"]}]),
        json!([[{"name": "web"}]]),
        json!("plain"),
        json!([{"name": ["web", "db"]}]),
        json!([{"name": "prod", "command": [{"arg": "curl"}], "env": {"mode": "PROD"}}]),
    ]
}

/// The NESTED rules (plain and negated) and events: strings, integers, a non-integer number,
/// booleans, nulls, objects, arrays, keys with a dash, a space or a dot, and a column holding
/// a plain string.
pub fn nested() -> (Vec<Rule>, Vec<Option<Expr>>, Vec<Value>) {
    let mut rules = Vec::new();
    for (i, (name, sel)) in NESTED.iter().enumerate() {
        for neg in [false, true] {
            let cond = if neg { "not sel" } else { "sel" };
            let text = format!(
                "title: {name}\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    {sel}\n  condition: {cond}\n"
            );
            let stem = format!("gen_{name}{}", if neg { "_not" } else { "" });
            let (rs, diags) = detc::sigma::read_named(detc::diag::SourceId(i as u32), &text, &stem);
            let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{stem}: {errors:?}\n{text}");
            rules.extend(rs);
        }
    }
    let exprs = rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect();
    let names = [
        json!("admin"),
        json!("Admin"),
        json!("bob"),
        json!(null),
        json!(""),
        json!(7),
        json!({"x": 1}),
    ];
    let policies = [
        json!({"effect": "Allow", "cond": {"ip": "10.1.2.3"}}),
        json!({"effect": "deny", "cond": {"ip": "192.168.0.1"}}),
        json!({"effect": null, "cond": null}),
        json!("allow"),
        json!({"effect": ["allow", "deny"]}),
        json!({"effect": true, "cond": {"ip": 10}}),
    ];
    let counts = [
        json!(3),
        json!(7),
        json!("9"),
        json!(7.5),
        json!(true),
        json!(null),
    ];
    let mut events = Vec::new();
    for i in 0..42 {
        let mut rp = Map::new();
        rp.insert("name".into(), names[i % names.len()].clone());
        rp.insert("policy".into(), policies[i % policies.len()].clone());
        if i % 3 != 0 {
            rp.insert("count".into(), counts[i % counts.len()].clone());
        }
        rp.insert("enable".into(), json!(i % 2 == 0));
        rp.insert("key-id".into(), json!(["k1", "K1", "k2"][i % 3]));
        rp.insert("user name".into(), json!(["Bob", "alice"][i % 2]));
        if i % 5 == 0 {
            rp.insert("policy.effect".into(), json!("allow"));
        }
        if i % 7 != 3 {
            let cds = container_definitions();
            rp.insert("containerDefinitions".into(), cds[i % cds.len()].clone());
        }
        let mut ev = Map::new();
        ev.insert("eventSource".into(), json!("iam.amazonaws.com"));
        ev.insert("eventName".into(), json!(["PutPolicy", "GetUser"][i % 2]));
        ev.insert("requestParameters".into(), Value::Object(rp));
        events.push(Value::Object(ev));
    }
    events.push(json!({"eventName": "PutPolicy", "requestParameters": "plain"}));
    events.push(json!({"eventName": "PutPolicy", "requestParameters": "PLAIN"}));
    events.push(json!({"eventName": "PutPolicy"}));
    events.push(json!({"eventName": "PutPolicy", "requestParameters": null}));
    (rules, exprs, events)
}

/// The nested rules over the nested events, on one engine.
pub fn nested_differential(py: &str, engine_name: &str, target: &str) -> Report {
    let (rules, exprs, values) = nested();
    let r = json_differential(py, engine_name, target, &rules, &exprs, &values);
    eprintln!(
        "{target} on {engine_name}, nested: {} of {} rules compiled, {} events ({} with a list-valued field, {} left out: a field the layout cannot hold), {} (query, row) pairs, {} matches; {} disagreements, {} errors",
        r.queries,
        rules.len(),
        r.events,
        r.list_events,
        r.json_excluded,
        r.compared,
        r.matches,
        r.disagreements.len(),
        r.errors.len()
    );
    r
}

/// The corpus rules over the native JSON samples of the log sources whose objects are JSON
/// columns in sql-duckdb (tests/fixtures/native: CloudTrail, Okta, GCP audit, Azure Event Hub),
/// read by detc's own readers.
pub fn native_json_differential(py: &str, engine_name: &str, target: &str) -> Report {
    let (rules, exprs) = corpus();
    let (engine, _) = Engine::new(&rules, &EngineOptions::default());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native");
    let mut events = Vec::new();
    let mut sources = Vec::new();
    for f in [
        "cloudtrail.json",
        "okta_system_log.json",
        "gcp_audit.jsonl",
        "azure_eventhub.json",
    ] {
        let before = events.len();
        let diags = detc::eval::read::read_file(&dir.join(f), &mut |rec| {
            let mut ev = rec.event;
            let class = engine.prepare(&mut ev);
            events.push((ev, class));
        });
        assert!(diags.is_empty(), "{f}: {diags:?}");
        // The records as JSON values, for the JSON columns (in the order detc reads them).
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let records: Vec<Value> = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(xs)) => xs,
            Ok(Value::Object(mut m)) => match m.remove("Records").or_else(|| m.remove("records")) {
                Some(Value::Array(xs)) => xs,
                _ => vec![Value::Object(m)],
            },
            Ok(other) => vec![other],
            Err(_) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        };
        assert_eq!(records.len(), events.len() - before, "{f}: records as JSON");
        sources.extend(records);
    }
    let r = differential(
        py,
        engine_name,
        target,
        &rules,
        &exprs,
        Events {
            events: &events,
            sources: Some(&sources),
        },
        &engine,
    );
    eprintln!(
        "{target} on {engine_name}, native JSON samples: {} queries, {} rows from {} events ({} list-valued, {} (table, event) pairs left out for JSON columns), {} (query, row) pairs compared, {} matches; {} disagreements, {} errors",
        r.queries,
        r.rows,
        r.events,
        r.list_events,
        r.json_excluded,
        r.compared,
        r.matches,
        r.disagreements.len(),
        r.errors.len()
    );
    r
}
