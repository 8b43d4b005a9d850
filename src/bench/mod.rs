//! Layer 1: benchmark data the program makes itself, so that a learning benchmark runs on any
//! machine without a data set: [`learn_set`] writes labeled songs (synthesised audio plus a
//! `phrasewise-labels/1` file) that stand in for real choreographies of ballroom music.
//!
//! Uses [`crate::demo`]'s instruments and WAV writer, [`crate::labels`] and the starter
//! library's phrase ids ([`crate::motion::library::Library::starter`]).

pub mod learn_set;
pub mod metre_set;
mod styles;
mod synth;

pub use learn_set::{GENERATOR_VERSION, LearnSetConfig, generate};

use std::path::PathBuf;

/// Errors generating benchmark data; each names the file or the setting concerned.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Reading or writing a file failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        err: std::io::Error,
    },
    /// Writing a file failed.
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// The labels file could not be written.
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelsError),
    /// The starter library (whose phrase ids are the labels) could not be loaded.
    #[error(transparent)]
    Motion(#[from] crate::motion::MotionError),
    /// The configuration cannot make a data set.
    #[error("learning benchmark: {0}")]
    Config(String),
}
