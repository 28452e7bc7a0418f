//! The build pipeline: load -> check -> normalise -> every target -> manifest -> `dist/`.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::manifest::{sha256_hex, FailedEntry, Manifest, RuleEntry, TargetEntry};
use super::write::Tree;
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::ir::check::{check_pack, check_rule};
use crate::ir::norm::{normalize, Expr, NormOptions, Placeholders};
use crate::ir::{Rule, RuleBody};
use crate::target::{Backend, Compiled, Ctx, Outcome};

#[derive(Debug, Default, Clone)]
pub struct Options {
    pub inputs: Vec<PathBuf>,
    /// Target names to build; empty means every target.
    pub targets: Vec<String>,
    pub targets_dir: Option<PathBuf>,
    /// A target that skips a rule is an error, not a warning.
    pub strict: bool,
    /// Rules with errors are left out (and listed in the manifest) instead of stopping the build.
    pub keep_going: bool,
    pub placeholders: Option<Placeholders>,
    /// A YAML file of placeholder values (`name: [values]`) for `|expand`, read into
    /// `placeholders` by [`load_and_check`].
    pub placeholders_file: Option<PathBuf>,
    /// Show a progress bar on stderr (the CLI turns it on for terminals, never in CI).
    pub progress: bool,
}

/// A progress bar that is hidden unless asked for.
fn bar(show: bool, len: usize, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Rules after loading and checking.
pub struct Checked {
    pub rules: Vec<Rule>,
    /// Normalised condition per rule (`None` for correlations and rules that failed).
    pub exprs: Vec<Option<Expr>>,
    /// Per rule: did any error point into it?
    pub failed: Vec<bool>,
    pub diags: Diagnostics,
}

/// Load every rule under the inputs and run all checks.
pub fn load_and_check(opts: &Options, sources: &mut Sources) -> Checked {
    let (rules, mut diags) = super::load::load_rules(&opts.inputs, sources);
    let mut placeholders = opts.placeholders.clone();
    if let Some(path) = &opts.placeholders_file {
        if let Some((id, true)) = super::load::read_source(path, sources, &mut diags) {
            let text = sources.text(id).to_string();
            match crate::sigma::read_placeholders(id, &text) {
                Ok(p) => placeholders.get_or_insert_with(Default::default).extend(p),
                Err(d) => diags.push(d),
            }
        }
    }
    let norm = NormOptions {
        placeholders: placeholders.as_ref(),
    };
    check_loaded(rules, diags, norm, opts.progress)
}

/// The checks of [`load_and_check`] on rules already read (with the reader's diagnostics):
/// per-rule checks and normalisation, pack checks, and which rules failed. `detc lsp` calls it
/// on an editor's unsaved text, so editors see exactly what `detc check` reports.
pub fn check_loaded(
    rules: Vec<Rule>,
    diags: Diagnostics,
    norm: NormOptions,
    progress: bool,
) -> Checked {
    let pb = bar(progress, rules.len(), "checking");
    // Checks and normalisation are independent per rule: run them in parallel, keep rule order.
    let per_rule: Vec<RuleChecks> = {
        use rayon::prelude::*;
        rules
            .par_iter()
            .map(|r| {
                pb.inc(1);
                check_one(r, norm)
            })
            .collect()
    };
    pb.finish_and_clear();
    check_with(rules, diags, per_rule)
}

/// What the checks say about one rule on its own: its diagnostics and, when it has no error,
/// its normalised condition (`None` for a correlation). It depends on nothing but the rule,
/// so `detc lsp` keeps it for the rules a keystroke did not change.
pub type RuleChecks = (Vec<Diagnostic>, Option<Expr>);

/// The checks and normalisation of one rule (see [`RuleChecks`]).
pub fn check_one(r: &Rule, norm: NormOptions) -> RuleChecks {
    let ds = check_rule(r, norm);
    let ok = !ds.iter().any(Diagnostic::is_error);
    let expr = match (&r.body, ok) {
        (RuleBody::Detection(_), true) => normalize(r, norm).ok(),
        _ => None,
    };
    (ds, expr)
}

/// [`check_loaded`] with each rule's own checks given ([`check_one`] of `rules[i]` in
/// `per_rule[i]`): the reader's errors and the pack checks added, failed rules marked.
pub fn check_with(rules: Vec<Rule>, mut diags: Diagnostics, per_rule: Vec<RuleChecks>) -> Checked {
    let mut failed = vec![false; rules.len()];
    // A reader may return a rule it could read only in part (a `.det` rule with a syntax
    // error), so that its other problems are reported too: an error inside a rule fails it.
    for d in diags.iter().filter(|d| d.is_error()) {
        mark_failed(&rules, d, &mut failed);
    }
    let mut exprs = Vec::with_capacity(rules.len());
    for (i, (ds, expr)) in per_rule.into_iter().enumerate() {
        if ds.iter().any(Diagnostic::is_error) {
            failed[i] = true;
        }
        diags.extend(ds);
        exprs.push(expr);
    }
    for d in check_pack(&rules) {
        mark_failed(&rules, &d, &mut failed);
        diags.push(d);
    }
    // A rule with an error is never evaluated nor compiled, whatever part of it was read.
    for (expr, failed) in exprs.iter_mut().zip(&failed) {
        if *failed {
            *expr = None;
        }
    }
    Checked {
        rules,
        exprs,
        failed,
        diags,
    }
}

impl Checked {
    /// How many rules failed their checks (they are reported and never evaluated or compiled).
    pub fn failed_count(&self) -> usize {
        self.failed.iter().filter(|f| **f).count()
    }

    /// The rules that passed every check, in order (for commands that evaluate or convert).
    pub fn into_good_rules(self) -> (Vec<Rule>, Diagnostics) {
        let rules = self
            .rules
            .into_iter()
            .zip(self.failed)
            .filter(|(_, failed)| !failed)
            .map(|(r, _)| r)
            .collect();
        (rules, self.diags)
    }
}

/// Mark failed the correlations that refer (by name, Sigma `name` or id) to a failed rule:
/// they cannot be evaluated without it. One warning per such correlation, at the reference,
/// so that the cause (the other rule's error) is said once and this is said as its
/// consequence, not as an unknown rule.
pub fn fail_dependent_correlations(rules: &[Rule], failed: &mut [bool]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let find = |n: &str| {
        rules.iter().position(|r| {
            r.name == n || r.meta.sigma_name.as_deref() == Some(n) || r.id() == Some(n)
        })
    };
    for (i, r) in rules.iter().enumerate() {
        let RuleBody::Correlation(c) = &r.body else {
            continue;
        };
        if failed[i] {
            continue;
        }
        let broken = c
            .rules
            .iter()
            .find(|n| find(&n.value).is_some_and(|j| failed[j]));
        if let Some(n) = broken {
            failed[i] = true;
            out.push(
                Diagnostic::warning(
                    "correlation-skipped",
                    format!(
                        "correlation `{}` is not evaluated: the rule `{}` it refers to has errors",
                        r.name, n.value
                    ),
                )
                .at(r.loc(n.span)),
            );
        }
    }
    out
}

/// Mark the rules whose span holds the location of `d`.
fn mark_failed(rules: &[Rule], d: &Diagnostic, failed: &mut [bool]) {
    if let Some(loc) = d.loc {
        for (i, r) in rules.iter().enumerate() {
            if r.loc.source == loc.source
                && r.loc.span.start <= loc.span.start
                && loc.span.end <= r.loc.span.end
            {
                failed[i] = true;
            }
        }
    }
}

/// Whether any diagnostic is a usage or I/O problem (exit code 2 rather than 1).
pub fn has_io_errors(diags: &Diagnostics) -> bool {
    diags.iter().any(|d| {
        d.is_error() && matches!(d.code, "io" | "usage" | "file-too-large" | "output-folder")
    })
}

/// One backend's work: an outcome per rule (`None` for failed rules) and its shared files.
type BackendResult = (
    Vec<Option<Outcome>>,
    Result<Vec<crate::target::OutFile>, Diagnostic>,
);

/// The outcome of compiling a checked pack.
pub struct Output {
    pub tree: Tree,
    pub manifest: Manifest,
    pub diags: Diagnostics,
    pub compiled: usize,
    pub skipped: usize,
}

/// Select the backends named in `opts.targets` (all when empty). Unknown names are usage errors.
/// Only the selected built-in targets are loaded; a `--targets-dir` folder is loaded whole,
/// since its specs name themselves (and a broken one is reported even when not selected).
pub fn select_backends(opts: &Options) -> Result<Vec<Box<dyn Backend>>, Vec<Diagnostic>> {
    let (known, loaded) = match (&opts.targets_dir, opts.targets.is_empty()) {
        (None, true) => return crate::target::load_targets(None),
        (None, false) => (crate::target::builtin_target_names(), None),
        (Some(dir), _) => {
            let all = crate::target::load_targets(Some(dir))?;
            if opts.targets.is_empty() {
                return Ok(all);
            }
            (
                all.iter().map(|b| b.name().to_string()).collect(),
                Some(all),
            )
        }
    };
    let mut errs = Vec::new();
    for t in &opts.targets {
        if !known.contains(t) {
            errs.push(
                Diagnostic::error("usage", format!("unknown target `{t}`"))
                    .expected(format!("one of: {}", known.join(", "))),
            );
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let all = match loaded {
        Some(all) => all,
        None => crate::target::load_builtin_targets(&opts.targets)?,
    };
    Ok(all
        .into_iter()
        .filter(|b| opts.targets.iter().any(|t| t == b.name()))
        .collect())
}

/// Compile every rule that passed its checks for every backend and assemble the pack: the
/// files of every target, `manifest.json`, coverage and the ATT&CK layer.
pub fn compile(
    checked: &Checked,
    backends: &[Box<dyn Backend>],
    sources: &Sources,
    opts: &Options,
) -> Output {
    let results = compile_rules(checked, backends, opts);
    assemble(checked, backends, sources, opts, results)
}

/// What `detc check` needs: every rule compiled for every backend (artifacts and shared files
/// rendered, so template errors show), the skip and error diagnostics, and no pack assembled.
pub fn check_compile(
    checked: &Checked,
    backends: &[Box<dyn Backend>],
    opts: &Options,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (outcomes, shared) in compile_rules(checked, backends, opts) {
        for (rule, outcome) in checked.rules.iter().zip(outcomes) {
            if let Some(Outcome::Skipped(d)) = outcome {
                diags.push(skip_diagnostic(d, rule, opts));
            }
        }
        if let Err(d) = shared {
            diags.push(d);
        }
    }
    diags
}

/// A target's skip as reported: a warning, or an error under `--strict`, at the rule when the
/// target gave no place.
fn skip_diagnostic(mut d: Diagnostic, rule: &Rule, opts: &Options) -> Diagnostic {
    d.severity = if opts.strict {
        crate::diag::Severity::Error
    } else {
        crate::diag::Severity::Warning
    };
    if d.loc.is_none() {
        d.loc = Some(rule.loc);
    }
    d
}

/// Compile the rules for each backend (rules and backends in parallel) and render each
/// backend's shared files; results in backend order, outcomes in rule order (`None`: the rule
/// failed its checks), so output is deterministic.
fn compile_rules(
    checked: &Checked,
    backends: &[Box<dyn Backend>],
    opts: &Options,
) -> Vec<BackendResult> {
    use rayon::prelude::*;
    let ctx = Ctx {
        rules: &checked.rules,
        exprs: &checked.exprs,
    };
    let pb = bar(
        opts.progress,
        backends.len() * checked.rules.len(),
        "compiling",
    );
    let results = backends
        .par_iter()
        .map(|b| {
            let outcomes: Vec<Option<Outcome>> = (0..checked.rules.len())
                .into_par_iter()
                .map(|i| {
                    pb.inc(1);
                    (!checked.failed[i]).then(|| b.compile(i, &ctx))
                })
                .collect();
            let pairs: Vec<(&Rule, &Compiled)> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, o)| match o {
                    Some(Outcome::Compiled(c)) => Some((&checked.rules[i], c)),
                    _ => None,
                })
                .collect();
            let shared = b.finish(&pairs);
            (outcomes, shared)
        })
        .collect();
    pb.finish_and_clear();
    results
}

/// The pack from the compiled rules: files, manifest (with `failed` entries), coverage.
fn assemble(
    checked: &Checked,
    backends: &[Box<dyn Backend>],
    sources: &Sources,
    opts: &Options,
    results: Vec<BackendResult>,
) -> Output {
    let mut diags = Diagnostics::new();
    let mut tree = Tree::new();
    let mut entries: Vec<Option<IndexMap<String, TargetEntry>>> = checked
        .rules
        .iter()
        .enumerate()
        .map(|(i, _)| (!checked.failed[i]).then(IndexMap::new))
        .collect();
    let (mut compiled_n, mut skipped_n) = (0, 0);
    for (b, (outcomes, shared)) in backends.iter().zip(results) {
        let mut done: Vec<(usize, Compiled)> = Vec::new();
        for (i, (rule, outcome)) in checked.rules.iter().zip(outcomes).enumerate() {
            let Some(outcome) = outcome else { continue };
            match outcome {
                Outcome::Compiled(c) => {
                    compiled_n += 1;
                    done.push((i, c));
                }
                Outcome::Skipped(d) => {
                    skipped_n += 1;
                    let reason = d.message.clone();
                    diags.push(skip_diagnostic(d, rule, opts));
                    if let Some(e) = entries[i].as_mut() {
                        e.insert(
                            b.name().to_string(),
                            TargetEntry::Skipped { skipped: reason },
                        );
                    }
                }
            }
        }
        match shared {
            Ok(files) => {
                for f in files {
                    tree.insert(f.path, f.contents);
                }
            }
            Err(d) => diags.push(d),
        }
        for (i, c) in done {
            let mut files: Vec<String> = c.files.iter().map(|f| f.path.clone()).collect();
            files.extend(c.shared_files.iter().cloned());
            let digest = match &c.query {
                Some(q) => sha256_hex(q.as_bytes()),
                None => {
                    let all: String = c.files.iter().map(|f| f.contents.as_str()).collect();
                    sha256_hex(all.as_bytes())
                }
            };
            for f in c.files {
                tree.insert(f.path, f.contents);
            }
            if let Some(e) = entries[i].as_mut() {
                e.insert(
                    b.name().to_string(),
                    TargetEntry::Compiled {
                        query: c.query,
                        parts: c.parts,
                        files,
                        sha256: digest,
                        data: c.note,
                    },
                );
            }
        }
    }
    let mut manifest = Manifest {
        detc_version: env!("CARGO_PKG_VERSION").to_string(),
        rules: Vec::new(),
        failed: Vec::new(),
    };
    for (i, r) in checked.rules.iter().enumerate() {
        let source = source_path(sources, r);
        match entries[i].take() {
            Some(targets) => manifest.rules.push(RuleEntry {
                id: r.id().map(str::to_string),
                name: r.name.clone(),
                title: r.meta.title.clone(),
                level: r.level().map(str::to_string),
                source,
                attack: r.attack_techniques(),
                targets,
            }),
            None => manifest.failed.push(FailedEntry {
                name: Some(r.name.clone()),
                source,
                diagnostics: checked
                    .diags
                    .iter()
                    // Errors, and the warnings that keep a correlation from compiling.
                    .filter(|d| {
                        (d.is_error() || matches!(d.code, "unknown-rule" | "correlation-skipped"))
                            && d.loc.is_some_and(|l| inside(r, l))
                    })
                    .map(|d| render_short(sources, d))
                    .collect(),
            }),
        }
    }
    // Errors outside every rule: files that yielded no rule at all (syntax errors, ...).
    let mut orphans: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for d in checked.diags.iter().filter(|d| d.is_error()) {
        let Some(l) = d.loc else { continue };
        if !checked.rules.iter().any(|r| inside(r, l)) {
            let path = slash_path(sources.path(l.source));
            orphans
                .entry(path)
                .or_default()
                .push(render_short(sources, d));
        }
    }
    for (source, diagnostics) in orphans {
        manifest.failed.push(FailedEntry {
            name: None,
            source,
            diagnostics,
        });
    }
    tree.insert("manifest.json".into(), manifest.to_json());
    for (path, contents) in
        super::coverage::files(&checked.rules, &checked.failed, backends, &manifest)
    {
        tree.insert(path, contents);
    }
    Output {
        tree,
        manifest,
        diags,
        compiled: compiled_n,
        skipped: skipped_n,
    }
}

fn inside(r: &Rule, l: crate::diag::Loc) -> bool {
    r.loc.source == l.source && r.loc.span.start <= l.span.start && l.span.end <= r.loc.span.end
}

fn render_short(sources: &Sources, d: &Diagnostic) -> String {
    match d.loc {
        Some(l) => format!("{}: {}: {}", sources.position(l), d.code, d.message),
        None => format!("{}: {}", d.code, d.message),
    }
}

/// The rule's source path as written on the command line, with `/` separators.
pub fn source_path(sources: &Sources, r: &Rule) -> String {
    slash_path(sources.path(r.source()))
}

/// A path with `/` separators on every platform (the manifest is the same on Windows). The
/// root is an empty first component, so an absolute path keeps one leading `/`.
fn slash_path(p: &std::path::Path) -> String {
    use std::path::Component;
    p.components()
        .map(|c| match c {
            Component::RootDir => String::new(),
            c => c.as_os_str().to_string_lossy().into_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::slash_path;
    use std::path::Path;

    /// Manifest paths: relative ones as given, absolute ones with a single leading slash (was
    /// `//tmp/...`: the root component joined like a name).
    #[test]
    fn manifest_paths_use_single_slashes() {
        assert_eq!(slash_path(Path::new("rules/a/b.det")), "rules/a/b.det");
        assert_eq!(slash_path(Path::new("./b.det")), "./b.det");
        assert_eq!(slash_path(Path::new("/tmp/cr/c.det")), "/tmp/cr/c.det");
    }
}
