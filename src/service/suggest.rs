//! Suggest: analyse a song, rank the library's dance phrases for every music phrase (network
//! or cold-start scores, re-scored by the transition matrix), and — for `choreograph` —
//! render the chosen phrases; on request, the dance metrics against a random baseline
//! ([`crate::export::metrics`]). The one suggest pipeline of the command line.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::analyse::{AnalyseOptions, Analysed, analyse_file, require_phrases};
use super::library::{load_library, project_library};
use super::scoring::score_source;
use super::{Progress, Result};
use crate::choreo::DecodeSettings;
use crate::choreo::network::{ScoreSource, song_scores};
use crate::choreo::project::{Project, RankSettings};
use crate::export::{ExportOptions, MetricsReport, Timeline, export_project, metrics_report};
use crate::motion::library::Library;

/// What to rank a song with.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestRequest {
    /// The song.
    pub song: PathBuf,
    /// Where the project will live (its folder anchors relative paths and a workspace model).
    pub project_path: PathBuf,
    /// Library folder (`None`: the starter library).
    pub library: Option<PathBuf>,
    /// Scorer: a model folder, `default` or `cold-start` (`None`: the workspace's model, else
    /// the library's default).
    pub model: Option<String>,
    /// Candidates kept per slot.
    pub top_k: usize,
    /// Refuse audio longer than this many minutes.
    pub max_minutes: f64,
    /// Read and update the analysis cache.
    pub use_cache: bool,
    /// Decoder settings (`None`: the model's variety penalties fitted on its labels, else the
    /// program's variety decode).
    pub decode: Option<DecodeSettings>,
    /// The song's declared dance style ([`RankSettings::style`]; `None`: the music decides).
    pub style: Option<String>,
}

impl SuggestRequest {
    /// A request with the defaults of `phrasewise suggest` (starter library, 5 candidates).
    pub fn new(song: impl Into<PathBuf>, project_path: impl Into<PathBuf>) -> SuggestRequest {
        SuggestRequest {
            song: song.into(),
            project_path: project_path.into(),
            library: None,
            model: None,
            top_k: RankSettings::default().top_k,
            max_minutes: 20.0,
            use_cache: true,
            decode: None,
            style: None,
        }
    }
}

/// Analyses the song and builds a ranked project for it (not saved).
pub fn suggest(req: &SuggestRequest, progress: &dyn Progress) -> Result<(Project, Library)> {
    let library = load_library(req.library.as_deref())?;
    let source = score_source(
        req.model.as_deref(),
        req.library.as_deref(),
        &req.project_path,
    );
    let project = suggest_with(req, &library, &source, progress)?;
    Ok((project, library))
}

/// [`suggest`] with a library already loaded and the scorer chosen by the caller.
pub fn suggest_with(
    req: &SuggestRequest,
    library: &Library,
    source: &ScoreSource,
    progress: &dyn Progress,
) -> Result<Project> {
    let analysed = analyse_file(
        &req.song,
        &AnalyseOptions {
            max_minutes: req.max_minutes,
            use_cache: req.use_cache,
            need_audio: false,
        },
        progress,
    )?;
    progress.step("ranking", 0.92)?;
    rank(req, library, source, analysed)
}

/// Builds the ranked project for an analysed song.
pub fn rank(
    req: &SuggestRequest,
    library: &Library,
    source: &ScoreSource,
    analysed: Analysed,
) -> Result<Project> {
    require_phrases(&analysed.analysis, &req.song)?;
    let style = crate::choreo::project::clean_style(req.style.as_deref());
    let scorer = song_scores(
        source,
        &req.song,
        &analysed.analysis,
        analysed.analysis_samples(),
        &library.index,
        style.as_deref(),
    )
    .with_context(|| format!("scoring {}", req.song.display()))?;
    let settings = RankSettings {
        top_k: req.top_k,
        decode: scorer.decode_settings(req.decode.as_ref()),
        style,
    };
    Ok(Project::new(
        &req.project_path,
        &req.song,
        &analysed.content_hash,
        analysed.analysis,
        &library.index,
        req.library.as_deref(),
        &scorer,
        settings,
    )?)
}

/// Where a rendered dance goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderTarget {
    /// Output BVH.
    pub bvh: PathBuf,
    /// Output timeline JSON.
    pub timeline: PathBuf,
    /// Frame rate and crossfade.
    pub options: ExportOptions,
}

impl RenderTarget {
    /// `bvh` with the timeline beside it (`.timeline.json`) unless `timeline` is given.
    pub fn new(bvh: &Path, timeline: Option<&Path>, options: ExportOptions) -> RenderTarget {
        RenderTarget {
            bvh: bvh.to_path_buf(),
            timeline: timeline
                .map_or_else(|| bvh.with_extension("timeline.json"), Path::to_path_buf),
            options,
        }
    }
}

/// What [`choreograph`] made.
#[derive(Debug, Clone)]
pub struct Choreographed {
    /// The ranked project.
    pub project: Project,
    /// The timeline of the written dance.
    pub timeline: Timeline,
    /// The dance metrics and the random baseline, when asked for.
    pub metrics: Option<MetricsReport>,
}

/// `choreograph`: suggest, optionally save the project, render the chosen phrases and, with
/// `measure`, compute the dance metrics.
pub fn choreograph(
    req: &SuggestRequest,
    save_project: bool,
    measure: bool,
    target: &RenderTarget,
    progress: &dyn Progress,
) -> Result<Choreographed> {
    let (mut project, library) = suggest(req, progress)?;
    if save_project {
        project.save(&req.project_path)?;
    }
    progress.step("blending", 0.96)?;
    let timeline = export_project(
        &project,
        &library,
        &target.options,
        &target.bvh,
        &target.timeline,
    )?;
    let metrics = if measure {
        progress.step("measuring", 0.98)?;
        Some(dance_metrics(&project, &library, &target.options)?)
    } else {
        None
    };
    Ok(Choreographed {
        project,
        timeline,
        metrics,
    })
}

/// The dance metrics of a project's chosen phrases, blended with `options`, beside the
/// random-phrase baseline on the same slots.
pub fn dance_metrics(
    project: &Project,
    library: &Library,
    options: &ExportOptions,
) -> Result<MetricsReport> {
    Ok(metrics_report(project, library, options)?)
}

/// `export-project`: renders a saved project's chosen phrases (with the project's library,
/// or `library` when given).
pub fn export_saved_project(
    project_path: &Path,
    library: Option<&Path>,
    target: &RenderTarget,
) -> Result<Timeline> {
    // The error names the file.
    let project = Project::read(project_path)?;
    let library = project_library(&project, project_path, library)?;
    Ok(export_project(
        &project,
        &library,
        &target.options,
        &target.bvh,
        &target.timeline,
    )?)
}

/// `export-project --format gltf`: writes a saved project's blended dance as a glTF binary
/// (`.glb`: skinned 22-joint skeleton, bone mesh, one animation); returns the frame count.
pub fn export_saved_project_glb(
    project_path: &Path,
    library: Option<&Path>,
    glb: &Path,
    options: &ExportOptions,
) -> Result<usize> {
    let project = Project::read(project_path)?;
    let library = project_library(&project, project_path, library)?;
    Ok(crate::export::export_project_glb(
        &project, &library, options, glb,
    )?)
}
