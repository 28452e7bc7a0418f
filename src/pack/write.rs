//! Writing an output folder atomically, and comparing a committed one with a fresh build.
//!
//! A build never leaves a half-written `dist/`: files go to a temporary sibling folder, which
//! replaces the old folder by rename only once everything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The full contents of an output folder: relative path (with `/`) -> bytes.
pub type Tree = BTreeMap<String, String>;

/// Replace `out` with exactly `tree`.
pub fn write_atomic(out: &Path, tree: &Tree) -> std::io::Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dist".into());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(&parent)?;
    // A corpus build writes thousands of files into a handful of folders: create each folder
    // once rather than once per file, then write the files in parallel (creating files is
    // system time, which the cores share).
    let dirs: BTreeSet<&Path> = tree
        .keys()
        .filter_map(|rel| Path::new(rel).parent())
        .collect();
    for d in dirs {
        std::fs::create_dir_all(tmp.path().join(d))?;
    }
    {
        use rayon::prelude::*;
        tree.par_iter()
            .try_for_each(|(rel, contents)| std::fs::write(tmp.path().join(rel), contents))?;
    }
    let tmp_path = tmp.keep();
    if out.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&old);
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&tmp_path);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&tmp_path, out) {
            // Put the old folder back so a failed build leaves dist/ as it was.
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&tmp_path);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&tmp_path, out) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(e);
    }
    Ok(())
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

/// Write `tree` into `dir`, keeping whatever else `dir` holds (used by `detc convert`, whose
/// output folder may be part of a rule tree). Each file is written to a temporary file and
/// renamed, so no file is ever half-written.
pub fn write_into(dir: &Path, tree: &Tree) -> std::io::Result<()> {
    for (rel, contents) in tree {
        let path = dir.join(rel);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        std::io::Write::write_all(&mut tmp, contents.as_bytes())?;
        tmp.persist(&path).map_err(|e| e.error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        let mut t = Tree::new();
        t.insert("a/x.txt".into(), "one".into());
        t.insert("b.txt".into(), "two".into());
        write_atomic(&out, &t).unwrap();
        assert_eq!(read_tree(&out).unwrap(), t);
        let mut t2 = Tree::new();
        t2.insert("c.txt".into(), "three".into());
        write_atomic(&out, &t2).unwrap();
        assert_eq!(read_tree(&out).unwrap(), t2);
        // No temporary folders are left next to it.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
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
