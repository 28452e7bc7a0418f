//! The command line: argument parsing (clap derive) and printing. Each subcommand is a thin
//! wrapper over the library; exit codes: 0 success, 1 rule errors, 2 usage or I/O errors.

mod build;
mod convert;
mod debug;
mod diff;
mod fmt;
mod lsp;
pub mod match_cmd;
mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::{Diagnostics, Sources};

#[derive(Parser, Debug)]
#[command(
    name = "detc",
    version,
    about = "A detection-rule compiler: one readable rule language to Sigma, Splunk SPL and Kusto (KQL)."
)]
pub struct Cli {
    /// Colour diagnostics: auto (on a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    #[command(subcommand)]
    pub command: Command,
}

/// `--format` for the commands that print diagnostics.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct DiagArgs {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style text on stderr.
    Text,
    /// One JSON object per diagnostic on stdout (for CI annotations).
    Json,
    /// One SARIF 2.1.0 log on stdout (GitHub code scanning, GitLab, IDEs).
    Sarif,
    /// GitHub Actions workflow commands on stdout (`::error file=...,line=...::message`).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile rules into every target under an output folder (default: rules -> dist).
    Build(build::BuildArgs),
    /// Parse and check rules (and that every target can compile them); writes nothing.
    Check(build::CheckArgs),
    /// Run the examples written next to each rule.
    Test(test::TestArgs),
    /// Format `.det` files in the canonical layout.
    Fmt(fmt::FmtArgs),
    /// Convert rules between Sigma YAML and the rule language.
    Convert(convert::ConvertArgs),
    /// Run rules over JSON / EVTX events and print the matches.
    Match(match_cmd::MatchArgs),
    /// Show what a change does to the deployed queries: two packs, or `--git REV1..REV2`.
    Diff(diff::DiffArgs),
    /// Serve the Language Server Protocol over stdio, for editors (docs/EDITORS.md).
    Lsp(lsp::LspArgs),
    #[command(hide = true)]
    Debug(debug::DebugArgs),
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = |d: DiagArgs| Printer::new(d.format, cli.color);
    match cli.command {
        Command::Build(a) => build::run_build(&out(a.diag), a),
        Command::Check(a) => build::run_check(&out(a.diag), a),
        Command::Test(a) => test::run(&out(a.diag), a),
        Command::Fmt(a) => fmt::run(&out(a.diag), a),
        Command::Convert(a) => convert::run(&out(a.diag), a),
        Command::Match(a) => match_cmd::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Lsp(a) => lsp::run(a),
        Command::Debug(a) => debug::run(a),
    }
}

/// Prints diagnostics and summaries in the chosen format.
pub struct Printer {
    pub format: Format,
    color: bool,
}

impl Printer {
    pub fn new(format: Format, color: Color) -> Printer {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Printer { format, color }
    }

    pub fn diagnostics(&self, diags: &mut Diagnostics, sources: &Sources) {
        use rayon::prelude::*;
        use std::io::Write;
        diags.sort(sources);
        if self.format == Format::Sarif {
            let doc = crate::report::sarif::sarif(&diags.0, sources);
            let mut text = serde_json::to_string_pretty(&doc).expect("serialisable");
            text.push('\n');
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            return;
        }
        // A whole corpus can give thousands of warnings: render them in parallel, write them
        // in order through one buffered, locked stream.
        let rendered: Vec<String> = diags
            .0
            .par_iter()
            .map(|d| match self.format {
                Format::Text => sources.render(d, self.color),
                Format::Json => {
                    let mut line =
                        serde_json::to_string(&sources.to_json(d)).expect("serialisable");
                    line.push('\n');
                    line
                }
                Format::Github => crate::report::github::command(d, sources),
                Format::Sarif => unreachable!("written whole above"),
            })
            .collect();
        let mut out: Box<dyn Write> = match self.format {
            Format::Text => Box::new(std::io::BufWriter::new(std::io::stderr().lock())),
            Format::Json | Format::Github | Format::Sarif => {
                Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
            }
        };
        for r in rendered {
            // A closed pipe (`detc check | head`) is not an error worth a panic.
            if out.write_all(r.as_bytes()).is_err() {
                return;
            }
        }
        let _ = out.flush();
    }

    /// A one-line summary on stderr (never on stdout, which may carry JSON).
    pub fn summary(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// Exit code for a finished run: 2 for usage/I/O errors, 1 for rule errors, else 0.
pub fn exit_code(diags: &Diagnostics) -> ExitCode {
    if crate::pack::build::has_io_errors(diags) {
        ExitCode::from(2)
    } else if diags.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Default input when no paths are given.
pub fn default_inputs(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("rules")]
    } else {
        paths
    }
}

/// Progress bars only on an interactive terminal, never in CI.
pub fn show_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
