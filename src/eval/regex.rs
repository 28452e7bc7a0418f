//! Regular expressions with Sigma's flags. Sigma's flavour is a PCRE subset; the `regex` crate
//! covers it with linear-time matching. Patterns that use PCRE extras seen in the wild
//! (look-around, back-references) fall back to `fancy-regex`, which delegates to `regex` for
//! everything else.

use crate::ir::regex_classes;

/// Compiled size limit: a pathological pattern is an error, not a hang or an OOM.
const SIZE_LIMIT: usize = 1 << 22;

#[derive(Debug, Clone)]
pub enum Regex {
    Fast(regex::Regex),
    Fancy(Box<fancy_regex::Regex>),
}

impl Regex {
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Regex::Fast(r) => r.is_match(text),
            // A backtracking limit hit counts as no match.
            Regex::Fancy(r) => r.is_match(text).unwrap_or(false),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            Regex::Fast(r) => r.as_str(),
            Regex::Fancy(r) => r.as_str(),
        }
    }
}

/// Check that `pattern` is a valid regular expression with these flags, without compiling it:
/// parsing is enough to find every syntax error, and compiling every regex of a large corpus
/// just to validate it was a measurable share of `detc check`.
pub fn validate(pattern: &str, flags: &str) -> Result<(), String> {
    let parsed = regex_syntax::ParserBuilder::new()
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .nest_limit(200)
        .build()
        .parse(pattern);
    match parsed {
        Ok(_) => Ok(()),
        Err(e) => match fancy_regex::Expr::parse_tree(pattern) {
            Ok(_) => Ok(()),
            Err(_) => Err(first_line(&e.to_string())),
        },
    }
}

/// Compile `pattern` with Sigma flags (`i`, `m`, `s`, in any order), its `\d`, `\w`, `\s`
/// and `\b` read as PCRE reads them (ASCII: [`crate::ir::regex_classes`]).
pub fn compile(pattern: &str, flags: &str) -> Result<Regex, String> {
    let mut b = regex::RegexBuilder::new(&regex_classes::evaluator(pattern, false));
    b.case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(SIZE_LIMIT)
        .nest_limit(200);
    match b.build() {
        Ok(r) => Ok(Regex::Fast(r)),
        Err(fast_err) => {
            let mut prefix = String::new();
            if !flags.is_empty() {
                prefix = format!("(?{})", flags);
            }
            let fancy = |p: &str| {
                fancy_regex::RegexBuilder::new(&format!("{prefix}{p}"))
                    .delegate_size_limit(SIZE_LIMIT)
                    .backtrack_limit(100_000)
                    .build()
            };
            // fancy-regex cannot repeat a look-around, which `\b` becomes here: a repeated
            // `\b` (`\b*`, meaningless but valid) keeps the pattern as written.
            match fancy(&regex_classes::evaluator(pattern, true)).or_else(|_| fancy(pattern)) {
                Ok(r) => Ok(Regex::Fancy(Box::new(r))),
                Err(_) => Err(first_line(&fast_err.to_string())),
            }
        }
    }
}

fn first_line(s: &str) -> String {
    // regex errors are multi-line with a caret; keep the last line, which says what is wrong.
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_apply() {
        assert!(compile("abc", "i").unwrap().is_match("xABCx"));
        assert!(!compile("abc", "").unwrap().is_match("ABC"));
        assert!(compile("a.b", "s").unwrap().is_match("a\nb"));
    }

    #[test]
    fn lookaround_falls_back() {
        let r = compile(r"foo(?!bar)", "").unwrap();
        assert!(r.is_match("foobaz"));
        assert!(!r.is_match("foobar"));
    }

    #[test]
    fn invalid_is_an_error() {
        assert!(compile("a(b", "").is_err());
        assert!(validate("a(b", "").is_err());
        assert!(validate("a[", "i").is_err());
    }

    #[test]
    fn validate_agrees_with_compile() {
        for p in [
            "abc",
            r"foo(?!bar)",
            r"(\d+)\1",
            r"\bnet1?\.exe\b",
            "a{2,3}",
            "[a-z]+$",
        ] {
            assert_eq!(validate(p, "i").is_ok(), compile(p, "i").is_ok(), "{p}");
        }
    }
}
