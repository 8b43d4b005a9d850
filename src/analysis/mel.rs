//! Short-time Fourier transform, Slaney mel filterbank, dB scaling and onset strength, with
//! the parameters and conventions of librosa 0.11 (`stft(center=True, pad_mode='constant')`,
//! periodic Hann window, `filters.mel(htk=False, norm='slaney')`, `power_to_db`,
//! `onset.onset_strength`), so spectrograms match the reference to float rounding.

use super::{AnalysisConfig, FrameMatrix};
use realfft::RealFftPlanner;

/// Periodic Hann window (`scipy.signal.get_window('hann', n, fftbins=True)`).
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = std::f64::consts::PI * 2.0 * i as f64 / n as f64;
            (0.5 - 0.5 * x.cos()) as f32
        })
        .collect()
}

/// Number of centred frames librosa produces for `len` samples.
pub fn n_frames(len: usize, hop: usize) -> usize {
    1 + len / hop.max(1)
}

/// Calls `f(frame_index, power_spectrum)` for every centred STFT frame (`|X|²`, `n_fft/2+1`
/// bins). Frames are zero-padded by `n_fft/2` at both ends like librosa's `center=True`.
pub fn for_each_power_frame(
    samples: &[f32],
    n_fft: usize,
    hop: usize,
    f: impl FnMut(usize, &[f32]),
) {
    for_each_power_frame_in(samples, n_fft, hop, 0..n_frames(samples.len(), hop), f);
}

/// [`for_each_power_frame`] over the frames in `frames` only.
pub fn for_each_power_frame_in(
    samples: &[f32],
    n_fft: usize,
    hop: usize,
    frames: std::ops::Range<usize>,
    mut f: impl FnMut(usize, &[f32]),
) {
    let window = hann(n_fft);
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0.0f32; n_fft / 2 + 1];
    let pad = (n_fft / 2) as isize;
    let len = samples.len() as isize;
    for t in frames {
        let start = t as isize * hop as isize - pad;
        for (k, slot) in input.iter_mut().enumerate() {
            let idx = start + k as isize;
            *slot = if idx >= 0 && idx < len {
                samples[idx as usize] * window[k]
            } else {
                0.0
            };
        }
        if fft
            .process_with_scratch(&mut input, &mut spec, &mut scratch)
            .is_err()
        {
            power.iter_mut().for_each(|p| *p = 0.0);
        } else {
            for (p, c) in power.iter_mut().zip(spec.iter()) {
                *p = c.norm_sqr();
            }
        }
        f(t, &power);
    }
}

/// Hz → mel on the Slaney scale (librosa `hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Mel → Hz on the Slaney scale (librosa `mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// One triangular mel filter stored sparsely: weights for bins `start..start + w.len()`.
#[derive(Debug, Clone)]
pub struct MelBand {
    pub start: usize,
    pub weights: Vec<f32>,
}

/// Slaney-normalised mel filterbank (`librosa.filters.mel(sr, n_fft, n_mels, fmin=0,
/// fmax=sr/2, htk=False, norm='slaney')`).
pub fn mel_filterbank(sr: u32, n_fft: usize, n_mels: usize) -> Vec<MelBand> {
    let n_bins = n_fft / 2 + 1;
    let fmax = f64::from(sr) / 2.0;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|i| i as f64 * fmax / (n_bins - 1) as f64)
        .collect();
    let (mmin, mmax) = (hz_to_mel(0.0), hz_to_mel(fmax));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mmin + (mmax - mmin) * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|m| {
            let (lo, mid, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
            let enorm = 2.0 / (hi - lo);
            let mut start = None;
            let mut weights = Vec::new();
            for (k, &f) in fft_freqs.iter().enumerate() {
                let lower = (f - lo) / (mid - lo);
                let upper = (hi - f) / (hi - mid);
                let w = lower.min(upper).max(0.0);
                if w > 0.0 {
                    if start.is_none() {
                        start = Some(k);
                    }
                    let s = start.unwrap_or(k);
                    weights.resize(k - s, 0.0);
                    weights.push((w * enorm) as f32);
                }
            }
            MelBand {
                start: start.unwrap_or(0),
                weights,
            }
        })
        .collect()
}

/// Mel power spectrogram (`librosa.feature.melspectrogram`, power 2): frames × n_mels. The
/// frames are split between two threads (each frame is independent).
pub fn mel_power(samples: &[f32], cfg: &AnalysisConfig) -> FrameMatrix {
    let bank = mel_filterbank(cfg.sr, cfg.n_fft, cfg.n_mels);
    let rows = n_frames(samples.len(), cfg.hop);
    let n_mels = cfg.n_mels;
    let mut out = FrameMatrix::zeros(rows, n_mels);
    let fill = |frames: std::ops::Range<usize>, dst: &mut [f32]| {
        let first = frames.start;
        for_each_power_frame_in(samples, cfg.n_fft, cfg.hop, frames, |t, power| {
            let row = &mut dst[(t - first) * n_mels..(t - first + 1) * n_mels];
            for (m, band) in bank.iter().enumerate() {
                let bins = &power[band.start..band.start + band.weights.len()];
                row[m] = bins.iter().zip(&band.weights).map(|(p, w)| p * w).sum();
            }
        });
    };
    let half = rows / 2;
    let (a, b) = out.data.split_at_mut(half * n_mels);
    if rows < 64 {
        fill(0..half, a);
        fill(half..rows, b);
    } else {
        std::thread::scope(|scope| {
            scope.spawn(|| fill(half..rows, b));
            fill(0..half, a);
        });
    }
    out
}

/// In-place `librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=80)`.
pub fn power_to_db(m: &mut FrameMatrix, top_db: f32) {
    let amin = 1e-10f32;
    let max = m.data.iter().copied().fold(amin, f32::max);
    let ref_db = 10.0 * max.log10();
    for v in &mut m.data {
        *v = 10.0 * v.max(amin).log10() - ref_db;
    }
    let floor = -top_db;
    for v in &mut m.data {
        *v = v.max(floor);
    }
}

/// Mel spectrogram in dB relative to its maximum (0 dB peak, floor −80 dB).
pub fn mel_db(samples: &[f32], cfg: &AnalysisConfig) -> FrameMatrix {
    let mut m = mel_power(samples, cfg);
    power_to_db(&mut m, 80.0);
    m
}

/// Onset strength envelope (`librosa.onset.onset_strength`, lag 1, mean over bands): the
/// half-wave rectified first difference of the dB mel spectrogram, shifted by
/// `1 + n_fft / (2 hop)` frames to compensate for centring, one value per frame.
pub fn onset_strength(mel_db: &FrameMatrix, cfg: &AnalysisConfig) -> Vec<f32> {
    onset_strength_bands(mel_db, cfg, 0..mel_db.cols)
}

/// [`onset_strength`] averaged over the mel bands in `bands` only (e.g. the low band for kick
/// and bass).
pub fn onset_strength_bands(
    mel_db: &FrameMatrix,
    cfg: &AnalysisConfig,
    bands: std::ops::Range<usize>,
) -> Vec<f32> {
    let rows = mel_db.rows;
    let mut env = vec![0.0f32; rows];
    let bands = bands.start.min(mel_db.cols)..bands.end.min(mel_db.cols);
    if rows < 2 || bands.is_empty() {
        return env;
    }
    let pad = 1 + cfg.n_fft / (2 * cfg.hop);
    let inv = 1.0 / bands.len() as f32;
    for t in 1..rows {
        let (prev, cur) = (
            &mel_db.row(t - 1)[bands.clone()],
            &mel_db.row(t)[bands.clone()],
        );
        let flux: f32 = cur
            .iter()
            .zip(prev)
            .map(|(c, p)| (c - p).max(0.0))
            .sum::<f32>()
            * inv;
        let dst = t - 1 + pad;
        if dst < rows {
            env[dst] = flux;
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-9);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
    }

    #[test]
    fn filterbank_matches_librosa_shape_and_norm() {
        let bank = mel_filterbank(22_050, 2048, 128);
        assert_eq!(bank.len(), 128);
        // Slaney norm: each triangle has area 1 in Hz → sum(w) * bin_width ≈ 1.
        let bin_hz = 22_050.0 / 2048.0;
        for band in &bank[20..] {
            let area: f32 = band.weights.iter().sum::<f32>() * bin_hz;
            assert!((area - 1.0).abs() < 0.1, "area {area}");
        }
        // librosa 0.11: filters.mel(sr=22050, n_fft=2048)[10] is non-zero on bins 24..=28 and
        // peaks at bin 26 with 0.033060946
        let b = &bank[10];
        let (imax, wmax) = b
            .weights
            .iter()
            .enumerate()
            .fold((0, 0.0f32), |a, (i, &w)| if w > a.1 { (i, w) } else { a });
        assert_eq!(b.start, 24);
        assert_eq!(b.weights.len(), 5);
        assert_eq!(b.start + imax, 26);
        assert!((wmax - 0.033_060_946).abs() < 1e-6, "peak {wmax}");
    }

    #[test]
    fn sine_energy_lands_in_the_right_band_and_frames_are_centred() {
        let cfg = AnalysisConfig::default();
        let n = 22_050;
        let x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 22_050.0).sin())
            .collect();
        let m = mel_db(&x, &cfg);
        assert_eq!(m.rows, 1 + n / 512);
        let row = m.row(m.rows / 2);
        let best = row
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a })
            .0;
        let target = hz_to_mel(1000.0);
        let centres: Vec<f64> = (0..130)
            .map(|i| i as f64 * hz_to_mel(11_025.0) / 129.0)
            .collect();
        assert!((centres[best + 1] - target).abs() < 1.0, "band {best}");
        assert!(m.data.iter().all(|v| *v <= 0.0 && *v >= -80.0));
    }

    #[test]
    fn onset_strength_peaks_at_clicks() {
        let cfg = AnalysisConfig::default();
        let mut x = vec![0.0f32; 22_050 * 3];
        let clicks = [22_050usize / 2, 22_050, 22_050 * 2];
        for &c in &clicks {
            for k in 0..64 {
                x[c + k] = if k % 2 == 0 { 0.9 } else { -0.9 };
            }
        }
        let env = onset_strength(&mel_db(&x, &cfg), &cfg);
        for &c in &clicks {
            let f = (c as f64 / 512.0).round() as usize;
            let local = env[f.saturating_sub(3)..f + 4]
                .iter()
                .copied()
                .fold(0.0f32, f32::max);
            let mean = env.iter().sum::<f32>() / env.len() as f32;
            assert!(
                local > 5.0 * mean,
                "click at frame {f}: {local} vs mean {mean}"
            );
        }
    }
}
