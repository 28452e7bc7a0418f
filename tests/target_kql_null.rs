//! Null safety of the KQL targets: a test that Kusto evaluates to null (an IPv6 address given
//! to `ipv4_is_in_range`, text given to a number comparison, a missing value) must never make a
//! negated condition drop a row that Sigma keeps. Kusto's `where` keeps only `true`, and
//! `not(null)` is null, so every predicate under `not` has to be total.
//!
//! The emitted condition is read back with a small parser for the shapes the renderer writes
//! (`not(...)`, `(...)`, ` and `, ` or `, `coalesce(..., false)`, leaf tests) and evaluated in
//! Kusto's three-valued logic, for every assignment of true / false / null to the leaf tests;
//! the row must be kept exactly when Sigma's two-valued result (null = no match) is true.

// The Sigma closures spell each condition as written, not simplified.
#![allow(clippy::nonminimal_bool)]

#[path = "target_util.rs"]
mod util;

use util::*;

/// Kusto's three-valued booleans: `None` is null.
type K = Option<bool>;

#[derive(Debug)]
enum E {
    Not(Box<E>),
    And(Vec<E>),
    Or(Vec<E>),
    Coalesce(Box<E>),
    Leaf(String),
}

struct P<'a> {
    s: &'a str,
    i: usize,
}

impl P<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn expr(&mut self) -> E {
        let mut ors = vec![self.and()];
        while self.eat(" or ") {
            ors.push(self.and());
        }
        if ors.len() == 1 {
            ors.pop().unwrap()
        } else {
            E::Or(ors)
        }
    }
    fn and(&mut self) -> E {
        let mut ands = vec![self.primary()];
        while self.eat(" and ") {
            ands.push(self.primary());
        }
        if ands.len() == 1 {
            ands.pop().unwrap()
        } else {
            E::And(ands)
        }
    }
    fn primary(&mut self) -> E {
        if self.eat("not(") {
            let e = self.expr();
            assert!(self.eat(")"), "unclosed not( at {}", self.rest());
            return E::Not(Box::new(e));
        }
        if self.eat("coalesce(") {
            let e = self.expr();
            assert!(self.eat(", false)"), "bad coalesce at {}", self.rest());
            return E::Coalesce(Box::new(e));
        }
        if self.eat("(") {
            let e = self.expr();
            assert!(self.eat(")"), "unclosed ( at {}", self.rest());
            return e;
        }
        // A leaf test: up to the next top-level ` and `, ` or `, `)` or `, ` (the end of the
        // coalesce that encloses it), skipping string literals and nested calls.
        let start = self.i;
        let b = self.s.as_bytes();
        let (mut depth, mut in_str) = (0usize, false);
        while self.i < b.len() {
            let c = b[self.i];
            if in_str {
                match c {
                    b'\\' => self.i += 1,
                    b'"' => in_str = false,
                    _ => {}
                }
            } else if depth == 0
                && (c == b')'
                    || self.rest().starts_with(" and ")
                    || self.rest().starts_with(" or ")
                    || self.rest().starts_with(", false)"))
            {
                break;
            } else {
                match c {
                    b'"' => in_str = true,
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
            }
            self.i += 1;
        }
        E::Leaf(self.s[start..self.i].to_string())
    }
}

fn parse(cond: &str) -> E {
    let mut p = P { s: cond, i: 0 };
    let e = p.expr();
    assert_eq!(p.rest(), "", "unparsed rest of {cond}");
    e
}

/// Kusto semantics: null propagates through `not`, and/or are Kleene's.
fn kusto(e: &E, leaf: &dyn Fn(&str) -> K) -> K {
    match e {
        E::Leaf(t) => leaf(t),
        E::Not(x) => kusto(x, leaf).map(|b| !b),
        E::Coalesce(x) => Some(kusto(x, leaf).unwrap_or(false)),
        E::And(xs) => {
            let vs: Vec<K> = xs.iter().map(|x| kusto(x, leaf)).collect();
            if vs.contains(&Some(false)) {
                Some(false)
            } else if vs.contains(&None) {
                None
            } else {
                Some(true)
            }
        }
        E::Or(xs) => {
            let vs: Vec<K> = xs.iter().map(|x| kusto(x, leaf)).collect();
            if vs.contains(&Some(true)) {
                Some(true)
            } else if vs.contains(&None) {
                None
            } else {
                Some(false)
            }
        }
    }
}

/// Leaf tests of the rules below, by a literal that only that test contains: each can be
/// true, false, or null (a malformed or missing value).
const LEAVES: [(&str, &str); 4] = [
    ("a", "10.0.0.0/8"),
    ("b", "fe80::/10"),
    ("c", "1024"),
    ("d", "\\\\evil.exe"),
];

/// Detection lines (network_connection) whose selections are the leaves above.
const SELECTIONS: &str = "  a = DestinationIp cidr \"10.0.0.0/8\"\n  b = SourceIp cidr \"fe80::/10\"\n  c = DestinationPort gte 1024\n  d = Image endswith \"\\evil.exe\"\n";

/// Sigma's meaning of the same conditions, over the leaves' two-valued results (null = false).
type Sigma = fn(&[bool; 4]) -> bool;
const CONDITIONS: [(&str, Sigma); 9] = [
    ("not a", |v| !v[0]),
    ("not b", |v| !v[1]),
    ("not c", |v| !v[2]),
    ("d and not (a or b)", |v| v[3] && !(v[0] || v[1])),
    ("not (a and not c)", |v| !(v[0] && !v[2])),
    ("not (not a)", |v| v[0]),
    ("not (a or not (b and c))", |v| !(v[0] || !(v[1] && v[2]))),
    ("a or not c", |v| v[0] || !v[2]),
    ("not (d or (a and b)) or c", |v| {
        !(v[3] || (v[0] && v[1])) || v[2]
    }),
];

fn condition_of(query: &str) -> &str {
    let at = query.rfind("| where ").expect("a where clause");
    &query[at + "| where ".len()..]
}

#[test]
fn negated_tests_that_can_be_null_keep_sigma_semantics() {
    for target in ["kql-defender", "kql-sentinel"] {
        for (cond, sigma) in CONDITIONS {
            let q = query(
                target,
                "product=windows category=network_connection",
                &format!("{SELECTIONS}  condition {cond}"),
            )
            .unwrap_or_else(|e| panic!("{target} {cond}: {e}"));
            let tree = parse(condition_of(&q));
            // Every assignment of true / false / null to the four leaves; the string test `d`
            // is never null in Kusto (strings are never null), the others can be.
            for code in 0..81u32 {
                let states: Vec<K> = (0..4)
                    .map(|i| match (code / 3u32.pow(i)) % 3 {
                        0 => Some(false),
                        1 => Some(true),
                        _ if i == 3 => Some(false),
                        _ => None,
                    })
                    .collect();
                let leaf = |t: &str| -> K {
                    let i = LEAVES
                        .iter()
                        .position(|(_, lit)| t.contains(lit))
                        .unwrap_or_else(|| panic!("{target}: unknown leaf `{t}` in {q}"));
                    states[i]
                };
                let kept = kusto(&tree, &leaf) == Some(true);
                let two: [bool; 4] = std::array::from_fn(|i| states[i] == Some(true));
                assert_eq!(
                    kept,
                    sigma(&two),
                    "{target}: `{cond}` with leaves {states:?} (None = null)\n{q}"
                );
            }
        }
    }
}

/// The colleague's report: an IPv6 address under `not(... ipv4_is_in_range ...)`.
#[test]
fn ipv6_address_under_negated_ipv4_range_is_not_dropped() {
    for (target, column) in [("kql-defender", "RemoteIP"), ("kql-sentinel", "RemoteIP")] {
        let q = query(
            target,
            "product=windows category=network_connection",
            "  a = DestinationIp cidr \"10.0.0.0/8\"\n  condition not a",
        )
        .unwrap();
        assert_eq!(
            condition_of(&q),
            format!("not(coalesce(ipv4_is_in_range({column}, \"10.0.0.0/8\"), false))"),
            "{target}"
        );
        // ipv4_is_in_range("2001:db8::1", ...) is null: the row must be kept.
        let tree = parse(condition_of(&q));
        assert_eq!(kusto(&tree, &|_| None), Some(true), "{target}");
    }
}

/// Numbers compared with a field mapped to a text expression are parsed first (`todouble`);
/// equality is total in Kusto (`null == 17` is false), order comparisons are guarded.
#[test]
fn numbers_on_text_expressions_are_parsed_and_guarded() {
    let q = query(
        "kql-sentinel",
        "product=windows service=firewall-as",
        "  a = Action 3\n  b = Protocol 17\n  condition a and not b",
    )
    .unwrap();
    assert_eq!(
        condition_of(&q),
        "todouble(tostring(EventData.Action)) == 3 and not(todouble(tostring(EventData.Protocol)) == 17)"
    );
    // An order comparison on text is null in Kusto (`todouble("x") > 17`): guarded.
    let q = query(
        "kql-sentinel",
        "product=windows service=firewall-as",
        "  b = Protocol gt 17\n  condition not b",
    )
    .unwrap();
    assert_eq!(
        condition_of(&q),
        "not(coalesce(todouble(tostring(EventData.Protocol)) > 17, false))"
    );
    // A plain column keeps the plain comparison.
    let q = query(
        "kql-sentinel",
        "product=windows service=security",
        "  a = EventID 4624\n  condition a",
    )
    .unwrap();
    assert_eq!(condition_of(&q), "EventID == 4624");
}

/// Kusto reads IPv4 text as its mapped IPv6 address, Sigma never puts an IPv4 address in an
/// IPv6 network: networks that overlap `::ffff:0:0/96` exclude IPv4 text first; others do not
/// need to.
#[test]
fn ipv6_networks_overlapping_the_mapped_range_exclude_ipv4_text() {
    for target in ["kql-defender", "kql-sentinel"] {
        let q = |net: &str, cond: &str| {
            let src = format!("  a = DestinationIp cidr \"{net}\"\n  condition {cond}");
            let q = query(target, "product=windows category=network_connection", &src).unwrap();
            condition_of(&q).to_string()
        };
        for net in ["::ffff:10.0.0.0/104", "::/0", "::ffff:0.0.0.0/96", "::/64"] {
            assert_eq!(
                q(net, "a"),
                format!("(isnull(parse_ipv4(RemoteIP)) and ipv6_is_in_range(RemoteIP, \"{net}\"))"),
                "{target} {net}"
            );
            assert_eq!(
                q(net, "not a"),
                format!("not(coalesce((isnull(parse_ipv4(RemoteIP)) and ipv6_is_in_range(RemoteIP, \"{net}\")), false))"),
                "{target} {net}"
            );
        }
        for net in ["fe80::/10", "2001:db8::/32", "::1/128"] {
            assert_eq!(
                q(net, "a"),
                format!("ipv6_is_in_range(RemoteIP, \"{net}\")"),
                "{target} {net}"
            );
        }
    }
}

/// Long or-chains are split into grouped runs (Kusto.Language rejects deep chains); the
/// grouping keeps every operand once and the meaning of the chain.
#[test]
fn long_chains_are_grouped_without_changing_meaning() {
    let values: Vec<String> = (0..100).map(|i| format!("\"v{i:03}x\"")).collect();
    for target in ["kql-defender", "kql-sentinel"] {
        let q = query(
            target,
            PROC,
            &format!(
                "  a = CommandLine contains {}\n  condition not a",
                values.join(", ")
            ),
        )
        .unwrap();
        let cond = condition_of(&q);
        let tree = parse(cond);
        for v in &values {
            assert_eq!(cond.matches(v.as_str()).count(), 1, "{target}: {v}");
        }
        // No run of more than 32 operands at any level.
        fn widest(e: &E) -> usize {
            match e {
                E::And(xs) | E::Or(xs) => xs.iter().map(widest).max().unwrap_or(0).max(xs.len()),
                E::Not(x) | E::Coalesce(x) => widest(x),
                E::Leaf(_) => 0,
            }
        }
        assert!(widest(&tree) <= 32, "{target}: {cond}");
        // not(any of them): true only when every leaf is false.
        for hit in [None, Some(0), Some(57), Some(99)] {
            let leaf = |t: &str| Some(hit.is_some_and(|i| t.contains(&format!("v{i:03}x"))));
            assert_eq!(kusto(&tree, &leaf), Some(hit.is_none()), "{target} {hit:?}");
        }
    }
}

/// Kusto's "Null values" reference: `==` between a null and a non-null value is `false`, and
/// `bool` columns compare with `==` too, so `not(RemotePort == 9100)` keeps a row whose
/// RemotePort is null, as Sigma does: equality and booleans are written without a guard,
/// while `>=` (null on null) keeps it. The three-valued check below evaluates the emitted
/// condition with the equality leaf false (never null) on a missing value.
#[test]
fn equality_under_negation_needs_no_guard() {
    for target in ["kql-defender", "kql-sentinel"] {
        let q = query(
            target,
            "product=windows category=network_connection",
            "  e = DestinationPort 9100\n  c = DestinationPort gte 1024\n  condition not e and not c",
        )
        .unwrap();
        assert_eq!(
            condition_of(&q),
            "not(RemotePort == 9100) and not(coalesce(RemotePort >= 1024, false))",
            "{target}"
        );
        // RemotePort null: `==` is false (documented), `>=` is null.
        let tree = parse(condition_of(&q));
        let leaf = |t: &str| -> K {
            if t.contains(" == ") {
                Some(false)
            } else {
                None
            }
        };
        assert_eq!(kusto(&tree, &leaf), Some(true), "{target}: {q}");
    }
}

/// A text field compared with a boolean compares text with text (`=~ "true"`, as detc match
/// reads `"True"`), never `tostring(...) == true`.
#[test]
fn booleans_on_text_fields_compare_text() {
    let q = query(
        "kql-sentinel",
        "product=windows category=image_load",
        "  a = Signed true\n  b = Image endswith \"x.exe\"\n  condition b and not a",
    )
    .unwrap();
    assert!(
        condition_of(&q).ends_with("not(tostring(EventData.Signed) =~ \"true\")"),
        "{q}"
    );
}
