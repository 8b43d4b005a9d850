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

/// Kick mass at the weaker of two alternate three-beat group starts over the stronger at or
/// above which [`three_or_six`] reads bars of 3, below which a bar of 6. Chosen on the
/// synthesised metre set (`phrasewise bench metre`), where the margin is thin: a jazz waltz
/// at 0.704 and a real 6/4 song of the shared data at 0.696 lie either side of it.
pub const KICK_THREE_SWITCH: f64 = 0.7;

/// Slowest tempo at which [`three_or_six`] joins bars of 3 into bars of 6: slower, a bar of
/// six beats would last over 3 s (a 3/4 waltz at 84–96 BPM is never made a bar of 6 by it).
pub const SIX_MIN_BPM: f64 = 120.0;

/// 3 or 6 beats a bar. Harmony alone cannot tell two bars of 3/4 whose chords change every
/// other bar from one bar of 6 (a 6/8 counted in eighths, or 6/4): both put the chord changes
/// on the same beats, and the decoder reads 3/4 waltzes as 6 and 6/8 ballads as 3. The kick
/// can: a waltz kicks on every bar's one, a 6/8 bar on its first group, not (or less) on its
/// second. The kick envelope ([`super::beats::kick_envelope`]) is averaged at the starts of
/// alternate three-beat groups; when the weaker reaches [`KICK_THREE_SWITCH`] of the stronger
/// each bar of 6 is split in two bars of 3, below it (at [`SIX_MIN_BPM`] or faster) the song
/// is decoded again without 3 (bars of 6, the decoder choosing which group starts them).
/// Other meters are left as they are.
pub fn three_or_six(
    bars: Bars,
    kick: impl FnOnce() -> Vec<f32>,
    beat_frames: &[usize],
    tempo_bpm: f64,
    evidence: &[f64],
    cfg: &BarConfig,
) -> Bars {
    let m = bars.beats_per_bar;
    if !(m == 3 || m == 6) || beat_frames.len() != bars.beat_in_bar.len() {
        return bars;
    }
    // only songs read as 3 or 6 pay for the envelope
    let kick = kick();
    if kick.is_empty() {
        return bars;
    }
    // the starts of three-beat groups, alternately in group 0 and group 1
    let starts: Vec<usize> = (0..beat_frames.len())
        .filter(|&i| bars.beat_in_bar[i] == 1 || (m == 6 && bars.beat_in_bar[i] == 4))
        .collect();
    if starts.len() < 8 {
        return bars;
    }
    let mut mass = [(0.0f64, 0usize); 2];
    for (k, &i) in starts.iter().enumerate() {
        let g = if m == 6 {
            usize::from(bars.beat_in_bar[i] == 4)
        } else {
            k % 2
        };
        let at = beat_frames[i].min(kick.len() - 1);
        mass[g].0 += f64::from(super::beats::local_max(&kick, at, 2));
        mass[g].1 += 1;
    }
    let mean = |g: usize| mass[g].0 / mass[g].1.max(1) as f64;
    let (a, b) = (mean(0), mean(1));
    if a.max(b) <= 0.0 {
        return bars;
    }
    let ratio = a.min(b) / a.max(b);
    tracing::debug!("three or six: decoded {m}, kick ratio {ratio:.3}");
    let want = if ratio >= KICK_THREE_SWITCH { 3 } else { 6 };
    if want == m || (want == 6 && tempo_bpm < SIX_MIN_BPM) {
        return bars;
    }
    if want == 3 {
        return split_sixes(&bars);
    }
    // 3 → 6: which of the two groups starts the bar is the decoder's to say
    let mut only = cfg.clone();
    for (mi, &meter) in cfg.meters.iter().enumerate() {
        if meter == 3
            && let Some(b) = only.meter_bonus.get_mut(mi)
        {
            *b = -1e3;
        }
    }
    let again = decode_bars(evidence, &only);
    if again.beats_per_bar == 6 {
        again
    } else {
        bars
    }
}

/// Every bar of six beats as two bars of three (beat 4 a downbeat); other bars kept.
fn split_sixes(bars: &Bars) -> Bars {
    let n = bars.beat_in_bar.len();
    let mut beat_in_bar = bars.beat_in_bar.clone();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && bars.beat_in_bar[j] != 1 {
            j += 1;
        }
        if bars.beat_in_bar[i..j].iter().all(|&p| p <= 6)
            && bars.beat_in_bar[i..j].iter().any(|&p| p > 3)
            && (j - i == 6 || j == n || i == 0)
        {
            for p in &mut beat_in_bar[i..j] {
                if *p > 3 {
                    *p -= 3;
                }
            }
        }
        i = j;
    }
    let downbeat_indices: Vec<usize> = (0..n).filter(|&i| beat_in_bar[i] == 1).collect();
    Bars {
        beat_in_bar,
        downbeat_indices,
        beats_per_bar: 3,
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

    /// Evidence of a chord change every six beats (two bars of 3/4 per chord, or a bar of
    /// 6/8 in eighths), and a kick every three beats or every six.
    #[test]
    fn the_kick_tells_three_from_six() {
        let beats = 96;
        let evidence: Vec<f64> = (0..beats)
            .map(|i| match i % 6 {
                0 => 2.0,
                3 => -0.3,
                _ => -0.5,
            })
            .collect();
        let frames: Vec<usize> = (0..beats).map(|i| 20 + 10 * i).collect();
        let kick_every = |n: usize| {
            let mut k = vec![0.0f32; 20 + 10 * beats];
            for i in (0..beats).step_by(n) {
                k[frames[i]] = 1.0;
            }
            k
        };
        let cfg = BarConfig::default();
        let six = decode_bars(&evidence, &cfg);
        assert_eq!(six.beats_per_bar, 6);
        let three = three_or_six(
            six.clone(),
            || kick_every(3),
            &frames,
            150.0,
            &evidence,
            &cfg,
        );
        assert_eq!(three.beats_per_bar, 3);
        assert_eq!(three.downbeat_indices.len(), beats / 3);
        assert!(three.downbeat_indices.iter().all(|i| i % 3 == 0));
        let kept = three_or_six(
            six.clone(),
            || kick_every(6),
            &frames,
            150.0,
            &evidence,
            &cfg,
        );
        assert_eq!(kept, six);
        // a slow pulse is never joined into bars of six
        let slow = three_or_six(
            three.clone(),
            || kick_every(6),
            &frames,
            90.0,
            &evidence,
            &cfg,
        );
        assert_eq!(slow, three);
        let back = three_or_six(three, || kick_every(6), &frames, 150.0, &evidence, &cfg);
        assert_eq!(back.beats_per_bar, 6);
        // no kick at all: left to the harmony
        assert_eq!(
            three_or_six(
                six.clone(),
                || vec![0.0; 2000],
                &frames,
                150.0,
                &evidence,
                &cfg
            ),
            six
        );
    }

    #[test]
    fn empty_input_is_fine() {
        let bars = decode_bars(&[], &BarConfig::default());
        assert!(bars.downbeat_indices.is_empty());
    }
}
