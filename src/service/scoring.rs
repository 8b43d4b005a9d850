//! Which scorer ranks a song: the one the user named, else the model a workspace adopted
//! (`models/CURRENT` next to the song or project, see [`super::learn`]), else the library's
//! default (the built-in network for the starter library, cold start for any other).

use std::path::Path;

use crate::choreo::network::ScoreSource;

/// The scorer for a song or project at `doc_path` (`model`: a `--model` value, see
/// [`ScoreSource::parse`]).
pub fn score_source(
    model: Option<&str>,
    library_dir: Option<&Path>,
    doc_path: &Path,
) -> ScoreSource {
    match model {
        Some(m) => ScoreSource::parse(m),
        None => workspace_or_default(doc_path, library_dir),
    }
}

/// The workspace's adopted model next to `doc_path`, else the library's default.
pub fn workspace_or_default(doc_path: &Path, library_dir: Option<&Path>) -> ScoreSource {
    doc_path
        .parent()
        .and_then(super::learn::current_model)
        .map_or_else(|| ScoreSource::default_for(library_dir), ScoreSource::Model)
}

/// The scorer a saved project asks for: it remembers cold start, the built-in network, or a
/// network from a model folder (then the workspace's adopted one, else the library default).
pub fn project_source(
    model_id: &str,
    project_path: &Path,
    library_dir: Option<&Path>,
) -> ScoreSource {
    if model_id.starts_with("network:default@") {
        ScoreSource::DefaultModel
    } else if model_id.starts_with("network:") {
        workspace_or_default(project_path, library_dir)
    } else {
        ScoreSource::ColdStart
    }
}
