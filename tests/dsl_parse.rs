//! The rule language front end: every construct lowered to the expected IR, errors with their
//! codes and positions, and robustness on hostile input.

use detc::diag::{Diagnostic, SourceId, Sources};
use detc::dsl;
use detc::ir::check::check_rule;
use detc::ir::norm::NormOptions;
use detc::ir::*;
use proptest::prelude::*;

fn parse_ok(text: &str) -> Vec<Rule> {
    let (rules, diags) = dsl::parse(SourceId(0), text);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    rules
}

fn one(text: &str) -> Rule {
    let mut rules = parse_ok(text);
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

/// A detection rule around the given body lines.
fn rule_with(body: &str) -> String {
    format!("rule r {{\n  title \"t\"\n{body}\n}}\n")
}

fn det(r: &Rule) -> &Detection {
    r.detection().expect("a detection rule")
}

fn sel<'a>(r: &'a Rule, name: &str) -> &'a Selection {
    det(r).selection(name).expect("selection exists")
}

fn only_matcher<'a>(r: &'a Rule, name: &str) -> &'a Matcher {
    let s = sel(r, name);
    assert_eq!(s.groups.len(), 1);
    assert_eq!(s.groups[0].len(), 1);
    &s.groups[0][0]
}

fn lit(s: &str) -> Piece {
    Piece::Lit(s.into())
}

fn pieces(v: &Value) -> Vec<Piece> {
    match v {
        Value::Str(s) => s.pieces.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// Diagnostics of `text` as (code, line, column).
fn errors_at(text: &str) -> Vec<(&'static str, usize, usize)> {
    let mut sources = Sources::new();
    let id = sources.add("t.det", text.to_string());
    let (_, diags) = dsl::parse(id, text);
    diags
        .iter()
        .map(|d| {
            let loc = d.loc.expect("every syntax diagnostic has a location");
            let (l, c) = sources.line_col(id, loc.span.start);
            (d.code, l, c)
        })
        .collect::<Vec<_>>()
        .tap_sort()
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<(&'static str, usize, usize)> {
    /// Diagnostics in source order (parser and lowering report in two passes).
    fn tap_sort(mut self) -> Self {
        self.sort_by_key(|(c, l, col)| (*l, *col, *c));
        self
    }
}

const FULL: &str = include_str!("fixtures/dsl/full.det");

#[test]
fn full_example_metadata() {
    let rules = parse_ok(FULL);
    assert_eq!(rules.len(), 2);
    let r = &rules[0];
    assert_eq!(r.name, "grease_net_localgroup_add");
    let m = &r.meta;
    assert_eq!(
        m.title,
        "Local account added to Administrators or Remote Desktop Users by net.exe"
    );
    assert_eq!(r.id(), Some("8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10"));
    assert_eq!(m.status.as_ref().unwrap().value, "experimental");
    assert_eq!(r.level(), Some("high"));
    assert_eq!(
        m.description.as_deref(),
        Some("Free text; may span\nseveral lines.")
    );
    assert_eq!(m.author.as_deref(), Some("detc"));
    assert_eq!(m.date.as_deref(), Some("2026-11-22"));
    assert_eq!(m.modified.as_deref(), Some("2026-11-22"));
    let tags: Vec<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
    assert_eq!(
        tags,
        vec![
            "attack.t1136.001",
            "attack.t1098",
            "attack.defense-evasion",
            "detection.emerging-threats",
            "cve.2017-0144"
        ]
    );
    assert_eq!(
        m.references,
        vec!["https://labs.withsecure.com/...", "https://example.com/a"]
    );
    assert_eq!(
        m.falsepositives,
        vec![
            "Help-desk staff creating a support account",
            "Imaging scripts"
        ]
    );
    assert_eq!(m.fields, vec!["CommandLine", "ParentImage"]);
    assert_eq!(
        m.related,
        vec![Related {
            id: "1ec65a5f-9473-4f12-97da-622044d6df21".into(),
            kind: "derived".into()
        }]
    );
    assert_eq!(m.license.as_deref(), Some("DRL-1.1"));
    assert_eq!(r.logsource.product.as_deref(), Some("windows"));
    assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
    assert_eq!(r.attack_techniques(), vec!["T1136.001", "T1098"]);
}

#[test]
fn full_example_selections() {
    let rules = parse_ok(FULL);
    let r = &rules[0];
    let net = only_matcher(r, "net");
    assert_eq!(net.field.as_deref(), Some("Image"));
    assert_eq!(net.modifiers, vec![Modifier::EndsWith]);
    assert_eq!(net.values.len(), 2);
    assert_eq!(pieces(&net.values[0]), vec![lit(r"\net.exe")]);

    let add = only_matcher(r, "add");
    assert_eq!(add.modifiers, vec![Modifier::Contains, Modifier::All]);

    let group = sel(r, "group");
    assert_eq!(group.groups.len(), 1);
    assert_eq!(group.groups[0].len(), 2);
    assert_eq!(group.groups[0][1].field.as_deref(), Some("CommandLine"));

    let either = sel(r, "either");
    assert_eq!(either.groups.len(), 2);
    assert_eq!(
        pieces(&either.groups[1][0].values[0]),
        vec![lit(r"C:\Program Files\Apache")]
    );

    let words = only_matcher(r, "words");
    assert_eq!(words.field, None);
    assert_eq!(pieces(&words.values[1]), vec![lit("sekurlsa::")]);

    let enc = only_matcher(r, "enc");
    assert_eq!(
        enc.modifiers,
        vec![Modifier::Base64Offset, Modifier::Contains]
    );

    let rx = only_matcher(r, "rx");
    assert_eq!(rx.modifiers, vec![Modifier::Re, Modifier::ReI]);
    // Verbatim: `?` is not a wildcard under `re`.
    assert_eq!(pieces(&rx.values[0]), vec![lit(r"\bnet1?\.exe\s+user\b")]);

    let nk = only_matcher(r, "nk");
    assert_eq!(nk.modifiers, vec![Modifier::Cidr]);
    assert_eq!(pieces(&nk.values[0]), vec![lit("175.45.176.0/22")]);

    assert_eq!(only_matcher(r, "empty").values, vec![Value::Null]);
    let has = only_matcher(r, "has");
    assert_eq!(has.modifiers, vec![Modifier::Exists]);
    assert_eq!(has.values, vec![Value::Bool(true)]);
    let many = only_matcher(r, "many");
    assert_eq!(many.modifiers, vec![Modifier::Gt]);
    assert_eq!(many.values, vec![Value::Int(5)]);
    assert_eq!(only_matcher(r, "same").modifiers, vec![Modifier::FieldRef]);
    assert_eq!(only_matcher(r, "other").modifiers, vec![Modifier::Neq]);
    assert_eq!(
        only_matcher(r, "dash").modifiers,
        vec![Modifier::Contains, Modifier::Windash]
    );
    assert_eq!(
        only_matcher(r, "exact").modifiers,
        vec![Modifier::Cased, Modifier::Contains]
    );
    assert_eq!(only_matcher(r, "oddfield").field.as_deref(), Some("c-uri"));
    assert_eq!(
        pieces(&only_matcher(r, "ph").values[0]),
        vec![Piece::Placeholder("Administrators".into())]
    );
    let qm = only_matcher(r, "qm");
    assert_eq!(qm.field.as_deref(), Some("cs-uri"));
    assert_eq!(
        pieces(&qm.values[0]),
        vec![Piece::Star, lit("/index.php?id="), Piece::Star]
    );
}

#[test]
fn full_example_condition_and_tests() {
    let rules = parse_ok(FULL);
    let r = &rules[0];
    let s = |n: &str| Cond::Sel(Spanned::new(n.to_string(), Default::default()));
    let c = dsl::without_spans(r);
    assert_eq!(
        det(&c).condition,
        Cond::And(vec![
            Cond::Or(vec![s("net"), s("net_pe")]),
            s("add"),
            Cond::Not(Box::new(Cond::Of(
                Quant::One,
                Spanned::new(OfTarget::Pattern("filter_*".into()), Default::default())
            ))),
        ])
    );
    assert_eq!(r.tests.len(), 2);
    assert_eq!(r.tests[0].expect, Expect::Hit);
    assert_eq!(
        r.tests[0].event["CommandLine"],
        serde_json::json!(r#"net1 localgroup "Remote Desktop Users" bob /add"#)
    );
    assert_eq!(r.tests[1].expect, Expect::Miss);
    assert_eq!(r.tests[1].event["EventID"], serde_json::json!(1));
    // Example spans cover the test line.
    let span = r.tests[0].span;
    assert!(FULL[span.range()].starts_with("test hit"));
    assert!(FULL[span.range()].ends_with('}'));
}

#[test]
fn correlation_rule() {
    let rules = parse_ok(FULL);
    let r = &rules[1];
    assert_eq!(r.name, "brute_force");
    let RuleBody::Correlation(c) = &r.body else {
        panic!("not a correlation")
    };
    assert_eq!(c.kind, CorrelationKind::EventCount);
    let names: Vec<&str> = c.rules.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(names, vec!["failed_logon", "other_rule"]);
    assert_eq!(c.group_by, vec!["TargetUserName", "IpAddress"]);
    assert_eq!(c.timespan.value.seconds, 3600);
    assert_eq!(c.timespan.value.text, "1h");
    assert_eq!(
        c.condition,
        Some(CorrelationCondition {
            cmps: vec![(CmpOp::Gte, 10)],
            field: None
        })
    );
    assert_eq!(c.aliases["src"]["other_rule"], "SourceIp");
    assert!(c.generate);
}

#[test]
fn value_count_condition_with_field() {
    let r = one(
        "correlation c {\n  type value_count\n  rules a\n  timespan 5m\n  condition gt 3 lte 9 field User\n}\n",
    );
    let RuleBody::Correlation(c) = &r.body else {
        panic!()
    };
    let cc = c.condition.as_ref().unwrap();
    assert_eq!(cc.cmps, vec![(CmpOp::Gt, 3), (CmpOp::Lte, 9)]);
    assert_eq!(cc.field.as_deref(), Some("User"));
    assert!(!c.generate);
}

#[test]
fn string_rules() {
    let r = one(&rule_with(
        r#"  a = F "C:\Windows\"
  b = F "\\server\share"
  c = F "say ""hi"""
  d = F 'lit*eral?' "*"
  e = F 'it''s'
  f = F "a*b?c"
  g = F re 'x"y' "z*"
  h = F expand "%x%" '%y%' "50%"
  i = F ""
  j = F -5, 1.5, 1e3, false
  condition a or b or c or d or e or f or g or h or i or j"#,
    ));
    let p = |n: &str| pieces(&only_matcher(&r, n).values[0]);
    assert_eq!(p("a"), vec![lit(r"C:\Windows\")]);
    assert_eq!(p("b"), vec![lit(r"\\server\share")]);
    assert_eq!(p("c"), vec![lit(r#"say "hi""#)]);
    assert_eq!(p("d"), vec![lit("lit*eral?"), Piece::Star]);
    assert_eq!(p("e"), vec![lit("it's")]);
    assert_eq!(
        p("f"),
        vec![lit("a"), Piece::Star, lit("b"), Piece::Qmark, lit("c")]
    );
    assert_eq!(p("g"), vec![lit(r#"x"yz*"#)]);
    assert_eq!(p("h"), vec![Piece::Placeholder("x".into()), lit("%y%50%")]);
    assert_eq!(p("i"), vec![]);
    assert_eq!(
        only_matcher(&r, "j").values,
        vec![
            Value::Int(-5),
            Value::Float(1.5),
            Value::Float(1000.0),
            Value::Bool(false)
        ]
    );
}

#[test]
fn multi_line_values_and_groups() {
    let r = one(&rule_with(
        r#"  a = F "x",
    "y",   # a comment inside the list
    "z"
  b = {
    A "1"
    B "2"
  } or {
    C "3"
  } or { D "4" }
  c = { }
  condition all of them"#,
    ));
    assert_eq!(only_matcher(&r, "a").values.len(), 3);
    let b = sel(&r, "b");
    assert_eq!(
        b.groups.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 1, 1]
    );
    assert_eq!(sel(&r, "c").groups, vec![Vec::<Matcher>::new()]);
}

#[test]
fn refs_continue_on_following_lines() {
    let r = one("rule r {\n  refs \"https://a\"\n    \"https://b\"\n  x = F 1\n  condition x\n}\n");
    assert_eq!(r.meta.references, vec!["https://a", "https://b"]);
}

#[test]
fn condition_precedence_and_grouping() {
    let r = one(&rule_with(
        "  a = F 1\n  b = F 2\n  c = F 3\n  condition not a or b and c or (a and (b and c))",
    ));
    let c = dsl::without_spans(&r);
    let s = |n: &str| Cond::Sel(Spanned::new(n.to_string(), Default::default()));
    assert_eq!(
        det(&c).condition,
        Cond::Or(vec![
            Cond::Not(Box::new(s("a"))),
            Cond::And(vec![s("b"), s("c")]),
            Cond::And(vec![s("a"), Cond::And(vec![s("b"), s("c")])]),
        ])
    );
    let all_them = one(&rule_with("  a = F 1\n  condition all of them and 1 of a*"));
    let c = dsl::without_spans(&all_them);
    assert!(matches!(
        &det(&c).condition,
        Cond::And(xs) if matches!(&xs[0], Cond::Of(Quant::All, t) if t.value == OfTarget::Them)
    ));
}

#[test]
fn test_events_values() {
    let r = one(&rule_with(
        r#"  a = F 1
  condition a
  test miss {
    "odd-field": "x", n: 2.5, b: true, z: null,
    l: ["a", 'b', 3]
  }"#,
    ));
    let ev = &r.tests[0].event;
    assert_eq!(
        serde_json::Value::Object(ev.clone()),
        serde_json::json!({"odd-field": "x", "n": 2.5, "b": true, "z": null, "l": ["a", "b", 3]})
    );
}

#[test]
fn spans_point_at_the_tokens() {
    let text = rule_with(
        "  id not-a-uuid\n  level urgent\n  attack T99\n  sel = Image \"x\"\n  unused = F 1\n  condition sel and missing",
    );
    let r = one(&text);
    let diags = check_rule(&r, NormOptions::default());
    let at = |code: &str| {
        let d = diags
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{code} not in {diags:#?}"));
        &text[d.loc.unwrap().span.range()]
    };
    assert_eq!(at("invalid-uuid"), "not-a-uuid");
    assert_eq!(at("invalid-level"), "urgent");
    assert_eq!(at("invalid-attack-tag"), "T99");
    assert_eq!(at("undefined-selection"), "missing");
    assert_eq!(at("unused-selection"), "unused");
    let m = only_matcher(&r, "sel");
    assert_eq!(&text[m.span.range()], "Image \"x\"");
    assert_eq!(&text[det(&r).condition_span.range()], "sel and missing");
    assert_eq!(&text[r.loc.span.range()].chars().last(), &Some('}'));
}

// ---- errors ----

#[test]
fn unknown_modifier_lists_the_names() {
    let text = rule_with("  a = Image endswit \"x\"\n  condition a");
    assert_eq!(errors_at(&text), vec![("unknown-modifier", 3, 13)]);
    let (_, diags) = dsl::parse(SourceId(0), &text);
    assert!(diags[0].expected.as_ref().unwrap().contains("endswith"));
}

#[test]
fn unquoted_text_value_is_reported() {
    // A bare word where a value is expected reads as a modifier.
    let text = rule_with("  a = Image endswith net.exe\n  condition a");
    assert_eq!(errors_at(&text)[0], ("unknown-modifier", 3, 22));
}

#[test]
fn syntax_error_has_expected_and_label() {
    let text = rule_with("  a = Image endswith \"x\" ,\n  condition a");
    let (_, diags) = dsl::parse(SourceId(0), &text);
    assert_eq!(diags[0].code, "syntax");
    assert!(!diags[0].label.is_empty());
    assert!(diags[0].expected.is_some());
}

#[test]
fn several_errors_are_all_reported() {
    let text = "rule r {\n  title \"t\"\n  a = Image endswith \"x\" )\n  b = Image bogus \"y\"\n  frobnicate 3\n  title \"again\"\n  condition a and\n}\nrule s {\n  x = F 1\n}\n";
    assert_eq!(
        errors_at(text),
        vec![
            ("syntax", 3, 26),
            ("unknown-modifier", 4, 13),
            ("unknown-metadata-key", 5, 3),
            ("duplicate-metadata-key", 6, 3),
            ("syntax", 7, 18),
            ("missing-condition", 9, 6),
        ]
    );
}

#[test]
fn missing_condition_and_unknown_keyword() {
    assert_eq!(
        errors_at(&rule_with("  a = F 1")),
        vec![("missing-condition", 1, 6)]
    );
    assert_eq!(
        errors_at(&rule_with("  a = F 1\n  b = F 2\n  condition a xor b")),
        vec![("unknown-condition-keyword", 5, 15)]
    );
    assert_eq!(
        errors_at(&rule_with("  a = F 1\n  condition a AND a")),
        vec![("unknown-condition-keyword", 4, 15)]
    );
    assert_eq!(
        errors_at(&rule_with("  a = F 1\n  condition 2 of a*")),
        vec![("unknown-condition-keyword", 4, 13)]
    );
}

#[test]
fn metadata_errors() {
    assert_eq!(
        errors_at(&rule_with(
            "  logsource product=windows os=x\n  a = F 1\n  condition a"
        )),
        vec![("unknown-metadata-key", 3, 29)]
    );
    assert_eq!(
        errors_at(&rule_with(
            "  level high\n  level low\n  a = F 1\n  condition a"
        )),
        vec![("duplicate-metadata-key", 4, 3)]
    );
    assert_eq!(
        errors_at(
            "correlation c {\n  type event_count\n  rules a\n  timespan 1x\n  condition gte 2\n}\n"
        ),
        vec![("invalid-timespan", 4, 12)]
    );
    assert_eq!(
        errors_at("correlation c {\n  type event_count\n  rules a\n}\n"),
        vec![("missing-metadata-key", 1, 13)]
    );
}

#[test]
fn unterminated_string_and_braces() {
    // An unterminated string ends at its line: the following lines are still checked.
    assert_eq!(
        errors_at("rule r {\n  title \"never closed\n  a = F bad 1\n}\n"),
        vec![("syntax", 2, 9), ("unknown-modifier", 3, 9)]
    );
    assert_eq!(errors_at("rule r {\n  a = F 1\n"), vec![("syntax", 1, 8)]);
    assert_eq!(
        errors_at("rule r {\n  a = {\n    F 1\n"),
        vec![("syntax", 1, 8), ("syntax", 2, 7)]
    );
    // An unclosed rule does not swallow the next one (it is returned as far as it was read,
    // with its syntax error inside its span).
    let (rules, diags) = dsl::parse(
        SourceId(0),
        "rule r {\n  a = F 1\nrule s {\n  x = F 1\n  condition x\n}\n",
    );
    assert_eq!(
        rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["r", "s"]
    );
    let err = diags[0].loc.expect("located").span;
    assert!(rules[0].loc.span.start <= err.start && err.end <= rules[0].loc.span.end);
    assert!(!(rules[1].loc.span.start <= err.start && err.end <= rules[1].loc.span.end));
}

#[test]
fn deep_nesting_is_a_diagnostic() {
    let deep = format!(
        "  a = F 1\n  condition {}a{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let codes: Vec<_> = errors_at(&rule_with(&deep))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(codes, vec!["nesting-too-deep"]);
    let nots = format!("  a = F 1\n  condition {}a", "not ".repeat(10_000));
    let codes: Vec<_> = errors_at(&rule_with(&nots))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(codes, vec!["nesting-too-deep"]);
    let lists = format!(
        "  a = F 1\n  condition a\n  test hit {{ x: {}1{} }}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let codes: Vec<_> = errors_at(&rule_with(&lists))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(codes, vec!["nesting-too-deep"]);
}

#[test]
fn empty_and_junk_files() {
    assert_eq!(dsl::parse(SourceId(0), ""), (vec![], vec![]));
    assert_eq!(
        dsl::parse(SourceId(0), "# only a comment\n\n"),
        (vec![], vec![])
    );
    assert_eq!(errors_at("\u{0}\u{1}garbage ]]]"), vec![("syntax", 1, 1)]);
    assert_eq!(
        errors_at("junk\nrule"),
        vec![("syntax", 1, 1), ("syntax", 2, 5)]
    );
}

#[test]
fn huge_file_parses() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "rule r{i} {{\n  title \"t\"\n  a = Image endswith \"\\x{i}.exe\", \"y\"\n  condition a\n}}\n"
        ));
    }
    assert_eq!(parse_ok(&text).len(), 2000);
}

#[test]
fn snake_case_names_are_a_warning() {
    let (rules, diags) = dsl::parse(
        SourceId(0),
        &rule_with("  a = F 1\n  condition a").replace("rule r", "rule BadName"),
    );
    assert_eq!(rules.len(), 1);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "rule-name");
    assert!(!diags[0].is_error());
}

#[test]
fn names_that_are_not_plain_identifiers_are_errors() {
    for bad in ["Bad-Name", "../x", "a.b", "x/y"] {
        let text = rule_with("  a = F 1\n  condition a").replace("rule r", &format!("rule {bad}"));
        let (_, diags) = dsl::parse(SourceId(0), &text);
        let errs: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errs.len(), 1, "{bad}: {diags:?}");
        assert_eq!(errs[0].code, "invalid-rule-name");
        // Pointed at the name (after `rule `), and no style warning on top.
        assert_eq!(
            errs[0].loc.unwrap().span.start as usize,
            text.find(bad).unwrap()
        );
        assert!(diags.iter().all(|d| d.code != "rule-name"), "{bad}");
    }
}

// ---- never panic ----

const SOUP: &[&str] = &[
    "rule",
    "correlation",
    "r",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    ":",
    "\n",
    "# c\n",
    "\"s\"",
    "'t'",
    "\"",
    "'",
    "condition",
    "test",
    "hit",
    "miss",
    "and",
    "or",
    "not",
    "1",
    "of",
    "all",
    "them",
    "contains",
    "re",
    "i",
    "keywords",
    "title",
    "logsource",
    "product=x",
    "null",
    "true",
    "5",
    "-1.5",
    "alias",
    "type",
    "timespan",
    "1h",
    "é",
    "\u{0}",
    "*",
    "x*",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = dsl::parse(SourceId(0), &text);
        let _ = dsl::format(SourceId(0), &text);
    }

    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(proptest::sample::select(SOUP), 0..120)) {
        let text = toks.join(" ");
        let (_, diags) = dsl::parse(SourceId(0), &text);
        for d in &diags {
            let span = d.loc.expect("located").span;
            prop_assert!(span.end as usize <= text.len());
        }
        if let Ok(f) = dsl::format(SourceId(0), &text) {
            // Whatever formats must format to itself.
            prop_assert_eq!(dsl::format(SourceId(0), &f).ok(), Some(f.clone()));
        }
    }

    #[test]
    fn soup_inside_a_rule_never_panics(toks in proptest::collection::vec(proptest::sample::select(SOUP), 0..80)) {
        let text = format!("rule r {{\n  a = F 1\n  {}\n  condition a\n}}\n", toks.join(" "));
        let _ = dsl::parse(SourceId(0), &text);
        let _ = dsl::format(SourceId(0), &text);
    }
}

#[test]
fn full_example_passes_the_semantic_checks() {
    let rules = parse_ok(FULL);
    let errors: Vec<Diagnostic> = check_rule(&rules[0], NormOptions::default())
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn crlf_and_byte_order_mark() {
    let text = "\u{feff}rule r {\r\n  title \"t\"  # c\r\n  a = F \"x\"\r\n  condition a\r\n}\r\n";
    let r = one(text);
    assert_eq!(r.meta.title, "t");
    assert_eq!(pieces(&only_matcher(&r, "a").values[0]), vec![lit("x")]);
    let out = dsl::format(SourceId(0), text).unwrap();
    assert_eq!(
        out,
        "rule r {\n  title \"t\" # c\n\n  a = F \"x\"\n\n  condition a\n}\n"
    );
}

#[test]
fn oversized_files_are_refused() {
    let text = "#".repeat(dsl::MAX_FILE_SIZE + 1);
    let (rules, diags) = dsl::parse(SourceId(0), &text);
    assert!(rules.is_empty());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "file-too-large");
    // Just under the limit is parsed (one long comment).
    let text = format!("#{}", "x".repeat(1 << 20));
    assert_eq!(dsl::parse(SourceId(0), &text), (vec![], vec![]));
}

#[test]
fn sigma_habits_get_hints() {
    let (_, diags) = dsl::parse(
        SourceId(0),
        &rule_with("  a = Image|endswith \"x\"\n  b = Image endswith: \"x\"\n  condition a or b"),
    );
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(
        diags[0].notes[0].contains("`Image endswith \"...\"`"),
        "{:?}",
        diags[0].notes
    );
    assert!(diags[1].notes[0].contains("no `:`"), "{:?}", diags[1].notes);
}

// ---- multi-line metadata strings are dedented ----

#[test]
fn multi_line_metadata_strings_lose_their_indentation() {
    let r = one(&rule_with(
        "  description \"Free text; may span\n    several lines.\n      - kept two deeper\n\n    end\"\n  sel = Image \"x\"\n  condition sel",
    ));
    assert_eq!(
        r.meta.description.as_deref(),
        Some("Free text; may span\nseveral lines.\n  - kept two deeper\n\nend")
    );
    // Aligned under the text after the quote: the same text.
    let r = one(&rule_with(
        "  description \"a\n               b\"\n  falsepositives \"x\n    y\" \"z\"\n  sel = Image \"x\"\n  condition sel",
    ));
    assert_eq!(r.meta.description.as_deref(), Some("a\nb"));
    assert_eq!(r.meta.falsepositives, vec!["x\ny".to_string(), "z".into()]);
    // Never more than the column of the text: deeper indentation is content.
    let r = one(
        &rule_with("  title2 \"\"\n  sel = Image \"x\"\n  condition sel")
            .replace("  title2 \"\"\n", "  author 'a\n            b'\n"),
    );
    assert_eq!(r.meta.author.as_deref(), Some("a\n  b"));
    // Tabs count as one column; CRLF line ends keep their `\r`.
    let r = one(&rule_with(
        "\tdescription \"a\r\n\t\tb\"\n  sel = Image \"x\"\n  condition sel",
    ));
    assert_eq!(r.meta.description.as_deref(), Some("a\r\nb"));
}

#[test]
fn values_in_selections_and_tests_keep_their_indentation() {
    let r = one(&rule_with(
        "  sel = CommandLine \"a\n    b\"\n  condition sel\n  test hit { CommandLine: \"a\n    b\" }",
    ));
    assert_eq!(
        pieces(&only_matcher(&r, "sel").values[0]),
        vec![lit("a\n    b")]
    );
    assert_eq!(r.tests[0].event["CommandLine"], "a\n    b");
}

#[test]
fn multi_line_metadata_strings_print_back_exactly() {
    let base = one(&rule_with("  sel = Image \"x\"\n  condition sel"));
    for text in [
        "a\nb",
        "a\n  b\n  c",
        "a\n  \nb\n\tc\n",
        "a\r\n  b\r\nc",
        "a\n\n\tb\n   \n",
        "\n  x",
        "say \"hi\"\n  'q'",
    ] {
        let mut r = base.clone();
        r.meta.description = Some(text.into());
        r.meta.references = vec!["u".into(), text.into()];
        r.logsource.product = Some(text.into());
        let printed = dsl::to_dsl(&r);
        let back = one(&printed);
        assert_eq!(
            dsl::without_spans(&back),
            dsl::without_spans(&r),
            "{printed}"
        );
        let formatted = dsl::format(SourceId(0), &printed).expect("formats");
        assert_eq!(formatted, printed);
    }
    // The printer indents continuation lines by four spaces, or under the text when every
    // line of it starts with white space.
    let r = one(&rule_with(
        "  description \"a\n    b\"\n  sel = Image \"x\"\n  condition sel",
    ));
    let printed = dsl::to_dsl(&r);
    assert!(
        printed.contains("  description \"a\n    b\"\n"),
        "{printed}"
    );
    let mut r = r;
    r.meta.description = Some("a\n  b".into());
    let printed = dsl::to_dsl(&r);
    assert!(
        printed.contains("  description \"a\n                 b\"\n"),
        "{printed}"
    );
}

// ---- conditions and OR groups over several lines ----

fn cond_text(r: &Rule) -> String {
    detc::dsl::print::print_cond(&det(r).condition)
}

#[test]
fn a_condition_may_continue_on_deeper_lines() {
    let sels = "  a = Image \"a\"\n  b = Image \"b\"\n  filter = User \"x\"\n  c = User \"c\"\n";
    for (cond, want) in [
        // An operator at the start of a deeper line.
        (
            "  condition (a or b)\n    and not filter",
            "(a or b) and not filter",
        ),
        ("  condition a\n    or b # why\n    and c", "a or (b and c)"),
        // A trailing operator.
        ("  condition a and\n      not filter", "a and not filter"),
        // Inside parentheses lines are free, comments may sit between.
        ("  condition (a\n  # both\nor b\n) and c", "(a or b) and c"),
        ("  condition (\n  a or b)", "a or b"),
    ] {
        let r = one(&rule_with(&format!("{sels}{cond}")));
        assert_eq!(cond_text(&r), want, "{cond}");
    }
    // The formatter joins the lines and keeps the comments.
    let src = rule_with(&format!("{sels}  condition a\n    or b # why\n    and c"));
    let f = dsl::format(SourceId(0), &src).expect("formats");
    assert!(f.contains("  # why\n  condition a or (b and c)\n"), "{f}");
}

#[test]
fn a_condition_line_at_the_same_indentation_does_not_continue() {
    let sels = "  a = Image \"a\"\n  b = Image \"b\"\n";
    // `and b` at the indentation of `condition` is a new item, not a continuation.
    let text = rule_with(&format!("{sels}  condition a\n  and b"));
    assert_eq!(
        errors_at(&text),
        vec![("unknown-metadata-key", 6, 3)],
        "{text}"
    );
    // A trailing operator before the end of the rule.
    let text = rule_with(&format!(
        "{sels}  condition a and\n  test hit {{ Image: \"a\" }}"
    ));
    assert_eq!(errors_at(&text), vec![("syntax", 5, 18)]);
    // An error on a continuation line is reported once, and the next items still parse.
    let text = rule_with(&format!(
        "{sels}  condition a\n    and b c\n    or a\n  test hit {{ Image: 5 x }}"
    ));
    assert_eq!(
        errors_at(&text),
        vec![("unknown-condition-keyword", 6, 11), ("syntax", 8, 23)]
    );
}

#[test]
fn or_groups_may_split_before_or() {
    let r = one(&rule_with(
        "  s = { Image \"a\" }\n    or { Image \"b\" } # c\n\n    or {\n      Image \"c\"\n    }\n  condition s",
    ));
    assert_eq!(sel(&r, "s").groups.len(), 3);
    let f = dsl::format(
        SourceId(0),
        &rule_with("  s = {\n    Image \"a\"\n  }\n  or { Image \"b\" }\n  condition s"),
    )
    .expect("formats");
    assert!(
        f.contains("  s = { Image \"a\" } or { Image \"b\" }\n"),
        "{f}"
    );
}

// ---- rules with syntax errors are returned as far as they were read ----

#[test]
fn a_rule_with_a_syntax_error_is_still_checked() {
    let text = "rule r {\n  title \"t\"\n  id nope\n  a = Image endswit \"x\"\n  b = Image endswith\n  condition a and b and c\n}\n";
    let (rules, diags) = dsl::parse(SourceId(0), text);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["unknown-modifier", "syntax"]);
    assert_eq!(rules.len(), 1);
    let r = &rules[0];
    // The matcher is kept without the unknown modifier; the broken selection keeps its name.
    assert_eq!(only_matcher(r, "a").modifiers, vec![]);
    assert!(det(r).selection("b").is_some());
    // Both syntax errors lie inside the rule (so the pack loader fails it).
    for d in &diags {
        let at = d.loc.expect("located").span;
        assert!(r.loc.span.start <= at.start && at.end <= r.loc.span.end);
    }
    let checked: Vec<&str> = check_rule(r, NormOptions::default())
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(checked, vec!["invalid-uuid", "undefined-selection"]);
    // A broken condition: every selection stands in, none is reported unused.
    let (rules, _) = dsl::parse(
        SourceId(0),
        "rule r {\n  title \"t\"\n  a = F 1\n  b = F 2\n  condition a and (b\n}\n",
    );
    let checked = check_rule(&rules[0], NormOptions::default());
    assert!(checked.is_empty(), "{checked:#?}");
}

#[test]
fn condition_words_cannot_name_selections() {
    for name in ["and", "or", "not", "of", "all", "them", "1"] {
        let text = rule_with(&format!(
            "  {name} = Image \"x\"\n  b = Image \"y\"\n  condition b"
        ));
        assert_eq!(
            errors_at(&text),
            vec![("reserved-selection-name", 3, 3)],
            "{name}"
        );
    }
    // Names that merely contain them are fine.
    one(&rule_with("  sel_all = Image \"x\"\n  condition sel_all"));
}

#[test]
fn question_mark_in_double_quotes_is_a_wildcard() {
    // The documented pitfall: `?` in "..." matches one character; '...' keeps it literal.
    let r = one(&rule_with(
        "  a = Uri \"*/x.php?id=*\"\n  b = Uri \"*/x.php\" '?id=' \"*\"\n  condition a or b",
    ));
    assert_eq!(
        pieces(&only_matcher(&r, "a").values[0]),
        vec![
            Piece::Star,
            lit("/x.php"),
            Piece::Qmark,
            lit("id="),
            Piece::Star
        ]
    );
    assert_eq!(
        pieces(&only_matcher(&r, "b").values[0]),
        vec![Piece::Star, lit("/x.php?id="), Piece::Star]
    );
}
