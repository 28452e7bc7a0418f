//! Fields read from XML elements of a text column (`xml_fields`: Sigma's `Data`, the values of
//! the unnamed `<Data>` elements of a Windows event, and `Binary`, read from the `Event`
//! table's EventData XML) mean what `detc match` means: the test holds when any unnamed
//! `<Data>` element's value matches. Each emitted `matches regex` is run (Rust's `regex`, the
//! RE2 syntax Kusto uses) over the XML of events written as the Windows renderer writes them
//! (`&`, `<` as entities; `>`, `"`, `'` raw or as entities), and compared with detc's
//! evaluator on the same event (Data as a list value).

#[path = "target_util.rs"]
mod util;

use detc::target::Outcome;
use serde_json::json;

/// The XML text of `s` as an element value: `&` and `<` always escaped; `>`, `"`, `'` as
/// entities when `full`, else raw (both forms are well-formed XML).
fn xml_text(s: &str, full: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' if full => out.push_str("&gt;"),
            '"' if full => out.push_str("&quot;"),
            '\'' if full => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An `Event` row's EventData as the Azure Monitor Agent stores it: the unnamed values, then
/// a named one (which `Data` must not read), then the binary data.
fn event_data(data: &[&str], named: &str, full: bool) -> String {
    let mut x = String::from(
        r#"<DataItem type="System.XmlData"><EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">"#,
    );
    for d in data {
        x.push_str(&format!("<Data>{}</Data>", xml_text(d, full)));
    }
    x.push_str(&format!(
        r#"<Data Name="param1">{}</Data><Binary>4D0053004D005100</Binary></EventData></DataItem>"#,
        xml_text(named, full)
    ));
    x
}

/// The regexes of a where clause (`EventData matches regex "..."`), unescaped from KQL string
/// literals, and whether the clause is their negation.
fn regexes(q: &str) -> (Vec<regex::Regex>, bool) {
    let lit = regex::Regex::new(r#"EventData matches regex "((?:[^"\\]|\\.)*)""#).unwrap();
    let res = lit
        .captures_iter(q)
        .map(|c| {
            let mut s = String::new();
            let mut chars = c[1].chars();
            while let Some(ch) = chars.next() {
                s.push(if ch == '\\' {
                    chars.next().unwrap()
                } else {
                    ch
                });
            }
            regex::Regex::new(&s).unwrap_or_else(|e| panic!("{s}: {e}"))
        })
        .collect();
    (res, q.contains("| where not("))
}

const DATA: &[&[&str]] = &[
    &[],
    &["a&b"],
    &["x<y>z", "other"],
    &["say \"hi\"", "it's"],
    &[r"C:\Windows\TEMP\a.msi"],
    &["MsMpEng.exe crashed in mpengine.dll"],
    &["ab", ""],
    &["line1\nline2"],
    &["amp", "a&amp;b"],
];

#[test]
fn data_tests_over_event_xml_equal_detc_match() {
    // (modifiers, value), each as `Data<modifiers>: value` (and `param1`, `Binary`).
    let tests: &[(&str, &str, &str)] = &[
        ("Data", "|contains", "&b"),
        ("Data", "|contains", "amp"),
        ("Data", "|contains", "<y>"),
        ("Data", "|contains", "\"hi\""),
        ("Data", "|contains", "it's"),
        ("Data", "|endswith", ".MSI"),
        ("Data", "|startswith", "c:\\windows\\"),
        ("Data", "", "ab"),
        ("Data", "", "a?b"),
        ("Data", "", "x*z"),
        ("Data", "", "line1*"),
        ("Data", "|contains|cased", "MsMpEng"),
        ("Data", "|contains|cased", "msmpeng"),
        ("Data", "|contains", "other"),
        ("param1", "|contains", "named"),
        ("Binary", "|contains", "4d0053004d005100"),
    ];
    let target = util::target("kql-sentinel");
    let mut checked = 0;
    for (field, mods, value) in tests {
        for negate in [false, true] {
            // A named field alone is read from WindowsEvent (EventData.param1): with `Binary`
            // the rule reads the Event table, both from the XML.
            let binary = match *field {
                "param1" => "\n        Binary|contains: '4d00'",
                _ => "",
            };
            let yaml = format!(
                "title: t\nlogsource:\n    product: windows\n    service: system\ndetection:\n    sel:\n        {field}{mods}: {}{binary}\n    condition: {}sel\n",
                json!(value),
                if negate { "not " } else { "" }
            );
            let (rules, exprs) = util::sigma_pack(&yaml);
            let q = match util::compile(&target, &rules, &exprs, 0) {
                Outcome::Compiled(c) => c.query.unwrap(),
                Outcome::Skipped(d) => panic!("{yaml}: {}", d.message),
            };
            assert!(q.starts_with("Event\n"), "{q}");
            let (res, negated) = regexes(&q);
            let n = if binary.is_empty() { 1 } else { 2 };
            assert_eq!((res.len(), negated), (n, negate), "{q}");
            for data in DATA {
                let named = "a named value";
                let mut ev = serde_json::Map::new();
                ev.insert("Data".into(), json!(data));
                ev.insert("param1".into(), json!(named));
                ev.insert("Binary".into(), json!("4D0053004D005100"));
                let sigma = detc::eval::eval_expr(
                    &rules[0],
                    exprs[0].as_ref().unwrap(),
                    &detc::eval::Event::from_json_map(&ev),
                );
                for full in [true, false] {
                    let xml = event_data(data, named, full);
                    let kept = res.iter().all(|r| r.is_match(&xml)) != negated;
                    assert_eq!(kept, sigma, "{field}{mods}: {value:?} on {xml}\n{q}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

/// What the XML form cannot express is skipped with the construct named: a pattern an empty
/// element satisfies (written `<Data/>` as well), a regular expression, a number.
#[test]
fn other_tests_on_xml_fields_are_skipped() {
    let target = util::target("kql-sentinel");
    for sel in ["Data: '*'", "Data|re: 'a.b'", "Data|gt: 5"] {
        let yaml = format!(
            "title: t\nlogsource:\n    product: windows\n    service: application\ndetection:\n    sel:\n        {sel}\n    condition: sel\n"
        );
        let (rules, exprs) = util::sigma_pack(&yaml);
        match util::compile(&target, &rules, &exprs, 0) {
            Outcome::Skipped(d) => {
                assert!(d.message.contains("field `Data`"), "{sel}: {}", d.message)
            }
            Outcome::Compiled(c) => panic!("{sel}: {:?}", c.query),
        }
    }
}

/// The Sysmon for Linux fallback (Syslog, both KQL targets) reads each field as `detc match`
/// reads the event: its mapping `replace_string(... extract(@'<Data Name="F">([^<]*)</Data>', 1,
/// SyslogMessage) ...)` is evaluated here as Kusto documents the two functions (`extract`: the
/// first match's group, "" when none; `replace_string`: every occurrence, left to right) over
/// the messages of tests/fixtures/native/sysmon_linux.log (and one with XML entities), and
/// must equal the event's value (absent reads as "").
#[test]
fn sysmon_for_linux_syslog_fields_read_what_detc_match_reads() {
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/native/sysmon_linux.log"),
    )
    .unwrap();
    let mut messages: Vec<String> = fixture
        .lines()
        .filter_map(|l| l.split_once(" sysmon: ").map(|(_, m)| m.to_string()))
        .collect();
    messages.push(r#"<Event><System><Provider Name="Linux-Sysmon"/><EventID>1</EventID></System><EventData><Data Name="CommandLine">sh -c "a &amp;&amp; b &lt;x&gt; 'q' &quot;r&quot; &amp;lt;"</Data><Data Name="User">root</Data><Data Name="CurrentDirectory"/></EventData></Event>"#.into());
    let extract =
        regex::Regex::new(r#"^(.*)extract\(@'([^']*)', 1, SyslogMessage\)(.*)$"#).unwrap();
    let replace = regex::Regex::new(r#"^, "([^"]*)", "((?:[^"\\]|\\.)*)"\)"#).unwrap();
    let mut checked = 0;
    for target in ["kql-sentinel", "kql-defender"] {
        let t = util::target(target);
        for cat in ["network_connection", "process_creation"] {
            let entry = t
                .spec
                .logsources
                .iter()
                .find(|l| {
                    l.table.as_deref() == Some("Syslog")
                        && l.when.get("category").map(String::as_str) == Some(cat)
                })
                .unwrap_or_else(|| panic!("{target} {cat}: no Syslog entry"));
            for (field, mapping) in &entry.fields {
                let c = extract.captures(mapping).expect(mapping);
                let re = regex::Regex::new(&c[2]).unwrap();
                let mut rest = &c[3];
                let mut pairs = Vec::new();
                while let Some(r) = replace.captures(rest) {
                    pairs.push((r[1].to_string(), r[2].replace("\\\"", "\"")));
                    rest = &rest[r[0].len()..];
                }
                assert_eq!(rest, "", "{mapping}");
                assert_eq!(c[1].matches("replace_string(").count(), pairs.len());
                for m in &messages {
                    let mut v = re.captures(m).map(|c| c[1].to_string()).unwrap_or_default();
                    for (from, to) in &pairs {
                        v = v.replace(from.as_str(), to);
                    }
                    let ev = detc::eval::event_xml::xml_event(m).unwrap();
                    let want = ev.get_text(field).unwrap_or_default();
                    assert_eq!(v, want, "{target} {field} in {m}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
