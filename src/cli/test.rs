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
    for (rule, expr) in checked.rules.iter().zip(&checked.exprs) {
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
        "detc test: {} rule(s), {examples} example(s): {} ok, {failures} failing; {untested} rule(s) without examples",
        checked.rules.len(),
        examples - failures.min(examples),
    ));
    exit_code(&diags)
}
