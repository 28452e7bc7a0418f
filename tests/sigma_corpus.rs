//! The whole SigmaHQ corpus (../shared/sigmahq/rules) through the reader and the writer:
//! every rule loads (or is on the allow-list below with the diagnostic code it must get), and
//! Sigma -> IR -> Sigma -> IR is the identity on the IR (spans cleared), with the writer's output
//! stable (writing the re-read rule gives the same bytes).

use std::path::{Path, PathBuf};

use detc::diag::SourceId;
use detc::sigma;

/// Files that must fail, with the diagnostic code they must fail with, and why that is right.
const EXPECTED_FAILURES: &[(&str, &str, &str)] = &[];

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    p.is_dir().then_some(p)
}

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_reads_and_round_trips() {
    let Some(root) = corpus() else {
        println!("note: ../shared/sigmahq/rules not found; corpus round-trip not run");
        return;
    };
    let mut files = Vec::new();
    yml_files(&root, &mut files);
    assert!(files.len() > 3000, "corpus has {} files", files.len());
    let mut problems = Vec::new();
    let mut rules_seen = 0;
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(path).expect("utf-8 rule file");
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (rules, diags) = sigma::read_named(SourceId(0), &text, &stem);
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        let expected = EXPECTED_FAILURES.iter().find(|(f, _, _)| *f == rel);
        match (expected, errors.is_empty()) {
            (None, false) => {
                problems.push(format!(
                    "{rel}: {:?}",
                    errors
                        .iter()
                        .map(|d| (d.code, &d.message))
                        .collect::<Vec<_>>()
                ));
                continue;
            }
            (Some((_, code, _)), _) => {
                if !errors.iter().any(|d| d.code == *code) {
                    problems.push(format!("{rel}: expected a `{code}` error, got {errors:?}"));
                }
                continue;
            }
            (None, true) => {}
        }
        if rules.is_empty() {
            problems.push(format!("{rel}: no rule read"));
        }
        for rule in rules {
            rules_seen += 1;
            let written = sigma::write(&rule);
            let (again, d2) = sigma::read_named(SourceId(1), &written, &rule.name);
            if d2.iter().any(|d| d.is_error()) || again.len() != 1 {
                problems.push(format!(
                    "{rel}: written rule does not read back: {d2:?}\n{written}"
                ));
                continue;
            }
            let mut a = rule.clone();
            let mut b = again[0].clone();
            sigma::clear_spans(&mut a);
            sigma::clear_spans(&mut b);
            if a != b {
                problems.push(format!(
                    "{rel}: IR changed by the round trip\n{a:#?}\n---\n{b:#?}\n{written}"
                ));
                continue;
            }
            let rewritten = sigma::write(&again[0]);
            if rewritten != written {
                problems.push(format!("{rel}: writer output not stable"));
            }
        }
    }
    if !problems.is_empty() {
        let shown: Vec<_> = problems.iter().take(5).collect();
        panic!(
            "{} problems; first ones:\n{}",
            problems.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
    assert!(rules_seen >= files.len() - EXPECTED_FAILURES.len());
}
