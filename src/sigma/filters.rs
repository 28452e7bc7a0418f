//! Sigma filters (meta rules with `filter:`): read like rules, then applied to the rules they
//! name, as extra exclusions.
//!
//! Applying a filter to a rule adds the filter's selections to the rule under the names
//! `_filter<N>_<selection>` (the leading `_` keeps them out of the rule's `1 of them`), and
//! turns the condition into `(<rule condition>) and not (<filter condition>)`, which is what
//! pySigma does. A filter applies to a rule whose `id` or Sigma `name` is listed in its `rules`
//! and whose log source agrees with the filter's (every field the filter sets is equal).

use crate::diag::{Diagnostic, Loc, Span};
use crate::ir::{Cond, LogSource, Meta, OfTarget, Rule, RuleBody, Selection, Spanned};

/// A Sigma filter document.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Title, id, description, dates...
    pub meta: Meta,
    pub logsource: LogSource,
    /// Ids or names of the rules the filter applies to.
    pub rules: Vec<Spanned<String>>,
    pub selections: Vec<Selection>,
    pub condition: Cond,
    pub condition_span: Span,
    /// The whole filter document.
    pub loc: Loc,
}

/// Apply every filter to the rules it names. Warnings for filters naming no loaded rule, or
/// naming a rule with another log source. Spans of the added selections point into the filter's
/// file.
pub fn apply_filters(rules: &mut [Rule], filters: &[Filter]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (fi, f) in filters.iter().enumerate() {
        let prefix = format!("_filter{}_", fi + 1);
        for target in &f.rules {
            let mut found = false;
            for rule in rules.iter_mut() {
                let named = rule.id() == Some(target.value.as_str())
                    || rule.meta.sigma_name.as_deref() == Some(target.value.as_str());
                if !named {
                    continue;
                }
                found = true;
                if !logsource_agrees(&f.logsource, &rule.logsource) {
                    diags.push(
                        Diagnostic::warning(
                            "filter-logsource-mismatch",
                            format!(
                                "filter `{}` names rule `{}` but their log sources differ; not applied",
                                f.meta.title, target.value
                            ),
                        )
                        .at(Loc::new(f.loc.source, target.span)),
                    );
                    continue;
                }
                let RuleBody::Detection(det) = &mut rule.body else {
                    diags.push(
                        Diagnostic::warning(
                            "filter-not-applicable",
                            format!(
                                "filter `{}` names correlation rule `{}`; filters apply to detection rules only",
                                f.meta.title, target.value
                            ),
                        )
                        .at(Loc::new(f.loc.source, target.span)),
                    );
                    continue;
                };
                for s in &f.selections {
                    let mut s = s.clone();
                    s.name = format!("{prefix}{}", s.name);
                    det.selections.push(s);
                }
                let orig = std::mem::replace(&mut det.condition, Cond::And(Vec::new()));
                det.condition = Cond::And(vec![
                    orig,
                    Cond::Not(Box::new(rename(&f.condition, &prefix))),
                ]);
            }
            if !found {
                diags.push(
                    Diagnostic::warning(
                        "filter-unknown-rule",
                        format!(
                            "filter `{}` names `{}`, which is not loaded",
                            f.meta.title, target.value
                        ),
                    )
                    .at(Loc::new(f.loc.source, target.span)),
                );
            }
        }
    }
    diags
}

fn logsource_agrees(filter: &LogSource, rule: &LogSource) -> bool {
    [
        (&filter.category, &rule.category),
        (&filter.product, &rule.product),
        (&filter.service, &rule.service),
    ]
    .iter()
    .all(|(f, r)| f.is_none() || f == r)
}

/// The filter's condition with its selection names prefixed (`them` becomes `<prefix>*`, so it
/// still means "the filter's selections").
fn rename(c: &Cond, prefix: &str) -> Cond {
    match c {
        Cond::And(xs) => Cond::And(xs.iter().map(|x| rename(x, prefix)).collect()),
        Cond::Or(xs) => Cond::Or(xs.iter().map(|x| rename(x, prefix)).collect()),
        Cond::Not(x) => Cond::Not(Box::new(rename(x, prefix))),
        Cond::Sel(s) => Cond::Sel(Spanned::new(format!("{prefix}{}", s.value), s.span)),
        Cond::Of(q, t) => {
            let target = match &t.value {
                OfTarget::Them => OfTarget::Pattern(format!("{prefix}*")),
                OfTarget::Pattern(p) => OfTarget::Pattern(format!("{prefix}{p}")),
            };
            Cond::Of(*q, Spanned::new(target, t.span))
        }
    }
}
