//! Writing an output folder atomically, safely, and comparing a committed one with a fresh build.
//!
//! A build never leaves a half-written `dist/`: files go to a temporary sibling folder, which
//! replaces the old folder by rename only once everything is written. Three rules keep a user's
//! files safe:
//! - every path written is checked to be inside the output folder (a rule name is a file name;
//!   the front ends reject unsafe names, this is the second line of defence);
//! - an existing folder is replaced only when detc wrote it (its `manifest.json` says so, and for
//!   `convert` its files are unchanged since) or it is empty; anything else is refused;
//! - an interrupted write (SIGINT, SIGTERM, SIGHUP) removes its staging folder, and a later write
//!   removes staging folders left by a process that is gone (SIGKILL, power loss).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// The full contents of an output folder: relative path (with `/`) -> bytes.
pub type Tree = BTreeMap<String, String>;

/// Which command writes a folder, and so which folders it may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `detc build`: `manifest.json` with `detc_version` and `rules`.
    Build,
    /// `detc convert --out`: `manifest.json` with `detc_version` and `converted` (file ->
    /// sha256); replaced only while every file is as detc wrote it.
    Convert,
}

/// Why an output folder was not written. Nothing outside the staging folder was touched.
#[derive(Debug)]
pub enum WriteError {
    /// The folder exists and is not one detc may replace.
    NotReplaceable {
        out: PathBuf,
        why: String,
    },
    /// A path of the tree is not a plain relative path inside the folder.
    Escapes {
        rel: String,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::NotReplaceable { out, why } => write!(
                f,
                "refusing to replace `{}`: {why}; nothing was written",
                out.display()
            ),
            WriteError::Escapes { rel } => write!(
                f,
                "refusing to write `{rel}`: it is not inside the output folder; nothing was written"
            ),
            WriteError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl WriteError {
    /// The diagnostic code: an output folder detc may not replace is a usage error of its own.
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::NotReplaceable { .. } => "output-folder",
            WriteError::Escapes { .. } | WriteError::Io(_) => "io",
        }
    }

    /// What the user can do, for a diagnostic's `expected`.
    pub fn expected(&self) -> Option<&'static str> {
        match self {
            WriteError::NotReplaceable { .. } => Some(
                "an --out folder that does not exist, is empty, or holds detc's own earlier output",
            ),
            _ => None,
        }
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// The name of the marker file detc writes into a staging folder first: whoever finds it in a
/// `.NAME.tmp-*` folder knows the folder is detc's, and which process made it.
const STAGING_MARKER: &str = ".detc-staging";

/// Staging folders of this process that an interrupt must remove. The lock is also held while a
/// finished folder is swapped into place, so an interrupt never lands between the two renames.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set by the interrupt handler as it starts removing the staging folders.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After an interrupt, a write that fails (its folder is being removed under it) must not
/// return: the process would end before the handler is done. Wait for the handler's exit.
fn wait_if_interrupted() {
    while INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// On SIGINT/SIGTERM/SIGHUP: remove this process's staging folders, then exit 130.
fn install_interrupt_cleanup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let staged = STAGING.lock().unwrap_or_else(|e| e.into_inner());
            for p in staged.iter() {
                // Writer threads may still be creating files in it: retry until it is gone.
                for _ in 0..500 {
                    if std::fs::remove_dir_all(p).is_ok() || !p.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            eprintln!("detc: interrupted; the output folder was left as it was");
            std::process::exit(130);
        });
    });
}

/// Unregisters a staging folder from interrupt cleanup when dropped.
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let mut staged = STAGING.lock().unwrap_or_else(|e| e.into_inner());
        staged.retain(|p| p != &self.0);
    }
}

/// Check that `rel` (a tree key) is a plain relative path: only normal components, so joined to
/// the output folder it stays inside it.
fn check_inside(rel: &str) -> Result<(), WriteError> {
    let p = Path::new(rel);
    let plain = !rel.is_empty()
        && !rel.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(WriteError::Escapes {
            rel: rel.to_string(),
        })
    }
}

/// The folder and the name of an output path; `.`, `..` and `/` cannot be output folders.
fn split_out(out: &Path) -> Result<(PathBuf, String), WriteError> {
    let Some(Component::Normal(name)) = out.components().next_back() else {
        return Err(WriteError::NotReplaceable {
            out: out.to_path_buf(),
            why: "it is not a folder name detc can write (such as `dist`)".into(),
        });
    };
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_string_lossy().into_owned()))
}

/// The JSON manifest of a folder, if it has a readable one.
fn read_manifest(out: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// May `owner` replace `out`? It may when `out` does not exist, is an empty folder, or is a
/// folder the same command wrote (and, for `convert`, whose files are all as it wrote them).
pub fn check_replaceable(out: &Path, owner: Owner) -> Result<(), WriteError> {
    split_out(out)?;
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let refuse = |why: String| WriteError::NotReplaceable {
        out: out.to_path_buf(),
        why,
    };
    if !meta.is_dir() {
        return Err(refuse("it exists and is not a folder".into()));
    }
    if std::fs::read_dir(out)?.next().is_none() {
        return Ok(());
    }
    let manifest = read_manifest(out);
    let key = match owner {
        Owner::Build => "rules",
        Owner::Convert => "converted",
    };
    let ours = manifest
        .as_ref()
        .is_some_and(|m| m.get("detc_version").is_some() && m.get(key).is_some());
    if !ours {
        let what = match owner {
            Owner::Build => "`detc build`",
            Owner::Convert => "`detc convert`",
        };
        return Err(refuse(format!(
            "it is not empty and was not written by {what} (it has no detc manifest.json of that kind)"
        )));
    }
    if owner == Owner::Convert {
        // Converted rules are meant to be edited: never replace a folder holding edits or files
        // detc did not write.
        let listed = manifest
            .as_ref()
            .and_then(|m| m.get("converted"))
            .and_then(|c| c.as_object())
            .cloned()
            .unwrap_or_default();
        let tree = read_tree(out)?;
        for (rel, contents) in &tree {
            if rel == "manifest.json" {
                continue;
            }
            match listed.get(rel).and_then(|v| v.as_str()) {
                None => return Err(refuse(format!("`{rel}` was not written by detc convert"))),
                Some(sha) if sha != super::manifest::sha256_hex(contents.as_bytes()) => {
                    return Err(refuse(format!(
                        "`{rel}` was changed after detc convert wrote it"
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Whether the process `pid` still runs. Where that cannot be known, a folder counts as live
/// for a day.
fn process_gone(pid: u32, dir: &Path) -> bool {
    if Path::new("/proc/self").exists() {
        return !Path::new(&format!("/proc/{pid}")).exists();
    }
    std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 24 * 3600)
}

/// Remove `.NAME.tmp-*` staging folders and `.NAME.old-PID` folders beside the output that a
/// detc process which is gone left behind (killed, or the machine stopped). Folders without
/// detc's marker, and those of a detc still running, are left alone.
fn clean_stale(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let tmp_prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    for e in entries.flatten() {
        let file_name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let pid = if file_name.starts_with(&tmp_prefix) {
            std::fs::read_to_string(path.join(STAGING_MARKER))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
        } else if let Some(rest) = file_name.strip_prefix(&old_prefix) {
            // An old output set aside during a swap: detc's if it holds detc's manifest.
            rest.parse::<u32>()
                .ok()
                .filter(|_| read_manifest(&path).is_some_and(|m| m.get("detc_version").is_some()))
        } else {
            None
        };
        if let Some(pid) = pid {
            if pid != std::process::id() && process_gone(pid, &path) {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

/// Replace `out` with exactly `tree`, if `owner` may replace it (see [`check_replaceable`]).
pub fn write_atomic(out: &Path, tree: &Tree, owner: Owner) -> Result<(), WriteError> {
    for rel in tree.keys() {
        check_inside(rel)?;
    }
    check_replaceable(out, owner)?;
    let (parent, name) = split_out(out)?;
    std::fs::create_dir_all(&parent)?;
    install_interrupt_cleanup();
    clean_stale(&parent, &name);
    let prefix = format!(".{name}.tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    // The folder becomes the output: created like any other folder (0777 less the umask), not
    // with a temporary folder's private 0700.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777));
    // Created and registered under the lock, so an interrupt never sees it unregistered.
    let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = builder.tempdir_in(&parent)?;
    staging.push(tmp.path().to_path_buf());
    drop(staging);
    let staged = Staged(tmp.path().to_path_buf());
    if let Err(e) = write_files(tmp.path(), tree) {
        wait_if_interrupted();
        return Err(e.into());
    }
    // The swap: no interrupt between the two renames (the handler waits for this lock).
    let _swap = STAGING.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::remove_file(tmp.path().join(STAGING_MARKER))?;
    let tmp_path = tmp.keep();
    let result = swap_into_place(&parent, &name, out, &tmp_path);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp_path);
    }
    drop(_swap);
    drop(staged);
    result.map_err(WriteError::Io)
}

/// Write the staging marker, then every file of `tree`, under `tmp`.
fn write_files(tmp: &Path, tree: &Tree) -> std::io::Result<()> {
    std::fs::write(tmp.join(STAGING_MARKER), std::process::id().to_string())?;
    // A corpus build writes thousands of files into a handful of folders: create each folder
    // once rather than once per file, then write the files in parallel (creating files is
    // system time, which the cores share).
    // Every folder and its ancestors, parents first (a parent sorts before its children).
    // `create_dir`, not `create_dir_all`: once an interrupt has removed the staging folder,
    // nothing here may create it again.
    let dirs: BTreeSet<&Path> = tree
        .keys()
        .flat_map(|rel| Path::new(rel).ancestors().skip(1))
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    for d in dirs {
        std::fs::create_dir(tmp.join(d))?;
    }
    use rayon::prelude::*;
    tree.par_iter().try_for_each(|(rel, contents)| {
        // Stop writing once interrupted, so the handler's removal of the folder converges.
        if INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        std::fs::write(tmp.join(rel), contents)
    })
}

/// Rename the finished `tmp` to `out`, setting an existing `out` aside first and removing it
/// after; on failure `out` is put back as it was.
fn swap_into_place(parent: &Path, name: &str, out: &Path, tmp: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(out).is_ok() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(out, &old)?;
        if let Err(e) = std::fs::rename(tmp, out) {
            // Put the old folder back so a failed build leaves dist/ as it was.
            let _ = std::fs::rename(&old, out);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    } else {
        std::fs::rename(tmp, out)
    }
}

/// Read every file under `dir` (relative paths with `/`). Unreadable or non-UTF-8 files are read
/// lossily: they will simply compare as stale.
pub fn read_tree(dir: &Path) -> std::io::Result<Tree> {
    let mut tree = Tree::new();
    fn walk(root: &Path, dir: &Path, tree: &mut Tree) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                walk(root, &p, tree)?;
            } else if ft.is_file() {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = std::fs::read(&p)?;
                tree.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }
    walk(dir, dir, &mut tree)?;
    Ok(tree)
}

/// Differences between a committed folder and a fresh build.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// In both, with different contents.
    pub stale: Vec<String>,
    /// In the fresh build, not in the folder.
    pub missing: Vec<String>,
    /// In the folder, not in the fresh build.
    pub extra: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

pub fn compare(committed: &Tree, fresh: &Tree) -> Drift {
    let mut d = Drift::default();
    for (k, v) in fresh {
        match committed.get(k) {
            None => d.missing.push(k.clone()),
            Some(c) if c != v => d.stale.push(k.clone()),
            _ => {}
        }
    }
    for k in committed.keys() {
        if !fresh.contains_key(k) {
            d.extra.push(k.clone());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(files: &[(&str, &str)]) -> Tree {
        let mut t: Tree = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        t.insert(
            "manifest.json".into(),
            r#"{"detc_version": "0", "rules": []}"#.into(),
        );
        t
    }

    #[test]
    fn atomic_write_replaces_whole_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        let t = pack(&[("a/x.txt", "one"), ("b.txt", "two")]);
        write_atomic(&out, &t, Owner::Build).unwrap();
        assert_eq!(read_tree(&out).unwrap(), t);
        let t2 = pack(&[("c.txt", "three")]);
        write_atomic(&out, &t2, Owner::Build).unwrap();
        assert_eq!(read_tree(&out).unwrap(), t2);
        // No temporary folders are left next to it.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn a_folder_detc_did_not_write_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rules");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("vss.det"), "rule x {}").unwrap();
        let before = read_tree(&out).unwrap();
        for owner in [Owner::Build, Owner::Convert] {
            let e = write_atomic(&out, &pack(&[("x", "y")]), owner).unwrap_err();
            assert!(matches!(e, WriteError::NotReplaceable { .. }), "{e}");
            assert!(e.to_string().contains("rules"), "{e}");
            assert_eq!(read_tree(&out).unwrap(), before);
        }
        // A file, `.` and `..` are refused too.
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        for bad in [
            file.as_path(),
            Path::new("."),
            Path::new(".."),
            Path::new("/"),
        ] {
            let e = check_replaceable(bad, Owner::Build).unwrap_err();
            assert!(matches!(e, WriteError::NotReplaceable { .. }), "{bad:?}");
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
        // An empty folder is fine.
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        write_atomic(&empty, &pack(&[("x", "y")]), Owner::Build).unwrap();
    }

    #[test]
    fn build_and_convert_folders_are_not_interchangeable() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_atomic(&out, &pack(&[("x", "y")]), Owner::Build).unwrap();
        assert!(check_replaceable(&out, Owner::Convert).is_err());
        assert!(check_replaceable(&out, Owner::Build).is_ok());
    }

    #[test]
    fn a_converted_folder_with_edits_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("conv");
        let sha = crate::pack::manifest::sha256_hex(b"rule a {}");
        let mut t = Tree::new();
        t.insert("a.det".into(), "rule a {}".into());
        t.insert(
            "manifest.json".into(),
            format!(r#"{{"detc_version": "0", "converted": {{"a.det": "{sha}"}}}}"#),
        );
        write_atomic(&out, &t, Owner::Convert).unwrap();
        assert!(check_replaceable(&out, Owner::Convert).is_ok());
        std::fs::write(out.join("a.det"), "rule a { edited }").unwrap();
        let e = check_replaceable(&out, Owner::Convert).unwrap_err();
        assert!(e.to_string().contains("a.det` was changed"), "{e}");
        std::fs::write(out.join("a.det"), "rule a {}").unwrap();
        std::fs::write(out.join("mine.det"), "rule m {}").unwrap();
        let e = check_replaceable(&out, Owner::Convert).unwrap_err();
        assert!(e.to_string().contains("mine.det` was not written"), "{e}");
    }

    #[test]
    fn paths_outside_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b/dist");
        for rel in [
            "../x.kql",
            "kql/../../x.kql",
            "/etc/x",
            "",
            "./x",
            "a\\..\\..\\x",
        ] {
            let t = pack(&[(rel, "x")]);
            let e = write_atomic(&out, &t, Owner::Build).unwrap_err();
            assert!(matches!(e, WriteError::Escapes { .. }), "{rel}: {e}");
        }
        // Nothing at all was created.
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn stale_staging_folders_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        // A staging folder of a process that is gone, one of ours that is live, and a folder
        // with the same name pattern that detc did not make.
        let dead = dir.path().join(".dist.tmp-dead01");
        let live = dir.path().join(".dist.tmp-live01");
        let foreign = dir.path().join(".dist.tmp-user01");
        for d in [&dead, &live, &foreign] {
            std::fs::create_dir_all(d.join("kql")).unwrap();
            std::fs::write(d.join("kql/x.kql"), "x").unwrap();
        }
        // Pid numbers above the kernel's pid_max (4194304) are never alive.
        std::fs::write(dead.join(STAGING_MARKER), "4194305").unwrap();
        std::fs::write(live.join(STAGING_MARKER), "1").unwrap();
        write_atomic(&out, &pack(&[("x", "y")]), Owner::Build).unwrap();
        assert!(!dead.exists());
        assert!(live.exists() || !Path::new("/proc/1").exists());
        assert!(foreign.exists());
    }

    #[test]
    fn compare_reports_each_kind_of_drift() {
        let mut a = Tree::new();
        a.insert("same".into(), "1".into());
        a.insert("changed".into(), "old".into());
        a.insert("gone".into(), "x".into());
        let mut b = Tree::new();
        b.insert("same".into(), "1".into());
        b.insert("changed".into(), "new".into());
        b.insert("new".into(), "y".into());
        let d = compare(&a, &b);
        assert_eq!(d.stale, vec!["changed"]);
        assert_eq!(d.missing, vec!["new"]);
        assert_eq!(d.extra, vec!["gone"]);
    }
}
