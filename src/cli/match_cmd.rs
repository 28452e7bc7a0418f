//! `detc match`: run rules over JSON / EVTX events (see docs/MATCH.md). Argument parsing and
//! printing only; the work is [`crate::eval::run::run_match`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::eval::engine::EngineOptions;
use crate::eval::logsource::Provides;
use crate::eval::run::{run_match, OutFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchFormat {
    /// One JSON object per match.
    Jsonl,
    /// Aligned columns.
    Table,
}

#[derive(Args, Debug)]
pub struct MatchArgs {
    /// Rule files or folders (`.det`, Sigma `.yml`); repeatable, several per flag.
    #[arg(long, required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Event files or folders (`.json`, `.jsonl`, `.ndjson`, `.evtx`, `.log`, also `.gz`):
    /// JSON, EVTX, CloudTrail/Azure exports, Okta, Google Cloud, Zeek, Sysmon for Linux
    /// syslog, auditd; repeatable.
    #[arg(long, required = true, num_args = 1..)]
    pub events: Vec<PathBuf>,
    /// Output layout of the matches (stdout).
    #[arg(long, alias = "output", value_enum, default_value_t = MatchFormat::Jsonl)]
    pub format: MatchFormat,
    /// Declare the source of events the log source table does not recognise (no Channel, no
    /// known export shape): `category=proxy[,product=P][,service=S]`.
    #[arg(long)]
    pub logsource: Option<String>,
    /// Threads matching events (0: one per core). The output does not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(args: MatchArgs) -> ExitCode {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let declared = match args.logsource.as_deref().map(Provides::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            eprintln!("error: --logsource: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    // The same loading and checking as `detc check` (an invalid UUID, level or regex is
    // reported the same way); a rule with an error is reported and not evaluated.
    let load_opts = crate::pack::build::Options {
        inputs: args.rules.clone(),
        ..Default::default()
    };
    // The normalised conditions are not kept: the engine compiles its own.
    let crate::pack::build::Checked {
        rules,
        mut failed,
        diags: checked_diags,
        ..
    } = crate::pack::build::load_and_check(&load_opts, &mut sources);
    diags.extend(checked_diags.0);
    diags.extend(crate::pack::build::fail_dependent_correlations(
        &rules,
        &mut failed,
    ));
    let skipped = failed.iter().filter(|f| **f).count();
    let rules: Vec<crate::ir::Rule> = rules
        .into_iter()
        .zip(failed)
        .filter_map(|(r, failed)| (!failed).then_some(r))
        .collect();
    let opts = EngineOptions {
        declared,
        placeholders: None,
        threads: args.threads,
    };
    let format = match args.format {
        MatchFormat::Jsonl => OutFormat::Jsonl,
        MatchFormat::Table => OutFormat::Table,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (summary, ds) = run_match(&rules, &args.events, &opts, format, &mut out);
    let flushed = out.flush();
    drop(out);
    diags.extend(ds);
    if let Err(e) = flushed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            diags.push(Diagnostic::error(
                "output-error",
                format!("cannot write matches: {e}"),
            ));
        }
    }
    diags.sort(&sources);
    for d in diags.iter() {
        eprint!("{}", sources.render(d, false));
    }
    eprintln!(
        "detc match: {} rule(s){}, {} file(s), {} event(s): {} match(es) of {} rule(s), {} correlation match(es); {} unreadable record(s)",
        rules.len(),
        if skipped > 0 {
            format!(" ({skipped} skipped with errors)")
        } else {
            String::new()
        },
        summary.files,
        summary.events,
        summary.matches,
        summary.per_rule.len(),
        summary.correlation_matches,
        summary.bad_records,
    );
    // 2 for what stopped input being read at all (no event file, an unreadable file, a rule
    // file that is missing or too large), as in the other commands; 1 for rule errors and bad
    // records.
    if summary.files == 0
        || crate::pack::build::has_io_errors(&diags)
        || diags.0.iter().any(|d| d.code == "event-read-error")
    {
        ExitCode::from(2)
    } else if diags.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
