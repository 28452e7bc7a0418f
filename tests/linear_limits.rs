//! Inputs that once cost time quadratic (or memory hundreds of times) in their size: each is
//! run here at a size a quadratic step would take minutes on, and its result checked. Timings
//! are in `benches/linear_limits.rs`, not here.

use std::fmt::Write as _;

use detc::diag::{SourceId, Sources};
use detc::eval::flatjson::flat_event;
use detc::eval::read::event_from_json;
use detc::eval::{run_examples, Compiled, Event, FieldTable, Val, View};
use detc::ir::norm::{normalize, NormOptions};
use detc::sigma;

fn sigma_head() -> String {
    "title: t\nlogsource:\n  product: windows\n  category: process_creation\n".to_string()
}

/// 100,000 selections in one rule, the last repeating the first's name: one duplicate-key
/// error, at the repeat, pointing back at the first (the check once compared every key with
/// every earlier one).
#[test]
fn many_selections_and_one_duplicate() {
    let n = 100_000;
    let mut text = sigma_head();
    text.push_str("detection:\n");
    for i in 0..n {
        writeln!(text, "  sel{i}:\n    Image: 'a{i}'").unwrap();
    }
    text.push_str("  sel0:\n    Image: 'again'\n  condition: 1 of sel*\n");
    let mut sources = Sources::new();
    let id = sources.add("t.yml", text.clone());
    let (_, diags) = sigma::read(id, &text);
    let dups: Vec<_> = diags.iter().filter(|d| d.code == "duplicate-key").collect();
    assert_eq!(dups.len(), 1, "{diags:#?}");
    let d = dups[0];
    let (line, col) = sources.line_col(id, d.loc.unwrap().span.start);
    assert_eq!((line, col), (6 + 2 * n, 3));
    let (first, _) = sources.line_col(id, d.secondary[0].loc.span.start);
    assert_eq!(first, 6);
}

/// A one-line flow list of 100,000 values: every value is read, and a bad item at its end is
/// reported at its column (the YAML line index once walked the line from its start for every
/// item).
#[test]
fn long_flow_list() {
    let n = 100_000;
    let items: Vec<String> = (0..n).map(|i| format!("'v{i}'")).collect();
    let line = format!("    CommandLine|contains: [{}]", items.join(", "));
    let text = format!(
        "{}detection:\n  selection:\n{line}\n  condition: selection\n",
        sigma_head()
    );
    let (rules, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let detc::ir::RuleBody::Detection(det) = &rules[0].body else {
        panic!("not a detection")
    };
    assert_eq!(det.selections[0].groups[0][0].values.len(), n);

    // A nested map as the last item is the wrong shape: reported at its column.
    let bad = format!(
        "{}detection:\n  selection:\n{}, {{a: b}}]\n  condition: selection\n",
        sigma_head(),
        &line[..line.len() - 1]
    );
    let mut sources = Sources::new();
    let id = sources.add("t.yml", bad.clone());
    let (_, diags) = sigma::read(id, &bad);
    let err = diags.iter().find(|d| d.is_error()).expect("an error");
    let (l, c) = sources.line_col(id, err.loc.unwrap().span.start);
    assert_eq!((l, c), (7, line.len() + 2), "{err:#?}");
}

/// One JSON object with 50,000 keys becomes one event of 50,000 fields by both readers,
/// with every name found; a repeated key still takes the general path (last value wins).
#[test]
fn event_with_many_keys() {
    let n = 50_000;
    let mut line = String::from("{");
    for i in 0..n {
        write!(line, "\"k{i}\":\"v{i}\",").unwrap();
    }
    line.push_str("\"last\":1}");
    let fast = flat_event(line.as_bytes()).expect("the fast path takes it");
    assert_eq!(fast.fields.len(), n + 1);
    assert_eq!(fast.get_text("k49999"), Some("v49999"));
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line).unwrap();
    assert_eq!(event_from_json(&map), fast);

    let repeated = line.replacen("\"last\":1", "\"k5\":\"again\"", 1);
    assert!(flat_event(repeated.as_bytes()).is_none());
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&repeated).unwrap();
    let general = event_from_json(&map);
    assert_eq!(general.fields.len(), n);
    assert_eq!(general.get_text("k5"), Some("again"));

    // Building by `push` and `set` gives the same event whatever the size.
    let mut e = Event::new();
    for i in 0..n {
        e.push(&format!("k{i}"), Val::str("x"));
    }
    e.push("k7", Val::str("y"));
    e.set("k8", vec![]);
    assert_eq!(e.fields.len(), n);
    assert_eq!(e.get("k7").unwrap().len(), 2);
    assert_eq!(e.get("k8").unwrap().len(), 0);
    assert!(e.get("k50000").is_none());
}

/// A 2 MB `base64offset contains` value: its alternatives are matched, and the prefilter
/// literals stay short (automata over the whole alternatives took 1.5 GB for 5 MB).
#[test]
fn long_base64offset_value() {
    let value: String = (0..2_000_000)
        .map(|i| (b'a' + ((i * 7 + i / 26) % 26) as u8) as char)
        .collect();
    let text = format!(
        "{}detection:\n  selection:\n    CommandLine|base64offset|contains: '{value}'\n  condition: selection\n",
        sigma_head()
    );
    let (rules, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let rule = &rules[0];
    let expr = normalize(rule, NormOptions::default()).expect("normalises");
    let mut table = FieldTable::new();
    let (compiled, diags) = Compiled::new(rule, &expr, &mut table);
    assert!(diags.is_empty());
    let clauses = compiled.required_clauses();
    assert!(!clauses.is_empty());
    assert!(clauses.iter().flatten().all(|(_, l)| l.len() <= 64));

    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("x{value}"));
    let event = |s: &str| {
        let mut e = Event::new();
        e.push("CommandLine", Val::str(s));
        e
    };
    assert!(compiled.matches(&View::new(&event(&encoded), &table)));
    assert!(!compiled.matches(&View::new(&event(&encoded[..encoded.len() / 2]), &table)));
}

/// 30,000 `contains` values in one `.det` selection (literals sharing a prefix: the shape
/// whose single Aho-Corasick automaton was quadratic to build; `eval::literals` checks how
/// such a set is split): the examples run.
#[test]
fn many_contains_values() {
    let n = 30_000;
    let mut text = String::from(
        "rule big {\n  title \"t\"\n  logsource product=windows category=process_creation\n  s = CommandLine contains ",
    );
    for i in 0..n {
        if i > 0 {
            text.push_str(if i % 10 == 0 { ",\n    " } else { ", " });
        }
        write!(text, "\"v{i}\"").unwrap();
    }
    text.push_str(
        "\n  condition s\n  test hit { CommandLine: \"run V27777 now\" }\n  test miss { CommandLine: \"w1\" }\n}\n",
    );
    let (rules, diags) = detc::dsl::parse(SourceId(0), &text);
    assert!(diags.is_empty(), "{diags:#?}");
    let expr = normalize(&rules[0], NormOptions::default()).expect("normalises");
    assert!(run_examples(&rules[0], &expr).is_empty());
}

/// A condition naming each of 50,000 selections (`sel0 or sel1 or ...`): checked without an
/// undefined or unused selection, and normalised to one `Or` of them all (each name was once
/// looked up by scanning the selections), with an undefined name still reported.
#[test]
fn condition_naming_many_selections() {
    let n = 50_000;
    let mut text = sigma_head();
    text.push_str("detection:\n");
    for i in 0..n {
        writeln!(text, "  sel{i}:\n    Image: 'a{i}'").unwrap();
    }
    let names: Vec<String> = (0..n).map(|i| format!("sel{i}")).collect();
    writeln!(text, "  condition: {}", names.join(" or ")).unwrap();
    let (rules, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let checks = detc::ir::check::check_rule(&rules[0], NormOptions::default());
    assert!(checks.iter().all(|d| !d.is_error()), "{checks:#?}");
    let expr = normalize(&rules[0], NormOptions::default()).expect("normalises");
    let detc::ir::norm::Expr::Or(xs) = &expr else {
        panic!("not an Or")
    };
    assert_eq!(xs.len(), n);

    let undefined = text.replace(" or sel777 or", " or nope or");
    let (rules, _) = sigma::read(SourceId(0), &undefined);
    let checks = detc::ir::check::check_rule(&rules[0], NormOptions::default());
    let codes: Vec<&str> = checks.iter().map(|d| d.code).collect();
    assert!(codes.contains(&"undefined-selection"), "{codes:?}");
    assert!(normalize(&rules[0], NormOptions::default()).is_err());
}

/// A `.det` rule of 50,000 selections whose example fails: the diagnostic names the one
/// selection that matched (each selection was once normalised on a copy of the whole rule).
#[test]
fn failing_example_among_many_selections() {
    let n = 50_000;
    let mut text = String::from(
        "rule big {\n  title \"t\"\n  logsource product=windows category=process_creation\n",
    );
    for i in 0..n {
        writeln!(text, "  sel{i} = Image endswith \"\\x{i}.exe\"").unwrap();
    }
    text.push_str("  condition 1 of sel*\n  test miss { Image: \"C:\\x31337.exe\" }\n}\n");
    let (rules, diags) = detc::dsl::parse(SourceId(0), &text);
    assert!(diags.is_empty(), "{diags:#?}");
    let expr = normalize(&rules[0], NormOptions::default()).expect("normalises");
    let failed = run_examples(&rules[0], &expr);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0]
            .notes
            .iter()
            .any(|n| n == "selections that matched: `sel31337`"),
        "{:#?}",
        failed[0]
    );
}

/// One Sigma map of 20,000 fields, and a `.det` group testing 10,000 fields twice each: both
/// are written as Sigma (the repeats merged into `|all` lists), with no repeated key (the
/// writer once compared each field with every earlier one).
#[test]
fn group_with_many_fields() {
    let n = 20_000;
    let mut text = sigma_head();
    text.push_str("detection:\n  selection:\n");
    for i in 0..n {
        writeln!(text, "    F{i}: 'v{i}'").unwrap();
    }
    text.push_str("  condition: selection\n");
    let (rules, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    assert!(sigma::check_writable(&rules[0]).is_empty());
    let out = sigma::write(&rules[0]);
    assert!(
        out.contains("F19999: 'v19999'"),
        "{}",
        &out[out.len() - 200..]
    );

    let mut det = String::from(
        "rule twice {\n  title \"t\"\n  logsource product=windows category=process_creation\n  s = {\n",
    );
    for i in 0..n / 2 {
        writeln!(
            det,
            "    F{i} contains \"a{i}\"\n    F{i} contains \"b{i}\""
        )
        .unwrap();
    }
    det.push_str("  }\n  condition s\n}\n");
    let (rules, diags) = detc::dsl::parse(SourceId(0), &det);
    assert!(diags.is_empty(), "{diags:#?}");
    assert!(sigma::check_writable(&rules[0]).is_empty());
    let out = sigma::write(&rules[0]);
    assert!(
        out.contains("F9999|contains|all:"),
        "{}",
        &out[out.len() - 300..]
    );
    let (mut back, diags) = sigma::read(SourceId(0), &out);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let mut rule = rules[0].clone();
    sigma::clear_spans(&mut rule);
    sigma::clear_spans(&mut back[0]);
    let same = normalize(&back[0], NormOptions::default()).unwrap()
        == normalize(&rule, NormOptions::default()).unwrap();
    assert!(same, "the written rule reads back to the same condition");
}

/// 5,000 diagnostics in one 50,000-line file are each rendered at their line and column (every
/// rendering once built the file's line table, and every position counted the newlines before
/// it).
#[test]
fn many_diagnostics_in_one_big_file() {
    let lines = 50_000;
    let text: String = (0..lines).map(|i| format!("line {i} é text\n")).collect();
    let mut sources = Sources::new();
    let id = sources.add("big.det", text.clone());
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    for line in (0..lines).step_by(10) {
        // The column after `line N é `: characters, not bytes.
        let col = format!("line {line} é ").chars().count() + 1;
        let at = starts[line] + format!("line {line} é ").len();
        let d = detc::diag::Diagnostic::error("syntax", "bad")
            .at(detc::diag::Loc::new(id, detc::diag::Span::new(at, at + 4)));
        assert_eq!(sources.line_col(id, at as u32), (line + 1, col));
        let out = sources.render(&d, false);
        assert!(
            out.contains(&format!("big.det:{}:{col}", line + 1)),
            "{out}"
        );
    }
}

/// A correlation of 50,000 rules: every reference resolves, for `detc match` and for the
/// targets, to the first rule of that name, and the one unknown name is reported (each
/// reference once scanned all rules).
#[test]
fn correlation_of_many_rules() {
    let n = 50_000;
    let text = format!(
        "{}name: base\ndetection:\n  sel:\n    Image: x\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules:\n    - base\n  group-by:\n    - User\n  timespan: 1h\n  condition:\n    gte: 10\n",
        sigma_head()
    );
    let (parsed, diags) = sigma::read(SourceId(0), &text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let (base, mut corr) = (parsed[0].clone(), parsed[1].clone());
    let mut rules: Vec<detc::ir::Rule> = (0..n)
        .map(|i| {
            let mut r = base.clone();
            r.name = format!("r{i}");
            r.meta.sigma_name = Some(format!("s{i}"));
            r
        })
        .collect();
    // A later rule whose Sigma name repeats an earlier rule's name: the earlier one wins.
    rules[n - 1].meta.sigma_name = Some("r7".into());
    let detc::ir::RuleBody::Correlation(c) = &mut corr.body else {
        panic!("not a correlation")
    };
    c.rules = (0..n)
        .map(|i| detc::ir::Spanned::new(format!("s{i}"), detc::diag::Span::default()))
        .collect();
    c.rules[0].value = "r7".into();
    rules.push(corr);

    // `s49999` is gone (renamed): the one unknown reference among 50,000.
    let (_, diags) = detc::eval::correlate::Correlator::new(&rules);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, "unknown-rule");
    assert!(
        diags[0].message.contains("`s49999`"),
        "{}",
        diags[0].message
    );

    let exprs = vec![None; rules.len()];
    let cx = detc::target::Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let keys = ["r7", "s123", "s49998", "nope", "s49999"];
    assert_eq!(
        cx.find_all(&keys),
        [Some(7), Some(123), Some(49_998), None, None]
    );
    for k in keys {
        assert_eq!(cx.find(k), cx.find_all(&[k])[0]);
    }
}
