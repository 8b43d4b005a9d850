//! Left↔right mirroring of poses, clips and library phrases.
//!
//! The canonical skeleton faces +Z with the figure's left on +X and is symmetric about the
//! YZ plane (every left joint's rest offset is its right partner's with X negated), so the
//! mirror image of a pose is the reflection `S = diag(−1, 1, 1)` applied to every joint: the
//! root position's X is negated, and each joint takes its partner's local rotation
//! conjugated by `S`. For a unit quaternion `(w, x, y, z)` that conjugation is
//! `(w, x, −y, −z)` (a rotation about X keeps its sense, rotations about Y and Z reverse).
//! Mirroring twice gives the original pose exactly.
//!
//! Every library gets a mirrored variant of each phrase when it is loaded
//! ([`add_mirrored_variants`]): same clip and frames, id `ORIGINAL~mirror`, tag
//! [`MIRROR_TAG`], `mirror_of` naming the original. They are separate library phrases (own
//! rows in the transition matrix, own places in the candidate lists); a trained model does not
//! learn them as classes of their own but scores each as its original
//! (`LibraryIndex::class_phrases`), since no music tells a move from its mirror image and no
//! labeled set names them. What counts as one *move* for variety (metrics, repetition) is the
//! clip, which a phrase and its mirror share.

use super::clip::Clip;
use super::index::{LibraryIndex, PhraseEntry};
use super::quat::Quat;
use super::skeleton::{CANONICAL, J, JOINT_COUNT, Pose};

pub use super::index::{MIRROR_SUFFIX, MIRROR_TAG};

/// The left/right partner of each joint (itself for the centre line).
pub const fn partner(j: usize) -> usize {
    const L: [J; 8] = [
        J::LShoulder,
        J::LArm,
        J::LForearm,
        J::LHand,
        J::LUpLeg,
        J::LLeg,
        J::LFoot,
        J::LToe,
    ];
    const R: [J; 8] = [
        J::RShoulder,
        J::RArm,
        J::RForearm,
        J::RHand,
        J::RUpLeg,
        J::RLeg,
        J::RFoot,
        J::RToe,
    ];
    let mut i = 0;
    while i < L.len() {
        if L[i] as usize == j {
            return R[i] as usize;
        }
        if R[i] as usize == j {
            return L[i] as usize;
        }
        i += 1;
    }
    j
}

/// A rotation seen in the mirror `S = diag(−1, 1, 1)`: `S·R·S`.
pub fn mirror_rotation(q: Quat) -> Quat {
    Quat::new(q.w, q.x, -q.y, -q.z)
}

/// The mirror image of `pose` (see the module docs).
pub fn mirror_pose(pose: &Pose) -> Pose {
    let mut out = *pose;
    out.root.x = -pose.root.x;
    for j in 0..JOINT_COUNT {
        out.rot[j] = mirror_rotation(pose.rot[partner(j)]);
    }
    out
}

/// The mirror image of every frame of `clip`.
pub fn mirror_clip(clip: &Clip) -> Clip {
    Clip {
        name: clip.name.clone(),
        fps: clip.fps,
        poses: clip.poses.iter().map(mirror_pose).collect(),
    }
}

/// True when the canonical skeleton is symmetric (each joint's offset is its partner's with
/// X negated), which [`mirror_pose`] relies on.
pub fn canonical_is_symmetric() -> bool {
    (0..JOINT_COUNT).all(|j| {
        let (a, b) = (CANONICAL[j].offset, CANONICAL[partner(j)].offset);
        (a.x + b.x).abs() < 1e-12 && (a.y - b.y).abs() < 1e-12 && (a.z - b.z).abs() < 1e-12
    })
}

/// The mirrored variant of a phrase entry (same clip and frames; features are symmetric).
pub fn mirrored_entry(p: &PhraseEntry) -> PhraseEntry {
    let mut m = p.clone();
    m.id = format!("{}{MIRROR_SUFFIX}", p.id);
    if !m.tags.iter().any(|t| t == MIRROR_TAG) {
        m.tags.push(MIRROR_TAG.to_string());
    }
    m.mirror_of = Some(p.id.clone());
    m
}

/// Adds a mirrored variant right after each phrase that has none (a phrase that is itself a
/// mirror gets none). Idempotent, so an index that already lists its mirrors is unchanged.
pub fn add_mirrored_variants(index: &mut LibraryIndex) {
    let has = |id: &str, all: &[PhraseEntry]| {
        all.iter()
            .any(|q| q.mirror_of.as_deref() == Some(id) || q.id == format!("{id}{MIRROR_SUFFIX}"))
    };
    let old = std::mem::take(&mut index.phrases);
    let mut out = Vec::with_capacity(old.len() * 2);
    for p in &old {
        out.push(p.clone());
        if p.mirror_of.is_none() && !has(&p.id, &old) {
            out.push(mirrored_entry(p));
        }
    }
    index.phrases = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::quat::{Axis, Vec3};

    #[test]
    fn the_canonical_skeleton_is_symmetric_and_partners_pair_up() {
        assert!(canonical_is_symmetric());
        for j in 0..JOINT_COUNT {
            assert_eq!(partner(partner(j)), j);
        }
        assert_eq!(partner(J::LHand.idx()), J::RHand.idx());
        assert_eq!(partner(J::Head.idx()), J::Head.idx());
    }

    fn odd_pose() -> Pose {
        let mut p = Pose::rest();
        p.root = Vec3::new(0.12, 0.91, -0.3);
        for (j, r) in p.rot.iter_mut().enumerate() {
            let a = 0.1 + j as f64 * 0.07;
            *r = Quat::about(Axis::X, a)
                * Quat::about(Axis::Y, -0.5 * a)
                * Quat::about(Axis::Z, 0.3);
        }
        p
    }

    #[test]
    fn mirroring_twice_is_the_identity() {
        let p = odd_pose();
        let back = mirror_pose(&mirror_pose(&p));
        assert!((back.root - p.root).length() < 1e-9);
        for j in 0..JOINT_COUNT {
            let (a, b) = (back.rot[j], p.rot[j]);
            let d = (a.w - b.w).abs() + (a.x - b.x).abs() + (a.y - b.y).abs() + (a.z - b.z).abs();
            assert!(d < 1e-9, "joint {j}");
        }
    }

    #[test]
    fn world_positions_are_reflected_with_partners_swapped() {
        let p = odd_pose();
        let (w, m) = (p.world(), mirror_pose(&p).world());
        for j in 0..JOINT_COUNT {
            let a = w.pos[j];
            let b = m.pos[partner(j)];
            assert!((Vec3::new(-a.x, a.y, a.z) - b).length() < 1e-9, "joint {j}");
        }
    }

    #[test]
    fn a_left_arm_raise_becomes_a_right_arm_raise() {
        let mut p = Pose::rest();
        // left arm (along +X at rest) raised overhead: rotate +X onto +Y
        p.rot[J::LArm.idx()] = Quat::rotation_between(Vec3::X, Vec3::Y);
        let w = p.world();
        assert!(w.pos[J::LHand.idx()].y > w.pos[J::RHand.idx()].y + 0.4);
        let m = mirror_pose(&p).world();
        assert!(m.pos[J::RHand.idx()].y > m.pos[J::LHand.idx()].y + 0.4);
        assert!(
            m.pos[J::RHand.idx()].x < 0.0,
            "the raised hand is on the right"
        );
    }

    #[test]
    fn mirrored_variants_are_added_once_and_marked() {
        let mut idx = crate::motion::library::Library::starter().unwrap().index;
        let n = idx.phrases.iter().filter(|p| p.mirror_of.is_none()).count();
        assert_eq!(
            idx.phrases.len(),
            2 * n,
            "the starter loads with its mirrors"
        );
        add_mirrored_variants(&mut idx);
        assert_eq!(idx.phrases.len(), 2 * n, "idempotent");
        let m = &idx.phrases[1];
        assert_eq!(m.mirror_of.as_deref(), Some(idx.phrases[0].id.as_str()));
        assert!(m.tags.iter().any(|t| t == MIRROR_TAG));
        assert_eq!(m.clip, idx.phrases[0].clip, "a mirror is the same move");
        // A model's classes are the originals; a mirror counts as its original.
        let classes = idx.class_phrases();
        assert_eq!(classes.len(), n);
        assert!(classes.iter().all(|p| p.mirror_of.is_none()));
        assert_eq!(idx.class_id(&m.id), idx.phrases[0].id);
        assert_eq!(idx.class_id(&idx.phrases[0].id), idx.phrases[0].id);
        // by suffix too, for an id the library does not list (a label from elsewhere)
        assert_eq!(idx.class_id("x/001~mirror"), "x/001");
        assert_eq!(idx.class_id("x/001"), "x/001");
    }
}
