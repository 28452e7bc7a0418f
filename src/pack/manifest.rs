//! `dist/manifest.json`: the index of everything a build wrote, per rule and target.

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub detc_version: String,
    pub rules: Vec<RuleEntry>,
    /// Rules that failed to compile (only with `--keep-going`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedEntry>,
}

#[derive(Debug, Serialize)]
pub struct RuleEntry {
    pub id: Option<String>,
    pub name: String,
    pub title: String,
    pub level: Option<String>,
    pub source: String,
    pub attack: Vec<String>,
    /// Target name -> result, in target order.
    pub targets: IndexMap<String, TargetEntry>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TargetEntry {
    Compiled {
        #[serde(skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// The queries of a rule split into several platform rules because its query is
        /// longer than the platform accepts (one file each, in `files`); no `query` then.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        parts: Vec<String>,
        files: Vec<String>,
        sha256: String,
        /// Set when the query reads a fallback data source (the log source entry's `note`).
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    Skipped {
        skipped: String,
    },
}

#[derive(Debug, Serialize)]
pub struct FailedEntry {
    /// `None` when the file did not yield a rule at all (e.g. a syntax error).
    pub name: Option<String>,
    pub source: String,
    pub diagnostics: Vec<String>,
}

pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

impl Manifest {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serialises");
        s.push('\n');
        s
    }
}
