//! Layer 3: the choreography document and its rules.
//!
//! * [`score`]: the [`Scorer`] trait (network part `F(u_t)`) and its cold-start
//!   implementation, which matches music features to motion features by hand-set weights;
//!   the trained burn model plugs in later as another `Scorer`.
//! * [`transition`]: the K×K [`TransitionMatrix`] `M(d_{t−1}→d_t)`, stored as style blocks
//!   plus sparse exceptions so a product with a vector costs O(K·S + nnz).
//! * [`decode`]: Viterbi (best sequence) and forward–backward (per-slot marginals) over the
//!   locally normalised chain of Duan et al. 2020, Eq. 5, with locked slots as evidence.
//! * [`project`]: the `phrasewise-project/1` document, its edits, undo history and atomic
//!   save.
//! * [`review_data`]: the verdict and review a slot holds; [`review`]: QA statistics and
//!   reports over projects.
//! * [`labels`]: the `phrasewise-labels/1` labeled-example format.
//! * [`time`]: RFC 3339 UTC timestamps without a date library.

pub mod decode;
pub mod labels;
pub mod network;
pub mod paths;
pub mod project;
pub mod review;
pub mod review_data;
pub mod score;
pub mod spans;
pub mod time;
pub mod transition;
pub mod variety;

pub use decode::{DecodeSettings, Decoding, decode, decode_vec};
pub use labels::{LABELS_SCHEMA, LabelSet};
pub use project::{Edit, History, PROJECT_SCHEMA, Project, SlotStatus};
pub use score::{ColdStartScorer, Scorer};
pub use transition::TransitionMatrix;

use std::path::PathBuf;

/// Errors of the choreography layer.
#[derive(Debug, thiserror::Error)]
pub enum ChoreoError {
    /// Reading or writing a file failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        err: std::io::Error,
    },
    /// A JSON document is malformed.
    #[error("{path}: {err}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        err: serde_json::Error,
    },
    /// The document's schema is not one this program reads.
    #[error("{path}: schema is `{found}`, expected `{expected}`")]
    Schema {
        /// What the file says.
        found: String,
        /// What this program writes.
        expected: String,
        /// The file.
        path: PathBuf,
    },
    /// The document was written by a newer Phrasewise.
    #[error(
        "{path}: written by a newer Phrasewise (schema `{found}`, this program reads up to `{supported}`)"
    )]
    NewerSchema {
        /// What the file says.
        found: String,
        /// Newest version this program reads.
        supported: String,
        /// The file.
        path: PathBuf,
    },
    /// The project's song is not where the project says it is.
    #[error("the project's song is missing: {path}")]
    SongMissing {
        /// Where the song was expected (absolute when it could be resolved).
        path: PathBuf,
    },
    /// A path in the document leads outside the document's folder to a place the user has
    /// not trusted ([`crate::confine`]).
    #[error(
        "{document}: its {what} {path} lies outside the project's folder, and nothing says you chose it on this machine (a project made elsewhere or edited by hand); if you trust it, allow the folder with `--allow {}` (the editor asks)",
        crate::choreo::paths::dir_of(path).display()
    )]
    Untrusted {
        /// The document naming the path.
        document: PathBuf,
        /// What the path is (song, take, library).
        what: &'static str,
        /// The resolved path.
        path: PathBuf,
    },
    /// Sizes or indices do not fit together.
    #[error("{0}")]
    Invalid(String),
}

impl ChoreoError {
    pub(crate) fn io(path: &std::path::Path, err: std::io::Error) -> ChoreoError {
        ChoreoError::Io {
            path: path.to_path_buf(),
            err,
        }
    }
}

impl From<crate::files::FileError> for ChoreoError {
    fn from(e: crate::files::FileError) -> ChoreoError {
        use crate::files::FileError;
        match e {
            FileError::Io { path, err } => ChoreoError::Io { path, err },
            FileError::Json { path, err } => ChoreoError::Json { path, err },
            e @ FileError::NotAFile { .. } => ChoreoError::Invalid(e.to_string()),
        }
    }
}
