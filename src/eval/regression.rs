//! The SigmaHQ regression check: every case folder of `regression_data/rules` has an `info.yml`
//! naming a rule id and event files (`.json`, `.evtx`) that must trigger that rule. With the
//! whole corpus loaded, each event file must produce a match of its rule; the other rules that
//! fire on the same events are counted (the noise a pack would raise on that telemetry).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ir::Rule;

use super::engine::{Engine, EngineOptions};
use super::read::read_file;

/// One event file of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: PathBuf,
    pub rule_id: String,
    /// Whether the rule with that id is loaded at all.
    pub rule_loaded: bool,
    pub fired: bool,
    pub events: usize,
    /// Ids (or names) of other rules that fired on this file's events.
    pub others: Vec<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Cases whose rule is loaded but did not fire.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.cases
            .iter()
            .filter(|c| c.rule_loaded && !c.fired)
            .collect()
    }
    /// Distinct other rules that fired, with how many files they fired on.
    pub fn others(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for c in &self.cases {
            for o in &c.others {
                *m.entry(o.as_str()).or_default() += 1;
            }
        }
        m
    }
}

/// The rule id an `info.yml` names (`rule_metadata[0].id`).
pub fn info_rule_id(info: &str) -> Option<String> {
    let v: serde_json::Value = serde_yaml::from_str(info).ok()?;
    v.get("rule_metadata")?
        .as_array()?
        .first()?
        .get("id")?
        .as_str()
        .map(String::from)
}

/// Case folders (those holding an `info.yml`) under `dir`, sorted.
pub fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut has_info = false;
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                has_info = true;
            }
        }
        if has_info {
            out.push(d);
        }
    }
    out.sort();
    out
}

/// Run the check with an engine built from `rules` (only `.json` and `.evtx` files; other
/// formats such as `.raw` syslog lines are not event files of this tool).
pub fn check(rules: &[Rule], engine: &Engine, dir: &Path) -> Report {
    let mut report = Report::default();
    let mut scratch = engine.scratch();
    let mut hits = Vec::new();
    for case in case_dirs(dir) {
        let Some(id) = std::fs::read_to_string(case.join("info.yml"))
            .ok()
            .and_then(|t| info_rule_id(&t))
        else {
            continue;
        };
        let target: Vec<usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id() == Some(id.as_str()))
            .map(|(i, _)| i)
            .collect();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&case)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json" || e == "evtx"));
        files.sort();
        for f in files {
            let mut fired = false;
            let mut events = 0;
            let mut others = std::collections::BTreeSet::new();
            read_file(&f, &mut |rec| {
                let mut ev = rec.event;
                events += 1;
                let class = engine.prepare(&mut ev);
                engine.matches(&ev, &class, &mut scratch, &mut hits);
                for &h in &hits {
                    if target.contains(&h) {
                        fired = true;
                    } else {
                        others.insert(rules[h].id().unwrap_or(&rules[h].name).to_string());
                    }
                }
            });
            report.cases.push(CaseResult {
                file: f,
                rule_id: id.clone(),
                rule_loaded: !target.is_empty(),
                fired,
                events,
                others: others.into_iter().collect(),
            });
        }
    }
    report
}

/// Build an engine and run the check.
pub fn check_rules(rules: &[Rule], dir: &Path) -> Report {
    let (engine, _) = Engine::new(rules, &EngineOptions::default());
    check(rules, &engine, dir)
}
