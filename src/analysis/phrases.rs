//! Music phrases (Duan et al. 2020, §3.1): long fragments from the structure, then each
//! fragment cut into phrases of 2–8 bars at breaking points judged by melody and onset around
//! a bar line.
//!
//! A breaking point is a downbeat where the melody rests or jumps (phrase ends breathe, new
//! phrases restart the contour) and where the music re-attacks after a quieter moment. A
//! dynamic programme over the downbeats of each fragment picks cut points that maximise the
//! breaking-point scores while preferring the lengths choreographers count in (4 and 8 bars,
//! then 2 and 6), so every phrase lies in 2–8 bars whenever the fragment allows it.

/// Phrase-cutting settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseConfig {
    /// Fewest bars in a phrase.
    pub min_bars: usize,
    /// Most bars in a phrase.
    pub max_bars: usize,
    /// Cost of a phrase of each length 0..=max_bars (index = bars).
    pub length_cost: Vec<f64>,
    /// Weight of the breaking-point score.
    pub break_weight: f64,
}

impl Default for PhraseConfig {
    fn default() -> Self {
        Self {
            min_bars: 2,
            max_bars: 8,
            //            0    1    2    3    4    5    6    7    8
            length_cost: vec![9.0, 9.0, 1.6, 2.6, 0.0, 2.4, 1.4, 2.6, 0.4],
            break_weight: 1.0,
        }
    }
}

/// What the cutter needs per downbeat (all slices indexed by downbeat).
#[derive(Debug, Clone, Default)]
pub struct BreakEvidence {
    /// Melody rest around the bar line: unvoiced fraction in the last beat before it, 0..1.
    pub melody_rest: Vec<f64>,
    /// Melody jump across the bar line (semitones / 12, clipped to 1).
    pub melody_jump: Vec<f64>,
    /// Onset strength at the bar line relative to the beat before, z-scored.
    pub onset_contrast: Vec<f64>,
}

impl BreakEvidence {
    /// Combined breaking-point score at downbeat `k`.
    pub fn score(&self, k: usize) -> f64 {
        let g = |v: &Vec<f64>| v.get(k).copied().unwrap_or(0.0);
        g(&self.melody_rest)
            + 0.5 * g(&self.melody_jump)
            + 0.5 * g(&self.onset_contrast).clamp(-2.0, 2.0)
    }
}

/// Splits one fragment, given as the downbeat indices `lo..=hi` (a fragment of `hi - lo` bars
/// from downbeat `lo` to downbeat `hi`), into phrases; returns the inner cut points.
pub fn cut_fragment(lo: usize, hi: usize, ev: &BreakEvidence, cfg: &PhraseConfig) -> Vec<usize> {
    let bars = hi.saturating_sub(lo);
    if bars <= cfg.max_bars.min(cfg.min_bars * 2 - 1) || bars == 0 {
        return Vec::new();
    }
    let cost_of = |len: usize| -> f64 {
        if len < cfg.min_bars {
            50.0 + cfg.length_cost.get(len).copied().unwrap_or(9.0)
        } else if len > cfg.max_bars {
            50.0 + len as f64
        } else {
            cfg.length_cost.get(len).copied().unwrap_or(5.0)
        }
    };
    // best[i] = best cost to cut bars lo..lo+i with a cut at lo+i
    let mut best = vec![f64::INFINITY; bars + 1];
    let mut from = vec![0usize; bars + 1];
    best[0] = 0.0;
    for i in 1..=bars {
        let max_len = i.min(cfg.max_bars);
        for len in 1..=max_len {
            let j = i - len;
            if !best[j].is_finite() {
                continue;
            }
            let brk = if i < bars {
                -cfg.break_weight * ev.score(lo + i)
            } else {
                0.0
            };
            let c = best[j] + cost_of(len) + brk;
            if c < best[i] {
                best[i] = c;
                from[i] = j;
            }
        }
    }
    let mut cuts = Vec::new();
    let mut i = bars;
    while i > 0 {
        let j = from[i];
        if j > 0 {
            cuts.push(lo + j);
        }
        i = j;
    }
    cuts.reverse();
    cuts
}

/// Breaking-point evidence at each downbeat frame from the melody track (f0 per frame, 0 =
/// unvoiced), the onset envelope and the beat frames.
pub fn break_evidence(
    downbeat_frames: &[usize],
    beat_frames: &[usize],
    f0: &[f32],
    onset: &[f32],
) -> BreakEvidence {
    let n = downbeat_frames.len();
    let mut ev = BreakEvidence {
        melody_rest: vec![0.0; n],
        melody_jump: vec![0.0; n],
        onset_contrast: vec![0.0; n],
    };
    let beat_len = if beat_frames.len() >= 2 {
        let mut d: Vec<usize> = beat_frames.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_unstable();
        d[d.len() / 2].max(2)
    } else {
        22
    };
    let midi = |hz: f32| 69.0 + 12.0 * f64::from(hz / 440.0).log2();
    let mut contrast = Vec::with_capacity(n);
    for (k, &f) in downbeat_frames.iter().enumerate() {
        // unvoiced fraction of the last beat before the bar line
        let a = f.saturating_sub(beat_len).min(f0.len());
        let b = f.min(f0.len());
        if b > a {
            let unvoiced = f0[a..b].iter().filter(|v| **v <= 0.0).count();
            ev.melody_rest[k] = unvoiced as f64 / (b - a) as f64;
        }
        // pitch jump: last voiced pitch before vs first voiced after (within one beat)
        let before = f0[a..b].iter().rev().find(|v| **v > 0.0);
        let c = f.min(f0.len());
        let d = (f + beat_len).min(f0.len());
        let after = f0[c..d].iter().find(|v| **v > 0.0);
        if let (Some(&x), Some(&y)) = (before, after) {
            ev.melody_jump[k] = ((midi(y) - midi(x)).abs() / 12.0).min(1.0);
        }
        // onset at the bar line relative to the half beat before it
        let at = onset
            .get(f.saturating_sub(1)..(f + 2).min(onset.len()))
            .map_or(0.0, |s| s.iter().copied().fold(0.0f32, f32::max));
        let pre = onset
            .get(f.saturating_sub(beat_len / 2 + 1)..f.saturating_sub(1).min(onset.len()))
            .map_or(0.0, |s| s.iter().copied().fold(0.0f32, f32::max));
        contrast.push(f64::from(at - pre));
    }
    let mean = contrast.iter().sum::<f64>() / n.max(1) as f64;
    let sd = (contrast.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt();
    if sd > 1e-9 {
        ev.onset_contrast = contrast.iter().map(|v| (v - mean) / sd).collect();
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bars_without_evidence_become_two_eights_or_four_fours() {
        let ev = BreakEvidence::default();
        let cuts = cut_fragment(0, 16, &ev, &PhraseConfig::default());
        let mut bounds = vec![0];
        bounds.extend(&cuts);
        bounds.push(16);
        for w in bounds.windows(2) {
            assert!(w[1] - w[0] == 4 || w[1] - w[0] == 8, "{bounds:?}");
        }
    }

    #[test]
    fn a_strong_break_moves_the_cut() {
        // 12 bars: a melody rest at bar 6 pulls the cut there (6 + 6) instead of 4 + 8 / 8 + 4
        let n = 13;
        let mut ev = BreakEvidence {
            melody_rest: vec![0.0; n],
            melody_jump: vec![0.0; n],
            onset_contrast: vec![0.0; n],
        };
        ev.melody_rest[6] = 3.0;
        let cuts = cut_fragment(0, 12, &ev, &PhraseConfig::default());
        assert!(cuts.contains(&6), "{cuts:?}");
    }

    #[test]
    fn every_phrase_is_two_to_eight_bars() {
        let ev = BreakEvidence::default();
        for bars in 2..60 {
            let cuts = cut_fragment(0, bars, &ev, &PhraseConfig::default());
            let mut b = vec![0];
            b.extend(&cuts);
            b.push(bars);
            for w in b.windows(2) {
                assert!((2..=8).contains(&(w[1] - w[0])), "{bars}: {b:?}");
            }
        }
    }
}
