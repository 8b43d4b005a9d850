//! The dance-phrase transition matrix M of the model folder (Duan et al. 2020, §3.4, Eq. 6–7
//! and Algorithm 1), stored dense (K×K, row = previous phrase). The choreography layer has a
//! structured, faster `TransitionMatrix` for decoding; this one is what training writes and
//! co-ascent updates, and it converts to the other with `from_dense`.

use serde::{Deserialize, Serialize};

/// Lower clip of M (§3.5: M is clipped to [0.01, 1]).
pub const M_MIN: f32 = 0.01;
/// Upper clip of M.
pub const M_MAX: f32 = 1.0;
/// Style prior: weight of a transition within a style.
pub const SAME_STYLE: f32 = 1.0;
/// Style prior: weight of a transition across styles.
pub const OTHER_STYLE: f32 = 0.3;
/// Style prior: weight of repeating the same phrase.
pub const REPEAT: f32 = 0.05;

/// Dense transition matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transitions {
    /// K.
    pub k: usize,
    /// Row-major K×K, `m[i * k + j] = M(i → j)`.
    pub m: Vec<f32>,
}

impl Transitions {
    /// The style prior ("similar dance moves are allowed to transfer", §3.5): [`SAME_STYLE`]
    /// within a style, [`OTHER_STYLE`] across, [`REPEAT`] on the diagonal.
    pub fn style_prior(styles: &[String]) -> Transitions {
        let k = styles.len();
        let mut m = vec![OTHER_STYLE; k * k];
        for i in 0..k {
            for j in 0..k {
                if i == j {
                    m[i * k + j] = REPEAT;
                } else if styles[i] == styles[j] {
                    m[i * k + j] = SAME_STYLE;
                }
            }
        }
        Transitions { k, m }
    }

    /// M from labeled sequences as smoothed transition probabilities (additive smoothing
    /// towards a back-off, as in n-gram language models): `P(j | i) = (c(i→j) + β π_i(j)) /
    /// (n_i + β)`, where `c` counts the observed transitions, `n_i` those leaving `i`, and
    /// the back-off `π_i(j) ∝ prior(i→j) · (1 + f_j)` is the style prior weighted by how often
    /// `j` is labeled at all (`f_j`). Each row is scaled to a maximum of 1 and clipped to
    /// [[`M_MIN`], [`M_MAX`]], the paper's range, so `ln M` is the log-probability up to a
    /// per-row constant. Unlike the earlier construction (half style prior, half counts scaled
    /// by the row's largest), unseen transitions are as unlikely as the data says rather than
    /// half as likely as the most common one: with many classes the observed transitions carry most of the information (with the previous
    /// label known, they alone rank the next one far above any frequency prior).
    pub fn smoothed(styles: &[String], sequences: &[Vec<usize>], beta: f32) -> Transitions {
        let prior = Transitions::style_prior(styles);
        let k = prior.k;
        let mut counts = vec![0.0f32; k * k];
        let mut freq = vec![0.0f32; k];
        for seq in sequences {
            for &l in seq.iter().filter(|&&l| l < k) {
                freq[l] += 1.0;
            }
            for w in seq.windows(2) {
                if w[0] < k && w[1] < k {
                    counts[w[0] * k + w[1]] += 1.0;
                }
            }
        }
        let mut m = vec![0.0f32; k * k];
        for i in 0..k {
            let back: Vec<f32> = (0..k).map(|j| prior.get(i, j) * (1.0 + freq[j])).collect();
            let bsum: f32 = back.iter().sum::<f32>().max(1e-12);
            let row = &counts[i * k..(i + 1) * k];
            let n: f32 = row.iter().sum();
            let p: Vec<f32> = (0..k)
                .map(|j| (row[j] + beta * back[j] / bsum) / (n + beta).max(1e-12))
                .collect();
            let max = p.iter().copied().fold(0.0f32, f32::max).max(1e-12);
            for j in 0..k {
                m[i * k + j] = p[j] / max;
            }
        }
        let mut t = Transitions { k, m };
        t.clip();
        t
    }

    /// `M(i → j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.m[i * self.k + j]
    }

    /// Clips every entry to [[`M_MIN`], [`M_MAX`]].
    pub fn clip(&mut self) {
        for v in &mut self.m {
            *v = if v.is_finite() {
                v.clamp(M_MIN, M_MAX)
            } else {
                M_MIN
            };
        }
    }

    /// Eq. 6 along a song: `P(d_t | u_t, d_{t−1}) ∝ F(u_t) · M(d_{t−1} → d_t)`, where
    /// `d_{t−1}` is the top-1 of the re-scaled previous phrase (the first phrase is left as
    /// it is). Rows are renormalised to sum to 1.
    pub fn rescale(&self, probs: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(probs.len());
        for (t, p) in probs.iter().enumerate() {
            let mut q = p.clone();
            if t > 0
                && let Some(prev) = out.last().and_then(|r| argmax(r))
            {
                for (j, v) in q.iter_mut().enumerate().take(self.k) {
                    *v *= self.get(prev, j);
                }
            }
            let s: f32 = q.iter().sum();
            if s > 0.0 {
                for v in &mut q {
                    *v /= s;
                }
            }
            out.push(q);
        }
        out
    }

    /// The M update of Algorithm 1 from the top-1 labels and confidences of adjacent
    /// pseudo-labeled phrases (one `(labels, confidences)` sequence per song):
    /// `M'(a → b) = M(a → b) + Σ P(d_{t−1}) P(d_t)` over the pairs `(a, b)` seen (0 for
    /// pairs not seen), then `M ← α M + (1 − α) M'`, clipped.
    pub fn coascent_update(&mut self, sequences: &[(Vec<usize>, Vec<f32>)], alpha: f32) {
        let k = self.k;
        let mut next = vec![0.0f32; k * k];
        let mut seen = vec![false; k * k];
        for (labels, conf) in sequences {
            for t in 1..labels.len().min(conf.len()) {
                let (a, b) = (labels[t - 1], labels[t]);
                if a >= k || b >= k {
                    continue;
                }
                let idx = a * k + b;
                if !seen[idx] {
                    seen[idx] = true;
                    next[idx] = self.m[idx];
                }
                next[idx] += conf[t - 1] * conf[t];
            }
        }
        for (v, n) in self.m.iter_mut().zip(&next) {
            *v = alpha * *v + (1.0 - alpha) * n;
        }
        self.clip();
    }
}

/// Index of the largest value (first on ties); `None` for an empty slice.
pub fn argmax(v: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in v.iter().enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styles() -> Vec<String> {
        ["a", "a", "b"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    }

    #[test]
    fn style_prior() {
        let t = Transitions::style_prior(&styles());
        assert_eq!(t.get(0, 1), SAME_STYLE);
        assert_eq!(t.get(0, 2), OTHER_STYLE);
        assert_eq!(t.get(1, 1), REPEAT);
    }

    #[test]
    fn smoothed_follows_the_counts_and_backs_off() {
        // 0→1 seen 9 times, 0→2 once; row 1 never left; label 2 frequent elsewhere
        let mut seqs = vec![vec![0, 1]; 9];
        seqs.push(vec![0, 2]);
        seqs.push(vec![2, 2, 2, 2]);
        let t = Transitions::smoothed(&styles(), &seqs, 1.0);
        assert_eq!(
            t.get(0, 1),
            1.0,
            "most observed transition is the row's maximum"
        );
        assert!(t.get(0, 2) < 0.2, "seen once in ten: {}", t.get(0, 2));
        assert!(t.get(0, 2) > t.get(0, 0), "seen beats unseen");
        // a row without observations is the back-off: style prior × label frequency
        assert!(t.get(1, 0) > t.get(1, 1), "repeat is discouraged");
        assert!(t.get(1, 0) <= 1.0 && t.get(1, 2) >= M_MIN);
        // stronger smoothing moves a seen row towards the back-off
        let loose = Transitions::smoothed(&styles(), &seqs, 50.0);
        assert!(loose.get(0, 2) > t.get(0, 2));
        assert!(t.m.iter().all(|v| (M_MIN..=M_MAX).contains(v)));
    }

    #[test]
    fn rescale_follows_the_previous_top1() {
        let mut t = Transitions::style_prior(&styles());
        t.m = vec![
            1.0, 0.01, 0.5, //
            0.2, 1.0, 1.0, //
            1.0, 1.0, 1.0,
        ];
        let p = vec![vec![0.6, 0.3, 0.1], vec![0.2, 0.5, 0.3]];
        let r = t.rescale(&p);
        assert_eq!(r[0], vec![0.6, 0.3, 0.1]);
        // previous top-1 is 0: [0.2·1, 0.5·0.01, 0.3·0.5] = [0.2, 0.005, 0.15] / 0.355
        let want = [0.2 / 0.355, 0.005 / 0.355, 0.15 / 0.355];
        for (a, b) in r[1].iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", r[1]);
        }
        assert_eq!(argmax(&r[1]), Some(0));
    }

    #[test]
    fn coascent_update_by_hand() {
        let mut t = Transitions {
            k: 2,
            m: vec![0.5, 0.5, 0.5, 0.02],
        };
        // pairs 0→1 (0.9·0.8) and 0→1 again (0.5·0.6)
        t.coascent_update(
            &[(vec![0, 1], vec![0.9, 0.8]), (vec![0, 1], vec![0.5, 0.6])],
            0.5,
        );
        // seen: M'(0,1) = 0.5 + 0.72 + 0.30 = 1.52 → 0.5·0.5 + 0.5·1.52 = 1.01 → clipped 1
        assert_eq!(t.get(0, 1), 1.0);
        // unseen: 0.5·M → 0.25; 0.5·0.02 = 0.01 stays at the floor
        assert!((t.get(0, 0) - 0.25).abs() < 1e-6);
        assert!((t.get(1, 1) - M_MIN).abs() < 1e-6);
        let mut t = Transitions {
            k: 2,
            m: vec![0.1, 0.1, 0.1, 0.1],
        };
        t.coascent_update(&[(vec![1, 0], vec![0.5, 0.4])], 0.5);
        // M'(1,0) = 0.1 + 0.2 = 0.3 → 0.05 + 0.15 = 0.2
        assert!((t.get(1, 0) - 0.2).abs() < 1e-6);
    }
}
