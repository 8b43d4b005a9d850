//! Recorded takes (issue 18): finding where a motion-capture take sits in its song, and the
//! motion distance that matches a piece of the take against library phrases.
//!
//! **Offset.** A take is a recording danced to a known song; its clock starts whenever the
//! capture started. The offset `x` is the take time at which the song starts (song time `s`
//! is take time `s + x`; negative when the capture started after the music). It is found from
//! three cues, in the spirit of music-to-motion synchronisation by beats and envelopes
//! (e.g. Shiratori et al. 2006, "Dancing-to-Music Character Animation"):
//! 1. **beat fit** `B(x)`: the beat alignment score (AIST++/Bailando, σ = 50 ms) of the music
//!    beats against the take's kinematic beats shifted by `x` — the minima of the mean joint
//!    speed, kept only where the motion around them is clearly moving (prominence), refined
//!    to sub-frame times by a parabola. `B` is periodic in the beat period: it fixes the
//!    phase, not which beat;
//! 2. **envelope correlation** `C(x)`: Pearson correlation of the take's motion energy
//!    (mean joint speed) with the music's loudness envelope, both smoothed over 0.25 s, the
//!    music silent outside the song (a dancer still before the music, calmer over a break);
//! 3. **boundary fit**: the take's motion novelty (how much posture and joint speeds change
//!    from one second to the next, Foote-style) at the music's phrase boundaries — dancers
//!    change move where the music changes phrase.
//!
//! Every local maximum of `B` is a candidate; each cue is standardised over the candidates and
//! the best sum wins; the offset is refined to the median of (kinematic beat − music beat)
//! over the beats it pairs. The confidence says how far the winner stands above the best
//! candidate at least half a beat away.
//!
//! **Distance.** Two motions over the same music span are compared on the canonical skeleton
//! at the same music times (beat-relative samples, so both are already time-warped to the same
//! beats): joint positions relative to the hips in the hips' heading frame (where the dancer
//! stands and faces does not count), plus their velocities.

use super::MotionError;
use super::clip::{Clip, gaussian_smooth};
use super::quat::{Quat, Vec3};
use super::skeleton::{JOINT_COUNT, Pose, WorldPose};

/// Width of the beat fit's Gaussian (s): Bailando's σ (3 frames at 60 fps).
pub const BEAT_SIGMA_S: f64 = 0.05;
/// Rate of the envelopes compared in the coarse step (Hz).
pub const ENVELOPE_RATE: f64 = 50.0;
/// Smoothing of both envelopes before correlating (s).
const ENVELOPE_SMOOTH_S: f64 = 0.25;
/// Shortest overlap of take and song an offset may leave (s, or half the shorter of the two).
const MIN_OVERLAP_S: f64 = 8.0;
/// Step of the offset search (s).
const SEARCH_STEP_S: f64 = 0.005;
/// A kinematic beat counts when the speed around it rises this far above its minimum,
/// relative to the take's 90th-percentile speed (a still pose's jitter does not).
const PROMINENCE: f64 = 0.15;
/// Half-width of the novelty's comparison (s).
pub const NOVELTY_WINDOW_S: f64 = 1.0;
/// Weight of the loudness correlation's z-score (see [`rank_candidates`]).
const ENVELOPE_WEIGHT: f64 = 0.5;
/// A winner this far (in summed z-scores) above the best candidate half a beat or more away
/// counts as certain.
const CONFIDENT_MARGIN: f64 = 1.5;
/// Weight of velocities in [`motion_distance`] (s): 1 m/s counts like 10 cm.
pub const VELOCITY_WEIGHT_S: f64 = 0.1;

/// What is known of the music for alignment.
#[derive(Clone, Debug)]
pub struct MusicCues<'a> {
    /// Beat times (s).
    pub beats: &'a [f64],
    /// Loudness (any unit) at [`ENVELOPE_RATE`] from song time 0.
    pub envelope: &'a [f64],
    /// Song duration (s).
    pub duration: f64,
    /// Where the music phrases change (s): the starts of every phrase but the first.
    pub boundaries: &'a [f64],
}

/// What is known of the take for alignment ([`take_cues`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TakeCues {
    /// Kinematic beats (take time, s).
    pub beats: Vec<f64>,
    /// Motion energy (mean joint speed, m/s) at [`ENVELOPE_RATE`] from take time 0.
    pub envelope: Vec<f64>,
    /// Motion novelty at [`ENVELOPE_RATE`] from take time 0, as z-scores: how much the
    /// posture and joint speeds of the next [`NOVELTY_WINDOW_S`] differ from the last's.
    pub novelty: Vec<f64>,
    /// Take duration (s).
    pub duration: f64,
}

/// The offset found, and how sure it is.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OffsetEstimate {
    /// Take time at which the song starts (s).
    pub offset: f64,
    /// Beat fit `B` at the offset (0–1: share of the song's beats with a kinematic beat on
    /// them).
    pub beat_fit: f64,
    /// Envelope correlation `C` at the offset (−1…1).
    pub envelope_corr: f64,
    /// Mean motion novelty (z-score) at the music's phrase boundaries.
    pub boundary_fit: f64,
    /// 0–1: how far the winner's score lies above the best candidate at least half a beat
    /// away (1.5 summed z-scores or more counts as 1), times the beat fit.
    pub confidence: f64,
    /// Music beats the refinement paired with a kinematic beat.
    pub paired_beats: usize,
}

/// Mean joint speed (m/s) between consecutive frames; entry `k` belongs to take time
/// `(k + ½) / fps`.
pub fn speed_curve(world: &[WorldPose], fps: f64) -> Vec<f64> {
    super::beats::step_speed(world)
        .into_iter()
        .map(|v| v * fps)
        .collect()
}

/// The take's beats and motion envelope ([`TakeCues`]).
pub fn take_cues(clip: &Clip) -> TakeCues {
    let world = clip.world();
    let fps = clip.fps;
    let speed = speed_curve(&world, fps);
    let v = gaussian_smooth(&speed, super::metrics::KINEMATIC_SMOOTH_S * fps);
    let mut sorted = v.clone();
    let p90 = super::clip::percentile(&mut sorted, 90.0);
    let reach = (0.25 * fps).ceil().max(1.0) as usize;
    let mut beats = Vec::new();
    for k in 1..v.len().saturating_sub(1) {
        if !(v[k] < v[k - 1] && v[k] <= v[k + 1]) {
            continue;
        }
        let left = v[k.saturating_sub(reach)..k]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let right = v[k + 1..(k + 1 + reach).min(v.len())]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if left.min(right) - v[k] < PROMINENCE * p90 {
            continue;
        }
        // parabola through the three samples around the minimum
        let den = v[k - 1] - 2.0 * v[k] + v[k + 1];
        let shift = if den > 1e-12 {
            (0.5 * (v[k - 1] - v[k + 1]) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        beats.push((k as f64 + 0.5 + shift) / fps);
    }
    let duration = clip.duration();
    let n = (duration * ENVELOPE_RATE).floor() as usize + 1;
    let envelope = (0..n)
        .map(|i| {
            let t = i as f64 / ENVELOPE_RATE;
            let k = (t * fps - 0.5)
                .round()
                .clamp(0.0, (speed.len().max(1) - 1) as f64) as usize;
            speed.get(k).copied().unwrap_or(0.0)
        })
        .collect();
    let novelty = novelty_curve(clip, n);
    TakeCues {
        beats,
        envelope,
        novelty,
        duration,
    }
}

/// Motion novelty (see [`TakeCues::novelty`]): per sample at [`ENVELOPE_RATE`], the distance
/// between the mean [`PoseFeature`] and mean joint speed of the window before and the window
/// after (Foote's novelty idea on a motion feature; the move changes where a choreographer
/// changes phrase), as z-scores over the take.
fn novelty_curve(clip: &Clip, n: usize) -> Vec<f64> {
    let dt = 1.0 / ENVELOPE_RATE;
    let dims = 2 * JOINT_COUNT * 3;
    let mut feats: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut prev: Option<PoseFeature> = None;
    for i in 0..n {
        let f = pose_feature(&clip.sample(i as f64 * dt));
        let mut row = Vec::with_capacity(dims);
        for p in &f {
            row.extend(p.to_array());
        }
        for (j, p) in f.iter().enumerate() {
            // velocity magnitude per axis (m/s), scaled to count like 10 cm per 1 m/s
            let v = prev.map_or(Vec3::ZERO, |q| (*p - q[j]) * (1.0 / dt));
            row.extend([v.x.abs(), v.y.abs(), v.z.abs()].map(|x| x * VELOCITY_WEIGHT_S));
        }
        prev = Some(f);
        feats.push(row);
    }
    // prefix sums for window means
    let mut cum = vec![vec![0.0; dims]; n + 1];
    for (i, row) in feats.iter().enumerate() {
        let (done, rest) = cum.split_at_mut(i + 1);
        for ((next, prev), x) in rest[0].iter_mut().zip(&done[i]).zip(row) {
            *next = prev + x;
        }
    }
    let w = (NOVELTY_WINDOW_S * ENVELOPE_RATE).round().max(1.0) as usize;
    let mut nov: Vec<f64> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(w), (i + w).min(n));
            if i - a < w / 2 || b - i < w / 2 {
                return 0.0;
            }
            let (na, nb) = ((i - a) as f64, (b - i) as f64);
            (0..dims)
                .map(|d| {
                    let before = (cum[i][d] - cum[a][d]) / na;
                    let after = (cum[b][d] - cum[i][d]) / nb;
                    (after - before) * (after - before)
                })
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mean = nov.iter().sum::<f64>() / n.max(1) as f64;
    let var = nov.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n.max(1) as f64;
    let sd = var.sqrt().max(1e-9);
    for x in &mut nov {
        *x = (*x - mean) / sd;
    }
    nov
}

/// Boundary fit at `offset`: the mean novelty z-score at the music's phrase boundaries, a
/// boundary outside the take counting 0 (a placement that overlaps little says little).
fn boundary_fit(novelty: &[f64], boundaries: &[f64], offset: f64) -> f64 {
    if boundaries.is_empty() {
        return 0.0;
    }
    boundaries
        .iter()
        .filter_map(|b| {
            let i = ((b + offset) * ENVELOPE_RATE).round();
            (i >= 0.0)
                .then(|| novelty.get(i as usize).copied())
                .flatten()
        })
        .sum::<f64>()
        / boundaries.len() as f64
}

/// Music beats paired with the nearest (shifted) kinematic beat: `(music beat, kinematic beat
/// − offset − music beat)` for every music beat inside the overlap.
fn nearest(sorted_dance: &[f64], music: &[f64], offset: f64, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    music
        .iter()
        .filter(|b| **b >= lo && **b <= hi)
        .map(|&b| {
            let t = b + offset;
            let i = sorted_dance.partition_point(|d| *d < t);
            let mut d = f64::INFINITY;
            for j in [i.wrapping_sub(1), i] {
                if let Some(k) = sorted_dance.get(j)
                    && (k - t).abs() < d.abs()
                {
                    d = k - t;
                }
            }
            (b, d)
        })
        .collect()
}

/// Beat fit at `offset`: the sum of `exp(−d²/2σ²)` over the music beats inside the overlap,
/// divided by all the song's beats (a placement that leaves music undanced scores less).
fn beat_fit(dance: &[f64], music: &[f64], offset: f64, lo: f64, hi: f64) -> f64 {
    let pairs = nearest(dance, music, offset, lo, hi);
    if music.is_empty() {
        return 0.0;
    }
    let s2 = 2.0 * BEAT_SIGMA_S * BEAT_SIGMA_S;
    pairs.iter().map(|(_, d)| (-d * d / s2).exp()).sum::<f64>() / music.len() as f64
}

/// Pearson correlation over the whole take of `take[i]` with `music[i − shift]`, the music
/// being silent (0) before the song starts and after it ends: a dancer standing still before
/// the music counts. Both at [`ENVELOPE_RATE`]; 0 when either is flat.
fn envelope_corr(take: &[f64], music: &[f64], shift: isize) -> f64 {
    if take.len() < 10 {
        return 0.0;
    }
    let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &x) in take.iter().enumerate() {
        let k = i as isize - shift;
        let y = if k >= 0 {
            music.get(k as usize).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let n = take.len() as f64;
    let cov = sxy - sx * sy / n;
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    if vx <= 1e-12 || vy <= 1e-12 {
        return 0.0;
    }
    cov / (vx * vy).sqrt()
}

/// One placement of the take considered by [`find_offset`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Candidate {
    /// Offset (s).
    x: f64,
    /// Beat fit `B`.
    beat: f64,
    /// Envelope correlation `C`.
    envelope: f64,
    /// Boundary fit.
    boundary: f64,
    /// What the candidates are ranked by: the sum of the three cues, each as a z-score over
    /// the candidates ([`rank_candidates`]).
    score: f64,
}

/// Fills every candidate's score: `z(B) + ½·z(C) + z(boundary fit)`, each cue standardised
/// over the candidates. A cue counts by how far it singles a candidate out, not by its units
/// (the loudness correlation varies slowly and broadly, the boundary fit sharply), so a cue
/// that says nothing on a take (no phrase boundaries inside it, a flat song) cannot drown the
/// others. The loudness correlation counts half: it assumes the dancer follows the music's
/// energy, which a choreography need not (on the synthetic take of the tests it is lowest at
/// the true offset).
fn rank_candidates(cands: &mut [Candidate]) {
    let z = |v: Vec<f64>| -> Vec<f64> {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        v.iter()
            .map(|x| if sd > 1e-9 { (x - mean) / sd } else { 0.0 })
            .collect()
    };
    let b = z(cands.iter().map(|c| c.beat).collect());
    let e = z(cands.iter().map(|c| c.envelope).collect());
    let p = z(cands.iter().map(|c| c.boundary).collect());
    for (i, c) in cands.iter_mut().enumerate() {
        c.score = b[i] + ENVELOPE_WEIGHT * e[i] + p[i];
    }
}

/// The local maxima of the beat fit over offsets `range` (every [`SEARCH_STEP_S`]) of at
/// least 0.3 × its maximum, with their envelope correlation and boundary fit.
fn candidates(take: &TakeCues, music: &MusicCues<'_>, range: (f64, f64)) -> Vec<Candidate> {
    let overlap = |x: f64| (0f64.max(-x), music.duration.min(take.duration - x));
    let smooth = ENVELOPE_SMOOTH_S * ENVELOPE_RATE;
    let zt = gaussian_smooth(&take.envelope, smooth);
    let zm = gaussian_smooth(music.envelope, smooth);
    let steps = ((range.1 - range.0) / SEARCH_STEP_S).ceil() as usize + 1;
    let xs: Vec<f64> = (0..steps)
        .map(|i| range.0 + i as f64 * SEARCH_STEP_S)
        .collect();
    let b: Vec<f64> = xs
        .iter()
        .map(|&x| {
            let (lo, hi) = overlap(x);
            beat_fit(&take.beats, music.beats, x, lo, hi)
        })
        .collect();
    let b_max = b.iter().copied().fold(0.0, f64::max);
    let mut out = Vec::new();
    for i in 0..steps {
        let left = if i > 0 { b[i - 1] } else { f64::NEG_INFINITY };
        let right = b.get(i + 1).copied().unwrap_or(f64::NEG_INFINITY);
        if b[i] >= left && b[i] > right && b[i] >= 0.3 * b_max {
            let shift = (xs[i] * ENVELOPE_RATE).round() as isize;
            out.push(Candidate {
                x: xs[i],
                beat: b[i],
                envelope: envelope_corr(&zt, &zm, shift),
                boundary: boundary_fit(&take.novelty, music.boundaries, xs[i]),
                score: 0.0,
            });
        }
    }
    rank_candidates(&mut out);
    out
}

/// Finds where the take sits in the song (see the module docs). `file` names the take in
/// errors. Fails when the take has no kinematic beats or the song no beats.
pub fn find_offset(
    take: &TakeCues,
    music: &MusicCues<'_>,
    file: &str,
) -> Result<OffsetEstimate, MotionError> {
    if music.beats.len() < 4 {
        return Err(MotionError::invalid(
            file,
            "the song has fewer than 4 beats; pass --offset to place the take",
        ));
    }
    if take.beats.len() < 4 {
        return Err(MotionError::invalid(
            file,
            "the take has no clear kinematic beats (too little motion); pass --offset",
        ));
    }
    let min_overlap = MIN_OVERLAP_S.min(0.5 * take.duration.min(music.duration));
    let (x_lo, x_hi) = (-(music.duration - min_overlap), take.duration - min_overlap);
    if x_hi < x_lo {
        return Err(MotionError::invalid(
            file,
            "the take is too short to place against the song",
        ));
    }
    let overlap = |x: f64| (0f64.max(-x), music.duration.min(take.duration - x));
    let cands = candidates(take, music, (x_lo, x_hi));
    let Some(best) = cands
        .iter()
        .copied()
        .max_by(|a, b| a.score.total_cmp(&b.score))
    else {
        return Err(MotionError::invalid(
            file,
            "no offset puts the take's beats on the song's beats; pass --offset",
        ));
    };
    let period = median_period(music.beats);
    let runner_up = cands
        .iter()
        .filter(|c| (c.x - best.x).abs() > 0.5 * period)
        .map(|c| c.score)
        .fold(f64::NEG_INFINITY, f64::max);
    let margin = if runner_up.is_finite() {
        best.score - runner_up
    } else {
        CONFIDENT_MARGIN
    };
    // refine: the median residual of the beats paired within 2σ
    let (lo, hi) = overlap(best.x);
    let mut res: Vec<f64> = nearest(&take.beats, music.beats, best.x, lo, hi)
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.abs() <= 2.0 * BEAT_SIGMA_S)
        .collect();
    let paired = res.len();
    let offset = if res.is_empty() {
        best.x
    } else {
        best.x + super::clip::median(&mut res)
    };
    let (lo, hi) = overlap(offset);
    let fit = beat_fit(&take.beats, music.beats, offset, lo, hi);
    Ok(OffsetEstimate {
        offset,
        beat_fit: fit,
        envelope_corr: best.envelope,
        boundary_fit: best.boundary,
        confidence: (margin / CONFIDENT_MARGIN).clamp(0.0, 1.0) * fit,
        paired_beats: paired,
    })
}

/// Median inter-beat interval (s), 0.5 s when there are too few beats.
fn median_period(beats: &[f64]) -> f64 {
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    if ibi.is_empty() {
        return 0.5;
    }
    super::clip::median(&mut ibi)
}

/// A pose as [`motion_distance`] sees it: every joint relative to the hips, turned into the
/// hips' heading frame; entry 0 is the hips' height.
pub type PoseFeature = [Vec3; JOINT_COUNT];

/// [`PoseFeature`] of a pose.
pub fn pose_feature(pose: &Pose) -> PoseFeature {
    let w = pose.world();
    let turn = Quat::from_yaw(-pose.heading());
    let root = w.pos[0];
    let mut f = [Vec3::ZERO; JOINT_COUNT];
    for (j, out) in f.iter_mut().enumerate() {
        *out = if j == 0 {
            Vec3::new(0.0, root.y, 0.0)
        } else {
            turn.rotate(w.pos[j] - root)
        };
    }
    f
}

/// Distance between two motions sampled at the same times `dt` apart (m): the RMS joint
/// position difference plus [`VELOCITY_WEIGHT_S`] × the RMS velocity difference. `∞` when
/// the lengths differ or there are no samples.
pub fn motion_distance(a: &[PoseFeature], b: &[PoseFeature], dt: f64) -> f64 {
    if a.len() != b.len() || a.is_empty() || dt <= 0.0 {
        return f64::INFINITY;
    }
    let rms = |d: &dyn Fn(usize, usize) -> Vec3, n: usize| {
        if n == 0 {
            return 0.0;
        }
        let mut s = 0.0;
        for i in 0..n {
            for j in 0..JOINT_COUNT {
                let v = d(i, j);
                s += v.dot(v);
            }
        }
        (s / (n * JOINT_COUNT) as f64).sqrt()
    };
    let pos = rms(&|i, j| a[i][j] - b[i][j], a.len());
    let vel = rms(
        &|i, j| ((a[i + 1][j] - a[i][j]) - (b[i + 1][j] - b[i][j])) * (1.0 / dt),
        a.len() - 1,
    );
    pos + VELOCITY_WEIGHT_S * vel
}

/// Sample times over `beats` (music times, sorted): `per_beat` evenly spaced samples in each
/// beat interval, skipping `skip` seconds at both ends (where neighbours cross-fade).
pub fn beat_samples(beats: &[f64], per_beat: usize, skip: f64) -> (Vec<f64>, f64) {
    let (Some(&first), Some(&last)) = (beats.first(), beats.last()) else {
        return (Vec::new(), 0.0);
    };
    let mut out = Vec::new();
    for w in beats.windows(2) {
        for k in 0..per_beat.max(1) {
            let t = w[0] + (w[1] - w[0]) * k as f64 / per_beat.max(1) as f64;
            if t >= first + skip && t <= last - skip {
                out.push(t);
            }
        }
    }
    let dt = if beats.len() >= 2 {
        (last - first) / ((beats.len() - 1) * per_beat.max(1)) as f64
    } else {
        0.0
    };
    (out, dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loudness of song beat interval `k`: sections of irregular length, loud and quiet.
    fn section_level(k: usize) -> f64 {
        const LEN: [usize; 6] = [8, 16, 4, 12, 8, 20];
        let mut start = 0;
        for (i, l) in LEN.iter().cycle().enumerate() {
            if k < start + l {
                return if i % 2 == 0 { 1.0 } else { 0.35 };
            }
            start += l;
        }
        1.0
    }

    /// A clip whose joints bob on a beat grid (speed minima on `beats`, take time), as far as
    /// the section's loudness says; still before the first beat and after the last.
    fn bobbing(beats: &[f64], fps: f64, dur: f64) -> Clip {
        let n = (dur * fps) as usize + 1;
        let poses = (0..n)
            .map(|i| {
                let t = i as f64 / fps;
                let mut p = Pose::rest();
                let k = beats.partition_point(|b| *b <= t);
                if k >= 1 && k < beats.len() {
                    let (a, b) = (beats[k - 1], beats[k]);
                    let u = ((t - a) / (b - a)).clamp(0.0, 1.0);
                    let w = 0.5 - 0.5 * (std::f64::consts::PI * u).cos();
                    let amp = section_level(k - 1);
                    // down on odd beats, up on even ones
                    let h = amp * if k % 2 == 0 { w } else { 1.0 - w };
                    p.root.y -= 0.08 * h;
                    p.rot[super::super::skeleton::J::LShoulder.idx()] =
                        Quat::from_axis_angle(Vec3::Z, 1.2 * h);
                }
                p
            })
            .collect();
        Clip {
            name: "bob".into(),
            fps,
            poses,
        }
    }

    #[test]
    fn the_offset_is_found_within_a_frame() {
        let period = 0.5;
        let song_beats: Vec<f64> = (0..60).map(|i| 0.8 + period * f64::from(i)).collect();
        let duration = 31.0;
        let fps = 60.0;
        for offset in [2.37, -3.111] {
            let take_beats: Vec<f64> = song_beats.iter().map(|b| b + offset).collect();
            let clip = bobbing(&take_beats, fps, 35.0);
            let cues = take_cues(&clip);
            assert!(cues.beats.len() > 30, "{} beats", cues.beats.len());
            let music_env: Vec<f64> = (0..(duration * ENVELOPE_RATE) as usize)
                .map(|i| {
                    let t = i as f64 / ENVELOPE_RATE;
                    let k = song_beats.partition_point(|b| *b <= t);
                    if k == 0 || k >= song_beats.len() {
                        0.05
                    } else {
                        section_level(k - 1)
                    }
                })
                .collect();
            // the music's phrases change with its sections
            let boundaries: Vec<f64> = [8, 24, 28, 40, 48].iter().map(|&k| song_beats[k]).collect();
            let music = MusicCues {
                beats: &song_beats,
                envelope: &music_env,
                duration,
                boundaries: &boundaries,
            };
            let est = find_offset(&cues, &music, "take.bvh").unwrap();
            assert!(
                (est.offset - offset).abs() < 1.0 / fps,
                "offset {} (true {offset}), {est:?}",
                est.offset
            );
            assert!(est.beat_fit > 0.5 && est.confidence > 0.1, "{est:?}");
        }
    }

    #[test]
    fn a_still_take_is_an_error_naming_the_file() {
        let clip = Clip {
            name: "still".into(),
            fps: 30.0,
            poses: vec![Pose::rest(); 300],
        };
        let beats: Vec<f64> = (0..20).map(f64::from).collect();
        let env = vec![1.0; 1000];
        let e = find_offset(
            &take_cues(&clip),
            &MusicCues {
                beats: &beats,
                envelope: &env,
                duration: 20.0,
                boundaries: &[],
            },
            "still.bvh",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("still.bvh:") && e.contains("motion"), "{e}");
    }

    #[test]
    fn the_distance_ignores_place_and_heading_but_not_pose() {
        let mut a = Pose::rest();
        a.rot[super::super::skeleton::J::LShoulder.idx()] = Quat::from_axis_angle(Vec3::Z, 0.7);
        let moved = a.transformed(1.3, Vec3::new(2.0, 0.0, -1.0));
        let fa: Vec<PoseFeature> = vec![pose_feature(&a); 4];
        let fm: Vec<PoseFeature> = vec![pose_feature(&moved); 4];
        assert!(motion_distance(&fa, &fm, 0.1) < 1e-9);
        let fr: Vec<PoseFeature> = vec![pose_feature(&Pose::rest()); 4];
        assert!(motion_distance(&fa, &fr, 0.1) > 0.02);
        assert!(motion_distance(&fa, &fr[..3], 0.1).is_infinite());
    }

    #[test]
    fn samples_follow_the_beats_and_skip_the_ends() {
        let (t, dt) = beat_samples(&[0.0, 1.0, 2.0], 4, 0.3);
        assert_eq!(t, vec![0.5, 0.75, 1.0, 1.25, 1.5]);
        assert!((dt - 0.25).abs() < 1e-12);
    }
}
