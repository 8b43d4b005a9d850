//! Onset events and the per-phrase pretext targets of the paper (§3.2): the mel spectrogram
//! resized to 128×128, the main melody and the rhythm (binary onset/beat activation), each at
//! 128 steps per phrase.

use super::{AnalysisConfig, FrameMatrix};

/// Onset frames by librosa's `onset_detect` peak picking (`util.peak_pick` with pre_max 30 ms,
/// post_max 0, pre_avg 100 ms, post_avg 100 ms, wait 30 ms, delta 0.07 on the envelope scaled to
/// 0..1).
pub fn onset_peaks(onset: &[f32], cfg: &AnalysisConfig) -> Vec<usize> {
    let n = onset.len();
    if n == 0 {
        return Vec::new();
    }
    let fr = f64::from(cfg.sr) / cfg.hop as f64;
    let frames = |s: f64| (s * fr) as usize;
    let (pre_max, post_max) = (frames(0.03).max(1), 1usize);
    let (pre_avg, post_avg) = (frames(0.10), frames(0.10) + 1);
    let wait = frames(0.03);
    let (lo, hi) = onset
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if hi - lo < 1e-9 {
        return Vec::new();
    }
    let x: Vec<f32> = onset.iter().map(|v| (v - lo) / (hi - lo)).collect();
    let mut peaks = Vec::new();
    let mut last: Option<usize> = None;
    for i in 0..n {
        let a = i.saturating_sub(pre_max);
        let b = (i + post_max).min(n);
        let is_max = x[a..b].iter().all(|v| x[i] >= *v);
        let a2 = i.saturating_sub(pre_avg);
        let b2 = (i + post_avg).min(n);
        let avg = x[a2..b2].iter().sum::<f32>() / (b2 - a2) as f32;
        if is_max && x[i] >= avg + 0.07 && last.is_none_or(|l| i > l + wait) {
            peaks.push(i);
            last = Some(i);
        }
    }
    peaks
}

/// Pretext targets of one phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseTargets {
    /// Mel image, `[n_mels][steps]` row-major, dB scaled to 0..1 ((dB + 80) / 80).
    pub mel: Vec<f32>,
    /// Main melody per step: MIDI pitch mapped to 0..1 over C1–C8 (24–108), 0 = unvoiced.
    pub melody: Vec<f32>,
    /// Rhythm per step: 1 where an onset or a beat falls in the step, else 0.
    pub rhythm: Vec<f32>,
    /// Steps per target.
    pub steps: usize,
}

/// Builds the targets for the frames `[start, end)` of a song.
pub fn phrase_targets(
    mel_db: &FrameMatrix,
    f0: &[f32],
    onset_frames: &[usize],
    beat_frames: &[usize],
    start: usize,
    end: usize,
    steps: usize,
) -> PhraseTargets {
    let n_mels = mel_db.cols;
    let end = end.min(mel_db.rows).max(start + 1);
    let len = (end - start) as f64;
    let mut mel = vec![0.0f32; n_mels * steps];
    let mut melody = vec![0.0f32; steps];
    let mut rhythm = vec![0.0f32; steps];
    for k in 0..steps {
        // linear interpolation on the time axis (bilinear resize with the mel axis unchanged)
        let pos = start as f64 + (k as f64 + 0.5) * len / steps as f64 - 0.5;
        let p0 = pos.floor().max(start as f64) as usize;
        let p1 = (p0 + 1).min(end - 1).min(mel_db.rows.saturating_sub(1));
        let p0 = p0.min(mel_db.rows.saturating_sub(1));
        let w = (pos - pos.floor()).clamp(0.0, 1.0) as f32;
        if mel_db.rows > 0 {
            let (r0, r1) = (mel_db.row(p0), mel_db.row(p1));
            for m in 0..n_mels {
                let v = r0[m] * (1.0 - w) + r1[m] * w;
                mel[m * steps + k] = ((v + 80.0) / 80.0).clamp(0.0, 1.0);
            }
        }
        let centre = (start as f64 + (k as f64 + 0.5) * len / steps as f64) as usize;
        if let Some(&hz) = f0.get(centre)
            && hz > 0.0
        {
            let midi = 69.0 + 12.0 * (hz / 440.0).log2();
            melody[k] = ((midi - 24.0) / 84.0).clamp(0.0, 1.0);
        }
    }
    for &f in onset_frames.iter().chain(beat_frames) {
        if f >= start && f < end {
            let k = (((f - start) as f64) * steps as f64 / len) as usize;
            rhythm[k.min(steps - 1)] = 1.0;
        }
    }
    PhraseTargets {
        mel,
        melody,
        rhythm,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_follow_impulses_and_respect_wait() {
        let cfg = AnalysisConfig::default();
        let mut env = vec![0.0f32; 200];
        for i in [10, 50, 51, 120] {
            env[i] = 1.0;
        }
        let p = onset_peaks(&env, &cfg);
        assert_eq!(p, vec![10, 50, 120]);
    }

    #[test]
    fn targets_have_the_right_shape_and_values() {
        let mut mel = FrameMatrix::zeros(300, 128);
        for t in 0..300 {
            mel.row_mut(t)[5] = if t < 150 { -80.0 } else { 0.0 };
        }
        let f0 = vec![440.0f32; 300];
        let tg = phrase_targets(&mel, &f0, &[100], &[200], 50, 250, 128);
        assert_eq!(tg.mel.len(), 128 * 128);
        assert_eq!(tg.rhythm.iter().filter(|v| **v == 1.0).count(), 2);
        assert!((tg.rhythm[(50.0 * 128.0 / 200.0) as usize] - 1.0).abs() < 1e-6);
        // A4 = MIDI 69 → (69 - 24) / 84
        assert!((tg.melody[3] - 45.0 / 84.0).abs() < 1e-4);
        // band 5 switches from 0 to 1 half way through
        assert!(tg.mel[5 * 128 + 10] < 0.01 && tg.mel[5 * 128 + 120] > 0.99);
    }
}
