//! Value modifiers (`|contains`, `|re|i`, `|base64offset`, ...): the one table of their names.

/// A Sigma value modifier, as written after a field name. Order matters: modifiers apply left to
/// right (`|base64offset|contains` encodes first, then wraps in wildcards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Cased,
    Exists,
    Neq,
    Re,
    /// `re` sub-modifier `i`: case-insensitive.
    ReI,
    /// `re` sub-modifier `m`: multi-line.
    ReM,
    /// `re` sub-modifier `s`: dot matches newline.
    ReS,
    Cidr,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Wide,
    Windash,
    FieldRef,
    Gt,
    Gte,
    Lt,
    Lte,
    Expand,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// Name table: the spelling used in Sigma and in the rule language.
pub const MODIFIERS: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("cased", Modifier::Cased),
    ("exists", Modifier::Exists),
    ("neq", Modifier::Neq),
    ("re", Modifier::Re),
    ("i", Modifier::ReI),
    ("m", Modifier::ReM),
    ("s", Modifier::ReS),
    ("cidr", Modifier::Cidr),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("utf16le", Modifier::Utf16Le),
    ("utf16be", Modifier::Utf16Be),
    ("utf16", Modifier::Utf16),
    ("wide", Modifier::Wide),
    ("windash", Modifier::Windash),
    ("fieldref", Modifier::FieldRef),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("expand", Modifier::Expand),
    ("minute", Modifier::Minute),
    ("hour", Modifier::Hour),
    ("day", Modifier::Day),
    ("week", Modifier::Week),
    ("month", Modifier::Month),
    ("year", Modifier::Year),
];

impl Modifier {
    /// Parse a modifier name (case-insensitive, as pySigma accepts them).
    pub fn parse(name: &str) -> Option<Modifier> {
        let lower = name.to_ascii_lowercase();
        // Aliases seen in the wild.
        let lower = match lower.as_str() {
            "i" | "ignorecase" => "i",
            "m" | "multiline" => "m",
            "s" | "dotall" => "s",
            other => other,
        };
        MODIFIERS.iter().find(|(n, _)| *n == lower).map(|(_, m)| *m)
    }

    pub fn name(self) -> &'static str {
        MODIFIERS
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .expect("every modifier is in the table")
    }

    /// Every modifier name, for "expected one of" diagnostics.
    pub fn all_names() -> String {
        MODIFIERS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn is_re_flag(self) -> bool {
        matches!(self, Modifier::ReI | Modifier::ReM | Modifier::ReS)
    }
    pub fn is_numeric_cmp(self) -> bool {
        matches!(
            self,
            Modifier::Gt | Modifier::Gte | Modifier::Lt | Modifier::Lte
        )
    }
    pub fn is_time_part(self) -> bool {
        matches!(
            self,
            Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year
        )
    }
    pub fn is_encoding(self) -> bool {
        matches!(
            self,
            Modifier::Base64
                | Modifier::Base64Offset
                | Modifier::Utf16Le
                | Modifier::Utf16Be
                | Modifier::Utf16
                | Modifier::Wide
        )
    }
    pub fn is_position(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }
}

impl std::fmt::Display for Modifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
