//! Long work (decoding, analysis, ranking, export, learning) runs as a service on a worker
//! thread, so the UI never freezes: progress and a cancel flag in a shared
//! [`JobProgress`], the result through a channel the UI polls once per frame.

use std::sync::Arc;
use std::sync::mpsc;

pub use crate::service::JobProgress;

use super::session::Session;
use crate::service::learn::LearnReport;

/// A running job producing a `T`.
pub struct Job<T> {
    /// What the job does, for the status bar.
    pub title: String,
    /// Its progress.
    pub progress: Arc<JobProgress>,
    rx: mpsc::Receiver<anyhow::Result<T>>,
}

impl<T> std::fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("title", &self.title).finish()
    }
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread; `on_done` runs on the worker when it finishes (the
    /// editor passes a repaint request).
    pub fn spawn(
        title: impl Into<String>,
        work: impl FnOnce(&JobProgress) -> anyhow::Result<T> + Send + 'static,
        on_done: impl FnOnce() + Send + 'static,
    ) -> Job<T> {
        let progress = Arc::new(JobProgress::default());
        let (tx, rx) = mpsc::channel();
        let p = progress.clone();
        let title = title.into();
        let name = format!("job: {title}");
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let r = work(&p);
            // The receiver may be gone (job dropped): nothing to do then.
            let _ = tx.send(r);
            on_done();
        });
        if let Err(e) = spawned {
            let (tx2, rx2) = mpsc::channel();
            let _ = tx2.send(Err(anyhow::anyhow!("could not start a worker thread: {e}")));
            return Job {
                title,
                progress,
                rx: rx2,
            };
        }
        Job {
            title,
            progress,
            rx,
        }
    }

    /// The result, once the worker has finished.
    pub fn poll(&self) -> Option<anyhow::Result<T>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(anyhow::anyhow!(
                "the worker thread stopped unexpectedly"
            ))),
        }
    }

    /// Blocks until the result arrives (tests, headless use).
    pub fn wait(self) -> anyhow::Result<T> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the worker thread stopped unexpectedly")))
    }
}

/// A job that finished since the last frame (lives for one frame, so its size does not
/// matter).
#[allow(clippy::large_enum_variant)]
pub enum Finished {
    /// A document was opened (or failed to open).
    Loaded(anyhow::Result<Session>),
    /// An export finished: the message for the status bar.
    Exported(anyhow::Result<String>),
    /// A learn run finished.
    Learned(anyhow::Result<LearnReport>),
}

/// The editor's jobs: at most one opening a document, and at most one working on the open
/// document (an export or a learn run; never both, so they cannot race on its files).
#[derive(Default)]
pub struct Jobs {
    /// Opening a song or project.
    pub load: Option<Job<Session>>,
    /// Exporting the dance.
    pub export: Option<Job<String>>,
    /// Learning from the workspace.
    pub learn: Option<Job<LearnReport>>,
}

impl Jobs {
    /// Collects the jobs that finished.
    pub fn poll(&mut self) -> Vec<Finished> {
        let mut done = Vec::new();
        if let Some(r) = self.load.as_ref().and_then(Job::poll) {
            self.load = None;
            done.push(Finished::Loaded(r));
        }
        if let Some(r) = self.export.as_ref().and_then(Job::poll) {
            self.export = None;
            done.push(Finished::Exported(r));
        }
        if let Some(r) = self.learn.as_ref().and_then(Job::poll) {
            self.learn = None;
            done.push(Finished::Learned(r));
        }
        done
    }

    /// Whether any job runs.
    pub fn any(&self) -> bool {
        self.load.is_some() || self.export.is_some() || self.learn.is_some()
    }

    /// The job working on the open document, if one runs (its title).
    pub fn document_busy(&self) -> Option<&str> {
        self.export
            .as_ref()
            .map(|j| j.title.as_str())
            .or_else(|| self.learn.as_ref().map(|j| j.title.as_str()))
    }

    /// Title and progress of every running job, for the status bar.
    pub fn rows(&self) -> Vec<(String, Arc<JobProgress>)> {
        [
            self.load
                .as_ref()
                .map(|j| (j.title.clone(), j.progress.clone())),
            self.export
                .as_ref()
                .map(|j| (j.title.clone(), j.progress.clone())),
            self.learn
                .as_ref()
                .map(|j| (j.title.clone(), j.progress.clone())),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Whether a job's error is a cancel (reported as such, not as a failure).
pub fn is_cancel(e: &anyhow::Error) -> bool {
    e.downcast_ref::<crate::service::ServiceError>()
        .is_some_and(crate::service::ServiceError::is_cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Progress as _;

    #[test]
    fn job_reports_progress_result_and_cancellation() {
        let job = Job::spawn(
            "count",
            |p| {
                for i in 0..1000 {
                    if !p.keep_going("counting", i as f32 / 1000.0) {
                        anyhow::bail!("cancelled at {i}");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(42)
            },
            || {},
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!(job.progress.fraction() > 0.0);
        assert_eq!(job.progress.current_step(), "counting");
        job.progress.cancel();
        let r = job.wait();
        assert!(r.is_err_and(|e| e.to_string().starts_with("cancelled")));
        let ok = Job::spawn("x", |_| Ok(7), || {});
        assert_eq!(ok.wait().ok(), Some(7));
    }

    #[test]
    fn one_job_works_on_the_document_at_a_time() {
        let mut jobs = Jobs::default();
        assert!(jobs.document_busy().is_none() && !jobs.any());
        let (tx, rx) = mpsc::channel::<()>();
        jobs.export = Some(Job::spawn(
            "exporting a.bvh",
            move |_| {
                let _ = rx.recv();
                Ok("done".to_string())
            },
            || {},
        ));
        assert_eq!(jobs.document_busy(), Some("exporting a.bvh"));
        assert_eq!(jobs.rows().len(), 1);
        assert!(jobs.poll().is_empty(), "still running");
        tx.send(()).unwrap();
        let mut finished = Vec::new();
        for _ in 0..200 {
            finished = jobs.poll();
            if !finished.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(matches!(finished.as_slice(), [Finished::Exported(Ok(m))] if m == "done"));
        assert!(jobs.document_busy().is_none() && !jobs.any());
    }

    #[test]
    fn a_cancelled_service_is_told_apart_from_a_failure() {
        let cancelled = anyhow::Error::from(crate::service::ServiceError::Cancelled);
        assert!(is_cancel(&cancelled));
        assert!(!is_cancel(&anyhow::anyhow!("disk full")));
    }
}
