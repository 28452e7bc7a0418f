//! The reference evaluator: Sigma semantics over events, used by `detc test` (the examples in
//! rules) and `detc match` (JSON / EVTX events).
//!
//! - [`event`]: the flat event model; [`pattern`]: wildcard patterns; [`compile`]: a normalised
//!   expression compiled once and evaluated on events (the single implementation of the
//!   semantics).

pub mod auditd;
pub mod compile;
pub mod correlate;
pub mod engine;
pub mod event;
pub mod event_xml;
pub mod evtx_layout;
pub mod flatjson;
pub mod literals;
pub mod logsource;
pub mod pattern;
pub mod read;
pub mod regex;
pub mod regression;
pub mod run;
pub mod textlog;

use crate::diag::Diagnostic;
use crate::ir::norm::{normalize_selection, Expr, NormOptions};
use crate::ir::{Expect, Rule, RuleBody};

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
    // Each named selection on its own, to tell the author which parts matched: normalised and
    // compiled only when an example fails (all of them for each of 100,000 selections made a
    // big rule's examples quadratic).
    let mut selections: Option<Vec<(String, Compiled)>> = None;
    for ex in &rule.tests {
        let event = Event::from_json_map(&ex.event);
        let hit = compiled.matches(&View::new(&event, &table));
        let expected = ex.expect == Expect::Hit;
        if hit == expected {
            continue;
        }
        let selections = selections.get_or_insert_with(|| {
            selection_exprs(rule)
                .into_iter()
                .map(|(name, e)| (name, Compiled::new(rule, &e, &mut table).0))
                .collect()
        });
        // A view after the selections interned their fields.
        let view = View::new(&event, &table);
        let is_matched: Vec<bool> = selections.iter().map(|(_, c)| c.matches(&view)).collect();
        let matched: Vec<&str> = selections
            .iter()
            .zip(&is_matched)
            .filter(|(_, &m)| m)
            .map(|((n, _), _)| n.as_str())
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
            .zip(&is_matched)
            .filter(|(_, &m)| !m)
            .map(|((n, _), _)| n.as_str())
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
            normalize_selection(rule, s, NormOptions::default())
                .ok()
                .map(|e| (s.name.clone(), e))
        })
        .collect()
}
