//! Every `kql-defender` file says truthfully whether its query can become a Defender XDR custom
//! detection rule. Microsoft documents what such a query must return (Defender XDR
//! documentation, "Create and manage custom detection rules", "Required columns in the query
//! results"): `Timestamp`; the columns that identify the event (Defender for Endpoint tables:
//! `DeviceId` and `ReportId`; `Alert*` tables: nothing more; every other table: `ReportId`);
//! and one impacted-asset column. Those rules are written out below on their own (not read from
//! the target's `custom_detection` vars), and each file's `// custom detection:` claim is
//! checked against the target's table schemas and the query's own `extend`s: "ready" must
//! return every required column; "not as is" must lack one. Over the shipped pack and the
//! SigmaHQ corpus.

#[path = "target_util.rs"]
mod util;

use std::collections::BTreeSet;

use detc::ir::Rule;
use detc::target::Outcome;

/// Impacted-asset columns, as the documentation lists them.
const ASSETS: &[&str] = &[
    "DeviceId",
    "DeviceName",
    "RemoteDeviceName",
    "RecipientEmailAddress",
    "SenderFromAddress",
    "SenderMailFromAddress",
    "RecipientObjectId",
    "AccountObjectId",
    "AccountSid",
    "AccountUpn",
    "InitiatingProcessAccountSid",
    "InitiatingProcessAccountUpn",
    "InitiatingProcessAccountObjectId",
];

/// The event-identifying columns a table's rows must carry, by the table's name.
fn identifying(table: &str) -> &'static [&'static str] {
    if table.starts_with("Device") {
        &["Timestamp", "DeviceId", "ReportId"]
    } else if table.starts_with("Alert") {
        &["Timestamp"]
    } else {
        &["Timestamp", "ReportId"]
    }
}

/// Whether `query` qualifies: it reads one table with a known schema, keeps every row's columns
/// (no `project`, `summarize` or `union`), and returns the required columns.
fn qualifies(
    query: &str,
    schema: &std::collections::BTreeMap<String, detc::target::render::Table>,
) -> bool {
    let table = query.lines().next().unwrap_or("").trim();
    let Some(columns) = schema.get(table) else {
        return false;
    };
    if query.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("| project") || l.starts_with("| summarize") || l.starts_with("union")
    }) {
        return false;
    }
    let mut have: BTreeSet<&str> = columns.keys().map(String::as_str).collect();
    for line in query.lines().filter(|l| l.starts_with("| extend ")) {
        for part in line["| extend ".len()..].split(", ") {
            if let Some((name, _)) = part.split_once(" = ") {
                have.insert(name.trim());
            }
        }
    }
    identifying(table).iter().all(|c| have.contains(c)) && ASSETS.iter().any(|c| have.contains(c))
}

/// The compiled kql-defender files of `rules`: (rule, file text).
fn build(rules: &[Rule]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (r, o) in util::packs::compile_all(rules, "kql-defender") {
        if let Outcome::Compiled(c) = o {
            files.extend(c.files.into_iter().map(|f| (r.name.clone(), f.contents)));
        }
    }
    files
}

/// Check each file's claim; returns (ready, not ready) counts.
fn check_claims(files: &[(String, String)]) -> (usize, usize) {
    let schema = util::target("kql-defender").tables;
    let (mut ready, mut not) = (0, 0);
    let mut wrong = Vec::new();
    for (name, text) in files {
        let claims: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("// custom detection: "))
            .collect();
        assert_eq!(claims.len(), 1, "{name}: one claim line expected:\n{text}");
        let query: String = text
            .lines()
            .filter(|l| !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let ok = qualifies(&query, &schema);
        let says_ready = claims[0].starts_with("ready");
        if ok != says_ready {
            wrong.push(format!("{name}: says `{}`, qualifies: {ok}", claims[0]));
        }
        if says_ready {
            ready += 1;
        } else {
            assert!(claims[0].starts_with("not as is"), "{name}: {}", claims[0]);
            not += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    (ready, not)
}

#[test]
fn shipped_rules_say_whether_they_are_custom_detections() {
    let rules = util::packs::shipped();
    let files = build(&rules);
    let (ready, not) = check_claims(&files);
    eprintln!("kql-defender, shipped pack: {ready} custom-detection ready, {not} hunting only");
    // The Defender tables' rules qualify; the Sentinel-table fallbacks (WindowsEvent,
    // SecurityEvent, ...) have no ReportId and cannot.
    assert!(ready > 40 && not > 10, "{ready} / {not}");
}

#[test]
fn sigmahq_corpus_says_whether_it_is_custom_detections() {
    let Some(rules) = util::packs::sigmahq() else {
        return;
    };
    let files = build(&rules);
    let (ready, not) = check_claims(&files);
    eprintln!("kql-defender, SigmaHQ corpus: {ready} custom-detection ready, {not} hunting only");
    assert!(files.len() > 2000, "{}", files.len());
}

/// The checker tells a qualifying query from the ways one fails.
#[test]
fn checker_knows_the_required_columns() {
    let schema = util::target("kql-defender").tables;
    assert!(qualifies(
        "DeviceProcessEvents\n| where FileName =~ \"x\"",
        &schema
    ));
    assert!(!qualifies(
        "DeviceProcessEvents\n| summarize count() by DeviceId",
        &schema
    ));
    assert!(!qualifies(
        "WindowsEvent\n| extend Timestamp = TimeGenerated\n| where EventID == 1",
        &schema
    ));
    assert!(!qualifies("NoSuchTable\n| where x == 1", &schema));
}
