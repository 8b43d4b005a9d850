//! Sequence decoding over music-phrase slots (Duan et al. 2020, Eq. 5).
//!
//! A sequence `d_0 … d_{T−1}` is scored by the product of Eq. 5's factors,
//! `P(d) ∝ F_0(d_0) · Π_t F_t(d_t)·M(d_{t−1}→d_t)` ([`Chain::Global`], the default: every
//! slot's marginal depends on both neighbours, as an editor's per-slot list should), or by the
//! locally normalised chain `P(d_t | u_t, d_{t−1}) = F_t(d_t)·M(d_{t−1}→d_t) / z_t(d_{t−1})`
//! with `z_t = M·F_t` ([`Chain::Local`], the literal reading of Eq. 5 as a conditional; there an
//! unlocked later slot carries no information back). `F_t = exp(score_t − max score_t)` comes
//! from a [`Scorer`](super::Scorer) (`−∞` = impossible); `M` is a
//! [`TransitionMatrix`].
//!
//! * [`decode`] runs **Viterbi** in log space for the best full sequence and the scaled
//!   **forward–backward** recursions for each slot's posterior marginals, so the per-slot
//!   ranking accounts for both neighbours. Each step is one structured product with `M`
//!   (O(K·S + nnz)), so a whole pass is O(T·(K·S + nnz)) rather than O(T·K²).
//! * **Locked slots** are evidence: the chain is conditioned on `d_t = locked phrase` (an
//!   indicator mask on `F_t`, the transition normalisers unchanged), so slots before and
//!   after a lock re-rank around it. A locked phrase whose score is `−∞` still counts (the
//!   user overrides the hard tempo rule).
//! * A slot where nothing scores above `−∞` is decoded as if every phrase fit equally and is
//!   reported in [`Decoding::empty_slots`].
//! * **Variety** (beyond the first-order chain, issue 15): with its penalties on (the
//!   default), the path is a beam search that penalises a move reused within
//!   `diversity_window` slots, the same move back-to-back and (practically forbids) the same
//!   phrase back-to-back in unlocked slots ([`super::variety`]). The marginals stay those of
//!   the chain: they are the per-slot lists the editor shows.
//! * **Cost** (re-ranking after every edit): the backward pass runs on a second thread while
//!   Viterbi (or, with the variety penalties, the forward pass) runs. The T×K buffers are kept per thread between calls (page faults of fresh
//!   buffers were a third of the time). Results are bit-identical to the passes run one after
//!   the other from scratch (tested).

use std::cell::Cell;

use super::ChoreoError;
use super::transition::TransitionMatrix;
use super::variety::{Penalties, Problem, beam_path};

/// How the chain is normalised (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Chain {
    /// One normaliser for the whole sequence (HMM/CRF-style): both neighbours count.
    #[default]
    Global,
    /// Per-step normalisation `z_t(d_{t−1})` (MEMM-style).
    Local,
}

/// Decoding options.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecodeSettings {
    /// Chain normalisation.
    #[serde(default)]
    pub chain: Chain,
    /// Slots looked back for reuse of a move (0 = off).
    pub diversity_window: usize,
    /// Multiplier on `F` for every earlier use of the same move within the window (in
    /// (0, 1]; 1 = off).
    pub diversity_penalty: f32,
    /// Multiplier on `F` for the same move as the previous slot (in (0, 1]; 1 = off).
    #[serde(default = "default_same_move_penalty")]
    pub same_move_penalty: f32,
    /// Partial paths kept by the variety beam search (at most
    /// [`crate::limits::MAX_BEAM_WIDTH`] are kept).
    #[serde(default = "default_beam_width")]
    pub beam_width: usize,
}

fn default_same_move_penalty() -> f32 {
    DecodeSettings::default().same_move_penalty
}

fn default_beam_width() -> usize {
    DecodeSettings::default().beam_width
}

impl Default for DecodeSettings {
    fn default() -> Self {
        DecodeSettings {
            chain: Chain::Global,
            diversity_window: 40,
            diversity_penalty: 0.02,
            same_move_penalty: 0.01,
            beam_width: 16,
        }
    }
}

impl DecodeSettings {
    /// The settings with every variety penalty off (the plain chain's Viterbi path).
    pub fn plain() -> DecodeSettings {
        DecodeSettings {
            diversity_window: 0,
            diversity_penalty: 1.0,
            same_move_penalty: 1.0,
            ..DecodeSettings::default()
        }
    }

    /// The penalties as log-factors, clamped to their ranges.
    fn penalties(&self) -> Penalties {
        let ln = |x: f32| {
            f64::from(if x.is_finite() {
                x.clamp(1e-6, 1.0)
            } else {
                1.0
            })
            .ln()
        };
        Penalties {
            window: self
                .diversity_window
                .min(crate::limits::MAX_DIVERSITY_WINDOW),
            reuse: ln(self.diversity_penalty),
            same_move: ln(self.same_move_penalty),
            beam: self.beam_width.clamp(1, crate::limits::MAX_BEAM_WIDTH),
        }
    }
}

/// Result of [`decode`].
#[derive(Clone, Debug, PartialEq)]
pub struct Decoding {
    /// Slots T.
    pub slots: usize,
    /// Library phrases K.
    pub k: usize,
    /// Best sequence (Viterbi), one phrase index per slot; locked slots hold their phrase.
    pub path: Vec<usize>,
    /// Posterior marginals `P(d_t = j | all scores, locks)`, row-major T×K.
    pub marginals: Vec<f32>,
    /// The network part: `ln softmax(score_t)`, row-major T×K.
    pub network: Vec<f32>,
    /// Slots where no phrase scored above `−∞` (and none was locked).
    pub empty_slots: Vec<usize>,
}

impl Decoding {
    /// The `n` best phrases of slot `t` by posterior marginal, `(phrase, marginal)`, best
    /// first (ties by index). One pass over the row (the editor asks for a handful per slot
    /// after every edit).
    pub fn top_k(&self, t: usize, n: usize) -> Vec<(usize, f32)> {
        let row = &self.marginals[t * self.k..(t + 1) * self.k];
        let n = n.min(self.k);
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(n + 1);
        if n == 0 {
            return best;
        }
        for (j, &v) in row.iter().enumerate() {
            if best.len() == n && v.total_cmp(&best[n - 1].1) != std::cmp::Ordering::Greater {
                continue;
            }
            // After every entry at least as good: equal marginals stay in index order.
            let pos = best.partition_point(|&(_, x)| x.total_cmp(&v) != std::cmp::Ordering::Less);
            best.insert(pos, (j, v));
            best.truncate(n);
        }
        best
    }
}

/// Per-slot potentials: the evidence-masked `F_t = exp(score_t − max score_t)` (zeros for
/// `−∞`) and its log, `ln ΣF_t + max` per slot (for the log-softmax), and the slots with
/// nothing possible. Separate buffers so Viterbi (which reads `log_masked`) and the backward
/// pass (which reads `masked`) can run on two threads. Unlocked rows of `masked` are `F_t`
/// itself.
#[derive(Default)]
struct Potentials {
    masked: Vec<f32>,
    log_masked: Vec<f32>,
    lse: Vec<f32>,
    empty: Vec<usize>,
}

fn potentials(scores: &[f32], k: usize, locks: &[Option<usize>]) -> Potentials {
    let mut p = Potentials::default();
    p.fill(scores, k, locks, false);
    p
}

impl Potentials {
    /// Computes every slot's potentials into the (reused) buffers; with `threaded`, the
    /// second half of the slots on a second thread.
    fn fill(&mut self, scores: &[f32], k: usize, locks: &[Option<usize>], threaded: bool) {
        let t_n = locks.len();
        self.masked.resize(t_n * k, 0.0);
        self.log_masked.resize(t_n * k, 0.0);
        self.lse.resize(t_n, 0.0);
        let rows = |from: usize, masked: &mut [f32], lm: &mut [f32], lse: &mut [f32]| {
            let rows = masked
                .chunks_mut(k)
                .zip(lm.chunks_mut(k))
                .zip(lse.iter_mut());
            for (t, ((mr, lr), l)) in (from..).zip(rows) {
                *l = row_potentials(&scores[t * k..(t + 1) * k], locks[t], mr, lr);
            }
        };
        let half = if threaded { t_n / 2 } else { t_n };
        let (m0, m1) = self.masked.split_at_mut(half * k);
        let (l0, l1) = self.log_masked.split_at_mut(half * k);
        let (s0, s1) = self.lse.split_at_mut(half);
        if half < t_n {
            std::thread::scope(|s| {
                s.spawn(|| rows(half, m1, l1, s1));
                rows(0, m0, l0, s0);
            });
        } else {
            rows(0, m0, l0, s0);
        }
        self.empty.clear();
        self.empty
            .extend((0..t_n).filter(|&t| locks[t].is_none() && self.lse[t] == f32::NEG_INFINITY));
    }
}

/// One slot's evidence-masked `F_t` into `masked` and its log into `lm`; returns
/// `ln ΣF_t + max` (`−∞` when nothing is possible, where every phrase counts as equally
/// possible). A locked phrase keeps at least `1e-6`.
fn row_potentials(row: &[f32], lock: Option<usize>, masked: &mut [f32], lm: &mut [f32]) -> f32 {
    let lse = unmasked_row(row, masked, Some(lm));
    if let Some(l) = lock {
        let keep = masked[l].max(1e-6);
        masked.fill(0.0);
        lm.fill(f32::NEG_INFINITY);
        masked[l] = keep;
        lm[l] = keep.ln();
    }
    lse
}

/// `F_t` of one slot into `f` (all ones when nothing is possible), `score − max` into `lm`
/// when given; returns `ln ΣF_t + max`.
fn unmasked_row(row: &[f32], f: &mut [f32], lm: Option<&mut [f32]>) -> f32 {
    let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !mx.is_finite() {
        f.fill(1.0);
        if let Some(lm) = lm {
            lm.fill(0.0);
        }
        return f32::NEG_INFINITY;
    }
    match lm {
        Some(lm) => {
            for ((o, l), &s) in f.iter_mut().zip(lm.iter_mut()).zip(row) {
                *l = s - mx;
                *o = l.exp();
            }
        }
        None => {
            for (o, &s) in f.iter_mut().zip(row) {
                *o = (s - mx).exp();
            }
        }
    }
    mx + f.iter().sum::<f32>().ln()
}

fn normalise(v: &mut [f32]) {
    let s: f32 = v.iter().sum();
    if s > 0.0 && s.is_finite() {
        let inv = 1.0 / s;
        v.iter_mut().for_each(|x| *x *= inv);
    } else {
        let u = 1.0 / v.len().max(1) as f32;
        v.fill(u);
    }
}

/// `z_t = M·F_t` for t ≥ 1 (row 0 unused), T×K, for [`Chain::Local`] (from the unmasked
/// `F_t`: the normalisers do not see the locks); `None` for [`Chain::Global`], whose
/// normalisers are all one (skipped rather than divided by).
fn normalisers(scores: &[f32], m: &TransitionMatrix, t_n: usize, chain: Chain) -> Option<Vec<f32>> {
    if chain == Chain::Global {
        return None;
    }
    let k = m.len();
    let mut z = vec![1.0f32; t_n * k];
    let mut f = vec![0.0f32; k];
    for t in 1..t_n {
        unmasked_row(&scores[t * k..(t + 1) * k], &mut f, None);
        m.mul_right(&f, &mut z[t * k..(t + 1) * k]);
    }
    Some(z)
}

/// Viterbi's tables: `delta_t` (best log weight of a path ending in each phrase) for every
/// slot, and the back-pointers (kept between calls with the workspace).
#[derive(Default)]
struct Viterbi {
    delta: Vec<f32>,
    back: Vec<u32>,
    shifted: Vec<f32>,
    best: Vec<f32>,
    order: Vec<(f32, u32)>,
}

impl Viterbi {
    #[cfg(test)]
    fn new(t_n: usize, k: usize) -> Viterbi {
        let mut v = Viterbi::default();
        v.reset(t_n, k);
        v
    }

    /// Sizes the (reused) tables for T×K; every row is rewritten by [`Viterbi::run_from`]
    /// from 0.
    fn reset(&mut self, t_n: usize, k: usize) {
        self.delta.resize(t_n * k, 0.0);
        self.back.resize(t_n * k, 0);
        self.best.resize(k, 0.0);
    }

    /// Recomputes `delta_t` for `t ≥ from` from `log_masked` and returns the best path.
    fn run_from(
        &mut self,
        from: usize,
        log_masked: &[f32],
        z: Option<&[f32]>,
        m: &TransitionMatrix,
        k: usize,
    ) -> Vec<usize> {
        let t_n = self.back.len() / k.max(1);
        if from == 0 {
            self.delta[..k].copy_from_slice(&log_masked[..k]);
        }
        for t in from.max(1)..t_n {
            let (prev, cur) = self.delta.split_at_mut(t * k);
            let prev = &prev[(t - 1) * k..];
            let d: &[f32] = match z {
                Some(z) => {
                    self.shifted.clear();
                    self.shifted.extend(
                        prev.iter()
                            .zip(&z[t * k..(t + 1) * k])
                            .map(|(d, zz)| d - zz.ln()),
                    );
                    &self.shifted
                }
                None => prev,
            };
            m.max_left(
                d,
                &mut self.best,
                &mut self.back[t * k..(t + 1) * k],
                &mut self.order,
            );
            for ((d, b), f) in cur[..k]
                .iter_mut()
                .zip(&self.best)
                .zip(&log_masked[t * k..(t + 1) * k])
            {
                *d = b + f;
            }
        }
        let last = &self.delta[(t_n - 1) * k..];
        let mut j = 0usize;
        let mut bv = f32::NEG_INFINITY;
        for (i, &d) in last.iter().enumerate() {
            if d > bv {
                bv = d;
                j = i;
            }
        }
        let mut path = vec![0usize; t_n];
        for t in (0..t_n).rev() {
            path[t] = j;
            if t > 0 {
                j = self.back[t * k + j] as usize;
            }
        }
        path
    }
}

/// Normalised forward messages alpha_t (T×K).
fn forward(masked: &[f32], z: Option<&[f32]>, m: &TransitionMatrix, k: usize) -> Vec<f32> {
    let t_n = masked.len() / k;
    let mut alpha = vec![0.0f32; t_n * k];
    let mut tmp = vec![0.0f32; k];
    alpha[..k].copy_from_slice(&masked[..k]);
    normalise(&mut alpha[..k]);
    for t in 1..t_n {
        let (prev, cur) = alpha.split_at_mut(t * k);
        let prev = &prev[(t - 1) * k..];
        let cur = &mut cur[..k];
        match z {
            Some(z) => {
                for ((x, a), zz) in tmp.iter_mut().zip(prev).zip(&z[t * k..(t + 1) * k]) {
                    *x = a / zz;
                }
                m.mul_left(&tmp, cur);
            }
            None => m.mul_left(prev, cur),
        }
        for (c, f) in cur.iter_mut().zip(&masked[t * k..(t + 1) * k]) {
            *c *= f;
        }
        normalise(cur);
    }
    alpha
}

/// Normalised backward messages beta_t (T×K), beta_{T−1} = 1, computed for `t < until`
/// from `beta_until` (which, like every later row, is kept as it is).
fn backward_until(
    beta: &mut [f32],
    until: usize,
    masked: &[f32],
    z: Option<&[f32]>,
    m: &TransitionMatrix,
    k: usize,
) {
    let mut tmp = vec![0.0f32; k];
    for t in (1..=until).rev() {
        let (before, after) = beta.split_at_mut(t * k);
        let b_t = &after[..k];
        for ((x, f), b) in tmp.iter_mut().zip(&masked[t * k..(t + 1) * k]).zip(b_t) {
            *x = f * b;
        }
        let b_prev = &mut before[(t - 1) * k..];
        m.mul_right(&tmp, b_prev);
        if let Some(z) = z {
            for (b, zz) in b_prev.iter_mut().zip(&z[t * k..(t + 1) * k]) {
                *b /= zz;
            }
        }
        normalise(b_prev);
    }
}

#[cfg(test)]
fn backward(masked: &[f32], z: Option<&[f32]>, m: &TransitionMatrix, k: usize) -> Vec<f32> {
    let mut beta = Vec::new();
    backward_into(&mut beta, masked, z, m, k);
    beta
}

/// All backward messages into a (reused) buffer.
fn backward_into(
    beta: &mut Vec<f32>,
    masked: &[f32],
    z: Option<&[f32]>,
    m: &TransitionMatrix,
    k: usize,
) {
    let t_n = masked.len() / k;
    beta.resize(t_n * k, 0.0);
    beta[(t_n - 1) * k..].fill(1.0);
    backward_until(beta, t_n - 1, masked, z, m, k);
}

/// gamma_t ← normalise(alpha_t ⊙ beta_t), in place in `alpha`.
fn combine(alpha: &mut [f32], beta: &[f32], k: usize) {
    for (row, b) in alpha.chunks_mut(k).zip(beta.chunks(k)) {
        for (g, x) in row.iter_mut().zip(b) {
            *g *= x;
        }
        normalise(row);
    }
}

/// `ln softmax` of every row, in place.
fn log_softmax(mut scores: Vec<f32>, p: &Potentials, k: usize) -> Vec<f32> {
    for (row, &lse) in scores.chunks_mut(k).zip(&p.lse) {
        if lse.is_finite() {
            row.iter_mut().for_each(|s| *s -= lse);
        }
    }
    scores
}

/// `ln softmax` of every row of `scores` (row-major, `k` wide): [`Decoding::network`] for
/// scores other than the ones decoded (a row where nothing is possible is left as it is).
pub fn log_softmax_rows(mut scores: Vec<f32>, k: usize) -> Vec<f32> {
    if k == 0 {
        return scores;
    }
    let mut f = vec![0.0f32; k];
    for row in scores.chunks_mut(k) {
        let lse = unmasked_row(row, &mut f, None);
        if lse.is_finite() {
            row.iter_mut().for_each(|s| *s -= lse);
        }
    }
    scores
}

/// Decodes T slots over K phrases, every phrase its own move ([`decode_vec`]).
pub fn decode(
    scores: &[f32],
    locks: &[Option<usize>],
    m: &TransitionMatrix,
    settings: &DecodeSettings,
) -> Result<Decoding, ChoreoError> {
    decode_vec(scores.to_vec(), locks, m, settings, &[])
}

/// Decodes T slots over K phrases. `scores` is row-major T×K (log-scores, `−∞` allowed; taken
/// by value: they become [`Decoding::network`]), `locks[t]` the phrase a slot is clamped to,
/// `moves[j]` the move of phrase `j` for the variety penalties
/// ([`super::variety::moves_of`]; empty: every phrase its own move).
///
/// Scheduling (results are the same as computing the passes one after the other): above
/// 20 000 cells the backward pass runs on a second thread while this one runs Viterbi (or,
/// with the variety penalties, the forward pass).
pub fn decode_vec(
    scores: Vec<f32>,
    locks: &[Option<usize>],
    m: &TransitionMatrix,
    settings: &DecodeSettings,
    moves: &[u32],
) -> Result<Decoding, ChoreoError> {
    let t_n = locks.len();
    let k = m.len();
    check_inputs(scores.len(), locks, k)?;
    if t_n == 0 || k == 0 {
        return Ok(trivial_decoding(t_n, k));
    }
    // Small problems stay on one thread (a spawn costs more than they do).
    let threaded = t_n * k >= 20_000;
    let mut ws = WORKSPACE.with(Cell::take).unwrap_or_default();
    ws.pot.fill(&scores, k, locks, threaded);
    let z = normalisers(&scores, m, t_n, settings.chain);
    ws.vit.reset(t_n, k);
    let Workspace { pot, vit, beta } = &mut ws;
    let zr = z.as_deref();
    let penalties = settings.penalties();
    let variety = penalties.active();
    // Without the variety penalties the path is Viterbi's; with them it comes from the beam
    // search, which needs the marginals, so this thread runs the forward pass instead.
    let (viterbi, alpha, back_done) = if threaded {
        let (masked, log_masked) = (&pot.masked, &pot.log_masked);
        std::thread::scope(|s| {
            let back = s.spawn(|| backward_into(beta, masked, zr, m, k));
            let (path, alpha) = if variety {
                (None, Some(forward(masked, zr, m, k)))
            } else {
                (Some(vit.run_from(0, log_masked, zr, m, k)), None)
            };
            (path, alpha, back.join().is_ok())
        })
    } else {
        let path = (!variety).then(|| vit.run_from(0, &pot.log_masked, zr, m, k));
        (path, None, false)
    };
    // One thread (or a failed worker, which is a bug): the backward pass here.
    if !back_done {
        backward_into(beta, &pot.masked, zr, m, k);
    }
    let mut gamma = alpha.unwrap_or_else(|| forward(&pot.masked, zr, m, k));
    combine(&mut gamma, beta, k);
    let path = match viterbi {
        Some(path) => path,
        None => {
            let problem = Problem {
                log_masked: &pot.log_masked,
                z: zr,
                marginals: &gamma,
                m,
                locks,
                moves,
            };
            beam_path(&problem, &penalties)
                .unwrap_or_else(|| vit.run_from(0, &pot.log_masked, zr, m, k))
        }
    };
    let network = log_softmax(scores, pot, k);
    let empty_slots = std::mem::take(&mut pot.empty);
    // Keep the buffers for the next call unless they are unusually large.
    if t_n * k <= KEEP_WORKSPACE_CELLS {
        WORKSPACE.with(|w| w.set(Some(ws)));
    }
    Ok(Decoding {
        slots: t_n,
        k,
        path,
        marginals: gamma,
        network,
        empty_slots,
    })
}

/// The decoding of a problem without slots or without phrases: nothing to choose.
fn trivial_decoding(t_n: usize, k: usize) -> Decoding {
    Decoding {
        slots: t_n,
        k,
        path: vec![0; if k == 0 { 0 } else { t_n }],
        marginals: Vec::new(),
        network: Vec::new(),
        empty_slots: Vec::new(),
    }
}

/// Checks that there are T×K scores and every lock names one of the K phrases.
fn check_inputs(n_scores: usize, locks: &[Option<usize>], k: usize) -> Result<(), ChoreoError> {
    let t_n = locks.len();
    if n_scores != t_n * k {
        return Err(ChoreoError::Invalid(format!(
            "{n_scores} scores for {t_n} slots × {k} phrases"
        )));
    }
    if let Some((t, l)) = locks
        .iter()
        .enumerate()
        .find_map(|(t, l)| l.filter(|&l| l >= k).map(|l| (t, l)))
    {
        return Err(ChoreoError::Invalid(format!(
            "slot {t} is locked to phrase {l}, the library has {k}"
        )));
    }
    Ok(())
}

/// Largest problem (slots × phrases) whose buffers stay allocated between calls: 1 000 slots
/// × 2 000 phrases, ≈ 20 bytes a cell.
const KEEP_WORKSPACE_CELLS: usize = 2_000_000;

/// Buffers of one decode, kept per thread between calls: re-ranking after every edit would
/// otherwise allocate (and page-fault) ~3 MB for 100 slots × 1101 phrases each time. The
/// returned marginals and log-softmax are fresh allocations.
#[derive(Default)]
struct Workspace {
    pot: Potentials,
    vit: Viterbi,
    beta: Vec<f32>,
}

thread_local! {
    static WORKSPACE: Cell<Option<Workspace>> = const { Cell::new(None) };
}

/// `ln` of a path's weight (no locks), for tests and diagnostics: a normalised log
/// probability for [`Chain::Local`], the log of the unnormalised product for
/// [`Chain::Global`] (with `F_0` normalised).
pub fn path_log_prob(scores: &[f32], path: &[usize], m: &TransitionMatrix, chain: Chain) -> f64 {
    let k = m.len();
    let none = vec![None; path.len()];
    let pot = potentials(scores, k, &none);
    let z = normalisers(scores, m, path.len(), chain);
    let mut lp = 0.0f64;
    // No locks: the masked potentials are F_t.
    for (t, &j) in path.iter().enumerate() {
        let f = f64::from(pot.masked[t * k + j]);
        if t == 0 {
            let s: f64 = pot.masked[..k].iter().map(|&x| f64::from(x)).sum();
            lp += (f / s).ln();
        } else {
            let i = path[t - 1];
            let zz = z.as_ref().map_or(1.0, |z| f64::from(z[t * k + i]));
            lp += (f * f64::from(m.get(i, j)) / zz).ln();
        }
    }
    lp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_scores(t_n: usize, k: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..t_n * k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                -((x >> 40) as f32 / (1u64 << 24) as f32) * 5.0
            })
            .collect()
    }

    /// The passes one after the other, from scratch, on fixed scores: the reference the
    /// threaded, incremental [`decode`] must reproduce bit for bit.
    fn sequential(
        scores: &[f32],
        locks: &[Option<usize>],
        m: &TransitionMatrix,
        chain: Chain,
    ) -> (Vec<usize>, Vec<f32>) {
        let (t_n, k) = (locks.len(), m.len());
        let pot = potentials(scores, k, locks);
        let z = normalisers(scores, m, t_n, chain);
        let path = Viterbi::new(t_n, k).run_from(0, &pot.log_masked, z.as_deref(), m, k);
        let mut gamma = forward(&pot.masked, z.as_deref(), m, k);
        combine(&mut gamma, &backward(&pot.masked, z.as_deref(), m, k), k);
        (path, gamma)
    }

    /// Without the variety penalties, the threaded decode (above 20 000 cells) gives the same
    /// path and marginals as the sequential passes, and every row is a distribution; with
    /// them, the same marginals.
    #[test]
    fn threaded_decode_matches_sequential() {
        let (t_n, k) = (25usize, 1000usize);
        let styles: Vec<String> = (0..k).map(|i| format!("s{}", i % 7)).collect();
        let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).expect("matrix");
        let scores = random_scores(t_n, k, 12345);
        let mut locks = vec![None; t_n];
        locks[9] = Some(17);
        assert!(t_n * k >= 20_000, "exercise the threaded path");
        for chain in [Chain::Global, Chain::Local] {
            let settings = DecodeSettings {
                chain,
                ..DecodeSettings::plain()
            };
            let d = decode(&scores, &locks, &m, &settings).expect("decode");
            let (path, gamma) = sequential(&scores, &locks, &m, chain);
            assert_eq!(d.path, path);
            assert_eq!(d.marginals, gamma);
            assert_eq!(d.path[9], 17);
            for row in d.marginals.chunks(k) {
                let s: f32 = row.iter().sum();
                assert!((s - 1.0).abs() < 1e-4, "{s}");
            }
            let varied = DecodeSettings {
                chain,
                ..DecodeSettings::default()
            };
            let v = decode(&scores, &locks, &m, &varied).expect("decode");
            assert_eq!(v.marginals, gamma);
            assert_eq!(v.path[9], 17);
        }
    }

    /// The one-pass top-k equals a full sort by marginal (best first, ties by index), for
    /// n = 0, 1, a few, K and more than K, with many ties.
    #[test]
    fn top_k_matches_full_sort() {
        let k = 50;
        let mut x = 7u64;
        let marginals: Vec<f32> = (0..2 * k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 60) as f32) / 16.0 // 16 distinct values: ties everywhere
            })
            .collect();
        let d = Decoding {
            slots: 2,
            k,
            path: vec![0, 0],
            marginals,
            network: Vec::new(),
            empty_slots: Vec::new(),
        };
        for t in 0..2 {
            let row = &d.marginals[t * k..(t + 1) * k];
            let mut all: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for n in [0, 1, 5, 17, k, k + 3] {
                assert_eq!(d.top_k(t, n), all[..n.min(k)].to_vec(), "slot {t}, n = {n}");
            }
        }
    }
}
