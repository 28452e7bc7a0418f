//! `detc lsp` spoken to over stdio, as an editor does: JSON-RPC messages with Content-Length
//! headers to the real binary, answers read back and checked against what `detc check`,
//! `detc test` and `detc fmt` say for the same text.

mod common;
#[macro_use]
#[path = "common/lsp_rule.rs"]
mod lsp_rule;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

/// A client on a running `detc lsp`.
struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    notes: Vec<Value>,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_detc"))
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("detc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("Content-Length header")];
                r.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next_id: 0,
            notes: Vec::new(),
        };
        let uri = uri(root);
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": uri, "capabilities": {},
                   "workspaceFolders": [{"uri": uri, "name": "rules"}]}),
        );
        assert!(init["capabilities"]["hoverProvider"].as_bool().unwrap());
        c.notify("initialized", json!({}));
        // The workspace is scanned after `initialize` is answered: wait for it, so that the
        // cross-file answers below do not depend on timing.
        loop {
            let m = c.recv();
            if m["method"] == "window/logMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|t| t.contains("indexed"))
            {
                break;
            }
            c.notes.push(m);
        }
        c
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within 60 s")
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and return its result (panics on an error response).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let r = self.request_raw(method, params);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }

    fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m["id"] == json!(id) {
                return m;
            }
            self.notes.push(m);
        }
    }

    /// The diagnostics published for `uri` at `version` (`Value::Null`: after closing it);
    /// publications for other versions are dropped.
    fn diagnostics_at(&mut self, uri: &str, version: Value) -> Vec<Value> {
        loop {
            let m = if let Some(i) = self.notes.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            }) {
                self.notes.remove(i)
            } else {
                self.recv()
            };
            if m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
            {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            if m.get("id").is_none() {
                continue;
            }
        }
    }

    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        self.diagnostics_at(uri, json!(1))
    }

    fn shutdown(mut self) {
        let r = self.request_raw("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "detc lsp exits 0 after shutdown and exit");
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

const RULE: &str = net_user_add!(
    r#"
  test hit { Image: "C:\Windows\System32\net.exe", CommandLine: "net user bob /add" }
  test hit { Image: "C:\Windows\System32\cmd.exe", CommandLine: "net user bob /add" }
"#
);

const CORRELATION: &str = r#"correlation many_adds {
  title "Many accounts added"
  id 0e95725d-7320-415d-80f7-004da920fc11
  level medium
  type event_count
  rules net_user_add
  group-by User
  timespan 1h
  condition gte 3
}
"#;

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

/// Position of the `n`th (0-based) occurrence of `needle` in `text`, plus `delta` characters.
fn find(text: &str, needle: &str, n: usize, delta: u32) -> Value {
    let off = text.match_indices(needle).nth(n).expect(needle).0;
    let line = text[..off].matches('\n').count() as u32;
    let col = (off - text[..off].rfind('\n').map_or(0, |i| i + 1)) as u32;
    pos(line, col + delta)
}

fn labels(items: &Value) -> Vec<String> {
    let list = items
        .as_array()
        .or_else(|| items["items"].as_array())
        .unwrap();
    list.iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_editor_session_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.det"), RULE).unwrap();
    std::fs::write(dir.path().join("b.det"), CORRELATION).unwrap();
    let mut c = Client::start(dir.path());
    let a = uri(&dir.path().join("a.det"));
    let b = uri(&dir.path().join("b.det"));

    // didOpen: the same diagnostic as `detc check` (code, position, fix).
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": a, "languageId": "det", "version": 1, "text": RULE}}),
    );
    let d = c.diagnostics(&a);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], "unknown-modifier");
    assert_eq!(d[0]["severity"], 1);
    assert_eq!(d[0]["range"]["start"], pos(8, 14));
    assert_eq!(d[0]["range"]["end"], pos(8, 21));
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `endswith`?"));
    let check = common::detc(dir.path(), &["check", "a.det"]);
    assert!(
        common::stderr(&check).contains("a.det:9:15"),
        "detc check agrees"
    );

    // The "did you mean" fix as a code action.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": a}, "range": d[0]["range"], "context": {"diagnostics": [d[0]]}}),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix");
    let edit = &action["edit"]["changes"][&a][0];
    assert_eq!(edit["newText"], "endswith");
    assert_eq!(edit["range"], d[0]["range"]);

    // Apply it as an incremental change: now the failing example is reported on the example.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 2},
               "contentChanges": [{"range": edit["range"], "text": "endswith"}]}),
    );
    let d = c.diagnostics_at(&a, json!(2));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], "example-failed");
    assert_eq!(d[0]["range"]["start"], pos(14, 2));
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .contains("expected a hit, got a miss"));
    let fixed = RULE.replace("endwith", "endswith");

    // Completion: modifiers after a field, fields of the log source, log source values,
    // selections in the condition, ATT&CK techniques with names.
    let at = find(&fixed, "Image endswith", 0, 6);
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": a}, "position": at}),
    );
    let l = labels(&items);
    assert!(l.contains(&"endswith".to_string()) && l.contains(&"windash".to_string()));
    let at = find(&fixed, "net = ", 0, 6);
    let l = labels(&c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": a}, "position": at}),
    ));
    assert!(l.contains(&"CommandLine".to_string()) && l.contains(&"ParentImage".to_string()));
    let at = find(&fixed, "category=", 0, 9);
    let l = labels(&c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": a}, "position": at}),
    ));
    assert!(l.contains(&"process_creation".to_string()), "{l:?}");
    let at = find(&fixed, "condition net", 0, 10);
    let l = labels(&c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": a}, "position": at}),
    ));
    assert!(l.contains(&"net".to_string()) && l.contains(&"add".to_string()));
    let at = find(&fixed, "T1136.001", 0, 0);
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": a}, "position": at}),
    );
    let t = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "T1136.001")
        .expect("technique offered");
    assert_eq!(t["detail"], "Create Account: Local Account");

    // Hover: modifier, field (with the column each target reads), technique, selection.
    let hover = |c: &mut Client, at: Value| {
        c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": a}, "position": at}),
        )["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let h = hover(&mut c, find(&fixed, "contains", 0, 2));
    assert!(h.contains("**modifier** `contains`"), "{h}");
    let h = hover(&mut c, find(&fixed, "CommandLine contains", 0, 3));
    assert!(h.contains("**field** `CommandLine`"), "{h}");
    assert!(
        h.contains("| kql-defender | DeviceProcessEvents | `ProcessCommandLine` |"),
        "{h}"
    );
    let h = hover(&mut c, find(&fixed, "T1136.001", 0, 3));
    assert!(
        h.contains("Create Account: Local Account") && h.contains("persistence"),
        "{h}"
    );
    let h = hover(&mut c, find(&fixed, "net and", 0, 1));
    assert!(h.contains("net = Image endswith \"\\net.exe\""), "{h}");

    // Definition and references of a selection; rename of a selection and of a rule name
    // used by a correlation in another file.
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": a}, "position": find(&fixed, "net and", 0, 0)}),
    );
    assert_eq!(def["uri"], a);
    assert_eq!(def["range"]["start"], pos(8, 2));
    let refs = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": a}, "position": find(&fixed, "add =", 0, 0),
               "context": {"includeDeclaration": true}}),
    );
    assert_eq!(refs.as_array().unwrap().len(), 2, "{refs}");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": a}, "position": find(&fixed, "add =", 0, 0), "newName": "add_user"}),
    );
    assert_eq!(r["changes"][&a].as_array().unwrap().len(), 2, "{r}");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": a}, "position": find(&fixed, "net_user_add", 0, 2), "newName": "local_user_added"}),
    );
    assert_eq!(r["changes"][&a].as_array().unwrap().len(), 1, "{r}");
    let in_b = &r["changes"][&b][0];
    assert_eq!(in_b["range"]["start"], pos(5, 8), "{r}");
    let bad = c.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": a}, "position": find(&fixed, "add =", 0, 0), "newName": "not a name"}),
    );
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot name"));

    // Symbols.
    let syms = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": a}}),
    );
    assert_eq!(syms[0]["name"], "net_user_add");
    let children: Vec<&str> = syms[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["net", "add", "test hit #1", "test hit #2"]);
    let ws = c.request("workspace/symbol", json!({"query": "many"}));
    assert_eq!(ws[0]["name"], "many_adds");
    assert_eq!(ws[0]["location"]["uri"], b);

    // Code lens and the compiled queries for every target.
    let lenses = c.request("textDocument/codeLens", json!({"textDocument": {"uri": a}}));
    let cmd = &lenses[0]["command"];
    assert_eq!(cmd["command"], "detc.showCompiled");
    let out = c.request(
        "workspace/executeCommand",
        json!({"command": "detc.showCompiled", "arguments": cmd["arguments"]}),
    );
    let targets: Vec<&str> = out["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    for t in ["sigma", "splunk", "kql-defender", "kql-sentinel"] {
        assert!(targets.contains(&t), "{targets:?}");
    }
    let text = out["text"].as_str().unwrap();
    assert!(text.contains("DeviceProcessEvents"), "{text}");
    assert!(
        text.contains("endswith") || text.contains("\\\\net.exe"),
        "{text}"
    );

    // Formatting = `detc fmt` of the same text (full document and a range).
    let messy = fixed.replace("  level high", "      level    high");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": a}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let copy = dir.path().join("fmt.det");
    std::fs::write(&copy, &messy).unwrap();
    assert!(common::detc(dir.path(), &["fmt", "fmt.det"])
        .status
        .success());
    let by_cli = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(edits[0]["newText"].as_str().unwrap(), by_cli);
    let ranged = c.request(
        "textDocument/rangeFormatting",
        json!({"textDocument": {"uri": a}, "range": {"start": pos(4, 0), "end": pos(4, 5)},
               "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(ranged.as_array().unwrap().len(), 1, "{ranged}");
    assert_eq!(ranged[0]["newText"], "  level high\n");

    // A document closed: its diagnostics are cleared.
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": a}}));
    assert!(c.diagnostics_at(&a, Value::Null).is_empty());
    c.shutdown();
}

#[test]
fn sigma_files_get_the_sigma_readers_diagnostics_and_completion() {
    let dir = tempfile::tempdir().unwrap();
    let text = "title: t\nid: 5c6f2f0e-0000-4000-8000-000000000002\nstatus: test\nlevel: low\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel and nope\n";
    std::fs::write(dir.path().join("s.yml"), text).unwrap();
    let mut c = Client::start(dir.path());
    let s = uri(&dir.path().join("s.yml"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": s, "languageId": "yaml", "version": 1, "text": text}}),
    );
    let d = c.diagnostics(&s);
    let cli = common::detc(dir.path(), &["check", "--format", "json", "s.yml"]);
    let cli: Vec<Value> = String::from_utf8_lossy(&cli.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let codes: Vec<&str> = d.iter().map(|d| d["code"].as_str().unwrap()).collect();
    let cli_codes: Vec<&str> = cli.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, cli_codes);
    assert!(codes.contains(&"undefined-selection"), "{codes:?}");
    // Modifiers after `|`, selections in the condition.
    let l = labels(&c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": s}, "position": pos(9, 10)}),
    ));
    assert!(l.contains(&"contains".to_string()), "{l:?}");
    let l = labels(&c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": s}, "position": pos(10, 17)}),
    ));
    assert!(l.contains(&"sel".to_string()), "{l:?}");
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": s}, "position": pos(9, 12)}),
    );
    assert!(h["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("**modifier** `endswith`"));
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": s}, "position": pos(9, 6)}),
    );
    assert!(h["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("**field** `Image`"));
    c.shutdown();
}

#[test]
fn garbage_and_unknown_requests_get_answers_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Client::start(dir.path());
    let r = c.request_raw("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = c.request_raw("detc/unknown", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let u = uri(dir.path()) + "/x.det";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "det", "version": 1, "text": "rule x {\n  sel = Image \"\u{1F600}"}}),
    );
    let d = c.diagnostics(&u);
    assert!(!d.is_empty());
    let r = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": u}, "position": pos(1, 40)}),
    );
    assert!(r.is_array());
    c.shutdown();
}

/// `initialize` is answered, and documents are checked, while the workspace scan is still
/// running (held back here until the client has seen both); once the scan is in, the open
/// documents are checked again with the other files' rules.
#[test]
fn initialize_does_not_wait_for_the_workspace_scan() {
    use lsp_server::{Connection, Message, Notification, Request};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.det"),
        RULE.replace("endwith", "endswith"),
    )
    .unwrap();
    std::fs::write(dir.path().join("b.det"), CORRELATION).unwrap();
    let b = uri(&dir.path().join("b.det"));
    let (conn, client) = Connection::memory();
    let (release, held) = channel::<()>();
    let server = std::thread::spawn(move || {
        detc::lsp::server::run_with(conn, move |roots| {
            held.recv().ok();
            detc::lsp::workspace::Workspace::scan(roots)
        })
    });
    let recv = || {
        client
            .receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within 60 s")
    };
    let root = uri(dir.path());
    client
        .sender
        .send(Message::Request(Request::new(
            1.into(),
            "initialize".into(),
            json!({"processId": null, "rootUri": root, "capabilities": {},
                   "workspaceFolders": [{"uri": root, "name": "rules"}]}),
        )))
        .unwrap();
    match recv() {
        Message::Response(r) => assert!(r.response_result.is_ok() && r.id == 1.into(), "{r:?}"),
        m => panic!("expected the initialize answer, got {m:?}"),
    }
    let notify = |method: &str, params: Value| {
        client
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    };
    notify("initialized", json!({}));
    notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": b, "languageId": "det", "version": 1, "text": CORRELATION}}),
    );
    // The diagnostics of b.det, and whether the scan was reported in between.
    let mut indexed = false;
    let mut next_codes = || loop {
        match recv() {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                assert_eq!(n.params["uri"], b);
                let codes: Vec<String> = n.params["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["code"].as_str().unwrap().to_string())
                    .collect();
                return codes;
            }
            Message::Notification(n) if n.method == "window/logMessage" => {
                let m = n.params["message"].as_str().unwrap();
                assert!(m.contains("indexed 2 rule files"), "{m}");
                indexed = true;
            }
            m => panic!("unexpected {m:?}"),
        }
    };
    // Before the scan, the rule the correlation names is in no file the server knows.
    assert!(next_codes().contains(&"unknown-rule".to_string()));
    release.send(()).unwrap();
    let codes = next_codes();
    assert!(
        indexed,
        "the finished scan is reported before b.det is checked again"
    );
    assert!(!codes.contains(&"unknown-rule".to_string()), "{codes:?}");
    client
        .sender
        .send(Message::Request(Request::new(
            2.into(),
            "shutdown".into(),
            Value::Null,
        )))
        .unwrap();
    assert!(matches!(recv(), Message::Response(r) if r.id == 2.into()));
    notify("exit", Value::Null);
    server.join().unwrap().unwrap();
}
