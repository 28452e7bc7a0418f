//! Benchmark: inputs that must cost time linear in their size (issue 14, item 4).
//!
//! Each case generates one input at several sizes (10k, 100k, 1M items where sensible) into a
//! temporary folder and times the whole `detc` process on it (wall time and peak RSS, through
//! GNU time when it is there). Read the figures as ratios: a linear step costs ~10× per 10×
//! size; a quadratic one ~100×. A run over the time limit (`DETC_LIMIT_SECS`, default 60) is
//! killed and shown as `> limit`, and the larger sizes of that case are skipped.
//!
//! Cases: 100k `contains` values in one `.det` selection (`detc test`), 100k `endswith`
//! values in a Sigma list (`detc match`), a one-line YAML flow list (`detc check`), many
//! selections in one Sigma rule (`detc check`), one JSON event with many keys (`detc match`),
//! a selection that is a list of many maps (`detc check`, `detc match`), a condition naming
//! many selections one by one (`detc check`), one map of many fields (`detc check`), many
//! selections or `or` groups in a `.det` rule (`detc test`), many syntax errors in one file
//! (`detc check`), a correlation of many rules (`detc match`), and a long `base64offset
//! contains` value (`detc test`, `detc match`; peak RSS is the figure).
//!
//! Run: `cargo bench --bench linear_limits` (DETC_LIMIT_CASES=name,name picks cases by the
//! start of their names, DETC_LIMIT_MAX caps the size, e.g. 100000, DETC_BIN runs another
//! `detc` binary).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `.det` rule: one selection of `n` `contains` values (ten per line), with a hit and a miss.
/// The values share a prefix and differ in their end (`v1`, `v2`, ...): the shape whose
/// Aho-Corasick automaton was quadratic to build.
fn det_contains(n: usize) -> String {
    let mut s = String::from(
        "rule big_contains {\n  title \"t\"\n  logsource product=windows category=process_creation\n  s = CommandLine contains ",
    );
    for i in 0..n {
        if i > 0 {
            s.push_str(if i % 10 == 0 { ",\n    " } else { ", " });
        }
        write!(s, "\"v{i}\"").unwrap();
    }
    write!(
        s,
        "\n  condition s\n  test hit {{ CommandLine: \"run v{} now\" }}\n  test miss {{ CommandLine: \"nothing\" }}\n}}\n",
        n / 2
    )
    .unwrap();
    s
}

fn sigma_head(title: &str) -> String {
    format!(
        "title: {title}\nid: 5d0e3c3a-6a43-4f6b-9d0e-1c2b3a4d5e6f\nstatus: test\nlogsource:\n  product: windows\n  category: process_creation\n"
    )
}

/// Sigma rule: `Image|endswith` with a block list of `n` values (`\v1`, `\v2`, ...: one
/// prefix, as above; they make the `detc match` prefilter's automaton).
fn sigma_endswith(n: usize) -> String {
    let mut s = sigma_head("big endswith");
    s.push_str("detection:\n  selection:\n    Image|endswith:\n");
    for i in 0..n {
        writeln!(s, "      - '\\v{i}'").unwrap();
    }
    s.push_str("  condition: selection\nlevel: low\n");
    s
}

/// Sigma rule: `CommandLine|contains` with a one-line flow list of `n` values.
fn sigma_flow_list(n: usize) -> String {
    let mut s = sigma_head("big flow list");
    s.push_str("detection:\n  selection:\n    CommandLine|contains: [");
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        write!(s, "'v{i}'").unwrap();
    }
    s.push_str("]\n  condition: selection\nlevel: low\n");
    s
}

/// Sigma rule with `n` selections and `1 of sel*`.
fn sigma_selections(n: usize) -> String {
    let mut s = sigma_head("many selections");
    s.push_str("detection:\n");
    for i in 0..n {
        writeln!(s, "  sel{i}:\n    Image|endswith: '\\v{i}'").unwrap();
    }
    s.push_str("  condition: 1 of sel*\nlevel: low\n");
    s
}

/// Sigma rule with `n` selections named one by one in the condition (`sel0 or sel1 or ...`).
fn sigma_or_condition(n: usize) -> String {
    let mut s = sigma_head("named selections");
    s.push_str("detection:\n");
    for i in 0..n {
        writeln!(s, "  sel{i}:\n    Image|endswith: '\\x{i}.exe'").unwrap();
    }
    let names: Vec<String> = (0..n).map(|i| format!("sel{i}")).collect();
    write!(s, "  condition: {}\nlevel: low\n", names.join(" or ")).unwrap();
    s
}

/// Sigma rule whose selection is one map of `n` fields (an AND of `n` matchers).
fn sigma_many_fields(n: usize) -> String {
    let mut s = sigma_head("many fields");
    s.push_str("detection:\n  selection:\n");
    for i in 0..n {
        writeln!(s, "    F{i}: 'v{i}'").unwrap();
    }
    s.push_str("  condition: selection\nlevel: low\n");
    s
}

/// `.det` rule with `n` selections and `condition 1 of sel*`, with a hit and a miss.
fn det_selections(n: usize) -> String {
    let mut s = String::from(
        "rule many_selections {\n  title \"t\"\n  logsource product=windows category=process_creation\n",
    );
    for i in 0..n {
        writeln!(s, "  sel{i} = Image endswith \"\\x{i}.exe\"").unwrap();
    }
    write!(
        s,
        "  condition 1 of sel*\n  test hit {{ Image: \"C:\\x{}.exe\" }}\n  test miss {{ Image: \"nothing\" }}\n}}\n",
        n / 2
    )
    .unwrap();
    s
}

/// `.det` rule whose selection is `n` groups `{ ... } or { ... }` (Sigma's list of maps).
fn det_or_groups(n: usize) -> String {
    let mut s = String::from(
        "rule or_groups {\n  title \"t\"\n  logsource product=windows category=process_creation\n  s = ",
    );
    for i in 0..n {
        if i > 0 {
            s.push_str("\n    or ");
        }
        write!(
            s,
            "{{\n    Image endswith \"\\v{i}\"\n    User \"u{i}\"\n  }}"
        )
        .unwrap();
    }
    s.push_str("\n  condition s\n  test miss { Image: \"nothing\" }\n}\n");
    s
}

/// `.det` rule with `n` selection lines that each have a syntax error (a second matcher on
/// the line): `n` diagnostics in one file.
fn det_errors(n: usize) -> String {
    let mut s = String::from(
        "rule errors {\n  title \"t\"\n  logsource product=windows category=process_creation\n",
    );
    for i in 0..n {
        writeln!(
            s,
            "  sel{i} = {{ Image endswith \"\\v{i}\" User \"u{i}\" }}"
        )
        .unwrap();
    }
    s.push_str("  condition 1 of sel*\n}\n");
    s
}

/// `n` Sigma rules in one file and a correlation of all of them.
fn sigma_correlation(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        writeln!(
            s,
            "title: r{i}\nname: r{i}\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\v{i}'\n  condition: sel\n---"
        )
        .unwrap();
    }
    s.push_str("title: c\ncorrelation:\n  type: event_count\n  rules:\n");
    for i in 0..n {
        writeln!(s, "    - r{i}").unwrap();
    }
    s.push_str("  group-by:\n    - User\n  timespan: 1h\n  condition:\n    gte: 10\n");
    s
}

/// Sigma rule whose selection is a list of `n` maps (OR of ANDs).
fn sigma_or_maps(n: usize) -> String {
    let mut s = sigma_head("many maps");
    s.push_str("detection:\n  selection:\n");
    for i in 0..n {
        writeln!(s, "    - Image|endswith: '\\v{i}'\n      User: 'u{i}'").unwrap();
    }
    s.push_str("  condition: selection\nlevel: low\n");
    s
}

/// A small Sigma rule for the event cases.
fn sigma_small() -> String {
    let mut s = sigma_head("small");
    s.push_str("detection:\n  selection:\n    Image|endswith: '\\evil.exe'\n  condition: selection\nlevel: low\n");
    s
}

/// `k` process-creation events (one in ten ends with a rule's value) as NDJSON.
fn events(k: usize, n: usize) -> String {
    let mut s = String::new();
    for j in 0..k {
        let img = if j % 10 == 0 {
            format!("C:\\\\x\\\\v{}", (j * 7919) % n.max(1))
        } else {
            format!("C:\\\\x\\\\other{j}.exe")
        };
        writeln!(
            s,
            "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Image\":\"{img}\",\"User\":\"u{}\",\"CommandLine\":\"run v{:07}x\"}}",
            (j * 7919) % n.max(1),
            j
        )
        .unwrap();
    }
    s
}

/// One JSON event with `n` keys (and an Image the small rule matches).
fn event_many_keys(n: usize) -> String {
    let mut s = String::from(
        "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Image\":\"C:\\\\evil.exe\"",
    );
    for i in 0..n {
        write!(s, ",\"k{i:07}\":\"v{i}\"").unwrap();
    }
    s.push_str("}\n");
    s
}

/// A `base64offset contains` value of `n` bytes (printable, not repetitive).
fn long_value(n: usize) -> String {
    (0..n)
        .map(|i| (b'a' + ((i * 7 + i / 26) % 26) as u8) as char)
        .collect()
}

fn det_base64offset(n: usize) -> String {
    format!(
        "rule big_b64 {{\n  title \"t\"\n  logsource product=windows category=process_creation\n  s = CommandLine base64offset contains \"{}\"\n  condition s\n  test miss {{ CommandLine: \"nothing\" }}\n}}\n",
        long_value(n)
    )
}

fn sigma_base64offset(n: usize) -> String {
    let mut s = sigma_head("big base64offset");
    write!(
        s,
        "detection:\n  selection:\n    CommandLine|base64offset|contains: '{}'\n  condition: selection\nlevel: low\n",
        long_value(n)
    )
    .unwrap();
    s
}

struct Case {
    name: &'static str,
    sizes: &'static [usize],
    /// Writes the inputs for size `n` into the folder; returns the `detc` arguments.
    setup: fn(&Path, usize) -> Vec<String>,
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write input");
    p.display().to_string()
}

fn args(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

const COUNTS: &[usize] = &[10_000, 100_000, 1_000_000];
const BYTES: &[usize] = &[100_000, 1_000_000, 5_000_000];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "det-contains (test)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.det", &det_contains(n));
                args(&["test", &r])
            },
        },
        Case {
            name: "sigma-endswith (match, 1000 events)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_endswith(n));
                let e = write(d, "e.jsonl", &events(1000, n));
                args(&["match", "--rules", &r, "--events", &e])
            },
        },
        Case {
            name: "sigma-endswith (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_endswith(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "yaml-flow-list (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_flow_list(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "sigma-selections (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_selections(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "or-condition (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_or_condition(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "many-fields (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_many_fields(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "det-selections (test)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.det", &det_selections(n));
                args(&["test", &r])
            },
        },
        Case {
            name: "det-or-groups (test)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.det", &det_or_groups(n));
                args(&["test", &r])
            },
        },
        Case {
            name: "det-errors (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.det", &det_errors(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "correlation-refs (match, 1000 events)",
            // A million rules is over the 64 MiB rule file limit.
            sizes: &[10_000, 100_000],
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_correlation(n));
                let e = write(d, "e.jsonl", &events(1000, n));
                args(&["match", "--rules", &r, "--events", &e])
            },
        },
        Case {
            name: "or-maps (check)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_or_maps(n));
                args(&["check", &r])
            },
        },
        Case {
            name: "or-maps (match, 1000 events)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_or_maps(n));
                let e = write(d, "e.jsonl", &events(1000, n));
                args(&["match", "--rules", &r, "--events", &e])
            },
        },
        Case {
            name: "json-keys (match, one event)",
            sizes: COUNTS,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_small());
                let e = write(d, "e.jsonl", &event_many_keys(n));
                args(&["match", "--rules", &r, "--events", &e])
            },
        },
        Case {
            name: "base64offset bytes (test)",
            sizes: BYTES,
            setup: |d, n| {
                let r = write(d, "r.det", &det_base64offset(n));
                args(&["test", &r])
            },
        },
        Case {
            name: "base64offset bytes (match, 1000 events)",
            sizes: BYTES,
            setup: |d, n| {
                let r = write(d, "r.yml", &sigma_base64offset(n));
                let e = write(d, "e.jsonl", &events(1000, 1000));
                args(&["match", "--rules", &r, "--events", &e])
            },
        },
    ]
}

struct Run {
    wall: Duration,
    rss_kib: Option<u64>,
    exit: Option<i32>,
    timed_out: bool,
    stderr_head: String,
}

/// Run `detc args` under `timeout` (and GNU time for the peak RSS when present).
fn run(exe: &Path, args: &[String], limit: Duration) -> Run {
    let rss_file = tempfile::NamedTempFile::new().expect("tempfile");
    let gnu_time = Path::new("/usr/bin/time");
    let mut cmd = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.args(["-f", "%M", "-o"]).arg(rss_file.path());
        c.arg("timeout");
        c
    } else {
        Command::new("timeout")
    };
    cmd.arg(format!("{}", limit.as_secs()))
        .arg(exe)
        .args(args)
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().expect("detc runs");
    let wall = t.elapsed();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let rss_kib = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    Run {
        wall,
        rss_kib,
        exit: out.status.code(),
        timed_out: out.status.code() == Some(124),
        stderr_head: stderr
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect(),
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    // DETC_BIN: another binary (e.g. one built before a change, for before/after figures).
    let exe = std::env::var_os("DETC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_detc")));
    let limit = Duration::from_secs(
        std::env::var("DETC_LIMIT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let max: usize = std::env::var("DETC_LIMIT_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let only: Option<Vec<String>> = std::env::var("DETC_LIMIT_CASES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    println!("detc: {}; limit {} s", exe.display(), limit.as_secs());
    for case in cases() {
        if let Some(only) = &only {
            if !only.iter().any(|o| case.name.starts_with(o.as_str())) {
                continue;
            }
        }
        let mut prev: Option<f64> = None;
        for &n in case.sizes.iter().filter(|&&n| n <= max) {
            let dir = tempfile::tempdir().expect("tempdir");
            let a = (case.setup)(dir.path(), n);
            let r = run(&exe, &a, limit);
            let secs = r.wall.as_secs_f64();
            let ratio = prev
                .map(|p| format!(" (×{:.1})", secs / p))
                .unwrap_or_default();
            let rss = r
                .rss_kib
                .map(|k| format!("{} MiB", k / 1024))
                .unwrap_or_else(|| "?".into());
            if r.timed_out {
                println!(
                    "{:<42} {:>9}: > {} s (killed), load {}",
                    case.name,
                    n,
                    limit.as_secs(),
                    loadavg()
                );
                break;
            }
            println!(
                "{:<42} {:>9}: {:>8.3} s{ratio}, peak RSS {rss}, exit {:?}, load {}{}",
                case.name,
                n,
                secs,
                r.exit,
                loadavg(),
                if r.exit == Some(0) || r.stderr_head.is_empty() {
                    String::new()
                } else {
                    format!("\n{:<53}first stderr line: {}", "", r.stderr_head)
                }
            );
            prev = Some(secs);
        }
    }
}
