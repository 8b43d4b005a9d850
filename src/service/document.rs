//! Open a document for the editor: a song (decode, analyse, rank), a saved project (with its
//! song's audio) or the embedded demo. Returns everything the editor's document session needs;
//! the editor calls these on a job thread.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::analyse::{
    AnalyseOptions, analyse_file, analyse_samples_cached, decode_song, require_phrases,
};
use super::library::{load_library, project_library};
use super::scoring::{project_source, workspace_or_default};
use super::{Progress, Result};
use crate::audio::{ANALYSIS_SR, Audio};
use crate::choreo::Project;
use crate::choreo::network::{PrecomputedScorer, ScoreSource, song_scores};
use crate::choreo::project::RankSettings;
use crate::motion::library::Library;

/// A ranked document, ready for the editor.
pub struct Opened {
    /// The document.
    pub project: Project,
    /// Where it is saved; `None` while untitled.
    pub path: Option<PathBuf>,
    /// Where relative paths resolve while untitled (next to the song).
    pub base_path: PathBuf,
    /// The library the candidates refer to.
    pub library: Library,
    /// Library folder, `None` for the embedded starter library.
    pub library_dir: Option<PathBuf>,
    /// Decoded mono audio (absent when the song could not be read).
    pub audio: Option<Audio>,
    /// Where the network part of the scores comes from.
    pub source: ScoreSource,
    /// The network scores of the project's music phrases.
    pub scorer: PrecomputedScorer,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("path", &self.path)
            .field("slots", &self.project.slots.len())
            .finish_non_exhaustive()
    }
}

/// Opens a song: decode, analyse, rank with the library in `library_dir` (`None`: starter);
/// an untitled project next to the song. A workspace's adopted model ranks its songs.
pub fn open_song(
    song: &Path,
    library_dir: Option<PathBuf>,
    progress: &dyn Progress,
) -> Result<Opened> {
    let library = load_library(library_dir.as_deref())?;
    let analysed = analyse_file(
        song,
        &AnalyseOptions {
            need_audio: true,
            ..AnalyseOptions::default()
        },
        progress,
    )?;
    require_phrases(&analysed.analysis, song)?;
    progress.step("ranking", 0.92)?;
    let source = workspace_or_default(song, library_dir.as_deref());
    let audio = analysed
        .audio
        .ok_or_else(|| anyhow::anyhow!("{}: the song was not decoded", song.display()))?;
    untitled(
        song,
        &analysed.content_hash,
        analysed.analysis,
        audio,
        library,
        library_dir,
        source,
    )
}

/// A ranked, unsaved project for an analysed song (next to the song until saved).
fn untitled(
    song: &Path,
    hash: &str,
    analysis: crate::analysis::SongAnalysis,
    audio: Audio,
    library: Library,
    library_dir: Option<PathBuf>,
    source: ScoreSource,
) -> Result<Opened> {
    let base = song.with_extension("phrasewise.json");
    let scorer = song_scores(
        &source,
        song,
        &analysis,
        audio.analysis_samples(),
        &library.index,
        None,
    )?;
    let project = Project::new(
        &base,
        song,
        hash,
        analysis,
        &library.index,
        library_dir.as_deref(),
        &scorer,
        RankSettings {
            decode: scorer.decode_settings(None),
            ..RankSettings::default()
        },
    )?;
    Ok(Opened {
        project,
        path: None,
        base_path: base,
        library,
        library_dir,
        audio: Some(audio),
        source,
        scorer,
    })
}

/// Opens a saved project and its song's audio. A missing song is
/// [`crate::choreo::ChoreoError::SongMissing`] (the editor then asks for the new place); an
/// unreadable one leaves the document without audio, ranked by the cold-start scorer when
/// the network cannot run.
pub fn open_project(path: &Path, progress: &dyn Progress) -> Result<Opened> {
    let project = Project::load(path)?;
    let library_dir = project.library_dir(path)?;
    let library = project_library(&project, path, None)?;
    progress.step("decoding", 0.1)?;
    let song = project.song_path(path)?;
    let audio = match decode_song(&song, 20.0) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!("{:#}", anyhow::Error::new(e));
            None
        }
    };
    let source = project_source(&project.model, path, library_dir.as_deref());
    let samples = audio.as_ref().and_then(Audio::analysis_samples);
    let style = project.settings.style.as_deref();
    let (source, scorer) = match song_scores(
        &source,
        &song,
        &project.analysis,
        samples,
        &library.index,
        style,
    ) {
        Ok(s) => (source, s),
        Err(e) => {
            // No audio to run the network on (or the model is gone): cold start still works.
            tracing::warn!("{e}; ranking with the cold-start scorer");
            let cold = ScoreSource::ColdStart;
            let s = song_scores(&cold, &song, &project.analysis, None, &library.index, None)?;
            (cold, s)
        }
    };
    Ok(Opened {
        project,
        path: Some(path.to_path_buf()),
        base_path: path.to_path_buf(),
        library,
        library_dir,
        audio,
        source,
        scorer,
    })
}

/// Points a project whose song moved at `song`, saves it at once (so it opens normally from
/// now on) and opens it.
pub fn relocate_and_open(
    project_path: &Path,
    song: &Path,
    progress: &dyn Progress,
) -> Result<Opened> {
    let mut doc = Project::read(project_path)?;
    doc.relocate_song(project_path, song)?;
    doc.save(project_path)?;
    open_project(project_path, progress)
}

/// Where the embedded demo song is written so the demo project can refer to a real file.
pub fn demo_song_path() -> PathBuf {
    crate::cache::cache_dir()
        .join("demo")
        .join("phrasewise-demo.wav")
}

/// The embedded demo: synthesised song (written once to the cache folder), analysed and
/// ranked against the embedded starter library. Needs no files from outside the binary.
pub fn open_demo(progress: &dyn Progress) -> Result<Opened> {
    let song = crate::demo::render_demo(ANALYSIS_SR);
    let path = demo_song_path();
    // Written every time (2.6 MB): a stale file from an older build would not match the
    // samples analysed below. Written to a private name and renamed, so another editor (or a
    // parallel test) reading the file never sees it half-written.
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!(
        "wav.{}-{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    crate::demo::write_wav(&tmp, &song.samples, song.sample_rate)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    let library = Library::starter()?;
    let hash = crate::cache::content_hash(&path)?;
    let analysis = analyse_samples_cached(&song.samples, song.sample_rate, &hash, &path, progress)?;
    let audio = Audio {
        samples: song.samples,
        sample_rate: song.sample_rate,
        source_rate: song.sample_rate,
        source_channels: 1,
        warnings: Vec::new(),
    };
    untitled(
        &path,
        &hash,
        analysis,
        audio,
        library,
        None,
        ScoreSource::DefaultModel,
    )
}
