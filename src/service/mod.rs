//! Services (layer 5): one function per user job — analyse a song, suggest, export a project,
//! learn from a workspace, pretrain, train, co-ascent, evaluate, make labels, write a review
//! report, open a document for the editor, render a video, run the learning benchmark. Each takes plain inputs
//! and a [`Progress`] handle and returns a typed result or a [`ServiceError`].
//!
//! The command line (`crate::cli`) and the editor (`crate::app`) are thin shells over these:
//! they parse arguments or gather clicks, call a service (the editor on a job thread), and
//! print or draw what comes back. Nothing here prints, and the jobs that exist once for both
//! shells live here only: library loading ([`library`]), analysis with its cache
//! ([`analyse`]), scorer choice ([`scoring`]) and the suggest pipeline ([`suggest`]).

pub mod analyse;
pub mod bench;
pub mod bench_metre;
pub mod document;
pub mod labels;
pub mod learn;
pub mod library;
pub mod review;
pub mod scoring;
pub mod suggest;
pub mod takes;
pub mod train;
pub mod video;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Progress and cancellation of one running job, shared by the terminal progress bar
/// (`crate::cli::progress`) and the editor's job panel ([`JobProgress`]).
///
/// Services call [`Progress::update`] between steps and stop with
/// [`ServiceError::Cancelled`] once [`Progress::cancelled`] says so.
pub trait Progress: Sync {
    /// `step` is `fraction` (0–1) done.
    fn update(&self, step: &str, fraction: f32);
    /// Whether the user asked the job to stop.
    fn cancelled(&self) -> bool {
        false
    }
    /// Reports and checks in one go: `Err(Cancelled)` once a stop was asked for.
    fn step(&self, step: &str, fraction: f32) -> Result<()> {
        self.update(step, fraction);
        if self.cancelled() {
            Err(ServiceError::Cancelled)
        } else {
            Ok(())
        }
    }
    /// The `FnMut(stage, fraction) -> keep going` callbacks of the lower layers.
    fn keep_going(&self, step: &str, fraction: f32) -> bool {
        self.update(step, fraction);
        !self.cancelled()
    }
}

/// Progress that goes nowhere and never cancels (tests, nested calls).
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn update(&self, _: &str, _: f32) {}
}

/// Progress of a job, shared between its worker thread and whoever shows it: the fraction and
/// cancel flag in atomics, the step label behind a rarely contended lock.
#[derive(Debug, Default)]
pub struct JobProgress {
    /// Fraction done × 1e6.
    done: AtomicU32,
    cancel: AtomicBool,
    step: std::sync::Mutex<String>,
}

impl JobProgress {
    /// Fraction done.
    pub fn fraction(&self) -> f32 {
        self.done.load(Ordering::Relaxed) as f32 * 1e-6
    }

    /// Current step.
    pub fn current_step(&self) -> String {
        self.step.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the worker to stop at its next progress report.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Progress for JobProgress {
    fn update(&self, step: &str, fraction: f32) {
        self.done
            .store((fraction.clamp(0.0, 1.0) * 1e6) as u32, Ordering::Relaxed);
        if let Ok(mut s) = self.step.try_lock()
            && *s != step
        {
            step.clone_into(&mut s);
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Why a service did not produce its result. A cancel is not a failure: shells report it as
/// such ("cancelled"), not as an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The user stopped the job; nothing was adopted or left half-written.
    #[error("cancelled")]
    Cancelled,
    /// The input cannot be used as given (a message naming the file and the problem).
    #[error("{0}")]
    Invalid(String),
    /// Decoding a song failed.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    /// The analysis failed.
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// A motion library or BVH file could not be used.
    #[error(transparent)]
    Motion(#[from] crate::motion::MotionError),
    /// A project, labels or transition file could not be used.
    #[error(transparent)]
    Choreo(#[from] crate::choreo::ChoreoError),
    /// A model folder, training data or checkpoint could not be used.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Blending or writing an exported dance failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// A labels file could not be used.
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelsError),
    /// A file could not be written.
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// The analysis cache could not be used.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// Benchmark data could not be generated.
    #[error(transparent)]
    Bench(#[from] crate::bench::BenchError),
    /// A video could not be rendered or encoded.
    #[error(transparent)]
    Video(crate::render::VideoError),
    /// Anything else, with its context.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::render::VideoError> for ServiceError {
    /// A cancelled render is a cancel, not a failure.
    fn from(e: crate::render::VideoError) -> Self {
        match e {
            crate::render::VideoError::Cancelled => ServiceError::Cancelled,
            e => ServiceError::Video(e),
        }
    }
}

impl ServiceError {
    /// Whether the job stopped because the user asked it to.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ServiceError::Cancelled)
    }
}

/// The result of a service.
pub type Result<T> = std::result::Result<T, ServiceError>;

/// `Err(Invalid(..))` with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err($crate::service::ServiceError::Invalid(format!($($arg)*)))
    };
}
pub(crate) use invalid;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_progress_reports_and_cancels() {
        let p = JobProgress::default();
        assert!(p.step("counting", 0.25).is_ok());
        assert!((p.fraction() - 0.25).abs() < 1e-6);
        assert_eq!(p.current_step(), "counting");
        p.cancel();
        assert!(p.step("counting", 0.5).is_err_and(|e| e.is_cancelled()));
        assert!(!p.keep_going("x", 0.6));
        assert!(Quiet.step("x", 1.0).is_ok());
    }
}
