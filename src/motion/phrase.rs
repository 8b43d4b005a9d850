//! A phrase cut out of its clip for blending: the phrase's frames plus margins and its beats.
//! Below [`super::blend`] (which warps and crossfades phrases) and [`super::library`] (which
//! loads them), so blending does not depend on library loading.

use super::clip::Clip;
use super::index::PhraseEntry;
use super::skeleton::Pose;

/// A phrase ready for blending: its frames plus margins, and its beats.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseClip {
    /// Phrase id.
    pub id: String,
    /// Frames from `margin` before the phrase to `margin` after it (clamped to the clip).
    pub clip: Clip,
    /// Time within `clip` where the phrase starts (its first beat).
    pub offset: f64,
    /// Beat times relative to the phrase start (first 0, last = duration).
    pub beats: Vec<f64>,
}

impl PhraseClip {
    /// Cuts `entry`'s frames (plus margins) out of its clip.
    pub fn from_clip(clip: &Clip, entry: &PhraseEntry, margin_s: f64) -> PhraseClip {
        let m = (margin_s.max(0.0) * clip.fps).ceil() as usize;
        let a = entry.start_frame.saturating_sub(m);
        let b = (entry.end_frame + m + 1).min(clip.len());
        PhraseClip {
            id: entry.id.clone(),
            clip: clip.slice(a, b, entry.id.clone()),
            offset: (entry.start_frame - a) as f64 / clip.fps,
            beats: entry.beat_times.clone(),
        }
    }

    /// Phrase duration (s).
    pub fn duration(&self) -> f64 {
        self.beats.last().copied().unwrap_or(0.0)
    }

    /// Pose at phrase time `u` (0 = first beat); margins are used beyond the ends, then
    /// the clip is clamped.
    pub fn sample(&self, u: f64) -> Pose {
        self.clip.sample(self.offset + u)
    }
}
