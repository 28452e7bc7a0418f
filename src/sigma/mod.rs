//! Sigma YAML: the reader (Sigma rules to IR) and the writer (IR to Sigma rules).
//!
//! - [`read`], [`read_named`], [`read_file`]: detection rules, correlation rules and filters,
//!   from one or more YAML documents, with diagnostics at the offending key or value
//!   ([`yaml`] builds a node tree with byte spans; see docs/SIGMA.md).
//! - [`write`]: one Sigma YAML document per rule, keys in the specification's order.
//! - [`apply_filters`]: adds the exclusions of Sigma filters to the rules they name.
//! - [`read_placeholders`]: a placeholder file for `|expand` values.
//!
//! The reader checks shape and syntax only; [`crate::ir::check`] runs afterwards.

mod cond;
mod filters;
mod reader;
mod writer;
pub mod yaml;

use crate::diag::{Diagnostic, Loc, SourceId, Span};
use crate::ir::norm::Placeholders;
use crate::ir::{Rule, RuleBody};

pub use cond::{
    parse as parse_condition, print as print_condition, strip_spans as strip_condition_spans,
};
pub use filters::{apply_filters, Filter};
pub use reader::slug;
pub use writer::check_writable;
pub(crate) use writer::needs_escape as yaml_needs_escape;

/// Everything a Sigma file holds: rules (detection and correlation) and filters.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    pub rules: Vec<Rule>,
    pub filters: Vec<Filter>,
}

/// Read every rule of a Sigma YAML file (one or more documents). Rules are named after their
/// titles (slugified). Filter documents are not rules: they are reported with a warning
/// (`filter-ignored`); use [`read_file`] and [`apply_filters`] to use them.
pub fn read(source: SourceId, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let (parsed, mut diags) = reader::read_file(source, text, None);
    warn_filters(&parsed, &mut diags);
    (parsed.rules, diags)
}

/// Like [`read`], but rules are named after the file stem: `stem` for the first rule of the
/// file, `stem_2`, `stem_3`... for the next ones.
/// The stem is lowercased and characters outside `[a-z0-9_]` become `_`.
pub fn read_named(source: SourceId, text: &str, stem: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let (parsed, mut diags) = reader::read_file(source, text, Some(stem));
    warn_filters(&parsed, &mut diags);
    (parsed.rules, diags)
}

/// Read rules and filters. `stem` as in [`read_named`] (`None`: names from titles).
pub fn read_file(source: SourceId, text: &str, stem: Option<&str>) -> (Parsed, Vec<Diagnostic>) {
    reader::read_file(source, text, stem)
}

fn warn_filters(parsed: &Parsed, diags: &mut Vec<Diagnostic>) {
    for f in &parsed.filters {
        diags.push(
            Diagnostic::warning(
                "filter-ignored",
                format!("`{}` is a Sigma filter, not a rule", f.meta.title),
            )
            .at(f.loc)
            .note("filters are applied with `sigma::read_file` and `sigma::apply_filters`"),
        );
    }
}

/// Write one rule as a Sigma YAML document, keys in the specification's order.
pub fn write(rule: &Rule) -> String {
    writer::write(rule)
}

/// Read a placeholder file: a YAML mapping from placeholder name (without `%`) to a list of
/// values (a single string is a list of one). Values are Sigma strings (`*`, `?` wildcards).
// The agreed signature returns the diagnostic itself; it is built once per file, so its size
// does not matter.
#[allow(clippy::result_large_err)]
pub fn read_placeholders(source: SourceId, text: &str) -> Result<Placeholders, Diagnostic> {
    let at = |span: Span| Loc::new(source, span);
    let (docs, err) = yaml::parse(text);
    if let Some(e) = err {
        return Err(
            Diagnostic::error("yaml", format!("invalid YAML: {}", e.message)).at(at(e.span)),
        );
    }
    let mut out = Placeholders::new();
    let Some(doc) = docs.first() else {
        return Ok(out);
    };
    if doc.root.is_null() {
        return Ok(out);
    }
    let invalid = |n: &yaml::Node, what: &str| {
        Diagnostic::error(
            "invalid-placeholders",
            format!("expected {what}, found {}", n.shape()),
        )
        .at(at(n.span))
        .expected(what.to_string())
    };
    let Some(entries) = doc.root.as_map() else {
        return Err(invalid(
            &doc.root,
            "a mapping from placeholder name to values",
        ));
    };
    for (k, v) in entries {
        let name = k.text().ok_or_else(|| invalid(k, "a placeholder name"))?;
        let values = match &v.kind {
            yaml::Kind::Seq(items) => items
                .iter()
                .map(|i| match &i.kind {
                    yaml::Kind::Scalar { text, .. } => Ok(text.clone()),
                    _ => Err(invalid(i, "a string")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            yaml::Kind::Scalar { text, .. } => vec![text.clone()],
            yaml::Kind::Map(_) => return Err(invalid(v, "a list of values")),
        };
        out.insert(name.trim_matches('%').to_string(), values);
    }
    Ok(out)
}

/// Clear every span and location of a rule, to compare rules read from different texts.
pub fn clear_spans(rule: &mut Rule) {
    rule.loc = Loc::default();
    let m = &mut rule.meta;
    for s in [&mut m.id, &mut m.status, &mut m.level]
        .into_iter()
        .flatten()
    {
        s.span = Span::default();
    }
    m.tags.iter_mut().for_each(|t| t.span = Span::default());
    rule.tests.iter_mut().for_each(|t| t.span = Span::default());
    match &mut rule.body {
        RuleBody::Detection(d) => {
            d.condition_span = Span::default();
            cond::strip_spans(&mut d.condition);
            for s in &mut d.selections {
                s.span = Span::default();
                s.groups
                    .iter_mut()
                    .flatten()
                    .for_each(|m| m.span = Span::default());
            }
        }
        RuleBody::Correlation(c) => {
            c.rules.iter_mut().for_each(|r| r.span = Span::default());
            c.timespan.span = Span::default();
        }
    }
}
