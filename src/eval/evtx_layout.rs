//! What the `evtx` crate passes over in silence: an EVTX file's chunk layout, checked before
//! its records are read, and the records of a chunk the file ends inside.
//!
//! The crate skips a chunk that is all zeros (a "dirty" file may have some after its last
//! chunk in use) and an incomplete last chunk, without a word. Both lose records when they
//! happen inside the chunks the file header counts, so [`scan`] reports them as errors naming
//! the chunk and its byte offset; [`read_tail`] then reads the records that lie whole in the
//! part of the last chunk that is there.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::diag::Diagnostic;

/// EVTX layout: a 4 KiB file header, then 64 KiB chunks.
pub const HEADER: u64 = 4096;
pub const CHUNK: u64 = 65536;

/// Where the file header keeps its chunk count (little-endian u16).
const HEADER_CHUNK_COUNT: usize = 42;
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";

/// The layout of one file as far as [`scan`] could tell.
pub struct Layout {
    /// Problems found (errors).
    pub diags: Vec<Diagnostic>,
    /// The file ends inside this chunk, after this many of its bytes.
    pub partial: Option<(u64, u64)>,
}

/// Check the chunk layout of `path`: that the file is whole chunks, that it holds as many as
/// its header counts, and that none of those is zeroed. Reads 8 bytes per chunk (a whole
/// chunk only when its first bytes are zeros). A file too short for its header is left to the
/// parser, which reports it.
pub fn scan(path: &Path) -> Layout {
    let mut out = Layout {
        diags: Vec::new(),
        partial: None,
    };
    let Ok(mut f) = std::fs::File::open(path) else {
        return out;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return out;
    };
    let mut header = [0u8; HEADER as usize];
    if len < HEADER || f.read_exact(&mut header).is_err() || !header.starts_with(b"ElfFile\0") {
        return out;
    }
    let counted = u64::from(u16::from_le_bytes([
        header[HEADER_CHUNK_COUNT],
        header[HEADER_CHUNK_COUNT + 1],
    ]));
    let whole = (len - HEADER) / CHUNK;
    let rest = (len - HEADER) % CHUNK;
    if rest != 0 {
        out.partial = Some((whole, rest));
    }
    let error = |msg: String| Diagnostic::error("bad-evtx", msg).in_file(path);
    // Chunks the header counts that the file does not hold at all (cut at a chunk boundary,
    // or inside the last one).
    let present = whole + u64::from(rest != 0);
    if counted > present {
        out.diags.push(error(format!(
            "the file header counts {counted} chunk(s) but the file holds {present} \
             ({len} bytes): the file is truncated and the records of the missing chunks are lost"
        )));
    }
    for n in 0..whole.min(counted) {
        let offset = HEADER + n * CHUNK;
        let mut magic = [0u8; 8];
        if f.seek(SeekFrom::Start(offset)).is_err() || f.read_exact(&mut magic).is_err() {
            break;
        }
        // A chunk that does not start with its magic but is not zeros is reported by the
        // parser (as a corrupt chunk); a zeroed one is skipped by it without a word.
        if magic != [0; 8] {
            continue;
        }
        let mut chunk = vec![0u8; CHUNK as usize];
        if f.seek(SeekFrom::Start(offset)).is_err() || f.read_exact(&mut chunk).is_err() {
            break;
        }
        if chunk.iter().all(|&b| b == 0) {
            out.diags.push(error(format!(
                "chunk {n} (bytes {offset}..{}) is all zeros, though the file header counts \
                 {counted} chunk(s) in use: its records are lost",
                offset + CHUNK
            )));
        }
    }
    out
}

/// The records of the chunk the file ends inside (chunk `number`, `have` bytes of it), as JSON
/// values in file order, and the diagnostic that says what was cut. The missing bytes are read
/// as zeros, so records that lie whole before the cut parse and the walk stops at the first
/// record the cut reaches.
pub fn read_tail(path: &Path, number: u64, have: u64) -> (Vec<serde_json::Value>, Diagnostic) {
    let offset = HEADER + number * CHUNK;
    let mut cut = format!(
        "the file ends inside chunk {number}, {have} of its {CHUNK} bytes in (file offset {})",
        offset + have
    );
    let mut records = Vec::new();
    let mut buf = vec![0u8; (HEADER + CHUNK) as usize];
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.read_exact(&mut buf[..HEADER as usize])?;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(&mut buf[HEADER as usize..(HEADER + have) as usize])
    });
    let chunk = &buf[HEADER as usize..];
    if read.is_err() || !chunk.starts_with(CHUNK_MAGIC) || have < 512 {
        cut.push_str("; no record of it could be read");
        return (records, truncated(path, cut));
    }
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&chunk[at..at + 8]);
        u64::from_le_bytes(b)
    };
    // First and last record number, as the chunk header says.
    let (first, last) = (u64_at(8), u64_at(16));
    let expected = last.checked_sub(first).and_then(|d| d.checked_add(1));
    let settings = evtx::ParserSettings::default()
        .separate_json_attributes(false)
        .num_threads(1);
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut out = Vec::new();
        if let Ok(p) = evtx::EvtxParser::from_buffer(buf.clone()) {
            let mut p = p.with_configuration(settings);
            // Errors here are records the cut reached; they are counted as lost below.
            out.extend(
                p.records_json_value()
                    .filter_map(|r| r.ok())
                    .map(|r| r.data),
            );
        }
        out
    }));
    if let Ok(rs) = parsed {
        records = rs;
    }
    match expected {
        Some(n) if (records.len() as u64) < n => cut.push_str(&format!(
            "; {} of its {n} record(s) were read, the rest are lost",
            records.len()
        )),
        Some(n) => cut.push_str(&format!(
            "; the {n} record(s) its header names were read; chunks after it, if any, are lost"
        )),
        None => cut.push_str(&format!("; {} record(s) were read", records.len())),
    }
    (records, truncated(path, cut))
}

fn truncated(path: &Path, msg: String) -> Diagnostic {
    Diagnostic::error("truncated-evtx", msg).in_file(path)
}
