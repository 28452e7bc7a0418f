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

/// Cut `e` into parts whose `or` is `e`, each with a query of at most `max` characters.
/// `measure` renders the whole query of a candidate condition and gives its length (`None`
/// when it cannot be rendered). `None` when some piece cannot be split further and still does
/// not fit. Parts keep the order of the operands.
pub fn split(e: &Expr, measure: &dyn Fn(&Expr) -> Option<usize>, max: usize) -> Option<Vec<Expr>> {
    if measure(e)? <= max {
        return Some(vec![e.clone()]);
    }
    match e {
        Expr::Or(cs) => pack(cs, measure, max),
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
            let pieces = split(&cs[k], &|x: &Expr| measure(&with(x.clone())), max)?;
            if pieces.len() < 2 {
                return None;
            }
            Some(pieces.into_iter().map(with).collect())
        }
        Expr::Not(_) | Expr::Pred(_) | Expr::Const(_) => None,
    }
}

/// Group the operands of an `or` in order, each group as large as fits. Rendering every
/// candidate group would be quadratic in a long list (a 400,000-character rule), so each
/// operand is measured once alone and a group's length estimated from those lengths
/// (the query around `false` plus each operand's text and an ` or `); the estimate is then
/// checked by rendering the group, and shrunk while it does not fit. An operand that does not
/// fit alone is split on its own.
fn pack(cs: &[Expr], measure: &dyn Fn(&Expr) -> Option<usize>, max: usize) -> Option<Vec<Expr>> {
    let or = |g: &[Expr]| match g {
        [one] => one.clone(),
        _ => Expr::Or(g.to_vec()),
    };
    // The query with an empty condition (`false`), and each operand's own text.
    let empty = measure(&Expr::Const(false))?.saturating_sub(5);
    let own: Vec<usize> = cs
        .iter()
        .map(|c| Some(measure(c)?.saturating_sub(empty)))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if empty + own[i] > max {
            out.extend(split(&cs[i], measure, max)?);
            i += 1;
            continue;
        }
        // The longest run from i that the estimate allows (grouping parentheses included).
        let mut len = empty + own[i];
        let mut j = i + 1;
        while j < cs.len() && len + own[j] + 4 + 2 * ((j - i) / 16 + 1) <= max {
            len += own[j] + 4;
            j += 1;
        }
        // Shrink by a tenth until the rendered group fits (one operand always does).
        while j - i > 1 && measure(&or(&cs[i..j]))? > max {
            j -= ((j - i) / 10).max(1);
        }
        out.push(or(&cs[i..j]));
        i = j;
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

    /// A stand-in for the renderer: `a=1`, `(x or y)`, `(x and y)`, `not(x)`, `false`.
    fn text(e: &Expr) -> String {
        let join = |cs: &[Expr], sep: &str| {
            let v: Vec<String> = cs.iter().map(text).collect();
            format!("({})", v.join(sep))
        };
        match e {
            Expr::Pred(p) => match &p.test {
                Test::Str { pattern, .. } => {
                    format!("{}={}", p.field.as_deref().unwrap(), pattern.to_sigma())
                }
                _ => unreachable!(),
            },
            Expr::Or(cs) => join(cs, " or "),
            Expr::And(cs) => join(cs, " and "),
            Expr::Not(x) => format!("not({})", text(x)),
            Expr::Const(b) => b.to_string(),
        }
    }

    fn split_at_most(e: &Expr, max: usize) -> Option<Vec<Expr>> {
        let parts = split(e, &|x: &Expr| Some(text(x).len()), max)?;
        assert!(parts.iter().all(|p| text(p).len() <= max));
        Some(parts)
    }

    #[test]
    fn an_or_is_cut_into_groups_in_order() {
        let cs: Vec<Expr> = (0..7).map(|i| p("a", &i.to_string())).collect();
        let parts = split_at_most(&Expr::Or(cs.clone()), 20).unwrap();
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
        let parts = split_at_most(&e, 30).unwrap();
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
        assert_eq!(split_at_most(&not, 20), None);
        // Every operand of the `and` is needed in every part: 3 tests never fit in 2.
        let e = Expr::And(vec![p("a", "1"), p("b", "2"), p("c", "3")]);
        assert_eq!(split_at_most(&e, 10), None);
        // A query that fits is one part.
        let whole = text(&not).len();
        assert_eq!(split_at_most(&not, whole), Some(vec![not.clone()]));
    }

    #[test]
    fn nested_disjunctions_are_cut_where_needed() {
        let xs: Vec<Expr> = (0..4).map(|i| p("x", &i.to_string())).collect();
        let e = Expr::Or(vec![
            p("a", "1"),
            Expr::And(vec![p("b", "1"), Expr::Or(xs.clone())]),
        ]);
        let parts = split_at_most(&e, 25).unwrap();
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
