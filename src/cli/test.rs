//! `detc test`: run the examples written next to each rule.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{default_inputs, exit_code, Printer};
use crate::diag::Sources;
use crate::pack::build::{load_and_check, Options};

#[derive(Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// Rule files or folders. Default: rules
    pub paths: Vec<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

pub fn run(out: &Printer, a: TestArgs) -> ExitCode {
    let opts = Options {
        inputs: default_inputs(a.paths),
        placeholders_file: a.placeholders,
        ..Options::default()
    };
    let mut sources = Sources::new();
    let checked = load_and_check(&opts, &mut sources);
    let mut diags = checked.diags.clone();
    let (mut examples, mut failures, mut untested) = (0usize, 0usize, 0usize);
    let skipped = checked.failed_count();
    for ((rule, expr), failed) in checked
        .rules
        .iter()
        .zip(&checked.exprs)
        .zip(&checked.failed)
    {
        // A rule with an error is reported above and never run: its examples would test
        // whatever part of it happened to be read.
        if *failed {
            continue;
        }
        let Some(expr) = expr else { continue };
        if rule.tests.is_empty() {
            untested += 1;
        }
        examples += rule.tests.len();
        let ds = crate::eval::run_examples(rule, expr);
        failures += ds.iter().filter(|d| d.is_error()).count();
        diags.extend(ds);
    }
    out.diagnostics(&mut diags, &sources);
    out.summary(&format!(
        "detc test: {} rule(s), {examples} example(s): {} ok, {failures} failing; {untested} rule(s) without examples{}",
        checked.rules.len() - skipped,
        examples - failures.min(examples),
        if skipped > 0 {
            format!("; {skipped} rule(s) with errors not run")
        } else {
            String::new()
        }
    ));
    exit_code(&diags)
}
