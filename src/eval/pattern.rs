//! Sigma string patterns compiled for matching: `*` (any run of characters), `?` (exactly one
//! character) and literal text, case-insensitive unless `cased`.
//!
//! Case-insensitive matching compares the Unicode lowercase form of the pattern's literals with
//! the lowercase form of the value (precomputed in [`super::event::Val`]). Common shapes (exact,
//! prefix, suffix, contains) get a direct string operation; everything else runs the classic
//! wildcard algorithm that backtracks only to the last `*`, which is linear in practice and
//! O(pattern × text) at worst: no exponential blow-up on `*a*a*a*b`.

use crate::ir::{Piece, SigmaString};

use super::event::fold;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Star,
    Qmark,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memchr::memmem::Finder<'static>>),
    /// `*` alone: any value (including the empty string).
    Any,
    General(Vec<Tok>),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    kind: Kind,
    pub cased: bool,
}

impl Pattern {
    /// Compile a Sigma string. Placeholders never reach here (normalisation resolves them); one
    /// left over is matched as its literal `%name%` text.
    pub fn new(s: &SigmaString, cased: bool) -> Pattern {
        let mut toks: Vec<Tok> = Vec::new();
        for p in &s.pieces {
            let t = match p {
                Piece::Lit(l) => Tok::Lit(if cased { l.clone() } else { fold(l) }),
                Piece::Star => Tok::Star,
                Piece::Qmark => Tok::Qmark,
                Piece::Placeholder(n) => Tok::Lit(format!("%{n}%")),
            };
            match (toks.last_mut(), t) {
                // `**` is `*`; adjacent literals merge.
                (Some(Tok::Star), Tok::Star) => {}
                (Some(Tok::Lit(a)), Tok::Lit(b)) => a.push_str(&b),
                (_, t) => toks.push(t),
            }
        }
        let kind = match toks.as_slice() {
            [] => Kind::Exact(String::new()),
            [Tok::Lit(l)] => Kind::Exact(l.clone()),
            [Tok::Star] => Kind::Any,
            [Tok::Lit(l), Tok::Star] => Kind::Prefix(l.clone()),
            [Tok::Star, Tok::Lit(l)] => Kind::Suffix(l.clone()),
            [Tok::Star, Tok::Lit(l), Tok::Star] => Kind::Contains(Box::new(
                memchr::memmem::Finder::new(l.as_bytes()).into_owned(),
            )),
            _ => Kind::General(toks),
        };
        Pattern { kind, cased }
    }

    /// A case-insensitive `*lit*` pattern from an already folded literal.
    pub fn contains(folded: &str) -> Pattern {
        Pattern {
            kind: Kind::Contains(Box::new(
                memchr::memmem::Finder::new(folded.as_bytes()).into_owned(),
            )),
            cased: false,
        }
    }

    /// The literal of a `*lit*` pattern (folded unless cased).
    pub fn contains_literal(&self) -> Option<&str> {
        match &self.kind {
            Kind::Contains(f) => std::str::from_utf8(f.needle()).ok(),
            _ => None,
        }
    }

    /// Match a text already in the right case form (lowercase unless `cased`).
    pub fn is_match(&self, text: &str) -> bool {
        match &self.kind {
            Kind::Exact(l) => text == l,
            Kind::Prefix(l) => text.starts_with(l.as_str()),
            Kind::Suffix(l) => text.ends_with(l.as_str()),
            Kind::Contains(f) => f.find(text.as_bytes()).is_some(),
            Kind::Any => true,
            Kind::General(toks) => wildcard(toks, text),
        }
    }

    /// The longest literal every match must contain (lowercase), for prefilters.
    pub fn required_literal(&self) -> Option<String> {
        self.required_literals().into_iter().max_by_key(|l| l.len())
    }

    /// Every literal every match must contain (lowercase, non-empty), for prefilters: one
    /// for the direct shapes, each literal run of a general pattern.
    pub fn required_literals(&self) -> Vec<String> {
        let lits: Vec<String> = match &self.kind {
            Kind::Exact(l) | Kind::Prefix(l) | Kind::Suffix(l) => vec![l.clone()],
            Kind::Contains(f) => vec![String::from_utf8_lossy(f.needle()).into_owned()],
            Kind::Any => Vec::new(),
            Kind::General(toks) => toks
                .iter()
                .filter_map(|t| match t {
                    Tok::Lit(l) => Some(l.clone()),
                    Tok::Star | Tok::Qmark => None,
                })
                .collect(),
        };
        // A cased literal is looked for in the folded text: folding goes character by
        // character, so the folded literal is inside the folded text wherever it is inside.
        lits.into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| if self.cased { fold(&l) } else { l })
            .collect()
    }
}

/// Whole-text wildcard match. On a mismatch, retry from the most recent `*` with it swallowing
/// one more character; earlier stars never need revisiting because the segment after the last
/// star has a fixed width in characters.
fn wildcard(toks: &[Tok], s: &str) -> bool {
    let (mut ti, mut si) = (0usize, 0usize);
    // (token index after the star, text position the star currently ends at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if ti < toks.len() {
            match &toks[ti] {
                Tok::Star => {
                    star = Some((ti + 1, si));
                    ti += 1;
                    continue;
                }
                Tok::Qmark => {
                    if let Some(c) = s[si..].chars().next() {
                        si += c.len_utf8();
                        ti += 1;
                        continue;
                    }
                }
                Tok::Lit(l) => {
                    if s[si..].starts_with(l.as_str()) {
                        si += l.len();
                        ti += 1;
                        continue;
                    }
                }
            }
        } else if si == s.len() {
            return true;
        }
        match star {
            Some((t, p)) => match s[p..].chars().next() {
                Some(c) => {
                    let np = p + c.len_utf8();
                    star = Some((t, np));
                    ti = t;
                    si = np;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pat(pieces: Vec<Piece>, cased: bool) -> Pattern {
        Pattern::new(&SigmaString { pieces }, cased)
    }
    fn lit(s: &str) -> Piece {
        Piece::Lit(s.into())
    }
    /// Match as the evaluator does: fold the value unless cased.
    fn m(p: &Pattern, v: &str) -> bool {
        if p.cased {
            p.is_match(v)
        } else {
            p.is_match(&fold(v))
        }
    }

    #[test]
    fn shapes() {
        let exact = pat(vec![lit("Net.exe")], false);
        assert!(m(&exact, "NET.EXE"));
        assert!(!m(&exact, "xnet.exe"));
        let pre = pat(vec![lit("C:\\Win"), Piece::Star], false);
        assert!(m(&pre, "c:\\windows"));
        assert!(!m(&pre, "d:\\windows"));
        let suf = pat(vec![Piece::Star, lit("\\net.exe")], false);
        assert!(m(&suf, "C:\\Windows\\NET.exe"));
        let con = pat(vec![Piece::Star, lit("Local"), Piece::Star], false);
        assert!(m(&con, "net localgroup"));
        assert!(m(&pat(vec![Piece::Star], false), ""));
        assert!(m(&pat(vec![], false), ""));
        assert!(!m(&pat(vec![], false), "x"));
    }

    #[test]
    fn star_backtracking() {
        // The first candidate for "a" is wrong; the matcher must retry later positions.
        let p = pat(
            vec![Piece::Star, lit("ab"), Piece::Star, lit("c"), Piece::Qmark],
            false,
        );
        assert!(m(&p, "aaabxxcd"));
        assert!(m(&p, "abcabcX"));
        assert!(!m(&p, "abcab"));
        // Pathological input stays fast (linear backtracking only).
        let many: Vec<Piece> = (0..30)
            .flat_map(|_| [Piece::Star, lit("a")])
            .chain([lit("b")])
            .collect();
        let p = pat(many, false);
        assert!(!m(&p, &"a".repeat(2000)));
    }

    #[test]
    fn qmark_is_one_character_even_multibyte() {
        let p = pat(vec![lit("caf"), Piece::Qmark], true);
        assert!(m(&p, "café"));
        assert!(!m(&p, "caf"));
        assert!(!m(&p, "caféé"));
        let p = pat(vec![Piece::Qmark, Piece::Qmark], true);
        assert!(m(&p, "日本"));
        assert!(!m(&p, "日本語"));
    }

    #[test]
    fn literal_star_is_not_a_wildcard() {
        let p = pat(vec![lit("a*b")], false);
        assert!(m(&p, "A*B"));
        assert!(!m(&p, "axxb"));
        let p = pat(vec![Piece::Star, lit("?id="), Piece::Star], false);
        assert!(m(&p, "/index.php?id=1"));
        assert!(!m(&p, "/index.phpXid=1"));
    }

    #[test]
    fn unicode_case_folding() {
        let p = pat(vec![lit("ÄRGER")], false);
        assert!(m(&p, "ärger"));
        let p = pat(vec![lit("ÄRGER")], true);
        assert!(!m(&p, "ärger"));
        assert!(m(&p, "ÄRGER"));
    }

    #[test]
    fn required_literals() {
        let p = pat(vec![Piece::Star, lit("ab"), Piece::Star, lit("CDE")], false);
        assert_eq!(p.required_literal().as_deref(), Some("cde"));
        let p = pat(vec![lit("X")], true);
        assert_eq!(p.required_literal().as_deref(), Some("x"));
        assert_eq!(pat(vec![Piece::Star], false).required_literal(), None);
        let p = pat(
            vec![lit("A"), Piece::Star, lit("bc"), Piece::Qmark, lit("D")],
            false,
        );
        assert_eq!(p.required_literals(), ["a", "bc", "d"]);
    }

    proptest! {
        #[test]
        fn star_lit_star_is_contains(needle in "[a-c*?]{0,4}", hay in "[a-cA-C*?]{0,12}") {
            let p = pat(vec![Piece::Star, lit(&needle), Piece::Star], false);
            prop_assert_eq!(m(&p, &hay), hay.to_lowercase().contains(&needle));
        }

        #[test]
        fn general_agrees_with_shapes(needle in "[ab]{1,3}", hay in "[ab]{0,10}") {
            // The general algorithm (forced by a leading `?`-free split into two literals)
            // agrees with the direct string operations.
            let split = needle.len() / 2;
            let (x, y) = needle.split_at(split);
            let mut pieces = vec![Piece::Star];
            if !x.is_empty() { pieces.push(lit(x)); }
            pieces.push(Piece::Star);
            pieces.push(lit(y));
            let p = pat(pieces, true);
            let expected = match hay.rfind(y) {
                Some(_) if hay.ends_with(y) => hay[..hay.len() - y.len()].contains(x),
                _ => false,
            };
            prop_assert_eq!(p.is_match(&hay), expected);
        }

        #[test]
        fn qmark_counts_chars(s in "\\PC{0,8}", n in 0usize..10) {
            let p = pat(vec![Piece::Qmark; n], true);
            prop_assert_eq!(p.is_match(&s), s.chars().count() == n);
        }
    }
}
