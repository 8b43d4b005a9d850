//! The evaluation table: the model against simple baselines on one test split, each row's
//! top-1/5/10 with a 95 % bootstrap interval over songs (test sets are a handful of songs, so
//! an interval matters more than a third decimal).
//!
//! Rows (names are stable: `evaluate --json` prints them):
//! - `frequency`: one fixed ranking by training-label frequency (no music at all);
//! - `style_frequency`: the same, counted on the training songs of the test song's style
//!   (only when the songs carry a `style`);
//! - `transition_interactive`: M's row of the previous slot's *true* label (the editor's case:
//!   the slot before was accepted); the first slot falls back to `frequency`;
//! - `model`: the network's probabilities F(u_t);
//! - `model_matrix`: the whole song decoded with M, unary `log F(u_t)(j) − α log P(j)`,
//!   pairwise `w · log M(i → j)` ([`ChainModel`]), ranked by posterior marginals
//!   (forward–backward: each slot's ranking uses every phrase of the song, as the editor's
//!   candidate lists do);
//! - `model_matrix_interactive`: `log F(u_t)(j) − α log P(j) + w_L · log M(l_{t−1} → j)` with
//!   the previous true label `l_{t−1}` known.
//!
//! `w` is the matrix weight between two slots the decoder chooses, `w_L` the weight next to a
//! slot whose phrase is known (accepted in the editor, or the true label here), and `α` the
//! prior correction (`w = w_L = 1, α = 0` is the paper's Eq. 6 product). Everything here is plain
//! arithmetic on probabilities and labels: the network has run before.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::transition::Transitions;

/// Bootstrap resamples of the songs.
pub const BOOTSTRAP_ROUNDS: usize = 1000;
/// Seed of the bootstrap (runs repeat).
pub const BOOTSTRAP_SEED: u64 = 0x5eed_b007;

/// One evaluated test song.
#[derive(Clone, Debug)]
pub struct EvalSong {
    /// The network's probabilities, one row of K per phrase.
    pub probs: Vec<Vec<f32>>,
    /// True class per phrase.
    pub labels: Vec<usize>,
    /// The song's dance style, when the labels say.
    pub style: Option<String>,
}

/// The training side the baselines are counted on: one labeled song each.
#[derive(Clone, Debug)]
pub struct TrainSong {
    /// Class per phrase, in time order.
    pub labels: Vec<usize>,
    /// Its style.
    pub style: Option<String>,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    /// Stable row name (see the module docs).
    pub name: String,
    /// Share of phrases whose true label is ranked first.
    pub top1: f64,
    /// … within the first five.
    pub top5: f64,
    /// … within the first ten.
    pub top10: f64,
    /// 95 % bootstrap interval of `top1` over songs.
    pub top1_ci: [f64; 2],
    /// 95 % bootstrap interval of `top5` over songs.
    pub top5_ci: [f64; 2],
    /// 95 % bootstrap interval of `top10` over songs.
    pub top10_ci: [f64; 2],
    /// Phrases counted.
    pub phrases: usize,
}

/// The whole table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalTable {
    /// The rows, baselines first.
    pub rows: Vec<EvalRow>,
    /// The matrix weight `w` used by the `model_matrix` row.
    pub matrix_weight: f32,
    /// The matrix weight `w_L` next to the known previous phrase (`model_matrix_interactive`).
    #[serde(default)]
    pub locked_weight: f32,
    /// The network exponent `τ` applied before every `model*` row (set by the caller that
    /// applied it; see [`tempered`]).
    #[serde(default = "one")]
    pub network_weight: f32,
    /// The prior correction `α` used by them ([`ChainModel`]).
    #[serde(default)]
    pub prior_correction: f32,
    /// The song-context weight applied to the network's probabilities before every `model*`
    /// row (see [`with_song_context`]; set by the caller that applied it).
    #[serde(default)]
    pub song_context: f32,
    /// The style-prior weight applied before them (0: none; set by the caller).
    #[serde(default)]
    pub style_weight: f32,
    /// The style-prior weight for songs whose style was declared and used (set by the
    /// caller; `None`: declared styles were not used, the music decided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_style_weight: Option<f32>,
    /// The music-feature expert's weight applied before them (0: none; set by the caller).
    #[serde(default)]
    pub expert_weight: f32,
    /// The start prior's weight on each song's first phrase (0: none; set by the caller).
    #[serde(default)]
    pub start_weight: f32,
    /// Test songs.
    pub songs: usize,
    /// Number of classes K.
    pub classes: usize,
    /// The same rows per dance style (when the songs carry one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_style: Vec<StyleRows>,
    /// The variety decode's penalties the model fitted on its labels (set by the caller;
    /// `None`: the program's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variety: Option<VarietyFit>,
}

fn one() -> f32 {
    1.0
}

/// The table's rows on the test songs of one style.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleRows {
    /// The style.
    pub style: String,
    /// Its test songs.
    pub songs: usize,
    /// The rows, as in [`EvalTable::rows`].
    pub rows: Vec<EvalRow>,
}

impl EvalTable {
    /// The row called `name`.
    pub fn row(&self, name: &str) -> Option<&EvalRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// A readable table (percentages, intervals of top-5).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} test songs, K = {}, matrix weight {:.2} (next to a known phrase {:.2}), network \
             exponent {:.2}, prior correction {:.2}, song context {:.2}, style prior {:.2}, \
             music-feature expert {:.2}, start prior {:.2}\n\
             {:<26} {:>6} {:>6} {:>7}  {:>15}\n",
            self.songs,
            self.classes,
            self.matrix_weight,
            self.locked_weight,
            self.network_weight,
            self.prior_correction,
            self.song_context,
            self.style_weight,
            self.expert_weight,
            self.start_weight,
            "row",
            "top-1",
            "top-5",
            "top-10",
            "top-5 95% CI"
        );
        if let Some(w) = self.declared_style_weight {
            s.insert_str(
                s.find('\n').unwrap_or(s.len()),
                &format!(
                    "; the songs' declared styles used for the model rows (style prior {w:.2})"
                ),
            );
        }
        for r in &self.rows {
            s.push_str(&format!(
                "{:<26} {:>6.1} {:>6.1} {:>7.1}  [{:>5.1}, {:>5.1}]\n",
                r.name,
                100.0 * r.top1,
                100.0 * r.top5,
                100.0 * r.top10,
                100.0 * r.top5_ci[0],
                100.0 * r.top5_ci[1]
            ));
        }
        if let Some(v) = &self.variety {
            s.push_str(&format!(
                "variety decode fitted on {} labeled phrases: reuse penalty {}, same move back \
                 to back {} (window {} slots); distinct moves per slot {:.2} decoded, {:.2} \
                 labelled; most-used move {:.2} decoded, {:.2} labelled (mismatch {:.3}, \
                 {:.3} with both off)\n",
                v.phrases,
                v.diversity_penalty,
                v.same_move_penalty,
                v.window,
                v.decoded.distinct_move_share,
                v.labels.distinct_move_share,
                v.decoded.most_used_move_share,
                v.labels.most_used_move_share,
                v.mismatch,
                v.mismatch_off
            ));
        }
        if !self.per_style.is_empty() {
            s.push_str("\ntop-5 per style (songs):");
            for r in self.per_style.first().map_or(&[][..], |p| &p.rows[..]) {
                s.push_str(&format!(" | {}", r.name));
            }
            s.push('\n');
            for p in &self.per_style {
                s.push_str(&format!("{} ({})", p.style, p.songs));
                for r in &p.rows {
                    s.push_str(&format!(" | {:.1}", 100.0 * r.top5));
                }
                s.push('\n');
            }
        }
        s
    }
}

/// 1-based rank of class `label` in `scores` (higher is better; ties count against it).
pub fn rank_of(scores: &[f32], label: usize) -> usize {
    let Some(&v) = scores.get(label) else {
        return scores.len() + 1;
    };
    1 + scores
        .iter()
        .enumerate()
        .filter(|&(j, &s)| j != label && s >= v)
        .count()
}

/// Label counts per class, with a tiny index tie-break so that the ranking they give is fixed
/// (the frequency prior; labels outside `0..k` are ignored).
pub fn label_frequency(labels: impl IntoIterator<Item = usize>, k: usize) -> Vec<f32> {
    let mut f = vec![0.0f32; k];
    for l in labels {
        if l < k {
            f[l] += 1.0;
        }
    }
    for (i, v) in f.iter_mut().enumerate() {
        *v -= i as f32 * 1e-6;
    }
    f
}

/// [`label_frequency`] of the labels of `songs`.
fn frequency(songs: &[&TrainSong], k: usize) -> Vec<f32> {
    label_frequency(songs.iter().flat_map(|s| s.labels.iter().copied()), k)
}

/// How the network and the matrix meet on a song's chain (Duan et al. 2020, Eq. 6, with
/// fitted exponents): unary `log F_t(j) − α · log P(j)`, pairwise `w · log M(i → j)`.
///
/// `F_t` is a posterior `P(j | u_t)` trained by cross-entropy, so it already holds the label
/// prior `P(j)`, and so does M's row (`M(i → j) = P(j | i)`): their product counts the prior
/// twice and ranks the common phrases above what the matrix says — with a near-flat network
/// the matrix then adds almost nothing. Dividing it out (`α = 1`) turns F into the scaled
/// likelihood `P(u_t | j) / P(u_t)` of hybrid network/HMM recognisers (Bourlard & Morgan
/// 1994), and `F_t / P · M(l_{t−1}, ·)` becomes Bayes' rule for the interactive case; `α` and
/// `w` are fitted on validation songs ([`calibrate`]) because F is not perfectly calibrated.
#[derive(Clone, Copy, Debug)]
pub struct ChainModel<'a> {
    /// The transition matrix M.
    pub m: &'a Transitions,
    /// Its weight `w`.
    pub w: f32,
    /// Exponent `α` of the label prior divided out of F (0: F as it is, the paper's product).
    pub alpha: f32,
    /// `log P(j)`, the training labels' prior F learnt (empty: none).
    pub log_prior: &'a [f32],
    /// Weight `w_L` of M next to a slot whose phrase is known (see [`locked_weight`]).
    ///
    /// [`locked_weight`]: crate::model::folder::ModelInfo::locked_matrix_weight
    pub locked_w: f32,
}

impl<'a> ChainModel<'a> {
    /// `F · M^w`, no prior correction.
    pub fn plain(m: &'a Transitions, w: f32) -> ChainModel<'a> {
        ChainModel {
            m,
            w,
            alpha: 0.0,
            log_prior: &[],
            locked_w: w,
        }
    }

    /// The unary term of one phrase from its probabilities.
    pub fn unary(&self, p: &[f32]) -> Vec<f32> {
        p.iter()
            .enumerate()
            .map(|(j, v)| {
                let prior = self.log_prior.get(j).copied().unwrap_or(0.0);
                v.max(1e-12).ln() - self.alpha * prior
            })
            .collect()
    }

    /// The pairwise term `w · log M(i → j)`.
    fn pairwise(&self, i: usize, j: usize) -> f32 {
        self.w * self.m.get(i, j).max(1e-12).ln()
    }
}

/// Log posterior marginals `log P(d_t = j | u_1 … u_T)` (up to a constant per slot) of the
/// chain with unary scores `unary[t][j]` and pairwise `chain`'s `w · log M(i → j)`: the scaled
/// forward–backward recursions (Rabiner 1989) in f64, O(T K²). This is the ranking the
/// editor's per-slot candidate lists show (`choreo::decode`).
pub fn posterior_marginals(unary: &[Vec<f32>], chain: &ChainModel<'_>) -> Vec<Vec<f32>> {
    posterior_marginals_with(unary, &pairwise_weights(chain))
}

/// `M(i → j)^w` as f64, row-major K×K: the pairwise factor of the chain, which depends on M
/// and `w` only ([`calibrate`] computes it once per pair instead of once per song and grid
/// point: with K = 240 its K² `ln`/`exp` were half of training's time).
fn pairwise_weights(chain: &ChainModel<'_>) -> Vec<f64> {
    let k = chain.m.k;
    (0..k * k)
        .map(|idx| f64::from(chain.pairwise(idx / k, idx % k)).exp())
        .collect()
}

/// [`posterior_marginals`] with the pairwise factors `mw` ([`pairwise_weights`]) given.
fn posterior_marginals_with(unary: &[Vec<f32>], mw: &[f64]) -> Vec<Vec<f32>> {
    let n = unary.len();
    let Some(k) = unary.first().map(Vec::len) else {
        return Vec::new();
    };
    if mw.len() != k * k {
        return unary.to_vec();
    }
    let e: Vec<Vec<f64>> = unary
        .iter()
        .map(|u| {
            let max = u.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            u.iter().map(|x| f64::from(x - max).exp()).collect()
        })
        .collect();
    let normalise = |v: &mut [f64]| {
        let s: f64 = v.iter().sum();
        if s > 0.0 && s.is_finite() {
            v.iter_mut().for_each(|x| *x /= s);
        }
    };
    let mut alpha = vec![vec![0.0f64; k]; n];
    alpha[0].clone_from(&e[0]);
    normalise(&mut alpha[0]);
    for t in 1..n {
        let (done, rest) = alpha.split_at_mut(t);
        let (prev, cur) = (&done[t - 1], &mut rest[0]);
        for (i, &a) in prev.iter().enumerate() {
            if a > 0.0 {
                for (c, m) in cur.iter_mut().zip(&mw[i * k..(i + 1) * k]) {
                    *c += a * m;
                }
            }
        }
        cur.iter_mut().zip(&e[t]).for_each(|(c, x)| *c *= x);
        normalise(cur);
    }
    let mut beta = vec![vec![1.0f64; k]; n];
    for t in (0..n.saturating_sub(1)).rev() {
        let next: Vec<f64> = e[t + 1]
            .iter()
            .zip(&beta[t + 1])
            .map(|(a, b)| a * b)
            .collect();
        for (i, b) in beta[t].iter_mut().enumerate() {
            *b = mw[i * k..(i + 1) * k]
                .iter()
                .zip(&next)
                .map(|(m, x)| m * x)
                .sum();
        }
        normalise(&mut beta[t]);
    }
    alpha
        .iter()
        .zip(&beta)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x * y).ln() as f32).collect())
        .collect()
}

/// Per-song ranks of one row.
type Ranks = Vec<Vec<usize>>;

/// The table for `test` songs, baselines counted on `train`; `chain` combines the network
/// and the matrix (the baselines use its M).
pub fn evaluation_table(
    test: &[EvalSong],
    train: &[TrainSong],
    chain: &ChainModel<'_>,
) -> EvalTable {
    let (m, k) = (chain.m, chain.m.k);
    let all: Vec<&TrainSong> = train.iter().collect();
    let freq = frequency(&all, k);
    let mut rows: Vec<(&str, Ranks)> = vec![("frequency", fixed_ranks(test, &freq))];
    if test.iter().any(|s| s.style.is_some()) {
        rows.push(("style_frequency", style_ranks(test, train, &freq, k)));
    }
    rows.push(("transition_interactive", transition_ranks(test, m, &freq)));
    rows.push((
        "model",
        per_phrase(test, |s, t| rank_of(&s.probs[t], s.labels[t])),
    ));
    rows.push((
        "model_matrix",
        whole_song_ranks(test, chain, &pairwise_weights(chain)),
    ));
    rows.push(("model_matrix_interactive", interactive_ranks(test, chain)));
    let per_style = per_style_rows(test, &rows);
    EvalTable {
        rows: rows
            .into_iter()
            .map(|(name, ranks)| row(name, &ranks))
            .collect(),
        matrix_weight: chain.w,
        locked_weight: chain.locked_w,
        network_weight: 1.0,
        prior_correction: chain.alpha,
        song_context: 0.0,
        style_weight: 0.0,
        declared_style_weight: None,
        variety: None,
        start_weight: 0.0,
        expert_weight: 0.0,
        songs: test.len(),
        classes: k,
        per_style,
    }
}

/// The rows again for the songs of each style (songs without one are left out), styles in
/// name order.
fn per_style_rows(test: &[EvalSong], rows: &[(&str, Ranks)]) -> Vec<StyleRows> {
    let mut styles: Vec<&str> = test.iter().filter_map(|s| s.style.as_deref()).collect();
    styles.sort_unstable();
    styles.dedup();
    styles
        .into_iter()
        .map(|style| {
            let pick = |ranks: &Ranks| -> Ranks {
                ranks
                    .iter()
                    .zip(test)
                    .filter(|(_, s)| s.style.as_deref() == Some(style))
                    .map(|(r, _)| r.clone())
                    .collect()
            };
            StyleRows {
                style: style.to_string(),
                songs: test
                    .iter()
                    .filter(|s| s.style.as_deref() == Some(style))
                    .count(),
                rows: rows
                    .iter()
                    .map(|(name, ranks)| row(name, &pick(ranks)))
                    .collect(),
            }
        })
        .collect()
}

/// The chain's interactive scores ranked, the previous true label known.
fn interactive_ranks(test: &[EvalSong], chain: &ChainModel<'_>) -> Ranks {
    per_phrase(test, |s, t| {
        rank_of(&interactive_scores(s, t, chain), s.labels[t])
    })
}

/// Phrase `t`'s scores with the previous true label known: the unary term plus
/// `w_L · log M(l_{t−1}, ·)` (the unary term alone for the first phrase).
fn interactive_scores(s: &EvalSong, t: usize, chain: &ChainModel<'_>) -> Vec<f32> {
    let mut v = chain.unary(&s.probs[t]);
    if t > 0 {
        let prev = s.labels[t - 1];
        for (j, x) in v.iter_mut().enumerate().take(chain.m.k) {
            *x += chain.locked_w * chain.m.get(prev, j).max(1e-12).ln();
        }
    }
    v
}

/// Matrix weights tried by [`calibrate`] (for `w` and `w_L` alike).
pub const CALIBRATION_WEIGHTS: [f32; 11] =
    [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0];
/// Song-context weights tried by [`calibrate`].
pub const CONTEXT_WEIGHTS: [f32; 4] = [0.0, 0.5, 1.0, 2.0];
/// Network exponents `τ` tried by [`calibrate`] ([`tempered`]).
pub const NETWORK_WEIGHTS: [f32; 4] = [0.0, 0.25, 0.5, 1.0];

/// Song context: `log F'_t(j) = log F_t(j) + γ · log F̄(j)`, renormalised, where `F̄` is the
/// mean of the network's distributions over all phrases of the song. A song is danced in one
/// style, so the phrases' pooled opinion of which dance phrases fit it is a far steadier cue
/// than any single phrase's (the per-song analogue of the per-style frequency prior, with the
/// style inferred from the music rather than given). `γ = 0` leaves `F` as it is.
pub fn with_song_context(probs: &[Vec<f32>], gamma: f32) -> Vec<Vec<f32>> {
    let Some(k) = probs.first().map(Vec::len) else {
        return Vec::new();
    };
    if gamma == 0.0 {
        return probs.to_vec();
    }
    let n = probs.len() as f32;
    let mut mean = vec![0.0f32; k];
    for p in probs {
        for (m, v) in mean.iter_mut().zip(p) {
            *m += v / n;
        }
    }
    super::style::with_prior(probs, &mean, gamma)
}

/// The network's probabilities raised to `τ` and renormalised (`F^τ`, a temperature): how far
/// the network is trusted beside the style prior and the matrix. `τ = 1` leaves F as it is;
/// `τ = 0` makes it uniform, so the ranking falls back on the priors and M alone — what a
/// network that learnt nothing of use on the validation songs should be given.
pub fn tempered(probs: &[Vec<f32>], tau: f32) -> Vec<Vec<f32>> {
    if tau == 1.0 {
        return probs.to_vec();
    }
    probs
        .iter()
        .map(|p| {
            let logs: Vec<f32> = p.iter().map(|v| tau * v.max(1e-12).ln()).collect();
            let max = logs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = logs.iter().map(|l| (l - max).exp()).collect();
            let sum: f32 = e.iter().sum::<f32>().max(1e-30);
            e.iter().map(|v| v / sum).collect()
        })
        .collect()
}

/// The probabilities the chain's unary terms come from, for one song's phrases: the
/// network's `F` raised to `τ` ([`tempered`]), times the style prior (one row for the song)
/// raised to `λ`, times the music-feature expert's rows raised to `κ`
/// ([`super::feature_expert::with_rows`]), then the song context `γ`
/// ([`with_song_context`]) — the one order used when a model scores a song
/// (`SongPriors::apply`) and when [`calibrate`] tries weights.
pub fn combine(
    probs: &[Vec<f32>],
    tau: f32,
    style: Option<(&[f32], f32)>,
    expert: Option<(&[Vec<f32>], f32)>,
    gamma: f32,
) -> Vec<Vec<f32>> {
    let p = tempered(probs, tau);
    let p = match style {
        Some((prior, lambda)) => super::style::with_prior(&p, prior, lambda),
        None => p,
    };
    let p = match expert {
        Some((g, kappa)) => super::feature_expert::with_rows(&p, g, kappa),
        None => p,
    };
    with_song_context(&p, gamma)
}

/// How the network and the matrix are combined, as fitted by [`calibrate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combination {
    /// Index of the chosen matrix among the candidates.
    pub matrix: usize,
    /// Matrix weight `w` between two slots the decoder chooses.
    pub matrix_weight: f32,
    /// Matrix weight `w_L` next to a slot whose phrase is known (the interactive case).
    pub locked_weight: f32,
    /// Network exponent `τ` ([`tempered`]).
    pub network_weight: f32,
    /// Song-context weight `γ` ([`with_song_context`]).
    pub song_context: f32,
    /// Style-prior weight `λ` ([`super::style::StylePrior`]).
    pub style_weight: f32,
    /// Weight `κ` of the music-feature expert ([`super::feature_expert`]).
    pub expert_weight: f32,
    /// Exponent `α` of the label prior divided out of F ([`ChainModel`]; scaled by `τ` on
    /// the chain, since it corrects the prior inside F).
    pub prior_correction: f32,
    /// Weight of the start prior on a song's first phrase ([`super::style::StartPrior`]).
    pub start_weight: f32,
    /// The validation score it reached (see [`calibrate`]; higher is better).
    pub score: f64,
}

impl Combination {
    /// The paper's Eq. 6 product `F · M` (every weight 1, nothing else), what is used when
    /// there is nothing to fit the weights on; its score is `−∞` (not fitted).
    pub fn paper() -> Combination {
        Combination {
            matrix: 0,
            matrix_weight: 1.0,
            locked_weight: 1.0,
            network_weight: 1.0,
            song_context: 0.0,
            style_weight: 0.0,
            expert_weight: 0.0,
            prior_correction: 0.0,
            start_weight: 0.0,
            score: f64::NEG_INFINITY,
        }
    }
}

/// Mean log-likelihood of the true labels under `softmax(log F_t + w_L · log M(l_{t−1}, ·))`
/// (the first phrase of a song under `F_1`): how well the combination predicts the next
/// phrase once the previous one is known.
fn interactive_log_likelihood(songs: &[EvalSong], chain: &ChainModel<'_>) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for s in songs {
        for t in 0..s.labels.len().min(s.probs.len()) {
            let v = interactive_scores(s, t, chain);
            let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = max + v.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
            if let Some(x) = v.get(s.labels[t]) {
                sum += f64::from(x - lse);
                n += 1;
            }
        }
    }
    sum / n.max(1) as f64
}

/// The ranking score calibration maximises: the mean of the reciprocal rank `1/r` and of
/// `min(1, 5/r)` (1 inside the top five, then falling as `5/r`), so that placing the true
/// phrase first and placing it among the five an editor shows both count. Both move smoothly
/// with the weights where a top-k count over a few hundred validation phrases jumps.
fn mrr(ranks: &Ranks) -> f64 {
    let (sum, n) = ranks.iter().flatten().fold((0.0f64, 0usize), |(s, n), &r| {
        let r = r.max(1) as f64;
        (s + 0.5 / r + 0.5 * (5.0 / r).min(1.0), n + 1)
    });
    sum / n.max(1) as f64
}

/// The interactive half of the calibration score for the chain's unary terms and M: the
/// mean reciprocal rank with the previous true label known plus a hundredth of the
/// log-likelihood (ties; the likelihood alone prefers small weights, since one unseen
/// transition costs it dearly, where ranking wants large ones), at the best `w_L` of
/// [`CALIBRATION_WEIGHTS`] (the smaller on ties), pooled over `folds` (each fold's songs with
/// its own chain). Returns (score, `w_L`).
fn best_interactive(folds: &[(Vec<EvalSong>, ChainModel<'_>)]) -> (f64, f32) {
    let mut best = (f64::NEG_INFINITY, 0.0f32);
    for &wl in &CALIBRATION_WEIGHTS {
        let mut ranks = Ranks::new();
        let (mut ll, mut n) = (0.0f64, 0usize);
        for (songs, chain) in folds {
            let c = ChainModel {
                locked_w: wl,
                ..*chain
            };
            ranks.extend(interactive_ranks(songs, &c));
            let phrases: usize = songs
                .iter()
                .map(|s| s.labels.len().min(s.probs.len()))
                .sum();
            ll += interactive_log_likelihood(songs, &c) * phrases as f64;
            n += phrases;
        }
        let score = mrr(&ranks) + 0.02 * ll / n.max(1) as f64;
        if score > best.0 + 1e-9 {
            best = (score, wl);
        }
    }
    best
}

/// Style-prior weights tried by [`calibrate`]. The prior is add-one smoothed over all K
/// classes, so with many classes and few labels per style its own contrast is weak; 4 lets a
/// data set whose declared styles decide much sharpen it (not chosen on the synthetic
/// learning benchmark, whose tables stayed the same with it).
pub const STYLE_WEIGHTS: [f32; 5] = [0.0, 0.5, 1.0, 2.0, 4.0];
/// Start-prior weights tried by [`calibrate`] ([`super::style::StartPrior`]).
pub const START_WEIGHTS: [f32; 5] = [0.0, 0.5, 1.0, 2.0, 4.0];
/// Prior-correction exponents `α` tried by [`calibrate`].
pub const PRIOR_CORRECTIONS: [f32; 3] = [0.0, 0.5, 1.0];
/// Weights `κ` of the music-feature expert tried by [`calibrate`].
pub const EXPERT_WEIGHTS: [f32; 4] = [0.0, 0.5, 1.0, 2.0];
/// Rounds of [`calibrate`]'s coordinate search at most.
const CALIBRATION_ROUNDS: usize = 4;

/// What [`calibrate`] fits on, one fold of the training songs: its held-out songs (the
/// probabilities of a network trained without them in `probs`), and what may be combined
/// with them (counted without them too).
#[derive(Clone, Copy, Debug)]
pub struct Validation<'a> {
    /// The songs.
    pub songs: &'a [EvalSong],
    /// Candidate matrices M.
    pub ms: &'a [Transitions],
    /// Per song, its style prior (its declared style's repertoire, or the style its music
    /// suggests, as the caller fits; empty or `None`: none).
    pub style_priors: &'a [Option<Vec<f32>>],
    /// Per song, the music-feature expert's probabilities, one row per phrase (empty or
    /// `None`: none).
    pub experts: &'a [Option<Vec<Vec<f32>>>],
    /// The training labels' log prior (empty: no prior correction).
    pub log_prior: &'a [f32],
    /// Per song, how its style's dances begin ([`super::style::StartPrior::for_style`];
    /// empty or `None`: no start prior).
    pub start_priors: &'a [Option<Vec<f32>>],
}

/// One point of [`calibrate`]'s search, as indices into the weight lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Point {
    matrix: usize,
    w: usize,
    tau: usize,
    lambda: usize,
    kappa: usize,
    gamma: usize,
    alpha: usize,
    start: usize,
}

impl Point {
    /// The point of combination `c` in `lists` (`None` when `c` holds a weight outside
    /// them): the inverse of the mapping at the end of [`calibrate`].
    fn of(c: &Combination, lists: &[&[f32]; 8]) -> Option<Point> {
        let find = |list: &[f32], x: f32| list.iter().position(|&y| y == x);
        Some(Point {
            matrix: c.matrix,
            w: find(lists[1], c.matrix_weight)?,
            tau: find(lists[2], c.network_weight)?,
            lambda: find(lists[3], c.style_weight)?,
            kappa: find(lists[4], c.expert_weight)?,
            gamma: find(lists[5], c.song_context)?,
            alpha: find(lists[6], c.prior_correction)?,
            start: find(lists[7], c.start_weight)?,
        })
    }
}

/// Fits the combination of network, priors and matrix on validation songs. It maximises the
/// mean of two halves: the mean reciprocal rank of the true labels over the whole-song
/// decode (which sets `w`), and the interactive half of [`best_interactive`] (which sets
/// `w_L`); the other weights are shared by both. Searched: the candidate matrices, the
/// network exponent ([`NETWORK_WEIGHTS`]), the style-prior weight ([`STYLE_WEIGHTS`], where
/// songs have a style prior), the music-feature expert's weight ([`EXPERT_WEIGHTS`], where
/// they have one), the song context ([`CONTEXT_WEIGHTS`]), the prior correction
/// ([`PRIOR_CORRECTIONS`], with a log prior) and `w`, `w_L` ([`CALIBRATION_WEIGHTS`]).
///
/// The search is by coordinates (each weight in turn over its whole list, the others held,
/// until a round changes nothing), started twice — from the network as it is and from the
/// network switched off (`τ = 0`) — and the better end kept: a full grid over seven weights
/// is thousands of forward–backward passes. Ties: the earlier start, the value tried first
/// (smaller weights). With `τ = 0` reachable, the combination on the validation songs is never
/// worse than the priors and M without the network: a network that learnt nothing useful is
/// switched off rather than allowed to drown the matrix.
pub fn calibrate(v: &[Validation<'_>]) -> Combination {
    let lists = weight_lists(v);
    let sizes = lists.map(<[f32]>::len);
    let matrices = v.iter().map(|f| f.ms.len()).min().unwrap_or(0);
    let sizes = [
        matrices, sizes[1], sizes[2], sizes[3], sizes[4], sizes[5], sizes[6], sizes[7],
    ];
    let find = |list: &[f32], x: f32| list.iter().position(|&y| y == x).unwrap_or(0);
    let mut memo: std::collections::HashMap<Point, (f64, f32)> = std::collections::HashMap::new();
    let mut pairwise: std::collections::HashMap<(usize, usize, usize), Vec<f64>> =
        std::collections::HashMap::new();
    let mut best: Option<(f64, Point, f32)> = None;
    for tau_start in [1.0f32, 0.0] {
        let mut at = Point {
            // smoothing 2 when offered second, as in training's list
            matrix: usize::from(matrices > 1),
            w: find(&CALIBRATION_WEIGHTS, 1.0),
            tau: find(&NETWORK_WEIGHTS, tau_start),
            lambda: find(lists[3], 1.0),
            kappa: find(lists[4], 1.0),
            gamma: 0,
            alpha: 0,
            start: 0,
        };
        let mut here = score_point(v, &lists, at, &mut memo, &mut pairwise);
        for _ in 0..CALIBRATION_ROUNDS {
            let before = at;
            for (coord, &size) in sizes.iter().enumerate() {
                for i in 0..size {
                    let mut p = at;
                    *coord_mut(&mut p, coord) = i;
                    let s = score_point(v, &lists, p, &mut memo, &mut pairwise);
                    if s.0 > here.0 + 1e-9 {
                        (at, here) = (p, s);
                    }
                }
            }
            if at == before {
                break;
            }
        }
        if best.as_ref().is_none_or(|b| here.0 > b.0 + 1e-9) {
            best = Some((here.0, at, here.1));
        }
    }
    let Some((score, p, locked_weight)) = best.filter(|b| b.0.is_finite()) else {
        return Combination::paper();
    };
    Combination {
        matrix: p.matrix,
        matrix_weight: lists[1][p.w],
        locked_weight,
        network_weight: lists[2][p.tau],
        style_weight: lists[3][p.lambda],
        expert_weight: lists[4][p.kappa],
        song_context: lists[5][p.gamma],
        prior_correction: lists[6][p.alpha],
        start_weight: lists[7][p.start],
        score,
    }
}

/// The style-prior weight alone, every other weight as `c`: the value of [`STYLE_WEIGHTS`]
/// that ranks `v` best. Training fits `c` with each song's declared style as its prior
/// ([`super::style::StylePrior::song_prior`]), then this on the same songs with the priors
/// the music guesses, for songs nobody labelled. `c.style_weight` unless another value is
/// strictly better (or when `c` holds a weight outside the lists).
pub fn calibrate_style_weight(v: &[Validation<'_>], c: &Combination) -> f32 {
    let lists = weight_lists(v);
    let Some(base) = Point::of(c, &lists) else {
        return c.style_weight;
    };
    let mut memo = std::collections::HashMap::new();
    let mut pairwise = std::collections::HashMap::new();
    let mut best = (
        score_point(v, &lists, base, &mut memo, &mut pairwise).0,
        c.style_weight,
    );
    for (i, &w) in lists[3].iter().enumerate() {
        let p = Point { lambda: i, ..base };
        let s = score_point(v, &lists, p, &mut memo, &mut pairwise).0;
        if s > best.0 + 1e-9 {
            best = (s, w);
        }
    }
    best.1
}

/// Reuse penalties (the variety decode's `diversity_penalty`) tried by [`fit_variety`],
/// 1 = off.
pub const REUSE_PENALTIES: [f32; 5] = [1.0, 0.5, 0.3, 0.1, 0.02];
/// Same-move-back-to-back penalties (`same_move_penalty`) tried by [`fit_variety`], 1 = off.
pub const SAME_MOVE_PENALTIES: [f32; 4] = [1.0, 0.5, 0.1, 0.01];

/// How much a dance repeats its moves, per song and averaged over songs: what
/// [`fit_variety`] matches (the same two shares as the dance metrics of
/// [`crate::motion::metrics`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RepeatStats {
    /// Distinct moves / slots.
    pub distinct_move_share: f64,
    /// Slots of the most-used move / slots.
    pub most_used_move_share: f64,
}

impl RepeatStats {
    /// The shares of one song's classes ([`crate::motion::metrics::sequence_stats`] of their
    /// moves; classes without a move count together as one).
    fn of(classes: &[usize], moves: &[u32]) -> RepeatStats {
        let seq: Vec<Option<u32>> = classes.iter().map(|&c| moves.get(c).copied()).collect();
        let (distinct, most, _) = crate::motion::metrics::sequence_stats(&seq);
        RepeatStats {
            distinct_move_share: distinct,
            most_used_move_share: most,
        }
    }

    /// The mean of `stats`.
    fn mean(stats: &[RepeatStats]) -> RepeatStats {
        let n = stats.len().max(1) as f64;
        RepeatStats {
            distinct_move_share: stats.iter().map(|s| s.distinct_move_share).sum::<f64>() / n,
            most_used_move_share: stats.iter().map(|s| s.most_used_move_share).sum::<f64>() / n,
        }
    }

    /// `|Δ distinct| + |Δ most used|`.
    fn distance(&self, other: &RepeatStats) -> f64 {
        (self.distinct_move_share - other.distinct_move_share).abs()
            + (self.most_used_move_share - other.most_used_move_share).abs()
    }
}

/// The variety decode's penalties as the labels call for them ([`fit_variety`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VarietyFit {
    /// Factor on a phrase for every earlier use of its move within `window` slots.
    pub diversity_penalty: f32,
    /// Factor on a phrase of the previous slot's move.
    pub same_move_penalty: f32,
    /// Slots looked back.
    pub window: usize,
    /// Mean over songs of `|Δ distinct| + |Δ most used|` between the decoded dances and
    /// the labels with these penalties (lower is better).
    #[serde(default)]
    pub mismatch: f64,
    /// The same with both penalties off, for comparison.
    #[serde(default)]
    pub mismatch_off: f64,
    /// How the labelled dances repeat their moves (means over songs).
    #[serde(default)]
    pub labels: RepeatStats,
    /// How the dances decoded with these penalties repeat theirs.
    #[serde(default)]
    pub decoded: RepeatStats,
    /// Labeled phrases it was fitted on.
    pub phrases: usize,
}

/// Fits the variety decode's penalties (`choreo::decode::DecodeSettings::diversity_penalty`
/// and `same_move_penalty`) so that dances decoded with them repeat their moves as the
/// labelled dances do: every validation song is decoded left to right (each slot the class
/// with the best `F` as `c` combines it, `w · log M` from the slot before, `ln same_move` for
/// the previous slot's move and `ln reuse` per earlier use of its move among the `window`
/// slots before), and the pair of [`REUSE_PENALTIES`] × [`SAME_MOVE_PENALTIES`] whose dances'
/// distinct-move and most-used-move shares lie closest to the labels' (mean over songs of
/// the summed absolute differences) is kept, the weaker pair on a tie.
///
/// Why not the likelihood of the next true label (teacher forcing), as `w_L` is fitted: a
/// penalty is a decoding rule, not a probability. Labels that reuse a song's few moves make
/// any penalty less likely, so that fit switched the penalties off — and a decode without
/// them keeps taking the one best-scoring move (the retrained default model danced one move
/// in 31 of MakeMe's 37 slots), far more repetitive than the labels it learnt from. The same
/// holds for greedy decoding of language models, whose repetition penalties are set on the
/// output, not on the likelihood. `moves` gives each class's move. `None` when `c` holds a
/// weight outside the lists or there is no song to decode.
pub fn fit_variety(
    v: &[Validation<'_>],
    c: &Combination,
    moves: &[u32],
    window: usize,
) -> Option<VarietyFit> {
    let lists = weight_lists(v);
    let p = Point::of(c, &lists)?;
    // per song: its chain, its combined scores and how its labels repeat, once for all pairs
    let mut songs = Vec::new();
    for f in v {
        let chain = ChainModel {
            m: f.ms.get(p.matrix)?,
            w: lists[1][p.w],
            alpha: lists[6][p.alpha] * lists[2][p.tau],
            log_prior: f.log_prior,
            locked_w: c.locked_weight,
        };
        for s in combined_songs(f, &lists, p) {
            let n = s.labels.len().min(s.probs.len());
            if n > 0 {
                let labelled = RepeatStats::of(&s.labels[..n], moves);
                songs.push((chain, s, n, labelled));
            }
        }
    }
    if songs.is_empty() {
        return None;
    }
    let labels = RepeatStats::mean(&songs.iter().map(|x| x.3).collect::<Vec<_>>());
    let decoded = |reuse: f32, same: f32| {
        let per_song: Vec<(RepeatStats, f64)> = songs
            .iter()
            .map(|(chain, s, n, labelled)| {
                let dance =
                    greedy_variety_decode(&s.probs[..*n], chain, moves, window, reuse, same);
                let d = RepeatStats::of(&dance, moves);
                (d, d.distance(labelled))
            })
            .collect();
        let stats: Vec<RepeatStats> = per_song.iter().map(|x| x.0).collect();
        let miss = per_song.iter().map(|x| x.1).sum::<f64>() / per_song.len() as f64;
        (RepeatStats::mean(&stats), miss)
    };
    let (off_stats, off) = decoded(1.0, 1.0);
    let mut best = (off, 1.0f32, 1.0f32, off_stats);
    for &r in &REUSE_PENALTIES {
        for &sm in &SAME_MOVE_PENALTIES {
            let (stats, miss) = decoded(r, sm);
            if miss < best.0 - 1e-9 {
                best = (miss, r, sm, stats);
            }
        }
    }
    Some(VarietyFit {
        diversity_penalty: best.1,
        same_move_penalty: best.2,
        window,
        mismatch: best.0,
        mismatch_off: off,
        labels,
        decoded: best.3,
        phrases: songs.iter().map(|x| x.2).sum(),
    })
}

/// A dance decoded left to right with the variety penalties: at slot `t` the class with the
/// best `unary + w · log M(prev → j) + ln same·[same move as prev] + ln reuse·(earlier uses
/// of its move in the last `window` slots)`, the lowest index on a tie. A stand-in for the
/// beam search of `choreo::decode`, which applies the same two penalties.
fn greedy_variety_decode(
    probs: &[Vec<f32>],
    chain: &ChainModel<'_>,
    moves: &[u32],
    window: usize,
    reuse: f32,
    same: f32,
) -> Vec<usize> {
    let (lr, ls) = (reuse.ln(), same.ln());
    let move_of = |class: usize| moves.get(class).copied();
    let mut dance: Vec<usize> = Vec::with_capacity(probs.len());
    for (t, p) in probs.iter().enumerate() {
        let mut scores = chain.unary(p);
        if let Some(&prev) = dance.last() {
            // the window's moves counted once per slot, not once per class
            let mut uses: Vec<(u32, u32)> = Vec::new();
            for me in dance[t.saturating_sub(window)..]
                .iter()
                .filter_map(|&e| move_of(e))
            {
                match uses.iter_mut().find(|u| u.0 == me) {
                    Some(u) => u.1 += 1,
                    None => uses.push((me, 1)),
                }
            }
            let prev_move = move_of(prev);
            for (j, x) in scores.iter_mut().enumerate().take(chain.m.k) {
                *x += chain.pairwise(prev, j);
                let Some(mj) = move_of(j) else {
                    continue;
                };
                if prev_move == Some(mj) {
                    *x += ls;
                }
                if let Some(&(_, n)) = uses.iter().find(|u| u.0 == mj) {
                    *x += lr * n as f32;
                }
            }
        }
        let best = scores
            .iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (j, &x)| if x > b.1 { (j, x) } else { b },
            );
        dance.push(best.0);
    }
    dance
}

/// The values [`calibrate`] tries per coordinate (the first, the matrices, is by index):
/// one value, 0, for what the validation set does not offer.
fn weight_lists(v: &[Validation<'_>]) -> [&'static [f32]; 8] {
    let has_style = v.iter().any(|f| f.style_priors.iter().any(Option::is_some));
    let has_start = v.iter().any(|f| f.start_priors.iter().any(Option::is_some));
    let has_expert = v.iter().any(|f| f.experts.iter().any(Option::is_some));
    let has_prior = v.iter().any(|f| !f.log_prior.is_empty());
    [
        &[],
        &CALIBRATION_WEIGHTS,
        &NETWORK_WEIGHTS,
        if has_style { &STYLE_WEIGHTS } else { &[0.0] },
        if has_expert { &EXPERT_WEIGHTS } else { &[0.0] },
        &CONTEXT_WEIGHTS,
        if has_prior {
            &PRIOR_CORRECTIONS
        } else {
            &[0.0]
        },
        if has_start { &START_WEIGHTS } else { &[0.0] },
    ]
}

/// The index of coordinate `c` of a [`Point`] (in [`calibrate`]'s order).
fn coord_mut(p: &mut Point, c: usize) -> &mut usize {
    match c {
        0 => &mut p.matrix,
        1 => &mut p.w,
        2 => &mut p.tau,
        3 => &mut p.lambda,
        4 => &mut p.kappa,
        5 => &mut p.gamma,
        6 => &mut p.alpha,
        _ => &mut p.start,
    }
}

/// [`calibrate`]'s score of one point and the `w_L` that goes with it (memoised: the
/// coordinate search revisits points).
fn score_point(
    v: &[Validation<'_>],
    lists: &[&[f32]; 8],
    p: Point,
    memo: &mut std::collections::HashMap<Point, (f64, f32)>,
    pairwise: &mut std::collections::HashMap<(usize, usize, usize), Vec<f64>>,
) -> (f64, f32) {
    let tau = lists[2][p.tau];
    // With the network off, song context and prior correction change nothing: one point.
    let p = if tau == 0.0 {
        Point {
            gamma: 0,
            alpha: 0,
            ..p
        }
    } else {
        p
    };
    if let Some(&hit) = memo.get(&p) {
        return hit;
    }
    let mut folds = Vec::with_capacity(v.len());
    for f in v {
        let Some(m) = f.ms.get(p.matrix) else {
            return (f64::NEG_INFINITY, 1.0);
        };
        folds.push((
            combined_songs(f, lists, p),
            ChainModel {
                m,
                w: lists[1][p.w],
                alpha: lists[6][p.alpha] * tau,
                log_prior: f.log_prior,
                locked_w: 1.0,
            },
        ));
    }
    let (inter, locked_w) = best_interactive(&folds);
    let mut whole = Ranks::new();
    for (i, (songs, chain)) in folds.iter().enumerate() {
        let mw = pairwise
            .entry((i, p.matrix, p.w))
            .or_insert_with(|| pairwise_weights(&ChainModel::plain(chain.m, chain.w)));
        whole.extend(whole_song_ranks(songs, chain, mw));
    }
    let score = 0.5 * (mrr(&whole) + inter);
    memo.insert(p, (score, locked_w));
    (score, locked_w)
}

/// The held-out songs of fold `f` with the network tempered and the priors of point `p`
/// applied (the song context last; none with the network off).
fn combined_songs(f: &Validation<'_>, lists: &[&[f32]; 8], p: Point) -> Vec<EvalSong> {
    let (tau, lambda, kappa, gamma, start) = (
        lists[2][p.tau],
        lists[3][p.lambda],
        lists[4][p.kappa],
        lists[5][p.gamma],
        lists[7][p.start],
    );
    f.songs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let probs = combine(
                &s.probs,
                tau,
                f.style_priors
                    .get(i)
                    .and_then(Option::as_deref)
                    .map(|p| (p, lambda)),
                f.experts
                    .get(i)
                    .and_then(Option::as_deref)
                    .map(|g| (g, kappa)),
                if tau == 0.0 { 0.0 } else { gamma },
            );
            EvalSong {
                probs: match f.start_priors.get(i).and_then(Option::as_deref) {
                    Some(prior) => super::style::with_start(&probs, prior, start),
                    None => probs,
                },
                ..s.clone()
            }
        })
        .collect()
}

/// `rank(song, t)` for every phrase of every song (the songs in parallel: the calibration
/// ranks every fold's songs at each of its grid points; the order of the result is the songs').
fn per_phrase(test: &[EvalSong], rank: impl Fn(&EvalSong, usize) -> usize + Sync) -> Ranks {
    test.par_iter()
        .map(|s| {
            (0..s.labels.len().min(s.probs.len()))
                .map(|t| rank(s, t))
                .collect()
        })
        .collect()
}

/// One fixed ranking for every phrase.
fn fixed_ranks(test: &[EvalSong], scores: &[f32]) -> Ranks {
    test.iter()
        .map(|s| s.labels.iter().map(|&l| rank_of(scores, l)).collect())
        .collect()
}

/// Frequencies counted on the training songs of each test song's style (all songs when the
/// style has none, or the song has no style).
fn style_ranks(test: &[EvalSong], train: &[TrainSong], freq: &[f32], k: usize) -> Ranks {
    test.iter()
        .map(|s| {
            let same: Vec<&TrainSong> = train
                .iter()
                .filter(|t| s.style.is_some() && t.style == s.style)
                .collect();
            let f = if same.is_empty() {
                freq.to_vec()
            } else {
                frequency(&same, k)
            };
            s.labels.iter().map(|&l| rank_of(&f, l)).collect()
        })
        .collect()
}

/// M's row of the previous true label (frequency breaks ties and ranks the first phrase).
fn transition_ranks(test: &[EvalSong], m: &Transitions, freq: &[f32]) -> Ranks {
    let row_of = |prev: usize| -> Vec<f32> {
        (0..m.k)
            .map(|j| m.get(prev, j).max(1e-12).ln() + 1e-3 * freq[j] / (1.0 + freq[j].abs()))
            .collect()
    };
    test.iter()
        .map(|s| {
            s.labels
                .iter()
                .enumerate()
                .map(|(t, &l)| match t {
                    0 => rank_of(freq, l),
                    _ => rank_of(&row_of(s.labels[t - 1]), l),
                })
                .collect()
        })
        .collect()
}

/// Posterior-marginal ranks of the whole-song chain (the songs in parallel; O(T·K²) each,
/// the largest part of the calibration's time).
fn whole_song_ranks(test: &[EvalSong], chain: &ChainModel<'_>, mw: &[f64]) -> Ranks {
    test.par_iter()
        .map(|s| {
            let unary: Vec<Vec<f32>> = s.probs.iter().map(|p| chain.unary(p)).collect();
            let mm = posterior_marginals_with(&unary, mw);
            mm.iter()
                .zip(&s.labels)
                .map(|(v, &l)| rank_of(v, l))
                .collect()
        })
        .collect()
}

/// Top-1/5/10 of pooled phrases and their bootstrap intervals over songs.
fn row(name: &str, ranks: &Ranks) -> EvalRow {
    let point = pooled(ranks, |_| 1);
    let mut rng = StdRng::seed_from_u64(BOOTSTRAP_SEED);
    let n = ranks.len();
    let mut samples: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    if n > 0 {
        for _ in 0..BOOTSTRAP_ROUNDS {
            let mut weight = vec![0usize; n];
            for _ in 0..n {
                weight[rng.random_range(0..n)] += 1;
            }
            let b = pooled(ranks, |i| weight[i]);
            for (s, v) in samples.iter_mut().zip(b) {
                s.push(v);
            }
        }
    }
    let ci = |v: &mut Vec<f64>| -> [f64; 2] {
        if v.is_empty() {
            return [0.0, 0.0];
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        [at(0.025), at(0.975)]
    };
    let [mut s1, mut s5, mut s10] = samples;
    EvalRow {
        name: name.to_string(),
        top1: point[0],
        top5: point[1],
        top10: point[2],
        top1_ci: ci(&mut s1),
        top5_ci: ci(&mut s5),
        top10_ci: ci(&mut s10),
        phrases: ranks.iter().map(Vec::len).sum(),
    }
}

/// Top-1/5/10 over the phrases of every song, song `i` counted `weight(i)` times.
fn pooled(ranks: &Ranks, weight: impl Fn(usize) -> usize) -> [f64; 3] {
    let mut hits = [0usize; 3];
    let mut total = 0usize;
    for (i, song) in ranks.iter().enumerate() {
        let w = weight(i);
        total += w * song.len();
        for &r in song {
            for (h, k) in hits.iter_mut().zip([1, 5, 10]) {
                if r <= k {
                    *h += w;
                }
            }
        }
    }
    let t = total.max(1) as f64;
    hits.map(|h| h as f64 / t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validation songs with matrices and a log prior, nothing else.
    fn plain_validation<'a>(
        songs: &'a [EvalSong],
        ms: &'a [Transitions],
        log_prior: &'a [f32],
    ) -> Validation<'a> {
        Validation {
            songs,
            ms,
            style_priors: &[],
            experts: &[],
            log_prior,
            start_priors: &[],
        }
    }

    fn one_hot(k: usize, j: usize, p: f32) -> Vec<f32> {
        let rest = (1.0 - p) / (k - 1) as f32;
        (0..k).map(|i| if i == j { p } else { rest }).collect()
    }

    /// Songs that all open with class 2 and continue at random, a flat network and M: the
    /// start prior is weighted in; a start prior that knows nothing is left at 0.
    #[test]
    fn a_start_prior_is_weighted_when_openings_repeat() {
        let k = 6;
        let m = Transitions {
            k,
            m: vec![1.0 / k as f32; k * k],
        };
        let songs: Vec<EvalSong> = (0..8)
            .map(|i| EvalSong {
                probs: vec![vec![1.0 / k as f32; k]; 6],
                labels: std::iter::once(2)
                    .chain((1..6).map(|t| (t * 5 + i) % k))
                    .collect(),
                style: None,
            })
            .collect();
        let opening = one_hot(k, 2, 0.6);
        let starts: Vec<Option<Vec<f32>>> = songs.iter().map(|_| Some(opening.clone())).collect();
        let v = Validation {
            start_priors: &starts,
            ..plain_validation(&songs, std::slice::from_ref(&m), &[])
        };
        let c = calibrate(&[v]);
        assert!(c.start_weight > 0.0, "{c:?}");
        let flat: Vec<Option<Vec<f32>>> = songs
            .iter()
            .map(|_| Some(vec![1.0 / k as f32; k]))
            .collect();
        let v = Validation {
            start_priors: &flat,
            ..plain_validation(&songs, std::slice::from_ref(&m), &[])
        };
        assert_eq!(calibrate(&[v]).start_weight, 0.0);
    }

    /// Six classes in three moves (0–1, 2–3, 4–5), a network preferring move 0 and a flat M:
    /// labels spread over the three moves ask for a reuse penalty, labels holding one move
    /// for none, labels alternating two moves for the same-move penalty alone.
    #[test]
    fn variety_penalties_follow_how_the_labels_repeat() {
        // three moves of two classes each; the network prefers class 0 (move 0) everywhere,
        // M is flat: without penalties the decode dances move 0 in every slot
        let k = 6;
        let moves = [0, 0, 1, 1, 2, 2];
        let m = Transitions {
            k,
            m: vec![1.0 / k as f32; k * k],
        };
        let mut probs = vec![0.15f32; k];
        probs[0] = 0.25;
        let song = |labels: Vec<usize>| EvalSong {
            probs: vec![probs.clone(); labels.len()],
            labels,
            style: None,
        };
        let c = Combination::paper();
        let fit = |songs: &[EvalSong]| {
            fit_variety(
                &[plain_validation(songs, std::slice::from_ref(&m), &[])],
                &c,
                &moves,
                3,
            )
        };
        // labels cycling through the three moves: each a third of the slots
        let varied: Vec<EvalSong> = (0..4)
            .map(|i| {
                song(
                    (0..12)
                        .map(|t| 2 * ((t + i) % 3) + (t / 3 + i) % 2)
                        .collect(),
                )
            })
            .collect();
        let v = fit(&varied).expect("fitted");
        assert!(v.diversity_penalty < 1.0, "{v:?}");
        assert!((v.labels.distinct_move_share - 0.25).abs() < 1e-9, "{v:?}");
        // without penalties: one move in all 12 slots
        assert!((v.mismatch_off - (0.25 - 1.0 / 12.0 + 1.0 - 1.0 / 3.0)).abs() < 1e-9);
        // with them: all three moves, none in more than half the slots
        assert!((v.decoded.distinct_move_share - 0.25).abs() < 1e-9, "{v:?}");
        assert!(v.decoded.most_used_move_share <= 0.5, "{v:?}");
        assert!(v.mismatch < 0.2 * v.mismatch_off, "{v:?}");
        assert_eq!((v.window, v.phrases), (3, 4 * 12));
        // labels holding one move through the song (as the network would): penalties off
        let held: Vec<EvalSong> = (0..4)
            .map(|i| song((0..12).map(|t| (t + i) % 2).collect()))
            .collect();
        let h = fit(&held).expect("fitted");
        assert_eq!(
            (h.diversity_penalty, h.same_move_penalty),
            (1.0, 1.0),
            "{h:?}"
        );
        assert!(h.mismatch < 1e-9, "{h:?}");
        // labels alternating two moves: the same-move penalty alone does it (the weaker
        // fix is kept; a reuse penalty would bring in the third move)
        let two: Vec<EvalSong> = (0..4)
            .map(|i| song((0..12).map(|t| 2 * ((t + i) % 2)).collect()))
            .collect();
        let t = fit(&two).expect("fitted");
        assert_eq!(t.diversity_penalty, 1.0, "{t:?}");
        assert!(t.same_move_penalty < 1.0 && t.mismatch < 1e-9, "{t:?}");
        // nothing to decode
        assert!(fit(&[]).is_none());
    }

    #[test]
    fn a_guessed_style_gets_its_own_weight() {
        // Two styles: A dances classes 0–1, B dances 2–3. The network knows nothing (flat),
        // the declared style's repertoire ranks every label in the first two, the music's
        // guess of the style is always the other style.
        let k = 4;
        let m = Transitions {
            k,
            m: vec![0.25; k * k],
        };
        let repertoire = |s: usize| -> Vec<f32> {
            (0..k)
                .map(|j| if j / 2 == s { 0.45 } else { 0.05 })
                .collect()
        };
        let songs: Vec<EvalSong> = (0..6)
            .map(|i| EvalSong {
                probs: vec![vec![0.25; k]; 4],
                labels: (0..4).map(|t| 2 * (i % 2) + t % 2).collect(),
                style: Some(["a", "b"][i % 2].into()),
            })
            .collect();
        let guessed: Vec<Option<Vec<f32>>> = (0..songs.len())
            .map(|i| Some(repertoire(1 - i % 2)))
            .collect();
        let declared: Vec<Option<Vec<f32>>> =
            (0..songs.len()).map(|i| Some(repertoire(i % 2))).collect();
        let v = |priors| Validation {
            songs: &songs,
            ms: std::slice::from_ref(&m),
            style_priors: priors,
            experts: &[],
            log_prior: &[],
            start_priors: &[],
        };
        let c = calibrate(&[v(&declared)]);
        assert!(c.style_weight > 0.0, "{c:?}");
        // the misleading guess is switched off
        assert_eq!(calibrate_style_weight(&[v(&guessed)], &c), 0.0);
        // with the guess as good as the declared style nothing is gained: the weight stays
        assert_eq!(calibrate_style_weight(&[v(&declared)], &c), c.style_weight);
        // a weight outside the lists (a hand-made combination) is kept as it is
        let odd = Combination {
            style_weight: 0.3,
            ..c
        };
        assert_eq!(calibrate_style_weight(&[v(&guessed)], &odd), 0.3);
    }

    #[test]
    fn ranks_count_ties_against_the_label() {
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 1), 1);
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 0), 3);
        assert_eq!(rank_of(&[0.5, 0.5], 1), 2);
        assert_eq!(rank_of(&[0.5], 3), 2);
    }

    #[test]
    fn song_context_pulls_phrases_towards_the_song() {
        // Two phrases lean to class 0, one is torn between 1 and 2; the song's mean favours
        // class 1 over 2 (the first two give it more), so context settles the third.
        let probs = vec![
            vec![0.6, 0.3, 0.1],
            vec![0.6, 0.3, 0.1],
            vec![0.1, 0.44, 0.46],
        ];
        assert_eq!(with_song_context(&probs, 0.0), probs);
        let c = with_song_context(&probs, 2.0);
        assert!(c[2][1] > c[2][2], "{:?}", c[2]);
        for row in &c {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert!(with_song_context(&[], 1.0).is_empty());
    }

    #[test]
    fn posterior_marginals_let_the_matrix_overrule_an_unsure_phrase() {
        // Three classes; the network is unsure at t = 1, M says 0 → 2 only.
        let mut m = Transitions {
            k: 3,
            m: vec![0.01; 9],
        };
        m.m[2] = 1.0; // 0 → 2
        m.m[2 * 3] = 1.0; // 2 → 0
        let probs = [[0.9, 0.05, 0.05], [0.3, 0.4, 0.3], [0.9, 0.05, 0.05]];
        let chain = ChainModel::plain(&m, 1.0);
        let unary: Vec<Vec<f32>> = probs.iter().map(|p| chain.unary(p)).collect();
        let pm = posterior_marginals(&unary, &chain);
        // 0 → 2 → 0: the matrix overrules the unsure middle phrase.
        assert_eq!(rank_of(&pm[0], 0), 1);
        assert_eq!(rank_of(&pm[1], 2), 1, "{:?}", pm[1]);
        assert_eq!(rank_of(&pm[2], 0), 1);
        // They are log marginals: normalised they sum to one; the ends agree with brute force
        // over the 27 paths.
        let mut brute = [0.0f64; 3];
        for a in 0..3 {
            for b in 0..3 {
                for c in 0..3 {
                    brute[b] += f64::from(probs[0][a] * m.get(a, b) * probs[1][b])
                        * f64::from(m.get(b, c) * probs[2][c]);
                }
            }
        }
        let z: f64 = brute.iter().sum();
        let got: Vec<f64> = pm[1].iter().map(|v| f64::from(*v).exp()).collect();
        let zg: f64 = got.iter().sum();
        for (g, b) in got.iter().zip(brute) {
            assert!((g / zg - b / z).abs() < 1e-5, "{got:?} vs {brute:?}");
        }
        // Without the matrix the middle phrase goes to the network's choice.
        let flat = ChainModel::plain(&m, 0.0);
        assert_eq!(rank_of(&posterior_marginals(&unary, &flat)[1], 1), 1);
    }

    #[test]
    fn dividing_out_the_label_prior_lets_the_matrix_rank() {
        // Class 0 is common (half the labels); the network knows nothing but that prior.
        // After class 1 always comes class 2: the matrix knows it, but F · M still puts the
        // common class first when M's row is soft; F / P · M (α = 1) follows M.
        let k = 4;
        let prior = [0.5f32, 0.2, 0.2, 0.1];
        let mut m = Transitions {
            k,
            m: vec![0.25; k * k],
        };
        m.m[k..2 * k].copy_from_slice(&[0.3, 0.05, 0.6, 0.05]);
        let song = EvalSong {
            probs: vec![prior.to_vec(); 2],
            labels: vec![1, 2],
            style: None,
        };
        let log_prior: Vec<f32> = prior.iter().map(|p| p.ln()).collect();
        let plain = ChainModel::plain(&m, 1.0);
        let corrected = ChainModel {
            alpha: 1.0,
            log_prior: &log_prior,
            ..plain
        };
        assert_eq!(rank_of(&interactive_scores(&song, 1, &plain), 2), 2);
        assert_eq!(rank_of(&interactive_scores(&song, 1, &corrected), 2), 1);
        // Calibration finds it: with the prior offered, α > 0 ranks the validation song best.
        let c = calibrate(&[plain_validation(
            std::slice::from_ref(&song),
            std::slice::from_ref(&m),
            &log_prior,
        )]);
        assert!(c.prior_correction > 0.0, "{c:?}");
        let c0 = calibrate(&[plain_validation(&[song], &[m], &[])]);
        assert_eq!(c0.prior_correction, 0.0);
        assert!(c.score > c0.score, "{c:?} vs {c0:?}");
    }

    #[test]
    fn tempering_keeps_the_order_and_reaches_uniform() {
        let p = vec![vec![0.7, 0.2, 0.1]];
        assert_eq!(tempered(&p, 1.0), p);
        let half = &tempered(&p, 0.5)[0];
        assert!(half[0] > half[1] && half[1] > half[2] && half[0] < 0.7);
        assert!((half.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let off = &tempered(&p, 0.0)[0];
        assert!(off.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-6), "{off:?}");
    }

    #[test]
    fn calibration_switches_off_a_misleading_network_and_fits_the_locked_weight() {
        // Labels cycle 0 → 1 → … → 5 and M knows it; the network is confidently wrong
        // (always one class ahead), the style prior is flat.
        let k = 6;
        let mut m = Transitions {
            k,
            m: vec![0.02; k * k],
        };
        for i in 0..k {
            m.m[i * k + (i + 1) % k] = 0.9;
        }
        let songs: Vec<EvalSong> = (0..4)
            .map(|s| {
                let labels: Vec<usize> = (0..12).map(|t| (s + t) % k).collect();
                EvalSong {
                    probs: labels
                        .iter()
                        .map(|&l| one_hot(k, (l + 1) % k, 0.9))
                        .collect(),
                    labels,
                    style: None,
                }
            })
            .collect();
        let c = calibrate(&[plain_validation(&songs, std::slice::from_ref(&m), &[])]);
        assert_eq!(c.network_weight, 0.0, "{c:?}");
        assert!(c.locked_weight > 0.0, "{c:?}");
        // with the network off and M on, the previous phrase decides: every rank is 1
        let chain = ChainModel {
            locked_w: c.locked_weight,
            ..ChainModel::plain(&m, c.matrix_weight)
        };
        let off: Vec<EvalSong> = songs
            .iter()
            .map(|s| EvalSong {
                probs: tempered(&s.probs, c.network_weight),
                ..s.clone()
            })
            .collect();
        let ranks = interactive_ranks(&off, &chain);
        assert!(
            ranks.iter().all(|r| r[1..].iter().all(|&x| x == 1)),
            "{ranks:?}"
        );
        // A network that is right keeps its weight.
        let right: Vec<EvalSong> = songs
            .iter()
            .map(|s| EvalSong {
                probs: s.labels.iter().map(|&l| one_hot(k, l, 0.9)).collect(),
                ..s.clone()
            })
            .collect();
        let c = calibrate(&[plain_validation(&right, std::slice::from_ref(&m), &[])]);
        assert!(c.network_weight > 0.0, "{c:?}");
    }

    #[test]
    fn table_rows_separate_a_good_model_from_the_baselines() {
        let k = 12;
        // Labels cycle 0 → 1 → 2 → … ; M knows the cycle; the network is right 60 % of
        // the time with confidence 0.5.
        let mut m = Transitions {
            k,
            m: vec![0.01; k * k],
        };
        for i in 0..k {
            m.m[i * k + (i + 1) % k] = 1.0;
        }
        let song = |start: usize, style: &str| {
            let labels: Vec<usize> = (0..20).map(|t| (start + t) % k).collect();
            let probs = labels
                .iter()
                .enumerate()
                .map(|(t, &l)| one_hot(k, if t % 5 < 3 { l } else { (l + 5) % k }, 0.5))
                .collect();
            EvalSong {
                probs,
                labels,
                style: Some(style.into()),
            }
        };
        let test: Vec<EvalSong> = (0..6).map(|i| song(i, "a")).collect();
        let train: Vec<TrainSong> = (0..4)
            .map(|i| TrainSong {
                labels: (0..5).map(|t| (i + t) % 3).collect(),
                style: Some("a".into()),
            })
            .collect();
        let table = evaluation_table(&test, &train, &ChainModel::plain(&m, 1.0));
        let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "frequency",
                "style_frequency",
                "transition_interactive",
                "model",
                "model_matrix",
                "model_matrix_interactive"
            ]
        );
        let r = |n: &str| table.row(n).unwrap().clone();
        assert!((r("model").top1 - 0.6).abs() < 1e-9);
        assert!(r("transition_interactive").top1 > 0.9);
        assert!(r("model_matrix").top1 > r("model").top1 + 0.3);
        assert!(r("model_matrix_interactive").top1 > 0.9);
        assert!(r("frequency").top5 < 0.5);
        for row in &table.rows {
            assert!(row.top5_ci[0] <= row.top5 + 1e-9 && row.top5 <= row.top5_ci[1] + 1e-9);
            assert_eq!(row.phrases, 120);
        }
        assert_eq!(table.per_style.len(), 1);
        assert_eq!(
            table.per_style[0].rows, table.rows,
            "one style: the same rows"
        );
        assert!(table.to_text().contains("top-5 per style"));
        // Calibration on these songs: the matrix helps, so a positive weight wins, and the
        // useful matrix beats a flat one.
        let flat = Transitions {
            k,
            m: vec![1.0; k * k],
        };
        let c = calibrate(&[plain_validation(&test, &[flat, m.clone()], &[])]);
        assert_eq!(c.matrix, 1);
        assert!(c.matrix_weight > 0.0 && c.score.is_finite(), "{c:?}");
        // the likelihood rises with the weight of a matrix that knows the sequence
        let good = interactive_log_likelihood(&test, &ChainModel::plain(&m, 2.0));
        assert!(
            good > interactive_log_likelihood(&test, &ChainModel::plain(&m, 0.0)),
            "{good}"
        );
        // Same input, same intervals (seeded bootstrap).
        assert_eq!(
            evaluation_table(&test, &train, &ChainModel::plain(&m, 1.0)),
            table
        );
        assert!(table.to_text().contains("model_matrix_interactive"));
    }
}
