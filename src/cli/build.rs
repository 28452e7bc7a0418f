//! `detc build` and `detc check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{default_inputs, exit_code, Printer};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::pack::build::{check_compile, compile, load_and_check, select_backends, Options};
use crate::pack::write::{check_replaceable, compare, read_tree, write_atomic, Owner, WriteError};

#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// Rule files or folders (.det, .yml, .yaml). Default: rules
    pub paths: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Compare the output folder with a fresh build instead of writing it; exit 1 and list the
    /// stale, missing and extra files when they differ.
    #[arg(long)]
    pub check: bool,
    /// Write every rule that compiles even when others have errors (the exit code is still 1).
    #[arg(long)]
    pub keep_going: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// Rule files or folders. Default: rules
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Only these targets (repeatable). Default: every target.
    #[arg(long = "target", short = 't')]
    pub targets: Vec<String>,
    /// Load target specs from this folder instead of the built-in ones.
    #[arg(long)]
    pub targets_dir: Option<PathBuf>,
    /// A rule that a target cannot express is an error instead of a warning.
    #[arg(long)]
    pub strict: bool,
    /// YAML file with values for `expand` placeholders (`Administrators: [...]`).
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

fn options(paths: Vec<PathBuf>, common: CommonArgs, keep_going: bool) -> Options {
    Options {
        inputs: default_inputs(paths),
        targets: common.targets,
        targets_dir: common.targets_dir,
        strict: common.strict,
        keep_going,
        placeholders: None,
        placeholders_file: common.placeholders,
        progress: super::show_progress(),
    }
}

/// The selected targets, or `None` after printing why they cannot be loaded (a usage error).
fn backends_or_report(
    opts: &Options,
    out: &Printer,
) -> Option<Vec<Box<dyn crate::target::Backend>>> {
    match select_backends(opts) {
        Ok(b) => Some(b),
        Err(errs) => {
            out.diagnostics(&mut Diagnostics(errs), &Sources::new());
            None
        }
    }
}

pub fn run_build(out: &Printer, a: BuildArgs) -> ExitCode {
    let opts = options(a.paths, a.common, a.keep_going);
    let mut sources = Sources::new();
    let Some(backends) = backends_or_report(&opts, out) else {
        return ExitCode::from(2);
    };
    // Refuse a folder detc may not replace before doing any work (and again when writing).
    if !a.check {
        if let Err(e) = check_replaceable(&a.out, Owner::Build) {
            out.diagnostics(&mut Diagnostics(vec![write_error(&e, &a.out)]), &sources);
            return ExitCode::from(2);
        }
    }
    let checked = load_and_check(&opts, &mut sources);
    let mut diags = checked.diags.clone();
    let rule_errors = diags.has_errors();
    if (rule_errors && !opts.keep_going) || crate::pack::build::has_io_errors(&diags) {
        out.diagnostics(&mut diags, &sources);
        out.summary(&format!(
            "build failed: {} error(s), nothing written to {}",
            diags.error_count(),
            a.out.display()
        ));
        return exit_code(&diags);
    }
    let output = compile(&checked, &backends, &sources, &opts);
    diags.extend(output.diags.0.clone());
    let failed = checked.failed.iter().filter(|f| **f).count();
    let summary = format!(
        "{} rule(s), {} target(s): {} compiled, {} skipped{}",
        checked.rules.len() - failed,
        backends.len(),
        output.compiled,
        output.skipped,
        if failed > 0 {
            format!(", {failed} rule(s) failed")
        } else {
            String::new()
        }
    );
    if diags.has_errors() && !opts.keep_going {
        out.diagnostics(&mut diags, &sources);
        out.summary(&format!(
            "build failed: nothing written to {}",
            a.out.display()
        ));
        return exit_code(&diags);
    }
    if a.check {
        out.diagnostics(&mut diags, &sources);
        let committed = match read_tree(&a.out) {
            Ok(t) => t,
            Err(e) => {
                let mut d = Diagnostics(vec![
                    Diagnostic::error("io", format!("cannot read: {e}")).in_file(&a.out)
                ]);
                out.diagnostics(&mut d, &sources);
                return ExitCode::from(2);
            }
        };
        let drift = compare(&committed, &output.tree);
        if drift.is_empty() {
            out.summary(&format!("{} is up to date ({summary})", a.out.display()));
            return exit_code(&diags);
        }
        for (what, list) in [
            ("stale", &drift.stale),
            ("missing", &drift.missing),
            ("extra", &drift.extra),
        ] {
            for p in list {
                println!("{what}: {}", a.out.join(p).display());
            }
        }
        out.summary(&format!(
            "{} is out of date: {} stale, {} missing, {} extra; run `detc build` and commit the result",
            a.out.display(),
            drift.stale.len(),
            drift.missing.len(),
            drift.extra.len()
        ));
        return ExitCode::from(1);
    }
    if let Err(e) = write_atomic(&a.out, &output.tree, Owner::Build) {
        diags.push(write_error(&e, &a.out));
        out.diagnostics(&mut diags, &sources);
        return ExitCode::from(2);
    }
    out.diagnostics(&mut diags, &sources);
    out.summary(&format!("{summary}; wrote {}", a.out.display()));
    exit_code(&diags)
}

/// The diagnostic for an output folder that could not be written.
pub(super) fn write_error(e: &WriteError, out: &std::path::Path) -> Diagnostic {
    let d = match e {
        WriteError::Io(e) => Diagnostic::error("io", format!("cannot write output: {e}")),
        e => Diagnostic::error(e.code(), e.to_string()),
    };
    let d = d.in_file(out);
    match e.expected() {
        Some(x) => d.expected(x),
        None => d,
    }
}

pub fn run_check(out: &Printer, a: CheckArgs) -> ExitCode {
    let opts = options(a.paths, a.common, false);
    let mut sources = Sources::new();
    let Some(backends) = backends_or_report(&opts, out) else {
        return ExitCode::from(2);
    };
    let checked = load_and_check(&opts, &mut sources);
    let mut diags = checked.diags.clone();
    if !crate::pack::build::has_io_errors(&diags) {
        diags.extend(check_compile(&checked, &backends, &opts).0);
    }
    out.diagnostics(&mut diags, &sources);
    out.summary(&format!(
        "checked {} rule(s): {} error(s), {} warning(s)",
        checked.rules.len(),
        diags.error_count(),
        diags.warning_count()
    ));
    let code = exit_code(&diags);
    // The process ends here: freeing a whole corpus's rules, sources and diagnostics one
    // allocation at a time took tens of milliseconds; the OS takes the memory back at once.
    std::mem::forget((checked, sources, diags, backends));
    code
}
