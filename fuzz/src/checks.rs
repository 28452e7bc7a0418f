//! The properties the fuzz targets check, beyond "does not panic". Shared by the targets
//! (`fuzz/fuzz_targets/*.rs`) and by `tests/fuzz_regressions.rs` (included there with
//! `#[path]`), so a finding replayed as a regression test runs exactly the fuzzed checks.
//! Depends on `detc` and `serde_json` only. Every check panics on a violation: under libFuzzer a
//! panic is a finding.
//!
//! - [`det_file`]: a `.det` file that parses without syntax errors formats (`detc fmt`) to text
//!   that formats to itself and parses to the same IR and the same problems (spans aside).
//! - [`sigma_file`]: the Sigma reader, with diagnostics that point inside the file.
//! - [`rules`]: for rules read without errors (either front end): `to_dsl` round-trips, the
//!   examples run, the Sigma writer gives back the same semantics, and every query keeps every
//!   string value inside one string literal of the target's language ([`queries`]).
//! - [`condition`]: the Sigma condition parser; a printed condition parses to the same tree.
//! - [`json_events`]: the JSON/NDJSON reader; the fast NDJSON path agrees with the general one.
//! - [`evtx_events`]: the EVTX reader used by `detc match`.

use std::path::Path;
use std::sync::OnceLock;

use detc::diag::{Diagnostic, SourceId, Sources, Span};
use detc::dsl;
use detc::ir::check::check_rule;
use detc::ir::norm::{normalize, Expr, NormOptions};
use detc::ir::{Modifier, Piece, Rule, RuleBody, SigmaString, Value};
use detc::sigma;
use detc::target::{Backend, Ctx, Outcome};

/// Every built-in target, loaded once per process.
pub fn backends() -> &'static [Box<dyn Backend>] {
    static B: OnceLock<Vec<Box<dyn Backend>>> = OnceLock::new();
    B.get_or_init(|| {
        detc::target::load_builtin_targets(&detc::target::builtin_target_names())
            .unwrap_or_else(|d| panic!("built-in targets load: {d:?}"))
    })
}

/// Render every diagnostic as the CLI does (a span outside the text or off a character
/// boundary would panic in the renderer), and check that it points inside the text.
fn render_all(text: &str, diags: &[Diagnostic]) {
    let mut sources = Sources::new();
    let id = sources.add("fuzz.input", text.to_string());
    assert_eq!(id, SourceId(0));
    for d in diags {
        for loc in d.loc.iter().chain(d.secondary.iter().map(|s| &s.loc)) {
            let r = loc.span.range();
            assert!(
                r.start <= r.end && r.end <= text.len(),
                "span {r:?} outside a text of {} bytes: {d:?}",
                text.len()
            );
            assert!(
                text.is_char_boundary(r.start) && text.is_char_boundary(r.end),
                "span {r:?} is not on character boundaries: {d:?}"
            );
        }
        let _ = sources.render(d, false);
    }
}

fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// The problems of a parse, without positions: (error?, code).
fn problems(diags: &[Diagnostic]) -> Vec<(bool, &'static str)> {
    let mut v: Vec<_> = diags.iter().map(|d| (d.is_error(), d.code)).collect();
    v.sort();
    v
}

// ---- .det ----------------------------------------------------------------------------------

/// The `.det` parser and printer: see the module documentation.
pub fn det_file(text: &str) {
    let (rules, diags) = dsl::parse(SourceId(0), text);
    render_all(text, &diags);
    if let Ok(formatted) = dsl::format(SourceId(0), text) {
        let again = dsl::format(SourceId(0), &formatted)
            .unwrap_or_else(|e| panic!("formatted text does not format: {e:#?}\n{formatted}"));
        assert_eq!(again, formatted, "format is not idempotent");
        let (rules2, diags2) = dsl::parse(SourceId(0), &formatted);
        let a: Vec<Rule> = rules.iter().map(dsl::without_spans).collect();
        let b: Vec<Rule> = rules2.iter().map(dsl::without_spans).collect();
        assert_eq!(
            a, b,
            "formatting changed the IR\n--- input\n{text}\n--- formatted\n{formatted}"
        );
        assert_eq!(
            problems(&diags),
            problems(&diags2),
            "formatting changed the problems\n--- formatted\n{formatted}"
        );
    }
    if !has_errors(&diags) {
        self::rules(text, &rules);
    }
}

// ---- Sigma ---------------------------------------------------------------------------------

/// The Sigma reader: see the module documentation.
pub fn sigma_file(text: &str) {
    let (parsed, diags) = sigma::read_file(SourceId(0), text, Some("fuzz"));
    render_all(text, &diags);
    if !has_errors(&diags) {
        rules(text, &parsed.rules);
        if !parsed.filters.is_empty() {
            let mut rs = parsed.rules.clone();
            let _ = sigma::apply_filters(&mut rs, &parsed.filters);
        }
    }
}

/// The Sigma condition parser: spans inside the text, and `print` then `parse` gives the same
/// tree.
pub fn condition(text: &str) {
    const BASE: usize = 3;
    match sigma::parse_condition(text, BASE) {
        Ok(mut c) => {
            let printed = sigma::print_condition(&c);
            let mut c2 = sigma::parse_condition(&printed, 0)
                .unwrap_or_else(|e| panic!("printed condition {printed:?} fails: {e:?}"));
            sigma::strip_condition_spans(&mut c);
            sigma::strip_condition_spans(&mut c2);
            assert_eq!(c, c2, "{text:?} printed as {printed:?}");
        }
        Err(e) => {
            let r = e.span.range();
            assert!(
                BASE <= r.start && r.start <= r.end && r.end <= BASE + text.len(),
                "error span {r:?} outside the condition ({} bytes at {BASE}): {e:?}",
                text.len()
            );
        }
    }
}

// ---- rules that read without errors -------------------------------------------------------

/// Properties of rules read without errors, from `input` (either front end).
pub fn rules(input: &str, rules: &[Rule]) {
    let norm = NormOptions::default();
    let mut exprs = Vec::with_capacity(rules.len());
    for r in rules {
        // `to_dsl` is the Sigma migration path: its text parses back to the same rule.
        let text = dsl::to_dsl(r);
        let (back, diags) = dsl::parse(SourceId(0), &text);
        assert!(!has_errors(&diags), "to_dsl text fails: {diags:#?}\n{text}");
        assert_eq!(back.len(), 1, "{text}");
        assert_eq!(
            dsl::without_spans(&back[0]),
            dsl::without_spans(r),
            "to_dsl changed the rule\n{text}"
        );
        let ok = !has_errors(&check_rule(r, norm));
        let expr = match (&r.body, ok) {
            (RuleBody::Detection(_), true) => normalize(r, norm).ok(),
            _ => None,
        };
        if let Some(e) = &expr {
            let _ = detc::eval::run_examples(r, e);
            sigma_round_trip(r, e);
        }
        exprs.push(expr);
    }
    let _ = detc::ir::check::check_pack(rules);
    queries(input, rules);
}

/// The Sigma writer: a rule it can write reads back to the same semantics.
fn sigma_round_trip(r: &Rule, expr: &Expr) {
    if !sigma::check_writable(r).is_empty() {
        return;
    }
    let text = sigma::write(r);
    let (back, diags) = sigma::read_named(SourceId(0), &text, &r.name);
    assert!(
        !has_errors(&diags),
        "written Sigma fails: {diags:#?}\n{text}"
    );
    assert_eq!(back.len(), 1, "{text}");
    let e2 = normalize(&back[0], NormOptions::default())
        .unwrap_or_else(|d| panic!("written Sigma does not normalise: {d:#?}\n{text}"));
    assert_eq!(unspan(e2), unspan(expr.clone()), "Sigma semantics\n{text}");
}

fn unspan(e: Expr) -> Expr {
    match e {
        Expr::And(xs) => Expr::And(xs.into_iter().map(unspan).collect()),
        Expr::Or(xs) => Expr::Or(xs.into_iter().map(unspan).collect()),
        Expr::Not(x) => Expr::Not(Box::new(unspan(*x))),
        Expr::Pred(mut p) => {
            p.span = Span::default();
            Expr::Pred(p)
        }
        Expr::Const(b) => Expr::Const(b),
    }
}

// ---- values stay inside literals -----------------------------------------------------------

/// Markers around every string value: `qzv<n>k` before, `qzv<n>w` after, with `n` the first
/// number whose `qzv<n>` does not occur in the input (case-insensitively), so the input cannot
/// forge one. Letters and digits only: no target escapes them, and only the case may change.
pub struct Sentinel {
    pub stem: String,
    pub open: String,
    pub close: String,
}

impl Sentinel {
    pub fn for_input(input: &str) -> Sentinel {
        let lower = input.to_lowercase();
        let n = (0..)
            .find(|n| !lower.contains(&format!("qzv{n}")))
            .expect("a free number");
        let stem = format!("qzv{n}");
        Sentinel {
            open: format!("{stem}k"),
            close: format!("{stem}w"),
            stem,
        }
    }
}

/// Whether string values under these modifiers may carry markers: not when the value must be
/// something else than free text (a CIDR, a field name, a placeholder, a number, a bool).
fn markable(mods: &[Modifier]) -> bool {
    !mods.iter().any(|m| {
        matches!(
            m,
            Modifier::Cidr
                | Modifier::FieldRef
                | Modifier::Expand
                | Modifier::Exists
                | Modifier::Gt
                | Modifier::Gte
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year
        )
    })
}

/// `rules` with every free-text value wrapped in the sentinel's markers.
pub fn mark(rules: &[Rule], s: &Sentinel) -> Vec<Rule> {
    let mut out = rules.to_vec();
    for r in &mut out {
        if let RuleBody::Detection(d) = &mut r.body {
            for m in d
                .selections
                .iter_mut()
                .flat_map(|s| s.groups.iter_mut().flatten())
            {
                if !markable(&m.modifiers) {
                    continue;
                }
                for v in &mut m.values {
                    if let Value::Str(old) = v {
                        let mut new = SigmaString::literal(&s.open);
                        for p in &old.pieces {
                            new.push(p.clone());
                        }
                        new.push(Piece::Lit(s.close.clone()));
                        *old = new;
                    }
                }
            }
        }
    }
    out
}

/// Compile the rules, their values marked, for every query target, and check every query:
/// markers only inside string literals of the target's language (decoded), and in each literal
/// every opening marker closed before the next one opens and before the literal ends. A value
/// that broke out of its literal leaves an opening marker without its closing one (or a marker
/// outside any literal), so this holds exactly when no value escaped.
/// Returns how many markers were seen (to know the check is not vacuous).
pub fn queries(input: &str, rules: &[Rule]) -> usize {
    let s = Sentinel::for_input(input);
    let marked = mark(rules, &s);
    let norm = NormOptions::default();
    let mut failed = Vec::with_capacity(marked.len());
    let exprs: Vec<Option<Expr>> = marked
        .iter()
        .map(|r| {
            let ok = !has_errors(&check_rule(r, norm));
            failed.push(!ok);
            match (&r.body, ok) {
                (RuleBody::Detection(_), true) => normalize(r, norm).ok(),
                _ => None,
            }
        })
        .collect();
    let cx = Ctx {
        rules: &marked,
        exprs: &exprs,
    };
    let mut seen = 0;
    for b in backends() {
        let dialect = match b.name() {
            n if n.starts_with("kql") => Dialect::Kql,
            n if n.starts_with("splunk") => Dialect::Spl,
            _ => continue,
        };
        let mut compiled = Vec::new();
        for (i, _) in marked.iter().enumerate().filter(|(i, _)| !failed[*i]) {
            if let Outcome::Compiled(c) = b.compile(i, &cx) {
                if let Some(q) = &c.query {
                    seen += check_query(dialect, q, &s)
                        .unwrap_or_else(|e| panic!("{}: {e}\n--- query\n{q}", b.name()));
                }
                compiled.push((i, c));
            }
        }
        let pairs: Vec<_> = compiled.iter().map(|(i, c)| (&marked[*i], c)).collect();
        let _ = b.finish(&pairs);
    }
    seen
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Spl,
    Kql,
}

#[derive(Debug, PartialEq)]
pub enum Tok {
    /// A string literal, decoded.
    Str(String),
    /// A word, punctuation, or a comment: anything that is not a string value.
    Other(String),
}

/// Check one query (see [`queries`]); the number of opening markers seen.
pub fn check_query(d: Dialect, q: &str, s: &Sentinel) -> Result<usize, String> {
    let toks = match d {
        Dialect::Spl => spl_tokens(q)?,
        Dialect::Kql => kql_tokens(q)?,
    };
    let mut seen = 0;
    for t in &toks {
        match t {
            Tok::Other(o) => {
                if o.to_lowercase().contains(&s.stem) {
                    return Err(format!("a value is outside any string literal: {o:?}"));
                }
            }
            Tok::Str(v) => {
                let lower = v.to_lowercase();
                let mut open = false;
                let mut rest = lower.as_str();
                while let Some(i) = rest.find(&s.stem) {
                    let after = &rest[i + s.stem.len()..];
                    match (after.starts_with('k'), after.starts_with('w'), open) {
                        (true, _, false) => {
                            open = true;
                            seen += 1;
                        }
                        (_, true, true) => open = false,
                        _ => return Err(format!("a value broke its string literal: {v:?}")),
                    }
                    rest = &after[1.min(after.len())..];
                }
                if open {
                    return Err(format!("a value ends outside its string literal: {v:?}"));
                }
            }
        }
    }
    Ok(seen)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// SPL: a double-quoted string runs to the next unescaped `"`, a backslash escapes the next
/// character. Single quotes (field names in `where`/`eval`) and backticks (macros) are not
/// values, so they count as words.
pub fn spl_tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' => {
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some('\\') => v.push(it.next().ok_or("escape at the end of the query")?),
                        Some('"') => break,
                        Some(ch) => v.push(ch),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_whitespace() => {}
            c if is_word(c) => {
                let mut w = c.to_string();
                while let Some(&n) = it.peek().filter(|n| is_word(**n)) {
                    w.push(n);
                    it.next();
                }
                out.push(Tok::Other(w));
            }
            c => out.push(Tok::Other(c.to_string())),
        }
    }
    Ok(out)
}

/// KQL: `"..."` and `'...'` with backslash escapes, verbatim `@"..."` / `@'...'` (the quote
/// doubled), an `h`/`H` prefix (obfuscated string), multi-line ```` ```...``` ````, and `//`
/// comments to the end of the line (not values).
pub fn kql_tokens(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c == '/' && cs.get(i + 1) == Some(&'/') {
            let end = cs[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(cs.len(), |p| i + p);
            out.push(Tok::Other(cs[i..end].iter().collect()));
            i = end;
        } else if cs[i..].starts_with(&['`', '`', '`']) {
            let body = i + 3;
            let end = (body..cs.len())
                .find(|&j| cs[j..].starts_with(&['`', '`', '`']))
                .ok_or("unterminated ``` string")?;
            out.push(Tok::Str(cs[body..end].iter().collect()));
            i = end + 3;
        } else if matches!(c, 'h' | 'H')
            && !cs.get(i.wrapping_sub(1)).is_some_and(|&p| is_word(p))
            && matches!(cs.get(i + 1), Some('"' | '\'' | '@'))
        {
            i += 1; // the obfuscation prefix; the string follows
        } else if c == '@' && matches!(cs.get(i + 1), Some('"' | '\'')) {
            let q = cs[i + 1];
            let mut v = String::new();
            let mut j = i + 2;
            loop {
                match cs.get(j) {
                    Some(&ch) if ch == q && cs.get(j + 1) == Some(&q) => {
                        v.push(q);
                        j += 2;
                    }
                    Some(&ch) if ch == q => break,
                    Some(&ch) => {
                        v.push(ch);
                        j += 1;
                    }
                    None => return Err("unterminated verbatim string".into()),
                }
            }
            out.push(Tok::Str(v));
            i = j + 1;
        } else if c == '"' || c == '\'' {
            let mut v = String::new();
            let mut j = i + 1;
            loop {
                match cs.get(j) {
                    Some('\\') => {
                        let e = *cs.get(j + 1).ok_or("escape at the end of the query")?;
                        v.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                        j += 2;
                    }
                    Some(&ch) if ch == c => break,
                    Some('\n') => return Err("line break inside a string".into()),
                    Some(&ch) => {
                        v.push(ch);
                        j += 1;
                    }
                    None => return Err("unterminated string".into()),
                }
            }
            out.push(Tok::Str(v));
            i = j + 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_word(c) {
            let end = (i..cs.len()).find(|&j| !is_word(cs[j])).unwrap_or(cs.len());
            out.push(Tok::Other(cs[i..end].iter().collect()));
            i = end;
        } else {
            out.push(Tok::Other(c.to_string()));
            i += 1;
        }
    }
    Ok(out)
}

// ---- events --------------------------------------------------------------------------------

/// The JSON/NDJSON reader: records numbered in increasing order, every diagnostic names the
/// file; and for each line the fast NDJSON path accepts, the general path gives the same event.
pub fn json_events(data: &[u8]) {
    let path = Path::new("fuzz.json");
    let mut last: Option<usize> = None;
    let diags = detc::eval::read::read_json(path, data, &mut |r| {
        assert!(last.is_none_or(|l| l < r.index), "record numbers go back");
        last = Some(r.index);
    });
    for d in &diags {
        assert!(d.path.is_some() || d.loc.is_some(), "{d:?}");
    }
    for line in data.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if let Some(fast) = detc::eval::flatjson::flat_event(line) {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(m)) => assert_eq!(
                    fast,
                    detc::eval::read::event_from_json(&m),
                    "fast and general NDJSON paths differ on {:?}",
                    String::from_utf8_lossy(line)
                ),
                other => panic!(
                    "the fast path accepts {:?}, the general path gives {other:?}",
                    String::from_utf8_lossy(line)
                ),
            }
        }
    }
}

/// The EVTX reader on the file at `path`: records numbered in increasing order, every
/// diagnostic names the file. (A panic inside the `evtx` crate is caught by the reader; the
/// target decides what to make of it.)
pub fn evtx_events(path: &Path) -> usize {
    let mut last: Option<usize> = None;
    let mut n = 0;
    let diags = detc::eval::read::read_evtx(path, &mut |r| {
        assert!(last.is_none_or(|l| l < r.index), "record numbers go back");
        last = Some(r.index);
        n += 1;
    });
    for d in &diags {
        assert!(d.path.is_some() || d.loc.is_some(), "{d:?}");
    }
    n
}
