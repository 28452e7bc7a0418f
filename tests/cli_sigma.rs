//! The CLI over Sigma input: mixed `.det` and `.yml` packs, `--keep-going`, placeholders, and
//! `detc convert` in both directions.

mod common;

use common::{detc, stderr as err};

const SIGMA_OK: &str = r#"title: Whoami run by a web server
id: 0a1b2c3d-1111-4222-8333-444455556666
status: experimental
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        ParentImage|endswith: '\w3wp.exe'
        Image|endswith: '\whoami.exe'
    condition: selection
level: high
"#;

const SIGMA_BAD: &str = r#"title: Broken
id: 0a1b2c3d-1111-4222-8333-444455556667
logsource:
    product: windows
detection:
    selection:
        Image|endswitch: '\x.exe'
    condition: selection
level: high
"#;

const DSL_OK: &str = r#"rule net_user_add {
  title "Local account created with net.exe"
  id 0a1b2c3d-1111-4222-8333-444455556668
  status experimental
  level medium
  logsource product=windows category=process_creation
  net = Image endswith "\net.exe", "\net1.exe"
  add = CommandLine contains all " user ", "/add"
  condition net and add
  test hit { Image: "C:\Windows\System32\net.exe", CommandLine: "net user bob P@ss /add" }
  test miss { Image: "C:\Windows\System32\net.exe", CommandLine: "net user bob" }
}
"#;

const SIGMA_PLACEHOLDER: &str = r#"title: Admin logon
id: 0a1b2c3d-1111-4222-8333-444455556669
status: experimental
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
        TargetUserName|expand: '%Administrators%'
    condition: selection
level: low
"#;

#[test]
fn builds_a_mixed_pack_of_dsl_and_sigma() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("in")).unwrap();
    std::fs::write(t.path().join("in/webshell_whoami.yml"), SIGMA_OK).unwrap();
    std::fs::write(t.path().join("in/net.det"), DSL_OK).unwrap();
    let o = detc(t.path(), &["build", "in", "--target", "sigma"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(t.path().join("dist/sigma/webshell_whoami.yml").is_file());
    assert!(t.path().join("dist/sigma/net_user_add.yml").is_file());
}

#[test]
fn an_error_stops_the_build_unless_keep_going() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("in")).unwrap();
    std::fs::write(t.path().join("in/good_rule.yml"), SIGMA_OK).unwrap();
    std::fs::write(t.path().join("in/broken_rule.yml"), SIGMA_BAD).unwrap();
    let o = detc(t.path(), &["build", "in", "--target", "sigma"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("broken_rule.yml:7:"),
        "points at the YAML line: {}",
        err(&o)
    );
    assert!(
        !t.path().join("dist").exists(),
        "nothing written without --keep-going"
    );

    let o = detc(
        t.path(),
        &["build", "in", "--target", "sigma", "--keep-going"],
    );
    assert_eq!(o.status.code(), Some(1), "still exit 1: {}", err(&o));
    assert!(t.path().join("dist/sigma/good_rule.yml").is_file());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("dist/manifest.json")).unwrap())
            .unwrap();
    let failed = manifest["failed"].as_array().expect("failed rules listed");
    assert!(
        failed
            .iter()
            .any(|f| f["source"].as_str().unwrap().ends_with("broken_rule.yml")),
        "{manifest}"
    );
}

#[test]
fn placeholders_come_from_a_file() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("admin_logon.yml"), SIGMA_PLACEHOLDER).unwrap();
    let o = detc(t.path(), &["check", "admin_logon.yml", "--target", "sigma"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("unresolved-placeholder"), "{}", err(&o));
    std::fs::write(
        t.path().join("ph.yml"),
        "Administrators:\n  - admin\n  - 'adm_*'\n",
    )
    .unwrap();
    let o = detc(
        t.path(),
        &[
            "check",
            "admin_logon.yml",
            "--target",
            "sigma",
            "--placeholders",
            "ph.yml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn convert_round_trips_between_sigma_and_dsl() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("sigma/web")).unwrap();
    std::fs::write(t.path().join("sigma/web/webshell_whoami.yml"), SIGMA_OK).unwrap();
    // One file, no --out: stdout.
    let o = detc(
        t.path(),
        &["convert", "--to", "dsl", "sigma/web/webshell_whoami.yml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let dsl = String::from_utf8(o.stdout).unwrap();
    assert!(dsl.starts_with("rule webshell_whoami {"), "{dsl}");
    assert!(dsl.contains(r#"ParentImage endswith "\w3wp.exe""#), "{dsl}");
    // A folder: mirrored under --out, formatted as `detc fmt` formats.
    let o = detc(
        t.path(),
        &["convert", "--to", "dsl", "sigma", "--out", "dsl"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let converted = t.path().join("dsl/web/webshell_whoami.det");
    assert_eq!(std::fs::read_to_string(&converted).unwrap(), dsl);
    let o = detc(t.path(), &["fmt", "--check", "dsl"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // And back to Sigma: the same rule.
    let o = detc(
        t.path(),
        &["convert", "--to", "sigma", "dsl/web/webshell_whoami.det"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let yaml = String::from_utf8(o.stdout).unwrap();
    assert!(
        yaml.contains("ParentImage|endswith: '\\w3wp.exe'"),
        "{yaml}"
    );
    assert!(
        yaml.contains("id: 0a1b2c3d-1111-4222-8333-444455556666"),
        "{yaml}"
    );
}
