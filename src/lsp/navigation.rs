//! Go to definition, find references and rename for selection names (within their rule) and
//! for rule names (across the workspace: correlation rules refer to rules by name); document
//! and workspace symbols.

use std::collections::HashMap;

use lsp_types::{
    DocumentSymbol, Location, SymbolInformation, SymbolKind, TextEdit, Uri, WorkspaceEdit,
};

use super::documents::{path_to_uri, Document};
use super::{selection_text, word_at, Ctx};
use crate::diag::Span;
use crate::ir::{Cond, OfTarget, Rule, RuleBody};

/// Something a name at the cursor stands for.
enum Target {
    /// A selection of the rule at the cursor.
    Selection(String),
    /// A rule, by name.
    Rule(String),
}

fn target_at(cx: &Ctx, offset: usize) -> Option<(Target, Span)> {
    let (word, span) = word_at(&cx.doc.text, offset)?;
    let rule = cx.an.rule_at(offset)?;
    if rule
        .detection()
        .is_some_and(|d| d.selection(&word).is_some())
    {
        return Some((Target::Selection(word), span));
    }
    let is_rule = cx.an.rules.iter().any(|r| r.name == word)
        || cx.ws.rules().any(|(_, _, r)| r.name == word)
        || cx.an.rules.iter().any(|r| match &r.body {
            RuleBody::Correlation(c) => c.rules.iter().any(|n| n.value == word),
            _ => false,
        });
    is_rule.then_some((Target::Rule(word), span))
}

/// Where each selection name is written in a rule: its definition, then its uses.
fn selection_spans(text: &str, rule: &Rule, name: &str) -> Vec<Span> {
    let Some(d) = rule.detection() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(s) = d.selection(name) {
        // The name starts the selection's span (a Sigma key may be quoted: skip the quote).
        let start = s.span.start as usize;
        let skip = text[start..].starts_with(['"', '\'']) as usize;
        out.push(Span::new(start + skip, start + skip + name.len()));
    }
    fn walk(c: &Cond, text: &str, name: &str, out: &mut Vec<Span>) {
        match c {
            Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| walk(x, text, name, out)),
            Cond::Not(x) => walk(x, text, name, out),
            Cond::Sel(s) if s.value == name => out.push(s.span),
            Cond::Of(_, t) if t.value == OfTarget::Pattern(name.to_string()) => {
                // The span covers `1 of NAME` (Sigma) or NAME (.det): the name ends it.
                let r = t.span.range();
                if let Some(i) = text.get(r.clone()).and_then(|s| s.rfind(name)) {
                    out.push(Span::new(r.start + i, r.start + i + name.len()));
                }
            }
            _ => {}
        }
    }
    walk(&d.condition, text, name, &mut out);
    out
}

/// Where a rule's name is written in its own text: after `rule`/`correlation` in `.det`, the
/// `name:` value in Sigma (a Sigma rule named after its file has no such place).
fn rule_name_span(text: &str, rule: &Rule) -> Option<Span> {
    let r = rule.loc.span.range();
    let body = text.get(r.clone())?;
    let at = if body.starts_with("rule") || body.starts_with("correlation") {
        let head = body.split('{').next()?;
        head.find(rule.name.as_str())?
    } else {
        let line = body
            .match_indices("name:")
            .find(|(i, _)| *i == 0 || body.as_bytes()[i - 1] == b'\n')?
            .0;
        line + body[line..].find(rule.name.as_str())?
    };
    Some(Span::new(r.start + at, r.start + at + rule.name.len()))
}

/// Every place a rule name is written in one file's rules: rule headers and correlations'
/// `rules` entries.
fn rule_name_spans(text: &str, rules: &[Rule], name: &str) -> Vec<Span> {
    let mut out = Vec::new();
    for r in rules {
        if r.name == name {
            out.extend(rule_name_span(text, r));
        }
        if let RuleBody::Correlation(c) = &r.body {
            for n in c.rules.iter().filter(|n| n.value == name) {
                let s = n.span.range();
                // A quoted entry: the name inside the quotes.
                let inner = text.get(s.clone()).and_then(|t| t.find(name)).unwrap_or(0);
                out.push(Span::new(s.start + inner, s.start + inner + name.len()));
            }
        }
    }
    out
}

/// Locations of every occurrence of a target, the definition first.
fn occurrences(cx: &Ctx, offset: usize, t: &Target) -> Vec<Location> {
    match t {
        Target::Selection(name) => {
            let Some(rule) = cx.an.rule_at(offset) else {
                return Vec::new();
            };
            selection_spans(&cx.doc.text, rule, name)
                .into_iter()
                .map(|s| Location::new(cx.doc.uri.clone(), cx.doc.range(s)))
                .collect()
        }
        Target::Rule(name) => {
            let mut defs = Vec::new();
            let mut uses = Vec::new();
            let mut add = |doc: &Document, rules: &[Rule]| {
                for s in rule_name_spans(&doc.text, rules, name) {
                    let is_def = rules
                        .iter()
                        .any(|r| r.name == *name && rule_name_span(&doc.text, r) == Some(s));
                    let loc = Location::new(doc.uri.clone(), doc.range(s));
                    if is_def {
                        defs.push(loc);
                    } else {
                        uses.push(loc);
                    }
                }
            };
            add(cx.doc, &cx.an.rules);
            for (path, f) in &cx.ws.files {
                if *path == cx.doc.path || !f.text.contains(name.as_str()) {
                    continue;
                }
                let Some(uri) = path_to_uri(path) else {
                    continue;
                };
                let other = Document::new(uri, 0, f.text.clone());
                add(&other, &f.rules);
            }
            defs.extend(uses);
            defs
        }
    }
}

pub fn definition(cx: &Ctx, offset: usize) -> Option<Location> {
    let (t, _) = target_at(cx, offset)?;
    occurrences(cx, offset, &t).into_iter().next()
}

pub fn references(cx: &Ctx, offset: usize, include_declaration: bool) -> Vec<Location> {
    let Some((t, _)) = target_at(cx, offset) else {
        return Vec::new();
    };
    let mut all = occurrences(cx, offset, &t);
    if !include_declaration && !all.is_empty() {
        all.remove(0);
    }
    all
}

/// The range of the name that would be renamed.
pub fn prepare_rename(cx: &Ctx, offset: usize) -> Option<lsp_types::Range> {
    let (_, span) = target_at(cx, offset)?;
    Some(cx.doc.range(span))
}

// lsp-types keys `WorkspaceEdit::changes` by `Uri`, whose lazily parsed parts clippy sees as
// interior mutability; the key is never changed while in the map.
#[allow(clippy::mutable_key_type)]
pub fn rename(cx: &Ctx, offset: usize, new_name: &str) -> Result<WorkspaceEdit, String> {
    let (t, _) = target_at(cx, offset).ok_or("no selection or rule name here")?;
    let ok = !new_name.is_empty()
        && new_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !new_name.starts_with(|c: char| c.is_ascii_digit())
        && !crate::dsl::parser::is_cond_keyword(new_name);
    if !ok {
        return Err(format!(
            "`{new_name}` cannot name a selection or rule: expected letters, digits and `_`, not starting with a digit, and not a condition word"
        ));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for loc in occurrences(cx, offset, &t) {
        changes
            .entry(loc.uri)
            .or_default()
            .push(TextEdit::new(loc.range, new_name.to_string()));
    }
    Ok(WorkspaceEdit::new(changes))
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out
pub fn document_symbols(cx: &Ctx) -> Vec<DocumentSymbol> {
    let doc = cx.doc;
    let text = &doc.text;
    cx.an
        .rules
        .iter()
        .map(|r| {
            let mut children = Vec::new();
            if let Some(d) = r.detection() {
                for s in &d.selections {
                    let def = selection_text(text, s);
                    let full = Span::new(s.span.start as usize, s.span.start as usize + def.len());
                    children.push(DocumentSymbol {
                        name: s.name.clone(),
                        detail: Some("selection".into()),
                        kind: SymbolKind::VARIABLE,
                        tags: None,
                        deprecated: None,
                        range: doc.range(full),
                        selection_range: doc.range(Span::new(
                            s.span.start as usize,
                            s.span.start as usize + s.name.len(),
                        )),
                        children: None,
                    });
                }
            }
            for (i, ex) in r.tests.iter().enumerate() {
                let kind = match ex.expect {
                    crate::ir::Expect::Hit => "test hit",
                    crate::ir::Expect::Miss => "test miss",
                };
                children.push(DocumentSymbol {
                    name: format!("{kind} #{}", i + 1),
                    detail: Some("example".into()),
                    kind: SymbolKind::EVENT,
                    tags: None,
                    deprecated: None,
                    range: doc.range(ex.span),
                    selection_range: doc.range(ex.span),
                    children: None,
                });
            }
            let name_span = rule_name_span(text, r).unwrap_or(Span::at(r.loc.span.start as usize));
            DocumentSymbol {
                name: r.name.clone(),
                detail: Some(r.meta.title.clone()).filter(|t| !t.is_empty()),
                kind: match r.body {
                    RuleBody::Detection(_) => SymbolKind::CLASS,
                    RuleBody::Correlation(_) => SymbolKind::INTERFACE,
                },
                tags: None,
                deprecated: None,
                range: doc.range(r.loc.span),
                selection_range: doc.range(name_span),
                children: Some(children),
            }
        })
        .collect()
}

#[allow(deprecated)] // `SymbolInformation::deprecated` must be written out
pub fn workspace_symbols(
    cx_ws: &super::workspace::Workspace,
    query: &str,
) -> Vec<SymbolInformation> {
    let q = query.to_ascii_lowercase();
    let mut out = Vec::new();
    for (path, f) in &cx_ws.files {
        let matching: Vec<&Rule> = f
            .rules
            .iter()
            .filter(|r| r.name.to_ascii_lowercase().contains(&q))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let Some(uri) = path_to_uri(path) else {
            continue;
        };
        let doc = Document::new(uri, 0, f.text.clone());
        for r in matching {
            out.push(SymbolInformation {
                name: r.name.clone(),
                kind: match r.body {
                    RuleBody::Detection(_) => SymbolKind::CLASS,
                    RuleBody::Correlation(_) => SymbolKind::INTERFACE,
                },
                tags: None,
                deprecated: None,
                location: Location::new(doc.uri.clone(), doc.range(r.loc.span)),
                container_name: Some(r.meta.title.clone()).filter(|t| !t.is_empty()),
            });
            if out.len() >= 500 {
                return out;
            }
        }
    }
    out
}
