//! What one preview frame shows ([`Scene`]) and how a pose becomes capsule instances.
//!
//! Every body part is the same capsule mesh: a bone is a capsule between two joints, a joint
//! or the head is a capsule of length zero (a sphere). So the whole figure is one instanced
//! draw call.

use super::camera::OrbitCamera;
use crate::motion::Vec3;
use crate::motion::skeleton::{CANONICAL, J, JOINT_COUNT, Pose, Side, WorldPose, side_of};
use bytemuck::{Pod, Zeroable};

/// One preview frame: the pose to draw, the camera and the transition highlight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scene {
    /// World-space pose (forward kinematics of a [`Pose`]).
    pub pose: WorldPose,
    /// The viewpoint.
    pub camera: OrbitCamera,
    /// How strongly the figure is tinted as "in a transition" (0 = not at all, 1 = fully);
    /// the caller passes e.g. the crossfade weight.
    pub transition: f32,
    /// Whether the floor grid and the shadows are drawn.
    pub floor: bool,
    /// A second figure drawn beside the first in muted colours (a recorded take next to its
    /// blended dance).
    pub companion: Option<WorldPose>,
}

impl Default for Scene {
    /// The rest pose seen by the default camera.
    fn default() -> Self {
        Scene::new(Pose::rest().world(), OrbitCamera::default())
    }
}

impl Scene {
    /// A scene without transition highlight, with the floor.
    pub fn new(pose: WorldPose, camera: OrbitCamera) -> Self {
        Scene {
            pose,
            camera,
            transition: 0.0,
            floor: true,
            companion: None,
        }
    }
}

/// One capsule on the GPU (an instance of the capsule mesh): from `a` to `b` with `radius`.
/// Joints are spheres (`a == b`) drawn darker than the bones.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Capsule {
    /// Start point (world, metres).
    pub a: [f32; 3],
    /// Radius (metres).
    pub radius: f32,
    /// End point; equal to `a` for a sphere.
    pub b: [f32; 3],
    /// Which part of the body: 0 centre, 1 left, 2 right (the colour is already in `color`;
    /// kept for tests and picking).
    pub side: f32,
    /// Linear RGB albedo; alpha unused (1).
    pub color: [f32; 4],
}

/// Upper bound of [`figure_capsules`]'s output (bones + end sites + joints + head).
pub const MAX_CAPSULES: usize = 2 * FIGURE_CAPSULES;
/// Capsules one figure needs at most.
pub const FIGURE_CAPSULES: usize = 2 * JOINT_COUNT + 8;

/// Linear RGB from sRGB bytes (the palette is picked by eye in sRGB).
pub fn srgb(r: u8, g: u8, b: u8) -> [f32; 3] {
    let f = |c: u8| {
        let c = c as f32 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    [f(r), f(g), f(b)]
}

/// The figure's colour of one body side as sRGB bytes: a neutral light grey mannequin, its
/// left limbs a cool tint, its right limbs a warm one. The 3-D preview, the video and the
/// editor's pose thumbnails all draw the dancer in these.
pub fn side_srgb(side: Side) -> [u8; 3] {
    match side {
        Side::Centre => [206, 208, 214],
        Side::Left => [132, 180, 232],
        Side::Right => [236, 156, 118],
    }
}

/// Radius of the bone that ends at joint `j` (metres): a slim mannequin, thicker torso.
fn bone_radius(j: usize) -> f32 {
    match CANONICAL[j].name {
        "spine" | "spine1" => 0.105,
        "chest" => 0.115,
        "neck" => 0.045,
        "head" => 0.05,
        "l_shoulder" | "r_shoulder" => 0.05,
        "l_arm" | "r_arm" => 0.05,
        "l_forearm" | "r_forearm" => 0.046,
        "l_hand" | "r_hand" => 0.038,
        "l_upleg" | "r_upleg" => 0.068,
        "l_leg" | "r_leg" => 0.056,
        "l_foot" | "r_foot" => 0.048,
        "l_toe" | "r_toe" => 0.045,
        _ => 0.05,
    }
}

fn f3(v: Vec3) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

/// The capsules that draw `pose`, in `out` (cleared first). Non-finite joints are skipped so
/// one bad frame of a clip draws a partial figure instead of garbage.
pub fn figure_capsules(pose: &WorldPose, out: &mut Vec<Capsule>) {
    out.clear();
    let color_of = |s: Side| -> ([f32; 3], f32) {
        let [r, g, b] = side_srgb(s);
        let index = match s {
            Side::Centre => 0.0,
            Side::Left => 1.0,
            Side::Right => 2.0,
        };
        (srgb(r, g, b), index)
    };
    let mut push = |a: Vec3, b: Vec3, radius: f32, s: Side, shade: f32| {
        if a.is_finite() && b.is_finite() {
            let (c, side) = color_of(s);
            out.push(Capsule {
                a: f3(a),
                radius,
                b: f3(b),
                side,
                color: [c[0] * shade, c[1] * shade, c[2] * shade, 1.0],
            });
        }
    };
    let head = J::Head.idx();
    for (j, joint) in CANONICAL.iter().enumerate() {
        let Some(p) = joint.parent else { continue };
        // The limb's colour goes from its first joint on (the clavicle and hip bones belong to
        // the limb), the spine/neck stay neutral.
        push(pose.pos[p], pose.pos[j], bone_radius(j), side_of(j), 1.0);
        if j != head
            && let Some(end) = pose.end_site(j)
        {
            push(pose.pos[j], end, bone_radius(j) * 0.85, side_of(j), 1.0);
        }
    }
    // Joints: slightly larger, darker spheres read as articulations.
    for j in 0..JOINT_COUNT {
        if j == head || j == J::Hips.idx() {
            continue;
        }
        let r = bone_radius(j).max(
            crate::motion::skeleton::children(j)
                .map(bone_radius)
                .fold(0.0, f32::max),
        ) * 1.12;
        push(pose.pos[j], pose.pos[j], r.min(0.09), side_of(j), 0.55);
    }
    // Pelvis: a wide flat-ish body between the hip joints.
    push(
        pose.pos[J::LUpLeg.idx()],
        pose.pos[J::RUpLeg.idx()],
        0.1,
        Side::Centre,
        1.0,
    );
    // Head: a sphere between the skull base and the top of the head.
    if let Some(top) = pose.end_site(head) {
        let base = pose.pos[head];
        let centre = base.lerp(top, 0.5);
        push(centre, centre, 0.105, Side::Centre, 1.0);
    }
}

/// The capsules of a scene: its figure, then the companion's (if any) in muted colours.
pub fn scene_capsules(scene: &Scene, out: &mut Vec<Capsule>) {
    figure_capsules(&scene.pose, out);
    if let Some(c) = &scene.companion {
        let mut more = Vec::with_capacity(FIGURE_CAPSULES);
        figure_capsules(c, &mut more);
        for k in &mut more {
            // desaturated and a little darker: the reference, not the dance
            let grey = (k.color[0] + k.color[1] + k.color[2]) / 3.0;
            for ch in 0..3 {
                k.color[ch] = 0.65 * (0.5 * k.color[ch] + 0.5 * grey);
            }
            k.color[2] = (k.color[2] * 1.25).min(1.0);
        }
        out.extend(more);
    }
    out.truncate(MAX_CAPSULES);
}

/// Where the contact shadows go: the hips (x, height, z) and each foot's lowest point
/// (x, height above its resting contact, z). Non-finite input puts a shadow far away.
pub fn shadow_points(pose: &WorldPose) -> [[f32; 3]; 3] {
    let far = [0.0, 1000.0, 0.0];
    let hips = pose.pos[J::Hips.idx()];
    let foot = |left: bool| {
        let p = pose.foot_point(left);
        let h = pose.foot_height(left);
        if p.is_finite() && h.is_finite() {
            [p.x as f32, h.max(0.0) as f32, p.z as f32]
        } else {
            far
        }
    };
    [
        if hips.is_finite() { f3(hips) } else { far },
        foot(true),
        foot(false),
    ]
}

/// All joint positions and end sites of `pose` (metres): what the figure covers, for
/// bounding boxes in tests and for framing.
pub fn figure_points(pose: &WorldPose) -> Vec<[f32; 3]> {
    let mut v: Vec<[f32; 3]> = pose.pos.iter().map(|p| f3(*p)).collect();
    v.extend((0..JOINT_COUNT).filter_map(|j| pose.end_site(j).map(f3)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_pose_capsules() {
        let mut caps = Vec::new();
        figure_capsules(&Pose::rest().world(), &mut caps);
        assert!(caps.len() <= FIGURE_CAPSULES, "{}", caps.len());
        // 21 bones + 4 end-site bones (hands, toes) + 20 joints + pelvis + head
        assert_eq!(caps.len(), 21 + 4 + 20 + 2);
        let left = caps.iter().filter(|c| c.side == 1.0).count();
        let right = caps.iter().filter(|c| c.side == 2.0).count();
        assert_eq!(left, right);
        // the left hand's end site is at +X
        assert!(caps.iter().any(|c| c.side == 1.0 && c.b[0] > 0.8));
    }

    #[test]
    fn a_companion_is_drawn_beside_in_muted_colours() {
        let rest = Pose::rest();
        let mut scene = Scene::new(rest.world(), OrbitCamera::default());
        let mut one = Vec::new();
        scene_capsules(&scene, &mut one);
        scene.companion = Some(rest.transformed(0.0, Vec3::new(1.2, 0.0, 0.0)).world());
        let mut two = Vec::new();
        scene_capsules(&scene, &mut two);
        assert_eq!(two.len(), 2 * one.len());
        assert_eq!(&two[..one.len()], one.as_slice());
        let (a, b) = (&two[0], &two[one.len()]);
        assert!((b.a[0] - a.a[0] - 1.2).abs() < 1e-5, "placed beside");
        assert_ne!(a.color, b.color, "muted");
    }

    #[test]
    fn non_finite_joints_are_skipped() {
        let mut w = Pose::rest().world();
        w.pos[J::LHand.idx()] = Vec3::new(f64::NAN, 0.0, 0.0);
        let mut caps = Vec::new();
        figure_capsules(&w, &mut caps);
        assert!(
            caps.iter()
                .all(|c| c.a[0].is_finite() && c.b[0].is_finite())
        );
        assert!(caps.len() < 47);
    }
}
