//! `detc fmt`: rewrite `.det` files in the canonical layout, or `--check` that they are.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{default_inputs, exit_code, Printer};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::pack::load::{collect_files, kind_of, read_source, Kind};

#[derive(Args, Debug)]
pub struct FmtArgs {
    #[command(flatten)]
    pub diag: super::DiagArgs,
    /// Files or folders. Default: rules
    pub paths: Vec<PathBuf>,
    /// Do not write; list files that are not formatted and exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(out: &Printer, a: FmtArgs) -> ExitCode {
    let mut diags = Diagnostics::new();
    let mut sources = Sources::new();
    let files = collect_files(&default_inputs(a.paths), &mut diags);
    let mut unformatted = Vec::new();
    for f in files.into_iter().filter(|f| kind_of(f) == Some(Kind::Dsl)) {
        let Some((id, true)) = read_source(&f, &mut sources, &mut diags) else {
            continue;
        };
        let text = sources.text(id).to_string();
        match crate::dsl::format(id, &text) {
            // The loader drops a byte-order mark; the canonical layout has none, so a file
            // with one is rewritten without it.
            Ok(formatted) if formatted != text || starts_with_bom(&f) => {
                if a.check {
                    unformatted.push(f);
                } else if let Err(e) = std::fs::write(&f, formatted) {
                    diags.push(Diagnostic::error("io", format!("cannot write: {e}")).in_file(&f));
                }
            }
            Ok(_) => {}
            Err(ds) => diags.extend(ds),
        }
    }
    out.diagnostics(&mut diags, &sources);
    for f in &unformatted {
        println!("not formatted: {}", f.display());
    }
    if !unformatted.is_empty() {
        out.summary(&format!("{} file(s) need `detc fmt`", unformatted.len()));
        return ExitCode::from(1);
    }
    exit_code(&diags)
}

/// Whether the file starts with a UTF-8 byte-order mark.
fn starts_with_bom(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 3];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == *b"\xEF\xBB\xBF"
}
