//! Bad input is said once, with the place and what is wrong, and the right exit code (issue 14,
//! item 5). The inputs come from the reproducers in tests/fixtures/bad_input/.

mod common;

use std::path::{Path, PathBuf};

use common::{detc, stderr};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad_input")
        .join(name)
}

/// A rule that matches every event that has an `EventID` (every Windows event).
const ANY_EVENT: &str = "rule any_event {\n  title \"any event\"\n  \
    id 0b7a3f7e-2d0c-4c55-9a7e-3f1d2c4b5a61\n  level low\n  sel = EventID exists true\n  \
    condition sel\n}\n";

/// A rule that matches every event that has an `Image`.
const ANY_IMAGE: &str = "rule any_image {\n  title \"any image\"\n  \
    id 0b7a3f7e-2d0c-4c55-9a7e-3f1d2c4b5a62\n  level low\n  sel = Image exists true\n  \
    condition sel\n}\n";

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    /// Assert that stderr holds each of `texts`.
    fn says(&self, texts: &[&str]) {
        for t in texts {
            assert!(self.err.contains(t), "no `{t}` in:\n{}", self.err);
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let o = detc(dir, args);
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: stderr(&o),
    }
}

/// `detc match` of `rule` (text of a `.det` file) over `events`, in a fresh folder.
fn match_events(rule: &str, events: &[&Path]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.det"), rule).unwrap();
    let mut args = vec!["match", "--rules", "r.det", "--events"];
    let evs: Vec<String> = events.iter().map(|p| p.display().to_string()).collect();
    args.extend(evs.iter().map(String::as_str));
    run(dir.path(), &args)
}

/// `match_events` of `rule` over `bytes` written to `dir/name`.
fn match_file(rule: &str, dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> Run {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    match_events(rule, &[&p])
}

fn matched_indexes(out: &str) -> Vec<u64> {
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["index"].as_u64().unwrap()
        })
        .collect()
}

// ---- EVTX ----

/// The truncated reproducer's first chunk, padded with zeros to a whole chunk: a valid file
/// of one chunk holding one record.
fn one_good_chunk() -> Vec<u8> {
    let mut b = std::fs::read(fixture("evtx_trunc_34816.evtx")).unwrap();
    b.resize(4096 + 65536, 0);
    b
}

/// Set the chunk count of an EVTX file header (and its checksum, CRC32 of bytes 0..120).
fn set_chunk_count(b: &mut [u8], n: u16) {
    b[42..44].copy_from_slice(&n.to_le_bytes());
    let crc = crc32(&b[..120]);
    b[124..128].copy_from_slice(&crc.to_le_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn the_padded_chunk_is_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = match_file(ANY_EVENT, dir.path(), "good.evtx", one_good_chunk());
    assert_eq!(matched_indexes(&r.out), vec![0], "{}", r.err);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!r.err.contains("error"), "{}", r.err);
}

#[test]
fn zeroed_evtx_chunk_is_an_error() {
    let p = fixture("evtx_zero_chunks.evtx");
    let r = match_events(ANY_EVENT, &[&p]);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.out.is_empty());
    r.says(&[
        "error[bad-evtx]",
        "evtx_zero_chunks.evtx",
        "chunk 0 (bytes 4096..69632) is all zeros",
    ]);
}

#[test]
fn zeroed_chunk_after_a_good_one_keeps_the_good_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = one_good_chunk();
    b.resize(4096 + 2 * 65536, 0);
    set_chunk_count(&mut b, 2);
    let r = match_file(ANY_EVENT, dir.path(), "two.evtx", &b);
    assert_eq!(matched_indexes(&r.out), vec![0], "{}", r.err);
    r.says(&["chunk 1 (bytes 69632..135168) is all zeros"]);
    assert_eq!(r.code, 1);
    // Zeroed chunks past the ones the header counts are unused space: nothing to say.
    set_chunk_count(&mut b, 1);
    let r = match_file(ANY_EVENT, dir.path(), "two.evtx", &b);
    assert_eq!((r.code, matched_indexes(&r.out)), (0, vec![0]), "{}", r.err);
}

#[test]
fn truncated_evtx_is_an_error_and_its_whole_records_are_read() {
    let p = fixture("evtx_trunc_34816.evtx");
    let r = match_events(ANY_EVENT, &[&p]);
    assert_eq!(matched_indexes(&r.out), vec![0], "{}", r.err);
    r.says(&[
        "error[truncated-evtx]",
        "evtx_trunc_34816.evtx",
        "ends inside chunk 0, 30720 of its 65536 bytes in (file offset 34816)",
    ]);
    assert_eq!(r.code, 1, "docs/MATCH.md: bad records give exit 1");

    // Cut inside the record: nothing of it is read, and the diagnostic says so.
    let dir = tempfile::tempdir().unwrap();
    let b = std::fs::read(&p).unwrap();
    let r = match_file(ANY_EVENT, dir.path(), "cut.evtx", &b[..4096 + 1000]);
    assert!(r.out.is_empty(), "{}", r.out);
    r.says(&["0 of its 1 record(s) were read"]);
    assert_eq!(r.code, 1);
}

#[test]
fn chunks_missing_from_the_end_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = one_good_chunk();
    set_chunk_count(&mut b, 3);
    let r = match_file(ANY_EVENT, dir.path(), "short.evtx", &b);
    assert_eq!(matched_indexes(&r.out), vec![0], "{}", r.err);
    r.says(&["the file header counts 3 chunk(s) but the file holds 1"]);
    assert_eq!(r.code, 1);
}

#[test]
fn a_corrupt_chunk_says_where_it_is_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = one_good_chunk();
    b[4096..4104].copy_from_slice(b"XXXXXXXX");
    let r = match_file(ANY_EVENT, dir.path(), "magic.evtx", &b);
    r.says(&[
        "chunk number 0",
        "Invalid EVTX chunk header magic",
        "corrupt EVTX chunk",
        "chunk 0 starts at file offset 4096",
    ]);
    assert_eq!(r.code, 1);
}

// ---- JSON events ----

#[test]
fn a_byte_order_mark_before_json_events_is_accepted() {
    let r = match_events(ANY_IMAGE, &[&fixture("bom.jsonl")]);
    assert_eq!(matched_indexes(&r.out), vec![0], "{}", r.err);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!r.err.contains("error"), "{}", r.err);
    // A JSON array and pretty-printed objects too.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("a.json", "\u{feff}[{\"Image\": \"x\"}]\n"),
        ("b.json", "\u{feff}{\n  \"Image\": \"x\"\n}\n"),
    ] {
        let r = match_file(ANY_IMAGE, dir.path(), name, text);
        assert_eq!(
            (r.code, matched_indexes(&r.out)),
            (0, vec![0]),
            "{name}: {}",
            r.err
        );
    }
}

/// UTF-16 with a byte-order mark, as Windows PowerShell 5 writes with `>` or `Out-File`.
#[test]
fn utf16_json_events_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let utf16 = |text: &str, little: bool| -> Vec<u8> {
        let mut out = if little {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in text.encode_utf16() {
            out.extend(if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        out
    };
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "ps.jsonl",
        utf16(
            "{\"Image\": \"a\"}\r\n{\"Image\": \"\u{e9}\u{1f600}\"}\r\n",
            true,
        ),
    );
    assert_eq!(
        (r.code, matched_indexes(&r.out)),
        (0, vec![0, 1]),
        "{}",
        r.err
    );
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "be.json",
        utf16("[{\"Image\": \"a\"},\n {\"Image\": }]\n", false),
    );
    r.says(&["line 2, column 12: invalid JSON"]);
    assert_eq!(r.code, 1);
    // An unpaired surrogate: the file cannot be read, and the diagnostic says where.
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "bad.json",
        [0xFF, 0xFE, b'{', 0, 0x00, 0xD8, b'"', 0],
    );
    r.says(&["the file is UTF-16 (little-endian) but is not valid UTF-16 at byte 4"]);
    assert_eq!(r.code, 2);
}

#[test]
fn json_errors_give_the_line_and_column_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Record 3 is on line 5 (line 2 is blank), its error at column 8.
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "e.jsonl",
        "{\"Image\": 1}\n\n{\"Image\": 2}\n{\"Image\": 3}\n {\"a\": x}\n{\"Image\": 5}\n",
    );
    assert_eq!(matched_indexes(&r.out), vec![0, 1, 2, 4], "{}", r.err);
    r.says(&["record 3: line 5, column 8: invalid JSON: expected value"]);
    assert!(!r.err.contains("line 1 column"), "{}", r.err);
    assert_eq!(r.code, 1);

    // Pretty-printed objects: the line counts from the start of the file, also after a
    // first error made the reader resume further down.
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "p.json",
        "{\n  \"Image\": 1\n}\n{\n  \"Image\": ,\n}\n{\n  \"Image\": 3\n}\n{\n  \"Image\" 4\n}\n",
    );
    assert_eq!(matched_indexes(&r.out), vec![0, 2], "{}", r.err);
    r.says(&[
        "record 1: line 5, column 12",
        "record 3: line 11, column 11",
    ]);

    // A JSON array: the error's line in the file.
    let r = match_file(
        ANY_IMAGE,
        dir.path(),
        "a.json",
        "\n[\n  {\"Image\": 1},\n  {\"Image\": }\n]\n",
    );
    r.says(&["line 4, column 13"]);
}

#[test]
fn an_events_folder_without_event_files_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("nothing_here");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not events").unwrap();
    let r = match_events(ANY_IMAGE, &[&empty]);
    assert_eq!(r.code, 2);
    r.says(&[
        "error[no-event-files]",
        "nothing_here",
        ".json, .jsonl, .ndjson, .evtx",
    ]);
    // With event files elsewhere it is a warning, and the run goes on.
    let r = match_events(ANY_IMAGE, &[&empty, &fixture("bom.jsonl")]);
    assert_eq!((r.code, matched_indexes(&r.out)), (0, vec![0]), "{}", r.err);
    r.says(&["warning[no-event-files]"]);
}

// ---- rule files ----

#[test]
fn duplicate_keys_in_logsource_and_related_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (file, at) in [
        (
            "dup_logsource_category.yml",
            "dup_logsource_category.yml:6:5",
        ),
        ("dup_logsource_key.yml", "dup_logsource_key.yml:7:5"),
        ("dup_related_key.yml", "dup_related_key.yml:5:7"),
    ] {
        let p = fixture(file);
        let r = run(dir.path(), &["check", p.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{file}: {}", r.err);
        assert!(r.err.contains("error[duplicate-key]"), "{file}: {}", r.err);
        assert!(r.err.contains(at), "{file}: want {at} in {}", r.err);
    }
    // Anywhere else in a document too: a custom key's mapping, a correlation condition.
    std::fs::write(
        dir.path().join("c.yml"),
        r#"title: t
id: 5d1c8a8e-6f7b-4a3e-9c1d-1234567890ab
logsource:
    product: windows
detection:
    sel:
        Image: x
    condition: sel
custom:
    a: 1
    a: 2
---
title: c
id: 5d1c8a8e-6f7b-4a3e-9c1d-1234567890ac
correlation:
    type: event_count
    rules: [c]
    timespan: 5m
    group-by: [User]
    condition:
        gte: 2
        gte: 5
"#,
    )
    .unwrap();
    let r = run(dir.path(), &["check", "c.yml", "-t", "sigma"]);
    assert_eq!(r.code, 1, "{}", r.err);
    r.says(&["c.yml:11:5", "c.yml:22:9"]);
    assert_eq!(
        r.err.matches("error[duplicate-key]").count(),
        2,
        "{}",
        r.err
    );
}

#[test]
fn wrong_scalar_types_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |head: &str| {
        format!(
            "{head}\nid: 5d1c8a8e-6f7b-4a3e-9c1d-1234567890ab\nlogsource:\n    product: windows\n\
             detection:\n    sel:\n        Image: x\n    condition: sel\n"
        )
    };
    for (head, want) in [
        ("title: true", "r.yml:1:8"),
        ("title: t\ntags: [1, 2]", "r.yml:2:8"),
        ("title: t\nauthor: 12", "r.yml:2:9"),
        ("title: t\nfalsepositives:\n    - 1.5", "r.yml:3:7"),
    ] {
        std::fs::write(dir.path().join("r.yml"), rule(head)).unwrap();
        let r = run(dir.path(), &["check", "r.yml"]);
        assert_eq!(r.code, 1, "{head}: {}", r.err);
        assert!(
            r.err.contains("expected a string, found a"),
            "{head}: {}",
            r.err
        );
        assert!(r.err.contains(want), "{head}: want {want} in {}", r.err);
    }
    // Quoted, the same text is fine.
    std::fs::write(
        dir.path().join("r.yml"),
        rule("title: 'true'\ntags: ['1.x']"),
    )
    .unwrap();
    let r = run(dir.path(), &["check", "r.yml", "-t", "sigma"]);
    assert_eq!(r.code, 0, "{}", r.err);
}

#[test]
fn files_with_only_a_bom_or_comments_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("comments.det"),
        "# nothing yet\n\n   # still nothing\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("comments.yml"), "# nothing\n---\n").unwrap();
    let mut codes = Vec::new();
    for p in [
        fixture("empty.det"),
        fixture("only_bom.det"),
        dir.path().join("comments.det"),
        dir.path().join("comments.yml"),
    ] {
        let r = run(dir.path(), &["check", p.to_str().unwrap()]);
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            r.err.contains("error[empty-file]: file holds no rules") && r.err.contains(&name),
            "{name}: {}",
            r.err
        );
        codes.push(r.code);
    }
    assert_eq!(codes, vec![1; 4]);
}

#[test]
fn a_byte_order_mark_before_rules_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.det"), format!("\u{feff}{ANY_IMAGE}")).unwrap();
    std::fs::write(
        dir.path().join("s.yml"),
        "\u{feff}title: t\nid: 5d1c8a8e-6f7b-4a3e-9c1d-1234567890ab\nlogsource:\n    \
         product: windows\ndetection:\n    sel:\n        Image: x\n    condition: sel\n",
    )
    .unwrap();
    let r = run(dir.path(), &["check", "r.det", "s.yml", "-t", "sigma"]);
    assert_eq!(r.code, 0, "{}", r.err);
    // Columns on the first line do not count the mark.
    std::fs::write(dir.path().join("e.det"), "\u{feff}id nope\n").unwrap();
    std::fs::write(dir.path().join("e.yml"), "\u{feff}title: t: x\n").unwrap();
    let r = run(dir.path(), &["check", "e.det", "e.yml", "-t", "sigma"]);
    r.says(&["e.det:1:1", "e.yml:1:9"]);
}

#[test]
fn match_reports_an_invalid_uuid_and_skips_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    // With an example that fails if the rule is evaluated.
    let bad = ANY_IMAGE
        .replace("0b7a3f7e-2d0c-4c55-9a7e-3f1d2c4b5a62", "not-a-uuid")
        .replace(
            "condition sel\n",
            "condition sel\n  test miss { Image: \"x\" }\n",
        );
    std::fs::write(dir.path().join("bad.det"), &bad).unwrap();
    std::fs::write(
        dir.path().join("good.det"),
        ANY_EVENT.replace("EventID", "Image"),
    )
    .unwrap();
    let ev = fixture("bom.jsonl");
    let ev = ev.to_str().unwrap();
    let check = run(dir.path(), &["check", "bad.det"]);
    let m = run(
        dir.path(),
        &["match", "--rules", "bad.det", "good.det", "--events", ev],
    );
    check.says(&["error[invalid-uuid]"]);
    m.says(&["error[invalid-uuid]", "bad.det:3:6"]);
    assert_eq!(
        m.err.matches("invalid-uuid").count(),
        1,
        "said once: {}",
        m.err
    );
    // Only the good rule is evaluated.
    let names: Vec<String> = m
        .out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["rule_name"].to_string())
        .collect();
    assert_eq!(names, vec!["\"any_event\""], "{}", m.out);
    assert_eq!(m.code, 1);
    // `detc test` reports it too and does not run its examples.
    let t = run(dir.path(), &["test", "bad.det"]);
    t.says(&["error[invalid-uuid]", "0 example(s)"]);
    assert_eq!(t.code, 1);
}

#[test]
fn file_too_large_is_exit_2_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse file: larger than the 64 MiB limit without writing 64 MiB.
    let big = std::fs::File::create(dir.path().join("big.det")).unwrap();
    big.set_len(65 << 20).unwrap();
    drop(big);
    let ev = fixture("bom.jsonl");
    let ev = ev.to_str().unwrap();
    for args in [
        vec!["check", "big.det"],
        vec!["build", "big.det", "--out", "out"],
        vec!["test", "big.det"],
        vec!["match", "--rules", "big.det", "--events", ev],
    ] {
        let r = run(dir.path(), &args);
        assert!(
            r.err.contains("error[file-too-large]"),
            "{args:?}: {}",
            r.err
        );
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
    }
}

// ---- outputs ----

/// DEL, C1 controls, U+FFFE/U+FFFF (and the other characters YAML does not take raw) in a
/// title or description are escaped in the Sentinel YAML, which then parses and gives back
/// the text; Splunk's `.conf` keeps each value on its line.
#[test]
fn control_characters_are_escaped_in_yaml_and_conf_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let reproducer = std::fs::read_to_string(fixture("ctrl.det")).unwrap();
    let title = "t\u{7f}\u{80}\u{85}\u{9f}\u{fffe}\u{ffff}\u{2028}\u{feff}x";
    let more = reproducer
        .replace("sentinel_ctrl", "sentinel_ctrl_2")
        .replace("title \"t\"", &format!("title \"{title}\""));
    std::fs::write(dir.path().join("r.det"), format!("{reproducer}\n{more}")).unwrap();
    let r = run(dir.path(), &["build", "r.det", "--out", "out"]);
    assert_eq!(r.code, 0, "{}", r.err);
    for (file, want_title, want_desc) in [
        ("sentinel_ctrl.yaml", "t", "a\u{7f}b\u{80}c"),
        ("sentinel_ctrl_2.yaml", title, "a\u{7f}b\u{80}c"),
    ] {
        let text = std::fs::read_to_string(dir.path().join("out/kql-sentinel").join(file)).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{file} is not YAML: {e}\n{text:?}"));
        assert_eq!(v["name"].as_str(), Some(want_title), "{file}");
        assert_eq!(v["description"].as_str(), Some(want_desc), "{file}");
        assert!(
            !text.chars().any(|c| c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{fffe}' | '\u{ffff}')),
            "{file}: raw character left in {text:?}"
        );
    }
    let conf = std::fs::read_to_string(dir.path().join("out/splunk/savedsearches.conf")).unwrap();
    for line in conf.lines() {
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}')),
            "raw control character in {line:?}"
        );
    }
}

/// A correlation over a rule that is skipped for its errors is skipped too, and said to be so
/// because of that rule (not reported as referring to an unknown rule).
#[test]
fn a_correlation_over_a_skipped_rule_is_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yml"),
        r#"title: base
id: not-a-uuid
name: base_rule
logsource:
    product: windows
detection:
    sel:
        Image: x
    condition: sel
---
title: corr
id: 5d1c8a8e-6f7b-4a3e-9c1d-1234567890ac
correlation:
    type: event_count
    rules: [base_rule]
    timespan: 5m
    group-by: [User]
    condition:
        gte: 2
"#,
    )
    .unwrap();
    let ev = fixture("bom.jsonl");
    let r = run(
        dir.path(),
        &[
            "match",
            "--rules",
            "c.yml",
            "--events",
            ev.to_str().unwrap(),
        ],
    );
    r.says(&[
        "error[invalid-uuid]",
        "warning[correlation-skipped]",
        "the rule `base_rule` it refers to has errors",
        "c.yml:15:13",
    ]);
    assert!(!r.err.contains("unknown-rule"), "{}", r.err);
    assert_eq!(r.code, 1);
}

/// The loader drops a byte-order mark from rule text; `detc fmt` still sees it and writes the
/// file without it (the canonical layout has none).
#[test]
fn fmt_still_removes_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = "rule a {\n  title \"t\"\n\n  sel = Image \"x\"\n\n  condition sel\n}\n";
    std::fs::write(dir.path().join("a.det"), canonical).unwrap();
    let r = run(dir.path(), &["fmt", "--check", "a.det"]);
    assert_eq!(r.code, 0, "the text is canonical: {}{}", r.out, r.err);
    std::fs::write(dir.path().join("a.det"), format!("\u{feff}{canonical}")).unwrap();
    let r = run(dir.path(), &["fmt", "--check", "a.det"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    let r = run(dir.path(), &["fmt", "a.det"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.det")).unwrap(),
        canonical
    );
}

/// A correlation that names a rule none of the loaded files defines is said once, at the
/// reference, with the closest rule name, and is then neither compiled nor evaluated (before,
/// every query target said "cannot be expressed" for it and the Sigma target emitted it).
#[test]
fn unknown_correlation_reference_is_said_once() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("c.det"),
        "correlation brute {\n  title \"many failed logons\"\n  type event_count\n  rules failed_logn\n  group-by TargetUserName\n  timespan 5m\n  condition gte 10\n}\n\nrule failed_logon {\n  title \"failed logon\"\n  logsource product=windows service=security\n  sel = EventID 4625\n  condition sel\n}\n",
    )
    .unwrap();
    let r = run(t.path(), &["build", "c.det", "--out", "dist"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.err.matches("warning[").count(), 1, "{}", r.err);
    r.says(&[
        "warning[unknown-rule]",
        "c.det:4:9",
        "did you mean `failed_logon`?",
    ]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("dist/manifest.json")).unwrap(),
    )
    .unwrap();
    let rules: Vec<&str> = manifest["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["failed_logon"]);
    assert_eq!(manifest["failed"][0]["name"], "brute");
    assert!(
        manifest["failed"][0]["diagnostics"][0]
            .as_str()
            .unwrap()
            .contains("unknown-rule"),
        "{manifest}"
    );
    assert!(!t.path().join("dist/sigma/brute.yml").exists());
}

// ---- modifiers ----

/// An encoding modifier (`base64`, `utf16le`, ...) encodes exact values: a wildcard in the
/// value is an error at the value's modifier, with the encoding named, for each encoding.
#[test]
fn encoding_a_wildcard_value_is_an_error_at_the_modifier() {
    for chain in [
        "base64",
        "base64offset|contains",
        "utf16le|base64offset|contains",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rule = format!(
            "title: encoded wildcard\nid: 0b7a3f7e-2d0c-4c55-9a7e-3f1d2c4b5a63\nstatus: test\n\
             logsource:\n  category: process_creation\n  product: windows\ndetection:\n  \
             selection:\n    CommandLine|{chain}: 'a*b'\n  condition: selection\nlevel: low\n"
        );
        std::fs::write(dir.path().join("r.yml"), rule).unwrap();
        let r = run(dir.path(), &["check", "r.yml"]);
        let first = chain.split('|').next().unwrap();
        assert_ne!(r.code, 0, "{chain}: {}{}", r.out, r.err);
        assert!(
            r.err.contains("invalid-modifier-combination")
                && r.err
                    .contains(&format!("`{first}` cannot encode a value with wildcards"))
                && r.err.contains("r.yml:9:"),
            "{chain}: {}",
            r.err
        );
    }
}
