//! The canonical formatter: golden output, idempotence, IR preservation and comments.

use detc::diag::SourceId;
use detc::dsl;
use detc::ir::Rule;

fn fmt(text: &str) -> String {
    dsl::format(SourceId(0), text).unwrap_or_else(|e| panic!("format failed: {e:#?}"))
}

fn ir(text: &str) -> Vec<Rule> {
    let (rules, diags) = dsl::parse(SourceId(0), text);
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "errors: {diags:#?}\n{text}"
    );
    rules.iter().map(dsl::without_spans).collect()
}

const FIXTURES: &[(&str, &str)] = &[
    ("full.det", include_str!("fixtures/dsl/full.det")),
    ("messy.det", include_str!("fixtures/dsl/messy.det")),
    ("messy.fmt.det", include_str!("fixtures/dsl/messy.fmt.det")),
];

#[test]
fn golden_output() {
    assert_eq!(
        fmt(include_str!("fixtures/dsl/messy.det")),
        include_str!("fixtures/dsl/messy.fmt.det")
    );
}

#[test]
fn idempotent_on_fixtures() {
    for (name, text) in FIXTURES {
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "{name}");
    }
}

#[test]
fn ir_is_preserved() {
    for (name, text) in FIXTURES {
        assert_eq!(ir(&fmt(text)), ir(text), "{name}");
    }
}

#[test]
fn comments_are_kept() {
    for (name, text) in FIXTURES {
        let out = fmt(text);
        for line in text.lines() {
            if let Some(i) = line.find('#') {
                // Only real comments (a `#` outside quotes).
                let before = &line[..i];
                if before.matches('"').count() % 2 == 0 && before.matches('\'').count() % 2 == 0 {
                    let comment = line[i..].trim_end();
                    assert!(out.contains(comment), "{name}: lost {comment:?}");
                }
            }
        }
    }
}

#[test]
fn refuses_files_with_errors() {
    let err = dsl::format(SourceId(0), "rule r {\n  a = F bogus \"x\"\n").unwrap_err();
    let codes: Vec<&str> = err.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["unknown-modifier", "syntax"]);
}

#[test]
fn canonical_quoting() {
    let out = fmt("rule r {\n  a = F 'plain', 'a*b', \"*x*\", 'say \"hi\"'\n  condition a\n}\n");
    assert!(
        out.contains(r#"a = F "plain", 'a*b', "*x*", 'say "hi"'"#),
        "{out}"
    );
}

#[test]
fn empty_file_formats_to_empty() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n# c\n"), "# c\n");
}

#[test]
fn formats_rules_with_semantic_errors() {
    // No condition yet, an unknown key: still formattable, nothing is lost.
    let out = fmt("rule r {\n  frob  1\n  a =  F 1\n  title \"t\"\n}\n");
    assert_eq!(out, "rule r {\n  title \"t\"\n  frob 1\n\n  a = F 1\n}\n");
}

#[test]
fn and_groups_inside_or_keep_their_parentheses() {
    let src = "rule r {\n  title \"t\"\n  a = F 1\n  b = F 2\n  c = F 3\n  d = F 4\n  condition (a and b) or (c and d) or ((a)) or not (b or c)\n}\n";
    let out = fmt(src);
    assert!(
        out.contains("  condition (a and b) or (c and d) or a or not (b or c)\n"),
        "{out}"
    );
    // Added where they were not written, and stable.
    let out = fmt(&src.replace("(a and b) or (c and d)", "a and b or c and d"));
    assert!(
        out.contains("  condition (a and b) or (c and d) or"),
        "{out}"
    );
    assert_eq!(fmt(&out), out);
    assert_eq!(ir(&out), ir(src));
}
