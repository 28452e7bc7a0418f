//! `detc match` on cloud, identity, Linux and network events in the form their products
//! export them (tests/fixtures/native/, written from the vendors' documented examples):
//! CloudTrail log files (also gzip), Azure Monitor Event Hub exports, Okta System Log arrays,
//! Google Cloud audit LogEntry NDJSON, Zeek JSON logs (by `_path` and by file name), Sysmon
//! for Linux XML in syslog, auditd records, Windows Defender's spaced field names, and JSON
//! lines of Bitbucket, OneLogin and Cisco Duo read with `--logsource`. Each
//! case asserts which events a rule matched and which it did not, with small rules of our own
//! and a SigmaHQ corpus rule per product (read from `../shared`, skipped when absent).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/skip.rs"]
mod skip;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/native")
        .join(name)
}

/// A SigmaHQ corpus rule, or `None` (and a note) when the corpus is not next to the repo.
fn corpus(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/sigmahq/rules")
        .join(rel);
    if p.is_file() {
        Some(p)
    } else {
        skip::skipped(
            "corpus rules in match_native_formats",
            "../shared/sigmahq not found",
            "put the SigmaHQ corpus at ../shared/sigmahq",
        );
        None
    }
}

/// A Sigma rule file titled `title` in `dir`.
fn rule(dir: &Path, title: &str, logsource: &str, detection: &str) -> PathBuf {
    let file = dir.join(format!("{}.yml", title.replace(' ', "_")));
    let text = format!(
        "title: {title}\nstatus: test\nlogsource:\n{}\ndetection:\n{}\nlevel: low\n",
        indent(logsource),
        indent(detection)
    );
    std::fs::write(&file, text).unwrap();
    file
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Run {
    code: i32,
    /// (rule title, event file name, record index)
    hits: BTreeSet<(String, String, u64)>,
    stderr: String,
}

fn run(rules: &[PathBuf], events: &[PathBuf], extra: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_detc"));
    cmd.arg("match").arg("--rules").args(rules);
    cmd.arg("--events").args(events).args(extra);
    let out = cmd.output().expect("detc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let hits = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            let file = Path::new(v["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                v["title"].as_str().unwrap().to_string(),
                file,
                v["index"].as_u64().unwrap(),
            )
        })
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        hits,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn hits(list: &[(&str, &str, u64)]) -> BTreeSet<(String, String, u64)> {
    list.iter()
        .map(|(t, f, i)| (t.to_string(), f.to_string(), *i))
        .collect()
}

/// The corpus rule's title (as `detc match` reports it).
fn title_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("title: "))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn cloudtrail_log_files_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = rule(
        d,
        "instance started",
        "product: aws\nservice: cloudtrail",
        "selection:\n    eventName: StartInstances\n    requestParameters.instancesSet.items.instanceId: i-EXAMPLE56126103cb\ncondition: selection",
    );
    let by_richard = rule(
        d,
        "key made by richard",
        "product: aws\nservice: cloudtrail",
        "selection:\n    eventName: CreateAccessKey\n    userIdentity.userName: Richard\ncondition: selection",
    );
    // Routing: CloudTrail records are not Azure activity.
    let azure = rule(
        d,
        "azure lookalike",
        "product: azure\nservice: activitylogs",
        "selection:\n    eventName: CreateAccessKey\ncondition: selection",
    );
    let gz = d.join("888888888888_CloudTrail_us-east-1_20230719T2115Z_EXAMPLE.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&std::fs::read(fixture("cloudtrail.json")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let gz_name = gz.file_name().unwrap().to_str().unwrap().to_string();
    let mut rules = vec![start, by_richard, azure];
    let corpus_rule = corpus("cloud/aws/cloudtrail/aws_iam_backdoor_users_keys.yml");
    rules.extend(corpus_rule.clone());
    let r = run(&rules, &[fixture("cloudtrail.json"), gz], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut want = BTreeSet::new();
    for f in ["cloudtrail.json", gz_name.as_str()] {
        want.extend(hits(&[
            ("instance started", f, 2),
            ("key made by richard", f, 1),
        ]));
        if let Some(c) = &corpus_rule {
            // CreateAccessKey by IAM (records 0 and 1), not the EC2 call (record 2).
            let t = title_of(c);
            want.extend(hits(&[(&t, f, 0), (&t, f, 1)]));
        }
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
    assert!(r.stderr.contains("2 file(s), 6 event(s)"), "{}", r.stderr);
}

/// A CloudTrail file is one line; one over the NDJSON line limit (16 MiB) is still read.
#[test]
fn one_line_envelope_over_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let any_key = rule(
        d,
        "any access key",
        "product: aws\nservice: cloudtrail",
        "selection:\n    eventName: CreateAccessKey\ncondition: selection",
    );
    let big = serde_json::json!({"Records": [
        {"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "eventName": "ListUsers",
         "requestParameters": {"pad": "x".repeat(17 << 20)}},
        {"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "eventName": "CreateAccessKey"}
    ]});
    let file = d.join("big_cloudtrail.json");
    std::fs::write(&file, big.to_string()).unwrap();
    let r = run(&[any_key], &[file], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.hits,
        hits(&[("any access key", "big_cloudtrail.json", 1)]),
        "{}",
        r.stderr
    );
}

#[test]
fn azure_event_hub_records_by_category() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signin = rule(
        d,
        "single factor legacy auth",
        "product: azure\nservice: signinlogs",
        "selection:\n    ResultType: 0\n    AuthenticationRequirement: singleFactorAuthentication\n    userAgent|contains: BAV2ROPC\n    DeviceDetail.trusttype: ''\ncondition: selection",
    );
    let audit = rule(
        d,
        "role assigned",
        "product: azure\nservice: auditlogs",
        "selection:\n    Category: RoleManagement\n    targetResources.type: Role\ncondition: selection",
    );
    // The sign-in's caller IP: an activity log rule must not see the sign-in record.
    let activity_ip = rule(
        d,
        "activity from ip",
        "product: azure\nservice: activitylogs",
        "selection:\n    callerIpAddress: 198.51.100.7\ncondition: selection",
    );
    let activity_start = rule(
        d,
        "vm started",
        "product: azure\nservice: activitylogs",
        "selection:\n    CategoryValue: Administrative\n    operationName|endswith: /START/ACTION\ncondition: selection",
    );
    let mut rules = vec![signin, audit, activity_ip, activity_start];
    let c = corpus("cloud/azure/activity_logs/azure_network_security_modified_or_deleted.yml");
    rules.extend(c.clone());
    let r = run(&rules, &[fixture("azure_eventhub.json")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "azure_eventhub.json";
    let mut want = hits(&[
        ("single factor legacy auth", f, 2),
        ("role assigned", f, 3),
        ("vm started", f, 1),
    ]);
    if let Some(c) = &c {
        want.extend(hits(&[(&title_of(c), f, 0)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

#[test]
fn okta_system_log_array() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = rule(
        d,
        "default policy touched",
        "product: okta\nservice: okta",
        "selection:\n    target.displayName: Default Policy\ncondition: selection",
    );
    let login = rule(
        d,
        "okta login",
        "product: okta\nservice: okta",
        "selection:\n    eventType: user.session.start\n    outcome.result: SUCCESS\n    actor.alternateId|endswith: '@example.com'\ncondition: selection",
    );
    let mut rules = vec![target, login];
    let c = corpus("identity/okta/okta_policy_rule_modified_or_deleted.yml");
    rules.extend(c.clone());
    let r = run(&rules, &[fixture("okta_system_log.json")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "okta_system_log.json";
    let mut want = hits(&[("default policy touched", f, 0), ("okta login", f, 1)]);
    if let Some(c) = &c {
        want.extend(hits(&[(&title_of(c), f, 0)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

#[test]
fn google_cloud_audit_log_entries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = rule(
        d,
        "vm started by dev",
        "product: gcp\nservice: gcp.audit",
        "selection:\n    gcp.audit.method_name|endswith: instances.start\n    protoPayload.authenticationInfo.principalEmail: dev@example.com\ncondition: selection",
    );
    let mut rules = vec![start];
    let fw = corpus("cloud/gcp/audit/gcp_firewall_rule_modified_or_deleted.yml");
    let ws = corpus("cloud/gcp/gworkspace/admin/gcp_gworkspace_application_removed.yml");
    rules.extend(fw.clone());
    rules.extend(ws.clone());
    let r = run(&rules, &[fixture("gcp_audit.jsonl")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "gcp_audit.jsonl";
    let mut want = hits(&[("vm started by dev", f, 1)]);
    if let (Some(fw), Some(ws)) = (&fw, &ws) {
        want.extend(hits(&[(&title_of(fw), f, 0), (&title_of(ws), f, 2)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

#[test]
fn zeek_json_logs_by_path_and_by_file_name_and_logsource() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zbit = rule(
        d,
        "dns answer",
        "product: zeek\nservice: dns",
        "selection:\n    answers: 198.51.100.23\n    id.resp_p: 53\ncondition: selection",
    );
    let generic_dns = rule(
        d,
        "generic dns category",
        "category: dns",
        "selection:\n    query|endswith: minexmr.org\n    record_type: A\ncondition: selection",
    );
    let http_only = rule(
        d,
        "zeek http query field",
        "product: zeek\nservice: http",
        "selection:\n    query|contains: xmr\ncondition: selection",
    );
    let mut rules = vec![zbit, generic_dns, http_only];
    let pools = corpus("network/zeek/zeek_dns_mining_pools.yml");
    let webdav = corpus("network/zeek/zeek_http_executable_download_from_webdav.yml");
    rules.extend(pools.clone());
    rules.extend(webdav.clone());
    // The same DNS log in Zeek's default TSV form (routed by its `#path` header).
    let tsv = "zeek_dns_tsv.log";
    let r = run(
        &rules,
        &[
            fixture("dns.log"),
            fixture("zeek_stream.ndjson"),
            fixture(tsv),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut want = hits(&[
        ("dns answer", "dns.log", 1),
        ("dns answer", tsv, 1),
        ("generic dns category", "zeek_stream.ndjson", 2),
    ]);
    if let (Some(p), Some(w)) = (&pools, &webdav) {
        let (p, w) = (title_of(p), title_of(w));
        want.extend(hits(&[
            (&p, "dns.log", 1),
            (&p, tsv, 1),
            (&p, "zeek_stream.ndjson", 2),
            (&w, "zeek_stream.ndjson", 0),
        ]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);

    // A copy that neither `_path` nor its name routes: every rule is tried without
    // `--logsource`, only that source's rules with it.
    let other = d.join("capture.json");
    std::fs::copy(fixture("dns.log"), &other).unwrap();
    let r = run(&rules[..3], std::slice::from_ref(&other), &[]);
    assert_eq!(
        r.hits,
        hits(&[
            ("dns answer", "capture.json", 1),
            ("zeek http query field", "capture.json", 1)
        ]),
        "{}",
        r.stderr
    );
    let r = run(
        &rules[..3],
        std::slice::from_ref(&other),
        &["--logsource", "product=zeek,service=dns"],
    );
    assert_eq!(
        r.hits,
        hits(&[("dns answer", "capture.json", 1)]),
        "{}",
        r.stderr
    );
}

#[test]
fn sysmon_for_linux_in_syslog() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = rule(
        d,
        "linux outbound 443",
        "product: linux\ncategory: network_connection",
        "selection:\n    DestinationPort: 443\n    Image|endswith: /base64\ncondition: selection",
    );
    let windows = rule(
        d,
        "windows base64",
        "product: windows\ncategory: process_creation",
        "selection:\n    Image|endswith: /base64\ncondition: selection",
    );
    let mut rules = vec![net, windows];
    let c = corpus("linux/process_creation/proc_creation_lnx_base64_decode.yml");
    rules.extend(c.clone());
    // The same event read from journald (`journalctl -o json`: the XML in `MESSAGE`).
    let journal = rule(
        d,
        "journald sysmon",
        "product: linux\ncategory: process_creation",
        "selection:\n    SYSLOG_IDENTIFIER: sysmon\n    ParentImage: /usr/bin/bash\ncondition: selection",
    );
    rules.push(journal);
    let r = run(
        &rules,
        &[
            fixture("sysmon_linux.log"),
            fixture("sysmon_linux_journal.json"),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "sysmon_linux.log";
    let j = "sysmon_linux_journal.json";
    // The cron line is not an event: the Sysmon events are records 0, 1 and 2.
    let mut want = hits(&[("linux outbound 443", f, 2), ("journald sysmon", j, 1)]);
    if let Some(c) = &c {
        want.extend(hits(&[(&title_of(c), f, 0), (&title_of(c), j, 1)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

#[test]
fn auditd_records_grouped_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex = rule(
        d,
        "ls of a spaced dir",
        "product: linux\nservice: auditd",
        "selection:\n    type: EXECVE\n    a0: ls\n    a2: /tmp/my dir\ncondition: selection",
    );
    let enriched = rule(
        d,
        "uname execve",
        "product: linux\nservice: auditd",
        "selection:\n    type: SYSCALL\n    SYSCALL: execve\n    key: exec\n    exe|endswith: /uname\ncondition: selection",
    );
    let login = rule(
        d,
        "failed root login",
        "product: linux\nservice: auditd",
        "selection:\n    type: USER_LOGIN\n    acct: root\n    res: failed\ncondition: selection",
    );
    let proctitle = rule(
        d,
        "sshd_config read",
        "product: linux\nservice: auditd",
        "selection:\n    proctitle: cat /etc/ssh/sshd_config\n    success: 'no'\ncondition: selection",
    );
    let mut rules = vec![hex, enriched, login, proctitle];
    let c = corpus("linux/auditd/lnx_auditd_system_info_discovery.yml");
    rules.extend(c.clone());
    let r = run(&rules, &[fixture("audit.log")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "audit.log";
    // Events in the order they start: serial 24287, 42, 43 (its records interleave with
    // 42's), 50.
    let mut want = hits(&[
        ("sshd_config read", f, 0),
        ("uname execve", f, 1),
        ("ls of a spaced dir", f, 2),
        ("failed root login", f, 3),
    ]);
    if let Some(c) = &c {
        want.extend(hits(&[(&title_of(c), f, 1)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

#[test]
fn defender_fields_with_spaces_serve_windefend_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let threat = rule(
        d,
        "mimikatz found",
        "product: windows\nservice: windefend",
        "selection:\n    ThreatName|contains: Mimikatz\n    SourceName: Real-Time Protection\n    DetectionUser|endswith: \\bob\ncondition: selection",
    );
    let av = rule(
        d,
        "av signature",
        "category: antivirus",
        "selection:\n    Signature|contains: mimikatz\n    Filename|endswith: mimikatz.exe\ncondition: selection",
    );
    let mut rules = vec![threat, av];
    let c = corpus("windows/builtin/windefend/win_defender_asr_lsass_access.yml");
    rules.extend(c.clone());
    let r = run(&rules, &[fixture("defender.jsonl")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = "defender.jsonl";
    let mut want = hits(&[("mimikatz found", f, 2), ("av signature", f, 2)]);
    if let Some(c) = &c {
        // Record 1 is svchost.exe, which the rule's `ProcessName` filter excludes.
        want.extend(hits(&[(&title_of(c), f, 0)]));
    }
    assert_eq!(r.hits, want, "{}", r.stderr);
}

/// A cut export read by `rule`: the records before the cut are the `want` hits, the run exits
/// with `code`, and stderr holds every one of `says`.
fn assert_cut(rule: &Path, cut: PathBuf, code: i32, want: &[(&str, &str, u64)], says: &[&str]) {
    let r = run(&[rule.to_path_buf()], &[cut], &[]);
    assert_eq!(r.code, code, "{}", r.stderr);
    assert_eq!(r.hits, hits(want), "{}", r.stderr);
    for s in says {
        assert!(r.stderr.contains(s), "no `{s}` in:\n{}", r.stderr);
    }
}

/// A cut export: the records before the cut are matched, the cut is a diagnostic naming the
/// file, the record and the line and column, and the exit code is 1.
#[test]
fn truncated_exports_are_diagnostics_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let any_key = rule(
        d,
        "any access key",
        "product: aws\nservice: cloudtrail",
        "selection:\n    eventName: CreateAccessKey\ncondition: selection",
    );
    let text = std::fs::read_to_string(fixture("cloudtrail.json")).unwrap();
    let cut_at = text.find("\"eventName\": \"StartInstances\"").unwrap();
    let cut = d.join("cut_cloudtrail.json");
    std::fs::write(&cut, &text[..cut_at]).unwrap();
    let lines = text[..cut_at].lines().count();
    assert_cut(
        &any_key,
        cut,
        1,
        &[
            ("any access key", "cut_cloudtrail.json", 0),
            ("any access key", "cut_cloudtrail.json", 1),
        ],
        &[
            "cut_cloudtrail.json",
            &format!("record 2: line {lines}, column"),
            "EOF while parsing",
        ],
    );

    // A cut gzip stream: what was decompressed is read, the cut is an `event-read-error`
    // (exit 2: the file could not be read whole).
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let cut = d.join("cut.json.gz");
    std::fs::write(&cut, &gz[..gz.len() - 12]).unwrap();
    let r = run(std::slice::from_ref(&any_key), &[cut], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cut.json.gz") && r.stderr.contains("cannot read events"),
        "{}",
        r.stderr
    );

    // auditd: a cut last record.
    let login = rule(
        d,
        "failed root login",
        "product: linux\nservice: auditd",
        "selection:\n    type: USER_LOGIN\n    res: failed\ncondition: selection",
    );
    let mut audit = std::fs::read_to_string(fixture("audit.log")).unwrap();
    audit.push_str("type=SYSCALL msg=audit(1700000200.1");
    let cut = d.join("audit.log");
    std::fs::write(&cut, &audit).unwrap();
    let n = audit.lines().count();
    assert_cut(
        &login,
        cut,
        1,
        &[("failed root login", "audit.log", 3)],
        &[&format!(
            "record 4: line {n}, column 36: invalid audit record: `msg=audit(` is not closed"
        )],
    );

    // Sysmon for Linux: an XML event cut in the middle.
    let lnx = rule(
        d,
        "any linux process",
        "product: linux\ncategory: process_creation",
        "selection:\n    Image|startswith: /usr/bin/\ncondition: selection",
    );
    let sys = std::fs::read_to_string(fixture("sysmon_linux.log")).unwrap();
    let mut lines: Vec<&str> = sys.lines().collect();
    let second = lines[2];
    // Cut just after `<Data Name="RuleName">`.
    let half = &second[..second.find("<EventData>").unwrap() + 33];
    lines[2] = half;
    let cut = d.join("syslog");
    std::fs::write(&cut, lines.join("\n")).unwrap();
    assert_cut(
        &lnx,
        cut,
        1,
        &[("any linux process", "syslog", 0)],
        &[
            "record 1: line 3, column",
            "the XML ends inside <Event><EventData><Data>",
        ],
    );

    // Zeek TSV: a line cut short (fewer columns than `#fields`).
    let dns = rule(
        d,
        "zeek dns any",
        "product: zeek\nservice: dns",
        "selection:\n    qtype_name: A\ncondition: selection",
    );
    let mut tsv = std::fs::read_to_string(fixture("zeek_dns_tsv.log")).unwrap();
    tsv.push_str("1591368001.0\tCxyz\t192.168.4.76\t4");
    let cut = d.join("dns_cut.log");
    std::fs::write(&cut, &tsv).unwrap();
    let n = tsv.lines().count();
    assert_cut(
        &dns,
        cut,
        1,
        &[
            ("zeek dns any", "dns_cut.log", 0),
            ("zeek dns any", "dns_cut.log", 1),
        ],
        &[&format!(
            "record 2: line {n}, column 1: expected 24 tab-separated values (the `#fields` header), found 4"
        )],
    );

    // Okta: an array cut after its first record.
    let okta = rule(
        d,
        "okta any",
        "product: okta",
        "selection:\n    eventType|startswith: policy.\ncondition: selection",
    );
    let text = std::fs::read_to_string(fixture("okta_system_log.json")).unwrap();
    let cut_at = text.find("\"displayMessage\": \"User login").unwrap();
    let cut = d.join("okta.json");
    std::fs::write(&cut, &text[..cut_at]).unwrap();
    assert_cut(
        &okta,
        cut,
        1,
        &[("okta any", "okta.json", 0)],
        &["record 1: in the JSON array: line"],
    );
}

#[test]
fn event_folders_include_log_and_gzip_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = d.join("events");
    std::fs::create_dir(&events).unwrap();
    std::fs::copy(fixture("audit.log"), events.join("audit.log.1")).unwrap();
    std::fs::copy(fixture("dns.log"), events.join("dns.log")).unwrap();
    std::fs::write(events.join("notes.txt"), "not events\n").unwrap();
    let login = rule(
        d,
        "failed root login",
        "product: linux\nservice: auditd",
        "selection:\n    type: USER_LOGIN\n    res: failed\ncondition: selection",
    );
    let dns = rule(
        d,
        "dns answer",
        "product: zeek\nservice: dns",
        "selection:\n    query: testmyids.com\ncondition: selection",
    );
    let r = run(&[login, dns], &[events], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.hits,
        hits(&[
            ("failed root login", "audit.log.1", 3),
            ("dns answer", "dns.log", 0)
        ]),
        "{}",
        r.stderr
    );
}

/// JSON-lines exports of sources no record shape routes (Bitbucket Data Center's audit log,
/// OneLogin events as the Events API returns them, Cisco Duo authentication logs as the Admin
/// API returns them): each read with `--logsource`, nested keys as dotted fields, the corpus
/// rule of the product matching exactly its event.
#[test]
fn json_lines_exports_read_with_logsource() {
    let cases: [(&str, &str, &str, &str, &str, u64); 3] = [
        (
            "bitbucket_audit.log",
            "product=bitbucket,service=audit",
            "product: bitbucket\nservice: audit",
            "selection:\n    auditType.category: Repositories\n    author.name: alice\ncondition: selection",
            "application/bitbucket/audit/bitbucket_audit_full_data_export_triggered.yml",
            1,
        ),
        (
            "onelogin_events.jsonl",
            "product=onelogin,service=onelogin.events",
            "product: onelogin\nservice: onelogin.events",
            "selection:\n    event_type_id: 5\n    ipaddr|cidr: 198.51.100.0/24\ncondition: selection",
            "identity/onelogin/onelogin_user_account_locked.yml",
            1,
        ),
        (
            "duo_authentication.jsonl",
            "product=cisco,service=duo",
            "product: cisco\nservice: duo",
            "selection:\n    factor: duo_push\n    access_device.location.country: United States\ncondition: selection",
            "identity/cisco_duo/cisco_duo_mfa_bypass_via_bypass_code.yml",
            1,
        ),
    ];
    for (file, ls, logsource, detection, corpus_rel, corpus_hit) in cases {
        let dir = tempfile::tempdir().unwrap();
        let own = rule(dir.path(), "own rule", logsource, detection);
        let mut rules = vec![own];
        let c = corpus(corpus_rel);
        rules.extend(c.clone());
        let r = run(&rules, &[fixture(file)], &["--logsource", ls]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        // The hand-written rule matches the other event: record 0.
        let mut want = hits(&[("own rule", file, 0)]);
        if let Some(c) = &c {
            want.extend(hits(&[(&title_of(c), file, corpus_hit)]));
        }
        assert_eq!(r.hits, want, "{file}: {}", r.stderr);
    }
}
