//! Ordered log source entries: when the preferred entry of a target cannot express a rule, the
//! next entry for the same log source (a fallback data source, with its own dialects) is used,
//! and the manifest says which data the query reads. A rule that no entry can express is
//! skipped with the preferred entry's reason and a note per fallback.

mod common;

use common::detc;

/// A two-entry target: a "model" entry mapping only `Image`, and a "raw" fallback entry that
/// maps every field and is rendered only with its own `on_request` dialect.
const SPEC: &str = r#"
name: fb
unmapped_fields: skip
dialects:
  - name: model
    query: 'MODEL {condition}'
    and: ' AND '
    or: ' OR '
    not: 'NOT {x}'
    group: '({x})'
    string: {quote: '"', escapes: {'"': '\"', '\': '\\'}}
    field: {bare: '[A-Za-z_.]+'}
    matchers: {eq: '{field}={value}'}
  - name: raw
    on_request: true
    query: 'RAW {constraint} {condition}'
    and: ' AND '
    or: ' OR '
    not: 'NOT {x}'
    group: '({x})'
    string: {quote: '"', escapes: {'"': '\"', '\': '\\'}}
    field: {bare: '[A-Za-z_.]+'}
    matchers: {eq: '{field}={value}'}
logsources:
  - match: {product: windows, category: process_creation}
    table: Model.Processes
    fields: {Image: Processes.process_path}
  - match: {product: windows, category: process_creation}
    constraint: 'EventCode=1'
    dialects: [raw]
    note: 'raw Sysmon events (no model field for some of the rule)'
    fields: {Image: Image, CommandLine: CommandLine}
artifacts:
  files:
    'fb/{{ rule.name }}.txt': rule.j2
"#;

const TEMPLATE: &str =
    "{{ query }}\n{% if logsource.note %}# data: {{ logsource.note }}\n{% endif %}";

const RULES: &str = r#"
rule model_only {
  title "Image only"
  logsource product=windows category=process_creation
  sel = Image 'C:\x.exe'
  condition sel
}

rule needs_raw {
  title "CommandLine"
  logsource product=windows category=process_creation
  sel = CommandLine 'x /y'
  condition sel
}

rule neither {
  title "Unknown field"
  logsource product=windows category=process_creation
  sel = Hashes 'abc'
  condition sel
}
"#;

#[test]
fn the_first_entry_that_can_express_the_rule_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("targets/fb");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("target.yaml"), SPEC).unwrap();
    std::fs::write(t.join("rule.j2"), TEMPLATE).unwrap();
    std::fs::write(tmp.path().join("r.det"), RULES).unwrap();
    let out = detc(
        tmp.path(),
        &["build", "r.det", "--targets-dir", "targets", "-t", "fb"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let read = |n: &str| std::fs::read_to_string(tmp.path().join("dist/fb").join(n)).unwrap();
    assert_eq!(
        read("model_only.txt"),
        "MODEL Processes.process_path=\"C:\\\\x.exe\"\n"
    );
    assert_eq!(
        read("needs_raw.txt"),
        "RAW EventCode=1 CommandLine=\"x /y\"\n# data: raw Sysmon events (no model field for some of the rule)\n"
    );
    assert!(!tmp.path().join("dist/fb/neither.txt").exists());

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("dist/manifest.json")).unwrap(),
    )
    .unwrap();
    let entry = |name: &str| {
        manifest["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["targets"]["fb"]
            .clone()
    };
    assert!(entry("model_only").get("data").is_none());
    assert_eq!(
        entry("needs_raw")["data"],
        "raw Sysmon events (no model field for some of the rule)"
    );
    // The skip names the preferred entry's reason and notes the fallback's.
    let skipped = entry("neither")["skipped"].as_str().unwrap().to_string();
    assert!(skipped.contains("Hashes"), "{skipped}");
    assert!(
        stderr.contains("fallback (raw Sysmon events"),
        "the skip notes why the fallback failed too: {stderr}"
    );
}
