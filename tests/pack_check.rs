//! `detc check` compiles without assembling a pack (`check_compile`); it must report exactly
//! the diagnostics a build reports (`compile`), in the same order, with and without `--strict`,
//! on the shipped rules and on a large slice of the SigmaHQ corpus.

use std::path::PathBuf;

use detc::diag::Sources;
use detc::pack::build::{check_compile, compile, load_and_check, select_backends, Options};

fn same_diagnostics(inputs: Vec<PathBuf>, strict: bool) -> usize {
    let opts = Options {
        inputs,
        strict,
        keep_going: true,
        ..Options::default()
    };
    let backends = select_backends(&opts).expect("targets load");
    let mut sources = Sources::new();
    let checked = load_and_check(&opts, &mut sources);
    let built: Vec<String> = compile(&checked, &backends, &sources, &opts)
        .diags
        .iter()
        .map(|d| format!("{d:?}"))
        .collect();
    let checked_only: Vec<String> = check_compile(&checked, &backends, &opts)
        .iter()
        .map(|d| format!("{d:?}"))
        .collect();
    assert_eq!(built, checked_only, "strict={strict}");
    built.len()
}

#[test]
fn check_reports_what_build_reports() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shipped = vec![root.join("rules")];
    same_diagnostics(shipped.clone(), false);
    same_diagnostics(shipped, true);
    let corpus = root.join("../shared/sigmahq/rules");
    let slice = vec![
        corpus.join("windows/registry"),
        corpus.join("windows/builtin"),
        corpus.join("windows/file"),
        corpus.join("windows/network_connection"),
        corpus.join("cloud"),
        corpus.join("network"),
        corpus.join("web"),
    ];
    // The slice has rules some targets skip (47 diagnostics at 99% KQL coverage), so the
    // comparison covers skips, not only the empty list.
    assert!(same_diagnostics(slice.clone(), false) > 40);
    assert!(same_diagnostics(slice, true) > 40);
}
