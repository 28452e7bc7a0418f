//! The rule files of the workspace folders, read once at start and kept up to date from the
//! editor's buffers: what cross-file features need (rule names that correlation rules use,
//! duplicate names and ids across the pack, workspace symbols).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, SourceId};
use crate::ir::{Rule, RuleBody};

/// Larger workspaces are indexed only in part (a home folder opened by mistake must not stall
/// the editor); the rest is still checked file by file when opened.
pub const MAX_FILES: usize = 20_000;

/// One indexed file.
pub struct FileIndex {
    /// Its source id in cross-file diagnostics (the document being analysed is id 0).
    pub id: SourceId,
    pub text: String,
    /// Its rules, spans in `text`, `loc.source == id`.
    pub rules: Vec<Rule>,
}

#[derive(Default)]
pub struct Workspace {
    pub files: BTreeMap<PathBuf, FileIndex>,
    next_id: u32,
}

impl Workspace {
    /// Read every rule file under the roots (in parallel, as `detc check` loads them).
    pub fn scan(roots: &[PathBuf]) -> Workspace {
        let mut ws = Workspace {
            files: BTreeMap::new(),
            next_id: 1,
        };
        let mut ignored = Diagnostics::new();
        let mut files = crate::pack::load::collect_files(roots, &mut ignored);
        files.truncate(MAX_FILES);
        use rayon::prelude::*;
        let texts: Vec<(PathBuf, Option<String>)> = files
            .into_par_iter()
            .map(|f| {
                let t = std::fs::read_to_string(&f).ok();
                (f, t)
            })
            .collect();
        let first = ws.next_id;
        ws.next_id = first + texts.len() as u32;
        let parsed: Vec<(PathBuf, FileIndex)> = texts
            .into_par_iter()
            .enumerate()
            .filter_map(|(i, (f, t))| {
                let text = t?;
                let id = SourceId(first + i as u32);
                let (rules, _) = crate::pack::load::parse_one(&f, id, &text);
                Some((f, FileIndex { id, text, rules }))
            })
            .collect();
        ws.files.extend(parsed);
        ws
    }

    /// Record a file's current text and rules (read with any source id; they are re-labelled).
    pub fn update(&mut self, path: &Path, text: &str, rules: &[Rule]) {
        let id = match self.files.get(path) {
            Some(f) => f.id,
            None => {
                let id = SourceId(self.next_id.max(1));
                self.next_id = id.0 + 1;
                id
            }
        };
        let rules = rules
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.loc.source = id;
                r
            })
            .collect();
        self.files.insert(
            path.to_path_buf(),
            FileIndex {
                id,
                text: text.to_string(),
                rules,
            },
        );
    }

    /// The path of a source id.
    pub fn path_of(&self, id: SourceId) -> Option<&Path> {
        self.files
            .iter()
            .find(|(_, f)| f.id == id)
            .map(|(p, _)| p.as_path())
    }

    /// Every rule with its file.
    pub fn rules(&self) -> impl Iterator<Item = (&Path, &FileIndex, &Rule)> {
        self.files
            .iter()
            .flat_map(|(p, f)| f.rules.iter().map(move |r| (p.as_path(), f, r)))
    }

    /// The rules of other files that the pack checks and the compilation of `doc_rules` need:
    /// those sharing a name or id with one of them, and those their correlations refer to.
    /// Split into the files sorted before and after `path`, so that "first used here" is the
    /// one `detc check` would name.
    pub fn related(&self, path: &Path, doc_rules: &[Rule]) -> (Vec<Rule>, Vec<Rule>) {
        let mut wanted: Vec<&str> = Vec::new();
        for r in doc_rules {
            wanted.push(&r.name);
            wanted.extend(r.id());
            if let RuleBody::Correlation(c) = &r.body {
                wanted.extend(c.rules.iter().map(|n| n.value.as_str()));
            }
        }
        let (mut before, mut after) = (Vec::new(), Vec::new());
        if wanted.is_empty() {
            return (before, after);
        }
        for (p, f) in &self.files {
            if p == path {
                continue;
            }
            for r in &f.rules {
                let hit = wanted.iter().any(|w| {
                    r.name == *w
                        || r.meta.sigma_name.as_deref() == Some(w)
                        || r.id().is_some_and(|id| id.eq_ignore_ascii_case(w))
                });
                if hit {
                    if p.as_path() < path {
                        before.push(r.clone());
                    } else {
                        after.push(r.clone());
                    }
                }
            }
        }
        (before, after)
    }
}
