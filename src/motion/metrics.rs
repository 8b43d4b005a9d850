//! Quality metrics of a dance.
//!
//! * **Beat alignment score** (Bailando, Siyao et al. 2022, after FACT/AIST++ by Li et al.
//!   2021): `BAS = (1/|B_m|) Σ_{t ∈ B_m} exp(−min_{t' ∈ B_d} |t − t'|² / (2σ²))`, the mean
//!   over *music* beats `B_m` of a Gaussian of the distance to the nearest *dance* beat.
//!   σ = 3 frames at 30 fps, i.e. [`BAS_SIGMA_S`] = 0.1 s ([`beat_align_score`] takes any σ).
//! * **Foot-skating ratio**: among frames where a foot point (ankle or ball, each against
//!   its rest height) is in contact by height (below 5 cm), the fraction where it slides horizontally faster than 2.5 cm per frame at
//!   30 fps (0.75 m/s), the usual skating criterion of motion-generation papers.
//! * **Jerk peak at a transition**: the maximum, within ±0.25 s of a switch, of the mean
//!   over joints of |d³p/dt³| (m/s³) from third differences of the baked positions; and the
//!   largest per-frame joint displacement there (a discontinuity check).

use super::clip::{CONTACT_HEIGHT, Clip};
use super::skeleton::{JOINT_COUNT, WorldPose};

/// σ of the beat alignment score: 3 frames at 30 fps (s).
pub const BAS_SIGMA_S: f64 = 3.0 / 30.0;
/// Skating speed threshold: 2.5 cm per frame at 30 fps (m/s).
pub const SKATE_SPEED: f64 = 0.025 * 30.0;

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

/// Foot-skating ratio of a clip (see the module docs); 0 when no foot is ever down. Each
/// foot point (ankle, ball) is tracked separately against its own rest height.
pub fn foot_skating_ratio(clip: &Clip) -> f64 {
    let world = clip.world();
    let mut contact = 0usize;
    let mut skate = 0usize;
    for (j, rest) in foot_points() {
        for i in 1..world.len() {
            let (a, b) = (world[i - 1].pos[j], world[i].pos[j]);
            if b.y - rest < CONTACT_HEIGHT && a.y - rest < CONTACT_HEIGHT {
                contact += 1;
                if (b - a).xz().length() * clip.fps > SKATE_SPEED {
                    skate += 1;
                }
            }
        }
    }
    if contact == 0 {
        0.0
    } else {
        skate as f64 / contact as f64
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
    /// Largest per-frame joint displacement within the window (m).
    pub max_step: f64,
}

/// Measures each switch (times relative to the clip's first frame) within ±`window_s`.
pub fn transitions(clip: &Clip, switches: &[f64], window_s: f64) -> Vec<Transition> {
    let world = clip.world();
    let jerk = jerk_series(&world, clip.fps);
    switches
        .iter()
        .map(|&t| {
            let c = t * clip.fps;
            let lo = (c - window_s * clip.fps).floor().max(0.0) as usize;
            let hi = ((c + window_s * clip.fps).ceil() as usize).min(world.len().saturating_sub(1));
            let (mut jp, mut ms) = (0.0f64, 0.0f64);
            for (i, j) in jerk.iter().enumerate().take(hi + 1).skip(lo) {
                jp = jp.max(*j);
                ms = ms.max(max_step(&world, i));
            }
            Transition {
                time: t,
                jerk_peak: jp,
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
    }
}
