//! `detc test`: run the examples written next to each rule.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{default_inputs, exit_code, Printer};
use crate::diag::{Diagnostic, Sources};
use crate::ir::{Expect, Rule};
use crate::pack::build::{load_and_check, Options};
use crate::report::junit::{junit, Case, Outcome, Suite};

#[derive(Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// Rule files or folders. Default: rules
    pub paths: Vec<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Also write the results as JUnit XML (one test case per example) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
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
    let mut suites = Vec::new();
    for ((rule, expr), failed) in checked
        .rules
        .iter()
        .zip(&checked.exprs)
        .zip(&checked.failed)
    {
        // A rule with an error is reported above and never run: its examples would test
        // whatever part of it happened to be read.
        if *failed {
            if a.junit.is_some() {
                suites.push(broken_suite(rule, &checked.diags, &sources));
            }
            continue;
        }
        let Some(expr) = expr else { continue };
        if rule.tests.is_empty() {
            untested += 1;
        }
        examples += rule.tests.len();
        let ds = crate::eval::run_examples(rule, expr);
        failures += ds.iter().filter(|d| d.is_error()).count();
        if a.junit.is_some() {
            suites.push(suite(rule, &ds, &sources));
        }
        diags.extend(ds);
    }
    if let Some(path) = &a.junit {
        if let Err(e) = std::fs::write(path, junit(&suites)) {
            diags.push(
                Diagnostic::error("io", format!("cannot write the JUnit report: {e}"))
                    .in_file(path),
            );
        }
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

/// An example's test case name: kind, number within the rule, line.
fn case_name(kind: Expect, n: usize, line: usize) -> String {
    let kind = match kind {
        Expect::Hit => "test hit",
        Expect::Miss => "test miss",
    };
    format!("{kind} #{n} (line {line})")
}

/// One rule's examples as JUnit test cases: an example failed when a diagnostic points at it.
fn suite(rule: &Rule, ds: &[Diagnostic], sources: &Sources) -> Suite {
    let file = sources.path(rule.source()).display().to_string();
    let cases = rule
        .tests
        .iter()
        .enumerate()
        .map(|(i, ex)| {
            let line = sources.line_col(rule.source(), ex.span.start).0;
            let failure = ds
                .iter()
                .find(|d| d.is_error() && d.loc.is_some_and(|l| l.span == ex.span));
            let outcome = match failure {
                None => Outcome::Passed,
                Some(d) => Outcome::Failed {
                    message: d.message.clone(),
                    text: format!(
                        "{}\nevent: {}\n{}",
                        sources.position(d.loc.expect("found by location")),
                        serde_json::Value::Object(ex.event.clone()),
                        d.notes.join("\n")
                    ),
                },
            };
            Case {
                name: case_name(ex.expect, i + 1, line),
                file: file.clone(),
                line,
                outcome,
            }
        })
        .collect();
    Suite {
        name: rule.name.clone(),
        file,
        cases,
    }
}

/// A rule with errors: one test case in error, listing the errors inside the rule.
fn broken_suite(rule: &Rule, all: &crate::diag::Diagnostics, sources: &Sources) -> Suite {
    let file = sources.path(rule.source()).display().to_string();
    let inside: Vec<String> = all
        .iter()
        .filter(|d| {
            d.is_error()
                && d.loc.is_some_and(|l| {
                    l.source == rule.loc.source
                        && rule.loc.span.start <= l.span.start
                        && l.span.end <= rule.loc.span.end
                })
        })
        .map(|d| {
            format!(
                "{}: error[{}]: {}",
                sources.position(d.loc.expect("filtered")),
                d.code,
                d.message
            )
        })
        .collect();
    let line = sources.line_col(rule.source(), rule.loc.span.start).0;
    Suite {
        name: rule.name.clone(),
        file: file.clone(),
        cases: vec![Case {
            name: format!("rule {} has errors; its examples were not run", rule.name),
            file,
            line,
            outcome: Outcome::Error {
                message: format!("{} error(s) in the rule", inside.len()),
                text: inside.join("\n"),
            },
        }],
    }
}
