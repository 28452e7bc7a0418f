//! The `sigma` target: one Sigma YAML file per rule, written by [`crate::sigma::write`].

use super::{Backend, Compiled, Ctx, OutFile, Outcome};

pub struct SigmaBackend;

impl Backend for SigmaBackend {
    fn name(&self) -> &str {
        "sigma"
    }
    fn compile(&self, index: usize, cx: &Ctx) -> Outcome {
        let rule = &cx.rules[index];
        // A rule Sigma cannot spell (e.g. a field name with `|`) is skipped, never mangled.
        if let Some(d) = crate::sigma::check_writable(rule).into_iter().next() {
            return Outcome::Skipped(d);
        }
        Outcome::Compiled(Compiled {
            query: None,
            files: vec![OutFile {
                path: format!("sigma/{}.yml", rule.name),
                contents: crate::sigma::write(rule),
            }],
            shared_files: Vec::new(),
            logsource: None,
            note: None,
            context: None,
            parts: Vec::new(),
        })
    }
}
