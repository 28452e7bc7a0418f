//! Back ends: turning IR into query text and deployable files.
//!
//! A target is data: `targets/<name>/target.yaml` plus minijinja templates (see
//! docs/TARGETS.md). The built-in copy of `targets/` is embedded in the binary; `--targets DIR`
//! overrides it. Every target implements [`Backend`]; the pack builder ([`crate::pack`]) calls
//! [`Backend::compile`] once per rule and [`Backend::finish`] once per build.

pub mod sigma_backend;

use std::path::Path;

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
    /// The query text, where the target has one (SPL, KQL); `None` for Sigma.
    pub query: Option<String>,
    /// Files that belong to this rule alone.
    pub files: Vec<OutFile>,
    /// Paths of files written by [`Backend::finish`] that contain this rule
    /// (e.g. `splunk/savedsearches.conf`).
    pub shared_files: Vec<String>,
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

/// Load every target: the built-in ones, or those in `dir` when given.
pub fn load_targets(dir: Option<&Path>) -> Result<Vec<Box<dyn Backend>>, Vec<Diagnostic>> {
    let _ = dir;
    // Sigma is built in; spec-driven targets are loaded from target.yaml files.
    Ok(vec![Box::new(sigma_backend::SigmaBackend)])
}
