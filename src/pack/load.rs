//! Finding and reading rule files (`.det` and Sigma `.yml`/`.yaml`) and dispatching them to the
//! right front end.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, Loc, Sources, Span};
use crate::ir::Rule;

/// File kinds the loader understands, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dsl,
    Sigma,
}

pub const EXTENSIONS: &[(&str, Kind)] = &[
    ("det", Kind::Dsl),
    ("yml", Kind::Sigma),
    ("yaml", Kind::Sigma),
];

/// Largest rule file we read; anything bigger is almost certainly not a rule file.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

pub fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, k)| *k)
}

/// Every rule file under `paths` (folders are walked recursively), sorted so that builds do not
/// depend on directory order. A path that does not exist is an I/O diagnostic.
pub fn collect_files(paths: &[PathBuf], diags: &mut Diagnostics) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut out, diags),
            Ok(_) => {
                if kind_of(p).is_some() {
                    out.push(p.clone());
                } else {
                    diags.push(
                        Diagnostic::error("io", "not a rule file")
                            .in_file(p)
                            .expected("a .det, .yml or .yaml file, or a folder"),
                    );
                }
            }
            Err(e) => diags.push(Diagnostic::error("io", format!("cannot read: {e}")).in_file(p)),
        }
    }
    out.sort();
    out.dedup();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error("io", format!("cannot read folder: {e}")).in_file(dir));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        // Symlinked folders are not followed, so a link cycle cannot hang the walk.
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, out, diags),
            Ok(m) if m.is_file() && kind_of(&p).is_some() => out.push(p),
            Ok(m) if m.file_type().is_symlink() && p.is_file() && kind_of(&p).is_some() => {
                out.push(p)
            }
            _ => {}
        }
    }
}

/// Read one file into `sources`. Invalid UTF-8 is a diagnostic at the first bad byte; the text is
/// kept (lossily) so the diagnostic can show the line.
pub fn read_source(
    path: &Path,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<(crate::diag::SourceId, bool)> {
    let bytes = read_bytes(path);
    add_source(path, bytes, sources, diags)
}

/// A file's bytes, or the diagnostic for a file that is too large or cannot be read. Needs no
/// `Sources`, so many files can be read in parallel.
fn read_bytes(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return Err(Diagnostic::error(
                "file-too-large",
                format!(
                    "file is {} bytes; rule files are at most {MAX_FILE_BYTES}",
                    m.len()
                ),
            )
            .in_file(path));
        }
        _ => {}
    }
    std::fs::read(path)
        .map_err(|e| Diagnostic::error("io", format!("cannot read: {e}")).in_file(path))
}

/// Add what [`read_bytes`] gave to `sources` (see [`read_source`]).
fn add_source(
    path: &Path,
    bytes: Result<Vec<u8>, Diagnostic>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<(crate::diag::SourceId, bool)> {
    let mut bytes = match bytes {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    // A UTF-8 byte-order mark is not part of the text: dropped, so that columns on the first
    // line are the ones an editor shows.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some((sources.add(path, text), true)),
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // Offsets in the lossy text equal offsets in the bytes up to the first bad byte.
            let id = sources.add(path, text);
            diags.push(
                Diagnostic::error("invalid-utf8", "file is not valid UTF-8")
                    .at(Loc::new(id, Span::new(bad, bad + 1)))
                    .label("invalid byte")
                    .expected("UTF-8 text"),
            );
            Some((id, false))
        }
    }
}

/// Parse one file's text with the front end its extension names (also `detc lsp`'s way to read
/// an editor buffer, so that it reads a file exactly as the loader does).
///
/// A file that holds nothing (empty, only a byte-order mark, only blank lines and comments, or
/// only empty YAML documents) is one `empty-file` error, whatever made it empty: a rule folder
/// with such a file most likely lost its content.
pub fn parse_one(f: &Path, id: crate::diag::SourceId, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    parse_one_lexed(f, id, text, None)
}

/// [`parse_one`] with the tokens of a `.det` text given (`detc lsp` keeps them up to date
/// while typing, see `dsl::lexer::relex`).
pub fn parse_one_lexed(
    f: &Path,
    id: crate::diag::SourceId,
    text: &str,
    toks: Option<&[crate::dsl::lexer::Token]>,
) -> (Vec<Rule>, Vec<Diagnostic>) {
    let empty = || {
        Diagnostic::error("empty-file", "file holds no rules")
            .at(Loc::new(id, Span::at(0)))
            .note("the file is empty or has only blank lines, comments or a byte-order mark")
            .expected(match kind_of(f) {
                Some(Kind::Sigma) => "a Sigma rule",
                _ => "`rule NAME { ... }`",
            })
    };
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return (Vec::new(), vec![empty()]);
    }
    let (rules, diags) = match kind_of(f) {
        Some(Kind::Sigma) => {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("rule");
            crate::sigma::read_named(id, text, stem)
        }
        _ => match toks {
            Some(toks) => crate::dsl::parse_lexed(id, text, toks),
            None => crate::dsl::parse(id, text),
        },
    };
    // No rule and nothing said (a Sigma filter file gets a warning, so it is not caught here).
    if rules.is_empty() && diags.is_empty() {
        return (rules, vec![empty()]);
    }
    (rules, diags)
}

/// Load every rule under `paths`. Rules come back in file order, then in order within a file.
pub fn load_rules(paths: &[PathBuf], sources: &mut Sources) -> (Vec<Rule>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let files = collect_files(paths, &mut diags);
    let mut rules = Vec::new();
    use rayon::prelude::*;
    // Read in parallel, add to `sources` in file order, then parse in parallel; results are
    // gathered in file order, so the output does not depend on thread scheduling.
    let read: Vec<Result<Vec<u8>, Diagnostic>> = files.par_iter().map(|f| read_bytes(f)).collect();
    let mut loaded = Vec::new();
    for (f, bytes) in files.into_iter().zip(read) {
        let Some((id, ok)) = add_source(&f, bytes, sources, &mut diags) else {
            continue;
        };
        if ok {
            loaded.push((f, id));
        }
    }
    let parsed: Vec<(Vec<Rule>, Vec<Diagnostic>)> = {
        let sources: &Sources = sources;
        loaded
            .par_iter()
            .map(|(f, id)| parse_one(f, *id, sources.text(*id)))
            .collect()
    };
    for (rs, ds) in parsed {
        diags.extend(ds);
        rules.extend(rs);
    }
    (rules, diags)
}
