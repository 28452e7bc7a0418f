//! The Sigma writer: key order, quoting, condition printing, correlations, determinism, and
//! that any string survives write -> read unchanged.

use detc::diag::{Loc, SourceId, Span};
use detc::ir::{
    CmpOp, Cond, Correlation, CorrelationCondition, CorrelationKind, Detection, LogSource, Matcher,
    Meta, Modifier, OfTarget, Quant, Rule, RuleBody, Selection, SigmaString, Spanned, Timespan,
    Value,
};
use detc::sigma;
use indexmap::IndexMap;
use proptest::prelude::*;

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(v, Span::default())
}

fn matcher(field: Option<&str>, mods: &[Modifier], values: Vec<Value>) -> Matcher {
    Matcher {
        field: field.map(str::to_string),
        modifiers: mods.to_vec(),
        values,
        span: Span::default(),
    }
}

fn s(text: &str, mods: &[Modifier]) -> Value {
    Value::from_text(text, mods)
}

fn rule(meta: Meta, selections: Vec<Selection>, condition: Cond) -> Rule {
    Rule {
        name: "r".into(),
        meta,
        logsource: LogSource {
            category: Some("process_creation".into()),
            product: Some("windows".into()),
            ..Default::default()
        },
        body: RuleBody::Detection(Detection {
            selections,
            condition,
            condition_span: Span::default(),
        }),
        tests: Vec::new(),
        loc: Loc::default(),
    }
}

fn sel(name: &str, groups: Vec<Vec<Matcher>>) -> Selection {
    Selection {
        name: name.into(),
        span: Span::default(),
        groups,
    }
}

fn name(n: &str) -> Cond {
    Cond::Sel(sp(n.to_string()))
}

/// write -> read gives back the same IR (spans cleared), and writing again the same bytes.
fn round_trip(r: &Rule) -> String {
    let text = sigma::write(r);
    let (rules, diags) = sigma::read_named(SourceId(0), &text, &r.name);
    assert!(diags.is_empty(), "{diags:#?}\n{text}");
    assert_eq!(rules.len(), 1, "{text}");
    let mut a = r.clone();
    let mut b = rules[0].clone();
    sigma::clear_spans(&mut a);
    sigma::clear_spans(&mut b);
    assert_eq!(a, b, "\n{text}");
    assert_eq!(sigma::write(&rules[0]), text, "stable output");
    text
}

#[test]
fn exact_layout_and_key_order() {
    let mut meta = Meta {
        title: "Local account added by net.exe".into(),
        id: Some(sp("8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10".into())),
        status: Some(sp("experimental".into())),
        description: Some("Two\nlines".into()),
        author: Some("detc".into()),
        references: vec!["https://example.org/a?b=c#d".into()],
        date: Some("2026/11/22".into()),
        modified: Some("2026-11-23".into()),
        tags: vec![sp("attack.T1136.001".into())],
        level: Some(sp("high".into())),
        falsepositives: vec!["Help-desk staff".into()],
        license: Some("DRL-1.1".into()),
        ..Default::default()
    };
    meta.custom
        .insert("x-team".into(), serde_json::json!({"owner": "soc", "n": 3}));
    let r = rule(
        meta,
        vec![
            sel(
                "net",
                vec![vec![
                    matcher(
                        Some("Image"),
                        &[Modifier::EndsWith],
                        vec![s(r"\net.exe", &[]), s(r"\net1.exe", &[])],
                    ),
                    matcher(Some("EventID"), &[], vec![Value::Int(1)]),
                ]],
            ),
            sel(
                "words",
                vec![vec![matcher(None, &[], vec![s("mimikatz", &[])])]],
            ),
            sel(
                "filter_a",
                vec![
                    vec![matcher(Some("User"), &[], vec![Value::Null])],
                    vec![
                        matcher(Some("User"), &[Modifier::Contains], vec![s("$", &[])]),
                        matcher(None, &[Modifier::All], vec![s("a", &[]), s("b", &[])]),
                    ],
                ],
            ),
        ],
        Cond::And(vec![
            Cond::Or(vec![name("net"), name("words")]),
            Cond::Not(Box::new(Cond::Of(
                Quant::One,
                sp(OfTarget::Pattern("filter_*".into())),
            ))),
        ]),
    );
    let want = r#"title: Local account added by net.exe
id: 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10
status: experimental
description: "Two\nlines"
license: DRL-1.1
references:
    - 'https://example.org/a?b=c#d'
author: detc
date: 2026-11-22
modified: 2026-11-23
tags:
    - attack.t1136.001
logsource:
    category: process_creation
    product: windows
detection:
    net:
        Image|endswith:
            - '\net.exe'
            - '\net1.exe'
        EventID: 1
    words:
        - 'mimikatz'
    filter_a:
        - User: null
        - User|contains: '$'
          '|all':
              - 'a'
              - 'b'
    condition: (net or words) and not 1 of filter_*
falsepositives:
    - Help-desk staff
level: high
x-team:
    owner: soc
    'n': 3
"#;
    let got = sigma::write(&r);
    assert_eq!(got, want);
    // Dates and tags are normalised, so compare the re-read rule with the normalised IR.
    let (rules, diags) = sigma::read(SourceId(0), &got);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(rules[0].meta.date.as_deref(), Some("2026-11-22"));
    assert_eq!(sigma::write(&rules[0]), want);
}

#[test]
fn ids_are_never_invented() {
    let r = rule(
        Meta {
            title: "t".into(),
            ..Default::default()
        },
        vec![sel(
            "s",
            vec![vec![matcher(Some("a"), &[], vec![Value::Int(1)])]],
        )],
        name("s"),
    );
    let text = round_trip(&r);
    assert!(!text.contains("\nid:"), "{text}");
}

const NASTY: &[&str] = &[
    "",
    " ",
    "'",
    "''",
    "\"",
    r"C:\Windows\",
    r"\\server\share",
    "a: b",
    "a #b",
    "# comment",
    "*leading",
    "?q",
    "%Admins%",
    "- dash",
    "[x]",
    "{x}",
    "& anchor",
    "!tag",
    "| block",
    "> fold",
    "@at",
    "`tick",
    "null",
    "~",
    "true",
    "yes",
    "No",
    "0x1F",
    "00000429",
    "1e3",
    "4688",
    "-1",
    ".5",
    ".inf",
    "2024-01-01",
    "12:30",
    "line1\nline2",
    "tab\there",
    "cr\rlf",
    "trailing\n",
    "\u{0}nul",
    "\u{7f}del",
    "\u{85}nel",
    "\u{2028}ls",
    "\u{feff}bom",
    "émoji 🎉 日本語",
    "ends with space ",
    "  leading spaces",
    "---",
    "...",
    "key|mod",
];

#[test]
fn any_string_survives_everywhere() {
    for &text in NASTY {
        let mods_list: &[&[Modifier]] = &[&[], &[Modifier::Contains], &[Modifier::Re]];
        let mut groups = Vec::new();
        for mods in mods_list {
            groups.push(vec![matcher(Some("F"), mods, vec![s(text, mods)])]);
        }
        // As a field name too (except names with `|`, which Sigma cannot spell).
        if !text.contains('|') && !text.is_empty() {
            groups.push(vec![matcher(Some(text), &[], vec![Value::Int(1)])]);
        }
        groups.push(vec![matcher(None, &[], vec![s(text, &[])])]);
        let mut meta = Meta {
            title: text.into(),
            description: Some(text.into()),
            author: Some(text.into()),
            references: vec![text.into()],
            falsepositives: vec![text.into()],
            ..Default::default()
        };
        meta.custom
            .insert(format!("x{text}"), serde_json::json!([text, {"k": text}]));
        let r = rule(meta, vec![sel("s", groups)], name("s"));
        round_trip(&r);
    }
}

#[test]
fn condition_printing_keeps_the_tree() {
    let cases = vec![
        Cond::Or(vec![
            Cond::And(vec![name("a"), name("b")]),
            Cond::Not(Box::new(Cond::Or(vec![name("c"), name("d")]))),
        ]),
        Cond::And(vec![Cond::Or(vec![name("a"), name("b")]), name("c")]),
        Cond::Or(vec![Cond::Or(vec![name("a"), name("b")]), name("c")]),
        Cond::Not(Box::new(Cond::Not(Box::new(name("a"))))),
        Cond::Of(Quant::All, sp(OfTarget::Them)),
    ];
    for c in cases {
        let sels = ["a", "b", "c", "d"]
            .iter()
            .map(|n| sel(n, vec![vec![matcher(Some("f"), &[], vec![Value::Int(1)])]]))
            .collect();
        round_trip(&rule(
            Meta {
                title: "c".into(),
                ..Default::default()
            },
            sels,
            c,
        ));
    }
}

#[test]
fn values_of_every_type() {
    let vals = [
        Value::Int(i64::MIN),
        Value::Int(0),
        Value::Float(1.0),
        Value::Float(-2.5e-9),
        Value::Float(f64::INFINITY),
        Value::Bool(false),
        Value::Null,
        Value::Str(SigmaString::parse(r"a\*b\\*c?%x%\%", true)),
    ];
    let r = rule(
        Meta {
            title: "v".into(),
            ..Default::default()
        },
        vec![
            sel(
                "s",
                vec![vec![
                    matcher(Some("F"), &[], vals[..7].to_vec()),
                    matcher(Some("G"), &[Modifier::Expand], vals[7..].to_vec()),
                    matcher(Some("H"), &[], vec![]),
                ]],
            ),
            sel("e", vec![vec![]]),
            sel("n", vec![]),
        ],
        Cond::Or(vec![name("s"), name("e"), name("n")]),
    );
    round_trip(&r);
}

#[test]
fn correlation_format() {
    let mut aliases = IndexMap::new();
    aliases.insert(
        "src".to_string(),
        IndexMap::from([
            ("failed".to_string(), "IpAddress".to_string()),
            ("ok".to_string(), "SourceIp".to_string()),
        ]),
    );
    let r = Rule {
        name: "c".into(),
        meta: Meta {
            title: "Many failures".into(),
            level: Some(sp("medium".into())),
            ..Default::default()
        },
        logsource: LogSource::default(),
        body: RuleBody::Correlation(Correlation {
            kind: CorrelationKind::ValueCount,
            rules: vec![sp("failed".into()), sp("ok".into())],
            group_by: vec!["src".into()],
            timespan: sp(Timespan::parse("1h").unwrap()),
            condition: Some(CorrelationCondition {
                cmps: vec![(CmpOp::Gte, 10), (CmpOp::Lt, 100)],
                field: Some("User".into()),
            }),
            aliases,
            generate: true,
        }),
        tests: Vec::new(),
        loc: Loc::default(),
    };
    let text = round_trip(&r);
    assert_eq!(
        text,
        "title: Many failures
correlation:
    type: value_count
    rules:
        - failed
        - ok
    group-by:
        - src
    timespan: 1h
    condition:
        gte: 10
        lt: 100
        field: User
    aliases:
        src:
            failed: IpAddress
            ok: SourceIp
    generate: true
level: medium
"
    );
}

#[test]
fn fixtures_round_trip() {
    for f in ["all_features.yml", "correlation.yml", "filter_target.yml"] {
        let p = format!("{}/tests/fixtures/sigma/{f}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(p).unwrap();
        let (rules, diags) = sigma::read_named(SourceId(0), &text, "fx");
        assert!(diags.is_empty(), "{f}: {diags:?}");
        for r in &rules {
            round_trip(r);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn arbitrary_strings_round_trip(text in any::<String>(), field in "[A-Za-z_][A-Za-z0-9_.-]{0,12}") {
        let r = rule(
            Meta { title: text.clone(), description: Some(text.clone()), ..Default::default() },
            vec![sel("s", vec![vec![
                matcher(Some(&field), &[Modifier::Contains], vec![s(&text, &[Modifier::Contains])]),
                matcher(Some("R"), &[Modifier::Re], vec![s(&text, &[Modifier::Re])]),
            ]])],
            name("s"),
        );
        round_trip(&r);
    }
}

#[test]
fn a_field_tested_twice_in_one_group() {
    let c = [Modifier::Contains];
    let mergeable = rule(
        Meta {
            title: "dup".into(),
            ..Default::default()
        },
        vec![sel(
            "s",
            vec![vec![
                matcher(Some("Image"), &[], vec![s("x", &[])]),
                matcher(Some("CommandLine"), &c, vec![s("a", &c)]),
                matcher(Some("CommandLine"), &c, vec![s("b", &c)]),
            ]],
        )],
        name("s"),
    );
    assert!(sigma::check_writable(&mergeable).is_empty());
    let text = sigma::write(&mergeable);
    assert!(
        text.contains("CommandLine|contains|all:\n            - 'a'\n            - 'b'\n"),
        "{text}"
    );
    let (rules, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.is_empty());
    fn unspan(e: detc::ir::norm::Expr) -> detc::ir::norm::Expr {
        use detc::ir::norm::Expr;
        match e {
            Expr::And(xs) => Expr::And(xs.into_iter().map(unspan).collect()),
            Expr::Or(xs) => Expr::Or(xs.into_iter().map(unspan).collect()),
            Expr::Not(x) => Expr::Not(Box::new(unspan(*x))),
            Expr::Pred(mut p) => {
                p.span = Span::default();
                Expr::Pred(p)
            }
            Expr::Const(b) => Expr::Const(b),
        }
    }
    let norm = |r: &Rule| unspan(detc::ir::norm::normalize(r, Default::default()).unwrap());
    assert_eq!(norm(&rules[0]), norm(&mergeable), "same semantics");

    // `neq` negates a whole list, so two `neq` tests cannot become one list.
    let n = [Modifier::Neq];
    let unmergeable = rule(
        Meta {
            title: "dup".into(),
            ..Default::default()
        },
        vec![sel(
            "s",
            vec![vec![
                matcher(Some("User"), &n, vec![s("a", &n)]),
                matcher(Some("User"), &n, vec![s("b", &n)]),
            ]],
        )],
        name("s"),
    );
    let d = sigma::check_writable(&unmergeable);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "sigma-unwritable");
    // Written anyway, the repeated key makes the reader fail rather than drop a test.
    let (_, diags) = sigma::read(SourceId(0), &sigma::write(&unmergeable));
    assert!(diags.iter().any(|d| d.code == "duplicate-key"));
}

#[test]
fn examples_travel_in_a_custom_key() {
    use detc::ir::{Example, Expect};
    let mut r = rule(
        Meta {
            title: "with tests".into(),
            ..Default::default()
        },
        vec![sel(
            "s",
            vec![vec![matcher(Some("a"), &[], vec![Value::Int(1)])]],
        )],
        name("s"),
    );
    let event = |v: serde_json::Value| v.as_object().unwrap().clone();
    r.tests = vec![
        Example {
            expect: Expect::Hit,
            event: event(serde_json::json!({
                "Image": "C:\\Windows\\System32\\net1.exe",
                "CommandLine": "net1 localgroup \"Remote Desktop Users\" bob /add\n",
                "EventID": 1,
                "Ratio": 0.5,
                "Flag": true,
                "Gone": null,
                "List": ["a", 2],
                "c-uri": "*%x%",
            })),
            span: Span::default(),
        },
        Example {
            expect: Expect::Miss,
            event: serde_json::Map::new(),
            span: Span::default(),
        },
    ];
    let text = round_trip(&r);
    assert!(
        text.contains("x-detc-tests:\n    -   expect: hit\n        event:\n"),
        "{text}"
    );
}
