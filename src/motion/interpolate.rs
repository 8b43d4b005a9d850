//! The [`Blend`] trait: values that can be interpolated (numbers, vectors, rotations, poses).
//!
//! [`Blend`] mirrors bevy_animation's `Animatable`: a type knows how to interpolate between
//! two values; weighted blends of several inputs are built from it. It lives below
//! [`super::clip`] (which samples poses between frames with it) and [`super::blend`] (which
//! crossfades phrases with it), so neither depends on the other.

use super::quat::{Quat, Vec3};
use super::skeleton::Pose;

/// A value that can be interpolated (`t = 0` gives `a`, `t = 1` gives `b`).
pub trait Blend: Sized + Clone {
    /// Interpolates between `a` and `b`.
    fn interpolate(a: &Self, b: &Self, t: f64) -> Self;

    /// Weighted blend of several inputs by successive interpolation (weights need not sum to
    /// 1; non-positive weights are skipped). `None` when nothing has positive weight.
    fn blend(inputs: &[(Self, f64)]) -> Option<Self> {
        let mut acc: Option<(Self, f64)> = None;
        for (v, w) in inputs {
            if *w <= 0.0 {
                continue;
            }
            acc = Some(match acc {
                None => (v.clone(), *w),
                Some((a, wa)) => {
                    let total = wa + w;
                    (Self::interpolate(&a, v, w / total), total)
                }
            });
        }
        acc.map(|(v, _)| v)
    }
}

impl Blend for f64 {
    fn interpolate(a: &f64, b: &f64, t: f64) -> f64 {
        a + (b - a) * t
    }
}

impl Blend for Vec3 {
    fn interpolate(a: &Vec3, b: &Vec3, t: f64) -> Vec3 {
        a.lerp(*b, t)
    }
}

impl Blend for Quat {
    fn interpolate(a: &Quat, b: &Quat, t: f64) -> Quat {
        a.slerp(*b, t)
    }
}

impl Blend for Pose {
    /// Root position lerp, per-joint slerp.
    fn interpolate(a: &Pose, b: &Pose, t: f64) -> Pose {
        let mut p = *a;
        p.root = a.root.lerp(b.root, t);
        for (r, (qa, qb)) in p.rot.iter_mut().zip(a.rot.iter().zip(b.rot.iter())) {
            *r = qa.slerp(*qb, t);
        }
        p
    }
}
