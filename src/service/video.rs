//! `render-video` and the editor's *Export video…*: a project's blended dance drawn by the
//! offscreen renderer and encoded with the song to an MP4 ([`crate::render::video`]).

use std::path::Path;

use super::{Progress, Result, library::project_library};
use crate::choreo::Project;
use crate::export::{ExportOptions, choreograph, slot_specs};
use crate::motion::blend::Choreography;
use crate::motion::library::Library;
use crate::render::{VideoAudio, VideoOptions, VideoReport, render_video};

/// Renders `project`'s dance (phrases from `library`) over the whole song with `audio`.
pub fn render_project_video(
    project: &Project,
    library: &Library,
    audio: &VideoAudio,
    out: &Path,
    opts: &VideoOptions,
    progress: &dyn Progress,
) -> Result<VideoReport> {
    progress.step("blending the dance", 0.0)?;
    let specs = slot_specs(project, library)?;
    let dance = choreograph(library, &specs, &ExportOptions::default())?;
    render_dance_video(
        &dance,
        project.analysis.duration,
        audio,
        out,
        opts,
        progress,
    )
}

/// Renders an already blended dance over `seconds` of song (the editor's open dance).
pub fn render_dance_video(
    dance: &Choreography,
    seconds: f64,
    audio: &VideoAudio,
    out: &Path,
    opts: &VideoOptions,
    progress: &dyn Progress,
) -> Result<VideoReport> {
    let mut report = |done: usize, total: usize| {
        progress.keep_going(
            &format!("rendering frame {done} of {total}"),
            done as f32 / total.max(1) as f32,
        )
    };
    Ok(render_video(dance, seconds, audio, opts, out, &mut report)?)
}

/// `render-video PROJECT -o OUT`: a saved project, its library (or `library`), its song file.
pub fn render_saved_project_video(
    project_path: &Path,
    library: Option<&Path>,
    out: &Path,
    opts: &VideoOptions,
    progress: &dyn Progress,
) -> Result<VideoReport> {
    if out == project_path {
        super::invalid!(
            "{}: that is the project file; choose another output",
            out.display()
        );
    }
    let project = Project::read(project_path)?;
    let library = project_library(&project, project_path, library)?;
    let audio = VideoAudio::File(project.song_path(project_path)?);
    render_project_video(&project, &library, &audio, out, opts, progress)
}
