//! `detc lsp`: the language server, over stdin/stdout (see docs/EDITORS.md).

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub struct LspArgs {
    /// Accepted for editors that pass it (VS Code's client does); stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_a: LspArgs) -> ExitCode {
    match crate::lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error[io]: {e}");
            ExitCode::from(2)
        }
    }
}
