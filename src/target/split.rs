//! Splitting a condition whose query is longer than the platform accepts (Microsoft Sentinel:
//! 10,000 characters) into parts, each short enough, whose results together are the rule's.
//!
//! Only disjunctions are split, so every part is exact and the union of the parts' results is
//! the rule's result: an `or` is cut into groups of its operands, and an `and` whose longest
//! operand can be split is repeated once per piece of that operand, every other operand kept
//! (`big value list and not filter` becomes `(values 1..k) and not filter`, ...). A `not`, a
//! single test, or an `and` whose longest operand cannot be split is not split (a `not` over
//! an `or` is an `and`: its pieces would have to hold together, not apart).

use crate::ir::norm::Expr;

/// Cut `e` into parts whose `or` is `e`, each accepted by `fits` (which renders the whole
/// query of a candidate condition and checks its length). `None` when some piece cannot be
/// split further and still does not fit. Parts keep the order of the operands.
pub fn split(e: &Expr, fits: &dyn Fn(&Expr) -> bool) -> Option<Vec<Expr>> {
    if fits(e) {
        return Some(vec![e.clone()]);
    }
    match e {
        Expr::Or(cs) => pack(cs, fits),
        Expr::And(cs) => {
            // The operand to cut: the one with the most tests (the long value list).
            let (k, _) = cs
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Expr::Or(_) | Expr::And(_)))
                .max_by_key(|(i, c)| (size(c), std::cmp::Reverse(*i)))?;
            let with = |x: Expr| {
                let mut v = cs.clone();
                v[k] = x;
                Expr::And(v)
            };
            let pieces = split(&cs[k], &|x: &Expr| fits(&with(x.clone())))?;
            if pieces.len() < 2 {
                return None;
            }
            Some(pieces.into_iter().map(with).collect())
        }
        Expr::Not(_) | Expr::Pred(_) | Expr::Const(_) => None,
    }
}

/// Group the operands of an `or` greedily, in order: a group grows while its query fits; an
/// operand that does not fit alone is split on its own. The cost is one render per operand
/// (of a query at most the platform's limit long), so linear in the rule's size.
fn pack(cs: &[Expr], fits: &dyn Fn(&Expr) -> bool) -> Option<Vec<Expr>> {
    let or = |g: &[Expr]| match g {
        [one] => one.clone(),
        _ => Expr::Or(g.to_vec()),
    };
    let mut out = Vec::new();
    let mut group: Vec<Expr> = Vec::new();
    for c in cs {
        group.push(c.clone());
        if fits(&or(&group)) {
            continue;
        }
        group.pop();
        if !group.is_empty() {
            out.push(or(&group));
            group.clear();
        }
        if fits(c) {
            group.push(c.clone());
        } else {
            out.extend(split(c, fits)?);
        }
    }
    if !group.is_empty() {
        out.push(or(&group));
    }
    Some(out)
}

/// How many tests an expression holds (which operand of an `and` is the long one).
fn size(e: &Expr) -> usize {
    match e {
        Expr::And(cs) | Expr::Or(cs) => cs.iter().map(size).sum(),
        Expr::Not(x) => size(x),
        Expr::Pred(_) | Expr::Const(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::norm::{Pred, Test};
    use crate::ir::string::SigmaString;

    fn p(field: &str, v: &str) -> Expr {
        Expr::Pred(Pred {
            field: Some(field.into()),
            test: Test::Str {
                pattern: SigmaString::literal(v),
                cased: false,
            },
            span: Span::default(),
        })
    }

    /// A stand-in for rendering: the number of tests.
    fn at_most(n: usize) -> impl Fn(&Expr) -> bool {
        move |e| size(e) <= n
    }

    #[test]
    fn an_or_is_cut_into_groups_in_order() {
        let cs: Vec<Expr> = (0..7).map(|i| p("a", &i.to_string())).collect();
        let parts = split(&Expr::Or(cs.clone()), &at_most(3)).unwrap();
        assert_eq!(
            parts,
            vec![
                Expr::Or(cs[0..3].to_vec()),
                Expr::Or(cs[3..6].to_vec()),
                cs[6].clone()
            ]
        );
    }

    #[test]
    fn an_and_repeats_its_other_operands_in_every_part() {
        let values: Vec<Expr> = (0..4).map(|i| p("a", &i.to_string())).collect();
        let filter = Expr::Not(Box::new(p("b", "x")));
        let e = Expr::And(vec![Expr::Or(values.clone()), filter.clone()]);
        let parts = split(&e, &at_most(3)).unwrap();
        assert_eq!(
            parts,
            vec![
                Expr::And(vec![Expr::Or(values[0..2].to_vec()), filter.clone()]),
                Expr::And(vec![Expr::Or(values[2..4].to_vec()), filter]),
            ]
        );
    }

    #[test]
    fn a_negation_or_a_test_too_long_alone_is_not_split() {
        let values: Vec<Expr> = (0..4).map(|i| p("a", &i.to_string())).collect();
        let not = Expr::Not(Box::new(Expr::Or(values.clone())));
        assert_eq!(split(&not, &at_most(3)), None);
        // Every operand of the `and` is needed in every part: 3 tests never fit in 2.
        let e = Expr::And(vec![p("a", "1"), p("b", "2"), p("c", "3")]);
        assert_eq!(split(&e, &at_most(2)), None);
        // A query that fits is one part.
        assert_eq!(split(&not, &at_most(4)), Some(vec![not.clone()]));
    }

    #[test]
    fn nested_disjunctions_are_cut_where_needed() {
        let xs: Vec<Expr> = (0..4).map(|i| p("x", &i.to_string())).collect();
        let e = Expr::Or(vec![
            p("a", "1"),
            Expr::And(vec![p("b", "1"), Expr::Or(xs.clone())]),
        ]);
        let parts = split(&e, &at_most(3)).unwrap();
        assert_eq!(
            parts,
            vec![
                p("a", "1"),
                Expr::And(vec![p("b", "1"), Expr::Or(xs[0..2].to_vec())]),
                Expr::And(vec![p("b", "1"), Expr::Or(xs[2..4].to_vec())]),
            ]
        );
    }
}
