//! Which motion library a job uses: a folder given by the user, the workspace's own, the one a
//! project names, or the embedded starter library. The one place libraries are loaded for the
//! shells.

use std::path::{Path, PathBuf};

use super::Result;
use crate::choreo::Project;
use crate::motion::library::Library;

/// The library in `dir`, or the embedded starter library when `dir` is `None`.
pub fn load_library(dir: Option<&Path>) -> Result<Library> {
    Ok(match dir {
        Some(d) => Library::load(d)?,
        None => Library::starter()?,
    })
}

/// The workspace's own motion library (`WORKSPACE/library/index.json`), if it has one.
pub fn workspace_library(ws: &Path) -> Option<PathBuf> {
    let dir = ws.join("library");
    dir.join("index.json").is_file().then_some(dir)
}

/// The library folder for a song opened from `song`'s folder: that folder's workspace
/// library when it has one, else `fallback` (`None`: the starter library).
pub fn library_dir_for_song(song: &Path, fallback: Option<PathBuf>) -> Option<PathBuf> {
    song.parent().and_then(workspace_library).or(fallback)
}

/// Library for a project: `override_dir`, else the project's own, with a warning when the
/// fingerprint differs from the one the project was ranked with.
pub fn project_library(
    project: &Project,
    project_path: &Path,
    override_dir: Option<&Path>,
) -> Result<Library> {
    let dir = match override_dir {
        Some(d) => Some(d.to_path_buf()),
        None => project.library_dir(project_path)?,
    };
    let lib = load_library(dir.as_deref())?;
    if crate::choreo::project::library_fingerprint(&lib.index) != project.library.fingerprint {
        tracing::warn!(
            "library `{}` changed since the project was ranked; re-run suggest to refresh the candidates",
            lib.index.name
        );
    }
    Ok(lib)
}
