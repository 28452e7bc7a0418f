//! splunk-cim's raw-event fallback: a rule the CIM data models cannot express (or whose log
//! source no data model covers) is compiled from raw events, and that query is byte for byte
//! what the `splunk` target emits for the same rule; the deployer is told which data each
//! search reads (manifest `data`, savedsearches.conf comment and description).

use std::path::PathBuf;

use detc::diag::Sources;
use detc::pack::build::{load_and_check, Options};
use detc::target::{load_spec_target, Backend, Ctx, Outcome};

fn checked(input: PathBuf) -> detc::pack::build::Checked {
    let opts = Options {
        inputs: vec![input],
        ..Options::default()
    };
    let mut sources = Sources::new();
    load_and_check(&opts, &mut sources)
}

/// One rule compiled for both targets.
struct Both {
    name: String,
    /// splunk-cim: the query and the fallback's note, or the skip message.
    cim: Result<(String, Option<String>), String>,
    /// splunk: the query (None when skipped).
    raw: Option<String>,
}

fn both(input: PathBuf) -> Vec<Both> {
    let c = checked(input);
    let cim = load_spec_target("splunk-cim", None).unwrap();
    let raw = load_spec_target("splunk", None).unwrap();
    let cx = Ctx {
        rules: &c.rules,
        exprs: &c.exprs,
    };
    (0..c.rules.len())
        .map(|i| {
            let cim = match cim.compile(i, &cx) {
                Outcome::Compiled(x) => Ok((x.query.unwrap_or_default(), x.note)),
                Outcome::Skipped(d) => Err(d.message),
            };
            let raw = match raw.compile(i, &cx) {
                Outcome::Compiled(x) => x.query,
                Outcome::Skipped(_) => None,
            };
            Both {
                name: c.rules[i].name.clone(),
                cim,
                raw,
            }
        })
        .collect()
}

/// Every fallback query equals the `splunk` query; every other query is a data model search.
fn check_rules(input: PathBuf) -> (usize, usize) {
    let (mut native, mut fallback) = (0, 0);
    for Both { name, cim, raw } in both(input) {
        let Ok((q, note)) = cim else { continue };
        match note {
            Some(note) => {
                fallback += 1;
                assert!(note.starts_with("raw "), "{name}: {note}");
                assert_eq!(
                    Some(&q),
                    raw.as_ref(),
                    "{name}: the fallback differs from the splunk target"
                );
            }
            None => {
                native += 1;
                assert!(q.starts_with("| tstats "), "{name}: {q}");
                assert_nulls_restored(&name, &q);
            }
        }
    }
    (native, fallback)
}

/// A data model search keeps events lacking a grouped column (tstats `fillnull_value`) and
/// turns the placeholder back into null for exactly the columns it groups by, before any
/// `| where` reads them.
fn assert_nulls_restored(name: &str, q: &str) {
    assert!(
        q.starts_with(r#"| tstats summariesonly=false allow_old_summaries=true fillnull_value="__detc_null__" count "#),
        "{name}: {q}"
    );
    // The by clause is the last ` by ` before the restore (its columns hold no spaces).
    let (head, rest) = q.split_once(" | foreach ").expect("null restore");
    let (_, by) = head.rsplit_once(" by ").expect("a by clause");
    let (cols, rest) = rest
        .split_once(r#" [eval <<FIELD>>=nullif('<<FIELD>>', "__detc_null__")]"#)
        .expect("nullif");
    assert_eq!(by, cols, "{name}: {q}");
    assert!(
        rest.is_empty() || rest.starts_with(" | where "),
        "{name}: {q}"
    );
}

#[test]
fn shipped_fallback_queries_are_the_splunk_queries() {
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let all = both(rules.clone());
    let skipped: Vec<_> = all
        .iter()
        .filter_map(|b| b.cim.as_ref().err().map(|s| format!("{}: {s}", b.name)))
        .collect();
    assert!(skipped.is_empty(), "{skipped:#?}");
    let (native, fallback) = check_rules(rules);
    // Both kinds occur in the shipped pack (Security, Defender, PowerShell rules have no data
    // model; process, file and registry rules do).
    assert!(native > 0 && fallback > 0, "{native} {fallback}");
}

#[test]
fn corpus_fallback_queries_are_the_splunk_queries() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules");
    if !corpus.is_dir() {
        panic!("the SigmaHQ corpus is missing at {}", corpus.display());
    }
    let (native, fallback) = check_rules(corpus);
    assert!(native > 1000 && fallback > 500, "{native} {fallback}");
}

#[test]
fn savedsearches_say_which_data_a_fallback_reads() {
    let text = r#"
rule model {
  title "Model"
  logsource product=windows category=process_creation
  sel = Image endswith "\x.exe"
  condition sel
}

rule raw_security {
  title "Raw"
  description "Security log cleared"
  logsource product=windows service=security
  sel = EventID 1102
  condition sel
}
"#;
    let (rules, diags) = detc::dsl::parse(detc::diag::SourceId(0), text);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    let exprs: Vec<_> = rules
        .iter()
        .map(|r| detc::ir::norm::normalize(r, detc::ir::norm::NormOptions::default()).ok())
        .collect();
    let cim = load_spec_target("splunk-cim", None).unwrap();
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let compiled: Vec<_> = (0..rules.len())
        .map(|i| match cim.compile(i, &cx) {
            Outcome::Compiled(c) => c,
            Outcome::Skipped(d) => panic!("{}", d.message),
        })
        .collect();
    assert_eq!(compiled[0].note, None);
    assert_eq!(
        compiled[1].query.as_deref(),
        Some("`detc_windows_security` EventCode=1102")
    );
    let pairs: Vec<_> = rules.iter().zip(compiled.iter()).collect();
    let files = cim.finish(&pairs).unwrap();
    let conf = &files[0].contents;
    let note = "raw Windows events (Security); no CIM data model for this log source";
    assert!(
        conf.contains(&format!(
            "# Not a data model search: reads {note}\n[detc - Raw (raw_security)]"
        )),
        "{conf}"
    );
    assert!(
        conf.contains(&format!(
            "description = Security log cleared [data: {note}]\n"
        )),
        "{conf}"
    );
    // The data model search has neither.
    assert!(
        conf.contains("\n[detc - Model (model)]\nsearch = | tstats "),
        "{conf}"
    );
    assert_eq!(conf.matches("# Not a data model search").count(), 1);
    // macros.conf defines the one macro the searches call (the tstats search calls none).
    assert_eq!(files[1].path, "splunk-cim/macros.conf");
    let macros = &files[1].contents;
    assert!(
        macros.contains(
            "\n[detc_windows_security]\ndefinition = source IN (\"WinEventLog:Security\", \"XmlWinEventLog:Security\")\niseval = 0\n"
        ),
        "{macros}"
    );
    assert_eq!(macros.matches("\n[").count(), 1, "{macros}");
}
