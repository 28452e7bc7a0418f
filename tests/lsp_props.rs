//! Every keystroke is a partial rule: random edits of the shipped rules (and of SigmaHQ rules
//! from ../shared) sent to the server as incremental changes must never make it panic, and
//! every request after every edit gets an answer that is not an internal error.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use detc::lsp::Server;
use lsp_server::{Message, Notification, Request, RequestId};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The shipped `.det` rules and a few SigmaHQ rules (when ../shared is there).
fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from("rules")];
    let sigma = PathBuf::from("../shared/sigmahq/rules/windows/process_creation");
    if sigma.is_dir() {
        dirs.push(sigma);
    }
    for d in dirs {
        let mut files: Vec<PathBuf> = walk(&d);
        files.sort();
        // A spread of files, not the first few of one folder.
        let step = (files.len() / 25).max(1);
        for f in files.into_iter().step_by(step) {
            if let Ok(t) = std::fs::read_to_string(&f) {
                out.push((f.file_name().unwrap().to_string_lossy().into_owned(), t));
            }
        }
    }
    assert!(out.len() >= 20, "the shipped rules are found");
    out
}

fn walk(d: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("det" | "yml")) {
            out.push(p);
        }
    }
    out
}

/// Position (line, UTF-16 column) of a byte offset.
fn position(text: &str, off: usize) -> Value {
    let before = &text[..off];
    let line = before.matches('\n').count();
    let col: usize = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .map(char::len_utf16)
        .sum();
    json!({"line": line, "character": col})
}

fn floor(text: &str, mut off: usize) -> usize {
    off = off.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    off
}

#[derive(Debug, Clone)]
struct Edit {
    /// Where, as a fraction of the text.
    at: f64,
    delete: usize,
    insert: String,
    /// Which request follows, and where.
    request: usize,
    req_at: f64,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        0.0..1.0f64,
        0usize..40,
        "[a-z_|=:{}\"' \n,()*#\\-\u{e9}\u{1F600}0-9]{0,12}",
        0usize..REQUESTS.len(),
        0.0..1.0f64,
    )
        .prop_map(|(at, delete, insert, request, req_at)| Edit {
            at,
            delete,
            insert,
            request,
            req_at,
        })
}

const REQUESTS: &[&str] = &[
    "textDocument/completion",
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/rename",
    "textDocument/prepareRename",
    "textDocument/formatting",
    "textDocument/rangeFormatting",
    "textDocument/codeAction",
    "textDocument/documentSymbol",
    "textDocument/codeLens",
];

fn params(method: &str, uri: &str, p: &Value) -> Value {
    let doc = json!({"uri": uri});
    let range = json!({"start": p, "end": p});
    match method {
        "textDocument/references" => {
            json!({"textDocument": doc, "position": p, "context": {"includeDeclaration": true}})
        }
        "textDocument/rename" => json!({"textDocument": doc, "position": p, "newName": "renamed"}),
        "textDocument/formatting" => {
            json!({"textDocument": doc, "options": {"tabSize": 2, "insertSpaces": true}})
        }
        "textDocument/rangeFormatting" => {
            json!({"textDocument": doc, "range": range, "options": {"tabSize": 2, "insertSpaces": true}})
        }
        "textDocument/codeAction" => {
            json!({"textDocument": doc, "range": range, "context": {"diagnostics": []}})
        }
        "textDocument/documentSymbol" | "textDocument/codeLens" => json!({"textDocument": doc}),
        _ => json!({"textDocument": doc, "position": p}),
    }
}

/// The text of a case: one SigmaHQ file as it is, or a few shipped `.det` files in one (so
/// that most of its rules are unchanged by an edit and come from the server's cache).
fn case_text(files: &[(String, String)], pick: usize) -> (String, String) {
    let (name, text) = &files[pick % files.len()];
    if name.ends_with(".yml") {
        return (name.clone(), text.clone());
    }
    let det: Vec<&(String, String)> = files.iter().filter(|(n, _)| n.ends_with(".det")).collect();
    let joined: Vec<&str> = (0..3)
        .map(|k| det[(pick + k) % det.len()].1.as_str())
        .collect();
    ("joined.det".to_string(), joined.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// What a keystroke publishes (the tokens and each unchanged rule's results reused) is what
    /// a full analysis of the same text finds: diagnostics, rules, conditions and failures.
    #[test]
    fn incremental_analysis_equals_a_full_one(
        pick in 0usize..1000,
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        use detc::lsp::analysis::{analyze, RuleCache};
        use detc::lsp::documents::Document;
        use detc::lsp::workspace::Workspace;
        static BACKENDS: OnceLock<Vec<Box<dyn detc::target::Backend>>> = OnceLock::new();
        let backends = BACKENDS.get_or_init(|| detc::target::load_targets(None).unwrap());
        let (name, mut text) = case_text(&corpus(), pick);
        let uri: lsp_types::Uri = format!("file:///work/{name}").parse().unwrap();
        let ws = Workspace::default();
        let mut cache = RuleCache::default();
        // Edited as the server edits it (the tokens of a `.det` text are kept, edit by edit).
        let mut doc = Document::new(uri.clone(), 1, text.clone());
        analyze(&doc, &ws, backends, &mut cache);
        for (n, e) in edits.iter().enumerate() {
            let start = floor(&text, (e.at * text.len() as f64) as usize);
            let end = floor(&text, start + e.delete).max(start);
            let range = json!({"start": position(&text, start), "end": position(&text, end)});
            text.replace_range(start..end, &e.insert);
            let change = serde_json::from_value(json!({"range": range, "text": e.insert})).unwrap();
            doc.apply(n as i32 + 2, vec![change]);
            prop_assert_eq!(&doc.text, &text);
            let kept = analyze(&doc, &ws, backends, &mut cache);
            let fresh = Document::new(uri.clone(), n as i32 + 2, text.clone());
            let full = analyze(&fresh, &ws, backends, &mut RuleCache::default());
            prop_assert_eq!(&kept.diags, &full.diags, "{}", text);
            prop_assert_eq!(&kept.rules, &full.rules);
            prop_assert_eq!(&kept.exprs, &full.exprs);
            prop_assert_eq!(&kept.failed, &full.failed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_edits_never_break_the_server(
        file in 0usize..1000,
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let files = corpus();
        let (name, mut text) = files[file % files.len()].clone();
        let uri = format!("file:///work/{name}");
        // One server for every case (loading the targets is most of a fresh one's cost); each
        // case opens its own document.
        static SERVER: OnceLock<Mutex<Server>> = OnceLock::new();
        let mut server = SERVER
            .get_or_init(|| Mutex::new(Server::default()))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        server.handle(Message::Notification(Notification::new(
            "textDocument/didOpen".into(),
            json!({"textDocument": {"uri": uri, "languageId": "det", "version": 1, "text": text}}),
        )));
        prop_assert_eq!(server.flush().len(), 1);
        for (n, e) in edits.iter().enumerate() {
            let start = floor(&text, (e.at * text.len() as f64) as usize);
            let end = floor(&text, start + e.delete).max(start);
            let range = json!({"start": position(&text, start), "end": position(&text, end)});
            text.replace_range(start..end, &e.insert);
            server.handle(Message::Notification(Notification::new(
                "textDocument/didChange".into(),
                json!({"textDocument": {"uri": uri, "version": n + 2},
                       "contentChanges": [{"range": range, "text": e.insert}]}),
            )));
            // Diagnostics for every version.
            let published = server.flush();
            prop_assert_eq!(published.len(), 1);
            let method = REQUESTS[e.request];
            let at = position(&text, floor(&text, (e.req_at * text.len() as f64) as usize));
            let out = server.handle(Message::Request(Request::new(
                RequestId::from(n as i32),
                method.into(),
                params(method, &uri, &at),
            )));
            prop_assert_eq!(out.len(), 1);
            let Message::Response(r) = &out[0] else {
                panic!("a response");
            };
            if let Err(err) = &r.response_result {
                // Refusing a rename to a name that is not there is an answer; a panic caught
                // by the server is an internal error.
                prop_assert_ne!(err.code, -32603, "{} on {}: {}\n{}", method, name, err.message, text);
            }
        }
    }
}
