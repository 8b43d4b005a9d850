//! The open document and everything derived from it, with no GUI types: the editor shell,
//! the tests and the CLI reach the same code.
//!
//! A [`Session`] holds the project, its undo [`History`], the library, the network scores and
//! the transition matrix (so an edit re-ranks every unlocked slot with the engine's
//! constrained decoding, `Project::rerank`), and the decoded audio for playback and the
//! waveform. Loading is a service ([`crate::service::document`]) run on a worker thread (see
//! [`super::jobs`]) with progress and cancellation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use crate::audio::ANALYSIS_SR;
use crate::choreo::network::{PrecomputedScorer, ScoreSource, song_scores};
use crate::choreo::project::{Actor, Edit};
use crate::choreo::score::Scorer;
use crate::choreo::{History, Project, TransitionMatrix};
use crate::export::metrics::{danced_slots, random_baseline};
use crate::export::{ExportOptions, choreograph, slot_specs};
use crate::motion::blend::Choreography;
use crate::motion::library::Library;
use crate::motion::metrics::{DanceMeasure, DanceMetrics, MusicTimes, measure_dance};
use crate::motion::thumbnail::{PoseStrip, STRIP_POSES, pose_strip};
use crate::service::Progress;
use crate::service::document::{self, Opened};

use super::waveform::Envelope;

/// Decoded audio of the open song.
#[derive(Debug, Clone)]
pub struct SongAudio {
    /// Mono samples at `sample_rate`.
    pub samples: Arc<[f32]>,
    /// Sample rate (Hz).
    pub sample_rate: u32,
    /// Min/max pyramid for the waveform lane.
    pub envelope: Arc<Envelope>,
}

impl SongAudio {
    /// Wraps decoded samples, building the waveform pyramid.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> SongAudio {
        let envelope = Arc::new(Envelope::new(&samples, sample_rate));
        SongAudio {
            samples: samples.into(),
            sample_rate,
            envelope,
        }
    }

    /// Length (s).
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The samples when they are at the analysis rate (what the network's inputs are
    /// computed from), so scoring needs no second decode.
    pub fn analysis_samples(&self) -> Option<&[f32]> {
        (self.sample_rate == ANALYSIS_SR).then_some(&self.samples[..])
    }
}

/// The open project with its undo history and ranking inputs.
pub struct Session {
    /// The document.
    pub project: Project,
    /// Where it is saved; `None` for an untitled project (e.g. the demo).
    pub path: Option<PathBuf>,
    /// Where the project's relative paths are resolved while untitled.
    pub base_path: PathBuf,
    /// The song's file, resolved (and checked against [`crate::confine`]) when the session
    /// was made.
    song: PathBuf,
    /// Undo/redo of decisions.
    pub history: History,
    /// The library the candidates refer to.
    pub library: Library,
    /// Library folder, `None` for the embedded starter library.
    pub library_dir: Option<PathBuf>,
    /// The dance styles the current model learnt (what *Edit → Dance style* offers).
    pub styles: Vec<String>,
    /// The variety penalties the current model fitted on its labels (what *Edit → Variety*
    /// calls the model's).
    pub fitted_variety: Option<crate::model::evaluation::VarietyFit>,
    /// Where the network part comes from.
    pub source: ScoreSource,
    /// Network scores, T×K row-major.
    pub scores: Vec<f32>,
    /// The slot spans `scores` were computed for.
    scored_spans: Vec<(f64, f64)>,
    /// Transition matrix between library phrases.
    pub matrix: TransitionMatrix,
    /// Audio (absent when the song file could not be read, e.g. a project opened headless).
    pub audio: Option<SongAudio>,
    /// Unsaved changes.
    pub dirty: bool,
    /// Name recorded with each decision.
    pub user: String,
    /// The blended dance for preview, rebuilt after edits (`None` if it could not be built).
    pub dance: Option<Arc<Choreography>>,
    /// Why the dance could not be built.
    pub dance_error: Option<String>,
    /// The dance metrics of the last dance measured (see [`Session::poll_metrics`]).
    pub metrics: Option<Arc<SessionMetrics>>,
    /// The measurement under way on a worker thread, if any.
    metrics_rx: Option<std::sync::mpsc::Receiver<SessionMetrics>>,
    /// The recorded take the dance was imported from, shown beside it (`None` without one,
    /// or when it could not be read).
    pub take: Option<TakePreview>,
    /// A candidate being auditioned: the dance with it in its slot, not in the document.
    pub audition: Option<Audition>,
    /// Pose thumbnails of the library's phrases, made when first shown.
    pub thumbs: ThumbCache,
}

/// Pose strips ([`crate::motion::thumbnail`]) of library phrases, made the first time a
/// phrase is shown (in the inspector or the library browser) and kept for the session; a
/// phrase whose motion cannot be loaded is remembered as such and drawn as nothing.
#[derive(Debug, Default)]
pub struct ThumbCache {
    strips: std::sync::Mutex<std::collections::HashMap<String, Option<Arc<PoseStrip>>>>,
}

/// Width over height of one figure's cell in a thumbnail.
pub const THUMB_CELL_ASPECT: f32 = 0.75;

impl ThumbCache {
    /// The strip of phrase `id` of `library`.
    pub fn get(&self, library: &Library, id: &str) -> Option<Arc<PoseStrip>> {
        let Ok(mut map) = self.strips.lock() else {
            return None;
        };
        map.entry(id.to_string())
            .or_insert_with(|| {
                library
                    .phrase_clip(id, 0.0)
                    .ok()
                    .map(|clip| Arc::new(pose_strip(&clip, STRIP_POSES, THUMB_CELL_ASPECT)))
            })
            .clone()
    }

    /// How many phrases have a strip made (tests, diagnostics).
    pub fn len(&self) -> usize {
        self.strips.lock().map_or(0, |m| m.len())
    }

    /// Whether no strip has been made yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A candidate auditioned in a slot (hovered in the inspector, a timeline row or the library
/// browser): the whole dance re-blended with it, so the preview shows its blends to the
/// neighbours; the document does not change until the user chooses it.
#[derive(Debug, Clone)]
pub struct Audition {
    /// The slot.
    pub slot: usize,
    /// The phrase auditioned there.
    pub phrase: String,
    /// The dance with it.
    pub dance: Arc<Choreography>,
}

/// A recorded take for the preview: its clip on the canonical skeleton and where the song
/// starts in it.
#[derive(Debug, Clone)]
pub struct TakePreview {
    /// The take, retargeted.
    pub clip: Arc<crate::motion::clip::Clip>,
    /// Take time at which the song starts (s).
    pub offset: f64,
    /// Its file, for captions.
    pub file: PathBuf,
    /// What the import that just made the project found (for the status bar), if any.
    pub import_summary: Option<String>,
}

impl TakePreview {
    /// The take's pose at song time `t`, turned and moved to stand `gap` metres to the left of
    /// `beside` (the blended dance's pose), facing the same way: the two can be compared pose
    /// for pose wherever each travels.
    pub fn pose_beside(
        &self,
        t: f64,
        beside: &crate::motion::skeleton::Pose,
        gap: f64,
    ) -> crate::motion::skeleton::Pose {
        let p = self.clip.sample(t + self.offset);
        let turned = p.transformed(beside.heading() - p.heading(), crate::motion::Vec3::ZERO);
        let left = crate::motion::quat::Quat::from_yaw(beside.heading())
            .rotate(crate::motion::Vec3::new(gap, 0.0, 0.0));
        let target = beside.root + left;
        let shift =
            crate::motion::Vec3::new(target.x - turned.root.x, 0.0, target.z - turned.root.z);
        turned.transformed(0.0, shift)
    }
}

/// The editor's dance metrics: the dance's, per slot, and the random baseline on its slots.
#[derive(Debug, Clone)]
pub struct SessionMetrics {
    /// Whole dance and per slot.
    pub measure: DanceMeasure,
    /// Random phrases on the same slots (`None` if they could not be blended).
    pub random: Option<DanceMetrics>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .field("slots", &self.project.slots.len())
            .field("dirty", &self.dirty)
            .finish()
    }
}

/// Default user name for decisions: `$PHRASEWISE_USER`, else `$USER`, else "editor".
pub fn default_user() -> String {
    std::env::var("PHRASEWISE_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "editor".to_string())
}

impl Session {
    /// A session around a ranked project; `scorer` holds its network scores (computed again
    /// from `source` when the music phrases are re-cut).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        project: Project,
        path: Option<PathBuf>,
        base_path: PathBuf,
        library: Library,
        library_dir: Option<PathBuf>,
        audio: Option<SongAudio>,
        source: ScoreSource,
        scorer: PrecomputedScorer,
    ) -> Result<Session> {
        let matrix = scorer.transitions(&library.index)?;
        let scores = scorer.scores;
        let scored_spans = project.slots.iter().map(|s| (s.start, s.end)).collect();
        let song = project.song_path(path.as_deref().unwrap_or(&base_path))?;
        // trusted now: a recovery copy, written elsewhere, may point at it too
        crate::confine::vouch(&song);
        if let Some(d) = &library_dir {
            crate::confine::vouch(d);
        }
        let mut s = Session {
            song,
            fitted_variety: scorer.variety,
            styles: scorer.styles,
            scored_spans,
            source,
            project,
            path,
            base_path,
            history: History::new(),
            library,
            library_dir,
            scores,
            matrix,
            audio,
            dirty: false,
            user: default_user(),
            dance: None,
            dance_error: None,
            metrics: None,
            metrics_rx: None,
            take: None,
            audition: None,
            thumbs: ThumbCache::default(),
        };
        s.rebuild_dance();
        Ok(s)
    }

    /// The song's file.
    pub fn song(&self) -> &Path {
        &self.song
    }

    /// The path relative paths are resolved against.
    pub fn project_path(&self) -> &Path {
        self.path.as_deref().unwrap_or(&self.base_path)
    }

    /// Applies a decision through the undo history, then re-ranks around the locks.
    pub fn edit(&mut self, edit: &Edit) -> Result<()> {
        let actor = Actor::now(self.user.clone());
        self.history.apply(&mut self.project, edit, &actor)?;
        self.after_change()
    }

    /// Undo; `false` when there was nothing to undo.
    pub fn undo(&mut self) -> Result<bool> {
        let did = self.history.undo(&mut self.project)?;
        if did {
            self.after_change()?;
        }
        Ok(did)
    }

    /// Redo; `false` when there was nothing to redo.
    pub fn redo(&mut self) -> Result<bool> {
        let did = self.history.redo(&mut self.project)?;
        if did {
            self.after_change()?;
        }
        Ok(did)
    }

    fn after_change(&mut self) -> Result<()> {
        let k = self.library.index.phrases.len();
        let spans: Vec<(f64, f64)> = self
            .project
            .slots
            .iter()
            .map(|s| (s.start, s.end))
            .collect();
        if spans != self.scored_spans || self.scores.len() != spans.len() * k {
            // A split, merge or moved boundary: the music phrases changed, score them again.
            self.scores = self.score(&self.source)?.scores;
            self.scored_spans = spans;
        }
        self.rerank()
    }

    /// Ranks with another scorer (e.g. a model `learn` just adopted): new network scores,
    /// then a re-rank around the locked slots.
    pub fn set_source(&mut self, source: ScoreSource) -> Result<()> {
        let scorer = self.score(&source)?;
        self.project.model = scorer.id.clone();
        self.matrix = scorer.transitions(&self.library.index)?;
        self.scores = scorer.scores;
        self.styles = scorer.styles;
        self.fitted_variety = scorer.variety;
        self.source = source;
        self.rerank()
    }

    /// Where the variety penalties come from (`--variety`), and ranks again with them.
    /// Locked and accepted slots keep their phrase.
    pub fn set_variety(&mut self, variety: crate::choreo::network::Variety) -> Result<()> {
        let settings = variety.settings(self.fitted_variety.as_ref());
        if self.project.settings.decode == settings {
            return Ok(());
        }
        self.project.settings.decode = settings;
        self.rerank()
    }

    /// Which variety choice the project's decode settings are (`None`: hand-made ones).
    pub fn variety(&self) -> Option<crate::choreo::network::Variety> {
        crate::choreo::network::Variety::of(
            &self.project.settings.decode,
            self.fitted_variety.as_ref(),
        )
    }

    /// Declares the song's dance style (`None`: the music decides) and ranks again with it:
    /// a model that learnt styles then ranks that style's repertoire
    /// ([`crate::choreo::RankSettings::style`]). Locked and accepted slots keep their phrase.
    pub fn set_style(&mut self, style: Option<String>) -> Result<()> {
        let style = crate::choreo::project::clean_style(style.as_deref());
        if self.project.settings.style == style {
            return Ok(());
        }
        let before = std::mem::replace(&mut self.project.settings.style, style);
        match self.score(&self.source.clone()) {
            Ok(scorer) => {
                self.scores = scorer.scores;
                self.rerank()
            }
            Err(e) => {
                self.project.settings.style = before;
                Err(e)
            }
        }
    }

    /// Scores of the project's music phrases by `source`, from the session's decoded audio
    /// when it has it (no second decode).
    fn score(&self, source: &ScoreSource) -> Result<PrecomputedScorer> {
        Ok(song_scores(
            source,
            &self.song,
            &self.project.analysis,
            self.audio.as_ref().and_then(SongAudio::analysis_samples),
            &self.library.index,
            self.project.settings.style.as_deref(),
        )?)
    }

    /// Re-ranks around the locked slots and rebuilds the preview dance.
    fn rerank(&mut self) -> Result<()> {
        self.project
            .rerank(&self.scores, &self.library.index, &self.matrix)?;
        self.dirty = true;
        self.rebuild_dance();
        Ok(())
    }

    /// Rebuilds the blended dance from the chosen phrases (for the preview).
    pub fn rebuild_dance(&mut self) {
        self.audition = None;
        let built = slot_specs(&self.project, &self.library)
            .and_then(|specs| choreograph(&self.library, &specs, &ExportOptions::default()));
        match built {
            Ok(c) => {
                self.dance = Some(Arc::new(c));
                self.dance_error = None;
            }
            Err(e) => {
                self.dance = None;
                self.dance_error = Some(format!("{e:#}"));
            }
        }
        self.start_metrics();
    }

    /// Auditions `phrase` in slot `slot`: the dance re-blended with it there (kept until another
    /// audition, [`Session::clear_audition`] or an edit). The same audition again costs nothing.
    pub fn audition(&mut self, slot: usize, phrase: &str) -> Result<()> {
        if self
            .audition
            .as_ref()
            .is_some_and(|a| a.slot == slot && a.phrase == phrase)
        {
            return Ok(());
        }
        if slot >= self.project.slots.len() {
            anyhow::bail!("no slot {slot}");
        }
        if self.library.phrase(phrase).is_none() {
            anyhow::bail!(
                "no phrase `{phrase}` in library `{}`",
                self.library.index.name
            );
        }
        let mut project = self.project.clone();
        project.slots[slot].decision.chosen = Some(phrase.to_string());
        let specs = slot_specs(&project, &self.library)?;
        let dance = choreograph(&self.library, &specs, &ExportOptions::default())?;
        self.audition = Some(Audition {
            slot,
            phrase: phrase.to_string(),
            dance: Arc::new(dance),
        });
        Ok(())
    }

    /// Ends an audition: the preview shows the document's dance again.
    pub fn clear_audition(&mut self) {
        self.audition = None;
    }

    /// Measures the current dance on a worker thread (baking it twice and blending the random
    /// baseline take tens of milliseconds on a long song); [`Session::poll_metrics`] picks the
    /// result up. A measurement still running for an older dance is dropped.
    fn start_metrics(&mut self) {
        self.metrics_rx = None;
        let (Some(dance), Ok(slots)) = (
            self.dance.clone(),
            danced_slots(&self.project, &self.library),
        ) else {
            self.metrics = None;
            return;
        };
        let project = self.project.clone();
        let library = self.library.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("dance-metrics".into())
            .spawn(move || {
                let opts = ExportOptions::default();
                let music = MusicTimes {
                    beats: &project.analysis.beats,
                    onsets: &project.analysis.onsets,
                };
                let measure = measure_dance(&dance, music, &slots, opts.fps);
                let random = random_baseline(&project, &library, &opts)
                    .ok()
                    .map(|m| m.metrics);
                // The receiver is gone when a newer dance replaced this one.
                let _ = tx.send(SessionMetrics { measure, random });
            });
        match spawned {
            Ok(_) => self.metrics_rx = Some(rx),
            Err(e) => tracing::warn!("dance metrics: {e}"),
        }
    }

    /// Takes the finished measurement, if any; `true` while one is still running.
    pub fn poll_metrics(&mut self) -> bool {
        let Some(rx) = &self.metrics_rx else {
            return false;
        };
        match rx.try_recv() {
            Ok(m) => {
                self.metrics = Some(Arc::new(m));
                self.metrics_rx = None;
                false
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => true,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.metrics_rx = None;
                false
            }
        }
    }

    /// Saves to `path` (atomic, with backup) and makes it the project's path.
    pub fn save_as(&mut self, path: &Path) -> Result<()> {
        if self.path.as_deref() != Some(path) {
            // Relative paths are stored relative to the project file: re-anchor the song.
            self.project.song.path =
                crate::choreo::paths::relative_to(&crate::choreo::paths::dir_of(path), &self.song);
            if let Some(dir) = &self.library_dir {
                self.project.library.path =
                    crate::choreo::paths::relative_to(&crate::choreo::paths::dir_of(path), dir);
            }
        }
        self.project.save(path)?;
        self.path = Some(path.to_path_buf());
        self.dirty = false;
        Ok(())
    }

    /// What names the document for its recovery files: the project file, or the song while
    /// untitled.
    pub fn document_id(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| self.song.clone())
    }

    /// Writes the current document to a recovery file (not changing `path` or `dirty`).
    pub fn write_recovery(&self, path: &Path) -> Result<()> {
        let mut p = self.project.clone();
        // Recovery files live elsewhere: store the song path absolute so they stay usable.
        p.song.path = self.song.to_string_lossy().into_owned();
        if let (Some(t), Ok(Some((file, _, _)))) =
            (p.take.as_mut(), self.project.take_path(self.project_path()))
        {
            t.path = file.to_string_lossy().into_owned();
        }
        if let Some(dir) = &self.library_dir {
            p.library.path = dir.to_string_lossy().into_owned();
        }
        p.save(path)?;
        Ok(())
    }

    /// Slot index playing at song time `t`.
    pub fn slot_at(&self, t: f64) -> Option<usize> {
        self.project
            .slots
            .iter()
            .position(|s| t >= s.start && t < s.end)
    }
}

impl Session {
    /// The editor's session around a document a service opened.
    pub fn from_opened(o: Opened) -> Result<Session> {
        let audio = o.audio.map(|a| SongAudio::new(a.samples, a.sample_rate));
        let take = o
            .path
            .as_deref()
            .map(|p| o.project.take_path(p))
            .transpose()?
            .flatten()
            .and_then(|(file, offset, fps)| {
                crate::confine::vouch(&file);
                match crate::service::takes::read_take(&file, &[], fps) {
                    Ok((rt, _)) => Some(TakePreview {
                        clip: Arc::new(rt.clip),
                        offset,
                        file,
                        import_summary: None,
                    }),
                    Err(e) => {
                        tracing::warn!("the project's take is not shown: {e}");
                        None
                    }
                }
            });
        let mut s = Session::new(
            o.project,
            o.path,
            o.base_path,
            o.library,
            o.library_dir,
            audio,
            o.source,
            o.scorer,
        )?;
        s.take = take;
        Ok(s)
    }
}

/// Opens a song for the editor ([`crate::service::document::open_song`]).
pub fn open_song(
    song: &Path,
    library_dir: Option<PathBuf>,
    progress: &dyn Progress,
) -> Result<Session> {
    Session::from_opened(document::open_song(song, library_dir, progress)?)
}

/// Opens a saved project ([`crate::service::document::open_project`]).
pub fn open_project(path: &Path, progress: &dyn Progress) -> Result<Session> {
    Session::from_opened(document::open_project(path, progress)?)
}

/// Opens the embedded demo ([`crate::service::document::open_demo`]).
pub fn open_demo(progress: &dyn Progress) -> Result<Session> {
    Session::from_opened(document::open_demo(progress)?)
}

pub use document::demo_song_path;
