//! Every `kql-sentinel` analytic rule detc emits passes the checks Microsoft's Azure-Sentinel
//! repository runs on a scheduled analytic rule template
//! (Azure/Azure-Sentinel `.script/tests/detectionTemplateSchemaValidation/`: `Models/
//! ScheduledTemplateInternalModel.cs`, `Models/ValidEntityMappingsAttribute.cs`,
//! `Models/EntityMappingIdentifiers.cs`, `Models/ModelValidationAttributes/
//! NoTechniquesWithoutMatchingTactics.cs` and `KillChainTechniquesHelper.cs`), re-expressed here
//! over the emitted YAML (parsed with serde_yaml): for the shipped pack and for the whole SigmaHQ
//! corpus. The technique table and the entity identifiers are written out below on their own,
//! not read from `targets/kql-sentinel/attack.yaml`, so that a wrong data file cannot pass.

#[path = "target_util.rs"]
mod util;

use std::collections::{BTreeMap, BTreeSet};

use detc::ir::Rule;
use detc::target::Outcome;

/// KillChainTechniquesHelper.cs: tactic -> techniques (ICS ids left out).
const TECHNIQUES: &str = "\
PreAttack: T1583 T1584 T1585 T1586 T1587 T1588 T1589 T1590 T1591 T1592 T1593 T1594 T1595 T1596 T1597 T1598
InitialAccess: T1078 T1091 T1133 T1195 T1199 T1200 T1189 T1190 T1566
Persistence: T1037 T1053 T1078 T1098 T1136 T1137 T1176 T1197 T1133 T1205 T1505 T1525 T1542 T1543 T1546 T1547 T1554 T1574 T1556
PrivilegeEscalation: T1037 T1053 T1055 T1068 T1078 T1134 T1484 T1543 T1546 T1547 T1548 T1574 T1611
DefenseEvasion: T1006 T1014 T1027 T1036 T1055 T1070 T1078 T1112 T1127 T1134 T1140 T1197 T1202 T1205 T1207 T1211 T1216 T1218 T1220 T1221 T1222 T1480 T1484 T1497 T1535 T1542 T1548 T1550 T1553 T1556 T1562 T1564 T1574 T1578 T1599 T1600 T1601 T1612 T1610
CredentialAccess: T1003 T1040 T1056 T1110 T1111 T1187 T1212 T1528 T1539 T1552 T1555 T1556 T1557 T1558 T1606 T1613 T1614 T1621
Discovery: T1007 T1010 T1012 T1016 T1018 T1033 T1040 T1046 T1049 T1057 T1069 T1082 T1083 T1087 T1120 T1124 T1135 T1201 T1217 T1482 T1497 T1518 T1526 T1538 T1580
LateralMovement: T1021 T1072 T1080 T1091 T1210 T1534 T1550 T1563 T1570
Execution: T1047 T1053 T1059 T1072 T1106 T1129 T1203 T1204 T1559 T1569
Collection: T1005 T1025 T1039 T1056 T1074 T1113 T1114 T1115 T1119 T1123 T1125 T1185 T1213 T1530 T1557 T1560 T1602 T1609 T1610
Exfiltration: T1011 T1020 T1029 T1030 T1041 T1048 T1052 T1537 T1567
CommandAndControl: T1001 T1008 T1071 T1090 T1092 T1095 T1102 T1104 T1105 T1132 T1205 T1219 T1568 T1571 T1572 T1573
Impact: T1485 T1486 T1489 T1490 T1491 T1495 T1496 T1498 T1499 T1529 T1531 T1561 T1565
Reconnaissance: T1595 T1592 T1589 T1590 T1591 T1598 T1597 T1596 T1593 T1594
ResourceDevelopment: T1583 T1586 T1584 T1587 T1585 T1588 T1608";

/// An entity type, its identifiers and its required identifier sets (any one of them).
type Entity = (
    &'static str,
    &'static [&'static str],
    &'static [&'static [&'static str]],
);

/// EntityMappingIdentifiers.cs: entity type -> (identifiers, required identifier sets).
const ENTITIES: &[Entity] = &[
    (
        "Account",
        &[
            "Name",
            "FullName",
            "NTDomain",
            "DnsDomain",
            "UPNSuffix",
            "Sid",
            "AadTenantId",
            "AadUserId",
            "PUID",
            "IsDomainJoined",
            "DisplayName",
            "ObjectGuid",
        ],
        &[
            &["FullName"],
            &["Sid"],
            &["Name"],
            &["AadUserId"],
            &["PUID"],
            &["ObjectGuid"],
        ],
    ),
    ("AzureResource", &["ResourceId"], &[&["ResourceId"]]),
    (
        "CloudApplication",
        &["AppId", "Name", "InstanceName"],
        &[&["AppId"], &["Name"]],
    ),
    ("DNS", &["DomainName"], &[&["DomainName"]]),
    ("File", &["Directory", "Name"], &[&["Name"]]),
    (
        "FileHash",
        &["Algorithm", "Value"],
        &[&["Algorithm", "Value"]],
    ),
    (
        "Host",
        &[
            "DnsDomain",
            "NTDomain",
            "HostName",
            "FullName",
            "NetBiosName",
            "AzureID",
            "OMSAgentID",
            "OSFamily",
            "OSVersion",
            "IsDomainJoined",
        ],
        &[
            &["FullName"],
            &["HostName"],
            &["NetBiosName"],
            &["AzureID"],
            &["OMSAgentID"],
        ],
    ),
    ("IP", &["Address"], &[&["Address"]]),
    (
        "Mailbox",
        &[
            "MailboxPrimaryAddress",
            "DisplayName",
            "Upn",
            "ExternalDirectoryObjectId",
            "RiskLevel",
        ],
        &[&["MailboxPrimaryAddress"]],
    ),
    ("Malware", &["Name", "Category"], &[&["Name"]]),
    (
        "Process",
        &[
            "ProcessId",
            "CommandLine",
            "ElevationToken",
            "CreationTimeUtc",
        ],
        &[&["CommandLine"], &["ProcessId"]],
    ),
    ("RegistryKey", &["Hive", "Key"], &[&["Key"], &["Hive"]]),
    (
        "RegistryValue",
        &["Name", "Value", "ValueType"],
        &[&["Name"]],
    ),
    (
        "SecurityGroup",
        &["DistinguishedName", "SID", "ObjectGuid"],
        &[&["DistinguishedName"], &["SID"], &["ObjectGuid"]],
    ),
    ("URL", &["Url"], &[&["Url"]]),
];

/// What a check needs besides the file: the technique table and the table schemas.
struct Checker {
    tactics_of: BTreeMap<String, BTreeSet<String>>,
    all_tactics: BTreeSet<String>,
    schema: BTreeMap<String, BTreeMap<String, String>>,
    column: regex::Regex,
    technique: regex::Regex,
}

impl Checker {
    fn new() -> Checker {
        let mut tactics_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut all_tactics = BTreeSet::new();
        for line in TECHNIQUES.lines() {
            let (tactic, ids) = line.split_once(':').unwrap();
            all_tactics.insert(tactic.to_string());
            for id in ids.split_whitespace() {
                tactics_of
                    .entry(id.to_string())
                    .or_default()
                    .insert(tactic.to_string());
            }
        }
        // The target's own table schemas (targets/kql-sentinel/schema/), as detc reads them.
        let schema = detc::target::load_spec_target("kql-sentinel", None)
            .unwrap()
            .tables;
        Checker {
            tactics_of,
            all_tactics,
            schema,
            column: regex::Regex::new(r"^[a-zA-Z_]+\w*$").unwrap(),
            technique: regex::Regex::new(r"^T\d{4}(\.\d{3})?$").unwrap(),
        }
    }

    /// The columns the query's output has: the group-by columns of a `summarize ... by`
    /// (correlations), else the columns of the table it reads and the ones it `extend`s.
    fn output_columns(&self, query: &str) -> BTreeSet<String> {
        if let Some(line) = query.lines().find(|l| l.starts_with("| summarize ")) {
            let by = line.split(" by ").nth(1).unwrap_or_default();
            return by
                .split(", ")
                .filter(|c| !c.starts_with("bin("))
                .map(str::to_string)
                .collect();
        }
        let table = query.lines().next().unwrap_or_default().trim();
        let mut cols: BTreeSet<String> = self
            .schema
            .get(table)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for line in query.lines().filter(|l| l.starts_with("| extend ")) {
            for part in line["| extend ".len()..].split(", ") {
                if let Some((name, _)) = part.split_once(" = ") {
                    cols.insert(name.trim().to_string());
                }
            }
        }
        cols
    }

    /// Every violation of Sentinel's template checks in one emitted file.
    fn check(&self, text: &str) -> Vec<String> {
        let mut bad = Vec::new();
        let y: serde_yaml::Value = match serde_yaml::from_str(text) {
            Ok(y) => y,
            Err(e) => return vec![format!("not YAML: {e}")],
        };
        let query = y["query"].as_str().unwrap_or_default();
        let len = query.encode_utf16().count();
        if !(1..=10_000).contains(&len) {
            bad.push(format!("query length {len} not in 1..=10000"));
        }
        let freq = duration(&y["queryFrequency"]);
        let period = duration(&y["queryPeriod"]);
        let range = 5 * 60..=14 * 86_400;
        match (freq, period) {
            (Some(f), Some(p)) => {
                if !range.contains(&f) || !range.contains(&p) || p < f {
                    bad.push(format!(
                        "queryFrequency {f}s / queryPeriod {p}s out of range"
                    ));
                }
            }
            _ => bad.push("queryFrequency/queryPeriod not durations".into()),
        }
        match y["triggerThreshold"].as_u64() {
            Some(t) if t <= 10_000 => {}
            t => bad.push(format!("triggerThreshold {t:?}")),
        }
        let op = y["triggerOperator"].as_str().unwrap_or_default();
        if !["gt", "lt", "eq", "ne"].contains(&op) {
            bad.push(format!("triggerOperator {op:?}"));
        }
        let sev = y["severity"].as_str().unwrap_or_default();
        if !["Informational", "Low", "Medium", "High"].contains(&sev) {
            bad.push(format!("severity {sev:?}"));
        }
        let tactics: BTreeSet<String> = y["tactics"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for t in &tactics {
            if !self.all_tactics.contains(t) {
                bad.push(format!("unknown tactic {t}"));
            }
        }
        for t in y["relevantTechniques"].as_sequence().into_iter().flatten() {
            let t = t.as_str().unwrap_or_default();
            if !self.technique.is_match(t) {
                bad.push(format!("technique {t:?} is not T#### or T####.###"));
                continue;
            }
            let base = t.split('.').next().unwrap();
            match self.tactics_of.get(base) {
                None => bad.push(format!("technique {t} is not in Sentinel's table")),
                Some(need) => {
                    for n in need.difference(&tactics) {
                        bad.push(format!("technique {t} needs tactic {n}"));
                    }
                }
            }
        }
        let columns = self.output_columns(query);
        let maps = y["entityMappings"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        if !(1..=5).contains(&maps.len()) {
            bad.push(format!("{} entity mappings, not 1..=5", maps.len()));
        }
        for m in &maps {
            let ty = m["entityType"].as_str().unwrap_or_default();
            let Some((_, ids, required)) = ENTITIES.iter().find(|e| e.0 == ty) else {
                bad.push(format!("unknown entity type {ty:?}"));
                continue;
            };
            let fields = m["fieldMappings"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            if !(1..=3).contains(&fields.len()) {
                bad.push(format!("{ty}: {} field mappings, not 1..=3", fields.len()));
            }
            let mut seen = BTreeSet::new();
            for f in &fields {
                let id = f["identifier"].as_str().unwrap_or_default();
                let col = f["columnName"].as_str().unwrap_or_default();
                if !ids.contains(&id) || !seen.insert(id) {
                    bad.push(format!("{ty}: identifier {id:?} invalid or repeated"));
                }
                if !self.column.is_match(col) || col.len() > 500 {
                    bad.push(format!("{ty}: column name {col:?}"));
                }
                if !columns.contains(col) {
                    bad.push(format!("{ty}: column {col} is not in the query's output"));
                }
            }
            if !required
                .iter()
                .any(|set| set.iter().all(|r| seen.contains(r)))
            {
                bad.push(format!("{ty}: none of the required identifier sets"));
            }
        }
        bad
    }
}

/// `5m`, `1h`, `14d` (the form Sentinel's YAML templates use) or an ISO-8601 `PT1H`/`P1D`.
fn duration(v: &serde_yaml::Value) -> Option<u64> {
    let s = v.as_str()?;
    let (num, unit) = if let Some(iso) = s.strip_prefix("PT").or_else(|| s.strip_prefix('P')) {
        iso.split_at(iso.len() - 1)
    } else {
        s.split_at(s.len().checked_sub(1)?)
    };
    let n: u64 = num.parse().ok()?;
    Some(
        n * match unit.to_ascii_lowercase().as_str() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        },
    )
}

/// Compile `rules` for kql-sentinel: the emitted files and the skips by code.
fn build(rules: &[Rule]) -> (Vec<(String, String)>, BTreeMap<&'static str, usize>) {
    let (mut files, mut skips) = (Vec::new(), BTreeMap::new());
    for (r, o) in util::packs::compile_all(rules, "kql-sentinel") {
        match o {
            Outcome::Compiled(c) => {
                files.extend(c.files.into_iter().map(|f| (r.name.clone(), f.contents)))
            }
            Outcome::Skipped(d) => *skips.entry(d.code).or_default() += 1,
        }
    }
    (files, skips)
}

fn violations(files: &[(String, String)]) -> Vec<String> {
    let c = Checker::new();
    files
        .iter()
        .flat_map(|(name, text)| {
            c.check(text)
                .into_iter()
                .map(move |v| format!("{name}: {v}"))
        })
        .collect()
}

#[test]
fn shipped_rules_deploy_to_sentinel() {
    let rules = util::packs::shipped();
    assert!(rules.len() > 80, "{}", rules.len());
    let (files, skips) = build(&rules);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(files.len(), rules.len());
    let bad = violations(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn sigmahq_corpus_deploys_to_sentinel() {
    let Some(rules) = util::packs::sigmahq() else {
        return;
    };
    let (files, skips) = build(&rules);
    eprintln!(
        "kql-sentinel over {} SigmaHQ rules: {} files, skipped {skips:?}",
        rules.len(),
        files.len()
    );
    assert!(files.len() > 2000, "{}", files.len());
    let bad = violations(&files);
    assert!(
        bad.is_empty(),
        "{} violations:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // Every analytic rule has its own id, the parts of a split rule included.
    let ids: BTreeSet<&str> = files
        .iter()
        .filter_map(|(_, text)| text.lines().find_map(|l| l.strip_prefix("id: ")))
        .collect();
    assert_eq!(ids.len(), files.len());
    // The queries longer than Sentinel accepts are split into parts that fit (16 rules of the
    // corpus of 2026-12, in 90 files); one whose long list sits under `not` cannot be split and
    // is skipped, never emitted.
    let parts = files
        .iter()
        .filter(|(_, text)| text.contains("(part "))
        .count();
    assert!(parts >= 32, "{parts} part files");
    assert!(
        skips.get("query-too-long").is_some_and(|n| *n > 0),
        "{skips:?}"
    );
}

/// The checker itself rejects what Sentinel rejects (the output detc emitted before).
#[test]
fn checker_rejects_what_sentinel_rejects() {
    let c = Checker::new();
    let ok = "queryFrequency: 1h\nqueryPeriod: 1h\ntriggerOperator: gt\ntriggerThreshold: 0\n\
        severity: High\ntactics: [\"InitialAccess\", \"Persistence\", \"PrivilegeEscalation\", \"DefenseEvasion\"]\n\
        relevantTechniques: [\"T1078.002\"]\nquery: \"SecurityEvent\\n| where EventID == 4625\"\n\
        entityMappings:\n  - entityType: Host\n    fieldMappings:\n      - identifier: HostName\n        columnName: Computer\n";
    assert_eq!(c.check(ok), Vec::<String>::new());
    for (from, to) in [
        ("T1078.002", "T1685.001"),
        ("\"DefenseEvasion\"]", "\"Execution\"]"),
        ("HostName", "Address"),
        ("Computer", "DeviceName"),
        ("entityType: Host", "entityType: Hostname"),
        ("queryPeriod: 1h", "queryPeriod: 15d"),
        ("queryFrequency: 1h", "queryFrequency: 2h"),
    ] {
        let bad = ok.replace(from, to);
        assert!(!c.check(&bad).is_empty(), "{from} -> {to} passes:\n{bad}");
    }
    let empty = ok.replace(
        "entityMappings:\n  - entityType: Host\n    fieldMappings:\n      - identifier: HostName\n        columnName: Computer\n",
        "entityMappings: []\n",
    );
    assert!(!c.check(&empty).is_empty());
    let long = ok.replace("EventID == 4625", &"x".repeat(10_001));
    assert!(!c.check(&long).is_empty());
}

/// What Sentinel would refuse is skipped with a reason: a correlation whose output has no
/// entity column, a window over 14 days, a query over 10,000 characters.
#[test]
fn undeployable_rules_are_skipped_with_a_reason() {
    let base = "rule failed {\n  title \"Failed logon\"\n  level low\n  logsource product=windows service=security\n  sel = EventID 4625\n  condition sel\n}\n";
    let corr = |group: &str, span: &str| {
        format!("{base}correlation c {{\n  title \"Many\"\n  level medium\n  type event_count\n  rules failed\n  group-by {group}\n  timespan {span}\n  condition gte 10\n}}\n")
    };
    let t = util::target("kql-sentinel");
    let outcome = |text: &str| {
        let (rules, exprs) = util::pack(text);
        util::compile(&t, &rules, &exprs, rules.len() - 1)
    };
    match outcome(&corr("LogonType", "1h")) {
        Outcome::Skipped(d) => {
            assert_eq!(d.code, "unsupported");
            assert!(d.message.contains("entity mapping"), "{}", d.message);
        }
        o => panic!("{o:?}"),
    }
    match outcome(&corr("TargetUserName", "15d")) {
        Outcome::Skipped(d) => assert!(d.message.contains("14 days"), "{}", d.message),
        o => panic!("{o:?}"),
    }
    match outcome(&corr("IpAddress", "14d")) {
        Outcome::Compiled(c) => {
            let bad = Checker::new().check(&c.files[0].contents);
            assert!(bad.is_empty(), "{bad:?}\n{}", c.files[0].contents);
        }
        o => panic!("{o:?}"),
    }
    // A long value list under `not` cannot be cut into parts whose union is the rule.
    let long = long_rule("not sel");
    match outcome(&long) {
        Outcome::Skipped(d) => {
            assert_eq!(d.code, "query-too-long");
            assert!(d.message.contains("at most 10000"), "{}", d.message);
            assert!(d.loc.is_some());
        }
        o => panic!("{o:?}"),
    }
    // Defender sets no limit: the same rule compiles there.
    let (rules, exprs) = util::pack(&long);
    assert!(matches!(
        util::compile(&util::target("kql-defender"), &rules, &exprs, 0),
        Outcome::Compiled(_)
    ));
}

/// A rule of 400 `CommandLine contains` values (`sel`) and a filter, with `condition`.
fn long_rule(condition: &str) -> String {
    let values: Vec<String> = (0..400).map(|i| format!("\"value number {i}\"")).collect();
    format!(
        "rule long {{\n  title \"Long\"\n  id 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10\n  level low\n  logsource product=windows service=security\n  sel = CommandLine contains {}\n  filter = SubjectUserName \"admin\"\n  condition {condition}\n}}\n",
        values.join(", ")
    )
}

/// A query longer than Sentinel accepts whose long part is a disjunction is split into
/// analytic rules that each fit (`<rule>_part<i>`, own id, "(part i of n)" title), every one
/// keeping the rest of the condition; each value is in exactly one part, so the parts'
/// results together are the rule's. Each part passes Sentinel's template checks.
#[test]
fn long_disjunctions_are_split_into_rules_that_fit() {
    let t = util::target("kql-sentinel");
    let (rules, exprs) = util::pack(&long_rule("sel and not filter"));
    let c = match util::compile(&t, &rules, &exprs, 0) {
        Outcome::Compiled(c) => c,
        o => panic!("{o:?}"),
    };
    assert_eq!(c.query, None);
    let n = c.parts.len();
    assert!(n >= 2, "{n} parts");
    assert_eq!(c.files.len(), n);
    let mut ids = BTreeSet::new();
    for (i, (q, f)) in c.parts.iter().zip(&c.files).enumerate() {
        assert!(q.encode_utf16().count() <= 10_000, "part {i}: {}", q.len());
        assert!(q.contains(r#"not(SubjectUserName =~ "admin")"#), "{q}");
        assert_eq!(f.path, format!("kql-sentinel/long_part{}.yaml", i + 1));
        assert!(f
            .contents
            .contains(&format!("name: \"Long (part {} of {n})\"", i + 1)));
        let bad = Checker::new().check(&f.contents);
        assert!(bad.is_empty(), "{bad:?}\n{}", f.contents);
        ids.insert(
            f.contents
                .lines()
                .find(|l| l.starts_with("id: "))
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), n, "every part has its own id");
    for v in 0..400 {
        let lit = format!("\"value number {v}\"");
        let in_parts = c.parts.iter().filter(|q| q.contains(&lit)).count();
        assert_eq!(in_parts, 1, "{lit}");
    }
    // A rule that fits is one rule, as before.
    let (rules, exprs) = util::pack(&util::rule_src(
        "short",
        "product=windows service=security",
        "  sel = EventID 4625\n  condition sel",
    ));
    match util::compile(&t, &rules, &exprs, 0) {
        Outcome::Compiled(c) => assert!(c.parts.is_empty() && c.query.is_some()),
        o => panic!("{o:?}"),
    }
}
