//! The server: state (documents, analyses, workspace index, targets) and the dispatch of LSP
//! messages to the feature modules. [`Server::handle`] does no I/O; [`run`] is the loop that
//! reads and writes messages. Diagnostics are published when the incoming queue is empty
//! ([`Server::flush`]), so a burst of keystrokes is checked once, at its last version.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::*;
use serde_json::Value;

use super::actions::SHOW_COMPILED;
use super::analysis::{analyze, Analysis, RuleCache};
use super::documents::Document;
use super::knowledge::Knowledge;
use super::workspace::Workspace;
use super::Ctx;
use crate::target::Backend;

pub struct Server {
    docs: HashMap<String, Document>,
    analyses: HashMap<String, Analysis>,
    /// Per document, the per-rule results reused while typing.
    caches: HashMap<String, RuleCache>,
    ws: Workspace,
    know: Knowledge,
    backends: Vec<Box<dyn Backend>>,
    /// Documents whose diagnostics are to be published.
    dirty: BTreeSet<String>,
}

impl Default for Server {
    fn default() -> Self {
        Server::new(&[])
    }
}

impl Server {
    /// A server for the given workspace folders (their rule files are indexed now).
    pub fn new(roots: &[PathBuf]) -> Server {
        Server {
            docs: HashMap::new(),
            analyses: HashMap::new(),
            caches: HashMap::new(),
            ws: Workspace::scan(roots),
            // Loaded now, not on the first request, so that no keystroke waits for it.
            know: Knowledge::load(),
            // The built-in targets load or the build is broken (tests check them); a failure
            // leaves the server without target checks rather than without a server.
            backends: crate::target::load_targets(None).unwrap_or_default(),
            dirty: BTreeSet::new(),
        }
    }

    /// Take the workspace index (scanned after `initialize` was answered, see [`run`]): the
    /// open documents are checked again with it (cross-file names, ids and correlations),
    /// their buffers replacing what the scan read from disk.
    pub fn set_workspace(&mut self, ws: Workspace) {
        self.ws = ws;
        // The analyses name source ids of the old index; every open document is re-analysed
        // (its per-rule cache stays: a detection rule's results do not depend on other files).
        self.analyses.clear();
        self.dirty.extend(self.docs.keys().cloned());
        let keys: Vec<String> = self.docs.keys().cloned().collect();
        for k in keys {
            self.ensure_analysis(&k);
        }
    }

    /// The folders an `initialize` request names (workspace folders, else the root URI).
    pub fn roots(params: &InitializeParams) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .map(|f| super::documents::uri_to_path(&f.uri))
            .collect();
        #[allow(deprecated)] // older clients send only rootUri
        if roots.is_empty() {
            roots.extend(params.root_uri.as_ref().map(super::documents::uri_to_path));
        }
        roots.retain(|r| r.is_dir());
        roots
    }

    pub fn capabilities() -> ServerCapabilities {
        ServerCapabilities {
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..Default::default()
                },
            )),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(
                    [" ", "|", "=", "."].iter().map(|s| s.to_string()).collect(),
                ),
                ..Default::default()
            }),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: Default::default(),
            })),
            document_symbol_provider: Some(OneOf::Left(true)),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            document_formatting_provider: Some(OneOf::Left(true)),
            document_range_formatting_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..Default::default()
            })),
            code_lens_provider: Some(CodeLensOptions {
                resolve_provider: Some(false),
            }),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: vec![SHOW_COMPILED.to_string()],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn initialize_result() -> InitializeResult {
        InitializeResult {
            capabilities: Server::capabilities(),
            server_info: Some(ServerInfo {
                name: "detc".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        }
    }

    /// Handle one message; returns what to send back (responses, and notifications the
    /// message causes other than diagnostics, which [`Server::flush`] sends).
    pub fn handle(&mut self, msg: Message) -> Vec<Message> {
        match msg {
            Message::Request(r) => vec![Message::Response(self.request(r))],
            Message::Notification(n) => {
                self.notification(n);
                Vec::new()
            }
            Message::Response(_) => Vec::new(),
        }
    }

    /// `textDocument/publishDiagnostics` for every document changed since the last flush.
    pub fn flush(&mut self) -> Vec<Message> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Vec::new();
        for key in dirty {
            let params = match self.docs.get(&key) {
                Some(doc) => {
                    let uri = doc.uri.clone();
                    let version = doc.version;
                    let diags = self.lsp_diagnostics(&key);
                    PublishDiagnosticsParams::new(uri, diags, Some(version))
                }
                // Closed: clear what was shown.
                None => match key.parse() {
                    Ok(uri) => PublishDiagnosticsParams::new(uri, Vec::new(), None),
                    Err(_) => continue,
                },
            };
            out.push(Message::Notification(Notification::new(
                notif::PublishDiagnostics::METHOD.to_string(),
                params,
            )));
        }
        out
    }

    /// The document's diagnostics in LSP form (analysing it if needed).
    pub fn lsp_diagnostics(&mut self, key: &str) -> Vec<lsp_types::Diagnostic> {
        if !self.ensure_analysis(key) {
            return Vec::new();
        }
        let (doc, an) = (&self.docs[key], &self.analyses[key]);
        an.diags
            .iter()
            .map(|d| super::diagnostics::to_lsp(d, doc, &self.ws))
            .collect()
    }

    /// The phases of the latest analysis of a document (for benches/lsp.rs).
    pub fn timings(&self, uri: &str) -> Option<super::analysis::Timings> {
        self.analyses.get(uri).map(|a| a.timings)
    }

    /// Bring the analysis of a document up to its current version; false for an unknown
    /// document or a file detc does not read.
    fn ensure_analysis(&mut self, key: &str) -> bool {
        let Some(doc) = self.docs.get(key) else {
            return false;
        };
        if doc.kind().is_none() {
            return false;
        }
        if self
            .analyses
            .get(key)
            .is_some_and(|a| a.version == doc.version)
        {
            return true;
        }
        let cache = self.caches.entry(key.to_string()).or_default();
        let an = analyze(doc, &self.ws, &self.backends, cache);
        self.ws.update(&doc.path, &doc.text, &an.rules);
        self.analyses.insert(key.to_string(), an);
        true
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            notif::DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let d = p.text_document;
                    let key = d.uri.as_str().to_string();
                    // A reopened document may restart its versions: drop what was known.
                    self.analyses.remove(&key);
                    self.docs
                        .insert(key.clone(), Document::new(d.uri, d.version, d.text));
                    self.dirty.insert(key);
                }
            }
            notif::DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    let key = p.text_document.uri.as_str().to_string();
                    if let Some(doc) = self.docs.get_mut(&key) {
                        doc.apply(p.text_document.version, p.content_changes);
                        self.dirty.insert(key);
                    }
                }
            }
            notif::DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    let key = p.text_document.uri.as_str().to_string();
                    self.docs.remove(&key);
                    self.analyses.remove(&key);
                    self.caches.remove(&key);
                    self.dirty.insert(key);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, r: Request) -> Response {
        let id = r.id.clone();
        let method = r.method.clone();
        // A handler bug must cost one answer, never the server (nor the user's unsaved work).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.dispatch(r)));
        match result {
            Ok(Ok(v)) => Response::new_ok(id, v),
            Ok(Err((code, msg))) => Response::new_err(id, code as i32, msg),
            Err(_) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("detc lsp: internal error while answering {method}"),
            ),
        }
    }

    /// The document and its analysis for a request, with the knowledge tables loaded.
    fn ctx(&mut self, uri: &Uri) -> Result<Ctx<'_>, (ErrorCode, String)> {
        self.ctx_at(uri, false)
    }

    /// As [`Server::ctx`]; with `latest`, an analysis of an earlier version is good enough
    /// when there is one (completion: it reads the context from the current text and only
    /// needs the rule's selections and log source, so it answers at once while the checks of
    /// the keystroke wait for the queue to empty).
    fn ctx_at(&mut self, uri: &Uri, latest: bool) -> Result<Ctx<'_>, (ErrorCode, String)> {
        let key = uri.as_str().to_string();
        let have = latest && self.docs.contains_key(&key) && self.analyses.contains_key(&key);
        if !have && !self.ensure_analysis(&key) {
            return Err((
                ErrorCode::InvalidParams,
                format!("{} is not an open .det or Sigma file", uri.as_str()),
            ));
        }
        Ok(Ctx {
            doc: &self.docs[&key],
            an: &self.analyses[&key],
            ws: &self.ws,
            know: &self.know,
        })
    }

    fn dispatch(&mut self, r: Request) -> Result<Value, (ErrorCode, String)> {
        fn params<P: serde::de::DeserializeOwned>(r: Request) -> Result<P, (ErrorCode, String)> {
            serde_json::from_value(r.params).map_err(|e| {
                (
                    ErrorCode::InvalidParams,
                    format!("invalid parameters for {}: {e}", r.method),
                )
            })
        }
        fn ok<T: serde::Serialize>(v: T) -> Result<Value, (ErrorCode, String)> {
            serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError, e.to_string()))
        }
        let method = r.method.clone();
        match method.as_str() {
            req::Initialize::METHOD => ok(Server::initialize_result()),
            req::Shutdown::METHOD => ok(()),
            req::Formatting::METHOD => {
                let p: DocumentFormattingParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                ok(super::formatting::format(cx.doc, None))
            }
            req::RangeFormatting::METHOD => {
                let p: DocumentRangeFormattingParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                ok(super::formatting::format(cx.doc, Some(p.range)))
            }
            req::Completion::METHOD => {
                let p: CompletionParams = params(r)?;
                let tp = p.text_document_position;
                let cx = self.ctx_at(&tp.text_document.uri, true)?;
                let at = cx.doc.offset(tp.position);
                ok(CompletionResponse::Array(super::completion::complete(
                    &cx, at,
                )))
            }
            req::HoverRequest::METHOD => {
                let p: HoverParams = params(r)?;
                let tp = p.text_document_position_params;
                let cx = self.ctx(&tp.text_document.uri)?;
                let at = cx.doc.offset(tp.position);
                ok(super::hover::hover(&cx, at))
            }
            req::GotoDefinition::METHOD => {
                let p: GotoDefinitionParams = params(r)?;
                let tp = p.text_document_position_params;
                let cx = self.ctx(&tp.text_document.uri)?;
                let at = cx.doc.offset(tp.position);
                ok(super::navigation::definition(&cx, at).map(GotoDefinitionResponse::Scalar))
            }
            req::References::METHOD => {
                let p: ReferenceParams = params(r)?;
                let tp = p.text_document_position;
                let cx = self.ctx(&tp.text_document.uri)?;
                let at = cx.doc.offset(tp.position);
                ok(super::navigation::references(
                    &cx,
                    at,
                    p.context.include_declaration,
                ))
            }
            req::PrepareRenameRequest::METHOD => {
                let p: TextDocumentPositionParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                let at = cx.doc.offset(p.position);
                ok(super::navigation::prepare_rename(&cx, at))
            }
            req::Rename::METHOD => {
                let p: RenameParams = params(r)?;
                let tp = p.text_document_position;
                let cx = self.ctx(&tp.text_document.uri)?;
                let at = cx.doc.offset(tp.position);
                let edit = super::navigation::rename(&cx, at, &p.new_name)
                    .map_err(|m| (ErrorCode::InvalidParams, m))?;
                ok(edit)
            }
            req::DocumentSymbolRequest::METHOD => {
                let p: DocumentSymbolParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                ok(DocumentSymbolResponse::Nested(
                    super::navigation::document_symbols(&cx),
                ))
            }
            req::WorkspaceSymbolRequest::METHOD => {
                let p: WorkspaceSymbolParams = params(r)?;
                // Open documents first, so unsaved rules are found.
                let keys: Vec<String> = self.docs.keys().cloned().collect();
                for k in keys {
                    self.ensure_analysis(&k);
                }
                ok(WorkspaceSymbolResponse::Flat(
                    super::navigation::workspace_symbols(&self.ws, &p.query),
                ))
            }
            req::CodeActionRequest::METHOD => {
                let p: CodeActionParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                ok(super::actions::code_actions(&cx, p.range))
            }
            req::CodeLensRequest::METHOD => {
                let p: CodeLensParams = params(r)?;
                let cx = self.ctx(&p.text_document.uri)?;
                ok(super::actions::code_lenses(&cx))
            }
            req::ExecuteCommand::METHOD => {
                let p: ExecuteCommandParams = params(r)?;
                if p.command != SHOW_COMPILED {
                    return Err((
                        ErrorCode::InvalidParams,
                        format!("unknown command `{}`; expected {SHOW_COMPILED}", p.command),
                    ));
                }
                let (uri, rule) = match p.arguments.as_slice() {
                    [Value::String(u), Value::String(n), ..] => (u.clone(), n.clone()),
                    _ => {
                        return Err((
                            ErrorCode::InvalidParams,
                            format!("{SHOW_COMPILED} takes [document URI, rule name]"),
                        ))
                    }
                };
                let uri: Uri = uri
                    .parse()
                    .map_err(|_| (ErrorCode::InvalidParams, format!("not a URI: {uri}")))?;
                self.ctx(&uri)?;
                let key = uri.as_str().to_string();
                let cx = Ctx {
                    doc: &self.docs[&key],
                    an: &self.analyses[&key],
                    ws: &self.ws,
                    know: &self.know,
                };
                super::actions::show_compiled(&cx, &rule, &self.backends)
                    .map_err(|m| (ErrorCode::RequestFailed, m))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("detc lsp does not handle {method}"),
            )),
        }
    }
}

/// Serve one connection until the client sends `exit`.
pub fn run(conn: Connection) -> Result<(), String> {
    run_with(conn, Workspace::scan)
}

/// [`run`] with the workspace scan given (tests hold it back to see that nothing waits for
/// it). `initialize` is answered at once; the workspace folders are scanned on another thread
/// (2.3 s for the 3,141 SigmaHQ rules in a debug build) while messages are handled, and the
/// index is taken when it is ready: open documents are then checked again with it, and a
/// `window/logMessage` says how many files were indexed.
pub fn run_with(
    conn: Connection,
    scan: impl FnOnce(&[PathBuf]) -> Workspace + Send + 'static,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("detc lsp: {e}");
    let (id, params) = conn.initialize_start().map_err(|e| err(&e))?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let roots = Server::roots(&params);
    let mut server = Server::new(&[]);
    let result = serde_json::to_value(Server::initialize_result()).map_err(|e| err(&e))?;
    conn.initialize_finish(id, result).map_err(|e| err(&e))?;
    let (tx, mut scanned) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let t = std::time::Instant::now();
        let ws = scan(&roots);
        let _ = tx.send((ws, t.elapsed()));
    });
    loop {
        crossbeam_channel::select! {
            recv(conn.receiver) -> msg => {
                let Ok(msg) = msg else { break };
                if let Message::Request(r) = &msg {
                    if conn.handle_shutdown(r).map_err(|e| err(&e))? {
                        return Ok(());
                    }
                }
                for out in server.handle(msg) {
                    conn.sender.send(out).map_err(|e| err(&e))?;
                }
            }
            recv(scanned) -> ws => {
                // Once only: a finished (or failed) scan's channel is replaced by one that
                // never delivers.
                scanned = crossbeam_channel::never();
                if let Ok((ws, took)) = ws {
                    let files = ws.files.len();
                    let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        server.set_workspace(ws)
                    }));
                    let message = match taken {
                        Ok(()) => format!(
                            "detc: indexed {files} rule files of the workspace in {} ms",
                            took.as_millis()
                        ),
                        Err(_) => "detc: internal error while indexing the workspace".into(),
                    };
                    let note = Notification::new(
                        notif::LogMessage::METHOD.to_string(),
                        LogMessageParams {
                            typ: MessageType::INFO,
                            message,
                        },
                    );
                    conn.sender
                        .send(Message::Notification(note))
                        .map_err(|e| err(&e))?;
                }
            }
        }
        if conn.receiver.is_empty() {
            // As for requests: a bug costs this round of diagnostics, not the server.
            let published =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.flush()))
                    .unwrap_or_default();
            for out in published {
                conn.sender.send(out).map_err(|e| err(&e))?;
            }
        }
    }
    Ok(())
}
