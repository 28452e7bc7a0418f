//! The spec-driven back end: one [`SpecBackend`] per `targets/<name>/` folder.
//!
//! It picks the log source entry for a rule, renders the condition with the first dialect that
//! can express it ([`super::render`]), and wraps the query into the target's artifacts with
//! minijinja templates (strict undefined, no auto-escaping: each template escapes with the
//! filter that fits its format, see [`filters`]).

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::json;

use super::correlation;
use super::render::{fill, Renderer, Table, Unsupported};
use super::spec::{AlternativesSpec, FieldColumn, LogSourceSpec, Spec};
use super::{Backend, Compiled, Ctx, OutFile, Outcome};
use crate::diag::Diagnostic;
use crate::ir::norm::Expr;
use crate::ir::{LogSource, Rule, RuleBody};

/// A target loaded from its folder.
pub struct SpecBackend {
    pub spec: Spec,
    /// Column schemas by table, from `schema/` and the spec's `schema_file`.
    pub tables: BTreeMap<String, Table>,
    /// `field.bare` of each dialect, compiled.
    field_res: Vec<regex::Regex>,
    env: Environment<'static>,
    /// Template values built once: `target`, and `logsource` per log source entry (and for
    /// none).
    target_value: minijinja::Value,
    ls_values: Vec<minijinja::Value>,
    no_ls_value: minijinja::Value,
    /// Every search macro the log source entries define: name -> default definition.
    macros: BTreeMap<String, String>,
}

impl SpecBackend {
    /// Build a target from the files of its folder (paths relative to the folder, `/`
    /// separators). `origin` names the folder in diagnostics.
    pub fn from_files(
        origin: &str,
        files: &BTreeMap<String, String>,
    ) -> Result<SpecBackend, Diagnostic> {
        let bad = |msg: String| {
            Diagnostic::error("invalid-target", msg).in_file(format!("{origin}/target.yaml"))
        };
        let text = files
            .get("target.yaml")
            .ok_or_else(|| bad("the target folder has no target.yaml".into()))?;
        let mut spec: Spec =
            super::parse_yaml(origin, "target.yaml", text).map_err(|e| bad(format!("{e}")))?;
        if spec.dialects.is_empty() {
            return Err(bad("a target needs at least one dialect".into()));
        }
        spec.logsources = super::layout::logsources(origin, files, &spec)?;
        let tables = super::layout::tables(origin, files, &spec)?;
        let field_res = spec
            .dialects
            .iter()
            .map(Renderer::field_regex)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Escaping is chosen per format by explicit filters, never by file extension.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        filters::register(&mut env);
        let strings = spec.dialects[0].string.clone();
        env.add_filter("quote", move |v: String| {
            super::render::quote(&v, &strings).map_err(|c| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("the character {c:?} cannot be quoted"),
                )
            })
        });
        // `skip("reason")`: a template refuses a rule it cannot turn into a file the platform
        // accepts (Sentinel: no entity column in a correlation's output); the rule is skipped
        // with that reason, as for a construct the query language cannot express.
        env.add_function(
            "skip",
            |reason: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("{SKIP_MARK}{reason}"),
                ))
            },
        );
        let mut names: Vec<&String> = spec.artifacts.files.values().collect();
        names.extend(spec.artifacts.shared.values());
        for (out, _) in spec.artifacts.files.iter() {
            env.add_template_owned(format!("path:{out}"), out.clone())
                .map_err(|e| bad(format!("output path `{out}`: {e}")))?;
        }
        if let Some(c) = &spec.correlation {
            for (kind, t) in &c.templates {
                env.add_template_owned(format!("correlation:{kind}"), t.clone())
                    .map_err(|e| bad(format!("correlation template `{kind}`: {e}")))?;
            }
        }
        for n in names {
            let src = files
                .get(n.as_str())
                .ok_or_else(|| bad(format!("template `{n}` is missing")))?;
            env.add_template_owned(n.clone(), src.clone())
                .map_err(|e| bad(format!("template `{n}`: {e}")))?;
        }
        let mut data = BTreeMap::new();
        for (name, f) in &spec.data {
            let t = files
                .get(f.as_str())
                .ok_or_else(|| bad(format!("data file `{f}` is missing")))?;
            let v: serde_json::Value =
                super::parse_yaml(origin, f, t).map_err(|e| bad(format!("{f}: {e}")))?;
            data.insert(name.clone(), v);
        }
        let target_value = minijinja::context! {
            name => spec.name,
            vars => minijinja::Value::from_serialize(&spec.vars),
            data => minijinja::Value::from_serialize(&data),
            // The column correlations read event time from (`correlation.time_field`; empty
            // without correlations): the SQL targets' schema.sql declares it.
            time_field => spec.correlation.as_ref().map(|c| c.time_field.as_str()).unwrap_or_default(),
        };
        let ls_values = spec
            .logsources
            .iter()
            .map(|l| Self::ls_value(Some(l), None, &tables))
            .collect();
        // One definition per name (layout::logsources refuses two different ones).
        let macros = spec
            .logsources
            .iter()
            .flat_map(|l| l.macros.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(SpecBackend {
            spec,
            tables,
            field_res,
            env,
            target_value,
            ls_values,
            no_ls_value: Self::ls_value(None, None, &BTreeMap::new()),
            macros,
        })
    }

    /// The log source entries for a rule, in the spec's order: those whose keys equal exactly
    /// the keys the rule sets (product, category, service; case-insensitive). The first that
    /// can express the rule is used; later ones are fallbacks (other data for the same events).
    pub fn logsources<'a>(
        &'a self,
        ls: &LogSource,
    ) -> impl Iterator<Item = (usize, &'a LogSourceSpec)> + 'a {
        let rule_keys: BTreeMap<&'static str, String> = [
            ("product", &ls.product),
            ("category", &ls.category),
            ("service", &ls.service),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.to_ascii_lowercase())))
        .collect();
        self.spec
            .logsources
            .iter()
            .enumerate()
            .filter(move |(_, e)| {
                e.when.len() == rule_keys.len()
                    && e.when.iter().all(|(k, v)| {
                        rule_keys.get(k.as_str()).map(String::as_str)
                            == Some(v.to_ascii_lowercase().as_str())
                    })
            })
    }

    /// Whether log source entry `ls` is rendered with dialect `d` (see `LogSourceSpec::dialects`).
    fn uses(ls: &LogSourceSpec, d: &super::spec::Dialect) -> bool {
        if ls.dialects.is_empty() {
            !d.on_request
        } else {
            ls.dialects.contains(&d.name)
        }
    }

    pub fn schema_of(&self, ls: &LogSourceSpec) -> Option<&Table> {
        ls.table.as_ref().and_then(|t| self.tables.get(t))
    }

    /// Render a detection rule's condition to query text, with the first log source entry that
    /// can express it; returns the entry's index in the spec. When none can, the diagnostic
    /// gives the first entry's reason and notes each fallback's.
    pub fn render_query(
        &self,
        rule: &Rule,
        expr: &crate::ir::norm::Expr,
    ) -> Result<(String, usize), Diagnostic> {
        self.render_query_with(rule, expr, &[])
    }

    /// [`SpecBackend::render_query`] with only the log source entries rendered by one of
    /// `dialects` (all entries when it is empty).
    pub fn render_query_with(
        &self,
        rule: &Rule,
        expr: &crate::ir::norm::Expr,
        dialects: &[String],
    ) -> Result<(String, usize), Diagnostic> {
        let mut first: Option<Diagnostic> = None;
        let allowed = |ls: &LogSourceSpec| {
            dialects.is_empty()
                || self
                    .spec
                    .dialects
                    .iter()
                    .any(|d| dialects.contains(&d.name) && Self::uses(ls, d))
        };
        for (i, ls) in self
            .logsources(&rule.logsource)
            .filter(|(_, ls)| allowed(ls))
        {
            match self.render_with(rule, expr, ls) {
                Ok(q) => return Ok((q, i)),
                Err(d) if d.code == "unsupported" => match &mut first {
                    None => first = Some(d),
                    Some(f) => {
                        let what = ls
                            .note
                            .clone()
                            .or_else(|| ls.table.clone())
                            .unwrap_or_else(|| format!("log source entry {}", i + 1));
                        *f = f.clone().note(format!("fallback ({what}): {}", d.message));
                    }
                },
                Err(d) => return Err(d),
            }
        }
        Err(first.unwrap_or_else(|| {
            self.skip(
                rule,
                &Unsupported {
                    construct: format!("the log source {}", describe_logsource(&rule.logsource)),
                    span: None,
                },
            )
        }))
    }

    /// Render with one log source entry.
    fn render_with(
        &self,
        rule: &Rule,
        expr: &crate::ir::norm::Expr,
        ls: &LogSourceSpec,
    ) -> Result<String, Diagnostic> {
        if !ls.also.is_empty() {
            return self.render_alternatives(rule, expr, ls);
        }
        let schema = self.schema_of(ls);
        let mut last = None;
        for (d, re) in self.spec.dialects.iter().zip(&self.field_res) {
            if !Self::uses(ls, d) {
                continue;
            }
            let r = Renderer::new(&self.spec, d, re, ls, schema);
            match r.query(expr) {
                Ok(q) => {
                    let q = self.prefiltered(d, &r, ls, schema, expr)?.unwrap_or(q);
                    return Ok(q);
                }
                Err(u) => {
                    // After grouping, the operands moved in front no longer need to be
                    // grouped by: the split form can succeed where the whole cannot.
                    if d.grouped_by.is_some() {
                        if let Some(q) = self.prefiltered(d, &r, ls, schema, expr)? {
                            return Ok(q);
                        }
                    }
                    last = Some(u)
                }
            }
        }
        Err(self.skip(rule, &last.ok_or_else(|| self.no_dialect(ls))?))
    }

    /// A log source entry that no dialect applies to (its `dialects` names none).
    fn no_dialect(&self, ls: &LogSourceSpec) -> Diagnostic {
        Diagnostic::error(
            "invalid-target",
            format!(
                "log source {:?}: no dialect applies (its `dialects` are {:?})",
                ls.when, ls.dialects
            ),
        )
        .in_file(format!("{}/target.yaml", self.spec.name))
    }

    /// A log source with `also` sources (see `AlternativesSpec`): per dialect in order, either
    /// every source's whole query joined (all terms stay in front of the first pipe), or the
    /// sources merged (each constraint with its own prefilter, then the differently named
    /// fields computed once under the rule's names).
    fn render_alternatives(
        &self,
        rule: &Rule,
        expr: &Expr,
        ls: &LogSourceSpec,
    ) -> Result<String, Diagnostic> {
        let Some(alt) = &self.spec.alternatives else {
            return Err(Diagnostic::error(
                "invalid-target",
                "a log source has `also` sources but the target has no `alternatives`",
            )
            .in_file(format!("{}/target.yaml", self.spec.name)));
        };
        let variants = source_variants(ls);
        let group = |x: &str| fill(&alt.group, &[("x", x)]);
        let mut last = None;
        for (i, (d, re)) in self.spec.dialects.iter().zip(&self.field_res).enumerate() {
            if !Self::uses(ls, d) {
                continue;
            }
            let result = if alt.join_dialects.contains(&d.name) {
                variants
                    .iter()
                    .map(|v| {
                        let r = Renderer::new(&self.spec, d, re, v, None);
                        let q = r.query(expr)?;
                        Ok(self
                            .prefiltered(d, &r, v, None, expr)
                            .ok()
                            .flatten()
                            .unwrap_or(q))
                    })
                    .collect::<Result<Vec<_>, Unsupported>>()
                    .map(|qs| {
                        qs.iter()
                            .map(|q| group(q))
                            .collect::<Vec<_>>()
                            .join(&alt.join)
                    })
            } else {
                self.merged_query(i, alt, &variants, ls, expr)
            };
            match result {
                Ok(q) => return Ok(q),
                Err(u) => last = Some(u),
            }
        }
        Err(self.skip(rule, &last.ok_or_else(|| self.no_dialect(ls))?))
    }

    /// The merged form of `render_alternatives` for dialect `di`.
    fn merged_query(
        &self,
        di: usize,
        alt: &AlternativesSpec,
        variants: &[LogSourceSpec],
        ls: &LogSourceSpec,
        expr: &Expr,
    ) -> Result<String, Unsupported> {
        let d = &self.spec.dialects[di];
        let group = |x: &str| fill(&alt.group, &[("x", x)]);
        // Operands the prefilter dialect can express for every source go in front, each
        // source's constraint with its own spelling of them.
        let pre = d
            .prefilter_dialect
            .as_ref()
            .and_then(|p| self.spec.dialects.iter().position(|x| &x.name == p));
        let operands: Vec<&Expr> = match expr {
            Expr::And(xs) => xs.iter().collect(),
            other => vec![other],
        };
        let (front, rest): (Vec<&Expr>, Vec<&Expr>) = match pre {
            Some(pi) => operands.iter().partition(|x| {
                variants.iter().all(|v| {
                    Renderer::new(
                        &self.spec,
                        &self.spec.dialects[pi],
                        &self.field_res[pi],
                        v,
                        None,
                    )
                    .expr(x, false, 1)
                    .is_ok()
                })
            }),
            None => (vec![], operands),
        };
        let and = |v: &[&Expr]| match v {
            [one] => (*one).clone(),
            _ => Expr::And(v.iter().map(|x| (*x).clone()).collect()),
        };
        let mut constraints = Vec::with_capacity(variants.len());
        for v in variants {
            let c = v.constraint.clone().unwrap_or_default();
            constraints.push(match (pre, front.is_empty()) {
                (Some(pi), false) => Renderer::new(
                    &self.spec,
                    &self.spec.dialects[pi],
                    &self.field_res[pi],
                    v,
                    None,
                )
                .query(&and(&front))?,
                _ => c,
            });
        }
        let mut merged = ls.clone();
        merged.also.clear();
        merged.constraint = Some(
            constraints
                .iter()
                .map(|c| group(c))
                .collect::<Vec<_>>()
                .join(&alt.join),
        );
        // Each field some source names differently, computed once under the rule's name.
        let mut used = Vec::new();
        for x in &rest {
            field_names(x, &mut used, 0);
        }
        for name in alternative_fields(ls) {
            if used.contains(&name) {
                let columns = self.source_columns(ls, &name).join(", ");
                merged
                    .extend
                    .insert(name.clone(), fill(&alt.coalesce, &[("columns", &columns)]));
                merged.fields.insert(name.clone(), name);
            }
        }
        let r = Renderer::new(&self.spec, d, &self.field_res[di], &merged, None);
        if rest.is_empty() {
            return r.query(expr);
        }
        r.query(&and(&rest))
    }

    /// The columns a field is in, one per source of `ls` (its own first), without repeats.
    fn source_columns(&self, ls: &LogSourceSpec, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in source_variants(ls) {
            let c = self.spec.mapping(&v, name).unwrap_or(name).to_string();
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Where log source entry `ls` reads field `name`: the column or expression of each of its
    /// sources (its own first, then its `also` sources), without repeats; empty when the
    /// target cannot read the field there (unmapped and skipped). For the editor's hover.
    pub fn field_columns(&self, ls: &LogSourceSpec, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in source_variants(ls) {
            let c = match self.spec.field_column(&v, name) {
                FieldColumn::Mapped(m) => m.to_string(),
                FieldColumn::Kept => name.to_string(),
                FieldColumn::Unmapped => continue,
            };
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// For a correlation's output field: the expression that reads `name` from whichever source
    /// the event came from, when the log source's sources name it differently.
    pub fn alternative_column(&self, ls: &LogSourceSpec, name: &str) -> Option<String> {
        let alt = self.spec.alternatives.as_ref()?;
        if !alternative_fields(ls).iter().any(|n| n == name) {
            return None;
        }
        let columns = self.source_columns(ls, name).join(", ");
        Some(fill(&alt.coalesce, &[("columns", &columns)]))
    }

    /// The prefilter rewrite (see `Dialect::prefilter_dialect`): the AND operands the earlier
    /// dialect can express go in front, the rest stay with `d`. `None` when it does not apply.
    fn prefiltered(
        &self,
        d: &super::spec::Dialect,
        r: &Renderer,
        ls: &LogSourceSpec,
        schema: Option<&Table>,
        expr: &Expr,
    ) -> Result<Option<String>, Diagnostic> {
        let (Some(pname), Expr::And(xs)) = (&d.prefilter_dialect, expr) else {
            return Ok(None);
        };
        let Some(pi) = self.spec.dialects.iter().position(|x| &x.name == pname) else {
            return Err(Diagnostic::error(
                "invalid-target",
                format!("dialect `{}`: unknown prefilter dialect `{pname}`", d.name),
            )
            .in_file(format!("{}/target.yaml", self.spec.name)));
        };
        let pre = Renderer::new(
            &self.spec,
            &self.spec.dialects[pi],
            &self.field_res[pi],
            ls,
            schema,
        );
        let (front, rest): (Vec<&Expr>, Vec<&Expr>) =
            xs.iter().partition(|x| pre.expr(x, false, 1).is_ok());
        if front.is_empty() || rest.is_empty() {
            return Ok(None);
        }
        let group = |v: Vec<&Expr>| {
            if v.len() == 1 {
                v[0].clone()
            } else {
                Expr::And(v.into_iter().cloned().collect())
            }
        };
        let prefilter = match pre.condition(&group(front)) {
            Ok(p) => p,
            Err(_) => return Ok(None),
        };
        Ok(r.query_prefiltered(&prefilter, &group(rest)).ok().flatten())
    }

    /// The diagnostic for a construct this target cannot express.
    pub fn skip(&self, rule: &Rule, u: &Unsupported) -> Diagnostic {
        let loc = match u.span {
            Some(s) => rule.loc(s),
            None => rule.loc,
        };
        Diagnostic::warning(
            "unsupported",
            format!(
                "rule `{}`: {} cannot be expressed exactly in target `{}`",
                rule.name, u.construct, self.spec.name
            ),
        )
        .at(loc)
        .label(format!("not expressible in `{}`", self.spec.name))
        .note("the rule is skipped for this target (use --strict to make this an error)")
    }

    /// Template context for one rule: a minijinja value built once and shared (it is
    /// reference-counted) by the rule's path and file templates and by `finish`.
    /// `ls`: the log source entry the query reads; `note`, for a correlation (no entry of its
    /// own), what data its rules read.
    pub fn rule_context(
        &self,
        rule: &Rule,
        query: &str,
        ls: Option<usize>,
        note: Option<&str>,
    ) -> minijinja::Value {
        use minijinja::{context, Value};
        let tags: Vec<&str> = rule.meta.tags.iter().map(|t| t.value.as_str()).collect();
        // Tactic tags: `attack.<name>` that are not technique, group or software ids.
        let tactics: Vec<String> = tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let b = t.as_bytes();
                !(b.len() >= 2
                    && matches!(b[0].to_ascii_lowercase(), b't' | b'g' | b's')
                    && b[1].is_ascii_digit())
            })
            .map(|t| t.to_ascii_lowercase())
            .collect();
        let opt = |s: &Option<String>| Value::from(s.as_deref().unwrap_or_default());
        context! {
            rule => context! {
                name => rule.name,
                title => rule.meta.title,
                id => rule.id().map(str::to_string).unwrap_or_else(|| pseudo_uuid(&rule.name)),
                has_id => rule.id().is_some(),
                status => rule.meta.status.as_ref().map(|s| s.value.as_str()).unwrap_or_default(),
                level => rule.level().unwrap_or("medium"),
                description => opt(&rule.meta.description),
                author => opt(&rule.meta.author),
                references => rule.meta.references,
                falsepositives => rule.meta.falsepositives,
                date => opt(&rule.meta.date),
                modified => opt(&rule.meta.modified),
                tags => tags,
                techniques => rule.attack_techniques(),
                tactics => tactics,
                is_correlation => matches!(rule.body, RuleBody::Correlation(_)),
                // A correlation's window, at least an hour (how far back a scheduled search
                // must look); empty for detection rules.
                // The columns a correlation's output has besides its count and time bin
                // (what entity mappings can name); empty for detection rules.
                group_by => match &rule.body {
                    RuleBody::Correlation(c) => c.group_by.clone(),
                    RuleBody::Detection(_) => Vec::new(),
                },
                lookback_seconds => match &rule.body {
                    RuleBody::Correlation(c) => c.timespan.value.seconds.max(3600),
                    RuleBody::Detection(_) => 0,
                },
                lookback => match &rule.body {
                    RuleBody::Correlation(c) => super::correlation::span_text(c.timespan.value.seconds.max(3600)),
                    RuleBody::Detection(_) => String::new(),
                },
                logsource => context! {
                    product => rule.logsource.product,
                    category => rule.logsource.category,
                    service => rule.logsource.service,
                },
            },
            query => query,
            logsource => match (ls, note) {
                (Some(i), _) => self.ls_values[i].clone(),
                (None, Some(n)) => Self::ls_value(None, Some(n), &BTreeMap::new()),
                (None, None) => self.no_ls_value.clone(),
            },
            target => self.target_value.clone(),
        }
    }

    /// The `logsource` template value of a log source entry (`None`: no entry, correlations).
    /// `note` stands in for the entry's own (correlations, which have none). `columns`: what a
    /// query over the entry returns (its table's schema columns and its `extend` names; empty
    /// when the table has no schema), for templates that check a platform's required columns.
    fn ls_value(
        ls: Option<&LogSourceSpec>,
        note: Option<&str>,
        tables: &BTreeMap<String, Table>,
    ) -> minijinja::Value {
        let schema = ls
            .and_then(|l| l.table.as_ref())
            .and_then(|t| tables.get(t));
        let columns: Vec<&str> = match (ls, schema) {
            (Some(l), Some(cols)) => cols
                .keys()
                .map(String::as_str)
                .chain(l.extend.keys().map(String::as_str))
                .collect(),
            _ => Vec::new(),
        };
        minijinja::context! {
            columns => columns,
            table => ls.and_then(|l| l.table.as_deref()).unwrap_or_default(),
            constraint => ls.and_then(|l| l.constraint.as_deref()).unwrap_or_default(),
            vars => ls.map(|l| minijinja::Value::from_serialize(&l.vars))
                .unwrap_or_else(|| minijinja::Value::from_serialize(json!({}))),
            note => note.or_else(|| ls.and_then(|l| l.note.as_deref())).unwrap_or_default(),
            json_columns => ls.map(|l| l.json_columns.clone()).unwrap_or_default(),
        }
    }

    fn render_template(&self, name: &str, ctx: &minijinja::Value) -> Result<String, String> {
        let t = self.env.get_template(name).map_err(|e| format!("{e:#}"))?;
        t.render(ctx).map_err(|e| match skip_reason(&e) {
            // Kept apart from other errors by the marker (see `artifact_error`).
            Some(r) => format!("{SKIP_MARK}{r}"),
            None => format!("{e:#}"),
        })
    }

    /// The diagnostic for a template that failed: a template's own `skip(reason)` is a
    /// warning (`unsupported`, the rule is skipped for this target), anything else an error.
    fn artifact_error(&self, rule: Option<&Rule>, msg: String) -> Diagnostic {
        if let (Some(r), Some(reason)) = (rule, msg.strip_prefix(SKIP_MARK)) {
            return Diagnostic::warning(
                "unsupported",
                format!(
                    "rule `{}` cannot be deployed to target `{}`: {reason}",
                    r.name, self.spec.name
                ),
            )
            .at(r.loc)
            .label(format!("not deployable in `{}`", self.spec.name))
            .note("the rule is skipped for this target (use --strict to make this an error)");
        }
        let d = Diagnostic::error(
            "template-error",
            format!("target `{}`: {msg}", self.spec.name),
        );
        match rule {
            Some(r) => d.at(r.loc),
            None => d,
        }
    }

    /// The queries of the parts of a rule whose query is too long (see [`super::split`]), all
    /// over log source entry `ls`, the one the whole query reads; `None` when the condition
    /// cannot be cut into parts that each fit.
    fn split_query(&self, rule: &Rule, expr: &Expr, ls: usize) -> Option<Vec<String>> {
        let max = self.spec.max_query_length?;
        let entry = self.entry(ls);
        let render = |e: &Expr| self.render_with(rule, e, entry).ok();
        let measure = |e: &Expr| render(e).map(|q| q.encode_utf16().count());
        let parts = super::split::split(expr, &measure, max)?;
        parts.iter().map(render).collect()
    }

    /// `Some(skip diagnostic)` when `query` is longer than the platform accepts.
    fn check_length(&self, rule: &Rule, query: &str) -> Option<Diagnostic> {
        let max = self.spec.max_query_length?;
        // .NET's string length (the platforms' validators are .NET): UTF-16 code units.
        let len = query.encode_utf16().count();
        (len > max).then(|| {
            Diagnostic::warning(
                "query-too-long",
                format!(
                    "rule `{}`: its `{}` query is {len} characters long; the platform accepts at most {max}",
                    rule.name, self.spec.name
                ),
            )
            .at(rule.loc)
            .label(format!("query too long for `{}`", self.spec.name))
            .note("the rule is skipped for this target (use --strict to make this an error): only its disjunctions can be cut into parts that fit (a long list under `not` cannot); shorten its value lists")
        })
    }

    /// A renderer for the first dialect log source entry `ls` uses (correlation output fields).
    pub fn first_renderer<'a>(&'a self, ls: &'a LogSourceSpec) -> Renderer<'a> {
        let i = self
            .spec
            .dialects
            .iter()
            .position(|d| Self::uses(ls, d))
            .unwrap_or(0);
        Renderer::new(
            &self.spec,
            &self.spec.dialects[i],
            &self.field_res[i],
            ls,
            self.schema_of(ls),
        )
    }

    /// The search macros the compiled queries call (`` `name` ``, or `` `name(`` with
    /// arguments), sorted by name, each as `{name, definition}`; a correlation's query holds
    /// its rules' queries, so their macros are found as well. Each query is scanned once: every
    /// backtick starts a candidate name, kept when it is a defined macro closed by a backtick
    /// or an argument list (a backtick inside a string literal then finds nothing, and cannot
    /// shift the pairing of the calls after it).
    fn macros_used(&self, compiled: &[(&Rule, &Compiled)]) -> Vec<minijinja::Value> {
        let mut used: BTreeMap<&str, &str> = BTreeMap::new();
        if self.macros.is_empty() {
            return Vec::new();
        }
        for q in compiled.iter().filter_map(|(_, c)| c.query.as_deref()) {
            for (at, _) in q.match_indices('`') {
                let rest = &q[at + 1..];
                let end = rest.find(['`', '(']).unwrap_or(rest.len());
                if end < rest.len() {
                    if let Some((name, def)) = self.macros.get_key_value(&rest[..end]) {
                        used.insert(name, def);
                    }
                }
            }
        }
        used.into_iter()
            .map(
                |(name, definition)| minijinja::context! { name => name, definition => definition },
            )
            .collect()
    }

    /// Log source entry `i` of the spec.
    pub fn entry(&self, i: usize) -> &LogSourceSpec {
        &self.spec.logsources[i]
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }
}

impl Backend for SpecBackend {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn compile(&self, index: usize, cx: &Ctx) -> Outcome {
        let rule = &cx.rules[index];
        // The query, the log source entry it reads (detection rules) or the data note of the
        // rules it combines (correlations).
        let mut corr_reads = Vec::new();
        let rendered = match &rule.body {
            RuleBody::Detection(_) => match cx.exprs.get(index).and_then(Option::as_ref) {
                Some(e) => self.render_query(rule, e).map(|(q, i)| {
                    let note = self.entry(i).note.clone();
                    (q, Some(i), note)
                }),
                None => Err(Diagnostic::warning(
                    "not-normalized",
                    format!(
                        "rule `{}` has errors; it is not compiled for target `{}`",
                        rule.name, self.spec.name
                    ),
                )
                .at(rule.loc)),
            },
            RuleBody::Correlation(c) => correlation::render(self, rule, c, cx).map(|r| {
                corr_reads = r.reads;
                (r.query, None, r.note)
            }),
        };
        let (query, ls, note) = match rendered {
            Ok(x) => x,
            Err(d) => return Outcome::Skipped(d),
        };
        let expr = cx.exprs.get(index).and_then(Option::as_ref);
        let mut parts = Vec::new();
        if let Some(d) = self.check_length(rule, &query) {
            // A detection rule is split into parts that fit (same log source entry);
            // a correlation, or a condition that cannot be cut small enough, is skipped.
            match expr.zip(ls).and_then(|(e, i)| self.split_query(rule, e, i)) {
                Some(p) => parts = p,
                None => return Outcome::Skipped(d),
            }
        }
        let mut ctx = self.rule_context(rule, &query, ls, note.as_deref());
        if let Some(e) = expr {
            // What the condition reads (`reads.fields`, `reads.keywords`): for shared files
            // that declare each table's columns (the SQL targets' schema.sql).
            let (fields, keywords) = super::render::condition_reads(e);
            let tables: Vec<minijinja::Value> = Vec::new();
            ctx = minijinja::context! { reads => minijinja::context! { fields, keywords, tables }, ..ctx };
        } else if matches!(rule.body, RuleBody::Correlation(_)) {
            // A correlation reads its rules' tables (`reads.tables`: each `table` and the
            // `fields` read there) and their time column.
            let tables: Vec<minijinja::Value> = corr_reads
                .iter()
                .map(|(table, fields)| minijinja::context! { table, fields })
                .collect();
            let fields: Vec<String> = Vec::new();
            ctx = minijinja::context! { reads => minijinja::context! { fields, keywords => false, tables }, ..ctx };
        }
        let mut files = Vec::new();
        // One set of files per part: each part is a rule of its own on the platform, named
        // `<rule>_part<i>` with its own id, title "… (part i of n)" and query.
        let contexts = match parts.len() {
            0 => vec![ctx],
            n => parts
                .iter()
                .enumerate()
                .map(|(i, q)| part_context(&ctx, rule, q, i + 1, n))
                .collect(),
        };
        for ctx in &contexts {
            for (out, tpl) in &self.spec.artifacts.files {
                let path = match self.render_template(&format!("path:{out}"), ctx) {
                    Ok(p) => p,
                    Err(e) => return Outcome::Skipped(self.artifact_error(Some(rule), e)),
                };
                match self.render_template(tpl, ctx) {
                    Ok(contents) => files.push(OutFile { path, contents }),
                    Err(e) => return Outcome::Skipped(self.artifact_error(Some(rule), e)),
                }
            }
        }
        let ctx = contexts.into_iter().next();
        Outcome::Compiled(Compiled {
            query: parts.is_empty().then_some(query),
            files,
            shared_files: self.spec.artifacts.shared.keys().cloned().collect(),
            logsource: ls,
            note,
            context: ctx,
            parts,
        })
    }

    fn finish(&self, compiled: &[(&Rule, &Compiled)]) -> Result<Vec<OutFile>, Diagnostic> {
        let mut out = Vec::new();
        if compiled.is_empty() {
            return Ok(out);
        }
        let rules: Vec<minijinja::Value> = compiled
            .iter()
            .map(|(r, c)| match &c.context {
                Some(v) => v.clone(),
                None => self.rule_context(
                    r,
                    c.query.as_deref().unwrap_or(""),
                    c.logsource,
                    c.note.as_deref(),
                ),
            })
            .collect();
        let ctx = minijinja::context! {
            rules => rules,
            macros => self.macros_used(compiled),
            target => self.target_value.clone(),
        };
        for (path, tpl) in &self.spec.artifacts.shared {
            let contents = self
                .render_template(tpl, &ctx)
                .map_err(|e| self.artifact_error(None, e))?;
            out.push(OutFile {
                path: path.clone(),
                contents,
            });
        }
        Ok(out)
    }
}

/// Starts the message of the error a template's `skip(reason)` raises.
const SKIP_MARK: &str = "detc-skip: ";

/// The reason of a template's `skip(reason)`, when that is what `e` is (or was raised from).
fn skip_reason(e: &minijinja::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(m) = err.downcast_ref::<minijinja::Error>() {
            if let Some(r) = m.detail().and_then(|d| d.strip_prefix(SKIP_MARK)) {
                return Some(r.to_string());
            }
        }
        cur = err.source();
    }
    None
}

fn describe_logsource(ls: &LogSource) -> String {
    let parts: Vec<String> = [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    if parts.is_empty() {
        "(none)".into()
    } else {
        parts.join(" ")
    }
}

/// The template context of part `i` (from 1) of `n` of a split rule: the rule's context with
/// its own name (`<rule>_part<i>`), title, id (a stable UUID made from the rule's id and the
/// part number: each part is a rule of its own on the platform) and query.
fn part_context(
    ctx: &minijinja::Value,
    rule: &Rule,
    query: &str,
    i: usize,
    n: usize,
) -> minijinja::Value {
    let base = rule
        .id()
        .map(str::to_string)
        .unwrap_or_else(|| rule.name.clone());
    let whole = ctx.get_attr("rule").unwrap_or_default();
    let part = minijinja::context! {
        name => format!("{}_part{i}", rule.name),
        title => format!("{} (part {i} of {n})", rule.meta.title),
        id => pseudo_uuid(&format!("{base}/part{i}")),
        part => i,
        parts => n,
        ..whole
    };
    minijinja::context! { rule => part, query => query, ..ctx.clone() }
}

/// A stable UUID-shaped id for rules without one (Sentinel requires an id).
fn pseudo_uuid(name: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("detc-rule:{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// Escaping filters for artifact templates, one per output format.
pub mod filters {
    use minijinja::{Environment, Error, ErrorKind};

    pub fn register(env: &mut Environment<'static>) {
        env.add_filter("conf_value", conf_value);
        env.add_filter("conf_stanza", conf_stanza);
        env.add_filter("line_comment", line_comment);
        env.add_filter("yaml_str", yaml_str);
        env.add_filter("json", json);
        env.add_filter("without", without);
    }

    /// The items of `list` that are not in `other` (`required | without(logsource.columns)`:
    /// the required columns a query does not return).
    pub fn without(
        list: Vec<minijinja::Value>,
        other: Vec<minijinja::Value>,
    ) -> Vec<minijinja::Value> {
        list.into_iter().filter(|v| !other.contains(v)).collect()
    }

    /// A value of a Splunk `.conf` key: newlines become `\`-continued lines; a line that itself
    /// ends in a backslash gets a trailing space so it cannot swallow the next line.
    pub fn conf_value(s: String) -> String {
        let lines: Vec<String> = s
            .replace("\r\n", "\n")
            .split(['\n', '\r'])
            .map(|l| {
                let l: String = l
                    .chars()
                    .map(|c| if is_conf_unsafe(c) { ' ' } else { c })
                    .collect();
                if l.ends_with('\\') {
                    format!("{l} ")
                } else {
                    l
                }
            })
            .collect();
        lines.join("\\\n")
    }

    /// Characters a `.conf` value or stanza name cannot hold raw: controls (line breaks among
    /// them) and the noncharacters U+FFFE/U+FFFF, which are not text. (A query never has
    /// them: the dialects escape or refuse them, see `render::is_special_char`.)
    fn is_conf_unsafe(c: char) -> bool {
        c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }

    /// A `.conf` stanza name: one line, no brackets.
    pub fn conf_stanza(s: String) -> String {
        s.chars()
            .map(|c| match c {
                '[' | ']' => '_',
                c if is_conf_unsafe(c) => ' ',
                c => c,
            })
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// Text for a one-line comment: no line breaks, control or formatting characters.
    pub fn line_comment(s: String) -> String {
        s.chars()
            .map(|c| {
                if super::super::render::is_special_char(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    }

    /// A YAML scalar: a JSON string, which is a YAML double-quoted scalar, with the characters
    /// JSON leaves raw but YAML does not accept raw (DEL, C1 controls, U+FFFE, U+FFFF, and the
    /// line separators and BOM YAML 1.1 treats specially; the same set the Sigma writer
    /// escapes) written as `\uXXXX` escapes, which both read the same way.
    pub fn yaml_str(s: String) -> Result<String, Error> {
        let json = serde_json::to_string(&s)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
        if !json.chars().any(crate::sigma::yaml_needs_escape) {
            return Ok(json);
        }
        let mut out = String::with_capacity(json.len() + 16);
        for c in json.chars() {
            if crate::sigma::yaml_needs_escape(c) {
                // Every such character is in the BMP: four hex digits suffice.
                out.push_str(&format!("\\u{:04X}", c as u32));
            } else {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Any value as JSON (for .conf annotations and YAML flow lists).
    pub fn json(v: minijinja::Value) -> Result<String, Error> {
        serde_json::to_string(&v)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
    }
}

/// A log source and each of its `also` sources as a plain log source (own constraint, fields
/// over the log source's).
fn source_variants(ls: &LogSourceSpec) -> Vec<LogSourceSpec> {
    let mut main = ls.clone();
    main.also.clear();
    let mut out = vec![main.clone()];
    for a in &ls.also {
        let mut v = main.clone();
        v.constraint = Some(a.constraint.clone());
        for (k, c) in &a.fields {
            v.fields.insert(k.clone(), c.clone());
        }
        out.push(v);
    }
    out
}

/// The fields some `also` source of `ls` maps.
fn alternative_fields(ls: &LogSourceSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in ls.also.iter().flat_map(|a| a.fields.keys()) {
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

/// The field names a condition reads (`fieldref` targets too).
fn field_names(e: &Expr, out: &mut Vec<String>, depth: usize) {
    if depth > super::render::MAX_DEPTH {
        return;
    }
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| field_names(x, out, depth + 1)),
        Expr::Not(x) => field_names(x, out, depth + 1),
        Expr::Const(_) => {}
        Expr::Pred(p) => {
            let other = match &p.test {
                crate::ir::norm::Test::FieldRef { other, .. } => Some(other),
                _ => None,
            };
            for f in p.field.iter().chain(other) {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
    }
}
