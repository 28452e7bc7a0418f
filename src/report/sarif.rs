//! Diagnostics as one SARIF 2.1.0 log (OASIS standard; read by GitHub code scanning, GitLab and
//! most IDEs): one run, the tool's rules (every diagnostic code with its help text), one result
//! per diagnostic with level, message, physical location and, for "did you mean", a fix.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::{codes, full_message, place};
use crate::diag::{Diagnostic, Severity, Sources};

/// Characters kept as they are in a relative URI reference (RFC 3986 unreserved and `/`).
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn uri(file: &str) -> Value {
    let encoded = utf8_percent_encode(file, PATH).to_string();
    if file.starts_with('/') {
        json!({ "uri": format!("file://{encoded}") })
    } else {
        // Relative to where detc ran (the repository root in CI).
        json!({ "uri": encoded, "uriBaseId": "%SRCROOT%" })
    }
}

fn region(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({
        "startLine": start.0,
        "startColumn": start.1,
        "endLine": end.0,
        "endColumn": end.1,
    })
}

/// The SARIF log of a run's diagnostics.
pub fn sarif(diags: &[Diagnostic], sources: &Sources) -> Value {
    let mut rule_ids: Vec<&str> = codes::CODES.iter().map(|(c, _)| *c).collect();
    for d in diags {
        if !rule_ids.contains(&d.code) {
            rule_ids.push(d.code);
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let help = codes::help(id).unwrap_or("see detc's documentation");
            json!({
                "id": id,
                "shortDescription": { "text": help },
                "help": { "text": help },
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let p = place(d, sources);
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": rule_ids.iter().position(|id| *id == d.code).unwrap_or(0),
                "level": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "message": { "text": full_message(d) },
            });
            if let Some(file) = &p.file {
                let mut phys = json!({ "artifactLocation": uri(file) });
                if let (Some(s), Some(e)) = (p.start, p.end) {
                    phys["region"] = region(s, e);
                    if let Some(fix) = &d.fix {
                        r["fixes"] = json!([{
                            "description": { "text": format!("Replace with `{fix}`") },
                            "artifactChanges": [{
                                "artifactLocation": uri(file),
                                "replacements": [{
                                    "deletedRegion": region(s, e),
                                    "insertedContent": { "text": fix },
                                }],
                            }],
                        }]);
                    }
                }
                r["locations"] = json!([{ "physicalLocation": phys }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "detc",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/detc/detc",
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
