//! Motion: BVH I/O, a canonical humanoid skeleton, retargeting, dance beats and phrases, the
//! phrase library, blending/time-warping onto music beats, export and quality metrics.
//!
//! Pipeline: [`bvh::Bvh`] (any rig) → [`retarget::retarget`] with a [`retarget::RigMap`] →
//! [`clip::Clip`] on [`skeleton::CANONICAL`] (metres, Y up, facing +Z) →
//! [`beats::dance_beats`] → [`beats::cut_phrases`] → [`index::LibraryIndex`] →
//! [`blend::Choreography`] (time-warp + align + crossfade) → `crate::export` and [`metrics`].

pub mod beats;
pub mod blend;
pub mod bvh;
pub mod clip;
pub mod embedded;
pub mod index;
pub mod interpolate;
pub mod library;
pub mod metrics;
pub mod mirror;
pub mod phrase;
pub mod quat;
pub mod retarget;
pub mod skeleton;
pub mod starter;
pub mod takes;
pub mod thumbnail;

pub use quat::{Axis, Quat, Vec3};

use std::path::Path;

/// Every error of the motion layer. File-based errors name the file, and parse errors the
/// 1-based line, as `file:line: message`.
#[derive(Debug, thiserror::Error)]
pub enum MotionError {
    /// Reading or writing a file failed.
    #[error("{file}: {err}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        err: std::io::Error,
    },
    /// A text file (BVH) is malformed.
    #[error("{file}:{line}: {msg}")]
    Parse {
        /// The file (or an embedded resource's name).
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A JSON file is malformed; serde_json's message carries line and column.
    #[error("{file}: {err}")]
    Json {
        /// The file.
        file: String,
        /// The JSON error.
        err: serde_json::Error,
    },
    /// The data is well-formed but unusable (unknown rig, too few frames, bad request).
    #[error("{file}: {msg}")]
    Invalid {
        /// The file or object concerned.
        file: String,
        /// What is wrong.
        msg: String,
    },
}

impl MotionError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        MotionError::Io {
            file: path.display().to_string(),
            err,
        }
    }

    /// A JSON error in `file`.
    pub fn json(file: impl Into<String>, err: serde_json::Error) -> Self {
        MotionError::Json {
            file: file.into(),
            err,
        }
    }

    /// An "unusable data" error about `file`.
    pub fn invalid(file: impl Into<String>, msg: impl Into<String>) -> Self {
        MotionError::Invalid {
            file: file.into(),
            msg: msg.into(),
        }
    }
}
