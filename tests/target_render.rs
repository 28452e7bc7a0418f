//! Query rendering for the spec targets: the exact spelling per construct, skips with reasons,
//! and SPL escaping (read back with SPL's own quoting rules, crafted values never change the
//! query's shape).

#[path = "target_util.rs"]
mod util;

use detc::diag::Span;
use detc::ir::norm::{Expr, Pred, Test};
use detc::ir::{Piece, SigmaString};
use detc::target::{Backend, Outcome};
use proptest::prelude::*;
use util::*;

fn q(target: &str, body: &str) -> String {
    query(target, PROC, body).unwrap_or_else(|e| panic!("{target}: {e}"))
}

/// Sysmon 1 through its log source macro (default definition in targets/splunk/logsources).
const SYSMON1: &str = "`detc_windows_process_creation`";
/// process_creation is also Security 4688 (Sigma's taxonomy): its own terms, its field names.
const SEC4688: &str = "`detc_windows_process_creation_security`";

#[test]
fn plain_rule_in_every_target() {
    let body = r#"  net = Image endswith "\net.exe", "\net1.exe"
  add = CommandLine contains all "localgroup", "/add"
  f = ParentImage null
  condition net and add and not f"#;
    assert_eq!(
        q("splunk", body),
        format!(
            r#"({SYSMON1} (Image="*\\net.exe" OR Image="*\\net1.exe") CommandLine="*localgroup*" CommandLine="*/add*" NOT (NOT ParentImage=* OR ParentImage="")) OR ({SEC4688} (NewProcessName="*\\net.exe" OR NewProcessName="*\\net1.exe") CommandLine="*localgroup*" CommandLine="*/add*" NOT (NOT ParentProcessName=* OR ParentProcessName=""))"#
        )
    );
    assert_eq!(
        q("kql-defender", body),
        "DeviceProcessEvents\n| where (FolderPath endswith \"\\\\net.exe\" or FolderPath endswith \"\\\\net1.exe\") and ProcessCommandLine contains \"localgroup\" and ProcessCommandLine contains \"/add\" and not(isempty(InitiatingProcessFolderPath))"
    );
    // tstats cannot test for an empty field: the null test runs after grouping, on rows kept
    // with a placeholder for the absent column (turned back into null first).
    assert_eq!(
        q("splunk-cim", body),
        r#"| tstats summariesonly=false allow_old_summaries=true fillnull_value="__detc_null__" count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where (Processes.process_path="*\\net.exe" OR Processes.process_path="*\\net1.exe") AND Processes.process="*localgroup*" AND Processes.process="*/add*" by Processes.dest Processes.user Processes.parent_process_path Processes.process_path Processes.process Processes.process_id | foreach Processes.dest Processes.user Processes.parent_process_path Processes.process_path Processes.process Processes.process_id [eval <<FIELD>>=nullif('<<FIELD>>', "__detc_null__")] | where NOT (isnull('Processes.parent_process_path') OR 'Processes.parent_process_path'="")"#
    );
    let body2 = r#"  net = Image endswith "\net.exe"
  condition net"#;
    assert_eq!(
        q("splunk-cim", body2),
        r#"| tstats summariesonly=false allow_old_summaries=true fillnull_value="__detc_null__" count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.process_path="*\\net.exe" by Processes.dest Processes.user Processes.parent_process_path Processes.process_path Processes.process Processes.process_id | foreach Processes.dest Processes.user Processes.parent_process_path Processes.process_path Processes.process Processes.process_id [eval <<FIELD>>=nullif('<<FIELD>>', "__detc_null__")]"#
    );
}

#[test]
fn cased_and_regex_use_the_where_dialect_in_splunk() {
    let s = q(
        "splunk",
        "  a = CommandLine cased contains \"IEX\"\n  condition a",
    );
    assert_eq!(
        s,
        format!(r#"({SYSMON1}) OR ({SEC4688}) | where match(CommandLine, "(?s)^.*IEX.*$")"#)
    );
    let s = q("splunk", "  a = CommandLine re i \"\\bnet1?\\.exe\"\n  b = Image endswith \"\\x.exe\"\n  condition a or not b");
    assert_eq!(
        s,
        format!(
            r#"({SYSMON1}) OR ({SEC4688}) | eval Image=coalesce(Image, NewProcessName) | where match(CommandLine, "(?i)\\bnet1?\\.exe") OR NOT (isnotnull(Image) AND match(Image, "(?is)^.*\\\\x\\.exe$"))"#
        )
    );
    // `?` is not a wildcard in SPL search: exact single-character match through a regex.
    let s = q("splunk", "  a = Image \"C:\\?md.exe\"\n  condition a");
    assert!(
        s.ends_with(r#"| where match(Image, "(?is)^C:\\\\.md\\.exe$")"#),
        "{s}"
    );
    // A literal `*` cannot be written in a search string either.
    let s = q("splunk", "  a = CommandLine contains '*'\n  condition a");
    assert!(
        s.ends_with(r#"| where match(CommandLine, "(?is)^.*\\*.*$")"#),
        "{s}"
    );
}

#[test]
fn splunk_process_creation_is_sysmon_1_or_security_4688() {
    // A field 4688 does not have (OriginalFileName) is read as is: absent there, so false.
    let s = q(
        "splunk",
        "  a = OriginalFileName \"reg.exe\"\n  b = User \"x\"\n  condition a or b",
    );
    assert_eq!(
        s,
        format!(
            r#"({SYSMON1} (OriginalFileName="reg.exe" OR User="x")) OR ({SEC4688} (OriginalFileName="reg.exe" OR SubjectUserName="x"))"#
        )
    );
    // `| where`: each source keeps its own prefilter terms; only the fields the `where` part
    // reads are computed under the rule's names (the event's own field first).
    let s = q(
        "splunk",
        "  a = ParentImage endswith \"\\w.exe\"\n  b = CommandLine re \"x+\"\n  condition a and b",
    );
    assert_eq!(
        s,
        format!(
            r#"({SYSMON1} ParentImage="*\\w.exe") OR ({SEC4688} ParentProcessName="*\\w.exe") | where match(CommandLine, "x+")"#
        )
    );
    let s = q(
        "splunk",
        "  a = ParentImage re \"w\"\n  b = Image cased \"X\"\n  condition a or b",
    );
    assert_eq!(
        s,
        format!(
            r#"({SYSMON1}) OR ({SEC4688}) | eval Image=coalesce(Image, NewProcessName) | eval ParentImage=coalesce(ParentImage, ParentProcessName) | where match(ParentImage, "w") OR match(Image, "(?s)^X$")"#
        )
    );
}

#[test]
fn kql_case_sensitivity_and_middle_wildcards() {
    let s = q("kql-defender", "  a = CommandLine cased contains \"IEX\"\n  b = CommandLine \"*powershell*-enc*\"\n  c = Image \"x\"\n  condition a or b or c");
    assert_eq!(
        s,
        "DeviceProcessEvents\n| where ProcessCommandLine contains_cs \"IEX\" or ProcessCommandLine matches regex \"(?is)^.*powershell.*-enc.*$\" or FolderPath =~ \"x\""
    );
}

#[test]
fn keywords_numbers_cidr_fieldref() {
    let s = q("kql-defender", "  w = keywords \"mimikatz\"\n  condition w");
    assert_eq!(s, "DeviceProcessEvents\n| where * contains \"mimikatz\"");
    let s = q("splunk", "  w = keywords \"mimikatz\"\n  condition w");
    assert_eq!(
        s,
        format!(r#"({SYSMON1} "*mimikatz*") OR ({SEC4688} "*mimikatz*")"#)
    );
    let n = query(
        "kql-defender",
        "product=windows category=network_connection",
        "  a = DestinationIp cidr \"10.0.0.0/8\", \"fe80::/10\"\n  b = DestinationPort gte 1024\n  condition a and not b",
    )
    .unwrap();
    assert_eq!(
        n,
        "DeviceNetworkEvents\n| where (ipv4_is_in_range(RemoteIP, \"10.0.0.0/8\") or ipv6_is_in_range(RemoteIP, \"fe80::/10\")) and not(coalesce(RemotePort >= 1024, false))"
    );
    let s = query(
        "splunk",
        "product=windows category=network_connection",
        "  a = DestinationIp cidr \"10.0.0.0/8\"\n  condition a",
    )
    .unwrap();
    // Sysmon 3 or Security 5156 (its own field names), every term before the first pipe.
    assert!(
        s.contains("`detc_windows_network_connection` DestinationIp=\"10.0.0.0/8\") OR (")
            && s.ends_with(
                "`detc_windows_network_connection_security` DestAddress=\"10.0.0.0/8\")"
            )
            && !s.contains('|'),
        "{s}"
    );
    // A number compared with a text column (here Defender's computed `Details`, which renders
    // DWORDs as Sysmon does) is parsed first: Kusto does not compare a string with a long.
    let n = query(
        "kql-defender",
        "product=windows category=registry_set",
        "  a = Details 0\n  condition a",
    )
    .unwrap();
    assert!(n.ends_with("| where todouble(Details) == 0"), "{n}");
    let s = q(
        "kql-defender",
        "  a = ParentImage fieldref \"Image\"\n  condition a",
    );
    assert_eq!(
        s,
        "DeviceProcessEvents\n| where InitiatingProcessFolderPath =~ FolderPath"
    );
    let s = q(
        "splunk",
        "  a = ParentImage fieldref \"Image\"\n  condition a",
    );
    assert!(
        s.ends_with("| where (isnotnull(Image) AND lower(ParentImage)==lower(Image))"),
        "{s}"
    );
}

#[test]
fn unsupported_constructs_are_skipped_with_the_construct_and_target() {
    // GrantedAccess (a process access field): no column in DeviceProcessEvents, nor in Sysmon's
    // process creation event (the fallback).
    let e = query(
        "kql-defender",
        PROC,
        "  a = GrantedAccess \"0x1410\"\n  condition a",
    )
    .unwrap_err();
    assert!(
        e.contains("GrantedAccess") && e.contains("kql-defender"),
        "{e}"
    );
    // RE2 has no look-ahead.
    let e = query(
        "kql-defender",
        PROC,
        "  a = CommandLine re \"a(?=b)\"\n  condition a",
    )
    .unwrap_err();
    assert!(e.contains("RE2"), "{e}");
    // A log source the target has no entry for (every SigmaHQ log source has one now, so an
    // invented product).
    let e = query(
        "kql-defender",
        "product=acme service=audit",
        "  a = auditType.action \"x\"\n  condition a",
    )
    .unwrap_err();
    assert!(e.contains("log source product=acme service=audit"), "{e}");
    // tstats has no regex: it is tested after grouping by the column...
    let s = q("splunk-cim", "  a = CommandLine re \"x\"\n  condition a");
    assert!(
        s.contains(r#"by Processes.dest Processes.user Processes.parent_process_path Processes.process_path Processes.process Processes.process_id | foreach"#)
            && s.ends_with(r#"[eval <<FIELD>>=nullif('<<FIELD>>', "__detc_null__")] | where match('Processes.process', "x")"#),
        "{s}"
    );
    // ... with a placeholder for events without it (tstats `fillnull_value`, turned back into
    // null before `| where`), so a condition true for an absent field keeps its meaning.
    let s = q(
        "splunk-cim",
        "  a = ParentCommandLine re \"x\"\n  b = Image endswith \"a.exe\"\n  condition a and b",
    );
    assert!(
        s.contains(r#"where Processes.process_path="*a.exe" by Processes.dest"#)
            && s.ends_with(r#"Processes.process_id Processes.parent_process [eval <<FIELD>>=nullif('<<FIELD>>', "__detc_null__")] | where match('Processes.parent_process', "x")"#),
        "{s}"
    );
    let s = q(
        "splunk-cim",
        "  a = ParentCommandLine re \"x\"\n  b = Image re \"y\"\n  condition not (a or b)",
    );
    assert!(
        s.contains(r#"fillnull_value="__detc_null__" count"#)
            && s.ends_with(r#"| where NOT ((isnotnull('Processes.parent_process') AND match('Processes.parent_process', "x")) OR (isnotnull('Processes.process_path') AND match('Processes.process_path', "y")))"#),
        "{s}"
    );
}

#[test]
fn skip_diagnostic_points_at_the_matcher() {
    let src = rule_src(
        "t",
        PROC,
        "  a = Image \"x\"\n  b = GrantedAccess \"y\"\n  condition a and b",
    );
    let (rules, exprs) = pack(&src);
    match compile(&target("kql-defender"), &rules, &exprs, 0) {
        Outcome::Skipped(d) => {
            assert_eq!(d.code, "unsupported");
            let span = d.loc.unwrap().span;
            assert!(
                src[span.range()].contains("GrantedAccess"),
                "{:?}",
                &src[span.range()]
            );
        }
        Outcome::Compiled(c) => panic!("compiled: {:?}", c.query),
    }
}

// ---- SPL escaping -------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Tok {
    Str(String),
    Other(String),
}

/// SPL's own quoting rules: a double-quoted string runs to the next unescaped `"`, and a
/// backslash escapes the next character. Everything else is split into punctuation and words.
fn spl_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' => {
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some('\\') => v.push(it.next().expect("escape at end")),
                        Some('"') => break,
                        Some(ch) => v.push(ch),
                        None => panic!("unterminated string in {s}"),
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_whitespace() => {}
            c if c.is_alphanumeric() || c == '_' || c == '.' => {
                let mut w = c.to_string();
                while let Some(&n) = it.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '.' {
                        w.push(n);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Other(w));
            }
            c => out.push(Tok::Other(c.to_string())),
        }
    }
    out
}

fn shape(t: &[Tok]) -> Vec<String> {
    t.iter()
        .map(|t| match t {
            Tok::Str(_) => "<str>".into(),
            Tok::Other(o) => o.clone(),
        })
        .collect()
}

fn spl_value_query(target: &dyn Backend, value: &str, cased: bool, contains: bool) -> String {
    let (rules, _) = pack(&rule_src(
        "v",
        PROC,
        "  a = CommandLine \"x\"\n  condition a",
    ));
    let mut pattern = SigmaString::literal(value);
    if contains {
        pattern.pieces.insert(0, Piece::Star);
        pattern.push(Piece::Star);
    }
    let exprs = vec![Some(Expr::Pred(Pred {
        field: Some("CommandLine".into()),
        test: Test::Str { pattern, cased },
        span: Span::default(),
    }))];
    match compile(target, &rules, &exprs, 0) {
        Outcome::Compiled(c) => c.query.unwrap(),
        Outcome::Skipped(d) => panic!("skipped: {}", d.message),
    }
}

/// Whether the regex crate's case folding pairs `c` with its upper case (std's view).
fn regex_knows_case_of(c: char) -> bool {
    let upper: String = c.to_uppercase().collect();
    upper == c.to_string()
        || regex::Regex::new(&format!("(?i)^{}$", regex::escape(&c.to_string())))
            .is_ok_and(|rx| rx.is_match(&upper))
}

/// The value a rendered SPL literal stands for: a search pattern (`*` = wildcard) or an
/// anchored `match()` regex, checked by matching.
fn check_spl_value(q: &str, v: &str, cased: bool, contains: bool) {
    // The restoring of null group-by columns (splunk-cim) is the same text in every query.
    let q = &match (q.find(" | foreach "), q.find(r#""__detc_null__")]"#)) {
        (Some(i), Some(j)) => format!("{}{}", &q[..i], &q[j + r#""__detc_null__")]"#.len()..]),
        _ => q.to_string(),
    };
    let toks = spl_tokens(q);
    let last = toks.iter().rev().find_map(|t| match t {
        Tok::Str(s) => Some(s.clone()),
        _ => None,
    });
    let lit = last.expect("a string literal");
    if q.contains("| where match(") {
        let rx = regex::Regex::new(&lit).unwrap();
        let sample = if contains {
            format!("x{v}y")
        } else {
            v.to_string()
        };
        assert!(rx.is_match(&sample), "{lit} should match {sample:?}");
        assert!(!rx.is_match(&format!("{v}\u{1}")) || contains);
        // A caseless regex matches the upper-cased text, for every letter whose case the
        // regex engine's Unicode tables know: std's tables can be a Unicode version newer
        // (U+16EBB got its case pair in Unicode 17), which is not what is tested here.
        if !cased && sample.chars().all(regex_knows_case_of) {
            assert!(
                rx.is_match(&sample.to_uppercase())
                    || sample.to_uppercase().chars().count() != sample.chars().count()
            );
        }
    } else {
        let expect = if contains {
            format!("*{v}*")
        } else {
            v.to_string()
        };
        assert_eq!(lit, expect);
    }
}

const CRAFTED: &[&str] = &[
    "\" OR 1=1 OR \"",
    "\"| delete",
    "\\\"",
    "trailing\\",
    "line\nbreak",
    "tab\there",
    "nul\u{0}x",
    "' OR ''='",
    "] [search index=*",
    "$token$ `macro`",
    "\u{202e}bidi",
    "ünïcödé 日本",
    "*literal star*",
    "x\" | delete | search \"",
];

#[test]
fn crafted_values_never_change_the_spl_shape() {
    for t in ["splunk", "splunk-cim"] {
        let b = target(t);
        for cased in [false, true] {
            for contains in [false, true] {
                for v in CRAFTED {
                    // splunk-cim too: what tstats cannot write goes to `| where` after it.
                    let q = spl_value_query(&b, v, cased, contains);
                    assert!(!q.contains('\n'), "{q}");
                    // Compare with a benign value rendered by the same dialect (`*` forces `where`).
                    let benign_value = if q.contains("| where") {
                        "be*nign"
                    } else {
                        "benign"
                    };
                    let benign = shape(&spl_tokens(&spl_value_query(
                        &b,
                        benign_value,
                        cased,
                        contains,
                    )));
                    assert_eq!(shape(&spl_tokens(&q)), benign, "{t}: {v:?} changed {q}");
                    check_spl_value(&q, v, cased, contains);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn spl_literals_round_trip(v in "(?s).{1,20}", cased in any::<bool>(), contains in any::<bool>()) {
        let b = target("splunk");
        let q = spl_value_query(&b, &v, cased, contains);
        prop_assert!(!q.contains('\n'));
        check_spl_value(&q, &v, cased, contains);
    }
}

#[test]
fn splunk_correlation_reads_the_group_field_from_either_source() {
    let text = format!(
        "{}\ncorrelation c {{\n  title \"Many\"\n  id 6f6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c\n  level medium\n  type event_count\n  rules p\n  group-by User\n  timespan 1h\n  condition gte 3\n}}\n",
        rule_src("p", PROC, "  a = Image endswith \"x.exe\"\n  condition a")
    );
    let (rules, exprs) = pack(&text);
    let q = match compile(&target("splunk"), &rules, &exprs, 1) {
        Outcome::Compiled(c) => c.query.expect("query"),
        Outcome::Skipped(d) => panic!("{}", d.message),
    };
    // Sysmon's User, or the 4688 event's SubjectUserName (as detc match reads it).
    assert!(
        q.contains(r#"NewProcessName="*x.exe") | eval detc_rule="p" | eval User=coalesce(User, SubjectUserName) | bin _time span=1h | stats count as event_count by _time User"#),
        "{q}"
    );
}

/// SQL correlations quote their output names (`correlation.quote_outputs`): a dotted group-by
/// field is one quoted column, a name holding the dialect's quote character is skipped with a
/// diagnostic naming it; the KQL targets, which do not quote outputs, still skip the dotted
/// name (for the column's absence from the table schema, which comes first).
#[test]
fn sql_correlation_output_names_are_quoted_or_skipped() {
    for (group, sql_ok) in [("a.b", true), ("a\"b`c", false)] {
        let text = format!(
            "title: p\nname: p\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel: {{Image|endswith: x.exe}}\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [p]\n  group-by: ['{group}']\n  timespan: 1h\n  condition: {{gte: 3}}\n"
        );
        let (rules, exprs) = sigma_pack(&text);
        for (t, quoted) in [
            ("sql-duckdb", "\"a.b\""),
            ("sql-spark", "`a.b`"),
            ("kql-sentinel", ""),
        ] {
            match compile(&target(t), &rules, &exprs, 1) {
                Outcome::Compiled(c) => {
                    assert!(sql_ok && !quoted.is_empty(), "{t} {group}");
                    let q = c.query.unwrap();
                    assert!(q.contains(&format!("GROUP BY {quoted}")), "{t}: {q}");
                }
                Outcome::Skipped(d) => {
                    assert!(!sql_ok || quoted.is_empty(), "{t} {group}: {}", d.message);
                    if !quoted.is_empty() {
                        assert!(d.message.contains("field name"), "{}", d.message);
                    }
                }
            }
        }
    }
}

/// A field under a log source's JSON column (CloudTrail `requestParameters`) is a JSON path
/// read in each SQL dialect: plain keys with dots, others quoted as the engine's path syntax
/// quotes them; a key the path cannot hold, or a `_` key detc match never reads, skips.
#[test]
fn sql_json_columns_are_read_as_json_paths_or_skipped() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "requestParameters.policy.effect",
            Some(("'$.policy.effect'", "'$.policy.effect'")),
        ),
        (
            "requestParameters.key-id",
            Some(("'$.\"key-id\"'", "'$[\\'key-id\\']'")),
        ),
        ("requestParameters", Some(("'$'", "'$'"))),
        ("requestParameters.a\\b", None),
        ("requestParameters._x", None),
    ];
    for (field, want) in cases {
        let text = format!(
            "title: j\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel:\n    '{field}': x\n  condition: sel\n"
        );
        let (rules, exprs) = sigma_pack(&text);
        for (i, t) in ["sql-duckdb", "sql-spark"].into_iter().enumerate() {
            match (compile(&target(t), &rules, &exprs, 0), want) {
                (Outcome::Compiled(c), Some(paths)) => {
                    let q = c.query.unwrap();
                    let path = if i == 0 { paths.0 } else { paths.1 };
                    let col = if i == 0 {
                        "\"requestParameters\""
                    } else {
                        "`requestParameters`"
                    };
                    let read = if i == 0 {
                        "json_extract_string"
                    } else {
                        "get_json_object"
                    };
                    assert!(
                        q.contains(&format!("{read}({col}, {path})")),
                        "{t} {field}: {q}"
                    );
                }
                (Outcome::Skipped(d), None) => {
                    assert!(d.message.contains("JSON key"), "{t} {field}: {}", d.message)
                }
                (Outcome::Compiled(c), None) => panic!("{t} {field}: {:?}", c.query),
                (Outcome::Skipped(d), Some(_)) => panic!("{t} {field}: {}", d.message),
            }
        }
    }
}

/// A field crossing a declared JSON array (CloudTrail `requestParameters.containerDefinitions`)
/// is a list: a test is written on the lambda variable inside the dialect's `some`, `exists`
/// counts the values; a field reference or a correlation group-by with it skips with the
/// reason.
#[test]
fn sql_json_array_fields_are_lists_or_skipped() {
    let field = "requestParameters.containerDefinitions.name";
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "sel:\n    requestParameters.containerDefinitions.name: web\n  condition: sel",
            Some(("len(list_filter(", "exists(filter(")),
        ),
        (
            "sel:\n    requestParameters.containerDefinitions.name: web\n  condition: not sel",
            Some(("coalesce(len(list_filter(", "coalesce(exists(filter(")),
        ),
        (
            "sel:\n    requestParameters.containerDefinitions.name|exists: true\n  condition: sel",
            Some(("lambda detc_v: detc_v IS NOT NULL)) > 0", "detc_v -> detc_v IS NOT NULL)) > 0")),
        ),
        (
            "sel:\n    requestParameters.containerDefinitions.name|fieldref: eventName\n  condition: sel",
            None,
        ),
        (
            "sel:\n    eventName|fieldref: requestParameters.containerDefinitions.name\n  condition: sel",
            None,
        ),
    ];
    for (detection, want) in cases {
        let text = format!(
            "title: j\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  {detection}\n"
        );
        let (rules, exprs) = sigma_pack(&text);
        for (i, t) in ["sql-duckdb", "sql-spark"].into_iter().enumerate() {
            match (compile(&target(t), &rules, &exprs, 0), want) {
                (Outcome::Compiled(c), Some(w)) => {
                    let q = c.query.unwrap();
                    let w = if i == 0 { w.0 } else { w.1 };
                    assert!(q.contains(w), "{t} {detection}: {q}");
                    assert!(q.contains("'$.containerDefinitions'"), "{t}: {q}");
                }
                (Outcome::Skipped(d), None) => {
                    assert!(d.message.contains(field), "{t}: {}", d.message);
                    assert!(
                        d.message.contains("field reference") || d.message.contains("a list"),
                        "{t}: {}",
                        d.message
                    );
                }
                (Outcome::Compiled(c), None) => panic!("{t} {detection}: {:?}", c.query),
                (Outcome::Skipped(d), Some(_)) => panic!("{t} {detection}: {}", d.message),
            }
        }
    }
    // A correlation grouping by a list field has no single value per event.
    let text = format!(
        "title: p\nname: p\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel: {{eventName: RunTask}}\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [p]\n  group-by: ['{field}']\n  timespan: 1h\n  condition: {{gte: 3}}\n"
    );
    let (rules, exprs) = sigma_pack(&text);
    for t in ["sql-duckdb", "sql-spark"] {
        match compile(&target(t), &rules, &exprs, 1) {
            Outcome::Compiled(c) => panic!("{t}: {:?}", c.query),
            Outcome::Skipped(d) => assert!(d.message.contains("a list"), "{t}: {}", d.message),
        }
    }
}
