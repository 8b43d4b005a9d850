//! The dance style of a song, inferred from its music, as a prior over the library phrases.
//!
//! Labels may name each song's style (`waltz`, `cha-cha`, …). A song is danced in one style
//! and each style dances its own repertoire, so "which phrases does this style use, how
//! often" is a strong prior — the per-style frequency baseline of the evaluation table knows
//! the true style and beats a network that has to find it phrase by phrase. [`StylePrior`]
//! finds it song by song instead: a nearest-centroid classifier (shared diagonal variance,
//! i.e. linear discriminant analysis with a diagonal covariance) on the song's mean music
//! features (tempo, metre, loudness, timbre…), robust with a few songs per style, gives
//! `P(style | song)`; the prior is `Σ_s P(s | song) · P(phrase | s)` with add-one smoothed
//! per-style label frequencies. The network's probabilities are multiplied by it raised to a
//! weight fitted on validation songs ([`super::evaluation::calibrate`]).

use serde::{Deserialize, Serialize};

/// Style classifier plus per-style label frequencies (saved in `model.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StylePrior {
    /// Style names.
    pub styles: Vec<String>,
    /// Per style, the mean of its training songs' standardised song-level features.
    pub centroids: Vec<Vec<f32>>,
    /// Mean and standard deviation of the song-level features over the training songs.
    pub feature_mean: Vec<f32>,
    /// See `feature_mean`.
    pub feature_std: Vec<f32>,
    /// Per style, `P(phrase | style)` over the K classes (add-one smoothed).
    pub phrase_given_style: Vec<Vec<f32>>,
    /// Weight `λ` of the prior (fitted on validation songs; 0 = off).
    #[serde(default)]
    pub weight: f32,
    /// Weight of the prior for a song whose style is declared (the labels' `style`, a
    /// user's choice): that style's repertoire replaces the music's guess, so the validation
    /// songs may trust it more than `weight`. Fitted on the validation songs' declared
    /// styles; `None` (models from before it): `weight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_weight: Option<f32>,
}

/// Where the style `name` is in `styles`: names compared without case and surrounding
/// blanks, as a declared style is matched everywhere.
fn style_index(styles: &[String], name: &str) -> Option<usize> {
    let want = name.trim();
    styles
        .iter()
        .position(|s| s.trim().eq_ignore_ascii_case(want))
}

/// A song's music features averaged over its phrases.
pub fn song_features(phrases: &[&[f32]]) -> Vec<f32> {
    let Some(d) = phrases.first().map(|p| p.len()) else {
        return Vec::new();
    };
    let n = phrases.len() as f32;
    let mut m = vec![0.0f32; d];
    for p in phrases {
        for (a, v) in m.iter_mut().zip(p.iter()) {
            *a += v / n;
        }
    }
    m
}

impl StylePrior {
    /// Fits the prior on training songs given as (song-level features, style, labels); songs
    /// without a style are left out. `None` with fewer than two styles.
    pub fn fit(songs: &[(Vec<f32>, Option<&str>, &[usize])], k: usize) -> Option<StylePrior> {
        let mut styles: Vec<String> = songs
            .iter()
            .filter_map(|(_, s, _)| s.map(str::to_string))
            .collect();
        styles.sort();
        styles.dedup();
        let styled: Vec<(&Vec<f32>, usize, &[usize])> = songs
            .iter()
            .filter_map(|(f, s, l)| {
                let i = styles.iter().position(|x| Some(x.as_str()) == *s)?;
                Some((f, i, *l))
            })
            .collect();
        let d = styled.first()?.0.len();
        if styles.len() < 2 || d == 0 {
            return None;
        }
        let n = styled.len() as f32;
        let mut mean = vec![0.0f32; d];
        for (f, _, _) in &styled {
            for (m, v) in mean.iter_mut().zip(f.iter()) {
                *m += v / n;
            }
        }
        let mut std = vec![0.0f32; d];
        for (f, _, _) in &styled {
            for ((s, v), m) in std.iter_mut().zip(f.iter()).zip(&mean) {
                *s += (v - m).powi(2) / n;
            }
        }
        let std: Vec<f32> = std.iter().map(|v| v.sqrt().max(1e-3)).collect();
        let z = |f: &[f32]| -> Vec<f32> {
            f.iter()
                .zip(&mean)
                .zip(&std)
                .map(|((v, m), s)| (v - m) / s)
                .collect()
        };
        let mut centroids = vec![vec![0.0f32; d]; styles.len()];
        let mut counts = vec![0usize; styles.len()];
        let mut freq = vec![vec![1.0f32; k]; styles.len()];
        for (f, s, labels) in &styled {
            counts[*s] += 1;
            for (c, v) in centroids[*s].iter_mut().zip(z(f)) {
                *c += v;
            }
            for &l in labels.iter().filter(|&&l| l < k) {
                freq[*s][l] += 1.0;
            }
        }
        for (c, n) in centroids.iter_mut().zip(&counts) {
            for v in c.iter_mut() {
                *v /= (*n).max(1) as f32;
            }
        }
        for row in &mut freq {
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        Some(StylePrior {
            styles,
            centroids,
            feature_mean: mean,
            feature_std: std,
            phrase_given_style: freq,
            weight: 0.0,
            declared_weight: None,
        })
    }

    /// The weight for songs with a declared style ([`Self::declared_weight`]).
    pub fn weight_when_declared(&self) -> f32 {
        self.declared_weight.unwrap_or(self.weight)
    }

    /// `P(phrase | style)` of a declared style the prior knows (names compared without case
    /// and surrounding blanks); `None` for a style it never saw, whose songs then fall back
    /// to the music's guess.
    pub fn declared_prior(&self, style: &str) -> Option<&[f32]> {
        let i = style_index(&self.styles, style)?;
        self.phrase_given_style.get(i).map(Vec::as_slice)
    }

    /// The prior of one song and the weight that goes with it: its declared style's
    /// repertoire when it has one the prior knows, else the music's guess
    /// ([`Self::phrase_prior`] of the song's mean features).
    pub fn song_prior(&self, declared: Option<&str>, song: &[f32]) -> (Vec<f32>, f32) {
        match declared.and_then(|d| self.declared_prior(d)) {
            Some(row) => (row.to_vec(), self.weight_when_declared()),
            None => (self.phrase_prior(song), self.weight),
        }
    }

    /// `P(style | song)` from the song's mean music features (softmax of minus half the
    /// squared standardised distance to each centroid).
    pub fn style_posterior(&self, song: &[f32]) -> Vec<f32> {
        let d2: Vec<f32> = self
            .centroids
            .iter()
            .map(|c| {
                song.iter()
                    .zip(&self.feature_mean)
                    .zip(&self.feature_std)
                    .zip(c)
                    .map(|(((v, m), s), c)| ((v - m) / s - c).powi(2))
                    .sum::<f32>()
            })
            .collect();
        let logits: Vec<f32> = d2.iter().map(|d| -0.5 * d).collect();
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = e.iter().sum::<f32>().max(1e-30);
        e.iter().map(|v| v / sum).collect()
    }

    /// `Σ_s P(s | song) · P(phrase | s)` over the K classes.
    pub fn phrase_prior(&self, song: &[f32]) -> Vec<f32> {
        let post = self.style_posterior(song);
        let k = self.phrase_given_style.first().map_or(0, Vec::len);
        let mut out = vec![0.0f32; k];
        for (p, row) in post.iter().zip(&self.phrase_given_style) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += p * v;
            }
        }
        out
    }
}

/// `F_t(j) · prior(j)^λ`, renormalised, for every row of `probs`.
pub fn with_prior(probs: &[Vec<f32>], prior: &[f32], weight: f32) -> Vec<Vec<f32>> {
    if weight == 0.0 {
        return probs.to_vec();
    }
    probs
        .iter()
        .map(|p| {
            let mut q: Vec<f32> = p
                .iter()
                .zip(prior)
                .map(|(v, r)| v.max(1e-12) * r.max(1e-12).powf(weight))
                .collect();
            let s: f32 = q.iter().sum();
            if s > 0.0 && s.is_finite() {
                q.iter_mut().for_each(|v| *v /= s);
            }
            q
        })
        .collect()
}

/// How dances begin: `P(first phrase)` over the K classes, for every training song and per
/// declared style (saved in `model.json` as `start_prior`). An HMM's initial-state
/// distribution, which the paper's chain (Eq. 5) leaves uniform: a routine often opens with
/// a preparation or a standard figure of its dance, and a known first phrase carries through
/// the transition matrix to the phrases after it. Applied to a song's first phrase only, as
/// `F_0(j) · P(j)^weight` ([`with_prior`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartPrior {
    /// Over every training song's first labelled phrase (smoothed, see [`Self::from_songs`]).
    pub all: Vec<f32>,
    /// Style names with a row in `per_style`.
    pub styles: Vec<String>,
    /// Per style, over its songs' first phrases.
    pub per_style: Vec<Vec<f32>>,
    /// Weight of the prior on the first phrase (fitted on validation songs; 0 = off).
    #[serde(default)]
    pub weight: f32,
}

/// Add-`START_SMOOTHING` smoothing of the first-phrase counts: a class never seen first
/// keeps some mass (a song may open with anything), so a weight of 1 sharpens rather than
/// forbids.
const START_SMOOTHING: f32 = 0.5;

impl StartPrior {
    /// Counts the first label of every song (`(style, labels)`; labels ≥ `k` and empty songs
    /// are skipped), with [`START_SMOOTHING`]; `weight` 0. `None` without any song.
    pub fn from_songs<'a>(
        songs: impl IntoIterator<Item = (Option<&'a str>, &'a [usize])>,
        k: usize,
    ) -> Option<StartPrior> {
        let mut all = vec![START_SMOOTHING; k];
        let mut styles: Vec<String> = Vec::new();
        let mut per_style: Vec<Vec<f32>> = Vec::new();
        let mut seen = 0usize;
        for (style, labels) in songs {
            let Some(&first) = labels.first().filter(|&&l| l < k) else {
                continue;
            };
            seen += 1;
            all[first] += 1.0;
            if let Some(st) = style.map(str::trim).filter(|s| !s.is_empty()) {
                let i = match style_index(&styles, st) {
                    Some(i) => i,
                    None => {
                        styles.push(st.to_string());
                        per_style.push(vec![START_SMOOTHING; k]);
                        styles.len() - 1
                    }
                };
                per_style[i][first] += 1.0;
            }
        }
        if seen == 0 {
            return None;
        }
        let normalise = |v: &mut Vec<f32>| {
            let s: f32 = v.iter().sum();
            v.iter_mut().for_each(|x| *x /= s);
        };
        normalise(&mut all);
        per_style.iter_mut().for_each(normalise);
        Some(StartPrior {
            all,
            styles,
            per_style,
            weight: 0.0,
        })
    }

    /// The prior for a song of `declared` style (its style's row when known, else all songs').
    pub fn for_style(&self, declared: Option<&str>) -> &[f32] {
        declared
            .and_then(|d| style_index(&self.styles, d))
            .and_then(|i| self.per_style.get(i))
            .map_or(&self.all[..], Vec::as_slice)
    }
}

/// `probs` with its first row multiplied by `prior^weight` (and renormalised).
pub fn with_start(probs: &[Vec<f32>], prior: &[f32], weight: f32) -> Vec<Vec<f32>> {
    let mut out = probs.to_vec();
    if let Some(first) = out.first_mut()
        && weight != 0.0
        && prior.len() == first.len()
    {
        *first = with_prior(std::slice::from_ref(first), prior, weight)
            .pop()
            .unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_prior_counts_first_phrases_per_style() {
        let songs: Vec<(Option<&str>, Vec<usize>)> = vec![
            (Some("waltz"), vec![2, 0, 1]),
            (Some("Waltz "), vec![2, 1]),
            (Some("tango"), vec![3, 3]),
            (None, vec![1]),
            (Some("tango"), vec![]),
            (None, vec![9]),
        ];
        let p = StartPrior::from_songs(songs.iter().map(|(s, l)| (*s, l.as_slice())), 4)
            .expect("songs");
        assert_eq!(p.styles, ["waltz", "tango"]);
        assert_eq!(p.weight, 0.0);
        let w = p.for_style(Some("WALTZ"));
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((w[2] - 0.625).abs() < 1e-6 && w[0] > 0.0, "{w:?}");
        assert_eq!(p.for_style(Some("rumba")), &p.all[..]);
        assert_eq!(p.for_style(None), &p.all[..]);
        // four songs counted in `all` (the empty one and the out-of-range label are not)
        assert!((p.all[2] - 2.5 / 6.0).abs() < 1e-6, "{:?}", p.all);
        assert!(StartPrior::from_songs(std::iter::empty(), 4).is_none());
        // only the first row moves
        let probs = vec![vec![0.25f32; 4]; 3];
        let out = with_start(&probs, w, 1.0);
        assert!((out[0][2] - 0.625).abs() < 1e-6);
        assert_eq!(out[1..], probs[1..]);
        assert_eq!(with_start(&probs, w, 0.0), probs);
    }

    #[test]
    fn styles_are_told_apart_and_their_repertoires_become_the_prior() {
        // two styles: fast 4/4 dances phrases 0–1, slow 3/4 dances 2–3
        let fast = |x: f32| vec![0.5 + x, 0.0];
        let slow = |x: f32| vec![-0.5 + x, 1.0];
        let (a, b): (&[usize], &[usize]) = (&[0, 1, 0, 1], &[2, 3, 3, 2]);
        let songs = vec![
            (fast(0.05), Some("quick"), a),
            (fast(-0.05), Some("quick"), a),
            (slow(0.02), Some("waltz"), b),
            (slow(-0.02), Some("waltz"), b),
            (slow(0.0), None, b),
        ];
        let p = StylePrior::fit(&songs, 4).unwrap();
        assert_eq!(p.styles, ["quick", "waltz"]);
        let post = p.style_posterior(&slow(0.1));
        assert!(post[1] > 0.9, "{post:?}");
        let prior = p.phrase_prior(&fast(0.0));
        assert!(prior[0] > prior[2] && prior[1] > prior[3], "{prior:?}");
        assert!((prior.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        // applied to a flat network: the song's style's phrases come first
        let flat = vec![vec![0.25; 4]];
        let q = with_prior(&flat, &p.phrase_prior(&slow(0.0)), 1.0);
        assert!(q[0][2] > q[0][0] && q[0][3] > q[0][1], "{q:?}");
        assert_eq!(with_prior(&flat, &p.phrase_prior(&slow(0.0)), 0.0), flat);
        // a declared style is taken as it is, whatever the music says; an unknown one is not
        let mut p = p;
        p.weight = 0.5;
        assert_eq!(p.weight_when_declared(), 0.5);
        p.declared_weight = Some(2.0);
        let (row, w) = p.song_prior(Some(" Waltz "), &fast(0.0));
        assert_eq!(
            (row.as_slice(), w),
            (p.phrase_given_style[1].as_slice(), 2.0)
        );
        assert!(row[2] > row[0] && row[3] > row[1], "{row:?}");
        let (guess, w) = p.song_prior(Some("tango"), &fast(0.0));
        assert_eq!((guess, w), (p.phrase_prior(&fast(0.0)), 0.5));
        assert_eq!(p.song_prior(None, &fast(0.0)).1, 0.5);
        // one style only: no prior
        assert!(StylePrior::fit(&songs[..2], 4).is_none());
        // a model.json written before declared styles: its one weight serves both
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("declared_weight");
        let old: StylePrior = serde_json::from_value(old).unwrap();
        assert_eq!(
            (old.declared_weight, old.weight_when_declared()),
            (None, 0.5)
        );
    }
}
