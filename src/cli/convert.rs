//! `detc convert`: Sigma to the rule language (the migration path) and back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{exit_code, Printer};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::ir::Rule;
use crate::pack::load::{collect_files, load_rules};
use crate::pack::write::{write_into, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum To {
    /// The rule language (`.det`), formatted as `detc fmt` formats.
    Dsl,
    /// Sigma YAML.
    Sigma,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// What to convert to.
    #[arg(long)]
    pub to: To,
    /// Rule files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output folder; the input tree is mirrored under it, one file per rule. Without it, a
    /// single input file is printed to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn render(rule: &Rule, to: To) -> String {
    match to {
        To::Dsl => crate::dsl::to_dsl(rule),
        To::Sigma => crate::sigma::write(rule),
    }
}

fn extension(to: To) -> &'static str {
    match to {
        To::Dsl => "det",
        To::Sigma => "yml",
    }
}

/// Where a rule's converted file goes: its source file's folder relative to the input path it
/// was found under, then the rule name.
fn relative_dir(source: &Path, inputs: &[PathBuf]) -> PathBuf {
    for input in inputs {
        if let Ok(rest) = source.strip_prefix(input) {
            return rest.parent().map(Path::to_path_buf).unwrap_or_default();
        }
    }
    PathBuf::new()
}

pub fn run(out: &Printer, a: ConvertArgs) -> ExitCode {
    let mut sources = Sources::new();
    let (rules, mut diags) = load_rules(&a.paths, &mut sources);
    match &a.out {
        None => {
            let mut probe = Diagnostics::new();
            let files = collect_files(&a.paths, &mut probe);
            if files.len() != 1 {
                diags.push(
                    Diagnostic::error("usage", "several input files need an output folder")
                        .expected("--out DIR, or a single input file"),
                );
                out.diagnostics(&mut diags, &sources);
                return ExitCode::from(2);
            }
            let texts: Vec<String> = rules.iter().map(|r| render(r, a.to)).collect();
            let sep = match a.to {
                To::Dsl => "\n",
                To::Sigma => "---\n",
            };
            print!("{}", texts.join(sep));
            out.diagnostics(&mut diags, &sources);
            exit_code(&diags)
        }
        Some(dir) => {
            let mut tree = Tree::new();
            for r in &rules {
                let rel = relative_dir(sources.path(r.source()), &a.paths);
                let path = rel.join(format!("{}.{}", r.name, extension(a.to)));
                let key = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                if tree.insert(key.clone(), render(r, a.to)).is_some() {
                    diags.push(
                        Diagnostic::error("duplicate-name", format!("two rules convert to {key}"))
                            .at(r.loc),
                    );
                }
            }
            if let Err(e) = write_into(dir, &tree) {
                diags.push(Diagnostic::error("io", format!("cannot write: {e}")).in_file(dir));
            }
            out.diagnostics(&mut diags, &sources);
            out.summary(&format!(
                "converted {} rule(s) into {}",
                tree.len(),
                dir.display()
            ));
            exit_code(&diags)
        }
    }
}
