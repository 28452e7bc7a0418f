//! A canonical JSON form of the semantic expression ([`super::norm::Expr`]).
//!
//! Used to compare detc's reading of a rule with another implementation's (pySigma, see
//! `tests/pysigma/compare.py`) and to eyeball normalisation (`detc debug ir`). The form is
//! *canonical*: nested ANDs/ORs are flattened, children are deduplicated and sorted by their
//! serialised text, one-child groups collapse, double negations cancel and runs of `*` merge, so
//! two trees that differ only in these respects serialise to the same text.
//!
//! Shapes (one object per node):
//! - `{"and": [..]}`, `{"or": [..]}`, `{"not": x}`, `{"const": bool}`
//! - a predicate: `{"field": name|null, <test>}` where `<test>` is one of
//!   `"str": [pieces], "cased": bool` (a piece is a literal string, or `{"wild": "*"}` /
//!   `{"wild": "?"}`), `"regex": text, "flags": "ims"-subset`, `"cidr": "net/len"`,
//!   `"num": n, "op": "eq|gt|gte|lt|lte"`, `"bool": b`, `"null": true`, `"exists": b`,
//!   `"fieldref": other, "position": "exact|contains|startswith|endswith", "cased": bool`,
//!   `"timepart": part, "op": op, "value": n`.

use serde_json::{json, Map, Value as J};

use super::norm::{Expr, Number, Position, Pred, Test};
use super::{Piece, SigmaString};

/// Deepest expression the conversion descends into; deeper trees become `{"error": ...}` nodes
/// instead of overflowing the stack.
const MAX_DEPTH: usize = 256;

/// The canonical JSON form of an expression.
pub fn expr_json(e: &Expr) -> J {
    canon(e, 0)
}

/// The canonical JSON text of an expression (one line).
pub fn expr_text(e: &Expr) -> String {
    expr_json(e).to_string()
}

fn canon(e: &Expr, depth: usize) -> J {
    if depth > MAX_DEPTH {
        return json!({"error": "expression too deep"});
    }
    match e {
        Expr::And(xs) => group("and", xs, depth),
        Expr::Or(xs) => group("or", xs, depth),
        Expr::Not(x) => match &**x {
            Expr::Not(inner) => canon(inner, depth + 1),
            other => json!({"not": canon(other, depth + 1)}),
        },
        Expr::Const(b) => json!({"const": b}),
        Expr::Pred(p) => pred(p),
    }
}

/// A flattened, deduplicated, sorted AND/OR.
fn group(kind: &str, xs: &[Expr], depth: usize) -> J {
    let mut kids: Vec<(String, J)> = Vec::new();
    for x in xs {
        let c = canon(x, depth + 1);
        // A child of the same kind is spliced in (its own children are already canonical).
        match c.get(kind).and_then(J::as_array) {
            Some(inner) if c.as_object().is_some_and(|o| o.len() == 1) => {
                kids.extend(inner.iter().map(|j| (j.to_string(), j.clone())))
            }
            _ => kids.push((c.to_string(), c)),
        }
    }
    kids.sort_by(|a, b| a.0.cmp(&b.0));
    kids.dedup_by(|a, b| a.0 == b.0);
    match kids.len() {
        0 => json!({"const": kind == "and"}),
        1 => kids.pop().expect("one").1,
        _ => {
            let mut m = Map::new();
            m.insert(
                kind.to_string(),
                J::Array(kids.into_iter().map(|(_, j)| j).collect()),
            );
            J::Object(m)
        }
    }
}

fn number(n: Number) -> J {
    match n {
        Number::Int(i) => json!(i),
        Number::Float(f) => json!(f),
    }
}

fn position(p: Position) -> &'static str {
    match p {
        Position::Exact => "exact",
        Position::Contains => "contains",
        Position::StartsWith => "startswith",
        Position::EndsWith => "endswith",
    }
}

/// Pattern pieces; runs of `*` merge (they match the same strings) and empty literals vanish.
pub fn pieces_json(s: &SigmaString) -> J {
    let mut out: Vec<J> = Vec::new();
    let mut last_star = false;
    for p in &s.pieces {
        match p {
            Piece::Lit(t) if t.is_empty() => continue,
            Piece::Lit(t) => {
                // Adjacent literals are merged by SigmaString; guard anyway.
                if let Some(J::String(prev)) = out.last_mut() {
                    prev.push_str(t);
                } else {
                    out.push(J::String(t.clone()));
                }
                last_star = false;
            }
            Piece::Star => {
                if !last_star {
                    out.push(json!({"wild": "*"}));
                }
                last_star = true;
            }
            Piece::Qmark => {
                out.push(json!({"wild": "?"}));
                last_star = false;
            }
            Piece::Placeholder(n) => {
                out.push(json!({"placeholder": n}));
                last_star = false;
            }
        }
    }
    J::Array(out)
}

fn pred(p: &Pred) -> J {
    let mut m = Map::new();
    m.insert(
        "field".into(),
        p.field.as_ref().map_or(J::Null, |f| J::String(f.clone())),
    );
    let mut put = |k: &str, v: J| {
        m.insert(k.to_string(), v);
    };
    match &p.test {
        Test::Str { pattern, cased } => {
            put("str", pieces_json(pattern));
            put("cased", json!(cased));
        }
        Test::Regex { pattern, flags } => {
            let mut f = String::new();
            for (on, c) in [
                (flags.ignore_case, 'i'),
                (flags.multi_line, 'm'),
                (flags.dot_all, 's'),
            ] {
                if on {
                    f.push(c);
                }
            }
            put("regex", json!(pattern));
            put("flags", json!(f));
        }
        Test::Cidr(net) => put("cidr", json!(net.trunc().to_string())),
        Test::Num { op, value } => {
            put("num", number(*value));
            put("op", json!(op.name()));
        }
        Test::Bool(b) => put("bool", json!(b)),
        Test::Null => put("null", json!(true)),
        Test::Exists(b) => put("exists", json!(b)),
        Test::FieldRef {
            other,
            position: pos,
            cased,
        } => {
            put("fieldref", json!(other));
            put("position", json!(position(*pos)));
            put("cased", json!(cased));
        }
        Test::TimePart { part, op, value } => {
            put("timepart", json!(part.name()));
            put("op", json!(op.name()));
            put("value", json!(value));
        }
    }
    J::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::norm::ReFlags;
    use crate::ir::CmpOp;

    fn p(field: &str, pat: &str) -> Expr {
        Expr::Pred(Pred {
            field: Some(field.into()),
            test: Test::Str {
                pattern: SigmaString::parse(pat, false),
                cased: false,
            },
            span: Span::default(),
        })
    }

    fn t(field: Option<&str>, test: Test) -> Expr {
        Expr::Pred(Pred {
            field: field.map(String::from),
            test,
            span: Span::default(),
        })
    }

    #[test]
    fn string_pieces_and_wildcards() {
        assert_eq!(
            expr_text(&p("Image", "*\\cmd.exe")),
            r#"{"field":"Image","str":[{"wild":"*"},"\\cmd.exe"],"cased":false}"#
        );
        // Runs of stars merge; `?` does not.
        assert_eq!(expr_json(&p("a", "x**?y")), expr_json(&p("a", "x*?y")),);
        assert_ne!(expr_json(&p("a", "x??")), expr_json(&p("a", "x?")));
        // An escaped star is text, not a wildcard.
        assert_eq!(expr_json(&p("a", "x\\*"))["str"], json!(["x*"]),);
    }

    #[test]
    fn groups_flatten_sort_and_dedup() {
        let a = Expr::And(vec![p("b", "2"), Expr::And(vec![p("a", "1"), p("b", "2")])]);
        let b = Expr::And(vec![p("a", "1"), p("b", "2")]);
        assert_eq!(expr_text(&a), expr_text(&b));
        // Order of an OR does not matter; AND vs OR does.
        let o1 = Expr::Or(vec![p("a", "1"), p("b", "2")]);
        let o2 = Expr::Or(vec![p("b", "2"), p("a", "1")]);
        assert_eq!(expr_text(&o1), expr_text(&o2));
        assert_ne!(expr_text(&o1), expr_text(&b));
        // A one-child group is its child; an OR inside an AND is kept.
        assert_eq!(
            expr_text(&Expr::Or(vec![p("a", "1")])),
            expr_text(&p("a", "1"))
        );
        let nested = Expr::And(vec![p("c", "3"), o1.clone()]);
        assert_eq!(expr_json(&nested)["and"].as_array().unwrap().len(), 2);
        // A nested OR that collapses to one child still flattens correctly.
        let one = Expr::Or(vec![Expr::Or(vec![p("a", "1")]), p("b", "2")]);
        assert_eq!(expr_text(&one), expr_text(&o1));
    }

    #[test]
    fn negation_and_constants() {
        let x = p("a", "1");
        let nn = Expr::Not(Box::new(Expr::Not(Box::new(x.clone()))));
        assert_eq!(expr_text(&nn), expr_text(&x));
        assert_eq!(
            expr_json(&Expr::Not(Box::new(x))),
            json!({"not": {"field": "a", "str": ["1"], "cased": false}})
        );
        assert_eq!(expr_json(&Expr::And(vec![])), json!({"const": true}));
        assert_eq!(expr_json(&Expr::Or(vec![])), json!({"const": false}));
    }

    #[test]
    fn every_test_kind() {
        let cases = [
            (
                t(
                    Some("f"),
                    Test::Regex {
                        pattern: "a.*b".into(),
                        flags: ReFlags {
                            ignore_case: true,
                            multi_line: false,
                            dot_all: true,
                        },
                    },
                ),
                json!({"field": "f", "regex": "a.*b", "flags": "is"}),
            ),
            (
                t(Some("ip"), Test::Cidr("10.1.2.3/8".parse().unwrap())),
                json!({"field": "ip", "cidr": "10.0.0.0/8"}),
            ),
            (
                t(
                    Some("n"),
                    Test::Num {
                        op: CmpOp::Gte,
                        value: Number::Int(5),
                    },
                ),
                json!({"field": "n", "num": 5, "op": "gte"}),
            ),
            (
                t(Some("b"), Test::Bool(false)),
                json!({"field": "b", "bool": false}),
            ),
            (
                t(Some("z"), Test::Null),
                json!({"field": "z", "null": true}),
            ),
            (
                t(Some("e"), Test::Exists(true)),
                json!({"field": "e", "exists": true}),
            ),
            (
                t(
                    Some("a"),
                    Test::FieldRef {
                        other: "b".into(),
                        position: Position::EndsWith,
                        cased: true,
                    },
                ),
                json!({"field": "a", "fieldref": "b", "position": "endswith", "cased": true}),
            ),
            (
                t(
                    Some("ts"),
                    Test::TimePart {
                        part: crate::ir::Modifier::Hour,
                        op: CmpOp::Lt,
                        value: 6,
                    },
                ),
                json!({"field": "ts", "timepart": "hour", "op": "lt", "value": 6}),
            ),
            (
                t(
                    None,
                    Test::Str {
                        pattern: SigmaString::parse("*evil*", false),
                        cased: true,
                    },
                ),
                json!({"field": null, "str": [{"wild": "*"}, "evil", {"wild": "*"}], "cased": true}),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(expr_json(&e), want);
        }
    }

    #[test]
    fn deep_trees_do_not_overflow() {
        let mut e = p("a", "1");
        for _ in 0..10_000 {
            e = Expr::And(vec![Expr::Or(vec![e, p("b", "2")])]);
        }
        let text = expr_text(&e);
        assert!(text.contains("expression too deep"));
        // Dropping a 10,000-deep Box chain recursively is fine at this depth in a test thread.
        std::mem::forget(e);
    }
}
