//! Rule names. A rule's name becomes the name of its output files (`dist/kql-defender/NAME.kql`,
//! `convert --out DIR/NAME.det`, ...), so it must be safe as one path component on every file
//! system: a plain identifier, short enough that `NAME` plus the longest extension detc writes
//! stays under the common 255-byte file-name limit.

/// The longest rule name, in bytes (ASCII only, so also in characters). File names are limited
/// to 255 bytes on ext4, XFS, APFS and NTFS; detc appends at most `_NN` and `.yaml`.
pub const MAX_RULE_NAME: usize = 200;

/// What is wrong with a rule name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    /// The character at this byte offset is not allowed there.
    BadChar {
        at: usize,
        ch: char,
    },
    TooLong {
        len: usize,
    },
}

impl NameProblem {
    /// A one-line description for a diagnostic's message.
    pub fn message(&self, name: &str) -> String {
        match self {
            NameProblem::Empty => "the rule name is empty".to_string(),
            NameProblem::BadChar { ch, .. } => {
                format!("rule name `{name}` holds {}", describe_char(*ch))
            }
            NameProblem::TooLong { len } => {
                format!("rule name is {len} bytes long; at most {MAX_RULE_NAME} are allowed")
            }
        }
    }
}

/// What a rule name must look like, for a diagnostic's `expected`.
pub const EXPECTED: &str = "a plain identifier (ASCII letters, digits and `_`) of at most 200 \
     characters: the rule name is the name of its output files";

fn describe_char(ch: char) -> String {
    match ch {
        '/' | '\\' => format!("a path separator `{ch}`"),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`, which is not a letter, digit or `_`"),
    }
}

/// Check a rule name: `[A-Za-z0-9_]+`, at most [`MAX_RULE_NAME`] bytes. (A leading digit is
/// harmless in a file name, and rule names such as `7zip_abuse` were always accepted.)
pub fn check_rule_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    for (at, ch) in name.char_indices() {
        if !(ch == '_' || ch.is_ascii_alphanumeric()) {
            return Err(NameProblem::BadChar { at, ch });
        }
    }
    if name.len() > MAX_RULE_NAME {
        return Err(NameProblem::TooLong { len: name.len() });
    }
    Ok(())
}

/// A safe name derived from any text (a Sigma file stem): lowercased, every character outside
/// `[a-z0-9_]` becomes `_` (no collapsing, so distinct safe stems stay distinct), and the
/// result is cut to [`MAX_RULE_NAME`] minus room for a `_NN` suffix.
pub fn safe_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        out.push(
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            },
        );
    }
    if out.is_empty() {
        return "rule".to_string();
    }
    // ASCII only by now, so any byte index is a character boundary.
    out.truncate(MAX_RULE_NAME - 8);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_pass() {
        for ok in [
            "a",
            "_",
            "rule_1",
            "GREASE_rdp",
            "x".repeat(MAX_RULE_NAME).as_str(),
        ] {
            assert_eq!(check_rule_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn path_like_and_odd_names_fail() {
        assert_eq!(
            check_rule_name("../../x"),
            Err(NameProblem::BadChar { at: 0, ch: '.' })
        );
        assert_eq!(
            check_rule_name("a/b"),
            Err(NameProblem::BadChar { at: 1, ch: '/' })
        );
        assert_eq!(
            check_rule_name("a\\b"),
            Err(NameProblem::BadChar { at: 1, ch: '\\' })
        );
        assert_eq!(check_rule_name("7zip_abuse"), Ok(()));
        assert_eq!(
            check_rule_name("a-b"),
            Err(NameProblem::BadChar { at: 1, ch: '-' })
        );
        assert_eq!(
            check_rule_name("é"),
            Err(NameProblem::BadChar { at: 0, ch: 'é' })
        );
        assert_eq!(check_rule_name(""), Err(NameProblem::Empty));
        let long = "a".repeat(MAX_RULE_NAME + 1);
        assert_eq!(
            check_rule_name(&long),
            Err(NameProblem::TooLong {
                len: MAX_RULE_NAME + 1
            })
        );
    }

    #[test]
    fn safe_names_are_valid_names() {
        for s in [
            "../../../x",
            "proc_creation_win_x",
            "Ünïcode-näme",
            "1password",
            "",
            &"a".repeat(400),
            "..",
            "con.aux",
        ] {
            let n = safe_name(s);
            assert_eq!(check_rule_name(&n), Ok(()), "{s:?} -> {n:?}");
            // With the reader's `_NN` suffix too.
            assert_eq!(check_rule_name(&format!("{n}_99")), Ok(()));
        }
        assert_eq!(safe_name("proc_creation_win_x"), "proc_creation_win_x");
        assert_eq!(safe_name("Foo-Bar"), "foo_bar");
    }
}
