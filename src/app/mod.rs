//! The desktop editor (layer 5): an eframe shell around [`editor::Editor`].
//!
//! One frame: poll background jobs → gather commands from keys and panels → apply them once
//! (each document change through the undo history) → autosave if due. Long work (opening a
//! song: decode, analysis, ranking; export) runs in [`jobs::Job`]s with progress and Cancel;
//! file dialogs (rfd, XDG portal) run on their own thread, so the UI never blocks, and a
//! path field stays available where no portal exists (headless machines).

pub mod editor;
pub mod jobs;
pub mod playback;
pub mod preview;
pub mod session;
pub mod settings;
pub mod ui;
pub mod waveform;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;

use editor::{Command, Editor, Level};
use jobs::Job;
use session::Session;
use settings::{Recovery, RecoveryInfo, Settings};

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
    /// Recovery folder (default [`Recovery::default_dir`]).
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

/// An unattended run: once the document is loaded, optionally select a slot and play, run
/// `frames` frames, optionally save a screenshot, print timings and close.
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
}

/// Progress of a [`Script`].
#[derive(Debug, Default)]
struct ScriptRun {
    started: Option<Instant>,
    frames: usize,
    frame_ms: Vec<f32>,
    shot: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    printed_ready: bool,
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

/// Which file a dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogKind {
    Open,
    SaveAs,
    ExportBvh,
    Library,
    /// Find the song of a project whose song moved.
    LocateSong,
}

/// The eframe application.
pub struct EditorApp {
    /// Editor state (public for tests driving the real app).
    pub editor: Editor,
    job: Option<Job<Session>>,
    export_job: Option<Job<String>>,
    learn_job: Option<Job<crate::cli_learn::LearnReport>>,
    settings: Settings,
    recovery: Recovery,
    recovery_offer: Option<RecoveryInfo>,
    last_autosave: Instant,
    autosave: Duration,
    dialog: Option<(DialogKind, mpsc::Receiver<Option<PathBuf>>)>,
    path_prompt: Option<(DialogKind, String)>,
    pending_path: Option<(DialogKind, PathBuf)>,
    /// The project file being opened (to ask for its song if that moved).
    loading_project: Option<PathBuf>,
    /// Project waiting for the new location of its song.
    relocating: Option<PathBuf>,
    browser: ui::BrowserState,
    note: String,
    comment: String,
    preview: preview::Preview,
    /// Frame times (ms) of the last frames, for the status bar and benchmarks.
    pub frame_ms: std::collections::VecDeque<f32>,
    last_frame: Option<Instant>,
    script: Option<Script>,
    script_run: ScriptRun,
    created: Instant,
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
            job: None,
            export_job: None,
            learn_job: None,
            settings,
            recovery: Recovery::new(opts.recovery_dir.clone()),
            recovery_offer: None,
            last_autosave: Instant::now(),
            autosave: opts.autosave,
            dialog: None,
            path_prompt: None,
            pending_path: None,
            loading_project: None,
            relocating: None,
            browser: ui::BrowserState::default(),
            note: String::new(),
            comment: String::new(),
            preview: preview::Preview::new(cc),
            frame_ms: std::collections::VecDeque::new(),
            last_frame: None,
            script: opts.script.clone(),
            script_run: ScriptRun::default(),
            created: Instant::now(),
        };
        app.recovery_offer = app.recovery.pending();
        let ctx = cc.egui_ctx.clone();
        ctx.set_theme(egui::Theme::Dark);
        match opts.open {
            Start::Empty => {}
            start if opts.blocking_load => {
                let job = app.start_job(start, None);
                if let Some(job) = job {
                    let r = job.wait();
                    app.finish_load(r);
                }
            }
            start => app.job = app.start_job(start, Some(ctx)),
        }
        app
    }

    fn start_job(&mut self, start: Start, ctx: Option<egui::Context>) -> Option<Job<Session>> {
        let repaint = move || {
            if let Some(c) = ctx {
                c.request_repaint();
            }
        };
        let library_dir = self.settings.last_library.clone();
        match start {
            Start::Empty => None,
            Start::Demo => Some(Job::spawn(
                "opening the demo",
                |p| session::open_demo(&mut |s, f| p.update(s, f)),
                repaint,
            )),
            Start::Path(path) => {
                self.settings.remember(&path);
                self.loading_project = is_project(&path).then(|| path.clone());
                let title = format!("opening {}", path.display());
                Some(Job::spawn(
                    title,
                    move |p| {
                        let mut prog = |s: &str, f: f32| p.update(s, f);
                        if is_project(&path) {
                            session::open_project(&path, &mut prog)
                        } else {
                            // A song inside a workspace uses the workspace's library.
                            let library_dir = path
                                .parent()
                                .and_then(crate::cli_learn::workspace_library)
                                .or(library_dir);
                            let library = match &library_dir {
                                Some(d) => crate::motion::library::Library::load(d)?,
                                None => crate::motion::library::Library::starter()?,
                            };
                            session::open_song(&path, library, library_dir, &mut prog)
                        }
                    },
                    repaint,
                ))
            }
        }
    }

    fn finish_load(&mut self, r: Result<Session>) {
        match r {
            Ok(mut s) => {
                if !self.settings.user.is_empty() {
                    s.user = self.settings.user.clone();
                }
                let name = s
                    .path
                    .as_ref()
                    .map_or_else(|| "untitled".to_string(), |p| p.display().to_string());
                let n = s.project.slots.len();
                self.editor.set_session(s);
                self.editor
                    .say(Level::Info, format!("{name}: {n} slots ranked"));
            }
            Err(e) => {
                if let Some(crate::choreo::ChoreoError::SongMissing { path }) =
                    e.downcast_ref::<crate::choreo::ChoreoError>()
                    && let Some(project) = self.loading_project.clone()
                {
                    self.editor.say(
                        Level::Error,
                        format!(
                            "the song moved ({} is gone): where is it now?",
                            path.display()
                        ),
                    );
                    self.relocating = Some(project);
                    self.ask_path(DialogKind::LocateSong);
                } else {
                    self.editor.say(Level::Error, format!("{e:#}"));
                }
            }
        }
    }

    /// Opens a song or project in the background (keeps the current one until it is ready).
    pub fn open(&mut self, path: PathBuf, ctx: &egui::Context) {
        if let Some(j) = &self.job {
            j.progress.cancel();
        }
        self.job = self.start_job(Start::Path(path), Some(ctx.clone()));
    }

    fn poll_jobs(&mut self) {
        if let Some(r) = self.job.as_ref().and_then(Job::poll) {
            self.job = None;
            self.finish_load(r);
        }
        if let Some(r) = self.export_job.as_ref().and_then(Job::poll) {
            self.export_job = None;
            match r {
                Ok(msg) => self.editor.say(Level::Info, msg),
                Err(e) => self.editor.say(Level::Error, format!("export: {e:#}")),
            }
        }
        if let Some(r) = self.learn_job.as_ref().and_then(Job::poll) {
            self.learn_job = None;
            self.finish_learn(r);
        }
        if let Some((kind, rx)) = &self.dialog {
            match rx.try_recv() {
                Ok(Some(path)) => {
                    let kind = *kind;
                    self.dialog = None;
                    self.pending_path = Some((kind, path));
                }
                Ok(None) => self.dialog = None,
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    // No portal (headless): fall back to typing a path.
                    let kind = *kind;
                    self.dialog = None;
                    self.path_prompt = Some((kind, String::new()));
                }
            }
        }
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

    /// Starts "learn from my edits" on the folder of the open (saved) project: the workspace.
    pub fn start_learn(&mut self) {
        let Some(path) = self.editor.project_path().map(Path::to_path_buf) else {
            self.editor.say(
                Level::Error,
                "save the project into a workspace folder first (Ctrl+Shift+S)",
            );
            return;
        };
        if self.editor.session.as_ref().is_some_and(|s| s.dirty) {
            self.editor.run(Command::Save);
        }
        let ws = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let library = self
            .editor
            .session
            .as_ref()
            .and_then(|s| s.library_dir.clone());
        let args = crate::cli_learn::LearnArgs {
            workspace: ws,
            library,
            epochs: 60,
            seed: 42,
            use_version: None,
            coascent: false,
        };
        self.learn_job = Some(Job::spawn(
            "learning from the edits",
            move |p| crate::cli_learn::learn_with(&args, &mut |s, f| p.update(s, f)),
            || {},
        ));
    }

    /// Makes workspace model version `v` current and ranks with it (undoing a `learn`).
    pub fn switch_model(&mut self, ws: &Path, v: &str) {
        let args = crate::cli_learn::LearnArgs {
            workspace: ws.to_path_buf(),
            library: None,
            epochs: 0,
            seed: 0,
            use_version: Some(v.to_string()),
            coascent: false,
        };
        let r = crate::cli_learn::learn(&args).and_then(|_| {
            let dir = crate::cli_learn::current_model(ws)
                .ok_or_else(|| anyhow::anyhow!("{v} has no model"))?;
            match self.editor.session.as_mut() {
                Some(s) => s.set_source(crate::choreo::network::ScoreSource::Model(dir)),
                None => Ok(()),
            }
        });
        match r {
            Ok(()) => self.editor.say(
                Level::Info,
                format!("model {v} is current; slots re-ranked"),
            ),
            Err(e) => self.editor.say(Level::Error, format!("{e:#}")),
        }
    }

    /// Reports a finished learn job (before/after top-k) and ranks with the adopted model.
    pub fn finish_learn(&mut self, r: Result<crate::cli_learn::LearnReport>) {
        match r {
            Ok(rep) => {
                let top = |e: &Option<crate::model::EvalReport>| {
                    e.as_ref().map_or("—".to_string(), |e| {
                        format!(
                            "top-1/5 {:.0}/{:.0} %",
                            100.0 * e.with_m.top1,
                            100.0 * e.with_m.top5
                        )
                    })
                };
                let msg = format!(
                    "{}: {} labels; held-out {} -> {}; {}",
                    rep.version,
                    rep.labels,
                    top(&rep.before),
                    top(&rep.after),
                    if rep.adopted {
                        "adopted"
                    } else {
                        "kept the previous model (the new one validated worse)"
                    }
                );
                if rep.adopted
                    && let Some(ws) = self
                        .editor
                        .project_path()
                        .and_then(Path::parent)
                        .map(Path::to_path_buf)
                    && let Some(dir) = crate::cli_learn::current_model(&ws)
                    && let Some(s) = self.editor.session.as_mut()
                    && let Err(e) = s.set_source(crate::choreo::network::ScoreSource::Model(dir))
                {
                    self.editor
                        .say(Level::Error, format!("{msg}; re-ranking failed: {e:#}"));
                    return;
                }
                self.editor.say(Level::Info, msg);
            }
            Err(e) => self.editor.say(Level::Error, format!("learn: {e:#}")),
        }
    }

    fn write_recovery(&self, s: &Session) -> Result<()> {
        self.recovery.ensure_dir()?;
        s.write_recovery(&self.recovery.document())?;
        self.recovery.write_info(&RecoveryInfo {
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

    fn apply(&mut self, cmds: Vec<Command>) {
        for mut c in cmds {
            // A review from the keyboard takes the comment typed in the inspector.
            if let Command::Review(_, comment) = &mut c {
                if comment.is_empty() {
                    comment.clone_from(&self.comment);
                }
                self.comment.clear();
            }
            let saving = matches!(c, Command::Save | Command::SaveAs(_));
            self.editor.run(c);
            if saving && self.editor.session.as_ref().is_some_and(|s| !s.dirty) {
                self.recovery.clear();
                if let Some(p) = self.editor.project_path().map(Path::to_path_buf) {
                    self.settings.remember(&p);
                }
            }
        }
    }

    fn ask_path(&mut self, kind: DialogKind) {
        // rfd talks to the XDG desktop portal over the session bus; without one (headless,
        // CI, bare X servers) it can only fail, so ask for a typed path straight away.
        if cfg!(target_os = "linux") && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            self.path_prompt = Some((kind, String::new()));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let start_dir = self
            .editor
            .project_path()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let spawned = std::thread::Builder::new()
            .name("file dialog".into())
            .spawn(move || {
                let mut d = rfd::FileDialog::new();
                if let Some(dir) = start_dir {
                    d = d.set_directory(dir);
                }
                let picked = match kind {
                    DialogKind::Open => d
                        .add_filter(
                            "songs and projects",
                            &["wav", "flac", "mp3", "ogg", "m4a", "aac", "json"],
                        )
                        .pick_file(),
                    DialogKind::SaveAs => d
                        .add_filter("Phrasewise project", &["json"])
                        .set_file_name("song.phrasewise.json")
                        .save_file(),
                    DialogKind::ExportBvh => d
                        .add_filter("BVH", &["bvh"])
                        .set_file_name("dance.bvh")
                        .save_file(),
                    DialogKind::Library => d.pick_folder(),
                    DialogKind::LocateSong => d
                        .add_filter("songs", &["wav", "flac", "mp3", "ogg", "m4a", "aac"])
                        .pick_file(),
                };
                let _ = tx.send(picked);
            });
        match spawned {
            Ok(_) => self.dialog = Some((kind, rx)),
            Err(_) => self.path_prompt = Some((kind, String::new())),
        }
    }

    fn handle_path(&mut self, kind: DialogKind, path: PathBuf, ctx: &egui::Context) {
        match kind {
            DialogKind::Open => self.open(path, ctx),
            DialogKind::SaveAs => self.apply(vec![Command::SaveAs(path)]),
            DialogKind::ExportBvh => self.export_bvh(path),
            DialogKind::LocateSong => {
                let Some(project) = self.relocating.take() else {
                    return;
                };
                let ctx2 = ctx.clone();
                self.job = Some(Job::spawn(
                    "relocating the song",
                    move |p| {
                        let mut doc = crate::choreo::Project::read(&project)?;
                        doc.relocate_song(&project, &path)?;
                        // Saved at once so the project opens normally from now on.
                        doc.save(&project)?;
                        session::open_project(&project, &mut |a, f| p.update(a, f))
                    },
                    move || ctx2.request_repaint(),
                ));
            }
            DialogKind::Library => {
                self.settings.last_library = Some(path.clone());
                match self
                    .editor
                    .session
                    .as_ref()
                    .map(|s| s.project.song_path(s.project_path()))
                {
                    Some(song) => self.open(song, ctx),
                    None => self.editor.say(
                        Level::Info,
                        format!("library {} will be used for the next song", path.display()),
                    ),
                }
            }
        }
    }

    fn export_bvh(&mut self, out: PathBuf) {
        let Some(s) = &self.editor.session else {
            self.editor.say(Level::Error, "no project to export");
            return;
        };
        let project = s.project.clone();
        let library = s.library.clone();
        self.export_job = Some(Job::spawn(
            format!("exporting {}", out.display()),
            move |p| {
                p.update("blending", 0.1);
                let timeline = out.with_extension("timeline.json");
                let tl = crate::cli_choreo::export_project(
                    &project,
                    &library,
                    &crate::cli_motion::ExportOptions::default(),
                    &out,
                    &timeline,
                )?;
                Ok(format!(
                    "exported {} ({} frames) and {}",
                    out.display(),
                    tl.frames,
                    timeline.display()
                ))
            },
            || {},
        ));
    }
}

/// `*.json` files are projects; anything else is audio.
fn is_project(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

impl eframe::App for EditorApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        if let Some(prev) = self.last_frame.replace(now) {
            self.frame_ms.push_back((now - prev).as_secs_f32() * 1000.0);
            if self.frame_ms.len() > 120 {
                self.frame_ms.pop_front();
            }
        }
        self.poll_jobs();
        if let Some((kind, path)) = self.pending_path.take() {
            self.handle_path(kind, path, ctx);
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
            self.open(p, ctx);
        }
        if self.editor.player.transport().is_playing() {
            ctx.request_repaint();
        } else if self.job.is_some() || self.export_job.is_some() || self.learn_job.is_some() {
            // Progress needs a few updates a second, not a full-speed redraw competing with
            // the worker for the CPU (on a software rasteriser a frame costs ~100 ms).
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        self.run_script(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let mut cmds = Vec::new();
        ui::keyboard(&ctx, &self.editor, &mut cmds);
        let mut open_dialog = None;
        let mut menu_open: Option<Start> = None;
        let mut learn_clicked = false;
        let mut switch_to: Option<(PathBuf, String)> = None;
        ctx.input_mut(|i| {
            if i.consume_key(
                egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                egui::Key::S,
            ) {
                open_dialog = Some(DialogKind::SaveAs);
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::S) {
                if self.editor.project_path().is_some() {
                    cmds.push(Command::Save);
                } else {
                    open_dialog = Some(DialogKind::SaveAs);
                }
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::O) {
                open_dialog = Some(DialogKind::Open);
            }
        });

        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Open song or project…  Ctrl+O").clicked() {
                        open_dialog = Some(DialogKind::Open);
                    }
                    if ui.button("Open demo").clicked() {
                        menu_open = Some(Start::Demo);
                    }
                    if ui.button("Library folder…").clicked() {
                        open_dialog = Some(DialogKind::Library);
                    }
                    ui.menu_button("Recent", |ui| {
                        for p in self.settings.recent.clone() {
                            if ui.button(p.display().to_string()).clicked() {
                                menu_open = Some(Start::Path(p));
                            }
                        }
                    });
                    ui.separator();
                    if ui.button("Save  Ctrl+S").clicked() {
                        if self.editor.project_path().is_some() {
                            cmds.push(Command::Save);
                        } else {
                            open_dialog = Some(DialogKind::SaveAs);
                        }
                    }
                    if ui.button("Save as…  Ctrl+Shift+S").clicked() {
                        open_dialog = Some(DialogKind::SaveAs);
                    }
                    if ui.button("Export BVH + timeline…").clicked() {
                        open_dialog = Some(DialogKind::ExportBvh);
                    }
                });
                ui.menu_button("Edit", |ui| {
                    if ui.button("Undo  Ctrl+Z").clicked() {
                        cmds.push(Command::Undo);
                    }
                    if ui.button("Redo  Ctrl+Shift+Z").clicked() {
                        cmds.push(Command::Redo);
                    }
                    if ui.button("Next unreviewed slot  N").clicked() {
                        cmds.push(Command::SelectNextUnreviewed);
                    }
                    ui.separator();
                    if ui
                        .button("Learn from my edits")
                        .on_hover_text(
                            "train a new model version from the labels of every project in \
                             this project's folder; adopted only if it validates better",
                        )
                        .clicked()
                    {
                        learn_clicked = true;
                    }
                    if let Some(ws) = self
                        .editor
                        .project_path()
                        .and_then(Path::parent)
                        .map(Path::to_path_buf)
                    {
                        let (versions, current) = crate::cli_learn::versions(&ws);
                        if !versions.is_empty() {
                            ui.menu_button("Model version", |ui| {
                                for v in versions {
                                    let on = current.as_deref() == Some(v.as_str());
                                    if ui.selectable_label(on, v.as_str()).clicked() && !on {
                                        switch_to = Some((ws.clone(), v));
                                    }
                                }
                            });
                        }
                    }
                });
                ui.menu_button("Help", |ui| {
                    if ui.button("Keyboard shortcuts  F1").clicked() {
                        cmds.push(Command::ToggleHelp);
                    }
                });
                ui.separator();
                let title = self.editor.session.as_ref().map_or_else(
                    || "no project".to_string(),
                    |s| {
                        let name = s.path.as_ref().map_or_else(
                            || format!("{} (untitled)", song_name(s)),
                            |p| p.display().to_string(),
                        );
                        format!("{name}{}", if s.dirty { " •" } else { "" })
                    },
                );
                ui.strong(title);
            });
            ui::transport_bar(ui, &self.editor, &mut cmds);
        });

        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                let mut cancel = false;
                for job_title in [
                    self.job
                        .as_ref()
                        .map(|j| (j.title.clone(), j.progress.clone())),
                    self.export_job
                        .as_ref()
                        .map(|j| (j.title.clone(), j.progress.clone())),
                    self.learn_job
                        .as_ref()
                        .map(|j| (j.title.clone(), j.progress.clone())),
                ]
                .into_iter()
                .flatten()
                {
                    let (title, p) = job_title;
                    ui.label(format!("{title}: {}", p.step()));
                    ui.add(
                        egui::ProgressBar::new(p.fraction())
                            .desired_width(160.0)
                            .show_percentage(),
                    );
                    if ui.button("Cancel").clicked() {
                        p.cancel();
                        cancel = true;
                    }
                }
                if cancel {
                    self.editor.say(Level::Info, "cancelling…");
                }
                if let Some((lvl, msg)) = &self.editor.status {
                    ui.colored_label(ui::level_color(*lvl), msg);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if let Some(s) = &self.editor.session {
                        ui.weak(format!(
                            "{} · model {} · user {}",
                            s.project.library.name, s.project.model, s.user
                        ));
                    }
                });
            });
        });

        egui::Panel::right("side")
            .default_size(380.0)
            .min_size(300.0)
            .max_size(520.0)
            .resizable(true)
            .show(ui, |ui| {
                // Long ids or messages must not widen the panel past the window.
                ui.set_max_width(ui.available_width());
                ui::inspector(
                    ui,
                    &self.editor,
                    &mut self.note,
                    &mut self.comment,
                    &mut cmds,
                );
                ui.separator();
                ui::library_browser(ui, &self.editor, &mut self.browser, &mut cmds);
            });

        egui::CentralPanel::default().show(ui, |ui| {
            ui::waveform_lane(ui, &self.editor, &mut cmds);
            ui.add_space(4.0);
            ui::timeline_lane(ui, &self.editor, &mut cmds);
            ui.add_space(4.0);
            self.preview.show(ui, &self.editor);
        });

        ui::help_window(&ctx, &self.editor, &mut cmds);
        self.recovery_window(&ctx);
        self.path_prompt_window(&ctx);

        if let Some(start) = menu_open {
            match start {
                Start::Path(p) => self.open(p, &ctx),
                other => self.job = self.start_job(other, Some(ctx.clone())),
            }
        }
        if let Some(kind) = open_dialog {
            self.ask_path(kind);
        }
        if learn_clicked {
            self.start_learn();
        }
        if let Some((ws, v)) = switch_to {
            self.switch_model(&ws, &v);
        }
        self.apply(cmds);
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
            _ => self.recovery.clear(),
        }
    }
}

fn song_name(s: &Session) -> String {
    Path::new(&s.project.song.path).file_name().map_or_else(
        || s.project.song.path.clone(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl EditorApp {
    /// Advances an unattended [`Script`] by one frame.
    fn run_script(&mut self, ctx: &egui::Context) {
        let Some(script) = self.script.clone() else {
            return;
        };
        if self.editor.session.is_none() {
            if self.job.is_none() && self.script_run.started.is_none() {
                // Loading failed: nothing to run.
                eprintln!("script: no document loaded");
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                self.script = None;
            }
            ctx.request_repaint_after(Duration::from_millis(500));
            return;
        }
        let run = &mut self.script_run;
        if run.started.is_none() {
            run.started = Some(Instant::now());
            if !run.printed_ready {
                run.printed_ready = true;
                println!(
                    "ready: document loaded and first frame drawn {:.2} s after the window was created",
                    self.created.elapsed().as_secs_f64()
                );
            }
            if let Some(t) = script.select {
                self.editor.run(Command::Select(t));
            }
            if let Some(t) = script.seek {
                self.editor.run(Command::Seek(t));
            }
            if script.play {
                self.editor.run(Command::PlayPause);
            }
        } else if let Some(ms) = self.frame_ms.back() {
            run.frame_ms.push(*ms);
        }
        run.frames += 1;
        ctx.request_repaint();
        if run.frames == script.frames
            && let Some(path) = script.screenshot.clone()
        {
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            run.shot = Some(done.clone());
            let ctx2 = ctx.clone();
            ctx.request_screenshot(move |img| {
                if let Err(e) = save_png(&path, &img) {
                    eprintln!("screenshot: {e:#}");
                } else {
                    println!("screenshot: {}", path.display());
                }
                done.store(true, std::sync::atomic::Ordering::Release);
                ctx2.request_repaint();
            });
        }
        let shot_done = run
            .shot
            .as_ref()
            .is_none_or(|d| d.load(std::sync::atomic::Ordering::Acquire));
        if run.frames > script.frames && shot_done {
            let mut v = run.frame_ms.clone();
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
            let tr = self.editor.player.transport();
            println!(
                "playhead {:.2} s · audio: {}",
                tr.position(),
                self.editor
                    .player
                    .device
                    .clone()
                    .or_else(|| self.editor.player.unavailable.clone())
                    .unwrap_or_default()
            );
            self.script = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn recovery_window(&mut self, ctx: &egui::Context) {
        let Some(info) = self.recovery_offer.clone() else {
            return;
        };
        let mut choice = None;
        egui::Window::new("Recover unsaved work?")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label(format!(
                    "Phrasewise did not close cleanly. Unsaved changes from {} to {} were kept.",
                    info.written_at,
                    info.original.as_ref().map_or_else(
                        || "an untitled project".to_string(),
                        |p| p.display().to_string()
                    )
                ));
                ui.horizontal(|ui| {
                    if ui.button("Recover").clicked() {
                        choice = Some(true);
                    }
                    if ui.button("Discard").clicked() {
                        choice = Some(false);
                    }
                });
            });
        match choice {
            Some(true) => {
                self.recovery_offer = None;
                let doc = self.recovery.document();
                let original = info.original.clone();
                let ctx2 = ctx.clone();
                self.job = Some(Job::spawn(
                    "recovering",
                    move |p| {
                        let mut s = session::open_project(&doc, &mut |a, f| p.update(a, f))?;
                        // Saving goes to the original project (or asks, if untitled).
                        s.path = original.clone();
                        if let Some(o) = &original {
                            s.base_path = o.clone();
                        }
                        s.dirty = true;
                        Ok(s)
                    },
                    move || ctx2.request_repaint(),
                ));
            }
            Some(false) => {
                self.recovery_offer = None;
                self.recovery.clear();
            }
            None => {}
        }
    }

    fn path_prompt_window(&mut self, ctx: &egui::Context) {
        let Some((kind, mut text)) = self.path_prompt.take() else {
            return;
        };
        let mut done = None;
        let mut keep = true;
        let title = match kind {
            DialogKind::Open => "Open song or project",
            DialogKind::SaveAs => "Save project as",
            DialogKind::ExportBvh => "Export BVH to",
            DialogKind::Library => "Library folder",
            DialogKind::LocateSong => "Where is the project's song now?",
        };
        egui::Window::new(title)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                let label = ui.label("No file dialog is available here; type a path:");
                let r = ui
                    .add(egui::TextEdit::singleline(&mut text).desired_width(420.0))
                    .labelled_by(label.id);
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("OK").clicked() || enter {
                        done = Some(PathBuf::from(text.trim()));
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
            });
        if let Some(p) = done {
            if !p.as_os_str().is_empty() {
                self.pending_path = Some((kind, p));
            }
        } else if keep {
            self.path_prompt = Some((kind, text));
        }
    }
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

/// Opens the editor window (blocks until it is closed).
pub fn run_editor(opts: StartOptions) -> Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Phrasewise")
            .with_inner_size(opts.window)
            .with_min_inner_size([960.0, 600.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    eframe::run_native(
        "Phrasewise",
        native,
        Box::new(move |cc| Ok(Box::new(EditorApp::new(cc, opts)))),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "could not open the editor window: {e} (no display? run under a desktop session \
             or Xvfb; the command-line tools work without one)"
        )
    })
}
