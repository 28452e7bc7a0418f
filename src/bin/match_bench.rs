//! Match benchmark and SigmaHQ regression report.
//!
//! `cargo run --release --bin match_bench -- --rules DIR... --events DIR... [--regression DIR]
//! [--repeat N] [--end-to-end] [--threads N] [--profile-rules]`: loads the rules, compiles the engine, reads every
//! event file into memory once, then matches all events `N` times on one thread and prints
//! events per second, matches, and peak RSS (VmHWM from /proc). With `--end-to-end`, instead
//! runs what `detc match` runs (read, parse, match on `--threads` threads, format the output
//! into a sink) and prints wall time and the process's user and system CPU time, which on a
//! shared machine say more than wall time. With `--regression`, also runs the SigmaHQ
//! regression check and prints how many cases fire their rule and how many other rules fire.

use std::path::PathBuf;
use std::time::Instant;

use detc::diag::Sources;
use detc::eval::engine::{Engine, EngineOptions};
use detc::eval::read::{collect_files, read_file};
use detc::eval::regression;
use detc::eval::run::{run_match, OutFormat};

/// The same allocator as the `detc` binary, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// User and system CPU seconds of this process so far (/proc/self/stat, USER_HZ = 100).
fn cpu_secs() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = f.get(11)?.parse().ok()?;
    let sys: f64 = f.get(12)?.parse().ok()?;
    Some((user / 100.0, sys / 100.0))
}

/// CPU seconds (user + system) of the calling thread so far (/proc/thread-self/stat).
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = f.get(11)?.parse().ok()?;
    let sys: f64 = f.get(12)?.parse().ok()?;
    Some((user + sys) / 100.0)
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let mut rules_paths = Vec::new();
    let mut event_paths = Vec::new();
    let mut regression_dir: Option<PathBuf> = None;
    let mut repeat = 1usize;
    let mut end_to_end = false;
    let mut profile_rules = false;
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    let mut mode = "";
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => mode = "rules",
            "--events" => mode = "events",
            "--regression" => regression_dir = args.next().map(PathBuf::from),
            "--repeat" => repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--end-to-end" => end_to_end = true,
            "--profile-rules" => profile_rules = true,
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            other => match mode {
                "rules" => rules_paths.push(PathBuf::from(other)),
                "events" => event_paths.push(PathBuf::from(other)),
                _ => {
                    eprintln!("usage: match_bench --rules DIR... --events DIR... [--regression DIR] [--repeat N] [--end-to-end] [--threads N]");
                    std::process::exit(2);
                }
            },
        }
    }
    let t0 = Instant::now();
    let mut sources = Sources::new();
    let (rules, diags) = detc::pack::load::load_rules(&rules_paths, &mut sources);
    let load = t0.elapsed();
    let t1 = Instant::now();
    let (engine, cdiags) = Engine::new(&rules, &EngineOptions::default());
    let compile = t1.elapsed();
    println!(
        "rules: {} loaded ({} load errors/warnings), {} compiled ({} compile diagnostics), {} with a literal prefilter; load {:.2}s, compile {:.2}s",
        rules.len(),
        diags.0.len(),
        engine.rules.len(),
        cdiags.len(),
        engine.gated_count(),
        load.as_secs_f64(),
        compile.as_secs_f64()
    );
    if end_to_end {
        let opts = EngineOptions {
            threads,
            ..EngineOptions::default()
        };
        let cpu0 = cpu_secs().unwrap_or_default();
        let t = Instant::now();
        let (summary, diags) = run_match(
            &rules,
            &event_paths,
            &opts,
            OutFormat::Jsonl,
            &mut std::io::BufWriter::new(std::io::sink()),
        );
        let wall = t.elapsed().as_secs_f64();
        let cpu1 = cpu_secs().unwrap_or_default();
        let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
        println!(
            "end to end ({} threads): {} events from {} files, {} matches, {} diagnostics; wall {wall:.2}s = {:.0} events/s; CPU user {user:.2}s + sys {sys:.2}s = {:.0} events per CPU-second",
            if threads == 0 { "auto".to_string() } else { threads.to_string() },
            summary.events,
            summary.files,
            summary.matches,
            diags.len(),
            summary.events as f64 / wall.max(1e-9),
            summary.events as f64 / (user + sys).max(1e-9),
        );
        if let Some(rss) = peak_rss_mib() {
            println!("peak RSS: {rss:.1} MiB");
        }
        return;
    }
    let (files, _) = collect_files(&event_paths);
    let t2 = Instant::now();
    let mut events = Vec::new();
    let mut bad = 0;
    for f in &files {
        bad += read_file(f, &mut |r| {
            let mut ev = r.event;
            engine.prepare(&mut ev);
            events.push(ev);
        })
        .len();
    }
    let read = t2.elapsed();
    println!(
        "events: {} from {} files ({} bad records), read+flatten+classify {:.2}s ({:.0} events/s)",
        events.len(),
        files.len(),
        bad,
        read.as_secs_f64(),
        events.len() as f64 / read.as_secs_f64().max(1e-9)
    );
    let mut scratch = engine.scratch();
    let mut hits = Vec::new();
    let mut matches = 0usize;
    // One untimed pass builds the per-class prefilters (built on first sight of a class).
    let tw = Instant::now();
    for ev in &events {
        let class = engine.logsources.classify(ev);
        engine.matches(ev, &class, &mut scratch, &mut hits);
    }
    println!(
        "warm-up pass (builds the prefilters of the classes seen): {:.2}s",
        tw.elapsed().as_secs_f64()
    );
    scratch = engine.scratch();
    if profile_rules {
        scratch.rule_time = Some(vec![(0, 0); engine.rules.len()]);
    }
    let c3 = thread_cpu_secs().unwrap_or_default();
    let t3 = Instant::now();
    for _ in 0..repeat {
        for ev in &events {
            let class = engine.logsources.classify(ev);
            engine.matches(ev, &class, &mut scratch, &mut hits);
            matches += hits.len();
        }
    }
    let m = t3.elapsed();
    let mcpu = thread_cpu_secs().unwrap_or_default() - c3;
    let n = events.len() * repeat;
    println!(
        "rules evaluated per event after routing and prefilter: {:.1}; prefilter per event: {:.0} bytes scanned, {:.1} literal occurrences",
        scratch.evaluated as f64 / n.max(1) as f64,
        scratch.scanned as f64 / n.max(1) as f64,
        scratch.found as f64 / n.max(1) as f64,
    );
    println!(
        "match: {n} events in {:.3}s = {:.0} events/s; thread CPU {mcpu:.2}s = {:.0} events per CPU-second; {} matches; end to end (read + match) {:.0} events/s",
        m.as_secs_f64(),
        n as f64 / m.as_secs_f64().max(1e-9),
        n as f64 / mcpu.max(1e-9),
        matches / repeat.max(1),
        events.len() as f64 / (read + m / repeat.max(1) as u32).as_secs_f64().max(1e-9)
    );
    if let Some(times) = &scratch.rule_time {
        let mut by_time: Vec<(usize, (u64, u64))> = times.iter().copied().enumerate().collect();
        by_time.sort_by_key(|(_, (_, ns))| std::cmp::Reverse(*ns));
        let total: u64 = times.iter().map(|t| t.1).sum();
        println!(
            "rule evaluation: {:.3}s in all; the 20 costliest rules:",
            total as f64 / 1e9
        );
        for (ri, (count, ns)) in by_time.into_iter().take(20) {
            let r = &rules[engine.rules[ri].index];
            println!(
                "  {:>6.1}% {:>8} evaluations {:>7.0} ns each  {}",
                100.0 * ns as f64 / total.max(1) as f64,
                count,
                ns as f64 / count.max(1) as f64,
                r.meta.title
            );
        }
    }
    if let Some(dir) = regression_dir {
        let r = regression::check(&rules, &engine, &dir);
        let loaded = r.cases.iter().filter(|c| c.rule_loaded).count();
        let fired = r.cases.iter().filter(|c| c.rule_loaded && c.fired).count();
        println!(
            "regression: {} event files, {loaded} with their rule loaded, {fired} fire it; {} other rules fire on these events",
            r.cases.len(),
            r.others().len()
        );
        for c in r.failures() {
            println!("  not fired: {} (rule {})", c.file.display(), c.rule_id);
        }
    }
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.1} MiB");
    }
}
