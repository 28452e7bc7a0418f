//! Benchmark: compile a whole rule corpus (default: ../shared/sigmahq/rules) to every target,
//! in-process, several times; then whole `detc` processes (the corpus with peak RSS, one small
//! rule, the shipped rules), each figure with the load average; and, when `DETC_SIGMA_CLI`
//! points at sigma-cli, `sigma convert` on the same corpus for comparison.
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

/// Run `detc args` (progress bars off, output discarded); wall time, and with `rss` peak RSS in
/// KiB when GNU time is there to report it (its own start-up then counts in the wall time).
fn run_timed(exe: &std::path::Path, args: &[&str], rss: bool) -> (Duration, Option<u64>) {
    let gnu_time = std::path::Path::new("/usr/bin/time");
    let rss_file = tempfile::NamedTempFile::new().expect("tempfile");
    let mut cmd = if rss && gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.args(["-f", "%M", "-o"]).arg(rss_file.path()).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args).env("CI", "1");
    let t = Instant::now();
    let _ = cmd.output().expect("detc runs");
    let wall = t.elapsed();
    let rss = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|s| s.trim().parse().ok());
    (wall, rss)
}

/// The 1-minute load average, to read timings on a shared machine against.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
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

    // Whole processes: the binary cargo built for this bench (release settings).
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_detc"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let dist = tmp.path().join("dist");
    let corpus_arg = corpus.to_string_lossy().into_owned();
    let dist_arg = dist.to_string_lossy().into_owned();
    for args in [
        vec!["check", &corpus_arg],
        vec!["build", "--keep-going", "--out", &dist_arg, &corpus_arg],
    ] {
        let (wall, rss) = run_timed(&exe, &args, true);
        println!(
            "detc {} (whole process, every target): {:.0} ms, peak RSS {}; load {}",
            args[0],
            wall.as_secs_f64() * 1e3,
            rss.map(|k| format!("{} MiB", k / 1024))
                .unwrap_or_else(|| "n/a".into()),
            loadavg()
        );
    }
    let small = root.join("rules/wannacry_smb/wannacry_smb_service_install.det");
    let shipped = root.join("rules");
    let small_arg = small.to_string_lossy().into_owned();
    let shipped_arg = shipped.to_string_lossy().into_owned();
    for (what, runs, args) in [
        (
            "one small rule, check, every target",
            30,
            vec!["check", &small_arg],
        ),
        (
            "one small rule, build, every target",
            30,
            vec!["build", "--out", &dist_arg, &small_arg],
        ),
        (
            "one small rule, check, --target splunk",
            30,
            vec!["check", "--target", "splunk", &small_arg],
        ),
        (
            "the shipped rules, build, every target",
            10,
            vec!["build", "--out", &dist_arg, &shipped_arg],
        ),
    ] {
        let times: Vec<Duration> = (0..runs).map(|_| run_timed(&exe, &args, false).0).collect();
        let min = *times.iter().min().expect("ran");
        println!(
            "detc {what} (whole process), median of {runs}: {:.1} ms (min {:.1} ms); load {}",
            median(times).as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            loadavg()
        );
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
                "sigma convert -t {target}{}: {:.0} ms (exit {:?}); load {}",
                pipeline.map(|p| format!(" -p {p}")).unwrap_or_default(),
                t.elapsed().as_secs_f64() * 1e3,
                out.status.code(),
                loadavg()
            );
        }
    }
}
