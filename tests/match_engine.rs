//! The match engine end to end: log source routing, taxonomy field names, `--logsource`,
//! output lines, correlations, and that the literal prefilter never loses a match.

use std::path::PathBuf;

use detc::diag::{Loc, SourceId, Span};
use detc::eval::engine::{Engine, EngineOptions};
use detc::eval::logsource::Provides;
use detc::eval::run::{run_match, OutFormat};
use detc::eval::{eval_expr, Event};
use detc::ir::norm::{normalize, NormOptions};
use detc::ir::{
    CmpOp, Cond, Correlation, CorrelationCondition, CorrelationKind, Detection, LogSource, Matcher,
    Meta, Modifier, Rule, RuleBody, Selection, Spanned, Timespan, Value,
};
use proptest::prelude::*;
use serde_json::json;

type M = (Option<&'static str>, Vec<Modifier>, Vec<&'static str>);

fn rule(name: &str, ls: (&str, &str, &str), groups: Vec<Vec<M>>, negate: bool) -> Rule {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let sel = |n: &str, gs: Vec<Vec<M>>| Selection {
        name: n.into(),
        span: Span::default(),
        groups: gs
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|(f, mods, vals)| Matcher {
                        field: f.map(String::from),
                        values: vals.iter().map(|v| Value::from_text(v, &mods)).collect(),
                        modifiers: mods,
                        span: Span::default(),
                    })
                    .collect()
            })
            .collect(),
    };
    let cond = Cond::Sel(Spanned::new("selection".into(), Span::default()));
    Rule {
        name: name.into(),
        meta: Meta {
            title: format!("title of {name}"),
            id: Some(Spanned::new(format!("id-{name}"), Span::default())),
            level: Some(Spanned::new("high".into(), Span::default())),
            ..Meta::default()
        },
        logsource: LogSource {
            product: opt(ls.0),
            category: opt(ls.1),
            service: opt(ls.2),
            definition: None,
        },
        body: RuleBody::Detection(Detection {
            selections: vec![sel("selection", groups)],
            condition: if negate {
                Cond::Not(Box::new(cond))
            } else {
                cond
            },
            condition_span: Span::default(),
        }),
        tests: Vec::new(),
        loc: Loc::new(SourceId(0), Span::default()),
    }
}

fn write_ndjson(dir: &tempfile::TempDir, name: &str, events: &[serde_json::Value]) -> PathBuf {
    let p = dir.path().join(name);
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&p, text).unwrap();
    p
}

fn run(rules: &[Rule], files: &[PathBuf], declared: Option<&str>) -> Vec<serde_json::Value> {
    let opts = EngineOptions {
        declared: declared.map(|d| Provides::parse(d).unwrap()),
        placeholders: None,
        threads: 0,
    };
    let mut out = Vec::new();
    let (_, diags) = run_match(rules, files, &opts, OutFormat::Jsonl, &mut out);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn reg_exe_rule() -> Rule {
    rule(
        "reg_amsi",
        ("windows", "process_creation", ""),
        vec![vec![
            (Some("Image"), vec![Modifier::EndsWith], vec!["\\reg.exe"]),
            (
                Some("CommandLine"),
                vec![Modifier::Contains],
                vec!["AmsiEnable"],
            ),
        ]],
        false,
    )
}

#[test]
fn routes_by_log_source_and_normalises_security_4688() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_ndjson(
        &dir,
        "ev.jsonl",
        &[
            // Sysmon process creation: applies.
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": "pc1",
                   "UtcTime": "2025-01-01 10:00:00.000",
                   "Image": "C:\\Windows\\reg.exe", "CommandLine": "reg add x /v AmsiEnable"}),
            // Sysmon network connection with the same fields: wrong category.
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
                   "Image": "C:\\Windows\\reg.exe", "CommandLine": "reg add x /v AmsiEnable"}),
            // Security 4688: NewProcessName serves Image.
            json!({"Channel": "Security", "EventID": 4688,
                   "NewProcessName": "C:\\Windows\\reg.exe", "CommandLine": "reg add x /v AmsiEnable"}),
            // Security 4624: not process creation.
            json!({"Channel": "Security", "EventID": 4624,
                   "NewProcessName": "C:\\Windows\\reg.exe", "CommandLine": "reg add x /v AmsiEnable"}),
        ],
    );
    let lines = run(&[reg_exe_rule()], std::slice::from_ref(&f), None);
    let idx: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!(idx, vec![0, 2]);
    let l = &lines[0];
    assert_eq!(l["rule_id"], "id-reg_amsi");
    assert_eq!(l["rule_name"], "reg_amsi");
    assert_eq!(l["title"], "title of reg_amsi");
    assert_eq!(l["level"], "high");
    assert_eq!(l["computer"], "pc1");
    assert_eq!(l["timestamp"], "2025-01-01T10:00:00Z");
    assert_eq!(l["file"], f.display().to_string());
}

#[test]
fn declared_log_source_for_events_without_channel() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_ndjson(
        &dir,
        "proxy.jsonl",
        &[json!({"c-uri": "/index.php?id=1", "_ignored": "x"})],
    );
    let r = rule(
        "proxy_php",
        ("", "proxy", ""),
        vec![vec![(
            Some("c-uri"),
            vec![Modifier::Contains],
            vec!["/index.php"],
        )]],
        false,
    );
    assert_eq!(
        run(
            std::slice::from_ref(&r),
            std::slice::from_ref(&f),
            Some("category=proxy")
        )
        .len(),
        1
    );
    assert_eq!(
        run(
            std::slice::from_ref(&r),
            std::slice::from_ref(&f),
            Some("category=firewall")
        )
        .len(),
        0
    );
    // Nothing declared: nothing is known, the rule is tried.
    assert_eq!(run(&[r], &[f], None).len(), 1);
}

#[test]
fn regression_evtx_and_json_both_fire() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/sigmahq/regression_data/rules/windows/process_creation/proc_creation_win_amsi_registry_tampering");
    let base = if base.exists() {
        base
    } else {
        PathBuf::from("/work/shared/sigmahq/regression_data/rules/windows/process_creation/proc_creation_win_amsi_registry_tampering")
    };
    let lines = run(&[reg_exe_rule()], &[base], None);
    let files: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 2, "{lines:?}");
    assert!(files[0].ends_with(".evtx") && files[1].ends_with(".json"));
}

fn corr_rule(
    kind: CorrelationKind,
    refs: &[&str],
    cond: Option<(CmpOp, i64)>,
    field: Option<&str>,
) -> Rule {
    Rule {
        name: "corr".into(),
        meta: Meta {
            title: "correlation".into(),
            ..Meta::default()
        },
        logsource: LogSource::default(),
        body: RuleBody::Correlation(Correlation {
            kind,
            rules: refs
                .iter()
                .map(|r| Spanned::new(r.to_string(), Span::default()))
                .collect(),
            group_by: vec!["TargetUserName".into()],
            timespan: Spanned::new(Timespan::parse("1m").unwrap(), Span::default()),
            condition: cond.map(|c| CorrelationCondition {
                cmps: vec![c],
                field: field.map(String::from),
            }),
            aliases: Default::default(),
            generate: false,
        }),
        tests: Vec::new(),
        loc: Loc::new(SourceId(0), Span::default()),
    }
}

#[test]
fn correlations_over_event_time() {
    let failed = rule(
        "failed",
        ("windows", "", "security"),
        vec![vec![(Some("EventID"), vec![], vec!["4625"])]],
        false,
    );
    let ok = rule(
        "success",
        ("windows", "", "security"),
        vec![vec![(Some("EventID"), vec![], vec!["4624"])]],
        false,
    );
    let ev = |id: i64, user: &str, sec: u32, ip: &str| {
        json!({"Channel": "Security", "EventID": id, "TargetUserName": user, "IpAddress": ip,
               "TimeCreated_SystemTime": format!("2025-01-01T10:00:{sec:02}Z")})
    };
    let dir = tempfile::tempdir().unwrap();
    let f = write_ndjson(
        &dir,
        "logons.jsonl",
        &[
            ev(4625, "bob", 0, "1.1.1.1"),
            ev(4625, "bob", 10, "1.1.1.2"),
            ev(4625, "alice", 12, "1.1.1.1"),
            ev(4625, "bob", 20, "1.1.1.3"),
            ev(4624, "bob", 30, "1.1.1.3"),
            ev(4624, "alice", 1, "1.1.1.3"),
        ],
    );
    let corr_lines = |c: Rule| -> Vec<serde_json::Value> {
        run(
            &[failed.clone(), ok.clone(), c],
            std::slice::from_ref(&f),
            None,
        )
        .into_iter()
        .filter(|l| l.get("correlation").is_some())
        .collect()
    };
    let ec = corr_lines(corr_rule(
        CorrelationKind::EventCount,
        &["failed"],
        Some((CmpOp::Gte, 3)),
        None,
    ));
    assert_eq!(ec.len(), 1, "{ec:?}");
    assert_eq!(ec[0]["group"]["TargetUserName"], "bob");
    assert_eq!(ec[0]["count"], 3);
    assert_eq!(ec[0]["index"], 3);
    let ec4 = corr_lines(corr_rule(
        CorrelationKind::EventCount,
        &["failed"],
        Some((CmpOp::Gte, 4)),
        None,
    ));
    assert!(ec4.is_empty());
    let vc = corr_lines(corr_rule(
        CorrelationKind::ValueCount,
        &["failed"],
        Some((CmpOp::Gte, 3)),
        Some("IpAddress"),
    ));
    assert_eq!(vc.len(), 1);
    let t = corr_lines(corr_rule(
        CorrelationKind::Temporal,
        &["failed", "success"],
        None,
        None,
    ));
    // bob: failures then success; alice: success at :01 then failure at :12 (any order).
    assert_eq!(t.len(), 2, "{t:?}");
    let to = corr_lines(corr_rule(
        CorrelationKind::TemporalOrdered,
        &["failed", "success"],
        None,
        None,
    ));
    assert_eq!(to.len(), 1, "{to:?}");
    assert_eq!(to[0]["group"]["TargetUserName"], "bob");
}

/// Rules mixing everything the prefilter must be careful about: OR with and without
/// literals, NOT, keywords, numbers, cased patterns.
fn mixed_rules() -> Vec<Rule> {
    let ls = ("", "", "");
    vec![
        rule(
            "a",
            ls,
            vec![vec![(Some("A"), vec![Modifier::Contains], vec!["abc"])]],
            false,
        ),
        rule(
            "b",
            ls,
            vec![
                vec![(Some("A"), vec![], vec!["ab"])],
                vec![(Some("B"), vec![Modifier::StartsWith], vec!["c"])],
            ],
            false,
        ),
        rule(
            "c",
            ls,
            vec![vec![(Some("A"), vec![Modifier::Contains], vec!["b"])]],
            true,
        ),
        rule("d", ls, vec![vec![(None, vec![], vec!["ca"])]], false),
        rule(
            "e",
            ls,
            vec![vec![(
                Some("B"),
                vec![Modifier::Cased, Modifier::EndsWith],
                vec!["Ab"],
            )]],
            false,
        ),
        rule(
            "f",
            ls,
            vec![vec![(Some("N"), vec![Modifier::Gte], vec!["3"])]],
            false,
        ),
        rule(
            "g",
            ls,
            vec![vec![
                (Some("A"), vec![Modifier::Re], vec!["^a.c$"]),
                (
                    Some("B"),
                    vec![Modifier::Contains, Modifier::All],
                    vec!["a", "b"],
                ),
            ]],
            false,
        ),
    ]
}

/// Keyword rules whose keywords overlap and share starts (`ab`, `abc`, `bca`), one combined
/// with a field test; with `many`, one with more keywords than the packed (SIMD) keyword
/// search takes, so that the prefilter falls back to an automaton for keywords.
fn keyword_rules(many: bool) -> Vec<Rule> {
    let ls = ("", "", "");
    let mut rules = vec![
        rule(
            "kw-h",
            ls,
            vec![vec![(None, vec![], vec!["ab", "abc", "bca"])]],
            false,
        ),
        rule(
            "kw-i",
            ls,
            vec![
                vec![(None, vec![], vec!["cab"])],
                vec![(Some("B"), vec![Modifier::Contains], vec!["a"])],
            ],
            false,
        ),
    ];
    if many {
        let mut words: Vec<&'static str> = (0..200)
            .map(|i| &*Box::leak(format!("zz{i:03}").into_boxed_str()))
            .collect();
        words.push("bb");
        rules.push(rule("kw-j", ls, vec![vec![(None, vec![], words)]], false));
    }
    rules
}

proptest! {
    #[test]
    fn prefilter_never_loses_a_match(
        a in proptest::option::of("[abcAB]{0,5}"),
        b in proptest::option::of("[abcAB]{0,5}"),
        n in proptest::option::of(0i64..6),
        // A field no rule names: only keywords are looked for in it.
        c in proptest::option::of("[abcAB]{0,6}"),
        many in any::<bool>(),
    ) {
        let mut rules = mixed_rules();
        rules.extend(keyword_rules(many));
        let mut m = serde_json::Map::new();
        if let Some(a) = a { m.insert("A".into(), json!(a)); }
        if let Some(b) = b { m.insert("B".into(), json!(b)); }
        if let Some(c) = c { m.insert("C".into(), json!(c)); }
        if let Some(n) = n { m.insert("N".into(), json!(n)); }
        let event = Event::from_json_map(&m);
        let (engine, d) = Engine::new(&rules, &EngineOptions::default());
        prop_assert!(d.is_empty());
        let mut s = engine.scratch();
        let mut ev = event.clone();
        let class = engine.prepare(&mut ev);
        let mut got = Vec::new();
        engine.matches(&ev, &class, &mut s, &mut got);
        let want: Vec<usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| eval_expr(r, &normalize(r, NormOptions::default()).unwrap(), &event))
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn bad_lines_are_reported_and_the_rest_matches() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mixed.jsonl");
    std::fs::write(&p, "{\"A\": \"abc\"}\n{not json\n{\"A\": \"xabcx\"}\n").unwrap();
    let rules = mixed_rules();
    let mut out = Vec::new();
    let (summary, diags) = run_match(
        &rules[..1],
        std::slice::from_ref(&p),
        &EngineOptions::default(),
        OutFormat::Jsonl,
        &mut out,
    );
    assert_eq!(summary.events, 2);
    assert_eq!(summary.matches, 2);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.contains("record 1"));
    assert_eq!(diags[0].path.as_deref(), Some(p.as_path()));
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().nth(1).unwrap().contains("\"index\":2"));
}

/// The output, counts and diagnostics do not depend on the number of threads: batches are
/// matched in parallel but written in input order (several files, several batches each, bad
/// lines and a JSON array among them).
#[test]
fn output_is_the_same_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let words = ["abc", "xabcx", "ab", "b", "zzz", "ca"];
    let mut files = Vec::new();
    for f in 0..3 {
        let mut text = String::new();
        for i in 0..2500 {
            if i % 997 == 5 {
                text.push_str("{broken\n");
            } else {
                let a = words[(i * 7 + f) % words.len()];
                let b = words[(i * 3) % words.len()];
                text.push_str(&format!("{{\"A\": \"{a}\", \"B\": \"{b}\", \"n\": {i}}}\n"));
            }
        }
        let p = dir.path().join(format!("f{f}.jsonl"));
        std::fs::write(&p, text).unwrap();
        files.push(p);
    }
    let arr = dir.path().join("g.json");
    std::fs::write(&arr, "[{\"A\": \"abc\"}, 3, {\"B\": \"ca\"}]").unwrap();
    files.push(arr);
    let rules = mixed_rules();
    let go = |threads: usize| {
        let opts = EngineOptions {
            threads,
            ..EngineOptions::default()
        };
        let mut out = Vec::new();
        let (summary, diags) = run_match(&rules, &files, &opts, OutFormat::Jsonl, &mut out);
        let msgs: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        (
            out,
            summary.events,
            summary.matches,
            summary.bad_records,
            msgs,
        )
    };
    let one = go(1);
    assert_eq!(one.1, 3 * 2500 - 9 + 2);
    assert!(one.2 > 5000, "{}", one.2);
    assert_eq!(one.3, 10);
    assert_eq!(one.4.len(), 10);
    for threads in [2, 3, 5] {
        let many = go(threads);
        assert!(many == one, "{threads} threads differ from one");
    }
}

/// Long `contains` lists and keyword lists are evaluated as one multi-literal search and feed
/// the prefilter (keywords: a literal in any field); checked against the definition written
/// out by hand (case-insensitive substring of some value).
mod merged_lists {
    use super::*;

    const LITS: [&str; 4] = ["abc", "ca", "bB", "12"];

    fn rules() -> Vec<Rule> {
        let ls = ("", "", "");
        vec![
            rule(
                "list",
                ls,
                vec![vec![(Some("A"), vec![Modifier::Contains], LITS.to_vec())]],
                false,
            ),
            rule(
                "keywords",
                ls,
                vec![vec![(None, vec![], LITS.to_vec())]],
                false,
            ),
            rule(
                "list-and-other",
                ls,
                vec![vec![
                    (Some("A"), vec![Modifier::Contains], LITS.to_vec()),
                    (Some("B"), vec![Modifier::StartsWith], vec!["a"]),
                ]],
                false,
            ),
        ]
    }

    proptest! {
        #[test]
        fn merged_lists_match_their_definition(
            a in proptest::option::of("[abcAB12]{0,6}"),
            b in proptest::option::of("[abcAB12]{0,6}"),
            n in proptest::option::of(0i64..30),
            flag in proptest::option::of(any::<bool>()),
        ) {
            let mut m = serde_json::Map::new();
            if let Some(a) = &a { m.insert("A".into(), json!(a)); }
            if let Some(b) = &b { m.insert("B".into(), json!(b)); }
            if let Some(n) = n { m.insert("N".into(), json!(n)); }
            if let Some(f) = flag { m.insert("F".into(), json!(f)); }
            let has = |s: &str| {
                let s = s.to_lowercase();
                LITS.iter().any(|l| s.contains(&l.to_lowercase()))
            };
            let list = a.as_deref().is_some_and(has);
            // Keywords look at strings and numbers, not booleans.
            let keywords = list
                || b.as_deref().is_some_and(has)
                || n.is_some_and(|n| has(&n.to_string()));
            let other = list && b.as_deref().is_some_and(|b| b.to_lowercase().starts_with('a'));
            let want: Vec<usize> = [list, keywords, other]
                .iter()
                .enumerate()
                .filter(|(_, &w)| w)
                .map(|(i, _)| i)
                .collect();
            let rules = rules();
            let event = Event::from_json_map(&m);
            let (engine, d) = Engine::new(&rules, &EngineOptions::default());
            prop_assert!(d.is_empty());
            let mut s = engine.scratch();
            let mut ev = event.clone();
            let class = engine.prepare(&mut ev);
            let mut got = Vec::new();
            engine.matches(&ev, &class, &mut s, &mut got);
            prop_assert_eq!(&got, &want);
            let direct: Vec<usize> = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| eval_expr(r, &normalize(r, NormOptions::default()).unwrap(), &event))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(direct, want);
        }
    }
}
