//! The shell's command queue: panels, menus and keys push [`AppCommand`]s while drawing; once
//! per frame [`EditorApp::dispatch`] carries them out — editor commands through the document
//! session's undo history, everything long (opening, export, learning) as a service on a job
//! thread.

use std::path::{Path, PathBuf};

use super::dialogs::DialogKind;
use super::editor::{Command, Level};
use super::jobs::{Finished, Job, is_cancel};
use super::session::{self, Session};
use super::{EditorApp, Start};
use crate::export::ExportOptions;
use crate::render::{VideoAudio, VideoOptions};
use crate::service::Progress as _;
use crate::service::learn::{self, LearnReport, LearnRequest};
use crate::service::library::library_dir_for_song;
use crate::service::suggest::RenderTarget;

/// Something the user asked the shell for.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    /// An editor command (decisions, selection, playback, save).
    Editor(Command),
    /// Open the demo, a song or a project in the background.
    Open(Start),
    /// Ask the user for a path.
    Ask(DialogKind),
    /// The user chose a path.
    Chosen(DialogKind, PathBuf),
    /// Train a new model from the edits of the open project's workspace.
    Learn,
    /// Make a workspace's model version current and re-rank with it.
    UseModel {
        /// The workspace.
        workspace: PathBuf,
        /// The version (`v2`).
        version: String,
    },
    /// Recover (`true`) or discard (`false`) the crash-recovery document.
    Recover(bool),
    /// Trust (`true`) the folder of the offered [`TrustOffer`] and open its project, or not.
    Trust(bool),
    /// Ask the running job with this title to stop.
    CancelJob(String),
}

/// A project that names a file outside its folder that the user has not trusted
/// ([`crate::choreo::ChoreoError::Untrusted`]): the editor asks before opening it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustOffer {
    /// The project file.
    pub project: PathBuf,
    /// What it names (song, take, library).
    pub what: &'static str,
    /// Where that leads.
    pub path: PathBuf,
    /// The folder to trust: the file's folder (a library: the folder itself).
    pub dir: PathBuf,
}

/// `*.json` files are projects; anything else is audio.
fn is_project(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

impl EditorApp {
    /// Carries out the queued commands in order.
    pub fn dispatch_queued(&mut self) {
        for c in std::mem::take(&mut self.queue) {
            self.dispatch(c);
        }
    }

    /// Carries out one command.
    pub fn dispatch(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::Editor(c) => self.apply_editor(c),
            AppCommand::Open(start) => self.open_start(start),
            AppCommand::Ask(kind) => {
                let dir = self
                    .editor
                    .project_path()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf);
                self.dialogs.ask(kind, dir);
            }
            AppCommand::Chosen(kind, path) => self.handle_path(kind, path),
            AppCommand::Learn => self.start_learn(),
            AppCommand::UseModel { workspace, version } => self.switch_model(&workspace, &version),
            AppCommand::Recover(yes) => self.recover(yes),
            AppCommand::Trust(yes) => {
                if let Some(offer) = self.trust_offer.take()
                    && yes
                {
                    match crate::confine::allow(&offer.dir) {
                        Ok(()) => self.open(offer.project),
                        Err(e) => self
                            .editor
                            .say(Level::Error, format!("{}: {e}", offer.dir.display())),
                    }
                }
            }
            AppCommand::CancelJob(title) => {
                for (t, p) in self.jobs.rows() {
                    if t == title {
                        p.cancel();
                    }
                }
                self.editor.say(Level::Info, "cancelling…");
            }
        }
    }

    fn apply_editor(&mut self, mut c: Command) {
        // A review from the keyboard takes the comment typed in the inspector.
        if let Command::Review(_, comment) = &mut c {
            if comment.is_empty() {
                comment.clone_from(&self.view.comment);
            }
            self.view.comment.clear();
        }
        let saving = matches!(c, Command::Save | Command::SaveAs(_));
        // Saving as may rename the document: the recovery under its old name goes too.
        let before = self.recovery();
        self.editor.run(c);
        if saving && self.editor.session.as_ref().is_some_and(|s| !s.dirty) {
            for r in before.into_iter().chain(self.recovery()) {
                r.clear();
            }
            if let Some(p) = self.editor.project_path().map(Path::to_path_buf) {
                self.settings.remember(&p);
            }
        }
    }

    /// Starts opening `start` in the background (the current document stays until it is
    /// ready; a load already running is cancelled).
    pub(super) fn open_start(&mut self, start: Start) {
        if let Some(j) = &self.jobs.load {
            j.progress.cancel();
        }
        let repaint = self.repaint_hook();
        self.jobs.load = match start {
            Start::Empty => None,
            Start::Demo => Some(Job::spawn(
                "opening the demo",
                |p| session::open_demo(p),
                repaint,
            )),
            Start::Path(path) => {
                self.settings.remember(&path);
                self.loading_project = is_project(&path).then(|| path.clone());
                let library_dir = self.settings.last_library.clone();
                Some(Job::spawn(
                    format!("opening {}", path.display()),
                    move |p| {
                        if is_project(&path) {
                            session::open_project(&path, p)
                        } else {
                            // A song inside a workspace uses the workspace's library.
                            session::open_song(&path, library_dir_for_song(&path, library_dir), p)
                        }
                    },
                    repaint,
                ))
            }
        };
    }

    /// Opens a song or project in the background (keeps the current one until it is ready).
    pub fn open(&mut self, path: PathBuf) {
        self.open_start(Start::Path(path));
    }

    fn repaint_hook(&self) -> impl FnOnce() + Send + 'static {
        let ctx = self.ctx.clone();
        move || {
            if let Some(c) = ctx {
                c.request_repaint();
            }
        }
    }

    /// Handles the jobs that finished.
    pub(super) fn finish_jobs(&mut self) {
        for f in self.jobs.poll() {
            match f {
                Finished::Loaded(r) => self.finish_load(r),
                Finished::Exported(Ok(msg)) => self.editor.say(Level::Info, msg),
                Finished::Exported(Err(e)) if is_cancel(&e) => {
                    self.editor.say(Level::Info, "export cancelled");
                }
                Finished::Exported(Err(e)) => {
                    self.editor.say(Level::Error, format!("export: {e:#}"));
                }
                Finished::Learned(r) => self.finish_learn(r),
            }
        }
    }

    pub(super) fn finish_load(&mut self, r: anyhow::Result<Session>) {
        match r {
            Ok(mut s) => {
                if !self.settings.user.is_empty() {
                    s.user = self.settings.user.clone();
                }
                // A document opened clean may have a recovery left by a run that did not end
                // cleanly (a recovered one is dirty and already is that recovery).
                let recovery = self.recovery_for(&s);
                self.recovery_offer = if s.dirty {
                    None
                } else {
                    recovery.pending().map(|info| (recovery, info))
                };
                let name = s
                    .path
                    .as_ref()
                    .map_or_else(|| "untitled".to_string(), |p| p.display().to_string());
                let n = s.project.slots.len();
                let imported = s.take.as_ref().and_then(|t| t.import_summary.clone());
                self.editor.set_session(s);
                self.editor.say(
                    Level::Info,
                    imported.unwrap_or_else(|| format!("{name}: {n} slots ranked")),
                );
            }
            Err(e) if is_cancel(&e) => self.editor.say(Level::Info, "opening cancelled"),
            Err(e) => {
                if let Some(crate::choreo::ChoreoError::Untrusted {
                    document,
                    what,
                    path,
                }) = choreo_error(&e)
                {
                    self.editor.say(Level::Error, format!("{e:#}"));
                    let dir = if *what == "library" {
                        path.clone()
                    } else {
                        crate::choreo::paths::dir_of(path)
                    };
                    self.trust_offer = Some(TrustOffer {
                        project: document.clone(),
                        what,
                        path: path.clone(),
                        dir,
                    });
                } else if let Some(crate::choreo::ChoreoError::SongMissing { path }) =
                    choreo_error(&e)
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
                    self.dispatch(AppCommand::Ask(DialogKind::LocateSong));
                } else {
                    self.editor.say(Level::Error, format!("{e:#}"));
                }
            }
        }
    }

    /// One job at a time works on the open document: says which one runs and returns `true`
    /// when another has to wait.
    fn refuse_while_document_busy(&mut self) -> bool {
        let Some(busy) = self.jobs.document_busy() else {
            return false;
        };
        let msg = format!("wait for “{busy}” to finish (or cancel it) first");
        self.editor.say(Level::Error, msg);
        true
    }

    /// Starts "learn from my edits" on the folder of the open (saved) project: the workspace.
    /// Refused while an export of the document runs.
    pub fn start_learn(&mut self) {
        if self.refuse_while_document_busy() {
            return;
        }
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
        let ws = match learn_workspace(&path, dirs::home_dir().as_deref()) {
            Ok(ws) => ws,
            Err(msg) => {
                self.editor.say(Level::Error, msg);
                return;
            }
        };
        let req = LearnRequest {
            library: self
                .editor
                .session
                .as_ref()
                .and_then(|s| s.library_dir.clone()),
            ..LearnRequest::new(ws)
        };
        self.jobs.learn = Some(Job::spawn(
            "learning from the edits",
            move |p| Ok(learn::learn(&req, p)?),
            self.repaint_hook(),
        ));
    }

    /// Makes workspace model version `v` current and ranks with it (undoing a `learn`).
    pub fn switch_model(&mut self, ws: &Path, v: &str) {
        let r = learn::use_version(ws, v)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let dir =
                    learn::current_model(ws).ok_or_else(|| anyhow::anyhow!("{v} has no model"))?;
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
    pub fn finish_learn(&mut self, r: anyhow::Result<LearnReport>) {
        let rep = match r {
            Ok(rep) => rep,
            Err(e) if is_cancel(&e) => {
                self.editor
                    .say(Level::Info, "learning cancelled; the current model stays");
                return;
            }
            Err(e) => {
                self.editor.say(Level::Error, format!("learn: {e:#}"));
                return;
            }
        };
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
            && let Some(dir) = learn::current_model(&ws)
            && let Some(s) = self.editor.session.as_mut()
            && let Err(e) = s.set_source(crate::choreo::network::ScoreSource::Model(dir))
        {
            self.editor
                .say(Level::Error, format!("{msg}; re-ranking failed: {e:#}"));
            return;
        }
        self.editor.say(Level::Info, msg);
    }

    fn handle_path(&mut self, kind: DialogKind, path: PathBuf) {
        // the user chose it: a document may point at it
        crate::confine::vouch(&path);
        match kind {
            DialogKind::Open => self.open(path),
            DialogKind::SaveAs => self.apply_editor(Command::SaveAs(path)),
            DialogKind::ExportBvh => self.export_bvh(path),
            DialogKind::ExportVideo => self.export_video(path),
            DialogKind::ImportTake => self.import_take(path),
            DialogKind::LocateSong => {
                let Some(project) = self.relocating.take() else {
                    return;
                };
                self.jobs.load = Some(Job::spawn(
                    "relocating the song",
                    move |p| {
                        let opened =
                            crate::service::document::relocate_and_open(&project, &path, p)?;
                        Session::from_opened(opened)
                    },
                    self.repaint_hook(),
                ));
            }
            DialogKind::Library => {
                self.settings.last_library = Some(path.clone());
                match self.editor.session.as_ref().map(|s| s.song().to_path_buf()) {
                    Some(song) => self.open(song),
                    None => self.editor.say(
                        Level::Info,
                        format!("library {} will be used for the next song", path.display()),
                    ),
                }
            }
        }
    }

    /// Imports a recorded take for the open song in the background
    /// ([`crate::service::takes::import_for_document`]), then opens the project it wrote: the
    /// take's dance as the slots' choices, the take beside the blended dance in the preview.
    /// Refused with unsaved changes (the import replaces the project's decisions) and while
    /// another job works on the document.
    fn import_take(&mut self, take: PathBuf) {
        if self.refuse_while_document_busy() {
            return;
        }
        let Some(s) = &self.editor.session else {
            self.editor
                .say(Level::Error, "open the song the take was danced to first");
            return;
        };
        if s.dirty {
            self.editor.say(
                Level::Error,
                "save first: importing a take replaces the project's choices (Ctrl+S)",
            );
            return;
        }
        let song = s.song().to_path_buf();
        let project = s.path.clone();
        let library = s.library_dir.clone();
        if let Some(j) = &self.jobs.load {
            j.progress.cancel();
        }
        self.loading_project.clone_from(&project);
        self.jobs.load = Some(Job::spawn(
            format!("importing {}", take.display()),
            move |p| {
                let done = crate::service::takes::import_for_document(
                    &song,
                    &take,
                    project.as_deref(),
                    library.as_deref(),
                    p,
                )?;
                let r = &done.report;
                let new = r.pieces.iter().filter(|x| x.new_phrase).count();
                let mut summary = format!(
                    "{}: the song starts {:.3} s into the take{}; {} slots imported ({} matched \
                     in {}, {new} new), labels in {}",
                    take.display(),
                    r.offset,
                    r.estimate.as_ref().map_or_else(String::new, |e| format!(
                        " (confidence {:.2})",
                        e.confidence
                    )),
                    r.pieces.len(),
                    r.pieces.len() - new,
                    done.library.display(),
                    done.labels.display()
                );
                for w in &r.warnings {
                    summary.push_str("; ");
                    summary.push_str(w);
                }
                let mut s = session::open_project(&done.project, p)?;
                if let Some(t) = &mut s.take {
                    t.import_summary = Some(summary);
                }
                Ok(s)
            },
            self.repaint_hook(),
        ));
    }

    /// Whether an export to `out` (writing `files`) may start: no other job on the document,
    /// a document open, and none of `files` the open project itself; says why not.
    fn may_export(&mut self, out: &Path, files: &[&PathBuf]) -> bool {
        if self.refuse_while_document_busy() {
            return false;
        }
        let Some(s) = &self.editor.session else {
            self.editor.say(Level::Error, "no project to export");
            return false;
        };
        if let Some(p) = &s.path
            && files.contains(&p)
        {
            self.editor.say(
                Level::Error,
                format!(
                    "{}: that is the open project; choose another file",
                    out.display()
                ),
            );
            return false;
        }
        true
    }

    /// Exports the dance in the background. Refused while a learn run works on the document,
    /// and when `out` is the open project file itself.
    fn export_bvh(&mut self, out: PathBuf) {
        let target = RenderTarget::new(&out, None, ExportOptions::default());
        if !self.may_export(&out, &[&target.bvh, &target.timeline]) {
            return;
        }
        let Some(s) = &self.editor.session else {
            return;
        };
        let project = s.project.clone();
        let library = s.library.clone();
        self.jobs.export = Some(Job::spawn(
            format!("exporting {}", out.display()),
            move |p| {
                p.update("blending", 0.1);
                let tl = crate::export::export_project(
                    &project,
                    &library,
                    &target.options,
                    &target.bvh,
                    &target.timeline,
                )?;
                Ok(format!(
                    "exported {} ({} frames) and {}",
                    target.bvh.display(),
                    tl.frames,
                    target.timeline.display()
                ))
            },
            self.repaint_hook(),
        ));
    }

    /// Renders the dance to a video in the background (one job per document, as exports are),
    /// with the song file's sound, or the decoded samples when the song is embedded or gone.
    fn export_video(&mut self, out: PathBuf) {
        if !self.may_export(&out, &[&out]) {
            return;
        }
        let Some(s) = &self.editor.session else {
            return;
        };
        let song = s.song().to_path_buf();
        let audio = match (&s.audio, song.is_file()) {
            (_, true) => VideoAudio::File(song),
            (Some(a), false) => VideoAudio::Samples {
                samples: a.samples.clone(),
                sample_rate: a.sample_rate,
            },
            (None, false) => {
                self.editor.say(
                    Level::Error,
                    format!(
                        "{}: the song's audio is missing; locate the song first",
                        song.display()
                    ),
                );
                return;
            }
        };
        // The dance the preview shows, already blended (an audition is not part of it).
        let Some(dance) = s.dance.clone() else {
            let why = s.dance_error.as_deref().unwrap_or("no dance");
            self.editor
                .say(Level::Error, format!("nothing to render: {why}"));
            return;
        };
        let seconds = s.project.analysis.duration;
        self.jobs.export = Some(Job::spawn(
            format!("rendering {}", out.display()),
            move |p| {
                let r = crate::service::video::render_dance_video(
                    &dance,
                    seconds,
                    &audio,
                    &out,
                    &VideoOptions::default(),
                    p,
                )?;
                Ok(format!(
                    "wrote {} ({} frames, {:.1} MB) in {:.0} s",
                    r.path.display(),
                    r.frames,
                    r.bytes as f64 / 1e6,
                    r.wall_seconds
                ))
            },
            self.repaint_hook(),
        ));
    }

    fn recover(&mut self, yes: bool) {
        let Some((recovery, info)) = self.recovery_offer.take() else {
            return;
        };
        if !yes {
            recovery.clear();
            return;
        }
        let doc = recovery.document();
        let original = info.original;
        self.jobs.load = Some(Job::spawn(
            "recovering",
            move |p| {
                let mut s = session::open_project(&doc, p)?;
                // Saving goes to the original project (or asks, if untitled).
                s.path.clone_from(&original);
                if let Some(o) = &original {
                    s.base_path.clone_from(o);
                }
                s.dirty = true;
                Ok(s)
            },
            self.repaint_hook(),
        ));
    }
}

/// The workspace "learn from my edits" works in: the open project's folder, unless that is
/// the home folder or one above it (learning writes `labels.json` and `models/` there and
/// reads every project below it).
fn learn_workspace(project: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    let ws = crate::choreo::paths::dir_of(project);
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let c = canonical(&ws);
    if c.parent().is_none() || home.is_some_and(|h| canonical(h).starts_with(&c)) {
        return Err(format!(
            "{}: learning needs a workspace folder of its own, not the home folder; save the \
             project into one (Ctrl+Shift+S)",
            ws.display()
        ));
    }
    Ok(ws)
}

/// The document error inside a job's error, if that is what it is.
fn choreo_error(e: &anyhow::Error) -> Option<&crate::choreo::ChoreoError> {
    e.downcast_ref::<crate::choreo::ChoreoError>().or_else(|| {
        match e.downcast_ref::<crate::service::ServiceError>() {
            Some(crate::service::ServiceError::Choreo(c)) => Some(c),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_never_uses_the_home_folder_as_its_workspace() {
        let base = std::env::temp_dir().join(format!("pw-learn-ws-{}", std::process::id()));
        let home = base.join("home");
        std::fs::create_dir_all(home.join("dance")).expect("dirs");
        let ok = learn_workspace(&home.join("dance/a.phrasewise.json"), Some(&home));
        assert_eq!(ok, Ok(home.join("dance")));
        for refused in [
            home.join("a.phrasewise.json"),
            base.join("a.phrasewise.json"),
        ] {
            let e = learn_workspace(&refused, Some(&home)).expect_err("refused");
            assert!(e.contains("home folder"), "{e}");
        }
        assert!(learn_workspace(Path::new("/a.phrasewise.json"), None).is_err());
        let _ = std::fs::remove_dir_all(base);
    }
}
