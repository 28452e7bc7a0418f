//! Sigma's case-insensitive matching: both sides lowered one character at a time with
//! Unicode's simple (one-to-one) lowercase mapping.
//!
//! Why this mapping and not `str::to_lowercase`: the full mapping turns `İ` (U+0130) into two
//! characters and a word-final `Σ` into `ς`, so lowering depends on the neighbours and changes
//! lengths (`?` would match half a letter). The per-character mapping is what SQL's `lower()`
//! does in DuckDB, and what a query engine can reproduce exactly (Spark's `lower()` is Java's
//! full mapping; the sql-spark target maps `İ` and `Σ` first, see its `lower`). Every target
//! that lowers text in the query uses [`fold`] for the literal side, and `detc match` uses it
//! for both sides, so the two agree character for character.

/// The simple lowercase of one character (`İ` is `i`, `Σ` is `σ` wherever it stands).
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(one), None) => one,
        // U+0130 is the only character whose full lowercase is longer (`i` + U+0307); its
        // simple mapping is `i` (UnicodeData.txt).
        _ => 'i',
    }
}

/// `s` lowered character by character ([`fold_char`]); an ASCII text takes the fast path.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.chars().map(fold_char).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_character_in_one_character_out_for_every_scalar_value() {
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let f = fold_char(c);
            // Agrees with the full mapping wherever that is one character...
            let full: Vec<char> = c.to_lowercase().collect();
            if full.len() == 1 {
                assert_eq!(f, full[0], "{c:?}");
            } else {
                // ...and U+0130 is the one exception.
                assert_eq!((c, f), ('\u{130}', 'i'));
            }
        }
    }

    #[test]
    fn context_does_not_change_a_letter() {
        // The full mapping writes a final sigma `ς`; the simple one `σ` everywhere.
        assert_eq!("ΟΔΟΣ".to_lowercase(), "οδος");
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("İstanbul").chars().count(), "İstanbul".chars().count());
        assert_eq!(fold("ÄBC ß ẞ"), "äbc ß ß");
        assert_eq!(fold("MiXeD"), "mixed");
    }
}
