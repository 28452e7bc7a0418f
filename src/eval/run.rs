//! `detc match` as a library function: rules × event files -> one output line per match, plus
//! correlation matches at the end, plus a summary. The CLI wrapper only parses arguments and
//! prints diagnostics.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::ir::Rule;

use super::correlate::Correlator;
use super::engine::{event_time, Engine, EngineOptions};
use super::event::Event;
use super::read::{collect_files, read_file};

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

/// Run `rules` over every event file under `events`, writing matches to `out`.
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
    let mut scratch = engine.scratch();
    let mut hits = Vec::new();
    let mut write_err: Option<std::io::Error> = None;
    for (fi, path) in files.iter().enumerate() {
        let file_text = path.display().to_string();
        let mut sink = |rec: super::read::Record| {
            let mut ev = rec.event;
            summary.events += 1;
            let class = engine.prepare(&mut ev);
            engine.matches(&ev, &class, &mut scratch, &mut hits);
            if hits.is_empty() {
                return;
            }
            let time = event_time(&ev);
            for &ri in &hits {
                *summary.per_rule.entry(ri).or_default() += 1;
                if corr.wants(ri) {
                    if let Some(t) = time {
                        corr.observe(ri, t, &ev, (fi, rec.index));
                    }
                }
                let r = &rules[ri];
                let line = MatchLine {
                    rule_id: r.id(),
                    rule_name: &r.name,
                    title: &r.meta.title,
                    level: r.level(),
                    file: file_text.clone(),
                    index: rec.index,
                    timestamp: time.map(|t| t.to_string()),
                    computer: computer(&ev),
                    correlation: None,
                    first_timestamp: None,
                    group: None,
                    count: None,
                };
                summary.matches += 1;
                if let Err(e) = emit(out, format, &line) {
                    write_err.get_or_insert(e);
                }
            }
        };
        let ds = read_file(path, &mut sink);
        summary.bad_records += ds.len();
        diags.extend(ds);
        if write_err.is_some() {
            break;
        }
    }
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
