//! Clips on the canonical skeleton: sampling, slicing, resampling, grounding, foot contacts,
//! speed-plausibility checks, and conversion to and from canonical BVH.
//!
//! Speeds come from central differences of forward-kinematics positions after a light
//! Gaussian smoothing (σ = 20 ms, the 40 ms window the data README uses). Foot contacts use
//! the common height + speed test (foot point below 5 cm and slower than 0.5 m/s, as in
//! the contact labels of e.g. Holden et al. 2016/2017). A clip is *flagged* implausible
//! when the horizontal root speed stays above 8 m/s or a foot stays above 15 m/s for
//! 0.25 s. A *warning* is added when the 99th percentile of horizontal root acceleration
//! exceeds 12 m/s²: a partner dance cannot push the hips harder than floor friction allows,
//! and this is what exposes a frame rate claimed twice too high (the CMU salsa at its
//! header's 120 fps keeps speeds under the flag limits but reaches ≈ 16 m/s²); it is only a
//! warning because jumps and cartwheels legitimately get there.

use super::MotionError;
use super::bvh::{Bvh, BvhJoint, Channel};
use super::interpolate::Blend;
use super::quat::{Axis, Quat, Vec3};
use super::skeleton::{CANONICAL, JOINT_COUNT, Pose, WorldPose, joint_index};
use serde::{Deserialize, Serialize};

/// Sustained horizontal root speed above which a clip is implausible (m/s).
pub const ROOT_SPEED_LIMIT: f64 = 8.0;
/// Sustained foot speed above which a clip is implausible (m/s).
pub const FOOT_SPEED_LIMIT: f64 = 15.0;
/// 99th percentile of horizontal root acceleration above which a clip is implausible (m/s²).
pub const ROOT_ACCEL_LIMIT: f64 = 12.0;
/// How long a speed must stay above its limit to count as sustained (s).
pub const SUSTAIN_S: f64 = 0.25;
/// Contact: foot point at most this high above the floor (m).
pub const CONTACT_HEIGHT: f64 = 0.05;
/// Contact: foot point at most this fast (m/s).
pub const CONTACT_SPEED: f64 = 0.5;

/// A motion clip on the canonical skeleton at a fixed frame rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    /// Name (usually the source file stem).
    pub name: String,
    /// Frames per second.
    pub fps: f64,
    /// One pose per frame.
    pub poses: Vec<Pose>,
}

impl Clip {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.poses.len()
    }

    /// True when the clip has no frames.
    pub fn is_empty(&self) -> bool {
        self.poses.is_empty()
    }

    /// Seconds from the first to the last frame.
    pub fn duration(&self) -> f64 {
        if self.poses.len() < 2 || self.fps <= 0.0 {
            0.0
        } else {
            (self.poses.len() - 1) as f64 / self.fps
        }
    }

    /// The pose at `t` seconds after the first frame, interpolated between the two nearest
    /// frames (root lerp, per-joint slerp) and clamped to the clip.
    pub fn sample(&self, t: f64) -> Pose {
        let n = self.poses.len();
        if n == 0 {
            return Pose::rest();
        }
        let f = (t * self.fps).clamp(0.0, (n - 1) as f64);
        if !f.is_finite() {
            return self.poses[0];
        }
        let i = f.floor() as usize;
        let a = &self.poses[i.min(n - 1)];
        let b = &self.poses[(i + 1).min(n - 1)];
        Pose::interpolate(a, b, f - i as f64)
    }

    /// Frames `start..end` (clamped) as a new clip.
    pub fn slice(&self, start: usize, end: usize, name: impl Into<String>) -> Clip {
        let end = end.min(self.poses.len());
        let start = start.min(end);
        Clip {
            name: name.into(),
            fps: self.fps,
            poses: self.poses[start..end].to_vec(),
        }
    }

    /// The clip resampled to `fps` by interpolation (same duration, rounded down to whole
    /// frames).
    pub fn resample(&self, fps: f64) -> Clip {
        if fps <= 0.0 || self.poses.is_empty() {
            return self.clone();
        }
        let n = (self.duration() * fps + 1e-6).floor() as usize + 1;
        Clip {
            name: self.name.clone(),
            fps,
            poses: (0..n).map(|i| self.sample(i as f64 / fps)).collect(),
        }
    }

    /// Forward kinematics of every frame.
    pub fn world(&self) -> Vec<WorldPose> {
        self.poses.iter().map(Pose::world).collect()
    }

    /// Moves the clip vertically so that the feet touch the floor. The floor is the median
    /// height of the *slow* foot points (ankle or ball slower than [`CONTACT_SPEED`], each
    /// against its rest height): in a dance a supporting foot is down most of the time, and
    /// ignoring fast-moving feet keeps jumps (jetés, where many frames are airborne) from
    /// biasing the estimate upwards. Falls back to the median of the lower foot when no
    /// point is ever slow. Returns the shift (m).
    pub fn ground(&mut self) -> f64 {
        use super::skeleton::{ANKLE_HEIGHT, J, TOE_HEIGHT};
        let world = self.world();
        let mut slow = Vec::new();
        for (j, rest) in [
            (J::LFoot.idx(), ANKLE_HEIGHT),
            (J::LToe.idx(), TOE_HEIGHT),
            (J::RFoot.idx(), ANKLE_HEIGHT),
            (J::RToe.idx(), TOE_HEIGHT),
        ] {
            let pts: Vec<Vec3> = world.iter().map(|w| w.pos[j]).collect();
            let vel = velocities(&pts, self.fps.max(1e-9));
            // a slow point only counts if it is also the lowest point of its frame
            for (i, p) in pts.iter().enumerate() {
                let low = world[i].foot_height(true).min(world[i].foot_height(false));
                if vel[i].length() < CONTACT_SPEED && (p.y - rest - low).abs() < 1e-9 {
                    slow.push(p.y - rest);
                }
            }
        }
        let floor = if slow.len() >= world.len() / 4 {
            median(&mut slow)
        } else {
            let mut lows: Vec<f64> = world
                .iter()
                .map(|w| w.foot_height(true).min(w.foot_height(false)))
                .collect();
            median(&mut lows)
        };
        for p in &mut self.poses {
            p.root.y -= floor;
        }
        -floor
    }

    /// Converts to a BVH on the canonical skeleton (metres; root channels `Xposition
    /// Yposition Zposition Zrotation Xrotation Yrotation`, others `Zrotation Xrotation
    /// Yrotation`). Euler angles are unwrapped frame to frame (±360°) so that an importer
    /// interpolating channels does not spin through a wrap.
    pub fn to_bvh(&self) -> Bvh {
        let order = [Axis::Z, Axis::X, Axis::Y];
        let mut joints = Vec::with_capacity(JOINT_COUNT);
        let mut first = 0;
        for cjoint in &CANONICAL {
            let channels = if cjoint.parent.is_none() {
                vec![
                    Channel::XPos,
                    Channel::YPos,
                    Channel::ZPos,
                    Channel::ZRot,
                    Channel::XRot,
                    Channel::YRot,
                ]
            } else {
                vec![Channel::ZRot, Channel::XRot, Channel::YRot]
            };
            let n = channels.len();
            joints.push(BvhJoint {
                name: cjoint.name.to_string(),
                parent: cjoint.parent,
                offset: cjoint.offset,
                channels,
                first_channel: first,
                end_sites: cjoint.end.into_iter().collect(),
            });
            first += n;
        }
        let n_ch = first;
        let mut data = Vec::with_capacity(self.poses.len() * n_ch);
        let mut prev: Option<Vec<f64>> = None;
        for p in &self.poses {
            let mut row = Vec::with_capacity(n_ch);
            row.extend_from_slice(&[p.root.x, p.root.y, p.root.z]);
            for q in &p.rot {
                let e = q.to_euler(order);
                row.extend(e.iter().map(|a| a.to_degrees()));
            }
            if let Some(prev) = &prev {
                for k in 3..n_ch {
                    let d = row[k] - prev[k];
                    row[k] -= 360.0 * (d / 360.0).round();
                }
            }
            data.extend_from_slice(&row);
            prev = Some(row);
        }
        Bvh {
            joints,
            frame_time: if self.fps > 0.0 { 1.0 / self.fps } else { 0.0 },
            frames: self.poses.len(),
            data,
        }
    }

    /// Reads a BVH whose joints carry the canonical names and offsets (as written by
    /// [`Clip::to_bvh`]); the frame rate comes from the header unless `fps` is given.
    pub fn from_canonical_bvh(
        bvh: &Bvh,
        file: &str,
        fps: Option<f64>,
    ) -> Result<Clip, MotionError> {
        let mut map = [usize::MAX; JOINT_COUNT];
        for (c, cjoint) in CANONICAL.iter().enumerate() {
            let Some(i) = bvh.joint_index(cjoint.name) else {
                return Err(MotionError::invalid(
                    file,
                    format!(
                        "not a canonical-skeleton BVH: joint `{}` missing",
                        cjoint.name
                    ),
                ));
            };
            map[c] = i;
        }
        if !is_canonical(bvh) {
            return Err(MotionError::invalid(
                file,
                "joint names are canonical but the hierarchy or offsets differ; retarget it with the `canonical` rig map",
            ));
        }
        let mut poses = Vec::with_capacity(bvh.frames);
        for f in 0..bvh.frames {
            let frame = bvh.frame(f);
            let mut p = Pose::rest();
            for (c, &i) in map.iter().enumerate() {
                let (t, q) = bvh.local_transform(i, frame);
                p.rot[c] = q;
                if c == 0 {
                    p.root = t;
                }
            }
            poses.push(p);
        }
        Ok(Clip {
            name: file_stem(file),
            fps: fps.unwrap_or_else(|| bvh.fps()),
            poses,
        })
    }
}

/// True when the BVH has exactly the canonical joints, parents and offsets (±1 mm).
pub fn is_canonical(bvh: &Bvh) -> bool {
    bvh.joints.len() == JOINT_COUNT
        && bvh.joints.iter().all(|j| {
            joint_index(&j.name).is_some_and(|c| {
                let cj = &CANONICAL[c];
                let parent_ok = match (j.parent, cj.parent) {
                    (None, None) => true,
                    (Some(p), Some(cp)) => bvh.joints[p].name == CANONICAL[cp].name,
                    _ => false,
                };
                parent_ok && (j.offset - cj.offset).length() < 1e-3
            })
        })
}

/// The stem of a file name (`dir/60_01.bvh` → `60_01`).
pub fn file_stem(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Median of a slice (reorders it); 0 for an empty slice. NaNs sort last.
pub fn median(v: &mut [f64]) -> f64 {
    percentile(v, 50.0)
}

/// Percentile `p` (0–100) by linear interpolation between order statistics; 0 when empty.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let r = (p / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let i = r.floor() as usize;
    let j = (i + 1).min(v.len() - 1);
    v[i] + (v[j] - v[i]) * (r - i as f64)
}

/// Gaussian smoothing of a signal (σ in samples), with edges handled by renormalising the
/// kernel. σ ≤ 0 returns a copy.
pub fn gaussian_smooth(x: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 || x.len() < 2 {
        return x.to_vec();
    }
    let r = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-r..=r)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let n = x.len() as isize;
    (0..n)
        .map(|i| {
            let mut s = 0.0;
            let mut w = 0.0;
            for (ki, k) in (-r..=r).enumerate() {
                let j = i + k;
                if (0..n).contains(&j) {
                    s += kernel[ki] * x[j as usize];
                    w += kernel[ki];
                }
            }
            s / w
        })
        .collect()
}

/// Smooths a trajectory of points component-wise.
pub fn smooth_points(p: &[Vec3], sigma: f64) -> Vec<Vec3> {
    let xs = gaussian_smooth(&p.iter().map(|v| v.x).collect::<Vec<_>>(), sigma);
    let ys = gaussian_smooth(&p.iter().map(|v| v.y).collect::<Vec<_>>(), sigma);
    let zs = gaussian_smooth(&p.iter().map(|v| v.z).collect::<Vec<_>>(), sigma);
    (0..p.len())
        .map(|i| Vec3::new(xs[i], ys[i], zs[i]))
        .collect()
}

/// Central-difference velocities (units per second); one-sided at the ends.
pub fn velocities(p: &[Vec3], fps: f64) -> Vec<Vec3> {
    let n = p.len();
    (0..n)
        .map(|i| {
            if n < 2 {
                Vec3::ZERO
            } else if i == 0 {
                (p[1] - p[0]) * fps
            } else if i == n - 1 {
                (p[n - 1] - p[n - 2]) * fps
            } else {
                (p[i + 1] - p[i - 1]) * (0.5 * fps)
            }
        })
        .collect()
}

/// Per-frame foot contacts `[left, right]`: a foot is down when its ankle or ball (each
/// tracked on its own, against its rest height) is below [`CONTACT_HEIGHT`] and slower than
/// [`CONTACT_SPEED`].
pub fn foot_contacts(world: &[WorldPose], fps: f64) -> Vec<[bool; 2]> {
    use super::skeleton::{ANKLE_HEIGHT, TOE_HEIGHT, foot_joints};
    let mut out = vec![[false; 2]; world.len()];
    for (s, left) in [true, false].into_iter().enumerate() {
        let (a, t) = foot_joints(left);
        for (j, rest) in [(a, ANKLE_HEIGHT), (t, TOE_HEIGHT)] {
            let pts: Vec<Vec3> = world.iter().map(|w| w.pos[j]).collect();
            let vel = velocities(&pts, fps);
            for (i, p) in pts.iter().enumerate() {
                if p.y - rest < CONTACT_HEIGHT && vel[i].length() < CONTACT_SPEED {
                    out[i][s] = true;
                }
            }
        }
    }
    out
}

/// Speed statistics and implausibility flags of a clip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plausibility {
    /// Median horizontal root speed (m/s).
    pub root_speed_median: f64,
    /// 95th percentile of horizontal root speed (m/s).
    pub root_speed_p95: f64,
    /// Highest horizontal root speed held for [`SUSTAIN_S`] (m/s).
    pub root_speed_sustained: f64,
    /// 99th percentile of foot speed (m/s).
    pub foot_speed_p99: f64,
    /// Highest foot speed held for [`SUSTAIN_S`] (m/s).
    pub foot_speed_sustained: f64,
    /// 99th percentile of horizontal root acceleration (m/s²).
    pub root_accel_p99: f64,
    /// Human-readable reasons the clip is implausible; empty when plausible.
    pub flags: Vec<String>,
    /// Suspicious but possibly legitimate findings (high root acceleration).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Plausibility {
    /// True when nothing was flagged.
    pub fn is_plausible(&self) -> bool {
        self.flags.is_empty()
    }
}

/// Measures root and foot speeds and flags implausible clips (see the module docs).
pub fn plausibility(clip: &Clip) -> Plausibility {
    let fps = clip.fps.max(1e-9);
    let world = clip.world();
    let sigma = 0.02 * fps;
    let root: Vec<Vec3> = world.iter().map(|w| w.pos[0].xz()).collect();
    let root = smooth_points(&root, sigma);
    let rv = velocities(&root, fps);
    let mut root_speed: Vec<f64> = rv.iter().map(|v| v.length()).collect();
    let mut root_acc: Vec<f64> = velocities(&rv, fps).iter().map(|a| a.length()).collect();
    let mut foot_speed_all = Vec::new();
    let mut foot_sustained: f64 = 0.0;
    for left in [true, false] {
        for j in [
            super::skeleton::foot_joints(left).0,
            super::skeleton::foot_joints(left).1,
        ] {
            let pts: Vec<Vec3> = world.iter().map(|w| w.pos[j]).collect();
            let sp: Vec<f64> = velocities(&smooth_points(&pts, sigma), fps)
                .iter()
                .map(|v| v.length())
                .collect();
            foot_sustained = foot_sustained.max(sustained_max(&sp, fps));
            foot_speed_all.extend(sp);
        }
    }
    let root_sustained = sustained_max(&root_speed, fps);
    let p = Plausibility {
        root_speed_median: median(&mut root_speed.clone()),
        root_speed_p95: percentile(&mut root_speed, 95.0),
        root_speed_sustained: root_sustained,
        foot_speed_p99: percentile(&mut foot_speed_all, 99.0),
        foot_speed_sustained: foot_sustained,
        root_accel_p99: percentile(&mut root_acc, 99.0),
        flags: Vec::new(),
        warnings: Vec::new(),
    };
    let mut flags = Vec::new();
    if p.root_speed_sustained > ROOT_SPEED_LIMIT {
        flags.push(format!(
            "root speed {:.1} m/s sustained for {SUSTAIN_S} s (limit {ROOT_SPEED_LIMIT})",
            p.root_speed_sustained
        ));
    }
    if p.foot_speed_sustained > FOOT_SPEED_LIMIT {
        flags.push(format!(
            "foot speed {:.1} m/s sustained for {SUSTAIN_S} s (limit {FOOT_SPEED_LIMIT})",
            p.foot_speed_sustained
        ));
    }
    let mut warnings = Vec::new();
    if p.root_accel_p99 > ROOT_ACCEL_LIMIT {
        warnings.push(format!(
            "root acceleration {:.1} m/s² at the 99th percentile (limit {ROOT_ACCEL_LIMIT}): frame rate too high?",
            p.root_accel_p99
        ));
    }
    Plausibility {
        flags,
        warnings,
        ..p
    }
}

/// The largest value a signal stays above for [`SUSTAIN_S`]: the maximum over windows of
/// the window minimum.
fn sustained_max(x: &[f64], fps: f64) -> f64 {
    let w = ((SUSTAIN_S * fps).round() as usize).max(1);
    if x.len() < w {
        return x.iter().copied().fold(0.0, f64::min);
    }
    x.windows(w)
        .map(|win| win.iter().copied().fold(f64::INFINITY, f64::min))
        .fold(0.0, f64::max)
}

/// Rotation of `q` expressed as the intrinsic ZXY Euler angles in degrees (for reports).
pub fn euler_zxy_degrees(q: Quat) -> [f64; 3] {
    q.to_euler([Axis::Z, Axis::X, Axis::Y]).map(f64::to_degrees)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn walking_clip(speed: f64, fps: f64, frames: usize) -> Clip {
        let poses = (0..frames)
            .map(|i| {
                let mut p = Pose::rest();
                p.root.z = speed * i as f64 / fps;
                p.root.y += 0.1;
                p.rot[J_LARM] = Quat::about(Axis::Z, (i as f64 * 0.1).sin());
                p
            })
            .collect();
        Clip {
            name: "walk".into(),
            fps,
            poses,
        }
    }
    const J_LARM: usize = super::super::skeleton::J::LArm.idx();

    #[test]
    fn grounding_and_bvh_round_trip() {
        let mut c = walking_clip(1.0, 30.0, 40);
        let shift = c.ground();
        assert_abs_diff_eq!(shift, -0.1, epsilon = 1e-9);
        let bvh = c.to_bvh();
        let text = bvh.to_string_with(6);
        let back = Bvh::parse(text.as_bytes(), "walk.bvh").unwrap();
        assert!(is_canonical(&back));
        let d = Clip::from_canonical_bvh(&back, "walk.bvh", None).unwrap();
        assert_eq!(d.len(), c.len());
        assert_abs_diff_eq!(d.fps, 30.0, epsilon = 1e-6);
        for (a, b) in c.poses.iter().zip(&d.poses) {
            assert!((a.root - b.root).length() < 1e-5);
            for (qa, qb) in a.rot.iter().zip(&b.rot) {
                assert!(qa.angle_to(*qb) < 1e-5);
            }
        }
    }

    #[test]
    fn speeds_and_flags() {
        let slow = plausibility(&walking_clip(1.2, 60.0, 120));
        assert_abs_diff_eq!(slow.root_speed_median, 1.2, epsilon = 1e-6);
        assert!(slow.is_plausible(), "{:?}", slow.flags);
        let fast = plausibility(&walking_clip(9.0, 60.0, 120));
        assert!(!fast.is_plausible());
        assert!(fast.flags[0].contains("root speed"), "{:?}", fast.flags);
    }

    #[test]
    fn sample_interpolates_and_resample_keeps_duration() {
        let c = walking_clip(1.0, 30.0, 31);
        let p = c.sample(0.5 / 30.0);
        assert_abs_diff_eq!(p.root.z, 0.5 / 30.0, epsilon = 1e-12);
        let r = c.resample(60.0);
        assert_eq!(r.len(), 61);
        assert_abs_diff_eq!(r.duration(), c.duration(), epsilon = 1e-12);
    }

    #[test]
    fn percentiles() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_abs_diff_eq!(median(&mut v), 3.0);
        assert_abs_diff_eq!(percentile(&mut v, 25.0), 2.0);
        let s = gaussian_smooth(&[0.0, 0.0, 3.0, 0.0, 0.0], 1.0);
        assert!(s[2] < 3.0 && s[1] > 0.0);
        assert_abs_diff_eq!(s.iter().sum::<f64>(), 3.0, epsilon = 0.3);
    }
}
