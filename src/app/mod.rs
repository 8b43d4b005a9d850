//! The desktop editor (layer 6): an eframe shell around the document session.
//!
//! One frame: collect finished jobs → draw, with panels, menus and keys pushing
//! [`AppCommand`]s → carry the queue out once (document changes through the undo history,
//! long work as services on job threads) → autosave if due. The parts live in their own
//! files: the document session ([`session`], [`editor`]), the view state ([`view`]), the jobs
//! ([`jobs`]), the settings and recovery ([`settings`]), dialogs, chrome and unattended runs.
//! Nothing here imports the command line.

pub mod chrome;
pub mod commands;
pub mod dialogs;
pub mod editor;
pub mod jobs;
pub mod playback;
pub mod preview;
pub mod script;
pub mod session;
pub mod settings;
pub mod ui;
pub mod view;
pub mod waveform;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

pub use commands::AppCommand;
pub use script::Script;

use dialogs::Dialogs;
use editor::{Editor, Level};
use jobs::Jobs;
use script::{ScriptRun, ScriptStep};
use session::Session;
use settings::{Recovery, RecoveryInfo, Settings};
use view::ShellView;

/// What the editor opens at start.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// The embedded demo song with the starter library.
    Demo,
    /// A song or a `*.phrasewise.json` project.
    Path(PathBuf),
    /// Nothing.
    Empty,
}

/// Start-up options.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// What to open.
    pub open: Start,
    /// Open an audio output (off for tests).
    pub audio: bool,
    /// Recovery folder, one subfolder per document (default [`Recovery::default_dir`]).
    pub recovery_dir: PathBuf,
    /// Load the start document on the calling thread (tests), not in a background job.
    pub blocking_load: bool,
    /// Autosave period.
    pub autosave: Duration,
    /// Unattended run (screenshots for the docs, frame-time benchmark).
    pub script: Option<Script>,
    /// Initial window size (points).
    pub window: [f32; 2],
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            open: Start::Demo,
            audio: true,
            recovery_dir: Recovery::default_dir(),
            blocking_load: false,
            autosave: Duration::from_secs(30),
            script: None,
            window: [1440.0, 900.0],
        }
    }
}

/// The eframe application.
pub struct EditorApp {
    /// The document session and its commands (public for tests driving the real app).
    pub editor: Editor,
    jobs: Jobs,
    dialogs: Dialogs,
    settings: Settings,
    /// Where each document's recovery folder goes.
    recovery_base: PathBuf,
    /// A recovery of the document just opened, offered to the user.
    recovery_offer: Option<(Recovery, RecoveryInfo)>,
    last_autosave: Instant,
    autosave: Duration,
    /// The project file being opened (to ask for its song if that moved).
    loading_project: Option<PathBuf>,
    /// Project waiting for the new location of its song.
    relocating: Option<PathBuf>,
    /// A project that points outside its folder, and the folder the user is asked to trust.
    trust_offer: Option<commands::TrustOffer>,
    view: ShellView,
    script: ScriptRun,
    queue: Vec<AppCommand>,
    ctx: Option<egui::Context>,
    created: Instant,
    /// Panels leave their background to the frame's clear colour (the panel colour, see
    /// `clear_color`): one blended layer over the whole window less for a software
    /// rasteriser (−15 % frame time on lavapipe, pixel-identical). Set by the native window
    /// only: a test harness that does not clear with `clear_color` keeps painted panels.
    bare_panels: bool,
}

impl EditorApp {
    /// Builds the app; `cc` gives the wgpu render state for the 3-D preview.
    pub fn new(cc: &eframe::CreationContext<'_>, opts: StartOptions) -> EditorApp {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, settings::STORAGE_KEY))
            .unwrap_or_default();
        let mut app = EditorApp {
            editor: Editor::empty(opts.audio),
            jobs: Jobs::default(),
            dialogs: Dialogs::default(),
            settings,
            recovery_base: opts.recovery_dir.clone(),
            recovery_offer: None,
            last_autosave: Instant::now(),
            autosave: opts.autosave,
            loading_project: None,
            relocating: None,
            trust_offer: None,
            view: ShellView::new(preview::Preview::new(cc)),
            script: ScriptRun::new(opts.script.clone()),
            queue: Vec::new(),
            ctx: Some(cc.egui_ctx.clone()),
            created: Instant::now(),
            bare_panels: false,
        };
        cc.egui_ctx.set_theme(egui::Theme::Dark);
        app.open_start(opts.open);
        if opts.blocking_load
            && let Some(job) = app.jobs.load.take()
        {
            let r = job.wait();
            app.finish_load(r);
        }
        app
    }

    /// Periodic recovery write of a dirty document.
    fn autosave_if_due(&mut self) {
        if self.last_autosave.elapsed() < self.autosave {
            return;
        }
        self.last_autosave = Instant::now();
        if let Some(s) = &self.editor.session
            && s.dirty
            && let Err(e) = self.write_recovery(s)
        {
            self.editor.say(Level::Error, format!("autosave: {e:#}"));
        }
    }

    /// The recovery files of the document `s`.
    fn recovery_for(&self, s: &Session) -> Recovery {
        Recovery::for_document(&self.recovery_base, &s.document_id())
    }

    /// The recovery files of the open document (`None` without one).
    pub fn recovery(&self) -> Option<Recovery> {
        self.editor.session.as_ref().map(|s| self.recovery_for(s))
    }

    fn write_recovery(&self, s: &Session) -> Result<()> {
        let recovery = self.recovery_for(s);
        recovery.ensure_dir()?;
        s.write_recovery(&recovery.document())?;
        recovery.write_info(&RecoveryInfo {
            original: s.path.clone(),
            written_at: crate::choreo::time::now_rfc3339(),
        })
    }

    /// Writes the recovery file now (tests; the timer does this every 30 s).
    pub fn autosave_now(&mut self) -> Result<()> {
        match &self.editor.session {
            Some(s) => self.write_recovery(s),
            None => Ok(()),
        }
    }

    /// Side panel: inspector and library browser.
    fn side_panel(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<editor::Command>) {
        // Long ids or messages must not widen the panel past the window.
        ui.set_max_width(ui.available_width());
        ui::inspector(
            ui,
            &self.editor,
            &mut self.view.note,
            &mut self.view.comment,
            cmds,
        );
        ui.separator();
        ui::dance_metrics_panel(ui, &self.editor);
        ui.separator();
        ui::library_browser(ui, &self.editor, &mut self.view.browser, cmds);
    }
}

impl eframe::App for EditorApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.view.frame_started();
        self.finish_jobs();
        if let Some((kind, path)) = self.dialogs.poll() {
            self.dispatch(AppCommand::Chosen(kind, path));
        }
        self.editor.player.tick();
        self.editor.follow_playhead();
        self.autosave_if_due();
        // Dropped files: open the first one.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.open(p);
        }
        let measuring = self
            .editor
            .session
            .as_mut()
            .is_some_and(session::Session::poll_metrics);
        if self.editor.player.transport().is_playing() {
            ctx.request_repaint();
        } else if measuring {
            ctx.request_repaint_after(Duration::from_millis(100));
        } else if self.jobs.any() {
            // Progress needs a few updates a second, not a full-speed redraw competing with
            // the worker for the CPU (on a software rasteriser a frame costs ~100 ms).
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        let step = self.script.step(
            ctx,
            &mut self.editor,
            self.jobs.load.is_some(),
            self.view.frame_ms.back().copied(),
            self.created,
        );
        if step == ScriptStep::Close {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let mut out: Vec<AppCommand> = Vec::new();
        let mut cmds: Vec<editor::Command> = Vec::new();
        ui::keyboard(&ctx, &self.editor, &mut cmds);
        chrome::file_keys(&ctx, &self.editor, &mut out);
        // Panels draw no background where the window is cleared to the panel colour
        // (`bare_panels`).
        let bare_panels = self.bare_panels;
        let bare = |f: egui::Frame| {
            if bare_panels {
                f.fill(egui::Color32::TRANSPARENT)
            } else {
                f
            }
        };
        let style = ui.style().clone();
        egui::Panel::top("menu")
            .frame(bare(egui::Frame::side_top_panel(&style)))
            .show(ui, |ui| {
                chrome::menu_bar(ui, &self.editor, &self.settings, &mut out);
            });
        egui::Panel::bottom("status")
            .frame(bare(egui::Frame::side_top_panel(&style)))
            .show(ui, |ui| {
                chrome::status_bar(ui, &self.editor, &self.jobs, &mut out);
            });
        egui::Panel::right("side")
            .frame(bare(egui::Frame::side_top_panel(&style)))
            .default_size(380.0)
            .min_size(300.0)
            .max_size(520.0)
            .resizable(true)
            .show(ui, |ui| self.side_panel(ui, &mut cmds));
        egui::CentralPanel::default()
            .frame(bare(egui::Frame::central_panel(&style)))
            .show(ui, |ui| {
                ui::waveform_lane(ui, &self.editor, &mut cmds);
                ui.add_space(4.0);
                ui::timeline_lane(ui, &self.editor, &mut cmds);
                ui.add_space(4.0);
                self.view.preview.show(ui, &self.editor);
            });
        ui::help_window(&ctx, &self.editor, &mut cmds);
        if let Some((_, info)) = &self.recovery_offer {
            chrome::recovery_window(&ctx, info, &mut out);
        }
        if let Some(offer) = &self.trust_offer {
            chrome::trust_window(&ctx, offer, &mut out);
        }
        if let Some((kind, path)) = self.dialogs.prompt_window(&ctx) {
            out.push(AppCommand::Chosen(kind, path));
        }
        // an audition lasts while something is hovered (or an unattended run holds one)
        if let Some(a) = self.script.audition(&self.editor) {
            cmds.push(editor::Command::Audition(Some(a)));
        }
        let hovering = cmds
            .iter()
            .any(|c| matches!(c, editor::Command::Audition(Some(_))));
        if !hovering
            && self
                .editor
                .session
                .as_ref()
                .is_some_and(|s| s.audition.is_some())
        {
            cmds.push(editor::Command::Audition(None));
        }
        self.queue.extend(out);
        self.queue.extend(cmds.into_iter().map(AppCommand::Editor));
        self.dispatch_queued();
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, settings::STORAGE_KEY, &self.settings);
    }

    fn on_exit(&mut self) {
        // A clean exit with unsaved changes keeps the recovery file (so nothing is lost);
        // without changes it is removed.
        match &self.editor.session {
            Some(s) if s.dirty => {
                if let Err(e) = self.write_recovery(s) {
                    tracing::warn!("recovery on exit: {e:#}");
                }
            }
            Some(s) => self.recovery_for(s).clear(),
            None => {}
        }
    }
}

/// Opens the editor window (blocks until it is closed).
pub fn run_editor(opts: StartOptions) -> Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Phrasewise")
            .with_inner_size(opts.window)
            .with_min_inner_size([960.0, 600.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        // An unattended run (screenshot, --bench-play) neither restores the window geometry
        // the last interactive session saved nor overwrites it. (Its size is still the
        // --window size times the X server's scale factor, bounded by the screen: benchmark
        // at a given size on an Xvfb screen of that size.)
        persist_window: opts.script.is_none(),
        ..Default::default()
    };
    eframe::run_native(
        "Phrasewise",
        native,
        Box::new(move |cc| {
            let mut app = EditorApp::new(cc, opts);
            app.bare_panels = true;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "could not open the editor window: {e} (no display? run under a desktop session \
             or Xvfb; the command-line tools work without one)"
        )
    })
}
