//! Downbeats and meter.
//!
//! Beat-synchronous evidence for "a bar starts here" — low-frequency onset (kick/bass entries),
//! harmonic change between the beat before and after (chords change on the bar line), overall
//! onset strength — is decoded by a Viterbi pass over bar-position states for meters of 2–7
//! beats, in the spirit of the bar-pointer models of Whiteley et al. 2006 / madmom's
//! `DBNDownBeatTrackingProcessor`, without a learned front end. A meter may change at a bar
//! line at a cost, so a single 2/4 bar inside 4/4 is representable.

use super::FrameMatrix;

/// Downbeat-tracker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BarConfig {
    /// Meters considered (beats per bar).
    pub meters: Vec<usize>,
    /// Log-prior bonus per bar for each meter (4/4 is the common case; 2 and 7 are rare).
    /// Chosen on the 20 annotated songs with bar labels, of which only three are not in 4/4:
    /// (−0.6, 0, 0.35, 0, 0, −0.3) found no odd meter (downbeat F 0.647); these values find
    /// 6/4 and keep every 4/4 song (0.691). 3/4 is then read as 6/4 (every other downbeat):
    /// 3 and 6 are the same grouping ambiguity a listener has.
    pub meter_bonus: Vec<f64>,
    /// Cost of changing meter at a bar line.
    pub meter_change_cost: f64,
}

impl Default for BarConfig {
    fn default() -> Self {
        Self {
            meters: vec![2, 3, 4, 5, 6, 7],
            meter_bonus: vec![-1.0, 0.0, 0.2, 0.0, 0.0, -0.5],
            meter_change_cost: 6.0,
        }
    }
}

impl BarConfig {
    /// The meter prior for beats with a ternary division ([`super::beats::beat_division`]):
    /// the beats are dotted quarters, and two of them make the common compound bar, 6/8.
    pub fn compound() -> Self {
        Self {
            meter_bonus: vec![0.6, -0.5, 0.0, -0.5, -0.5, -1.0],
            ..Self::default()
        }
    }
}

/// Bars of a song.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bars {
    /// Position of each beat in its bar, 1 = downbeat.
    pub beat_in_bar: Vec<u32>,
    /// Indices (into the beat list) of the downbeats.
    pub downbeat_indices: Vec<usize>,
    /// Most common number of beats per bar.
    pub beats_per_bar: usize,
}

/// Beats of context on each side for the harmonic-change evidence.
const EVIDENCE_CONTEXT_BEATS: usize = 2;
/// Weights of (low-band onset, broadband onset, harmonic change above 250 Hz, bass change
/// below 250 Hz). Measured on the 20 annotated songs with bar labels (downbeat F, ±70 ms):
/// onsets-and-change (1, 0.5, 1, 0) with one beat of context 0.354; the two change terms alone
/// with two beats of context 0.59 (0.647 with the kick-phase beat tracker) — kick and snare
/// patterns repeat every beat or two and mislead, while chords and bass notes change at bar
/// lines.
const EVIDENCE_WEIGHTS: (f64, f64, f64, f64) = (0.0, 0.0, 1.0, 1.0);

/// Evidence that a bar starts at each beat (weighted sum of z-scores, see
/// [`EVIDENCE_WEIGHTS`]): spectral change between the beats before and after, split into the
/// bass region and the rest, plus (weight 0 by default) low-band and broadband onsets.
pub fn downbeat_evidence(mel_db: &FrameMatrix, onset: &[f32], beat_frames: &[usize]) -> Vec<f64> {
    let nb = beat_frames.len();
    if nb == 0 || mel_db.rows == 0 {
        return Vec::new();
    }
    let cols = mel_db.cols;
    let low = (cols / 8).max(1); // ≈ below 250 Hz at 128 mels
    let ctx = EVIDENCE_CONTEXT_BEATS;
    let (wb, wo, wc, wl) = EVIDENCE_WEIGHTS;
    // low-band positive flux at each frame
    let low_flux = |t: usize| -> f64 {
        if t == 0 || t >= mel_db.rows {
            return 0.0;
        }
        let (a, b) = (mel_db.row(t - 1), mel_db.row(t));
        (0..low)
            .map(|k| f64::from((b[k] - a[k]).max(0.0)))
            .sum::<f64>()
            / low as f64
    };
    // mean spectrum of a frame span
    let span_mean = |a: usize, b: usize| -> Vec<f64> {
        let (a, b) = (a.min(mel_db.rows), b.min(mel_db.rows));
        let mut m = vec![0.0; cols];
        if b <= a {
            return m;
        }
        for t in a..b {
            for (acc, v) in m.iter_mut().zip(mel_db.row(t)) {
                *acc += f64::from(*v);
            }
        }
        m.iter_mut().for_each(|v| *v /= (b - a) as f64);
        m
    };
    let beat_len = {
        let mut d: Vec<usize> = beat_frames.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_unstable();
        d.get(d.len() / 2).copied().unwrap_or(20).max(1)
    };
    let at = |i: isize| -> usize {
        if i < 0 {
            beat_frames[0].saturating_sub((-i) as usize * beat_len)
        } else if (i as usize) < nb {
            beat_frames[i as usize]
        } else {
            beat_frames[nb - 1] + (i as usize + 1 - nb) * beat_len
        }
    };
    let mut bass = Vec::with_capacity(nb);
    let mut onset_at = Vec::with_capacity(nb);
    let mut change = Vec::with_capacity(nb);
    let mut low_change = Vec::with_capacity(nb);
    for (i, &f) in beat_frames.iter().enumerate() {
        let lo = f.saturating_sub(2);
        bass.push((lo..=f + 2).map(low_flux).fold(0.0, f64::max));
        onset_at.push(
            onset[lo.min(onset.len())..(f + 3).min(onset.len())]
                .iter()
                .copied()
                .fold(0.0f32, f32::max)
                .into(),
        );
        // spectra of the `ctx` beats before and after this beat: chords and bass notes change
        // at bar lines, and spans of whole beats average the drum pattern out
        let ii = i as isize;
        let (a, b) = (
            span_mean(at(ii - ctx as isize), f),
            span_mean(f, at(ii + ctx as isize)),
        );
        let dist = |r: std::ops::Range<usize>| -> f64 {
            r.map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt()
        };
        change.push(dist(low..cols));
        low_change.push(dist(0..low));
    }
    let (zb, zo, zc, zl) = (
        zscore(&bass),
        zscore(&onset_at),
        zscore(&change),
        zscore(&low_change),
    );
    (0..nb)
        .map(|i| wb * zb[i] + wo * zo[i] + wc * zc[i] + wl * zl[i])
        .collect()
}

fn zscore(x: &[f64]) -> Vec<f64> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    if sd < 1e-12 {
        return vec![0.0; x.len()];
    }
    x.iter().map(|v| (v - mean) / sd).collect()
}

/// Viterbi over (meter, position) states: position advances by one per beat, wraps to a
/// downbeat at the end of the bar, where the meter may change at a cost. A downbeat state earns
/// the evidence, other positions earn nothing; each bar earns its meter's bonus.
pub fn decode_bars(evidence: &[f64], cfg: &BarConfig) -> Bars {
    let nb = evidence.len();
    if nb == 0 {
        return Bars {
            beats_per_bar: 4,
            ..Bars::default()
        };
    }
    let states: Vec<(usize, usize)> = cfg
        .meters
        .iter()
        .enumerate()
        .flat_map(|(mi, &m)| (0..m).map(move |p| (mi, p)))
        .collect();
    let ns = states.len();
    let bonus = |mi: usize| cfg.meter_bonus.get(mi).copied().unwrap_or(0.0);
    let emit = |i: usize, (mi, p): (usize, usize)| {
        if p == 0 { evidence[i] + bonus(mi) } else { 0.0 }
    };
    let mut score: Vec<f64> = states.iter().map(|&s| emit(0, s)).collect();
    let mut back = vec![vec![0u32; ns]; nb];
    let index_of = |mi: usize, p: usize| -> usize { cfg.meters[..mi].iter().sum::<usize>() + p };
    for (i, back_i) in back.iter_mut().enumerate().skip(1) {
        let mut next = vec![f64::NEG_INFINITY; ns];
        for (j, &(mi, p)) in states.iter().enumerate() {
            let (best, arg) = if p > 0 {
                let k = index_of(mi, p - 1);
                (score[k], k)
            } else {
                // from the last position of any meter
                let mut best = (f64::NEG_INFINITY, 0);
                for (mk, &m) in cfg.meters.iter().enumerate() {
                    let k = index_of(mk, m - 1);
                    let cost = if mk == mi { 0.0 } else { cfg.meter_change_cost };
                    if score[k] - cost > best.0 {
                        best = (score[k] - cost, k);
                    }
                }
                best
            };
            next[j] = best + emit(i, (mi, p));
            back_i[j] = arg as u32;
        }
        score = next;
    }
    let mut s = score
        .iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |a, (i, &v)| if v > a.1 { (i, v) } else { a },
        )
        .0;
    let mut path = vec![0usize; nb];
    for i in (0..nb).rev() {
        path[i] = s;
        s = back[i][s] as usize;
    }
    let beat_in_bar: Vec<u32> = path.iter().map(|&j| states[j].1 as u32 + 1).collect();
    let downbeat_indices: Vec<usize> = (0..nb).filter(|&i| beat_in_bar[i] == 1).collect();
    let mut counts = vec![0usize; cfg.meters.len()];
    for &j in &path {
        if states[j].1 == 0 {
            counts[states[j].0] += 1;
        }
    }
    let best_meter = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map_or(4, |(mi, _)| cfg.meters[mi]);
    Bars {
        beat_in_bar,
        downbeat_indices,
        beats_per_bar: best_meter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(meter: usize, bars: usize, phase: usize) -> Vec<f64> {
        (0..meter * bars + phase)
            .map(|i| {
                let pos = (i + meter - phase % meter) % meter;
                if pos == 0 {
                    1.5
                } else {
                    -0.4 + 0.1 * ((i * 7) % 3) as f64
                }
            })
            .collect()
    }

    #[test]
    fn meter_and_phase_are_recovered() {
        for meter in [3, 4, 5, 6] {
            for phase in 0..meter {
                let ev = synthetic(meter, 12, phase);
                let bars = decode_bars(&ev, &BarConfig::default());
                assert_eq!(bars.beats_per_bar, meter, "meter {meter} phase {phase}");
                assert_eq!(bars.downbeat_indices[0], phase % meter, "meter {meter}");
            }
        }
    }

    #[test]
    fn a_single_short_bar_is_followed() {
        // 4/4, one 2/4 bar, 4/4 again (OpenMSX "Skydive")
        let mut ev = synthetic(4, 8, 0);
        ev.extend([1.5, -0.4]);
        ev.extend(synthetic(4, 8, 0));
        let bars = decode_bars(&ev, &BarConfig::default());
        assert!(bars.downbeat_indices.contains(&32));
        assert!(bars.downbeat_indices.contains(&34));
        assert!(bars.downbeat_indices.contains(&38));
    }

    #[test]
    fn empty_input_is_fine() {
        let bars = decode_bars(&[], &BarConfig::default());
        assert!(bars.downbeat_indices.is_empty());
    }
}
