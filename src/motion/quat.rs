//! Small 3D math kit: [`Vec3`], unit quaternions ([`Quat`]) and Euler-angle conversion.
//!
//! Quaternions follow the Hamilton convention (`w + xi + yj + zk`, `q * v * q⁻¹` rotates a
//! column vector, `a * b` applies `b` first). Slerp follows Shoemake 1985 ("Animating rotation
//! with quaternion curves"), taking the shorter arc. Euler decomposition reads the angles off
//! the rotation matrix of an intrinsic Tait–Bryan sequence (Shoemake, "Euler angle conversion",
//! Graphics Gems IV, 1994), which is what BVH channel orders mean: `Zrotation Xrotation
//! Yrotation` is `R = Rz · Rx · Ry`.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// A 3D vector (metres in world space; Y is up, Z is forward, X is the figure's left).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vec3 {
    /// X component.
    pub x: f64,
    /// Y component (up).
    pub y: f64,
    /// Z component (forward).
    pub z: f64,
}

impl Vec3 {
    /// The zero vector.
    pub const ZERO: Vec3 = Vec3::new(0.0, 0.0, 0.0);
    /// Unit X.
    pub const X: Vec3 = Vec3::new(1.0, 0.0, 0.0);
    /// Unit Y (up).
    pub const Y: Vec3 = Vec3::new(0.0, 1.0, 0.0);
    /// Unit Z (forward).
    pub const Z: Vec3 = Vec3::new(0.0, 0.0, 1.0);

    /// Builds a vector.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3 { x, y, z }
    }

    /// Dot product.
    pub fn dot(self, o: Vec3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Cross product (right-handed).
    pub fn cross(self, o: Vec3) -> Vec3 {
        Vec3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    /// Euclidean length.
    pub fn length(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// Unit vector in the same direction, or `None` for a (near) zero vector.
    pub fn try_normalized(self) -> Option<Vec3> {
        let l = self.length();
        (l > 1e-12 && l.is_finite()).then(|| self * (1.0 / l))
    }

    /// Unit vector in the same direction; the zero vector stays zero.
    pub fn normalized_or_zero(self) -> Vec3 {
        self.try_normalized().unwrap_or(Vec3::ZERO)
    }

    /// Linear interpolation, `t = 0` gives `self`.
    pub fn lerp(self, o: Vec3, t: f64) -> Vec3 {
        self + (o - self) * t
    }

    /// Horizontal (XZ) part.
    pub fn xz(self) -> Vec3 {
        Vec3::new(self.x, 0.0, self.z)
    }

    /// Components as an array.
    pub fn to_array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }

    /// Component by axis index (0 = X, 1 = Y, 2 = Z).
    pub fn axis(self, i: usize) -> f64 {
        match i {
            0 => self.x,
            1 => self.y,
            _ => self.z,
        }
    }

    /// True when every component is finite.
    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}
impl AddAssign for Vec3 {
    fn add_assign(&mut self, o: Vec3) {
        *self = *self + o;
    }
}
impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}
impl SubAssign for Vec3 {
    fn sub_assign(&mut self, o: Vec3) {
        *self = *self - o;
    }
}
impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, s: f64) -> Vec3 {
        Vec3::new(self.x * s, self.y * s, self.z * s)
    }
}
impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        Vec3::new(-self.x, -self.y, -self.z)
    }
}

/// A coordinate axis, as named by BVH rotation channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Axis {
    /// X axis.
    X,
    /// Y axis.
    Y,
    /// Z axis.
    Z,
}

impl Axis {
    /// 0, 1 or 2.
    pub fn index(self) -> usize {
        match self {
            Axis::X => 0,
            Axis::Y => 1,
            Axis::Z => 2,
        }
    }

    /// Unit vector along the axis.
    pub fn unit(self) -> Vec3 {
        match self {
            Axis::X => Vec3::X,
            Axis::Y => Vec3::Y,
            Axis::Z => Vec3::Z,
        }
    }
}

/// A rotation matrix, row-major (`m[row][col]`), acting on column vectors.
pub type Mat3 = [[f64; 3]; 3];

/// A rotation as a unit quaternion.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quat {
    /// Scalar part.
    pub w: f64,
    /// i part.
    pub x: f64,
    /// j part.
    pub y: f64,
    /// k part.
    pub z: f64,
}

impl Default for Quat {
    fn default() -> Self {
        Quat::IDENTITY
    }
}

impl Quat {
    /// No rotation.
    pub const IDENTITY: Quat = Quat {
        w: 1.0,
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    /// Builds a quaternion from its components (not normalised).
    pub const fn new(w: f64, x: f64, y: f64, z: f64) -> Self {
        Quat { w, x, y, z }
    }

    /// Rotation by `angle` radians about `axis` (normalised here; a zero axis gives identity).
    pub fn from_axis_angle(axis: Vec3, angle: f64) -> Quat {
        let Some(a) = axis.try_normalized() else {
            return Quat::IDENTITY;
        };
        let (s, c) = (angle * 0.5).sin_cos();
        Quat::new(c, a.x * s, a.y * s, a.z * s)
    }

    /// Rotation about a coordinate axis.
    pub fn about(axis: Axis, angle: f64) -> Quat {
        Quat::from_axis_angle(axis.unit(), angle)
    }

    /// Rotation about +Y (a heading change), `angle` in radians.
    pub fn from_yaw(angle: f64) -> Quat {
        Quat::about(Axis::Y, angle)
    }

    /// Four-component dot product.
    pub fn dot(self, o: Quat) -> f64 {
        self.w * o.w + self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Norm.
    pub fn length(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// Unit quaternion in the same direction (identity for a degenerate input).
    pub fn normalized(self) -> Quat {
        let l = self.length();
        if l > 1e-12 && l.is_finite() {
            let s = 1.0 / l;
            Quat::new(self.w * s, self.x * s, self.y * s, self.z * s)
        } else {
            Quat::IDENTITY
        }
    }

    /// Conjugate, the inverse of a unit quaternion.
    pub fn conjugate(self) -> Quat {
        Quat::new(self.w, -self.x, -self.y, -self.z)
    }

    /// Inverse rotation (assumes a unit quaternion).
    pub fn inverse(self) -> Quat {
        self.conjugate()
    }

    /// Rotates a vector.
    pub fn rotate(self, v: Vec3) -> Vec3 {
        // v' = v + 2w (u × v) + 2 u × (u × v), u = (x, y, z)
        let u = Vec3::new(self.x, self.y, self.z);
        let t = u.cross(v) * 2.0;
        v + t * self.w + u.cross(t)
    }

    /// Rotation angle in radians, in `[0, π]`.
    pub fn angle(self) -> f64 {
        2.0 * self.w.abs().clamp(0.0, 1.0).acos()
    }

    /// Angle in radians of the rotation that takes `self` to `o`.
    pub fn angle_to(self, o: Quat) -> f64 {
        2.0 * self.dot(o).abs().clamp(0.0, 1.0).acos()
    }

    /// Spherical linear interpolation along the shorter arc (Shoemake 1985); `t = 0` gives
    /// `self`. Falls back to normalised lerp when the two are nearly equal.
    pub fn slerp(self, o: Quat, t: f64) -> Quat {
        let mut d = self.dot(o);
        let mut b = o;
        if d < 0.0 {
            d = -d;
            b = Quat::new(-o.w, -o.x, -o.y, -o.z);
        }
        let (wa, wb) = if d > 0.9995 {
            (1.0 - t, t)
        } else {
            let theta = d.clamp(-1.0, 1.0).acos();
            let s = theta.sin();
            (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s)
        };
        Quat::new(
            wa * self.w + wb * b.w,
            wa * self.x + wb * b.x,
            wa * self.y + wb * b.y,
            wa * self.z + wb * b.z,
        )
        .normalized()
    }

    /// The shortest-arc rotation taking direction `from` onto direction `to`. Opposite
    /// directions rotate by π about an axis perpendicular to `from`; zero inputs give identity.
    pub fn rotation_between(from: Vec3, to: Vec3) -> Quat {
        let (Some(a), Some(b)) = (from.try_normalized(), to.try_normalized()) else {
            return Quat::IDENTITY;
        };
        let d = a.dot(b);
        if d < -1.0 + 1e-10 {
            let mut axis = Vec3::X.cross(a);
            if axis.length() < 1e-6 {
                axis = Vec3::Y.cross(a);
            }
            return Quat::from_axis_angle(axis, std::f64::consts::PI);
        }
        let c = a.cross(b);
        Quat::new(1.0 + d, c.x, c.y, c.z).normalized()
    }

    /// The rotation whose image of `(primary_from, secondary_from)` is `primary_to` exactly
    /// and `secondary_to` as closely as the primary constraint allows (two-vector alignment:
    /// swing onto the primary, then twist about it to match the secondaries' projections).
    pub fn align_two(
        primary_from: Vec3,
        secondary_from: Vec3,
        primary_to: Vec3,
        secondary_to: Vec3,
    ) -> Quat {
        let swing = Quat::rotation_between(primary_from, primary_to);
        let Some(axis) = primary_to.try_normalized() else {
            return swing;
        };
        let s = swing.rotate(secondary_from);
        let s_proj = s - axis * s.dot(axis);
        let t_proj = secondary_to - axis * secondary_to.dot(axis);
        if s_proj.length() < 1e-9 || t_proj.length() < 1e-9 {
            return swing;
        }
        let twist = Quat::rotation_between(s_proj, t_proj);
        (twist * swing).normalized()
    }

    /// Rotation matrix (row-major, for column vectors).
    pub fn to_mat3(self) -> Mat3 {
        let Quat { w, x, y, z } = self;
        [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - w * z),
                2.0 * (x * z + w * y),
            ],
            [
                2.0 * (x * y + w * z),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - w * x),
            ],
            [
                2.0 * (x * z - w * y),
                2.0 * (y * z + w * x),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ]
    }

    /// Builds an intrinsic Euler rotation `R = R(order[0]) · R(order[1]) · R(order[2])`,
    /// angles in radians, matching the BVH channel order.
    pub fn from_euler(order: [Axis; 3], angles: [f64; 3]) -> Quat {
        Quat::about(order[0], angles[0])
            * Quat::about(order[1], angles[1])
            * Quat::about(order[2], angles[2])
    }

    /// Inverse of [`Quat::from_euler`] for a Tait–Bryan order (three distinct axes), angles in
    /// radians. The middle angle lies in `[-π/2, π/2]`; at gimbal lock the last angle is 0.
    /// Orders that repeat an axis fall back to ZXY.
    pub fn to_euler(self, order: [Axis; 3]) -> [f64; 3] {
        let (i, j, k) = (order[0].index(), order[1].index(), order[2].index());
        if i == j || j == k || i == k {
            return self.to_euler([Axis::Z, Axis::X, Axis::Y]);
        }
        // Parity: +1 for the cyclic (even) permutations XYZ, YZX, ZXY.
        let s = if (j + 3 - i) % 3 == 1 { 1.0 } else { -1.0 };
        let m = self.normalized().to_mat3();
        let sb = (s * m[i][k]).clamp(-1.0, 1.0);
        let b = sb.asin();
        if sb.abs() < 1.0 - 1e-9 {
            let a = (-s * m[j][k]).atan2(m[k][k]);
            let c = (-s * m[i][j]).atan2(m[i][i]);
            [a, b, c]
        } else {
            let a = (s * m[k][j]).atan2(m[j][j]);
            [a, b, 0.0]
        }
    }

    /// Heading: the angle about +Y (radians) of the rotated forward axis (+Z) projected on the
    /// floor. Returns 0 when the forward axis points straight up or down.
    pub fn yaw(self) -> f64 {
        let f = self.rotate(Vec3::Z);
        if f.x.abs() < 1e-12 && f.z.abs() < 1e-12 {
            0.0
        } else {
            f.x.atan2(f.z)
        }
    }

    /// True when every component is finite.
    pub fn is_finite(self) -> bool {
        self.w.is_finite() && self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }
}

impl Mul for Quat {
    type Output = Quat;
    /// Hamilton product: `(a * b).rotate(v) == a.rotate(b.rotate(v))`.
    fn mul(self, o: Quat) -> Quat {
        Quat::new(
            self.w * o.w - self.x * o.x - self.y * o.y - self.z * o.z,
            self.w * o.x + self.x * o.w + self.y * o.z - self.z * o.y,
            self.w * o.y - self.x * o.z + self.y * o.w + self.z * o.x,
            self.w * o.z + self.x * o.y - self.y * o.x + self.z * o.w,
        )
    }
}

/// Wraps an angle in radians to `(-π, π]`.
pub fn wrap_angle(a: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let mut r = a % tau;
    if r <= -std::f64::consts::PI {
        r += tau;
    } else if r > std::f64::consts::PI {
        r -= tau;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use std::f64::consts::{FRAC_PI_2, PI};

    fn close_v(a: Vec3, b: Vec3, eps: f64) {
        assert!((a - b).length() < eps, "{a:?} != {b:?}");
    }

    #[test]
    fn axis_rotations_are_right_handed() {
        let q = Quat::about(Axis::Z, FRAC_PI_2);
        close_v(q.rotate(Vec3::X), Vec3::Y, 1e-12);
        let q = Quat::about(Axis::Y, FRAC_PI_2);
        close_v(q.rotate(Vec3::Z), Vec3::X, 1e-12);
        let q = Quat::about(Axis::X, FRAC_PI_2);
        close_v(q.rotate(Vec3::Y), Vec3::Z, 1e-12);
    }

    #[test]
    fn product_composes_and_inverse_undoes() {
        let a = Quat::from_axis_angle(Vec3::new(1.0, 2.0, 3.0), 0.7);
        let b = Quat::from_axis_angle(Vec3::new(-1.0, 0.5, 0.2), 1.9);
        let v = Vec3::new(0.3, -1.2, 2.0);
        close_v((a * b).rotate(v), a.rotate(b.rotate(v)), 1e-12);
        close_v((a * a.inverse()).rotate(v), v, 1e-12);
        assert_abs_diff_eq!((a * b).length(), 1.0, epsilon = 1e-12);
    }

    #[test]
    fn slerp_endpoints_midpoint_and_shortest_arc() {
        let a = Quat::IDENTITY;
        let b = Quat::about(Axis::Y, 1.0);
        assert!(a.slerp(b, 0.0).angle_to(a) < 1e-9);
        assert!(a.slerp(b, 1.0).angle_to(b) < 1e-9);
        assert_abs_diff_eq!(a.slerp(b, 0.5).angle(), 0.5, epsilon = 1e-9);
        // -b is the same rotation: slerp must still take the short way.
        let nb = Quat::new(-b.w, -b.x, -b.y, -b.z);
        assert_abs_diff_eq!(a.slerp(nb, 0.5).angle(), 0.5, epsilon = 1e-9);
        // constant angular speed
        let c = Quat::about(Axis::X, 2.5);
        let q1 = a.slerp(c, 0.25);
        let q2 = a.slerp(c, 0.5);
        assert_abs_diff_eq!(q1.angle_to(q2), 2.5 * 0.25, epsilon = 1e-9);
    }

    #[test]
    fn euler_round_trip_every_order() {
        use Axis::*;
        let orders = [
            [X, Y, Z],
            [X, Z, Y],
            [Y, X, Z],
            [Y, Z, X],
            [Z, X, Y],
            [Z, Y, X],
        ];
        let samples = [
            [0.3, -0.4, 1.2],
            [-2.0, 1.1, 0.1],
            [3.0, -1.5, -3.0],
            [0.0, FRAC_PI_2, 0.4],
            [0.7, -FRAC_PI_2, 0.0],
        ];
        for order in orders {
            for ang in samples {
                let q = Quat::from_euler(order, ang);
                let e = q.to_euler(order);
                let q2 = Quat::from_euler(order, e);
                assert!(q.angle_to(q2) < 1e-7, "{order:?} {ang:?} -> {e:?}");
            }
        }
        // non-degenerate angles come back exactly
        let e = Quat::from_euler([Z, X, Y], [0.3, -0.4, 1.2]).to_euler([Z, X, Y]);
        assert_abs_diff_eq!(e[0], 0.3, epsilon = 1e-12);
        assert_abs_diff_eq!(e[1], -0.4, epsilon = 1e-12);
        assert_abs_diff_eq!(e[2], 1.2, epsilon = 1e-12);
    }

    #[test]
    fn matrix_matches_rotate() {
        let q = Quat::from_axis_angle(Vec3::new(0.2, -0.7, 0.4), 2.2);
        let m = q.to_mat3();
        let v = Vec3::new(1.0, 2.0, -0.5);
        let mv = Vec3::new(
            m[0][0] * v.x + m[0][1] * v.y + m[0][2] * v.z,
            m[1][0] * v.x + m[1][1] * v.y + m[1][2] * v.z,
            m[2][0] * v.x + m[2][1] * v.y + m[2][2] * v.z,
        );
        close_v(mv, q.rotate(v), 1e-12);
    }

    #[test]
    fn rotation_between_and_two_vector_alignment() {
        let a = Vec3::new(0.0, -1.0, 0.0);
        let b = Vec3::new(1.0, 0.0, 0.0);
        close_v(Quat::rotation_between(a, b).rotate(a), b, 1e-12);
        // opposite vectors
        close_v(Quat::rotation_between(a, -a).rotate(a), -a, 1e-9);
        let q = Quat::align_two(Vec3::Y, Vec3::X, Vec3::Z, Vec3::Y);
        close_v(q.rotate(Vec3::Y), Vec3::Z, 1e-9);
        close_v(q.rotate(Vec3::X), Vec3::Y, 1e-9);
    }

    #[test]
    fn yaw_and_wrap() {
        assert_abs_diff_eq!(Quat::from_yaw(0.8).yaw(), 0.8, epsilon = 1e-12);
        assert_abs_diff_eq!(wrap_angle(3.0 * PI), PI, epsilon = 1e-12);
        assert_abs_diff_eq!(wrap_angle(-0.5 - 2.0 * PI), -0.5, epsilon = 1e-12);
    }
}
