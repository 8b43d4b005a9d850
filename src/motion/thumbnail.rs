//! Pose thumbnails: a dance phrase as a strip of a few stick figures, so a list of candidates
//! or library phrases can be told apart at a glance without playing each one.
//!
//! The figures are the phrase's poses spread over the phrase and over the beat's phases,
//! turned so that the phrase *starts* in a three-quarter view (turns inside the phrase stay
//! visible), each centred on its own hips, and projected orthographically onto a unit cell at
//! a fixed metric scale (2.1 m tall), so crouches, jumps and reaches keep their size. The result is plain 2-D segments: the editor paints them, tests check them, and a
//! strip costs a few poses of forward kinematics, small enough to cache for every phrase.

use super::Vec3;
use super::phrase::PhraseClip;
use super::skeleton::{CANONICAL, JOINT_COUNT, Pose, WorldPose, side_of};

/// Poses in a strip.
pub const STRIP_POSES: usize = 4;

/// The figures are turned this far (radians) from facing the viewer: a three-quarter view, as
/// in the 3-D preview, so steps forward and back show, not only sideways motion.
pub const VIEW_YAW: f64 = 0.5;

/// Beat-phase shift from one figure to the next (see [`pose_strip`]).
const PHASE_STEP: f64 = 0.27;

/// Height of a cell in metres (floor at the bottom).
const CELL_HEIGHT_M: f64 = 2.1;

pub use super::skeleton::Side;

/// One bone of a figure in its cell: `x` 0–1 left to right, `y` 0–1 top to bottom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Start (the parent joint).
    pub a: [f32; 2],
    /// End (the child joint or end site).
    pub b: [f32; 2],
    /// Body side.
    pub side: Side,
}

/// A phrase's thumbnail: one figure (a list of bones) per sampled pose.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PoseStrip {
    /// Figures left to right, in phrase order.
    pub figures: Vec<Vec<Segment>>,
    /// Cell width over height, the aspect the coordinates assume.
    pub cell_aspect: f32,
}

/// The strip of `phrase` with `poses` figures in cells of `cell_aspect` (width / height).
///
/// Figure `k` of `n` is taken `k/n` of the way through the phrase *plus* `0.27·k` of a beat:
/// evenly spaced times would land on the same phase of the beat for most moves (beats 1, 3,
/// 5, 7 of an 8-beat phrase), so a move that repeats every beat or two would show one pose
/// four times; evenly spaced phases (¼, ½, …) still show a swing's two symmetric halves alike.
pub fn pose_strip(phrase: &PhraseClip, poses: usize, cell_aspect: f32) -> PoseStrip {
    pose_strip_from(phrase, poses, cell_aspect, VIEW_YAW)
}

/// [`pose_strip`] seen with the figure turned `view_yaw` radians (0: straight from the front).
pub fn pose_strip_from(
    phrase: &PhraseClip,
    poses: usize,
    cell_aspect: f32,
    view_yaw: f64,
) -> PoseStrip {
    let n = poses.max(1);
    let at = |t: f64| phrase.clip.sample(phrase.offset + t);
    let yaw0 = at(0.0).heading();
    let beats = (phrase.beats.len().max(1) - 1) as f64;
    let figures = (0..n)
        .map(|k| {
            let b = k as f64 * beats / n as f64 + PHASE_STEP * k as f64;
            figure(
                &at(beat_time(&phrase.beats, b)).transformed(view_yaw - yaw0, Vec3::ZERO),
                cell_aspect,
            )
        })
        .collect();
    PoseStrip {
        figures,
        cell_aspect,
    }
}

/// Time of fractional beat `b` on a beat list (linear between beats, clamped to its ends).
fn beat_time(beats: &[f64], b: f64) -> f64 {
    let (Some(&first), Some(&last)) = (beats.first(), beats.last()) else {
        return 0.0;
    };
    if b <= 0.0 || beats.len() < 2 {
        return first;
    }
    let i = b.floor() as usize;
    if i + 1 >= beats.len() {
        return last;
    }
    let f = b - i as f64;
    beats[i] + f * (beats[i + 1] - beats[i])
}

/// One pose's bones, front view, centred on its hips.
fn figure(pose: &Pose, cell_aspect: f32) -> Vec<Segment> {
    let w: WorldPose = pose.world();
    let half_width = 0.5 * CELL_HEIGHT_M * f64::from(cell_aspect.max(0.1));
    let cx = w.pos[0].x;
    // The figure faces +Z, the viewer: its left (+X) is on the viewer's right.
    let project = |p: Vec3| -> [f32; 2] {
        let x = 0.5 + (p.x - cx) / (2.0 * half_width);
        let y = 1.0 - p.y / CELL_HEIGHT_M;
        [x.clamp(0.0, 1.0) as f32, y.clamp(0.0, 1.0) as f32]
    };
    let mut out = Vec::with_capacity(JOINT_COUNT + 6);
    for (j, joint) in CANONICAL.iter().enumerate() {
        if let Some(p) = joint.parent {
            out.push(Segment {
                a: project(w.pos[p]),
                b: project(w.pos[j]),
                side: side_of(j),
            });
        }
        if let Some(end) = w.end_site(j) {
            out.push(Segment {
                a: project(w.pos[j]),
                b: project(end),
                side: side_of(j),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::library::Library;

    fn strip_of(id: &str) -> PoseStrip {
        let lib = Library::starter().unwrap();
        pose_strip(&lib.phrase_clip(id, 0.0).unwrap(), STRIP_POSES, 0.6)
    }

    fn starter_ids() -> Vec<String> {
        let lib = Library::starter().unwrap();
        lib.index.phrases.iter().map(|p| p.id.clone()).collect()
    }

    #[test]
    fn a_strip_has_one_whole_figure_per_pose_inside_its_cell() {
        let id = starter_ids()
            .into_iter()
            .find(|i| !i.contains('~'))
            .unwrap();
        let s = strip_of(&id);
        assert_eq!(s.figures.len(), STRIP_POSES);
        for f in &s.figures {
            assert!(f.len() >= JOINT_COUNT - 1, "every bone: {}", f.len());
            for seg in f {
                for v in seg.a.iter().chain(&seg.b) {
                    assert!((0.0..=1.0).contains(v), "{seg:?}");
                }
            }
            // standing: the head is above the feet (y grows downwards)
            let top = f.iter().map(|s| s.a[1].min(s.b[1])).fold(1.0, f32::min);
            let bottom = f.iter().map(|s| s.a[1].max(s.b[1])).fold(0.0, f32::max);
            assert!(bottom - top > 0.5, "figure spans {top}..{bottom}");
            assert!(f.iter().any(|s| s.side == Side::Left));
            assert!(f.iter().any(|s| s.side == Side::Right));
        }
        // dance phrases move: on (nearly) every starter phrase the figures differ, also for
        // moves that repeat every beat or two
        let d = |a: &[Segment], b: &[Segment]| -> f32 {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x.b[0] - y.b[0]).abs() + (x.b[1] - y.b[1]).abs())
                .sum()
        };
        let ids: Vec<String> = starter_ids()
            .into_iter()
            .filter(|i| !i.contains('~'))
            .collect();
        let still: Vec<&String> = ids
            .iter()
            .filter(|id| {
                let f = strip_of(id).figures;
                (1..f.len())
                    .map(|k| d(&f[k - 1], &f[k]))
                    .fold(f32::MAX, f32::min)
                    < 0.05
            })
            .collect();
        assert!(
            still.len() * 20 <= ids.len(),
            "figures that repeat: {still:?}"
        );
    }

    #[test]
    fn beat_times_interpolate_and_clamp() {
        let beats = [0.0, 0.5, 1.0, 1.6];
        assert_eq!(beat_time(&beats, 0.0), 0.0);
        assert!((beat_time(&beats, 1.5) - 0.75).abs() < 1e-12);
        assert!((beat_time(&beats, 2.5) - 1.3).abs() < 1e-12);
        assert_eq!(beat_time(&beats, 9.0), 1.6);
        assert_eq!(beat_time(&[], 1.0), 0.0);
    }

    #[test]
    fn different_moves_look_different_and_a_mirror_is_the_picture_flipped() {
        let ids = starter_ids();
        let a = ids.iter().find(|i| !i.contains('~')).unwrap();
        let b = ids
            .iter()
            .find(|i| !i.contains('~') && i.split('/').next() != a.split('/').next())
            .unwrap();
        assert_ne!(strip_of(a), strip_of(b));
        // The mirrored variant swaps left and right: its picture is the original's, seen from
        // the other side (view yaw negated), flipped horizontally, with the sides exchanged.
        let m = format!("{a}~mirror");
        assert!(ids.contains(&m), "starter has mirrored variants");
        let lib = Library::starter().unwrap();
        let view = |id: &str, yaw: f64| {
            pose_strip_from(&lib.phrase_clip(id, 0.0).unwrap(), STRIP_POSES, 0.6, yaw)
        };
        let (s, t) = (view(a, -VIEW_YAW), view(&m, VIEW_YAW));
        for (f, g) in s.figures.iter().zip(&t.figures) {
            let flipped = |p: [f32; 2]| [1.0 - p[0], p[1]];
            for seg in f {
                let want_side = match seg.side {
                    Side::Left => Side::Right,
                    Side::Right => Side::Left,
                    Side::Centre => Side::Centre,
                };
                let found = g.iter().any(|h| {
                    h.side == want_side
                        && (h.a[0] - flipped(seg.a)[0]).abs() < 0.02
                        && (h.a[1] - seg.a[1]).abs() < 0.02
                        && (h.b[0] - flipped(seg.b)[0]).abs() < 0.02
                        && (h.b[1] - seg.b[1]).abs() < 0.02
                });
                assert!(found, "{a}: no mirrored bone for {seg:?}");
            }
        }
    }
}
