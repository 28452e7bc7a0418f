//! Sigma strings: literal text with `*` / `?` wildcards and `%placeholder%`s.
//!
//! Escaping follows the Sigma specification: `\` escapes `*`, `?` and `\` itself; a backslash
//! followed by anything else is a plain backslash. So `C:\Windows\*` is the text `C:\Windows\`
//! followed by a wildcard, and `\\*` is a backslash followed by a wildcard.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Piece {
    /// Plain text, matched literally (case-insensitively unless `cased`).
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    Qmark,
    /// `%name%` with the `expand` modifier: resolved from a placeholder file before use.
    Placeholder(String),
}

/// A string value with wildcards. Adjacent literals are always merged, so two equal patterns
/// compare equal structurally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct SigmaString {
    pub pieces: Vec<Piece>,
}

impl SigmaString {
    /// A plain literal (no wildcard interpretation at all).
    pub fn literal(s: &str) -> SigmaString {
        let mut out = SigmaString::default();
        out.push_lit(s);
        out
    }

    /// Parse Sigma's escaped form. With `placeholders`, `%name%` becomes a [`Piece::Placeholder`]
    /// and `\%` is a plain percent sign.
    pub fn parse(s: &str, placeholders: bool) -> SigmaString {
        let mut out = SigmaString::default();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n) if n == '*' || n == '?' || n == '\\' || (placeholders && n == '%') => {
                        lit.push(n);
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' => {
                    out.push_lit(&std::mem::take(&mut lit));
                    out.pieces.push(Piece::Star);
                }
                '?' => {
                    out.push_lit(&std::mem::take(&mut lit));
                    out.pieces.push(Piece::Qmark);
                }
                '%' if placeholders => {
                    // A placeholder runs to the next '%'; an unmatched '%' is literal.
                    let rest: String = chars.clone().collect();
                    match rest.find('%') {
                        Some(end) if end > 0 => {
                            out.push_lit(&std::mem::take(&mut lit));
                            let name: String = rest[..end].to_string();
                            for _ in 0..name.chars().count() + 1 {
                                chars.next();
                            }
                            out.pieces.push(Piece::Placeholder(name));
                        }
                        _ => lit.push('%'),
                    }
                }
                _ => lit.push(c),
            }
        }
        out.push_lit(&lit);
        out
    }

    /// Sigma's escaped form; `parse(to_sigma())` gives back `self`.
    pub fn to_sigma(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.pieces.iter().enumerate() {
            match p {
                Piece::Lit(s) => {
                    let chars: Vec<char> = s.chars().collect();
                    for (j, &c) in chars.iter().enumerate() {
                        match c {
                            '*' | '?' => {
                                out.push('\\');
                                out.push(c);
                            }
                            '%' if self.has_placeholders() => out.push_str("\\%"),
                            '\\' => {
                                // A backslash needs doubling only where the reader would
                                // otherwise take it as an escape: before a wildcard, another
                                // backslash, or at the end of a literal that a wildcard or
                                // placeholder follows.
                                let next = chars.get(j + 1).copied();
                                let escapes_next = match next {
                                    Some('*' | '?' | '\\') => true,
                                    Some('%') => self.has_placeholders(),
                                    Some(_) => false,
                                    None => {
                                        matches!(
                                            self.pieces.get(i + 1),
                                            Some(Piece::Star | Piece::Qmark)
                                        ) || (matches!(
                                            self.pieces.get(i + 1),
                                            Some(Piece::Placeholder(_))
                                        ))
                                    }
                                };
                                if escapes_next {
                                    out.push_str("\\\\");
                                } else {
                                    out.push('\\');
                                }
                            }
                            _ => out.push(c),
                        }
                    }
                }
                Piece::Star => out.push('*'),
                Piece::Qmark => out.push('?'),
                Piece::Placeholder(n) => {
                    out.push('%');
                    out.push_str(n);
                    out.push('%');
                }
            }
        }
        out
    }

    pub fn push_lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Piece::Lit(last)) = self.pieces.last_mut() {
            last.push_str(s);
        } else {
            self.pieces.push(Piece::Lit(s.to_string()));
        }
    }

    pub fn push(&mut self, p: Piece) {
        match p {
            Piece::Lit(s) => self.push_lit(&s),
            other => self.pieces.push(other),
        }
    }

    pub fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Star | Piece::Qmark))
    }
    pub fn has_placeholders(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Placeholder(_)))
    }
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
    /// The text if this is a single literal (or empty).
    pub fn as_plain(&self) -> Option<String> {
        match self.pieces.as_slice() {
            [] => Some(String::new()),
            [Piece::Lit(s)] => Some(s.clone()),
            _ => None,
        }
    }
    pub fn starts_with_star(&self) -> bool {
        matches!(self.pieces.first(), Some(Piece::Star))
    }
    pub fn ends_with_star(&self) -> bool {
        matches!(self.pieces.last(), Some(Piece::Star))
    }
    /// Text with wildcards written as `*`/`?` and literal characters unescaped: for display only.
    pub fn display(&self) -> String {
        self.to_sigma()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.into())
    }

    #[test]
    fn windows_paths_keep_single_backslashes() {
        let s = SigmaString::parse(r"C:\Windows\System32\net.exe", false);
        assert_eq!(s.pieces, vec![lit(r"C:\Windows\System32\net.exe")]);
        assert_eq!(s.to_sigma(), r"C:\Windows\System32\net.exe");
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(SigmaString::parse(r"a\*b", false).pieces, vec![lit("a*b")]);
        assert_eq!(
            SigmaString::parse(r"a\\*", false).pieces,
            vec![lit(r"a\"), Piece::Star]
        );
        assert_eq!(
            SigmaString::parse(r"a\\\*", false).pieces,
            vec![lit(r"a\*")]
        );
        assert_eq!(SigmaString::parse(r"\\\\", false).pieces, vec![lit(r"\\")]);
        // `\*` is an escaped wildcard, so a backslash before a wildcard must be doubled.
        assert_eq!(
            SigmaString::parse(r"C:\Windows\*", false).pieces,
            vec![lit(r"C:\Windows*")]
        );
        assert_eq!(
            SigmaString::parse(r"C:\Windows\\*", false).pieces,
            vec![lit(r"C:\Windows\"), Piece::Star]
        );
    }

    #[test]
    fn round_trips_tricky_values() {
        for raw in [
            r"C:\Windows\*",
            r"a\\*",
            r"a\*b?c",
            r"trailing\",
            r"\\server\share",
            r"x\\\\y",
            r"%notplaceholder%",
        ] {
            let s = SigmaString::parse(raw, false);
            assert_eq!(SigmaString::parse(&s.to_sigma(), false), s, "{raw}");
        }
    }

    #[test]
    fn placeholders_only_with_expand() {
        let s = SigmaString::parse(r"\%plain%name%", true);
        assert_eq!(
            s.pieces,
            vec![lit("%plain"), Piece::Placeholder("name".into())]
        );
        assert_eq!(SigmaString::parse(&s.to_sigma(), true), s);
        assert_eq!(
            SigmaString::parse("%name%", false).pieces,
            vec![lit("%name%")]
        );
    }
}
