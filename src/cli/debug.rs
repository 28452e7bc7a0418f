//! `detc debug` (hidden): developer views of detc's internals. `detc debug ir PATH...` prints
//! each rule's semantic expression in the canonical JSON form of [`crate::ir::json`], one JSON
//! line per rule: `{"name", "source", "expr"}`, or `{"name", "source", "error"}` when the rule
//! fails its checks or cannot be normalised; files that yield no rule give `{"source", "error"}` lines. Used by the
//! pySigma agreement test (`tests/pysigma/compare.py`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::diag::Sources;
use crate::ir::check::check_rule;
use crate::ir::json::expr_json;
use crate::ir::norm::{normalize, NormOptions};
use crate::pack::load::load_rules;

#[derive(Args, Debug)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub what: DebugWhat,
}

#[derive(Subcommand, Debug)]
pub enum DebugWhat {
    /// Print each rule's normalised expression as canonical JSON (one line per rule).
    Ir {
        /// Rule files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

pub fn run(a: DebugArgs) -> ExitCode {
    match a.what {
        DebugWhat::Ir { paths } => ir(&paths),
    }
}

fn message(d: &crate::diag::Diagnostic) -> String {
    format!("{}: {}", d.code, d.message)
}

fn ir(paths: &[PathBuf]) -> ExitCode {
    let mut sources = Sources::new();
    let (rules, diags) = load_rules(paths, &mut sources);
    let mut out = String::new();
    let mut with_rules = std::collections::HashSet::new();
    for r in &rules {
        with_rules.insert(r.source());
        let source = sources.path(r.source()).display().to_string();
        // The rule's checks first, as `detc build` runs them: a rule detc rejects has no
        // meaning to compare, whatever normalisation alone would make of it.
        let errors: Vec<String> = check_rule(r, NormOptions::default())
            .iter()
            .filter(|d| d.is_error())
            .map(message)
            .collect();
        let line = match normalize(r, NormOptions::default()) {
            _ if !errors.is_empty() => {
                json!({"name": r.name, "source": source, "error": errors.join("; ")})
            }
            Ok(e) => json!({"name": r.name, "source": source, "expr": expr_json(&e)}),
            Err(ds) => {
                let msg: Vec<String> = ds.iter().map(message).collect();
                json!({"name": r.name, "source": source, "error": msg.join("; ")})
            }
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    // Load errors of files that produced no rule at all, one line per file.
    let mut failed: Vec<(String, String)> = Vec::new();
    for d in diags.iter().filter(|d| d.is_error()) {
        let (source, has_rules) = match (&d.loc, &d.path) {
            (Some(l), _) => (
                sources.path(l.source).display().to_string(),
                with_rules.contains(&l.source),
            ),
            (None, Some(p)) => (p.display().to_string(), false),
            (None, None) => (String::new(), false),
        };
        if !has_rules && !failed.iter().any(|(s, _)| *s == source) {
            failed.push((source, message(d)));
        }
    }
    for (source, error) in failed {
        out.push_str(&json!({"source": source, "error": error}).to_string());
        out.push('\n');
    }
    print!("{out}");
    ExitCode::SUCCESS
}
