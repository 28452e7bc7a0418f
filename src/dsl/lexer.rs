//! Tokens of the rule language, produced by a nom lexer over a located span.
//!
//! The lexer never fails: every byte of the input ends up in some token, so the parser sees the
//! whole file and can point at anything. Strings that run to the end of the file are returned with
//! `terminated: false`, and the parser reports them.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{map, opt, recognize};
use nom::multi::fold_many0;
use nom::sequence::pair;
use nom::{IResult, Input, Parser};
use nom_locate::LocatedSpan;

use crate::diag::Span;

type In<'a> = LocatedSpan<&'a str>;

/// One token with its byte span.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: any run of characters that are neither white space nor punctuation
    /// (identifiers, numbers, UUIDs, dates, `filter_*`, `group-by`, `T1136.001`).
    Word(String),
    /// A quoted string, its text already un-doubled (`""` -> `"`).
    Str {
        text: String,
        double: bool,
        terminated: bool,
    },
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Colon,
    Newline,
    /// `# ...` to the end of the line; the text after `#`, trailing white space removed.
    Comment(String),
}

/// Characters that end a bare word.
pub fn is_punct(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '{' | '}' | '(' | ')' | '[' | ']' | ',' | '=' | ':' | '#'
    )
}

/// White space other than the newline; a byte-order mark (left by some Windows editors) counts.
fn is_blank(c: char) -> bool {
    c != '\n' && (c.is_whitespace() || c == '\u{feff}')
}

/// Whether `s` can be written as a bare word and reads back as the same text.
pub fn is_bare_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() && !is_blank(c) && !is_punct(c))
}

fn quoted(q: char) -> impl FnMut(In) -> IResult<In, (String, bool)> {
    move |i: In| {
        let qq: &'static str = if q == '"' { "\"\"" } else { "''" };
        let (i, _) = char(q)(i)?;
        let (i, text) = fold_many0(
            alt((
                map(take_while1(move |c: char| c != q), |s: In| *s.fragment()),
                map(tag(qq), move |_| if q == '"' { "\"" } else { "'" }),
            )),
            String::new,
            |mut acc: String, s: &str| {
                acc.push_str(s);
                acc
            },
        )
        .parse(i)?;
        let (i, close) = opt(char(q)).parse(i)?;
        Ok((i, (text, close.is_some())))
    }
}

fn token(i: In) -> IResult<In, Option<Tok>> {
    alt((
        map(take_while1(is_blank), |_| None),
        map(char('\n'), |_| Some(Tok::Newline)),
        map(
            recognize(pair(char('#'), take_while(|c| c != '\n'))),
            |s: In| Some(Tok::Comment(s.fragment()[1..].trim_end().to_string())),
        ),
        map(quoted('"'), |(text, terminated)| {
            Some(Tok::Str {
                text,
                double: true,
                terminated,
            })
        }),
        map(quoted('\''), |(text, terminated)| {
            Some(Tok::Str {
                text,
                double: false,
                terminated,
            })
        }),
        map(
            alt((
                char('{'),
                char('}'),
                char('('),
                char(')'),
                char('['),
                char(']'),
                char(','),
                char('='),
                char(':'),
            )),
            |c| {
                Some(match c {
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    ',' => Tok::Comma,
                    '=' => Tok::Eq,
                    _ => Tok::Colon,
                })
            },
        ),
        map(
            take_while1(|c: char| !c.is_whitespace() && !is_blank(c) && !is_punct(c)),
            |s: In| Some(Tok::Word(s.fragment().to_string())),
        ),
    ))
    .parse(i)
}

/// Split `text` into tokens (white space dropped, newlines and comments kept).
pub fn lex(text: &str) -> Vec<Token> {
    lex_from(text, 0, |_| false).0
}

/// The tokens of `text` after one edit, from `old`, the tokens of the text before it: bytes
/// `start..end` of the old text were replaced by `len` bytes. Equal to `lex(text)` (tested),
/// in time proportional to the edited lines rather than the file (`detc lsp`, per keystroke).
///
/// Each token depends only on the text from where it starts up to the character after it,
/// except an unterminated string, which is ended at its line only because no quote follows
/// anywhere. So the tokens that end before `start` are kept (up to the first unterminated
/// string), the text is lexed again from there, and as soon as a token starts past the new
/// text where an old one started (moved by the edit), the rest are the old ones, moved.
pub fn relex(mut old: Vec<Token>, text: &str, start: usize, end: usize, len: usize) -> Vec<Token> {
    let mut keep = old.partition_point(|t| (t.span.end as usize) < start);
    if let Some(i) = old[..keep].iter().position(|t| {
        matches!(
            t.kind,
            Tok::Str {
                terminated: false,
                ..
            }
        )
    }) {
        keep = i;
    }
    let from = keep.checked_sub(1).map_or(0, |i| old[i].span.end as usize);
    let new_end = start + len;
    let (grow, shrink) = (len as u32, (end - start) as u32);
    let mut resume = None;
    let (fresh, _) = lex_from(text, from, |q| {
        if q < new_end {
            return false;
        }
        // The same text follows in both from here: an old token starting at the same place
        // (before the edit's shift) means the old tokens from it are the new ones.
        let was = q as u32 - grow + shrink;
        let j = old.partition_point(|t| t.span.start < was);
        let found = old.get(j).is_some_and(|t| t.span.start == was);
        if found {
            resume = Some(j);
        }
        found
    });
    let mut tail = match resume {
        Some(j) => old.split_off(j),
        None => Vec::new(),
    };
    for t in &mut tail {
        t.span.start = t.span.start + grow - shrink;
        t.span.end = t.span.end + grow - shrink;
    }
    old.truncate(keep);
    old.extend(fresh);
    old.append(&mut tail);
    old
}

/// Lex `text` from byte `from` (0 or where a token ended), stopping at the first position
/// where the lexer is about to read a token and `stop` says so (returned).
fn lex_from(
    text: &str,
    from: usize,
    mut stop: impl FnMut(usize) -> bool,
) -> (Vec<Token>, Option<usize>) {
    let mut out = Vec::new();
    let mut input = In::new(&text[from..]);
    while !input.fragment().is_empty() {
        let start = from + input.location_offset();
        if stop(start) {
            return (out, Some(start));
        }
        match token(input) {
            // An unterminated string would swallow the rest of the file; end it at its line so
            // that the parser reports it once and goes on with the next lines.
            Ok((
                _,
                Some(Tok::Str {
                    double,
                    terminated: false,
                    ..
                }),
            )) if input.fragment().contains('\n') => {
                let line = input.fragment().find('\n').unwrap_or(0);
                let rest = input.take_from(line);
                out.push(Token {
                    kind: Tok::Str {
                        text: input.fragment()[1..line].to_string(),
                        double,
                        terminated: false,
                    },
                    span: Span::new(start, start + line),
                });
                input = rest;
            }
            Ok((rest, tok)) => {
                if let Some(kind) = tok {
                    out.push(Token {
                        kind,
                        span: Span::new(start, from + rest.location_offset()),
                    });
                }
                input = rest;
            }
            // Unreachable (every character starts some token), but never loop or panic: keep
            // the rest as one word so the parser reports it.
            Err(_) => {
                out.push(Token {
                    kind: Tok::Word(input.fragment().to_string()),
                    span: Span::new(start, text.len()),
                });
                break;
            }
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Tokens kept across edits are the tokens of the edited text: quotes that open or
        /// close strings over lines, doubled quotes, comments, words cut or joined.
        #[test]
        fn relex_after_edits_equals_lex(
            text in "[a-c \"'#{}=,\n\u{e9}]{0,80}",
            edits in prop::collection::vec((0.0..1.0f64, 0usize..12, "[a-c \"'#{}\n]{0,6}"), 1..6),
        ) {
            let mut text = text;
            let mut toks = lex(&text);
            for (at, delete, insert) in edits {
                let mut start = ((at * text.len() as f64) as usize).min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + delete).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(start..end, &insert);
                toks = relex(toks, &text, start, end, insert.len());
                prop_assert_eq!(&toks, &lex(&text), "{:?}", text);
            }
        }
    }

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_words_and_punctuation() {
        assert_eq!(
            kinds(r#"net = Image endswith "\net.exe", 'a''b' # c"#),
            vec![
                Tok::Word("net".into()),
                Tok::Eq,
                Tok::Word("Image".into()),
                Tok::Word("endswith".into()),
                Tok::Str {
                    text: r"\net.exe".into(),
                    double: true,
                    terminated: true
                },
                Tok::Comma,
                Tok::Str {
                    text: "a'b".into(),
                    double: false,
                    terminated: true
                },
                Tok::Comment(" c".into()),
            ]
        );
    }

    #[test]
    fn doubled_quotes_and_unterminated() {
        assert_eq!(
            kinds(r#""say ""hi""""#),
            vec![Tok::Str {
                text: r#"say "hi""#.into(),
                double: true,
                terminated: true
            }]
        );
        assert_eq!(
            kinds("\"abc\nrest"),
            vec![
                Tok::Str {
                    text: "abc".into(),
                    double: true,
                    terminated: false
                },
                Tok::Newline,
                Tok::Word("rest".into())
            ]
        );
        // Multi-line strings are fine when closed.
        assert_eq!(
            kinds("'a\nb'"),
            vec![Tok::Str {
                text: "a\nb".into(),
                double: false,
                terminated: true
            }]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let toks = lex("a  é\n\"x\"");
        let spans: Vec<(u32, u32)> = toks.iter().map(|t| (t.span.start, t.span.end)).collect();
        assert_eq!(spans, vec![(0, 1), (3, 5), (5, 6), (6, 9)]);
    }
}
