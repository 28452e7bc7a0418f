//! What `\d`, `\w`, `\s` and `\b` mean in a Sigma regex, and rewriting them for an engine.
//!
//! Sigma names PCRE as its regex flavour, where these classes are ASCII (`\d` is `[0-9]`, `\w`
//! `[0-9A-Za-z_]`, `\s` `[\t\n\x0B\f\r ]`, `\b` a boundary between those word characters and
//! anything else), as they are in RE2 (DuckDB, Kusto) and in Java without `(?U)` — but not in
//! Rust's `regex`, where they are Unicode's. Each consumer rewrites the escapes it reads
//! differently from that meaning: `detc match` all of them ([`evaluator`]), a target those its
//! `regex_classes` table lists (RE2's `\s` lacks `\x0B` and its `(?i)\w` also matches U+212A
//! KELVIN SIGN and U+017F LONG S; Java 17's `\b` counts `é` as a word character). The `i` flag
//! does not fold a class escape outside a set (PCRE, Java); inside a set (`[\w.]`) the set is
//! folded as a whole, as the `regex` crate and RE2 fold it.
//!
//! The rewrite is lexical (escapes, `[...]` sets with `]` first as a literal, nested sets and
//! `[:name:]` items), so it also reads patterns the `regex` crate cannot parse (look-around,
//! back-references) the same way.

use std::borrow::Cow;

/// A word boundary between ASCII word characters and anything else, for engines whose `\b`
/// differs and which have look-around; `(?-i:)` keeps the `i` flag from folding the classes.
pub const ASCII_BOUNDARY: &str =
    r"(?-i:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
/// The complement of [`ASCII_BOUNDARY`].
pub const ASCII_NOT_BOUNDARY: &str =
    r"(?-i:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";

/// How one engine writes the class escapes (a target's `regex_classes`, or the evaluator's).
pub struct Spelling<'t> {
    /// Escape letter -> replacement outside a set.
    pub outside: &'t dyn Fn(char) -> Option<&'t str>,
    /// Escape letter -> replacement items inside a set.
    pub in_set: &'t dyn Fn(char) -> Option<&'t str>,
    /// Escapes taken out of a (non-negated, outermost) set and written as an alternative
    /// beside it with `outside`: for engines whose `i` flag folds a set as a whole, where PCRE
    /// does not fold the class escape (`(?i)[\w.]` does not match U+212A KELVIN SIGN).
    pub lift: &'t dyn Fn(char) -> bool,
}

/// `re` with its class escapes spelled as `sp` says; everything else is copied as written.
pub fn rewrite<'r>(re: &'r str, sp: &Spelling<'_>) -> Cow<'r, str> {
    if !re.contains('\\') {
        return Cow::Borrowed(re);
    }
    let mut out = String::with_capacity(re.len() + 16);
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => push_escape(&mut out, n, sp.outside),
                None => out.push('\\'),
            },
            '[' => set(&mut chars, sp, &mut out),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn push_escape<'t>(out: &mut String, n: char, with: &dyn Fn(char) -> Option<&'t str>) {
    match with(n) {
        Some(w) => out.push_str(w),
        None => {
            out.push('\\');
            out.push(n);
        }
    }
}

/// One outermost `[...]` set, its `[` already read: `]` first (after an optional `^`) is a
/// literal, nested sets (Rust, Java) and `[:name:]` items are read through.
fn set(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, sp: &Spelling<'_>, out: &mut String) {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut body = String::new();
    let mut lifted = Vec::new();
    if chars.next_if_eq(&']').is_some() {
        body.push(']');
    }
    let mut depth = 1usize;
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) if depth == 1 && !negated && (sp.lift)(n) => lifted.push(n),
                Some(n) => push_escape(&mut body, n, sp.in_set),
                None => body.push('\\'),
            },
            '[' if chars.peek() == Some(&':') => {
                body.push(c);
                let mut prev = '[';
                for n in chars.by_ref() {
                    body.push(n);
                    if prev == ':' && n == ']' {
                        break;
                    }
                    prev = n;
                }
            }
            '[' => {
                depth += 1;
                body.push(c);
                if chars.next_if_eq(&'^').is_some() {
                    body.push('^');
                }
                if chars.next_if_eq(&']').is_some() {
                    body.push(']');
                }
            }
            ']' => {
                depth -= 1;
                if depth == 0 {
                    closed = true;
                    break;
                }
                body.push(c);
            }
            _ => body.push(c),
        }
    }
    if !closed || lifted.is_empty() {
        out.push('[');
        if negated {
            out.push('^');
        }
        out.push_str(&body);
        if closed {
            out.push(']');
        }
        return;
    }
    out.push_str("(?:");
    if !body.is_empty() {
        out.push('[');
        // What is left must not start a negation or close the set at once.
        if body.starts_with('^') {
            out.push('\\');
        }
        out.push_str(&body);
        out.push_str("]|");
    }
    for (i, n) in lifted.into_iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        push_escape(out, n, sp.outside);
    }
    out.push(')');
}

/// The classes as PCRE reads them, written for the `regex` crate; `lookaround` when the
/// pattern goes to `fancy-regex`, which rejects `(?-u:\b)`.
pub fn evaluator(re: &str, lookaround: bool) -> Cow<'_, str> {
    let outside = |c| {
        Some(match c {
            'd' => "[0-9]",
            'D' => "[^0-9]",
            // `(?-i:)`: the `i` flag does not fold a class escape (PCRE, Java).
            'w' => "(?-i:[0-9A-Za-z_])",
            'W' => "(?-i:[^0-9A-Za-z_])",
            's' => r"[\t\n\x0B\f\r ]",
            'S' => r"[^\t\n\x0B\f\r ]",
            'b' if lookaround => ASCII_BOUNDARY,
            'B' if lookaround => ASCII_NOT_BOUNDARY,
            'b' => r"(?-u:\b)",
            'B' => r"(?-u:\B)",
            _ => return None,
        })
    };
    let in_set = |c| {
        Some(match c {
            'd' => "0-9",
            'w' => "0-9A-Za-z_",
            's' => r"\t\n\x0B\f\r ",
            // A negated class inside a set: a nested set (the regex crate's syntax).
            'D' => "[^0-9]",
            'W' => "[^0-9A-Za-z_]",
            'S' => r"[^\t\n\x0B\f\r ]",
            _ => return None,
        })
    };
    let lift = |c| matches!(c, 'w' | 'W');
    rewrite(
        re,
        &Spelling {
            outside: &outside,
            in_set: &in_set,
            lift: &lift,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(re: &str) -> String {
        evaluator(re, false).into_owned()
    }

    #[test]
    fn escapes_outside_and_inside_sets() {
        assert_eq!(ev(r"^\d+$"), "^[0-9]+$");
        assert_eq!(ev(r"[\w.-]"), "(?:[.-]|(?-i:[0-9A-Za-z_]))");
        assert_eq!(ev(r"[\w]"), "(?:(?-i:[0-9A-Za-z_]))");
        assert_eq!(ev(r"[\W^]"), r"(?:[\^]|(?-i:[^0-9A-Za-z_]))");
        assert_eq!(ev(r"[^\d\s]"), r"[^0-9\t\n\x0B\f\r ]");
        assert_eq!(ev(r"[a\D]"), "[a[^0-9]]");
        assert_eq!(ev(r"\bx\B"), r"(?-u:\b)x(?-u:\B)");
        // Other escapes, an escaped backslash before a letter, `]` first, POSIX items.
        assert_eq!(ev(r"\\d\.\x41\p{L}"), r"\\d\.\x41\p{L}");
        assert_eq!(ev(r"[]\d][^]\w]\d"), r"[]0-9][^]0-9A-Za-z_][0-9]");
        assert_eq!(ev(r"[a[b\w]]"), "[a[b0-9A-Za-z_]]");
        assert_eq!(ev(r"[[:alpha:]\d]\d"), "[[:alpha:]0-9][0-9]");
        assert_eq!(ev(r"[a[b\d]c]\W"), "[a[b0-9]c](?-i:[^0-9A-Za-z_])");
        assert_eq!(ev("abc"), "abc");
    }

    /// Every rewritten class matches exactly the ASCII characters PCRE's does, with and
    /// without `i`, on both regex engines, over a sample of characters that includes the
    /// Unicode digits, letters and spaces the `regex` crate's own classes would match.
    #[test]
    fn classes_are_the_ascii_ones() {
        let sample: Vec<char> = (0..0x250_u32)
            .chain([
                0x660, 0x663, 0x969, 0x1680, 0x2007, 0x2028, 0x3000, 0x212A, 0x17F, 0xFF10,
            ])
            .filter_map(char::from_u32)
            .collect();
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let space = |c: char| matches!(c, '\t' | '\n' | '\x0B' | '\x0C' | '\r' | ' ');
        let cases: [(&str, &dyn Fn(char) -> bool); 11] = [
            (r"\d", &|c| c.is_ascii_digit()),
            (r"\D", &|c| !c.is_ascii_digit()),
            (r"\w", &word),
            (r"\W", &|c| !word(c)),
            (r"\s", &space),
            (r"\S", &|c| !space(c)),
            (r"[\d]", &|c| c.is_ascii_digit()),
            (r"[^\w]", &|c| !word(c)),
            (r"[x\S]", &|c| c == 'x' || !space(c)),
            (r"[.\w]", &|c| c == '.' || word(c)),
            (r"[\W]", &|c| !word(c)),
        ];
        for (class, want) in cases {
            // The `i` flag changes nothing (PCRE), but in a negated set with `\w`, which the
            // regex crate folds as a whole (docs/MATCH.md).
            let flags: &[&str] = if class.starts_with("[^") {
                &[""]
            } else {
                &["", "(?i)"]
            };
            for fl in flags {
                let fast = regex::Regex::new(&format!("{fl}^{}$", ev(class))).unwrap();
                let fancy =
                    fancy_regex::Regex::new(&format!("{fl}^(?=(?s:.)){}$", evaluator(class, true)))
                        .unwrap();
                for &c in &sample {
                    let s = c.to_string();
                    assert_eq!(fast.is_match(&s), want(c), "{fl}{class} {c:?}");
                    assert_eq!(
                        fancy.is_match(&s).unwrap(),
                        want(c),
                        "fancy {fl}{class} {c:?}"
                    );
                }
            }
        }
    }

    proptest! {
        /// Any pattern the regex crate accepts still compiles after the rewrite, and on ASCII
        /// text (where PCRE's and Unicode's classes agree) it matches exactly as before, with
        /// and without `i`.
        #[test]
        fn the_rewrite_keeps_valid_patterns_and_their_ascii_meaning(
            toks in prop::collection::vec(prop::sample::select(vec![
                r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"\b", r"\B", r"\\", r"\.", "[", "]",
                "^", "-", "a", "K", "_", " ", ".", "*", "+", "?", "(", ")", "|", "[:digit:]", "$",
            ]), 0..12),
            hay in r"[a-zA-Z0-9_ .\\\[\]^$:-]{0,12}",
            ci in any::<bool>(),
        ) {
            let pat = format!("{}{}", if ci { "(?i)" } else { "" }, toks.concat());
            if let Ok(before) = regex::Regex::new(&pat) {
                let after = evaluator(&pat, false);
                let after = regex::Regex::new(&after)
                    .map_err(|e| TestCaseError::fail(format!("{pat} -> {after}: {e}")))?;
                prop_assert_eq!(before.is_match(&hay), after.is_match(&hay), "{} {:?}", pat, hay);
                // fancy-regex cannot repeat the look-around `\b` becomes (the evaluator then
                // keeps the pattern as written: src/eval/regex.rs).
                match fancy_regex::Regex::new(&evaluator(&pat, true)) {
                    _ if fancy_regex::Regex::new(&pat).is_err() => {}
                    Ok(fancy) => prop_assert_eq!(before.is_match(&hay), fancy.is_match(&hay).unwrap(), "fancy {} {:?}", pat, hay),
                    Err(e) => prop_assert!(
                        regex::Regex::new(r"\\[bB][*+?{]").unwrap().is_match(&pat),
                        "fancy {} -> {}: {}", pat, evaluator(&pat, true), e
                    ),
                }
            }
        }
    }

    #[test]
    fn boundaries_are_between_ascii_word_characters_and_anything_else() {
        for lookaround in [false, true] {
            let b = |re: &str, s: &str| {
                let re = evaluator(re, lookaround).into_owned();
                if lookaround {
                    fancy_regex::Regex::new(&re).unwrap().is_match(s).unwrap()
                } else {
                    regex::Regex::new(&re).unwrap().is_match(s)
                }
            };
            // `é` and `٣` are not word characters: a boundary on each side of `x`.
            assert!(b(r"\bx\b", "éxé"));
            assert!(b(r"\bx\b", "٣x٣"));
            assert!(!b(r"\bx\b", "axb"));
            assert!(b(r"x\B", "xa"));
            assert!(!b(r"x\B", "xé"));
            // The `i` flag does not make U+212A a word character for `\b`.
            assert!(b("(?i)\\bk\\b", "\u{212A}k\u{212A}"));
        }
    }
}
