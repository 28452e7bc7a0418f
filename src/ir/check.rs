//! Front-end independent checks on the IR: metadata, selections, modifiers and values.
//!
//! Front ends report what only they can see (syntax, unknown modifier names, YAML shape); every
//! semantic rule of the Sigma specification is checked here, once, for both front ends.

use std::collections::HashMap;

use super::norm::{normalize, NormOptions};
use super::{Cond, Detection, Matcher, Modifier, Rule, RuleBody, Value};
use crate::diag::{Diagnostic, Span};

pub const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
pub const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// ATT&CK tactic names as Sigma tags them (`attack.defense-evasion`).
pub const ATTACK_TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "defense-impairment",
    "stealth",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Check one rule. `opts` is used to normalise the condition (placeholders).
pub fn check_rule(rule: &Rule, opts: NormOptions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_meta(rule, &mut out);
    if let RuleBody::Detection(det) = &rule.body {
        check_detection(rule, det, &mut out);
        if !out.iter().any(Diagnostic::is_error) {
            if let Err(errs) = normalize(rule, opts) {
                out.extend(errs);
            }
        }
    }
    out
}

fn check_meta(rule: &Rule, out: &mut Vec<Diagnostic>) {
    let m = &rule.meta;
    if m.title.trim().is_empty() {
        out.push(
            Diagnostic::error(
                "missing-title",
                format!("rule `{}` has no title", rule.name),
            )
            .at(rule.loc)
            .expected("a `title` line"),
        );
    }
    if let Some(id) = &m.id {
        if uuid::Uuid::parse_str(&id.value).is_err() {
            out.push(
                Diagnostic::error("invalid-uuid", format!("`{}` is not a UUID", id.value))
                    .at(rule.loc(id.span))
                    .label("not a UUID")
                    .expected("a UUID such as 8c0c8f9e-3a2b-4f7e-9a51-2b1f4a3c9d10"),
            );
        }
    }
    if let Some(s) = &m.status {
        if !STATUSES.contains(&s.value.as_str()) {
            out.push(
                Diagnostic::error("invalid-status", format!("unknown status `{}`", s.value))
                    .at(rule.loc(s.span))
                    .expected(STATUSES.join(", ")),
            );
        }
    }
    if let Some(l) = &m.level {
        if !LEVELS.contains(&l.value.as_str()) {
            out.push(
                Diagnostic::error("invalid-level", format!("unknown level `{}`", l.value))
                    .at(rule.loc(l.span))
                    .expected(LEVELS.join(", ")),
            );
        }
    }
    for t in &m.tags {
        if let Some(rest) = t.value.strip_prefix("attack.") {
            if !valid_attack_tag(rest) {
                out.push(
                    Diagnostic::error(
                        "invalid-attack-tag",
                        format!(
                            "`{}` is not an ATT&CK technique, group, software or tactic",
                            t.value
                        ),
                    )
                    .at(rule.loc(t.span))
                    .label("malformed ATT&CK id")
                    .expected(
                        "T1234, T1234.001, G0032, S0246 or a tactic name such as defense-evasion",
                    ),
                );
            }
        }
    }
}

/// `t1234`, `t1234.001`, `g0032`, `s0246`, `c0022`, `m1042`, `ds0005`, `ta0005`, or a tactic
/// name.
pub fn valid_attack_tag(rest: &str) -> bool {
    let lower = rest.to_ascii_lowercase();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if ATTACK_TACTICS.contains(&lower.as_str()) {
        return true;
    }
    if let Some(t) = lower.strip_prefix("ta") {
        return digits(t, 4);
    }
    if let Some(t) = lower.strip_prefix('t') {
        return match t.split_once('.') {
            Some((a, b)) => digits(a, 4) && digits(b, 3),
            None => digits(t, 4),
        };
    }
    // Groups, software, campaigns, mitigations and data sources: one letter (two for data
    // sources) and four digits.
    for prefix in ["g", "s", "c", "m", "ds"] {
        if let Some(t) = lower.strip_prefix(prefix) {
            if digits(t, 4) {
                return true;
            }
        }
    }
    false
}

fn check_detection(rule: &Rule, det: &Detection, out: &mut Vec<Diagnostic>) {
    if det.selections.is_empty() {
        out.push(
            Diagnostic::error("empty-detection", "the detection has no selections")
                .at(rule.loc)
                .expected("at least one selection and a condition"),
        );
        return;
    }
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for sel in &det.selections {
        if let Some(first) = seen.insert(&sel.name, sel.span) {
            out.push(
                Diagnostic::error(
                    "duplicate-selection",
                    format!("selection `{}` is defined twice", sel.name),
                )
                .at(rule.loc(sel.span))
                .secondary(rule.loc(first), "first defined here"),
            );
        }
        if sel.groups.is_empty() || sel.groups.iter().any(|g| g.is_empty()) {
            out.push(
                Diagnostic::error(
                    "empty-selection",
                    format!("selection `{}` is empty", sel.name),
                )
                .at(rule.loc(sel.span))
                .expected("at least one field matcher or keyword"),
            );
        }
        // pySigma's condition parser reads `note` as `not e`; such a rule would not load in
        // the reference tools, so the name is flagged where it is written.
        // `get`: a name may start with a multi-byte character (found by tests/lsp_props.rs).
        if sel.name.len() > 3
            && sel
                .name
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("not"))
            && sel.name[3..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            out.push(
                Diagnostic::warning(
                    "pysigma-incompatible-name",
                    format!(
                        "selection name `{}` starts with `not`, which pySigma reads as `not {}`",
                        sel.name,
                        &sel.name[3..]
                    ),
                )
                .at(rule.loc(sel.span))
                .expected("a name that does not start with `not`"),
            );
        }
        for m in sel.groups.iter().flatten() {
            check_matcher(rule, m, out);
        }
    }
    // Undefined and unused selections.
    let mut used = vec![false; det.selections.len()];
    // Name -> first selection of that name (a condition naming 100,000 selections must not
    // scan them for each name).
    let mut index: rustc_hash::FxHashMap<&str, usize> = Default::default();
    for (i, s) in det.selections.iter().enumerate() {
        index.entry(s.name.as_str()).or_insert(i);
    }
    walk_cond(&det.condition, &mut |c| match c {
        Cond::Sel(name) => match index.get(name.value.as_str()).copied() {
            Some(i) => used[i] = true,
            None => out.push(
                Diagnostic::error(
                    "undefined-selection",
                    format!("selection `{}` is not defined", name.value),
                )
                .at(rule.loc(name.span))
                .label("used here")
                .expected(format!(
                    "one of the selections: {}",
                    det.selections
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
        },
        Cond::Of(_, target) => {
            let mut any = false;
            for (i, s) in det.selections.iter().enumerate() {
                if super::norm::of_matches(&target.value, &s.name) {
                    used[i] = true;
                    any = true;
                }
            }
            if !any {
                out.push(
                    Diagnostic::error(
                        "undefined-selection",
                        "no selection matches this pattern".to_string(),
                    )
                    .at(rule.loc(target.span))
                    .label("matches nothing"),
                );
            }
        }
        _ => {}
    });
    for (i, s) in det.selections.iter().enumerate() {
        if !used[i] {
            out.push(
                Diagnostic::warning(
                    "unused-selection",
                    format!("selection `{}` is not used in the condition", s.name),
                )
                .at(rule.loc(s.span))
                .label("never used"),
            );
        }
    }
}

pub fn walk_cond<'a>(c: &'a Cond, f: &mut impl FnMut(&'a Cond)) {
    f(c);
    match c {
        Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| walk_cond(x, f)),
        Cond::Not(x) => walk_cond(x, f),
        Cond::Sel(_) | Cond::Of(..) => {}
    }
}

/// Pairs of modifiers that cannot be combined, with the reason.
const CONFLICTS: &[(Modifier, Modifier, &str)] = &[
    (
        Modifier::Re,
        Modifier::Contains,
        "a regular expression is already unanchored",
    ),
    (
        Modifier::Re,
        Modifier::StartsWith,
        "anchor the regular expression with ^ instead",
    ),
    (
        Modifier::Re,
        Modifier::EndsWith,
        "anchor the regular expression with $ instead",
    ),
    (
        Modifier::Re,
        Modifier::Cased,
        "regular expressions are case-sensitive; use `i` for the opposite",
    ),
    (
        Modifier::Re,
        Modifier::Windash,
        "write the alternatives into the regular expression",
    ),
    (
        Modifier::Cidr,
        Modifier::Contains,
        "a network is not a substring",
    ),
    (
        Modifier::Cidr,
        Modifier::StartsWith,
        "a network is not a prefix",
    ),
    (
        Modifier::Cidr,
        Modifier::EndsWith,
        "a network is not a suffix",
    ),
    (
        Modifier::Cidr,
        Modifier::Re,
        "a network is not a regular expression",
    ),
    (
        Modifier::Base64,
        Modifier::Base64Offset,
        "choose one base64 form",
    ),
    (
        Modifier::Exists,
        Modifier::All,
        "`exists` takes a single true or false",
    ),
    (
        Modifier::FieldRef,
        Modifier::Re,
        "a field reference is not a regular expression",
    ),
    (
        Modifier::FieldRef,
        Modifier::Cidr,
        "a field reference is not a network",
    ),
];

fn check_matcher(rule: &Rule, m: &Matcher, out: &mut Vec<Diagnostic>) {
    let loc = rule.loc(m.span);
    let combo = |msg: String| {
        Diagnostic::error("invalid-modifier-combination", msg)
            .at(loc)
            .label("these modifiers conflict")
    };
    for (a, b, why) in CONFLICTS {
        if m.has(*a) && m.has(*b) {
            out.push(combo(format!("`{a}` cannot be combined with `{b}`: {why}")));
        }
    }
    for md in &m.modifiers {
        if md.is_re_flag() && !m.has(Modifier::Re) {
            out.push(combo(format!("`{md}` is a flag of `re` and needs it")));
        }
    }
    let encodings_without_b64 = m.modifiers.iter().any(|x| {
        matches!(
            x,
            Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 | Modifier::Wide
        )
    }) && !m.has(Modifier::Base64)
        && !m.has(Modifier::Base64Offset);
    if encodings_without_b64 {
        out.push(combo(
            "a UTF-16 encoding needs `base64` or `base64offset` after it (raw UTF-16 bytes cannot be searched as text)".into(),
        ));
    }
    let exclusive = [Modifier::Exists, Modifier::Cidr, Modifier::FieldRef];
    for x in exclusive {
        if m.has(x)
            && m.modifiers
                .iter()
                .any(|o| o.is_encoding() || o.is_numeric_cmp())
        {
            out.push(combo(format!(
                "`{x}` cannot be combined with encodings or comparisons"
            )));
        }
    }
    if m.modifiers.iter().any(|x| x.is_numeric_cmp())
        && m.modifiers.iter().any(|x| {
            x.is_position() || x.is_encoding() || *x == Modifier::Re || *x == Modifier::Windash
        })
    {
        out.push(combo(
            "numeric comparisons cannot be combined with string modifiers".into(),
        ));
    }
    if m.modifiers.iter().filter(|x| x.is_numeric_cmp()).count() > 1 {
        out.push(combo(
            "use one comparison per matcher (write two matchers for a range)".into(),
        ));
    }
    if m.field.is_none()
        && m.modifiers
            .iter()
            .any(|x| *x == Modifier::Exists || *x == Modifier::FieldRef || x.is_numeric_cmp())
    {
        out.push(combo("keyword matchers have no field to test".into()));
    }
    if m.has(Modifier::All) && m.values.len() < 2 {
        out.push(
            Diagnostic::error(
                "all-single-value",
                "`all` on a single value: the specification forbids it",
            )
            .at(loc)
            .expected("two or more values, or drop `all`"),
        );
    }
    if m.values.is_empty() {
        out.push(
            Diagnostic::error("empty-values", "matcher has no values")
                .at(loc)
                .expected("at least one value"),
        );
    }
    if m.values.len() > 1 && m.values.iter().any(|v| matches!(v, Value::Null)) {
        out.push(
            Diagnostic::error("null-in-list", "`null` cannot be part of a list of values")
                .at(loc)
                .note("put the null check in its own selection and combine them in the condition"),
        );
    }
    if m.has(Modifier::Exists) && !m.values.iter().all(|v| matches!(v, Value::Bool(_))) {
        out.push(
            Diagnostic::error("invalid-value", "`exists` takes true or false")
                .at(loc)
                .expected("true or false"),
        );
    }
    for v in &m.values {
        let text = match v {
            Value::Str(s) => s.as_plain().unwrap_or_else(|| s.to_sigma()),
            _ => continue,
        };
        if m.has(Modifier::Re) {
            let flags = format!(
                "{}{}{}",
                if m.has(Modifier::ReI) { "i" } else { "" },
                if m.has(Modifier::ReM) { "m" } else { "" },
                if m.has(Modifier::ReS) { "s" } else { "" },
            );
            if let Err(e) = crate::eval::regex::validate(&text, &flags) {
                out.push(
                    Diagnostic::error("invalid-regex", format!("invalid regular expression: {e}"))
                        .at(loc)
                        .label("this value")
                        .expected("a regular expression in Sigma's PCRE subset"),
                );
            }
        }
        if m.has(Modifier::Cidr)
            && text.trim().parse::<ipnet::IpNet>().is_err()
            && text.trim().parse::<std::net::IpAddr>().is_err()
        {
            out.push(
                Diagnostic::error("invalid-cidr", format!("`{text}` is not a CIDR network"))
                    .at(loc)
                    .expected("an IPv4 or IPv6 network such as 10.0.0.0/8 or fc00::/7"),
            );
        }
        // `10.1.2.3/16` is read as its network, 10.1.0.0/16; pySigma rejects it ("host bits
        // set"), so say what detc made of it rather than silently reinterpreting.
        if let Some(net) = m
            .has(Modifier::Cidr)
            .then(|| text.trim().parse::<ipnet::IpNet>().ok())
            .flatten()
            .filter(|n| *n != n.trunc())
        {
            out.push(
                Diagnostic::warning(
                    "cidr-host-bits",
                    format!(
                        "`{text}` has host bits set; it is read as `{}`",
                        net.trunc()
                    ),
                )
                .at(loc)
                .expected(format!("`{}`", net.trunc()))
                .note("pySigma rejects such a network; write the network address"),
            );
        }
    }
}

/// Pack-level checks: duplicate rule ids and names.
pub fn check_pack(rules: &[Rule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut ids: HashMap<String, &Rule> = HashMap::new();
    let mut names: HashMap<&str, &Rule> = HashMap::new();
    for r in rules {
        if let Some(id) = &r.meta.id {
            let key = id.value.to_ascii_lowercase();
            if let Some(first) = ids.get(&key) {
                out.push(
                    Diagnostic::error(
                        "duplicate-id",
                        format!("rule id `{}` is used twice", id.value),
                    )
                    .at(r.loc(id.span))
                    .secondary(
                        first.loc(first.meta.id.as_ref().map(|i| i.span).unwrap_or_default()),
                        "first used here",
                    ),
                );
            } else {
                ids.insert(key, r);
            }
        }
        if let Some(first) = names.get(r.name.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("rule name `{}` is used twice", r.name),
                )
                .at(r.loc)
                .secondary(first.loc, "first used here"),
            );
        } else {
            names.insert(&r.name, r);
        }
    }
    out.extend(unknown_references(rules));
    out
}

/// A correlation's reference (by name, Sigma `name` or id) that no loaded rule answers: said
/// once here, as a warning at the reference with the closest rule name, rather than by every
/// target that cannot compile it. It is a warning because a correlation file may be checked on
/// its own (a pre-commit hook given the changed files); the correlation is not compiled or
/// evaluated (the caller marks it failed).
fn unknown_references(rules: &[Rule]) -> Vec<Diagnostic> {
    let known: std::collections::HashSet<&str> = rules
        .iter()
        .flat_map(|r| {
            [Some(r.name.as_str()), r.meta.sigma_name.as_deref(), r.id()]
                .into_iter()
                .flatten()
        })
        .collect();
    let mut out = Vec::new();
    // A suggestion reads every rule name: only the first few references get one, so that a
    // pack with thousands of unknown references stays linear.
    let mut suggestions_left = 16;
    for r in rules {
        let RuleBody::Correlation(c) = &r.body else {
            continue;
        };
        for n in c.rules.iter().filter(|n| !known.contains(n.value.as_str())) {
            let mut d = Diagnostic::warning(
                "unknown-rule",
                format!(
                    "correlation `{}` refers to `{}`, which no loaded rule has as its name or id",
                    r.name, n.value
                ),
            )
            .at(r.loc(n.span))
            .label("no such rule")
            .note(
                "the correlation is not compiled or evaluated; give detc the file that defines \
                 that rule too (or the whole folder)",
            );
            if suggestions_left > 0 {
                suggestions_left -= 1;
                if let Some(best) =
                    crate::dsl::lower::closest(&n.value, rules.iter().map(|r| r.name.as_str()))
                {
                    d = d.suggest(best);
                }
            }
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::valid_attack_tag;

    #[test]
    fn cidr_with_host_bits_is_a_warning() {
        let rule = |v: &str| {
            let text = format!(
                "title: t\nid: 5c6f2f0e-0000-4000-8000-000000000001\nstatus: test\nlevel: low\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A|cidr: '{v}'\n  condition: sel\n"
            );
            let (rules, diags) = crate::sigma::read(crate::diag::SourceId(0), &text);
            assert!(diags.is_empty(), "{diags:?}");
            super::check_rule(&rules[0], Default::default())
        };
        let d = rule("10.1.2.3/16");
        let w: Vec<_> = d.iter().filter(|d| d.code == "cidr-host-bits").collect();
        assert_eq!(w.len(), 1, "{d:?}");
        assert!(!w[0].is_error());
        assert!(w[0].message.contains("10.1.0.0/16"), "{}", w[0].message);
        for ok in ["10.1.0.0/16", "10.1.2.3", "fe80::/10"] {
            assert!(rule(ok).iter().all(|d| d.code != "cidr-host-bits"), "{ok}");
        }
    }

    #[test]
    fn selection_names_with_multibyte_characters_are_checked_without_panic() {
        let text = "rule r {\n  logsource product=windows\n  ab\u{e9}x = Image \"x\"\n  condition ab\u{e9}x\n}\n";
        let (rules, _) = crate::dsl::parse(crate::diag::SourceId(0), text);
        assert_eq!(rules.len(), 1);
        let _ = super::check_rule(&rules[0], Default::default());
    }

    #[test]
    fn attack_ids() {
        for ok in [
            "t1098",
            "T1136.001",
            "g0032",
            "s0246",
            "ds0005",
            "m1042",
            "c0022",
            "ta0005",
            "defense-evasion",
            "stealth",
        ] {
            assert!(valid_attack_tag(ok), "{ok}");
        }
        for bad in [
            "t12345",
            "t1136.01",
            "t113",
            "g032",
            "x0001",
            "defence-evasion",
            "t1136.",
        ] {
            assert!(!valid_attack_tag(bad), "{bad}");
        }
    }
}
