//! Event readers: NDJSON, JSON arrays, pretty-printed JSON objects one after another, Windows
//! event JSON as EVTX dumpers export it, and `.evtx` files (through the `evtx` crate); also
//! gzip-compressed input, the `Records` / `records` envelopes of CloudTrail and Azure exports
//! (each record an event), and text logs of audit records and Sysmon for Linux XML
//! ([`super::textlog`]). The format is decided by the content, not the file name.
//!
//! Windows events are flattened the way Sigma field names expect (specification, "Field
//! Usage"): `Event.System` children by name (`EventID`, `Channel`, `Computer`), their XML
//! attributes as `Tag_Attribute` (`Provider_Name`, `TimeCreated_SystemTime`), `EventData`
//! values by their `Name`, and `UserData` leaves by their element name. Fields starting with
//! `_` are ignored, except those log source routing reads (Zeek's `_path`).
//!
//! Readers stream records to a callback and never stop at bad input: a malformed JSON record
//! (with its line and column in the file), a line over [`MAX_LINE`] bytes, or a corrupt EVTX
//! record or chunk is a diagnostic naming the file and the record or chunk, and reading goes on
//! with the next one. What the `evtx` crate skips silently (zeroed, missing or cut chunks) is
//! found by [`super::evtx_layout`].

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeSeed as _;
use serde_json::{Map, Value};

use crate::diag::Diagnostic;

use super::event::Event;

/// Longest NDJSON line read (bytes); longer lines are reported and skipped.
pub const MAX_LINE: usize = 16 << 20;

/// One record of an input file.
pub struct Record {
    /// 0-based record number within the file (bad records count too, so numbers stay stable).
    pub index: usize,
    pub event: Event,
}

/// Read every event of `path` (a `.evtx` file or JSON), calling `sink` for each record.
pub fn read_file(path: &Path, sink: &mut dyn FnMut(Record)) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let end = read_file_items(path, &mut |item| match parse_item(path, item) {
        Ok(r) => sink(r),
        Err(d) => diags.push(d),
    });
    diags.extend(end);
    diags
}

/// One unit of input as a reader finds it: an NDJSON line not parsed yet (so that the parsing
/// can be done on another thread, see [`parse_item`]), or a record already read (the other
/// layouts and EVTX).
pub enum Item<'a> {
    /// A non-blank NDJSON line (trailing whitespace trimmed; leading kept so that columns in
    /// diagnostics are the file's).
    Line {
        index: usize,
        /// 1-based line number in the file.
        line: usize,
        text: &'a [u8],
    },
    /// An NDJSON line longer than [`MAX_LINE`], skipped.
    TooLong {
        index: usize,
        /// 1-based line number in the file.
        line: usize,
        /// The line's length in bytes (without its line break).
        len: usize,
    },
    Record(Record),
}

/// Read `path` as [`Item`]s, in input order. Diagnostics about records inside items come from
/// [`parse_item`]; the ones returned here (unreadable file, bad records of non-NDJSON layouts)
/// come after those of the file's items.
pub fn read_file_items(path: &Path, f: &mut dyn FnMut(Item)) -> Vec<Diagnostic> {
    let is_evtx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"));
    if is_evtx {
        read_evtx(path, &mut |r| f(Item::Record(r)))
    } else {
        match std::fs::File::open(path) {
            Ok(file) => read_json_items(path, file, f),
            Err(e) => vec![io_error(path, &e.to_string())],
        }
    }
}

/// Turn an [`Item`] into a record, or the diagnostic of a bad one.
pub fn parse_item(path: &Path, item: Item) -> Result<Record, Diagnostic> {
    match item {
        Item::Record(r) => Ok(r),
        Item::TooLong { index, line, len } => {
            Err(bad_record(path, index, &too_long_message(line, len)))
        }
        Item::Line { index, line, text } => match super::flatjson::flat_event(text) {
            Some(event) => Ok(Record { index, event }),
            None => parse_line(path, index, line, text),
        },
    }
}

/// What a [`Item::TooLong`] line is reported as: its place, its length and the limit.
fn too_long_message(line: usize, len: usize) -> String {
    format!(
        "line {line} is {len} bytes long, longer than the limit of {MAX_LINE} bytes \
         ({} MiB) for one record; skipped",
        MAX_LINE >> 20
    )
}

/// The general path for an NDJSON line (see [`super::flatjson`] for the fast one); `line` is
/// its 1-based line number in the file.
fn parse_line(path: &Path, index: usize, line: usize, text: &[u8]) -> Result<Record, Diagnostic> {
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Record {
            index,
            event: event_from_json(&m),
        }),
        Ok(other) => Err(bad_record(
            path,
            index,
            &format!(
                "line {line}: expected a JSON object, found {}",
                kind(&other)
            ),
        )),
        Err(e) => Err(bad_record(path, index, &json_error(&e, line - 1))),
    }
}

/// A serde_json error as "line L, column C: invalid JSON: what", with the line counted in the
/// file (`lines_before` is the number of lines before the text that was parsed) rather than in
/// the piece of it that was parsed.
fn json_error(e: &serde_json::Error, lines_before: usize) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C" to every message that has a position.
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&suffix).unwrap_or(&text);
    if e.line() == 0 {
        return format!("invalid JSON: {what}");
    }
    format!(
        "line {}, column {}: invalid JSON: {what}",
        e.line() + lines_before,
        e.column()
    )
}

/// Event files under `paths` (files as given; directories walked for `.json`, `.jsonl`,
/// `.ndjson` and `.evtx`), sorted for deterministic output.
///
/// A folder with no event file is said: an error when no event file was found at all (nothing
/// can be matched), a warning when other paths gave some.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let mut empty_dirs = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out, &mut diags, 0);
            if out.len() == before {
                empty_dirs.push(p);
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            diags.push(io_error(p, "no such file or directory"));
        }
    }
    for dir in empty_dirs {
        let msg = "no event files in this folder or below it";
        let d = if out.is_empty() {
            Diagnostic::error("no-event-files", msg)
        } else {
            Diagnostic::warning("no-event-files", msg)
        };
        diags.push(d.in_file(dir).expected(format!(
            "files ending in {}",
            EVENT_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
        )));
    }
    (out, diags)
}

/// What [`collect_files`] looks for in folders: these extensions, also followed by `.gz`
/// (`.json.gz`: CloudTrail) or by a rotation number (`audit.log.1`). `.log` is for auditd,
/// Zeek and syslog files.
pub const EVENT_EXTENSIONS: [&str; 5] = ["json", "jsonl", "ndjson", "evtx", "log"];

/// Whether a file found in a folder is read as events (see [`EVENT_EXTENSIONS`]).
fn is_event_file_name(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    // A compressed EVTX file is not read (the EVTX reader needs the file itself).
    if name.ends_with(".evtx.gz") {
        return false;
    }
    let mut stem = name.strip_suffix(".gz").unwrap_or(&name);
    // A rotation number (`audit.log.1`, `syslog.2.gz`).
    if let Some((head, n)) = stem.rsplit_once('.') {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            stem = head;
        }
    }
    stem.rsplit_once('.')
        .is_some_and(|(_, ext)| EVENT_EXTENSIONS.contains(&ext))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>, depth: usize) {
    if depth > 64 {
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            diags.push(io_error(dir, &e.to_string()));
            return;
        }
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out, diags, depth + 1);
        } else if is_event_file_name(&p) {
            out.push(p);
        }
    }
}

fn io_error(path: &Path, msg: &str) -> Diagnostic {
    Diagnostic::error("event-read-error", format!("cannot read events: {msg}")).in_file(path)
}

fn bad_record(path: &Path, index: usize, msg: &str) -> Diagnostic {
    Diagnostic::error("bad-event", format!("record {index}: {msg}")).in_file(path)
}

/// JSON input in any of the supported layouts.
pub fn read_json(path: &Path, input: impl Read, sink: &mut dyn FnMut(Record)) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let end = read_json_items(path, input, &mut |item| match parse_item(path, item) {
        Ok(r) => sink(r),
        Err(d) => diags.push(d),
    });
    diags.extend(end);
    diags
}

/// [`read_json`] as [`Item`]s: NDJSON lines are handed over unparsed.
///
/// Besides JSON, the input may be gzip-compressed (CloudTrail's `.json.gz`, rotated Zeek
/// logs), and may be a text log of audit records or Sysmon for Linux XML events (see
/// [`read_text_log`]).
pub fn read_json_items(path: &Path, input: impl Read, f: &mut dyn FnMut(Item)) -> Vec<Diagnostic> {
    read_items(path, input, f, true)
}

/// JSON objects whose only (or first) key holds an array of records: CloudTrail log files
/// (`{"Records": [...]}`, AWS CloudTrail User Guide, "CloudTrail log file examples") and
/// Azure Monitor exports to Event Hubs (`{"records": [...]}`, Azure Monitor "Stream Azure
/// monitoring data to an event hub"). Each record of the array is one event.
pub const ENVELOPES: [&str; 2] = ["Records", "records"];

/// Whether a text starts with an envelope object (`{"Records": [`), so that the file is read
/// whole, value by value, rather than line by line (each record of the array is an event).
fn opens_envelope(line: &[u8]) -> bool {
    let t = trim_ascii(line);
    let Some(rest) = t.strip_prefix(b"{") else {
        return false;
    };
    let rest = trim_ascii(rest);
    ENVELOPES.iter().any(|k| {
        rest.strip_prefix(b"\"")
            .and_then(|r| r.strip_prefix(k.as_bytes()))
            .and_then(|r| r.strip_prefix(b"\""))
            .is_some_and(|r| trim_ascii(r).starts_with(b":"))
    })
}

fn read_items(
    path: &Path,
    input: impl Read,
    f: &mut dyn FnMut(Item),
    gunzip: bool,
) -> Vec<Diagnostic> {
    let mut r = BufReader::with_capacity(1 << 16, input);
    // UTF-16 with a byte-order mark (what Windows PowerShell 5 writes with `>` or `Out-File`):
    // read whole and decoded to UTF-8, then read like any other file.
    match r.fill_buf() {
        Ok(head) if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") => {
            let little = head[0] == 0xFF;
            let mut bytes = Vec::new();
            if let Err(e) = r.read_to_end(&mut bytes) {
                return vec![io_error(path, &e.to_string())];
            }
            return match utf16_to_utf8(&bytes[2..], little) {
                Ok(text) => read_items(path, text.as_bytes(), f, false),
                Err(at) => vec![io_error(
                    path,
                    &format!(
                        "the file is UTF-16 ({}) but is not valid UTF-16 at byte {at}",
                        if little {
                            "little-endian"
                        } else {
                            "big-endian"
                        }
                    ),
                )],
            };
        }
        // gzip (once: a compressed file inside is not unpacked again).
        Ok(head) if gunzip && head.starts_with(b"\x1f\x8b") => {
            let gz: Box<dyn Read> = Box::new(flate2::read::MultiGzDecoder::new(r));
            return read_items(path, gz, f, false);
        }
        Ok(_) => {}
        Err(e) => return vec![io_error(path, &e.to_string())],
    }
    // An envelope (`{"Records": [`) is read whole, whatever the length of its first line (a
    // CloudTrail file is one line, often over the NDJSON line limit).
    match r.fill_buf() {
        Ok(head) if opens_envelope(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head)) => {
            let mut text = Vec::new();
            let read_err = r.read_to_end(&mut text).err();
            let bom = if text.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let mut diags = read_json_text(path, &text[bom..], f);
            if let Some(e) = read_err {
                diags.push(io_error(path, &e.to_string()));
            }
            return diags;
        }
        Ok(_) => {}
        Err(e) => return vec![io_error(path, &e.to_string())],
    }
    let mut diags = Vec::new();
    // Decide the layout from the first line: a line that is a whole JSON value means NDJSON
    // (read line by line, bounded memory); otherwise the file is one array or a sequence of
    // (pretty-printed) values, read whole.
    let mut first = Vec::new();
    let mut first_len = match read_line_bounded(&mut r, &mut first) {
        Ok(n) => n.unwrap_or(0),
        Err(e) => return vec![io_error(path, &e.to_string())],
    };
    // A UTF-8 byte-order mark (what some Windows tools write first) is not part of the JSON.
    if first.starts_with(b"\xEF\xBB\xBF") {
        first.drain(..3);
        first_len = first_len.saturating_sub(3);
    }
    let first_trim = trim_ascii(&first);
    if super::textlog::is_zeek_tsv(first_trim) {
        return super::textlog::read_zeek_tsv(path, first, &mut r, f);
    }
    if super::textlog::is_text_log(first_trim) {
        return super::textlog::read_text_log(path, first, &mut r, f);
    }
    // An object on a first line over the limit is an over-long NDJSON record (only `MAX_LINE + 1`
    // bytes of it were kept, so it cannot parse): report it as such and read on line by line,
    // rather than read the whole file as one JSON text and report a parse error at the cut.
    let ndjson = first_trim.first() == Some(&b'{')
        && (first.len() > MAX_LINE
            || serde_json::from_slice::<serde::de::IgnoredAny>(first_trim).is_ok());
    if ndjson {
        let mut index = 0;
        let mut line_no = 1;
        let mut line = first;
        let mut len = first_len;
        loop {
            let t = trim_ascii_end(&line);
            if line.len() > MAX_LINE {
                f(Item::TooLong {
                    index,
                    line: line_no,
                    len,
                });
                index += 1;
            } else if !trim_ascii(t).is_empty() {
                f(Item::Line {
                    index,
                    line: line_no,
                    text: t,
                });
                index += 1;
            }
            line.clear();
            line_no += 1;
            len = match read_line_bounded(&mut r, &mut line) {
                Ok(None) => break,
                Ok(Some(n)) => n,
                Err(e) => {
                    diags.push(io_error(path, &e.to_string()));
                    break;
                }
            };
        }
        return diags;
    }
    let mut text = first;
    // What was read before an error (a cut gzip stream) is still read; the error is said
    // after the records' diagnostics.
    let read_err = r.read_to_end(&mut text).err();
    let mut diags = read_json_text(path, &text, f);
    if let Some(e) = read_err {
        diags.push(io_error(path, &e.to_string()));
    }
    diags
}

/// A whole JSON text: an array of records or a sequence of values (envelopes included).
fn read_json_text(path: &Path, text: &[u8], f: &mut dyn FnMut(Item)) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let t = trim_ascii(text);
    if t.first() == Some(&b'[') {
        // Parsed from the start of the text (leading white space included) so that serde's
        // line numbers are the file's.
        // Streamed element by element, so that the records before a cut or a syntax error
        // are still read (Okta System Log exports, `gcloud logging read --format=json`).
        let mut index = 0;
        let mut de = serde_json::Deserializer::from_slice(text);
        let res = TopSeed {
            sink: &mut |v| {
                emit(path, index, v, f, &mut diags);
                index += 1;
            },
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Err(e) = res {
            diags.push(bad_record(
                path,
                index,
                &format!("in the JSON array: {}", json_error(&e, 0)),
            ));
        }
        return diags;
    }
    // A sequence of values; after a syntax error, resume at the next line that opens a value.
    let mut pos = 0;
    // Lines before `pos`, so that errors name the file's line, not the parsed piece's.
    let mut lines_before = 0;
    let mut index = 0;
    while pos < text.len() {
        let mut err_line = None;
        let mut de = serde_json::Deserializer::from_slice(&text[pos..]);
        loop {
            // Stop at the end of the input (only white space left; `end` consumes nothing
            // else).
            if de.end().is_ok() {
                break;
            }
            // Values are streamed, so an envelope's records before a cut are still read.
            let res = TopSeed {
                sink: &mut |v| {
                    emit(path, index, v, f, &mut diags);
                    index += 1;
                },
            }
            .deserialize(&mut de);
            if let Err(e) = res {
                diags.push(bad_record(path, index, &json_error(&e, lines_before)));
                index += 1;
                err_line = Some(e.line().max(1));
                break;
            }
        }
        let Some(line) = err_line else { break };
        // Skip past the line of the error, then to a line that starts a value.
        let mut p = pos;
        for _ in 0..line {
            p = match text[p..].iter().position(|&b| b == b'\n') {
                Some(nl) => p + nl + 1,
                None => text.len(),
            };
        }
        while p < text.len() {
            let end = text[p..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |nl| p + nl);
            if matches!(trim_ascii(&text[p..end]).first(), Some(b'{' | b'[')) {
                break;
            }
            p = (end + 1).min(text.len());
        }
        lines_before += memchr::memchr_iter(b'\n', &text[pos..p]).count();
        pos = p;
    }
    diags
}

/// UTF-16 text (after its byte-order mark) as UTF-8, or the byte offset in the file of the
/// first unpaired surrogate or of an odd trailing byte.
fn utf16_to_utf8(b: &[u8], little: bool) -> Result<String, usize> {
    if b.len() % 2 == 1 {
        return Err(2 + b.len() - 1);
    }
    let units = b.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut out = String::with_capacity(b.len() / 2);
    // UTF-16 units decoded so far.
    let mut done = 0;
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| 2 + 2 * done)?;
        out.push(c);
        done += c.len_utf16();
    }
    Ok(out)
}

/// Read one line, keeping at most `MAX_LINE + 1` bytes of it (the rest is consumed and
/// dropped). Returns the line's whole length without its `\n`, or `None` at the end of input.
fn read_line_bounded(r: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    let mut total = 0;
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = (MAX_LINE + 1).saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        total += n;
        r.consume(n);
        if done {
            return Ok(Some(total - 1));
        }
    }
}

fn trim_ascii_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[..end]
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

/// Reads one top-level JSON value and passes on its records: the elements of an array, the
/// records of an envelope object (see [`ENVELOPES`]; its other keys are ignored), or the
/// value itself. Elements are passed on as they are parsed, so that a later error leaves the
/// earlier records read.
struct TopSeed<'s> {
    sink: &'s mut dyn FnMut(Value),
}

impl<'de> serde::de::DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.sink)(v);
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            (self.sink)(Value::Object(Map::new()));
            return Ok(());
        };
        if ENVELOPES.contains(&first.as_str()) {
            map.next_value_seed(Records { sink: self.sink })?;
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            return Ok(());
        }
        let mut m = Map::new();
        m.insert(first, map.next_value()?);
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        (self.sink)(Value::Object(m));
        Ok(())
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        (self.sink)(Value::Bool(v));
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        (self.sink)(Value::from(v));
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        (self.sink)(Value::from(v));
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        (self.sink)(Value::from(v));
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        (self.sink)(Value::from(v));
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        (self.sink)(Value::Null);
        Ok(())
    }
}

/// The array of an envelope, element by element.
struct Records<'s> {
    sink: &'s mut dyn FnMut(Value),
}

impl<'de> serde::de::DeserializeSeed<'de> for Records<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Records<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.sink)(v);
        }
        Ok(())
    }
}

fn emit(path: &Path, index: usize, v: Value, f: &mut dyn FnMut(Item), diags: &mut Vec<Diagnostic>) {
    match v {
        Value::Object(m) => f(Item::Record(Record {
            index,
            event: event_from_json(&m),
        })),
        other => diags.push(bad_record(
            path,
            index,
            &format!("expected a JSON object, found {}", kind(&other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object as an event: Windows event JSON (`{"Event": {"System": ..}}`) is flattened
/// Sigma-style; a syslog record in JSON whose message is Windows event XML (Sysmon for Linux
/// read with `journalctl -o json`, or forwarded as JSON) is that event, with the record's
/// other fields added where the event lacks them; anything else is a flat event (nested
/// objects as dotted names). XML that does not parse leaves the record a flat event.
pub fn event_from_json(m: &Map<String, Value>) -> Event {
    match m.get("Event") {
        Some(Value::Object(inner)) if inner.contains_key("System") => return windows_event(inner),
        _ => {}
    }
    for (k, v) in m {
        if let Value::String(text) = v {
            if is_xml_message(k, text) {
                if let Ok(mut e) = super::event_xml::xml_event(text) {
                    let rest = Event::from_json_map(m);
                    for (name, vals) in rest.fields {
                        if &*name != k.as_str() && e.get(&name).is_none() {
                            e.set(&name, vals);
                        }
                    }
                    return e;
                }
            }
        }
    }
    Event::from_json_map(m)
}

/// Whether a top-level field of a JSON record is a syslog message holding Windows event XML
/// (journald's `MESSAGE`, the `message` of syslog shippers).
pub fn is_xml_message(name: &str, text: &str) -> bool {
    text.starts_with("<Event") && (name == "MESSAGE" || name == "message")
}

/// Flatten the inside of `Event` (System, EventData, UserData).
pub fn windows_event(ev: &Map<String, Value>) -> Event {
    let mut e = Event::new();
    if let Some(Value::Object(sys)) = ev.get("System") {
        for (k, v) in sys {
            if k.starts_with('_') || k.starts_with('#') {
                continue;
            }
            match v {
                Value::Object(o) => {
                    if let Some(t) = o.get("#text") {
                        e.push_json(k, t, 1);
                    }
                    if let Some(Value::Object(attrs)) = o.get("#attributes") {
                        for (a, av) in attrs {
                            e.push_json(&format!("{k}_{a}"), av, 1);
                        }
                    }
                    // EVTX JSON without separated attributes: `{"Provider": {"Name": ..}}`.
                    for (a, av) in o {
                        if !a.starts_with('#') {
                            e.push_json(&format!("{k}_{a}"), av, 1);
                        }
                    }
                }
                other => e.push_json(k, other, 1),
            }
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(Value::Object(data)) = ev.get(section) {
            leaves(&mut e, data, 0);
        }
    }
    e
}

/// EventData / UserData values by element name; `#text` of an element is its value.
fn leaves(e: &mut Event, m: &Map<String, Value>, depth: usize) {
    if depth > 16 {
        return;
    }
    for (k, v) in m {
        if k.starts_with('_') || k == "#attributes" {
            continue;
        }
        match v {
            Value::Object(o) => match o.get("#text") {
                Some(t) => e.push_json(k, t, 1),
                None => leaves(e, o, depth + 1),
            },
            other => e.push_json(k, other, 1),
        }
    }
}

/// Records of a `.evtx` file. A record that fails to parse is a diagnostic; a file whose header
/// is unreadable is one diagnostic. A panic inside the parser (corrupt data the crate does not
/// guard against) ends that file with a diagnostic instead of the run.
///
/// What the parser skips silently is said too ([`super::evtx_layout`]): zeroed chunks among
/// those the header counts, chunks missing from the end, and a file that ends inside a chunk
/// (the records that lie whole before the cut are still read).
pub fn read_evtx(path: &Path, sink: &mut dyn FnMut(Record)) -> Vec<Diagnostic> {
    let layout = super::evtx_layout::scan(path);
    let mut diags = layout.diags;
    let mut next_index = 0;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let settings = evtx::ParserSettings::default()
            .separate_json_attributes(false)
            .num_threads(1);
        let mut parser = match evtx::EvtxParser::from_path(path) {
            Ok(p) => p.with_configuration(settings),
            Err(e) => {
                diags.push(io_error(path, &format!("not a readable EVTX file: {e}")));
                return;
            }
        };
        for (index, rec) in parser.records_json_value().enumerate() {
            next_index = index + 1;
            match rec {
                Ok(r) => match r.data {
                    Value::Object(m) => sink(Record {
                        index,
                        event: event_from_json(&m),
                    }),
                    other => diags.push(bad_record(
                        path,
                        index,
                        &format!("expected an event object, found {}", kind(&other)),
                    )),
                },
                Err(e) => diags.push(evtx_error(path, index, &e)),
            }
        }
    }));
    if result.is_err() {
        diags.push(io_error(
            path,
            "the EVTX parser failed on corrupt data; the rest of this file is skipped",
        ));
        return diags;
    }
    if let Some((chunk, have)) = layout.partial {
        let (records, d) = super::evtx_layout::read_tail(path, chunk, have);
        for (i, v) in records.into_iter().enumerate() {
            if let Value::Object(m) = v {
                sink(Record {
                    index: next_index + i,
                    event: event_from_json(&m),
                });
            }
        }
        diags.push(d);
    }
    diags
}

/// The diagnostic of an `evtx` error, with its causes: a whole chunk that cannot be read (its
/// records are lost; where it is in the file is added), or one record (`index`; the crate's
/// message says where it is).
fn evtx_error(path: &Path, index: usize, e: &evtx::err::EvtxError) -> Diagnostic {
    let msg = error_chain(e);
    match e {
        evtx::err::EvtxError::FailedToParseChunk { chunk_id, .. } => {
            let at = super::evtx_layout::HEADER + chunk_id * super::evtx_layout::CHUNK;
            Diagnostic::error(
                "bad-event",
                format!(
                    "corrupt EVTX chunk: {msg} (chunk {chunk_id} starts at file offset {at}); \
                     its records are lost"
                ),
            )
            .in_file(path)
        }
        _ => bad_record(path, index, &format!("corrupt EVTX record: {msg}")),
    }
}

/// An error and its causes, outermost first ("Failed to parse chunk number 0: invalid magic"):
/// the `evtx` crate's top-level messages name the chunk, their sources what is wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> (Vec<Record>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let d = read_json(Path::new("t.json"), text.as_bytes(), &mut |r| out.push(r));
        (out, d)
    }

    #[test]
    fn ndjson_with_a_bad_line() {
        let (rs, d) = collect("{\"a\": 1}\n{\"a\": \n\n{\"a\": 3, \"_x\": 1}\n");
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[1].index, 2);
        assert!(rs[1].event.get("_x").is_none());
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("record 1"), "{}", d[0].message);
        assert_eq!(d[0].path.as_deref(), Some(Path::new("t.json")));
    }

    #[test]
    fn array_and_pretty_objects() {
        let (rs, d) = collect("[{\"a\": 1}, {\"a\": 2}, 3]");
        assert_eq!(rs.len(), 2);
        assert_eq!(d.len(), 1);
        let (rs, d) = collect("{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n");
        assert_eq!((rs.len(), d.len()), (2, 0));
        let (rs, d) = collect("{\n \"a\": 1\n}\n{\n \"a\": \n}\n{\n \"a\": 3\n}\n");
        assert_eq!(rs.len(), 2, "the value after the bad one is still read");
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn huge_line_is_reported_and_skipped() {
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_LINE + 10));
        let text = format!("{{\"a\": 0}}\n{big}\n{{\"a\": 2}}\n");
        let (rs, d) = collect(&text);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[1].index, 2);
        let want = format!("record 1: line 2 is {} bytes long", big.len());
        assert!(d[0].message.starts_with(&want), "{}", d[0].message);
        // On the first line, too: the file is still read as NDJSON, not as one JSON text.
        let (rs, d) = collect(&format!("{big}\n\n{{\"a\": 2}}\n"));
        assert_eq!((rs.len(), d.len()), (1, 1));
        assert_eq!(rs[0].index, 1);
        let want = format!("record 0: line 1 is {} bytes long", big.len());
        assert!(d[0].message.starts_with(&want), "{}", d[0].message);
    }

    #[test]
    fn windows_json_flattening() {
        let v: Value = serde_json::from_str(
            r##"{"Event": {"#attributes": {"xmlns": "x"}, "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "G"}},
                "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "pc1", "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}},
                "Execution": {"#attributes": {"ProcessID": 5}}},
              "EventData": {"Image": "C:\\a.exe", "Hashes": {"#text": "MD5=1"}},
              "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "y"}, "SubjectUserName": "bob"}}}}"##,
        )
        .unwrap();
        let e = event_from_json(v.as_object().unwrap());
        assert_eq!(
            e.get_text("Provider_Name"),
            Some("Microsoft-Windows-Sysmon")
        );
        assert_eq!(e.get_text("EventID"), Some("1"));
        assert_eq!(e.get_text("Computer"), Some("pc1"));
        assert_eq!(
            e.get_text("TimeCreated_SystemTime"),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(e.get_text("Execution_ProcessID"), Some("5"));
        assert_eq!(e.get_text("Image"), Some("C:\\a.exe"));
        assert_eq!(e.get_text("Hashes"), Some("MD5=1"));
        assert_eq!(e.get_text("SubjectUserName"), Some("bob"));
    }

    #[test]
    fn corrupt_evtx_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.evtx");
        std::fs::write(&p, b"ElfFile\0garbage").unwrap();
        let mut n = 0;
        let d = read_evtx(&p, &mut |_| n += 1);
        assert_eq!(n, 0);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path.as_deref(), Some(p.as_path()));
    }
}
