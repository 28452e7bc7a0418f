//! The rule the LSP tests edit (included with `#[macro_use] #[path = "common/lsp_rule.rs"] mod
//! lsp_rule;`): a process-creation rule with one mistake, `endwith` for `endswith` on line 8
//! (0-based), whose quick fix the tests apply.

/// The rule's text, with `$tests` (a string literal: `test` lines, or nothing) before its
/// closing brace; a `&'static str`.
macro_rules! net_user_add {
    ($tests:literal) => {
        concat!(
            r#"rule net_user_add {
  title "net user add"
  id 5c6f2f0e-0000-4000-8000-000000000001
  status experimental
  level high
  attack T1136.001
  logsource product=windows category=process_creation

  net = Image endwith "\net.exe"
  add = CommandLine contains all "user", "/add"

  condition net and add
"#,
            $tests,
            "}\n"
        )
    };
}
