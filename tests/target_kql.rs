//! Every KQL query detc emits is read back by Microsoft's own Kusto parser (Kusto.Language via
//! the npm package `@kusto/language-service-next`, driven by tests/kql/check.js):
//! no parse or semantic errors against the target's table schemas, string literals read back
//! as the original values, and crafted values never change the query's shape.
//!
//! Runs when tests/kql/node_modules is installed (`npm ci --prefix tests/kql`); with
//! `DETC_KQL_CHECK=1` a missing install is a failure instead of a silent pass.

#[path = "target_util.rs"]
mod util;

use detc::diag::Span;
use detc::ir::norm::{Expr, Pred, Test};
use detc::ir::SigmaString;
use detc::target::Backend;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;
use util::*;

const KQL_TARGETS: [&str; 2] = ["kql-defender", "kql-sentinel"];

/// Rule bodies covering every construct the KQL targets express.
pub const CASES: &[(&str, &str)] = &[
    (
        "process_creation",
        r#"  a = Image endswith "\net.exe", "\net1.exe"
  b = CommandLine contains all "localgroup", "/add"
  c = OriginalFileName "net.exe"
  d = ParentImage null
  condition (a or c) and b and not d"#,
    ),
    (
        "process_creation",
        r#"  a = CommandLine "*powershell*-enc*"
  b = Image "C:\Windows\System32\?md.exe"
  c = CommandLine cased contains "IEX"
  d = CommandLine cased "Exact"
  e = CommandLine cased startswith "A", "B"
  f = CommandLine cased endswith "Z"
  condition a or b or c or d or e or f"#,
    ),
    (
        "process_creation",
        r#"  a = CommandLine re i "\bnet1?\.exe\s+user\b"
  b = CommandLine base64offset contains "IEX ("
  c = CommandLine contains windash "-enc"
  d = IntegrityLevel exists true
  e = ProcessId gt 4
  f = ParentImage fieldref "Image"
  g = CommandLine contains fieldref "ParentCommandLine"
  condition a or b or c or (d and not e) or f or g"#,
    ),
    (
        "process_creation",
        r#"  w = keywords "mimikatz", "sekurlsa::"
  condition w"#,
    ),
    (
        "network_connection",
        r#"  a = DestinationIp cidr "175.45.176.0/22", "210.52.109.0/24", "fe80::/10"
  b = DestinationPort 3389
  condition a and not b"#,
    ),
    (
        "registry_set",
        r#"  a = TargetObject endswith "\Terminal Server\fDenyTSConnections"
  condition a"#,
    ),
    (
        "file_event",
        r#"  a = TargetFilename startswith "C:\Users\" 
  b = TargetFilename endswith ".hta"
  condition a and b"#,
    ),
    (
        "image_load",
        r#"  a = ImageLoaded endswith "\dbghelp.dll"
  condition a"#,
    ),
];

fn case_queries(target: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (cat, body)) in CASES.iter().enumerate() {
        let ls = format!("product=windows category={cat}");
        match query(target, &ls, body) {
            Ok(q) => out.push((format!("case{i}"), q)),
            Err(e) => panic!("{target} case {i}: {e}"),
        }
    }
    out
}

#[test]
fn every_case_parses_and_analyzes_without_errors() {
    if !kql_ready() {
        return;
    }
    for t in KQL_TARGETS {
        let qs = case_queries(t);
        for (r, (id, q)) in kusto(t, &qs).iter().zip(&qs) {
            assert_eq!(r["id"], json!(id));
            assert_eq!(r["errors"], json!([]), "{t} {id}:\n{q}");
        }
    }
}

/// A one-predicate query for `value` (kind depends on the pattern shape).
fn value_query(target: &dyn Backend, value: &str, shape: usize) -> String {
    let (rules, _) = pack(&rule_src(
        "v",
        PROC,
        "  a = CommandLine \"x\"\n  condition a",
    ));
    let mut pattern = SigmaString::literal(value);
    match shape % 4 {
        0 => {}
        1 => pattern.pieces.insert(0, detc::ir::Piece::Star),
        2 => pattern.pieces.push(detc::ir::Piece::Star),
        _ => {
            pattern.pieces.insert(0, detc::ir::Piece::Star);
            pattern.push(detc::ir::Piece::Qmark);
            pattern.push_lit("end");
        }
    }
    let e = Expr::Pred(Pred {
        field: Some("CommandLine".into()),
        test: Test::Str {
            pattern,
            cased: shape % 8 >= 4,
        },
        span: Span::default(),
    });
    let exprs = vec![Some(e)];
    match compile(target, &rules, &exprs, 0) {
        detc::target::Outcome::Compiled(c) => c.query.unwrap(),
        detc::target::Outcome::Skipped(d) => panic!("skipped: {}", d.message),
    }
}

pub const CRAFTED: &[&str] = &[
    "\" or 1==1 or \"",
    "\"| delete",
    "\\\"",
    "trailing\\",
    "line\nbreak",
    "tab\there\r",
    "nul\u{0}and\u{1b}esc",
    "' or ''='",
    "@\"verbatim\"",
    "} {field} {value}",
    "\u{202e}bidi\u{2028}sep",
    "ünïcödé 日本 🎉",
    "a*b?c",
    "//comment",
    "x\"\n| project secret",
];

#[test]
fn literals_round_trip_and_crafted_values_keep_the_shape() {
    if !kql_ready() {
        return;
    }
    let mut runner = TestRunner::deterministic();
    let strat = proptest::string::string_regex("(?s).{0,24}").unwrap();
    let mut values: Vec<String> = CRAFTED.iter().map(|s| s.to_string()).collect();
    for _ in 0..150 {
        values.push(strat.new_tree(&mut runner).unwrap().current());
    }
    // An empty literal legitimately changes the matcher (`*` alone matches anything).
    values.retain(|v| !v.is_empty());
    let benign = "benign";
    for t in KQL_TARGETS {
        let backend = util::target(t);
        // One Kusto run per target: per shape, the benign query then every value.
        let mut qs = Vec::new();
        for shape in 0..8 {
            qs.push((format!("b{shape}"), value_query(&backend, benign, shape)));
            for (i, v) in values.iter().enumerate() {
                qs.push((format!("s{shape}v{i}"), value_query(&backend, v, shape)));
            }
        }
        let res = kusto(t, &qs);
        let per = values.len() + 1;
        for shape in 0..8 {
            let block = &res[shape * per..(shape + 1) * per];
            let benign_shape = block[0]["shape"].clone();
            for (i, (r, v)) in block[1..].iter().zip(&values).enumerate() {
                let q = &qs[shape * per + 1 + i].1;
                assert_eq!(r["errors"], json!([]), "{t} shape {shape} value {v:?}: {q}");
                assert_eq!(
                    r["shape"], benign_shape,
                    "{t} shape {shape}: {v:?} changed the query: {q}"
                );
                let lits: Vec<String> = serde_json::from_value(r["literals"].clone()).unwrap();
                if shape % 4 == 3 {
                    // Middle wildcard: an anchored regex that must match the value exactly.
                    let re = lits.last().unwrap();
                    let rx = regex::Regex::new(re).unwrap();
                    let sample = format!("zz{v}Qend");
                    assert!(rx.is_match(&sample), "{re} vs {sample:?}");
                    assert!(!rx.is_match(&format!("{sample}x")));
                } else {
                    assert!(
                        lits.contains(v),
                        "{t} shape {shape}: {v:?} not read back: {lits:?}"
                    );
                }
            }
        }
    }
}

const CORRELATION_PACK: &str = r#"
rule net_add {
  title "net add"
  logsource product=windows category=process_creation
  sel = Image endswith "\net1.exe"
  condition sel
}
rule rdp_conn {
  title "rdp"
  logsource product=windows category=network_connection
  sel = DestinationPort 3389
  condition sel
}
correlation many {
  title "many"
  type event_count
  rules net_add
  group-by Computer
  timespan 1h
  condition gte 5
}
correlation distinct {
  title "distinct"
  type value_count
  rules net_add
  group-by Computer
  timespan 30m
  condition gte 3 field CommandLine
}
correlation both {
  title "both"
  type temporal
  rules net_add rdp_conn
  group-by Computer
  timespan 10m
}
"#;

#[test]
fn correlation_queries_parse_and_analyze() {
    if !kql_ready() {
        return;
    }
    let (rules, exprs) = pack(CORRELATION_PACK);
    for t in KQL_TARGETS {
        let b = util::target(t);
        let mut qs = Vec::new();
        for i in 2..rules.len() {
            match compile(&b, &rules, &exprs, i) {
                detc::target::Outcome::Compiled(c) => {
                    qs.push((rules[i].name.clone(), c.query.unwrap()))
                }
                detc::target::Outcome::Skipped(d) => panic!("{t} {}: {}", rules[i].name, d.message),
            }
        }
        assert_eq!(qs.len(), 3);
        for (r, (id, q)) in kusto(t, &qs).iter().zip(&qs) {
            assert_eq!(r["errors"], json!([]), "{t} {id}:\n{q}");
        }
    }
}
