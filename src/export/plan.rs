//! Export plans: which library phrase plays over which music span, and how a project's
//! chosen phrases become such slots.
//!
//! **Tiling**: a dance phrase is counted at ½, 1 or 2 music beats per dance beat (whichever
//! [`tempo_fit`] picks) and repeated to fill its music phrase, one export slot per
//! repetition, so an 8-beat move fills a 16-beat phrase twice instead of freezing. The first
//! slot starts at 0 s and the last ends at the song's end, so the dance covers the whole song.

use serde::{Deserialize, Serialize};

use super::ExportError;
use crate::choreo::Project;
use crate::choreo::score::{beats_in, tempo_fit};
use crate::motion::blend::{BlendOptions, Choreography, Slot};
use crate::motion::library::Library;

/// One slot of an export plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotSpec {
    /// Phrase id in the library.
    pub phrase: String,
    /// Music span start (s).
    pub start: f64,
    /// Music span end (s).
    pub end: f64,
    /// Music beat times within the span (s).
    pub beats: Vec<f64>,
}

/// An export plan file: `{"slots": [{"phrase": "...", "start": 0, "end": 4.8, "beats": [...]}]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportPlan {
    /// Slots in time order.
    pub slots: Vec<SlotSpec>,
}

/// Export settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// Frame rate of the baked BVH.
    pub fps: f64,
    /// Crossfade at each switch (s).
    pub crossfade_s: f64,
    /// Align root position and heading at switches.
    pub align_root: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            fps: 30.0,
            crossfade_s: 0.25,
            align_root: true,
        }
    }
}

/// Assembles the slots from `library` into a choreography (time-warped, aligned,
/// crossfaded) without writing anything.
pub fn choreograph(
    library: &Library,
    slots: &[SlotSpec],
    opts: &ExportOptions,
) -> Result<Choreography, ExportError> {
    let margin = opts.crossfade_s.max(0.0) + 0.5;
    let mut placed = Vec::with_capacity(slots.len());
    let max = crate::limits::MAX_SONG_SECONDS;
    for s in slots {
        if !((0.0..=max).contains(&s.start) && (0.0..=max).contains(&s.end)) {
            return Err(ExportError::TooLarge(format!(
                "phrase `{}` spans {} s to {} s; a dance may last at most {max} s",
                s.phrase, s.start, s.end
            )));
        }
        let phrase =
            library
                .phrase_clip(&s.phrase, margin)
                .map_err(|err| ExportError::LoadPhrase {
                    phrase: s.phrase.clone(),
                    err,
                })?;
        placed.push(Slot {
            phrase,
            start: s.start,
            end: s.end,
            music_beats: s.beats.clone(),
        });
    }
    Ok(Choreography::new(
        placed,
        BlendOptions {
            crossfade_s: opts.crossfade_s,
            align_root: opts.align_root,
        },
    )?)
}

/// Export slots for a project's chosen phrases (see the module docs on tiling).
pub fn slot_specs(project: &Project, library: &Library) -> Result<Vec<SlotSpec>, ExportError> {
    let song = &project.analysis;
    let n = project.slots.len();
    let mut out = Vec::new();
    for (t, slot) in project.slots.iter().enumerate() {
        let Some(id) = &slot.decision.chosen else {
            return Err(ExportError::NoPhrase { slot: t });
        };
        let Some(entry) = library.phrase(id) else {
            return Err(ExportError::UnknownPhrase {
                slot: t,
                phrase: id.clone(),
                library: library.index.name.clone(),
            });
        };
        let start = if t == 0 { 0.0 } else { slot.start };
        let end = if t + 1 == n {
            song.duration.max(slot.end)
        } else {
            slot.end
        };
        let grid = counting_grid(
            beats_in(song, slot.start, slot.end),
            song.tempo_bpm,
            entry.tempo_bpm,
        );
        tile(id, &grid, entry.beats.max(1), start, end, &mut out);
    }
    Ok(out)
}

/// The music beats a phrase is counted on: every beat, every other beat (the phrase is danced
/// at half time) or the beats and their midpoints (double time), as [`tempo_fit`] picks from
/// the span's median beat interval against the phrase's tempo.
fn counting_grid(beats: Vec<f64>, song_bpm: f64, phrase_bpm: f64) -> Vec<f64> {
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibi.sort_by(f64::total_cmp);
    let music_bpm = ibi
        .get(ibi.len() / 2)
        .filter(|d| **d > 0.0)
        .map_or(song_bpm, |d| 60.0 / d);
    let counting = tempo_fit(music_bpm, phrase_bpm).map_or(1.0, |f| f.counting);
    if counting >= 2.0 {
        beats.iter().copied().step_by(2).collect()
    } else if counting <= 0.5 {
        let mut g = Vec::with_capacity(beats.len() * 2);
        for w in beats.windows(2) {
            g.push(w[0]);
            g.push(0.5 * (w[0] + w[1]));
        }
        g.extend(beats.last());
        g
    } else {
        beats
    }
}

/// Repeats phrase `id` of `nd` dance beats over `grid` (one slot per repetition), the first
/// repetition starting at `start` and the last ending at `end`.
fn tile(id: &str, grid: &[f64], nd: usize, start: f64, end: f64, out: &mut Vec<SlotSpec>) {
    let last = grid.len().saturating_sub(1);
    let reps = ((last as f64 / nd as f64).round() as usize).max(1);
    for r in 0..reps {
        let a = (r * nd).min(last);
        let b = if r + 1 == reps {
            last
        } else {
            ((r + 1) * nd).min(last)
        };
        let s0 = if r == 0 {
            start
        } else {
            grid.get(a).copied().unwrap_or(start)
        };
        let s1 = if r + 1 == reps {
            end
        } else {
            grid.get(b).copied().unwrap_or(end)
        };
        if s1 <= s0 {
            continue;
        }
        out.push(SlotSpec {
            phrase: id.to_string(),
            start: s0,
            end: s1,
            beats: grid.get(a..=b).map(<[f64]>::to_vec).unwrap_or_default(),
        });
    }
}
