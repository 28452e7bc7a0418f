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

/// A rule of our own: title, logsource and detection (YAML lines, unindented).
type Own<'a> = (&'a str, &'a str, &'a str);

/// A hit: rule title, event file name, record index.
type Hit<'a> = (&'a str, &'a str, u64);

/// Write `own` rules into `d`.
fn own_rules(d: &Path, own: &[Own]) -> Vec<PathBuf> {
    own.iter()
        .map(|(title, logsource, detection)| rule(d, title, logsource, detection))
        .collect()
}

/// One `detc match` run over `events` with rules of our own and a product's SigmaHQ rules.
struct Case<'a> {
    own: &'a [Own<'a>],
    /// SigmaHQ rules (paths under `rules/`), each with the (event file, record) pairs it must
    /// match; a rule missing from `../shared` is left out, and so are its hits.
    corpus: &'a [(&'a str, &'a [(&'a str, u64)])],
    events: &'a [PathBuf],
    extra: &'a [&'a str],
    /// The hits of our own rules, all of them.
    want: &'a [Hit<'a>],
}

impl Case<'_> {
    /// Write the rules into `d`, run, and assert exit 0 and exactly the wanted hits; the run is
    /// returned for further checks.
    fn check(&self, d: &Path) -> Run {
        let mut rules = own_rules(d, self.own);
        let mut want = hits(self.want);
        for (rel, corpus_hits) in self.corpus {
            if let Some(c) = corpus(rel) {
                let t = title_of(&c);
                want.extend(
                    corpus_hits
                        .iter()
                        .map(|(f, i)| (t.clone(), f.to_string(), *i)),
                );
                rules.push(c);
            }
        }
        let r = run(&rules, self.events, self.extra);
        assert_eq!(r.code, 0, "{:?}: {}", self.events, r.stderr);
        assert_eq!(r.hits, want, "{:?}: {}", self.events, r.stderr);
        r
    }
}

const ANY_ACCESS_KEY: Own = (
    "any access key",
    "product: aws\nservice: cloudtrail",
    "selection:\n    eventName: CreateAccessKey\ncondition: selection",
);

const FAILED_ROOT_LOGIN: Own = (
    "failed root login",
    "product: linux\nservice: auditd",
    "selection:\n    type: USER_LOGIN\n    res: failed\ncondition: selection",
);

#[test]
fn cloudtrail_log_files_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    const GZ: &str = "888888888888_CloudTrail_us-east-1_20230719T2115Z_EXAMPLE.json.gz";
    let gz = d.join(GZ);
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&std::fs::read(fixture("cloudtrail.json")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let f = "cloudtrail.json";
    let r = Case {
        own: &[
            (
                "instance started",
                "product: aws\nservice: cloudtrail",
                "selection:\n    eventName: StartInstances\n    requestParameters.instancesSet.items.instanceId: i-EXAMPLE56126103cb\ncondition: selection",
            ),
            (
                "key made by richard",
                "product: aws\nservice: cloudtrail",
                "selection:\n    eventName: CreateAccessKey\n    userIdentity.userName: Richard\ncondition: selection",
            ),
            // Routing: CloudTrail records are not Azure activity.
            (
                "azure lookalike",
                "product: azure\nservice: activitylogs",
                "selection:\n    eventName: CreateAccessKey\ncondition: selection",
            ),
        ],
        // CreateAccessKey by IAM (records 0 and 1), not the EC2 call (record 2).
        corpus: &[(
            "cloud/aws/cloudtrail/aws_iam_backdoor_users_keys.yml",
            &[(f, 0), (f, 1), (GZ, 0), (GZ, 1)],
        )],
        events: &[fixture(f), gz],
        extra: &[],
        want: &[
            ("instance started", f, 2),
            ("key made by richard", f, 1),
            ("instance started", GZ, 2),
            ("key made by richard", GZ, 1),
        ],
    }
    .check(d);
    assert!(r.stderr.contains("2 file(s), 6 event(s)"), "{}", r.stderr);
}

/// A CloudTrail file is one line; one over the NDJSON line limit (16 MiB) is still read.
#[test]
fn one_line_envelope_over_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = serde_json::json!({"Records": [
        {"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "eventName": "ListUsers",
         "requestParameters": {"pad": "x".repeat(17 << 20)}},
        {"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "eventName": "CreateAccessKey"}
    ]});
    let file = d.join("big_cloudtrail.json");
    std::fs::write(&file, big.to_string()).unwrap();
    Case {
        own: &[ANY_ACCESS_KEY],
        corpus: &[],
        events: &[file],
        extra: &[],
        want: &[("any access key", "big_cloudtrail.json", 1)],
    }
    .check(d);
}

#[test]
fn azure_event_hub_records_by_category() {
    let dir = tempfile::tempdir().unwrap();
    let f = "azure_eventhub.json";
    Case {
        own: &[
            (
                "single factor legacy auth",
                "product: azure\nservice: signinlogs",
                "selection:\n    ResultType: 0\n    AuthenticationRequirement: singleFactorAuthentication\n    userAgent|contains: BAV2ROPC\n    DeviceDetail.trusttype: ''\ncondition: selection",
            ),
            (
                "role assigned",
                "product: azure\nservice: auditlogs",
                "selection:\n    Category: RoleManagement\n    targetResources.type: Role\ncondition: selection",
            ),
            // The sign-in's caller IP: an activity log rule must not see the sign-in record.
            (
                "activity from ip",
                "product: azure\nservice: activitylogs",
                "selection:\n    callerIpAddress: 198.51.100.7\ncondition: selection",
            ),
            (
                "vm started",
                "product: azure\nservice: activitylogs",
                "selection:\n    CategoryValue: Administrative\n    operationName|endswith: /START/ACTION\ncondition: selection",
            ),
        ],
        corpus: &[(
            "cloud/azure/activity_logs/azure_network_security_modified_or_deleted.yml",
            &[(f, 0)],
        )],
        events: &[fixture(f)],
        extra: &[],
        want: &[
            ("single factor legacy auth", f, 2),
            ("role assigned", f, 3),
            ("vm started", f, 1),
        ],
    }
    .check(dir.path());
}

#[test]
fn okta_system_log_array() {
    let dir = tempfile::tempdir().unwrap();
    let f = "okta_system_log.json";
    Case {
        own: &[
            (
                "default policy touched",
                "product: okta\nservice: okta",
                "selection:\n    target.displayName: Default Policy\ncondition: selection",
            ),
            (
                "okta login",
                "product: okta\nservice: okta",
                "selection:\n    eventType: user.session.start\n    outcome.result: SUCCESS\n    actor.alternateId|endswith: '@example.com'\ncondition: selection",
            ),
        ],
        corpus: &[(
            "identity/okta/okta_policy_rule_modified_or_deleted.yml",
            &[(f, 0)],
        )],
        events: &[fixture(f)],
        extra: &[],
        want: &[("default policy touched", f, 0), ("okta login", f, 1)],
    }
    .check(dir.path());
}

#[test]
fn google_cloud_audit_log_entries() {
    let dir = tempfile::tempdir().unwrap();
    let f = "gcp_audit.jsonl";
    Case {
        own: &[(
            "vm started by dev",
            "product: gcp\nservice: gcp.audit",
            "selection:\n    gcp.audit.method_name|endswith: instances.start\n    protoPayload.authenticationInfo.principalEmail: dev@example.com\ncondition: selection",
        )],
        corpus: &[
            (
                "cloud/gcp/audit/gcp_firewall_rule_modified_or_deleted.yml",
                &[(f, 0)],
            ),
            (
                "cloud/gcp/gworkspace/admin/gcp_gworkspace_application_removed.yml",
                &[(f, 2)],
            ),
        ],
        events: &[fixture(f)],
        extra: &[],
        want: &[("vm started by dev", f, 1)],
    }
    .check(dir.path());
}

#[test]
fn zeek_json_logs_by_path_and_by_file_name_and_logsource() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let own: [Own; 3] = [
        (
            "dns answer",
            "product: zeek\nservice: dns",
            "selection:\n    answers: 198.51.100.23\n    id.resp_p: 53\ncondition: selection",
        ),
        (
            "generic dns category",
            "category: dns",
            "selection:\n    query|endswith: minexmr.org\n    record_type: A\ncondition: selection",
        ),
        (
            "zeek http query field",
            "product: zeek\nservice: http",
            "selection:\n    query|contains: xmr\ncondition: selection",
        ),
    ];
    // The same DNS log in Zeek's default TSV form (routed by its `#path` header).
    let tsv = "zeek_dns_tsv.log";
    let (dns, stream) = ("dns.log", "zeek_stream.ndjson");
    Case {
        own: &own,
        corpus: &[
            (
                "network/zeek/zeek_dns_mining_pools.yml",
                &[(dns, 1), (tsv, 1), (stream, 2)],
            ),
            (
                "network/zeek/zeek_http_executable_download_from_webdav.yml",
                &[(stream, 0)],
            ),
        ],
        events: &[fixture(dns), fixture(stream), fixture(tsv)],
        extra: &[],
        want: &[
            ("dns answer", dns, 1),
            ("dns answer", tsv, 1),
            ("generic dns category", stream, 2),
        ],
    }
    .check(d);

    // A copy that neither `_path` nor its name routes: every rule is tried without
    // `--logsource`, only that source's rules with it.
    let other = d.join("capture.json");
    std::fs::copy(fixture(dns), &other).unwrap();
    let rules = own_rules(d, &own);
    let r = run(&rules, std::slice::from_ref(&other), &[]);
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
        &rules,
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
    let f = "sysmon_linux.log";
    let j = "sysmon_linux_journal.json";
    Case {
        own: &[
            (
                "linux outbound 443",
                "product: linux\ncategory: network_connection",
                "selection:\n    DestinationPort: 443\n    Image|endswith: /base64\ncondition: selection",
            ),
            (
                "windows base64",
                "product: windows\ncategory: process_creation",
                "selection:\n    Image|endswith: /base64\ncondition: selection",
            ),
            // The same event read from journald (`journalctl -o json`: the XML in `MESSAGE`).
            (
                "journald sysmon",
                "product: linux\ncategory: process_creation",
                "selection:\n    SYSLOG_IDENTIFIER: sysmon\n    ParentImage: /usr/bin/bash\ncondition: selection",
            ),
        ],
        corpus: &[(
            "linux/process_creation/proc_creation_lnx_base64_decode.yml",
            &[(f, 0), (j, 1)],
        )],
        events: &[fixture(f), fixture(j)],
        extra: &[],
        // The cron line is not an event: the Sysmon events are records 0, 1 and 2.
        want: &[("linux outbound 443", f, 2), ("journald sysmon", j, 1)],
    }
    .check(dir.path());
}

#[test]
fn auditd_records_grouped_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let f = "audit.log";
    Case {
        own: &[
            (
                "ls of a spaced dir",
                "product: linux\nservice: auditd",
                "selection:\n    type: EXECVE\n    a0: ls\n    a2: /tmp/my dir\ncondition: selection",
            ),
            (
                "uname execve",
                "product: linux\nservice: auditd",
                "selection:\n    type: SYSCALL\n    SYSCALL: execve\n    key: exec\n    exe|endswith: /uname\ncondition: selection",
            ),
            (
                "failed root login",
                "product: linux\nservice: auditd",
                "selection:\n    type: USER_LOGIN\n    acct: root\n    res: failed\ncondition: selection",
            ),
            (
                "sshd_config read",
                "product: linux\nservice: auditd",
                "selection:\n    proctitle: cat /etc/ssh/sshd_config\n    success: 'no'\ncondition: selection",
            ),
        ],
        corpus: &[(
            "linux/auditd/lnx_auditd_system_info_discovery.yml",
            &[(f, 1)],
        )],
        events: &[fixture(f)],
        extra: &[],
        // Events in the order they start: serial 24287, 42, 43 (its records interleave with
        // 42's), 50.
        want: &[
            ("sshd_config read", f, 0),
            ("uname execve", f, 1),
            ("ls of a spaced dir", f, 2),
            ("failed root login", f, 3),
        ],
    }
    .check(dir.path());
}

#[test]
fn defender_fields_with_spaces_serve_windefend_names() {
    let dir = tempfile::tempdir().unwrap();
    let f = "defender.jsonl";
    Case {
        own: &[
            (
                "mimikatz found",
                "product: windows\nservice: windefend",
                "selection:\n    ThreatName|contains: Mimikatz\n    SourceName: Real-Time Protection\n    DetectionUser|endswith: \\bob\ncondition: selection",
            ),
            (
                "av signature",
                "category: antivirus",
                "selection:\n    Signature|contains: mimikatz\n    Filename|endswith: mimikatz.exe\ncondition: selection",
            ),
        ],
        // Record 1 is svchost.exe, which the rule's `ProcessName` filter excludes.
        corpus: &[(
            "windows/builtin/windefend/win_defender_asr_lsass_access.yml",
            &[(f, 0)],
        )],
        events: &[fixture(f)],
        extra: &[],
        want: &[("mimikatz found", f, 2), ("av signature", f, 2)],
    }
    .check(dir.path());
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
    let [any_key, login] = own_rules(d, &[ANY_ACCESS_KEY, FAILED_ROOT_LOGIN])
        .try_into()
        .unwrap();
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
    Case {
        own: &[
            FAILED_ROOT_LOGIN,
            (
                "dns answer",
                "product: zeek\nservice: dns",
                "selection:\n    query: testmyids.com\ncondition: selection",
            ),
        ],
        corpus: &[],
        events: &[events],
        extra: &[],
        want: &[
            ("failed root login", "audit.log.1", 3),
            ("dns answer", "dns.log", 0),
        ],
    }
    .check(d);
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
        Case {
            own: &[("own rule", logsource, detection)],
            corpus: &[(corpus_rel, &[(file, corpus_hit)])],
            events: &[fixture(file)],
            extra: &["--logsource", ls],
            // The hand-written rule matches the other event: record 0.
            want: &[("own rule", file, 0)],
        }
        .check(dir.path());
    }
}
