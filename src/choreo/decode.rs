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
//! * **Diversity** (approximate, beyond the first-order chain): after Viterbi, an unlocked
//!   slot whose phrase already appeared in the previous `diversity_window` slots has that
//!   phrase's score lowered by `ln(diversity_penalty)` and the sequence is decoded again, for
//!   up to `diversity_rounds` rounds. Marginals use the final scores.

use super::ChoreoError;
use super::transition::TransitionMatrix;

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
    /// Slots looked back for reuse of a phrase (0 = off; the matrix diagonal already covers
    /// immediate repeats).
    pub diversity_window: usize,
    /// Multiplier on `F` for a reused phrase (in (0, 1]).
    pub diversity_penalty: f32,
    /// Re-decoding rounds for the diversity penalty.
    pub diversity_rounds: usize,
}

impl Default for DecodeSettings {
    fn default() -> Self {
        DecodeSettings {
            chain: Chain::Global,
            diversity_window: 4,
            diversity_penalty: 0.3,
            diversity_rounds: 3,
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
    /// The network part: `ln softmax(score_t)` after the diversity penalty, row-major T×K.
    pub network: Vec<f32>,
    /// Slots where no phrase scored above `−∞` (and none was locked).
    pub empty_slots: Vec<usize>,
}

impl Decoding {
    /// The `n` best phrases of slot `t` by posterior marginal, `(phrase, marginal)`, best
    /// first (ties by index).
    pub fn top_k(&self, t: usize, n: usize) -> Vec<(usize, f32)> {
        let row = &self.marginals[t * self.k..(t + 1) * self.k];
        let mut idx: Vec<usize> = (0..self.k).collect();
        let cmp = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
        let n = n.min(self.k);
        if n == 0 {
            return Vec::new();
        }
        if n < self.k {
            idx.select_nth_unstable_by(n - 1, cmp);
            idx.truncate(n);
        }
        idx.sort_by(cmp);
        idx.into_iter().map(|j| (j, row[j])).collect()
    }
}

/// Per-slot `F_t` (max-normalised, zeros for `−∞`), the evidence-masked copy and its log,
/// `ln ΣF_t + max` per slot (for the log-softmax), and the slots with nothing possible.
struct Potentials {
    f: Vec<f32>,
    masked: Vec<f32>,
    log_masked: Vec<f32>,
    lse: Vec<f32>,
    empty: Vec<usize>,
}

fn potentials(scores: &[f32], k: usize, locks: &[Option<usize>]) -> Potentials {
    let t_n = locks.len();
    let mut p = Potentials {
        f: vec![0.0f32; t_n * k],
        masked: vec![0.0f32; t_n * k],
        log_masked: vec![0.0f32; t_n * k],
        lse: vec![0.0f32; t_n],
        empty: Vec::new(),
    };
    for t in 0..t_n {
        fill_row(&mut p, scores, k, locks, t);
        if locks[t].is_none() && p.lse[t] == f32::NEG_INFINITY {
            p.empty.push(t);
        }
    }
    p
}

/// (Re)computes slot `t` of the potentials.
fn fill_row(p: &mut Potentials, scores: &[f32], k: usize, locks: &[Option<usize>], t: usize) {
    let r = t * k..(t + 1) * k;
    let row = &scores[r.clone()];
    let f = &mut p.f[r.clone()];
    let lm = &mut p.log_masked[r.clone()];
    let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if mx.is_finite() {
        for ((o, l), &s) in f.iter_mut().zip(lm.iter_mut()).zip(row) {
            *l = s - mx;
            *o = l.exp();
        }
        p.lse[t] = mx + f.iter().sum::<f32>().ln();
    } else {
        f.fill(1.0);
        lm.fill(0.0);
        p.lse[t] = f32::NEG_INFINITY;
    }
    let masked = &mut p.masked[r];
    match locks[t] {
        Some(l) => {
            let keep = f[l].max(1e-6);
            masked.fill(0.0);
            lm.fill(f32::NEG_INFINITY);
            masked[l] = keep;
            lm[l] = keep.ln();
        }
        None => masked.copy_from_slice(f),
    }
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

/// `z_t = M·F_t` for t ≥ 1 (row 0 unused), T×K; all ones for [`Chain::Global`].
fn normalisers(
    p: &Potentials,
    m: &TransitionMatrix,
    t_n: usize,
    k: usize,
    chain: Chain,
) -> Vec<f32> {
    let mut z = vec![1.0f32; t_n * k];
    if chain == Chain::Local {
        for t in 1..t_n {
            normaliser_row(p, m, k, t, &mut z);
        }
    }
    z
}

fn normaliser_row(p: &Potentials, m: &TransitionMatrix, k: usize, t: usize, z: &mut [f32]) {
    let (f, out) = (&p.f[t * k..(t + 1) * k], &mut z[t * k..(t + 1) * k]);
    m.mul_right(f, out);
}

fn viterbi(p: &Potentials, z: &[f32], m: &TransitionMatrix, t_n: usize, k: usize) -> Vec<usize> {
    let mut back = vec![0u32; t_n * k];
    let mut delta: Vec<f32> = p.log_masked[..k].to_vec();
    let mut shifted = vec![0.0f32; k];
    let mut best = vec![0.0f32; k];
    let mut order = Vec::new();
    for t in 1..t_n {
        let zt = &z[t * k..(t + 1) * k];
        for ((s, d), zz) in shifted.iter_mut().zip(&delta).zip(zt) {
            *s = d - zz.ln();
        }
        m.max_left(
            &shifted,
            &mut best,
            &mut back[t * k..(t + 1) * k],
            &mut order,
        );
        for ((d, b), f) in delta.iter_mut().zip(&best).zip(&p.log_masked[t * k..]) {
            *d = b + f;
        }
    }
    let mut path = vec![0usize; t_n];
    let mut j = 0usize;
    let mut bv = f32::NEG_INFINITY;
    for (i, &d) in delta.iter().enumerate() {
        if d > bv {
            bv = d;
            j = i;
        }
    }
    for t in (0..t_n).rev() {
        path[t] = j;
        if t > 0 {
            j = back[t * k + j] as usize;
        }
    }
    path
}

fn forward_backward(
    p: &Potentials,
    z: &[f32],
    m: &TransitionMatrix,
    t_n: usize,
    k: usize,
) -> Vec<f32> {
    // The forward (alpha) and backward (beta) recursions only read the potentials, so they
    // run on two threads; the marginals are their normalised product gamma_t ∝ alpha_t ⊙ beta_t.
    // Small problems stay on one thread (a spawn costs more than they do).
    if t_n * k < 20_000 {
        let mut gamma = forward(p, z, m, t_n, k);
        let beta = backward(p, z, m, t_n, k);
        combine(&mut gamma, &beta, k);
        return gamma;
    }
    let (mut gamma, beta) = std::thread::scope(|s| {
        let back = s.spawn(|| backward(p, z, m, t_n, k));
        let alpha = forward(p, z, m, t_n, k);
        // A panicking worker is a bug; fall back to computing beta here.
        let beta = back.join().unwrap_or_else(|_| backward(p, z, m, t_n, k));
        (alpha, beta)
    });
    combine(&mut gamma, &beta, k);
    gamma
}

/// Normalised forward messages alpha_t (T×K).
fn forward(p: &Potentials, z: &[f32], m: &TransitionMatrix, t_n: usize, k: usize) -> Vec<f32> {
    let mut alpha = vec![0.0f32; t_n * k];
    let mut tmp = vec![0.0f32; k];
    alpha[..k].copy_from_slice(&p.masked[..k]);
    normalise(&mut alpha[..k]);
    for t in 1..t_n {
        let (prev, cur) = alpha.split_at_mut(t * k);
        let prev = &prev[(t - 1) * k..];
        for ((x, a), zz) in tmp.iter_mut().zip(prev).zip(&z[t * k..(t + 1) * k]) {
            *x = a / zz;
        }
        let cur = &mut cur[..k];
        m.mul_left(&tmp, cur);
        for (c, f) in cur.iter_mut().zip(&p.masked[t * k..(t + 1) * k]) {
            *c *= f;
        }
        normalise(cur);
    }
    alpha
}

/// Normalised backward messages beta_t (T×K), beta_{T−1} = 1.
fn backward(p: &Potentials, z: &[f32], m: &TransitionMatrix, t_n: usize, k: usize) -> Vec<f32> {
    let mut beta = vec![1.0f32; t_n * k];
    let mut tmp = vec![0.0f32; k];
    let mut next = vec![0.0f32; k];
    for t in (1..t_n).rev() {
        let (before, after) = beta.split_at_mut(t * k);
        let b_t = &after[..k];
        for ((x, f), b) in tmp.iter_mut().zip(&p.masked[t * k..(t + 1) * k]).zip(b_t) {
            *x = f * b;
        }
        m.mul_right(&tmp, &mut next);
        let b_prev = &mut before[(t - 1) * k..];
        for ((b, n), zz) in b_prev.iter_mut().zip(&next).zip(&z[t * k..(t + 1) * k]) {
            *b = n / zz;
        }
        normalise(b_prev);
    }
    beta
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

fn log_softmax(scores: &[f32], p: &Potentials, k: usize) -> Vec<f32> {
    let mut out = scores.to_vec();
    for (row, &lse) in out.chunks_mut(k).zip(&p.lse) {
        if lse.is_finite() {
            row.iter_mut().for_each(|s| *s -= lse);
        }
    }
    out
}

/// Decodes T slots over K phrases. `scores` is row-major T×K (log-scores, `−∞` allowed),
/// `locks[t]` the phrase a slot is clamped to.
pub fn decode(
    scores: &[f32],
    locks: &[Option<usize>],
    m: &TransitionMatrix,
    settings: &DecodeSettings,
) -> Result<Decoding, ChoreoError> {
    let t_n = locks.len();
    let k = m.len();
    if scores.len() != t_n * k {
        return Err(ChoreoError::Invalid(format!(
            "{} scores for {t_n} slots × {k} phrases",
            scores.len()
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
    if t_n == 0 || k == 0 {
        return Ok(Decoding {
            slots: t_n,
            k,
            path: vec![0; if k == 0 { 0 } else { t_n }],
            marginals: Vec::new(),
            network: Vec::new(),
            empty_slots: Vec::new(),
        });
    }
    let mut scores = scores.to_vec();
    let mut pot = potentials(&scores, k, locks);
    let mut z = normalisers(&pot, m, t_n, k, settings.chain);
    let pen = settings.diversity_penalty.clamp(1e-6, 1.0).ln();
    let diversity = settings.diversity_window > 0 && pen < 0.0;
    if !diversity && t_n * k >= 20_000 {
        // Viterbi, the forward and the backward pass all read the same potentials: backward
        // on a second thread while this one runs Viterbi and forward.
        let (path, marginals) = std::thread::scope(|s| {
            let back = s.spawn(|| backward(&pot, &z, m, t_n, k));
            let path = viterbi(&pot, &z, m, t_n, k);
            let mut gamma = forward(&pot, &z, m, t_n, k);
            let beta = back
                .join()
                .unwrap_or_else(|_| backward(&pot, &z, m, t_n, k));
            combine(&mut gamma, &beta, k);
            (path, gamma)
        });
        return Ok(Decoding {
            slots: t_n,
            k,
            path,
            marginals,
            network: log_softmax(&scores, &pot, k),
            empty_slots: pot.empty,
        });
    }
    let mut path = viterbi(&pot, &z, m, t_n, k);
    if diversity {
        for _ in 0..settings.diversity_rounds {
            let mut changed = Vec::new();
            for t in 0..t_n {
                if locks[t].is_some() {
                    continue;
                }
                let lo = t.saturating_sub(settings.diversity_window);
                if path[lo..t].contains(&path[t]) {
                    let others_possible = scores[t * k..(t + 1) * k]
                        .iter()
                        .enumerate()
                        .any(|(j, x)| j != path[t] && x.is_finite());
                    if others_possible {
                        scores[t * k + path[t]] += pen;
                        changed.push(t);
                    }
                }
            }
            if changed.is_empty() {
                break;
            }
            for &t in &changed {
                fill_row(&mut pot, &scores, k, locks, t);
                if t > 0 && settings.chain == Chain::Local {
                    normaliser_row(&pot, m, k, t, &mut z);
                }
            }
            path = viterbi(&pot, &z, m, t_n, k);
        }
    }
    let marginals = forward_backward(&pot, &z, m, t_n, k);
    Ok(Decoding {
        slots: t_n,
        k,
        path,
        marginals,
        network: log_softmax(&scores, &pot, k),
        empty_slots: pot.empty,
    })
}

/// `ln` of a path's weight (no locks), for tests and diagnostics: a normalised log
/// probability for [`Chain::Local`], the log of the unnormalised product for
/// [`Chain::Global`] (with `F_0` normalised).
pub fn path_log_prob(scores: &[f32], path: &[usize], m: &TransitionMatrix, chain: Chain) -> f64 {
    let k = m.len();
    let none = vec![None; path.len()];
    let pot = potentials(scores, k, &none);
    let z = normalisers(&pot, m, path.len(), k, chain);
    let mut lp = 0.0f64;
    for (t, &j) in path.iter().enumerate() {
        let f = f64::from(pot.f[t * k + j]);
        if t == 0 {
            let s: f64 = pot.f[..k].iter().map(|&x| f64::from(x)).sum();
            lp += (f / s).ln();
        } else {
            let i = path[t - 1];
            lp += (f * f64::from(m.get(i, j)) / f64::from(z[t * k + i])).ln();
        }
    }
    lp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-thread forward–backward (used above 20 000 cells) gives the same marginals as
    /// running the passes one after the other, and every row is a distribution.
    #[test]
    fn threaded_forward_backward_matches_sequential() {
        let (t_n, k) = (25usize, 1000usize);
        let styles: Vec<String> = (0..k).map(|i| format!("s{}", i % 7)).collect();
        let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).expect("matrix");
        let mut x = 12345u64;
        let scores: Vec<f32> = (0..t_n * k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                -((x >> 40) as f32 / (1u64 << 24) as f32) * 5.0
            })
            .collect();
        let locks = vec![None; t_n];
        let pot = potentials(&scores, k, &locks);
        let z = normalisers(&pot, &m, t_n, k, Chain::Global);
        assert!(t_n * k >= 20_000, "exercise the threaded path");
        let threaded = forward_backward(&pot, &z, &m, t_n, k);
        let mut seq = forward(&pot, &z, &m, t_n, k);
        combine(&mut seq, &backward(&pot, &z, &m, t_n, k), k);
        assert_eq!(threaded, seq);
        // decode() without diversity runs Viterbi, forward and backward concurrently: same
        // answer as the sequential pieces.
        let settings = DecodeSettings {
            diversity_window: 0,
            ..DecodeSettings::default()
        };
        let d = decode(&scores, &locks, &m, &settings).expect("decode");
        assert_eq!(d.marginals, seq);
        assert_eq!(d.path, viterbi(&pot, &z, &m, t_n, k));
        for row in threaded.chunks(k) {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-4, "{s}");
        }
    }
}
