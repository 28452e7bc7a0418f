//! One document checked the way `detc check` and `detc test` check a file: the same reader
//! (`pack::load::parse_one`), the same checks (`pack::build::check_loaded`, with the rules of
//! other workspace files that share a name or id or that a correlation refers to), the same
//! target compilation (`pack::build::check_compile`, whose skips are warnings) and the examples
//! (`eval::run_examples`). Only diagnostics inside the document are kept.

use std::collections::HashMap;

use crate::diag::{Diagnostic, Diagnostics, Severity, SourceId, Span};
use crate::ir::norm::{Expr, NormOptions};
use crate::ir::Rule;
use crate::pack::build::{check_loaded, Checked};
use crate::target::{Backend, Ctx as TargetCtx, Outcome};

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

/// Per document: the example and target diagnostics of each detection rule, by the rule's
/// text, with spans relative to the rule's start. While typing, only the rule being edited
/// changes, so only it is run and compiled again (the other rules' results are the same
/// whatever their position): compiling every rule for every target on each keystroke took
/// 300 ms for a 2,000-line file (benches/lsp.rs).
pub type RuleCache = HashMap<String, Vec<Diagnostic>>;

/// Check a document; `backends` empty skips target compilation.
pub fn analyze(
    doc: &Document,
    ws: &Workspace,
    backends: &[Box<dyn Backend>],
    cache: &mut RuleCache,
) -> Analysis {
    let (rules, read_diags) = crate::pack::load::parse_one(&doc.path, DOC, &doc.text);
    let n = rules.len();
    let (before, after) = ws.related(&doc.path, &rules);
    let first = before.len();
    let mut all = before;
    all.extend(rules);
    all.extend(after);
    let checked = check_loaded(all, Diagnostics(read_diags), NormOptions::default(), false);
    let mut diags = checked.diags.0.clone();
    let mut fresh = RuleCache::new();
    for i in first..first + n {
        if checked.failed[i] {
            continue;
        }
        let rule = &checked.rules[i];
        let base = rule.loc.span.start;
        // A correlation's outcome depends on the rules it refers to: never cached.
        let key = rule
            .detection()
            .and_then(|_| doc.text.get(rule.loc.span.range()));
        let relative = match key.and_then(|k| cache.get(k)) {
            Some(ds) => ds.clone(),
            None => {
                let mut ds = Vec::new();
                if let Some(expr) = &checked.exprs[i] {
                    ds.extend(crate::eval::run_examples(rule, expr));
                }
                ds.extend(compile_one(&checked, i, backends));
                ds.into_iter().map(|d| shift(d, base, false)).collect()
            }
        };
        diags.extend(relative.iter().cloned().map(|d| shift(d, base, true)));
        if let Some(k) = key {
            fresh.insert(k.to_string(), relative);
        }
    }
    *cache = fresh;
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

/// What `detc check` reports for one rule from the targets (`pack::build::check_compile` for
/// one rule): a skip is a warning at the construct, or at the rule when the target gave no
/// place. (Template errors of the targets' shared files are `detc check`'s alone.)
fn compile_one(checked: &Checked, i: usize, backends: &[Box<dyn Backend>]) -> Vec<Diagnostic> {
    let ctx = TargetCtx {
        rules: &checked.rules,
        exprs: &checked.exprs,
    };
    backends
        .iter()
        .filter_map(|b| match b.compile(i, &ctx) {
            Outcome::Skipped(mut d) => {
                d.severity = Severity::Warning;
                d.loc.get_or_insert(checked.rules[i].loc);
                Some(d)
            }
            Outcome::Compiled(_) => None,
        })
        .collect()
}

/// Move a diagnostic's spans in the document by `base`: forward (`add`) or back to offsets
/// relative to a rule's start.
fn shift(mut d: Diagnostic, base: u32, add: bool) -> Diagnostic {
    let mv = |s: Span| {
        if add {
            Span {
                start: s.start + base,
                end: s.end + base,
            }
        } else {
            Span {
                start: s.start.saturating_sub(base),
                end: s.end.saturating_sub(base),
            }
        }
    };
    if let Some(l) = d.loc.as_mut().filter(|l| l.source == DOC) {
        l.span = mv(l.span);
    }
    for l in d.secondary.iter_mut().filter(|l| l.loc.source == DOC) {
        l.loc.span = mv(l.loc.span);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"rule a {
  title "a"
  logsource product=windows category=process_creation
  sel = Image endswith "\a.exe"
  condition sel
  test hit { Image: "C:\a.exe" }
}

rule b {
  title "b"
  logsource product=windows category=process_creation
  sel = Image endswith "\b.exe"
  condition sel
  test hit { Image: "C:\x.exe" }
}
"#;

    #[test]
    fn cached_rules_give_the_diagnostics_of_a_fresh_analysis() {
        let backends = crate::target::load_targets(None).unwrap();
        let ws = Workspace::default();
        let mut cache = RuleCache::new();
        let mut doc = Document::new("file:///r/x.det".parse().unwrap(), 1, TEXT.to_string());
        let first = analyze(&doc, &ws, &backends, &mut cache);
        assert!(first.diags.iter().any(|d| d.code == "example-failed"));
        assert_eq!(cache.len(), 2);
        // Edit rule a (rule b moves down by a line): b's results come from the cache.
        let edited = TEXT.replacen("  condition sel\n", "  level low\n  condition sel\n", 1);
        doc = Document::new(doc.uri.clone(), 2, edited);
        let cached = analyze(&doc, &ws, &backends, &mut cache);
        let fresh = analyze(&doc, &ws, &backends, &mut RuleCache::new());
        assert_eq!(cached.diags, fresh.diags);
        let failed = fresh
            .diags
            .iter()
            .find(|d| d.code == "example-failed")
            .unwrap();
        let at = failed.loc.unwrap().span.start as usize;
        assert!(doc.text[at..].starts_with("test hit { Image: \"C:\\x.exe\" }"));
    }
}
