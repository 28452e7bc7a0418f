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

/// What one differential run compared.
#[derive(Debug, Default)]
pub struct Report {
    pub queries: usize,
    pub tables: usize,
    pub events: usize,
    /// Events left out: a list-valued field (the layout is scalar).
    pub list_events: usize,
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
pub fn differential(
    py: &str,
    engine_name: &str,
    target: &str,
    rules: &[Rule],
    exprs: &[Option<Expr>],
    events: &[(Event, Class)],
    engine: &Engine,
) -> Report {
    // DuckDB reads identifiers case-insensitively; the Spark session is case-sensitive.
    let case_insensitive = engine_name == "duckdb";
    let work = std::env::temp_dir().join(format!(
        "detc-sql-{engine_name}-{}-{}",
        std::process::id(),
        rules.len()
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
        for (id, (ev, class)) in events.iter().enumerate() {
            let serves = match class {
                Class::Unknown => true,
                Class::Sources(ids) => ids
                    .iter()
                    .any(|&s| engine.logsources.sources[s].provides.serves(ls)),
            };
            if serves && rows[id].is_some() {
                members.insert(id);
                event_cols.extend(ev.fields.iter().map(|(n, _)| n.to_string()));
            }
        }
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
            serde_json::to_writer(&mut f, rows[id].as_ref().unwrap()).unwrap();
            f.write_all(b"\n").unwrap();
        }
        report.rows += members.len();
        manifest_tables.insert(
            table.clone(),
            json!({"file": path, "columns": cols.iter().collect::<Vec<_>>()}),
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
    let r = differential(py, engine_name, target, &rules, &exprs, &events, &engine);
    eprintln!(
        "{target} on {engine_name}: {} queries over {} tables ({} rows from {} events, {} left out for list-valued fields; {} rules left out for field names equal but for case: {:?}); {} (query, row) pairs compared, {} matches; {} disagreements, {} errors; engine time {:.1} s",
        r.queries,
        r.tables,
        r.rows,
        r.events,
        r.list_events,
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

/// The generated rules over the generated events, on one engine.
pub fn generated_differential(py: &str, engine_name: &str, target: &str) -> Report {
    let (rules, exprs, values) = generated();
    let (engine, _) = Engine::new(&rules, &EngineOptions::default());
    let events: Vec<(Event, Class)> = values
        .iter()
        .map(|v| {
            let mut ev = Event::from_json_map(v.as_object().unwrap());
            let class = engine.prepare(&mut ev);
            (ev, class)
        })
        .collect();
    let r = differential(py, engine_name, target, &rules, &exprs, &events, &engine);
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

/// Assert that the generated run disagrees with the evaluator on exactly the rules `known`
/// names (rule stem, `_not` variant included, and why): documented differences of the engine
/// or the layout (docs/TARGETS.md, "SQL targets"), so that a new disagreement fails and a
/// fixed one is noticed.
/// The corpus run on `engine` agreed exactly with `detc match`: enough queries and matches
/// compared, no query refused, no disagreement.
pub fn assert_exact(r: &Report, engine: &str) {
    assert!(r.queries > 3000, "{} queries", r.queries);
    assert!(r.matches > 300, "only {} matches compared", r.matches);
    assert!(
        r.errors.is_empty(),
        "queries {engine} refused:\n{}",
        r.errors.join("\n")
    );
    assert!(
        r.disagreements.is_empty(),
        "{} disagreements with detc match:\n{}",
        r.disagreements.len(),
        r.disagreements.join("\n")
    );
}

pub fn assert_known(r: &Report, known: &[(&str, &str)]) {
    assert!(
        r.errors.is_empty(),
        "queries the engine refused:\n{}",
        r.errors.join("\n")
    );
    let got: BTreeSet<String> = r
        .disagreements
        .iter()
        .map(|d| d.split(' ').next().unwrap_or_default().to_string())
        .collect();
    let want: BTreeSet<String> = known
        .iter()
        .flat_map(|(n, _)| [format!("gen_{n}"), format!("gen_{n}_not")])
        .collect();
    assert!(
        got == want,
        "disagreements with detc match other than the documented ones:\nnew: {:#?}\nno longer: {:?}\nall:\n{}",
        r.disagreements
            .iter()
            .filter(|d| !want.contains(d.split(' ').next().unwrap_or_default()))
            .collect::<Vec<_>>(),
        want.difference(&got).collect::<Vec<_>>(),
        r.disagreements.join("\n")
    );
}
