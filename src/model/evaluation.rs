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
//! - `model_matrix_interactive`: `log F(u_t)(j) − α log P(j) + w · log M(l_{t−1} → j)` with
//!   the previous true label `l_{t−1}` known.
//!
//! `w` is the matrix weight and `α` the prior correction (`w = 1, α = 0` is the paper's
//! Eq. 6 product). Everything here is plain
//! arithmetic on probabilities and labels: the network has run before.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
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
    /// The matrix weight `w` used by the `model_matrix*` rows.
    pub matrix_weight: f32,
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
    /// Test songs.
    pub songs: usize,
    /// Number of classes K.
    pub classes: usize,
    /// The same rows per dance style (when the songs carry one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_style: Vec<StyleRows>,
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
            "{} test songs, K = {}, matrix weight {:.2}, prior correction {:.2}, song context \
             {:.2}, style prior {:.2}\n\
             {:<26} {:>6} {:>6} {:>7}  {:>15}\n",
            self.songs,
            self.classes,
            self.matrix_weight,
            self.prior_correction,
            self.song_context,
            self.style_weight,
            "row",
            "top-1",
            "top-5",
            "top-10",
            "top-5 95% CI"
        );
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
}

impl<'a> ChainModel<'a> {
    /// `F · M^w`, no prior correction.
    pub fn plain(m: &'a Transitions, w: f32) -> ChainModel<'a> {
        ChainModel {
            m,
            w,
            alpha: 0.0,
            log_prior: &[],
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
        prior_correction: chain.alpha,
        song_context: 0.0,
        style_weight: 0.0,
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
/// `w · log M(l_{t−1}, ·)` (the unary term alone for the first phrase).
fn interactive_scores(s: &EvalSong, t: usize, chain: &ChainModel<'_>) -> Vec<f32> {
    let mut v = chain.unary(&s.probs[t]);
    if t > 0 {
        let prev = s.labels[t - 1];
        for (j, x) in v.iter_mut().enumerate().take(chain.m.k) {
            *x += chain.pairwise(prev, j);
        }
    }
    v
}

/// Matrix weights tried by [`calibrate`].
pub const CALIBRATION_WEIGHTS: [f32; 11] =
    [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0];
/// Song-context weights tried by [`calibrate`].
pub const CONTEXT_WEIGHTS: [f32; 5] = [0.0, 0.5, 1.0, 2.0, 4.0];

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

/// How the network and the matrix are combined, as fitted by [`calibrate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combination {
    /// Index of the chosen matrix among the candidates.
    pub matrix: usize,
    /// Matrix weight `w`.
    pub matrix_weight: f32,
    /// Song-context weight `γ` ([`with_song_context`]).
    pub song_context: f32,
    /// Style-prior weight `λ` ([`super::style::StylePrior`]).
    pub style_weight: f32,
    /// Exponent `α` of the label prior divided out of F ([`ChainModel`]).
    pub prior_correction: f32,
    /// The validation score it reached (see `calibration_score`; higher is better).
    pub score: f64,
}

/// Mean log-likelihood of the true labels under `softmax(log F_t + w · log M(l_{t−1}, ·))`
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

/// What [`calibrate`] maximises: the mean reciprocal rank of the true labels over the
/// whole-song decode and the interactive case, plus a hundredth of the interactive
/// log-likelihood to break ties. Reciprocal ranks move smoothly with the weights where a
/// top-k count over a few dozen validation phrases jumps; the likelihood alone prefers small
/// matrix weights (one unseen transition costs it dearly) where ranking wants large ones.
fn calibration_score(songs: &[EvalSong], chain: &ChainModel<'_>, mw: &[f64]) -> f64 {
    let mrr = |ranks: &Ranks| -> f64 {
        let (sum, n) = ranks
            .iter()
            .flatten()
            .fold((0.0f64, 0usize), |(s, n), &r| (s + 1.0 / r as f64, n + 1));
        sum / n.max(1) as f64
    };
    let whole = mrr(&whole_song_ranks(songs, chain, mw));
    let inter = mrr(&interactive_ranks(songs, chain));
    0.5 * (whole + inter) + 0.01 * interactive_log_likelihood(songs, chain)
}

/// Style-prior weights tried by [`calibrate`].
pub const STYLE_WEIGHTS: [f32; 4] = [0.0, 0.5, 1.0, 2.0];
/// Prior-correction exponents `α` tried by [`calibrate`].
pub const PRIOR_CORRECTIONS: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Fits the combination of network and matrix on validation songs: among the candidate
/// matrices `ms`, the weights [`CALIBRATION_WEIGHTS`], the song-context weights
/// [`CONTEXT_WEIGHTS`], the prior corrections [`PRIOR_CORRECTIONS`] (with `log_prior`, the
/// training labels' log prior; none when empty) and, where `style_priors` gives a song its
/// style prior (inferred from its music), the style weights [`STYLE_WEIGHTS`], the one that
/// ranks the true phrases of the validation songs best (mean reciprocal rank, whole song and
/// interactive; ties: the earlier candidate, the smaller weights).
pub fn calibrate(
    valid: &[EvalSong],
    ms: &[Transitions],
    style_priors: &[Option<Vec<f32>>],
    log_prior: &[f32],
) -> Combination {
    let mut best = Combination {
        matrix: 0,
        matrix_weight: 1.0,
        song_context: 0.0,
        style_weight: 0.0,
        prior_correction: 0.0,
        score: f64::NEG_INFINITY,
    };
    let alphas: &[f32] = if log_prior.is_empty() {
        &[0.0]
    } else {
        &PRIOR_CORRECTIONS
    };
    let styles: &[f32] = if style_priors.iter().any(Option::is_some) {
        &STYLE_WEIGHTS
    } else {
        &[0.0]
    };
    // The pairwise factors depend on (M, w) only: once each, not once per grid point.
    let pairwise: Vec<Vec<Vec<f64>>> = ms
        .iter()
        .map(|m| {
            CALIBRATION_WEIGHTS
                .iter()
                .map(|&w| pairwise_weights(&ChainModel::plain(m, w)))
                .collect()
        })
        .collect();
    for &lambda in styles {
        for &gamma in &CONTEXT_WEIGHTS {
            let songs: Vec<EvalSong> = valid
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let p = match style_priors.get(i) {
                        Some(Some(prior)) => super::style::with_prior(&s.probs, prior, lambda),
                        _ => s.probs.clone(),
                    };
                    EvalSong {
                        probs: with_song_context(&p, gamma),
                        ..s.clone()
                    }
                })
                .collect();
            for &alpha in alphas {
                for (i, m) in ms.iter().enumerate() {
                    for (wi, &w) in CALIBRATION_WEIGHTS.iter().enumerate() {
                        let chain = ChainModel {
                            m,
                            w,
                            alpha,
                            log_prior,
                        };
                        let score = calibration_score(&songs, &chain, &pairwise[i][wi]);
                        if score > best.score + 1e-9 {
                            best = Combination {
                                matrix: i,
                                matrix_weight: w,
                                song_context: gamma,
                                style_weight: lambda,
                                prior_correction: alpha,
                                score,
                            };
                        }
                    }
                }
            }
        }
    }
    best
}

/// `rank(song, t)` for every phrase of every song.
fn per_phrase(test: &[EvalSong], rank: impl Fn(&EvalSong, usize) -> usize) -> Ranks {
    test.iter()
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

/// Posterior-marginal ranks of the whole-song chain.
fn whole_song_ranks(test: &[EvalSong], chain: &ChainModel<'_>, mw: &[f64]) -> Ranks {
    test.iter()
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

    fn one_hot(k: usize, j: usize, p: f32) -> Vec<f32> {
        let rest = (1.0 - p) / (k - 1) as f32;
        (0..k).map(|i| if i == j { p } else { rest }).collect()
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
        let c = calibrate(
            std::slice::from_ref(&song),
            std::slice::from_ref(&m),
            &[],
            &log_prior,
        );
        assert!(c.prior_correction > 0.0, "{c:?}");
        let c0 = calibrate(&[song], &[m], &[], &[]);
        assert_eq!(c0.prior_correction, 0.0);
        assert!(c.score > c0.score, "{c:?} vs {c0:?}");
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
        let c = calibrate(&test, &[flat, m.clone()], &[], &[]);
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
