//! The orbit camera of the preview and the few 4×4 matrix helpers the renderer needs.
//!
//! Matrices are column-major `[[f32; 4]; 4]` (`m[column][row]`), the layout WGSL's
//! `mat4x4<f32>` expects, right-handed, clip depth 0..1 (wgpu's convention).

use crate::motion::skeleton::{J, WorldPose};

/// Column-major 4×4 matrix.
pub type Mat4 = [[f32; 4]; 4];

/// Vertical field of view of the preview (radians): a moderate telephoto that keeps the
/// figure's proportions natural at dancing distance.
pub const FOV_Y: f32 = 0.6;
/// Near clip plane (metres).
pub const NEAR: f32 = 0.05;
/// Far clip plane (metres); the floor grid fades out well before it.
pub const FAR: f32 = 200.0;
/// Lowest pitch: slightly below the floor would show the grid from underneath.
pub const MIN_PITCH: f32 = -0.05;
/// Highest pitch: just short of straight down, where the up vector degenerates.
pub const MAX_PITCH: f32 = 1.5;
/// Closest and farthest orbit distance (metres).
pub const DISTANCE_RANGE: (f32, f32) = (0.6, 40.0);

/// A camera circling a target point: what a choreographer needs to look at a dancer from any
/// side without losing them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitCamera {
    /// Angle about +Y (radians); 0 puts the camera on +Z, facing the figure's front.
    pub yaw: f32,
    /// Elevation above the target's horizontal plane (radians).
    pub pitch: f32,
    /// Distance from the target (metres).
    pub distance: f32,
    /// The point looked at (world, metres).
    pub target: [f32; 3],
}

impl Default for OrbitCamera {
    /// A three-quarter front view of a standing figure at the origin, whole body in frame.
    fn default() -> Self {
        OrbitCamera {
            yaw: 0.45,
            pitch: 0.18,
            distance: 4.6,
            target: [0.0, 0.9, 0.0],
        }
    }
}

impl OrbitCamera {
    /// Camera position in world space.
    pub fn eye(&self) -> [f32; 3] {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        let t = self.target;
        [
            t[0] + self.distance * cp * sy,
            t[1] + self.distance * sp,
            t[2] + self.distance * cp * cy,
        ]
    }

    /// World → view matrix.
    pub fn view(&self) -> Mat4 {
        look_at_rh(self.eye(), self.target, [0.0, 1.0, 0.0])
    }

    /// World → clip matrix for a viewport of width/height `aspect`.
    pub fn view_proj(&self, aspect: f32) -> Mat4 {
        let aspect = if aspect.is_finite() && aspect > 0.0 {
            aspect
        } else {
            1.0
        };
        mul(&perspective_rh(FOV_Y, aspect, NEAR, FAR), &self.view())
    }

    /// Turns the camera by `d_yaw` and tilts it by `d_pitch` (radians); pitch stays between
    /// [`MIN_PITCH`] and [`MAX_PITCH`]. The GUI maps pointer drags to radians and picks signs.
    pub fn orbit(&mut self, d_yaw: f32, d_pitch: f32) {
        if d_yaw.is_finite() {
            self.yaw = (self.yaw + d_yaw).rem_euclid(std::f32::consts::TAU);
        }
        if d_pitch.is_finite() {
            self.pitch = (self.pitch + d_pitch).clamp(MIN_PITCH, MAX_PITCH);
        }
    }

    /// Multiplies the distance by `factor` (< 1 moves closer), within [`DISTANCE_RANGE`].
    pub fn zoom(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.distance = (self.distance * factor).clamp(DISTANCE_RANGE.0, DISTANCE_RANGE.1);
        }
    }

    /// Centres the camera on the dancer: horizontally on the hips, vertically at a fixed
    /// mid-body height so jumps and crouches move the figure, not the floor.
    pub fn frame(&mut self, pose: &WorldPose) {
        self.frame_towards(pose, 1.0);
    }

    /// Moves the target a fraction `alpha` (0..1) of the way towards [`OrbitCamera::frame`]'s
    /// target: called once per displayed frame it follows the hips smoothly.
    pub fn frame_towards(&mut self, pose: &WorldPose, alpha: f32) {
        let hips = pose.pos[J::Hips.idx()];
        if !hips.is_finite() {
            return;
        }
        let goal = [hips.x as f32, FRAME_HEIGHT, hips.z as f32];
        let a = alpha.clamp(0.0, 1.0);
        for (t, g) in self.target.iter_mut().zip(goal) {
            *t += (g - *t) * a;
        }
    }

    /// Pixel position (origin top-left, y down) of a world point in a viewport of `size_px`,
    /// `None` behind the camera. Same matrices as the GPU, so tests and picking agree with
    /// what is drawn.
    pub fn project(&self, point: [f32; 3], size_px: [u32; 2]) -> Option<[f32; 2]> {
        let (w, h) = (size_px[0] as f32, size_px[1] as f32);
        let c = transform(&self.view_proj(w / h), [point[0], point[1], point[2], 1.0]);
        if c[3] <= NEAR * 0.5 {
            return None;
        }
        let (x, y) = (c[0] / c[3], c[1] / c[3]);
        Some([(x * 0.5 + 0.5) * w, (0.5 - y * 0.5) * h])
    }
}

/// Height of the camera target that [`OrbitCamera::frame`] keeps (metres): mid-body of a
/// standing adult.
pub const FRAME_HEIGHT: f32 = 0.9;

/// Right-handed perspective projection to wgpu's 0..1 depth range.
pub fn perspective_rh(fov_y: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
    let f = 1.0 / (fov_y * 0.5).tan();
    let r = far / (near - far);
    [
        [f / aspect, 0.0, 0.0, 0.0],
        [0.0, f, 0.0, 0.0],
        [0.0, 0.0, r, -1.0],
        [0.0, 0.0, r * near, 0.0],
    ]
}

/// Right-handed view matrix looking from `eye` at `target`.
pub fn look_at_rh(eye: [f32; 3], target: [f32; 3], up: [f32; 3]) -> Mat4 {
    let f = normalize(sub(target, eye));
    let s = normalize(cross(f, up));
    let u = cross(s, f);
    [
        [s[0], u[0], -f[0], 0.0],
        [s[1], u[1], -f[1], 0.0],
        [s[2], u[2], -f[2], 0.0],
        [-dot(s, eye), -dot(u, eye), dot(f, eye), 1.0],
    ]
}

/// Matrix product `a · b` (apply `b` first).
pub fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut c = [[0.0; 4]; 4];
    for (j, col) in c.iter_mut().enumerate() {
        for (i, v) in col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][i] * b[j][k]).sum();
        }
    }
    c
}

/// `m · v` for a homogeneous vector.
pub fn transform(m: &Mat4, v: [f32; 4]) -> [f32; 4] {
    let mut r = [0.0; 4];
    for (i, x) in r.iter_mut().enumerate() {
        *x = (0..4).map(|k| m[k][i] * v[k]).sum();
    }
    r
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let l = dot(a, a).sqrt();
    if l > 1e-12 {
        [a[0] / l, a[1] / l, a[2] / l]
    } else {
        [0.0, 0.0, 0.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::skeleton::Pose;

    #[test]
    fn target_projects_to_centre_and_up_is_up() {
        let cam = OrbitCamera::default();
        let c = cam.project(cam.target, [200, 100]).unwrap_or([0.0, 0.0]);
        assert!(
            (c[0] - 100.0).abs() < 1e-3 && (c[1] - 50.0).abs() < 1e-3,
            "{c:?}"
        );
        let above = [cam.target[0], cam.target[1] + 0.5, cam.target[2]];
        let a = cam.project(above, [200, 100]).unwrap_or([0.0, 1e9]);
        assert!(a[1] < c[1], "a point above the target is higher on screen");
    }

    #[test]
    fn front_view_sees_figure_left_on_screen_right() {
        // yaw 0: the camera stands in front of the figure (+Z), so the figure's left (+X)
        // appears on the right of the screen.
        let cam = OrbitCamera {
            yaw: 0.0,
            pitch: 0.0,
            ..OrbitCamera::default()
        };
        let l = cam.project([0.5, 0.9, 0.0], [100, 100]).unwrap_or([0.0; 2]);
        assert!(l[0] > 50.0, "{l:?}");
        assert!(
            cam.project([0.0, 0.9, 10.0], [100, 100]).is_none(),
            "behind"
        );
    }

    #[test]
    fn orbit_zoom_frame_stay_in_range() {
        let mut cam = OrbitCamera::default();
        cam.orbit(0.0, 10.0);
        assert_eq!(cam.pitch, MAX_PITCH);
        cam.orbit(-7.0, -10.0);
        assert_eq!(cam.pitch, MIN_PITCH);
        assert!((0.0..std::f32::consts::TAU).contains(&cam.yaw));
        cam.zoom(1e-6);
        assert_eq!(cam.distance, DISTANCE_RANGE.0);
        cam.zoom(f32::NAN);
        assert_eq!(cam.distance, DISTANCE_RANGE.0);
        let w = Pose::rest()
            .transformed(0.0, crate::motion::Vec3::new(2.0, 0.0, -1.0))
            .world();
        cam.frame(&w);
        assert_eq!(cam.target, [2.0, FRAME_HEIGHT, -1.0]);
    }
}
