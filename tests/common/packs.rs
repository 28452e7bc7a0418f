//! The rule packs the whole-pack target tests read (the shipped `rules/` and the SigmaHQ
//! corpus) and compiling a pack for spec targets (included with
//! `#[path = "common/packs.rs"] pub mod packs;` in tests/target_util.rs, so
//! the target tests reach it as `util::packs`; it uses that file's `skip` module).
#![allow(dead_code)]

use super::skip;

use std::path::{Path, PathBuf};

use detc::diag::SourceId;
use detc::ir::norm::{normalize, Expr, NormOptions};
use detc::ir::Rule;
use detc::target::{load_spec_target, Backend, Ctx, Outcome};

/// Every file under `dir` (recursively, in name order) whose extension is `ext`; nothing when
/// `dir` does not exist.
pub fn files_with_ext(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out
}

/// The shipped rule pack (`rules/**/*.det`).
pub fn shipped() -> Vec<Rule> {
    let paths = files_with_ext(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"), "det");
    let mut rules = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        rules.extend(detc::dsl::parse(SourceId(i as u32), &text).0);
    }
    rules
}

/// The SigmaHQ corpus's rules, each named after its file (`../shared/sigmahq/rules`, else
/// `/work/shared/sigmahq/rules`), or `None` (and a note) when neither is there.
pub fn sigmahq() -> Option<Vec<Rule>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    let root = if root.is_dir() {
        root
    } else {
        PathBuf::from("/work/shared/sigmahq/rules")
    };
    let paths = files_with_ext(&root, "yml");
    if paths.is_empty() {
        skip::skipped(
            "the SigmaHQ corpus tests",
            "../shared/sigmahq not found",
            "put the SigmaHQ corpus at ../shared/sigmahq",
        );
        return None;
    }
    let mut rules = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        let stem = p.file_stem().unwrap().to_string_lossy();
        rules.extend(detc::sigma::read_named(SourceId(i as u32), &text, &stem).0);
    }
    Some(rules)
}

/// Each rule's normalised condition (`None` where it does not normalise).
pub fn normalized(rules: &[Rule]) -> Vec<Option<Expr>> {
    rules
        .iter()
        .map(|r| normalize(r, NormOptions::default()).ok())
        .collect()
}

/// Compile every rule of `rules` for the spec target `target`: each rule with its outcome, in
/// rule order.
pub fn compile_all<'r>(rules: &'r [Rule], target: &str) -> Vec<(&'r Rule, Outcome)> {
    let exprs = normalized(rules);
    let cx = Ctx {
        rules,
        exprs: &exprs,
    };
    let b = load_spec_target(target, None).unwrap_or_else(|d| panic!("{target}: {d:?}"));
    (0..rules.len())
        .map(|i| (&rules[i], b.compile(i, &cx)))
        .collect()
}
