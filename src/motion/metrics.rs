//! Quality metrics of a dance: the primitives (beat alignment, foot skating, jerk) and
//! [`measure_dance`], which computes the dance metrics of issue 15 (shown by
//! `choreograph --json`, the editor and BENCHMARKS.md) for a blended [`Choreography`].
//!
//! * **Beat alignment score** as Bailando computes it (Siyao et al. 2022, `utils/
//!   beat_align_score.py`, after FACT/AIST++ by Li et al. 2021):
//!   `BAS = (1/|B_m|) Σ_{t ∈ B_m} exp(−min_{t' ∈ B_k} |t − t'|² / (2σ²))`, the mean over the
//!   *music* beats `B_m` of a Gaussian of the distance to the nearest *kinematic* beat `B_k`.
//!   Bailando works on 60 fps frames with σ² = 9 frames², i.e. σ = 3 frames = [`BAS_SIGMA_S`]
//!   = 0.05 s. FACT averaged over the kinematic beats instead; Bailando's direction is used
//!   here because AIST++'s reference score (0.2374 on its own recordings) was measured with
//!   it, and it does not reward a dance for having many kinematic beats.
//! * **Kinematic beats** ([`kinematic_beats`], Bailando's `calc_db`): the mean over joints of
//!   the per-frame displacement `|p_{k+1} − p_k|`, Gaussian-smoothed with σ = 5 frames at
//!   60 fps ([`KINEMATIC_SMOOTH_S`]), and every strict local minimum (`argrelextrema(·,
//!   np.less)`; never the first or last value) is a beat, at time `k / fps`.
//! * **Foot skating**: foot points (ankle and ball, each against its rest height) are in
//!   contact when below [`CONTACT_HEIGHT`] (5 cm) in two consecutive frames; the
//!   *skating ratio* is the share of those steps faster than [`SKATE_SPEED`] horizontally
//!   (2.5 cm per frame at 30 fps, the usual criterion), [`foot_skate_speed`] their mean
//!   horizontal speed (m/s; the canonical skeleton is in metres).
//! * **Jerk at a transition**: the mean over joints of |d³p/dt³| (m/s³) from third
//!   differences of the baked positions, per frame; around each switch, its peak and its
//!   mean within ±[`TRANSITION_WINDOW_S`], and the largest per-frame joint displacement
//!   there (a discontinuity check).

use serde::{Deserialize, Serialize};

use super::beats::kinetic_energy;
pub use super::beats::{BAS_FPS, KINEMATIC_SMOOTH_S, kinematic_beats};
use super::blend::Choreography;
use super::clip::{CONTACT_HEIGHT, Clip};
use super::skeleton::{JOINT_COUNT, WorldPose};

/// σ of the beat alignment score: 3 frames at 60 fps, Bailando's `σ² = 9` (s).
pub const BAS_SIGMA_S: f64 = 3.0 / 60.0;
/// Skating speed threshold: 2.5 cm per frame at 30 fps (m/s).
pub const SKATE_SPEED: f64 = 0.025 * 30.0;
/// Half-width of the window around a switch in which jerk is measured (s).
pub const TRANSITION_WINDOW_S: f64 = 0.25;

/// Beat alignment score (see the module docs); 0 when either list is empty.
pub fn beat_align_score(dance_beats: &[f64], music_beats: &[f64], sigma_s: f64) -> f64 {
    if dance_beats.is_empty() || music_beats.is_empty() || sigma_s <= 0.0 {
        return 0.0;
    }
    let s2 = 2.0 * sigma_s * sigma_s;
    music_beats
        .iter()
        .map(|m| {
            let d = dance_beats
                .iter()
                .map(|b| (b - m).abs())
                .fold(f64::INFINITY, f64::min);
            (-d * d / s2).exp()
        })
        .sum::<f64>()
        / music_beats.len() as f64
}

/// Beat clarity of a library phrase: how well its motion marks the music beats it meets when
/// danced `counting` music beats per dance beat (issue 15, item 3). It is the
/// [`beat_align_score`] (σ = [`BAS_SIGMA_S`]) of the phrase's own kinematic beats
/// ([`kinematic_beats`], stored in the library index as
/// [`super::index::PhraseEntry::kinematic_beats`]) against the music beats of one pass of the
/// phrase, in phrase time:
///
/// * counting 1 (1:1): its beat markers `beat_times`;
/// * counting 2 (half time): the markers and the midpoints between them, since every other
///   music beat then falls half-way through a dance beat, where a move whose keys are its
///   only velocity minima has none (such a move scores about ½);
/// * counting ½ (double time): every other marker.
///
/// So the score is what the dance's BAS over the phrase's slot would be if the time-warp
/// were a pure shift (it ignores the playback rate, within ×0.8 … ×1.25, and the crossfades).
/// 0 without kinematic beats or markers.
pub fn beat_clarity(kinematic: &[f64], beat_times: &[f64], counting: f64) -> f64 {
    let music: Vec<f64> = if counting >= 1.5 {
        let mut m: Vec<f64> = beat_times.to_vec();
        m.extend(beat_times.windows(2).map(|w| 0.5 * (w[0] + w[1])));
        m
    } else if counting <= 0.75 {
        beat_times.iter().copied().step_by(2).collect()
    } else {
        beat_times.to_vec()
    };
    beat_align_score(kinematic, &music, BAS_SIGMA_S)
}

/// Horizontal speeds (m/s) of the foot points over every step in which the point is in
/// contact (see the module docs); each foot point is tracked against its own rest height.
fn contact_foot_speeds(world: &[WorldPose], fps: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for (j, rest) in foot_points() {
        for w in world.windows(2) {
            let (a, b) = (w[0].pos[j], w[1].pos[j]);
            if b.y - rest < CONTACT_HEIGHT && a.y - rest < CONTACT_HEIGHT {
                out.push((b - a).xz().length() * fps);
            }
        }
    }
    out
}

/// Foot-skating ratio of a clip (see the module docs); 0 when no foot is ever down.
pub fn foot_skating_ratio(clip: &Clip) -> f64 {
    let speeds = contact_foot_speeds(&clip.world(), clip.fps);
    if speeds.is_empty() {
        return 0.0;
    }
    speeds.iter().filter(|&&v| v > SKATE_SPEED).count() as f64 / speeds.len() as f64
}

/// Mean horizontal speed of the foot points while in contact (m/s, see the module docs); 0
/// when no foot is ever down.
pub fn foot_skate_speed(clip: &Clip) -> f64 {
    mean(&contact_foot_speeds(&clip.world(), clip.fps))
}

/// Arithmetic mean; 0 for an empty slice.
fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// The four foot points (joint, rest height above the floor).
fn foot_points() -> [(usize, f64); 4] {
    use super::skeleton::{ANKLE_HEIGHT, J, TOE_HEIGHT};
    [
        (J::LFoot.idx(), ANKLE_HEIGHT),
        (J::LToe.idx(), TOE_HEIGHT),
        (J::RFoot.idx(), ANKLE_HEIGHT),
        (J::RToe.idx(), TOE_HEIGHT),
    ]
}

/// Mean over joints of the jerk magnitude per frame (m/s³), from third differences; the
/// first and last frames copy their neighbours.
pub fn jerk_series(world: &[WorldPose], fps: f64) -> Vec<f64> {
    let n = world.len();
    if n < 4 {
        return vec![0.0; n];
    }
    let f3 = fps * fps * fps;
    let mut out = vec![0.0; n];
    for (i, o) in out.iter_mut().enumerate().take(n - 2).skip(1) {
        let mut s = 0.0;
        for j in 0..JOINT_COUNT {
            let d = world[i + 2].pos[j] - world[i + 1].pos[j] * 3.0 + world[i].pos[j] * 3.0
                - world[i - 1].pos[j];
            s += d.length() * f3;
        }
        *o = s / JOINT_COUNT as f64;
    }
    out[0] = out[1];
    out[n - 2] = out[n - 3];
    out[n - 1] = out[n - 3];
    out
}

/// Largest per-frame displacement of any joint at frame `i` (m).
fn max_step(world: &[WorldPose], i: usize) -> f64 {
    if i == 0 || i >= world.len() {
        return 0.0;
    }
    (0..JOINT_COUNT)
        .map(|j| (world[i].pos[j] - world[i - 1].pos[j]).length())
        .fold(0.0, f64::max)
}

/// Per-switch transition measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// Switch time (s, relative to the clip's first frame).
    pub time: f64,
    /// Peak mean-joint jerk within the window (m/s³).
    pub jerk_peak: f64,
    /// Mean of the mean-joint jerk over the window's frames (m/s³).
    pub jerk_mean: f64,
    /// Largest per-frame joint displacement within the window (m).
    pub max_step: f64,
}

/// Measures each switch (times relative to the clip's first frame) within ±`window_s`.
pub fn transitions(clip: &Clip, switches: &[f64], window_s: f64) -> Vec<Transition> {
    let world = clip.world();
    let jerk = jerk_series(&world, clip.fps);
    transitions_in(&world, &jerk, clip.fps, switches, window_s)
}

/// [`transitions`] on positions and their [`jerk_series`] already computed.
fn transitions_in(
    world: &[WorldPose],
    jerk: &[f64],
    fps: f64,
    switches: &[f64],
    window_s: f64,
) -> Vec<Transition> {
    let last = world.len().saturating_sub(1);
    switches
        .iter()
        .map(|&t| {
            let c = t * fps;
            let lo = ((c - window_s * fps).floor().max(0.0) as usize).min(last);
            let hi = ((c + window_s * fps).ceil().max(0.0) as usize).min(last);
            let (mut jp, mut ms, mut sum) = (0.0f64, 0.0f64, 0.0f64);
            for (i, j) in jerk.iter().enumerate().take(hi + 1).skip(lo) {
                jp = jp.max(*j);
                sum += *j;
                ms = ms.max(max_step(world, i));
            }
            Transition {
                time: t,
                jerk_peak: jp,
                jerk_mean: if jerk.is_empty() {
                    0.0
                } else {
                    sum / (hi + 1 - lo) as f64
                },
                max_step: ms,
            }
        })
        .collect()
}

/// Percentile `p` of the per-frame largest joint displacement over the whole clip (m), the
/// yardstick for "no discontinuity at switches".
pub fn step_percentile(clip: &Clip, p: f64) -> f64 {
    let world = clip.world();
    let mut steps: Vec<f64> = (1..world.len()).map(|i| max_step(&world, i)).collect();
    super::clip::percentile(&mut steps, p)
}

/// One slot of a danced sequence as the dance metrics see it: a music span and what fills it.
#[derive(Clone, Debug, PartialEq)]
pub struct DancedSlot {
    /// Music span start (s).
    pub start: f64,
    /// Music span end (s).
    pub end: f64,
    /// The move (the library clip the phrase was cut from).
    pub move_id: String,
}

/// The music a dance is measured against (times in seconds).
#[derive(Clone, Copy, Debug)]
pub struct MusicTimes<'a> {
    /// The song's beats, first to last.
    pub beats: &'a [f64],
    /// The song's onsets.
    pub onsets: &'a [f64],
}

/// The dance metrics of issue 15 (keys of `choreograph --json`'s `metrics`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DanceMetrics {
    /// Number of slots (music phrases).
    pub slots: usize,
    /// Distinct moves / slots.
    pub distinct_move_share: f64,
    /// Slots danced by the most frequent move / slots.
    pub most_used_move_share: f64,
    /// Longest run of consecutive slots danced by one move (1: no move twice in a row).
    pub longest_repeat_run: usize,
    /// Share of the song's beats (first to last) inside a slot's span; 0 without beats.
    pub coverage: f64,
    /// Beat alignment score of the blended dance (Bailando's, see the module docs).
    pub bas: f64,
    /// Pearson correlation over slots of music energy (onsets per second in the span) and
    /// motion energy (kinetic energy of the blended dance in the span); 0 when undefined
    /// (under two slots, or either side constant).
    pub energy_correlation: f64,
    /// Mean horizontal speed of planted foot points (m/s, see the module docs).
    pub foot_skate: f64,
    /// Mean over the blended dance's switches of the mean-joint jerk within
    /// ±[`TRANSITION_WINDOW_S`] (m/s³); 0 without switches.
    pub transition_jerk: f64,
}

/// What the metrics say about one slot (the editor's per-slot values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotMetrics {
    /// BAS of the music beats inside the span (`None`: no beat there).
    pub bas: Option<f64>,
    /// Onsets per second in the span.
    pub music_energy: f64,
    /// Kinetic energy per unit mass of the blended dance in the span (m²/s²).
    pub motion_energy: f64,
    /// Mean-joint jerk around the switch into this slot (m/s³; `None` for the first slot).
    pub entry_jerk: Option<f64>,
}

/// The whole-dance metrics and the per-slot values behind them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DanceMeasure {
    /// Whole dance.
    pub metrics: DanceMetrics,
    /// One per slot.
    pub per_slot: Vec<SlotMetrics>,
}

/// Distinct-move share, most-used-move share and longest run of one move, over `moves` in
/// slot order (any move key: clip names here, move ids in `model::evaluation::fit_variety`);
/// zeros for an empty list.
pub fn sequence_stats<M: Eq + std::hash::Hash>(moves: &[M]) -> (f64, f64, usize) {
    if moves.is_empty() {
        return (0.0, 0.0, 0);
    }
    let mut counts: std::collections::HashMap<&M, usize> = std::collections::HashMap::new();
    for m in moves {
        *counts.entry(m).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    let (mut run, mut longest) = (0usize, 0usize);
    for (i, m) in moves.iter().enumerate() {
        run = if i > 0 && moves[i - 1] == *m {
            run + 1
        } else {
            1
        };
        longest = longest.max(run);
    }
    let n = moves.len() as f64;
    (counts.len() as f64 / n, most as f64 / n, longest)
}

/// Share of `beats` inside any of `spans` (closed intervals, 1 µs tolerance); 0 without beats.
pub fn coverage(beats: &[f64], spans: &[(f64, f64)]) -> f64 {
    if beats.is_empty() {
        return 0.0;
    }
    let inside = beats
        .iter()
        .filter(|&&b| spans.iter().any(|&(a, e)| b >= a - 1e-6 && b <= e + 1e-6))
        .count();
    inside as f64 / beats.len() as f64
}

/// Pearson correlation of `x` and `y` (same length); 0 when undefined (under two points or
/// a constant side).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let (mx, my) = (mean(&x[..n]), mean(&y[..n]));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y).take(n) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    let d = (sxx * syy).sqrt();
    if d > 1e-12 && d.is_finite() {
        (sxy / d).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Frames `[lo, hi]` of a clip starting at `t0` at `fps` that fall in `[a, b]`.
fn frame_range(t0: f64, fps: f64, len: usize, a: f64, b: f64) -> Option<(usize, usize)> {
    let last = len.checked_sub(1)?;
    let lo = ((a - t0) * fps).ceil().max(0.0) as usize;
    let hi = (((b - t0) * fps).floor().max(0.0) as usize).min(last);
    (lo <= hi).then_some((lo, hi))
}

/// The dance metrics of `dance` (see [`DanceMetrics`]): `slots` are its music phrases in
/// order, `fps` the rate the motion metrics are baked at (the export's); kinematic beats are
/// always found at [`BAS_FPS`].
pub fn measure_dance(
    dance: &Choreography,
    music: MusicTimes<'_>,
    slots: &[DancedSlot],
    fps: f64,
) -> DanceMeasure {
    let fps = if fps > 0.0 { fps } else { 30.0 };
    let t0 = dance.start();
    let kin: Vec<f64> = kinematic_beats(&dance.bake(BAS_FPS).world(), BAS_FPS)
        .iter()
        .map(|t| t + t0)
        .collect();
    let clip = dance.bake(fps);
    let world = clip.world();
    let jerk = jerk_series(&world, fps);
    let in_span = |a: f64, b: f64| -> Vec<f64> {
        music
            .beats
            .iter()
            .copied()
            .filter(|&t| t >= a && t <= b)
            .collect()
    };
    let starts: Vec<f64> = slots.iter().skip(1).map(|s| s.start - t0).collect();
    let entry = transitions_in(&world, &jerk, fps, &starts, TRANSITION_WINDOW_S);
    let per_slot: Vec<SlotMetrics> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let beats = in_span(s.start, s.end);
            let len = s.end - s.start;
            let onsets = music
                .onsets
                .iter()
                .filter(|&&t| t >= s.start && t < s.end)
                .count();
            SlotMetrics {
                bas: (!beats.is_empty()).then(|| beat_align_score(&kin, &beats, BAS_SIGMA_S)),
                music_energy: if len > 0.0 { onsets as f64 / len } else { 0.0 },
                motion_energy: frame_range(t0, fps, world.len(), s.start, s.end)
                    .map_or(0.0, |(lo, hi)| kinetic_energy(&world[lo..=hi], fps)),
                entry_jerk: i
                    .checked_sub(1)
                    .and_then(|k| entry.get(k))
                    .map(|t| t.jerk_mean),
            }
        })
        .collect();
    let moves: Vec<&str> = slots.iter().map(|s| s.move_id.as_str()).collect();
    let (distinct, most, run) = sequence_stats(&moves);
    let spans: Vec<(f64, f64)> = slots.iter().map(|s| (s.start, s.end)).collect();
    let switches: Vec<f64> = dance.switch_times().iter().map(|t| t - t0).collect();
    let jerks: Vec<f64> = transitions_in(&world, &jerk, fps, &switches, TRANSITION_WINDOW_S)
        .iter()
        .map(|t| t.jerk_mean)
        .collect();
    let music_e: Vec<f64> = per_slot.iter().map(|s| s.music_energy).collect();
    let motion_e: Vec<f64> = per_slot.iter().map(|s| s.motion_energy).collect();
    DanceMeasure {
        metrics: DanceMetrics {
            slots: slots.len(),
            distinct_move_share: distinct,
            most_used_move_share: most,
            longest_repeat_run: run,
            coverage: coverage(music.beats, &spans),
            bas: beat_align_score(&kin, &in_span(t0, dance.duration()), BAS_SIGMA_S),
            energy_correlation: pearson(&music_e, &motion_e),
            foot_skate: mean(&contact_foot_speeds(&world, fps)),
            transition_jerk: mean(&jerks),
        },
        per_slot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn bas_matches_the_definition() {
        let music = [1.0, 2.0, 3.0];
        assert_abs_diff_eq!(beat_align_score(&music, &music, BAS_SIGMA_S), 1.0);
        let dance = [1.1, 2.0];
        // 1.0 -> 0.1 away, 2.0 exact, 3.0 -> 1.0 away
        let e = ((-0.01f64 / 0.02).exp() + 1.0 + (-1.0f64 / 0.02).exp()) / 3.0;
        assert_abs_diff_eq!(beat_align_score(&dance, &music, 0.1), e, epsilon = 1e-12);
        assert_abs_diff_eq!(beat_align_score(&[], &music, 0.1), 0.0);
    }

    /// Beat clarity: a phrase whose velocity minima sit on its beat markers scores near 1 at
    /// 1:1, the same motion half a beat late near 0; at half time the on-beat move keeps only
    /// every other music beat (about ½), and a move that also stops half-way through each
    /// beat (a bounce on the "and") keeps them all.
    #[test]
    fn beat_clarity_rewards_motion_that_stops_on_its_beats() {
        use crate::motion::skeleton::Pose;
        use std::f64::consts::PI;
        let period = 0.6;
        let markers: Vec<f64> = (0..=8).map(|i| f64::from(i) * period).collect();
        // root swinging sideways `cycles` times per beat, shifted `lag` beats; 0.5 s margins
        // (a third of a frame off the grid, so no two speed samples tie at a minimum)
        let kin_of = |cycles: f64, lag: f64| {
            let fps = BAS_FPS;
            let clip = Clip {
                name: "probe".into(),
                fps,
                poses: (0..=(5.8 * fps) as usize)
                    .map(|i| {
                        let t = (i as f64 + 0.3) / fps - 0.5;
                        let mut p = Pose::rest();
                        p.root.x = 0.2 * (PI * cycles * (t / period - lag)).cos();
                        p
                    })
                    .collect(),
            };
            let kin: Vec<f64> = kinematic_beats(&clip.world(), fps)
                .iter()
                .map(|t| t - 0.5)
                .collect();
            kin
        };
        let on = kin_of(1.0, 0.0);
        let off = kin_of(1.0, 0.5);
        let and = kin_of(2.0, 0.0);
        let c_on = beat_clarity(&on, &markers, 1.0);
        let c_off = beat_clarity(&off, &markers, 1.0);
        assert!(c_on > 0.9, "on-beat motion: {c_on}");
        assert!(c_off < 0.1, "off-beat motion: {c_off}");
        let half_on = beat_clarity(&on, &markers, 2.0);
        assert!(
            (half_on - c_on * 9.0 / 17.0).abs() < 0.03,
            "half time: {half_on}"
        );
        assert!(beat_clarity(&and, &markers, 2.0) > 0.9);
        // double time meets every other marker: the on-beat move still hits them all
        assert!(beat_clarity(&on, &markers, 0.5) > 0.9);
        assert_abs_diff_eq!(beat_clarity(&[], &markers, 1.0), 0.0);
    }

    #[test]
    fn skating_counts_sliding_planted_feet() {
        use crate::motion::skeleton::Pose;
        let mk = |speed: f64| Clip {
            name: "slide".into(),
            fps: 30.0,
            poses: (0..30)
                .map(|i| {
                    let mut p = Pose::rest();
                    p.root.x = speed * i as f64 / 30.0;
                    p
                })
                .collect(),
        };
        assert_abs_diff_eq!(foot_skating_ratio(&mk(0.0)), 0.0);
        assert_abs_diff_eq!(foot_skating_ratio(&mk(2.0)), 1.0);
        assert_abs_diff_eq!(foot_skating_ratio(&mk(0.5)), 0.0);
        // planted feet carried along at v m/s skate at v m/s
        assert_abs_diff_eq!(foot_skate_speed(&mk(0.0)), 0.0);
        assert_abs_diff_eq!(foot_skate_speed(&mk(2.0)), 2.0, epsilon = 1e-9);
        assert_abs_diff_eq!(foot_skate_speed(&mk(0.5)), 0.5, epsilon = 1e-9);
        // lifted 10 cm: never in contact
        let mut up = mk(2.0);
        for p in &mut up.poses {
            p.root.y += 0.1;
        }
        assert_abs_diff_eq!(foot_skate_speed(&up), 0.0);
    }

    /// A 60 fps clip whose root swings sideways with period 1 s, phased so that the
    /// forward-difference speed has its unique minima at frames 15 + 30n: kinematic beats at
    /// 0.25 s, 0.75 s, …
    fn swing(seconds: f64) -> Clip {
        use crate::motion::skeleton::Pose;
        let fps = 60.0;
        let n = (seconds * fps) as usize + 1;
        Clip {
            name: "swing".into(),
            fps,
            poses: (0..n)
                .map(|i| {
                    let mut p = Pose::rest();
                    let t = (i as f64 - 0.5) / fps;
                    p.root.x = 0.3 * (2.0 * std::f64::consts::PI * t).sin();
                    p
                })
                .collect(),
        }
    }

    #[test]
    fn kinematic_beats_are_the_speed_minima() {
        let clip = swing(4.0);
        let beats = kinematic_beats(&clip.world(), clip.fps);
        let want: Vec<f64> = (0..8).map(|k| 0.25 + 0.5 * f64::from(k)).collect();
        assert_eq!(beats.len(), want.len(), "{beats:?}");
        for (b, w) in beats.iter().zip(&want) {
            assert_abs_diff_eq!(*b, *w, epsilon = 1e-9);
        }
        // BAS 1 when the music beats sit on the kinematic beats, lower when shifted
        assert_abs_diff_eq!(
            beat_align_score(&beats, &want, BAS_SIGMA_S),
            1.0,
            epsilon = 1e-9
        );
        let shifted: Vec<f64> = want.iter().map(|t| t + 0.05).collect();
        let e = (-0.5f64).exp(); // one σ away
        assert_abs_diff_eq!(
            beat_align_score(&beats, &shifted, BAS_SIGMA_S),
            e,
            epsilon = 1e-9
        );
        let far: Vec<f64> = want.iter().map(|t| t + 0.25).collect();
        assert!(beat_align_score(&beats, &far, BAS_SIGMA_S) < 1e-4);
    }

    #[test]
    fn sequence_coverage_and_correlation_on_known_inputs() {
        let (distinct, most, run) = sequence_stats(&["a", "a", "b", "a", "a", "a", "c"]);
        assert_abs_diff_eq!(distinct, 3.0 / 7.0);
        assert_abs_diff_eq!(most, 5.0 / 7.0);
        assert_eq!(run, 3);
        assert_eq!(sequence_stats(&["a", "b", "c", "d"]), (1.0, 0.25, 1));
        assert_eq!(sequence_stats::<&str>(&[]), (0.0, 0.0, 0));

        let beats: Vec<f64> = (0..10).map(f64::from).collect();
        assert_abs_diff_eq!(coverage(&beats, &[(0.0, 4.5), (4.5, 9.0)]), 1.0);
        assert_abs_diff_eq!(coverage(&beats, &[(0.0, 4.5)]), 0.5);
        assert_abs_diff_eq!(coverage(&beats, &[(2.5, 4.5), (7.0, 9.5)]), 0.5);
        assert_abs_diff_eq!(coverage(&[], &[(0.0, 1.0)]), 0.0);

        let x = [1.0, 2.0, 3.0, 4.0];
        assert_abs_diff_eq!(pearson(&x, &[2.0, 4.0, 6.0, 8.0]), 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(pearson(&x, &[8.0, 6.0, 4.0, 2.0]), -1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(pearson(&x, &[1.0, 1.0, 1.0, 1.0]), 0.0);
        assert_abs_diff_eq!(pearson(&[1.0], &[2.0]), 0.0);
        assert_abs_diff_eq!(pearson(&x, &[1.0, 3.0, 2.0, 4.0]), 0.8, epsilon = 1e-12);
    }

    #[test]
    fn jerk_is_zero_for_steady_motion_and_peaks_at_a_jump() {
        use crate::motion::skeleton::Pose;
        let mk = |jump: f64| Clip {
            name: "walk".into(),
            fps: 30.0,
            poses: (0..60)
                .map(|i| {
                    let mut p = Pose::rest();
                    p.root.z = 1.2 * i as f64 / 30.0 + if i >= 30 { jump } else { 0.0 };
                    p
                })
                .collect(),
        };
        let steady = transitions(&mk(0.0), &[1.0], TRANSITION_WINDOW_S);
        assert_abs_diff_eq!(steady[0].jerk_mean, 0.0, epsilon = 1e-6);
        let jumpy = transitions(&mk(0.1), &[1.0], TRANSITION_WINDOW_S);
        assert!(jumpy[0].jerk_mean > 100.0, "{:?}", jumpy[0]);
        assert!(jumpy[0].jerk_peak >= jumpy[0].jerk_mean);
        assert_abs_diff_eq!(jumpy[0].max_step, 0.14, epsilon = 1e-9);
    }

    /// Two 4-second slots of the swing, each time-warped 1:1 onto its music span.
    fn swing_dance() -> Choreography {
        use crate::motion::blend::{BlendOptions, Choreography, Slot};
        use crate::motion::phrase::PhraseClip;
        let clip = swing(8.0);
        let beats: Vec<f64> = (0..=8).map(f64::from).collect();
        let phrase = PhraseClip {
            id: "swing/000".into(),
            clip,
            offset: 0.0,
            beats: beats.clone(),
        };
        let slot = |a: usize, b: usize| Slot {
            phrase: phrase.clone(),
            start: beats[a],
            end: beats[b],
            music_beats: beats[a..=b].iter().map(|t| t - beats[a]).collect(),
        };
        Choreography::new(
            vec![
                slot(0, 4),
                Slot {
                    start: 4.0,
                    end: 8.0,
                    music_beats: (4..=8).map(f64::from).collect(),
                    ..slot(0, 4)
                },
            ],
            BlendOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_dance_on_its_own_beats_measures_as_expected() {
        let dance = swing_dance();
        // music beats on the swing's speed minima, onsets twice as dense in the second half
        let music: Vec<f64> = (0..16).map(|k| 0.25 + 0.5 * f64::from(k)).collect();
        let onsets: Vec<f64> = (0..8)
            .map(|k| 0.5 * f64::from(k))
            .chain((0..16).map(|k| 4.0 + 0.25 * f64::from(k)))
            .collect();
        let slots = [
            DancedSlot {
                start: 0.0,
                end: 4.0,
                move_id: "swing".into(),
            },
            DancedSlot {
                start: 4.0,
                end: 8.0,
                move_id: "swing".into(),
            },
        ];
        let m = measure_dance(
            &dance,
            MusicTimes {
                beats: &music,
                onsets: &onsets,
            },
            &slots,
            30.0,
        );
        assert_eq!(m.metrics.slots, 2);
        assert_eq!(m.metrics.longest_repeat_run, 2);
        assert_abs_diff_eq!(m.metrics.distinct_move_share, 0.5);
        assert_abs_diff_eq!(m.metrics.most_used_move_share, 1.0);
        assert_abs_diff_eq!(m.metrics.coverage, 1.0);
        assert!(m.metrics.bas > 0.95, "{:?}", m.metrics);
        assert_abs_diff_eq!(m.per_slot[0].music_energy, 2.0);
        assert_abs_diff_eq!(m.per_slot[1].music_energy, 4.0);
        assert!(m.per_slot[0].entry_jerk.is_none());
        assert!(m.per_slot[1].entry_jerk.is_some());
        assert!(m.per_slot.iter().all(|s| s.bas.is_some_and(|b| b > 0.9)));
        // the root swings 0.3 m at 1 Hz with the feet on the floor: they skate at the mean
        // of |0.3 · 2π · cos(2πt)| = 1.2 m/s
        assert_abs_diff_eq!(m.metrics.foot_skate, 1.2, epsilon = 0.02);
        assert!(
            m.per_slot.iter().all(|s| s.motion_energy > 0.01),
            "{:?}",
            m.per_slot
        );
        // music beats half a period away from the minima score far lower
        let off: Vec<f64> = music.iter().map(|t| t + 0.25).collect();
        let m2 = measure_dance(
            &dance,
            MusicTimes {
                beats: &off,
                onsets: &onsets,
            },
            &slots,
            30.0,
        );
        assert!(m2.metrics.bas < 0.1, "{:?}", m2.metrics);
    }
}
