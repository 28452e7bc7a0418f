//! ATT&CK coverage of a pack: a Navigator layer and a behaviour x technique x target table.

use crate::ir::Rule;
use crate::target::Backend;

use super::manifest::Manifest;

/// Extra files describing coverage (added to the output tree).
pub fn files(
    _rules: &[Rule],
    _failed: &[bool],
    _backends: &[Box<dyn Backend>],
    _manifest: &Manifest,
) -> Vec<(String, String)> {
    Vec::new()
}
