//! Repetition-aware decoding (issue 15, item 1): the best path of the chain of Eq. 5 with
//! penalties that a first-order chain cannot express.
//!
//! M's diagonal only discourages the *same phrase* twice in a row; it cannot see that two
//! phrases belong to one move (a library move is cut into several phrases, and a mirrored
//! variant keeps its original's clip), nor that a move came back two slots later. A dance that
//! alternates `turn/000`, `turn/001`, `turn/000`… scores well under M and looks monotone. So
//! the path is searched with a history:
//!
//! `score(d) = Σ_t ln F_t(d_t) + ln M(d_{t−1}→d_t) [− ln z_t] − penalties`, where a slot
//! pays
//! * `ln(1 / diversity_penalty)` for every slot of the previous `diversity_window` danced by
//!   the same move (so a move's third use in the window costs twice its second);
//! * `ln(1 / same_move_penalty)` on top when the previous slot is the same move;
//! * [`SAME_PHRASE_COST`] (practically forbidden) when the previous slot is the same phrase:
//!   no phrase back-to-back unless a person chose it (a lock), or nothing else fits.
//!
//! A pair of slots pays only when one of them is unlocked: locked slots keep their phrase and
//! what a person chose twice costs nothing, but a suggestion beside a lock avoids its move. Exact search over windows of moves is
//! exponential, so this is a **beam search** (Lowerre 1976; as in speech and translation
//! decoders): the `beam_width` best partial paths per slot, each slot's candidates pruned to
//! the [`CANDIDATES`] best by posterior marginal (which already weigh both neighbours through
//! M, so a phrase that only fits by its transitions is not pruned away), at most two per move
//! first, so that the beam can reach as many moves as it has candidates. With every penalty
//! off this is Viterbi on the pruned candidates; the decoder then runs exact Viterbi instead.

use super::transition::TransitionMatrix;
use crate::motion::library::LibraryIndex;

/// Candidates per slot kept for the beam search (by posterior marginal).
pub const CANDIDATES: usize = 48;
/// Phrases of one move among a slot's candidates before other moves' are taken (see
/// `Problem::candidates`).
const PER_MOVE: usize = 2;
/// The candidates are chosen from this many times [`CANDIDATES`] best phrases.
const POOL_FACTOR: usize = 4;
/// Cost (nats) of an unlocked slot repeating the previous slot's phrase.
pub const SAME_PHRASE_COST: f64 = 1e3;
/// Fewest paths ending in one phrase kept per slot: the beam keeps at most
/// `max(PER_PHRASE, width / K)` of them, so that it does not fill with near-copies that
/// differ only far back.
const PER_PHRASE: usize = 2;

/// The move a phrase of clip `clip` belongs to: its clip. A mirrored variant
/// (`crate::motion::mirror`) keeps its original's clip, so it is the same move.
pub fn move_name(clip: &str) -> &str {
    clip
}

/// One move index per library phrase ([`move_name`] of its clip), numbered in order of first
/// appearance.
pub fn moves_of(index: &LibraryIndex) -> Vec<u32> {
    move_ids(index.phrases.iter().map(|p| p.clip.as_str()))
}

/// One move index per phrase, given each phrase's clip ([`move_name`]), numbered in order of
/// first appearance.
pub fn move_ids<'a>(clips: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
    // A map, not a scan of the names seen so far: this runs on every re-rank (K up to
    // thousands).
    let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    clips
        .into_iter()
        .map(|clip| {
            let next = ids.len() as u32;
            *ids.entry(move_name(clip)).or_insert(next)
        })
        .collect()
}

/// The penalties of a beam search, as log-factors (≤ 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Penalties {
    /// Slots looked back.
    pub window: usize,
    /// `ln diversity_penalty`, per earlier use of the move in the window.
    pub reuse: f64,
    /// `ln same_move_penalty`, the same move in the previous slot.
    pub same_move: f64,
    /// Partial paths kept per slot.
    pub beam: usize,
}

impl Penalties {
    /// Whether any penalty is on (otherwise the decoder's Viterbi path is the answer).
    pub fn active(&self) -> bool {
        (self.window > 0 && self.reuse < 0.0) || self.same_move < 0.0
    }
}

/// What the beam search reads, all T×K row-major: `log_masked` (`ln F_t`, masked by the
/// locks), the Local chain's normalisers `z`, and the posterior marginals for pruning.
pub(super) struct Problem<'a> {
    pub log_masked: &'a [f32],
    pub z: Option<&'a [f32]>,
    pub marginals: &'a [f32],
    pub m: &'a TransitionMatrix,
    pub locks: &'a [Option<usize>],
    /// Move of each phrase (empty: every phrase its own move).
    pub moves: &'a [u32],
}

/// A partial path's last node.
#[derive(Clone, Copy, Debug)]
struct Node {
    score: f64,
    phrase: u32,
    /// Index of the previous node in the previous slot's beam.
    parent: u32,
}

impl Problem<'_> {
    fn k(&self) -> usize {
        self.m.len()
    }

    fn move_of(&self, j: usize) -> u32 {
        self.moves.get(j).copied().unwrap_or(j as u32)
    }

    /// Slot `t`'s candidates: the lock, or the best [`CANDIDATES`] phrases that are possible
    /// (all of them when nothing is).
    fn candidates(&self, t: usize) -> Vec<usize> {
        let k = self.k();
        if let Some(l) = self.locks[t] {
            return vec![l];
        }
        let lm = &self.log_masked[t * k..(t + 1) * k];
        let mg = &self.marginals[t * k..(t + 1) * k];
        let better = |a: &usize, b: &usize| mg[*b].total_cmp(&mg[*a]).then(a.cmp(b));
        let mut c: Vec<usize> = (0..k).filter(|&j| lm[j].is_finite()).collect();
        if c.len() <= CANDIDATES {
            c.sort_by(better);
            return c;
        }
        // The best by marginal, at most PER_MOVE phrases of one move first: a move's phrases
        // and their mirrored variants have near-equal marginals, so the plain top 32 held
        // about 8 moves and a long song could not be danced with more (a 37-slot song used 12
        // moves; with this, 17).
        let pool = (CANDIDATES * POOL_FACTOR).min(c.len());
        if pool < c.len() {
            c.select_nth_unstable_by(pool, better);
            c.truncate(pool);
        }
        c.sort_by(better);
        let mut per_move: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
        let (mut picked, mut rest) = (Vec::with_capacity(CANDIDATES), Vec::new());
        for j in c {
            let n = per_move.entry(self.move_of(j)).or_insert(0);
            if *n < PER_MOVE && picked.len() < CANDIDATES {
                *n += 1;
                picked.push(j);
            } else {
                rest.push(j);
            }
        }
        let room = CANDIDATES - picked.len();
        picked.extend(rest.into_iter().take(room));
        picked.sort_by(better);
        picked
    }

    /// Whether slots `t` and `s` pay a variety penalty as a pair: only when at least one of
    /// the two is unlocked (what a person chose twice stays free, but a suggestion next to a
    /// lock avoids its move).
    fn pays(&self, t: usize, s: usize) -> bool {
        !(self.locks[t].is_some() && self.locks[s].is_some())
    }

    /// The moves of the `p.window` slots before `t` on the path ending in `node` (of slot
    /// `t − 1`) that pay the reuse penalty before a phrase of slot `t` ([`Self::pays`]), each
    /// with its count. Walked once per path, not once per candidate (≈ 12 % off a 100-slot
    /// decode with 48 candidates).
    fn window_uses(
        &self,
        beams: &[Vec<Node>],
        t: usize,
        node: Node,
        p: &Penalties,
    ) -> Vec<(u32, u32)> {
        let mut uses: Vec<(u32, u32)> = Vec::new();
        let (mut n, mut s) = (node, t - 1);
        for _ in 0..p.window {
            if self.pays(t, s) {
                let mv = self.move_of(n.phrase as usize);
                match uses.iter_mut().find(|u| u.0 == mv) {
                    Some(u) => u.1 += 1,
                    None => uses.push((mv, 1)),
                }
            }
            if s == 0 {
                break;
            }
            n = beams[s - 1][n.parent as usize];
            s -= 1;
        }
        uses
    }

    /// The penalty of putting phrase `j` in slot `t` after the path ending in `node` (of slot
    /// `t − 1`), whose [`Self::window_uses`] are `uses`.
    fn penalty(&self, uses: &[(u32, u32)], t: usize, j: usize, node: Node, p: &Penalties) -> f64 {
        let mv = self.move_of(j);
        let mut cost = 0.0;
        if self.pays(t, t - 1) {
            if node.phrase as usize == j {
                cost -= SAME_PHRASE_COST;
            }
            if self.move_of(node.phrase as usize) == mv {
                cost += p.same_move;
            }
        }
        if let Some(&(_, count)) = uses.iter().find(|u| u.0 == mv) {
            cost += p.reuse * f64::from(count);
        }
        cost
    }
}

/// The best path under the penalties (module docs); `None` without slots.
pub(super) fn beam_path(pr: &Problem<'_>, p: &Penalties) -> Option<Vec<usize>> {
    let (t_n, k) = (pr.locks.len(), pr.k());
    if t_n == 0 || k == 0 {
        return None;
    }
    let width = p.beam.max(1);
    let per_phrase = PER_PHRASE.max(width.div_ceil(k));
    let mut beams: Vec<Vec<Node>> = Vec::with_capacity(t_n);
    let first: Vec<Node> = pr
        .candidates(0)
        .into_iter()
        .map(|j| Node {
            score: f64::from(pr.log_masked[j]),
            phrase: j as u32,
            parent: 0,
        })
        .collect();
    beams.push(prune(first, width, per_phrase));
    for t in 1..t_n {
        let cands = pr.candidates(t);
        let mut next = Vec::with_capacity(beams[t - 1].len() * cands.len());
        for (b, &node) in beams[t - 1].iter().enumerate() {
            let i = node.phrase as usize;
            let z =
                pr.z.map_or(0.0, |z| f64::from(z[t * k + i].max(f32::MIN_POSITIVE)).ln());
            let uses = pr.window_uses(&beams, t, node, p);
            for &j in &cands {
                let score = node.score
                    + f64::from(pr.log_masked[t * k + j])
                    + f64::from(pr.m.get(i, j)).ln()
                    - z
                    + pr.penalty(&uses, t, j, node, p);
                next.push(Node {
                    score,
                    phrase: j as u32,
                    parent: b as u32,
                });
            }
        }
        beams.push(prune(next, width, per_phrase));
    }
    let last = beams.last()?;
    let mut n = *last.first()?;
    let mut path = vec![0usize; t_n];
    for t in (0..t_n).rev() {
        path[t] = n.phrase as usize;
        if t > 0 {
            n = beams[t - 1][n.parent as usize];
        }
    }
    Some(path)
}

/// The `width` best nodes, best first, at most `per_phrase` ending in one phrase; ties by
/// parent and phrase, so the search is deterministic.
fn prune(mut nodes: Vec<Node>, width: usize, per_phrase: usize) -> Vec<Node> {
    nodes.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.parent.cmp(&b.parent))
            .then(a.phrase.cmp(&b.phrase))
    });
    let mut out: Vec<Node> = Vec::with_capacity(width);
    let mut kept: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for n in nodes {
        if out.len() == width {
            break;
        }
        let c = kept.entry(n.phrase).or_insert(0);
        if *c < per_phrase {
            *c += 1;
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The penalised objective of a whole path, written out directly.
    fn objective(pr: &Problem<'_>, path: &[usize], p: &Penalties) -> f64 {
        let k = pr.k();
        let mut s = f64::from(pr.log_masked[path[0]]);
        for t in 1..path.len() {
            let (i, j) = (path[t - 1], path[t]);
            s += f64::from(pr.log_masked[t * k + j]) + f64::from(pr.m.get(i, j)).ln();
            let pays = |s: usize| pr.locks[t].is_none() || pr.locks[s].is_none();
            let mv = pr.move_of(j);
            if pays(t - 1) && i == j {
                s -= SAME_PHRASE_COST;
            }
            if pays(t - 1) && pr.move_of(i) == mv {
                s += p.same_move;
            }
            for back in 1..=p.window.min(t) {
                if pays(t - back) && pr.move_of(path[t - back]) == mv {
                    s += p.reuse;
                }
            }
        }
        s
    }

    /// With a beam wide enough to hold every partial path, the search finds the brute-force
    /// optimum of the penalised objective (random scores, 4 phrases in 2 moves, a lock).
    /// 200 phrases, four per move (a move's phrases and their mirrors score alike): the
    /// candidates are the best two phrases of each of the 16 best moves, not the top 32
    /// phrases (8 moves); a lock stays the only candidate; a small library keeps every phrase.
    #[test]
    fn candidates_spread_over_moves() {
        let k = 200usize;
        let styles: Vec<String> = (0..k).map(|_| "s".to_string()).collect();
        let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).expect("matrix");
        let moves: Vec<u32> = (0..k).map(|j| (j / 4) as u32).collect();
        let lm = vec![0.0f32; k];
        let marginals: Vec<f32> = (0..k).map(|j| 1.0 - j as f32 / k as f32).collect();
        let locks = [None];
        let pr = Problem {
            log_masked: &lm,
            z: None,
            marginals: &marginals,
            m: &m,
            locks: &locks,
            moves: &moves,
        };
        let c = pr.candidates(0);
        assert_eq!(c.len(), CANDIDATES);
        let distinct: std::collections::HashSet<u32> = c.iter().map(|&j| moves[j]).collect();
        assert_eq!(
            distinct.len(),
            CANDIDATES / PER_MOVE,
            "{PER_MOVE} phrases per move"
        );
        assert_eq!(c[0], 0, "the best phrase first");
        assert!(
            c.iter().all(|&j| j % 4 < PER_MOVE),
            "each move's best phrases"
        );
        let locked = [Some(7)];
        let pr = Problem {
            locks: &locked,
            ..pr
        };
        assert_eq!(pr.candidates(0), vec![7]);
        let small: Vec<u32> = (0..k).map(|_| 0).collect();
        let lm_small: Vec<f32> = (0..k)
            .map(|j| if j < 20 { 0.0 } else { f32::NEG_INFINITY })
            .collect();
        let pr = Problem {
            log_masked: &lm_small,
            moves: &small,
            locks: &locks,
            ..pr
        };
        assert_eq!(
            pr.candidates(0).len(),
            20,
            "fewer possible phrases than candidates: all"
        );
    }

    #[test]
    fn a_wide_beam_finds_the_brute_force_optimum() {
        let (t_n, k) = (6usize, 4usize);
        let styles: Vec<String> = (0..k).map(|j| format!("s{}", j % 2)).collect();
        let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).expect("matrix");
        let moves = [0u32, 0, 1, 1];
        let p = Penalties {
            window: 3,
            reuse: 0.3f64.ln(),
            same_move: 0.2f64.ln(),
            beam: 4096,
        };
        let mut x = 11u64;
        for round in 0..20 {
            let lm: Vec<f32> = (0..t_n * k)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    -((x >> 40) as f32 / (1u64 << 24) as f32) * 3.0
                })
                .collect();
            let mut locks = vec![None; t_n];
            if round % 2 == 1 {
                locks[2] = Some(round % k);
            }
            if round % 4 == 3 {
                locks[3] = Some(round % k);
            }
            let mut masked = lm.clone();
            for (t, l) in locks.iter().enumerate() {
                if let Some(l) = *l {
                    for j in 0..k {
                        if j != l {
                            masked[t * k + j] = f32::NEG_INFINITY;
                        }
                    }
                }
            }
            let uniform = vec![1.0f32; t_n * k];
            let pr = Problem {
                log_masked: &masked,
                z: None,
                marginals: &uniform,
                m: &m,
                locks: &locks,
                moves: &moves,
            };
            let got = beam_path(&pr, &p).expect("path");
            let (mut best, mut best_path) = (f64::NEG_INFINITY, Vec::new());
            for code in 0..k.pow(t_n as u32) {
                let path: Vec<usize> = (0..t_n).map(|t| code / k.pow(t as u32) % k).collect();
                if (0..t_n).any(|t| locks[t].is_some_and(|l| path[t] != l)) {
                    continue;
                }
                let v = objective(&pr, &path, &p);
                if v > best + 1e-9 {
                    (best, best_path) = (v, path);
                }
            }
            assert!(
                (objective(&pr, &got, &p) - best).abs() < 1e-6,
                "round {round}: {got:?} vs {best_path:?}"
            );
        }
    }

    #[test]
    fn moves_group_phrases_of_a_clip() {
        let mut index = crate::motion::library::Library::starter()
            .expect("starter library")
            .index;
        index.phrases.truncate(5);
        for (e, clip) in index
            .phrases
            .iter_mut()
            .zip(["turn", "step", "turn", "turn", "step"])
        {
            e.clip = clip.to_string();
        }
        assert_eq!(moves_of(&index), vec![0, 1, 0, 0, 1]);
    }
}
