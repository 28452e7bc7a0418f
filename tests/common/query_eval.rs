//! A small evaluator for the query text detc emits, for tests that check what a query *does*
//! without a Splunk or Kusto engine (there is none offline). It reads exactly the shapes the
//! targets write and nothing more: eval/where expressions (SPL `AND`/`OR`/`NOT`, `if`,
//! `isnull`/`isnotnull`, `isnum`, `tonumber`, `null()`; KQL `and`/`or`/`not(...)`, `iff`,
//! `isnull`/`isnotempty`, timespan literals such as `10m`), and the pipeline stages of the
//! correlation templates: SPL `where`, `eval`, `sort`, `streamstats` (`current=f`,
//! `reset_after`, `count`, `first`, `last`, by-clause) and `table`; KQL `where`, `extend`,
//! `sort by`, `partition ... by C (...)`, `scan` and `project`.
//!
//! Semantics follow the platforms' documentation, not an implementation: Splunk eval
//! comparisons with a null operand are null and `NOT`/`AND`/`OR` are three-valued, `where`
//! keeps only true (the premise of the `isnum(tonumber(...))` guard); Kusto `==` between a null
//! and a value is false ("Null values"), other comparisons with null are null; `scan` follows
//! the "Matching logic" section of Microsoft's scan operator reference (Check 1 / Check 2, steps
//! evaluated from last to first). An unknown shape panics: the evaluator never guesses.
#![allow(dead_code)]

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Num(f64),
    Str(String),
    Bool(bool),
}

pub type Row = BTreeMap<String, V>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lang {
    Spl,
    Kql,
}

#[derive(Debug, Clone)]
pub enum Ex {
    Lit(V),
    Field(String),
    Call(String, Vec<Ex>),
    Not(Box<Ex>),
    Bin(String, Box<Ex>, Box<Ex>),
}

// ---------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String),
    Num(f64),
    Str(String),
    Op(String),
}

fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() {
            let st = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            let mut n: f64 = c[st..i].iter().collect::<String>().parse().unwrap();
            // A Kusto timespan literal (`10m`): seconds.
            let u0 = i;
            while i < c.len() && c[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit: String = c[u0..i].iter().collect();
            n *= match unit.as_str() {
                "" | "s" => 1.0,
                "ms" => 0.001,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                u => panic!("unknown number unit `{u}` in {s}"),
            };
            out.push(Tok::Num(n));
        } else if ch.is_alphabetic() || ch == '_' {
            let st = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Id(c[st..i].iter().collect()));
        } else if ch == '"' || ch == '\'' {
            // SPL: '...' is a field name; "..." a string (both languages).
            let q = ch;
            i += 1;
            let mut t = String::new();
            while c[i] != q {
                if c[i] == '\\' {
                    i += 1;
                }
                t.push(c[i]);
                i += 1;
            }
            i += 1;
            out.push(if q == '"' { Tok::Str(t) } else { Tok::Id(t) });
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "=~"].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else {
                assert!("=<>()+-,".contains(ch), "unexpected `{ch}` in {s}");
                out.push(Tok::Op(ch.to_string()));
                i += 1;
            }
        }
    }
    out
}

struct Parser {
    t: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Id(w)) if w.eq_ignore_ascii_case(k)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn op(&mut self, o: &str) -> bool {
        if self.peek() == Some(&Tok::Op(o.into())) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Ex {
        let mut e = self.and();
        while self.kw("or") {
            e = Ex::Bin("or".into(), Box::new(e), Box::new(self.and()));
        }
        e
    }
    fn and(&mut self) -> Ex {
        let mut e = self.not();
        while self.kw("and") {
            e = Ex::Bin("and".into(), Box::new(e), Box::new(self.not()));
        }
        e
    }
    fn not(&mut self) -> Ex {
        // SPL `NOT x`; KQL `not(x)` reads the same way.
        if matches!(self.peek(), Some(Tok::Id(w)) if w.eq_ignore_ascii_case("not")) {
            self.i += 1;
            return Ex::Not(Box::new(self.not()));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Ex {
        let l = self.add();
        for o in ["==", "!=", "<=", ">=", "=~", "=", "<", ">"] {
            if self.op(o) {
                let r = self.add();
                let o = if o == "=" { "==" } else { o };
                return Ex::Bin(o.into(), Box::new(l), Box::new(r));
            }
        }
        l
    }
    fn add(&mut self) -> Ex {
        let mut e = self.primary();
        loop {
            if self.op("-") {
                e = Ex::Bin("-".into(), Box::new(e), Box::new(self.primary()));
            } else if self.op("+") {
                e = Ex::Bin("+".into(), Box::new(e), Box::new(self.primary()));
            } else {
                return e;
            }
        }
    }
    fn primary(&mut self) -> Ex {
        let t = self.t[self.i].clone();
        self.i += 1;
        match t {
            Tok::Num(n) => Ex::Lit(V::Num(n)),
            Tok::Str(s) => Ex::Lit(V::Str(s)),
            Tok::Op(o) if o == "(" => {
                let e = self.or();
                assert!(self.op(")"), "unclosed (");
                e
            }
            Tok::Id(w) if w == "true" => Ex::Lit(V::Bool(true)),
            Tok::Id(w) if w == "false" => Ex::Lit(V::Bool(false)),
            Tok::Id(w) => {
                if self.op("(") {
                    let mut args = Vec::new();
                    if !self.op(")") {
                        loop {
                            args.push(self.or());
                            if self.op(")") {
                                break;
                            }
                            assert!(self.op(","), "expected , in call to {w}");
                        }
                    }
                    Ex::Call(w, args)
                } else {
                    Ex::Field(w)
                }
            }
            t => panic!("unexpected token {t:?}"),
        }
    }
}

pub fn parse_expr(s: &str) -> Ex {
    let mut p = Parser { t: lex(s), i: 0 };
    let e = p.or();
    assert_eq!(p.i, p.t.len(), "unparsed rest of `{s}`");
    e
}

fn num(v: &V) -> Option<f64> {
    match v {
        V::Num(n) => Some(*n),
        V::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// Three-valued booleans: `None` is null.
fn truth(v: &V) -> Option<bool> {
    match v {
        V::Bool(b) => Some(*b),
        V::Null => None,
        v => panic!("not a boolean: {v:?}"),
    }
}

fn b3(x: Option<bool>) -> V {
    x.map_or(V::Null, V::Bool)
}

/// Evaluate `e` on `row`; `state` resolves `step.column` references (KQL scan).
pub fn eval(lang: Lang, e: &Ex, row: &Row, state: &dyn Fn(&str) -> Option<V>) -> V {
    let ev = |x: &Ex| eval(lang, x, row, state);
    match e {
        Ex::Lit(v) => v.clone(),
        Ex::Field(f) => state(f).or_else(|| row.get(f).cloned()).unwrap_or(V::Null),
        Ex::Not(x) => b3(truth(&ev(x)).map(|b| !b)),
        Ex::Bin(op, l, r) if op == "and" || op == "or" => {
            let (a, b) = (truth(&ev(l)), truth(&ev(r)));
            let and = op == "and";
            b3(match (a, b) {
                (Some(x), Some(y)) => Some(if and { x && y } else { x || y }),
                (Some(x), None) | (None, Some(x)) if x != and => Some(x),
                _ => None,
            })
        }
        Ex::Bin(op, l, r) => {
            let (a, b) = (ev(l), ev(r));
            if op == "-" || op == "+" {
                return match (num(&a), num(&b)) {
                    (Some(x), Some(y)) => V::Num(if op == "-" { x - y } else { x + y }),
                    _ => V::Null,
                };
            }
            if a == V::Null || b == V::Null {
                // Kusto: `==` of a null and a value is false, `!=` true; everything else
                // with a null operand (Splunk: every comparison) is null.
                return match (lang, op.as_str()) {
                    (Lang::Kql, "==") if a != b => V::Bool(false),
                    (Lang::Kql, "!=") if a != b => V::Bool(true),
                    _ => V::Null,
                };
            }
            let ord = match (&a, &b) {
                (V::Str(x), V::Str(y)) if op == "=~" => x.to_lowercase().cmp(&y.to_lowercase()),
                (V::Str(x), V::Str(y)) => x.cmp(y),
                (V::Bool(x), V::Bool(y)) => x.cmp(y),
                _ => match (num(&a), num(&b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap(),
                    _ => return V::Null,
                },
            };
            use std::cmp::Ordering::*;
            V::Bool(match op.as_str() {
                "==" | "=~" => ord == Equal,
                "!=" => ord != Equal,
                "<" => ord == Less,
                "<=" => ord != Greater,
                ">" => ord == Greater,
                ">=" => ord != Less,
                o => panic!("operator {o}"),
            })
        }
        Ex::Call(f, args) => {
            let a: Vec<V> = args.iter().map(ev).collect();
            match (f.as_str(), a.as_slice()) {
                ("null", []) => V::Null,
                ("isnull", [x]) => V::Bool(*x == V::Null),
                ("isnotnull", [x]) => V::Bool(*x != V::Null),
                ("isnotempty", [x]) => V::Bool(*x != V::Null && *x != V::Str(String::new())),
                ("isempty", [x]) => V::Bool(*x == V::Null || *x == V::Str(String::new())),
                ("isnum", [x]) => V::Bool(matches!(x, V::Num(_))),
                // Splunk: a string that is not a whole number is null.
                ("tonumber", [x]) => num(x).map_or(V::Null, V::Num),
                ("if" | "iff", [c, t, e]) => {
                    if truth(c) == Some(true) {
                        t.clone()
                    } else {
                        e.clone()
                    }
                }
                ("coalesce", [x, y]) => {
                    if *x == V::Null {
                        y.clone()
                    } else {
                        x.clone()
                    }
                }
                ("pack_array", xs) => V::Str(format!("{xs:?}")),
                ("tostring", [x]) => match x {
                    V::Null => V::Str(String::new()),
                    V::Num(n) => V::Str(n.to_string()),
                    V::Bool(b) => V::Str(b.to_string()),
                    s => s.clone(),
                },
                (f, a) => panic!("function {f} with {} arguments", a.len()),
            }
        }
    }
}

fn holds(lang: Lang, e: &Ex, row: &Row) -> bool {
    truth(&eval(lang, e, row, &|_| None)) == Some(true)
}

// ---------------------------------------------------------------- pipelines

/// Split `s` at `sep` outside quotes, parentheses and brackets.
pub fn split_top(s: &str, sep: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut quote, mut st, mut i) = (0i32, None::<u8>, 0, 0);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                _ if depth == 0 && s[i..].starts_with(sep) => {
                    out.push(s[st..i].to_string());
                    i += sep.len();
                    st = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(s[st..].to_string());
    out
}

fn cmp_v(a: &V, b: &V) -> std::cmp::Ordering {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x.partial_cmp(y).unwrap(),
        (V::Str(x), V::Str(y)) => x.cmp(y),
        (V::Null, V::Null) => std::cmp::Ordering::Equal,
        (V::Null, _) => std::cmp::Ordering::Less,
        (_, V::Null) => std::cmp::Ordering::Greater,
        (a, b) => panic!("cannot order {a:?} and {b:?}"),
    }
}

/// Run SPL stages (the text after the correlation's base search, each without its `| `).
pub fn run_spl(stages: &[String], mut rows: Vec<Row>) -> Vec<Row> {
    for st in stages {
        let st = st.trim();
        let (cmd, rest) = st.split_once(' ').unwrap_or((st, ""));
        match cmd {
            "where" => {
                let e = parse_expr(rest);
                rows.retain(|r| holds(Lang::Spl, &e, r));
            }
            "eval" => {
                let (name, ex) = rest.split_once('=').expect("eval name=expr");
                let e = parse_expr(ex);
                for r in &mut rows {
                    let v = eval(Lang::Spl, &e, r, &|_| None);
                    r.insert(name.trim().to_string(), v);
                }
            }
            "sort" => {
                let keys: Vec<(bool, String)> = rest
                    .split_whitespace()
                    .skip_while(|w| *w == "0")
                    .map(|k| match k.strip_prefix('-') {
                        Some(k) => (true, k.to_string()),
                        None => (false, k.to_string()),
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    for (desc, k) in &keys {
                        let o = cmp_v(a.get(k).unwrap_or(&V::Null), b.get(k).unwrap_or(&V::Null));
                        let o = if *desc { o.reverse() } else { o };
                        if o.is_ne() {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
            }
            "streamstats" => rows = streamstats(rest, rows),
            "table" => {
                let keep: Vec<&str> = rest.split_whitespace().collect();
                for r in &mut rows {
                    r.retain(|k, _| keep.contains(&k.as_str()));
                }
            }
            c => panic!("SPL command `{c}` is not modelled"),
        }
    }
    rows
}

/// `streamstats [current=f] [reset_after="(expr)"] agg as name ... [by f ...]` with `count`,
/// `first(f)`, `last(f)` (null values are not seen by `first`/`last`, as stats functions
/// ignore null fields). `reset_after` resets every group's accumulation (the search
/// reference's "all accumulated statistics"); the templates sort by group first, so this
/// equals a per-group reset.
fn streamstats(spec: &str, rows: Vec<Row>) -> Vec<Row> {
    let (head, by) = match spec.split_once(" by ") {
        Some((h, b)) => (h, b.split_whitespace().map(String::from).collect()),
        None => (spec, Vec::new()),
    };
    let mut current = true;
    let mut reset: Option<Ex> = None;
    let mut aggs: Vec<(String, Option<String>, String)> = Vec::new();
    for part in split_top(head, " ") {
        if part.is_empty() {
            continue;
        }
        if part == "current=f" {
            current = false;
        } else if let Some(x) = part.strip_prefix("reset_after=") {
            let x = x.trim_matches('"');
            reset = Some(parse_expr(x));
        } else if part == "as" {
        } else if let Some(last) = aggs.last_mut().filter(|a| a.2.is_empty()) {
            last.2 = part;
        } else {
            let (f, arg) = match part.split_once('(') {
                Some((f, a)) => (f.to_string(), Some(a.trim_end_matches(')').to_string())),
                None => (part.clone(), None),
            };
            aggs.push((f, arg, String::new()));
        }
    }
    let mut acc: BTreeMap<Vec<String>, Vec<Row>> = BTreeMap::new();
    let mut out = Vec::new();
    for mut r in rows {
        let key: Option<Vec<String>> = by
            .iter()
            .map(|g| match r.get(g) {
                Some(V::Str(s)) => Some(s.clone()),
                Some(V::Num(n)) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        let Some(key) = key else {
            out.push(r);
            continue;
        };
        let seen = acc.entry(key).or_default();
        let window: Vec<&Row> = seen.iter().chain(current.then_some(&r)).collect();
        let mut computed = Vec::new();
        for (f, arg, name) in &aggs {
            let vals = || {
                window
                    .iter()
                    .filter_map(|w| w.get(arg.as_deref().unwrap()))
                    .filter(|v| **v != V::Null)
            };
            let v = match f.as_str() {
                "count" => V::Num(window.len() as f64),
                "first" => vals().next().cloned().unwrap_or(V::Null),
                "last" => vals().next_back().cloned().unwrap_or(V::Null),
                f => panic!("streamstats function {f}"),
            };
            computed.push((name.clone(), v));
        }
        r.extend(computed);
        seen.push(r.clone());
        let fire = reset.as_ref().is_some_and(|e| holds(Lang::Spl, e, &r));
        out.push(r);
        if fire {
            acc.clear();
        }
    }
    out
}

/// Run KQL stages (the text after the correlation's `union`, each without its `| `).
pub fn run_kql(stages: &[String], mut rows: Vec<Row>) -> Vec<Row> {
    for st in stages {
        let st = st.trim();
        let (cmd, rest) = st.split_once(' ').unwrap_or((st, ""));
        match cmd {
            "where" => {
                let e = parse_expr(rest);
                rows.retain(|r| holds(Lang::Kql, &e, r));
            }
            "extend" => {
                let (name, ex) = rest.split_once(" = ").expect("extend name = expr");
                let e = parse_expr(ex);
                for r in &mut rows {
                    let v = eval(Lang::Kql, &e, r, &|_| None);
                    r.insert(name.trim().to_string(), v);
                }
            }
            "sort" => {
                let spec = rest.strip_prefix("by ").expect("sort by");
                let (col, dir) = spec.trim().split_once(' ').expect("sort by C asc");
                assert_eq!(dir, "asc");
                rows.sort_by(|a, b| cmp_v(&a[col], &b[col]));
            }
            "project" => {
                let keep: Vec<&str> = rest.split(',').map(str::trim).collect();
                for r in &mut rows {
                    r.retain(|k, _| keep.contains(&k.as_str()));
                }
            }
            "partition" => {
                let rest = rest
                    .strip_prefix("hint.strategy=native by ")
                    .expect("partition hint.strategy=native by");
                let (col, body) = rest.split_once(" (").expect("partition by C (...)");
                let body = body.trim().strip_suffix(')').expect("closing )");
                let sub = stages_of(body);
                let mut parts: Vec<(V, Vec<Row>)> = Vec::new();
                for r in rows {
                    let k = r[col].clone();
                    match parts.iter_mut().find(|(v, _)| *v == k) {
                        Some((_, rs)) => rs.push(r),
                        None => parts.push((k, vec![r])),
                    }
                }
                rows = parts
                    .into_iter()
                    .flat_map(|(_, rs)| run_kql(&sub, rs))
                    .collect();
            }
            "scan" => rows = scan(rest, rows),
            c => panic!("KQL operator `{c}` is not modelled"),
        }
    }
    rows
}

/// The stages of a KQL pipeline: split at `|` outside parentheses.
pub fn stages_of(text: &str) -> Vec<String> {
    split_top(text, "|")
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Step {
    name: String,
    output: bool,
    cond: Ex,
    assigns: Vec<(String, Ex)>,
}

/// The scan operator, as its reference's "Matching logic" describes it.
fn scan(spec: &str, rows: Vec<Row>) -> Vec<Row> {
    let spec = spec.trim();
    let (decl, body) = spec
        .strip_prefix("declare (")
        .and_then(|s| s.split_once(") with ("))
        .expect("scan declare (...) with (...)");
    let declared: Vec<String> = decl
        .split(',')
        .map(|d| d.split(':').next().unwrap().trim().to_string())
        .collect();
    let body = body.trim().strip_suffix(')').expect("closing )");
    let mut steps = Vec::new();
    for s in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let s = s.strip_prefix("step ").expect("step");
        let (head, rest) = s.split_once(':').expect("step NAME: condition");
        let (name, output) = match head.split_once(' ') {
            Some((n, "output=none")) => (n, false),
            Some((_, o)) => panic!("step option {o} is not modelled"),
            None => (head, true),
        };
        let (cond, assigns) = match rest.split_once("=>") {
            Some((c, a)) => (
                c,
                split_top(a, ",")
                    .iter()
                    .map(|x| {
                        let (n, e) = x.split_once(" = ").expect("col = expr");
                        (n.trim().to_string(), parse_expr(e))
                    })
                    .collect(),
            ),
            None => (rest, Vec::new()),
        };
        steps.push(Step {
            name: name.to_string(),
            output,
            cond: parse_expr(cond),
            assigns,
        });
    }
    // state[k]: the records of steps 0..=k of the sequence step k holds.
    let mut state: Vec<Option<BTreeMap<String, Row>>> = vec![None; steps.len()];
    let mut out = Vec::new();
    for r in rows {
        let mut r0 = r.clone();
        for d in &declared {
            r0.entry(d.clone()).or_insert(V::Null);
        }
        for k in (0..steps.len()).rev() {
            let s = &steps[k];
            let lookup = |st: &BTreeMap<String, Row>| {
                let st = st.clone();
                move |name: &str| -> Option<V> {
                    let (step, col) = name.split_once('.')?;
                    Some(st.get(step)?.get(col).cloned().unwrap_or(V::Null))
                }
            };
            let extend = |ctx: &dyn Fn(&str) -> Option<V>| {
                let mut x = r0.clone();
                for (c, e) in &s.assigns {
                    let v = eval(Lang::Kql, e, &r0, ctx);
                    x.insert(c.clone(), v);
                }
                x
            };
            // Check 1: the previous step holds a sequence and r meets this condition.
            if k > 0 {
                if let Some(prev) = state[k - 1].clone() {
                    let ctx = lookup(&prev);
                    if truth(&eval(Lang::Kql, &s.cond, &r0, &ctx)) == Some(true) {
                        let x = extend(&ctx);
                        let mut st = prev;
                        st.insert(s.name.clone(), x.clone());
                        state[k - 1] = None;
                        state[k] = Some(st);
                        if s.output {
                            out.push(x);
                        }
                        continue;
                    }
                }
            }
            // Check 2: this step holds a sequence (or is the first step) and r meets it.
            if state[k].is_some() || k == 0 {
                let cur = state[k].clone().unwrap_or_default();
                let ctx = lookup(&cur);
                if truth(&eval(Lang::Kql, &s.cond, &r0, &ctx)) == Some(true) {
                    let x = extend(&ctx);
                    let mut st = cur;
                    st.insert(s.name.clone(), x.clone());
                    state[k] = Some(st);
                    if s.output {
                        out.push(x);
                    }
                }
            }
        }
    }
    out
}
