//! Sigma YAML to IR: detection rules, correlation rules and filters, one per YAML document.
//!
//! The reader checks shape (what must be a mapping, a list, a string), modifier names and
//! condition syntax; semantic checks (UUIDs, levels, unused selections, regexes...) belong to
//! [`crate::ir::check`], which runs afterwards. A document with an error yields no rule, so a
//! half-read rule can never be compiled into a query that means something else.

use indexmap::IndexMap;

use super::filters::Filter;
use super::yaml::{self, Kind, Node, Scalar};
use super::{cond, writer, Parsed};
use crate::diag::{Diagnostic, Loc, SourceId, Span};
use crate::ir::name::{check_rule_name, safe_name};
use crate::ir::{
    CmpOp, Cond, Correlation, CorrelationCondition, CorrelationKind, Detection, Example, Expect,
    LogSource, Matcher, Meta, Modifier, Related, Rule, RuleBody, Selection, Spanned, Timespan,
    Value,
};

/// Read every document of a file. `stem` names the rules (`stem`, `stem_2`, ...); without it the
/// name is the slugified title.
pub fn read_file(source: SourceId, text: &str, stem: Option<&str>) -> (Parsed, Vec<Diagnostic>) {
    let mut cx = Cx {
        source,
        text,
        diags: Vec::new(),
    };
    let mut out = Parsed::default();
    let (docs, err) = yaml::parse(text);
    for doc in &docs {
        let before = cx.errors();
        match cx.document(&doc.root, doc.span) {
            Some(Doc::Rule(mut rule)) if cx.errors() == before => {
                let n = out.rules.len() + 1;
                rule.name = match stem {
                    Some(s) => {
                        let name = numbered(&safe_name(s), n);
                        if let Err(problem) = check_rule_name(s) {
                            cx.diags.push(
                                Diagnostic::warning(
                                    "unsafe-rule-name",
                                    format!(
                                        "the file name is not a safe rule name ({}); the rule is named `{name}`",
                                        problem.message(s)
                                    ),
                                )
                                .at(cx.loc(doc.span))
                                .expected(crate::ir::name::EXPECTED),
                            );
                        }
                        name
                    }
                    None => {
                        let base = slug(&rule.meta.title);
                        let taken = out.rules.iter().filter(|r| r.name == base).count();
                        numbered(&base, taken + 1)
                    }
                };
                out.rules.push(*rule);
            }
            Some(Doc::Filter(f)) if cx.errors() == before => out.filters.push(*f),
            _ => {}
        }
    }
    if let Some(e) = err {
        cx.diags.push(
            Diagnostic::error("yaml", format!("invalid YAML: {}", e.message))
                .at(cx.loc(e.span))
                .label("YAML syntax error"),
        );
    }
    (out, cx.diags)
}

fn numbered(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}_{n}")
    }
}

/// A file-name-safe machine name from free text (a title): lowercase ASCII letters, digits and `_`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("rule");
    }
    // A slug names output files too: the same rules as a file stem (no leading digit, bounded).
    safe_name(&out)
}

enum Doc {
    Rule(Box<Rule>),
    Filter(Box<Filter>),
}

struct Cx<'t> {
    source: SourceId,
    text: &'t str,
    diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn loc(&self, span: Span) -> Loc {
        Loc::new(self.source, span)
    }
    fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
    fn error(&mut self, code: &'static str, msg: impl Into<String>, span: Span) -> &mut Diagnostic {
        let d = Diagnostic::error(code, msg).at(self.loc(span));
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }
    fn shape(&mut self, node: &Node, expected: &str) {
        let found = node.shape();
        let d = self.error(
            "invalid-value",
            format!("expected {expected}, found {found}"),
            node.span,
        );
        d.label = format!("{found} here");
        d.expected = Some(expected.to_string());
    }

    fn document(&mut self, root: &Node, span: Span) -> Option<Doc> {
        let entries = match &root.kind {
            Kind::Map(m) => m,
            // An empty document (a trailing `---`) is not a rule.
            _ if root.is_null() => return None,
            _ => {
                self.shape(root, "a mapping (a Sigma rule)");
                return None;
            }
        };
        self.duplicate_keys_deep(root);
        if root.get("correlation").is_some() {
            self.rule(root, entries, span, Kind2::Correlation)
        } else if root.get("filter").is_some() && root.get("detection").is_none() {
            self.filter(root, entries, span)
        } else {
            self.rule(root, entries, span, Kind2::Detection)
        }
    }

    /// Every mapping of a document, once: a repeated key is an error wherever it is (in a
    /// selection, `logsource`, a `related` item, a custom key's value, a test event...), since
    /// YAML readers silently keep one of the values (the last or the first, depending on how
    /// the value is looked up).
    fn duplicate_keys_deep(&mut self, node: &Node) {
        match &node.kind {
            Kind::Map(entries) => {
                self.duplicate_keys(entries);
                for (_, v) in entries {
                    self.duplicate_keys_deep(v);
                }
            }
            Kind::Seq(items) => {
                for i in items {
                    self.duplicate_keys_deep(i);
                }
            }
            Kind::Scalar { .. } => {}
        }
    }

    fn duplicate_keys(&mut self, entries: &[(Node, Node)]) {
        // Keys seen so far, by text (a map of 100,000 selections must not compare each key
        // with every earlier one).
        let mut seen: rustc_hash::FxHashMap<Option<&str>, &Node> = Default::default();
        for (k, _) in entries {
            if let Some(first) = seen.get(&k.text()).copied() {
                let msg = format!("key `{}` appears twice", k.text().unwrap_or_default());
                let first = self.loc(first.span);
                let d = self.error("duplicate-key", msg, k.span);
                d.secondary.push(crate::diag::Label {
                    loc: first,
                    message: "first here".into(),
                });
            } else {
                seen.insert(k.text(), k);
            }
        }
    }

    /// A string-valued key (every metadata field of the Sigma schemas is a string). A boolean
    /// or number written where text is expected (`title: true`, `tags: [1, 2]`) is an error
    /// rather than text: it is more likely a slip than a title, and quoting says what is meant.
    fn string(&mut self, node: &Node) -> Option<String> {
        match node.scalar() {
            Some(Scalar::Null) => None,
            Some(Scalar::Str(s)) => Some(s.to_string()),
            Some(_) => {
                self.shape(node, "a string");
                if let Some(d) = self.diags.last_mut() {
                    d.notes.push(format!(
                        "write '{}' in quotes if it is meant as text",
                        node.text().unwrap_or_default()
                    ));
                }
                None
            }
            None => {
                self.shape(node, "a string");
                None
            }
        }
    }

    fn strings(&mut self, node: &Node) -> Vec<Spanned<String>> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i).map(|s| Spanned::new(s, i.span)))
                .collect(),
            Kind::Scalar { .. } => self
                .string(node)
                .map(|s| Spanned::new(s, node.span))
                .into_iter()
                .collect(),
            Kind::Map(_) => {
                self.shape(node, "a list of strings");
                Vec::new()
            }
        }
    }

    fn plain_strings(&mut self, node: &Node) -> Vec<String> {
        self.strings(node).into_iter().map(|s| s.value).collect()
    }

    fn meta(&mut self, entries: &[(Node, Node)], kind: Kind2) -> (Meta, LogSource) {
        let mut m = Meta::default();
        let mut ls = LogSource::default();
        for (k, v) in entries {
            let key = k.text().unwrap_or_default();
            match key {
                "title" => m.title = self.string(v).unwrap_or_default(),
                "id" => m.id = self.string(v).map(|s| Spanned::new(s, v.span)),
                "name" => m.sigma_name = self.string(v),
                "related" => m.related = self.related(v),
                "taxonomy" => m.taxonomy = self.string(v),
                "status" => m.status = self.string(v).map(|s| Spanned::new(s, v.span)),
                "description" => m.description = self.string(v),
                "license" => m.license = self.string(v),
                "author" => m.author = self.string(v),
                "references" => m.references = self.plain_strings(v),
                "date" => m.date = self.string(v).map(|d| writer::normalize_date(&d)),
                "modified" => m.modified = self.string(v).map(|d| writer::normalize_date(&d)),
                "tags" => {
                    m.tags = self
                        .strings(v)
                        .into_iter()
                        .map(|t| Spanned::new(t.value.to_lowercase(), t.span))
                        .collect()
                }
                "level" => m.level = self.string(v).map(|s| Spanned::new(s, v.span)),
                "fields" => m.fields = self.plain_strings(v),
                "falsepositives" => m.falsepositives = self.plain_strings(v),
                "scope" => m.scope = self.plain_strings(v),
                writer::TESTS_KEY => {}
                // A correlation reads the log sources of its rules; one of its own would be
                // dropped by every back end and cannot be written in the rule language.
                "logsource" if kind == Kind2::Correlation => {
                    let d = Diagnostic::warning(
                        "unknown-key",
                        "a correlation rule has no `logsource` (its rules have theirs); ignored",
                    )
                    .at(self.loc(k.span));
                    self.diags.push(d);
                }
                "logsource" => ls = self.logsource(v),
                "detection" if kind == Kind2::Detection => {}
                "correlation" | "generate" if kind == Kind2::Correlation => {}
                "filter" if kind == Kind2::Filter => {}
                _ => {
                    let name = match k.text() {
                        Some(t) => t.to_string(),
                        None => {
                            self.shape(k, "a string key");
                            continue;
                        }
                    };
                    m.custom.insert(name, to_json(v));
                }
            }
        }
        (m, ls)
    }

    /// `x-detc-tests`: a list of `{expect: hit|miss, event: {field: value}}`.
    fn examples(&mut self, v: &Node) -> Vec<Example> {
        let Kind::Seq(items) = &v.kind else {
            self.shape(v, "a list of `expect`/`event` mappings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let expect = match item.get("expect").and_then(Node::text) {
                Some("hit") => Expect::Hit,
                Some("miss") => Expect::Miss,
                _ => {
                    self.shape(
                        item,
                        "a mapping with `expect: hit` or `expect: miss` and `event`",
                    );
                    continue;
                }
            };
            let event = match item.get("event").map(to_json) {
                Some(serde_json::Value::Object(o)) => o,
                _ => {
                    self.shape(item, "a mapping with an `event` mapping");
                    continue;
                }
            };
            out.push(Example {
                expect,
                event,
                span: item.span,
            });
        }
        out
    }

    fn related(&mut self, v: &Node) -> Vec<Related> {
        let Kind::Seq(items) = &v.kind else {
            if !v.is_null() {
                self.shape(v, "a list of `id`/`type` mappings");
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match (item.as_map(), item.get("id"), item.get("type")) {
                (Some(_), Some(id), Some(ty)) => {
                    if let (Some(id), Some(kind)) = (self.string(id), self.string(ty)) {
                        out.push(Related { id, kind });
                    }
                }
                _ => self.shape(item, "a mapping with `id` and `type`"),
            }
        }
        out
    }

    fn logsource(&mut self, v: &Node) -> LogSource {
        let mut ls = LogSource::default();
        let Some(entries) = v.as_map() else {
            self.shape(v, "a mapping (category, product, service, definition)");
            return ls;
        };
        for (k, val) in entries {
            let slot = match k.text().unwrap_or_default() {
                "category" => &mut ls.category,
                "product" => &mut ls.product,
                "service" => &mut ls.service,
                "definition" => &mut ls.definition,
                other => {
                    let d = Diagnostic::warning(
                        "unknown-key",
                        format!("logsource key `{other}` is not part of Sigma and is ignored"),
                    )
                    .at(self.loc(k.span))
                    .expected("category, product, service or definition");
                    self.diags.push(d);
                    continue;
                }
            };
            *slot = self.string(val);
        }
        ls
    }

    fn rule(
        &mut self,
        root: &Node,
        entries: &[(Node, Node)],
        span: Span,
        kind: Kind2,
    ) -> Option<Doc> {
        let (meta, logsource) = self.meta(entries, kind);
        let tests = match root.get(writer::TESTS_KEY) {
            Some(t) => self.examples(t),
            None => Vec::new(),
        };
        let body = match kind {
            Kind2::Correlation => {
                let c = root.get("correlation").expect("checked by the caller");
                let generate_top = root.get("generate");
                RuleBody::Correlation(self.correlation(c, generate_top)?)
            }
            _ => {
                let Some(d) = root.get("detection") else {
                    let d = self.error(
                        "missing-key",
                        "a Sigma rule needs a `detection` (or a `correlation`) section",
                        Span::at(span.start as usize),
                    );
                    d.expected = Some("`detection:` with selections and a `condition`".into());
                    return None;
                };
                let det_key = entries
                    .iter()
                    .find(|(k, _)| k.text() == Some("detection"))
                    .map(|(k, _)| k.span)
                    .unwrap_or(span);
                RuleBody::Detection(self.detection(d, det_key)?)
            }
        };
        Some(Doc::Rule(Box::new(Rule {
            name: String::new(),
            meta,
            logsource,
            body,
            tests,
            loc: self.loc(span),
        })))
    }

    /// Selections and condition of a `detection:` (or `filter:`) mapping; `skip` names keys that
    /// are not selections.
    fn selections_and_condition(
        &mut self,
        node: &Node,
        key_span: Span,
        skip: &[&str],
    ) -> Option<(Vec<Selection>, Cond, Span)> {
        let Some(entries) = node.as_map() else {
            self.shape(node, "a mapping of selections and a `condition`");
            return None;
        };
        let mut selections = Vec::new();
        let mut condition = None;
        for (k, v) in entries {
            let name = k.text().unwrap_or_default();
            if name == "condition" {
                condition = self.condition(v);
                continue;
            }
            if skip.contains(&name) {
                continue;
            }
            if name == "timeframe" {
                self.error(
                    "unsupported",
                    "`timeframe` belongs to the old aggregation syntax; write a correlation rule",
                    k.span,
                );
                continue;
            }
            // A name the rule language cannot write (empty, `a b`, `a:b`, `and`): `detc convert`
            // would print a rule that does not parse, and no condition could name it (only
            // `them` could reach it). Refused here, where it is written.
            if !crate::dsl::print::plain_name(name) {
                let d = self.error(
                    "invalid-selection-name",
                    format!("`{name}` cannot be a selection name"),
                    k.span,
                );
                d.expected = Some(
                    "a name without spaces, quotes, brackets, `,`, `=`, `:` or `#` that is not \
                     a condition keyword (and, or, not, of, them, all, 1)"
                        .into(),
                );
                continue;
            }
            let groups = self.selection(v);
            selections.push(Selection {
                name: name.to_string(),
                span: k.span.to(v.span),
                groups,
            });
        }
        let Some((cond, cspan)) = condition else {
            if entries.iter().all(|(k, _)| k.text() != Some("condition")) {
                let d = self.error(
                    "missing-condition",
                    "the detection has no `condition`",
                    key_span,
                );
                d.expected = Some("`condition: selection` (or another expression)".into());
            }
            return None;
        };
        Some((selections, cond, cspan))
    }

    fn detection(&mut self, node: &Node, key_span: Span) -> Option<Detection> {
        let (selections, condition, condition_span) =
            self.selections_and_condition(node, key_span, &[])?;
        Some(Detection {
            selections,
            condition,
            condition_span,
        })
    }

    fn condition(&mut self, v: &Node) -> Option<(Cond, Span)> {
        match &v.kind {
            Kind::Seq(items) if !items.is_empty() => {
                // A list of conditions means OR.
                let mut alts = Vec::new();
                for i in items {
                    match self.one_condition(i)? {
                        Cond::Or(xs) => alts.extend(xs),
                        c => alts.push(c),
                    }
                }
                let c = if alts.len() == 1 {
                    alts.pop().expect("one")
                } else {
                    Cond::Or(alts)
                };
                Some((c, v.span))
            }
            _ => Some((self.one_condition(v)?, v.span)),
        }
    }

    fn one_condition(&mut self, v: &Node) -> Option<Cond> {
        let text = match &v.kind {
            Kind::Scalar { text, .. } if !v.is_null() => text,
            _ => {
                self.shape(v, "a condition string (or a list of them)");
                return None;
            }
        };
        // Offsets inside the text map onto the file exactly for plain and single-line quoted
        // scalars (the common case); block scalars point near the value.
        let first = self.text.as_bytes().get(v.span.start as usize).copied();
        let base = v.span.start as usize + usize::from(matches!(first, Some(b'\'' | b'"')));
        match cond::parse(text, base) {
            Ok(c) => Some(c),
            Err(e) => {
                let span = clamp(e.span, v.span);
                let d = self.error("invalid-condition", e.message, span);
                d.expected = e.expected.map(str::to_string);
                None
            }
        }
    }

    fn selection(&mut self, v: &Node) -> Vec<Vec<Matcher>> {
        match &v.kind {
            Kind::Map(entries) => vec![self.group(entries)],
            Kind::Seq(items) if items.is_empty() => Vec::new(),
            Kind::Seq(items) if items.iter().all(|i| matches!(i.kind, Kind::Scalar { .. })) => {
                let values = items.iter().map(|i| scalar_value(i, &[])).collect();
                vec![vec![Matcher {
                    field: None,
                    modifiers: Vec::new(),
                    values,
                    span: v.span,
                }]]
            }
            Kind::Seq(items) => {
                let mut groups = Vec::new();
                for i in items {
                    match &i.kind {
                        Kind::Map(entries) => groups.push(self.group(entries)),
                        Kind::Scalar { .. } => groups.push(vec![Matcher {
                            field: None,
                            modifiers: Vec::new(),
                            values: vec![scalar_value(i, &[])],
                            span: i.span,
                        }]),
                        Kind::Seq(_) => self.shape(i, "a field mapping or a keyword"),
                    }
                }
                groups
            }
            Kind::Scalar { .. } => vec![vec![Matcher {
                field: None,
                modifiers: Vec::new(),
                values: vec![scalar_value(v, &[])],
                span: v.span,
            }]],
        }
    }

    fn group(&mut self, entries: &[(Node, Node)]) -> Vec<Matcher> {
        entries
            .iter()
            .filter_map(|(k, v)| self.matcher(k, v))
            .collect()
    }

    fn matcher(&mut self, k: &Node, v: &Node) -> Option<Matcher> {
        let Some(key) = k.text() else {
            self.shape(k, "a field name (with `|modifiers`)");
            return None;
        };
        let first = self.text.as_bytes().get(k.span.start as usize).copied();
        let base = k.span.start as usize + usize::from(matches!(first, Some(b'\'' | b'"')));
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        let mut modifiers = Vec::new();
        let mut off = field.len() + 1;
        let mut ok = true;
        for p in parts {
            match Modifier::parse(p) {
                Some(m) => modifiers.push(m),
                None => {
                    let span = clamp(Span::new(base + off, base + off + p.len()), k.span);
                    let d = self.error("unknown-modifier", format!("unknown modifier `{p}`"), span);
                    d.label = "not a Sigma modifier".into();
                    d.expected = Some(Modifier::all_names());
                    ok = false;
                }
            }
            off += p.len() + 1;
        }
        let values = match &v.kind {
            Kind::Scalar { .. } => vec![scalar_value(v, &modifiers)],
            Kind::Seq(items) => {
                let mut vals = Vec::new();
                for i in items {
                    match &i.kind {
                        Kind::Scalar { .. } => vals.push(scalar_value(i, &modifiers)),
                        _ => {
                            self.shape(i, "a value (string, number, boolean or null)");
                            ok = false;
                        }
                    }
                }
                vals
            }
            Kind::Map(_) => {
                self.shape(v, "a value or a list of values");
                return None;
            }
        };
        ok.then(|| Matcher {
            field: (!field.is_empty()).then(|| field.to_string()),
            modifiers,
            values,
            span: k.span.to(v.span),
        })
    }

    fn correlation(&mut self, c: &Node, generate_top: Option<&Node>) -> Option<Correlation> {
        let Some(entries) = c.as_map() else {
            self.shape(c, "a mapping (type, rules, group-by, timespan, condition)");
            return None;
        };
        let mut kind = None;
        let mut rules = Vec::new();
        let mut group_by = Vec::new();
        let mut timespan = None;
        let mut condition = None;
        let mut aliases = IndexMap::new();
        let mut generate = false;
        let mut ok = true;
        if let Some(g) = generate_top {
            generate = self.bool(g).unwrap_or(false);
        }
        for (k, v) in entries {
            match k.text().unwrap_or_default() {
                "type" => {
                    let t = self.string(v).unwrap_or_default();
                    kind = CorrelationKind::parse(&t);
                    if kind.is_none() {
                        let names: Vec<_> =
                            CorrelationKind::NAMES.iter().map(|(n, _)| *n).collect();
                        let d = self.error(
                            "unsupported-correlation",
                            format!("correlation type `{t}` is not supported"),
                            v.span,
                        );
                        d.expected = Some(names.join(", "));
                        ok = false;
                    }
                }
                "rules" => rules = self.strings(v),
                "group-by" => group_by = self.plain_strings(v),
                "timespan" => {
                    let t = self.string(v).unwrap_or_default();
                    match Timespan::parse(&t) {
                        Some(ts) => timespan = Some(Spanned::new(ts, v.span)),
                        None => {
                            let d = self.error(
                                "invalid-timespan",
                                format!("`{t}` is not a timespan"),
                                v.span,
                            );
                            d.expected = Some("a number and a unit: 30s, 5m, 1h, 2d".into());
                            ok = false;
                        }
                    }
                }
                "condition" => match self.corr_condition(v) {
                    Some(cc) => condition = Some(cc),
                    None => ok = false,
                },
                "aliases" => match self.aliases(v) {
                    Some(a) => aliases = a,
                    None => ok = false,
                },
                "generate" => generate = self.bool(v).unwrap_or(false),
                other => {
                    let d = Diagnostic::warning(
                        "unknown-key",
                        format!("correlation key `{other}` is not part of Sigma and is ignored"),
                    )
                    .at(self.loc(k.span))
                    .expected("type, rules, group-by, timespan, condition, aliases, generate");
                    self.diags.push(d);
                }
            }
        }
        for (key, present) in [
            ("type", kind.is_some() || !ok),
            ("rules", !rules.is_empty()),
            ("timespan", timespan.is_some() || !ok),
            // Counting correlations need a threshold (the specification's `condition`; the
            // rule language requires it too, so `detc convert` would print an invalid rule).
            (
                "condition",
                condition.is_some()
                    || !ok
                    || !matches!(
                        kind,
                        Some(CorrelationKind::EventCount | CorrelationKind::ValueCount)
                    ),
            ),
        ] {
            if !present {
                self.error(
                    "missing-key",
                    format!("the correlation has no `{key}`"),
                    c.span,
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(Correlation {
            kind: kind?,
            rules,
            group_by,
            timespan: timespan?,
            condition,
            aliases,
            generate,
        })
    }

    fn bool(&mut self, v: &Node) -> Option<bool> {
        match v.scalar() {
            Some(Scalar::Bool(b)) => Some(b),
            _ => {
                self.shape(v, "`true` or `false`");
                None
            }
        }
    }

    fn corr_condition(&mut self, v: &Node) -> Option<CorrelationCondition> {
        let Some(entries) = v.as_map() else {
            self.shape(v, "a mapping such as `gte: 10`");
            return None;
        };
        let mut cc = CorrelationCondition {
            cmps: Vec::new(),
            field: None,
        };
        for (k, val) in entries {
            let key = k.text().unwrap_or_default();
            if key == "field" {
                match &val.kind {
                    Kind::Seq(items) if items.len() == 1 => cc.field = self.string(&items[0]),
                    Kind::Seq(_) => {
                        self.error(
                            "unsupported",
                            "a value_count over several fields is not supported",
                            val.span,
                        );
                        return None;
                    }
                    _ => cc.field = self.string(val),
                }
                continue;
            }
            let Some(op) = CmpOp::parse(key) else {
                let d = self.error(
                    "invalid-condition",
                    format!("`{key}` is not a correlation comparison"),
                    k.span,
                );
                d.expected = Some("gt, gte, lt, lte, eq, field".into());
                return None;
            };
            match val.scalar() {
                Some(Scalar::Int(n)) => cc.cmps.push((op, n)),
                _ => {
                    self.shape(val, "a whole number");
                    return None;
                }
            }
        }
        Some(cc)
    }

    fn aliases(&mut self, v: &Node) -> Option<IndexMap<String, IndexMap<String, String>>> {
        let Some(entries) = v.as_map() else {
            self.shape(v, "a mapping alias -> (rule -> field)");
            return None;
        };
        let mut out = IndexMap::new();
        for (k, m) in entries {
            let Some(inner) = m.as_map() else {
                self.shape(m, "a mapping rule -> field");
                return None;
            };
            let mut map = IndexMap::new();
            for (r, f) in inner {
                map.insert(r.text()?.to_string(), self.string(f)?);
            }
            out.insert(k.text()?.to_string(), map);
        }
        Some(out)
    }

    fn filter(&mut self, root: &Node, entries: &[(Node, Node)], span: Span) -> Option<Doc> {
        let (meta, logsource) = self.meta(entries, Kind2::Filter);
        let (fkey, f) = entries
            .iter()
            .find(|(k, _)| k.text() == Some("filter"))
            .map(|(k, v)| (k.span, v))?;
        let rules = match f.get("rules") {
            Some(r) => self.strings(r),
            None => Vec::new(),
        };
        if rules.is_empty() {
            let d = self.error("missing-key", "the filter has no `rules` to apply to", fkey);
            d.expected = Some("`rules:` with the ids or names of the rules to filter".into());
        }
        let (selections, condition, condition_span) =
            self.selections_and_condition(f, fkey, &["rules"])?;
        let _ = root;
        Some(Doc::Filter(Box::new(Filter {
            meta,
            logsource,
            rules,
            selections,
            condition,
            condition_span,
            loc: self.loc(span),
        })))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind2 {
    Detection,
    Correlation,
    Filter,
}

fn clamp(s: Span, within: Span) -> Span {
    let start = s.start.clamp(within.start, within.end);
    let end = s.end.clamp(start, within.end);
    Span { start, end }
}

/// A scalar as a detection value under the matcher's modifiers.
fn scalar_value(n: &Node, mods: &[Modifier]) -> Value {
    match n.scalar() {
        Some(Scalar::Null) => Value::Null,
        Some(Scalar::Bool(b)) => Value::Bool(b),
        Some(Scalar::Int(i)) => Value::Int(i),
        Some(Scalar::Float(f)) => Value::Float(f),
        Some(Scalar::Str(s)) => Value::from_text(s, mods),
        None => Value::Null,
    }
}

/// A custom key's value as JSON (kept in `Meta.custom`).
fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.kind {
        Kind::Scalar { .. } => match n.scalar() {
            Some(Scalar::Null) | None => J::Null,
            Some(Scalar::Bool(b)) => J::Bool(b),
            Some(Scalar::Int(i)) => J::from(i),
            Some(Scalar::Float(f)) => serde_json::Number::from_f64(f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Some(Scalar::Str(s)) => J::String(s.to_string()),
        },
        Kind::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.text().unwrap_or_default().to_string(), to_json(v)))
                .collect(),
        ),
    }
}
