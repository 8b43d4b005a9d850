//! The terminal's [`Progress`]: an indicatif bar on stderr when it is a terminal, nothing
//! otherwise (pipes and CI logs stay clean). Ctrl+C ends the process, so it never cancels.

use std::io::IsTerminal;

use crate::model::train::{EpochReport, Reporter};
use crate::service::Progress;

/// A progress bar for one command.
pub struct TerminalProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl TerminalProgress {
    /// A bar on stderr (hidden when stderr is not a terminal).
    pub fn new() -> TerminalProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let pb = indicatif::ProgressBar::new(1000);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {msg:28} [{bar:30}] {percent:>3}%",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb
        });
        TerminalProgress { bar }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        TerminalProgress::new()
    }
}

impl Progress for TerminalProgress {
    fn update(&self, step: &str, fraction: f32) {
        if let Some(pb) = &self.bar {
            if pb.message() != step {
                pb.set_message(step.to_string());
            }
            pb.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
        }
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

/// The training loops' reporter for a terminal: their own epoch bars when stderr is a
/// terminal, and `on_epoch` after each epoch.
pub fn epoch_reporter(on_epoch: &mut dyn FnMut(&EpochReport)) -> Reporter<'_> {
    Reporter {
        show_progress: std::io::stderr().is_terminal(),
        on_epoch: Some(on_epoch),
    }
}
