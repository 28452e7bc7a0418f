//! Correlation rules (`event_count`, `value_count`, `temporal`, ...) for spec targets.
//!
//! Each referenced rule is compiled by the same target first; the target's correlation template
//! (minijinja, from `target.yaml`) then combines those queries with the platform's aggregation
//! (`bin` + `stats` in SPL, `summarize ... by bin(...)` in KQL). Group-by fields and aliases are
//! mapped through each referenced rule's own log-source mapping.

use serde_json::{json, Value as Json};

use super::render::{Renderer, Unsupported};
use super::spec_backend::SpecBackend;
use super::Ctx;
use crate::diag::{Diagnostic, Span};
use crate::ir::{Correlation, CorrelationKind, Rule, RuleBody};

/// Timespan as the largest whole unit (`90m` stays `90m`, `3600s` becomes `1h`); SPL's `span=`
/// and KQL's timespan literals both read these units.
pub fn span_text(seconds: u64) -> String {
    for (unit, n) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if seconds >= n && seconds % n == 0 {
            return format!("{}{unit}", seconds / n);
        }
    }
    format!("{seconds}s")
}

/// A correlation compiled for a target.
pub struct Rendered {
    pub query: String,
    /// What data it reads when a referenced rule reads another source than the target's name
    /// says (the distinct `note`s of the referenced rules' log source entries, joined with
    /// `; `), as for a detection rule's fallback.
    pub note: Option<String>,
    /// Per referenced rule: its table and the Sigma fields read there (its condition's, and the
    /// group-by and value fields under the rule's own names), for shared files that declare
    /// each table's columns (the SQL targets' schema.sql).
    pub reads: Vec<(String, Vec<String>)>,
}

/// The correlation's query, what data it reads and which fields of which tables.
pub fn render(
    b: &SpecBackend,
    rule: &Rule,
    c: &Correlation,
    cx: &Ctx,
) -> Result<Rendered, Diagnostic> {
    let unsupported =
        |construct: String, span: Option<Span>| b.skip(rule, &Unsupported { construct, span });
    let spec = match &b.spec.correlation {
        Some(s) => s,
        None => return Err(unsupported("a correlation rule".into(), None)),
    };
    let kind = c.kind.name();
    let name = format!("correlation:{kind}");
    if !spec.templates.contains_key(kind) {
        return Err(unsupported(
            format!("a `{kind}` correlation"),
            Some(c.timespan.span),
        ));
    }
    // An ordered sequence tells apart events of the same time by their position in the
    // input, which a query cannot see: one rule at two places of the sequence is refused.
    if c.kind == CorrelationKind::TemporalOrdered {
        for (i, r) in c.rules.iter().enumerate() {
            if c.rules[..i].iter().any(|p| p.value == r.value) {
                return Err(unsupported(
                    format!(
                        "a `temporal_ordered` correlation naming the rule `{}` twice",
                        r.value
                    ),
                    Some(r.span),
                ));
            }
        }
    }
    let dialect = &b.spec.dialects[0];
    let ident =
        Renderer::field_regex(dialect).map_err(|m| Diagnostic::error("invalid-target", m))?;
    // An output name as the query writes it: bare, quoted when the target quotes outputs, or
    // the correlation is skipped.
    let out_ident = |g: &str| -> Result<String, Diagnostic> {
        let written = if spec.quote_outputs {
            Renderer::ident(dialect, &ident, g)
        } else {
            ident.is_match(g).then(|| g.to_string())
        };
        written.ok_or_else(|| {
            unsupported(
                format!("the output field name `{}`", g.escape_debug()),
                None,
            )
        })
    };
    let mut rules = Vec::new();
    let mut reads = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    let keys: Vec<&str> = c.rules.iter().map(|r| r.value.as_str()).collect();
    for (r, idx) in c.rules.iter().zip(cx.find_all(&keys)) {
        let idx = idx.ok_or_else(|| {
            unsupported(
                format!("the reference to the unknown rule `{}`", r.value),
                Some(r.span),
            )
        })?;
        let target = &cx.rules[idx];
        if !matches!(target.body, RuleBody::Detection(_)) {
            return Err(unsupported(
                format!("a correlation of the correlation rule `{}`", r.value),
                Some(r.span),
            ));
        }
        let expr = cx.exprs.get(idx).and_then(Option::as_ref).ok_or_else(|| {
            unsupported(
                format!("the rule `{}` (it has errors)", r.value),
                Some(r.span),
            )
        })?;
        let (query, ls) = b
            .render_query_with(target, expr, &spec.dialects)
            .map_err(|d| {
                unsupported(
                    format!("the referenced rule `{}` ({})", r.value, d.message),
                    Some(r.span),
                )
            })?;
        let ls = b.entry(ls);
        if let Some(n) = ls.note.as_deref() {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        let renderer = b.first_renderer(ls);
        // Each output field (group-by, value_count field) -> this rule's column.
        let mut outputs: Vec<String> = c.group_by.clone();
        if let Some(f) = c.condition.as_ref().and_then(|k| k.field.clone()) {
            if !outputs.contains(&f) {
                outputs.push(f);
            }
        }
        let mut fields = Vec::new();
        let mut read: Vec<String> = super::render::condition_reads(expr).0;
        for out in &outputs {
            let src = c
                .aliases
                .get(out)
                .and_then(|m| {
                    m.get(&r.value)
                        .or_else(|| target.meta.sigma_name.as_ref().and_then(|n| m.get(n)))
                })
                .cloned()
                .unwrap_or_else(|| out.clone());
            let column = match b.alternative_column(ls, &src) {
                // The log source has several sources naming this field differently.
                Some(c) => c,
                None => renderer.field(&src, r.span).map_err(|u| b.skip(rule, &u))?,
            };
            fields.push(json!({ "name": out, "column": column, "out": out_ident(out)? }));
            read.push(src);
        }
        read.sort();
        read.dedup();
        reads.push((ls.table.clone().unwrap_or_default(), read));
        rules.push(json!({
            "name": target.name,
            "query": query,
            "table": ls.table.clone().unwrap_or_default(),
            "constraint": ls.constraint.clone().unwrap_or_default(),
            "fields": fields,
        }));
    }
    let group_columns = c
        .group_by
        .iter()
        .map(|g| out_ident(g))
        .collect::<Result<Vec<_>, _>>()?;
    let field = c.condition.as_ref().and_then(|k| k.field.clone());
    let field_column = field.as_deref().map(out_ident).transpose()?;
    let cmps: Vec<Json> = c
        .condition
        .as_ref()
        .map(|k| {
            k.cmps
                .iter()
                .map(|(op, v)| json!({ "op": op.name(), "value": v }))
                .collect()
        })
        .unwrap_or_default();
    if matches!(
        c.kind,
        CorrelationKind::EventCount | CorrelationKind::ValueCount
    ) && cmps.is_empty()
    {
        return Err(unsupported(
            format!("a `{kind}` correlation without a condition"),
            None,
        ));
    }
    let ctx = json!({
        "rules": rules,
        "group_by": c.group_by,
        "group_columns": group_columns,
        "field": field,
        "field_column": field_column,
        "cmps": cmps,
        "span": span_text(c.timespan.value.seconds),
        "span_seconds": c.timespan.value.seconds,
        "time_field": spec.time_field,
        "rule_count": c.rules.len(),
        "target": { "name": b.spec.name, "vars": b.spec.vars },
    });
    b.env()
        .get_template(&name)
        .and_then(|t| t.render(&ctx))
        .map(|s| Rendered {
            query: s.trim().to_string(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            reads,
        })
        .map_err(|e| {
            Diagnostic::error("template-error", format!("target `{}`: {e:#}", b.spec.name))
                .at(rule.loc)
        })
}

#[cfg(test)]
mod tests {
    use super::span_text;

    #[test]
    fn spans_use_the_largest_whole_unit() {
        assert_eq!(span_text(3600), "1h");
        assert_eq!(span_text(5400), "90m");
        assert_eq!(span_text(86400 * 7), "7d");
        assert_eq!(span_text(45), "45s");
    }
}
