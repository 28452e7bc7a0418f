//! Benchmark: `detc lsp` latency on a 2,000-line `.det` file while typing. The shipped rules
//! are concatenated (names and ids made unique) until the file has at least 2,000 lines, then
//! a new matcher line is typed into a rule in the middle, one character per edit. After each
//! keystroke the server gets the incremental change, publishes diagnostics (full analysis:
//! parse, checks, examples, every target compiled) and answers a completion and a hover at the
//! cursor, as an editor asks. The time of each step per keystroke is recorded, in-process
//! through `Server::handle` (the JSON-RPC framing on stdio adds well under a millisecond).
//!
//! Run: `cargo bench --bench lsp` (DETC_BENCH_LINES sets the file size).

use std::time::{Duration, Instant};

// The allocator of the `detc` binary (src/main.rs), so that the figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use detc::lsp::Server;
use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{json, Value};

fn big_file(min_lines: usize) -> String {
    let mut rules: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules"
    ))];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "det") {
                rules.push(p);
            }
        }
    }
    rules.sort();
    let mut out = String::new();
    let mut copy = 0;
    while out.lines().count() < min_lines {
        for f in &rules {
            let text = std::fs::read_to_string(f).unwrap();
            let mut n = 0;
            for line in text.lines() {
                let t = line.trim_start();
                if let Some(rest) = t.strip_prefix("rule ") {
                    let name = rest.split_whitespace().next().unwrap_or("r");
                    out.push_str(&format!("rule {name}_{copy} {{\n"));
                } else if t.starts_with("correlation ") {
                    let name = t.split_whitespace().nth(1).unwrap_or("c");
                    out.push_str(&format!("correlation {name}_{copy} {{\n"));
                } else if t.starts_with("id ") {
                    n += 1;
                    out.push_str(&format!(
                        "  id 00000000-0000-4000-8000-{:06x}{:06x}\n",
                        copy, n
                    ));
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            copy += 1;
            if out.lines().count() >= min_lines {
                break;
            }
        }
    }
    out
}

fn pos(text: &str, off: usize) -> Value {
    let before = &text[..off];
    json!({"line": before.matches('\n').count(),
           "character": before.len() - before.rfind('\n').map_or(0, |i| i + 1)})
}

fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let lines: usize = std::env::var("DETC_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut text = big_file(lines);
    let uri = "file:///bench/big.det";
    let t = Instant::now();
    let mut server = Server::default();
    let start = t.elapsed();
    let t = Instant::now();
    server.handle(Message::Notification(Notification::new(
        "textDocument/didOpen".into(),
        json!({"textDocument": {"uri": uri, "languageId": "det", "version": 1, "text": text}}),
    )));
    let published = server.flush();
    let open = t.elapsed();
    assert_eq!(published.len(), 1);
    // Type a new matcher line before the condition of a rule in the middle of the file.
    let mid = text[text.len() / 2..].find("\n  condition ").unwrap() + text.len() / 2 + 1;
    let typed = "  extra = CommandLine contains \"certutil -urlcache\"\n";
    let mut cursor = mid;
    let (mut change, mut complete, mut hover, mut total) = (vec![], vec![], vec![], vec![]);
    let (mut parse, mut check, mut rules, mut publish) = (vec![], vec![], vec![], vec![]);
    for (i, ch) in typed.chars().enumerate() {
        let at = pos(&text, cursor);
        text.insert(cursor, ch);
        cursor += ch.len_utf8();
        let t0 = Instant::now();
        server.handle(Message::Notification(Notification::new(
            "textDocument/didChange".into(),
            json!({"textDocument": {"uri": uri, "version": i + 2},
                   "contentChanges": [{"range": {"start": at, "end": at}, "text": ch.to_string()}]}),
        )));
        let out = server.flush();
        assert_eq!(out.len(), 1);
        let t1 = Instant::now();
        let phases = server.timings(uri).expect("analysed");
        parse.push(phases.parse);
        check.push(phases.check);
        rules.push(phases.rules);
        publish.push((t1 - t0).saturating_sub(phases.total));
        let here = pos(&text, cursor);
        let r = server.handle(Message::Request(Request::new(
            RequestId::from(2 * i as i32),
            "textDocument/completion".into(),
            json!({"textDocument": {"uri": uri}, "position": here}),
        )));
        assert_eq!(r.len(), 1);
        let t2 = Instant::now();
        let r = server.handle(Message::Request(Request::new(
            RequestId::from(2 * i as i32 + 1),
            "textDocument/hover".into(),
            json!({"textDocument": {"uri": uri}, "position": here}),
        )));
        assert_eq!(r.len(), 1);
        let t3 = Instant::now();
        change.push(t1 - t0);
        complete.push(t2 - t1);
        hover.push(t3 - t2);
        total.push(t3 - t0);
    }
    // The slowest keystrokes, with what was typed up to them (where the time goes).
    let mut slow: Vec<(Duration, usize)> = total.iter().copied().zip(0..).collect();
    slow.sort_by(|a, b| b.cmp(a));
    let slowest: Vec<String> = slow
        .iter()
        .take(3)
        .map(|(d, i)| {
            format!(
                "{} after `{}` (parse {}, checks {}, examples + targets {}, apply + publish {})",
                ms(*d),
                &typed[..=*i].trim(),
                ms(parse[*i]),
                ms(check[*i]),
                ms(rules[*i]),
                ms(publish[*i])
            )
        })
        .collect();
    println!(
        "detc lsp, {} lines, {} rules' worth of text, {} keystrokes",
        text.lines().count(),
        text.matches("\nrule ").count() + 1,
        typed.len()
    );
    println!("server start (targets loaded, no workspace): {}", ms(start));
    println!("didOpen + diagnostics:                     {}", ms(open));
    for (what, xs) in [
        ("  parse", &mut parse),
        ("  checks", &mut check),
        ("  examples + targets", &mut rules),
        ("  apply + publish", &mut publish),
        ("didChange + diagnostics", &mut change),
        ("completion", &mut complete),
        ("hover", &mut hover),
        ("keystroke total", &mut total),
    ] {
        println!(
            "{what:<24} median {:>9}  p95 {:>9}  max {:>9}",
            ms(percentile(xs, 0.5)),
            ms(percentile(xs, 0.95)),
            ms(*xs.iter().max().unwrap())
        );
    }
    println!("slowest keystrokes:\n  {}", slowest.join("\n  "));
}
