//! `detc match` as a library function: rules × event files -> one output line per match, plus
//! correlation matches at the end, plus a summary. The CLI wrapper only parses arguments and
//! prints diagnostics.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::ir::Rule;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::correlate::{Correlator, Observation};
use super::engine::{event_time, Engine, EngineOptions};
use super::event::Event;
use super::read::{collect_files, parse_item, read_file_items, Item};

/// Output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutFormat {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Aligned text columns for people.
    Table,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: usize,
    pub events: usize,
    pub matches: usize,
    pub correlation_matches: usize,
    pub bad_records: usize,
    /// Rule index -> number of matches (detections and correlations).
    pub per_rule: BTreeMap<usize, usize>,
}

/// One output line.
#[derive(Debug, Serialize)]
pub struct MatchLine<'a> {
    pub rule_id: Option<&'a str>,
    pub rule_name: &'a str,
    pub title: &'a str,
    pub level: Option<&'a str>,
    pub file: String,
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer: Option<String>,
    /// Correlations only: `event_count`, `value_count`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// Fields naming the host an event came from, in order of preference.
const COMPUTER_FIELDS: &[&str] = &["Computer", "ComputerName", "Hostname", "host.name", "host"];

fn computer(e: &Event) -> Option<String> {
    COMPUTER_FIELDS
        .iter()
        .find_map(|f| e.get_text(f))
        .map(String::from)
}

/// Events per unit of work handed to a thread: large enough that the hand-over costs little,
/// small enough that a few in flight per thread keep memory bounded.
const BATCH: usize = 512;

/// A unit of work: a run of records of one file (NDJSON lines are parsed by the worker).
struct Job {
    seq: u64,
    file: usize,
    /// NDJSON lines of this batch, one after another in `buf`.
    buf: Vec<u8>,
    items: Vec<JobItem>,
    /// Set on a file's last job: the diagnostics the reader returned for the file.
    end: Option<Vec<Diagnostic>>,
}

enum JobItem {
    Line {
        index: usize,
        line: usize,
        start: usize,
        end: usize,
    },
    TooLong {
        index: usize,
        line: usize,
        len: usize,
    },
    Record(super::read::Record),
}

/// What a worker made of a job, applied by the collecting thread in input order.
#[derive(Default)]
struct Done {
    seq: u64,
    /// Formatted output lines.
    out: Vec<u8>,
    events: usize,
    /// Rule index of every match, in output order.
    hits: Vec<usize>,
    observations: Vec<Observation>,
    diags: Vec<Diagnostic>,
    /// The file's diagnostics are complete (its last job).
    file_end: bool,
}

/// How many threads match events: as asked, else the machine's parallelism (capped).
fn worker_count(asked: usize) -> usize {
    if asked > 0 {
        return asked;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16)
}

/// Run `rules` over every event file under `events`, writing matches to `out`.
///
/// Files are read in order by one thread that cuts them into batches of [`BATCH`] records;
/// worker threads parse, classify, match and format each batch; the calling thread writes the
/// batches' output, diagnostics and correlation observations strictly in input order, so the
/// output is the same whatever the number of threads.
pub fn run_match(
    rules: &[Rule],
    events: &[PathBuf],
    opts: &EngineOptions,
    format: OutFormat,
    out: &mut dyn Write,
) -> (Summary, Vec<Diagnostic>) {
    let (engine, mut diags) = Engine::new(rules, opts);
    let (mut corr, cd) = Correlator::new(rules);
    diags.extend(cd);
    let (files, fd) = collect_files(events);
    diags.extend(fd);
    let mut summary = Summary {
        files: files.len(),
        ..Summary::default()
    };
    let file_texts: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let workers = worker_count(opts.threads);
    // Workers only read the correlator's configuration (it has observed nothing yet).
    let corr_config = corr.clone();
    let stop = AtomicBool::new(false);
    let mut write_err: Option<std::io::Error> = None;
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * 2);
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|sc| {
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(workers * 4);
        // Reader.
        let files = &files;
        let stop = &stop;
        sc.spawn(move || {
            let mut seq = 0u64;
            // `seq` also advances inside the reader callback (one per batch), so it is no
            // plain loop counter.
            #[allow(clippy::explicit_counter_loop)]
            for (fi, path) in files.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut job = Job::new(seq, fi);
                let mut closed = false;
                let end = read_file_items(path, &mut |item| {
                    if closed {
                        return;
                    }
                    job.push(item);
                    if job.items.len() >= BATCH {
                        let next = Job::new(seq + 1, fi);
                        if job_tx.send(std::mem::replace(&mut job, next)).is_err() {
                            closed = true;
                        }
                        seq += 1;
                    }
                });
                job.end = Some(end);
                if job_tx.send(job).is_err() {
                    break;
                }
                seq += 1;
            }
        });
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            let engine = &engine;
            let corr = &corr_config;
            let file_texts = &file_texts;
            sc.spawn(move || {
                let mut scratch = engine.scratch();
                let mut hits = Vec::new();
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => match rx.recv() {
                            Ok(j) => j,
                            Err(_) => break,
                        },
                        Err(_) => break,
                    };
                    let path = &files[job.file];
                    let text = &file_texts[job.file];
                    let file_sources = engine.logsources.file_sources(path);
                    let mut done = Done {
                        seq: job.seq,
                        ..Done::default()
                    };
                    for item in job.items {
                        let item = match item {
                            JobItem::Line {
                                index,
                                line,
                                start,
                                end,
                            } => Item::Line {
                                index,
                                line,
                                text: &job.buf[start..end],
                            },
                            JobItem::TooLong { index, line, len } => {
                                Item::TooLong { index, line, len }
                            }
                            JobItem::Record(r) => Item::Record(r),
                        };
                        let rec = match parse_item(path, item) {
                            Ok(r) => r,
                            Err(d) => {
                                done.diags.push(d);
                                continue;
                            }
                        };
                        let mut ev = rec.event;
                        done.events += 1;
                        let class = engine.prepare_in(&mut ev, file_sources.as_deref());
                        engine.matches(&ev, &class, &mut scratch, &mut hits);
                        if hits.is_empty() {
                            continue;
                        }
                        let time = event_time(&ev);
                        let timestamp = time.map(|t| t.to_string());
                        let host = computer(&ev);
                        for &ri in &hits {
                            if let Some(t) = time {
                                corr.observations(
                                    ri,
                                    t,
                                    &ev,
                                    (job.file, rec.index),
                                    &mut done.observations,
                                );
                            }
                            let r = &rules[ri];
                            let line = MatchLine {
                                rule_id: r.id(),
                                rule_name: &r.name,
                                title: &r.meta.title,
                                level: r.level(),
                                file: text.clone(),
                                index: rec.index,
                                timestamp: timestamp.clone(),
                                computer: host.clone(),
                                correlation: None,
                                first_timestamp: None,
                                group: None,
                                count: None,
                            };
                            done.hits.push(ri);
                            // Writing to a Vec cannot fail.
                            let _ = emit(&mut done.out, format, &line);
                        }
                    }
                    if let Some(end) = job.end {
                        done.diags.extend(end);
                        done.file_end = true;
                    }
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Collect in input order.
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        let mut file_diags = 0usize;
        for d in done_rx {
            pending.insert(d.seq, d);
            while let Some(d) = pending.remove(&next) {
                next += 1;
                summary.events += d.events;
                summary.matches += d.hits.len();
                for &ri in &d.hits {
                    *summary.per_rule.entry(ri).or_default() += 1;
                }
                for o in d.observations {
                    corr.record(o);
                }
                file_diags += d.diags.len();
                diags.extend(d.diags);
                if d.file_end {
                    summary.bad_records += file_diags;
                    file_diags = 0;
                }
                if write_err.is_none() {
                    if let Err(e) = out.write_all(&d.out) {
                        write_err = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    for h in corr.finish() {
        let r = &rules[h.rule];
        let corr_kind = match &r.body {
            crate::ir::RuleBody::Correlation(c) => Some(c.kind.name()),
            crate::ir::RuleBody::Detection(_) => None,
        };
        let line = MatchLine {
            rule_id: r.id(),
            rule_name: &r.name,
            title: &r.meta.title,
            level: r.level(),
            file: files[h.origin.0].display().to_string(),
            index: h.origin.1,
            timestamp: Some(h.last.to_string()),
            computer: None,
            correlation: corr_kind,
            first_timestamp: Some(h.first.to_string()),
            group: Some(h.group.into_iter().collect()),
            count: Some(h.count),
        };
        summary.correlation_matches += 1;
        *summary.per_rule.entry(h.rule).or_default() += 1;
        if let Err(e) = emit(out, format, &line) {
            write_err.get_or_insert(e);
        }
    }
    if let Some(e) = write_err {
        // A closed pipe (`| head`) is not worth a second message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            diags.push(Diagnostic::error(
                "output-error",
                format!("cannot write matches: {e}"),
            ));
        }
    }
    (summary, diags)
}

fn emit(out: &mut dyn Write, format: OutFormat, l: &MatchLine) -> std::io::Result<()> {
    match format {
        OutFormat::Jsonl => {
            serde_json::to_writer(&mut *out, l)?;
            out.write_all(b"\n")
        }
        OutFormat::Table => writeln!(
            out,
            "{:<27}  {:<13}  {:<40}  {}:{}{}",
            l.timestamp.as_deref().unwrap_or("-"),
            l.level.unwrap_or("-"),
            l.rule_name,
            l.file,
            l.index,
            l.computer
                .as_deref()
                .map(|c| format!("  {c}"))
                .unwrap_or_default(),
        ),
    }
}

impl Job {
    fn new(seq: u64, file: usize) -> Job {
        Job {
            seq,
            file,
            buf: Vec::new(),
            items: Vec::with_capacity(BATCH),
            end: None,
        }
    }

    fn push(&mut self, item: Item) {
        self.items.push(match item {
            Item::Line { index, line, text } => {
                let start = self.buf.len();
                self.buf.extend_from_slice(text);
                JobItem::Line {
                    index,
                    line,
                    start,
                    end: self.buf.len(),
                }
            }
            Item::TooLong { index, line, len } => JobItem::TooLong { index, line, len },
            Item::Record(r) => JobItem::Record(r),
        });
    }
}
