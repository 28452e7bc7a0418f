//! The declarative target spec: the serde model of `targets/<name>/target.yaml`.
//!
//! A spec is a token table in the spirit of pySigma's `TextQueryBackend`: one or more *dialects*
//! (how a condition is spelled: boolean tokens, string quoting and escaping, one expression
//! template per matcher kind), the log sources the target knows (with their field mapping and
//! the constraint or table that selects them), and the artifact templates. docs/TARGETS.md is
//! the reference for every key.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

/// `targets/<name>/target.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Dialects in order of preference: the first one that expresses the whole condition wins.
    pub dialects: Vec<Dialect>,
    /// Log sources written in `target.yaml` itself (a small or `--targets-dir` target); the
    /// built-in targets keep one file per log source in `logsources/` instead. Read raw so that
    /// `use` can merge presets in before the entry is checked (see [`super::layout`]).
    #[serde(default, rename = "logsources")]
    pub inline_logsources: Vec<serde_json::Value>,
    /// Every log source entry, resolved: `target.yaml`'s, then each `logsources/**/*.yaml` file's
    /// in path order. Entries with equal `match` keys are tried in this order (first that can
    /// express the rule wins), so they must live in one file.
    #[serde(skip)]
    pub logsources: Vec<LogSourceSpec>,
    /// Named partial log source entries (`table`, `fields`, `extend`, `note`, ...) that several
    /// entries share: an entry's `use: [a, b]` merges them in order, then the entry's own keys
    /// (maps key by key, other values replaced).
    #[serde(default)]
    pub presets: IndexMap<String, serde_json::Value>,
    /// Field mapping applied to every log source (per-logsource `fields` take precedence).
    #[serde(default)]
    pub fields: IndexMap<String, String>,
    /// What to do with a field that no mapping names: `keep` (use the Sigma name, quoted as the
    /// dialect requires) or `skip` (the rule cannot be compiled).
    #[serde(default = "default_unmapped")]
    pub unmapped_fields: Unmapped,
    /// Column schemas (`table -> column -> type`) in one file; the built-in targets keep one
    /// file per table in `schema/` instead (both are read). When a log source's table has a
    /// schema, every mapped column must be in it.
    #[serde(default)]
    pub schema_file: Option<String>,
    /// Regex engine the platform uses: `pcre` (anything goes) or `re2` (the rule's regex must
    /// also be accepted by an RE2-compatible parser; look-around and back-references are not).
    #[serde(default = "default_engine")]
    pub regex_engine: RegexEngine,
    /// Log sources with `also` sources: how their per-source renderings are combined.
    #[serde(default)]
    pub alternatives: Option<AlternativesSpec>,
    /// Correlation rules: `None` means the target cannot express them.
    #[serde(default)]
    pub correlation: Option<CorrelationSpec>,
    /// Artifacts written per rule (`files`) and once per build (`shared`).
    #[serde(default)]
    pub artifacts: Artifacts,
    /// Free values handed to every template as `target.vars` (schedules, connectors, ...).
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Data tables for templates: name -> YAML file in the target folder, handed to every
    /// template as `target.data.<name>` (Sentinel's technique -> tactics table). Kept apart
    /// from `vars` so a large table with its source is a file of its own.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// The longest query the platform accepts, counted as .NET counts a string's length
    /// (UTF-16 code units). A longer query makes the rule skip (`query-too-long`) instead of
    /// producing a file the platform refuses. Absent: no documented limit.
    #[serde(default)]
    pub max_query_length: Option<usize>,
}

/// How a target reads a Sigma field for one log source entry (the one place that decides it:
/// the renderer, the correlation fields and the editor's hover all ask here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldColumn<'a> {
    /// The entry's mapping, else the target's: a column or an expression.
    Mapped(&'a str),
    /// No mapping and unmapped fields are kept: the field's own name.
    Kept,
    /// No mapping and the entry skips unmapped fields: the target cannot read it.
    Unmapped,
}

impl Spec {
    /// The mapping of field `name` for entry `ls`: the entry's own, else the target's.
    pub fn mapping<'a>(&'a self, ls: &'a LogSourceSpec, name: &str) -> Option<&'a str> {
        ls.fields
            .get(name)
            .or_else(|| self.fields.get(name))
            .map(String::as_str)
    }

    /// Where entry `ls` reads field `name` from (see [`FieldColumn`]).
    pub fn field_column<'a>(&'a self, ls: &'a LogSourceSpec, name: &str) -> FieldColumn<'a> {
        match self.mapping(ls, name) {
            Some(m) => FieldColumn::Mapped(m),
            None => match ls.unmapped_fields.unwrap_or(self.unmapped_fields) {
                Unmapped::Keep => FieldColumn::Kept,
                Unmapped::Skip => FieldColumn::Unmapped,
            },
        }
    }
}

fn default_unmapped() -> Unmapped {
    Unmapped::Keep
}
fn default_engine() -> RegexEngine {
    RegexEngine::Pcre
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    Keep,
    Skip,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RegexEngine {
    Pcre,
    Re2,
}

/// How a condition is spelled. Every template is filled in one pass with `{name}` slots (a
/// value can never introduce a slot of its own).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialect {
    pub name: String,
    /// The whole query: slots `{constraint}`, `{table}`, `{condition}`.
    pub query: String,
    /// Used instead of `query` when the log source has no constraint.
    #[serde(default)]
    pub query_unconstrained: Option<String>,
    /// Structural rewrite for a fallback dialect: when the condition is an AND, the operands an
    /// earlier dialect (named here) can express are rendered by it as a prefilter, and only
    /// the rest by this dialect, with `query_prefiltered` (slots as `query`, plus
    /// `{prefilter}`). SPL: `search` terms first, `| where` for the rest.
    #[serde(default)]
    pub prefilter_dialect: Option<String>,
    /// One computed column of the log source's `extend` (slots `{name}`, `{expr}`); all of them
    /// fill the query slot `{extend}`.
    #[serde(default)]
    pub extend: Option<String>,
    #[serde(default)]
    pub query_prefiltered: Option<String>,
    /// Used instead of `query_prefiltered` when the log source has no constraint.
    #[serde(default)]
    pub query_prefiltered_unconstrained: Option<String>,
    /// Post-aggregation filtering (tstats `by` then `| where`): the log source var named here
    /// lists (space-separated) the columns results are grouped by; every column the condition
    /// reads is appended to it. Grouping drops rows whose grouped column is empty, so the
    /// condition must be false whenever a field it reads is absent, or the rule is skipped.
    #[serde(default)]
    pub grouped_by: Option<String>,
    /// With `grouped_by`: the query keeps rows whose grouped columns are null (tstats
    /// `fillnull_value` with a placeholder that is turned back into null before the condition
    /// runs), so a condition that can be true for an event lacking a field is expressible.
    #[serde(default)]
    pub grouped_keeps_nulls: bool,
    pub and: String,
    pub or: String,
    /// Slot `{x}`.
    pub not: String,
    /// Parentheses around a compound operand; slot `{x}`.
    pub group: String,
    /// Used only by log sources that name it in their `dialects` (a dialect for a fallback
    /// data source, such as raw events in a CIM target), never by the others.
    #[serde(default)]
    pub on_request: bool,
    /// Group a top-level OR before it goes into `query` (SPL search joins the constraint with
    /// an implicit AND, and a reader should not need SPL's OR-before-AND precedence).
    #[serde(default)]
    pub group_top_or: bool,
    /// Longest run of operands joined by one `and`/`or` before they are split into grouped
    /// runs (same meaning; and/or are associative). Kusto's analyser parses a chain as nested
    /// binary nodes and rejects a query deeper than its safe limit. Absent: no limit.
    #[serde(default)]
    pub max_chain: Option<usize>,
    #[serde(default)]
    pub true_expr: Option<String>,
    #[serde(default)]
    pub false_expr: Option<String>,
    pub string: StringSyntax,
    /// How a field name (or mapped column) is written.
    pub field: FieldSyntax,
    /// Wildcard tokens inside `{pattern}`; a missing token means the dialect cannot express
    /// that wildcard inside a pattern (a regex may still, through `wildcard_regex`).
    #[serde(default)]
    pub wildcard_multi: Option<String>,
    #[serde(default)]
    pub wildcard_single: Option<String>,
    /// Regex slots: `{regex}` is the quoted regex text, flags already inlined as `(?ims)`.
    /// When true, a pattern no matcher template covers becomes an anchored regex.
    #[serde(default)]
    pub wildcard_regex: bool,
    /// Inline flags written in front of every regex, for an engine that needs them to read
    /// a regex as Sigma does (Java: `(?du)`: only `\n` ends a line, `i` folds Unicode letters).
    /// Absent: nothing.
    #[serde(default)]
    pub regex_prefix: Option<String>,
    /// What an unescaped `$` outside a character class becomes in a regex that is not
    /// multi-line, for an engine whose `$` also matches before a final line break (Java:
    /// `\z`). Absent: regexes are written as they are.
    #[serde(default)]
    pub regex_end: Option<String>,
    /// How the engine must write `\d`, `\w`, `\s`, `\b` and their negations so that they mean
    /// what Sigma's (PCRE's) ASCII classes mean ([`crate::ir::regex_classes`]), keyed by the
    /// letter after the backslash. Escapes not listed are written as the rule wrote them.
    #[serde(default)]
    pub regex_classes: RegexClasses,
    /// Expression templates per matcher kind (see [`Kind`]); a missing kind is not expressible.
    pub matchers: BTreeMap<Kind, String>,
    /// Wrapping for predicates under an odd number of negations, for kinds whose test can be
    /// null/unknown on a missing value: slots `{field}`, `{expr}`.
    #[serde(default)]
    pub guard: Option<String>,
    #[serde(default)]
    pub guarded: Vec<Kind>,
    /// Per-kind wrapping under negation, used instead of `guard` for that kind (slots as
    /// `guard`): SPL `num` needs `isnum(tonumber(F))`, since `tonumber("503x")` is null.
    #[serde(default)]
    pub guards: BTreeMap<Kind, String>,
    /// Comparison operators (`cmp` names) whose numeric test is never null, even when the
    /// value is (Kusto: `null == 9100` is `false`, "Null values" in the Kusto reference): a
    /// numeric test with one of them needs no guard under negation.
    #[serde(default)]
    pub total_cmp: Vec<String>,
    /// Comparison operator spellings (`eq`, `gt`, `gte`, `lt`, `lte`).
    #[serde(default)]
    pub cmp: BTreeMap<String, String>,
}

/// Replacements for class escapes in a rule's regex (`Dialect::regex_classes`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexClasses {
    /// Outside a `[...]` set: letter -> replacement (`s: '[[:space:]]'`).
    #[serde(default)]
    pub outside: BTreeMap<char, String>,
    /// Inside a set: letter -> replacement items (`s: '[:space:]'`).
    #[serde(default)]
    pub in_set: BTreeMap<char, String>,
    /// Letters taken out of a non-negated set and written beside it (`(?:[rest]|outside)`),
    /// for an engine whose `i` flag folds a set as a whole where PCRE does not fold the class.
    #[serde(default)]
    pub lift: Vec<char>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringSyntax {
    /// Opening and closing quote.
    pub quote: String,
    /// Characters replaced by an escape sequence inside a literal.
    #[serde(default)]
    pub escapes: BTreeMap<char, String>,
    /// Control characters (and other non-printing ones): a template with slot `{hex4}`
    /// (`\u{hex4}`), or absent to make them inexpressible.
    #[serde(default)]
    pub control: Option<String>,
    /// Characters that cannot appear in a literal at all (e.g. `*` in SPL search strings,
    /// where it is always a wildcard).
    #[serde(default)]
    pub forbidden: Vec<char>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSyntax {
    /// Names matching this regex are written bare.
    pub bare: String,
    /// Other names: a template with slot `{name}`, or absent to make them inexpressible.
    #[serde(default)]
    pub quoted: Option<String>,
    /// Characters that cannot appear inside `quoted`.
    #[serde(default)]
    pub quoted_forbidden: Vec<char>,
    /// Mapped columns are written like kept names (`bare` or `quoted`) instead of verbatim:
    /// for a dialect that reads plain columns whose names need quoting (SPL eval and
    /// `Processes.process`).
    #[serde(default)]
    pub quote_mapped: bool,
    /// How a dotted field whose first segment is one of the log source's `json_columns` is
    /// read: as a JSON path into that column. Absent: such fields stay flat columns.
    #[serde(default)]
    pub json: Option<JsonAccess>,
}

/// Reading `a.b.c` as the JSON path `b`, `c` of column `a` (`FieldSyntax::json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAccess {
    /// The expression: slots `{column}` (the column, written as a field) and `{path}` (the
    /// path as a string literal). It must give the text of a scalar at the path and NULL for
    /// anything else (missing, JSON null, object, array).
    pub expr: String,
    /// The path's start (`$`).
    pub root: String,
    /// A key matching this regex is written with `key`, any other with `key_quoted`.
    pub key_bare: String,
    /// One step for a plain key: slot `{key}`.
    pub key: String,
    /// One step for any other key: slot `{key}`.
    pub key_quoted: String,
    /// Characters a quoted key cannot hold (the field is then skipped).
    #[serde(default)]
    pub key_quoted_forbidden: Vec<char>,
    /// Reading lists through the log source's `json_arrays` (all needed, else a field
    /// crossing a declared array makes the rule skip). `at`: the JSON text at a path
    /// (`{json}`, `{path}`).
    #[serde(default)]
    pub at: Option<String>,
    /// The element JSON texts of `{json}` as a list; a non-array is a one-element list,
    /// NULL a list of one NULL.
    #[serde(default)]
    pub elements: Option<String>,
    /// `{expr}` applied to every element `{var}` of `{list}`.
    #[serde(default)]
    pub each: Option<String>,
    /// A list of lists `{x}` as one list.
    #[serde(default)]
    pub flatten: Option<String>,
    /// `{list}` without its NULL elements (`{var}`: the lambda variable).
    #[serde(default)]
    pub present: Option<String>,
    /// Whether `{test}` holds for some element `{var}` of `{list}`.
    #[serde(default)]
    pub some: Option<String>,
    /// The number of elements of `{list}`.
    #[serde(default)]
    pub size: Option<String>,
}

/// The kinds of predicate a dialect spells. Slots: `{field}`, `{value}` (quoted literal text),
/// `{pattern}` (quoted pattern with wildcard tokens), `{regex}` (quoted regex), `{op}`, `{number}`,
/// `{bool}`, `{net}` (quoted CIDR text), `{other}` (the other field), `{value_lower}` (the
/// literal lowered as detc lowers it, [`crate::ir::case`], for a dialect whose own lowering
/// of a literal could differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Eq,
    EqCased,
    Contains,
    ContainsCased,
    Startswith,
    StartswithCased,
    Endswith,
    EndswithCased,
    /// A pattern with wildcards in other places (uses `{pattern}`).
    Wildcard,
    WildcardCased,
    Regex,
    /// A case-insensitive pattern as a case-sensitive regex over the field's lowered text
    /// (the dialect lowers `{field}` itself, as detc does: [`crate::ir::case`]); `{regex}`
    /// is written from the lowered pattern. Used before a `(?i)` regex when present.
    RegexLower,
    Cidr4,
    Cidr6,
    /// IPv6 CIDR overlapping the IPv4-mapped range `::ffff:0:0/96`, where a platform that reads
    /// IPv4 text as mapped IPv6 (Kusto) would also match plain IPv4 addresses. Absent: `cidr6`.
    Cidr6Mapped,
    Null,
    ExistsTrue,
    ExistsFalse,
    Num,
    /// Numeric comparison on a field mapped to an expression rather than a column (KQL:
    /// `tostring(EventData.X)` holds text, so the number must be parsed first). Absent: `num`.
    NumExpr,
    Bool,
    /// Boolean on a field that may hold text (an expression, a computed or string column):
    /// compared as text (KQL: `tostring(EventData.Signed) =~ "true"`). Absent: `bool`.
    BoolExpr,
    /// Keyword: plain text anywhere in the event (`{value}`).
    Keyword,
    KeywordCased,
    /// Keyword with other wildcards (`{pattern}`) or as regex (`{regex}`).
    KeywordWildcard,
    KeywordRegex,
    /// As `regex_lower`, for keywords.
    KeywordRegexLower,
    FieldrefEq,
    FieldrefEqCased,
    FieldrefContains,
    FieldrefContainsCased,
    FieldrefStartswith,
    FieldrefStartswithCased,
    FieldrefEndswith,
    FieldrefEndswithCased,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Eq => "eq",
            Kind::EqCased => "eq_cased",
            Kind::Contains => "contains",
            Kind::ContainsCased => "contains_cased",
            Kind::Startswith => "startswith",
            Kind::StartswithCased => "startswith_cased",
            Kind::Endswith => "endswith",
            Kind::EndswithCased => "endswith_cased",
            Kind::Wildcard => "wildcard",
            Kind::WildcardCased => "wildcard_cased",
            Kind::Regex => "regex",
            Kind::RegexLower => "regex_lower",
            Kind::Cidr4 => "cidr4",
            Kind::Cidr6 => "cidr6",
            Kind::Cidr6Mapped => "cidr6_mapped",
            Kind::Null => "null",
            Kind::ExistsTrue => "exists_true",
            Kind::ExistsFalse => "exists_false",
            Kind::Num => "num",
            Kind::NumExpr => "num_expr",
            Kind::Bool => "bool",
            Kind::BoolExpr => "bool_expr",
            Kind::Keyword => "keyword",
            Kind::KeywordCased => "keyword_cased",
            Kind::KeywordWildcard => "keyword_wildcard",
            Kind::KeywordRegex => "keyword_regex",
            Kind::KeywordRegexLower => "keyword_regex_lower",
            Kind::FieldrefEq => "fieldref_eq",
            Kind::FieldrefEqCased => "fieldref_eq_cased",
            Kind::FieldrefContains => "fieldref_contains",
            Kind::FieldrefContainsCased => "fieldref_contains_cased",
            Kind::FieldrefStartswith => "fieldref_startswith",
            Kind::FieldrefStartswithCased => "fieldref_startswith_cased",
            Kind::FieldrefEndswith => "fieldref_endswith",
            Kind::FieldrefEndswithCased => "fieldref_endswith_cased",
        }
    }
}

/// One log source the target can query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceSpec {
    /// Keys that must equal the rule's (case-insensitively): product, category, service.
    #[serde(rename = "match")]
    pub when: BTreeMap<String, String>,
    /// Text that selects the events (SPL: `source=... EventCode=1`), verbatim.
    #[serde(default)]
    pub constraint: Option<String>,
    /// Search macros the constraints name between backticks (Splunk: `` `name` ``), each with
    /// its default definition: name -> definition. A macro named in a constraint must be
    /// defined by some entry, and one name has one definition across the target (checked by
    /// `layout::logsources`). Shared templates get the macros a pack's queries use as
    /// `macros` (Splunk's `macros.conf`), so a site points them at its own indexes.
    #[serde(default)]
    pub macros: BTreeMap<String, String>,
    /// Table (KQL) or data model (CIM), verbatim.
    #[serde(default)]
    pub table: Option<String>,
    /// Field mapping for this log source: Sigma field -> column or expression.
    #[serde(default)]
    pub fields: IndexMap<String, String>,
    /// Fields read from elements of an XML text column (the `Event` table's `EventData`:
    /// unnamed `<Data>` elements, `<Binary>`): Sigma field -> column and element. A string
    /// test becomes the dialect's `regex` matcher over the column (see
    /// [`super::render::xml_element_regex`]); other tests on such a field are skipped.
    #[serde(default)]
    pub xml_fields: IndexMap<String, XmlField>,
    /// Computed columns (name -> expression) added before the condition with the dialect's
    /// `extend` template, so an expression is written once; their names count as columns.
    #[serde(default)]
    pub extend: IndexMap<String, String>,
    /// Extra values for templates (`logsource.vars`), e.g. the tstats `by` clause.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// The dialects this log source is rendered with, in the spec's order; empty: every dialect
    /// that is not `on_request`.
    #[serde(default)]
    pub dialects: Vec<String>,
    /// What data this entry reads, when that is not what the target's name says (a fallback
    /// source): handed to templates as `logsource.note` and recorded in the manifest.
    #[serde(default)]
    pub note: Option<String>,
    /// Overrides the target's `unmapped_fields` for this entry (a raw-event fallback keeps the
    /// rule's field names where the data model entries skip unmapped ones).
    #[serde(default)]
    pub unmapped_fields: Option<Unmapped>,
    /// Further sources of the same events under their own field names (Security 4688 next to
    /// Sysmon 1 for process_creation). The rule is rendered once per source and the results
    /// combined as the target's top-level `alternatives` says.
    #[serde(default)]
    pub also: Vec<AlsoSource>,
    /// Columns holding an object of the event as JSON (SQL targets: `requestParameters` of
    /// CloudTrail): a dotted field whose first segment names one is read with the dialect's
    /// `field.json` access instead of as a flat column.
    #[serde(default)]
    pub json_columns: Vec<String>,
    /// Dotted paths under the `json_columns` (a column itself, or `column.key...`) whose value
    /// is an array: a field whose path crosses one is a list, one value per element as
    /// `detc match` reads it, and a test holds when any value passes (a non-array value
    /// there is read as a one-element list). Needs the dialect's list templates
    /// (`field.json.at`, `elements`, ...).
    #[serde(default)]
    pub json_arrays: Vec<String>,
}

/// A field held by elements of an XML text column (`LogSourceSpec::xml_fields`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlField {
    /// The column holding the XML text.
    pub column: String,
    /// The start tag's inside, verbatim: `Data` (an element with no attribute), `Binary`,
    /// `Data Name="param1"`. The end tag is named by its first word.
    pub element: String,
}

/// One further source of a log source's events (`LogSourceSpec::also`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoSource {
    /// Text that selects this source's events, verbatim.
    pub constraint: String,
    /// Fields this source names differently (over the log source's own `fields`).
    #[serde(default)]
    pub fields: IndexMap<String, String>,
}

/// How a log source with `also` sources is queried (top-level `alternatives`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlternativesSpec {
    /// Dialects whose whole per-source queries are joined (`join`, each grouped with `group`):
    /// those without a pipe, so every term stays in front of the first pipe.
    #[serde(default)]
    pub join_dialects: Vec<String>,
    pub join: String,
    /// `{x}`: one source's query or constraint.
    pub group: String,
    /// Other dialects merge the sources: constraints (each with the prefilter of its own
    /// field names) joined, then every differently named field computed once with this
    /// template (`{columns}`: the sources' columns, `, `-separated, the first that is set wins)
    /// through the dialect's `extend`; correlations use it for their output fields too.
    pub coalesce: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationSpec {
    /// The time column to bucket on (`_time`, `Timestamp`, `TimeGenerated`).
    pub time_field: String,
    /// Query templates (minijinja) per correlation kind; a missing kind is not expressible.
    pub templates: BTreeMap<String, String>,
    /// When set, a referenced rule is compiled only with the log source entries rendered by
    /// one of these dialects (splunk-cim: its raw-event entries, since per-event time order
    /// does not survive `tstats` grouping); empty: every entry, as for the rule itself.
    #[serde(default)]
    pub dialects: Vec<String>,
    /// Output names (group-by fields, the `value_count` field) that `field.bare` does not
    /// match are quoted with the first dialect's `field.quoted` (the SQL targets, where every
    /// column is a quoted identifier); when false such a name makes the correlation skip.
    #[serde(default)]
    pub quote_outputs: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifacts {
    /// Per-rule files: output path template (relative to `dist/`) -> template file.
    #[serde(default)]
    pub files: IndexMap<String, String>,
    /// Files gathering every compiled rule: output path -> template file.
    #[serde(default)]
    pub shared: IndexMap<String, String>,
}
