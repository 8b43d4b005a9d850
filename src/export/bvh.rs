//! Export of a blended dance: one BVH on the canonical skeleton and a JSON timeline.
//!
//! The BVH is baked at a chosen frame rate with `Frame Time: 1/fps` and `Frames:` equal to
//! the number of baked poses, so importers (Blender's BVH importer reads both) get the right
//! length and speed. Positions are in metres, Y up; rotations `ZXY` Euler degrees, unwrapped
//! frame to frame. The timeline (schema `phrasewise-timeline/1`) lists each slot's phrase,
//! music span, crossfade lengths, time-warp rate range and alignment.

use crate::motion::MotionError;
use crate::motion::blend::Choreography;
use crate::motion::index::r6;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Schema tag of timeline files.
pub const TIMELINE_SCHEMA: &str = "phrasewise-timeline/1";

/// One slot of the exported timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineSlot {
    /// Slot index.
    pub slot: usize,
    /// Phrase id.
    pub phrase: String,
    /// Music span start (s).
    pub music_start: f64,
    /// Music span end (s).
    pub music_end: f64,
    /// Crossfade into this slot (s); 0 for the first.
    pub blend_in: f64,
    /// Crossfade out of this slot (s); 0 for the last.
    pub blend_out: f64,
    /// Beat pairs the time-warp aligns.
    pub beats_aligned: usize,
    /// Slowest and fastest playback rate of the warp (phrase s per music s).
    pub rate: [f64; 2],
    /// Heading change applied at the switch (degrees).
    pub yaw_deg: f64,
    /// Horizontal shift applied at the switch (m, x and z).
    pub shift: [f64; 2],
}

/// The exported timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Must be [`TIMELINE_SCHEMA`].
    pub schema: String,
    /// Frame rate of the BVH.
    pub fps: f64,
    /// Frames in the BVH.
    pub frames: usize,
    /// Music time of the BVH's first frame (s).
    pub start: f64,
    /// Dance duration (s).
    pub duration: f64,
    /// Crossfade length (s).
    pub crossfade_s: f64,
    /// Slots.
    pub slots: Vec<TimelineSlot>,
}

/// Describes a choreography baked at `fps`.
pub fn timeline(ch: &Choreography, fps: f64) -> Timeline {
    let n = ch.slots.len();
    let fade = ch.options.crossfade_s.max(0.0);
    let frames = ((ch.duration() - ch.start()) * fps + 1e-9).floor() as usize + 1;
    Timeline {
        schema: TIMELINE_SCHEMA.into(),
        fps,
        frames,
        start: r6(ch.start()),
        duration: r6(ch.duration() - ch.start()),
        crossfade_s: fade,
        slots: ch
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let (lo, hi) = s.map.rate_range();
                TimelineSlot {
                    slot: k,
                    phrase: s.slot.phrase.id.clone(),
                    music_start: r6(s.slot.start),
                    music_end: r6(s.slot.end),
                    blend_in: if k > 0 { fade } else { 0.0 },
                    blend_out: if k + 1 < n { fade } else { 0.0 },
                    beats_aligned: s.map.knots.len(),
                    rate: [r6(lo), r6(hi)],
                    yaw_deg: r6(s.yaw.to_degrees()),
                    shift: [r6(s.shift.x), r6(s.shift.z)],
                }
            })
            .collect(),
    }
}

/// Bakes `ch` at `fps`, writes the BVH to `bvh_path` and the timeline JSON to
/// `timeline_path`, and returns the timeline.
pub fn export_dance(
    ch: &Choreography,
    fps: f64,
    bvh_path: &Path,
    timeline_path: &Path,
) -> Result<Timeline, MotionError> {
    if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
        return Err(MotionError::invalid(
            bvh_path.display().to_string(),
            format!("export frame rate {fps} out of range"),
        ));
    }
    let clip = ch.bake(fps);
    let bvh = clip.to_bvh();
    // Written atomically: a failed or cancelled export never leaves half a file under the
    // final name.
    crate::files::write_atomic(bvh_path, bvh.to_string_with(6).as_bytes())
        .map_err(|e| MotionError::io(bvh_path, e.into_io().1))?;
    let tl = timeline(ch, fps);
    let mut json = serde_json::to_string_pretty(&tl)
        .map_err(|e| MotionError::json(timeline_path.display().to_string(), e))?;
    json.push('\n');
    crate::files::write_atomic(timeline_path, json.as_bytes())
        .map_err(|e| MotionError::io(timeline_path, e.into_io().1))?;
    Ok(tl)
}
