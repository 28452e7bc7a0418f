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
    let mut out = Vec::new();
    let mut input = In::new(text);
    while !input.fragment().is_empty() {
        let start = input.location_offset();
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
                        span: Span::new(start, rest.location_offset()),
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
