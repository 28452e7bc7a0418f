//! The match engine: many rules compiled once and run over a stream of events.
//!
//! Per event the work is: classify its log source (a hash lookup on `Channel`), resolve its
//! field names to slots once, run the Aho-Corasick automaton of its class over the folded text
//! of only the fields that class's literals come from, and evaluate only the rules that apply
//! to the source *and* whose every prefilter clause was satisfied (rules without a clause are
//! always evaluated). A clause is a set of (field, literal) pairs one of which occurs in every
//! match of the rule (see [`Compiled::required_clauses`]); a literal found in another field
//! does not count. The prefilter is sound, so skipping never loses a match.

use super::literals::{Literals, Part};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::diag::Diagnostic;
use crate::ir::norm::{normalize, NormOptions, Placeholders};
use crate::ir::{LogSource, Rule, RuleBody};

use super::compile::{Clause, Compiled, FieldTable, View, ABSENT, ANY_FIELD};
use super::event::{Event, Val};
use super::logsource::{Class, LogSources, Provides};

/// Options for building an [`Engine`].
#[derive(Debug, Default, Clone)]
pub struct EngineOptions {
    /// The source of events that carry no `Channel` (`--logsource`).
    pub declared: Option<Provides>,
    pub placeholders: Option<Placeholders>,
    /// Threads matching events in [`super::run::run_match`]; 0 means one per core.
    pub threads: usize,
}

/// One detection rule, compiled.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Index of the rule in the slice the engine was built from.
    pub index: usize,
    pub logsource: LogSource,
    compiled: Compiled,
}

impl CompiledRule {
    pub fn matches(&self, view: &View) -> bool {
        self.compiled.matches(view)
    }
}

/// Compiled rules plus the indexes that pick the few worth evaluating for an event.
pub struct Engine {
    table: FieldTable,
    pub rules: Vec<CompiledRule>,
    pub logsources: LogSources,
    /// Source id -> rules it serves.
    by_source: Vec<Vec<u32>>,
    /// Rules serving the declared source (events without a Channel, with `--logsource`).
    declared_rules: Option<Vec<u32>>,
    /// Per rule: its prefilter clauses (empty: always evaluated).
    clauses: Vec<Vec<Clause>>,
    /// Per rule: the global id of its first clause (its clauses are numbered on from there).
    clause_base: Vec<u32>,
    /// Global clause id -> rule.
    clause_rule: Vec<u32>,
    /// Prefilters built so far, by event class (`None`: unknown source), shared by the
    /// threads so that each automaton is built and held once.
    built: Mutex<FxHashMap<Option<Vec<usize>>, Arc<Prefilter>>>,
}

/// The prefilter for one class of events (one set of log sources): the rules that can apply
/// and one automaton over their required literals only, so that an event scans just the
/// literals of rules that could match it.
struct Prefilter {
    /// Candidate rules, ascending.
    rules: Vec<u32>,
    /// Candidate rules without a clause (always evaluated), ascending.
    always: Vec<u32>,
    /// The literals looked for in named fields; run over those fields' text only.
    ac: Option<Literals>,
    /// The keyword literals (looked for in every field), run over all fields. Kept apart so
    /// that keyword rules do not make the big automaton read every field.
    kw: Option<Keywords>,
    /// Literal id (`ac`'s pattern ids, then `kw`'s from `kw_base`) -> (global clause id, slot
    /// of the field it must be found in, or [`ANY_FIELD`]).
    lit_entries: Vec<Vec<(u32, u32)>>,
    kw_base: u32,
    /// Slot -> whether some named-field literal is looked for in that field.
    scan: Vec<bool>,
    /// False when an automaton could not be built: then every candidate is evaluated.
    gate: bool,
}

/// The keyword side of a prefilter. Where a keyword is found does not matter (its clauses
/// take any field), only which keywords occur.
enum Keywords {
    /// Few keywords (the usual case: a few dozen): a SIMD (Teddy) search for the next place
    /// where one starts, then each keyword compared there. The packed searcher reports
    /// leftmost, non-overlapping matches, so every start position is visited (search again
    /// from one byte on) and every keyword checked at it: none is missed.
    Packed(aho_corasick::packed::Searcher, Vec<Box<str>>),
    /// Many keywords: an overlapping automaton search like the named-field one.
    Automaton(Literals),
}

/// Per-thread scratch space, reused across events (no allocation per event in steady state),
/// including the prefilters built so far for the event classes seen.
#[derive(Default)]
pub struct Scratch {
    generation: u32,
    /// Literal id -> generation and segment it was last seen in (to skip repeats).
    lit_seen: Vec<(u32, u32)>,
    /// Global clause id -> generation it was satisfied in.
    clause_seen: Vec<u32>,
    /// Rule -> (generation, clauses satisfied in it).
    rule_hits: Vec<(u32, u32)>,
    /// The scanned values, each followed by `\n`; `seg_end`/`seg_slot`: where each value's
    /// text ends in `hay` and the slot of its field.
    hay: String,
    seg_end: Vec<usize>,
    seg_slot: Vec<u32>,
    slots: Vec<u32>,
    /// Field index -> its slot (or [`ABSENT`]) for the current event.
    field_slot: Vec<u32>,
    /// Rules to evaluate for the current event.
    todo: Vec<u32>,
    /// By set of source ids (looked up by slice: no allocation per event); a per-thread
    /// cache of [`Engine`]'s shared map, which needs a lock.
    prefilters: FxHashMap<Vec<usize>, Arc<Prefilter>>,
    /// For events of unknown source.
    unknown: Option<Arc<Prefilter>>,
    /// Rules evaluated so far (after routing and the prefilter), for benchmarks.
    pub evaluated: u64,
    /// Bytes scanned and literal occurrences found by the prefilter so far, for benchmarks.
    pub scanned: u64,
    pub found: u64,
    /// When set (benchmarks only), per rule: evaluations and nanoseconds spent evaluating.
    pub rule_time: Option<Vec<(u64, u64)>>,
}

impl Engine {
    /// Compile the detection rules among `rules` (correlations are handled by
    /// [`super::correlate::Correlator`]). Rules that do not normalise are reported and left out.
    pub fn new(rules: &[Rule], opts: &EngineOptions) -> (Engine, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut table = FieldTable::new();
        let mut compiled = Vec::new();
        let norm_opts = NormOptions {
            placeholders: opts.placeholders.as_ref(),
        };
        for (index, r) in rules.iter().enumerate() {
            if !matches!(r.body, RuleBody::Detection(_)) {
                continue;
            }
            match normalize(r, norm_opts) {
                Ok(e) => {
                    let (c, d) = Compiled::new(r, &e, &mut table);
                    diags.extend(d);
                    compiled.push(CompiledRule {
                        index,
                        logsource: r.logsource.clone(),
                        compiled: c,
                    });
                }
                Err(d) => diags.extend(d),
            }
        }
        let logsources = LogSources::builtin();
        let serving = |p: &Provides| -> Vec<u32> {
            compiled
                .iter()
                .enumerate()
                .filter(|(_, c)| p.serves(&c.logsource))
                .map(|(i, _)| i as u32)
                .collect()
        };
        let by_source = logsources
            .sources
            .iter()
            .map(|s| serving(&s.provides))
            .collect();
        let declared_rules = opts.declared.as_ref().map(serving);
        let clauses: Vec<Vec<Clause>> = compiled
            .iter()
            .map(|c| c.compiled.required_clauses())
            .collect();
        let mut clause_base = Vec::with_capacity(clauses.len());
        let mut clause_rule = Vec::new();
        for (r, cs) in clauses.iter().enumerate() {
            clause_base.push(clause_rule.len() as u32);
            clause_rule.extend(std::iter::repeat_n(r as u32, cs.len()));
        }
        (
            Engine {
                table,
                rules: compiled,
                logsources,
                by_source,
                declared_rules,
                clauses,
                clause_base,
                clause_rule,
                built: Mutex::default(),
            },
            diags,
        )
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            clause_seen: vec![0; self.clause_rule.len()],
            rule_hits: vec![(0, 0); self.rules.len()],
            ..Scratch::default()
        }
    }

    /// Classify an event and add the taxonomy field names its source implies. Call once per
    /// event before [`Engine::matches`].
    pub fn prepare(&self, event: &mut Event) -> Class {
        self.prepare_in(event, None)
    }

    /// [`Engine::prepare`] for an event of a file whose name the log source table recognises
    /// (`file`: [`LogSources::file_sources`] of its path, computed once per file).
    pub fn prepare_in(&self, event: &mut Event, file: Option<&[usize]>) -> Class {
        let class = self.logsources.classify_in(event, file);
        self.logsources.normalise_fields(&class, event);
        class
    }

    /// The rules that can apply to an event of this class, ascending.
    fn candidates(&self, class: &Class) -> Vec<u32> {
        let mut cands: Vec<u32> = match class {
            Class::Unknown => match &self.declared_rules {
                Some(rs) => rs.clone(),
                None => (0..self.rules.len() as u32).collect(),
            },
            Class::Sources(ids) => ids
                .iter()
                .flat_map(|&sid| self.by_source[sid].iter().copied())
                .collect(),
        };
        cands.sort_unstable();
        cands.dedup();
        cands
    }

    fn prefilter(&self, candidates: Vec<u32>) -> Prefilter {
        // Named-field literals and keyword literals get separate ids (and automata): a
        // literal used both ways is in both, each with its own entries.
        let mut ids: [FxHashMap<&str, u32>; 2] = Default::default();
        let mut lits: [Vec<&str>; 2] = Default::default();
        let mut entries: [Vec<Vec<(u32, u32)>>; 2] = Default::default();
        let mut scan = vec![false; self.table.len()];
        let mut always = Vec::new();
        for &r in &candidates {
            let cs = &self.clauses[r as usize];
            if cs.is_empty() {
                always.push(r);
            }
            for (k, clause) in cs.iter().enumerate() {
                let c = self.clause_base[r as usize] + k as u32;
                for (slot, l) in clause {
                    let which = match scan.get_mut(*slot as usize) {
                        Some(x) => {
                            *x = true;
                            0
                        }
                        None => 1,
                    };
                    let id = *ids[which].entry(l.as_str()).or_insert_with(|| {
                        lits[which].push(l.as_str());
                        entries[which].push(Vec::new());
                        (lits[which].len() - 1) as u32
                    });
                    entries[which][id as usize].push((c, *slot));
                }
            }
        }
        let [named, keywords] = lits;
        let [mut lit_entries, kw_entries] = entries;
        let kw_base = lit_entries.len() as u32;
        lit_entries.extend(kw_entries);
        let ac = build_automaton(&named);
        let kw = if keywords.is_empty() {
            None
        } else {
            aho_corasick::packed::Searcher::new(keywords.iter())
                .map(|p| Keywords::Packed(p, keywords.iter().map(|&k| k.into()).collect()))
                .or_else(|| build_automaton(&keywords).map(Keywords::Automaton))
        };
        Prefilter {
            rules: candidates,
            always,
            gate: (ac.is_some() || named.is_empty()) && (kw.is_some() || keywords.is_empty()),
            ac,
            kw,
            lit_entries,
            kw_base,
            scan,
        }
    }

    /// Indexes (into the rule slice given to [`Engine::new`]) of the rules matching the event,
    /// in rule order.
    pub fn matches(&self, event: &Event, class: &Class, s: &mut Scratch, out: &mut Vec<usize>) {
        out.clear();
        let cached = match class {
            Class::Unknown => s.unknown.clone(),
            Class::Sources(ids) => s.prefilters.get(ids.as_slice()).cloned(),
        };
        let pre = match cached {
            Some(p) => p,
            None => {
                let key = match class {
                    Class::Unknown => None,
                    Class::Sources(ids) => Some(ids.clone()),
                };
                // A poisoned lock only means another thread panicked; the map is still valid.
                let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
                let p = built
                    .entry(key)
                    .or_insert_with(|| Arc::new(self.prefilter(self.candidates(class))))
                    .clone();
                drop(built);
                match class {
                    Class::Unknown => s.unknown = Some(p.clone()),
                    Class::Sources(ids) => {
                        s.prefilters.insert(ids.clone(), p.clone());
                    }
                }
                p
            }
        };
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            // Stamps wrapped: reset so that old stamps cannot be mistaken for current ones.
            s.lit_seen.iter_mut().for_each(|x| *x = (0, 0));
            s.clause_seen.iter_mut().for_each(|x| *x = 0);
            s.rule_hits.iter_mut().for_each(|x| *x = (0, 0));
            s.generation = 1;
        }
        let g = s.generation;
        // Resolve the event's fields to slots once (the view reuses them) and gather the text
        // of the fields named literals are looked for in, then (for keywords) of the others.
        let mut slots = std::mem::take(&mut s.slots);
        slots.clear();
        slots.resize(self.table.len(), ABSENT);
        s.hay.clear();
        s.seg_end.clear();
        s.seg_slot.clear();
        s.field_slot.clear();
        for (i, (k, _)) in event.fields.iter().enumerate() {
            // A field rules do not name gets the slot ABSENT: only keyword literals count there.
            let slot = match self.table.slot(k) {
                // A rule sees a field's first occurrence only (see `View`); keywords see all.
                Some(slot) if slots[slot as usize] == ABSENT => {
                    slots[slot as usize] = i as u32;
                    slot
                }
                _ => ABSENT,
            };
            s.field_slot.push(slot);
        }
        let named = |slot: u32| pre.scan.get(slot as usize).copied().unwrap_or(false);
        if pre.ac.is_some() || pre.kw.is_some() {
            for (&slot, (_, vals)) in s.field_slot.iter().zip(&event.fields) {
                if named(slot) {
                    push_segment(&mut s.hay, &mut s.seg_end, &mut s.seg_slot, slot, vals);
                }
            }
        }
        let named_end = s.hay.len();
        let named_segs = s.seg_end.len();
        if pre.kw.is_some() {
            for (&slot, (_, vals)) in s.field_slot.iter().zip(&event.fields) {
                if !named(slot) {
                    push_segment(&mut s.hay, &mut s.seg_end, &mut s.seg_slot, slot, vals);
                }
            }
        }
        s.todo.clear();
        if s.lit_seen.len() < pre.lit_entries.len() {
            // Literal ids are per prefilter; a fresh generation makes old stamps stale.
            s.lit_seen.resize(pre.lit_entries.len(), (0, 0));
        }
        let hay = std::mem::take(&mut s.hay);
        let ends = std::mem::take(&mut s.seg_end);
        if let Some(ac) = &pre.ac {
            for part in ac.parts() {
                self.scan(part, &hay[..named_end], 0, &pre, &ends[..named_segs], s, g);
            }
        }
        match &pre.kw {
            None => {}
            Some(Keywords::Automaton(kw)) => {
                for part in kw.parts() {
                    self.scan(part, &hay, pre.kw_base, &pre, &ends, s, g);
                }
            }
            Some(Keywords::Packed(searcher, words)) => {
                s.scanned += hay.len() as u64;
                let mut at = 0;
                while let Some(m) = searcher.find_in(&hay, aho_corasick::Span::from(at..hay.len()))
                {
                    let here = &hay.as_bytes()[m.start()..];
                    for (i, w) in words.iter().enumerate() {
                        if here.starts_with(w.as_bytes()) {
                            s.found += 1;
                            // Segment 0: keywords count in any field, so one hit is enough.
                            self.hit(pre.kw_base + i as u32, 0, ANY_FIELD, &pre, s, g);
                        }
                    }
                    at = m.start() + 1;
                }
            }
        }
        s.hay = hay;
        s.seg_end = ends;
        if pre.gate {
            s.todo.extend_from_slice(&pre.always);
            s.todo.sort_unstable();
        } else {
            s.todo.clear();
            s.todo.extend_from_slice(&pre.rules);
        }
        let view = View::from_slots(event, slots);
        for &r in &s.todo {
            let ri = r as usize;
            s.evaluated += 1;
            let hit = match &mut s.rule_time {
                None => self.rules[ri].matches(&view),
                Some(times) => {
                    let t = std::time::Instant::now();
                    let hit = self.rules[ri].matches(&view);
                    times[ri].0 += 1;
                    times[ri].1 += t.elapsed().as_nanos() as u64;
                    hit
                }
            };
            if hit {
                out.push(self.rules[ri].index);
            }
        }
        s.slots = view.into_buffer();
    }

    /// Run one prefilter automaton over `hay` (whose values end at `seg_end`), counting each
    /// literal found in a field it is looked for in towards its clauses, and queueing in
    /// `s.todo` the rules whose clauses are all satisfied.
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        part: &Part,
        hay: &str,
        base: u32,
        pre: &Prefilter,
        seg_end: &[usize],
        s: &mut Scratch,
        g: u32,
    ) {
        s.scanned += hay.len() as u64;
        let mut seg = 0usize;
        // Overlapping matches come in order of their end, so segments only move forward.
        for m in part.ac.find_overlapping_iter(hay) {
            let last = m.end() - 1;
            while seg < seg_end.len() && seg_end[seg] <= last {
                seg += 1;
            }
            if seg == seg_end.len() {
                break;
            }
            s.found += 1;
            let slot = s.seg_slot[seg];
            let id = part.ids[m.pattern().as_usize()];
            self.hit(base + id, seg as u32, slot, pre, s, g);
        }
    }

    /// Literal `id` was found in segment `seg`, a value of the field in `slot`: count it
    /// towards the clauses that look for it there (once per segment).
    fn hit(&self, id: u32, seg: u32, slot: u32, pre: &Prefilter, s: &mut Scratch, g: u32) {
        let id = id as usize;
        if s.lit_seen[id] == (g, seg) {
            return;
        }
        s.lit_seen[id] = (g, seg);
        for &(c, cs) in &pre.lit_entries[id] {
            if (cs != slot && cs != ANY_FIELD) || s.clause_seen[c as usize] == g {
                continue;
            }
            s.clause_seen[c as usize] = g;
            let r = self.clause_rule[c as usize];
            let hits = &mut s.rule_hits[r as usize];
            if hits.0 != g {
                *hits = (g, 0);
            }
            hits.1 += 1;
            if hits.1 as usize == self.clauses[r as usize].len() {
                s.todo.push(r);
            }
        }
    }

    /// How many rules have a literal prefilter (for reports).
    pub fn gated_count(&self) -> usize {
        self.clauses.iter().filter(|c| !c.is_empty()).count()
    }
}

/// Append a field's values to the prefilter's text, each followed by `\n`, recording where
/// each ends and the field's slot.
fn push_segment(
    hay: &mut String,
    seg_end: &mut Vec<usize>,
    seg_slot: &mut Vec<u32>,
    slot: u32,
    vals: &[Val],
) {
    for v in vals {
        if let Some(t) = v.text(false) {
            hay.push_str(t);
            seg_end.push(hay.len());
            seg_slot.push(slot);
            hay.push('\n');
        }
    }
}

/// A prefilter automaton over `lits` (`None` when there are none, or it cannot be built).
fn build_automaton(lits: &[&str]) -> Option<Literals> {
    if lits.is_empty() {
        return None;
    }
    // The contiguous NFA measured fastest here (ahead of the non-contiguous one) and uses a
    // fraction of a DFA's memory (a DFA per class cost ~165 MiB; docs/PERFORMANCE.md).
    Literals::new(lits).ok()
}

/// Field names holding an event's time, in order of preference.
pub const TIME_FIELDS: &[&str] = &[
    "TimeCreated_SystemTime",
    "@timestamp",
    "timestamp",
    "UtcTime",
    "EventTime",
    "TimeCreated",
    "time",
    "ts",
];

/// The event's timestamp, if one of [`TIME_FIELDS`] holds a parsable time.
pub fn event_time(e: &Event) -> Option<jiff::Timestamp> {
    TIME_FIELDS.iter().find_map(|f| {
        e.get(f)?
            .iter()
            .find_map(|v: &Val| super::compile::parse_time(v))
    })
}
