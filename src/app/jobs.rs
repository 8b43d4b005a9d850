//! Long work (decoding, analysis, ranking, export) on a worker thread, so the UI never
//! freezes: progress and a cancel flag in atomics (plus a rarely written step label), the
//! result through a channel the UI polls once per frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;

/// Progress of a job, shared with its worker.
#[derive(Debug, Default)]
pub struct JobProgress {
    /// Fraction done × 1e6.
    done: AtomicU32,
    cancel: AtomicBool,
    /// Short description of the current step (written rarely; read once per frame).
    step: std::sync::Mutex<String>,
}

impl JobProgress {
    /// Records `fraction` and `step`; returns `false` once cancellation was asked for.
    pub fn update(&self, step: &str, fraction: f32) -> bool {
        self.done
            .store((fraction.clamp(0.0, 1.0) * 1e6) as u32, Ordering::Relaxed);
        if let Ok(mut s) = self.step.try_lock()
            && *s != step
        {
            step.clone_into(&mut s);
        }
        !self.cancel.load(Ordering::Relaxed)
    }

    /// Fraction done.
    pub fn fraction(&self) -> f32 {
        self.done.load(Ordering::Relaxed) as f32 * 1e-6
    }

    /// Current step.
    pub fn step(&self) -> String {
        self.step.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the worker to stop at its next progress report.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether cancellation was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_reports_progress_result_and_cancellation() {
        let job = Job::spawn(
            "count",
            |p| {
                for i in 0..1000 {
                    if !p.update("counting", i as f32 / 1000.0) {
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
        assert_eq!(job.progress.step(), "counting");
        job.progress.cancel();
        let r = job.wait();
        assert!(r.is_err_and(|e| e.to_string().starts_with("cancelled")));
        let ok = Job::spawn("x", |_| Ok(7), || {});
        assert_eq!(ok.wait().ok(), Some(7));
    }
}
