//! Benchmark: where a small run spends its time, phase by phase, in-process (median of many
//! iterations, so the figures hold on a busy machine better than whole-process timings).
//!
//! Phases: loading each built-in target (spec YAML, table schemas, templates), loading and
//! checking one small rule, compiling it for each target. A whole `detc` process for that rule
//! adds process start-up (dynamic loading, page faults) and the `dist/` write to these.
//!
//! Run: `cargo bench --bench startup` (DETC_BENCH_RULE names another rule file,
//! DETC_BENCH_ITERS the number of iterations).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use detc::diag::Sources;
use detc::pack::build::{compile, load_and_check, select_backends, Options};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<T>(iters: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rule = std::env::var_os("DETC_BENCH_RULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("rules/wannacry_smb/wannacry_smb_service_install.det"));
    let iters: usize = std::env::var("DETC_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    println!("rule: {}", rule.display());
    let all = Options {
        inputs: vec![rule.clone()],
        ..Options::default()
    };
    let names: Vec<String> = select_backends(&all)
        .expect("targets load")
        .iter()
        .map(|b| b.name().to_string())
        .collect();
    for name in &names {
        let opts = Options {
            targets: vec![name.clone()],
            ..all.clone()
        };
        let load = time(iters, || select_backends(&opts).expect("loads"));
        let backends = select_backends(&opts).expect("loads");
        let mut sources = Sources::new();
        let checked = load_and_check(&opts, &mut sources);
        let comp = time(iters, || compile(&checked, &backends, &sources, &opts));
        println!(
            "target {name:<14} load {:>10}  compile {:>10}",
            ms(load),
            ms(comp)
        );
    }
    // What loading a target is made of.
    for name in names.iter().filter(|n| *n != "sigma") {
        let dir = root.join("targets").join(name);
        let text = std::fs::read_to_string(dir.join("target.yaml")).expect("reads");
        let spec = time(iters, || {
            serde_yaml::from_str::<detc::target::spec::Spec>(&text).expect("parses")
        });
        let parsed: detc::target::spec::Spec = serde_yaml::from_str(&text).expect("parses");
        let schema = parsed.schema_file.as_ref().map(|f| {
            let t = std::fs::read_to_string(dir.join(f)).expect("reads");
            time(iters, || {
                serde_yaml::from_str::<
                    std::collections::BTreeMap<String, detc::target::render::Table>,
                >(&t)
                .expect("parses")
            })
        });
        let res = time(iters, || {
            parsed
                .dialects
                .iter()
                .map(|d| regex::Regex::new(&format!("^(?:{})$", d.field.bare)).expect("compiles"))
                .collect::<Vec<_>>()
        });
        // What the same spec would cost parsed from JSON (a build-time conversion).
        let json = serde_yaml::from_str::<serde_json::Value>(&text)
            .ok()
            .map(|v| v.to_string());
        let spec_json = json
            .filter(|j| serde_json::from_str::<detc::target::spec::Spec>(j).is_ok())
            .map(|j| {
                time(iters, || {
                    serde_json::from_str::<detc::target::spec::Spec>(&j).expect("parses")
                })
            });
        let whole = time(iters, || {
            detc::target::load_spec_target(name, None).expect("loads")
        });
        println!(
            "  {name:<14} whole {:>10}: target.yaml {:>10} (as JSON {:>10}), schema {:>10}, field regexes {:>10}",
            ms(whole),
            ms(spec),
            spec_json.map(ms).unwrap_or_else(|| "n/a".into()),
            schema.map(ms).unwrap_or_default(),
            ms(res)
        );
    }
    let load_all = time(iters, || select_backends(&all).expect("loads"));
    let check = time(iters, || {
        let mut sources = Sources::new();
        load_and_check(&all, &mut sources)
    });
    let backends = select_backends(&all).expect("loads");
    let mut sources = Sources::new();
    let checked = load_and_check(&all, &mut sources);
    let comp = time(iters, || compile(&checked, &backends, &sources, &all));
    println!(
        "all targets: load {}, read+check the rule {}, compile {}; median of {iters}",
        ms(load_all),
        ms(check),
        ms(comp)
    );
}
