//! Multi-literal search (Aho-Corasick) over any number of literals, built in time linear in
//! their total size.
//!
//! Why not one automaton always: `aho-corasick` (1.1.5) ends every build by moving the match
//! states of its trie in front of the others with a sequence of swaps, then renumbers the
//! states by walking each cycle of the resulting permutation once per element of the cycle
//! (`Remapper::remap`): Σ L² steps for cycles of length L. Literals that share a prefix and
//! differ in their last characters (`v1`, `v2`, ... `v100000`) make a trie whose states are
//! nearly all matches behind a few non-match ones, and the swaps then form a few cycles as long
//! as the whole trie: 100,000 such literals took ~13 s, 1,000,000 hours.
//!
//! The permutation depends only on which trie states are matches, in the order the trie
//! creates them, and that is cheap to know for sorted literals: each literal adds the states
//! past its longest common prefix with the literal before it, the last of which is a match (a
//! literal that is a prefix of another sorts before it, so no state becomes a match later). So
//! the literals are sorted, the remapping cost of a candidate part is computed by replaying the
//! swaps (time and memory linear in the part's states), and the literals are split into parts
//! whose cost is at most linear in their size. A usual literal set (a rule's list, the whole
//! SigmaHQ corpus's prefilter literals) stays one automaton; only a degenerate one is split,
//! and a search then runs each part.

use aho_corasick::{AhoCorasick, AhoCorasickKind, BuildError, MatchKind};

/// One automaton over some of the literals.
#[derive(Debug, Clone)]
pub struct Part {
    pub ac: AhoCorasick,
    /// The automaton's pattern id -> the literal's index in the caller's list.
    pub ids: Vec<u32>,
}

/// Automata over a list of literals (see the module documentation).
#[derive(Debug, Clone)]
pub struct Literals {
    parts: Vec<Part>,
}

/// Remapping steps every part may take whatever its size (~25 ms): below this nothing is split.
const MIN_BUDGET: u64 = 1 << 22;
/// Remapping steps allowed per trie state above [`MIN_BUDGET`].
const STEPS_PER_STATE: u64 = 32;
/// Literals tried first for a part that must be split; a part grows by doubling from here.
const FIRST_TRY: usize = 1024;

impl Literals {
    /// Automata (contiguous NFAs, standard match semantics) over `lits`; the pattern ids of the
    /// matches reported through [`Literals::parts`] are mapped back to indexes into `lits`.
    pub fn new<S: AsRef<str>>(lits: &[S]) -> Result<Literals, BuildError> {
        let mut order: Vec<u32> = (0..lits.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| lits[a as usize].as_ref().cmp(lits[b as usize].as_ref()));
        let sorted: Vec<&str> = order.iter().map(|&i| lits[i as usize].as_ref()).collect();
        let mut parts = Vec::new();
        for range in split(&sorted) {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&sorted[range.clone()])?;
            parts.push(Part {
                ac,
                ids: order[range].to_vec(),
            });
        }
        Ok(Literals { parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether any literal occurs in `hay`.
    pub fn is_match(&self, hay: &str) -> bool {
        self.parts.iter().any(|p| p.ac.is_match(hay))
    }
}

/// Split sorted literals into ranges whose automata are each cheap to build. Each part grows
/// by doubling, so the costs are computed over at most ~4 times the literals: linear.
fn split(sorted: &[&str]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let rest = &sorted[start..];
        // A single literal's trie is a chain, never costly: a part has one literal at least.
        let mut take = FIRST_TRY.min(rest.len());
        while take > 1 && !cheap(&rest[..take]) {
            take /= 2;
        }
        while take < rest.len() {
            let more = (take * 2).min(rest.len());
            if !cheap(&rest[..more]) {
                break;
            }
            take = more;
        }
        out.push(start..start + take);
        start += take;
    }
    out
}

/// Whether the automaton of these sorted literals renumbers its states within budget.
fn cheap(sorted: &[&str]) -> bool {
    let flags = match_flags(sorted);
    let states = flags.len() as u64;
    remap_steps(&flags) <= MIN_BUDGET.max(STEPS_PER_STATE * states)
}

/// For sorted literals, whether each trie state (in the order the trie creates them, root
/// excluded) is a match state.
fn match_flags(sorted: &[&str]) -> Vec<bool> {
    let mut flags = Vec::new();
    let mut prev: &[u8] = &[];
    for lit in sorted {
        let lit = lit.as_bytes();
        let common = prev.iter().zip(lit).take_while(|(a, b)| a == b).count();
        // A repeated literal (common == len) adds nothing; the empty one is the root.
        if lit.len() > common {
            flags.extend(std::iter::repeat_n(false, lit.len() - common - 1));
            flags.push(true);
        }
        prev = lit;
    }
    flags
}

/// The steps `aho-corasick`'s renumbering takes after moving the match states to the front by
/// its sequence of swaps: Σ (L - 1) · L over the permutation's cycles of length L.
fn remap_steps(is_match: &[bool]) -> u64 {
    let mut at: Vec<u32> = (0..is_match.len() as u32).collect();
    let mut next = 0;
    for (i, &m) in is_match.iter().enumerate() {
        if m {
            at.swap(i, next);
            next += 1;
        }
    }
    let mut seen = vec![false; at.len()];
    let mut steps = 0u64;
    for i in 0..at.len() {
        if seen[i] {
            continue;
        }
        let mut len = 0u64;
        let mut j = i;
        while !seen[j] {
            seen[j] = true;
            j = at[j] as usize;
            len += 1;
        }
        steps += len * (len - 1);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags replay the trie: shared prefixes add nothing, repeats add nothing, a prefix
    /// literal sorted first makes its state a match.
    #[test]
    fn flags_follow_the_trie() {
        assert_eq!(
            match_flags(&["ab", "abc", "abd", "abd", "b"]),
            [false, true, true, true, true]
        );
        assert_eq!(match_flags(&["", "xyz"]), [false, false, true]);
    }

    #[test]
    fn remap_steps_count_cycles() {
        // Already in place: no cycle.
        assert_eq!(remap_steps(&[true, true, false, false]), 0);
        // One non-match then matches: the non-match rotates to the end, one cycle of 4.
        assert_eq!(remap_steps(&[false, true, true, true]), 4 * 3);
    }

    /// 50,000 literals of one prefix and a varying end: their trie is all matches behind the
    /// prefix, the shape that made one automaton quadratic to build. They are split, every
    /// part within budget, every literal in exactly one part, and every one is found.
    #[test]
    fn degenerate_literals_are_split_and_all_found() {
        let lits: Vec<String> = (0..50_000).map(|i| format!("value{i}")).collect();
        let set = Literals::new(&lits).unwrap();
        assert!(set.parts().len() > 1);
        let mut ids: Vec<u32> = set.parts().iter().flat_map(|p| p.ids.clone()).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..50_000).collect::<Vec<u32>>());
        for p in set.parts() {
            let lits: Vec<&str> = p.ids.iter().map(|&i| lits[i as usize].as_str()).collect();
            let flags = match_flags(&lits);
            assert!(remap_steps(&flags) <= MIN_BUDGET.max(STEPS_PER_STATE * flags.len() as u64));
            // Pattern ids map back to the caller's literals.
            let m = p.ac.find(lits[lits.len() / 2]).unwrap();
            assert!(lits[lits.len() / 2].starts_with(lits[m.pattern().as_usize()]));
        }
        for i in (0..50_000).step_by(2999) {
            assert!(set.is_match(&format!("x value{i} y")));
        }
        assert!(!set.is_match("valu"));
    }

    /// Literals without that shape (distinct beginnings) stay one automaton.
    #[test]
    fn usual_literals_stay_whole() {
        let lits: Vec<String> = (0..20_000u64)
            .map(|i| format!("{:x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        let set = Literals::new(&lits).unwrap();
        assert_eq!(set.parts().len(), 1);
        assert!(set.is_match(&format!("..{}..", lits[777])));
    }
}
