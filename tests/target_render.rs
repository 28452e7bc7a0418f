//! Query rendering for the spec targets: semantics per construct, skips with reasons.

#[path = "target_util.rs"]
mod util;
use util::*;

fn q(target: &str, body: &str) -> String {
    query(target, PROC, body).unwrap_or_else(|e| panic!("{target}: {e}"))
}

#[test]
fn prints_examples() {
    let body = r#"  net = Image endswith "\net.exe", "\net1.exe"
  add = CommandLine contains all "localgroup", "/add"
  f = ParentImage null
  condition net and add and not f"#;
    for t in TARGETS {
        println!("{t}: {:?}", query(t, PROC, body));
    }
}
