//! Syntax tree to IR: interprets metadata lines, modifiers, string quoting and conditions, and
//! reports what only the syntax can see (unknown modifiers and keys, duplicate keys, a missing
//! condition). Semantic checks live in `ir::check` and run on the result.

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Loc, SourceId, Span};
use crate::ir::modifier::MODIFIERS;
use crate::ir::{
    CmpOp, Cond, Correlation, CorrelationCondition, CorrelationKind, Detection, Example, Expect,
    LogSource, Matcher, Meta, Modifier, OfTarget, Piece, Quant, Related, Rule, RuleBody, Selection,
    SigmaString, Spanned, Timespan, Value,
};

use super::ast::*;

/// Which rule kinds accept a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    Both,
    RuleOnly,
    CorrelationOnly,
}

/// Metadata keys in canonical order (the formatter prints them in this order), whether they may
/// be repeated, and where they are allowed.
pub const KEYS: &[(&str, bool, Kinds)] = &[
    ("title", false, Kinds::Both),
    ("id", false, Kinds::Both),
    ("name", false, Kinds::Both),
    ("status", false, Kinds::Both),
    ("level", false, Kinds::Both),
    ("description", false, Kinds::Both),
    ("author", false, Kinds::Both),
    ("date", false, Kinds::Both),
    ("modified", false, Kinds::Both),
    ("attack", false, Kinds::Both),
    ("tags", false, Kinds::Both),
    ("refs", false, Kinds::Both),
    ("falsepositives", false, Kinds::Both),
    ("fields", false, Kinds::Both),
    ("scope", false, Kinds::Both),
    ("related", true, Kinds::Both),
    ("license", false, Kinds::Both),
    ("taxonomy", false, Kinds::Both),
    ("logsource", false, Kinds::RuleOnly),
    ("custom", true, Kinds::Both),
    ("type", false, Kinds::CorrelationOnly),
    ("rules", false, Kinds::CorrelationOnly),
    ("group-by", false, Kinds::CorrelationOnly),
    ("timespan", false, Kinds::CorrelationOnly),
    ("condition", false, Kinds::CorrelationOnly),
    ("alias", true, Kinds::CorrelationOnly),
    ("generate", false, Kinds::CorrelationOnly),
];

pub fn key_allowed(kinds: Kinds, rule: RuleKind) -> bool {
    match kinds {
        Kinds::Both => true,
        Kinds::RuleOnly => rule == RuleKind::Rule,
        Kinds::CorrelationOnly => rule == RuleKind::Correlation,
    }
}

/// Position of a key in [`KEYS`], if it is one for this rule kind.
pub fn key_index(key: &str, rule: RuleKind) -> Option<usize> {
    KEYS.iter()
        .position(|(k, _, kinds)| *k == key && key_allowed(*kinds, rule))
}

pub const LOGSOURCE_KEYS: &[&str] = &["product", "category", "service", "definition"];

/// Look a modifier up by its exact (lower-case) Sigma name.
pub fn modifier(name: &str) -> Option<Modifier> {
    MODIFIERS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The candidate closest to `word` by edit distance, if it is a plausible typo (for "did you
/// mean" notes).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    if word.chars().count() > 40 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lower, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 2 && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Pieces of a string value under the given modifiers: `"..."` segments are patterns (`*`, `?`,
/// and `%name%` with `expand`), `'...'` segments exact text; with `re`, `cidr` or `fieldref` the
/// whole text is verbatim.
pub fn string_value(s: &Str, modifiers: &[Modifier]) -> SigmaString {
    if Value::is_verbatim(modifiers) {
        return SigmaString::literal(&s.text());
    }
    let expand = modifiers.contains(&Modifier::Expand);
    let mut out = SigmaString::default();
    for seg in &s.segs {
        if !seg.double {
            out.push_lit(&seg.text);
            continue;
        }
        let mut lit = String::new();
        let mut rest = seg.text.as_str();
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            match c {
                '*' | '?' => {
                    out.push_lit(&std::mem::take(&mut lit));
                    out.push(if c == '*' { Piece::Star } else { Piece::Qmark });
                }
                '%' if expand => match rest.find('%') {
                    Some(end) if end > 0 => {
                        out.push_lit(&std::mem::take(&mut lit));
                        out.push(Piece::Placeholder(rest[..end].to_string()));
                        rest = &rest[end + 1..];
                    }
                    _ => lit.push('%'),
                },
                _ => lit.push(c),
            }
        }
        out.push_lit(&lit);
    }
    out
}

struct Lower {
    source: SourceId,
    diags: Vec<Diagnostic>,
    errors: usize,
}

impl Lower {
    fn loc(&self, span: Span) -> Loc {
        Loc::new(self.source, span)
    }
    fn err(&mut self, d: Diagnostic) {
        if d.is_error() {
            self.errors += 1;
        }
        self.diags.push(d);
    }
    fn invalid(&mut self, span: Span, msg: String, expected: &str) {
        let d = Diagnostic::error("invalid-metadata", msg)
            .at(self.loc(span))
            .expected(expected);
        self.err(d);
    }

    /// The single word or string argument of `key`.
    fn one_text(&mut self, key: &Word, args: &[Arg]) -> Option<Spanned<String>> {
        match args {
            [a] => match a.text() {
                Some(t) => Some(Spanned::new(t, a.span())),
                None => {
                    self.invalid(
                        a.span(),
                        format!("`{}` takes a word or a string", key.text),
                        "a word or a string",
                    );
                    None
                }
            },
            [] => {
                self.invalid(
                    key.span,
                    format!("`{}` needs a value", key.text),
                    "a value after the key",
                );
                None
            }
            [_, extra, ..] => {
                self.invalid(
                    extra.span(),
                    format!("`{}` takes one value", key.text),
                    "a new line (quote text that contains spaces)",
                );
                None
            }
        }
    }

    fn texts(&mut self, key: &Word, args: &[Arg]) -> Vec<Spanned<String>> {
        if args.is_empty() {
            self.invalid(
                key.span,
                format!("`{}` needs at least one value", key.text),
                "one or more words or strings",
            );
        }
        let mut out = Vec::new();
        for a in args {
            match a.text() {
                Some(t) => out.push(Spanned::new(t, a.span())),
                None => self.invalid(
                    a.span(),
                    format!("`{}` takes words or strings", key.text),
                    "a word or a string",
                ),
            }
        }
        out
    }

    fn rule(&mut self, ast: &RuleAst) -> Option<Rule> {
        let errors_before = self.errors;
        let complete = ast.syntax_errors == 0;
        // An invalid name is already an error (the parser's); the style warning is for valid ones.
        if crate::ir::name::check_rule_name(&ast.name.text).is_ok()
            && !ast
                .name
                .text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            let d = Diagnostic::warning(
                "rule-name",
                format!("rule name `{}` is not in snake case", ast.name.text),
            )
            .at(self.loc(ast.name.span))
            .expected("lower-case letters, digits and `_`");
            self.err(d);
        }
        let mut meta = Meta::default();
        let mut logsource = LogSource::default();
        let mut attack_tags = Vec::new();
        let mut other_tags = Vec::new();
        let mut seen: Vec<(usize, Span)> = Vec::new();
        let mut selections = Vec::new();
        let mut condition: Option<(Cond, Span)> = None;
        let mut tests = Vec::new();
        // Correlation parts.
        let mut ckind = None;
        let mut crules = None;
        let mut group_by = Vec::new();
        let mut timespan = None;
        let mut ccond = None;
        let mut aliases = IndexMap::new();
        let mut generate = false;

        for item in &ast.items {
            match &item.kind {
                ItemKind::Meta { key, args } => {
                    let Some(idx) = key_index(&key.text, ast.kind) else {
                        let valid: Vec<&str> = KEYS
                            .iter()
                            .filter(|(_, _, k)| key_allowed(*k, ast.kind))
                            .map(|(k, _, _)| *k)
                            .collect();
                        let mut d = Diagnostic::error(
                            "unknown-metadata-key",
                            format!("unknown key `{}`", key.text),
                        )
                        .at(self.loc(key.span))
                        .label("not a metadata key")
                        .expected(format!(
                            "one of: {}{}",
                            valid.join(", "),
                            if ast.kind == RuleKind::Rule {
                                ", condition, test, or a selection `NAME = ...`"
                            } else {
                                ""
                            }
                        ));
                        let mut candidates = valid.clone();
                        if ast.kind == RuleKind::Rule {
                            candidates.extend(["condition", "test"]);
                        }
                        if matches!(key.text.as_str(), "and" | "or") && ast.kind == RuleKind::Rule {
                            d = d.note(
                                "a condition continues on a line indented deeper than `condition`",
                            );
                        } else if let Some(c) = closest(&key.text, candidates) {
                            d = d.suggest(c);
                        } else if ast.kind == RuleKind::Rule {
                            d = d.note("a selection is written `NAME = FIELD MODIFIER* VALUES`");
                        }
                        self.err(d);
                        continue;
                    };
                    let (name, repeatable, _) = KEYS[idx];
                    if !repeatable {
                        if let Some((_, first)) = seen.iter().find(|(i, _)| *i == idx) {
                            let d = Diagnostic::error(
                                "duplicate-metadata-key",
                                format!("`{name}` is given twice"),
                            )
                            .at(self.loc(key.span))
                            .label("second definition")
                            .secondary(self.loc(*first), "first defined here")
                            .expected("one line per key");
                            self.err(d);
                            continue;
                        }
                    }
                    seen.push((idx, key.span));
                    self.meta_item(
                        name,
                        key,
                        args,
                        &mut meta,
                        &mut logsource,
                        &mut attack_tags,
                        &mut other_tags,
                    );
                    match name {
                        "type" => {
                            if let Some(t) = self.one_text(key, args) {
                                match CorrelationKind::parse(&t.value) {
                                    Some(k) => ckind = Some(k),
                                    None => self.invalid(
                                        t.span,
                                        format!("unknown correlation type `{}`", t.value),
                                        "event_count, value_count, temporal or temporal_ordered",
                                    ),
                                }
                            }
                        }
                        "rules" => crules = Some(self.texts(key, args)),
                        "group-by" => {
                            group_by = self.texts(key, args).into_iter().map(|s| s.value).collect()
                        }
                        "timespan" => {
                            if let Some(t) = self.one_text(key, args) {
                                match Timespan::parse(&t.value) {
                                    Some(ts) => timespan = Some(Spanned::new(ts, t.span)),
                                    None => {
                                        let d = Diagnostic::error(
                                            "invalid-timespan",
                                            format!("`{}` is not a timespan", t.value),
                                        )
                                        .at(self.loc(t.span))
                                        .expected("a number and a unit: 30s, 5m, 1h, 2d, 1w");
                                        self.err(d);
                                    }
                                }
                            }
                        }
                        "condition" => ccond = self.corr_condition(key, args),
                        "alias" => self.alias(key, args, &mut aliases),
                        "generate" => {
                            match self.one_text(key, args).as_ref().map(|t| t.value.as_str()) {
                                Some("true") => generate = true,
                                Some("false") => generate = false,
                                Some(_) => self.invalid(
                                    args[0].span(),
                                    "`generate` is true or false".into(),
                                    "true or false",
                                ),
                                None => {}
                            }
                        }
                        _ => {}
                    }
                }
                ItemKind::Selection { name, groups } => {
                    if super::parser::is_cond_keyword(&name.text) {
                        let d = Diagnostic::error(
                            "reserved-selection-name",
                            format!(
                                "`{}` is a condition word and cannot name a selection",
                                name.text
                            ),
                        )
                        .at(self.loc(name.span))
                        .label("reserved")
                        .expected("another name, such as `sel_all` or `filter_or`");
                        self.err(d);
                    }
                    let groups = groups
                        .iter()
                        .map(|g| {
                            g.matchers
                                .iter()
                                .filter_map(|m| self.matcher(&m.matcher))
                                .collect()
                        })
                        .collect();
                    selections.push(Selection {
                        name: name.text.clone(),
                        span: name.span,
                        groups,
                    });
                }
                ItemKind::Condition(c) => {
                    if let Some((_, first)) = &condition {
                        let d = Diagnostic::error(
                            "duplicate-metadata-key",
                            "`condition` is given twice".to_string(),
                        )
                        .at(self.loc(item.span))
                        .secondary(self.loc(*first), "first defined here")
                        .expected("one condition per rule (combine them with `or`)");
                        self.err(d);
                        continue;
                    }
                    condition = Some((lower_cond(c), cond_span(c)));
                }
                ItemKind::Test { hit, fields, .. } => {
                    let mut event = serde_json::Map::new();
                    for (k, v) in fields {
                        if event.contains_key(&k.text) {
                            let d = Diagnostic::error(
                                "duplicate-field",
                                format!("field `{}` is given twice in this event", k.text),
                            )
                            .at(self.loc(k.span));
                            self.err(d);
                            continue;
                        }
                        if let Some(v) = self.event_value(v) {
                            event.insert(k.text.clone(), v);
                        }
                    }
                    tests.push(Example {
                        expect: if *hit { Expect::Hit } else { Expect::Miss },
                        event,
                        span: item.span,
                    });
                }
            }
        }
        meta.tags = attack_tags;
        meta.tags.append(&mut other_tags);

        // A broken selection line still defines its name (the condition uses it); its
        // content is a stand-in, as the rule is not compiled.
        for b in &ast.broken {
            if let Some(name) = &b.selection {
                if !selections.iter().any(|s| s.name == name.text) {
                    selections.push(Selection {
                        name: name.text.clone(),
                        span: name.span,
                        groups: vec![vec![Matcher {
                            field: Some(name.text.clone()),
                            modifiers: Vec::new(),
                            values: vec![Value::Null],
                            span: name.span,
                        }]],
                    });
                }
            }
        }
        let body = match ast.kind {
            RuleKind::Rule => {
                let (condition, condition_span) = match condition {
                    Some(c) => c,
                    // After a syntax error the condition may have been skipped (or swallowed by
                    // a broken item): stand in for it with every selection,
                    // so that the checks do not report them unused (the rule is not compiled).
                    None if !complete => (
                        Cond::Or(
                            selections
                                .iter()
                                .map(|s| Cond::Sel(Spanned::new(s.name.clone(), s.span)))
                                .collect(),
                        ),
                        Span::default(),
                    ),
                    None => {
                        {
                            let d = Diagnostic::error(
                                "missing-condition",
                                format!("rule `{}` has no condition", ast.name.text),
                            )
                            .at(self.loc(ast.name.span))
                            .label("no `condition` line in this rule")
                            .expected("a line `condition ...` after the selections");
                            self.err(d);
                        }
                        (Cond::And(Vec::new()), Span::default())
                    }
                };
                RuleBody::Detection(Detection {
                    selections,
                    condition,
                    condition_span,
                })
            }
            RuleKind::Correlation => {
                let mut missing = Vec::new();
                if ckind.is_none() && !seen.iter().any(|(i, _)| KEYS[*i].0 == "type") {
                    missing.push("type");
                }
                if crules.is_none() {
                    missing.push("rules");
                }
                if timespan.is_none() && !seen.iter().any(|(i, _)| KEYS[*i].0 == "timespan") {
                    missing.push("timespan");
                }
                if matches!(
                    ckind,
                    Some(CorrelationKind::EventCount | CorrelationKind::ValueCount)
                ) && ccond.is_none()
                    && !seen.iter().any(|(i, _)| KEYS[*i].0 == "condition")
                {
                    missing.push("condition");
                }
                if !missing.is_empty() && complete {
                    let d = Diagnostic::error(
                        "missing-metadata-key",
                        format!(
                            "correlation `{}` has no {}",
                            ast.name.text,
                            missing.join(", ")
                        ),
                    )
                    .at(self.loc(ast.name.span))
                    .expected(format!("the lines: {}", missing.join(", ")));
                    self.err(d);
                }
                match (ckind, timespan) {
                    (Some(kind), Some(timespan)) => RuleBody::Correlation(Correlation {
                        kind,
                        rules: crules.unwrap_or_default(),
                        group_by,
                        timespan,
                        condition: ccond,
                        aliases,
                        generate,
                    }),
                    _ => {
                        self.errors += 1;
                        return None;
                    }
                }
            }
        };
        // A rule with syntax errors is returned anyway (what could be read of it), so that its
        // semantic problems are reported in the same run; the syntax diagnostics lie inside its
        // span, which keeps it from being compiled. Other errors found here drop it as before.
        if complete && self.errors > errors_before {
            return None;
        }
        Some(Rule {
            name: ast.name.text.clone(),
            meta,
            logsource,
            body,
            tests,
            loc: self.loc(ast.span),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn meta_item(
        &mut self,
        name: &str,
        key: &Word,
        args: &[Arg],
        meta: &mut Meta,
        logsource: &mut LogSource,
        attack_tags: &mut Vec<Spanned<String>>,
        other_tags: &mut Vec<Spanned<String>>,
    ) {
        let one = |l: &mut Lower| l.one_text(key, args);
        match name {
            "title" => meta.title = one(self).map(|s| s.value).unwrap_or_default(),
            "id" => meta.id = one(self),
            "name" => meta.sigma_name = one(self).map(|s| s.value),
            "status" => meta.status = one(self),
            "level" => meta.level = one(self),
            "description" => meta.description = one(self).map(|s| s.value),
            "author" => meta.author = one(self).map(|s| s.value),
            "date" => meta.date = one(self).map(|s| s.value),
            "modified" => meta.modified = one(self).map(|s| s.value),
            "license" => meta.license = one(self).map(|s| s.value),
            "taxonomy" => meta.taxonomy = one(self).map(|s| s.value),
            "attack" => {
                for t in self.texts(key, args) {
                    attack_tags.push(Spanned::new(
                        format!("attack.{}", t.value.to_ascii_lowercase()),
                        t.span,
                    ));
                }
            }
            "tags" => other_tags.extend(self.texts(key, args)),
            "refs" => {
                meta.references = self.texts(key, args).into_iter().map(|s| s.value).collect()
            }
            "falsepositives" => {
                meta.falsepositives = self.texts(key, args).into_iter().map(|s| s.value).collect()
            }
            "fields" => meta.fields = self.texts(key, args).into_iter().map(|s| s.value).collect(),
            "scope" => meta.scope = self.texts(key, args).into_iter().map(|s| s.value).collect(),
            "related" => match args {
                [kind, id] if kind.text().is_some() && id.text().is_some() => {
                    meta.related.push(Related {
                        kind: kind.text().unwrap_or_default(),
                        id: id.text().unwrap_or_default(),
                    })
                }
                _ => self.invalid(
                    key.span,
                    "`related` takes a type and an id".into(),
                    "`related TYPE ID`, e.g. `related derived 1ec65a5f-...`",
                ),
            },
            "custom" => match args {
                [k, v] if k.text().is_some() && v.text().is_some() => {
                    let text = v.text().unwrap_or_default();
                    match serde_json::from_str(&text) {
                        Ok(j) => {
                            meta.custom.insert(k.text().unwrap_or_default(), j);
                        }
                        Err(e) => self.invalid(
                            v.span(),
                            format!("the value of `custom` is not JSON: {e}"),
                            "a JSON value in a string, e.g. custom \"x-key\" '{\"a\": 1}'",
                        ),
                    }
                }
                _ => self.invalid(
                    key.span,
                    "`custom` takes a key and a JSON value".into(),
                    "`custom \"KEY\" 'JSON'`",
                ),
            },
            "logsource" => {
                if args.is_empty() {
                    self.invalid(
                        key.span,
                        "`logsource` needs at least one key=value".into(),
                        "product=..., category=..., service=... or definition=...",
                    );
                }
                let mut seen: Vec<&str> = Vec::new();
                for a in args {
                    let Arg::KeyVal(k, v) = a else {
                        self.invalid(
                            a.span(),
                            "`logsource` takes key=value pairs".into(),
                            "product=..., category=..., service=... or definition=...",
                        );
                        continue;
                    };
                    let Some(v) = v.text() else { continue };
                    let slot = match k.text.as_str() {
                        "product" => &mut logsource.product,
                        "category" => &mut logsource.category,
                        "service" => &mut logsource.service,
                        "definition" => &mut logsource.definition,
                        other => {
                            let d = Diagnostic::error(
                                "unknown-metadata-key",
                                format!("unknown logsource key `{other}`"),
                            )
                            .at(self.loc(k.span))
                            .expected(LOGSOURCE_KEYS.join(", "));
                            self.err(d);
                            continue;
                        }
                    };
                    if seen.contains(&k.text.as_str()) {
                        let d = Diagnostic::error(
                            "duplicate-metadata-key",
                            format!("logsource `{}` is given twice", k.text),
                        )
                        .at(self.loc(k.span));
                        self.err(d);
                        continue;
                    }
                    seen.push(&k.text);
                    *slot = Some(v);
                }
            }
            _ => {}
        }
    }

    fn corr_condition(&mut self, key: &Word, args: &[Arg]) -> Option<CorrelationCondition> {
        let mut cmps = Vec::new();
        let mut field = None;
        let mut i = 0;
        while i < args.len() {
            let word = args[i].text().unwrap_or_default();
            let next = args.get(i + 1);
            if word == "field" {
                match next.and_then(Arg::text) {
                    Some(f) => field = Some(f),
                    None => self.invalid(
                        args[i].span(),
                        "`field` needs a field name".into(),
                        "a field name",
                    ),
                }
                i += 2;
                continue;
            }
            let op = CmpOp::parse(&word);
            let n = next.and_then(Arg::text).and_then(|t| t.parse::<i64>().ok());
            match (op, n) {
                (Some(op), Some(n)) => cmps.push((op, n)),
                _ => {
                    self.invalid(
                        args[i].span(),
                        "a correlation condition is comparisons and an optional field".into(),
                        "`gte 10`, `gt 5 lt 20`, `field NAME` (eq, gt, gte, lt, lte)",
                    );
                    return None;
                }
            }
            i += 2;
        }
        if cmps.is_empty() {
            self.invalid(
                key.span,
                "the correlation condition has no comparison".into(),
                "`gte 10` (eq, gt, gte, lt, lte)",
            );
            return None;
        }
        Some(CorrelationCondition { cmps, field })
    }

    fn alias(
        &mut self,
        key: &Word,
        args: &[Arg],
        aliases: &mut IndexMap<String, IndexMap<String, String>>,
    ) {
        let (Some(name), Some(Arg::Map(fields, _)), 2) =
            (args.first().and_then(Arg::text), args.get(1), args.len())
        else {
            self.invalid(
                key.span,
                "`alias` takes a name and a map".into(),
                "`alias NAME { rule: field, ... }`",
            );
            return;
        };
        let mut map = IndexMap::new();
        for (rule, v) in fields {
            let f = match v {
                EvVal::Word(w) => w.text.clone(),
                EvVal::Str(s) => s.text(),
                other => {
                    self.invalid(
                        other.span(),
                        "an alias maps rules to field names".into(),
                        "a field name",
                    );
                    continue;
                }
            };
            map.insert(rule.text.clone(), f);
        }
        aliases.insert(name, map);
    }

    fn matcher(&mut self, m: &MatcherAst) -> Option<Matcher> {
        // Unknown modifiers were reported by the parser (a syntax error: the rule is not
        // compiled); the matcher is kept without them so that the rest is still checked.
        let modifiers: Vec<Modifier> = m
            .modifiers
            .iter()
            .filter_map(|w| modifier(&w.text))
            .collect();
        let values = m
            .values
            .iter()
            .map(|v| match v {
                ValAst::Str(s) => Value::Str(string_value(s, &modifiers)),
                ValAst::Int(i, _) => Value::Int(*i),
                ValAst::Float(f, _) => Value::Float(*f),
                ValAst::Bool(b, _) => Value::Bool(*b),
                ValAst::Null(_) => Value::Null,
            })
            .collect();
        Some(Matcher {
            field: m.field.as_ref().map(|f| f.text.clone()),
            modifiers,
            values,
            span: m.span,
        })
    }

    fn event_value(&mut self, v: &EvVal) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match v {
            EvVal::Str(s) => J::String(s.text()),
            EvVal::Int(i, _) => J::from(*i),
            EvVal::Float(f, _) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            EvVal::Bool(b, _) => J::Bool(*b),
            EvVal::Null(_) => J::Null,
            EvVal::List(items, _) => {
                J::Array(items.iter().filter_map(|i| self.event_value(i)).collect())
            }
            EvVal::Word(w) => {
                let d = Diagnostic::error("syntax", format!("unexpected `{}`", w.text))
                    .at(self.loc(w.span))
                    .label("a text value must be quoted")
                    .expected(format!(
                        "a string (\"{}\"), a number, true, false, null or a list",
                        w.text
                    ));
                self.err(d);
                return None;
            }
        })
    }
}

/// The condition as written; parentheses only group.
pub fn lower_cond(c: &CondAst) -> Cond {
    match c {
        CondAst::And(xs) => Cond::And(xs.iter().map(lower_cond).collect()),
        CondAst::Or(xs) => Cond::Or(xs.iter().map(lower_cond).collect()),
        CondAst::Not(x) => Cond::Not(Box::new(lower_cond(x))),
        CondAst::Paren(x) => lower_cond(x),
        CondAst::Sel(w) => Cond::Sel(Spanned::new(w.text.clone(), w.span)),
        CondAst::Of { all, target, .. } => Cond::Of(
            if *all { Quant::All } else { Quant::One },
            Spanned::new(
                if target.text == "them" {
                    OfTarget::Them
                } else {
                    OfTarget::Pattern(target.text.clone())
                },
                target.span,
            ),
        ),
    }
}

/// Span covering a whole condition expression.
pub fn cond_span(c: &CondAst) -> Span {
    match c {
        CondAst::And(xs) | CondAst::Or(xs) => xs
            .iter()
            .map(cond_span)
            .reduce(Span::to)
            .unwrap_or_default(),
        CondAst::Not(x) | CondAst::Paren(x) => cond_span(x),
        CondAst::Sel(w) => w.span,
        CondAst::Of { span, .. } => *span,
    }
}

/// Lower every rule of a parsed file. Rules with errors are reported and left out.
pub fn lower_file(source: SourceId, file: &File) -> (Vec<Rule>, Vec<Diagnostic>) {
    let mut l = Lower {
        source,
        diags: Vec::new(),
        errors: 0,
    };
    let mut rules = Vec::new();
    let mut names: IndexMap<String, Span> = IndexMap::new();
    for r in &file.rules {
        if let Some(first) = names.get(&r.name.text) {
            let d = Diagnostic::error(
                "duplicate-rule",
                format!("rule `{}` is defined twice in this file", r.name.text),
            )
            .at(l.loc(r.name.span))
            .secondary(l.loc(*first), "first defined here");
            l.err(d);
        } else {
            names.insert(r.name.text.clone(), r.name.span);
        }
        if let Some(rule) = l.rule(r) {
            rules.push(rule);
        }
    }
    (rules, l.diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(segs: &[(bool, &str)]) -> Str {
        Str {
            segs: segs
                .iter()
                .map(|(double, text)| Seg {
                    double: *double,
                    text: text.to_string(),
                })
                .collect(),
            span: Span::default(),
        }
    }

    #[test]
    fn double_quotes_are_patterns_single_quotes_exact() {
        let v = string_value(&s(&[(true, r"C:\a\*"), (false, "?x*")]), &[]);
        assert_eq!(
            v.pieces,
            vec![
                Piece::Lit(r"C:\a\".into()),
                Piece::Star,
                Piece::Lit("?x*".into())
            ]
        );
        // Sigma's escaped form of the same value.
        assert_eq!(v.to_sigma(), r"C:\a\\*\?x\*");
    }

    #[test]
    fn verbatim_modifiers_take_the_text_as_is() {
        let v = string_value(&s(&[(true, r"a*b?\d"), (false, "'")]), &[Modifier::Re]);
        assert_eq!(v.pieces, vec![Piece::Lit(r"a*b?\d'".into())]);
    }

    #[test]
    fn placeholders_only_in_double_quotes_with_expand() {
        let parts = s(&[(true, "%a% 50% x"), (false, "%b%")]);
        let v = string_value(&parts, &[Modifier::Expand]);
        assert_eq!(
            v.pieces,
            vec![
                Piece::Placeholder("a".into()),
                Piece::Lit(" 50% x%b%".into())
            ]
        );
        let plain = string_value(&parts, &[]);
        assert_eq!(plain.pieces, vec![Piece::Lit("%a% 50% x%b%".into())]);
    }

    #[test]
    fn suggestions_for_typos() {
        let mods = MODIFIERS.iter().map(|(n, _)| *n);
        assert_eq!(closest("endswit", mods.clone()), Some("endswith"));
        assert_eq!(closest("net.exe", mods.clone()), None);
        assert_eq!(closest("x", mods), None);
        assert_eq!(
            closest("conditon", ["condition", "title"]),
            Some("condition")
        );
    }

    #[test]
    fn key_table_lookups() {
        assert!(key_index("logsource", RuleKind::Rule).is_some());
        assert!(key_index("logsource", RuleKind::Correlation).is_none());
        assert!(key_index("timespan", RuleKind::Rule).is_none());
        assert!(key_index("title", RuleKind::Correlation).is_some());
        assert_eq!(modifier("endswith"), Some(Modifier::EndsWith));
        assert_eq!(modifier("EndsWith"), None);
    }
}
