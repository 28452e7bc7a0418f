//! Every shipped rule rendered for every target, as insta snapshots in the top-level
//! `snapshots/` folder, so that a rule or target change shows up as a reviewable diff.
//! In CI (`CI=true`) insta fails on any unreviewed change instead of writing `.snap.new` files.

use std::collections::BTreeSet;
use std::path::PathBuf;

use detc::diag::Sources;
use detc::pack::build::{compile, load_and_check, select_backends, Options};
use detc::target::Outcome;

fn pack() -> (
    detc::pack::build::Checked,
    Vec<Box<dyn detc::target::Backend>>,
    Sources,
) {
    let opts = Options {
        inputs: vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")],
        ..Options::default()
    };
    let mut sources = Sources::new();
    let checked = load_and_check(&opts, &mut sources);
    assert!(
        !checked.diags.has_errors(),
        "shipped rules have errors: {:?}",
        checked.diags
    );
    let backends = select_backends(&opts).expect("built-in targets load");
    (checked, backends, sources)
}

fn snapshot_name(target: &str, rule: &str) -> String {
    format!("{target}__{rule}")
}

#[test]
fn every_shipped_rule_for_every_target() {
    let (checked, backends, _) = pack();
    let ctx = detc::target::Ctx {
        rules: &checked.rules,
        exprs: &checked.exprs,
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for b in &backends {
            for (i, rule) in checked.rules.iter().enumerate() {
                let rendered = match b.compile(i, &ctx) {
                    Outcome::Compiled(c) => {
                        let mut s = String::new();
                        if let Some(q) = &c.query {
                            s.push_str("--- query ---\n");
                            s.push_str(q);
                            s.push('\n');
                        }
                        for f in &c.files {
                            s.push_str(&format!("--- {} ---\n", f.path));
                            s.push_str(&f.contents);
                        }
                        s
                    }
                    // A skip is part of the reviewed output too (and listed in
                    // tests/shipped_skips.txt).
                    Outcome::Skipped(d) => format!("SKIPPED [{}]: {}\n", d.code, d.message),
                };
                insta::assert_snapshot!(snapshot_name(b.name(), &rule.name), rendered);
            }
        }
    });
}

#[test]
fn no_orphaned_snapshots() {
    let (checked, backends, _) = pack();
    let mut expected = BTreeSet::new();
    for b in &backends {
        for r in &checked.rules {
            expected.insert(format!("{}.snap", snapshot_name(b.name(), &r.name)));
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".snap") {
            assert!(
                expected.contains(&name),
                "snapshots/{name} belongs to no shipped rule or target: delete it"
            );
        }
    }
}

#[test]
fn builds_are_byte_for_byte_deterministic() {
    let (checked, backends, sources) = pack();
    let opts = Options::default();
    let a = compile(&checked, &backends, &sources, &opts);
    let (checked2, backends2, sources2) = pack();
    let b = compile(&checked2, &backends2, &sources2, &opts);
    assert_eq!(a.tree, b.tree);
}
