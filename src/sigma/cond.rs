//! Sigma condition text: parsing it into [`Cond`] and printing [`Cond`] back.
//!
//! Grammar (precedence from loosest to tightest, as the specification says): `or`, `and`, `not`,
//! `1 of X` / `all of X`, parentheses. A chain `a or b or c` is one n-ary `Or`; parentheses are
//! kept as nesting, so printing and re-parsing gives the same tree.

use crate::diag::Span;
use crate::ir::{Cond, OfTarget, Quant, Spanned};

/// Deepest parenthesis / `not` nesting accepted.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct CondError {
    pub message: String,
    /// Byte range inside the condition text.
    pub span: Span,
    pub expected: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Pipe,
    Word(String),
}

fn lex(text: &str) -> Result<Vec<(Tok, Span)>, CondError> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' | ')' | '|' => {
                it.next();
                let t = match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Pipe,
                };
                out.push((t, Span::new(i, i + 1)));
            }
            _ => {
                let mut end = i;
                while let Some(&(j, d)) = it.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '|') {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push((Tok::Word(text[i..end].to_string()), Span::new(i, end)));
            }
        }
    }
    Ok(out)
}

fn is_name(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '?'))
}

/// Parse a condition. Spans in the result are offsets into `text` plus `base`.
pub fn parse(text: &str, base: usize) -> Result<Cond, CondError> {
    let toks = lex(text)?;
    let mut p = P {
        toks,
        pos: 0,
        base,
        len: text.len(),
        depth: 0,
    };
    let c = p.or()?;
    if let Some((t, sp)) = p.toks.get(p.pos) {
        let (msg, expected) = match t {
            Tok::Pipe => (
                "aggregations after `|` (the old correlation syntax) are not supported; write a correlation rule".to_string(),
                None,
            ),
            _ => (
                "unexpected text after the end of the condition".to_string(),
                Some("`and`, `or` or the end of the condition"),
            ),
        };
        return Err(CondError {
            message: msg,
            span: p.shift(*sp),
            expected,
        });
    }
    Ok(c)
}

struct P {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    base: usize,
    len: usize,
    depth: usize,
}

impl P {
    fn shift(&self, s: Span) -> Span {
        Span::new(s.start as usize + self.base, s.end as usize + self.base)
    }
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), _)) => Some(w),
            _ => None,
        }
    }
    fn keyword(&self, kw: &str) -> bool {
        self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(kw))
    }
    fn here(&self) -> Span {
        match self.toks.get(self.pos) {
            Some((_, s)) => self.shift(*s),
            None => self.shift(Span::at(self.len)),
        }
    }
    fn err(&self, message: &str, expected: &'static str) -> CondError {
        CondError {
            message: message.to_string(),
            span: self.here(),
            expected: Some(expected),
        }
    }

    fn or(&mut self) -> Result<Cond, CondError> {
        let mut xs = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            xs.push(self.and()?);
        }
        Ok(if xs.len() == 1 {
            xs.pop().expect("one")
        } else {
            Cond::Or(xs)
        })
    }

    fn and(&mut self) -> Result<Cond, CondError> {
        let mut xs = vec![self.not()?];
        while self.keyword("and") {
            self.pos += 1;
            xs.push(self.not()?);
        }
        Ok(if xs.len() == 1 {
            xs.pop().expect("one")
        } else {
            Cond::And(xs)
        })
    }

    fn not(&mut self) -> Result<Cond, CondError> {
        if self.keyword("not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn enter(&mut self) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                "the condition is nested too deeply",
                "at most 64 levels of parentheses and `not`",
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Cond, CondError> {
        const OPERAND: &str = "a selection name, `1 of`, `all of`, `not` or `(`";
        let (tok, span) = match self.toks.get(self.pos) {
            Some(t) => t.clone(),
            None => return Err(self.err("the condition ends too early", OPERAND)),
        };
        match tok {
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some((Tok::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(self.err("missing `)`", "`)`")),
                }
            }
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                let quant = match lower.as_str() {
                    "1" => Some(Quant::One),
                    "all" => Some(Quant::All),
                    _ => None,
                };
                let next_is_of = matches!(self.toks.get(self.pos + 1),
                    Some((Tok::Word(x), _)) if x.eq_ignore_ascii_case("of"));
                if let (Some(q), true) = (quant, next_is_of) {
                    self.pos += 2;
                    let (target, tspan) = match self.toks.get(self.pos) {
                        Some((Tok::Word(t), ts)) if is_name(t) && !is_operator(t) => {
                            (t.clone(), *ts)
                        }
                        _ => {
                            return Err(self.err(
                                "`of` must be followed by `them` or a selection name pattern",
                                "`them` or a pattern such as `selection_*`",
                            ))
                        }
                    };
                    self.pos += 1;
                    let target = if target.eq_ignore_ascii_case("them") {
                        OfTarget::Them
                    } else {
                        OfTarget::Pattern(target)
                    };
                    let full = self.shift(span.to(tspan));
                    return Ok(Cond::Of(q, Spanned::new(target, full)));
                }
                if lower.parse::<u64>().is_ok() && next_is_of {
                    return Err(CondError {
                        message: format!("`{w} of` is not Sigma: only `1 of` and `all of` exist"),
                        span: self.shift(span),
                        expected: Some("`1 of` or `all of`"),
                    });
                }
                if is_operator(&w) || !is_name(&w) {
                    return Err(CondError {
                        message: format!("unexpected `{w}` in the condition"),
                        span: self.shift(span),
                        expected: Some(OPERAND),
                    });
                }
                self.pos += 1;
                Ok(Cond::Sel(Spanned::new(w, self.shift(span))))
            }
            Tok::RParen | Tok::Pipe => Err(CondError {
                message: "unexpected symbol in the condition".into(),
                span: self.shift(span),
                expected: Some(OPERAND),
            }),
        }
    }
}

fn is_operator(w: &str) -> bool {
    ["and", "or", "not", "of"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

/// Print a condition with the fewest parentheses that keep its tree: a child is parenthesised
/// when it binds more loosely than its parent, or is the same n-ary operator (so that `(a or b)
/// or c` keeps its nesting).
pub fn print(c: &Cond) -> String {
    let mut out = String::new();
    print_into(c, &mut out);
    out
}

fn prec(c: &Cond) -> u8 {
    match c {
        Cond::Or(xs) if xs.len() > 1 => 1,
        Cond::And(xs) if xs.len() > 1 => 2,
        Cond::Or(_) | Cond::And(_) => 4,
        Cond::Not(_) => 3,
        Cond::Sel(_) | Cond::Of(..) => 4,
    }
}

fn child(c: &Cond, parent: u8, out: &mut String) {
    if prec(c) <= parent {
        out.push('(');
        print_into(c, out);
        out.push(')');
    } else {
        print_into(c, out);
    }
}

fn print_into(c: &Cond, out: &mut String) {
    match c {
        Cond::Or(xs) | Cond::And(xs) => {
            let (word, p) = match c {
                Cond::Or(_) => (" or ", 1),
                _ => (" and ", 2),
            };
            match xs.as_slice() {
                // Degenerate groups (no IR front end builds them): a single child prints as
                // itself; an empty group prints nothing, which the reader rejects.
                [] => {}
                [one] => print_into(one, out),
                _ => {
                    for (i, x) in xs.iter().enumerate() {
                        if i > 0 {
                            out.push_str(word);
                        }
                        child(x, p, out);
                    }
                }
            }
        }
        Cond::Not(x) => {
            out.push_str("not ");
            // `not not a` needs no parentheses; anything looser than `not` does.
            child(x, 2, out);
        }
        Cond::Sel(s) => out.push_str(&s.value),
        Cond::Of(q, t) => {
            out.push_str(match q {
                Quant::One => "1 of ",
                Quant::All => "all of ",
            });
            match &t.value {
                OfTarget::Them => out.push_str("them"),
                OfTarget::Pattern(p) => out.push_str(p),
            }
        }
    }
}

/// Clear every span (for comparing trees).
pub fn strip_spans(c: &mut Cond) {
    match c {
        Cond::And(xs) | Cond::Or(xs) => xs.iter_mut().for_each(strip_spans),
        Cond::Not(x) => strip_spans(x),
        Cond::Sel(s) => s.span = Span::default(),
        Cond::Of(_, t) => t.span = Span::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(text: &str) -> String {
        let c = parse(text, 0).unwrap();
        let printed = print(&c);
        let mut a = parse(&printed, 0).unwrap();
        let mut b = c;
        strip_spans(&mut a);
        strip_spans(&mut b);
        assert_eq!(a, b, "{text} -> {printed}");
        printed
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse("a or b and not c", 0).unwrap();
        let Cond::Or(xs) = &c else { panic!("{c:?}") };
        assert!(matches!(&xs[1], Cond::And(ys) if matches!(ys[1], Cond::Not(_))));
        assert_eq!(rt("a or b and not c"), "a or b and not c");
        assert_eq!(rt("(a or b) and c"), "(a or b) and c");
        assert_eq!(rt("not (a and b)"), "not (a and b)");
        assert_eq!(rt("(a or b) or c"), "(a or b) or c");
        assert_eq!(rt("not not a"), "not not a");
        assert_eq!(
            rt("1 of selection_* and not all of filter*"),
            "1 of selection_* and not all of filter*"
        );
        assert_eq!(rt("all of them"), "all of them");
    }

    #[test]
    fn spans_are_offsets() {
        let c = parse("sel and  other", 10).unwrap();
        let Cond::And(xs) = c else { panic!() };
        let Cond::Sel(s) = &xs[1] else { panic!() };
        assert_eq!(s.span, Span::new(19, 24));
    }

    #[test]
    fn errors() {
        assert!(parse("a and", 0).is_err());
        assert!(parse("(a", 0).is_err());
        assert!(parse("a b", 0).is_err());
        assert!(parse("2 of x*", 0).is_err());
        let e = parse("sel | count() > 5", 0).unwrap_err();
        assert!(e.message.contains("aggregation"));
        let deep = "(".repeat(500) + "a" + &")".repeat(500);
        assert!(parse(&deep, 0).is_err());
    }
}
