//! Dance beats, phrase cutting and phrase features.
//!
//! **Dance beats** follow the kinematic-beat rule of Duan et al. 2020 (supplementary): with
//! `V_t` the mean over joints of the world velocity magnitude (lightly smoothed) and `A_t`
//! the mean over joints of the world acceleration magnitude, frame `t` is a beat candidate
//! when `V_t < T_V` and `A_t > T_A`, with `T_V = E(V) − 0.5·σ(V)` and `T_A = T_V / √3`;
//! non-maximum suppression keeps the slowest candidate within a 0.4 s window (±0.2 s).
//! The rule compares a speed threshold with an acceleration threshold, which only makes
//! sense in commensurate units, so `V` and `A` are each divided by their clip mean first
//! (dimensionless, independent of units, body size and frame rate); candidates must also be
//! local speed minima. The clip is analysed at 30 fps (resampled), σ = 1 frame of smoothing,
//! and each beat is then refined to the slowest native frame within ±1 analysis frame.
//!
//! **Beat grid.** Real mocap (the CMU salsa) has many shallow speed minima, so the raw beats
//! are irregular (inter-beat-interval CV ≈ 0.5–0.9). Phrases and time-warping need a regular
//! pulse, so a beat grid is tracked as in Ellis 2007 ("Beat tracking by dynamic
//! programming"): the strength `o_t = max(0, T_V − V_t)` (gated by `A_t > T_A`, i.e. the
//! Duan rule as a soft score) is autocorrelated to find the period (60–180 BPM, log-Gaussian
//! prior around 110 BPM, σ = 1 octave), then dynamic programming picks beats that sit on
//! strong moments while keeping that period (tightness 100). The grid is what phrases are cut
//! on; [`BeatAnalysis::times`] keeps the raw Duan beats for metrics.
//!
//! **Phrases** are runs of 4–16 consecutive grid beats, preferably 8: beats are split into
//! runs wherever an inter-beat interval exceeds 1.8× the median (a pause or a lost beat),
//! each run is cut greedily into 8-beat phrases and the remainder becomes a phrase of its own
//! (≥ 4 beats) or is merged into the previous one (≤ 16 beats in total).

use super::clip::{Clip, gaussian_smooth, median};
use super::quat::Vec3;
use super::skeleton::{JOINT_COUNT, WorldPose};
use serde::{Deserialize, Serialize};

/// Gaussian smoothing of the joint speed before kinematic beats: 5 frames at 60 fps (s).
pub const KINEMATIC_SMOOTH_S: f64 = 5.0 / 60.0;
/// Frame rate kinematic beats are found at (Bailando's and AIST++'s 60 fps).
pub const BAS_FPS: f64 = 60.0;

/// Kinematic beats of `world` (frames at `fps`) as Bailando finds them (`calc_db` of its
/// `utils/beat_align_score.py`; see [`super::metrics`]): the mean over joints of the
/// per-frame displacement, Gaussian-smoothed with σ = [`KINEMATIC_SMOOTH_S`], and every strict
/// local minimum (never the first or last value), in seconds from the first frame. Lives
/// here, beside the Duan dance beats, so the library index can store a phrase's kinematic
/// beats ([`super::index::PhraseEntry::kinematic_beats`]).
pub fn kinematic_beats(world: &[WorldPose], fps: f64) -> Vec<f64> {
    if world.len() < 4 || fps <= 0.0 {
        return Vec::new();
    }
    let speed = step_speed(world);
    let v = gaussian_smooth(&speed, KINEMATIC_SMOOTH_S * fps);
    (1..v.len().saturating_sub(1))
        .filter(|&k| v[k] < v[k - 1] && v[k] < v[k + 1])
        .map(|k| k as f64 / fps)
        .collect()
}

/// Parameters of [`dance_beats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeatConfig {
    /// Analysis frame rate (frames per second).
    pub analysis_fps: f64,
    /// Gaussian smoothing of `V` and `A`, σ in seconds ("light smoothing").
    pub smooth_s: f64,
    /// `T_V = E(V) − k·σ(V)`.
    pub k_sigma: f64,
    /// `T_A = T_V / a_div`.
    pub a_div: f64,
    /// Non-maximum-suppression window (s); beats are at least half of it apart.
    pub nms_window_s: f64,
    /// Slowest grid tempo considered (BPM).
    pub min_bpm: f64,
    /// Fastest grid tempo considered (BPM).
    pub max_bpm: f64,
    /// Centre of the log-Gaussian tempo prior (BPM).
    pub prior_bpm: f64,
    /// Ellis's tightness: how strongly the grid keeps its period.
    pub tightness: f64,
}

impl Default for BeatConfig {
    fn default() -> Self {
        BeatConfig {
            analysis_fps: 30.0,
            smooth_s: 1.0 / 30.0,
            k_sigma: 0.5,
            a_div: 3f64.sqrt(),
            nms_window_s: 0.4,
            min_bpm: 60.0,
            max_bpm: 180.0,
            prior_bpm: 110.0,
            tightness: 100.0,
        }
    }
}

/// Result of [`dance_beats`].
#[derive(Clone, Debug, PartialEq)]
pub struct BeatAnalysis {
    /// Beat times in seconds from the clip's first frame.
    pub times: Vec<f64>,
    /// The same beats as native frame indices.
    pub frames: Vec<usize>,
    /// Regular beat grid (s), see the module docs.
    pub grid: Vec<f64>,
    /// Tempo of the grid (BPM); 0 when none was found.
    pub grid_bpm: f64,
    /// `V_t` at the analysis rate, divided by its mean.
    pub speed: Vec<f64>,
    /// `A_t` at the analysis rate, divided by its mean.
    pub accel: Vec<f64>,
    /// Speed threshold `T_V`.
    pub t_v: f64,
    /// Acceleration threshold `T_A`.
    pub t_a: f64,
}

/// Mean joint displacement from each frame to the next (units per frame, forward
/// differences; one entry fewer than frames): the speed curve of Bailando's kinematic beats.
pub fn step_speed(world: &[WorldPose]) -> Vec<f64> {
    world
        .windows(2)
        .map(|w| {
            (0..JOINT_COUNT)
                .map(|j| (w[1].pos[j] - w[0].pos[j]).length())
                .sum::<f64>()
                / JOINT_COUNT as f64
        })
        .collect()
}

/// Mean joint speed per frame from world positions (units per frame, central differences).
pub fn joint_speed(world: &[WorldPose]) -> Vec<f64> {
    let n = world.len();
    (0..n)
        .map(|i| {
            if n < 2 {
                return 0.0;
            }
            let (a, b, h) = if i == 0 {
                (0, 1, 1.0)
            } else if i == n - 1 {
                (n - 2, n - 1, 1.0)
            } else {
                (i - 1, i + 1, 0.5)
            };
            (0..JOINT_COUNT)
                .map(|j| (world[b].pos[j] - world[a].pos[j]).length() * h)
                .sum::<f64>()
                / JOINT_COUNT as f64
        })
        .collect()
}

/// Mean joint acceleration magnitude per frame (units per frame², second differences).
pub fn joint_accel(world: &[WorldPose]) -> Vec<f64> {
    let n = world.len();
    (0..n)
        .map(|i| {
            if n < 3 {
                return 0.0;
            }
            let k = i.clamp(1, n - 2);
            (0..JOINT_COUNT)
                .map(|j| {
                    (world[k + 1].pos[j] - world[k].pos[j] * 2.0 + world[k - 1].pos[j]).length()
                })
                .sum::<f64>()
                / JOINT_COUNT as f64
        })
        .collect()
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / x.len() as f64;
    (m, v.sqrt())
}

/// Divides a non-negative signal by its mean (a zero signal stays zero).
fn normalise(mut x: Vec<f64>) -> Vec<f64> {
    let m = mean_std(&x).0;
    if m > 1e-12 {
        for v in &mut x {
            *v /= m;
        }
    }
    x
}

/// Detects dance beats (see the module docs).
pub fn dance_beats(clip: &Clip, cfg: &BeatConfig) -> BeatAnalysis {
    let empty = BeatAnalysis {
        times: Vec::new(),
        frames: Vec::new(),
        grid: Vec::new(),
        grid_bpm: 0.0,
        speed: Vec::new(),
        accel: Vec::new(),
        t_v: 0.0,
        t_a: 0.0,
    };
    if clip.len() < 3 || clip.fps <= 0.0 || cfg.analysis_fps <= 0.0 {
        return empty;
    }
    let rs = clip.resample(cfg.analysis_fps);
    let world = rs.world();
    let sigma = cfg.smooth_s * cfg.analysis_fps;
    let speed = normalise(gaussian_smooth(&joint_speed(&world), sigma));
    let accel = normalise(gaussian_smooth(&joint_accel(&world), sigma));
    let (m, s) = mean_std(&speed);
    let t_v = m - cfg.k_sigma * s;
    let t_a = t_v / cfg.a_div;
    // candidates: below the speed threshold, above the acceleration threshold, and a local
    // speed minimum (the slowest frame of its neighbourhood).
    let mut cand: Vec<usize> = (1..speed.len().saturating_sub(1))
        .filter(|&i| speed[i] < t_v && accel[i] > t_a)
        .filter(|&i| speed[i] <= speed[i - 1] && speed[i] <= speed[i + 1])
        .collect();
    // non-maximum suppression: slowest first, drop candidates within half a window
    cand.sort_by(|&a, &b| speed[a].total_cmp(&speed[b]).then(a.cmp(&b)));
    let half = cfg.nms_window_s * 0.5 * cfg.analysis_fps;
    let mut kept: Vec<usize> = Vec::new();
    for c in cand {
        if kept.iter().all(|&k| (k as f64 - c as f64).abs() > half) {
            kept.push(c);
        }
    }
    kept.sort_unstable();
    // refine to native frames
    let native_world = clip.world();
    let native_speed = joint_speed(&native_world);
    let ratio = clip.fps / cfg.analysis_fps;
    let refine = |k: usize| -> usize {
        let centre = k as f64 * ratio;
        let lo = (centre - ratio).floor().max(0.0) as usize;
        let hi = ((centre + ratio).ceil() as usize).min(clip.len() - 1);
        (lo..=hi)
            .min_by(|&a, &b| native_speed[a].total_cmp(&native_speed[b]))
            .unwrap_or(centre.round() as usize)
    };
    let mut frames: Vec<usize> = kept.iter().map(|&k| refine(k)).collect();
    frames.dedup();
    let times = frames.iter().map(|&f| f as f64 / clip.fps).collect();
    // beat grid
    let strength: Vec<f64> = speed
        .iter()
        .zip(&accel)
        .map(|(&v, &a)| if a > t_a { (t_v - v).max(0.0) } else { 0.0 })
        .collect();
    let (grid_frames, period) = track_grid(&strength, cfg);
    let mut grid_native: Vec<usize> = grid_frames.iter().map(|&k| refine(k)).collect();
    grid_native.dedup();
    let grid = grid_native.iter().map(|&f| f as f64 / clip.fps).collect();
    let grid_bpm = if period > 0.0 {
        60.0 * cfg.analysis_fps / period
    } else {
        0.0
    };
    BeatAnalysis {
        times,
        frames,
        grid,
        grid_bpm,
        speed,
        accel,
        t_v,
        t_a,
    }
}

/// Ellis-2007 dynamic-programming beat tracking on a strength envelope (analysis frames).
/// Returns the beat frames and the period in frames (0 when nothing was found).
fn track_grid(strength: &[f64], cfg: &BeatConfig) -> (Vec<usize>, f64) {
    let n = strength.len();
    let fps = cfg.analysis_fps;
    let (m, s) = mean_std(strength);
    if n < 8 || s <= 1e-12 {
        return (Vec::new(), 0.0);
    }
    let o: Vec<f64> = strength.iter().map(|x| x / s).collect();
    let centred: Vec<f64> = strength.iter().map(|x| (x - m) / s).collect();
    // tempo: autocorrelation weighted by a log-Gaussian prior
    let lag_min = ((60.0 / cfg.max_bpm) * fps).floor().max(2.0) as usize;
    let lag_max = (((60.0 / cfg.min_bpm) * fps).ceil() as usize).min(n / 2);
    if lag_min >= lag_max {
        return (Vec::new(), 0.0);
    }
    let prior_lag = 60.0 / cfg.prior_bpm * fps;
    let ac: Vec<f64> = (0..=lag_max + 1)
        .map(|lag| {
            if lag >= n {
                return 0.0;
            }
            (0..n - lag)
                .map(|i| centred[i] * centred[i + lag])
                .sum::<f64>()
                / (n - lag) as f64
        })
        .collect();
    // only autocorrelation peaks count (short lags are high merely because the envelope is
    // smooth); fall back to all lags when there is no peak
    let weighted = |lag: usize| ac[lag] * (-0.5 * ((lag as f64 / prior_lag).log2()).powi(2)).exp();
    let peaks: Vec<usize> = (lag_min.max(1)..=lag_max)
        .filter(|&l| ac[l] > ac[l - 1] && ac[l] >= ac[l + 1])
        .collect();
    let pool: Vec<usize> = if peaks.is_empty() {
        (lag_min..=lag_max).collect()
    } else {
        peaks
    };
    let mut best = (0.0f64, f64::NEG_INFINITY);
    for lag in pool {
        let score = weighted(lag);
        if score > best.1 {
            best = (lag as f64, score);
        }
    }
    let period = best.0;
    if period <= 0.0 {
        return (Vec::new(), 0.0);
    }
    // dynamic programming
    let mut score = vec![0.0f64; n];
    let mut back = vec![usize::MAX; n];
    let lo_off = (period / 2.0).round().max(1.0) as usize;
    let hi_off = (period * 2.0).round() as usize;
    for t in 0..n {
        let mut best_prev = (usize::MAX, 0.0f64);
        if t >= lo_off {
            let start = t.saturating_sub(hi_off);
            for (tau, s) in score.iter().enumerate().take(t - lo_off + 1).skip(start) {
                let d = ((t - tau) as f64 / period).ln();
                let c = s - cfg.tightness * d * d;
                if best_prev.0 == usize::MAX || c > best_prev.1 {
                    best_prev = (tau, c);
                }
            }
        }
        if best_prev.0 != usize::MAX {
            score[t] = o[t] + best_prev.1;
            back[t] = best_prev.0;
        } else {
            score[t] = o[t];
        }
    }
    // end at the best score within the last period
    let tail = n.saturating_sub(period.ceil() as usize + 1);
    let mut t = (tail..n)
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .unwrap_or(n - 1);
    let mut beats = vec![t];
    while back[t] != usize::MAX {
        t = back[t];
        beats.push(t);
    }
    beats.reverse();
    (beats, period)
}

/// Tempo in BPM from the median inter-beat interval; 0 with fewer than two beats.
pub fn tempo_bpm(beats: &[f64]) -> f64 {
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    let m = median(&mut ibi);
    if m > 0.0 { 60.0 / m } else { 0.0 }
}

/// Parameters of [`cut_phrases`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhraseConfig {
    /// Fewest beats in a phrase.
    pub min_beats: usize,
    /// Most beats in a phrase.
    pub max_beats: usize,
    /// Preferred beats per phrase.
    pub prefer_beats: usize,
    /// An inter-beat interval above this multiple of the median breaks a run.
    pub gap_factor: f64,
}

impl Default for PhraseConfig {
    fn default() -> Self {
        PhraseConfig {
            min_beats: 4,
            max_beats: 16,
            prefer_beats: 8,
            gap_factor: 1.8,
        }
    }
}

/// A phrase cut from a clip: beats `first_beat ..= first_beat + beats` of the beat list.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseCut {
    /// Index of the phrase's first beat in the clip's beat list.
    pub first_beat: usize,
    /// Number of beat intervals (the phrase spans `beats + 1` beat markers).
    pub beats: usize,
    /// Start time (s from the clip start) = its first beat.
    pub start: f64,
    /// End time (s) = its last beat marker.
    pub end: f64,
}

/// Cuts a beat list into phrases (see the module docs).
pub fn cut_phrases(beats: &[f64], cfg: &PhraseConfig) -> Vec<PhraseCut> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    if beats.len() < 2 || cfg.min_beats == 0 {
        return Vec::new();
    }
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    let med = median(&mut ibi);
    // runs of beat indices [a, b] with regular spacing
    let mut runs = Vec::new();
    let mut a = 0;
    for i in 1..beats.len() {
        if beats[i] - beats[i - 1] > cfg.gap_factor * med {
            runs.push((a, i - 1));
            a = i;
        }
    }
    runs.push((a, beats.len() - 1));
    let prefer = cfg
        .prefer_beats
        .clamp(cfg.min_beats, cfg.max_beats.max(cfg.min_beats));
    for (a, b) in runs {
        let intervals = b - a;
        let mut i = a;
        let mut left = intervals;
        let run_start = out.len();
        while left >= prefer {
            out.push((i, prefer));
            i += prefer;
            left -= prefer;
        }
        if left >= cfg.min_beats {
            out.push((i, left));
        } else if left > 0
            && out.len() > run_start
            && let Some(last) = out.last_mut()
            && last.1 + left <= cfg.max_beats
        {
            last.1 += left;
        }
    }
    out.into_iter()
        .map(|(first, n)| PhraseCut {
            first_beat: first,
            beats: n,
            start: beats[first],
            end: beats[first + n],
        })
        .collect()
}

/// Motion features of a phrase for a cold-start ranker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhraseFeatures {
    /// Mean over frames of the mean joint speed (m/s).
    pub mean_speed: f64,
    /// Mean over frames and joints of ½|v|² (J/kg, m²/s²).
    pub energy: f64,
    /// Dance beats per second.
    pub beat_density: f64,
    /// Range of hips height (m).
    pub height_range: f64,
    /// Horizontal root travel per second (m/s).
    pub travel: f64,
    /// Absolute heading change per second (rad/s).
    pub turn_rate: f64,
    /// Mean height of the hands above the hips (m): arms up > 0.
    pub hands_height: f64,
}

/// Kinetic energy per unit mass of `world` (frames at `fps`): the mean over frame steps and
/// joints of ½|v|² (m²/s², forward differences); 0 for fewer than two frames.
pub fn kinetic_energy(world: &[WorldPose], fps: f64) -> f64 {
    let n = world.len();
    if n < 2 || fps <= 0.0 {
        return 0.0;
    }
    let mut energy = 0.0;
    for i in 1..n {
        for j in 0..JOINT_COUNT {
            let v = (world[i].pos[j] - world[i - 1].pos[j]) * fps;
            energy += 0.5 * v.dot(v);
        }
    }
    energy / ((n - 1) * JOINT_COUNT) as f64
}

/// Computes [`PhraseFeatures`] over `world` (a phrase's frames at `fps`).
pub fn phrase_features(world: &[WorldPose], fps: f64, n_beats: usize) -> PhraseFeatures {
    let n = world.len();
    if n < 2 || fps <= 0.0 {
        return PhraseFeatures::default();
    }
    let dur = (n - 1) as f64 / fps;
    let speed = joint_speed(world);
    let mean_speed = speed.iter().sum::<f64>() / n as f64 * fps;
    let energy = kinetic_energy(world, fps);
    let hy: Vec<f64> = world.iter().map(|w| w.pos[0].y).collect();
    let height_range = hy.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - hy.iter().copied().fold(f64::INFINITY, f64::min);
    let travel = world
        .windows(2)
        .map(|w| (w[1].pos[0] - w[0].pos[0]).xz().length())
        .sum::<f64>()
        / dur;
    let turn_rate = world
        .windows(2)
        .map(|w| {
            super::quat::wrap_angle(
                super::skeleton::heading_of(w[1].rot[0]) - super::skeleton::heading_of(w[0].rot[0]),
            )
            .abs()
        })
        .sum::<f64>()
        / dur;
    let hands_height = world
        .iter()
        .map(|w| {
            let l = w.pos[super::skeleton::J::LHand.idx()];
            let r = w.pos[super::skeleton::J::RHand.idx()];
            (l.y + r.y) * 0.5 - w.pos[0].y
        })
        .sum::<f64>()
        / n as f64;
    PhraseFeatures {
        mean_speed,
        energy,
        beat_density: n_beats as f64 / dur,
        height_range,
        travel,
        turn_rate,
        hands_height,
    }
}

/// Positions of one joint over time (a helper for tests and metrics).
pub fn joint_track(world: &[WorldPose], j: usize) -> Vec<Vec3> {
    world.iter().map(|w| w.pos[j]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::quat::{Axis, Quat};
    use crate::motion::skeleton::{J, Pose};
    use approx::assert_abs_diff_eq;

    /// Arms swinging with an eased (cosine) profile: at rest exactly on each beat.
    fn eased_clip(bpm: f64, fps: f64, beats: usize) -> Clip {
        let period = 60.0 / bpm;
        let n = (beats as f64 * period * fps) as usize + 1;
        let poses = (0..n)
            .map(|i| {
                let t = i as f64 / fps;
                let k = (t / period).floor();
                let u = t / period - k;
                let ease = 0.5 - 0.5 * (std::f64::consts::PI * u).cos();
                let sign = if (k as i64) % 2 == 0 { 1.0 } else { -1.0 };
                let a = sign * (ease - 0.5) * 1.6;
                let mut p = Pose::rest();
                p.rot[J::LArm.idx()] = Quat::about(Axis::Z, -1.2 + a);
                p.rot[J::RArm.idx()] = Quat::about(Axis::Z, 1.2 - a);
                p.rot[J::Spine.idx()] = Quat::about(Axis::Y, a * 0.3);
                p.root.y -= 0.025 * (1.0 - (std::f64::consts::TAU * u).cos());
                p
            })
            .collect();
        Clip {
            name: "eased".into(),
            fps,
            poses,
        }
    }

    #[test]
    fn finds_beats_of_an_eased_move() {
        for fps in [30.0, 60.0] {
            let clip = eased_clip(100.0, fps, 16);
            let b = dance_beats(&clip, &BeatConfig::default());
            assert!(b.times.len() >= 13, "{} beats at {fps} fps", b.times.len());
            assert_abs_diff_eq!(tempo_bpm(&b.times), 100.0, epsilon = 4.0);
            assert_abs_diff_eq!(b.grid_bpm, 100.0, epsilon = 6.0);
            assert!(b.grid.len() >= 14, "{} grid beats", b.grid.len());
            for t in &b.grid {
                let phase = (t / 0.6).fract();
                let d = phase.min(1.0 - phase) * 0.6;
                assert!(d <= 1.5 / fps + 1e-9, "grid beat at {t} is {d} s off");
            }
            for t in &b.times {
                let phase = (t / 0.6).fract();
                let d = phase.min(1.0 - phase) * 0.6;
                assert!(d <= 1.5 / fps + 1e-9, "beat at {t} is {d} s off the grid");
            }
        }
    }

    #[test]
    fn cuts_phrases_of_eight_and_merges_remainders() {
        let beats: Vec<f64> = (0..=19).map(|i| i as f64 * 0.5).collect(); // 19 intervals
        let p = cut_phrases(&beats, &PhraseConfig::default());
        assert_eq!(p.iter().map(|c| c.beats).collect::<Vec<_>>(), vec![8, 11]);
        let mut beats: Vec<f64> = (0..=10).map(|i| i as f64 * 0.5).collect();
        beats.extend((0..=5).map(|i| 10.0 + i as f64 * 0.5)); // gap of 5 s
        let p = cut_phrases(&beats, &PhraseConfig::default());
        assert_eq!(p.iter().map(|c| c.beats).collect::<Vec<_>>(), vec![10, 5]);
        assert_abs_diff_eq!(p[1].start, 10.0);
        assert!(cut_phrases(&[0.0, 0.5, 1.0], &PhraseConfig::default()).is_empty());
    }

    #[test]
    fn features_are_physical() {
        let clip = eased_clip(120.0, 30.0, 8);
        let w = clip.world();
        let f = phrase_features(&w, 30.0, 8);
        assert!(f.mean_speed > 0.1 && f.mean_speed < 3.0, "{f:?}");
        assert_abs_diff_eq!(f.beat_density, 2.0, epsilon = 0.05);
        assert_abs_diff_eq!(f.height_range, 0.05, epsilon = 0.005);
        assert!(f.travel < 1e-9 && f.turn_rate < 1e-9);
    }
}
