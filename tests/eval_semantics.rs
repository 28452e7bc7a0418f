//! The evaluator's Sigma semantics: every `Test` variant, modifiers through normalisation, and
//! `run_examples` diagnostics.

use detc::diag::{Loc, SourceId, Span};
use detc::eval::{eval_expr, run_examples, Event};
use detc::ir::norm::{normalize, Expr, NormOptions, Number, Position, Pred, ReFlags, Test};
use detc::ir::{
    CmpOp, Cond, Detection, Example, Expect, LogSource, Matcher, Meta, Modifier, Piece, Quant,
    Rule, RuleBody, Selection, SigmaString, Spanned, Value,
};
use serde_json::json;

fn rule_with(selections: Vec<(&str, Vec<Matcher>)>, condition: Cond) -> Rule {
    Rule {
        name: "r".into(),
        meta: Meta::default(),
        logsource: LogSource::default(),
        body: RuleBody::Detection(Detection {
            selections: selections
                .into_iter()
                .map(|(n, ms)| Selection {
                    name: n.into(),
                    span: Span::default(),
                    groups: vec![ms],
                })
                .collect(),
            condition,
            condition_span: Span::default(),
        }),
        tests: Vec::new(),
        loc: Loc::new(SourceId(0), Span::new(0, 10)),
    }
}

fn sel(name: &str) -> Cond {
    Cond::Sel(Spanned::new(name.into(), Span::default()))
}

fn m(field: Option<&str>, mods: &[Modifier], values: Vec<Value>) -> Matcher {
    Matcher {
        field: field.map(String::from),
        modifiers: mods.to_vec(),
        values,
        span: Span::default(),
    }
}

fn s(text: &str, mods: &[Modifier]) -> Value {
    Value::from_text(text, mods)
}

fn ev(v: serde_json::Value) -> Event {
    Event::from_json_map(v.as_object().expect("object"))
}

/// One matcher as the whole rule; returns a closure-like checker.
fn one(field: Option<&str>, mods: &[Modifier], values: Vec<Value>) -> (Rule, Expr) {
    let r = rule_with(vec![("sel", vec![m(field, mods, values)])], sel("sel"));
    let e = normalize(&r, NormOptions::default()).expect("normalises");
    (r, e)
}

fn hit(re: &(Rule, Expr), event: serde_json::Value) -> bool {
    eval_expr(&re.0, &re.1, &ev(event))
}

fn pred(field: Option<&str>, test: Test) -> Expr {
    Expr::Pred(Pred {
        field: field.map(String::from),
        test,
        span: Span::default(),
    })
}

fn on(expr: &Expr, event: serde_json::Value) -> bool {
    let r = rule_with(vec![], Cond::And(vec![]));
    eval_expr(&r, expr, &ev(event))
}

#[test]
fn str_equality_is_case_insensitive_unless_cased() {
    let r = one(Some("Image"), &[], vec![s("C:\\Windows\\Net.exe", &[])]);
    assert!(hit(&r, json!({"Image": "c:\\windows\\NET.EXE"})));
    assert!(!hit(&r, json!({"Image": "c:\\windows\\net.exe.bak"})));
    assert!(!hit(&r, json!({"Other": "c:\\windows\\net.exe"})));
    let r = one(
        Some("Image"),
        &[Modifier::Cased],
        vec![s("Net.exe", &[Modifier::Cased])],
    );
    assert!(hit(&r, json!({"Image": "Net.exe"})));
    assert!(!hit(&r, json!({"Image": "net.exe"})));
}

/// Case-insensitive matching lowers one character to one (src/ir/case.rs): `İ` is `i` and
/// `Σ` is `σ` wherever they stand, as SQL's `lower()` has it, not Rust's `to_lowercase`
/// (`i` + U+0307, a final `ς`).
#[test]
fn unicode_lowercase() {
    let r = one(Some("User"), &[], vec![s("ÖSTERREICH\\ADMİN", &[])]);
    assert!(hit(&r, json!({"User": "österreich\\admin"})));
    assert!(hit(&r, json!({"User": "ÖSTERREICH\\ADMİN"})));
    assert!(!hit(&r, json!({"User": "österreich\\admi\u{307}n"})));
    let r = one(Some("User"), &[Modifier::Contains], vec![s("Σ", &[])]);
    assert!(hit(&r, json!({"User": "xσx"})));
    // A word-final capital sigma is `σ`, not `ς`; `ς` stays a letter of its own.
    let r = one(Some("User"), &[], vec![s("ΟΔΟΣ", &[])]);
    assert!(hit(&r, json!({"User": "οδοσ"})));
    assert!(!hit(&r, json!({"User": "οδος"})));
    // `?` is one character of the text, `İ` included.
    let r = one(Some("User"), &[], vec![s("adm?n", &[])]);
    assert!(hit(&r, json!({"User": "ADMİN"})));
}

#[test]
fn position_modifiers_and_wildcards() {
    let c = one(
        Some("CommandLine"),
        &[Modifier::Contains],
        vec![s("localgroup", &[])],
    );
    assert!(hit(&c, json!({"CommandLine": "net LOCALGROUP admins"})));
    assert!(!hit(&c, json!({"CommandLine": "net user"})));
    let sw = one(
        Some("Image"),
        &[Modifier::StartsWith],
        vec![s("C:\\Temp\\", &[])],
    );
    assert!(hit(&sw, json!({"Image": "c:\\temp\\a.exe"})));
    assert!(!hit(&sw, json!({"Image": "d:\\c:\\temp\\a.exe"})));
    let ew = one(
        Some("Image"),
        &[Modifier::EndsWith],
        vec![s("\\net.exe", &[])],
    );
    assert!(hit(&ew, json!({"Image": "C:\\x\\NET.exe"})));
    // Wildcards in the middle; `?` exactly one character.
    // (Sigma escaping: `\\*` is a backslash then a wildcard.)
    let w = one(Some("Image"), &[], vec![s("C:\\\\*\\\\n?t.exe", &[])]);
    assert!(hit(&w, json!({"Image": "C:\\Windows\\System32\\net.exe"})));
    assert!(hit(&w, json!({"Image": "C:\\a\\nét.exe"})));
    assert!(!hit(&w, json!({"Image": "C:\\a\\neet.exe"})));
    // An escaped star is literal.
    let lit = one(Some("F"), &[], vec![s("a\\*b", &[])]);
    assert!(hit(&lit, json!({"F": "A*B"})));
    assert!(!hit(&lit, json!({"F": "axb"})));
}

#[test]
fn all_modifier_and_lists() {
    let r = one(
        Some("CommandLine"),
        &[Modifier::Contains, Modifier::All],
        vec![s("localgroup", &[]), s("/add", &[])],
    );
    assert!(hit(&r, json!({"CommandLine": "net localgroup x /add"})));
    assert!(!hit(&r, json!({"CommandLine": "net localgroup x"})));
    // A list-valued field matches when any element does.
    let r = one(Some("Tags"), &[], vec![s("b", &[])]);
    assert!(hit(&r, json!({"Tags": ["a", "B"]})));
    assert!(!hit(&r, json!({"Tags": ["a", "c"]})));
}

#[test]
fn regex_unanchored_with_flags() {
    let mods = [Modifier::Re];
    let r = one(Some("C"), &mods, vec![s(r"net1?\.exe\s+user", &mods)]);
    assert!(hit(&r, json!({"C": "cmd /c net1.exe  user bob"})));
    assert!(!hit(&r, json!({"C": "NET.EXE user"})));
    let mods = [Modifier::Re, Modifier::ReI];
    let r = one(Some("C"), &mods, vec![s(r"net\.exe", &mods)]);
    assert!(hit(&r, json!({"C": "NET.EXE user"})));
    let mods = [Modifier::Re, Modifier::ReS];
    let r = one(Some("C"), &mods, vec![s("a.b", &mods)]);
    assert!(hit(&r, json!({"C": "a\nb"})));
    let mods = [Modifier::Re, Modifier::ReM];
    let r = one(Some("C"), &mods, vec![s("^b$", &mods)]);
    assert!(hit(&r, json!({"C": "a\nb\nc"})));
    let mods = [Modifier::Re];
    let r = one(Some("C"), &mods, vec![s("^b$", &mods)]);
    assert!(!hit(&r, json!({"C": "a\nb\nc"})));
}

#[test]
fn cidr_on_ip_values() {
    let mods = [Modifier::Cidr];
    let r = one(
        Some("Ip"),
        &mods,
        vec![s("10.0.0.0/8", &mods), s("fe80::/10", &mods)],
    );
    assert!(hit(&r, json!({"Ip": "10.1.2.3"})));
    assert!(hit(&r, json!({"Ip": "fe80::1"})));
    assert!(!hit(&r, json!({"Ip": "11.1.2.3"})));
    assert!(!hit(&r, json!({"Ip": "not an ip"})));
}

#[test]
fn numbers_match_numbers_and_numeric_strings() {
    let r = one(Some("EventID"), &[], vec![Value::Int(4688)]);
    assert!(hit(&r, json!({"EventID": 4688})));
    assert!(hit(&r, json!({"EventID": "4688"})));
    assert!(hit(&r, json!({"EventID": 4688.0})));
    assert!(!hit(&r, json!({"EventID": 4689})));
    let gt = one(Some("Count"), &[Modifier::Gt], vec![Value::Int(5)]);
    assert!(hit(&gt, json!({"Count": 6})));
    assert!(hit(&gt, json!({"Count": "7.5"})));
    assert!(!hit(&gt, json!({"Count": 5})));
    assert!(!hit(&gt, json!({"Count": "many"})));
    let e = pred(
        Some("N"),
        Test::Num {
            op: CmpOp::Lte,
            value: Number::Float(1.5),
        },
    );
    assert!(on(&e, json!({"N": 1.5})));
    assert!(!on(&e, json!({"N": 2})));
    // A string pattern of digits matches the number's text too.
    let r = one(Some("EventID"), &[Modifier::StartsWith], vec![s("46", &[])]);
    assert!(hit(&r, json!({"EventID": 4688})));
}

#[test]
fn bool_null_exists() {
    let b = one(Some("Flag"), &[], vec![Value::Bool(true)]);
    assert!(hit(&b, json!({"Flag": true})));
    assert!(hit(&b, json!({"Flag": "True"})));
    assert!(!hit(&b, json!({"Flag": false})));
    let n = one(Some("P"), &[], vec![Value::Null]);
    assert!(hit(&n, json!({})));
    assert!(hit(&n, json!({"P": null})));
    assert!(hit(&n, json!({"P": ""})));
    assert!(!hit(&n, json!({"P": "x"})));
    let ex = one(Some("P"), &[Modifier::Exists], vec![Value::Bool(true)]);
    assert!(hit(&ex, json!({"P": "x"})));
    assert!(!hit(&ex, json!({"Q": "x"})));
    let nex = one(Some("P"), &[Modifier::Exists], vec![Value::Bool(false)]);
    assert!(hit(&nex, json!({"Q": "x"})));
    assert!(!hit(&nex, json!({"P": "x"})));
    // A JSON null does not exist (as a NULL column on the query platforms); the empty string
    // does, and a list exists when one element is not null.
    assert!(!hit(&ex, json!({"P": null})));
    assert!(hit(&nex, json!({"P": null})));
    assert!(hit(&ex, json!({"P": ""})));
    assert!(!hit(&ex, json!({"P": [null]})));
    assert!(hit(&ex, json!({"P": [null, "x"]})));
}

#[test]
fn fieldref_with_positions_and_case() {
    let mk = |position, cased| {
        pred(
            Some("A"),
            Test::FieldRef {
                other: "B".into(),
                position,
                cased,
            },
        )
    };
    let exact = mk(Position::Exact, false);
    assert!(on(&exact, json!({"A": "Bob", "B": "bob"})));
    assert!(!on(&exact, json!({"A": "Bob", "B": "bo"})));
    assert!(!on(&exact, json!({"A": "Bob"})));
    assert!(!on(
        &mk(Position::Exact, true),
        json!({"A": "Bob", "B": "bob"})
    ));
    assert!(on(
        &mk(Position::Contains, false),
        json!({"A": "xBOBx", "B": "bob"})
    ));
    assert!(on(
        &mk(Position::StartsWith, false),
        json!({"A": "bobby", "B": "BOB"})
    ));
    assert!(!on(
        &mk(Position::StartsWith, false),
        json!({"A": "xbob", "B": "bob"})
    ));
    assert!(on(
        &mk(Position::EndsWith, false),
        json!({"A": "xbob", "B": "bob"})
    ));
    // Through normalisation.
    let mods = [Modifier::FieldRef];
    let r = one(
        Some("TargetUserName"),
        &mods,
        vec![s("SubjectUserName", &mods)],
    );
    assert!(hit(
        &r,
        json!({"TargetUserName": "a", "SubjectUserName": "A"})
    ));
}

#[test]
fn time_parts() {
    let e = pred(
        Some("UtcTime"),
        Test::TimePart {
            part: Modifier::Hour,
            op: CmpOp::Gte,
            value: 20,
        },
    );
    assert!(on(&e, json!({"UtcTime": "2024-03-01T21:15:00Z"})));
    assert!(on(&e, json!({"UtcTime": "2024-03-01 22:15:00.123"})));
    assert!(!on(&e, json!({"UtcTime": "2024-03-01T08:15:00Z"})));
    assert!(!on(&e, json!({"UtcTime": "yesterday"})));
    let parts = [
        (Modifier::Minute, 15),
        (Modifier::Day, 1),
        (Modifier::Week, 9),
        (Modifier::Month, 3),
        (Modifier::Year, 2024),
    ];
    for (part, value) in parts {
        let e = pred(
            Some("T"),
            Test::TimePart {
                part,
                op: CmpOp::Eq,
                value,
            },
        );
        assert!(
            on(&e, json!({"T": "2024-03-01T21:15:00+00:00"})),
            "{part:?}"
        );
    }
}

#[test]
fn keywords_search_every_string_and_number() {
    let r = one(None, &[], vec![s("mimikatz", &[]), s("4242", &[])]);
    assert!(hit(&r, json!({"A": "x", "B": "run MIMIKATZ now"})));
    assert!(hit(&r, json!({"A": 14242})));
    assert!(hit(&r, json!({"L": ["a", "sekurlsa mimikatz"]})));
    assert!(!hit(&r, json!({"A": "mimi", "B": true})));
}

/// A YAML number or boolean keyword (`keywords: [0, 6]`, SigmaHQ's auditd shutdown rule) is
/// its text anywhere in the event: there is no field for a numeric test to read.
#[test]
fn number_and_boolean_keywords_are_text_anywhere() {
    let r = one(None, &[], vec![Value::Int(6), Value::Bool(true)]);
    assert!(matches!(
        &r.1,
        Expr::Or(xs) if xs.iter().all(|x| matches!(x, Expr::Pred(Pred { test: Test::Str { .. }, .. })))
    ));
    assert!(hit(&r, json!({"a0": "telinit 6"})));
    assert!(hit(&r, json!({"a0": 16})));
    assert!(hit(&r, json!({"Flag": "TRUE"})));
    assert!(!hit(&r, json!({"a0": "telinit 0"})));
}

#[test]
fn neq_and_not_over_absent_fields() {
    let r = one(Some("User"), &[Modifier::Neq], vec![s("SYSTEM", &[])]);
    assert!(hit(&r, json!({"User": "bob"})));
    assert!(!hit(&r, json!({"User": "system"})));
    // `not` of a test on an absent field holds.
    assert!(hit(&r, json!({})));
}

#[test]
fn encodings_and_windash() {
    let mods = [Modifier::Base64Offset, Modifier::Contains];
    let r = one(Some("C"), &mods, vec![s("IEX (", &mods)]);
    // base64 of "xIEX (New" at offset 1.
    use base64::Engine;
    let enc = base64::engine::general_purpose::STANDARD.encode("xIEX (New-Object");
    assert!(hit(&r, json!({ "C": format!("powershell -enc {enc}") })));
    let mods = [Modifier::Contains, Modifier::Windash];
    let r = one(Some("C"), &mods, vec![s("-enc", &mods)]);
    assert!(hit(&r, json!({"C": "powershell /enc abc"})));
    assert!(hit(&r, json!({"C": "powershell \u{2013}enc abc"})));
    assert!(!hit(&r, json!({"C": "powershell enc abc"})));
}

#[test]
fn one_of_and_conditions() {
    let r = rule_with(
        vec![
            ("sel_a", vec![m(Some("A"), &[], vec![s("1", &[])])]),
            ("sel_b", vec![m(Some("B"), &[], vec![s("2", &[])])]),
            ("filter", vec![m(Some("C"), &[], vec![s("3", &[])])]),
        ],
        Cond::And(vec![
            Cond::Of(
                Quant::One,
                Spanned::new(detc::ir::OfTarget::Pattern("sel_*".into()), Span::default()),
            ),
            Cond::Not(Box::new(sel("filter"))),
        ]),
    );
    let e = normalize(&r, NormOptions::default()).unwrap();
    assert!(eval_expr(&r, &e, &ev(json!({"B": "2"}))));
    assert!(!eval_expr(&r, &e, &ev(json!({"B": "2", "C": "3"}))));
    assert!(!eval_expr(&r, &e, &ev(json!({"C": "3"}))));
}

#[test]
fn underscore_fields_are_ignored_and_nested_objects_flatten() {
    let r = one(Some("a.b"), &[], vec![s("x", &[])]);
    assert!(hit(&r, json!({"a": {"b": "x"}})));
    let r = one(Some("_meta"), &[Modifier::Exists], vec![Value::Bool(true)]);
    assert!(!hit(&r, json!({"_meta": "x"})));
}

#[test]
fn invalid_regex_is_a_diagnostic_and_never_matches() {
    let e = pred(
        Some("A"),
        Test::Regex {
            pattern: "a(".into(),
            flags: ReFlags::default(),
        },
    );
    let r = rule_with(vec![], Cond::And(vec![]));
    let mut t = detc::eval::FieldTable::new();
    let (c, d) = detc::eval::Compiled::new(&r, &e, &mut t);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "invalid-regex");
    assert!(!c.matches(&detc::eval::View::new(&ev(json!({"A": "a("})), &t)));
}

fn example(expect: Expect, event: serde_json::Value, at: usize) -> Example {
    Example {
        expect,
        event: event.as_object().unwrap().clone(),
        span: Span::new(at, at + 5),
    }
}

#[test]
fn run_examples_reports_only_wrong_outcomes() {
    let mut r = rule_with(
        vec![
            (
                "net",
                vec![m(
                    Some("Image"),
                    &[Modifier::EndsWith],
                    vec![s("\\net.exe", &[])],
                )],
            ),
            (
                "add",
                vec![m(
                    Some("CommandLine"),
                    &[Modifier::Contains],
                    vec![s("/add", &[])],
                )],
            ),
        ],
        Cond::And(vec![sel("net"), sel("add")]),
    );
    r.tests = vec![
        example(
            Expect::Hit,
            json!({"Image": "C:\\net.exe", "CommandLine": "x /add"}),
            100,
        ),
        example(
            Expect::Hit,
            json!({"Image": "C:\\net.exe", "CommandLine": "x"}),
            200,
        ),
        example(
            Expect::Miss,
            json!({"Image": "C:\\net.exe", "CommandLine": "/ADD"}),
            300,
        ),
        example(Expect::Miss, json!({"Image": "C:\\cmd.exe"}), 400),
    ];
    let e = normalize(&r, NormOptions::default()).unwrap();
    let d = run_examples(&r, &e);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d.iter().all(|x| x.code == "example-failed" && x.is_error()));
    assert_eq!(d[0].loc.unwrap().span, Span::new(200, 205));
    assert!(d[0].message.contains("expected a hit, got a miss"));
    assert!(d[0].notes.iter().any(|n| n.contains("`net`")));
    assert!(d[0]
        .notes
        .iter()
        .any(|n| n.contains("did not match: `add`")));
    assert_eq!(d[1].loc.unwrap().span, Span::new(300, 305));
    assert!(d[1].message.contains("expected a miss, got a hit"));
    assert!(d[1].notes[0].contains("`net`, `add`"));
}

#[test]
fn pattern_pieces_direct() {
    // A literal `*` piece next to real wildcards.
    let p = SigmaString {
        pieces: vec![Piece::Star, Piece::Lit("*".into()), Piece::Star],
    };
    let e = pred(
        Some("A"),
        Test::Str {
            pattern: p,
            cased: false,
        },
    );
    assert!(on(&e, json!({"A": "a*b"})));
    assert!(!on(&e, json!({"A": "ab"})));
}
