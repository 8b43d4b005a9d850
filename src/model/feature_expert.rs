//! A small expert beside the network: multinomial logistic regression from a music phrase's
//! hand-made features ([`super::features::music_features`]: tempo, metre, beats, duration,
//! loudness, onset density, position in the song…) to the K dance phrases.
//!
//! Labeled sets are small (tens of songs), and the network, reading a 512-wide embedding of
//! the mel image, learns each training song's sound as readily as the cues that carry over to
//! new songs. Whether a figure lasts two bars or four, is danced at waltz or quickstep tempo,
//! opens or closes a song, is said by a dozen numbers, and a linear model over them (and their
//! squares, so that a phrase can own a middle range of a feature) with an L2 penalty learns
//! that from a few labels per class without memorising songs. Its probabilities `G_t(j)` enter
//! the chain's unary term as `κ · log G_t(j)` ([`with_rows`]), `κ` fitted on validation songs
//! with the other weights ([`super::evaluation::calibrate`]).
//!
//! Fitted by full-batch gradient descent with Nesterov momentum on the mean cross-entropy
//! plus `l2/2 · |W|²` (biases unpenalised, started at the log label frequencies). No random
//! numbers: the fit is deterministic.

use serde::{Deserialize, Serialize};

/// Gradient steps of [`FeatureExpert::fit`].
const STEPS: usize = 300;
/// Step size (inputs are standardised, so one size fits).
const LEARNING_RATE: f32 = 0.5;
/// Nesterov momentum.
const MOMENTUM: f32 = 0.9;
/// Standardised inputs are clipped to ±this when scoring: a song whose tempo (say) lies
/// outside every training song's must not be extrapolated into a confident answer by the
/// squared terms.
const Z_LIMIT: f32 = 2.5;
/// Default L2 penalty on the weights.
pub const DEFAULT_L2: f32 = 1e-2;

/// The fitted expert (saved in `model.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureExpert {
    /// Raw feature count F.
    pub features: usize,
    /// Mean of each of the 2F inputs (the features, then their squares after
    /// standardisation) over the training phrases.
    pub mean: Vec<f32>,
    /// Their standard deviation (at least 1e-3).
    pub std: Vec<f32>,
    /// Row-major `[K, 2F + 1]`: each class's weights, then its bias.
    pub weights: Vec<f32>,
    /// Weight `κ` in the chain (fitted on validation songs; 0 = off).
    #[serde(default)]
    pub weight: f32,
}

/// The inputs of one phrase: the raw features, then their squares (raw, standardised with
/// the rest afterwards).
fn expand(f: &[f32], features: usize) -> Vec<f32> {
    let mut x: Vec<f32> = (0..features)
        .map(|i| f.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0))
        .collect();
    let sq: Vec<f32> = x.iter().map(|v| v * v).collect();
    x.extend(sq);
    x
}

/// Mean and standard deviation (at least 1e-3) of each of the `d` inputs over `pairs`, and
/// the pairs standardised with them.
#[allow(clippy::type_complexity)]
fn standardised(
    pairs: Vec<(Vec<f32>, usize)>,
    d: usize,
) -> (Vec<f32>, Vec<f32>, Vec<(Vec<f32>, usize)>) {
    let n = pairs.len().max(1) as f32;
    let mut mean = vec![0.0f32; d];
    for (v, _) in &pairs {
        mean.iter_mut().zip(v).for_each(|(m, x)| *m += x / n);
    }
    let mut std = vec![0.0f32; d];
    for (v, _) in &pairs {
        std.iter_mut()
            .zip(v.iter().zip(&mean))
            .for_each(|(s, (x, m))| *s += (x - m).powi(2) / n);
    }
    let std: Vec<f32> = std.iter().map(|s| s.sqrt().max(1e-3)).collect();
    let rows = pairs
        .into_iter()
        .map(|(v, c)| {
            let z = v
                .iter()
                .zip(mean.iter().zip(&std))
                .map(|(x, (m, s))| (x - m) / s)
                .collect();
            (z, c)
        })
        .collect();
    (mean, std, rows)
}

/// Gradient of the mean cross-entropy of `rows` plus `l2/2 · |W|²` (biases unpenalised) at
/// weights `w` (`[K, d + 1]`).
fn gradient(w: &[f32], rows: &[(Vec<f32>, usize)], k: usize, l2: f32) -> Vec<f32> {
    let w_len = w.len() / k.max(1);
    let d = w_len - 1;
    let n = rows.len().max(1) as f32;
    let mut grad = vec![0.0f32; w.len()];
    let mut p = vec![0.0f32; k];
    for (z, c) in rows {
        for (j, pj) in p.iter_mut().enumerate() {
            let row = &w[j * w_len..(j + 1) * w_len];
            *pj = row[d] + row[..d].iter().zip(z).map(|(a, b)| a * b).sum::<f32>();
        }
        softmax(&mut p);
        for (j, &pj) in p.iter().enumerate() {
            let e = (pj - if j == *c { 1.0 } else { 0.0 }) / n;
            let g = &mut grad[j * w_len..(j + 1) * w_len];
            g.iter_mut().zip(z).for_each(|(g, x)| *g += e * x);
            g[d] += e;
        }
    }
    for (i, g) in grad.iter_mut().enumerate() {
        if i % w_len != d {
            *g += l2 * w[i];
        }
    }
    grad
}

/// Softmax of `logits` in place.
fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in logits.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let sum = sum.max(1e-30);
    logits.iter_mut().for_each(|v| *v /= sum);
}

impl FeatureExpert {
    /// Fits the expert on phrases `x` (raw music features, `features` of each) with classes
    /// `y` among `k`. `None` without phrases, classes or features.
    pub fn fit(x: &[&[f32]], y: &[usize], k: usize, features: usize, l2: f32) -> Option<Self> {
        let pairs: Vec<(Vec<f32>, usize)> = x
            .iter()
            .zip(y)
            .filter(|&(_, &c)| c < k)
            .map(|(f, &c)| (expand(f, features), c))
            .collect();
        if pairs.is_empty() || k == 0 || features == 0 {
            return None;
        }
        let (mean, std, rows) = standardised(pairs, 2 * features);
        let d = 2 * features;
        let w_len = d + 1;
        // Biases start at the add-one smoothed log frequencies: the expert starts as the
        // frequency prior and learns what the features add.
        let mut freq = vec![1.0f32; k];
        rows.iter().for_each(|(_, c)| freq[*c] += 1.0);
        let total: f32 = freq.iter().sum();
        let mut w = vec![0.0f32; k * w_len];
        for (j, f) in freq.iter().enumerate() {
            w[j * w_len + d] = (f / total).ln();
        }
        let mut velocity = vec![0.0f32; w.len()];
        for _ in 0..STEPS {
            // Nesterov: the gradient at the looked-ahead point.
            let ahead: Vec<f32> = w
                .iter()
                .zip(&velocity)
                .map(|(a, v)| a + MOMENTUM * v)
                .collect();
            let grad = gradient(&ahead, &rows, k, l2);
            for ((v, a), g) in velocity.iter_mut().zip(w.iter_mut()).zip(&grad) {
                *v = MOMENTUM * *v - LEARNING_RATE * g;
                *a += *v;
            }
        }
        Some(FeatureExpert {
            features,
            mean,
            std,
            weights: w,
            weight: 0.0,
        })
    }

    /// Number of classes K (0 when the weights do not fit the sizes).
    pub fn classes(&self) -> usize {
        let Some(d) = self.features.checked_mul(2) else {
            return 0;
        };
        let w_len = d + 1;
        if self.mean.len() != d || self.std.len() != d || !self.weights.len().is_multiple_of(w_len)
        {
            return 0;
        }
        self.weights.len() / w_len
    }

    /// `G(j | f)` over the K classes for one phrase's raw features (uniform when the sizes
    /// do not fit).
    pub fn probs(&self, f: &[f32]) -> Vec<f32> {
        let k = self.classes();
        if k == 0 {
            return Vec::new();
        }
        let d = 2 * self.features;
        let z: Vec<f32> = expand(f, self.features)
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(x, (m, s))| ((x - m) / s).clamp(-Z_LIMIT, Z_LIMIT))
            .collect();
        let mut p: Vec<f32> = self
            .weights
            .chunks_exact(d + 1)
            .map(|row| row[d] + row[..d].iter().zip(&z).map(|(a, b)| a * b).sum::<f32>())
            .collect();
        softmax(&mut p);
        p
    }

    /// The expert for another class list: `map[j]` is the old class of new class `j`
    /// (`None`: a phrase it has never seen, which gets zero weights and the lowest bias, the
    /// expert's view of an unlabeled phrase).
    pub fn for_classes(&self, map: &[Option<usize>]) -> FeatureExpert {
        let k = self.classes();
        if k == 0 {
            return self.clone();
        }
        let w_len = 2 * self.features + 1;
        let unseen = (0..k)
            .map(|j| self.weights[j * w_len + w_len - 1])
            .fold(f32::INFINITY, f32::min);
        let mut weights = Vec::with_capacity(map.len() * w_len);
        for m in map {
            match m {
                Some(i) if *i < k => {
                    weights.extend_from_slice(&self.weights[i * w_len..(i + 1) * w_len]);
                }
                _ => {
                    weights.extend(std::iter::repeat_n(0.0, w_len - 1));
                    weights.push(if unseen.is_finite() { unseen } else { 0.0 });
                }
            }
        }
        FeatureExpert {
            weights,
            ..self.clone()
        }
    }
}

/// `F_t(j) · G_t(j)^κ`, renormalised, for every phrase of one song, `g[t]` the expert's
/// probabilities for phrase `t` ([`FeatureExpert::probs`]); `probs` as they are when `κ = 0`
/// or the number of rows differs, a row as it is when its length differs.
pub fn with_rows(probs: &[Vec<f32>], g: &[Vec<f32>], kappa: f32) -> Vec<Vec<f32>> {
    if kappa == 0.0 || g.len() != probs.len() {
        return probs.to_vec();
    }
    probs
        .iter()
        .zip(g)
        .map(|(p, g)| {
            if g.len() != p.len() {
                return p.clone();
            }
            super::style::with_prior(std::slice::from_ref(p), g, kappa)
                .pop()
                .unwrap_or_else(|| p.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_which_class_owns_which_range_of_a_feature() {
        // Three classes owning low, middle and high values of feature 0; feature 1 is noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..90 {
            let c = i % 3;
            let v = c as f32 + 0.3 * ((i * 7 % 11) as f32 / 11.0 - 0.5);
            x.push(vec![v, ((i * 13) % 17) as f32 / 17.0]);
            y.push(c);
        }
        let refs: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
        let g = FeatureExpert::fit(&refs, &y, 3, 2, DEFAULT_L2).unwrap();
        assert_eq!(g.classes(), 3);
        for (probe, want) in [(0.0, 0), (1.0, 1), (2.0, 2)] {
            let p = g.probs(&[probe, 0.5]);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, want, "{probe}: {p:?}");
            assert!(p[want] > 0.6, "{probe}: {p:?}");
        }
        // deterministic
        assert_eq!(FeatureExpert::fit(&refs, &y, 3, 2, DEFAULT_L2).unwrap(), g);
        // a class added later gets no weights and the lowest bias
        let h = g.for_classes(&[Some(2), None]);
        assert_eq!(h.classes(), 2);
        let p = h.probs(&[2.0, 0.5]);
        assert!(p[0] > p[1], "{p:?}");
        // applied with κ = 0, probabilities pass through
        let flat = vec![vec![0.5, 0.5]];
        let f: Vec<&[f32]> = vec![&[2.0, 0.5]];
        let g: Vec<Vec<f32>> = f.iter().map(|f| h.probs(f)).collect();
        assert_eq!(with_rows(&flat, &g, 0.0), flat);
        assert!(with_rows(&flat, &g, 1.0)[0][0] > 0.5);
    }

    #[test]
    fn nothing_to_fit_is_none() {
        assert!(FeatureExpert::fit(&[], &[], 3, 2, DEFAULT_L2).is_none());
        let x: Vec<&[f32]> = vec![&[1.0]];
        assert!(FeatureExpert::fit(&x, &[5], 3, 1, DEFAULT_L2).is_none());
    }
}
