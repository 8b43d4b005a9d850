//! Labels from recorded takes (issue 18): a song and a motion-capture take danced to it become
//! labels (status `imported`) and, where the library lacks the move, new library phrases.
//!
//! 1. The song is analysed (beats, music phrases, a loudness envelope from the decoded audio).
//! 2. The take is parsed and retargeted to the canonical skeleton like a library clip (any rig
//!    a rig map handles, its own frame rate).
//! 3. Its offset to the music is given or found ([`crate::motion::takes::find_offset`]).
//! 4. It is cut at the music phrases inside the overlap; each piece is compared with every
//!    library phrase danced over the same music (tiled and time-warped as the export does,
//!    [`crate::export::plan::phrase_tiles`]) by the motion distance of
//!    [`crate::motion::takes::motion_distance`]. A piece within the threshold is labeled with
//!    its nearest phrase; any other becomes a new phrase of the library (its beats are the
//!    music's beats), with its provenance.
//! 5. Everything is checked before anything is written; then the take's clip and the index
//!    (each atomically, clip first), the labels, and on request a project whose slots hold
//!    the take's own dance.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::analyse::{AnalyseOptions, Analysed, analyse_file, require_phrases};
use super::{Progress, Result, invalid};
use crate::choreo::paths::{dir_of, relative_to};
use crate::choreo::project::{Project, RankSettings, SlotStatus};
use crate::choreo::score::beats_in;
use crate::export::plan::{ExportOptions, choreograph, phrase_tiles};
use crate::labels::{LabelSet, LabelStatus, LabeledPhrase, LabeledSong};
use crate::motion::beats::{PhraseFeatures, phrase_features, tempo_bpm};
use crate::motion::bvh::Bvh;
use crate::motion::clip::{Clip, plausibility};
use crate::motion::index::{
    ClipEntry, LIBRARY_SCHEMA, LibraryIndex, PhraseEntry, Provenance, SKELETON_NAME, r6,
    round_plaus,
};
use crate::motion::library::{Library, clip_entry, gather_rigs};
use crate::motion::retarget::{RetargetOptions, retarget_auto};
use crate::motion::takes::{
    ENVELOPE_RATE, MusicCues, OffsetEstimate, PoseFeature, beat_samples, find_offset,
    motion_distance, pose_feature, take_cues,
};

/// Default match threshold (m): a piece nearer than this to a library phrase is labeled
/// with it. Measured on the synthetic take of `tests/integration/takes_import.rs`: known
/// phrases with capture noise lie at 0.003–0.004 from their library phrase, one danced with
/// other arms (12° higher, elbows 15° more bent) at 0.043; the nearest library phrase to a
/// move the library lacks at 0.25. A person re-dancing a library move deviates more than
/// noise does: raise it for live takes, as the printed distances suggest.
pub const DEFAULT_THRESHOLD: f64 = 0.12;
/// An estimated offset below this confidence gets a warning. On synthetic takes of the demo
/// song (`takes_import::bench_offsets`): the cold-start dance's eight offsets all right at
/// 0.31–0.70; the dance of the default model retrained for the 92-move library placed 7 of 8
/// exactly one music phrase (8.13 s) early at 0.02–0.28 — phrases of equal length on a steady
/// beat leave shifts by whole phrases nearly as good, and only the dance's energy against the
/// music's tells them apart — and the right one at 0.04; an ambiguous take cut mid-dance came
/// out wrong at 0.07. A wrongly placed take mislabels every phrase it covers, a warning only
/// asks to check, so the line lies above the wrong ones (it was 0.12, under which the right
/// offsets of an earlier default dance, 0.17–0.43, had all stayed).
pub const UNCERTAIN_CONFIDENCE: f64 = 0.30;
/// An estimated offset at which the take's kinematic beats meet fewer than this share of the
/// song's beats gets the same warning, however clear its margin: a dance on the beat marks
/// most of them. On the synthetic takes of the demo song the right offsets fit 0.62–0.66; a
/// take cut mid-dance, placed 16 beats off with confidence 0.27, fit 0.30.
pub const UNCERTAIN_BEAT_FIT: f64 = 0.45;
/// Samples per beat compared by the motion distance.
const SAMPLES_PER_BEAT: usize = 8;
/// Time skipped at both ends of a piece (s): where the take crossfades between moves.
const EDGE_SKIP_S: f64 = 0.2;
/// Mean joint speed (m/s) under which a take counts as not moving.
const STILL_SPEED: f64 = 0.02;

/// What to import.
#[derive(Clone, Debug, PartialEq)]
pub struct TakeImportRequest {
    /// The song the take was danced to.
    pub song: PathBuf,
    /// The take (BVH, any rig a rig map handles).
    pub take: PathBuf,
    /// Take time at which the song starts (s); found from the motion when `None`.
    pub offset: Option<f64>,
    /// Library folder (created when it does not exist: from the starter library with
    /// `seed_starter`, else holding only the take's phrases).
    pub library: PathBuf,
    /// A library folder that does not exist yet starts as a copy of the starter library.
    pub seed_starter: bool,
    /// Labels file (created when it does not exist; the song's entry is replaced).
    pub labels: PathBuf,
    /// A project to write for the editor, with the take's dance as the chosen phrases.
    pub project: Option<PathBuf>,
    /// Match threshold (m, see [`DEFAULT_THRESHOLD`]).
    pub threshold: f64,
    /// Extra rig maps (files or folders).
    pub rigs: Vec<PathBuf>,
    /// Frame rate to use instead of the take header's.
    pub fps: Option<f64>,
    /// Style of the song and the new phrases.
    pub style: Option<String>,
    /// Refuse songs longer than this (minutes).
    pub max_minutes: f64,
}

impl TakeImportRequest {
    /// A request with the defaults of `takes import`.
    pub fn new(
        song: impl Into<PathBuf>,
        take: impl Into<PathBuf>,
        library: impl Into<PathBuf>,
        labels: impl Into<PathBuf>,
    ) -> TakeImportRequest {
        TakeImportRequest {
            song: song.into(),
            take: take.into(),
            offset: None,
            library: library.into(),
            labels: labels.into(),
            seed_starter: false,
            project: None,
            threshold: DEFAULT_THRESHOLD,
            rigs: Vec::new(),
            fps: None,
            style: None,
            max_minutes: 20.0,
        }
    }
}

/// One piece of the take: a music phrase and what it was labeled with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Piece {
    /// Index of the music phrase (= the project's slot).
    pub slot: usize,
    /// Song time where it starts (s).
    pub start: f64,
    /// Song time where it ends (s).
    pub end: f64,
    /// Beats.
    pub beats: usize,
    /// The label: a library phrase, or the new phrase made of this piece.
    pub label: String,
    /// Whether the label is a new phrase.
    pub new_phrase: bool,
    /// The nearest library phrase (before this import), if any.
    pub nearest: Option<String>,
    /// Its distance (m); `null` when the library had no phrase to compare.
    pub distance: Option<f64>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TakeImport {
    /// Take time at which the song starts (s).
    pub offset: f64,
    /// Whether the offset was given (else found).
    pub offset_given: bool,
    /// The estimate, when it was found.
    pub estimate: Option<OffsetEstimate>,
    /// The take's frame rate.
    pub take_fps: f64,
    /// Pieces in song order.
    pub pieces: Vec<Piece>,
    /// Music phrases outside the take (not imported).
    pub outside: usize,
    /// The clip added to the library (when a piece was new).
    pub new_clip: Option<String>,
    /// Things the user should know (partial overlap, an uncertain offset).
    pub warnings: Vec<String>,
}

/// A take retargeted to the canonical skeleton, with what the library index records of it.
struct LoadedTake {
    clip: Clip,
    entry: ClipEntry,
}

/// Parses a take and retargets it to the canonical skeleton (rig maps: `rigs`, the take's
/// folder's `rigs/`, the built-in ones; `fps` overrides the header's frame rate). Fails with a
/// message naming the file.
pub fn read_take(
    path: &Path,
    rigs: &[PathBuf],
    fps: Option<f64>,
) -> Result<(crate::motion::retarget::Retargeted, usize)> {
    let bytes = crate::limits::read_file(path, crate::limits::MAX_FILE_BYTES)
        .map_err(|e| crate::motion::MotionError::io(path, e))?;
    let label = path.display().to_string();
    let bvh = Bvh::parse(&bytes, &label)?;
    let maps = gather_rigs(&dir_of(path), rigs)?;
    let rt = retarget_auto(
        &bvh,
        &maps,
        &label,
        &RetargetOptions {
            fps,
            ..RetargetOptions::default()
        },
    )?;
    if rt.clip.len() < 4 {
        invalid!("{label}: the take has {} frames", rt.clip.len());
    }
    Ok((rt, bvh.frames))
}

/// Parses and retargets the take; fails with a message naming it when it cannot be used.
fn load_take(req: &TakeImportRequest) -> Result<LoadedTake> {
    let path = &req.take;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (rt, source_frames) = read_take(path, &req.rigs, req.fps)?;
    let id = crate::motion::clip::file_stem(&name);
    let entry = ClipEntry {
        style: req.style.clone().unwrap_or_else(|| "take".into()),
        tags: vec!["take".into()],
        ..clip_entry(
            &rt,
            format!("take_{id}"),
            String::new(),
            name,
            [0, source_frames],
            round_plaus(plausibility(&rt.clip)),
        )
    };
    Ok(LoadedTake {
        clip: rt.clip,
        entry,
    })
}

/// Loudness of the song at [`ENVELOPE_RATE`]: RMS of the decoded samples per window.
fn loudness(analysed: &Analysed) -> Vec<f64> {
    let Some(audio) = &analysed.audio else {
        return Vec::new();
    };
    let hop = (f64::from(audio.sample_rate) / ENVELOPE_RATE)
        .round()
        .max(1.0) as usize;
    audio
        .samples
        .chunks(hop)
        .map(|c| {
            let s: f64 = c.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            (s / c.len() as f64).sqrt()
        })
        .collect()
}

/// Whether the library folder exists yet, and what a new one starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewLibrary {
    /// The folder holds a library.
    Exists,
    /// A new folder holding only the take's phrases.
    Empty,
    /// A new folder starting as a copy of the starter library.
    Starter,
}

/// The library to match against and extend: the folder's, or a new one (see [`NewLibrary`]).
fn open_library(dir: &Path, seed_starter: bool) -> Result<(Library, LibraryIndex, NewLibrary)> {
    let index_path = dir.join("index.json");
    if index_path.is_file() {
        let lib = Library::load(dir)?;
        // the file's own entries (the loaded library adds mirrored variants)
        let text = crate::limits::read_text(&index_path, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| crate::motion::MotionError::io(&index_path, e))?;
        let on_disk = LibraryIndex::from_json(&text, &index_path.display().to_string())?;
        return Ok((lib, on_disk, NewLibrary::Exists));
    }
    if dir.exists() && !dir.is_dir() {
        invalid!("{}: not a folder", dir.display());
    }
    if dir.is_dir()
        && std::fs::read_dir(dir)
            .map_err(|e| crate::motion::MotionError::io(dir, e))?
            .next()
            .is_some()
    {
        invalid!(
            "{}: not a library (no index.json) and not empty; name a library folder or a new one",
            dir.display()
        );
    }
    if seed_starter {
        let index = LibraryIndex::from_json(
            crate::motion::embedded::EMBEDDED_INDEX,
            "<embedded>/starter/index.json",
        )?;
        return Ok((Library::starter()?, index, NewLibrary::Starter));
    }
    let index = LibraryIndex {
        schema: LIBRARY_SCHEMA.into(),
        name: dir
            .file_name()
            .map_or_else(|| "takes".into(), |n| n.to_string_lossy().into_owned()),
        skeleton: SKELETON_NAME.into(),
        generator: format!("phrasewise {}", env!("CARGO_PKG_VERSION")),
        clips: Vec::new(),
        phrases: Vec::new(),
        skipped: Vec::new(),
    };
    Ok((
        Library::new(
            index.clone(),
            crate::motion::library::LibrarySource::Dir(dir.to_path_buf()),
        ),
        index,
        NewLibrary::Empty,
    ))
}

/// The take's motion over `times` (song time), as the distance sees it.
fn take_features(clip: &Clip, times: &[f64], offset: f64) -> Vec<PoseFeature> {
    times
        .iter()
        .map(|&t| pose_feature(&clip.sample(t + offset)))
        .collect()
}

/// The nearest library phrase to the take over the music phrase `span` with `beats`:
/// `(id, distance)`; `None` when the library is empty or the phrase too short to compare.
fn nearest_phrase(
    library: &Library,
    song: &crate::analysis::SongAnalysis,
    beats: &[f64],
    span: (f64, f64),
    (take, offset): (&LoadedTake, f64),
) -> Result<Option<(String, f64)>> {
    let (times, dt) = beat_samples(beats, SAMPLES_PER_BEAT, EDGE_SKIP_S);
    if times.len() < 2 {
        return Ok(None);
    }
    let recorded = take_features(&take.clip, &times, offset);
    let opts = ExportOptions::default();
    let mut best: Option<(String, f64)> = None;
    for entry in &library.index.phrases {
        let specs = phrase_tiles(&library.index, entry, beats, song.tempo_bpm, span);
        if specs.is_empty() {
            continue;
        }
        let dance = choreograph(library, &specs, &opts)?;
        let feats: Vec<PoseFeature> = times
            .iter()
            .map(|&t| pose_feature(&dance.sample(t)))
            .collect();
        let d = motion_distance(&recorded, &feats, dt);
        if best.as_ref().is_none_or(|b| d < b.1) {
            best = Some((entry.id.clone(), d));
        }
    }
    Ok(best)
}

/// A unique clip id for the take in `index` (`take_NAME`, `take_NAME_2`, …).
fn unique_clip_id(index: &LibraryIndex, base: &str) -> String {
    let taken = |id: &str| index.clips.iter().any(|c| c.id == id);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|id| !taken(id))
        .unwrap_or_else(|| base.to_string())
}

/// Imports a take (see the module docs). Nothing is written when anything is wrong with the
/// inputs.
pub fn import_take(req: &TakeImportRequest, progress: &dyn Progress) -> Result<TakeImport> {
    if !(req.threshold.is_finite() && req.threshold > 0.0) {
        invalid!("the match threshold must be a positive number of metres");
    }
    progress.step("analysing the song", 0.0)?;
    let analysed = analyse_file(
        &req.song,
        &AnalyseOptions {
            max_minutes: req.max_minutes,
            use_cache: true,
            need_audio: true,
        },
        progress,
    )?;
    require_phrases(&analysed.analysis, &req.song)?;
    progress.step("reading the take", 0.3)?;
    let take = load_take(req)?;
    let cues = take_cues(&take.clip);
    let mean_speed = cues.envelope.iter().sum::<f64>() / cues.envelope.len().max(1) as f64;
    if mean_speed < STILL_SPEED {
        invalid!(
            "{}: the take has no motion (mean joint speed {mean_speed:.3} m/s)",
            req.take.display()
        );
    }
    let mut warnings = Vec::new();
    let (offset, estimate) = place_take(req, &analysed, &cues, progress, &mut warnings)?;
    let inside = covered_phrases(req, &analysed.analysis, offset, take.clip.duration())?;
    let song = &analysed.analysis;
    let outside = song.phrases.len() - inside.len();
    if outside > 0 {
        warnings.push(format!(
            "the take covers {} of the song's {} music phrases; only those are imported",
            inside.len(),
            song.phrases.len()
        ));
    }
    let (library, on_disk, fresh) = open_library(&req.library, req.seed_starter)?;
    let clip_id = unique_clip_id(&on_disk, &take.entry.id);
    let clip_file = format!("clips/{clip_id}.bvh");
    let (pieces, new_phrases) = match_pieces(
        req,
        &analysed,
        (&take, offset),
        &library,
        (&clip_id, &clip_file),
        &inside,
        progress,
    )?;
    let new_clip = write_import(
        req,
        analysed,
        (&take, &cues, offset),
        (on_disk, fresh),
        (clip_id, &clip_file),
        new_phrases,
        &pieces,
        progress,
    )?;
    progress.step("done", 1.0)?;
    Ok(TakeImport {
        offset,
        offset_given: req.offset.is_some(),
        estimate,
        take_fps: take.clip.fps,
        pieces,
        outside,
        new_clip,
        warnings,
    })
}

/// Writes what an import made: the library (when a piece was new, or a new library starts
/// from the starter), the labels, and the project on request; the labels file is read (and
/// checked) first. Returns the clip added to the library.
#[allow(clippy::too_many_arguments)]
fn write_import(
    req: &TakeImportRequest,
    analysed: Analysed,
    (take, cues, offset): (&LoadedTake, &crate::motion::takes::TakeCues, f64),
    (mut on_disk, fresh): (LibraryIndex, NewLibrary),
    (clip_id, clip_file): (String, &str),
    new_phrases: Vec<PhraseEntry>,
    pieces: &[Piece],
    progress: &dyn Progress,
) -> Result<Option<String>> {
    let song = &analysed.analysis;
    // the labels file is read (and checked) before anything is written
    let mut labels = if req.labels.is_file() {
        LabelSet::read(&req.labels)?
    } else {
        LabelSet::new()
    };
    progress.step("writing", 0.96)?;
    let new_clip = if new_phrases.is_empty() {
        None
    } else {
        let mut entry = take.entry.clone();
        entry.id.clone_from(&clip_id);
        entry.file = clip_file.to_string();
        entry.grid_bpm = r6(song.tempo_bpm);
        entry.dance_beats = cues.beats.len();
        on_disk.clips.push(entry);
        on_disk.phrases.extend(new_phrases);
        Some(clip_id)
    };
    if new_clip.is_some() || fresh == NewLibrary::Starter {
        let clip = new_clip.as_ref().map(|_| (clip_file, &take.clip));
        write_library(&req.library, &on_disk, clip, fresh)?;
    }
    labels.add_song(LabeledSong {
        audio: relative_to(&dir_of(&req.labels), &req.song),
        content_hash: Some(analysed.content_hash.clone()),
        phrases: pieces
            .iter()
            .map(|p| LabeledPhrase {
                start: p.start,
                end: p.end,
                label: p.label.clone(),
                status: LabelStatus::Imported,
            })
            .collect(),
        split: None,
        style: req.style.clone(),
    });
    labels.write(&req.labels)?;
    if let Some(project_path) = &req.project {
        write_project(req, project_path, analysed, (pieces, offset))?;
    }
    Ok(new_clip)
}

/// The take's offset: the one given, or the one found ([`find_offset`]; an uncertain one
/// adds a warning).
fn place_take(
    req: &TakeImportRequest,
    analysed: &Analysed,
    cues: &crate::motion::takes::TakeCues,
    progress: &dyn Progress,
    warnings: &mut Vec<String>,
) -> Result<(f64, Option<OffsetEstimate>)> {
    match req.offset {
        Some(x) if x.is_finite() => Ok((x, None)),
        Some(_) => invalid!("the offset must be a number of seconds"),
        None => {
            progress.step("finding the offset", 0.4)?;
            let song = &analysed.analysis;
            let env = loudness(analysed);
            let boundaries: Vec<f64> = song.phrases.iter().skip(1).map(|p| p.start).collect();
            let est = find_offset(
                cues,
                &MusicCues {
                    beats: &song.beats,
                    envelope: &env,
                    duration: song.duration,
                    boundaries: &boundaries,
                },
                &req.take.display().to_string(),
            )?;
            if est.confidence < UNCERTAIN_CONFIDENCE || est.beat_fit < UNCERTAIN_BEAT_FIT {
                warnings.push(format!(
                    "the offset {:.3} s is uncertain (confidence {:.2}, beat fit {:.2}); check it and pass --offset if it is wrong",
                    est.offset, est.confidence, est.beat_fit
                ));
            }
            Ok((est.offset, Some(est)))
        }
    }
}

/// The music phrases (indices) lying wholly inside the take; an error when there are none.
fn covered_phrases(
    req: &TakeImportRequest,
    song: &crate::analysis::SongAnalysis,
    offset: f64,
    take_end: f64,
) -> Result<Vec<usize>> {
    let inside: Vec<usize> = song
        .phrases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.start + offset >= -1e-6 && p.end + offset <= take_end + 1e-6)
        .map(|(i, _)| i)
        .collect();
    if inside.is_empty() {
        invalid!(
            "{}: the take ({take_end:.1} s, song starting at {offset:.2} s into it) covers none of the song's {} music phrases",
            req.take.display(),
            song.phrases.len()
        );
    }
    Ok(inside)
}

/// Labels every covered music phrase: its nearest library phrase within the threshold, else
/// a new phrase of clip `clip` (id, file) made of the take. Returns the pieces and the new
/// phrases.
fn match_pieces(
    req: &TakeImportRequest,
    analysed: &Analysed,
    (take, offset): (&LoadedTake, f64),
    library: &Library,
    (clip_id, clip_file): (&str, &str),
    inside: &[usize],
    progress: &dyn Progress,
) -> Result<(Vec<Piece>, Vec<PhraseEntry>)> {
    let song = &analysed.analysis;
    let world = take.clip.world();
    let kinematic = crate::motion::beats::kinematic_beats(
        &take.clip.resample(crate::motion::beats::BAS_FPS).world(),
        crate::motion::beats::BAS_FPS,
    );
    let song_name = req
        .song
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut pieces = Vec::new();
    let mut new_phrases: Vec<PhraseEntry> = Vec::new();
    for (n, &slot) in inside.iter().enumerate() {
        progress.step(
            "matching phrases",
            0.45 + 0.5 * n as f32 / inside.len() as f32,
        )?;
        let p = &song.phrases[slot];
        let beats = beats_in(song, p.start, p.end);
        let nearest = nearest_phrase(library, song, &beats, (p.start, p.end), (take, offset))?;
        let matched = nearest
            .as_ref()
            .filter(|(_, d)| *d <= req.threshold)
            .map(|(id, _)| id.clone());
        let label = match matched {
            Some(id) => id,
            None => {
                let entry = new_phrase(NewPhrase {
                    id: format!("{clip_id}/{:03}", new_phrases.len()),
                    clip: clip_id,
                    file: clip_file,
                    beats: &beats,
                    offset,
                    fps: take.clip.fps,
                    world: &world,
                    kinematic: &kinematic,
                    style: &take.entry.style,
                    provenance: Provenance {
                        take: take.entry.source.clone(),
                        song: song_name.clone(),
                        song_hash: analysed.content_hash.clone(),
                        start: r6(p.start),
                        end: r6(p.end),
                        offset: r6(offset),
                    },
                })
                .ok_or_else(|| {
                    super::ServiceError::Invalid(format!(
                        "{}: the piece {:.2}–{:.2} s has too few beats or frames to become a phrase",
                        req.take.display(),
                        p.start,
                        p.end
                    ))
                })?;
                let id = entry.id.clone();
                new_phrases.push(entry);
                id
            }
        };
        pieces.push(Piece {
            slot,
            start: p.start,
            end: p.end,
            beats: beats.len().saturating_sub(1),
            new_phrase: new_phrases.last().is_some_and(|e| e.id == label),
            label,
            nearest: nearest.as_ref().map(|(id, _)| id.clone()),
            distance: nearest.as_ref().map(|(_, d)| r6(*d)),
        });
    }
    Ok((pieces, new_phrases))
}

/// What [`new_phrase`] needs.
struct NewPhrase<'a> {
    id: String,
    clip: &'a str,
    file: &'a str,
    beats: &'a [f64],
    offset: f64,
    fps: f64,
    world: &'a [crate::motion::skeleton::WorldPose],
    /// The take's kinematic beats (take time, s; [`crate::motion::beats::kinematic_beats`]).
    kinematic: &'a [f64],
    style: &'a str,
    provenance: Provenance,
}

/// A library phrase made of the take over a music phrase: from its first to its last beat,
/// the music's beats as its beats. `None` when it has under two beats or no frames.
fn new_phrase(n: NewPhrase<'_>) -> Option<PhraseEntry> {
    let (&first, &last) = (n.beats.first()?, n.beats.last()?);
    if n.beats.len() < 2 || n.world.is_empty() {
        return None;
    }
    let frame = |t: f64| ((t + n.offset) * n.fps).round().max(0.0) as usize;
    let start_frame = frame(first);
    let end_frame = frame(last).min(n.world.len() - 1);
    if end_frame <= start_frame {
        return None;
    }
    let beat_times: Vec<f64> = n.beats.iter().map(|b| r6(b - first)).collect();
    // as the library build stores them: the take's kinematic beats near the phrase
    let margin = crate::motion::index::KINEMATIC_MARGIN_S;
    let (lo, hi) = (first + n.offset - margin, last + n.offset + margin);
    let kinematic_beats: Vec<f64> = n
        .kinematic
        .iter()
        .filter(|&&t| t >= lo && t <= hi)
        .map(|t| r6(t - first - n.offset))
        .collect();
    let beats = n.beats.len() - 1;
    let f: PhraseFeatures = phrase_features(&n.world[start_frame..=end_frame], n.fps, beats);
    Some(PhraseEntry {
        id: n.id,
        clip: n.clip.to_string(),
        file: n.file.to_string(),
        start_frame,
        end_frame,
        fps: n.fps,
        beats,
        tempo_bpm: r6(tempo_bpm(&beat_times)),
        beat_times,
        style: n.style.to_string(),
        tags: vec!["take".into()],
        features: PhraseFeatures {
            mean_speed: r6(f.mean_speed),
            energy: r6(f.energy),
            beat_density: r6(f.beat_density),
            height_range: r6(f.height_range),
            travel: r6(f.travel),
            turn_rate: r6(f.turn_rate),
            hands_height: r6(f.hands_height),
        },
        flagged: false,
        tempo_range: None,
        beats_per_bar: None,
        mirror_of: None,
        kinematic_beats: Some(kinematic_beats),
        provenance: Some(n.provenance),
    })
}

/// Writes the take's clip (if any), then the index: each atomically, so a crash in between
/// leaves the previous index (and an unused clip file). A new library folder is made in one
/// step, with the starter library's clips when it starts from them.
fn write_library(
    dir: &Path,
    index: &LibraryIndex,
    clip: Option<(&str, &Clip)>,
    fresh: NewLibrary,
) -> Result<()> {
    let bvh = clip.map(|(file, c)| (file, c.to_bvh().to_string_with(5)));
    let json = index.to_json();
    if fresh != NewLibrary::Exists {
        // A new library folder appears whole (the starter's clips, the take, the index).
        crate::motion::library::replace_dir(dir, |tmp| {
            let write = |rel: &str, text: &[u8]| {
                let p = tmp.join(rel);
                std::fs::write(&p, text).map_err(|e| crate::motion::MotionError::io(&p, e))
            };
            let clips = tmp.join("clips");
            std::fs::create_dir_all(&clips)
                .map_err(|e| crate::motion::MotionError::io(&clips, e))?;
            if fresh == NewLibrary::Starter {
                for (rel, text) in crate::motion::embedded::EMBEDDED_CLIPS {
                    write(rel, text.as_bytes())?;
                }
            }
            if let Some((file, text)) = &bvh {
                write(file, text.as_bytes())?;
            }
            write("index.json", json.as_bytes())
        })?;
        return Ok(());
    }
    if let Some((file, text)) = &bvh {
        let clips = dir.join("clips");
        std::fs::create_dir_all(&clips).map_err(|e| crate::motion::MotionError::io(&clips, e))?;
        crate::files::write_atomic(&dir.join(file), text.as_bytes())?;
    }
    crate::files::write_atomic(&dir.join("index.json"), json.as_bytes())?;
    Ok(())
}

/// A project for the song with the take's dance chosen (status `imported`, locked), ranked
/// around it with the library's default scorer.
fn write_project(
    req: &TakeImportRequest,
    path: &Path,
    analysed: Analysed,
    (pieces, offset): (&[Piece], f64),
) -> Result<()> {
    let library = Library::load(&req.library)?;
    let source = super::scoring::score_source(None, Some(&req.library), path);
    let style = crate::choreo::project::clean_style(req.style.as_deref());
    let scorer = crate::choreo::network::song_scores(
        &source,
        &req.song,
        &analysed.analysis,
        analysed.analysis_samples(),
        &library.index,
        style.as_deref(),
    )?;
    let mut project = Project::new(
        path,
        &req.song,
        &analysed.content_hash,
        analysed.analysis,
        &library.index,
        Some(&req.library),
        &scorer,
        RankSettings {
            style,
            decode: scorer.decode_settings(None),
            ..RankSettings::default()
        },
    )?;
    let at = crate::choreo::time::now_rfc3339();
    for p in pieces {
        if let Some(slot) = project.slots.get_mut(p.slot) {
            let d = &mut slot.decision;
            d.chosen = Some(p.label.clone());
            d.status = SlotStatus::Imported;
            d.locked = true;
            d.by = Some("takes import".into());
            d.at = Some(at.clone());
            d.note = format!(
                "from {} (distance {})",
                req.take.display(),
                p.distance
                    .map_or_else(|| "—".into(), |d| format!("{d:.3} m"))
            );
        }
    }
    use crate::choreo::Scorer as _;
    let scores = scorer.score_all(&project.analysis, &library.index);
    let matrix = scorer.transitions(&library.index)?;
    project.rerank(&scores, &library.index, &matrix)?;
    // the take was handed in by the user: the project may point at it
    crate::confine::vouch(&req.take);
    project.take = Some(crate::choreo::project::TakeRef {
        path: relative_to(&dir_of(path), &req.take),
        offset,
        fps: req.fps,
        seal: None,
    });
    project.save(path)?;
    Ok(())
}

/// The `NAME.<audio>` + `NAME.bvh` pairs directly in `dir`, sorted by name; a BVH without a
/// song of the same name is skipped with a warning. Fails when there is no pair.
pub fn take_pairs(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let files = crate::confine::files_under(dir, false, |_| true)
        .map_err(|(p, e)| crate::motion::MotionError::io(&p, e))?;
    let ext = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    let mut pairs = Vec::new();
    for take in files.iter().filter(|p| ext(p) == "bvh") {
        let song = files.iter().find(|p| {
            p.file_stem() == take.file_stem()
                && crate::model::data::AUDIO_EXTENSIONS.contains(&ext(p).as_str())
        });
        match song {
            Some(s) => pairs.push((s.clone(), take.clone())),
            None => tracing::warn!("{}: no song of the same name; skipped", take.display()),
        }
    }
    if pairs.is_empty() {
        invalid!(
            "{}: no NAME.bvh with a song NAME.<wav|flac|mp3|ogg|m4a> beside it",
            dir.display()
        );
    }
    Ok(pairs)
}

/// Where an import started from an open document writes (the editor's *Import take…*).
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentImport {
    /// The report.
    pub report: TakeImport,
    /// The project written (the document to open next).
    pub project: PathBuf,
    /// The library folder used.
    pub library: PathBuf,
    /// The labels file written.
    pub labels: PathBuf,
}

/// Imports `take` for the song of an open document: the project is the document's file (or,
/// for an untitled one, `SONG_STEM.phrasewise.json` beside the song, numbered when taken); the
/// library is the document's folder library, else the workspace's `library/` — started from
/// the starter library when it does not exist yet (written only with the import); the labels
/// go to the workspace's `labels.json`.
pub fn import_for_document(
    song: &Path,
    take: &Path,
    project: Option<&Path>,
    library_dir: Option<&Path>,
    progress: &dyn Progress,
) -> Result<DocumentImport> {
    let project = match project {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = dir_of(song);
            let stem = song
                .file_stem()
                .map_or_else(|| "song".into(), |s| s.to_string_lossy().into_owned());
            (1..)
                .map(|i| {
                    dir.join(if i == 1 {
                        format!("{stem}.phrasewise.json")
                    } else {
                        format!("{stem}-{i}.phrasewise.json")
                    })
                })
                .find(|p| !p.exists())
                .unwrap_or_else(|| dir.join(format!("{stem}.phrasewise.json")))
        }
    };
    let workspace = dir_of(&project);
    let library = library_dir.map_or_else(|| workspace.join("library"), Path::to_path_buf);
    let labels = workspace.join("labels.json");
    let mut req = TakeImportRequest::new(song, take, &library, &labels);
    req.project = Some(project.clone());
    req.seed_starter = library_dir.is_none();
    let report = import_take(&req, progress)?;
    Ok(DocumentImport {
        report,
        project,
        library,
        labels,
    })
}
