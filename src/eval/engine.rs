//! The match engine: many rules compiled once and run over a stream of events.
//!
//! Per event the work is: classify its log source (a hash lookup on `Channel`), run one
//! Aho-Corasick automaton over the folded text of all its values to learn which required
//! literals occur, and evaluate only the rules that apply to the source *and* whose required
//! literals were seen (rules without a known required literal are always evaluated). The
//! prefilter is sound: a literal is "required" only when every match of the rule contains it
//! somewhere in a value (see [`Compiled::required_literals`]), so skipping never loses a match.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::diag::Diagnostic;
use crate::ir::norm::{normalize, NormOptions, Placeholders};
use crate::ir::{LogSource, Rule, RuleBody};

use super::compile::{Compiled, FieldTable, View};
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
    /// Per rule: the literals one of which every match contains, if known.
    required: Vec<Option<Vec<String>>>,
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
    ac: Option<AhoCorasick>,
    /// Literal id -> candidate rules requiring it.
    lit_rules: Vec<Vec<u32>>,
    /// False when the automaton could not be built: then every candidate is evaluated.
    gate: bool,
}

/// Per-thread scratch space, reused across events (no allocation per event in steady state),
/// including the prefilters built so far for the event classes seen.
#[derive(Default)]
pub struct Scratch {
    generation: u32,
    lit_seen: Vec<u32>,
    rule_lit: Vec<u32>,
    hay: String,
    slots: Vec<u32>,
    /// By set of source ids (looked up by slice: no allocation per event); a per-thread
    /// cache of [`Engine`]'s shared map, which needs a lock.
    prefilters: FxHashMap<Vec<usize>, Arc<Prefilter>>,
    /// For events of unknown source.
    unknown: Option<Arc<Prefilter>>,
    /// Rules evaluated so far (after routing and the prefilter), for benchmarks.
    pub evaluated: u64,
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
        let required = compiled
            .iter()
            .map(|c| c.compiled.required_literals())
            .collect();
        (
            Engine {
                table,
                rules: compiled,
                logsources,
                by_source,
                declared_rules,
                required,
                built: Mutex::default(),
            },
            diags,
        )
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            rule_lit: vec![0; self.rules.len()],
            ..Scratch::default()
        }
    }

    /// Classify an event and add the taxonomy field names its source implies. Call once per
    /// event before [`Engine::matches`].
    pub fn prepare(&self, event: &mut Event) -> Class {
        let class = self.logsources.classify(event);
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
        let mut lit_ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut lits: Vec<&str> = Vec::new();
        let mut lit_rules: Vec<Vec<u32>> = Vec::new();
        for &r in &candidates {
            let Some(req) = &self.required[r as usize] else {
                continue;
            };
            for l in req {
                let id = *lit_ids.entry(l.as_str()).or_insert_with(|| {
                    lits.push(l.as_str());
                    lit_rules.push(Vec::new());
                    (lits.len() - 1) as u32
                });
                let rs = &mut lit_rules[id as usize];
                if rs.last() != Some(&r) {
                    rs.push(r);
                }
            }
        }
        // The non-contiguous NFA measured fastest here and uses a fraction of a DFA's memory
        // (a DFA over the SigmaHQ literals costs ~340 MiB; docs/PERFORMANCE.md).
        let ac = if lits.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .build(&lits)
                .ok()
        };
        Prefilter {
            rules: candidates,
            gate: ac.is_some() || lits.is_empty(),
            ac,
            lit_rules,
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
            s.lit_seen.iter_mut().for_each(|x| *x = 0);
            s.rule_lit.iter_mut().for_each(|x| *x = 0);
            s.generation = 1;
        }
        let g = s.generation;
        if let Some(ac) = &pre.ac {
            // Literal ids are per prefilter; a fresh generation makes old stamps stale.
            if s.lit_seen.len() < pre.lit_rules.len() {
                s.lit_seen.resize(pre.lit_rules.len(), 0);
            }
            s.hay.clear();
            // Only fields some rule names can hold a required literal (see `required`).
            for (k, vals) in &event.fields {
                if self.table.slot(k).is_none() {
                    continue;
                }
                for v in vals {
                    if let Some(t) = v.text(false) {
                        s.hay.push_str(t);
                        s.hay.push('\n');
                    }
                }
            }
            for m in ac.find_overlapping_iter(s.hay.as_str()) {
                let id = m.pattern().as_usize();
                if s.lit_seen[id] == g {
                    continue;
                }
                s.lit_seen[id] = g;
                for &r in &pre.lit_rules[id] {
                    s.rule_lit[r as usize] = g;
                }
            }
        }
        let view = View::with_buffer(event, &self.table, std::mem::take(&mut s.slots));
        for &r in &pre.rules {
            let ri = r as usize;
            if pre.gate && self.required[ri].is_some() && s.rule_lit[ri] != g {
                continue;
            }
            s.evaluated += 1;
            if self.rules[ri].matches(&view) {
                out.push(self.rules[ri].index);
            }
        }
        s.slots = view.into_buffer();
    }

    /// How many rules have a literal prefilter (for reports).
    pub fn gated_count(&self) -> usize {
        self.required.iter().filter(|g| g.is_some()).count()
    }
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
