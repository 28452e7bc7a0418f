//! `detc`: a detection-rule compiler.
//!
//! Data flow (see ARCHITECTURE.md): front ends ([`dsl`], [`sigma`]) produce the [`ir`]; checks
//! ([`ir::check`]) report problems as [`diag`] values; [`ir::norm`] gives the semantic form;
//! back ends ([`target`]) render queries and artifacts; [`pack`] writes `dist/`; [`eval`] runs
//! rules on events.

// Diagnostics are errors-as-values by design; boxing them everywhere would only add noise.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod diag;
pub mod dsl;
pub mod eval;
pub mod ir;
pub mod lsp;
pub mod pack;
pub mod report;
pub mod sigma;
pub mod target;
