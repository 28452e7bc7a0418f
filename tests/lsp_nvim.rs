//! `detc lsp` through a real editor client: a headless Neovim (Debian's `neovim` package) with
//! editors/nvim/lua/detc.lua opens a rule with a mistake, reads detc's diagnostic back through
//! its built-in LSP client, applies the quick fix, sees the diagnostics clear and fetches the
//! compiled queries (tests/nvim/session.lua drives it). Without `nvim` the test says so on one
//! line and passes; CI installs Neovim (.ci/run).

#[macro_use]
#[path = "common/lsp_rule.rs"]
mod lsp_rule;
#[path = "common/skip.rs"]
mod skip;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RULE: &str = net_user_add!("");

#[test]
fn neovim_shows_detc_diagnostics_and_applies_its_fix() {
    if Command::new("nvim").arg("--version").output().is_err() {
        skip::skipped(
            "the Neovim LSP client test (tests/lsp_nvim.rs)",
            "nvim is not installed",
            "apt-get install -y neovim",
        );
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let file = dir.path().join("rules/a.det");
    std::fs::write(&file, RULE).unwrap();
    let out = dir.path().join("out.json");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-u", "NONE", "-c"])
        .arg(format!(
            "luafile {}",
            root.join("tests/nvim/session.lua").display()
        ))
        .env("DETC_NVIM_RTP", root.join("editors/nvim"))
        .env("DETC_BIN", env!("CARGO_BIN_EXE_detc"))
        .env("DETC_FILE", &file)
        .env("DETC_OUT", &out)
        // Neovim's LSP log and state go to the temporary folder, not the user's.
        .env("XDG_CACHE_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("nvim starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the Neovim session did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("session wrote its result"))
            .unwrap();
    assert_eq!(seen["filetype"], "det");
    assert_eq!(seen["got"], true, "{seen}");
    let d = &seen["diagnostics"][0];
    assert_eq!(d["code"], "unknown-modifier", "{seen}");
    assert_eq!((d["lnum"].as_i64(), d["col"].as_i64()), (Some(8), Some(14)));
    assert_eq!(d["source"], "detc");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `endswith`?"));
    assert!(seen["hover"]
        .as_str()
        .unwrap()
        .contains("**modifier** `contains`"));
    assert_eq!(seen["action"], "Replace with `endswith`");
    assert_eq!(seen["fixed_line"], r#"  net = Image endswith "\net.exe""#);
    assert_eq!(seen["cleared"], true, "{seen}");
    let compiled = seen["compiled"].as_str().unwrap();
    assert!(compiled.contains("── kql-defender ──"), "{compiled}");
    assert!(
        compiled.contains(r#"FolderPath endswith "\\net.exe""#),
        "{compiled}"
    );
}
