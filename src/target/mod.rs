//! Back ends: turning IR into query text and deployable files.
//!
//! A target is data: `targets/<name>/target.yaml` plus minijinja templates (see
//! docs/TARGETS.md). The built-in copy of `targets/` is embedded in the binary; `--targets DIR`
//! overrides it. Every target implements [`Backend`]; the pack builder ([`crate::pack`]) calls
//! [`Backend::compile`] once per rule and [`Backend::finish`] once per build.

pub mod cidr_regex;
pub mod correlation;
pub mod layout;
pub mod render;
pub mod sigma_backend;
pub mod spec;
pub mod spec_backend;
pub mod split;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use include_dir::{include_dir, Dir};

use crate::diag::Diagnostic;
use crate::ir::norm::Expr;
use crate::ir::Rule;

/// One generated file, path relative to the output folder with `/` separators
/// (e.g. `sigma/grease_rdp_admin_net.yml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub contents: String,
}

/// What a target produced for one rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compiled {
    /// The query text, where the target has one (SPL, KQL); `None` for Sigma, and for a rule
    /// split into `parts`.
    pub query: Option<String>,
    /// A rule whose query is longer than the platform accepts, split into several queries
    /// (one file each) whose results together are the rule's (see [`split`]); empty otherwise.
    pub parts: Vec<String>,
    /// Files that belong to this rule alone.
    pub files: Vec<OutFile>,
    /// Paths of files written by [`Backend::finish`] that contain this rule
    /// (e.g. `splunk/savedsearches.conf`).
    pub shared_files: Vec<String>,
    /// The target's log source entry the query reads (spec targets), for `finish`.
    pub logsource: Option<usize>,
    /// What data the query reads when that is not what the target's name says (a fallback
    /// log source entry's `note`); recorded in the manifest.
    pub note: Option<String>,
    /// The template context the rule's files were rendered with (spec targets), reused by
    /// `finish` for the shared files.
    pub context: Option<minijinja::Value>,
}

/// Result of compiling one rule for one target.
#[derive(Debug, Clone)]
pub enum Outcome {
    Compiled(Compiled),
    /// The target cannot express the rule exactly. The diagnostic names the rule, the construct
    /// and the target, and points at the construct's span; its message is the skip reason.
    Skipped(Diagnostic),
}

/// Everything a back end may need about the pack: all rules, and the normalised condition of
/// each detection rule (`exprs[i]` belongs to `rules[i]`; `None` for correlation rules and for
/// rules that failed normalisation). Correlation rules find the rules they refer to here.
pub struct Ctx<'a> {
    pub rules: &'a [Rule],
    pub exprs: &'a [Option<Expr>],
}

impl<'a> Ctx<'a> {
    /// Find a rule by `name`, Sigma `name` field or id (how correlation rules refer to rules).
    pub fn find(&self, key: &str) -> Option<usize> {
        self.rules.iter().position(|r| {
            r.name == key || r.meta.sigma_name.as_deref() == Some(key) || r.id() == Some(key)
        })
    }

    /// [`Ctx::find`] for several keys: one pass over the rules rather than one per key (a
    /// correlation of 100,000 rules must not be quadratic).
    pub fn find_all(&self, keys: &[&str]) -> Vec<Option<usize>> {
        let mut found: rustc_hash::FxHashMap<&str, Option<usize>> =
            keys.iter().map(|k| (*k, None)).collect();
        for (i, r) in self.rules.iter().enumerate() {
            for k in [Some(r.name.as_str()), r.meta.sigma_name.as_deref(), r.id()]
                .into_iter()
                .flatten()
            {
                if let Some(slot @ None) = found.get_mut(k) {
                    *slot = Some(i);
                }
            }
        }
        keys.iter().map(|k| found[k]).collect()
    }
}

pub trait Backend: Send + Sync {
    /// The target's name as used on the command line and under `dist/`.
    fn name(&self) -> &str;
    /// Compile rule `index` of the pack.
    fn compile(&self, index: usize, cx: &Ctx) -> Outcome;
    /// Files that gather several rules (Splunk's `savedsearches.conf`). `compiled` lists the
    /// rules that compiled, in pack order, with what [`Backend::compile`] returned for them.
    fn finish(&self, _compiled: &[(&Rule, &Compiled)]) -> Result<Vec<OutFile>, Diagnostic> {
        Ok(Vec::new())
    }
}

/// The built-in target folders, embedded at build time.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/targets");

/// JSON copies of the built-in targets' YAML files (`<target>/<file>.yaml.json`), made by
/// build.rs: serde_json reads them 5–10 times faster than the YAML parser reads the YAML,
/// and that parsing was most of a small run's start-up.
static BUILTIN_JSON: Dir<'static> = include_dir!("$OUT_DIR/targets-json");

/// Parse `text`, the YAML file `file` of target folder `origin`. When `text` is exactly the
/// built-in copy of that file and build.rs converted it, the JSON copy is read instead (same
/// result, checked by a test); anything else (a `--targets-dir` folder, a file that did not
/// convert) is parsed as YAML, so error messages are always the YAML parser's.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    origin: &str,
    file: &str,
    text: &str,
) -> Result<T, serde_yaml::Error> {
    let key = format!("{origin}/{file}");
    let (yaml, json) = (
        embedded(&BUILTIN, &BUILTIN_INDEX),
        embedded(&BUILTIN_JSON, &JSON_INDEX),
    );
    let json = yaml
        .get(key.as_str())
        .filter(|contents| **contents == text.as_bytes())
        .and_then(|_| json.get(format!("{key}.json").as_str()))
        .and_then(|contents| std::str::from_utf8(contents).ok());
    if let Some(parsed) = json.and_then(|j| serde_json::from_str(j).ok()) {
        return Ok(parsed);
    }
    serde_yaml::from_str(text)
}

static BUILTIN_INDEX: std::sync::OnceLock<HashMap<String, &'static [u8]>> =
    std::sync::OnceLock::new();
static JSON_INDEX: std::sync::OnceLock<HashMap<String, &'static [u8]>> = std::sync::OnceLock::new();

/// Every file of an embedded folder by its `/`-separated path, built once. `Dir::get_file`
/// compares paths component by component along the whole tree, so looking up each of the
/// ~1,000 target files that way was quadratic: most of a small run's start-up
/// (docs/PERFORMANCE.md, "start-up").
fn embedded(
    dir: &'static Dir<'static>,
    index: &'static std::sync::OnceLock<HashMap<String, &'static [u8]>>,
) -> &'static HashMap<String, &'static [u8]> {
    index.get_or_init(|| {
        fn walk(d: &'static Dir<'static>, out: &mut HashMap<String, &'static [u8]>) {
            for f in d.files() {
                let path = f.path().to_string_lossy().replace('\\', "/");
                out.insert(path, f.contents());
            }
            for sub in d.dirs() {
                walk(sub, out);
            }
        }
        let mut out = HashMap::new();
        walk(dir, &mut out);
        out
    })
}

/// Load every target: the built-in ones, or those in `dir` when given (one sub-folder per
/// target, each with a `target.yaml`). The Sigma back end is always registered as `sigma`.
/// Targets come in folder-name order, so builds are deterministic.
pub fn load_targets(dir: Option<&Path>) -> Result<Vec<Box<dyn Backend>>, Vec<Diagnostic>> {
    let folders = match dir {
        None => builtin_folders(|_| true),
        Some(d) => disk_folders(d)?,
    };
    load_folders(true, folders)
}

/// The names of the built-in targets, in the order [`load_targets`] returns them. Cheap: no
/// spec is parsed (a built-in target's folder is named like its spec, which a test checks).
pub fn builtin_target_names() -> Vec<String> {
    let mut names = vec![SIGMA.to_string()];
    names.extend(
        BUILTIN
            .dirs()
            .filter(|d| d.get_file(d.path().join("target.yaml")).is_some())
            .map(|d| d.path().to_string_lossy().into_owned())
            .collect::<std::collections::BTreeSet<_>>(),
    );
    names
}

/// Load only the built-in targets in `names`, in [`builtin_target_names`] order; names that
/// are not built-in targets are ignored (the caller reports them). A small run pays for
/// parsing just the specs it uses: that parsing was most of its start-up.
pub fn load_builtin_targets(names: &[String]) -> Result<Vec<Box<dyn Backend>>, Vec<Diagnostic>> {
    let wanted = |n: &str| names.iter().any(|x| x == n);
    load_folders(wanted(SIGMA), builtin_folders(wanted))
}

/// The name the Sigma back end is registered under.
const SIGMA: &str = "sigma";

fn load_folders(
    with_sigma: bool,
    folders: Folders,
) -> Result<Vec<Box<dyn Backend>>, Vec<Diagnostic>> {
    let mut out: Vec<Box<dyn Backend>> = Vec::new();
    if with_sigma {
        out.push(Box::new(sigma_backend::SigmaBackend));
    }
    let mut errors = Vec::new();
    // Parsing the specs (YAML, table schemas, templates) is most of a small run's start-up;
    // they are independent, so load them in parallel and keep folder order.
    let loaded: Vec<Result<spec_backend::SpecBackend, Diagnostic>> = {
        use rayon::prelude::*;
        let folders: Vec<_> = folders.into_iter().collect();
        folders
            .par_iter()
            .map(|(name, files)| spec_backend::SpecBackend::from_files(name, files))
            .collect()
    };
    for loaded in loaded {
        match loaded {
            Ok(b) => out.push(Box::new(b)),
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Load one spec target from a folder on disk (`targets/splunk`), or the built-in one of that
/// name when `dir` is `None`.
pub fn load_spec_target(
    name: &str,
    dir: Option<&Path>,
) -> Result<spec_backend::SpecBackend, Diagnostic> {
    let files = match dir {
        Some(d) => read_folder(d).map_err(|e| {
            Diagnostic::error("invalid-target", format!("cannot read target folder: {e}"))
                .in_file(d)
        })?,
        None => builtin_folders(|n| n == name).remove(name).ok_or_else(|| {
            Diagnostic::error("invalid-target", format!("no built-in target `{name}`"))
        })?,
    };
    spec_backend::SpecBackend::from_files(name, &files)
}

type Folders = BTreeMap<String, BTreeMap<String, String>>;

/// The built-in target folders whose name `keep` accepts (only those are copied out).
fn builtin_folders(keep: impl Fn(&str) -> bool) -> Folders {
    let mut out = Folders::new();
    for d in BUILTIN.dirs() {
        let name = d.path().to_string_lossy().into_owned();
        if !keep(&name) {
            continue;
        }
        let mut files = BTreeMap::new();
        collect_embedded(d, d.path(), &mut files);
        if files.contains_key("target.yaml") {
            out.insert(name, files);
        }
    }
    out
}

fn collect_embedded(d: &Dir<'static>, root: &Path, out: &mut BTreeMap<String, String>) {
    for f in d.files() {
        if let (Ok(rel), Some(text)) = (f.path().strip_prefix(root), f.contents_utf8()) {
            out.insert(rel.to_string_lossy().replace('\\', "/"), text.to_string());
        }
    }
    for sub in d.dirs() {
        collect_embedded(sub, root, out);
    }
}

fn disk_folders(dir: &Path) -> Result<Folders, Vec<Diagnostic>> {
    let err = |e: std::io::Error| {
        vec![
            Diagnostic::error("invalid-target", format!("cannot read targets folder: {e}"))
                .in_file(dir),
        ]
    };
    let mut out = Folders::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.join("target.yaml").is_file() {
            let name = e.file_name().to_string_lossy().into_owned();
            out.insert(name, read_folder(&p).map_err(err)?);
        }
    }
    Ok(out)
}

fn read_folder(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                let rel = p.strip_prefix(dir).unwrap_or(&p);
                out.insert(rel.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every JSON copy build.rs made holds exactly the data of its YAML file, and a target
    /// loaded through the copies equals the target loaded from the YAML alone, so reading the
    /// copies changes nothing but speed.
    #[test]
    fn json_copies_read_like_the_yaml() {
        let mut checked = 0;
        for (name, files) in builtin_folders(|_| true) {
            for (file, text) in files.iter().filter(|(f, _)| f.ends_with(".yaml")) {
                let path = Path::new(&name).join(format!("{file}.json"));
                let json = BUILTIN_JSON
                    .get_file(&path)
                    .unwrap_or_else(|| panic!("build.rs made no {}", path.display()))
                    .contents_utf8()
                    .unwrap();
                let from_json: serde_json::Value = serde_json::from_str(json).unwrap();
                let from_yaml: serde_json::Value = serde_yaml::from_str(text).unwrap();
                assert_eq!(from_json, from_yaml, "{name}/{file}");
                checked += 1;
            }
            // A trailing comment makes every YAML text differ from the built-in file, so this load
            // parses YAML only.
            let yaml_only: BTreeMap<String, String> = files
                .iter()
                .map(|(f, t)| match f.ends_with(".yaml") {
                    true => (f.clone(), format!("{t}\n# yaml only\n")),
                    false => (f.clone(), t.clone()),
                })
                .collect();
            let fast = spec_backend::SpecBackend::from_files(&name, &files).unwrap();
            let slow = spec_backend::SpecBackend::from_files(&name, &yaml_only).unwrap();
            assert_eq!(
                format!("{:?}", fast.spec),
                format!("{:?}", slow.spec),
                "{name}"
            );
            assert_eq!(fast.tables, slow.tables, "{name}");
            assert!(!fast.spec.logsources.is_empty(), "{name}");
        }
        assert!(checked > 100, "only {checked} YAML files");
    }

    /// Text that is not the built-in file (a folder given with `--targets-dir` that reuses a
    /// built-in name) is parsed as the YAML it is.
    #[test]
    fn other_text_is_parsed_as_yaml() {
        let text = BUILTIN
            .get_file("splunk/target.yaml")
            .unwrap()
            .contents_utf8()
            .unwrap()
            .replace("name: splunk\n", "name: edited\n");
        let s: spec::Spec = parse_yaml("splunk", "target.yaml", &text).unwrap();
        assert_eq!(s.name, "edited");
        let e = parse_yaml::<spec::Spec>("splunk", "target.yaml", "name: [").unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}
