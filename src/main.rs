//! The `detc` binary: everything lives in the library; this only hands over to the CLI.

/// Matching allocates small strings per event; mimalloc is markedly faster at that than the
/// system allocator (docs/PERFORMANCE.md, "match").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    detc::cli::main()
}
