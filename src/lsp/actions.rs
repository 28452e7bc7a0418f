//! Code actions ("did you mean" fixes), code lenses and the `detc.showCompiled` command: a rule
//! compiled for every target by the same back ends `detc build` uses.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeLens, Command, Range, TextEdit,
    WorkspaceEdit,
};
use serde_json::{json, Value};

use super::Ctx;
use crate::target::{Backend, Ctx as TargetCtx, Outcome};

pub const SHOW_COMPILED: &str = "detc.showCompiled";

/// Quick fixes for the diagnostics in `range` that carry a suggestion.
pub fn code_actions(cx: &Ctx, range: Range) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in &cx.an.diags {
        let (Some(fix), Some(loc)) = (&d.fix, d.loc) else {
            continue;
        };
        let r = cx.doc.range(loc.span);
        if r.end < range.start || r.start > range.end {
            continue;
        }
        let lsp_diag = super::diagnostics::to_lsp(d, cx.doc, cx.ws);
        let edit = WorkspaceEdit::new(HashMap::from([(
            cx.doc.uri.clone(),
            vec![TextEdit::new(r, fix.clone())],
        )]));
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace with `{fix}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![lsp_diag]),
            edit: Some(edit),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    out
}

/// One lens per rule: "compiled queries", running `detc.showCompiled` for it.
pub fn code_lenses(cx: &Ctx) -> Vec<CodeLens> {
    cx.an
        .rules
        .iter()
        .map(|r| {
            let at = cx.doc.position(r.loc.span.start as usize);
            CodeLens {
                range: Range::new(at, at),
                command: Some(Command {
                    title: "▶ compiled queries".into(),
                    command: SHOW_COMPILED.into(),
                    arguments: Some(vec![json!(cx.doc.uri.as_str()), json!(r.name)]),
                }),
                data: None,
            }
        })
        .collect()
}

/// `detc.showCompiled [uri, rule]`: the rule compiled for every target, as
/// `{rule, targets: [{target, query?, files: [{path, contents}], skipped?, note?}], text}`,
/// where `text` is all of it as one readable document.
pub fn show_compiled(cx: &Ctx, rule: &str, backends: &[Box<dyn Backend>]) -> Result<Value, String> {
    let i = cx
        .an
        .rules
        .iter()
        .position(|r| r.name == rule)
        .ok_or_else(|| format!("no rule `{rule}` in {}", cx.doc.path.display()))?;
    if cx.an.failed[i] {
        return Err(format!(
            "rule `{rule}` has errors; fix them to see its compiled queries"
        ));
    }
    // The document's rules and the related rules of other files, as the pack would hold them.
    let mut rules = cx.an.rules.clone();
    rules.extend(cx.an.related.iter().cloned());
    let mut exprs = cx.an.exprs.clone();
    for r in &cx.an.related {
        exprs.push(match r.detection() {
            Some(_) => crate::ir::norm::normalize(r, Default::default()).ok(),
            None => None,
        });
    }
    let tcx = TargetCtx {
        rules: &rules,
        exprs: &exprs,
    };
    let mut targets = Vec::new();
    let mut text = String::new();
    for b in backends {
        text.push_str(&format!("── {} ──\n", b.name()));
        match b.compile(i, &tcx) {
            Outcome::Compiled(c) => {
                if let Some(q) = &c.query {
                    text.push_str(q.trim_end());
                    text.push('\n');
                } else {
                    for f in &c.files {
                        text.push_str(&format!("# {}\n{}", f.path, f.contents));
                        if !f.contents.ends_with('\n') {
                            text.push('\n');
                        }
                    }
                }
                if let Some(n) = &c.note {
                    text.push_str(&format!("(note: {n})\n"));
                }
                targets.push(json!({
                    "target": b.name(),
                    "query": c.query,
                    "parts": c.parts,
                    "note": c.note,
                    "files": c.files.iter().map(|f| json!({"path": f.path, "contents": f.contents})).collect::<Vec<_>>(),
                }));
            }
            Outcome::Skipped(d) => {
                text.push_str(&format!("skipped: {}\n", d.message));
                targets.push(json!({"target": b.name(), "skipped": d.message}));
            }
        }
        text.push('\n');
    }
    Ok(json!({ "rule": rule, "targets": targets, "text": text }))
}
