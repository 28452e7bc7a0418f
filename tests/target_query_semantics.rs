//! What the emitted SPL and KQL *do*, checked against detc's own evaluator (`detc match`),
//! without a Splunk or Kusto engine (there is none offline).
//!
//! Approach: the query text detc emits is read back by a small evaluator
//! (`tests/common/query_eval.rs`) that models exactly the shapes the targets write, with the
//! platforms' documented semantics (Splunk eval's null comparisons; Kusto's "Null values";
//! the scan operator's "Matching logic"; streamstats' `current`, `reset_after` and
//! by-clause). The same events go through `detc match` (the CLI, for correlations) or
//! `detc::eval::eval_expr` (one rule), and the outcomes must agree.
//!
//! Limits, on purpose: the evaluator is ours, so it checks that the emitted stages compute
//! detc's semantics *as the documentation describes the platform*, not the platform itself.
//! A correlation is evaluated from the rows its base search yields (each event labelled with
//! the rule it matched, `detc_rule`, and its group-by fields under their Sigma names): the
//! per-rule queries are checked elsewhere (target_render, target_kql, ...), here the test
//! only asserts that the base contains each rule's own query and label. Events with equal
//! timestamps are not generated: detc orders them by input position, which no query can see
//! (docs/DIFFERENCES.md).

#[path = "target_util.rs"]
mod util;

#[path = "common/query_eval.rs"]
mod qe;

use std::collections::BTreeSet;

use detc::target::Outcome;
use qe::{Lang, Row, V};
use serde_json::json;
use util::*;

// ---------------------------------------------------------------- item: numbers under `not`

/// The text after the last `| where ` of a query.
fn where_clause(q: &str) -> &str {
    &q[q.rfind("| where ").expect("a where clause") + "| where ".len()..]
}

/// `not "sc-status"=503` keeps an event whose value is not a number (Sigma: a numeric test on
/// such a value is no match), in both Splunk targets' `| where` dialect. Each condition is
/// evaluated for numeric, numeric-text, non-numeric, empty and missing values and compared
/// with detc's evaluator.
#[test]
fn spl_numeric_tests_under_not_keep_non_numeric_values() {
    let sels = "  a = \"sc-status\" 503\n  b = \"sc-status\" gt 500\n";
    let values = [
        json!(503),
        json!("503"),
        json!("503x"),
        json!("abc"),
        json!(""),
        json!(200),
        json!("200"),
        serde_json::Value::Null, // missing
    ];
    for target in ["splunk", "splunk-cim"] {
        for cond in ["not a", "a", "not b", "b", "not (a or b)", "b and not a"] {
            let body = format!("{sels}  condition {cond}");
            let src = rule_src("t", "category=proxy", &body);
            let (rules, exprs) = pack(&src);
            let q = match compile(&target_of(target), &rules, &exprs, 0) {
                Outcome::Compiled(c) => c.query.unwrap(),
                Outcome::Skipped(d) => panic!("{target} {cond}: {}", d.message),
            };
            let e = qe::parse_expr(where_clause(&q));
            for v in &values {
                let mut ev = serde_json::Map::new();
                let mut row = Row::new();
                if !v.is_null() {
                    ev.insert("sc-status".into(), v.clone());
                    // Splunk field values are text.
                    let text = v.as_str().map_or_else(|| v.to_string(), String::from);
                    row.insert("sc-status".into(), V::Str(text));
                }
                let sigma = detc::eval::eval_expr(
                    &rules[0],
                    exprs[0].as_ref().unwrap(),
                    &detc::eval::Event::from_json_map(&ev),
                );
                let kept = qe::eval(Lang::Spl, &e, &row, &|_| None) == V::Bool(true);
                assert_eq!(kept, sigma, "{target} `{cond}` with sc-status={v}:\n{q}");
            }
        }
    }
}

fn target_of(name: &str) -> detc::target::spec_backend::SpecBackend {
    util::target(name)
}

// ---------------------------------------------------------------- correlations

const RULES: &str = r#"
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
rule step_c {
  title "c"
  logsource product=windows category=process_creation
  sel = CommandLine "run_c"
  condition sel
}
correlation abc {
  title "abc"
  type temporal_ordered
  rules step_a step_b step_c
  group-by Computer ParentImage
  timespan 10m
}
correlation ab {
  title "ab"
  type temporal_ordered
  rules step_a step_b
  group-by Computer
  timespan 5m
}
correlation ab_all {
  title "ab_all"
  type temporal_ordered
  rules step_a step_b
  timespan 5m
}
"#;

const STEPS: [(&str, &str); 3] = [
    ("step_a", "run_a"),
    ("step_b", "run_b"),
    ("step_c", "run_c"),
];

/// One event: seconds since the start, host, parent, which rule (0..3) it matches.
type Ev = (u64, &'static str, &'static str, usize);

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Sequences: written ones (ordered, unordered, too slow, interleaved hosts), then random
/// ones from a fixed seed. Times are distinct across the whole set (no ties).
fn sequences() -> Vec<Vec<Ev>> {
    let mut out: Vec<Vec<Ev>> = vec![
        // In order within 10m: one match.
        vec![
            (0, "h1", "p1", 0),
            (60, "h1", "p1", 1),
            (120, "h1", "p1", 2),
        ],
        // Reversed, and shuffled: none.
        vec![
            (0, "h1", "p1", 2),
            (60, "h1", "p1", 1),
            (120, "h1", "p1", 0),
        ],
        vec![
            (0, "h1", "p1", 1),
            (60, "h1", "p1", 0),
            (120, "h1", "p1", 2),
        ],
        // In order but slower than the timespan: none; then a fresh start makes one.
        vec![
            (0, "h1", "p1", 0),
            (400, "h1", "p1", 1),
            (700, "h1", "p1", 2),
            (710, "h1", "p1", 0),
            (720, "h1", "p1", 1),
            (730, "h1", "p1", 2),
        ],
        // Exactly at the timespan (10m for abc, 5m for ab) is within it; one second over is not.
        vec![
            (0, "h1", "p1", 0),
            (300, "h1", "p1", 1),
            (600, "h1", "p1", 2),
        ],
        vec![
            (0, "h1", "p1", 0),
            (301, "h1", "p1", 1),
            (601, "h1", "p1", 2),
        ],
        // Two hosts interleaved: each in order.
        vec![
            (0, "h1", "p1", 0),
            (10, "h2", "p1", 0),
            (20, "h2", "p1", 1),
            (30, "h1", "p1", 1),
            (40, "h1", "p1", 2),
            (50, "h2", "p1", 2),
        ],
        // Steps split across groups: none for abc (two parents), one for ab (same host).
        vec![(0, "h1", "p1", 0), (10, "h1", "p2", 1), (20, "h1", "p1", 2)],
        // A started sequence does not outlive a match: a b a c b c.
        vec![
            (0, "h1", "p1", 0),
            (10, "h1", "p1", 1),
            (20, "h1", "p1", 0),
            (30, "h1", "p1", 2),
            (40, "h1", "p1", 1),
            (50, "h1", "p1", 2),
        ],
    ];
    // Random sequences (xorshift, fixed seed): 2 hosts, 2 parents, gaps 1..300 s.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..150 {
        let len = 3 + next(12) as usize;
        let mut t = 0;
        let mut seq = Vec::new();
        for _ in 0..len {
            t += 1 + next(300);
            let h = ["h1", "h2"][next(2) as usize];
            let p = ["p1", "p2"][next(2) as usize];
            seq.push((t, h, p, next(3) as usize));
        }
        out.push(seq);
    }
    out
}

/// All sequences laid out one after another in time (each case's hosts renamed `cN-h1`, so
/// groups never mix across cases; the no-group correlation sees gaps far over its window).
fn events() -> Vec<(i64, String, String, usize)> {
    let mut out = Vec::new();
    let mut base = 0i64;
    for (i, seq) in sequences().into_iter().enumerate() {
        for (t, h, p, which) in seq {
            out.push((base + t as i64, format!("c{i}-{h}"), p.to_string(), which));
        }
        base += 100_000;
    }
    out
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(T0 + t).unwrap().to_string()
}

/// The correlation matches `detc match` reports: correlation name -> {(group values, end)}.
fn detc_matches() -> std::collections::BTreeMap<String, BTreeSet<(Vec<String>, i64)>> {
    let dir = std::env::temp_dir().join(format!("detc-qsem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.det"), RULES).unwrap();
    let mut ndjson = String::new();
    for (t, h, p, which) in events() {
        let ev = json!({
            "@timestamp": iso(t),
            "Computer": h,
            "ParentImage": p,
            "CommandLine": STEPS[which].1,
        });
        ndjson.push_str(&format!("{ev}\n"));
    }
    std::fs::write(dir.join("events.jsonl"), ndjson).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(["match", "--rules"])
        .arg(dir.join("rules.det"))
        .arg("--events")
        .arg(dir.join("events.jsonl"))
        .args(["--logsource", "category=process_creation,product=windows"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: std::collections::BTreeMap<_, BTreeSet<_>> = Default::default();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("correlation").is_none() {
            continue;
        }
        let name = v["rule_name"].as_str().unwrap().to_string();
        let group: Vec<String> = match v["group"].as_object() {
            Some(g) => ["Computer", "ParentImage"]
                .iter()
                .filter_map(|k| g.get(*k).and_then(|x| x.as_str()).map(String::from))
                .collect(),
            None => Vec::new(),
        };
        let end = v["timestamp"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
            - T0;
        m.entry(name).or_default().insert((group, end));
    }
    m
}

/// The rows a correlation's base search yields for the events: the rule label, the group-by
/// fields under their Sigma names and the time column.
fn base_rows(time_field: &str, group_by: &[&str]) -> Vec<Row> {
    events()
        .into_iter()
        .map(|(t, h, p, which)| {
            let mut r = Row::new();
            r.insert(time_field.into(), V::Num(t as f64));
            r.insert("detc_rule".into(), V::Str(STEPS[which].0.into()));
            for g in group_by {
                let v = if *g == "Computer" {
                    h.clone()
                } else {
                    p.clone()
                };
                r.insert(g.to_string(), V::Str(v));
            }
            r
        })
        .collect()
}

/// (name, group-by, number of referenced rules) of the correlations in [`RULES`].
const CORRS: [(&str, &[&str], usize); 3] = [
    ("abc", &["Computer", "ParentImage"], 3),
    ("ab", &["Computer"], 2),
    ("ab_all", &[], 2),
];

/// The query of each correlation for a target (none when the target skips it, which only
/// kql-sentinel may, for lack of an entity column).
fn correlation_queries(target: &str) -> Vec<(usize, String)> {
    let (rules, exprs) = pack(RULES);
    let b = util::target(target);
    // splunk-cim correlations read raw events: its rules' queries there are `splunk`'s.
    let rule_target = util::target(if target == "splunk-cim" {
        "splunk"
    } else {
        target
    });
    let mut out = Vec::new();
    for (ci, (name, _, n)) in CORRS.iter().enumerate() {
        let i = rules.iter().position(|r| r.name == *name).unwrap();
        match compile(&b, &rules, &exprs, i) {
            Outcome::Compiled(c) => {
                let q = c.query.unwrap();
                // The base holds each referenced rule's own query and its label.
                for r in &STEPS[..*n] {
                    let ri = rules.iter().position(|x| x.name == r.0).unwrap();
                    let Outcome::Compiled(rc) = compile(&rule_target, &rules, &exprs, ri) else {
                        panic!("{target}: {} skipped", r.0)
                    };
                    assert!(q.contains(&rc.query.unwrap()), "{target} {name}: {q}");
                    assert!(q.contains(&format!("\"{}\"", r.0)), "{target} {name}: {q}");
                }
                out.push((ci, q));
            }
            Outcome::Skipped(d) => {
                assert!(
                    target == "kql-sentinel" && CORRS[ci].1.is_empty(),
                    "{target} {name}: {}",
                    d.message
                );
            }
        }
    }
    out
}

/// (group values, end second) of each output row.
fn hits(rows: &[Row], time_field: &str, group_by: &[&str]) -> BTreeSet<(Vec<String>, i64)> {
    rows.iter()
        .map(|r| {
            let g = group_by
                .iter()
                .map(|k| match &r[*k] {
                    V::Str(s) => s.clone(),
                    v => panic!("group value {v:?}"),
                })
                .collect();
            let V::Num(t) = r[time_field] else {
                panic!("time {:?}", r[time_field])
            };
            (g, t as i64)
        })
        .collect()
}

/// `temporal_ordered` in both Splunk targets: the streamstats stages after the multisearch
/// base, evaluated over the same events as `detc match`, give exactly its matches (group and
/// the time of the event that completed the sequence).
#[test]
fn spl_temporal_ordered_equals_detc_match() {
    let expected = detc_matches();
    assert!(
        expected.get("abc").is_some_and(|s| s.len() > 10),
        "the sequences must produce matches: {expected:?}"
    );
    for target in ["splunk", "splunk-cim"] {
        for (ci, q) in correlation_queries(target) {
            let (name, group_by, _) = CORRS[ci];
            let parts = qe::split_top(&q, " | ");
            assert!(parts[0].starts_with("| multisearch ["), "{target}: {q}");
            let rows = qe::run_spl(&parts[1..], base_rows("_time", group_by));
            assert_eq!(
                hits(&rows, "_time", group_by),
                expected.get(name).cloned().unwrap_or_default(),
                "{target} {name}:\n{q}"
            );
        }
    }
}

/// `temporal_ordered` in both KQL targets: the partition/scan stages after the union,
/// evaluated over the same events as `detc match`, give exactly its matches.
#[test]
fn kql_temporal_ordered_equals_detc_match() {
    let expected = detc_matches();
    for (target, time) in [
        ("kql-defender", "Timestamp"),
        ("kql-sentinel", "TimeGenerated"),
    ] {
        let qs = correlation_queries(target);
        assert!(qs.len() >= 2, "{target}");
        for (ci, q) in qs {
            let (name, group_by, _) = CORRS[ci];
            let stages = qe::stages_of(&q);
            assert!(stages[0].starts_with("union ("), "{target}: {q}");
            let rows = qe::run_kql(&stages[1..], base_rows(time, group_by));
            assert_eq!(
                hits(&rows, time, group_by),
                expected.get(name).cloned().unwrap_or_default(),
                "{target} {name}:\n{q}"
            );
        }
    }
}

/// The new `scan`/`partition` queries are valid, well-typed Kusto (Microsoft's
/// Kusto.Language, against each target's table schemas).
#[test]
fn kql_temporal_ordered_parses_and_analyzes() {
    if !kql_ready() {
        return;
    }
    // Grouped by a number column as well (`isnotempty` and `pack_array` on a long).
    let net = r#"
rule smb {
  title "smb"
  logsource product=windows category=network_connection
  sel = DestinationPort 445
  condition sel
}
rule rdp {
  title "rdp"
  logsource product=windows category=network_connection
  sel = DestinationPort 3389
  condition sel
}
correlation smb_then_rdp {
  title "smb then rdp"
  type temporal_ordered
  rules smb rdp
  group-by Computer DestinationPort
  timespan 1h
}
"#;
    let (rules, exprs) = pack(net);
    for target in ["kql-defender", "kql-sentinel"] {
        let mut qs: Vec<(String, String)> = correlation_queries(target)
            .into_iter()
            .map(|(ci, q)| (CORRS[ci].0.to_string(), q))
            .collect();
        match compile(&util::target(target), &rules, &exprs, 2) {
            Outcome::Compiled(c) => qs.push(("smb_then_rdp".into(), c.query.unwrap())),
            Outcome::Skipped(d) => panic!("{target}: {}", d.message),
        }
        for (r, (id, q)) in kusto(target, &qs).iter().zip(&qs) {
            assert_eq!(r["errors"], json!([]), "{target} {id}:\n{q}");
        }
    }
}

/// splunk-cim correlations read raw events: the query is the `splunk` target's, byte for
/// byte, for every correlation kind.
#[test]
fn cim_correlations_are_the_raw_event_queries() {
    let src = format!(
        "{RULES}correlation cnt {{\n  title \"cnt\"\n  type event_count\n  rules step_a\n  group-by Computer\n  timespan 1h\n  condition gte 3\n}}\ncorrelation both {{\n  title \"both\"\n  type temporal\n  rules step_a step_b\n  group-by Computer\n  timespan 1h\n}}\n"
    );
    let (rules, exprs) = pack(&src);
    let (spl, cim) = (util::target("splunk"), util::target("splunk-cim"));
    let mut n = 0;
    for (i, r) in rules.iter().enumerate() {
        if !matches!(r.body, detc::ir::RuleBody::Correlation(_)) {
            continue;
        }
        let q = |b| match compile(b, &rules, &exprs, i) {
            Outcome::Compiled(c) => c.query.unwrap(),
            Outcome::Skipped(d) => panic!("{}: {}", r.name, d.message),
        };
        assert_eq!(q(&cim), q(&spl), "{}", r.name);
        n += 1;
    }
    assert_eq!(n, 5);
}

/// One rule twice in an ordered sequence is refused with a reason (detc tells same-time
/// events apart by input position, which a query cannot see).
#[test]
fn ordered_sequence_naming_a_rule_twice_is_skipped() {
    let src = format!(
        "{RULES}correlation aba {{\n  title \"aba\"\n  type temporal_ordered\n  rules step_a step_b step_a\n  group-by Computer\n  timespan 1h\n}}\n"
    );
    let (rules, exprs) = pack(&src);
    let i = rules.iter().position(|r| r.name == "aba").unwrap();
    for t in TARGETS {
        match compile(&util::target(t), &rules, &exprs, i) {
            Outcome::Skipped(d) => assert!(
                d.message.contains("naming the rule `step_a` twice"),
                "{t}: {}",
                d.message
            ),
            Outcome::Compiled(c) => panic!("{t}: {:?}", c.query),
        }
    }
}
