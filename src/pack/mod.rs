//! Rule packs: loading rule files, building every target into `dist/` (deterministic, atomic),
//! the manifest, ATT&CK coverage, and `build --check`.

pub mod build;
pub mod coverage;
pub mod diff;
pub mod load;
pub mod manifest;
pub mod write;
