//! Benchmark: compile a whole rule corpus (default: ../shared/sigmahq/rules) to every target,
//! in-process, several times; then a single small rule as a whole `detc` process; and, when
//! `DETC_SIGMA_CLI` points at sigma-cli, `sigma convert` on the same corpus for comparison.
//!
//! Run: `cargo bench --bench compile_corpus` (set DETC_BENCH_CORPUS to use another folder,
//! DETC_BENCH_ITERS for the number of in-process iterations).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use detc::diag::Sources;
use detc::pack::build::{compile, load_and_check, select_backends, Options};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("DETC_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/sigmahq/rules"));
    let iters: usize = std::env::var("DETC_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let opts = Options {
        inputs: vec![corpus.clone()],
        keep_going: true,
        ..Options::default()
    };
    let backends = select_backends(&opts).expect("targets load");
    let mut load_times = Vec::new();
    let mut compile_times = Vec::new();
    let mut total_times = Vec::new();
    let mut summary = String::new();
    for _ in 0..iters {
        let t0 = Instant::now();
        let mut sources = Sources::new();
        let checked = load_and_check(&opts, &mut sources);
        let t1 = Instant::now();
        let out = compile(&checked, &backends, &sources, &opts);
        let t2 = Instant::now();
        load_times.push(t1 - t0);
        compile_times.push(t2 - t1);
        total_times.push(t2 - t0);
        summary = format!(
            "{} rules loaded, {} failed checks; {} target(s): {} compiled, {} skipped; {} files",
            checked.rules.len(),
            checked.failed.iter().filter(|f| **f).count(),
            backends.len(),
            out.compiled,
            out.skipped,
            out.tree.len()
        );
    }
    println!("corpus: {}", corpus.display());
    println!("{summary}");
    println!(
        "detc in-process, median of {iters}: load+check {:.1} ms, compile all targets {:.1} ms, total {:.1} ms; peak RSS {} MiB",
        median(load_times).as_secs_f64() * 1e3,
        median(compile_times).as_secs_f64() * 1e3,
        median(total_times.clone()).as_secs_f64() * 1e3,
        peak_rss_kib().unwrap_or(0) / 1024
    );

    // Whole process on the corpus, writing dist/ to a temporary folder.
    let exe = root.join("target/release/detc");
    if exe.exists() {
        let out = tempfile::tempdir().expect("tempdir");
        let t = Instant::now();
        let status = Command::new(&exe)
            .args(["build", "--keep-going", "--out"])
            .arg(out.path().join("dist"))
            .arg(&corpus)
            .env("CI", "1")
            .output()
            .expect("runs");
        println!(
            "detc build (whole process, every target, writing dist/): {:.0} ms (exit {:?})",
            t.elapsed().as_secs_f64() * 1e3,
            status.status.code()
        );
        let small = root.join("rules");
        if small.exists() {
            let mut times = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let _ = Command::new(&exe)
                    .args(["check", "--target", "sigma"])
                    .arg(&small)
                    .output();
                times.push(t.elapsed());
            }
            println!(
                "detc check on the shipped rules (whole process), median of 20: {:.1} ms",
                median(times).as_secs_f64() * 1e3
            );
        }
    } else {
        println!("(build target/release/detc for the whole-process figures)");
    }

    if let Some(sigma) = std::env::var_os("DETC_SIGMA_CLI") {
        for (target, pipeline) in [("splunk", None), ("kusto", Some("microsoft_xdr"))] {
            let mut cmd = Command::new(&sigma);
            cmd.args([
                "convert",
                "-t",
                target,
                "--skip-unsupported",
                "-o",
                "/dev/null",
            ]);
            if let Some(p) = pipeline {
                cmd.args(["-p", p]);
            } else {
                cmd.arg("--without-pipeline");
            }
            cmd.arg(&corpus);
            let t = Instant::now();
            let out = cmd.output().expect("sigma runs");
            println!(
                "sigma convert -t {target}{}: {:.0} ms (exit {:?})",
                pipeline.map(|p| format!(" -p {p}")).unwrap_or_default(),
                t.elapsed().as_secs_f64() * 1e3,
                out.status.code()
            );
        }
    }
}
