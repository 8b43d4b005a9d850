//! The shell's view state: what the side panels are typing and browsing, the 3-D preview and
//! frame timing. Never part of a document, never saved with one.

use std::collections::VecDeque;
use std::time::Instant;

use super::preview::Preview;
use super::ui::BrowserState;

/// Frames kept for the frame-time figures.
const FRAMES_KEPT: usize = 120;

/// View state of the editor window.
pub struct ShellView {
    /// Library browser search and filters.
    pub browser: BrowserState,
    /// Reviewer note being typed.
    pub note: String,
    /// Review comment being typed.
    pub comment: String,
    /// The 3-D preview.
    pub preview: Preview,
    /// Frame times (ms) of the last frames, for the status bar and benchmarks.
    pub frame_ms: VecDeque<f32>,
    last_frame: Option<Instant>,
}

impl ShellView {
    /// Fresh view state around a preview.
    pub fn new(preview: Preview) -> ShellView {
        ShellView {
            browser: BrowserState::default(),
            note: String::new(),
            comment: String::new(),
            preview,
            frame_ms: VecDeque::new(),
            last_frame: None,
        }
    }

    /// Records that a frame starts now.
    pub fn frame_started(&mut self) {
        let now = Instant::now();
        if let Some(prev) = self.last_frame.replace(now) {
            self.frame_ms.push_back((now - prev).as_secs_f32() * 1000.0);
            if self.frame_ms.len() > FRAMES_KEPT {
                self.frame_ms.pop_front();
            }
        }
    }
}
