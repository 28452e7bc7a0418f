//! One document checked the way `detc check` and `detc test` check a file: the same reader
//! (`pack::load::parse_one`), the same checks (`pack::build::check_loaded`, with the rules of
//! other workspace files that share a name or id or that a correlation refers to), the same
//! target compilation (`pack::build::check_compile`, whose skips are warnings) and the examples
//! (`eval::run_examples`). Only diagnostics inside the document are kept.

use crate::diag::{Diagnostic, Diagnostics, SourceId};
use crate::ir::norm::{Expr, NormOptions};
use crate::ir::Rule;
use crate::pack::build::{check_compile, check_loaded, Checked, Options};
use crate::target::Backend;

use super::documents::Document;
use super::workspace::Workspace;

/// The source id of the document being analysed (workspace files have ids from 1).
pub const DOC: SourceId = SourceId(0);

/// What the server knows about one version of a document.
pub struct Analysis {
    pub version: i32,
    /// The document's rules (`loc.source == DOC`), in order.
    pub rules: Vec<Rule>,
    /// Normalised condition per rule (`None` for correlations and failed rules).
    pub exprs: Vec<Option<Expr>>,
    pub failed: Vec<bool>,
    /// The diagnostics located in the document (a diagnostic without a location is placed at
    /// its start), in position order.
    pub diags: Vec<Diagnostic>,
    /// Rules of other files that the checks used, for compiling correlations.
    pub related: Vec<Rule>,
}

/// Check a document; `backends` empty skips target compilation.
pub fn analyze(doc: &Document, ws: &Workspace, backends: &[Box<dyn Backend>]) -> Analysis {
    let (rules, read_diags) = crate::pack::load::parse_one(&doc.path, DOC, &doc.text);
    let n = rules.len();
    let (before, after) = ws.related(&doc.path, &rules);
    let first = before.len();
    let mut all = before;
    all.extend(rules);
    all.extend(after);
    let checked = check_loaded(all, Diagnostics(read_diags), NormOptions::default(), false);
    let mut diags = checked.diags.0.clone();
    for i in first..first + n {
        if let (false, Some(expr)) = (checked.failed[i], &checked.exprs[i]) {
            diags.extend(crate::eval::run_examples(&checked.rules[i], expr));
        }
    }
    if !backends.is_empty() && n > 0 {
        diags.extend(check_compile(&checked, backends, &Options::default()).0);
    }
    let mut diags: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.loc.is_none_or(|l| l.source == DOC))
        .collect();
    diags.sort_by_key(|d| (d.loc.map(|l| l.span.start), d.code));
    let Checked {
        mut rules,
        mut exprs,
        mut failed,
        ..
    } = checked;
    let mut related: Vec<Rule> = rules.drain(first + n..).collect();
    related.extend(rules.drain(..first));
    exprs.truncate(first + n);
    exprs.drain(..first);
    failed.truncate(first + n);
    failed.drain(..first);
    Analysis {
        version: doc.version,
        rules,
        exprs,
        failed,
        diags,
        related,
    }
}

impl Analysis {
    /// The rule whose text holds byte offset `at` (the last one that starts before it when
    /// none does, so that a half-typed line after a rule still belongs to it).
    pub fn rule_at(&self, at: usize) -> Option<&Rule> {
        let at = at as u32;
        self.rules
            .iter()
            .find(|r| r.loc.span.start <= at && at <= r.loc.span.end)
            .or_else(|| {
                self.rules
                    .iter()
                    .filter(|r| r.loc.span.start <= at)
                    .max_by_key(|r| r.loc.span.start)
            })
    }
}
