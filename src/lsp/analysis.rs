//! One document checked the way `detc check` and `detc test` check a file: the same reader
//! (`pack::load::parse_one`), the same checks (`pack::build::check_loaded` in its two halves:
//! `check_one` per rule, `check_with` for the pack, with the rules of other workspace files
//! that share a name or id or that a correlation refers to), the same target compilation
//! (`pack::build::check_compile`, whose skips are warnings) and the examples
//! (`eval::run_examples`). Only diagnostics inside the document are kept. What depends on one
//! rule alone is kept in a [`RuleCache`] between keystrokes.

use std::time::{Duration, Instant};

use crate::diag::{Diagnostic, Diagnostics, Severity, SourceId, Span};
use crate::ir::norm::{Expr, NormOptions};
use crate::ir::Rule;
use crate::pack::build::{check_one, check_with, Checked, RuleChecks};
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
    /// Where the time went (benches/lsp.rs prints it).
    pub timings: Timings,
}

/// The phases of one analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Reading the text into rules.
    pub parse: Duration,
    /// The checks and normalisation (with the related rules of other files).
    pub check: Duration,
    /// Examples and target compilation of the rules not in the cache.
    pub rules: Duration,
    /// The whole analysis.
    pub total: Duration,
}

/// Per document: what was found about each rule, kept between analyses so that a keystroke
/// checks, runs and compiles only the rule it changed (the others' results are the same
/// whatever their position). Compiling every rule for every target on each keystroke took
/// 300 ms for a 2,000-line file, checking every rule 13 ms (benches/lsp.rs).
#[derive(Default)]
pub struct RuleCache {
    /// Keys are long (a rule's text and IR): Fx hashes them several times faster than SipHash.
    entries: rustc_hash::FxHashMap<String, Entry>,
    /// Analyses so far (entries not used for the longest time are dropped first).
    generation: u64,
}

/// One rule's results, every span in the document relative to the rule's start.
struct Entry {
    /// Its own checks and normalised condition (`pack::build::check_one`).
    checks: RuleChecks,
    /// The examples' and the targets' diagnostics of a detection rule, once it has passed
    /// every check (a rule failed by another rule, as a duplicate name, has none yet).
    run: Option<Vec<Diagnostic>>,
    used: u64,
}

impl RuleCache {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drop the entries used least recently when there are many more than the document's
    /// rules. Entries of rules that are gone are kept a while: an opening quote can hide the
    /// rest of the file until it is closed a few keystrokes later, and then every rule after
    /// it is back as it was (rebuilding them cost 70-120 ms in one keystroke).
    fn trim(&mut self, rules: usize) {
        let keep = 4 * rules + 256;
        if self.entries.len() <= keep + keep / 2 {
            return;
        }
        let mut used: Vec<u64> = self.entries.values().map(|e| e.used).collect();
        used.sort_unstable_by(|a, b| b.cmp(a));
        let oldest_kept = used[keep - 1];
        self.entries.retain(|_, e| e.used >= oldest_kept);
    }
}

/// What a rule's cached results are filed under: its text (the layout its spans point into)
/// and its IR without spans (the same text can read differently: a rule with a syntax error
/// is lowered as incomplete, a Sigma rule merges its file's `action: global` document). For a
/// Sigma file the whole text is the key, as its documents depend on each other.
fn rule_key(text: &str, rule: &Rule, sigma: bool) -> Option<String> {
    use std::fmt::Write;
    let own = text.get(rule.loc.span.range())?;
    let mut key = String::from(if sigma { text } else { own });
    key.push('\0');
    write!(key, "{:?}", crate::dsl::without_spans(rule)).ok()?;
    Some(key)
}

/// Check a document; `backends` empty skips target compilation.
pub fn analyze(
    doc: &Document,
    ws: &Workspace,
    backends: &[Box<dyn Backend>],
    cache: &mut RuleCache,
) -> Analysis {
    let t0 = Instant::now();
    let (rules, read_diags) =
        crate::pack::load::parse_one_lexed(&doc.path, DOC, &doc.text, doc.tokens());
    let t1 = Instant::now();
    let n = rules.len();
    let sigma = doc.kind() == Some(crate::pack::load::Kind::Sigma);
    let keys: Vec<Option<String>> = rules
        .iter()
        .map(|r| rule_key(&doc.text, r, sigma))
        .collect();
    let (before, after) = ws.related(&doc.path, &rules);
    let first = before.len();
    let mut all = before;
    all.extend(rules);
    all.extend(after);
    cache.generation += 1;
    let generation = cache.generation;
    let norm = NormOptions::default();
    let key_of = |i: usize| {
        i.checked_sub(first)
            .and_then(|j| keys.get(j))
            .and_then(Option::as_ref)
    };
    // Each rule's own checks: from the cache for the document's unchanged rules, else run. The
    // rules not in the cache run in parallel as `detc check` runs them, but only when there
    // are several (opening a file): one edited rule is checked on this thread, so that a
    // keystroke never waits for a pool thread the loaded machine has not scheduled yet.
    let mut per_rule: Vec<Option<RuleChecks>> = all
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = key_of(i).and_then(|k| cache.entries.get(k))?;
            Some(shift_checks(&e.checks, r.loc.span.start, true))
        })
        .collect();
    let missing: Vec<usize> = (0..all.len()).filter(|&i| per_rule[i].is_none()).collect();
    let run: Vec<RuleChecks> = if missing.len() > 1 {
        use rayon::prelude::*;
        missing
            .par_iter()
            .map(|&i| check_one(&all[i], norm))
            .collect()
    } else {
        missing.iter().map(|&i| check_one(&all[i], norm)).collect()
    };
    for (i, c) in missing.into_iter().zip(run) {
        per_rule[i] = Some(c);
    }
    let per_rule = per_rule.into_iter().flatten();
    let mut checks = Vec::with_capacity(all.len());
    for (i, c) in per_rule.enumerate() {
        if let Some(k) = key_of(i) {
            let base = all[i].loc.span.start;
            let e = cache.entries.entry(k.clone()).or_insert_with(|| Entry {
                checks: shift_checks(&c, base, false),
                run: None,
                used: generation,
            });
            e.used = generation;
        }
        checks.push(c);
    }
    let checked = check_with(all, Diagnostics(read_diags), checks);
    let t2 = Instant::now();
    let mut diags = checked.diags.0.clone();
    for i in first..first + n {
        if checked.failed[i] {
            continue;
        }
        let rule = &checked.rules[i];
        let base = rule.loc.span.start;
        // A correlation's outcome depends on the rules it refers to: never kept.
        let entry = key_of(i)
            .filter(|_| rule.detection().is_some())
            .and_then(|k| cache.entries.get_mut(k));
        let run = |checked: &Checked| {
            let mut ds = Vec::new();
            if let Some(expr) = &checked.exprs[i] {
                ds.extend(crate::eval::run_examples(&checked.rules[i], expr));
            }
            ds.extend(compile_one(checked, i, backends));
            ds
        };
        match entry {
            Some(e) => {
                let relative = e.run.get_or_insert_with(|| {
                    run(&checked)
                        .into_iter()
                        .map(|d| shift(d, base, false))
                        .collect()
                });
                diags.extend(relative.iter().cloned().map(|d| shift(d, base, true)));
            }
            None => diags.extend(run(&checked)),
        }
    }
    cache.trim(n);
    let t3 = Instant::now();
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
        timings: Timings {
            parse: t1 - t0,
            check: t2 - t1,
            rules: t3 - t2,
            total: t0.elapsed(),
        },
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

/// Move a span in the document by `base`: forward (`add`) or back to an offset relative to a
/// rule's start. Wrapping, so that back and forth gives the span it was, whatever it was.
fn mv(s: Span, base: u32, add: bool) -> Span {
    let f = |x: u32| {
        if add {
            x.wrapping_add(base)
        } else {
            x.wrapping_sub(base)
        }
    };
    Span {
        start: f(s.start),
        end: f(s.end),
    }
}

/// A diagnostic with its spans in the document moved (see [`mv`]).
fn shift(mut d: Diagnostic, base: u32, add: bool) -> Diagnostic {
    if let Some(l) = d.loc.as_mut().filter(|l| l.source == DOC) {
        l.span = mv(l.span, base, add);
    }
    for l in d.secondary.iter_mut().filter(|l| l.loc.source == DOC) {
        l.loc.span = mv(l.loc.span, base, add);
    }
    d
}

/// A rule's own checks with their spans moved (the condition's spans are the rule's, so in
/// the document).
fn shift_checks((ds, expr): &RuleChecks, base: u32, add: bool) -> RuleChecks {
    fn walk(e: &mut Expr, base: u32, add: bool) {
        match e {
            Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().for_each(|x| walk(x, base, add)),
            Expr::Not(x) => walk(x, base, add),
            Expr::Pred(p) => p.span = mv(p.span, base, add),
            Expr::Const(_) => {}
        }
    }
    let ds = ds.iter().cloned().map(|d| shift(d, base, add)).collect();
    let expr = expr.clone().map(|mut e| {
        walk(&mut e, base, add);
        e
    });
    (ds, expr)
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
        let mut cache = RuleCache::default();
        let mut doc = Document::new("file:///r/x.det".parse().unwrap(), 1, TEXT.to_string());
        let first = analyze(&doc, &ws, &backends, &mut cache);
        assert!(first.diags.iter().any(|d| d.code == "example-failed"));
        assert_eq!(cache.len(), 2);
        // Edit rule a (rule b moves down by a line): b's results come from the cache.
        let edited = TEXT.replacen("  condition sel\n", "  level low\n  condition sel\n", 1);
        doc = Document::new(doc.uri.clone(), 2, edited);
        let cached = analyze(&doc, &ws, &backends, &mut cache);
        let fresh = analyze(&doc, &ws, &backends, &mut RuleCache::default());
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
