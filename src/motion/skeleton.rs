//! The canonical humanoid skeleton every clip is retargeted onto, poses on it and forward
//! kinematics.
//!
//! 22 joints in a T-pose (arms along ±X, legs down −Y), facing +Z, the figure's left on +X,
//! Y up, metres, sized for a 1.75 m adult: hips 0.97 m above the floor, leg (thigh + shin)
//! 0.83 m, arm span 1.74 m. Every joint's rest (zero-rotation) frame is aligned with the
//! world axes, so a local rotation is a rotation relative to the T-pose. Forward kinematics
//! is the usual parent-before-child recursion `R_w(j) = R_w(parent) · R_l(j)`,
//! `p_w(j) = p_w(parent) + R_w(parent) · offset(j)`.

use super::quat::{Quat, Vec3};
use serde::{Deserialize, Serialize};

/// Number of canonical joints.
pub const JOINT_COUNT: usize = 22;

/// Height of the hips above the floor in the rest pose (metres).
pub const HIPS_HEIGHT: f64 = 0.97;

/// Named indices of the canonical joints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum J {
    /// Pelvis; the root.
    Hips = 0,
    /// Lower spine.
    Spine,
    /// Middle spine.
    Spine1,
    /// Upper spine / chest.
    Chest,
    /// Neck base.
    Neck,
    /// Head.
    Head,
    /// Left clavicle.
    LShoulder,
    /// Left upper arm.
    LArm,
    /// Left forearm.
    LForearm,
    /// Left hand.
    LHand,
    /// Right clavicle.
    RShoulder,
    /// Right upper arm.
    RArm,
    /// Right forearm.
    RForearm,
    /// Right hand.
    RHand,
    /// Left thigh (hip joint).
    LUpLeg,
    /// Left shin (knee joint).
    LLeg,
    /// Left foot (ankle joint).
    LFoot,
    /// Left toes (ball of the foot).
    LToe,
    /// Right thigh (hip joint).
    RUpLeg,
    /// Right shin (knee joint).
    RLeg,
    /// Right foot (ankle joint).
    RFoot,
    /// Right toes (ball of the foot).
    RToe,
}

impl J {
    /// Index into pose arrays.
    pub const fn idx(self) -> usize {
        self as usize
    }
}

/// One joint of the canonical skeleton.
#[derive(Clone, Copy, Debug)]
pub struct CanonicalJoint {
    /// Name used in BVH files and rig maps.
    pub name: &'static str,
    /// Parent index (`None` for the root).
    pub parent: Option<usize>,
    /// Offset from the parent in the rest pose (metres).
    pub offset: Vec3,
    /// End-site offset for leaf joints (metres).
    pub end: Option<Vec3>,
}

const fn cj(
    name: &'static str,
    parent: Option<usize>,
    offset: Vec3,
    end: Option<Vec3>,
) -> CanonicalJoint {
    CanonicalJoint {
        name,
        parent,
        offset,
        end,
    }
}

const fn v(x: f64, y: f64, z: f64) -> Vec3 {
    Vec3::new(x, y, z)
}

/// The canonical skeleton, parents before children.
pub const CANONICAL: [CanonicalJoint; JOINT_COUNT] = [
    cj("hips", None, v(0.0, 0.0, 0.0), None),
    cj("spine", Some(0), v(0.0, 0.10, 0.0), None),
    cj("spine1", Some(1), v(0.0, 0.12, 0.0), None),
    cj("chest", Some(2), v(0.0, 0.12, 0.0), None),
    cj("neck", Some(3), v(0.0, 0.17, 0.0), None),
    cj("head", Some(4), v(0.0, 0.09, 0.01), Some(v(0.0, 0.18, 0.0))),
    cj("l_shoulder", Some(3), v(0.03, 0.13, 0.0), None),
    cj("l_arm", Some(6), v(0.13, 0.0, 0.0), None),
    cj("l_forearm", Some(7), v(0.28, 0.0, 0.0), None),
    cj(
        "l_hand",
        Some(8),
        v(0.25, 0.0, 0.0),
        Some(v(0.18, 0.0, 0.0)),
    ),
    cj("r_shoulder", Some(3), v(-0.03, 0.13, 0.0), None),
    cj("r_arm", Some(10), v(-0.13, 0.0, 0.0), None),
    cj("r_forearm", Some(11), v(-0.28, 0.0, 0.0), None),
    cj(
        "r_hand",
        Some(12),
        v(-0.25, 0.0, 0.0),
        Some(v(-0.18, 0.0, 0.0)),
    ),
    cj("l_upleg", Some(0), v(0.09, -0.06, 0.0), None),
    cj("l_leg", Some(14), v(0.0, -0.42, 0.0), None),
    cj("l_foot", Some(15), v(0.0, -0.41, 0.0), None),
    cj(
        "l_toe",
        Some(16),
        v(0.0, -0.06, 0.13),
        Some(v(0.0, 0.0, 0.07)),
    ),
    cj("r_upleg", Some(0), v(-0.09, -0.06, 0.0), None),
    cj("r_leg", Some(18), v(0.0, -0.42, 0.0), None),
    cj("r_foot", Some(19), v(0.0, -0.41, 0.0), None),
    cj(
        "r_toe",
        Some(20),
        v(0.0, -0.06, 0.13),
        Some(v(0.0, 0.0, 0.07)),
    ),
];

/// Height above the floor of the ankle joint in the rest pose (metres).
pub const ANKLE_HEIGHT: f64 = HIPS_HEIGHT - 0.06 - 0.42 - 0.41;
/// Height above the floor of the ball-of-foot joint in the rest pose (metres).
pub const TOE_HEIGHT: f64 = ANKLE_HEIGHT - 0.06;
/// Canonical leg length, thigh + shin (metres), used to scale root translation.
pub const LEG_LENGTH: f64 = 0.42 + 0.41;

/// Index of the canonical joint called `name`.
pub fn joint_index(name: &str) -> Option<usize> {
    CANONICAL.iter().position(|j| j.name == name)
}

/// Children of a canonical joint.
pub fn children(j: usize) -> impl Iterator<Item = usize> {
    (0..JOINT_COUNT).filter(move |&c| CANONICAL[c].parent == Some(j))
}

/// A pose on the canonical skeleton: root position (world, metres) and local rotations
/// relative to the T-pose.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// World position of the hips.
    pub root: Vec3,
    /// Local joint rotations (index = [`J`]); the root's is its world rotation.
    pub rot: [Quat; JOINT_COUNT],
}

impl Default for Pose {
    fn default() -> Self {
        Pose::rest()
    }
}

impl Pose {
    /// The T-pose standing on the floor at the origin.
    pub fn rest() -> Pose {
        Pose {
            root: Vec3::new(0.0, HIPS_HEIGHT, 0.0),
            rot: [Quat::IDENTITY; JOINT_COUNT],
        }
    }

    /// Standing at ease at the origin, facing +Z: the rest pose with the upper arms lowered
    /// 80° (the T-pose of [`Pose::rest`] is a skeleton convention, not a stance). A dance
    /// enters from it and returns to it.
    pub fn stand() -> Pose {
        let mut p = Pose::rest();
        let lower = 80f64.to_radians();
        p.rot[J::LArm.idx()] = Quat::from_axis_angle(Vec3::Z, -lower);
        p.rot[J::RArm.idx()] = Quat::from_axis_angle(Vec3::Z, lower);
        p
    }

    /// [`Pose::stand`] where this pose stands: its hips' floor position and heading.
    pub fn standing_like(&self) -> Pose {
        let mut p = Pose::stand();
        p.root = Vec3::new(self.root.x, HIPS_HEIGHT, self.root.z);
        p.rot[0] = Quat::from_yaw(self.heading());
        p
    }

    /// Forward kinematics.
    pub fn world(&self) -> WorldPose {
        let mut w = WorldPose {
            pos: [Vec3::ZERO; JOINT_COUNT],
            rot: [Quat::IDENTITY; JOINT_COUNT],
        };
        for (j, joint) in CANONICAL.iter().enumerate() {
            match joint.parent {
                Some(p) => {
                    w.rot[j] = w.rot[p] * self.rot[j];
                    w.pos[j] = w.pos[p] + w.rot[p].rotate(joint.offset);
                }
                None => {
                    w.rot[j] = self.rot[j];
                    w.pos[j] = self.root;
                }
            }
        }
        w
    }

    /// Turns the whole pose about the vertical axis through the world origin by `yaw`
    /// radians, then moves it by `shift`.
    pub fn transformed(&self, yaw: f64, shift: Vec3) -> Pose {
        let q = Quat::from_yaw(yaw);
        let mut p = *self;
        p.root = q.rotate(self.root) + shift;
        p.rot[0] = (q * self.rot[0]).normalized();
        p
    }

    /// Heading of the hips (radians about +Y, 0 = facing +Z).
    pub fn heading(&self) -> f64 {
        heading_of(self.rot[0])
    }

    /// True when every number is finite.
    pub fn is_finite(&self) -> bool {
        self.root.is_finite() && self.rot.iter().all(|q| q.is_finite())
    }
}

/// Heading of a hips rotation: the yaw of its forward (+Z) axis, or of its left (+X) axis
/// turned back by 90° when the hips are pitched so far that forward is nearly vertical.
pub fn heading_of(q: Quat) -> f64 {
    let f = q.rotate(Vec3::Z);
    let l = q.rotate(Vec3::X);
    if f.x.hypot(f.z) > 0.3 * l.x.hypot(l.z) {
        f.x.atan2(f.z)
    } else {
        // left axis = forward turned by +90° about Y
        super::quat::wrap_angle(l.x.atan2(l.z) - std::f64::consts::FRAC_PI_2)
    }
}

/// Which side of the body a canonical joint belongs to (the preview and the thumbnails colour
/// by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Hips, spine, neck, head.
    Centre,
    /// The dancer's left (`l_…`).
    Left,
    /// The dancer's right (`r_…`).
    Right,
}

/// The side of canonical joint `j`, by its name.
pub fn side_of(j: usize) -> Side {
    let n = CANONICAL.get(j).map_or("", |c| c.name);
    if n.starts_with("l_") {
        Side::Left
    } else if n.starts_with("r_") {
        Side::Right
    } else {
        Side::Centre
    }
}

/// World-space joint positions and rotations of a pose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldPose {
    /// World positions.
    pub pos: [Vec3; JOINT_COUNT],
    /// World rotations.
    pub rot: [Quat; JOINT_COUNT],
}

impl WorldPose {
    /// World position of a leaf joint's end site, `None` if it has none.
    pub fn end_site(&self, j: usize) -> Option<Vec3> {
        CANONICAL[j]
            .end
            .map(|e| self.pos[j] + self.rot[j].rotate(e))
    }

    /// Height above the floor of a foot's lowest point (ankle or ball, each minus its rest
    /// height), for `left = true` or the right foot.
    pub fn foot_height(&self, left: bool) -> f64 {
        let (a, t) = foot_joints(left);
        (self.pos[a].y - ANKLE_HEIGHT).min(self.pos[t].y - TOE_HEIGHT)
    }

    /// The foot point (ankle or ball) that is currently lowest relative to its rest height.
    pub fn foot_point(&self, left: bool) -> Vec3 {
        let (a, t) = foot_joints(left);
        if self.pos[a].y - ANKLE_HEIGHT <= self.pos[t].y - TOE_HEIGHT {
            self.pos[a]
        } else {
            self.pos[t]
        }
    }
}

/// (ankle, ball) joint indices of a foot.
pub fn foot_joints(left: bool) -> (usize, usize) {
    if left {
        (J::LFoot.idx(), J::LToe.idx())
    } else {
        (J::RFoot.idx(), J::RToe.idx())
    }
}

/// World positions of the rest pose.
pub fn rest_positions() -> [Vec3; JOINT_COUNT] {
    Pose::rest().world().pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn rest_pose_geometry() {
        let w = Pose::rest().world();
        assert_abs_diff_eq!(w.foot_height(true), 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(w.pos[J::LFoot.idx()].y, ANKLE_HEIGHT, epsilon = 1e-12);
        assert_abs_diff_eq!(ANKLE_HEIGHT, 0.08, epsilon = 1e-12);
        let head_top = w.end_site(J::Head.idx()).map_or(0.0, |p| p.y);
        assert_abs_diff_eq!(head_top, 1.75, epsilon = 1e-9);
        let span = w.end_site(J::LHand.idx()).map_or(0.0, |p| p.x)
            - w.end_site(J::RHand.idx()).map_or(0.0, |p| p.x);
        assert!((1.6..1.9).contains(&span), "{span}");
        for (j, joint) in CANONICAL.iter().enumerate() {
            if let Some(p) = joint.parent {
                assert!(p < j, "parent after child at {}", joint.name);
            }
        }
        assert_eq!(joint_index("r_toe"), Some(J::RToe.idx()));
    }

    #[test]
    fn transformed_turns_about_vertical() {
        let p = Pose::rest().transformed(std::f64::consts::FRAC_PI_2, Vec3::new(1.0, 0.0, 0.0));
        assert_abs_diff_eq!(p.heading(), std::f64::consts::FRAC_PI_2, epsilon = 1e-12);
        let w = p.world();
        // the left hand (+X at rest) now points along -Z
        assert!(w.pos[J::LHand.idx()].z < -0.5);
        assert_abs_diff_eq!(w.pos[0].x, 1.0, epsilon = 1e-12);
    }
}
