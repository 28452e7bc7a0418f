//! SigmaHQ regression data: with the whole SigmaHQ corpus loaded, the `.json` and the `.evtx`
//! form of every case fire the rule its `info.yml` names. Also reports how many other rules
//! fire on those events (printed; run with `--nocapture` to see it).

use std::path::PathBuf;

use detc::diag::Sources;
use detc::eval::regression;

fn shared(sub: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(sub);
    if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared").join(sub)
    }
}

#[test]
fn every_regression_case_fires_its_rule_in_both_forms() {
    let mut sources = Sources::new();
    let (rules, _) = detc::pack::load::load_rules(&[shared("sigmahq/rules")], &mut sources);
    assert!(rules.len() > 3000, "SigmaHQ corpus: {} rules", rules.len());
    let report = regression::check_rules(&rules, &shared("sigmahq/regression_data/rules"));
    let json = report
        .cases
        .iter()
        .filter(|c| c.file.extension().is_some_and(|e| e == "json"))
        .count();
    let evtx = report.cases.len() - json;
    assert!(json >= 190 && evtx >= 190, "json {json}, evtx {evtx}");
    for c in &report.cases {
        assert!(
            c.rule_loaded,
            "{}: rule {} not loaded",
            c.file.display(),
            c.rule_id
        );
        assert!(c.events > 0, "{}: no events", c.file.display());
    }
    let failures: Vec<String> = report
        .failures()
        .iter()
        .map(|c| format!("{} ({})", c.file.display(), c.rule_id))
        .collect();
    assert!(
        failures.is_empty(),
        "rules not fired:\n{}",
        failures.join("\n")
    );
    let others = report.others();
    println!(
        "{} event files fire their rule; {} other rules fire on them",
        report.cases.len(),
        others.len()
    );
}
