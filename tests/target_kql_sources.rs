//! The log sources the KQL targets read beyond the Windows Sysmon-style categories (cloud,
//! identity, Linux, macOS, network devices, Zeek, a Windows channel): one sample rule per
//! family (tests/kql_sources.det) compiles for `kql-sentinel` and `kql-defender` against the
//! table this test names, and its query and artifact are kept as insta snapshots. With the
//! Kusto parser installed (tests/kql), every query also passes Kusto.Language's analysis
//! against the target's schema/ tables.

#[path = "target_util.rs"]
mod util;

use detc::target::{Backend, Ctx, Outcome};
use util::*;

const SAMPLES: &str = include_str!("kql_sources.det");

/// Rule -> (table kql-sentinel reads, table kql-defender reads, the `note` kql-defender gives,
/// if any: a Sentinel workspace table rather than a Defender XDR one).
const EXPECTED: &[(&str, &str, &str, bool)] = &[
    (
        "aws_iam_user_created",
        "AWSCloudTrail",
        "AWSCloudTrail",
        true,
    ),
    (
        "azure_keyvault_deleted",
        "AzureActivity",
        "AzureActivity",
        true,
    ),
    (
        "azure_risk_leaked_credentials",
        "AADUserRiskEvents",
        "AADUserRiskEvents",
        true,
    ),
    ("azure_role_member_added", "AuditLogs", "AuditLogs", true),
    (
        "azure_signin_legacy_client",
        "SigninLogs",
        "SigninLogs",
        true,
    ),
    (
        "cisco_aaa_show_config",
        "CommonSecurityLog",
        "CommonSecurityLog",
        true,
    ),
    ("gcp_sink_deleted", "GCPAuditLogs", "GCPAuditLogs", true),
    (
        "github_repo_public",
        "GitHubAuditLogsV2_CL",
        "GitHubAuditLogsV2_CL",
        true,
    ),
    ("k8s_secret_read", "AKSAudit", "AKSAudit", true),
    ("lnx_auditd_memfd", "Syslog", "Syslog", true),
    (
        "lnx_network_miner_port",
        "DeviceNetworkEvents",
        "DeviceNetworkEvents",
        false,
    ),
    ("lnx_sshd_error", "Syslog", "Syslog", true),
    ("m365_inbox_rule", "OfficeActivity", "CloudAppEvents", false),
    ("opencanary_ssh_login", "Syslog", "Syslog", true),
    // Issue 11's last log sources: custom `_CL` tables (the rule's fields as written), the
    // Cisco Duo, OneLogin and Corelight (Zeek) connector tables and FortiGate's key=value
    // syslog text.
    ("rpcfw_atsvc_call", "RPCFirewall_CL", "RPCFirewall_CL", true),
    (
        "ps_classic_encoded_host",
        "WindowsPowerShell_CL",
        "WindowsPowerShell_CL",
        true,
    ),
    (
        "win_dpapi_key_read",
        "WindowsFileAccess_CL",
        "WindowsFileAccess_CL",
        true,
    ),
    (
        "bitbucket_export_triggered",
        "BitbucketAudit_CL",
        "BitbucketAudit_CL",
        true,
    ),
    (
        "m365_suspicious_ip_alert",
        "M365ThreatManagement_CL",
        "M365ThreatManagement_CL",
        true,
    ),
    ("pim_no_mfa_activation", "AzurePIM_CL", "AzurePIM_CL", true),
    (
        "gworkspace_mfa_disabled",
        "GoogleWorkspaceAdmin_CL",
        "GoogleWorkspaceAdmin_CL",
        true,
    ),
    (
        "onelogin_user_locked",
        "OneLoginEventsV2_CL",
        "OneLoginEventsV2_CL",
        true,
    ),
    ("duo_bypass_code", "CiscoDuo_CL", "CiscoDuo_CL", true),
    ("fortigate_admin_added", "Syslog", "Syslog", true),
    (
        "zeek_smb_psexec_pipe",
        "Corelight_v2_smb_files_CL",
        "Corelight_v2_smb_files_CL",
        true,
    ),
    (
        "jvm_jndi_lookup",
        "JvmApplication_CL",
        "JvmApplication_CL",
        true,
    ),
    (
        "macos_launchagent_file",
        "DeviceFileEvents",
        "DeviceFileEvents",
        false,
    ),
    (
        "macos_osascript_prompt",
        "DeviceProcessEvents",
        "DeviceProcessEvents",
        false,
    ),
    ("okta_mfa_reset", "Okta_CL", "Okta_CL", true),
    (
        "win_bits_remote_download",
        "WindowsEvent",
        "WindowsEvent",
        true,
    ),
    ("zeek_dns_txt_query", "_Im_Dns()", "_Im_Dns()", true),
    (
        "zeek_http_curl_ua",
        "_Im_WebSession()",
        "_Im_WebSession()",
        true,
    ),
    (
        "proxy_script_download_by_extension",
        "WebProxy_CL",
        "WebProxy_CL",
        true,
    ),
    (
        "zeek_dns_rejected_query",
        "Corelight_v2_dns_CL",
        "Corelight_v2_dns_CL",
        true,
    ),
];

#[test]
fn every_new_log_source_family_compiles_to_its_table() {
    let (rules, exprs) = pack(SAMPLES);
    assert_eq!(
        rules.len(),
        EXPECTED.len(),
        "one expectation per sample rule"
    );
    let cx = Ctx {
        rules: &rules,
        exprs: &exprs,
    };
    let mut queries: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for t in ["kql-sentinel", "kql-defender"] {
        let b = target(t);
        let mut out = String::new();
        let mut qs = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let &(_, sentinel, defender, noted) = EXPECTED
                .iter()
                .find(|e| e.0 == r.name)
                .unwrap_or_else(|| panic!("no expectation for {}", r.name));
            let c = match b.compile(i, &cx) {
                Outcome::Compiled(c) => c,
                Outcome::Skipped(d) => panic!("{t}: {} skipped: {}", r.name, d.message),
            };
            let q = c.query.clone().expect("query");
            let table = if t == "kql-sentinel" {
                sentinel
            } else {
                defender
            };
            assert_eq!(q.lines().next(), Some(table), "{t}: {} reads\n{q}", r.name);
            let note = c.files.iter().any(|f| f.contents.contains("// data: "));
            if t == "kql-defender" {
                assert_eq!(note, noted, "{t}: {} data note\n{q}", r.name);
            }
            out.push_str(&format!("## {}\n{q}\n", r.name));
            for f in &c.files {
                out.push_str(&format!("--- {}\n{}", f.path, f.contents));
            }
            out.push('\n');
            qs.push((r.name.clone(), q));
        }
        insta::assert_snapshot!(format!("kql_sources_{t}"), out);
        queries.push((t.to_string(), qs));
    }
    if kql_ready() {
        for (t, qs) in &queries {
            for r in kusto(t, qs) {
                assert!(
                    r["errors"].as_array().is_some_and(|e| e.is_empty()),
                    "{t}: {r}"
                );
            }
        }
    }
}
