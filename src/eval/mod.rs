//! The reference evaluator: Sigma semantics over events, used by `detc test` (the examples in
//! rules) and `detc match` (JSON / EVTX events).
//!
//! - [`event`]: the flat event model; [`pattern`]: wildcard patterns; [`compile`]: a normalised
//!   expression compiled once and evaluated on events (the single implementation of the
//!   semantics).

pub mod compile;
pub mod correlate;
pub mod engine;
pub mod event;
pub mod flatjson;
pub mod literals;
pub mod logsource;
pub mod pattern;
pub mod read;
pub mod regex;
pub mod regression;
pub mod run;

use crate::diag::Diagnostic;
use crate::ir::norm::{normalize, Expr, NormOptions};
use crate::ir::{Cond, Expect, Rule, RuleBody, Spanned};

pub use compile::{Compiled, FieldTable, View};
pub use event::{Event, Val};

/// Evaluate a normalised expression on one event (compiles it first; for many events use
/// [`Compiled`]).
pub fn eval_expr(rule: &Rule, expr: &Expr, event: &Event) -> bool {
    let mut table = FieldTable::new();
    let (c, _) = Compiled::new(rule, expr, &mut table);
    c.matches(&View::new(event, &table))
}

/// Run a rule's examples; one error diagnostic per example whose outcome differs from its
/// expectation, at the example's span.
pub fn run_examples(rule: &Rule, expr: &Expr) -> Vec<Diagnostic> {
    if rule.tests.is_empty() {
        return Vec::new();
    }
    let mut table = FieldTable::new();
    let (compiled, mut diags) = Compiled::new(rule, expr, &mut table);
    // Each named selection on its own, to tell the author which parts matched.
    let selections: Vec<(String, Compiled)> = selection_exprs(rule)
        .into_iter()
        .map(|(name, e)| (name, Compiled::new(rule, &e, &mut table).0))
        .collect();
    for ex in &rule.tests {
        let event = Event::from_json_map(&ex.event);
        let view = View::new(&event, &table);
        let hit = compiled.matches(&view);
        let expected = ex.expect == Expect::Hit;
        if hit == expected {
            continue;
        }
        let matched: Vec<&str> = selections
            .iter()
            .filter(|(_, c)| c.matches(&view))
            .map(|(n, _)| n.as_str())
            .collect();
        let (msg, label) = if expected {
            (
                "expected a hit, got a miss",
                "this event does not match the rule",
            )
        } else {
            ("expected a miss, got a hit", "this event matches the rule")
        };
        let note = if matched.is_empty() {
            "no selection matched this event".to_string()
        } else {
            format!(
                "selections that matched: {}",
                matched
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let unmatched: Vec<&str> = selections
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !matched.contains(n))
            .collect();
        let mut d = Diagnostic::error(
            "example-failed",
            format!("example of rule `{}`: {msg}", rule.name),
        )
        .at(rule.loc(ex.span))
        .label(label)
        .note(note);
        if !unmatched.is_empty() && !matched.is_empty() {
            d = d.note(format!(
                "selections that did not match: {}",
                unmatched
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        diags.push(d);
    }
    diags
}

/// Each selection of a detection rule normalised on its own (selections that fail to normalise
/// are left out: their problem is reported by the checks).
fn selection_exprs(rule: &Rule) -> Vec<(String, Expr)> {
    let RuleBody::Detection(det) = &rule.body else {
        return Vec::new();
    };
    det.selections
        .iter()
        .filter_map(|s| {
            let mut r = rule.clone();
            if let RuleBody::Detection(d) = &mut r.body {
                d.condition = Cond::Sel(Spanned::new(s.name.clone(), s.span));
            }
            normalize(&r, NormOptions::default())
                .ok()
                .map(|e| (s.name.clone(), e))
        })
        .collect()
}
