//! Fuzz targets for detc (see docs/FUZZING.md). The properties live in [`checks`], which
//! `tests/fuzz_regressions.rs` includes too.

pub mod checks;
