//! The SigmaHQ corpus through every target: every rule loads, and per target the share of rules
//! compiled among those whose log source the target maps. Sigma, raw Splunk and splunk-cim (with
//! its raw-event fallback) must express every such rule; the other targets must not fall below
//! the shares measured when this test was written (see docs/PERFORMANCE.md and the issue notes),
//! so a regression shows up here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use detc::diag::Sources;
use detc::pack::build::{compile, load_and_check, select_backends, Options};
use detc::pack::manifest::TargetEntry;

/// Lowest accepted share (in %) of mapped rules compiled, per target.
const FLOORS: &[(&str, f64)] = &[
    ("sigma", 100.0),
    ("splunk", 100.0),
    ("splunk-cim", 100.0),
    // The KQL targets now map every corpus log source (issue 11; custom `_CL` tables where
    // Microsoft has none), so a rule is skipped only for a field or construct its table lacks
    // (SigninLogs `properties.message`, Zeek `answers` vectors, ...): 99.11% / 99.01%.
    ("kql-defender", 99.1),
    // Also: Sentinel's 10,000-character query limit; 16 of the 17 longer corpus queries are
    // split into part rules, one (a long list under `not`) is skipped (`query-too-long`).
    ("kql-sentinel", 99.0),
    // Every corpus log source has a table and every rule compiles (CIDR as a regex over the
    // address text, see docs/TARGETS.md).
    ("sql-duckdb", 100.0),
    ("sql-spark", 100.0),
];

/// Lowest accepted share (in %) of ALL corpus rules compiled, per target (issue 11 asks 99% for
/// the four SPL/KQL targets; a rule whose log source a target does not map counts as not
/// compiled here).
const ALL_RULES_FLOORS: &[(&str, f64)] = &[
    ("sigma", 100.0),
    ("splunk", 100.0),
    ("splunk-cim", 100.0),
    // 3,113 and 3,110 of 3,141 (issue 11; 77.9% / 77.4% at first, 94.0% / 93.4% before the
    // last 32 log sources, the Event-table XML fields, the split Sentinel rules and the
    // WebProxy_CL fallback).
    ("kql-defender", 99.1),
    ("kql-sentinel", 99.0),
    ("sql-duckdb", 100.0),
    ("sql-spark", 100.0),
];

/// Lowest accepted share (in %) of mapped rules that splunk-cim compiles to a data model
/// (`tstats`) search rather than the raw-event fallback. The cloud, identity, network-device and
/// application log sources have no data model that holds their fields, so the share fell from
/// 57% to 52.06% when they were added (1,631 of 3,133 rules are data model searches).
const CIM_NATIVE_FLOOR: f64 = 51.5;

#[test]
fn sigmahq_corpus_coverage_per_target() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    if !corpus.is_dir() {
        eprintln!("SigmaHQ corpus not found next to the repository; skipping");
        return;
    }
    let opts = Options {
        inputs: vec![corpus],
        keep_going: true,
        ..Options::default()
    };
    let mut sources = Sources::new();
    let checked = load_and_check(&opts, &mut sources);
    assert!(
        checked.rules.len() >= 3141,
        "{} rules loaded",
        checked.rules.len()
    );
    let errors: Vec<String> = checked
        .diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{}: {}",
                d.loc.map(|l| sources.position(l)).unwrap_or_default(),
                d.message
            )
        })
        .collect();
    assert!(errors.is_empty(), "corpus rules with errors: {errors:#?}");
    let backends = select_backends(&opts).unwrap();
    let out = compile(&checked, &backends, &sources, &opts);
    // target -> (mapped, compiled, compiled from the preferred data: no fallback `data`)
    let mut shares: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    // splunk-cim skip reasons (rule name removed), for the report.
    let mut cim_skips: BTreeMap<String, usize> = BTreeMap::new();
    for r in &out.manifest.rules {
        for (t, e) in &r.targets {
            let s = shares.entry(t.clone()).or_default();
            match e {
                TargetEntry::Compiled { data, .. } => {
                    s.0 += 1;
                    s.1 += 1;
                    s.2 += usize::from(data.is_none());
                }
                TargetEntry::Skipped { skipped } if skipped.contains("the log source") => {}
                TargetEntry::Skipped { skipped } => {
                    s.0 += 1;
                    if t == "splunk-cim" {
                        let reason = skipped
                            .split_once("`: ")
                            .map_or(skipped.as_str(), |(_, r)| r);
                        *cim_skips.entry(reason.to_string()).or_default() += 1;
                    }
                }
            }
        }
    }
    for (t, floor) in FLOORS {
        let (mapped, compiled, _) = shares[*t];
        let pct = 100.0 * compiled as f64 / mapped.max(1) as f64;
        eprintln!("{t}: {compiled} of {mapped} rules whose log source it maps ({pct:.2}%)");
        assert!(pct >= *floor, "{t}: {pct:.2}% < {floor}%");
    }
    // The same over every corpus rule, mapped or not.
    let all = out.manifest.rules.len();
    for (t, floor) in ALL_RULES_FLOORS {
        let (_, compiled, _) = shares[*t];
        let pct = 100.0 * compiled as f64 / all.max(1) as f64;
        eprintln!("{t}: {compiled} of all {all} corpus rules ({pct:.2}%)");
        assert!(pct >= *floor, "{t}: {pct:.2}% of all rules < {floor}%");
    }
    // splunk-cim: how many of those are data model (tstats) searches rather than the raw-event
    // fallback (docs/TARGETS.md, "splunk-cim").
    let (mapped, _, native) = shares["splunk-cim"];
    let pct = 100.0 * native as f64 / mapped.max(1) as f64;
    eprintln!("splunk-cim: {native} of {mapped} rules as CIM data model searches ({pct:.2}%)");
    assert!(
        pct >= CIM_NATIVE_FLOOR,
        "splunk-cim CIM-native: {pct:.2}% < {CIM_NATIVE_FLOOR}%"
    );
    let mut reasons: Vec<_> = cim_skips.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (reason, n) in reasons.iter().take(10) {
        eprintln!("splunk-cim skip x{n}: {reason}");
    }
}
