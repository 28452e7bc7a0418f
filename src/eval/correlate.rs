//! Correlation rules over event time: `event_count`, `value_count`, `temporal` and
//! `temporal_ordered`, with `group-by`, `timespan` and field aliases.
//!
//! The match engine reports every match of a rule that some correlation refers to; the
//! correlator keeps (time, group key, which rule, value) for those and, at the end of the run,
//! slides a window of `timespan` over each group in time order. A window that satisfies the
//! condition is one correlation match; the window then restarts after its last event, so one
//! burst is reported once, not once per event.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::diag::Diagnostic;
use crate::ir::{Correlation, CorrelationKind, Rule, RuleBody};

use super::event::{Event, Val};

/// Where an observed event came from (caller-defined file number and record index).
pub type Origin = (usize, usize);

#[derive(Debug, Clone)]
struct Obs {
    /// Milliseconds since the epoch.
    t: i64,
    /// Position of the matching rule among the correlation's referenced rules.
    which: usize,
    value: Option<String>,
    origin: Origin,
}

#[derive(Debug, Clone)]
struct Corr {
    rule: usize,
    kind: CorrelationKind,
    /// Referenced rule indexes, in the order written.
    refs: Vec<usize>,
    /// For each referenced rule, the event field of each group-by name (aliases resolved).
    group_fields: Vec<Vec<String>>,
    group_names: Vec<String>,
    value_field: Vec<Option<String>>,
    span_ms: i64,
    corr: Correlation,
    groups: BTreeMap<Vec<String>, Vec<Obs>>,
}

/// One correlation match.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// Index of the correlation rule.
    pub rule: usize,
    /// Group-by field -> value.
    pub group: Vec<(String, String)>,
    pub first: jiff::Timestamp,
    pub last: jiff::Timestamp,
    /// Events in the window (for `value_count`: distinct values).
    pub count: usize,
    /// The event that completed the window.
    pub origin: Origin,
}

/// One match of a referenced rule, placed in its correlation's group.
#[derive(Debug)]
pub struct Observation {
    corr: usize,
    key: Vec<String>,
    obs: Obs,
}

/// Collects matches of the rules correlations refer to, then evaluates the correlations.
#[derive(Debug, Default, Clone)]
pub struct Correlator {
    corrs: Vec<Corr>,
    /// Base rule index -> (correlation, position among its refs).
    by_rule: FxHashMap<usize, Vec<(usize, usize)>>,
}

impl Correlator {
    /// Find the correlation rules among `rules` and resolve the rules they refer to (by `name`,
    /// Sigma `name`, or `id`).
    pub fn new(rules: &[Rule]) -> (Correlator, Vec<Diagnostic>) {
        let mut c = Correlator::default();
        let mut diags = Vec::new();
        // Name, Sigma name or id -> the first rule it names (one map, not a scan per
        // reference: a correlation of 100,000 rules must not be quadratic).
        let mut names: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, r) in rules.iter().enumerate() {
            for k in [Some(r.name.as_str()), r.meta.sigma_name.as_deref(), r.id()]
                .into_iter()
                .flatten()
            {
                names.entry(k).or_insert(i);
            }
        }
        let find = |n: &str| names.get(n).copied();
        for (ri, r) in rules.iter().enumerate() {
            let RuleBody::Correlation(corr) = &r.body else {
                continue;
            };
            let mut refs = Vec::new();
            let mut ok = true;
            for name in &corr.rules {
                match find(&name.value) {
                    Some(i) if matches!(rules[i].body, RuleBody::Detection(_)) => refs.push(i),
                    Some(_) => {
                        diags.push(
                            Diagnostic::warning(
                                "unsupported-correlation",
                                format!(
                                    "correlation `{}` refers to another correlation (`{}`); chained correlations are not evaluated",
                                    r.name, name.value
                                ),
                            )
                            .at(r.loc(name.span)),
                        );
                        ok = false;
                    }
                    None => {
                        diags.push(
                            Diagnostic::error(
                                "unknown-rule",
                                format!(
                                    "correlation `{}` refers to `{}`, which is not among the loaded rules",
                                    r.name, name.value
                                ),
                            )
                            .at(r.loc(name.span)),
                        );
                        ok = false;
                    }
                }
            }
            if !ok || refs.is_empty() {
                continue;
            }
            let field_for = |g: &str, which: usize| -> String {
                corr.aliases
                    .get(g)
                    .and_then(|m| m.get(&corr.rules[which].value))
                    .cloned()
                    .unwrap_or_else(|| g.to_string())
            };
            let group_fields = (0..refs.len())
                .map(|w| corr.group_by.iter().map(|g| field_for(g, w)).collect())
                .collect();
            let value_field = (0..refs.len())
                .map(|w| {
                    corr.condition
                        .as_ref()
                        .and_then(|c| c.field.as_deref())
                        .map(|f| field_for(f, w))
                })
                .collect();
            let id = c.corrs.len();
            for (w, &b) in refs.iter().enumerate() {
                c.by_rule.entry(b).or_default().push((id, w));
            }
            c.corrs.push(Corr {
                rule: ri,
                kind: corr.kind,
                refs,
                group_fields,
                group_names: corr.group_by.clone(),
                value_field,
                span_ms: (corr.timespan.value.seconds as i64).saturating_mul(1000),
                corr: corr.clone(),
                groups: BTreeMap::new(),
            });
        }
        (c, diags)
    }

    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty()
    }

    /// Whether matches of this rule feed a correlation.
    pub fn wants(&self, rule: usize) -> bool {
        self.by_rule.contains_key(&rule)
    }

    /// Record a match of base rule `rule` on `event` at `time`. Events without a time or
    /// without a group-by field cannot be placed and are ignored.
    pub fn observe(&mut self, rule: usize, time: jiff::Timestamp, event: &Event, origin: Origin) {
        let mut obs = Vec::new();
        self.observations(rule, time, event, origin, &mut obs);
        for o in obs {
            self.record(o);
        }
    }

    /// What [`Correlator::observe`] would record, without recording it: lets worker threads
    /// read the event while one thread records observations in input order.
    pub fn observations(
        &self,
        rule: usize,
        time: jiff::Timestamp,
        event: &Event,
        origin: Origin,
        out: &mut Vec<Observation>,
    ) {
        let Some(targets) = self.by_rule.get(&rule) else {
            return;
        };
        for &(ci, which) in targets {
            let c = &self.corrs[ci];
            let key: Option<Vec<String>> = c.group_fields[which]
                .iter()
                .map(|f| first_text(event, f))
                .collect();
            let Some(key) = key else { continue };
            let value = c.value_field[which]
                .as_deref()
                .and_then(|f| first_text(event, f));
            if c.value_field[which].is_some() && value.is_none() {
                continue;
            }
            out.push(Observation {
                corr: ci,
                key,
                obs: Obs {
                    t: time.as_millisecond(),
                    which,
                    value,
                    origin,
                },
            });
        }
    }

    /// Record an observation made by [`Correlator::observations`] on this correlator (or a
    /// clone of it).
    pub fn record(&mut self, o: Observation) {
        self.corrs[o.corr]
            .groups
            .entry(o.key)
            .or_default()
            .push(o.obs);
    }

    /// Evaluate every correlation over what was observed.
    pub fn finish(&mut self) -> Vec<CorrelationHit> {
        let mut hits = Vec::new();
        for c in &mut self.corrs {
            let mut groups = std::mem::take(&mut c.groups);
            for (key, obs) in &mut groups {
                // Matches of one millisecond (one event matching several of the rules, or
                // several events) are ordered by the rule's place in the correlation, then the
                // value, then input position: the result depends on the rules and the events'
                // times and values only, not on the order rules were loaded or events read, as
                // a query's `ORDER BY time, rule position, value` over a table (which has no
                // input order) does.
                obs.sort_by(|a, b| {
                    (a.t, a.which, &a.value, a.origin).cmp(&(b.t, b.which, &b.value, b.origin))
                });
                let group: Vec<(String, String)> = c
                    .group_names
                    .iter()
                    .cloned()
                    .zip(key.iter().cloned())
                    .collect();
                for (i, j, count) in windows(c, obs) {
                    hits.push(CorrelationHit {
                        rule: c.rule,
                        group: group.clone(),
                        first: ts(obs[i].t),
                        last: ts(obs[j].t),
                        count,
                        origin: obs[j].origin,
                    });
                }
            }
            c.groups = groups;
        }
        hits.sort_by_key(|a| (a.last, a.rule));
        hits
    }
}

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The value a group-by or `value_count` field has: the first string or number (its original
/// text), or boolean (`true`/`false`, as JSON writes it and the query targets read it). A JSON
/// null has none: the event is not counted.
fn first_text(e: &Event, field: &str) -> Option<String> {
    e.get(field)?.iter().find_map(|v| match v {
        Val::Bool(b) => Some(b.to_string()),
        v => v.raw().map(String::from),
    })
}

/// Windows (first, last, count) satisfying the correlation, non-overlapping.
fn windows(c: &Corr, obs: &[Obs]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for j in 0..obs.len() {
        while obs[j].t - obs[start].t > c.span_ms {
            start += 1;
        }
        let w = &obs[start..=j];
        let (holds, count) = match c.kind {
            CorrelationKind::EventCount => (cmp_holds(c, w.len()), w.len()),
            CorrelationKind::ValueCount => {
                let mut vals: Vec<&str> = w.iter().filter_map(|o| o.value.as_deref()).collect();
                vals.sort_unstable();
                vals.dedup();
                (cmp_holds(c, vals.len()), vals.len())
            }
            CorrelationKind::Temporal => {
                let all = (0..c.refs.len()).all(|r| w.iter().any(|o| o.which == r));
                (all, w.len())
            }
            CorrelationKind::TemporalOrdered => {
                let mut next = 0;
                for o in w {
                    if next < c.refs.len() && o.which == next {
                        next += 1;
                    }
                }
                (next == c.refs.len(), w.len())
            }
        };
        if holds {
            out.push((start, j, count));
            start = j + 1;
            if start >= obs.len() {
                break;
            }
        }
    }
    out
}

fn cmp_holds(c: &Corr, n: usize) -> bool {
    match &c.corr.condition {
        Some(cond) if !cond.cmps.is_empty() => cond
            .cmps
            .iter()
            .all(|(op, v)| op.holds(n as f64, *v as f64)),
        // No condition: any event counts.
        _ => n > 0,
    }
}
