//! The intermediate representation: one rule model shared by every front end and back end.
//!
//! Architecture invariant: nothing downstream of the IR knows which front end (`.det` or Sigma
//! YAML) a rule came from. The IR keeps a rule *as written* (modifier lists, named selections,
//! `1 of x*`), which is what the Sigma writer and the formatter need; [`norm`] derives the
//! semantic form ([`norm::Expr`]) that targets and the evaluator consume.

pub mod case;
pub mod check;
pub mod json;
pub mod modifier;
pub mod name;
pub mod norm;
pub mod regex_classes;
pub mod string;

use indexmap::IndexMap;

use crate::diag::{Loc, SourceId, Span};
pub use modifier::Modifier;
pub use string::{Piece, SigmaString};

/// One rule: a detection rule or a correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable machine name: the `rule NAME { }` identifier in `.det`, the `name` field or the file
    /// stem for Sigma. Used for output file names; unique in a pack.
    pub name: String,
    pub meta: Meta,
    pub logsource: LogSource,
    pub body: RuleBody,
    /// Examples written next to the rule (`test hit { ... }`), run by `detc test`.
    pub tests: Vec<Example>,
    /// Where the rule was defined (the whole rule block / YAML document).
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleBody {
    Detection(Detection),
    Correlation(Correlation),
}

/// Metadata, in the Sigma specification's terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    pub title: String,
    pub id: Option<Spanned<String>>,
    /// Sigma's optional `name` field (used by correlation rules to reference rules).
    pub sigma_name: Option<String>,
    pub related: Vec<Related>,
    pub taxonomy: Option<String>,
    pub status: Option<Spanned<String>>,
    pub description: Option<String>,
    pub license: Option<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<Spanned<String>>,
    pub level: Option<Spanned<String>>,
    pub fields: Vec<String>,
    pub falsepositives: Vec<String>,
    pub scope: Vec<String>,
    /// Keys the IR does not model, kept in order so that a Sigma rule round-trips.
    pub custom: IndexMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub id: String,
    pub kind: String,
}

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub definition: Option<String>,
}

/// Sigma's `detection` section: named selections and one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Selections in the order they were written.
    pub selections: Vec<Selection>,
    pub condition: Cond,
    /// Span of the condition text.
    pub condition_span: Span,
}

impl Detection {
    pub fn selection(&self, name: &str) -> Option<&Selection> {
        self.selections.iter().find(|s| s.name == name)
    }
}

/// A named selection: an OR of AND-groups of matchers. A Sigma map is one group; a list of maps
/// is several groups; a keyword list is one group holding one field-less matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub name: String,
    pub span: Span,
    pub groups: Vec<Vec<Matcher>>,
}

/// `field|mod|mod: values` (or a keyword matcher when `field` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// OR-ed unless `all` is among the modifiers.
    pub values: Vec<Value>,
    pub span: Span,
}

impl Matcher {
    pub fn has(&self, m: Modifier) -> bool {
        self.modifiers.contains(&m)
    }
}

/// A value as written. Strings are parsed according to the modifiers: with `re`, `cidr` or
/// `fieldref` the text is taken verbatim (one literal piece); otherwise wildcards and escapes
/// apply; with `expand`, placeholders too. Use [`Value::from_text`] to build one.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(SigmaString),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl Value {
    /// Build a string value from its Sigma text under the given modifiers.
    pub fn from_text(text: &str, modifiers: &[Modifier]) -> Value {
        if Value::is_verbatim(modifiers) {
            Value::Str(SigmaString::literal(text))
        } else {
            Value::Str(SigmaString::parse(
                text,
                modifiers.contains(&Modifier::Expand),
            ))
        }
    }

    /// Whether string values under these modifiers are taken verbatim (no wildcards, no escapes).
    pub fn is_verbatim(modifiers: &[Modifier]) -> bool {
        modifiers
            .iter()
            .any(|m| matches!(m, Modifier::Re | Modifier::Cidr | Modifier::FieldRef))
    }

    /// Sigma text of a string value under the given modifiers (inverse of [`Value::from_text`]).
    pub fn to_text(&self, modifiers: &[Modifier]) -> Option<String> {
        match self {
            Value::Str(s) if Value::is_verbatim(modifiers) => {
                Some(s.as_plain().unwrap_or_else(|| s.to_sigma()))
            }
            Value::Str(s) => Some(s.to_sigma()),
            _ => None,
        }
    }
}

/// The condition as written (before `1 of x*` expansion).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// A selection name.
    Sel(Spanned<String>),
    /// `1 of x*` / `1 of them` (quantifier `One`) and `all of x*` / `all of them` (`All`).
    Of(Quant, Spanned<OfTarget>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quant {
    One,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OfTarget {
    /// `them`: every selection (Sigma excludes names starting with `_`).
    Them,
    /// A name pattern, `*` as wildcard (`selection_*`), or a plain name.
    Pattern(String),
}

/// Sigma correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub kind: CorrelationKind,
    /// Referenced rules (by `name` or `id`).
    pub rules: Vec<Spanned<String>>,
    pub group_by: Vec<String>,
    /// Timespan in seconds, plus the text as written (`1h`).
    pub timespan: Spanned<Timespan>,
    /// Threshold condition (`event_count`, `value_count`); `None` for temporal kinds.
    pub condition: Option<CorrelationCondition>,
    /// `aliases`: alias name -> (rule name -> field).
    pub aliases: IndexMap<String, IndexMap<String, String>>,
    pub generate: bool,
}

/// A fieldless enum whose variants each have one spelling in rule text: defines the enum
/// with its `NAMES` table (the one place a spelling is written), `parse` and `name`.
macro_rules! spelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const NAMES: &'static [(&'static str, $name)] = &[$(($text, $name::$variant)),+];
            pub fn parse(s: &str) -> Option<$name> {
                Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
            }
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
    };
}

spelled_enum!(
    /// The kind of a correlation rule (`type:`).
    CorrelationKind {
        EventCount = "event_count",
        ValueCount = "value_count",
        Temporal = "temporal",
        TemporalOrdered = "temporal_ordered",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timespan {
    pub seconds: u64,
    pub text: String,
}

impl Timespan {
    /// Parse `30s`, `5m`, `1h`, `2d`, `1w` (Sigma's units; `M`/`y` are months/years).
    pub fn parse(text: &str) -> Option<Timespan> {
        let text = text.trim();
        let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
        let n: u64 = num.parse().ok()?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            "w" => 7 * 86400,
            "M" => 30 * 86400,
            "y" => 365 * 86400,
            _ => return None,
        };
        Some(Timespan {
            seconds: n.checked_mul(mult)?,
            text: text.to_string(),
        })
    }
}

/// `condition:` of a correlation: one or more comparisons (and `field` for value_count).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCondition {
    pub cmps: Vec<(CmpOp, i64)>,
    pub field: Option<String>,
}

spelled_enum!(
    /// A comparison in a correlation's `condition:`.
    CmpOp {
        Eq = "eq",
        Gt = "gt",
        Gte = "gte",
        Lt = "lt",
        Lte = "lte",
    }
);

impl CmpOp {
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Eq => lhs == rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Gte => lhs >= rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Lte => lhs <= rhs,
        }
    }
}

/// An example event written next to a rule, with the expected outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub expect: Expect,
    /// Flat field map (JSON values: strings, numbers, booleans, null, or lists of those).
    pub event: serde_json::Map<String, serde_json::Value>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    Hit,
    Miss,
}

impl Rule {
    pub fn source(&self) -> SourceId {
        self.loc.source
    }
    pub fn loc(&self, span: Span) -> Loc {
        Loc::new(self.loc.source, span)
    }
    pub fn detection(&self) -> Option<&Detection> {
        match &self.body {
            RuleBody::Detection(d) => Some(d),
            RuleBody::Correlation(_) => None,
        }
    }
    /// The rule id as text, if any.
    pub fn id(&self) -> Option<&str> {
        self.meta.id.as_ref().map(|s| s.value.as_str())
    }
    pub fn level(&self) -> Option<&str> {
        self.meta.level.as_ref().map(|s| s.value.as_str())
    }
    /// ATT&CK technique ids from the tags (`attack.t1098.001` -> `T1098.001`), in tag order.
    pub fn attack_techniques(&self) -> Vec<String> {
        self.meta
            .tags
            .iter()
            .filter_map(|t| t.value.strip_prefix("attack."))
            .filter(|t| {
                let t = t.as_bytes();
                t.len() >= 5 && (t[0] == b't' || t[0] == b'T') && t[1].is_ascii_digit()
            })
            .map(|t| t.to_ascii_uppercase())
            .collect()
    }
}
