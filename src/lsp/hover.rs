//! Hover: what a modifier means, what a field means and which column each target reads it from
//! for the rule's log source, an ATT&CK technique's name and tactics, a selection's definition.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use super::{selection_text, word_at, Ctx};
use crate::ir::{LogSource, Rule};

pub fn hover(cx: &Ctx, offset: usize) -> Option<Hover> {
    let (word, span) = word_at(&cx.doc.text, offset)?;
    let rule = cx.an.rule_at(offset);
    let text = describe(cx, rule, &word, span.start as usize)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(cx.doc.range(span)),
    })
}

fn describe(cx: &Ctx, rule: Option<&Rule>, word: &str, start: usize) -> Option<String> {
    if let Some(r) = rule {
        if let Some(sel) = r.detection().and_then(|d| d.selection(word)) {
            let def = selection_text(&cx.doc.text, sel);
            return Some(format!("**selection** `{word}`\n\n```\n{def}\n```"));
        }
    }
    let tech = word.strip_prefix("attack.").unwrap_or(word);
    if is_technique(tech) {
        let (name, tactics) = cx.know.technique(tech)?;
        return Some(format!(
            "**{}**: {name}\n\ntactics: {}\n\nhttps://attack.mitre.org/techniques/{}/",
            tech.to_ascii_uppercase(),
            tactics.join(", "),
            tech.to_ascii_uppercase().replace('.', "/")
        ));
    }
    let before = cx.doc.text[..start].chars().next_back();
    if let Some(meaning) = cx.know.modifiers.get(word) {
        let in_modifier_place = match cx.doc.kind() {
            Some(crate::pack::load::Kind::Sigma) => before == Some('|'),
            _ => rule.is_some_and(|r| {
                matchers(r).any(|m| {
                    m.span.start as usize <= start
                        && start < m.span.end as usize
                        && m.field.as_deref() != Some(word)
                })
            }),
        };
        if in_modifier_place {
            return Some(format!("**modifier** `{word}`\n\n{meaning}"));
        }
    }
    let ls = rule.map(|r| r.logsource.clone()).unwrap_or_default();
    let used = rule.is_some_and(|r| matchers(r).any(|m| m.field.as_deref() == Some(word)));
    let known = cx.know.fields(&ls).contains_key(word);
    if used || known {
        return Some(field_text(cx, &ls, word));
    }
    None
}

fn field_text(cx: &Ctx, ls: &LogSource, field: &str) -> String {
    let mut out = format!("**field** `{field}`");
    if let Some(m) = cx.know.field_meaning(ls, field) {
        out.push_str(&format!("\n\n{m}"));
    }
    let cols = cx.know.columns(ls, field);
    if cols.is_empty() {
        out.push_str("\n\nNo target has a log source entry for this rule's log source.");
        return out;
    }
    out.push_str("\n\n| target | reads | column |\n|---|---|---|");
    for c in cols {
        let column = match c.column {
            Some(c) => format!("`{}`", c.replace('|', "\\|")),
            None => "not mapped (the rule is skipped)".to_string(),
        };
        let source = if c.source.len() > 60 {
            format!("{}…", c.source.chars().take(60).collect::<String>())
        } else {
            c.source
        };
        out.push_str(&format!(
            "\n| {} | {} | {column} |",
            c.target,
            source.replace('|', "\\|")
        ));
    }
    out
}

fn matchers(r: &Rule) -> impl Iterator<Item = &crate::ir::Matcher> {
    r.detection()
        .into_iter()
        .flat_map(|d| d.selections.iter())
        .flat_map(|s| s.groups.iter().flatten())
}

/// `T1234` or `T1234.567`, any case.
pub fn is_technique(w: &str) -> bool {
    let b = w.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => matches!(b[0], b'T' | b't') && digits(&b[1..]),
        9 => matches!(b[0], b'T' | b't') && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}
