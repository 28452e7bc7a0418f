//! The reference tools accept what the writer produces: `sigma check` (pySigma) reports zero
//! errors and zero issues on written rules. Runs when `DETC_SIGMA_CLI` names the `sigma`
//! executable (the CI script sets it); otherwise prints a note and passes.

#[path = "common/skip.rs"]
mod skip;

use std::process::Command;

use detc::diag::SourceId;
use detc::sigma;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/sigma/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(p).expect("fixture")
}

#[test]
fn sigma_check_accepts_written_rules() {
    let Some(cli) = std::env::var_os("DETC_SIGMA_CLI") else {
        skip::skipped(
            "the `sigma check` suite (sigma-cli validates the emitted Sigma)",
            "DETC_SIGMA_CLI is not set",
            "set DETC_SIGMA_CLI to the `sigma` program of sigma-cli",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One file per detection rule, and the correlation file as one multi-document file (its
    // rules refer to each other by name).
    let (rules, diags) = sigma::read_named(SourceId(0), &fixture("filter_target.yml"), "a");
    assert!(diags.is_empty());
    std::fs::write(
        dir.path().join("rar_compression.yml"),
        sigma::write(&rules[0]),
    )
    .unwrap();
    let (rules, diags) = sigma::read_named(SourceId(0), &fixture("correlation.yml"), "b");
    assert!(diags.is_empty());
    // The fifth document uses a range condition (`gt` and `lte`), which the specification
    // allows but pySigma rejects ("exactly one condition item"); leave it out here.
    let multi: Vec<String> = rules[..4].iter().map(sigma::write).collect();
    std::fs::write(dir.path().join("mr_failed_logins.yml"), multi.join("---\n")).unwrap();
    let tricky = "title: 'Tricky: \"values\" survive'
id: 0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b
status: test
description: Quotes ' and \" and backslashes \\ and a newline
author: detc
date: 2024-01-01
tags:
    - attack.execution
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|contains:
            - 'it''s'
            - 'a: b'
            - '%TEMP%\\x'
            - 'é🎉'
        Image|endswith: '\\cmd.exe'
    filter_main_null:
        ParentImage: null
    condition: selection and not 1 of filter_main_*
falsepositives:
    - Unknown
level: medium
x-detc-tests:
    -   expect: hit
        event:
            CommandLine: 'it''s'
            Image: 'C:\\Windows\\System32\\cmd.exe'
";
    let (rules, diags) = sigma::read(SourceId(0), tricky);
    assert!(diags.is_empty(), "{diags:?}");
    std::fs::write(
        dir.path().join("tricky_values.yml"),
        sigma::write(&rules[0]),
    )
    .unwrap();

    let out = Command::new(cli)
        .args(["check", "-i", "-x", "attacktag", "-x", "d3_fendtag"])
        .arg(dir.path())
        .output()
        .expect("run sigma check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("Found 0 errors, 0 condition errors and 0 issues"),
        "sigma check failed:\n{stdout}\n{stderr}"
    );
}

/// The whole SigmaHQ corpus, read and written by detc, parses in pySigma without a single rule
/// or condition error. (`sigma check` still reports the 66 content issues the original rules
/// have, such as escaped wildcards, so issues are not asserted here.)
#[test]
fn sigma_check_parses_the_written_corpus() {
    let Some(cli) = std::env::var_os("DETC_SIGMA_CLI") else {
        skip::skipped(
            "the `sigma check` suite (sigma-cli validates the emitted Sigma)",
            "DETC_SIGMA_CLI is not set",
            "set DETC_SIGMA_CLI to the `sigma` program of sigma-cli",
        );
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    if !root.is_dir() {
        println!("note: ../shared/sigmahq/rules not found; not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut stack = vec![root];
    let mut written = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let stem = p.file_stem().unwrap().to_string_lossy().to_string();
                let (rules, _) = sigma::read_named(SourceId(0), &text, &stem);
                for r in rules {
                    std::fs::write(dir.path().join(format!("{}.yml", r.name)), sigma::write(&r))
                        .unwrap();
                    written += 1;
                }
            }
        }
    }
    assert!(written > 3000);
    let out = Command::new(cli)
        .args(["check", "-x", "attacktag", "-x", "d3_fendtag"])
        .arg(dir.path())
        .output()
        .expect("run sigma check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Found 0 errors, 0 condition errors"),
        "{}",
        stdout.lines().take(40).collect::<Vec<_>>().join("\n")
    );
}
