//! Reports for CI: `--format sarif` validated against OASIS's SARIF 2.1.0 schema
//! (../shared/schemas), `--format github` workflow commands, `detc test --junit` read back by an
//! XML parser.

mod common;
#[path = "common/skip.rs"]
mod skip;

use std::path::Path;

use common::{detc, stderr};

const BROKEN: &str = r#"rule netsh_example {
  title "netsh"
  level high
  logsource product=windows category=process_creation
  netsh = Image endwith "\netsh.exe"
  condition netsh
}
"#;

const TESTED: &str = r#"rule vss {
  title "Shadow copies deleted with vssadmin"
  level high
  logsource product=windows category=process_creation
  vss = Image endswith "\vssadmin.exe"
  del = CommandLine contains all "delete", "shadows"
  condition vss and del
  test hit { Image: "C:\Windows\System32\vssadmin.exe", CommandLine: "vssadmin delete shadows /all" }
  test hit { Image: "C:\Windows\System32\vssadmin.exe", CommandLine: "vssadmin list shadows" }
  test miss { Image: "C:\Windows\System32\vssadmin.exe", CommandLine: "vssadmin list <shadows> & more" }
}
"#;

fn schema() -> Option<serde_json::Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&p).ok()?;
    Some(serde_json::from_str(&text).expect("the schema is JSON"))
}

fn assert_valid_sarif(doc: &serde_json::Value) {
    let Some(schema) = schema() else {
        panic!("../shared/schemas/sarif-schema-2.1.0.json is missing");
    };
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors: {errors:#?}\n{doc:#}"
    );
}

#[test]
fn sarif_is_valid_and_carries_locations_and_fixes() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("rules")).unwrap();
    std::fs::write(t.path().join("rules/netsh.det"), BROKEN).unwrap();
    let o = detc(t.path(), &["check", "--format", "sarif", "rules"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "detc");
    let results = run["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "unknown-modifier")
        .expect("the unknown modifier is a result");
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "rules/netsh.det");
    assert_eq!(loc["region"]["startLine"], 5);
    assert_eq!(loc["region"]["startColumn"], 17);
    assert_eq!(loc["region"]["endColumn"], 24);
    let fix = &r["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(fix["insertedContent"]["text"], "endswith");
    assert_eq!(fix["deletedRegion"], loc["region"]);
    // The rule's help text is in the driver's rules, and ruleIndex points at it.
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][idx];
    assert_eq!(rule["id"], "unknown-modifier");
    assert!(rule["help"]["text"].as_str().unwrap().contains("modifier"));
}

#[test]
fn sarif_without_a_location_and_with_no_findings_is_valid() {
    let t = tempfile::tempdir().unwrap();
    // A missing input: an I/O error with a path but no span.
    let o = detc(t.path(), &["check", "--format", "sarif", "nope.det"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert!(!doc["runs"][0]["results"].as_array().unwrap().is_empty());
    // A clean file: zero results, still a valid log.
    std::fs::write(t.path().join("vss.det"), TESTED).unwrap();
    let o = detc(
        t.path(),
        &["build", "--format", "sarif", "vss.det", "-t", "sigma"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn github_format_is_one_workflow_command_per_diagnostic() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("netsh.det"), BROKEN).unwrap();
    let o = detc(t.path(), &["check", "--format", "github", "netsh.det"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    let line = out
        .lines()
        .find(|l| l.contains("unknown-modifier"))
        .expect("an annotation");
    assert!(
        line.starts_with("::error file=netsh.det,line=5,col=17,endLine=5,endColumn=24,title=detc unknown-modifier::unknown modifier `endwith`%0A"),
        "{line}"
    );
    assert!(line.contains("did you mean `endswith`?"), "{line}");
    // Every line is one command: newlines inside messages are escaped.
    assert!(out.lines().all(|l| l.starts_with("::")), "{out}");
}

#[test]
fn junit_has_a_test_case_per_example_with_the_failure_reason() {
    use quick_xml::events::Event;
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("vss.det"), TESTED).unwrap();
    std::fs::write(t.path().join("netsh.det"), BROKEN).unwrap();
    let o = detc(
        t.path(),
        &["test", "vss.det", "netsh.det", "--junit", "report.xml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let xml = std::fs::read_to_string(t.path().join("report.xml")).unwrap();
    // Read it back with an XML parser: well-formed, and the elements we expect.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut errors) = (Vec::new(), Vec::new(), 0);
    let mut top = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |k: &str| {
                    e.try_get_attribute(k).unwrap().map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned()
                    })
                };
                match e.name().as_ref() {
                    b"testsuites" => top = Some((attr("tests"), attr("failures"), attr("errors"))),
                    b"testcase" => cases.push((attr("classname").unwrap(), attr("name").unwrap())),
                    b"failure" => failures.push(attr("message").unwrap()),
                    b"error" => errors += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        top,
        Some((Some("4".into()), Some("1".into()), Some("1".into())))
    );
    // Files in name order: the broken rule's file (netsh.det) first.
    assert_eq!(
        cases[0].1,
        "rule netsh_example has errors; its examples were not run"
    );
    assert_eq!(
        cases[1..],
        [
            ("vss".to_string(), "test hit #1 (line 8)".to_string()),
            ("vss".to_string(), "test hit #2 (line 9)".to_string()),
            ("vss".to_string(), "test miss #3 (line 10)".to_string()),
        ]
    );
    assert_eq!(
        failures,
        ["example of rule `vss`: expected a hit, got a miss"]
    );
    assert_eq!(errors, 1);
    // The failing event and the escaped special characters survive the round trip.
    assert!(xml.contains("vssadmin list shadows"), "{xml}");
    assert!(xml.contains("&lt;shadows&gt; &amp; more") || !xml.contains("<shadows>"));
}

/// The JUnit report is valid against the JUnit schema Jenkins reads reports with (the xUnit
/// plugin's junit-10.xsd, tests/fixtures/junit), checked by the `xmlschema` Python package:
/// passing, failing and not-run examples, and text with XML special characters. The one
/// deliberate extension: `file` and `line` on `<testcase>` (GitLab's unit test reports and the
/// GitHub JUnit report actions read them to point at the example; junit-10.xsd allows `file` on
/// `<testsuite>` only), removed before validating and nothing else. Needs DETC_PYTHON with
/// xmlschema (CI installs it); otherwise one NOT RUN note.
#[test]
fn junit_is_valid_against_the_junit_schema() {
    let Some(python) = std::env::var_os("DETC_PYTHON") else {
        skip::skipped(
            "JUnit schema validation",
            "DETC_PYTHON is not set",
            "set DETC_PYTHON to a Python with the xmlschema package",
        );
        return;
    };
    let has = std::process::Command::new(&python)
        .args(["-c", "import xmlschema"])
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        skip::skipped(
            "JUnit schema validation",
            "the DETC_PYTHON has no xmlschema package",
            "pip install xmlschema into the DETC_PYTHON's environment",
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("vss.det"), TESTED).unwrap();
    std::fs::write(t.path().join("netsh.det"), BROKEN).unwrap();
    let o = detc(
        t.path(),
        &["test", "vss.det", "netsh.det", "--junit", "report.xml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit/junit-10.xsd");
    let validate = |xml: &Path| {
        std::process::Command::new(&python)
            .args([
                "-c",
                "import sys, xmlschema, xml.etree.ElementTree as ET\n\
                 tree = ET.parse(sys.argv[2])\n\
                 for case in tree.iter('testcase'):\n\
                 \x20   case.attrib.pop('file', None); case.attrib.pop('line', None)\n\
                 xmlschema.XMLSchema(sys.argv[1]).validate(tree)\n\
                 print('valid')",
            ])
            .arg(&xsd)
            .arg(xml)
            .output()
            .unwrap()
    };
    let v = validate(&t.path().join("report.xml"));
    assert!(
        v.status.success(),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    // The validator does reject what the schema forbids (a test case without a name).
    let bad = t.path().join("bad.xml");
    std::fs::write(
        &bad,
        "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\"><testcase/></testsuite></testsuites>",
    )
    .unwrap();
    assert!(!validate(&bad).status.success());
}
