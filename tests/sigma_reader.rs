//! The Sigma reader: every construct of the specification reaches the IR, and bad input gets a
//! diagnostic at the right line and column.

use detc::diag::{Diagnostic, SourceId, Sources};
use detc::ir::norm::{normalize, NormOptions};
use detc::ir::{
    CmpOp, Cond, CorrelationKind, Modifier, OfTarget, Piece, Quant, Rule, RuleBody, Value,
};
use detc::sigma;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/sigma/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(p).expect("fixture")
}

fn read_ok(text: &str) -> Vec<Rule> {
    let (rules, diags) = sigma::read(SourceId(0), text);
    assert!(diags.is_empty(), "{diags:#?}");
    rules
}

/// The first diagnostic as `code@line:col`.
fn diag_at(text: &str) -> (String, Diagnostic) {
    let mut sources = Sources::new();
    let id = sources.add("t.yml", text.to_string());
    let (rules, diags) = sigma::read(id, text);
    assert!(rules.is_empty(), "a document with an error yields no rule");
    let d = diags.into_iter().find(|d| d.is_error()).expect("an error");
    let (l, c) = sources.line_col(id, d.loc.expect("located").span.start);
    (format!("{}@{l}:{c}", d.code), d)
}

#[test]
fn every_detection_feature_reaches_the_ir() {
    let rules = read_ok(&fixture("all_features.yml"));
    let r = &rules[0];
    assert_eq!(r.name, "every_detection_feature");
    assert_eq!(r.meta.sigma_name.as_deref(), Some("every_feature"));
    assert_eq!(
        r.meta.date.as_deref(),
        Some("2024-01-02"),
        "old date form normalised"
    );
    assert_eq!(r.meta.tags[1].value, "attack.t1059.001", "tags lowercased");
    assert_eq!(
        r.meta.description.as_deref(),
        Some("Exercises every modifier,\nkeywords and condition form.\n")
    );
    assert_eq!(r.meta.falsepositives, vec!["Admin scripts"]);
    assert_eq!(r.meta.related[0].kind, "derived");
    assert_eq!(r.meta.scope, vec!["server"]);
    assert_eq!(
        r.meta.custom["x-custom"],
        serde_json::json!({"nested": [1, {"two": 2.5}], "flag": true})
    );
    let RuleBody::Detection(d) = &r.body else {
        panic!()
    };
    let m = |sel: &str, field: &str| {
        d.selection(sel)
            .unwrap()
            .groups
            .iter()
            .flatten()
            .find(|m| m.field.as_deref() == Some(field))
            .unwrap_or_else(|| panic!("{sel}.{field}"))
            .clone()
    };
    assert_eq!(
        m("sel_pos", "CommandLine").modifiers,
        vec![Modifier::Contains, Modifier::All]
    );
    assert_eq!(
        m("sel_re", "CommandLine").modifiers,
        vec![Modifier::Re, Modifier::ReI, Modifier::ReM, Modifier::ReS]
    );
    // A regex is verbatim: the backslashes and `?` are not Sigma escapes or wildcards.
    assert_eq!(
        m("sel_re", "CommandLine").values,
        vec![Value::from_text(r"\bnet1?\.exe\s+user\b", &[Modifier::Re])]
    );
    assert_eq!(m("sel_misc", "ParentImage").values, vec![Value::Null]);
    assert_eq!(
        m("sel_misc", "PasswordLastSet").values,
        vec![Value::Bool(true)]
    );
    assert_eq!(m("sel_misc", "Count3").values, vec![Value::Float(5.5)]);
    assert_eq!(m("sel_misc", "Count4").values, vec![Value::Int(-1)]);
    assert_eq!(m("sel_misc", "EventID").values, vec![Value::Int(4688)]);
    let Value::Str(esc) = &m("sel_misc", "Escaped").values[0] else {
        panic!()
    };
    assert_eq!(
        esc.pieces,
        vec![
            Piece::Lit(r"a*b\".into()),
            Piece::Star,
            Piece::Lit("c".into()),
            Piece::Qmark
        ]
    );
    let Value::Str(ph) = &m("sel_misc", "User2").values[0] else {
        panic!()
    };
    assert_eq!(ph.pieces, vec![Piece::Placeholder("Administrators".into())]);
    // Keywords: a plain list, and the `'|all'` form.
    let kw = &d.selection("keywords").unwrap().groups;
    assert_eq!(kw.len(), 1);
    assert_eq!((kw[0][0].field.clone(), kw[0][0].values.len()), (None, 2));
    let all = &d.selection("keywords_all").unwrap().groups[0][0];
    assert_eq!(
        (all.field.clone(), all.modifiers.clone()),
        (None, vec![Modifier::All])
    );
    // A list of maps is an OR of AND-groups.
    let either = &d.selection("either").unwrap().groups;
    assert_eq!(either.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2]);
    // A list of conditions is their OR.
    let Cond::Or(alts) = &d.condition else {
        panic!("{:?}", d.condition)
    };
    assert_eq!(alts.len(), 5, "`a or b` items are flattened: {alts:?}");
    assert!(matches!(&alts[0], Cond::And(x) if matches!(&x[1],
        Cond::Not(n) if matches!(&**n, Cond::Of(Quant::One, t) if t.value == OfTarget::Pattern("filter_*".into())))));
    // The whole rule passes the IR checks and normalises.
    let ph = sigma::read_placeholders(SourceId(1), &fixture("placeholders.yml")).unwrap();
    let opts = NormOptions {
        placeholders: Some(&ph),
    };
    let errs: Vec<_> = detc::ir::check::check_rule(r, opts)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn placeholders_resolve_at_normalisation() {
    let ph = sigma::read_placeholders(SourceId(0), &fixture("placeholders.yml")).unwrap();
    assert_eq!(ph["Administrators"], vec!["adm_*", "Administrator"]);
    assert_eq!(ph["Servers"], vec!["srv*"]);
    let rules = read_ok(
        "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    User|expand: '%Administrators%'\n  condition: s\n",
    );
    assert!(normalize(&rules[0], NormOptions::default()).is_err());
    let e = normalize(
        &rules[0],
        NormOptions {
            placeholders: Some(&ph),
        },
    )
    .unwrap();
    assert!(
        matches!(e, detc::ir::norm::Expr::Or(ref xs) if xs.len() == 2),
        "{e:?}"
    );
    let bad = sigma::read_placeholders(SourceId(0), "a:\n  b: c\n").unwrap_err();
    assert_eq!(bad.code, "invalid-placeholders");
}

#[test]
fn correlations_and_multi_document_files() {
    let text = fixture("correlation.yml");
    let (rules, diags) = sigma::read_named(SourceId(0), &text, "mr_failed_then_success");
    assert!(diags.is_empty(), "{diags:#?}");
    let names: Vec<_> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mr_failed_then_success",
            "mr_failed_then_success_2",
            "mr_failed_then_success_3",
            "mr_failed_then_success_4",
            "mr_failed_then_success_5"
        ]
    );
    let RuleBody::Correlation(c) = &rules[0].body else {
        panic!()
    };
    assert_eq!(c.kind, CorrelationKind::TemporalOrdered);
    assert_eq!(c.timespan.value.seconds, 600);
    assert!(c.condition.is_none());
    let RuleBody::Correlation(c) = &rules[1].body else {
        panic!()
    };
    assert_eq!(c.condition.as_ref().unwrap().cmps, vec![(CmpOp::Gte, 10)]);
    let RuleBody::Correlation(c) = &rules[4].body else {
        panic!()
    };
    assert_eq!(c.kind, CorrelationKind::ValueCount);
    let cc = c.condition.as_ref().unwrap();
    assert_eq!(cc.field.as_deref(), Some("User"));
    assert_eq!(cc.cmps, vec![(CmpOp::Gt, 10), (CmpOp::Lte, 200)]);
    assert_eq!(c.aliases["src"]["successful_login"], "SourceIp");
    assert!(c.generate);
    assert_eq!(c.group_by, vec!["src"]);
}

#[test]
fn filters_add_exclusions_to_the_rules_they_name() {
    let (mut rules, d1) = sigma::read(SourceId(0), &fixture("filter_target.yml"));
    assert!(d1.is_empty());
    let (parsed, d2) = sigma::read_file(SourceId(1), &fixture("filter.yml"), None);
    assert!(d2.is_empty(), "{d2:#?}");
    assert_eq!(parsed.filters.len(), 1);
    let warnings = sigma::apply_filters(&mut rules, &parsed.filters);
    // `some_named_rule` is not loaded.
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "filter-unknown-rule");
    let det = rules[0].detection().unwrap();
    assert_eq!(det.selections.last().unwrap().name, "_filter1_selection");
    assert_eq!(
        sigma::print_condition(&det.condition),
        "(selection and not filter_main) and not _filter1_selection"
    );
    assert!(normalize(&rules[0], NormOptions::default()).is_ok());
    // `read` itself does not drop the filter silently.
    let (rules, diags) = sigma::read(SourceId(1), &fixture("filter.yml"));
    assert!(rules.is_empty());
    assert_eq!(diags[0].code, "filter-ignored");
}

#[test]
fn unknown_modifier_points_at_the_modifier() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        Image|endswith|bogus: x\n    condition: sel\n";
    let (at, d) = diag_at(text);
    assert_eq!(at, "unknown-modifier@5:24");
    assert!(d.expected.unwrap().contains("windash"));
}

#[test]
fn yaml_errors_report_the_parser_position() {
    let text = "title: t\ndetection:\n    sel: [a, b\n    condition: sel\n";
    let (at, _) = diag_at(text);
    assert!(at.starts_with("yaml@"), "{at}");
    let text = "title: t\n  bad: indentation\n";
    let (at, _) = diag_at(text);
    assert_eq!(at, "yaml@2:6");
}

#[test]
fn condition_errors_point_into_the_condition() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel: {a: 1}\n    condition: sel and or sel\n";
    let (at, _) = diag_at(text);
    assert_eq!(at, "invalid-condition@5:24");
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel: {a: 1}\n    condition: sel | count() > 5\n";
    let (at, d) = diag_at(text);
    assert_eq!(at, "invalid-condition@5:20");
    assert!(d.message.contains("correlation"));
}

#[test]
fn shape_errors() {
    for (text, want) in [
        ("title: t\nlogsource: {}\n", "missing-key@1:1"),
        (
            "title: t\nlogsource: {}\ndetection:\n    sel: {a: 1}\n",
            "missing-condition@3:1",
        ),
        (
            "title: t\nlogsource: {}\ndetection:\n    sel:\n        a: {b: c}\n    condition: sel\n",
            "invalid-value@5:12",
        ),
        (
            "title: t\nlogsource: {}\ndetection:\n    sel: {a: 1}\n    sel: {a: 2}\n    condition: sel\n",
            "duplicate-key@5:5",
        ),
        (
            "title: t\ncorrelation:\n    type: value_sum\n    rules: [a]\n    timespan: 1h\n",
            "unsupported-correlation@3:11",
        ),
        (
            "title: t\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: soon\n",
            "invalid-timespan@5:15",
        ),
        ("- just\n- a list\n", "invalid-value@1:1"),
    ] {
        assert_eq!(diag_at(text).0, want, "{text}");
    }
}

#[test]
fn hostile_input_never_panics() {
    let deep = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (rules, diags) = sigma::read(SourceId(0), &deep);
    assert!(rules.is_empty() && diags.iter().any(|d| d.code == "yaml"));
    let deep_cond = format!(
        "title: t\nlogsource: {{}}\ndetection:\n  s: {{a: 1}}\n  condition: {}s{}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let (_, diags) = sigma::read(SourceId(0), &deep_cond);
    assert!(diags.iter().any(|d| d.code == "invalid-condition"));
    for text in [
        "",
        "---\n",
        "\u{feff}title: x",
        "a: *alias\n",
        "? [a]\n: b\n",
        "title: [\n",
    ] {
        let _ = sigma::read(SourceId(0), text);
    }
}

#[test]
fn crlf_and_bom_files_read_like_lf_files() {
    let lf = "title: t\nlogsource:\n    product: windows\ndetection:\n    sel:\n        Image|bogus: x\n    condition: sel\n";
    let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
    let (at, _) = diag_at(&crlf);
    assert_eq!(at, "unknown-modifier@6:15");
    let good = lf.replace("|bogus", "|endswith");
    let a = read_ok(&good);
    let b = read_ok(&format!("\u{feff}{}", good.replace('\n', "\r\n")));
    let (mut a, mut b) = (a[0].clone(), b[0].clone());
    sigma::clear_spans(&mut a);
    sigma::clear_spans(&mut b);
    assert_eq!(a, b);
}

mod fuzz {
    use detc::diag::SourceId;
    use detc::sigma;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Text made of YAML's structural characters and Sigma words never panics the reader,
        /// and every error it reports has a location inside the text.
        #[test]
        fn reader_never_panics(text in "(title|detection|condition|sel|logsource|correlation|filter|rules|type|timespan|:| |\n|-|\\[|\\]|\\{|\\}|'|\"|\\||contains|all|not|and|or|\\(|\\)|1 of|\\*|%|#|---|&a|\\*a|!!str|\t|é){0,60}") {
            let (_, diags) = sigma::read(SourceId(0), &text);
            for d in diags {
                if let Some(loc) = d.loc {
                    prop_assert!(loc.span.end as usize <= text.len());
                    prop_assert!(text.is_char_boundary(loc.span.start as usize));
                }
            }
        }
    }
}
