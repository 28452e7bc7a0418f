//! The editor's open documents: their text as the client last sent it (full or incremental
//! sync), and the conversion between byte offsets (what spans hold) and LSP positions (line and
//! UTF-16 code unit, the protocol's default encoding).

use std::path::{Path, PathBuf};

use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

use crate::dsl::lexer::{self, Token};
use crate::dsl::MAX_FILE_SIZE;
use crate::pack::load::{kind_of, Kind};

/// One open document.
#[derive(Debug, Clone)]
pub struct Document {
    pub uri: Uri,
    /// The file path the URI names (or the URI text for other schemes): the front end is chosen
    /// by its extension and Sigma rules are named after its stem, as `detc check` does.
    pub path: PathBuf,
    pub version: i32,
    pub text: String,
    /// Byte offset where each line starts (the first is 0).
    lines: Vec<usize>,
    /// The tokens of a `.det` text, kept up to date edit by edit (`dsl::lexer::relex`): lexing
    /// was most of the time of reading a 2,000-line file again on each keystroke.
    tokens: Option<Vec<Token>>,
}

impl Document {
    pub fn new(uri: Uri, version: i32, text: String) -> Document {
        let path = uri_to_path(&uri);
        let lines = line_starts(&text);
        let tokens = (kind_of(&path) == Some(Kind::Dsl) && text.len() <= MAX_FILE_SIZE)
            .then(|| lexer::lex(&text));
        Document {
            uri,
            path,
            version,
            text,
            lines,
            tokens,
        }
    }

    /// The tokens of a `.det` text (`None` for Sigma, other files and oversized texts).
    pub fn tokens(&self) -> Option<&[Token]> {
        self.tokens.as_deref()
    }

    /// `.det` or Sigma, by the extension; `None` for a file detc does not read.
    pub fn kind(&self) -> Option<Kind> {
        kind_of(&self.path)
    }

    /// Apply the client's changes in order (a change without a range replaces the whole text).
    /// Ranges outside the text are clamped, so a confused client cannot make the server panic.
    pub fn apply(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) {
        for c in changes {
            let edit = match c.range {
                None => {
                    self.text = c.text;
                    None
                }
                Some(r) => {
                    let start = self.offset(r.start);
                    let end = self.offset(r.end).max(start);
                    self.text.replace_range(start..end, &c.text);
                    Some((start, end, c.text.len()))
                }
            };
            self.lines = line_starts(&self.text);
            self.tokens = match (self.tokens.take(), edit) {
                _ if self.text.len() > MAX_FILE_SIZE => None,
                (Some(old), Some((start, end, len))) => {
                    Some(lexer::relex(old, &self.text, start, end, len))
                }
                _ => (kind_of(&self.path) == Some(Kind::Dsl)).then(|| lexer::lex(&self.text)),
            };
        }
        self.version = version;
    }

    /// The byte offset of a position (clamped to the line's end and the text's end; a position
    /// inside a surrogate pair or a multi-byte character goes to the character's start).
    pub fn offset(&self, p: Position) -> usize {
        let line = p.line as usize;
        if line >= self.lines.len() {
            return self.text.len();
        }
        let start = self.lines[line];
        let end = self.lines.get(line + 1).copied().unwrap_or(self.text.len());
        let mut units = 0u32;
        for (i, ch) in self.text[start..end].char_indices() {
            if units >= p.character || ch == '\n' || ch == '\r' {
                return start + i;
            }
            units += ch.len_utf16() as u32;
        }
        end
    }

    /// The position of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let mut off = offset.min(self.text.len());
        while !self.text.is_char_boundary(off) {
            off -= 1;
        }
        let line = self.lines.partition_point(|&s| s <= off) - 1;
        let character = self.text[self.lines[line]..off]
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum();
        Position::new(line as u32, character)
    }

    pub fn range(&self, span: crate::diag::Span) -> Range {
        Range::new(
            self.position(span.start as usize),
            self.position(span.end as usize),
        )
    }

    /// The text of line `line` without its line end ("" past the end).
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.lines.get(line) else {
            return "";
        };
        let end = self.lines.get(line + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset where line `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.lines.get(line).copied().unwrap_or(self.text.len())
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect()
}

/// The path a `file:` URI names (percent-decoded); for another scheme, the URI's path part, so
/// that its extension still chooses the front end.
pub fn uri_to_path(uri: &Uri) -> PathBuf {
    let path = uri.path().as_str();
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    // `file:///C:/x` on Windows: drop the slash before the drive letter.
    let p = decoded.as_ref();
    let p = if p.len() > 2 && p.as_bytes()[0] == b'/' && p.as_bytes()[2] == b':' {
        &p[1..]
    } else {
        p
    };
    PathBuf::from(p)
}

/// The `file:` URI of a path (absolute paths; percent-encoding what a URI may not hold).
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let text = abs.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') {
        text
    } else {
        format!("/{text}")
    };
    format!("file://{}", utf8_percent_encode(&text, PATH))
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::TextDocumentContentChangeEvent as Change;

    fn doc(text: &str) -> Document {
        Document::new("file:///r/a.det".parse().unwrap(), 1, text.to_string())
    }

    #[test]
    fn positions_count_utf16_units() {
        let d = doc("ab\nx\u{1F600}y\n");
        assert_eq!(d.offset(Position::new(1, 3)), 3 + 1 + 4);
        assert_eq!(d.position(3 + 1 + 4), Position::new(1, 3));
        // Past the line's end: the line end; past the text: its end.
        assert_eq!(d.offset(Position::new(0, 99)), 2);
        assert_eq!(d.offset(Position::new(9, 0)), d.text.len());
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut d = doc("rule a {\n}\n");
        d.apply(
            2,
            vec![
                Change {
                    range: Some(Range::new(Position::new(0, 5), Position::new(0, 6))),
                    range_length: None,
                    text: "bcd".into(),
                },
                Change {
                    range: Some(Range::new(Position::new(1, 0), Position::new(1, 0))),
                    range_length: None,
                    text: "  title \"t\"\n".into(),
                },
            ],
        );
        assert_eq!(d.text, "rule bcd {\n  title \"t\"\n}\n");
        assert_eq!(
            d.tokens().unwrap(),
            lexer::lex(&d.text),
            "tokens kept edit by edit"
        );
        assert_eq!(d.line(1), "  title \"t\"");
        assert_eq!(d.version, 2);
    }

    #[test]
    fn file_uris_round_trip() {
        let p = Path::new("/tmp/a b/rule#1.det");
        let u = path_to_uri(p).unwrap();
        assert_eq!(u.as_str(), "file:///tmp/a%20b/rule%231.det");
        assert_eq!(uri_to_path(&u), p);
    }
}
