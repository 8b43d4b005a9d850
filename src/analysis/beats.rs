//! Tempo and beat tracking.
//!
//! Ellis 2007 ("Beat tracking by dynamic programming", the algorithm behind
//! `librosa.beat.beat_track`) extended with a *time-varying* tempo so ramps and ritardandos are
//! followed: a windowed-autocorrelation tempogram (`librosa.feature.tempogram`) is decoded by a
//! Viterbi pass into one beat period per frame, and the dynamic programme scores every
//! inter-beat interval against the local period instead of one global period.
//!
//! Metrical level: each lag L is scored by `ac(L) + ac(2L)/2` (beat plus half-note
//! periodicity, a two-tooth comb in the spirit of Percival & Tzanetakis 2014's pulse trains)
//! times a dance-oriented log-normal prior centred on 140 BPM with σ = ½ octave (±1σ ≈ 99–198
//! BPM, the range in which dancers count quarter notes; cf. Moelants 2002 on preferred tempo).
//! The song-mean score fixes a global tempo first; a second, narrower prior around it keeps
//! every window on the same metrical level (no octave or 2:3 jumps) while still allowing
//! ramps. Before that, a metrical check (`metrical_check`) replaces the global tempo by a
//! 2:3 / 3:4 relative when the relative fits a duple grid (half beat, beat, half bar, bar) much
//! better (3+3+2 patterns, off-beat hi-hats). After the dynamic programme, when a low-band
//! (kick/bass) onset envelope is given, a half-beat phase check puts the beats where the kick
//! is (`kick_phase`); finally a swing check moves beats that locked onto accented swung
//! off-beats (see `swing_phase`).

use super::{AnalysisConfig, FrameMatrix, mel};

/// Upper edge (Hz) of the low band (kick drum and bass) used by [`low_band_onset`].
pub const LOW_BAND_HZ: f64 = 150.0;

/// Beat-tracker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BeatConfig {
    /// Slowest tempo considered (BPM).
    pub min_bpm: f64,
    /// Fastest tempo considered (BPM).
    pub max_bpm: f64,
    /// Centre of the log-normal tempo prior (BPM).
    pub prior_bpm: f64,
    /// Width (standard deviation, octaves) of the prior.
    pub prior_octaves: f64,
    /// Width (octaves) of the second prior that keeps each tempogram window near the global
    /// tempo (wide enough for ramps such as 120 → 150 BPM, 0.32 octave).
    pub global_octaves: f64,
    /// Autocorrelation window of the tempogram (s), librosa's `ac_size` 8 s.
    pub window_s: f64,
    /// Hop of the tempogram (s).
    pub window_hop_s: f64,
    /// Penalty on tempo change between tempogram windows (per octave², Viterbi).
    pub tempo_change_cost: f64,
    /// DP tightness (librosa 100): how strongly intervals must follow the local period.
    pub tightness: f64,
    /// Drop weak leading/trailing beats (librosa `trim=True`).
    pub trim: bool,
    /// Slowest tempo (BPM) the half-tempo check may move a song to.
    pub min_half_bpm: f64,
}

impl Default for BeatConfig {
    fn default() -> Self {
        Self {
            min_bpm: 50.0,
            max_bpm: 215.0,
            prior_bpm: 140.0,
            prior_octaves: 0.5,
            global_octaves: 0.25,
            window_s: 8.0,
            window_hop_s: 1.0,
            tempo_change_cost: 40.0,
            tightness: 100.0,
            trim: true,
            min_half_bpm: 55.0,
        }
    }
}

/// Result of beat tracking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeatTrack {
    /// Global tempo (BPM): 60 / median inter-beat interval.
    pub tempo_bpm: f64,
    /// Beat frame indices (increasing).
    pub beat_frames: Vec<usize>,
    /// Beat times (s).
    pub beat_times: Vec<f64>,
    /// Local beat period per frame (frames), from the tempogram Viterbi.
    pub period_frames: Vec<f32>,
}

/// Onset strength of the low band (mel bands centred below [`LOW_BAND_HZ`]: kick drum and
/// bass): the half-wave rectified first difference of the dB mel spectrogram averaged over those
/// bands, with the centring shift and frame convention of [`mel::onset_strength`].
pub fn low_band_onset(mel_db: &FrameMatrix, cfg: &AnalysisConfig) -> Vec<f32> {
    mel::onset_strength_bands(mel_db, cfg, 0..low_bands(mel_db.cols, cfg))
}

/// Number of mel bands (of `n_mels`) centred at or below [`LOW_BAND_HZ`], at least one.
fn low_bands(n_mels: usize, cfg: &AnalysisConfig) -> usize {
    let (mmin, mmax) = (mel::hz_to_mel(0.0), mel::hz_to_mel(f64::from(cfg.sr) / 2.0));
    (0..n_mels)
        .take_while(|&m| {
            let centre = mmin + (mmax - mmin) * (m + 1) as f64 / (n_mels + 1) as f64;
            mel::mel_to_hz(centre) <= LOW_BAND_HZ
        })
        .count()
        .max(1)
}

/// Frames on each side of the running median that stands for a low band's sustained level
/// in [`kick_envelope`] (±0.19 s at the analysis hop).
const SUSTAIN_RADIUS: usize = 8;

/// The kick drum apart from the bass: per frame, how far the low bands (as
/// [`low_band_onset`]) rise above their running median over ±[`SUSTAIN_RADIUS`] frames, in
/// dB, averaged over the bands. A bass note sustained over the window sets the median and
/// leaves little; a kick, gone within a tenth of a second, stands out. The time-median half
/// of harmonic–percussive separation (Fitzgerald 2010, librosa `decompose.hpss`), on the
/// bands where only the kick and the bass play.
pub fn kick_envelope(mel_db: &FrameMatrix, cfg: &AnalysisConfig) -> Vec<f32> {
    let n_mels = mel_db.cols;
    let bands = low_bands(n_mels, cfg);
    let n = mel_db.rows;
    let mut out = vec![0.0f32; n];
    let mut window = Vec::with_capacity(2 * SUSTAIN_RADIUS + 1);
    for m in 0..bands.min(n_mels) {
        let at = |t: usize| mel_db.data[t * n_mels + m];
        for (t, o) in out.iter_mut().enumerate() {
            window.clear();
            window.extend(
                (t.saturating_sub(SUSTAIN_RADIUS)..(t + SUSTAIN_RADIUS + 1).min(n)).map(at),
            );
            let mid = window.len() / 2;
            let (_, median, _) = window.select_nth_unstable_by(mid, f32::total_cmp);
            *o += (at(t) - *median).max(0.0);
        }
    }
    let b = bands as f32;
    out.iter_mut().for_each(|v| *v /= b);
    out
}

/// Tracks beats in an onset-strength envelope (one value per analysis frame).
pub fn track_beats(onset: &[f32], cfg: &AnalysisConfig, bcfg: &BeatConfig) -> BeatTrack {
    track_beats_with_bass(onset, None, cfg, bcfg)
}

/// [`track_beats`] with an optional low-band onset envelope ([`low_band_onset`], same frames as
/// `onset`), which decides the beat phase when the broadband onsets favour the off-beats (see
/// `kick_phase`).
pub fn track_beats_with_bass(
    onset: &[f32],
    bass_onset: Option<&[f32]>,
    cfg: &AnalysisConfig,
    bcfg: &BeatConfig,
) -> BeatTrack {
    let fr = f64::from(cfg.sr) / cfg.hop as f64;
    let n = onset.len();
    let empty = BeatTrack::default();
    if n < (fr * 2.0) as usize {
        return empty;
    }
    let std = std_dev(onset);
    if std < 1e-6 {
        return empty; // silence or a constant signal: no beats
    }
    let env: Vec<f32> = onset.iter().map(|v| v / std).collect();
    let period = local_periods(&env, fr, bcfg);
    let mut beats = dp_beats(&env, &period, bcfg.tightness);
    if bcfg.trim {
        trim_beats(&env, &period, &mut beats);
    }
    if let Some(dotted) = dotted_beats(&env, &period, &beats, bcfg) {
        beats = dotted;
    }
    if let Some(bass) = bass_onset.filter(|b| b.len() == n) {
        let bstd = std_dev(bass);
        if bstd > 1e-6 {
            let benv: Vec<f32> = bass.iter().map(|v| v / bstd).collect();
            kick_phase(&env, &benv, &mut beats);
            if beat_division(&env, &beats) == 3 {
                ternary_kick_phase(&benv, &mut beats);
            }
        }
    }
    swing_phase(&env, &mut beats);
    let benv = bass_onset.filter(|b| b.len() == n).map(|b| {
        let bstd = std_dev(b).max(1e-6);
        b.iter().map(|v| v / bstd).collect::<Vec<f32>>()
    });
    half_tempo_check(&env, benv.as_deref(), &mut beats, fr, bcfg.min_half_bpm);
    let tempo_bpm = if beats.len() >= 2 {
        let mut ibis: Vec<f64> = beats.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        ibis.sort_by(f64::total_cmp);
        // mean of the middle half: robust to outliers, not quantised to whole frames
        let (a, b) = (
            ibis.len() / 4,
            (3 * ibis.len()).div_ceil(4).max(ibis.len() / 4 + 1),
        );
        let mid = &ibis[a..b.min(ibis.len())];
        60.0 * fr / (mid.iter().sum::<f64>() / mid.len() as f64)
    } else {
        0.0
    };
    BeatTrack {
        tempo_bpm,
        beat_times: beats.iter().map(|&b| cfg.frame_time(b)).collect(),
        beat_frames: beats,
        period_frames: period,
    }
}

fn std_dev(x: &[f32]) -> f32 {
    if x.len() < 2 {
        return 0.0;
    }
    let mean = x.iter().sum::<f32>() / x.len() as f32;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (x.len() - 1) as f32;
    var.sqrt()
}

/// Autocorrelation of `x` (mean removed, Hann-windowed) for lags `0..=max_lag`, normalised by
/// lag 0.
pub fn autocorr(x: &[f32], max_lag: usize, out: &mut Vec<f32>) {
    out.clear();
    let n = x.len();
    let mean = x.iter().sum::<f32>() / n.max(1) as f32;
    let w: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos();
            (v - mean) * h
        })
        .collect();
    for lag in 0..=max_lag.min(n.saturating_sub(1)) {
        let s: f32 = w[..n - lag].iter().zip(&w[lag..]).map(|(a, b)| a * b).sum();
        out.push(s);
    }
    let z = out.first().copied().unwrap_or(0.0);
    if z > 0.0 {
        out.iter_mut().for_each(|v| *v /= z);
    }
    out.resize(max_lag + 1, 0.0);
}

/// Beat period (frames, fractional) per frame: tempogram windows scored by a comb over the
/// autocorrelation (lags L, 2L), the tempo prior and a prior around the song's global tempo,
/// decoded by Viterbi.
fn local_periods(env: &[f32], fr: f64, bcfg: &BeatConfig) -> Vec<f32> {
    let n = env.len();
    let lag_min = (60.0 * fr / bcfg.max_bpm).floor().max(2.0) as usize;
    let lag_max = (60.0 * fr / bcfg.min_bpm).ceil() as usize;
    let win = ((bcfg.window_s * fr) as usize).clamp(lag_max * 2, n.max(lag_max * 2));
    let hop = ((bcfg.window_hop_s * fr) as usize).max(1);
    let centres: Vec<usize> = if n <= win {
        vec![n / 2]
    } else {
        (0..=(n - win) / hop).map(|k| k * hop + win / 2).collect()
    };
    let n_lags = lag_max - lag_min + 1;
    let max_ac = 4 * lag_max + 2;
    let mut ac = Vec::new();
    // comb score per window and lag
    let mut combs: Vec<Vec<f64>> = Vec::with_capacity(centres.len());
    for &c in &centres {
        let a = c.saturating_sub(win / 2);
        let b = (a + win).min(n);
        autocorr(&env[a..b], max_ac, &mut ac);
        combs.push(
            (lag_min..=lag_max)
                .map(|lag| {
                    let v = f64::from(interp(&ac, lag as f64))
                        + 0.5 * f64::from(interp(&ac, (2 * lag) as f64));
                    v.max(0.0)
                })
                .collect(),
        );
    }
    let prior: Vec<f64> = (lag_min..=lag_max)
        .map(|lag| {
            let bpm = 60.0 * fr / lag as f64;
            let z = (bpm / bcfg.prior_bpm).log2() / bcfg.prior_octaves;
            (-0.5 * z * z).exp()
        })
        .collect();
    // global tempo: song-mean comb × prior
    let global: Vec<f64> = (0..n_lags)
        .map(|j| combs.iter().map(|r| r[j]).sum::<f64>() * prior[j])
        .collect();
    let g_lag = metrical_check(
        env,
        fr,
        (lag_min + argmax(&global)) as f64,
        lag_min,
        lag_max,
    );
    let gs = bcfg.global_octaves;
    let scores: Vec<Vec<f64>> = combs
        .iter()
        .map(|r| {
            let row: Vec<f64> = r
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let z = ((lag_min + j) as f64 / g_lag).log2() / gs;
                    v * prior[j] * (-0.5 * z * z).exp()
                })
                .collect();
            let m = row.iter().copied().fold(1e-9, f64::max);
            row.into_iter().map(|v| (v / m).max(1e-4).ln()).collect()
        })
        .collect();
    // Viterbi over lags with a cost on log-tempo change
    let log_lag: Vec<f64> = (lag_min..=lag_max).map(|l| (l as f64).log2()).collect();
    let path = viterbi_lags(&scores, &log_lag, bcfg.tempo_change_cost);
    let win_period = refined_periods(&scores, &path, lag_min);
    per_frame(&centres, &win_period, n)
}

/// Best lag index per window: Viterbi over `scores` (window × lag, log domain) with a cost of
/// `cost · Δlog2(lag)²` per step.
fn viterbi_lags(scores: &[Vec<f64>], log_lag: &[f64], cost: f64) -> Vec<usize> {
    let n_lags = log_lag.len();
    let t_n = scores.len();
    let mut acc = scores[0].clone();
    let mut back = vec![vec![0usize; n_lags]; t_n];
    for t in 1..t_n {
        let mut next = vec![f64::NEG_INFINITY; n_lags];
        for j in 0..n_lags {
            let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
            for i in 0..n_lags {
                let d = log_lag[j] - log_lag[i];
                let v = acc[i] - cost * d * d;
                if v > best {
                    best = v;
                    arg = i;
                }
            }
            next[j] = best + scores[t][j];
            back[t][j] = arg;
        }
        acc = next;
    }
    let mut path = vec![0usize; t_n];
    path[t_n - 1] = argmax(&acc);
    for t in (1..t_n).rev() {
        path[t - 1] = back[t][path[t]];
    }
    path
}

/// Per-window period (frames): the chosen lag refined by parabolic interpolation of its
/// score row.
fn refined_periods(scores: &[Vec<f64>], path: &[usize], lag_min: usize) -> Vec<f64> {
    (0..scores.len())
        .map(|t| {
            let j = path[t];
            let s = &scores[t];
            let frac = if j > 0 && j + 1 < s.len() {
                let (a, b, c) = (s[j - 1], s[j], s[j + 1]);
                let den = a - 2.0 * b + c;
                if den.abs() > 1e-12 {
                    (0.5 * (a - c) / den).clamp(-0.5, 0.5)
                } else {
                    0.0
                }
            } else {
                0.0
            };
            (lag_min + j) as f64 + frac
        })
        .collect()
}

/// Window periods (at window `centres`) linearly interpolated to each of `n` frames, held
/// constant before the first and after the last centre.
fn per_frame(centres: &[usize], win_period: &[f64], n: usize) -> Vec<f32> {
    let t_n = win_period.len();
    (0..n)
        .map(|i| {
            let pos = centres.partition_point(|&c| c <= i);
            let v = if pos == 0 {
                win_period[0]
            } else if pos >= t_n {
                win_period[t_n - 1]
            } else {
                let (c0, c1) = (centres[pos - 1] as f64, centres[pos] as f64);
                let w = (i as f64 - c0) / (c1 - c0);
                win_period[pos - 1] * (1.0 - w) + win_period[pos] * w
            };
            v as f32
        })
        .collect()
}

/// Autocorrelation window (s) of the metrical check: long enough for bar lags (4 beats at
/// 60 BPM = 4 s) to keep most of their Hann-window weight.
const METRICAL_WINDOW_S: f64 = 16.0;
/// Hop (s) between those windows.
const METRICAL_HOP_S: f64 = 2.0;

/// Ratio by which a 2:3 / 3:4 relative of the global beat period must out-score it in
/// [`metrical_score`] to replace it.
const METRICAL_SWITCH: f64 = 1.2;

/// Duple-hierarchy score of beat period `lag`: the song-mean autocorrelation at the half beat,
/// beat, half bar and bar (L/2, L, 2L, 4L), i.e. how well `lag` fits a metrical grid with binary
/// subdivision and 4/4 grouping.
fn metrical_score(acs: &[Vec<f32>], lag: f64) -> f64 {
    // best fit within ±3 % (the integer global lag and the ratios are not exact)
    (-12..=12)
        .map(|k| metrical_score_at(acs, lag * (1.0 + 0.0025 * f64::from(k))))
        .fold(f64::NEG_INFINITY, f64::max)
}

fn metrical_score_at(acs: &[Vec<f32>], lag: f64) -> f64 {
    let s: f64 = acs
        .iter()
        .map(|ac| {
            [0.5, 1.0, 2.0, 4.0]
                .iter()
                .map(|k| f64::from(interp(ac, k * lag)))
                .sum::<f64>()
        })
        .sum();
    s / acs.len().max(1) as f64
}

/// Non-octave metrical check of the global beat period: the comb × prior can lock onto a
/// period 3/2, 2/3, 4/3 or 3/4 of the true beat (dotted or 3+3+2 patterns, off-beat hi-hats
/// that make a 200 BPM song look like 134 BPM). Such a relative replaces the global period when
/// its [`metrical_score`] is clearly higher: at the true beat the half-beat, bar and half-bar
/// lags line up with the music, at a 2:3 relative they fall between its events.
fn metrical_check(env: &[f32], fr: f64, g_lag: f64, lag_min: usize, lag_max: usize) -> f64 {
    let n = env.len();
    let max_ac = 4 * lag_max + 2;
    let win = ((METRICAL_WINDOW_S * fr) as usize).clamp(max_ac + 1, n.max(max_ac + 1));
    let hop = ((METRICAL_HOP_S * fr) as usize).max(1);
    let mut acs = Vec::new();
    let mut a = 0;
    loop {
        let b = (a + win).min(n);
        let mut ac = Vec::new();
        autocorr(&env[a..b], max_ac, &mut ac);
        acs.push(ac);
        if b >= n {
            break;
        }
        a += hop;
    }
    let acs = &acs;
    let base = metrical_score(acs, g_lag);
    let mut best = (g_lag, base * METRICAL_SWITCH);
    for r in [2.0 / 3.0, 3.0 / 2.0, 3.0 / 4.0, 4.0 / 3.0] {
        let lag = g_lag * r;
        if lag < lag_min as f64 || lag > lag_max as f64 {
            continue;
        }
        let s = metrical_score(acs, lag);
        tracing::debug!(
            "metrical check: global lag {g_lag:.1}, ratio {r:.2}: score {s:.3} vs {base:.3}"
        );
        if s > best.1 {
            best = (lag, s);
        }
    }
    best.0
}

/// Factor by which the off-beat midpoints must out-weigh the beats (geometric mean of the
/// broadband and low-band ratios) for `kick_phase` to move the beats by half a period.
const KICK_PHASE_SWITCH: f32 = 1.12;

/// Half-beat phase check ("beats are where the kick is"). Off-beat hi-hats or claps can pull
/// the tracker onto the off-beats at the right tempo. The onset mass at the beats and at the
/// midpoints between them is compared in the broadband envelope and in the low band (kick
/// drum, bass); each band votes by its midpoint/beat ratio and the votes are combined as a
/// geometric mean, so a band that is ambiguous lets the other decide. When the midpoints win
/// by [`KICK_PHASE_SWITCH`] the beats are moved forward by half their interval.
fn kick_phase(env: &[f32], bass: &[f32], beats: &mut [usize]) {
    if beats.len() < 8 {
        return;
    }
    let (mut ob, mut om, mut bb, mut bm) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for w in beats.windows(2) {
        let mid = w[0] + (w[1] - w[0]) / 2;
        ob += local_max(env, w[0], 1);
        om += local_max(env, mid, 1);
        bb += local_max(bass, w[0], 1);
        bm += local_max(bass, mid, 1);
    }
    if ob <= 0.0 || bb <= 0.0 {
        return;
    }
    let vote = ((om / ob) * (bm / bb)).sqrt();
    if vote > KICK_PHASE_SWITCH {
        shift_beats(beats, env.len(), |d| d / 2);
    }
}

/// Share of the weaker on-beat class's accent below which the off-beat classes must stay
/// for [`half_tempo_check`] to drop them.
const HALF_TEMPO_SWITCH: f32 = 0.6;

/// Tempo-octave check on the tracked beats (metrical level from the accent pattern at beat
/// positions, after Klapuri et al. 2006 and Gainza 2009): the comb × prior favours the
/// 100–200 BPM octave, so a ballad or waltz at 70–96 BPM with eighth-note hi-hats or
/// arpeggios is tracked on its eighths (a 3/4 waltz then reads as 6 beats per bar at double
/// tempo, issue 15). The beats are split into four classes by index mod 4; when both classes of
/// one parity are weaker than [`HALF_TEMPO_SWITCH`] times the weaker class of the other
/// parity, every beat of that parity is an off-beat and is dropped. At the true beat level,
/// classes 0–3 are bar positions (or rotate through them in 3/4), and the backbeat, the
/// chords on 2 and 3 of a waltz, or a kick on every beat keep both parities strong. Accent =
/// broadband onset plus, when given, the low band (kick, bass) at each beat. Not applied
/// when half the tempo would fall below `min_half_bpm`.
fn half_tempo_check(
    env: &[f32],
    bass: Option<&[f32]>,
    beats: &mut Vec<usize>,
    fr: f64,
    min_half_bpm: f64,
) {
    if beats.len() < 16 {
        return;
    }
    let mut ibis: Vec<usize> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibis.sort_unstable();
    let ibi = ibis[ibis.len() / 2].max(1) as f64;
    if 60.0 * fr / (2.0 * ibi) < min_half_bpm {
        return;
    }
    let mut sum = [0.0f32; 4];
    let mut count = [0usize; 4];
    for (i, &b) in beats.iter().enumerate() {
        let a = local_max(env, b, 1) + bass.map_or(0.0, |bs| local_max(bs, b, 1));
        sum[i % 4] += a;
        count[i % 4] += 1;
    }
    let c: Vec<f32> = (0..4).map(|k| sum[k] / count[k].max(1) as f32).collect();
    for p in 0..2 {
        let on = c[p].min(c[p + 2]);
        let off = c[1 - p].max(c[3 - p]);
        tracing::debug!(
            "half-tempo check: parity {p}, on {on:.3}, off {off:.3}, ratio {:.3}",
            off / on.max(1e-9)
        );
        if on > 0.0 && off < HALF_TEMPO_SWITCH * on {
            let kept: Vec<usize> = beats.iter().skip(p).step_by(2).copied().collect();
            *beats = kept;
            return;
        }
    }
}

/// Factor by which the onset envelope's autocorrelation at 1.5 beats must exceed the one at
/// one beat for [`dotted_beats`] to re-track at the dotted level (the two jigs of the metre
/// benchmark that need it: 1.06 and 1.23; the highest ratio of a song left alone: 0.98).
const DOTTED_SWITCH: f32 = 1.05;

/// 3:2 check for compound metre tracked at the wrong level: in a jig whose eighths all sound,
/// the tracker can lock on every second eighth (a quarter note, 1.5× the dotted-quarter
/// tempo). The accents of compound metre repeat every three eighths, those of simple metre
/// every two, so where the beats divide in two and the envelope's autocorrelation at 1.5
/// beats out-weighs the one at one beat by [`DOTTED_SWITCH`], the song is tracked again with
/// 1.5× the period; the new beats are kept only when they divide in three
/// ([`beat_division`]). The periodicity cue is the one tempo estimators compare across
/// metrical levels (Gouyon & Herrera 2003); here it is asked one question, 2 or 3 eighths.
fn dotted_beats(
    env: &[f32],
    period: &[f32],
    beats: &[usize],
    bcfg: &BeatConfig,
) -> Option<Vec<usize>> {
    if beats.len() < 8 || beat_division(env, beats) != 2 {
        return None;
    }
    let mut ibis: Vec<usize> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibis.sort_unstable();
    let t = ibis[ibis.len() / 2] as f64;
    let max_lag = (2.0 * t).ceil() as usize + 2;
    let mut ac = Vec::new();
    autocorr(env, max_lag, &mut ac);
    let (one, dotted) = (interp(&ac, t), interp(&ac, 1.5 * t));
    tracing::debug!("dotted check: ac(beat) {one:.3}, ac(1.5 beats) {dotted:.3}");
    if !(one > 0.0 && dotted > DOTTED_SWITCH * one) {
        return None;
    }
    let slower: Vec<f32> = period.iter().map(|p| 1.5 * p).collect();
    let mut again = dp_beats(env, &slower, bcfg.tightness);
    if bcfg.trim {
        trim_beats(env, &slower, &mut again);
    }
    (beat_division(env, &again) == 3).then_some(again)
}

/// Factor by which the onsets one and two thirds into the beats must out-weigh the onsets
/// halfway for [`beat_division`] to call the division ternary.
const TERNARY_SWITCH: f32 = 1.5;

/// Share of the on-beat onsets that each third point must reach for [`beat_division`].
const TERNARY_SHARE: f32 = 0.2;

/// How the tracked beats divide: 3 when the onsets at one *and* two thirds of each interval
/// are stronger than the onset at its middle by [`TERNARY_SWITCH`] (compound metre: the beats
/// are dotted quarters of 6/8 or 12/8, the eighths its triplet subdivision), otherwise 2.
/// Swing (only the two-thirds point strong) stays binary. Metre from the subdivision, after
/// Gainza 2009 (beat-level similarity of the onset pattern) in its simplest form.
pub fn beat_division(onset: &[f32], beat_frames: &[usize]) -> usize {
    if beat_frames.len() < 8 {
        return 2;
    }
    let (mut on, mut half, mut third, mut two_thirds) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for w in beat_frames.windows(2) {
        let d = (w[1] - w[0]) as f32;
        let at = |f: f32| w[0] + (d * f).round() as usize;
        on += local_max(onset, w[0], 1);
        half += local_max(onset, at(0.5), 1);
        third += local_max(onset, at(1.0 / 3.0), 1);
        two_thirds += local_max(onset, at(2.0 / 3.0), 1);
    }
    tracing::debug!("beat division: on {on:.2}, half {half:.2}, thirds {third:.2} {two_thirds:.2}");
    if third.min(two_thirds) > TERNARY_SWITCH * half && third.min(two_thirds) > TERNARY_SHARE * on {
        3
    } else {
        2
    }
}

/// Third-beat phase check for compound metre ([`beat_division`] = 3): in a jig the chords
/// on the third eighth of each group can pull the tracker a third of a beat early or late,
/// at the right tempo. As in [`kick_phase`], the beat is where the kick and the bass are: the
/// low-band onset mass at the beats and at one and two thirds into each interval is compared,
/// and the beats move to the third that out-weighs them by [`KICK_PHASE_SWITCH`].
fn ternary_kick_phase(bass: &[f32], beats: &mut [usize]) {
    if beats.len() < 8 {
        return;
    }
    let mut mass = [0.0f32; 3];
    for w in beats.windows(2) {
        let d = (w[1] - w[0]) as f32;
        for (k, m) in mass.iter_mut().enumerate() {
            *m += local_max(bass, w[0] + (d * k as f32 / 3.0).round() as usize, 1);
        }
    }
    let k = if mass[1] >= mass[2] { 1 } else { 2 };
    if mass[0] > 0.0 && mass[k] > KICK_PHASE_SWITCH * mass[0] {
        let len = bass.len();
        shift_beats(beats, len, |d| (d as f32 * k as f32 / 3.0).round() as usize);
    }
}

/// Moves every beat forward by `by(interval)` frames, the interval being the one to the next
/// beat (the previous one for the last beat); positions are clamped to the envelope of `len`
/// frames. Needs at least two beats.
fn shift_beats(beats: &mut [usize], len: usize, by: impl Fn(usize) -> usize) {
    let last = len.saturating_sub(1);
    let shifted: Vec<usize> = (0..beats.len())
        .map(|i| {
            let d = if i + 1 < beats.len() {
                beats[i + 1] - beats[i]
            } else {
                beats[i] - beats[i - 1]
            };
            (beats[i] + by(d)).min(last)
        })
        .collect();
    beats.copy_from_slice(&shifted);
}

/// Swing / long–short phase check. A beat starts the *long* interval of a long–short
/// (trochaic) pattern: in swing the off-beat eighth falls at 2/3 of the beat. When the tracker
/// has locked onto the accented swung off-beats, the onset strength one third of an interval
/// after each beat is high and two thirds after is low; the beats are then moved forward by a
/// third of their interval.
fn swing_phase(env: &[f32], beats: &mut [usize]) {
    if beats.len() < 8 {
        return;
    }
    let (mut s0, mut s1, mut s2) = (0.0f32, 0.0f32, 0.0f32);
    for w in beats.windows(2) {
        let d = (w[1] - w[0]) as f32;
        s0 += local_max(env, w[0], 1);
        s1 += local_max(env, w[0] + (d / 3.0).round() as usize, 1);
        s2 += local_max(env, w[0] + (2.0 * d / 3.0).round() as usize, 1);
    }
    if s1 > 0.4 * s0 && s1 > 2.0 * s2 {
        shift_beats(beats, env.len(), |d| (d as f32 / 3.0).round() as usize);
    }
}

pub(crate) fn local_max(env: &[f32], at: usize, radius: usize) -> f32 {
    let a = at.saturating_sub(radius);
    let b = (at + radius + 1).min(env.len());
    env[a..b].iter().copied().fold(0.0, f32::max)
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |a, (i, &x)| if x > a.1 { (i, x) } else { a },
        )
        .0
}

fn interp(v: &[f32], x: f64) -> f32 {
    let i = x.floor() as usize;
    if i + 1 >= v.len() {
        return v.last().copied().unwrap_or(0.0);
    }
    let f = (x - i as f64) as f32;
    v[i] * (1.0 - f) + v[i + 1] * f
}

/// Ellis's dynamic programme with a per-frame period: `C(t) = L(t) + max_τ [C(t−τ) −
/// tightness · ln²(τ / P(t))]`, τ ∈ [P/2, 2P], `L` = onset envelope smoothed by a Gaussian of
/// width P/32 (librosa's local score); the path is read back from the best final beat.
fn dp_beats(env: &[f32], period: &[f32], tightness: f64) -> Vec<usize> {
    let n = env.len();
    if n == 0 {
        return Vec::new();
    }
    let local = local_score(env, period);
    let mut cum = vec![0.0f64; n];
    let mut back: Vec<Option<usize>> = vec![None; n];
    let lmax = local.iter().copied().fold(0.0f32, f32::max);
    let mut started = false;
    for t in 0..n {
        let p = f64::from(period[t]).max(2.0);
        let lo = (p / 2.0).round() as usize;
        let hi = (2.0 * p).round() as usize;
        let mut best = f64::NEG_INFINITY;
        let mut arg = None;
        if t >= lo {
            for tau in lo..=hi.min(t) {
                let prev = t - tau;
                let r = (tau as f64 / p).ln();
                let v = cum[prev] - tightness * r * r;
                if v > best {
                    best = v;
                    arg = Some(prev);
                }
            }
        }
        // librosa: before the first strong onset there is no predecessor
        if !started && local[t] > 0.01 * lmax {
            started = true;
        }
        if started && arg.is_some() && best > 0.0 {
            cum[t] = f64::from(local[t]) + best;
            back[t] = arg;
        } else {
            cum[t] = f64::from(local[t]);
        }
    }
    let Some(mut t) = last_beat(&cum) else {
        return Vec::new();
    };
    let mut beats = vec![t];
    while let Some(prev) = back[t] {
        beats.push(prev);
        t = prev;
    }
    beats.reverse();
    beats
}

/// Ellis's local score: the onset envelope smoothed by a Gaussian of width P/32 with the
/// median period P (as librosa). `env` must not be empty.
fn local_score(env: &[f32], period: &[f32]) -> Vec<f32> {
    let n = env.len();
    let mut ps = period.to_vec();
    ps.sort_by(f32::total_cmp);
    let p_med = f64::from(ps[ps.len() / 2]).max(2.0);
    let half = p_med.round() as isize;
    let kernel: Vec<f32> = (-half..=half)
        .map(|k| (-0.5 * (k as f64 * 32.0 / p_med).powi(2)).exp() as f32)
        .collect();
    (0..n as isize)
        .map(|t| {
            kernel
                .iter()
                .enumerate()
                .map(|(j, w)| {
                    let idx = t + j as isize - half;
                    if idx >= 0 && (idx as usize) < n {
                        env[idx as usize] * w
                    } else {
                        0.0
                    }
                })
                .sum()
        })
        .collect()
}

/// The last beat of the path: the last local maximum of `cum` that reaches half the median of
/// the maxima; `None` without a local maximum.
fn last_beat(cum: &[f64]) -> Option<usize> {
    let n = cum.len();
    let mut maxima: Vec<(usize, f64)> = Vec::new();
    for t in 1..n.saturating_sub(1) {
        if cum[t] > cum[t - 1] && cum[t] >= cum[t + 1] {
            maxima.push((t, cum[t]));
        }
    }
    if maxima.is_empty() {
        return None;
    }
    let mut vals: Vec<f64> = maxima.iter().map(|m| m.1).collect();
    vals.sort_by(f64::total_cmp);
    let thr = 0.5 * vals[vals.len() / 2];
    let t = maxima
        .iter()
        .rev()
        .find(|m| m.1 >= thr)
        .map_or(maxima[maxima.len() - 1].0, |m| m.0);
    Some(t)
}

/// Drops leading and trailing beats whose smoothed onset strength is below half the RMS of the
/// beats' onset strength (librosa `__trim_beats`).
fn trim_beats(env: &[f32], period: &[f32], beats: &mut Vec<usize>) {
    if beats.is_empty() {
        return;
    }
    let strength: Vec<f32> = beats
        .iter()
        .map(|&b| {
            let r = (period[b] / 16.0).round().max(1.0) as usize;
            local_max(env, b, r)
        })
        .collect();
    let rms = (strength.iter().map(|s| s * s).sum::<f32>() / strength.len() as f32).sqrt();
    let thr = 0.5 * rms;
    let first = strength.iter().position(|&s| s >= thr).unwrap_or(0);
    let last = strength
        .iter()
        .rposition(|&s| s >= thr)
        .unwrap_or(beats.len() - 1);
    if first <= last {
        beats.truncate(last + 1);
        beats.drain(..first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bass note held for a second and a kick of three frames, both in the low bands: the
    /// kick stands out of the envelope, the held note only at its first frames.
    #[test]
    fn the_kick_envelope_keeps_kicks_not_held_notes() {
        let cfg = AnalysisConfig::default();
        let (rows, cols) = (200, 128);
        let mut m = FrameMatrix::zeros(rows, cols);
        m.data.iter_mut().for_each(|v| *v = -80.0);
        let low = low_bands(cols, &cfg);
        assert!((2..20).contains(&low), "{low}");
        for b in 0..low {
            for t in 50..93 {
                m.data[t * cols + b] = -20.0; // held bass
            }
            for t in 150..153 {
                m.data[t * cols + b] = -20.0; // kick
            }
        }
        let k = kick_envelope(&m, &cfg);
        assert_eq!(k.len(), rows);
        assert!(k[151] > 50.0, "{}", k[151]);
        assert!(k[70] < 1.0, "{}", k[70]);
        assert!(k[120] < 1.0 && k[10] < 1.0);
    }

    #[test]
    fn a_jig_tracked_every_second_eighth_is_tracked_again_at_the_dotted_quarter() {
        // 6/8 at 100 dotted quarters a minute: every eighth sounds, the first of each three
        // accented, every third frame group ringing on. Beats on every second eighth (the 3:2
        // reading, 150 BPM) are replaced by beats every three eighths.
        let fr = 22_050.0 / 512.0;
        let eighth = 60.0 / 300.0 * fr; // frames
        let n = (30.0 * fr) as usize;
        let mut env = vec![0.05f32; n];
        let mut k = 0usize;
        while (k as f64 * eighth) < (n - 2) as f64 {
            let f = (k as f64 * eighth).round() as usize;
            let v = if k.is_multiple_of(3) { 1.0 } else { 0.45 };
            env[f] = v;
            env[f + 1] = 0.5 * v;
            k += 1;
        }
        let quarter = 2.0 * eighth;
        let wrong: Vec<usize> = (0..)
            .map(|i| (f64::from(i) * quarter).round() as usize)
            .take_while(|&f| f < n)
            .collect();
        let period = vec![quarter as f32; n];
        let again =
            dotted_beats(&env, &period, &wrong, &BeatConfig::default()).expect("re-tracked");
        let ibis: Vec<usize> = again.windows(2).map(|w| w[1] - w[0]).collect();
        let mut sorted = ibis.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2] as f64;
        assert!(
            (median - 3.0 * eighth).abs() <= 1.0,
            "{median} vs {}",
            3.0 * eighth
        );
        assert_eq!(beat_division(&env, &again), 3);
        // simple metre (accents every two eighths) is left alone
        let mut simple = vec![0.05f32; n];
        for k in 0.. {
            let f = (f64::from(k) * eighth).round() as usize;
            if f + 1 >= n {
                break;
            }
            simple[f] = if k % 2 == 0 { 1.0 } else { 0.45 };
        }
        assert_eq!(
            dotted_beats(&simple, &period, &wrong, &BeatConfig::default()),
            None
        );
    }

    /// Onset envelope of clicks at `bpm` with an optional tempo ramp.
    fn clicks(secs: f64, bpm_at: impl Fn(f64) -> f64) -> (Vec<f32>, Vec<f64>) {
        let cfg = AnalysisConfig::default();
        let fr = 22_050.0 / 512.0;
        let n = (secs * fr) as usize;
        let mut env = vec![0.05f32; n];
        let mut truth = Vec::new();
        let mut t = 0.5;
        while t < secs - 0.1 {
            let f = cfg.time_frame(t);
            if f < n {
                env[f] = 1.0;
                truth.push(t);
            }
            t += 60.0 / bpm_at(t);
        }
        (env, truth)
    }

    fn f_measure(est: &[f64], truth: &[f64]) -> f64 {
        let mut used = vec![false; est.len()];
        let mut hits = 0;
        for &g in truth {
            if let Some(i) = (0..est.len()).find(|&i| !used[i] && (est[i] - g).abs() <= 0.07) {
                used[i] = true;
                hits += 1;
            }
        }
        let p = hits as f64 / est.len().max(1) as f64;
        let r = hits as f64 / truth.len().max(1) as f64;
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    #[test]
    fn steady_clicks_are_tracked_at_their_tempo() {
        for bpm in [90.0, 120.0, 140.0] {
            let (env, truth) = clicks(30.0, |_| bpm);
            let bt = track_beats(&env, &AnalysisConfig::default(), &BeatConfig::default());
            assert!(
                (bt.tempo_bpm - bpm).abs() < 3.0,
                "{bpm}: got {}",
                bt.tempo_bpm
            );
            assert!(f_measure(&bt.beat_times, &truth) > 0.95, "{bpm}");
        }
    }

    #[test]
    fn a_tempo_ramp_is_followed() {
        // 120 → 150 BPM over 10 s, as in OpenMSX "midnight snow run"
        let bpm = |t: f64| 120.0 + 30.0 * ((t - 15.0) / 10.0).clamp(0.0, 1.0);
        let (env, truth) = clicks(45.0, bpm);
        let bt = track_beats(&env, &AnalysisConfig::default(), &BeatConfig::default());
        let f = f_measure(&bt.beat_times, &truth);
        assert!(f > 0.9, "F = {f}");
    }

    #[test]
    fn the_kick_fixes_the_phase_against_louder_off_beat_hi_hats() {
        let cfg = AnalysisConfig::default();
        let fr = 22_050.0 / 512.0;
        let (secs, bpm) = (30.0, 128.0);
        let n = (secs * fr) as usize;
        let (mut env, mut bass) = (vec![0.05f32; n], vec![0.05f32; n]);
        let mut truth = Vec::new();
        let mut t = 0.5;
        while t < secs - 0.5 {
            let (on, off) = (cfg.time_frame(t), cfg.time_frame(t + 30.0 / bpm));
            env[on] = 0.6; // kick: quieter in the broadband envelope
            env[off] = 1.0; // off-beat hi-hat
            bass[on] = 1.0;
            truth.push(t);
            t += 60.0 / bpm;
        }
        let bt = track_beats_with_bass(&env, Some(&bass), &cfg, &BeatConfig::default());
        let f = f_measure(&bt.beat_times, &truth);
        assert!(f > 0.9, "F = {f}");
    }

    #[test]
    fn silence_and_short_input_give_no_beats() {
        let cfg = AnalysisConfig::default();
        assert!(
            track_beats(&[0.0; 1000], &cfg, &BeatConfig::default())
                .beat_frames
                .is_empty()
        );
        assert!(
            track_beats(&[1.0; 10], &cfg, &BeatConfig::default())
                .beat_frames
                .is_empty()
        );
        assert!(
            track_beats(&[], &cfg, &BeatConfig::default())
                .beat_frames
                .is_empty()
        );
    }
}
