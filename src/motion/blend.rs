//! Blending phrases into one dance: beat-to-beat time-warping, root alignment at switches
//! and crossfades, built on the [`Blend`] trait (defined in [`super::interpolate`],
//! re-exported here).
//!
//! A [`Choreography`] is a sequence of slots (phrase, music span, music beats). Each phrase
//! is **time-warped** by a piecewise-linear map that sends its i-th dance beat to the i-th
//! music beat of the span (linear extrapolation beyond the first/last pair, as in the
//! beat-synchronous resampling of dance-to-music systems such as Shiratori et al. 2006), so
//! its velocity minima land exactly on the music beats. At each switch the incoming phrase
//! is **aligned** to the outgoing one: rotated about the vertical axis so the hips' headings
//! match and translated in XZ so the hips coincide, both evaluated at the switch time (the
//! first slot is aligned to the origin, facing +Z). A **crossfade** centred on the switch
//! (default 0.25 s) blends the two with a smoothstep weight `3w² − 2w³` (C¹): per-joint
//! slerp and root lerp. Each phrase keeps frames beyond its ends (margins) for the fade.

use super::MotionError;
use super::clip::Clip;
pub use super::interpolate::Blend;
use super::phrase::PhraseClip;
use super::quat::{Quat, Vec3, wrap_angle};
use super::skeleton::Pose;
use serde::{Deserialize, Serialize};

/// A piecewise-linear map from music time to phrase time through (music beat, dance beat)
/// pairs, extrapolated linearly beyond the first and last pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeMap {
    /// Knots `(music time, phrase time)`, strictly increasing in both.
    pub knots: Vec<(f64, f64)>,
}

impl TimeMap {
    /// Pairs the phrase's beats (relative, first 0) with the music beats inside
    /// `[start, end]` in order. If the phrase has a beat left over and `end` lies about one
    /// beat period after the last music beat, `end` is paired with it too. With a single pair
    /// the phrase plays at its own speed through it; with none it starts at `start`.
    pub fn new(phrase_beats: &[f64], music_beats: &[f64], start: f64, end: f64) -> TimeMap {
        let eps = 1e-6;
        let mut mb: Vec<f64> = music_beats
            .iter()
            .copied()
            .filter(|t| t.is_finite() && *t >= start - eps && *t <= end + eps)
            .collect();
        mb.sort_by(f64::total_cmp);
        mb.dedup_by(|a, b| (*a - *b).abs() < eps);
        let mut pb: Vec<f64> = phrase_beats
            .iter()
            .copied()
            .filter(|t| t.is_finite())
            .collect();
        pb.sort_by(f64::total_cmp);
        pb.dedup_by(|a, b| (*a - *b).abs() < eps);
        if mb.len() >= 2 && pb.len() > mb.len() {
            let mut ibi: Vec<f64> = mb.windows(2).map(|w| w[1] - w[0]).collect();
            let med = super::clip::median(&mut ibi);
            let last = mb[mb.len() - 1];
            let gap = end - last;
            if gap > 0.5 * med && gap < 1.5 * med {
                mb.push(end);
            }
        }
        let n = mb.len().min(pb.len());
        let knots = match n {
            0 => vec![(start, 0.0), (start + 1.0, 1.0)],
            1 => vec![(mb[0], pb[0]), (mb[0] + 1.0, pb[0] + 1.0)],
            _ => (0..n).map(|i| (mb[i], pb[i])).collect(),
        };
        TimeMap { knots }
    }

    fn segment(&self, i: usize) -> ((f64, f64), (f64, f64)) {
        let n = self.knots.len();
        let i = i.min(n.saturating_sub(2));
        (self.knots[i], self.knots[(i + 1).min(n - 1)])
    }

    /// Phrase time at music time `t`.
    pub fn phrase_time(&self, t: f64) -> f64 {
        let n = self.knots.len();
        if n == 0 {
            return t;
        }
        if n == 1 {
            return self.knots[0].1 + (t - self.knots[0].0);
        }
        let i = match self.knots.iter().position(|k| k.0 > t) {
            Some(0) => 0,
            Some(p) => p - 1,
            None => n - 2,
        };
        let ((t0, u0), (t1, u1)) = self.segment(i);
        let slope = if t1 > t0 { (u1 - u0) / (t1 - t0) } else { 1.0 };
        u0 + (t - t0) * slope
    }

    /// Playback-rate range (phrase seconds per music second) over the knots.
    pub fn rate_range(&self) -> (f64, f64) {
        let rates: Vec<f64> = self
            .knots
            .windows(2)
            .filter(|w| w[1].0 > w[0].0)
            .map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0))
            .collect();
        if rates.is_empty() {
            return (1.0, 1.0);
        }
        (
            rates.iter().copied().fold(f64::INFINITY, f64::min),
            rates.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

/// A request: play `phrase` over music time `[start, end)` with its beats on `music_beats`.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The phrase (with margins).
    pub phrase: PhraseClip,
    /// Music time where the phrase starts (s).
    pub start: f64,
    /// Music time where the next phrase takes over (s).
    pub end: f64,
    /// Music beat times within the span (s).
    pub music_beats: Vec<f64>,
}

/// Options of [`Choreography::new`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlendOptions {
    /// Crossfade length at each switch (s); 0 = hard cut.
    pub crossfade_s: f64,
    /// Align root position and heading at switches.
    pub align_root: bool,
    /// The dance enters from [`Pose::stand`] over its first `rest_s` seconds and returns to
    /// it over its last (0 = starts and ends mid-move).
    #[serde(default)]
    pub rest_s: f64,
}

impl Default for BlendOptions {
    fn default() -> Self {
        BlendOptions {
            crossfade_s: 0.25,
            align_root: true,
            rest_s: 0.0,
        }
    }
}

/// A prepared slot.
#[derive(Clone, Debug)]
pub struct PlacedSlot {
    /// The request.
    pub slot: Slot,
    /// Its time-warp.
    pub map: TimeMap,
    /// Heading change applied (radians about +Y).
    pub yaw: f64,
    /// Translation applied after the turn.
    pub shift: Vec3,
}

impl PlacedSlot {
    /// The slot's aligned pose at music time `t` (extrapolating past its span).
    pub fn pose(&self, t: f64) -> Pose {
        self.slot
            .phrase
            .sample(self.map.phrase_time(t))
            .transformed(self.yaw, self.shift)
    }
}

/// A continuous dance assembled from phrases (see the module docs).
#[derive(Clone, Debug)]
pub struct Choreography {
    /// Slots in time order.
    pub slots: Vec<PlacedSlot>,
    /// Options used.
    pub options: BlendOptions,
}

fn smoothstep(w: f64) -> f64 {
    let w = w.clamp(0.0, 1.0);
    w * w * (3.0 - 2.0 * w)
}

impl Choreography {
    /// Time-warps and aligns the slots. Errors if there are none, if spans are empty or
    /// out of order, or if a phrase has no frames.
    pub fn new(slots: Vec<Slot>, options: BlendOptions) -> Result<Choreography, MotionError> {
        if slots.is_empty() {
            return Err(MotionError::invalid("choreography", "no slots"));
        }
        let mut placed: Vec<PlacedSlot> = Vec::with_capacity(slots.len());
        for (k, slot) in slots.into_iter().enumerate() {
            if !(slot.start.is_finite() && slot.end.is_finite() && slot.end > slot.start) {
                return Err(MotionError::invalid(
                    "choreography",
                    format!(
                        "slot {k}: empty or invalid span {}..{}",
                        slot.start, slot.end
                    ),
                ));
            }
            if slot.phrase.clip.is_empty() {
                return Err(MotionError::invalid(
                    "choreography",
                    format!("slot {k}: phrase `{}` has no frames", slot.phrase.id),
                ));
            }
            if let Some(prev) = placed.last()
                && slot.start < prev.slot.start
            {
                return Err(MotionError::invalid(
                    "choreography",
                    format!("slot {k} starts before slot {}", k - 1),
                ));
            }
            let map = TimeMap::new(&slot.phrase.beats, &slot.music_beats, slot.start, slot.end);
            let raw = slot.phrase.sample(map.phrase_time(slot.start));
            let (yaw, shift) = if !options.align_root {
                (0.0, Vec3::ZERO)
            } else {
                let (target_heading, target_root) = match placed.last() {
                    Some(prev) => {
                        let p = prev.pose(slot.start);
                        (p.heading(), p.root)
                    }
                    None => (0.0, Vec3::ZERO),
                };
                let yaw = wrap_angle(target_heading - raw.heading());
                let turned = Quat::from_yaw(yaw).rotate(raw.root);
                (yaw, (target_root - turned).xz())
            };
            placed.push(PlacedSlot {
                slot,
                map,
                yaw,
                shift,
            });
        }
        Ok(Choreography {
            slots: placed,
            options,
        })
    }

    /// End of the last span (s).
    pub fn duration(&self) -> f64 {
        self.slots.last().map_or(0.0, |s| s.slot.end)
    }

    /// Start of the first span (s).
    pub fn start(&self) -> f64 {
        self.slots.first().map_or(0.0, |s| s.slot.start)
    }

    /// Music times where one slot hands over to the next.
    pub fn switch_times(&self) -> Vec<f64> {
        self.slots.iter().skip(1).map(|s| s.slot.start).collect()
    }

    /// The pose at music time `t` (live preview); times outside the dance are clamped. With
    /// [`BlendOptions::rest_s`] the dance rises out of a standing pose at its start and
    /// settles back into it at its end (smoothstep weights, standing where the dancer is).
    pub fn sample(&self, t: f64) -> Pose {
        let t = t.clamp(self.start(), self.duration());
        let pose = self.sample_moving(t);
        let r = self.options.rest_s;
        if r.is_nan() || r <= 0.0 {
            return pose;
        }
        let w = smoothstep((t - self.start()) / r).min(smoothstep((self.duration() - t) / r));
        if w >= 1.0 {
            return pose;
        }
        Pose::interpolate(&pose.standing_like(), &pose, w)
    }

    /// [`Choreography::sample`] without the entry and the return.
    fn sample_moving(&self, t: f64) -> Pose {
        let n = self.slots.len();
        if n == 0 {
            return Pose::rest();
        }
        let k = self
            .slots
            .iter()
            .rposition(|s| s.slot.start <= t)
            .unwrap_or(0);
        let half = self.options.crossfade_s.max(0.0) * 0.5;
        if half > 0.0 {
            // fading in from the previous slot
            if k > 0 && t < self.slots[k].slot.start + half {
                let s = self.slots[k].slot.start;
                let w = smoothstep((t - (s - half)) / (2.0 * half));
                return Pose::interpolate(&self.slots[k - 1].pose(t), &self.slots[k].pose(t), w);
            }
            // fading out into the next slot
            if k + 1 < n && t >= self.slots[k + 1].slot.start - half {
                let s = self.slots[k + 1].slot.start;
                let w = smoothstep((t - (s - half)) / (2.0 * half));
                return Pose::interpolate(&self.slots[k].pose(t), &self.slots[k + 1].pose(t), w);
            }
        }
        self.slots[k].pose(t)
    }

    /// Bakes the dance at `fps` from its start to its end (inclusive of the last frame at or
    /// before the end).
    pub fn bake(&self, fps: f64) -> Clip {
        let fps = if fps > 0.0 { fps } else { 30.0 };
        let t0 = self.start();
        let n = ((self.duration() - t0) * fps + 1e-9).floor() as usize + 1;
        Clip {
            name: "choreography".into(),
            fps,
            poses: (0..n).map(|i| self.sample(t0 + i as f64 / fps)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::quat::Axis;
    use approx::assert_abs_diff_eq;

    #[test]
    fn quat_and_pose_blend() {
        let a = Quat::IDENTITY;
        let b = Quat::about(Axis::Y, 1.0);
        assert_abs_diff_eq!(
            Quat::interpolate(&a, &b, 0.25).angle(),
            0.25,
            epsilon = 1e-9
        );
        let v = Vec3::interpolate(&Vec3::ZERO, &Vec3::X, 0.5);
        assert_abs_diff_eq!(v.x, 0.5);
        let m = f64::blend(&[(0.0, 1.0), (10.0, 3.0)]).unwrap_or(f64::NAN);
        assert_abs_diff_eq!(m, 7.5, epsilon = 1e-12);
        assert!(f64::blend(&[(1.0, 0.0)]).is_none());
    }

    #[test]
    fn time_map_hits_every_beat_and_extrapolates() {
        let pb = [0.0, 0.5, 1.0, 1.5, 2.0];
        let mb = [10.0, 10.6, 11.2, 11.8];
        let m = TimeMap::new(&pb, &mb, 10.0, 12.4);
        // the span end is one beat after the last music beat: paired with the fifth beat
        assert_eq!(m.knots.len(), 5);
        for (t, u) in mb.iter().zip(pb) {
            assert_abs_diff_eq!(m.phrase_time(*t), u, epsilon = 1e-12);
        }
        assert_abs_diff_eq!(m.phrase_time(12.4), 2.0, epsilon = 1e-12);
        assert_abs_diff_eq!(m.phrase_time(9.4), -0.5, epsilon = 1e-12);
        let (lo, hi) = m.rate_range();
        assert_abs_diff_eq!(lo, 0.5 / 0.6, epsilon = 1e-12);
        assert_abs_diff_eq!(hi, 0.5 / 0.6, epsilon = 1e-12);
        let none = TimeMap::new(&pb, &[], 3.0, 5.0);
        assert_abs_diff_eq!(none.phrase_time(4.0), 1.0, epsilon = 1e-12);
    }

    /// With `rest_s` the dance starts and ends standing where the dancer is (arms lowered),
    /// blends into and out of its moves over `rest_s`, and is untouched in between.
    #[test]
    fn a_dance_rises_from_standing_and_settles_back() {
        use crate::motion::skeleton::{J, JOINT_COUNT};
        let lib = crate::motion::library::Library::starter().unwrap();
        let id = lib
            .index
            .phrases
            .iter()
            .find(|p| p.beats == 8 && !p.id.contains('~'))
            .unwrap()
            .id
            .clone();
        let slot = |start: f64| Slot {
            phrase: lib.phrase_clip(&id, 0.5).unwrap(),
            start,
            end: start + 4.0,
            music_beats: (0..8).map(|b| start + 0.5 * f64::from(b)).collect(),
        };
        let with = BlendOptions {
            rest_s: 0.5,
            ..BlendOptions::default()
        };
        let ch = Choreography::new(vec![slot(0.0), slot(4.0)], with).unwrap();
        let plain = Choreography::new(vec![slot(0.0), slot(4.0)], BlendOptions::default()).unwrap();
        let same = |a: &Pose, b: &Pose| {
            // angle_to of equal quaternions is acos(1 − ε): about 1e-8, not 0
            (a.root - b.root).length() < 1e-9
                && (0..JOINT_COUNT).all(|j| a.rot[j].angle_to(b.rot[j]) < 1e-6)
        };
        for t in [0.0, 8.0] {
            let stand = plain.sample(t).standing_like();
            assert!(same(&ch.sample(t), &stand), "standing at {t} s");
        }
        for t in [0.55, 2.0, 4.0, 7.45] {
            assert!(
                same(&ch.sample(t), &plain.sample(t)),
                "the dance itself at {t} s"
            );
        }
        let mid = ch.sample(0.25);
        assert!(
            !same(&mid, &plain.sample(0.25)) && !same(&mid, &plain.sample(0.25).standing_like())
        );
        // the stance: hands well below the shoulders, feet on the floor, facing the dance
        let w = Pose::stand().world();
        for (hand, shoulder) in [(J::LHand, J::LArm), (J::RHand, J::RArm)] {
            assert!(w.pos[hand.idx()].y < w.pos[shoulder.idx()].y - 0.4);
        }
        let m = plain.sample(0.0);
        assert!(wrap_angle(m.standing_like().heading() - m.heading()).abs() < 1e-9);
    }
}
