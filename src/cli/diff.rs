//! `detc diff`: what a change does to the deployed queries, per rule and target (see
//! [`crate::pack::diff`]). Compares two built packs, or the rules at two git revisions, each
//! built in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::{Args, ValueEnum};

use super::build::CommonArgs;
use crate::diag::Sources;
use crate::pack::build::{compile, load_and_check, select_backends, Options};
use crate::pack::diff::{diff_packs, to_markdown, to_text};
use crate::pack::write::{read_tree, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Plain text with unified diffs.
    Text,
    /// Markdown for a pull-request comment: a collapsible section per rule.
    Markdown,
    /// JSON for tools.
    Json,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Two built packs (`detc build` output folders): OLD NEW.
    #[arg(num_args = 0..=2)]
    pub packs: Vec<PathBuf>,
    /// Compare the rules at two git revisions instead: `REV1..REV2`; an empty REV2
    /// (`origin/main..`) means the files as they are now.
    #[arg(long, value_name = "REV1..REV2")]
    pub git: Option<String>,
    /// With `--git`: the rule files or folders to build (default: rules).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

pub fn run(a: DiffArgs) -> ExitCode {
    let (old, new) = match (&a.git, a.packs.as_slice()) {
        (None, [old, new]) => {
            let read =
                |p: &Path| read_tree(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
            match (read(old), read(new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => return fail(e),
            }
        }
        (Some(range), []) => match git_packs(range, &a) {
            Ok(t) => t,
            Err(e) => return fail(e),
        },
        (Some(_), _) => return fail("give either two pack folders or --git REV1..REV2, not both"),
        (None, _) => return fail("give two pack folders (OLD NEW) or --git REV1..REV2"),
    };
    let d = match diff_packs(&old, &new) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let text = match a.format {
        DiffFormat::Text => to_text(&d),
        DiffFormat::Markdown => to_markdown(&d),
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&d).expect("serialisable");
            s.push('\n');
            s
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if a.format != DiffFormat::Text {
        eprintln!("{}", crate::pack::diff::summary(&d));
    }
    ExitCode::SUCCESS
}

fn git(args: &[&str]) -> Result<String, String> {
    let o = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim_end().to_string())
}

/// The two packs of `REV1..REV2`.
fn git_packs(range: &str, a: &DiffArgs) -> Result<(Tree, Tree), String> {
    let Some((r1, r2)) = range.split_once("..") else {
        return Err(format!("--git takes REV1..REV2, not `{range}`"));
    };
    if r1.is_empty() {
        return Err("--git REV1..REV2: REV1 is empty".into());
    }
    let prefix = git(&["rev-parse", "--show-prefix"])?;
    let rules = super::default_inputs(a.rules.clone());
    let old = build_rev(r1, &prefix, &rules, a)?;
    let new = if r2.is_empty() {
        build_dir(None, &rules, a)?
    } else {
        build_rev(r2, &prefix, &rules, a)?
    };
    Ok((old, new))
}

/// Check out the rules of `rev` into a temporary folder (`git archive`) and build them there.
fn build_rev(rev: &str, prefix: &str, rules: &[PathBuf], a: &DiffArgs) -> Result<Tree, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let paths: Vec<String> = rules
        .iter()
        .map(|r| format!("{prefix}{}", r.display()))
        .collect();
    let mut cmd = Command::new("git");
    cmd.current_dir(&top)
        .args(["archive", "--format=tar", rev, "--"])
        .args(&paths)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run git archive: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git archive {rev} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    tar::Archive::new(out.stdout.as_slice())
        .unpack(tmp.path())
        .map_err(|e| format!("cannot unpack {rev}: {e}"))?;
    build_dir(Some(&tmp.path().join(prefix)), rules, a)
}

/// Build `rules` (relative to `root`, a temporary checkout, or to the current folder) in
/// memory, as `detc build --keep-going` would.
fn build_dir(root: Option<&Path>, rules: &[PathBuf], a: &DiffArgs) -> Result<Tree, String> {
    let opts = Options {
        inputs: rules
            .iter()
            .map(|r| root.map_or_else(|| r.clone(), |root| root.join(r)))
            .collect(),
        targets: a.common.targets.clone(),
        targets_dir: a.common.targets_dir.clone(),
        strict: false,
        keep_going: true,
        placeholders: None,
        placeholders_file: a.common.placeholders.clone(),
        progress: false,
    };
    let backends = select_backends(&opts).map_err(|e| {
        e.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let mut sources = Sources::new();
    let checked = load_and_check(&opts, &mut sources);
    let errors = checked.diags.error_count();
    if errors > 0 {
        eprintln!(
            "note: {errors} error(s) in the rules under {}; those rules are left out (run detc check there)",
            root.unwrap_or(Path::new(".")).display()
        );
    }
    let mut tree = compile(&checked, &backends, &sources, &opts).tree;
    // Sources read from a temporary checkout are named as in the repository, so the two sides
    // compare. (The checkout's path is random, so it cannot occur in a query by chance.)
    if let Some(root) = root {
        let root_text = format!("{}/", root.display());
        for v in tree.values_mut() {
            if v.contains(&root_text) {
                *v = v.replace(&root_text, "");
            }
        }
    }
    Ok(tree)
}
