//! Export plans: which library phrase plays over which music span, and how a project's
//! chosen phrases become such slots.
//!
//! **Tiling**: a dance phrase is counted at ½, 1 or 2 music beats per dance beat (whichever
//! [`tempo_fit`] picks) and repeated to fill its music phrase, one export slot per
//! repetition, so an 8-beat move fills a 16-beat phrase twice instead of freezing. Repetitions
//! alternate with the move's other phrases of the same length (its other variations, its
//! mirrored variants; [`partners`]): A B A B′ rather than A A A A (issue 15, item 1). The
//! first slot starts at 0 s and the last ends at the song's end, so the dance covers the
//! whole song.

use serde::{Deserialize, Serialize};

use super::ExportError;
use crate::choreo::Project;
use crate::choreo::score::{beats_in, tempo_fit};
use crate::motion::blend::{BlendOptions, Choreography, Slot};
use crate::motion::library::{Library, LibraryIndex, PhraseEntry};

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
            rest_s: REST_ENTRY_S,
        },
    )?)
}

/// Shortest intro or outro (in beats) danced with the idle phrase; a shorter one is covered
/// by stretching the neighbouring slot.
pub const IDLE_MIN_BEATS: f64 = 4.0;

/// Seconds over which a planned dance rises out of a standing pose at the song's start and
/// settles back into it at the end (issue 15, item 2): about a beat at 120 BPM, so the
/// first and last moves are still seen.
pub const REST_ENTRY_S: f64 = 0.5;

/// Export slots for a project's chosen phrases (see the module docs on tiling). The music
/// before the first phrase and after the last (an intro, an outro, or beats the tracker lost
/// in a fade) is danced with the library's calmest phrase ([`idle_phrase`]) on the song's beat
/// grid carried on at its tempo, when it lasts at least [`IDLE_MIN_BEATS`]; the dance then
/// covers the whole song instead of holding a pose (issue 15, item 2).
pub fn slot_specs(project: &Project, library: &Library) -> Result<Vec<SlotSpec>, ExportError> {
    let song = &project.analysis;
    let n = project.slots.len();
    let period = beat_period(song);
    let idle = idle_phrase(&library.index, song.tempo_bpm);
    let mut out = Vec::new();
    let (Some(first), Some(last)) = (project.slots.first(), project.slots.last()) else {
        return Ok(out);
    };
    let intro = match (period, idle) {
        (Some(p), Some(idle)) if first.start >= IDLE_MIN_BEATS * p => {
            let mut grid: Vec<f64> = (0..)
                .map(|i| first.start - f64::from(i) * p)
                .take_while(|&b| b >= 0.0)
                .collect();
            grid.reverse();
            tile_phrase(
                &library.index,
                idle,
                &grid,
                song.tempo_bpm,
                (0.0, first.start),
                &mut out,
            );
            true
        }
        _ => false,
    };
    let song_end = song.duration.max(last.end);
    let outro = match (period, idle) {
        (Some(p), Some(idle)) if song_end - last.end >= IDLE_MIN_BEATS * p => Some((idle, p)),
        _ => None,
    };
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
        let start = if t == 0 && !intro { 0.0 } else { slot.start };
        let end = if t + 1 == n && outro.is_none() {
            song_end
        } else {
            slot.end
        };
        let beats = beats_in(song, slot.start, slot.end);
        tile_phrase(
            &library.index,
            entry,
            &beats,
            song.tempo_bpm,
            (start, end),
            &mut out,
        );
    }
    if let Some((idle, p)) = outro {
        let grid: Vec<f64> = (0..)
            .map(|i| last.end + f64::from(i) * p)
            .take_while(|&b| b <= song_end + 1e-9)
            .collect();
        tile_phrase(
            &library.index,
            idle,
            &grid,
            song.tempo_bpm,
            (last.end, song_end),
            &mut out,
        );
    }
    Ok(out)
}

/// The export slots of library phrase `entry` tiled over one music phrase (its `beats`, from
/// `span.0` to `span.1`) exactly as [`slot_specs`] tiles a chosen phrase: how the phrase is
/// danced there (recorded takes are matched against this).
pub fn phrase_tiles(
    index: &LibraryIndex,
    entry: &PhraseEntry,
    beats: &[f64],
    song_bpm: f64,
    span: (f64, f64),
) -> Vec<SlotSpec> {
    let mut out = Vec::new();
    tile_phrase(index, entry, beats, song_bpm, span, &mut out);
    out
}

/// Tiles library phrase `entry` of `index` over `beats` counted as [`counting_grid`] picks,
/// from `span.0` to `span.1`.
fn tile_phrase(
    index: &LibraryIndex,
    entry: &PhraseEntry,
    beats: &[f64],
    song_bpm: f64,
    span: (f64, f64),
    out: &mut Vec<SlotSpec>,
) {
    let grid = counting_grid(beats.to_vec(), song_bpm, entry.tempo_bpm);
    let ids = partners(index, &entry.id);
    tile(&ids, &grid, entry.beats.max(1), span.0, span.1, out);
}

/// The middle inter-beat interval of `beats` (the upper one of an even count), if any.
fn median_ibi(beats: &[f64]) -> Option<f64> {
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibi.sort_by(f64::total_cmp);
    ibi.get(ibi.len() / 2).copied()
}

/// The song's beat period (s): the median inter-beat interval, else from its tempo.
fn beat_period(song: &crate::analysis::SongAnalysis) -> Option<f64> {
    median_ibi(&song.beats)
        .or_else(|| (song.tempo_bpm > 0.0).then(|| 60.0 / song.tempo_bpm))
        .filter(|p| p.is_finite() && *p > 0.05)
}

/// The phrase danced over intros and outros: the lowest kinetic energy among the unflagged
/// phrases whose tempo fits the song ([`tempo_fit`]), else among all unflagged phrases.
pub fn idle_phrase(index: &LibraryIndex, song_bpm: f64) -> Option<&PhraseEntry> {
    let calmest = |fits: bool| {
        index
            .phrases
            .iter()
            .filter(|p| !p.flagged && (!fits || tempo_fit(song_bpm, p.tempo_bpm).is_some()))
            .min_by(|a, b| a.features.energy.total_cmp(&b.features.energy))
    };
    calmest(true).or_else(|| calmest(false))
}

/// The phrases a slot's repetitions alternate with: `id` first, then the phrases of the same
/// move ([`crate::choreo::variety::move_name`]) with the same number of beats, in library
/// order. Even repetitions dance `id`, odd ones the others in turn.
pub fn partners(index: &LibraryIndex, id: &str) -> Vec<String> {
    use crate::choreo::variety::move_name;
    let Some(me) = index.phrases.iter().find(|p| p.id == id) else {
        return vec![id.to_string()];
    };
    let mut out = vec![id.to_string()];
    out.extend(
        index
            .phrases
            .iter()
            .filter(|p| {
                p.id != id && move_name(&p.clip) == move_name(&me.clip) && p.beats == me.beats
            })
            .map(|p| p.id.clone()),
    );
    out
}

/// The music beats a phrase is counted on: every beat, every other beat (the phrase is danced
/// at half time) or the beats and their midpoints (double time), as [`tempo_fit`] picks from
/// the span's median beat interval against the phrase's tempo.
fn counting_grid(beats: Vec<f64>, song_bpm: f64, phrase_bpm: f64) -> Vec<f64> {
    let music_bpm = median_ibi(&beats)
        .filter(|d| *d > 0.0)
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

/// Repeats phrases of `nd` dance beats over `grid` (one slot per repetition), the first
/// repetition starting at `start` and the last ending at `end`: `ids[0]` on even
/// repetitions, the other `ids` in turn on odd ones ([`partners`]).
fn tile(ids: &[String], grid: &[f64], nd: usize, start: f64, end: f64, out: &mut Vec<SlotSpec>) {
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
        let others = ids.len().saturating_sub(1);
        let phrase = match (r % 2, others) {
            (1, n) if n > 0 => &ids[1 + (r / 2) % n],
            _ => &ids[0],
        };
        out.push(SlotSpec {
            phrase: phrase.clone(),
            start: s0,
            end: s1,
            beats: grid.get(a..=b).map(<[f64]>::to_vec).unwrap_or_default(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four repetitions of a two-phrase move alternate A B A B, on the grid, covering
    /// `start..end`; a move with one phrase of that length repeats it.
    #[test]
    fn tiling_alternates_a_moves_phrases() {
        let grid: Vec<f64> = (0..=16).map(|b| f64::from(b) * 0.5).collect();
        let ids = vec!["a".to_string(), "b".to_string()];
        let mut out = Vec::new();
        tile(&ids, &grid, 4, 0.0, 8.0, &mut out);
        let names: Vec<&str> = out.iter().map(|s| s.phrase.as_str()).collect();
        assert_eq!(names, ["a", "b", "a", "b"]);
        assert_eq!((out[0].start, out[3].end), (0.0, 8.0));
        assert_eq!((out[1].start, out[1].end), (2.0, 4.0));
        let mut one = Vec::new();
        tile(&ids[..1], &grid, 8, 0.0, 8.0, &mut one);
        assert!(one.iter().all(|s| s.phrase == "a") && one.len() == 2);
    }

    /// In the starter library every phrase's partners are of its move and length, start with
    /// it, and some move has more than one.
    #[test]
    fn partners_share_move_and_length() {
        let lib = Library::starter().expect("starter");
        let moves = crate::choreo::variety::moves_of(&lib.index);
        let pos = |id: &str| lib.index.phrases.iter().position(|p| p.id == id);
        let mut most = 0;
        for p in &lib.index.phrases {
            let ps = partners(&lib.index, &p.id);
            assert_eq!(ps[0], p.id);
            let me = pos(&p.id).expect("phrase");
            for q in &ps {
                let j = pos(q).expect("partner");
                assert_eq!((moves[j], lib.index.phrases[j].beats), (moves[me], p.beats));
            }
            most = most.max(ps.len());
        }
        assert!(most >= 2, "no move with two phrases of one length");
        assert_eq!(partners(&lib.index, "no/such"), ["no/such"]);
    }
}
