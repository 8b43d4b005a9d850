//! Unattended runs of the real editor (screenshots for the docs, the frame-time benchmark):
//! once the document is loaded, optionally select a slot, seek and play, draw `frames`
//! frames, optionally save a screenshot, print timings and close.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Result;

use super::editor::{Command, Editor};

/// What an unattended run does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    /// Slot to select.
    pub select: Option<usize>,
    /// Seek here (s) before playing.
    pub seek: Option<f64>,
    /// Play during the run.
    pub play: bool,
    /// Frames to run after loading.
    pub frames: usize,
    /// PNG to write from the last frame.
    pub screenshot: Option<PathBuf>,
    /// Audition candidate `k` (0-based) of the selected slot for the whole run, as hovering
    /// it does (the preview dances it; the document is unchanged).
    pub audition: Option<usize>,
}

/// A [`Script`] and how far it got.
#[derive(Debug, Default)]
pub struct ScriptRun {
    script: Option<Script>,
    started: Option<Instant>,
    frames: usize,
    frame_ms: Vec<f32>,
    shot: Option<Arc<AtomicBool>>,
}

/// What the shell should do after a script frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStep {
    /// Nothing scripted (or it already finished).
    Idle,
    /// Keep drawing.
    Running,
    /// Close the window.
    Close,
}

impl ScriptRun {
    /// A run of `script` (`None`: an interactive session).
    pub fn new(script: Option<Script>) -> ScriptRun {
        ScriptRun {
            script,
            ..ScriptRun::default()
        }
    }

    /// Advances by one frame. `loading`: a job is still opening the document; `last_ms`: the
    /// last frame time; `created`: when the window was created.
    pub fn step(
        &mut self,
        ctx: &egui::Context,
        editor: &mut Editor,
        loading: bool,
        last_ms: Option<f32>,
        created: Instant,
    ) -> ScriptStep {
        let Some(script) = self.script.clone() else {
            return ScriptStep::Idle;
        };
        if editor.session.is_none() {
            if !loading && self.started.is_none() {
                eprintln!("script: no document loaded");
                self.script = None;
                return ScriptStep::Close;
            }
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
            return ScriptStep::Running;
        }
        if self.started.is_none() {
            self.started = Some(Instant::now());
            println!(
                "ready: document loaded and first frame drawn {:.2} s after the window was created",
                created.elapsed().as_secs_f64()
            );
            if let Some(t) = script.select {
                editor.run(Command::Select(t));
            }
            if let Some(t) = script.seek {
                editor.run(Command::Seek(t));
            }
            if script.play {
                editor.run(Command::PlayPause);
            }
        } else if let Some(ms) = last_ms {
            self.frame_ms.push(ms);
        }
        self.frames += 1;
        ctx.request_repaint();
        if self.frames == script.frames
            && let Some(path) = script.screenshot.clone()
        {
            self.shot = Some(request_screenshot(ctx, path));
        }
        let shot_done = self.shot.as_ref().is_none_or(|d| d.load(Ordering::Acquire));
        if self.frames > script.frames && shot_done {
            self.report(editor);
            self.script = None;
            return ScriptStep::Close;
        }
        ScriptStep::Running
    }

    /// The audition the script holds this frame: (slot, phrase) of candidate `k` of the
    /// selected slot, `None` without one (or once the run is over).
    pub fn audition(&self, editor: &Editor) -> Option<(usize, String)> {
        let k = self.script.as_ref()?.audition?;
        let session = editor.session.as_ref()?;
        let slot = editor.view.selected?;
        let phrase = session
            .project
            .slots
            .get(slot)?
            .candidates
            .get(k)?
            .phrase
            .clone();
        Some((slot, phrase))
    }

    fn report(&self, editor: &Editor) {
        let mut v = self.frame_ms.clone();
        v.sort_by(f32::total_cmp);
        if !v.is_empty() {
            let pct = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
            println!(
                "frames: {} · frame time median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
                v.len(),
                pct(0.5),
                pct(0.9),
                pct(1.0)
            );
        }
        let tr = editor.player.transport();
        println!(
            "playhead {:.2} s · audio: {}",
            tr.position(),
            editor
                .player
                .device
                .clone()
                .or_else(|| editor.player.unavailable.clone())
                .unwrap_or_default()
        );
    }
}

/// Asks egui for a screenshot of the next frame, written to `path` as PNG; the flag turns
/// true once it is written.
fn request_screenshot(ctx: &egui::Context, path: PathBuf) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let ctx2 = ctx.clone();
    ctx.request_screenshot(move |img| {
        if let Err(e) = save_png(&path, &img) {
            eprintln!("screenshot: {e:#}");
        } else {
            println!("screenshot: {}", path.display());
        }
        flag.store(true, Ordering::Release);
        ctx2.request_repaint();
    });
    done
}

/// Writes an egui screenshot as PNG.
fn save_png(path: &Path, img: &egui::ColorImage) -> Result<()> {
    let [w, h] = img.size;
    let mut bytes = Vec::with_capacity(w * h * 4);
    for c in &img.pixels {
        bytes.extend_from_slice(&c.to_array());
    }
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| anyhow::anyhow!("screenshot has the wrong size"))?;
    buf.save(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
}
