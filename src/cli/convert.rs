//! `detc convert`: Sigma to the rule language (the migration path) and back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{exit_code, Printer};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::ir::Rule;
use crate::pack::load::collect_files;
use crate::pack::write::{check_replaceable, write_atomic, Owner, Tree};

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
    /// Output folder; the input tree is mirrored under it, one file per rule, with a
    /// `manifest.json` of what was written. It must not exist, be empty, or be an earlier
    /// `convert --out` whose files are unchanged (an edited one is never replaced). Without it,
    /// a single input file is printed to stdout.
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
    // Rules with errors are reported and not converted (like every command, convert never
    // acts on the part of a broken rule it could read).
    let checked = crate::pack::build::load_and_check(
        &crate::pack::build::Options {
            inputs: a.paths.clone(),
            ..Default::default()
        },
        &mut sources,
    );
    let (rules, mut diags) = checked.into_good_rules();
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
            // A reader that stops early (`| head`) closes the pipe: not worth a panic.
            let mut stdout = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut stdout, texts.join(sep).as_bytes());
            let _ = std::io::Write::flush(&mut stdout);
            out.diagnostics(&mut diags, &sources);
            exit_code(&diags)
        }
        Some(dir) => {
            // Like `build`: a folder is written whole or not at all.
            if diags.has_errors() {
                out.diagnostics(&mut diags, &sources);
                out.summary(&format!(
                    "convert failed: {} error(s), nothing written to {}",
                    diags.error_count(),
                    dir.display()
                ));
                return exit_code(&diags);
            }
            if let Err(e) = check_replaceable(dir, Owner::Convert) {
                diags.push(super::build::write_error(&e, dir));
                out.diagnostics(&mut diags, &sources);
                return ExitCode::from(2);
            }
            let mut tree = Tree::new();
            for r in &rules {
                let rel = relative_dir(sources.path(r.source()), &a.paths);
                let path = rel.join(format!("{}.{}", r.name, extension(a.to)));
                let key = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                if key == "manifest.json" || tree.insert(key.clone(), render(r, a.to)).is_some() {
                    diags.push(
                        Diagnostic::error("duplicate-name", format!("two rules convert to {key}"))
                            .at(r.loc),
                    );
                }
            }
            let converted = tree.len();
            tree.insert("manifest.json".into(), convert_manifest(&tree, a.to));
            if let Err(e) = write_atomic(dir, &tree, Owner::Convert) {
                diags.push(super::build::write_error(&e, dir));
                out.diagnostics(&mut diags, &sources);
                return ExitCode::from(2);
            }
            out.diagnostics(&mut diags, &sources);
            out.summary(&format!(
                "converted {converted} rule(s) into {}",
                dir.display()
            ));
            exit_code(&diags)
        }
    }
}

/// `manifest.json` of a `convert --out` folder: which files detc wrote, with their sha256, so a
/// later convert replaces the folder only while none of them was edited.
fn convert_manifest(tree: &Tree, to: To) -> String {
    let files: serde_json::Map<String, serde_json::Value> = tree
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                crate::pack::manifest::sha256_hex(v.as_bytes()).into(),
            )
        })
        .collect();
    let m = serde_json::json!({
        "detc_version": env!("CARGO_PKG_VERSION"),
        "to": match to { To::Dsl => "dsl", To::Sigma => "sigma" },
        "converted": files,
    });
    let mut s = serde_json::to_string_pretty(&m).expect("serialisable");
    s.push('\n');
    s
}
