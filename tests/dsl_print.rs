//! `to_dsl`: any IR rule printed as `.det` reads back as the same IR (spans aside), and the
//! printed text is already in canonical form.

use detc::diag::{SourceId, Span};
use detc::dsl;
use detc::ir::*;
use indexmap::IndexMap;
use proptest::prelude::*;

fn roundtrip(rule: &Rule) -> Result<(), TestCaseError> {
    let text = dsl::to_dsl(rule);
    let (rules, diags) = dsl::parse(SourceId(0), &text);
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    prop_assert!(errors.is_empty(), "errors {:#?} in\n{}", errors, text);
    prop_assert_eq!(rules.len(), 1, "{}", text);
    prop_assert_eq!(
        dsl::without_spans(&rules[0]),
        dsl::without_spans(rule),
        "{}",
        text
    );
    let formatted =
        dsl::format(SourceId(0), &text).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(formatted, text);
    Ok(())
}

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(v, Span::default())
}

/// Text with every character the syntax treats specially.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 _\\-\"'*?%\\\\/:#{}()\\[\\],=\\n\\té.]{0,10}")
        .unwrap()
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}".prop_filter("not a condition keyword", |n| {
        !matches!(n.as_str(), "and" | "or" | "not" | "of" | "them" | "all")
    })
}

fn modifiers() -> impl Strategy<Value = Vec<Modifier>> {
    proptest::collection::vec(
        proptest::sample::select(
            detc::ir::modifier::MODIFIERS
                .iter()
                .map(|(_, m)| *m)
                .collect::<Vec<_>>(),
        ),
        0..4,
    )
}

fn piece(expand: bool) -> impl Strategy<Value = Piece> {
    let placeholder = "[a-zA-Z_ *?\"']{1,6}".prop_map(Piece::Placeholder);
    prop_oneof![
        3 => text().prop_map(Piece::Lit),
        1 => Just(Piece::Star),
        1 => Just(Piece::Qmark),
        (if expand { 1 } else { 0 }) => placeholder,
    ]
}

fn value(mods: Vec<Modifier>) -> BoxedStrategy<Value> {
    let string: BoxedStrategy<Value> = if Value::is_verbatim(&mods) {
        text()
            .prop_map(|t| Value::Str(SigmaString::literal(&t)))
            .boxed()
    } else {
        proptest::collection::vec(piece(mods.contains(&Modifier::Expand)), 0..5)
            .prop_map(|ps| {
                let mut s = SigmaString::default();
                for p in ps {
                    s.push(p);
                }
                Value::Str(s)
            })
            .boxed()
    };
    prop_oneof![
        6 => string,
        1 => any::<i64>().prop_map(Value::Int),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
    .boxed()
}

fn matcher() -> impl Strategy<Value = Matcher> {
    (proptest::option::of(text()), modifiers()).prop_flat_map(|(field, mods)| {
        proptest::collection::vec(value(mods.clone()), 1..4).prop_map(move |values| Matcher {
            field: field.clone(),
            modifiers: mods.clone(),
            values,
            span: Span::default(),
        })
    })
}

fn cond(names: Vec<String>) -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        3 => proptest::sample::select(names).prop_map(|n| Cond::Sel(sp(n))),
        1 => (any::<bool>(), prop_oneof![Just(OfTarget::Them), "[a-z_]{1,5}\\*?".prop_filter("kw", |p| !matches!(p.as_str(), "and" | "or" | "not" | "of" | "them" | "all")).prop_map(OfTarget::Pattern)])
            .prop_map(|(all, t)| Cond::Of(if all { Quant::All } else { Quant::One }, sp(t))),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Cond::Or),
            inner.prop_map(|c| Cond::Not(Box::new(c))),
        ]
    })
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        text().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        proptest::collection::vec(inner, 0..3).prop_map(serde_json::Value::Array)
    })
}

fn example() -> impl Strategy<Value = Example> {
    (
        any::<bool>(),
        proptest::collection::vec((text(), json()), 0..4),
    )
        .prop_map(|(hit, kvs)| Example {
            expect: if hit { Expect::Hit } else { Expect::Miss },
            event: kvs.into_iter().collect(),
            span: Span::default(),
        })
}

fn meta() -> impl Strategy<Value = Meta> {
    let opt = || proptest::option::of(text());
    let list = || proptest::collection::vec(text(), 0..3);
    let tag = prop_oneof![
        "attack\\.t[0-9]{4}(\\.[0-9]{3})?",
        "attack\\.[a-z-]{1,8}",
        text(),
    ];
    (
        (text(), opt(), opt(), opt(), opt(), opt(), opt(), opt()),
        (opt(), opt(), opt(), opt()),
        (
            proptest::collection::vec(tag, 0..4),
            list(),
            list(),
            list(),
            list(),
            proptest::collection::vec((text(), text()), 0..2),
            proptest::collection::vec((text(), json()), 0..2),
        ),
    )
        .prop_map(
            |(
                (title, id, name, status, level, description, license, author),
                (date, modified, taxonomy, _),
                (tags, references, fields, falsepositives, scope, related, custom),
            )| Meta {
                title,
                id: id.map(sp),
                sigma_name: name,
                related: related
                    .into_iter()
                    .map(|(kind, id)| Related { id, kind })
                    .collect(),
                taxonomy,
                status: status.map(sp),
                description,
                license,
                author,
                references,
                date,
                modified,
                tags: tags.into_iter().map(sp).collect(),
                level: level.map(sp),
                fields,
                falsepositives,
                scope,
                custom: custom.into_iter().collect(),
            },
        )
}

fn logsource() -> impl Strategy<Value = LogSource> {
    let opt = || proptest::option::of(text());
    (opt(), opt(), opt(), opt()).prop_map(|(category, product, service, definition)| LogSource {
        category,
        product,
        service,
        definition,
    })
}

fn detection() -> impl Strategy<Value = RuleBody> {
    proptest::collection::btree_set(name(), 1..5).prop_flat_map(|names| {
        let names: Vec<String> = names.into_iter().collect();
        let sels = proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(matcher(), 0..3), 1..3),
            names.len(),
        );
        (Just(names.clone()), sels, cond(names)).prop_map(|(names, groups, condition)| {
            RuleBody::Detection(Detection {
                selections: names
                    .into_iter()
                    .zip(groups)
                    .map(|(name, groups)| Selection {
                        name,
                        span: Span::default(),
                        groups,
                    })
                    .collect(),
                condition,
                condition_span: Span::default(),
            })
        })
    })
}

fn correlation() -> impl Strategy<Value = RuleBody> {
    (
        proptest::sample::select(CorrelationKind::NAMES.to_vec()),
        proptest::collection::vec(text(), 1..3),
        proptest::collection::vec(text(), 0..3),
        (
            1u64..1000,
            proptest::sample::select(vec!["s", "m", "h", "d", "w", "M", "y"]),
        ),
        proptest::option::of((
            proptest::collection::vec(
                (
                    proptest::sample::select(CmpOp::NAMES.to_vec()),
                    any::<i64>(),
                ),
                1..3,
            ),
            proptest::option::of(text()),
        )),
        proptest::collection::vec(
            (text(), proptest::collection::vec((text(), text()), 0..3)),
            0..2,
        ),
        any::<bool>(),
    )
        .prop_map(
            |((_, kind), rules, group_by, (n, unit), cond, aliases, generate)| {
                RuleBody::Correlation(Correlation {
                    kind,
                    rules: rules.into_iter().map(sp).collect(),
                    group_by,
                    timespan: sp(Timespan::parse(&format!("{n}{unit}")).expect("valid")),
                    // Count kinds need a condition (the parser reports it missing).
                    condition: match (cond, kind) {
                        (Some((cmps, field)), _) => Some(CorrelationCondition {
                            cmps: cmps.into_iter().map(|((_, op), v)| (op, v)).collect(),
                            field,
                        }),
                        (None, CorrelationKind::EventCount | CorrelationKind::ValueCount) => {
                            Some(CorrelationCondition {
                                cmps: vec![(CmpOp::Gte, n as i64)],
                                field: None,
                            })
                        }
                        (None, _) => None,
                    },
                    aliases: aliases
                        .into_iter()
                        .map(|(k, m)| (k, m.into_iter().collect::<IndexMap<_, _>>()))
                        .collect(),
                    generate,
                })
            },
        )
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        "[a-z0-9_]{1,12}",
        meta(),
        prop_oneof![3 => detection(), 1 => correlation()],
        logsource(),
        proptest::collection::vec(example(), 0..3),
    )
        .prop_map(|(name, meta, body, logsource, tests)| {
            let correlation = matches!(body, RuleBody::Correlation(_));
            Rule {
                name,
                meta,
                logsource: if correlation {
                    LogSource::default()
                } else {
                    logsource
                },
                body,
                tests: if correlation { Vec::new() } else { tests },
                loc: Default::default(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn to_dsl_round_trips(r in rule()) {
        roundtrip(&r)?;
    }
}

#[test]
fn wildcards_next_to_literal_wildcards() {
    let mut s = SigmaString::default();
    s.push(Piece::Star);
    s.push(Piece::Lit("/index.php?id=".into()));
    s.push(Piece::Star);
    let rule = Rule {
        name: "r".into(),
        meta: Meta {
            title: "t".into(),
            ..Meta::default()
        },
        logsource: LogSource::default(),
        body: RuleBody::Detection(Detection {
            selections: vec![Selection {
                name: "sel".into(),
                span: Span::default(),
                groups: vec![vec![Matcher {
                    field: Some("cs-uri-query".into()),
                    modifiers: vec![],
                    values: vec![Value::Str(s)],
                    span: Span::default(),
                }]],
            }],
            condition: Cond::Sel(sp("sel".into())),
            condition_span: Span::default(),
        }),
        tests: vec![],
        loc: Default::default(),
    };
    let text = dsl::to_dsl(&rule);
    assert!(
        text.contains(r#"sel = "cs-uri-query" "*" '/index.php?id=' "*""#),
        "{text}"
    );
    roundtrip(&rule).unwrap();
}

/// Add a trailing comment before every line end and a comment line after it (never inside a
/// string: the positions come from the lexer's newline tokens).
fn sprinkle_comments(text: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut last = 0;
    let mut added = Vec::new();
    for (i, t) in dsl::lexer::lex(text).iter().enumerate() {
        if t.kind == dsl::lexer::Tok::Newline {
            let at = t.span.start as usize;
            out.push_str(&text[last..at]);
            let trailing = format!("# t{i}");
            let own = format!("# o{i}");
            out.push_str(&format!("  {trailing}\n{own}\n"));
            added.push(trailing);
            added.push(own);
            last = t.span.end as usize;
        }
    }
    out.push_str(&text[last..]);
    (out, added)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// The formatter keeps every comment, keeps the IR, and is idempotent, wherever comments are.
    #[test]
    fn format_keeps_comments_anywhere(r in rule()) {
        let text = dsl::to_dsl(&r);
        let (noisy, added) = sprinkle_comments(&text);
        let formatted = dsl::format(SourceId(0), &noisy)
            .map_err(|e| TestCaseError::fail(format!("{e:#?}\n{noisy}")))?;
        for c in &added {
            prop_assert!(formatted.contains(c.as_str()), "lost {} in\n{}", c, formatted);
        }
        let (rules, _) = dsl::parse(SourceId(0), &formatted);
        prop_assert_eq!(rules.len(), 1);
        prop_assert_eq!(dsl::without_spans(&rules[0]), dsl::without_spans(&r), "{}", formatted);
        prop_assert_eq!(dsl::format(SourceId(0), &formatted).ok(), Some(formatted.clone()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Multi-line metadata strings are dedented when read; whatever their white space, the
    /// printer writes them so that they read back exactly.
    #[test]
    fn multi_line_metadata_strings_read_back(
        text in "[ \t\r\nab\"']{0,16}",
        refs in proptest::collection::vec("[ \t\nab]{0,8}", 1..4),
    ) {
        let (rules, _) = dsl::parse(SourceId(0), "rule r {\n  title \"t\"\n  a = F 1\n  condition a\n}\n");
        let mut r = rules[0].clone();
        r.meta.description = Some(text.clone());
        r.meta.title = text.clone() + "x";
        r.meta.references = refs;
        r.logsource.product = Some(text);
        roundtrip(&r)?;
    }
}
