//! The project document (`phrasewise-project/1`, files `*.phrasewise.json`): the song (path
//! relative to the project file, content hash, cached analysis), the library reference and
//! fingerprint, the model id, and one slot per music phrase with its ranked candidates and
//! the decision taken on it (status, who, when, notes).
//!
//! Every change is an [`Edit`]; [`Project::apply`] returns the inverse edit, and [`History`]
//! keeps undo/redo stacks of inverses. Candidates and suggestions of unlocked slots are derived
//! data: after edits the caller runs [`Project::rerank`], which decodes around the locked
//! slots (accepted, swapped, relabeled or explicitly locked).
//!
//! Saving is atomic ([`crate::files::write_atomic_with_backup`]): the previous file is kept as
//! `NAME.bak`, the JSON goes to a uniquely named temporary file in the same folder, is fsynced
//! and renamed over `NAME`, then the folder is fsynced. A crash leaves either the old or the
//! new file, plus possibly a stale temporary file.

use super::decode::{DecodeSettings, Decoding, decode_vec};
use super::paths::{dir_of, relative_to, resolve};
use super::review_data::{Review, Verdict};
use super::score::Scorer;
use super::transition::TransitionMatrix;
use super::{ChoreoError, time};
use crate::analysis::SongAnalysis;
use crate::motion::library::LibraryIndex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Schema tag of project files.
pub const PROJECT_SCHEMA: &str = "phrasewise-project/1";
const SCHEMA_PREFIX: &str = "phrasewise-project/";
const SCHEMA_VERSION: u32 = 1;
/// Library path stored for the starter library compiled into the program.
pub const STARTER_LIBRARY: &str = "<starter>";

/// Where the song is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SongRef {
    /// Path relative to the project file's folder (absolute when that is impossible).
    pub path: String,
    /// BLAKE3 of the audio file's bytes (hex).
    pub content_hash: String,
    /// This user's seal of the path when it lies outside the project's folder
    /// ([`crate::confine::seal`]): the project may use it without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// Which library the candidates refer to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryRef {
    /// Library folder relative to the project file, or [`STARTER_LIBRARY`].
    pub path: String,
    /// The library's name.
    pub name: String,
    /// BLAKE3 of the library index JSON ([`library_fingerprint`]).
    pub fingerprint: String,
    /// Number of phrases K.
    pub phrases: usize,
    /// This user's seal of the path when it lies outside the project's folder
    /// ([`crate::confine::seal`]): the project may use it without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// BLAKE3 (hex) of a library index's canonical JSON, without the phrases' kinematic beats
/// (`PhraseEntry::kinematic_beats`): they are derived from the clips' motion for the
/// beat-clarity term and change neither the phrases nor what a model learned about them, so
/// an index that gained them keeps the fingerprint its models and projects were made with.
pub fn library_fingerprint(index: &LibraryIndex) -> String {
    let json = if index.phrases.iter().any(|p| p.kinematic_beats.is_some()) {
        let mut plain = index.clone();
        for p in &mut plain.phrases {
            p.kinematic_beats = None;
        }
        plain.to_json()
    } else {
        index.to_json()
    };
    blake3::hash(json.as_bytes()).to_hex().to_string()
}

/// One ranked candidate of a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Library phrase id.
    pub phrase: String,
    /// Total: `ln P(d_t = phrase | song, neighbours, locks)` (posterior marginal).
    pub score: f64,
    /// Network part: `ln softmax(F_t)` of the scorer; `null` where the scorer rules the
    /// phrase out (a locked override).
    pub network: Option<f64>,
    /// Transition part: `score − network`, what the neighbours add.
    pub transition: Option<f64>,
}

/// Review state of a slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotStatus {
    /// Chosen by the program, not reviewed.
    #[default]
    Suggested,
    /// The suggestion was accepted.
    Accepted,
    /// Another candidate was chosen.
    Swapped,
    /// The label was corrected to a phrase of the reviewer's choosing.
    Relabeled,
    /// The suggestion was rejected; a new one is suggested.
    Rejected,
    /// Read off a recorded take (`takes import`): a label until review says otherwise.
    Imported,
}

impl SlotStatus {
    /// Lower-case name, as in project files and reports.
    pub fn name(self) -> &'static str {
        match self {
            SlotStatus::Suggested => "suggested",
            SlotStatus::Accepted => "accepted",
            SlotStatus::Swapped => "swapped",
            SlotStatus::Relabeled => "relabeled",
            SlotStatus::Rejected => "rejected",
            SlotStatus::Imported => "imported",
        }
    }

    /// Whether a person decided the slot (accepted, swapped or relabeled it): what the
    /// editor counts as done. An imported slot is a label but still waits for a person.
    pub fn is_decided(self) -> bool {
        self.is_label() && self != SlotStatus::Imported
    }

    /// Whether the slot's choice is a label for training.
    pub fn is_label(self) -> bool {
        matches!(
            self,
            SlotStatus::Accepted
                | SlotStatus::Swapped
                | SlotStatus::Relabeled
                | SlotStatus::Imported
        )
    }
}

/// The decision part of a slot: everything an [`Edit`] changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotDecision {
    /// The phrase playing in this slot.
    pub chosen: Option<String>,
    /// Review state.
    pub status: SlotStatus,
    /// Clamped during decoding.
    #[serde(default)]
    pub locked: bool,
    /// Who made the last decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When (RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Reviewer notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Phrases rejected for this slot (never suggested again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
    /// The library has no good phrase for this music (annotator's mark; not a label).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_match: bool,
    /// QA review of the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

/// One slot: a music phrase and its dance phrase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// Music span start (s).
    pub start: f64,
    /// Music span end (s).
    pub end: f64,
    /// Bars.
    pub bars: usize,
    /// Beats.
    pub beats: usize,
    /// Section label.
    pub section: String,
    /// Ranked candidates, best first.
    pub candidates: Vec<Candidate>,
    /// The decision.
    #[serde(flatten)]
    pub decision: SlotDecision,
}

/// Ranking settings stored with the project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankSettings {
    /// Candidates kept per slot.
    pub top_k: usize,
    /// Decoder settings.
    pub decode: DecodeSettings,
    /// The song's dance style, when somebody declared it (`suggest --style`, the editor's
    /// *Edit → Dance style*): a model that learnt styles ranks that style's repertoire
    /// instead of guessing the style from the music. `None`: the music decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

/// A declared dance style as stored: without surrounding blanks, `None` when empty.
pub fn clean_style(style: Option<&str>) -> Option<String> {
    style
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Default for RankSettings {
    fn default() -> Self {
        RankSettings {
            top_k: 5,
            decode: DecodeSettings::default(),
            style: None,
        }
    }
}

/// The project document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// [`PROJECT_SCHEMA`].
    pub schema: String,
    /// The song.
    pub song: SongRef,
    /// The song's analysis (cached, so opening a project needs no audio decoding).
    pub analysis: SongAnalysis,
    /// The library.
    pub library: LibraryRef,
    /// Scorer id (`"cold-start"` until a trained model is used).
    pub model: String,
    /// Ranking settings.
    pub settings: RankSettings,
    /// One slot per music phrase.
    pub slots: Vec<Slot>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last save (RFC 3339 UTC).
    pub modified_at: String,
    /// The recorded take this project's dance was imported from (`takes import`): the editor
    /// shows it beside the blended dance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take: Option<TakeRef>,
}

/// A recorded take beside a project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TakeRef {
    /// The take's BVH, relative to the project file's folder (absolute when that is
    /// impossible).
    pub path: String,
    /// Take time at which the song starts (s).
    pub offset: f64,
    /// Frame rate used instead of the take header's (`takes import --fps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// This user's seal of the path when it lies outside the project's folder
    /// ([`crate::confine::seal`]): the project may use it without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// Who makes an edit, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// User name.
    pub user: String,
    /// RFC 3339 UTC time.
    pub at: String,
}

impl Actor {
    /// `user`, now.
    pub fn now(user: impl Into<String>) -> Actor {
        Actor {
            user: user.into(),
            at: time::now_rfc3339(),
        }
    }
}

/// A change to the document. [`Project::apply`] returns its inverse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Accept the slot's current phrase (locks it).
    Accept { slot: usize },
    /// Choose another phrase, usually from the candidates (locks it).
    Swap { slot: usize, phrase: String },
    /// Correct the label to any library phrase (locks it).
    Relabel { slot: usize, phrase: String },
    /// Reject the current phrase: unlocks, bans it for this slot; the next re-rank suggests
    /// another.
    Reject { slot: usize },
    /// Clamp the slot's current phrase during decoding.
    Lock { slot: usize },
    /// Release the clamp.
    Unlock { slot: usize },
    /// Set the reviewer note.
    SetNote { slot: usize, note: String },
    /// Put back a whole decision (the inverse of every decision edit).
    Restore {
        slot: usize,
        decision: Box<SlotDecision>,
    },
    /// QA verdict on the slot's decision, with a comment.
    Review {
        slot: usize,
        verdict: Verdict,
        comment: String,
    },
    /// Mark (or clear) "no good phrase in the library" for this music.
    NoMatch { slot: usize, on: bool },
    /// Replace the music phrases and their slots (split, merge, moved boundary; built by
    /// [`super::spans`]); its own inverse holds the previous ones.
    Spans { slot: usize, spans: Box<SpanSet> },
}

/// Music phrases with their slots, as replaced by [`Edit::Spans`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanSet {
    /// The song's music phrases.
    pub phrases: Vec<crate::analysis::Phrase>,
    /// One slot per phrase.
    pub slots: Vec<Slot>,
}

impl Edit {
    /// The slot the edit touches.
    pub fn slot(&self) -> usize {
        match self {
            Edit::Accept { slot }
            | Edit::Swap { slot, .. }
            | Edit::Relabel { slot, .. }
            | Edit::Reject { slot }
            | Edit::Lock { slot }
            | Edit::Unlock { slot }
            | Edit::SetNote { slot, .. }
            | Edit::Restore { slot, .. }
            | Edit::Review { slot, .. }
            | Edit::NoMatch { slot, .. }
            | Edit::Spans { slot, .. } => *slot,
        }
    }
}

fn json_err(path: &Path, err: serde_json::Error) -> ChoreoError {
    ChoreoError::Json {
        path: path.to_path_buf(),
        err,
    }
}

/// Checks a document's `schema` string against `expected` (`prefix` + version).
pub(crate) fn check_schema(
    value: &serde_json::Value,
    prefix: &str,
    version: u32,
    path: &Path,
) -> Result<(), ChoreoError> {
    let expected = format!("{prefix}{version}");
    let found = value
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .to_string();
    if found == expected {
        return Ok(());
    }
    if let Some(v) = found
        .strip_prefix(prefix)
        .and_then(|v| v.parse::<u32>().ok())
        && v > version
    {
        return Err(ChoreoError::NewerSchema {
            found,
            supported: expected,
            path: path.to_path_buf(),
        });
    }
    Err(ChoreoError::Schema {
        found,
        expected,
        path: path.to_path_buf(),
    })
}

/// Writes `bytes` to `path` atomically, keeping the previous file as `PATH.bak`
/// ([`crate::files::write_atomic_with_backup`] with this layer's error type).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ChoreoError> {
    Ok(crate::files::write_atomic_with_backup(path, bytes)?)
}

impl Project {
    /// A new project for `analysis` of the song at `song_path` (hash `content_hash`), saved
    /// later at `project_path`; `library_dir` is `None` for the starter library. Slots are
    /// ranked at once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        project_path: &Path,
        song_path: &Path,
        content_hash: &str,
        analysis: SongAnalysis,
        index: &LibraryIndex,
        library_dir: Option<&Path>,
        scorer: &dyn Scorer,
        settings: RankSettings,
    ) -> Result<Project, ChoreoError> {
        let base = dir_of(project_path);
        // the caller hands these in (a command-line argument, a dialog): the user's choice
        crate::confine::vouch(song_path);
        if let Some(d) = library_dir {
            crate::confine::vouch(d);
        }
        let now = time::now_rfc3339();
        let slots = analysis
            .phrases
            .iter()
            .map(|p| Slot {
                start: p.start,
                end: p.end,
                bars: p.bars,
                beats: p.beats,
                section: p.section.clone(),
                candidates: Vec::new(),
                decision: SlotDecision::default(),
            })
            .collect();
        let mut project = Project {
            schema: PROJECT_SCHEMA.to_string(),
            song: SongRef {
                path: relative_to(&base, song_path),
                content_hash: content_hash.to_string(),
                seal: None,
            },
            analysis,
            library: LibraryRef {
                path: library_dir
                    .map_or_else(|| STARTER_LIBRARY.to_string(), |d| relative_to(&base, d)),
                name: index.name.clone(),
                fingerprint: library_fingerprint(index),
                phrases: index.phrases.len(),
                seal: None,
            },
            model: scorer.id(),
            settings,
            slots,
            created_at: now.clone(),
            modified_at: now,
            take: None,
        };
        let scores = scorer.score_all(&project.analysis, index);
        let matrix = scorer.transitions(index)?;
        project.rerank(&scores, index, &matrix)?;
        Ok(project)
    }

    /// `stored` resolved against the project's folder, if it stays inside it or the user
    /// trusts where it leads ([`crate::confine::trusted`]); [`ChoreoError::Untrusted`] else.
    fn trusted_path(
        project_path: &Path,
        what: &'static str,
        stored: &str,
        seal: Option<&str>,
    ) -> Result<PathBuf, ChoreoError> {
        let dir = dir_of(project_path);
        let target = resolve(&dir, stored);
        if crate::confine::within(&dir, &target) || crate::confine::trusted(&target, seal) {
            Ok(target)
        } else {
            Err(ChoreoError::Untrusted {
                document: project_path.to_path_buf(),
                what,
                path: target,
            })
        }
    }

    /// Absolute path of the song, given where the project file is.
    pub fn song_path(&self, project_path: &Path) -> Result<PathBuf, ChoreoError> {
        Self::trusted_path(
            project_path,
            "song",
            &self.song.path,
            self.song.seal.as_deref(),
        )
    }

    /// The recorded take's file and offset, if the project has one.
    pub fn take_path(
        &self,
        project_path: &Path,
    ) -> Result<Option<(PathBuf, f64, Option<f64>)>, ChoreoError> {
        self.take
            .as_ref()
            .map(|t| {
                Self::trusted_path(project_path, "take", &t.path, t.seal.as_deref())
                    .map(|p| (p, t.offset, t.fps))
            })
            .transpose()
    }

    /// Library folder, or `None` for the starter library.
    pub fn library_dir(&self, project_path: &Path) -> Result<Option<PathBuf>, ChoreoError> {
        (self.library.path != STARTER_LIBRARY)
            .then(|| {
                Self::trusted_path(
                    project_path,
                    "library",
                    &self.library.path,
                    self.library.seal.as_deref(),
                )
            })
            .transpose()
    }

    /// Seals the paths that leave the folder of `project_path` and are trusted now (kept
    /// sealed or vouched for in this run); a path inside loses its seal, an untrusted one
    /// keeps whatever it had (a document is never made more trusted than it was).
    fn seal_paths(&mut self, project_path: &Path) {
        let dir = dir_of(project_path);
        let starter = self.library.path == STARTER_LIBRARY;
        let refs = [
            Some((&self.song.path, &mut self.song.seal)),
            (!starter).then_some((&self.library.path, &mut self.library.seal)),
            self.take.as_mut().map(|t| (&t.path, &mut t.seal)),
        ];
        for (stored, seal) in refs.into_iter().flatten() {
            let target = resolve(&dir, stored);
            if crate::confine::within(&dir, &target) {
                *seal = None;
            } else if crate::confine::trusted(&target, seal.as_deref()) {
                *seal = crate::confine::seal(&target);
            }
        }
    }

    /// Points the project at a moved song (same bytes required).
    pub fn relocate_song(&mut self, project_path: &Path, song: &Path) -> Result<(), ChoreoError> {
        let hash = crate::cache::content_hash(song)
            .map_err(|e| ChoreoError::Invalid(format!("hashing {}: {e}", song.display())))?;
        if hash != self.song.content_hash {
            return Err(ChoreoError::Invalid(format!(
                "{} is different audio from the project's song",
                song.display()
            )));
        }
        crate::confine::vouch(song);
        self.song.path = relative_to(&dir_of(project_path), song);
        Ok(())
    }

    /// Parses a project file without looking for its song.
    pub fn read(path: &Path) -> Result<Project, ChoreoError> {
        let text = crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| ChoreoError::io(path, e))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| json_err(path, e))?;
        check_schema(&value, SCHEMA_PREFIX, SCHEMA_VERSION, path)?;
        let mut p: Project = serde_json::from_value(value).map_err(|e| json_err(path, e))?;
        p.settings.style = clean_style(p.settings.style.as_deref());
        p.check_sizes()
            .map_err(|msg| ChoreoError::Invalid(format!("{}: {msg}", path.display())))?;
        Ok(p)
    }

    /// Checks what the other fields index and size by: one slot per music phrase, each
    /// phrase's first beat and beat count within the beat list's length, every time finite
    /// and within [`crate::limits::MAX_SONG_SECONDS`].
    fn check_sizes(&self) -> Result<(), String> {
        let a = &self.analysis;
        if self.slots.len() != a.phrases.len() {
            return Err(format!(
                "{} slots for {} music phrases",
                self.slots.len(),
                a.phrases.len()
            ));
        }
        if a.beat_in_bar.len() != a.beats.len() {
            return Err(format!(
                "{} beats but {} beat positions in the bar",
                a.beats.len(),
                a.beat_in_bar.len()
            ));
        }
        let max = crate::limits::MAX_SONG_SECONDS;
        let time_ok = |x: f64| (0.0..=max).contains(&x);
        let times = [a.duration]
            .into_iter()
            .chain(a.beats.iter().copied())
            .chain(a.phrases.iter().flat_map(|p| [p.start, p.end]))
            .chain(self.slots.iter().flat_map(|s| [s.start, s.end]));
        for x in times {
            if !time_ok(x) {
                return Err(format!(
                    "time {x} s is outside the song's supported 0–{max} s"
                ));
            }
        }
        for (t, p) in a.phrases.iter().enumerate() {
            // (the last phrase may count beats past the list, to the song's end)
            if p.first_beat > a.beats.len() || p.beats > a.beats.len() {
                return Err(format!(
                    "music phrase {t} starts at beat {} and has {} beats, of {}",
                    p.first_beat,
                    p.beats,
                    a.beats.len()
                ));
            }
        }
        Ok(())
    }

    /// Reads a project and checks its song is where it says ([`ChoreoError::SongMissing`]
    /// otherwise, so the editor can ask for the new place and call
    /// [`relocate_song`](Self::relocate_song)).
    pub fn load(path: &Path) -> Result<Project, ChoreoError> {
        let p = Project::read(path)?;
        let song = p.song_path(path)?;
        if !song.is_file() {
            return Err(ChoreoError::SongMissing { path: song });
        }
        Ok(p)
    }

    /// Saves atomically (see the module docs), stamping `modified_at`.
    pub fn save(&mut self, path: &Path) -> Result<(), ChoreoError> {
        self.modified_at = time::now_rfc3339();
        self.seal_paths(path);
        let mut json = serde_json::to_string_pretty(self).map_err(|e| json_err(path, e))?;
        json.push('\n');
        atomic_write(path, json.as_bytes())
    }

    /// Phrase index per slot for the locked slots.
    pub fn locks(&self, index: &LibraryIndex) -> Result<Vec<Option<usize>>, ChoreoError> {
        self.locks_with(&PhraseIds::new(index))
    }

    fn locks_with(&self, ids: &PhraseIds) -> Result<Vec<Option<usize>>, ChoreoError> {
        self.slots
            .iter()
            .enumerate()
            .map(|(t, s)| match (&s.decision.chosen, s.decision.locked) {
                (Some(id), true) => ids.get(id).map(Some).ok_or_else(|| unknown_phrase(t, id)),
                _ => Ok(None),
            })
            .collect()
    }

    /// Re-ranks every slot from network `scores` (T×K, see
    /// [`Scorer::score_all`](super::Scorer::score_all)) and `matrix`: locked slots keep their
    /// phrase, rejected phrases are banned per slot, unlocked slots get the decoded phrase
    /// (the variety beam search over the library's moves, [`super::variety`]) and every slot
    /// its top-k by posterior marginal (plus its chosen phrase if that fell out).
    pub fn rerank(
        &mut self,
        scores: &[f32],
        index: &LibraryIndex,
        matrix: &TransitionMatrix,
    ) -> Result<Decoding, ChoreoError> {
        let k = index.phrases.len();
        let t_n = self.slots.len();
        if k == 0 && t_n > 0 {
            return Err(ChoreoError::Invalid(format!(
                "library `{}` has no phrases to suggest",
                index.name
            )));
        }
        if scores.len() != t_n * k || matrix.len() != k {
            return Err(ChoreoError::Invalid(format!(
                "{} scores and a {}-phrase matrix for {t_n} slots × {k} phrases",
                scores.len(),
                matrix.len()
            )));
        }
        let ids = PhraseIds::new(index);
        let locks = self.locks_with(&ids)?;
        let mut scores = scores.to_vec();
        for (t, s) in self.slots.iter().enumerate() {
            for id in &s.decision.rejected {
                if let Some(j) = ids.get(id) {
                    scores[t * k + j] = f32::NEG_INFINITY;
                }
            }
        }
        let moves = super::variety::moves_of(index);
        // Next to a locked slot M counts with its own weight (a trained model's `w_L`); the
        // slot's network part stays the network's own.
        let network = matrix.locked().map(|_| scores.clone());
        matrix.add_locked_neighbours(&mut scores, &locks);
        let mut dec = decode_vec(scores, &locks, matrix, &self.settings.decode, &moves)?;
        if let Some(n) = network {
            dec.network = super::decode::log_softmax_rows(n, k);
        }
        let top_k = self.settings.top_k.max(1);
        for (t, slot) in self.slots.iter_mut().enumerate() {
            if locks[t].is_none() {
                slot.decision.chosen = Some(index.phrases[dec.path[t]].id.clone());
            }
            let chosen = locks[t].unwrap_or(dec.path[t]);
            let mut top: Vec<(usize, f32)> = dec
                .top_k(t, top_k)
                .into_iter()
                .filter(|&(_, p)| p > 0.0)
                .collect();
            if !top.iter().any(|&(j, _)| j == chosen) {
                top.push((chosen, dec.marginals[t * k + chosen]));
            }
            slot.candidates = top
                .into_iter()
                .map(|(j, p)| {
                    let total = f64::from(p.max(f32::MIN_POSITIVE)).ln();
                    let net = f64::from(dec.network[t * k + j]);
                    let net = net.is_finite().then_some(net);
                    Candidate {
                        phrase: index.phrases[j].id.clone(),
                        score: total,
                        network: net,
                        transition: net.map(|n| total - n),
                    }
                })
                .collect();
        }
        Ok(dec)
    }

    /// Applies an edit; returns its inverse. Fails (changing nothing) on a bad slot index or
    /// an edit that needs a chosen phrase where there is none.
    pub fn apply(&mut self, edit: &Edit, actor: &Actor) -> Result<Edit, ChoreoError> {
        if let Edit::Spans { slot, spans } = edit {
            return self.replace_spans(*slot, spans);
        }
        let t = edit.slot();
        let n = self.slots.len();
        let slot = self
            .slots
            .get_mut(t)
            .ok_or_else(|| ChoreoError::Invalid(format!("slot {t} out of range (0..{n})")))?;
        let before = slot.decision.clone();
        slot.decision = edited(&before, edit, actor, t)?;
        Ok(Edit::Restore {
            slot: t,
            decision: Box::new(before),
        })
    }

    /// [`Edit::Spans`]: swaps in new music phrases and slots; the inverse holds the old ones.
    fn replace_spans(&mut self, slot: usize, spans: &SpanSet) -> Result<Edit, ChoreoError> {
        if spans.phrases.len() != spans.slots.len() || spans.slots.is_empty() {
            return Err(ChoreoError::Invalid(format!(
                "{} phrases for {} slots",
                spans.phrases.len(),
                spans.slots.len()
            )));
        }
        let before = SpanSet {
            phrases: std::mem::replace(&mut self.analysis.phrases, spans.phrases.clone()),
            slots: std::mem::replace(&mut self.slots, spans.slots.clone()),
        };
        Ok(Edit::Spans {
            slot,
            spans: Box::new(before),
        })
    }
}

/// Slot `t`'s decision `before` after `edit` by `actor` (any edit but [`Edit::Spans`]).
fn edited(
    before: &SlotDecision,
    edit: &Edit,
    actor: &Actor,
    t: usize,
) -> Result<SlotDecision, ChoreoError> {
    let mut d = before.clone();
    let stamp = |d: &mut SlotDecision| {
        d.by = Some(actor.user.clone());
        d.at = Some(actor.at.clone());
    };
    let need_chosen = |d: &SlotDecision| {
        if d.chosen.is_none() {
            Err(ChoreoError::Invalid(format!("slot {t} has no phrase")))
        } else {
            Ok(())
        }
    };
    match edit {
        Edit::Accept { .. } => {
            need_chosen(&d)?;
            d.status = SlotStatus::Accepted;
            d.locked = true;
            stamp(&mut d);
        }
        Edit::Swap { phrase, .. } | Edit::Relabel { phrase, .. } => {
            d.chosen = Some(phrase.clone());
            d.status = if matches!(edit, Edit::Swap { .. }) {
                SlotStatus::Swapped
            } else {
                SlotStatus::Relabeled
            };
            d.locked = true;
            d.rejected.retain(|r| r != phrase);
            stamp(&mut d);
        }
        Edit::Reject { .. } => {
            need_chosen(&d)?;
            if let Some(c) = d.chosen.take()
                && !d.rejected.contains(&c)
            {
                d.rejected.push(c);
            }
            d.status = SlotStatus::Rejected;
            d.locked = false;
            stamp(&mut d);
        }
        Edit::Lock { .. } => {
            need_chosen(&d)?;
            d.locked = true;
        }
        Edit::Unlock { .. } => d.locked = false,
        Edit::SetNote { note, .. } => {
            d.note = note.clone();
            stamp(&mut d);
        }
        Edit::Restore { decision, .. } => d = (**decision).clone(),
        Edit::Review {
            verdict, comment, ..
        } => {
            d.review = Some(Review {
                verdict: *verdict,
                comment: comment.clone(),
                by: actor.user.clone(),
                at: actor.at.clone(),
            });
        }
        Edit::NoMatch { on, .. } => {
            d.no_match = *on;
            stamp(&mut d);
        }
        Edit::Spans { .. } => {}
    }
    Ok(d)
}

/// Phrase id → index, built once per re-rank (a linear search per locked or rejected slot
/// costs O(T·K) string compares for a large library).
struct PhraseIds<'a>(std::collections::HashMap<&'a str, usize>);

impl<'a> PhraseIds<'a> {
    fn new(index: &'a LibraryIndex) -> PhraseIds<'a> {
        // The first phrase of an id wins, as with a linear search.
        let mut map = std::collections::HashMap::with_capacity(index.phrases.len());
        for (j, p) in index.phrases.iter().enumerate() {
            map.entry(p.id.as_str()).or_insert(j);
        }
        PhraseIds(map)
    }

    fn get(&self, id: &str) -> Option<usize> {
        self.0.get(id).copied()
    }
}

fn unknown_phrase(t: usize, id: &str) -> ChoreoError {
    ChoreoError::Invalid(format!(
        "slot {t} is locked to `{id}`, which is not in the library"
    ))
}

/// Undo/redo stacks of inverse edits.
#[derive(Clone, Debug, Default)]
pub struct History {
    undo: Vec<(Edit, Actor)>,
    redo: Vec<(Edit, Actor)>,
}

impl History {
    /// Empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Applies `edit` and records its inverse; clears the redo stack.
    pub fn apply(
        &mut self,
        project: &mut Project,
        edit: &Edit,
        actor: &Actor,
    ) -> Result<(), ChoreoError> {
        let inv = project.apply(edit, actor)?;
        self.undo.push((inv, actor.clone()));
        self.redo.clear();
        Ok(())
    }

    /// Undoes the last edit; `false` when there is none.
    pub fn undo(&mut self, project: &mut Project) -> Result<bool, ChoreoError> {
        let Some((inv, actor)) = self.undo.pop() else {
            return Ok(false);
        };
        let redo = project.apply(&inv, &actor)?;
        self.redo.push((redo, actor));
        Ok(true)
    }

    /// Redoes the last undone edit; `false` when there is none.
    pub fn redo(&mut self, project: &mut Project) -> Result<bool, ChoreoError> {
        let Some((e, actor)) = self.redo.pop() else {
            return Ok(false);
        };
        let inv = project.apply(&e, &actor)?;
        self.undo.push((inv, actor));
        Ok(true)
    }

    /// Edits that can be undone.
    pub fn can_undo(&self) -> usize {
        self.undo.len()
    }

    /// Edits that can be redone.
    pub fn can_redo(&self) -> usize {
        self.redo.len()
    }
}
