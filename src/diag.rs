//! Diagnostics: source files, byte spans, errors as values, and their rendering.
//!
//! Every stage (parser, lowering, checks, targets) reports problems as [`Diagnostic`] values
//! pointing at a [`Span`] in a [`SourceId`]. Nothing here aborts: callers collect diagnostics in a
//! [`Diagnostics`] list and the CLI decides the exit code from the worst severity at the end.
//! Rendering (rustc-style text with `path:line:col`, the source line and a caret, or JSON for CI
//! annotations) happens only at the edge, via [`Sources`].

use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files;
use codespan_reporting::term;
use serde::Serialize;

/// A half-open byte range `start..end` inside one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }
    /// A zero-width span at `pos`.
    pub fn at(pos: usize) -> Span {
        Span::new(pos, pos)
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Index of a file in [`Sources`]. Spans are only meaningful together with their `SourceId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize)]
pub struct SourceId(pub u32);

/// A span in a particular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    pub source: SourceId,
    pub span: Span,
}

impl Loc {
    pub fn new(source: SourceId, span: Span) -> Loc {
        Loc { source, span }
    }
}

/// All source texts of a run. Files that are not valid UTF-8 are stored lossily so that
/// diagnostics can still show them.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<(PathBuf, String)>,
    /// Per file, the byte offset where each line starts, computed once on first use: a line
    /// and column found by scanning the text from its start (or a line table built per
    /// rendered diagnostic) made 10,000 diagnostics in one big file quadratic.
    lines: Vec<std::sync::OnceLock<Vec<usize>>>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> SourceId {
        self.files.push((path.into(), text));
        self.lines.push(std::sync::OnceLock::new());
        SourceId((self.files.len() - 1) as u32)
    }
    pub fn path(&self, id: SourceId) -> &Path {
        &self.files[id.0 as usize].0
    }
    pub fn text(&self, id: SourceId) -> &str {
        &self.files[id.0 as usize].1
    }
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: u32) -> (usize, usize) {
        let text = self.text(id);
        let mut off = (offset as usize).min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let starts = self.line_starts(id);
        let line = starts.partition_point(|&s| s <= off) - 1;
        let col = text[starts[line]..off].chars().count() + 1;
        (line + 1, col)
    }
    /// Byte offsets where the lines of a file start (the first is 0).
    fn line_starts(&self, id: SourceId) -> &[usize] {
        self.lines[id.0 as usize]
            .get_or_init(|| codespan_reporting::files::line_starts(self.text(id)).collect())
    }
    /// Where line `i` (0-based) starts; the text's length for the line after the last.
    fn line_start(&self, id: SourceId, i: usize) -> Result<usize, files::Error> {
        let starts = self.line_starts(id);
        match i.cmp(&starts.len()) {
            std::cmp::Ordering::Less => Ok(starts[i]),
            std::cmp::Ordering::Equal => Ok(self.text(id).len()),
            std::cmp::Ordering::Greater => Err(files::Error::LineTooLarge {
                given: i,
                max: starts.len() - 1,
            }),
        }
    }
    /// `path:line:col` of a location.
    pub fn position(&self, loc: Loc) -> String {
        let (l, c) = self.line_col(loc.source, loc.span.start);
        format!("{}:{}:{}", self.path(loc.source).display(), l, c)
    }
}

/// The run's sources as codespan sees them, with the cached line tables.
struct RenderFiles<'a>(&'a Sources);

impl<'a> files::Files<'a> for RenderFiles<'a> {
    type FileId = u32;
    type Name = std::path::Display<'a>;
    type Source = &'a str;

    fn name(&'a self, id: u32) -> Result<Self::Name, files::Error> {
        Ok(self.0.path(SourceId(id)).display())
    }
    fn source(&'a self, id: u32) -> Result<&'a str, files::Error> {
        Ok(self.0.text(SourceId(id)))
    }
    fn line_index(&'a self, id: u32, byte_index: usize) -> Result<usize, files::Error> {
        let starts = self.0.line_starts(SourceId(id));
        Ok(starts
            .partition_point(|&s| s <= byte_index)
            .saturating_sub(1))
    }
    fn line_range(&'a self, id: u32, line: usize) -> Result<std::ops::Range<usize>, files::Error> {
        let id = SourceId(id);
        Ok(self.0.line_start(id, line)?..self.0.line_start(id, line + 1)?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A secondary location with its own message ("first defined here").
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub loc: Loc,
    pub message: String,
}

/// One problem, as data. `code` is a stable kebab-case identifier (`undefined-selection`,
/// `invalid-regex`, ...) that tests and CI annotations can rely on.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    /// Where the problem is; `None` for problems without a source position (I/O errors).
    pub loc: Option<Loc>,
    /// Short text shown under the caret.
    pub label: String,
    /// What would have been accepted here.
    pub expected: Option<String>,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    /// A file path for diagnostics that have no span (I/O errors).
    pub path: Option<PathBuf>,
    /// A "did you mean" fix: the text that replaces the primary span (SARIF `fixes`, editors).
    pub fix: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            loc: None,
            label: String::new(),
            expected: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            path: None,
            fix: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn at(mut self, loc: Loc) -> Diagnostic {
        self.loc = Some(loc);
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }
    pub fn expected(mut self, expected: impl Into<String>) -> Diagnostic {
        self.expected = Some(expected.into());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    /// Suggest replacing the primary span with `replacement` ("did you mean `X`?").
    pub fn suggest(mut self, replacement: impl Into<String>) -> Diagnostic {
        let r = replacement.into();
        self.notes.push(format!("did you mean `{r}`?"));
        self.fix = Some(r);
        self
    }
    pub fn secondary(mut self, loc: Loc, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            loc,
            message: message.into(),
        });
        self
    }
    pub fn in_file(mut self, path: impl Into<PathBuf>) -> Diagnostic {
        self.path = Some(path.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// An ordered collection of diagnostics.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    /// Sort by file, then position, so output is deterministic whatever order stages ran in.
    pub fn sort(&mut self, sources: &Sources) {
        self.0.sort_by_key(|d| match d.loc {
            Some(l) => (sources.path(l.source).to_path_buf(), l.span.start, d.code),
            None => (d.path.clone().unwrap_or_default(), 0, d.code),
        });
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Machine-readable form of one diagnostic (`--format json`), one object per line.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub expected: Option<&'a str>,
    pub notes: &'a [String],
    /// The text that replaces `line:column`..`end_line:end_column` to fix the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'a str>,
}

impl Sources {
    pub fn to_json<'a>(&self, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
        let (file, start, end) = match d.loc {
            Some(l) => (
                Some(self.path(l.source).display().to_string()),
                Some(self.line_col(l.source, l.span.start)),
                Some(self.line_col(l.source, l.span.end)),
            ),
            None => (d.path.as_ref().map(|p| p.display().to_string()), None, None),
        };
        JsonDiagnostic {
            severity: d.severity,
            code: d.code,
            message: &d.message,
            file,
            line: start.map(|s| s.0),
            column: start.map(|s| s.1),
            end_line: end.map(|s| s.0),
            end_column: end.map(|s| s.1),
            expected: d.expected.as_deref(),
            notes: &d.notes,
            fix: d.fix.as_deref(),
        }
    }

    /// Render rustc-style: `error[code]: message`, ` --> path:line:col`, the line and a caret.
    pub fn render(&self, d: &Diagnostic, color: bool) -> String {
        // The files' line tables are built once per run (see `lines`), not per diagnostic.
        let files = RenderFiles(self);
        let sev = match d.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        let mut message = d.message.clone();
        if d.loc.is_none() {
            if let Some(p) = &d.path {
                message = format!("{}: {}", p.display(), message);
            }
        }
        let mut out = cs::Diagnostic::new(sev)
            .with_code(d.code)
            .with_message(message);
        let mut labels = Vec::new();
        if let Some(l) = d.loc {
            labels
                .push(cs::Label::primary(l.source.0, l.span.range()).with_message(d.label.clone()));
        }
        for s in &d.secondary {
            labels.push(
                cs::Label::secondary(s.loc.source.0, s.loc.span.range())
                    .with_message(s.message.clone()),
            );
        }
        out = out.with_labels(labels);
        let mut notes = Vec::new();
        if let Some(e) = &d.expected {
            notes.push(format!("expected: {e}"));
        }
        notes.extend(d.notes.iter().cloned());
        out = out.with_notes(notes);
        let config = term::Config::default();
        let result = if color {
            let mut w = term::termcolor::Ansi::new(Vec::new());
            term::emit(&mut w, &config, &files, &out).map(|_| w.into_inner())
        } else {
            let mut w = term::termcolor::NoColor::new(Vec::new());
            term::emit(&mut w, &config, &files, &out).map(|_| w.into_inner())
        };
        match result {
            Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
            // Spans out of range should not happen; fall back to a plain line rather than panic.
            Err(_) => format!("{}[{}]: {}\n", sev_word(d.severity), d.code, d.message),
        }
    }
}

fn sev_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
