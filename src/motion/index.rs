//! The library index (`index.json`, schema `phrasewise-library/1`): its clip and phrase
//! entries, JSON parsing with consistency checks, and cutting a canonical clip into phrase
//! entries. Kept below [`super::library`] (building and loading libraries) and
//! [`super::starter`] (generating the starter library), which both write these entries.

use super::MotionError;
use super::beats::{
    BAS_FPS, PhraseConfig, PhraseFeatures, cut_phrases, kinematic_beats, phrase_features, tempo_bpm,
};
use super::clip::{Clip, Plausibility};
use serde::{Deserialize, Serialize};

/// Schema tag of library indexes.
pub const LIBRARY_SCHEMA: &str = "phrasewise-library/1";
/// Name of the canonical skeleton in indexes.
pub const SKELETON_NAME: &str = "phrasewise-canonical-22";

/// One source clip in the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipEntry {
    /// Identifier (the source file stem).
    pub id: String,
    /// Canonical-skeleton BVH, relative to the library folder.
    pub file: String,
    /// Source file name.
    pub source: String,
    /// Rig map used.
    pub rig: String,
    /// Detected file unit.
    pub unit: String,
    /// Metres per file unit.
    pub unit_scale: f64,
    /// Root-translation scale applied (leg-length ratio).
    pub leg_scale: f64,
    /// Frame rate the header claims.
    pub header_fps: f64,
    /// Frame rate used.
    pub fps: f64,
    /// Source frames kept, `[start, end)`.
    pub source_frames: [usize; 2],
    /// Frames in the canonical file.
    pub frames: usize,
    /// Style tag.
    pub style: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Tempo of the clip's beat grid (BPM).
    pub grid_bpm: f64,
    /// Number of raw (Duan) dance beats.
    pub dance_beats: usize,
    /// Speed statistics and implausibility flags.
    pub plausibility: Plausibility,
}

/// One phrase in the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhraseEntry {
    /// Identifier, `clip_id/NNN`.
    pub id: String,
    /// Clip identifier.
    pub clip: String,
    /// Canonical BVH (relative to the library folder).
    pub file: String,
    /// First frame (in the canonical file).
    pub start_frame: usize,
    /// Last frame, inclusive.
    pub end_frame: usize,
    /// Frames per second of the clip.
    pub fps: f64,
    /// Number of beat intervals.
    pub beats: usize,
    /// Beat times relative to the phrase start (s); first 0, last = duration.
    pub beat_times: Vec<f64>,
    /// Tempo (BPM) from the median inter-beat interval.
    pub tempo_bpm: f64,
    /// Style tag.
    pub style: String,
    /// Tags (from the clip and overrides).
    pub tags: Vec<String>,
    /// Motion features.
    pub features: PhraseFeatures,
    /// True when the clip was flagged implausible.
    pub flagged: bool,
    /// Music tempi (BPM, counted as the phrase is danced) at which the move still looks
    /// natural, `[low, high]`; when set, the choreographer plays the phrase only inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo_range: Option<[f64; 2]>,
    /// Beats per bar the phrase is built on (3 for a waltz); `None`: any (read as 4/4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beats_per_bar: Option<usize>,
    /// The phrase this one is the left↔right mirror image of ([`super::mirror`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_of: Option<String>,
    /// The phrase's kinematic beats (Bailando's velocity minima at 60 fps,
    /// [`super::beats::kinematic_beats`], found on the whole clip) in seconds relative to the
    /// phrase start, those within [`KINEMATIC_MARGIN_S`] of the phrase; what
    /// [`super::metrics::beat_clarity`] scores against the beat markers. `None` in indexes
    /// written before they were stored (the choreographer then has no clarity term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinematic_beats: Option<Vec<f64>>,
    /// Where a phrase read off a recorded take came from (`takes import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// The recorded take a library phrase was cut from, and where in its song.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The take's file name.
    pub take: String,
    /// The song's file name.
    pub song: String,
    /// BLAKE3 of the song's audio.
    pub song_hash: String,
    /// Song time where the phrase starts (s).
    pub start: f64,
    /// Song time where it ends (s).
    pub end: f64,
    /// Take time at which the song starts (s).
    pub offset: f64,
}

impl PhraseEntry {
    /// Duration in seconds (first to last beat marker).
    pub fn duration(&self) -> f64 {
        self.beat_times.last().copied().unwrap_or(0.0)
    }
}

/// A file the build skipped, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Source file name.
    pub file: String,
    /// The reason (an error message naming file and line, or "excluded").
    pub reason: String,
}

/// Tag of mirrored library phrases ([`super::mirror`]).
pub const MIRROR_TAG: &str = "mirrored";
/// Suffix of a mirrored phrase's id ([`super::mirror`]).
pub const MIRROR_SUFFIX: &str = "~mirror";

/// The library index (`index.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryIndex {
    /// Must be [`LIBRARY_SCHEMA`].
    pub schema: String,
    /// Name of the library.
    pub name: String,
    /// Skeleton every clip is on ([`SKELETON_NAME`]).
    pub skeleton: String,
    /// Program that wrote it.
    pub generator: String,
    /// Clips.
    pub clips: Vec<ClipEntry>,
    /// Phrases.
    pub phrases: Vec<PhraseEntry>,
    /// Files skipped by the build.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

impl LibraryIndex {
    /// Parses and checks the schema; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<LibraryIndex, MotionError> {
        let idx: LibraryIndex =
            serde_json::from_str(text).map_err(|e| MotionError::json(file, e))?;
        if idx.schema != LIBRARY_SCHEMA {
            return Err(MotionError::invalid(
                file,
                format!("schema is `{}`, expected `{LIBRARY_SCHEMA}`", idx.schema),
            ));
        }
        // Clip files are read from the library's folder: nothing outside it.
        for c in &idx.clips {
            if !crate::confine::inside(&c.file) {
                return Err(MotionError::invalid(
                    file,
                    format!(
                        "clip `{}`: file `{}` is outside the library folder (absolute or `..`)",
                        c.id, c.file
                    ),
                ));
            }
        }
        for p in &idx.phrases {
            if !crate::confine::inside(&p.file) {
                return Err(MotionError::invalid(
                    file,
                    format!(
                        "phrase `{}`: file `{}` is outside the library folder (absolute or `..`)",
                        p.id, p.file
                    ),
                ));
            }
            if !idx.clips.iter().any(|c| c.id == p.clip) {
                return Err(MotionError::invalid(
                    file,
                    format!("phrase `{}` refers to unknown clip `{}`", p.id, p.clip),
                ));
            }
            if p.end_frame <= p.start_frame || p.beat_times.len() != p.beats + 1 {
                return Err(MotionError::invalid(
                    file,
                    format!(
                        "phrase `{}` has an inconsistent frame range or beat list",
                        p.id
                    ),
                ));
            }
        }
        Ok(idx)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| String::from("{}"));
        s.push('\n');
        s
    }

    /// The phrases a model learns and a labels file names: every phrase but the mirrored
    /// variants ([`super::mirror`]), in library order. A mirror is the same move danced to
    /// the other side, so the music cannot tell it from its original: as a class of its own
    /// it would never be labeled, split the original's probability and take places in every
    /// top-k list. A mirror is scored as its original ([`Self::class_id`]).
    pub fn class_phrases(&self) -> Vec<&PhraseEntry> {
        self.phrases
            .iter()
            .filter(|p| p.mirror_of.is_none())
            .collect()
    }

    /// The class a phrase id counts as for a model or a labels file: a mirrored variant's
    /// original (by its entry's `mirror_of`, else by the id's `~mirror` suffix), any other
    /// phrase itself.
    pub fn class_id<'a>(&'a self, id: &'a str) -> &'a str {
        if let Some(orig) = self
            .phrases
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.mirror_of.as_deref())
        {
            return orig;
        }
        id.strip_suffix(MIRROR_SUFFIX).unwrap_or(id)
    }

    /// Median phrase length (s); 0 when there are no phrases.
    pub fn median_phrase_seconds(&self) -> f64 {
        let mut d: Vec<f64> = self.phrases.iter().map(PhraseEntry::duration).collect();
        super::clip::median(&mut d)
    }
}

/// Rounds to 6 decimals (keeps the JSON small and stable).
pub fn r6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn round_features(f: PhraseFeatures) -> PhraseFeatures {
    PhraseFeatures {
        mean_speed: r6(f.mean_speed),
        energy: r6(f.energy),
        beat_density: r6(f.beat_density),
        height_range: r6(f.height_range),
        travel: r6(f.travel),
        turn_rate: r6(f.turn_rate),
        hands_height: r6(f.hands_height),
    }
}

/// Rounds the statistics of a [`Plausibility`] to 6 decimals.
pub fn round_plaus(p: Plausibility) -> Plausibility {
    Plausibility {
        root_speed_median: r6(p.root_speed_median),
        root_speed_p95: r6(p.root_speed_p95),
        root_speed_sustained: r6(p.root_speed_sustained),
        foot_speed_p99: r6(p.foot_speed_p99),
        foot_speed_sustained: r6(p.foot_speed_sustained),
        root_accel_p99: r6(p.root_accel_p99),
        ..p
    }
}

/// How far before a phrase's first beat marker and after its last its stored kinematic beats
/// reach (s): 3σ of the beat alignment score, beyond which a kinematic beat adds under 0.012.
pub const KINEMATIC_MARGIN_S: f64 = 0.15;

/// Cuts a canonical clip into phrases on the beat grid `grid` (seconds) and describes them,
/// each with its kinematic beats (found once on the whole clip resampled to
/// [`BAS_FPS`], so a phrase's first and last beats see the motion around them).
#[allow(clippy::too_many_arguments)]
pub fn phrases_for_clip(
    clip_id: &str,
    file: &str,
    clip: &Clip,
    grid: &[f64],
    style: &str,
    tags: &[String],
    flagged: bool,
    cfg: &PhraseConfig,
) -> Vec<PhraseEntry> {
    let world = clip.world();
    let kinematic = kinematic_beats(&clip.resample(BAS_FPS).world(), BAS_FPS);
    cut_phrases(grid, cfg)
        .into_iter()
        .enumerate()
        .filter_map(|(k, cut)| {
            let start_frame = (cut.start * clip.fps).round() as usize;
            let end_frame =
                ((cut.end * clip.fps).round() as usize).min(clip.len().saturating_sub(1));
            if end_frame <= start_frame {
                return None;
            }
            let beat_times: Vec<f64> = grid[cut.first_beat..=cut.first_beat + cut.beats]
                .iter()
                .map(|t| r6(t - cut.start))
                .collect();
            let features = phrase_features(&world[start_frame..=end_frame], clip.fps, cut.beats);
            let (lo, hi) = (cut.start - KINEMATIC_MARGIN_S, cut.end + KINEMATIC_MARGIN_S);
            let kinematic_beats: Vec<f64> = kinematic
                .iter()
                .filter(|&&t| t >= lo && t <= hi)
                .map(|t| r6(t - cut.start))
                .collect();
            Some(PhraseEntry {
                id: format!("{clip_id}/{k:03}"),
                clip: clip_id.to_string(),
                file: file.to_string(),
                start_frame,
                end_frame,
                fps: clip.fps,
                beats: cut.beats,
                tempo_bpm: r6(tempo_bpm(&beat_times)),
                beat_times,
                style: style.to_string(),
                tags: tags.to_vec(),
                features: round_features(features),
                flagged,
                tempo_range: None,
                beats_per_bar: None,
                mirror_of: None,
                provenance: None,
                kinematic_beats: Some(kinematic_beats),
            })
        })
        .collect()
}
