//! Snapshots of every sample rule rendered for every spec target (query text and artifacts),
//! reviewed like code: a change in generated queries shows up as a snapshot diff.

#[path = "target_util.rs"]
mod util;

use detc::target::{Backend, Compiled, Ctx, Outcome};
use util::*;

const SAMPLES: &str = include_str!("target_samples.det");

#[test]
fn every_sample_rule_for_every_target() {
    let (rules, exprs) = pack(SAMPLES);
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    // The SQL targets too (util::TARGETS is the SPL/KQL set other tests iterate).
    for t in TARGETS.iter().chain(&["sql-duckdb", "sql-spark"]) {
        let b = target(t);
        let mut out = String::new();
        let mut compiled = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            out.push_str(&format!("## {}\n", r.name));
            match b.compile(i, &cx) {
                Outcome::Compiled(c) => {
                    out.push_str(c.query.as_deref().unwrap_or(""));
                    out.push('\n');
                    for f in &c.files {
                        out.push_str(&format!("--- {}\n{}", f.path, f.contents));
                    }
                    compiled.push((r, c));
                }
                Outcome::Skipped(d) => {
                    out.push_str(&format!("SKIPPED [{}]: {}\n", d.code, d.message))
                }
            }
            out.push('\n');
        }
        let refs: Vec<(&detc::ir::Rule, &Compiled)> =
            compiled.iter().map(|(r, c)| (*r, c)).collect();
        for f in b.finish(&refs).unwrap() {
            out.push_str(&format!("--- {}\n{}", f.path, f.contents));
        }
        insta::assert_snapshot!(format!("target_{t}"), out);
    }
}
