//! Event readers on the SigmaHQ regression data: the `.json` export and the `.evtx` file of
//! every regression case flatten to the same event.

use std::path::{Path, PathBuf};

use detc::eval::read::{collect_files, read_file};
use detc::eval::Event;

const DATA: &str = "../shared/sigmahq/regression_data/rules";

fn data_dir() -> PathBuf {
    // Tests run from the crate root; the shared data sits beside the repository.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(DATA);
    if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared/sigmahq/regression_data/rules")
    }
}

fn events(p: &Path) -> Vec<Event> {
    let mut out = Vec::new();
    let d = read_file(p, &mut |r| out.push(r.event));
    assert!(d.is_empty(), "{}: {d:?}", p.display());
    out
}

/// Exporters differ in how they print GUIDs (`{abc}` vs `ABC`) and how many digits of a
/// timestamp they keep; compare those canonically.
fn canon(s: &str) -> String {
    // Some exporters also trim trailing blanks.
    let s = s.trim_end();
    let t = s.trim_start_matches('{').trim_end_matches('}');
    if t.len() == 36 && t.chars().filter(|c| *c == '-').count() == 4 {
        return t.to_ascii_lowercase();
    }
    if s.len() > 20 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T') {
        // Keep whole microseconds.
        return s.get(..26).unwrap_or(s).to_string();
    }
    // Matching is case-insensitive, and a few exports differ in case from their EVTX.
    s.to_lowercase()
}

/// Sorted (name, text) pairs, so field order does not matter.
fn norm(e: &Event) -> Vec<(String, Vec<Option<String>>)> {
    let mut v: Vec<_> = e
        .fields
        .iter()
        .map(|(k, vs)| {
            (
                k.to_string(),
                vs.iter().map(|x| x.raw().map(canon)).collect(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn json_and_evtx_forms_flatten_alike() {
    let (files, d) = collect_files(&[data_dir()]);
    assert!(d.is_empty());
    let evtx: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    assert!(
        evtx.len() >= 150,
        "regression data not found ({})",
        evtx.len()
    );
    let mut compared = 0;
    for x in evtx {
        let j = x.with_extension("json");
        if !j.exists() {
            continue;
        }
        let a = events(x);
        let b = events(&j);
        assert_eq!(a.len(), b.len(), "{}", x.display());
        for (ea, eb) in a.iter().zip(&b) {
            let (na, nb) = (norm(ea), norm(eb));
            let only_a: Vec<_> = na.iter().filter(|x| !nb.contains(x)).collect();
            let only_b: Vec<_> = nb.iter().filter(|x| !na.contains(x)).collect();
            assert!(
                only_a.is_empty() && only_b.is_empty(),
                "{}: evtx {only_a:?} json {only_b:?}",
                x.display()
            );
            assert!(ea.get_text("Channel").is_some(), "{}", x.display());
            assert!(ea.get("EventID").is_some(), "{}", x.display());
        }
        compared += 1;
    }
    assert!(compared >= 150);
}

#[test]
fn truncated_evtx_keeps_going() {
    let (files, _) = collect_files(&[data_dir()]);
    let x = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "evtx"))
        .expect("an evtx file");
    let bytes = std::fs::read(x).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut in the middle of the first chunk: the header is fine, records are not.
    let cut = dir.path().join("cut.evtx");
    std::fs::write(&cut, &bytes[..bytes.len().min(4096 + 700)]).unwrap();
    let mut n = 0;
    let d = read_file(&cut, &mut |_| n += 1);
    assert!(!d.is_empty(), "a truncated file is reported");
    assert!(d.iter().all(|x| x.path.as_deref() == Some(cut.as_path())));
    // Garbage in the middle of records.
    let mut bad = bytes.clone();
    for b in bad.iter_mut().skip(4096 + 600).take(200) {
        *b = 0xAB;
    }
    let garbled = dir.path().join("garbled.evtx");
    std::fs::write(&garbled, &bad).unwrap();
    let _ = read_file(&garbled, &mut |_| {});
}

/// A JSONL line over the reader's limit (here the first line of one file and a middle line of
/// another) is reported as too long, with the file, record, line, its length and the limit, and
/// the lines after it are still read and matched, through the whole `detc match` pipeline.
#[test]
fn over_long_line_is_reported_and_the_rest_still_matches() {
    use detc::eval::read::MAX_LINE;
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("probe.yml");
    std::fs::write(
        &rule,
        "title: Probe\nid: 5d1c7a52-1111-4222-8333-944455556666\nlogsource:\n    category: proxy\n\
         detection:\n    selection:\n        c-uri|contains: '/index.php'\n    condition: selection\n",
    )
    .unwrap();
    // The over-long line would match too if it were read: it is skipped, not cut and parsed.
    let big = format!(
        "{{\"c-uri\": \"/index.php{}\"}}",
        "x".repeat(MAX_LINE + 1000)
    );
    let good = "{\"c-uri\": \"/a/INDEX.PHP?x=1\"}";
    let first = dir.path().join("first.jsonl");
    std::fs::write(&first, format!("{big}\n{good}\n")).unwrap();
    let middle = dir.path().join("middle.jsonl");
    std::fs::write(&middle, format!("{good}\n\n{big}\r\n{good}\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_detc"))
        .args(["match", "--logsource", "category=proxy", "--rules"])
        .arg(&rule)
        .arg("--events")
        .args([&first, &middle])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let hits: Vec<(String, u64)> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let file = Path::new(v["file"].as_str().unwrap());
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            (name, v["index"].as_u64().unwrap())
        })
        .collect();
    let want = [("first.jsonl", 1), ("middle.jsonl", 0), ("middle.jsonl", 2)];
    let want: Vec<(String, u64)> = want.iter().map(|(f, i)| (f.to_string(), *i)).collect();
    assert_eq!(hits, want, "{stderr}");
    assert!(!stderr.contains("invalid JSON"), "{stderr}");
    let len = big.len();
    for (file, record, line, len) in [
        ("first.jsonl", 0, 1, len),
        // The `\r` before the line break counts as part of the line.
        ("middle.jsonl", 1, 3, len + 1),
    ] {
        let msg = format!(
            "record {record}: line {line} is {len} bytes long, longer than the limit of \
             {MAX_LINE} bytes"
        );
        let diag = stderr.lines().find(|l| l.contains(&msg));
        let diag = diag.unwrap_or_else(|| panic!("no `{msg}` in:\n{stderr}"));
        assert!(diag.contains(file), "{diag}");
    }
    assert_eq!(out.status.code(), Some(1), "a skipped record is an error");
}
