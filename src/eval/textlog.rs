//! Text logs carrying events one per line: Linux audit records (`audit.log`, or forwarded by
//! audispd to syslog; see [`super::auditd`]), Sysmon for Linux events (Windows event XML
//! in a syslog line; see [`super::event_xml`]), and Zeek logs in their tab-separated form
//! ([`read_zeek_tsv`]).
//!
//! A file is read this way when its first line holds either, or looks like a syslog line
//! (`Nov 14 22:13:20 host prog: ...`, `<134>...`, or an RFC 3339 time first). Each line
//! holding an `<Event` element is a Sysmon event, each line holding `msg=audit(` an audit
//! record (records of one audit event are grouped); other lines (other programs' syslog
//! messages) are not events and are passed over. A line that starts one of these formats but
//! cannot be read is a diagnostic with its line and column; reading goes on.

use std::io::BufRead;
use std::path::Path;

use crate::diag::Diagnostic;

use super::read::{Item, Record, MAX_LINE};

/// Whether a file whose first line is `first` (trimmed) is a text log of these formats.
pub fn is_text_log(first: &[u8]) -> bool {
    if matches!(first.first(), None | Some(b'{' | b'[')) {
        return false;
    }
    let Ok(line) = std::str::from_utf8(&first[..first.len().min(MAX_LINE)]) else {
        return false;
    };
    super::auditd::is_record(line) || line.contains("<Event") || is_syslog(line)
}

/// A syslog line: BSD (`Nov 14 22:13:20 `), with a priority (`<134>`), or an RFC 3339 /
/// ISO 8601 time first (rsyslog's high-precision format, RFC 5424 after the priority).
fn is_syslog(line: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ",
        "Dec ",
    ];
    let b = line.as_bytes();
    if MONTHS.iter().any(|m| line.starts_with(m)) {
        return b.len() > 15 && b[9] == b':' && b[12] == b':';
    }
    if let Some(rest) = line.strip_prefix('<') {
        return rest.split_once('>').is_some_and(|(p, _)| {
            !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit())
        });
    }
    b.len() > 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
}

/// Read a text log whose first line (as read, line break included) is `first`.
pub fn read_text_log(
    path: &Path,
    first: Vec<u8>,
    r: &mut impl BufRead,
    f: &mut dyn FnMut(Item),
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut grouper = super::auditd::Grouper::default();
    let mut index = 0;
    let mut line_no = 1;
    let mut line = first;
    let mut emit = |i: usize, event| f(Item::Record(Record { index: i, event }));
    loop {
        if line.len() > MAX_LINE {
            diags.push(bad(
                path,
                index,
                &format!(
                    "line {line_no} is longer than the limit of {MAX_LINE} bytes ({} MiB) for one record; skipped",
                    MAX_LINE >> 20
                ),
            ));
            index += 1;
        } else {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if let Some(at) = text.find("<Event") {
                let end = text
                    .rfind("</Event>")
                    .map_or(text.len(), |e| e + "</Event>".len());
                let end = end.max(at);
                match super::event_xml::xml_event(&text[at..end]) {
                    Ok(event) => {
                        // Audit events started before stay in order.
                        grouper.flush(true, &mut emit);
                        emit(index, event);
                    }
                    Err(e) => diags.push(bad(
                        path,
                        index,
                        &format!(
                            "line {line_no}, column {}: {}",
                            char_column(text, at + e.offset),
                            e.message
                        ),
                    )),
                }
                index += 1;
            } else if super::auditd::is_record(text) {
                if let Err(e) = grouper.add(text, &mut index, &mut emit) {
                    diags.push(bad(
                        path,
                        index,
                        &format!(
                            "line {line_no}, column {}: invalid audit record: {}",
                            char_column(text, e.column),
                            e.message
                        ),
                    ));
                    index += 1;
                }
            }
        }
        if !next_line(r, &mut line, &mut line_no, path, &mut diags) {
            break;
        }
    }
    grouper.flush(true, &mut emit);
    diags
}

/// 1-based column (in characters) of byte `at` of `text`.
fn char_column(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at].chars().count() + 1
}

/// Replace `line` by the next line and count it; false at the end of the input or when it
/// cannot be read (an `event-read-error` in `diags`).
fn next_line(
    r: &mut impl BufRead,
    line: &mut Vec<u8>,
    line_no: &mut usize,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    line.clear();
    *line_no += 1;
    read_line(r, line).unwrap_or_else(|e| {
        diags.push(
            Diagnostic::error("event-read-error", format!("cannot read events: {e}")).in_file(path),
        );
        false
    })
}

/// One line, at most `MAX_LINE + 1` bytes of it kept; false at the end of the input.
fn read_line(r: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = (MAX_LINE + 1).saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        r.consume(n);
        if done {
            return Ok(true);
        }
    }
}

fn bad(path: &Path, index: usize, msg: &str) -> Diagnostic {
    Diagnostic::error("bad-event", format!("record {index}: {msg}")).in_file(path)
}

/// Whether a file is a Zeek log in its default tab-separated form (first line
/// `#separator \x09`; Zeek documentation, "Logs": the header lines `#fields`, `#types`,
/// `#path`, `#set_separator` describe the columns).
pub fn is_zeek_tsv(first: &[u8]) -> bool {
    first.starts_with(b"#separator ")
}

/// Read a Zeek TSV log: each data line is an event with the `#fields` names; `-` (unset) is
/// absent, `(empty)` an empty value, set and vector columns are list values (split at
/// `#set_separator`), `time` columns are numbers (seconds), and `#path` is the `_path` field
/// that routes the event (logsources.yaml).
pub fn read_zeek_tsv(
    path: &Path,
    first: Vec<u8>,
    r: &mut impl BufRead,
    f: &mut dyn FnMut(Item),
) -> Vec<Diagnostic> {
    use super::event::{Event, Val};
    let mut diags = Vec::new();
    let mut sep = "\t".to_string();
    let mut set_sep = ",".to_string();
    let mut unset = "-".to_string();
    let mut empty = "(empty)".to_string();
    let mut fields: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    let mut log_path: Option<String> = None;
    let mut index = 0;
    let mut line_no = 1;
    let mut line = first;
    loop {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if let Some(h) = text.strip_prefix('#') {
            let (key, rest) = h.split_once([' ', '\t']).unwrap_or((h, ""));
            let parts = || {
                rest.split(sep.as_str())
                    .map(String::from)
                    .collect::<Vec<_>>()
            };
            match key {
                "separator" => sep = unescape_hex(rest.trim()),
                "set_separator" => set_sep = rest.to_string(),
                "unset_field" => unset = rest.to_string(),
                "empty_field" => empty = rest.to_string(),
                "path" => log_path = Some(rest.to_string()),
                "fields" => fields = parts(),
                "types" => types = parts(),
                _ => {}
            }
        } else if !text.trim().is_empty() {
            let values: Vec<&str> = text.split(sep.as_str()).collect();
            if fields.is_empty() || values.len() != fields.len() {
                diags.push(bad(
                    path,
                    index,
                    &format!(
                        "line {line_no}, column 1: expected {} tab-separated values (the `#fields` header), found {}",
                        fields.len(),
                        values.len()
                    ),
                ));
            } else {
                let mut e = Event::new();
                if let Some(p) = &log_path {
                    e.push("_path", Val::str(p));
                }
                for (i, (name, v)) in fields.iter().zip(values).enumerate() {
                    if v == unset {
                        continue;
                    }
                    let ty = types.get(i).map(String::as_str).unwrap_or("string");
                    if ty.starts_with("set[") || ty.starts_with("vector[") {
                        let vals = if v == empty {
                            Vec::new()
                        } else {
                            v.split(set_sep.as_str()).map(Val::str).collect()
                        };
                        e.set(name, vals);
                    } else if v == empty {
                        e.push(name, Val::str(""));
                    } else if ty == "time" || ty == "count" || ty == "int" || ty == "port" {
                        match crate::ir::norm::parse_number(v) {
                            Some(n) => e.push(name, Val::num(n)),
                            None => e.push(name, Val::str(v)),
                        }
                    } else {
                        e.push(name, Val::str(v));
                    }
                }
                f(Item::Record(Record { index, event: e }));
            }
            index += 1;
        }
        if !next_line(r, &mut line, &mut line_no, path, &mut diags) {
            break;
        }
    }
    diags
}

/// `\x09` escapes of Zeek's `#separator` header.
fn unescape_hex(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}
