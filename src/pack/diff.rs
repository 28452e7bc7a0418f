//! `detc diff`: what a change to the rules does to the deployed queries. Compares two built packs
//! (two output trees, each with its `manifest.json`) rule by rule and target by target: rules
//! added, removed or renamed (same `id`), targets newly compiled or now skipped, and a unified
//! diff of each changed query and of each changed per-rule file. Files shared by several rules
//! (`splunk/savedsearches.conf`, `COVERAGE.md`, ...) are listed with their line counts; the
//! per-rule query diffs already show what changed inside them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::write::Tree;

/// The whole comparison.
#[derive(Debug, Default, Serialize)]
pub struct PackDiff {
    pub rules: Vec<RuleDiff>,
    /// Files used by several rules or by none, that differ: path -> (lines added, removed).
    pub shared_files: BTreeMap<String, FileChange>,
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    pub added: usize,
    pub removed: usize,
    pub diff: String,
}

#[derive(Debug, Serialize)]
pub struct RuleDiff {
    /// The rule's name in the new pack (in the old one when removed).
    pub name: String,
    pub id: Option<String>,
    pub change: RuleChange,
    /// Per target, only the targets whose output changed.
    pub targets: Vec<TargetDiff>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleChange {
    Added,
    Removed,
    Renamed { from: String },
    Changed,
}

#[derive(Debug, Serialize)]
pub struct TargetDiff {
    pub target: String,
    pub change: TargetChange,
    /// Unified diff of the query (when the target has one and it changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_diff: Option<String>,
    /// Unified diffs of the rule's own files that changed, by path.
    pub file_diffs: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetChange {
    /// Compiled in both, with different output.
    Changed,
    /// Skipped (or absent) before, compiled now.
    NewlyCompiled,
    /// Compiled before, skipped now, with the reason.
    NowSkipped {
        reason: String,
    },
    /// Skipped in both, for a different reason.
    SkipReasonChanged {
        from: String,
        to: String,
    },
    /// The target is in one pack only.
    Added,
    Removed,
}

impl PackDiff {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.shared_files.is_empty()
    }
}

/// A manifest's rule entries, or why the tree is not a detc pack.
fn rules_of(tree: &Tree, which: &str) -> Result<Vec<Value>, String> {
    let text = tree.get("manifest.json").ok_or_else(|| {
        format!("the {which} pack has no manifest.json (is it a `detc build` output?)")
    })?;
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("the {which} pack's manifest.json is not JSON: {e}"))?;
    v.get("rules")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("the {which} pack's manifest.json has no `rules` list"))
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A unified diff with 3 lines of context, `None` when equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let d = similar::TextDiff::from_lines(old, new);
    let mut out = d
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

fn line_counts(old: &str, new: &str) -> (usize, usize) {
    let d = similar::TextDiff::from_lines(old, new);
    let (mut a, mut r) = (0, 0);
    for c in d.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Insert => a += 1,
            similar::ChangeTag::Delete => r += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (a, r)
}

/// Every file named by exactly one rule entry (its own files).
fn own_files(rules: &[Value]) -> BTreeSet<String> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in rules {
        if let Some(ts) = r.get("targets").and_then(Value::as_object) {
            for t in ts.values() {
                for f in t
                    .get("files")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(f) = f.as_str() {
                        *count.entry(f.to_string()).or_default() += 1;
                    }
                }
            }
        }
    }
    count
        .into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|(f, _)| f)
        .collect()
}

fn compare_target(
    target: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    trees: (&Tree, &Tree),
    own: &BTreeSet<String>,
) -> Option<TargetDiff> {
    let skipped = |v: &Value| s(v, "skipped");
    let change = match (old, new) {
        (None, None) => return None,
        (None, Some(_)) => TargetChange::Added,
        (Some(_), None) => TargetChange::Removed,
        (Some(o), Some(n)) => match (skipped(o), skipped(n)) {
            (Some(a), Some(b)) if a == b => return None,
            (Some(a), Some(b)) => TargetChange::SkipReasonChanged { from: a, to: b },
            (Some(_), None) => TargetChange::NewlyCompiled,
            (None, Some(reason)) => TargetChange::NowSkipped { reason },
            (None, None) => TargetChange::Changed,
        },
    };
    let query = |v: Option<&Value>| v.and_then(|v| s(v, "query")).unwrap_or_default();
    let files = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(|v| v.get("files"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .filter(|f| own.contains(f))
            .collect()
    };
    let mut file_diffs = BTreeMap::new();
    for f in files(old).union(&files(new)) {
        let a = trees.0.get(f).map(String::as_str).unwrap_or("");
        let b = trees.1.get(f).map(String::as_str).unwrap_or("");
        if let Some(d) = unified(a, b, &format!("a/{f}"), &format!("b/{f}")) {
            file_diffs.insert(f.clone(), d);
        }
    }
    // The query on its own only where no file of the rule's own shows it (a query inside a
    // shared file such as savedsearches.conf).
    let query_diff = if file_diffs.is_empty() {
        let (oq, nq) = (query(old) + "\n", query(new) + "\n");
        unified(
            &oq,
            &nq,
            &format!("a/{target} query"),
            &format!("b/{target} query"),
        )
    } else {
        None
    };
    if change == TargetChange::Changed && query_diff.is_none() && file_diffs.is_empty() {
        // Same query, same files: only a shared file can differ, which is listed on its own.
        let sha = |v: Option<&Value>| v.and_then(|v| s(v, "sha256"));
        if sha(old) == sha(new) {
            return None;
        }
    }
    Some(TargetDiff {
        target: target.to_string(),
        change,
        query_diff,
        file_diffs,
    })
}

/// Compare two built packs.
pub fn diff_packs(old: &Tree, new: &Tree) -> Result<PackDiff, String> {
    let (old_rules, new_rules) = (rules_of(old, "old")?, rules_of(new, "new")?);
    let (old_own, new_own) = (own_files(&old_rules), own_files(&new_rules));
    let own: BTreeSet<String> = old_own.union(&new_own).cloned().collect();
    // Match rules by id, then by name.
    let key = |r: &Value| {
        s(r, "id").unwrap_or_else(|| format!("name:{}", s(r, "name").unwrap_or_default()))
    };
    let old_by: BTreeMap<String, &Value> = old_rules.iter().map(|r| (key(r), r)).collect();
    let new_by: BTreeMap<String, &Value> = new_rules.iter().map(|r| (key(r), r)).collect();
    let mut out = PackDiff::default();
    let keys: BTreeSet<&String> = old_by.keys().chain(new_by.keys()).collect();
    for k in keys {
        let (o, n) = (old_by.get(k).copied(), new_by.get(k).copied());
        let name = n.or(o).and_then(|r| s(r, "name")).unwrap_or_default();
        let id = n.or(o).and_then(|r| s(r, "id"));
        let targets_of = |r: Option<&Value>| -> BTreeMap<String, Value> {
            r.and_then(|r| r.get("targets"))
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let (ot, nt) = (targets_of(o), targets_of(n));
        let mut targets = Vec::new();
        let names: BTreeSet<&String> = ot.keys().chain(nt.keys()).collect();
        for t in names {
            if let Some(d) = compare_target(t, ot.get(t), nt.get(t), (old, new), &own) {
                targets.push(d);
            }
        }
        let change = match (o, n) {
            (None, _) => RuleChange::Added,
            (_, None) => RuleChange::Removed,
            (Some(o), Some(_)) => {
                let from = s(o, "name").unwrap_or_default();
                if from != name {
                    RuleChange::Renamed { from }
                } else if targets.is_empty() {
                    continue;
                } else {
                    RuleChange::Changed
                }
            }
        };
        out.rules.push(RuleDiff {
            name,
            id,
            change,
            targets,
        });
    }
    out.rules.sort_by(|a, b| a.name.cmp(&b.name));
    let files: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for f in files {
        if own.contains(f) || f == "manifest.json" {
            continue;
        }
        let a = old.get(f).map(String::as_str).unwrap_or("");
        let b = new.get(f).map(String::as_str).unwrap_or("");
        if let Some(diff) = unified(a, b, &format!("a/{f}"), &format!("b/{f}")) {
            let (added, removed) = line_counts(a, b);
            out.shared_files.insert(
                f.clone(),
                FileChange {
                    added,
                    removed,
                    diff,
                },
            );
        }
    }
    Ok(out)
}

fn change_text(c: &TargetChange) -> String {
    match c {
        TargetChange::Changed => "changed".into(),
        TargetChange::NewlyCompiled => "newly compiled".into(),
        TargetChange::NowSkipped { reason } => format!("now skipped: {reason}"),
        TargetChange::SkipReasonChanged { from, to } => {
            format!("still skipped, now because: {to} (was: {from})")
        }
        TargetChange::Added => "target added".into(),
        TargetChange::Removed => "target removed".into(),
    }
}

fn rule_heading(r: &RuleDiff) -> String {
    let what = match &r.change {
        RuleChange::Added => "added".to_string(),
        RuleChange::Removed => "removed".to_string(),
        RuleChange::Renamed { from } => format!("renamed from `{from}`"),
        RuleChange::Changed => "changed".to_string(),
    };
    let n = r.targets.len();
    format!(
        "rule `{}`: {what}; {n} target(s) with different output",
        r.name
    )
}

/// The summary line: how many rules and target outputs changed.
pub fn summary(d: &PackDiff) -> String {
    let count = |k: fn(&RuleChange) -> bool| d.rules.iter().filter(|r| k(&r.change)).count();
    let outputs: usize = d.rules.iter().map(|r| r.targets.len()).sum();
    format!(
        "{} rule(s) added, {} removed, {} renamed, {} changed; {outputs} target output(s) differ; {} shared file(s) differ",
        count(|c| *c == RuleChange::Added),
        count(|c| *c == RuleChange::Removed),
        count(|c| matches!(c, RuleChange::Renamed { .. })),
        count(|c| *c == RuleChange::Changed),
        d.shared_files.len()
    )
}

/// Plain text for a terminal.
pub fn to_text(d: &PackDiff) -> String {
    let mut out = String::new();
    for r in &d.rules {
        out.push_str(&rule_heading(r));
        out.push('\n');
        for t in &r.targets {
            out.push_str(&format!("  {}: {}\n", t.target, change_text(&t.change)));
            for diff in t.query_diff.iter().chain(t.file_diffs.values()) {
                for line in diff.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    for (f, c) in &d.shared_files {
        out.push_str(&format!("shared file {f}: +{} -{}\n", c.added, c.removed));
    }
    out.push_str(&summary(d));
    out.push('\n');
    out
}

/// Markdown for a pull-request comment: one collapsible section per rule.
pub fn to_markdown(d: &PackDiff) -> String {
    let mut out = String::from("### detc: effect on the deployed queries\n\n");
    out.push_str(&summary(d));
    out.push_str("\n\n");
    // A fence longer than any backtick run inside the diff, so no diff can close it early.
    let fence = |text: &str| {
        let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        "`".repeat((longest + 1).max(3))
    };
    for r in &d.rules {
        out.push_str(&format!(
            "<details><summary>{}</summary>\n\n",
            html_escape(&rule_heading(r))
        ));
        for t in &r.targets {
            out.push_str(&format!(
                "**{}**: {}\n\n",
                t.target,
                html_escape(&change_text(&t.change))
            ));
            for diff in t.query_diff.iter().chain(t.file_diffs.values()) {
                let f = fence(diff);
                out.push_str(&format!("{f}diff\n{diff}{f}\n\n"));
            }
        }
        out.push_str("</details>\n\n");
    }
    if !d.shared_files.is_empty() {
        out.push_str("Shared files:\n\n");
        for (f, c) in &d.shared_files {
            out.push_str(&format!("- `{f}`: +{} -{}\n", c.added, c.removed));
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
