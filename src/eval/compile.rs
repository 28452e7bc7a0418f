//! A normalised expression ([`Expr`]) compiled for evaluation: field names resolved to slots of
//! a [`FieldTable`], patterns case-folded once, regexes and networks parsed once. This is the
//! one evaluator: `detc test` and `detc match` both run it, so examples and real events see the
//! same semantics.

use rustc_hash::FxHashMap;

use crate::diag::Diagnostic;
use crate::ir::norm::{Expr, Position, Test};
use crate::ir::{CmpOp, Modifier, Rule};

use super::event::{Event, Val};
use super::literals::Literals;
use super::pattern::Pattern;
use super::regex::{self as re, Regex};

/// Deepest expression nesting compiled; deeper input is reported instead of overflowing the
/// stack.
const MAX_DEPTH: usize = 200;

/// Field names used by a set of rules, each given a slot number.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    map: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl FieldTable {
    pub fn new() -> FieldTable {
        FieldTable::default()
    }
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.map.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.map.insert(name.into(), i);
        self.names.push(name.into());
        i
    }
    pub fn slot(&self, name: &str) -> Option<u32> {
        self.map.get(name).copied()
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// An event seen through a field table: slot -> index into `event.fields`.
pub struct View<'a> {
    pub event: &'a Event,
    slots: Vec<u32>,
}

/// A slot whose field the event lacks.
pub(crate) const ABSENT: u32 = u32::MAX;

impl<'a> View<'a> {
    pub fn new(event: &'a Event, table: &FieldTable) -> View<'a> {
        View::with_buffer(event, table, Vec::new())
    }

    /// Like [`View::new`], reusing `buf` (get it back with [`View::into_buffer`]) so that
    /// matching many events allocates nothing per event.
    pub fn with_buffer(event: &'a Event, table: &FieldTable, mut slots: Vec<u32>) -> View<'a> {
        slots.clear();
        slots.resize(table.len(), ABSENT);
        for (i, (k, _)) in event.fields.iter().enumerate() {
            if let Some(s) = table.slot(k) {
                if slots[s as usize] == ABSENT {
                    slots[s as usize] = i as u32;
                }
            }
        }
        View { event, slots }
    }

    /// A view from slots already resolved (slot -> field index or [`ABSENT`], one per slot
    /// of the table, first occurrence of a name).
    pub(crate) fn from_slots(event: &'a Event, slots: Vec<u32>) -> View<'a> {
        View { event, slots }
    }

    pub fn into_buffer(self) -> Vec<u32> {
        self.slots
    }
    fn get(&self, slot: u32) -> Option<&'a [Val]> {
        match self.slots.get(slot as usize) {
            Some(&i) if i != ABSENT => Some(&self.event.fields[i as usize].1),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    /// Alternatives `field|contains` (case-insensitive) on one field, or keywords, merged into one
    /// multi-literal search: long `contains` lists are common in Sigma rules and testing them
    /// one `memmem` at a time was the largest part of rule evaluation.
    AnyContains {
        /// `None`: keywords (every string or number value of the event).
        slot: Option<u32>,
        /// The folded literals (for the prefilter).
        lits: Vec<String>,
        ac: Box<Literals>,
    },
    /// `slot` is `None` for keywords (every value of the event).
    Pred {
        slot: Option<u32>,
        test: CTest,
    },
}

#[derive(Debug, Clone)]
enum CTest {
    Str(Pattern),
    Regex(Regex),
    Cidr(ipnet::IpNet),
    Num(CmpOp, f64),
    Bool(bool),
    Null,
    Exists(bool),
    FieldRef {
        other: u32,
        position: Position,
        cased: bool,
    },
    TimePart {
        part: Modifier,
        op: CmpOp,
        value: i64,
    },
}

/// One prefilter clause: (slot, lowercase literal) alternatives; the slot [`ANY_FIELD`] means
/// a value of any field (keywords).
pub type Clause = Vec<(u32, String)>;

/// The slot of a clause literal that may be found in any field's value.
pub const ANY_FIELD: u32 = u32::MAX - 1;

/// Shortest literal worth a clause of its own (see [`Compiled::required_clauses`]).
const MIN_LITERAL: usize = 3;

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Compiled {
    root: Node,
}

impl Compiled {
    /// Compile `expr` of `rule`, interning field names in `table`. Problems (a regex that does
    /// not compile) are diagnostics at the predicate; the predicate then never matches.
    pub fn new(rule: &Rule, expr: &Expr, table: &mut FieldTable) -> (Compiled, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let root = node(rule, expr, table, &mut diags, 0);
        (Compiled { root }, diags)
    }

    pub fn matches(&self, view: &View) -> bool {
        eval(&self.root, view)
    }

    /// Prefilter clauses: every matching event satisfies all of them, where a clause is
    /// satisfied when one of its literals (lowercase) occurs in the folded text of a value of
    /// the field in its slot (any field for [`ANY_FIELD`]). Empty when nothing is known (the rule must always be evaluated).
    ///
    /// Clauses with only short literals (under [`MIN_LITERAL`] bytes) are dropped unless one
    /// is all there is: they hold for nearly every event and only cost scanning time.
    pub fn required_clauses(&self) -> Vec<Clause> {
        let Some(mut all) = required(&self.root) else {
            return Vec::new();
        };
        all.sort_unstable();
        all.dedup();
        let strong = |c: &Clause| c.iter().all(|(_, l)| l.len() >= MIN_LITERAL);
        if all.iter().any(strong) {
            all.retain(strong);
            all
        } else {
            best(all).into_iter().collect()
        }
    }
}

fn node(
    rule: &Rule,
    e: &Expr,
    table: &mut FieldTable,
    diags: &mut Vec<Diagnostic>,
    depth: usize,
) -> Node {
    if depth > MAX_DEPTH {
        diags.push(
            Diagnostic::error(
                "condition-too-deep",
                "the condition nests too deeply to evaluate",
            )
            .at(rule.loc),
        );
        return Node::Const(false);
    }
    let mut kids = |xs: &[Expr], diags: &mut Vec<Diagnostic>| -> Vec<Node> {
        xs.iter()
            .map(|x| node(rule, x, table, diags, depth + 1))
            .collect()
    };
    match e {
        Expr::And(xs) => Node::And(kids(xs, diags)),
        Expr::Or(xs) => merge_contains(kids(xs, diags)),
        Expr::Not(x) => Node::Not(Box::new(node(rule, x, table, diags, depth + 1))),
        Expr::Const(b) => Node::Const(*b),
        Expr::Pred(p) => {
            let slot = p.field.as_deref().map(|f| table.intern(f));
            let test = match &p.test {
                Test::Str { pattern, cased } => CTest::Str(Pattern::new(pattern, *cased)),
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
                    match re::compile(pattern, &f) {
                        Ok(r) => CTest::Regex(r),
                        Err(msg) => {
                            diags.push(
                                Diagnostic::error("invalid-regex", format!("invalid regex: {msg}"))
                                    .at(rule.loc(p.span)),
                            );
                            return Node::Const(false);
                        }
                    }
                }
                Test::Cidr(net) => CTest::Cidr(*net),
                Test::Num { op, value } => CTest::Num(*op, value.as_f64()),
                Test::Bool(b) => CTest::Bool(*b),
                Test::Null => CTest::Null,
                Test::Exists(b) => CTest::Exists(*b),
                Test::FieldRef {
                    other,
                    position,
                    cased,
                } => CTest::FieldRef {
                    other: table.intern(other),
                    position: *position,
                    cased: *cased,
                },
                Test::TimePart { part, op, value } => CTest::TimePart {
                    part: *part,
                    op: *op,
                    value: *value,
                },
            };
            Node::Pred { slot, test }
        }
    }
}

/// Fewest `contains` alternatives on one field worth a merged search.
const MERGE_CONTAINS: usize = 3;

/// An `Or`'s alternatives with the case-insensitive `contains` tests on one field merged into
/// one [`Node::AnyContains`] (an `Or` is order-free: the tests have no side effects).
fn merge_contains(kids: Vec<Node>) -> Node {
    let mut by_slot: FxHashMap<Option<u32>, usize> = FxHashMap::default();
    for k in &kids {
        if let Some((slot, _)) = contains_of(k) {
            *by_slot.entry(slot).or_default() += 1;
        }
    }
    if !by_slot.values().any(|&n| n >= MERGE_CONTAINS) {
        return Node::Or(kids);
    }
    let mut rest = Vec::new();
    // In order of first appearance; `group_of` finds a slot's group without a scan.
    let mut groups: Vec<(Option<u32>, Vec<String>)> = Vec::new();
    let mut group_of: FxHashMap<Option<u32>, usize> = FxHashMap::default();
    for k in kids {
        match contains_of(&k) {
            Some((slot, lit)) if by_slot[&slot] >= MERGE_CONTAINS => {
                let lit = lit.to_string();
                let g = *group_of.entry(slot).or_insert_with(|| {
                    groups.push((slot, Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(lit);
            }
            _ => rest.push(k),
        }
    }
    for (slot, mut lits) in groups {
        lits.sort_unstable();
        lits.dedup();
        // Contiguous NFAs (with the crate's SIMD prefilter) keep thousands of these cheap in
        // memory; `Literals` splits a set whose single automaton would be slow to build.
        match Literals::new(&lits) {
            Ok(ac) => rest.push(Node::AnyContains {
                slot,
                lits,
                ac: Box::new(ac),
            }),
            // Cannot happen for short literals; keep the tests as they were.
            Err(_) => rest.extend(lits.into_iter().map(|l| Node::Pred {
                slot,
                test: CTest::Str(Pattern::contains(&l)),
            })),
        }
    }
    if rest.len() == 1 {
        rest.pop().unwrap_or(Node::Const(false))
    } else {
        Node::Or(rest)
    }
}

/// Longest literal merged into a [`Node::AnyContains`]: an automaton holds a state per byte
/// of its literals (tens of bytes each while it is built), so a 5 MB `base64offset` value
/// took over a gigabyte; a long literal is searched for on its own (`memmem`, linear memory).
const MAX_MERGED_LITERAL: usize = 256;

/// The slot (`None`: keyword) and folded literal of a case-insensitive `contains` test whose
/// literal is short enough to merge.
fn contains_of(n: &Node) -> Option<(Option<u32>, &str)> {
    match n {
        Node::Pred {
            slot,
            test: CTest::Str(p),
        } if !p.cased => p
            .contains_literal()
            .filter(|l| l.len() <= MAX_MERGED_LITERAL)
            .map(|l| (*slot, l)),
        _ => None,
    }
}

fn eval(n: &Node, v: &View) -> bool {
    match n {
        Node::And(xs) => xs.iter().all(|x| eval(x, v)),
        Node::Or(xs) => xs.iter().any(|x| eval(x, v)),
        Node::Not(x) => !eval(x, v),
        Node::Const(b) => *b,
        Node::AnyContains {
            slot: Some(s), ac, ..
        } => v.get(*s).is_some_and(|vs| {
            vs.iter()
                .any(|x| x.text(false).is_some_and(|t| ac.is_match(t)))
        }),
        Node::AnyContains { slot: None, ac, .. } => v.event.fields.iter().any(|(_, vs)| {
            vs.iter().any(|x| match x {
                Val::Str { .. } | Val::Num { .. } => x.text(false).is_some_and(|t| ac.is_match(t)),
                Val::Bool(_) | Val::Null => false,
            })
        }),
        Node::Pred {
            slot: Some(s),
            test,
        } => field_test(test, v.get(*s), v),
        Node::Pred { slot: None, test } => keyword_test(test, v),
    }
}

/// A test on one field; `vals` is `None` when the field is absent. A list-valued field matches
/// when any element does.
fn field_test(t: &CTest, vals: Option<&[Val]>, view: &View) -> bool {
    match t {
        CTest::Null => vals.is_none_or(|vs| vs.is_empty() || vs.iter().any(Val::is_null)),
        // A field holding JSON null does not exist, as for the platforms the targets query
        // (a SQL or Kusto column is NULL, Splunk and Elastic index no value).
        CTest::Exists(b) => vals.is_some_and(|vs| vs.iter().any(|v| !matches!(v, Val::Null))) == *b,
        CTest::FieldRef {
            other,
            position,
            cased,
        } => {
            let (Some(vs), Some(os)) = (vals, view.get(*other)) else {
                return false;
            };
            vs.iter().any(|a| {
                os.iter().any(|b| match (a.text(*cased), b.text(*cased)) {
                    (Some(a), Some(b)) => match position {
                        Position::Exact => a == b,
                        Position::Contains => a.contains(b),
                        Position::StartsWith => a.starts_with(b),
                        Position::EndsWith => a.ends_with(b),
                    },
                    _ => false,
                })
            })
        }
        _ => vals.is_some_and(|vs| vs.iter().any(|x| value_test(t, x))),
    }
}

/// Keywords: the test holds for some string or number value of any field.
fn keyword_test(t: &CTest, view: &View) -> bool {
    match t {
        CTest::Null | CTest::Exists(_) | CTest::FieldRef { .. } => false,
        _ => view.event.fields.iter().any(|(_, vs)| {
            vs.iter()
                .any(|x| matches!(x, Val::Str { .. } | Val::Num { .. }) && value_test(t, x))
        }),
    }
}

fn value_test(t: &CTest, x: &Val) -> bool {
    match t {
        CTest::Str(p) => x.text(p.cased).is_some_and(|s| p.is_match(s)),
        // The value's text as string patterns see it (a boolean is `true`/`false`), cased.
        CTest::Regex(r) => x.text(true).is_some_and(|s| r.is_match(s)),
        CTest::Cidr(net) => x
            .raw()
            .and_then(|s| s.trim().parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| net.contains(&ip)),
        CTest::Num(op, n) => x.number().is_some_and(|v| op.holds(v, *n)),
        CTest::Bool(b) => match x {
            Val::Bool(v) => v == b,
            Val::Str { .. } => x.text(false) == Some(if *b { "true" } else { "false" }),
            Val::Num { .. } | Val::Null => false,
        },
        CTest::TimePart { part, op, value } => {
            time_part(x, *part).is_some_and(|p| op.holds(p as f64, *value as f64))
        }
        CTest::Null => x.is_null(),
        CTest::Exists(_) | CTest::FieldRef { .. } => false,
    }
}

/// The part of a timestamp value (UTC): RFC 3339 / ISO 8601 text, a civil date-time (taken as
/// UTC), or a number of seconds since the epoch.
fn time_part(x: &Val, part: Modifier) -> Option<i64> {
    let ts = parse_time(x)?;
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC);
    Some(match part {
        Modifier::Minute => dt.minute() as i64,
        Modifier::Hour => dt.hour() as i64,
        Modifier::Day => dt.day() as i64,
        Modifier::Week => dt.date().iso_week_date().week() as i64,
        Modifier::Month => dt.month() as i64,
        Modifier::Year => dt.year() as i64,
        _ => return None,
    })
}

/// Parse an event timestamp (see [`time_part`]).
pub fn parse_time(x: &Val) -> Option<jiff::Timestamp> {
    match x {
        Val::Num { n, .. } => jiff::Timestamp::from_second(n.as_f64() as i64).ok(),
        Val::Str { raw, .. } => parse_time_text(raw),
        Val::Bool(_) | Val::Null => None,
    }
}

pub fn parse_time_text(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    None
}

/// The clause the prefilter does best to use when only one can be: the longest shortest
/// literal, then the fewest alternatives.
fn best(clauses: Vec<Clause>) -> Option<Clause> {
    clauses
        .into_iter()
        .max_by_key(|c| (c.iter().map(|(_, l)| l.len()).min(), usize::MAX - c.len()))
}

/// Longest literal in a prefilter clause. A match contains the whole literal, so it contains
/// its beginning too; the prefilter automaton then holds a few dozen states per literal, not
/// one per byte of a 5 MB `base64offset` value.
const MAX_CLAUSE_LITERAL: usize = 64;

/// `l`, cut to at most [`MAX_CLAUSE_LITERAL`] bytes (at a character boundary).
fn clause_literal(l: &str) -> String {
    let mut end = l.len().min(MAX_CLAUSE_LITERAL);
    while !l.is_char_boundary(end) {
        end -= 1;
    }
    l[..end].to_string()
}

/// Clauses (all of which hold for every matching event) or `None` when none is known.
fn required(n: &Node) -> Option<Vec<Clause>> {
    match n {
        // Every conjunct's clauses hold for the whole.
        Node::And(xs) => {
            let out: Vec<Clause> = xs.iter().filter_map(required).flatten().collect();
            (!out.is_empty()).then_some(out)
        }
        // One clause: the union of one clause of each alternative.
        Node::Or(xs) => {
            let mut out = Clause::new();
            for x in xs {
                out.extend(best(required(x)?)?);
            }
            out.sort_unstable();
            out.dedup();
            (!out.is_empty()).then_some(vec![out])
        }
        // An empty literal is in every text: no requirement.
        Node::AnyContains { lits, .. } if lits.iter().any(String::is_empty) => None,
        Node::AnyContains { slot, lits, .. } => {
            let s = slot.unwrap_or(ANY_FIELD);
            Some(vec![lits.iter().map(|l| (s, clause_literal(l))).collect()])
        }
        Node::Not(_) | Node::Const(_) => None,
        Node::Pred { slot, test } => match test {
            CTest::Str(p) => {
                // Keywords: the literal may be in any field.
                let s = slot.unwrap_or(ANY_FIELD);
                let lits = p.required_literals();
                (!lits.is_empty()).then(|| {
                    lits.into_iter()
                        .map(|l| vec![(s, clause_literal(&l))])
                        .collect()
                })
            }
            _ => None,
        },
    }
}
