//! File dialogs: rfd (XDG desktop portal) on its own thread so the UI never blocks, with a
//! typed-path window where no portal exists (headless machines, bare X servers).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Which file a dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    /// A song or project to open.
    Open,
    /// Where to save the project.
    SaveAs,
    /// Where to export the dance.
    ExportBvh,
    /// Where to write the dance's video.
    ExportVideo,
    /// A library folder.
    Library,
    /// Find the song of a project whose song moved.
    LocateSong,
    /// A motion-capture take danced to the open song.
    ImportTake,
}

impl DialogKind {
    fn title(self) -> &'static str {
        match self {
            DialogKind::Open => "Open song or project",
            DialogKind::SaveAs => "Save project as",
            DialogKind::ExportBvh => "Export BVH to",
            DialogKind::ExportVideo => "Export video (MP4) to",
            DialogKind::Library => "Library folder",
            DialogKind::LocateSong => "Where is the project's song now?",
            DialogKind::ImportTake => "Import a take (BVH danced to this song)",
        }
    }
}

/// The dialog in flight, or the typed-path window standing in for it.
#[derive(Debug, Default)]
pub struct Dialogs {
    dialog: Option<(DialogKind, mpsc::Receiver<Option<PathBuf>>)>,
    prompt: Option<(DialogKind, String)>,
}

impl Dialogs {
    /// Asks for a path of `kind`, starting in `start_dir`.
    pub fn ask(&mut self, kind: DialogKind, start_dir: Option<PathBuf>) {
        // rfd talks to the XDG desktop portal over the session bus; without one (headless,
        // CI, bare X servers) it can only fail, so ask for a typed path straight away.
        if cfg!(target_os = "linux") && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            self.prompt = Some((kind, String::new()));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("file dialog".into())
            .spawn(move || {
                let _ = tx.send(pick(kind, start_dir));
            });
        match spawned {
            Ok(_) => self.dialog = Some((kind, rx)),
            Err(_) => self.prompt = Some((kind, String::new())),
        }
    }

    /// A path the user chose since the last frame, if any.
    pub fn poll(&mut self) -> Option<(DialogKind, PathBuf)> {
        let (kind, rx) = self.dialog.as_ref()?;
        let kind = *kind;
        match rx.try_recv() {
            Ok(Some(path)) => {
                self.dialog = None;
                Some((kind, path))
            }
            Ok(None) => {
                self.dialog = None;
                None
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                // No portal after all: fall back to typing a path.
                self.dialog = None;
                self.prompt = Some((kind, String::new()));
                None
            }
        }
    }

    /// Draws the typed-path window; returns the path once confirmed.
    pub fn prompt_window(&mut self, ctx: &egui::Context) -> Option<(DialogKind, PathBuf)> {
        let (kind, mut text) = self.prompt.take()?;
        let mut done = None;
        let mut keep = true;
        egui::Window::new(kind.title())
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
        match done {
            Some(p) if !p.as_os_str().is_empty() => Some((kind, p)),
            Some(_) => None,
            None => {
                if keep {
                    self.prompt = Some((kind, text));
                }
                None
            }
        }
    }
}

/// The native dialog for `kind` (blocks: runs on the dialog thread).
fn pick(kind: DialogKind, start_dir: Option<PathBuf>) -> Option<PathBuf> {
    let mut d = rfd::FileDialog::new();
    if let Some(dir) = start_dir.as_deref().filter(|d| Path::is_dir(d)) {
        d = d.set_directory(dir);
    }
    match kind {
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
        DialogKind::ExportVideo => d
            .add_filter("MP4 video", &["mp4"])
            .set_file_name("dance.mp4")
            .save_file(),
        DialogKind::Library => d.pick_folder(),
        DialogKind::LocateSong => d
            .add_filter("songs", &["wav", "flac", "mp3", "ogg", "m4a", "aac"])
            .pick_file(),
        DialogKind::ImportTake => d.add_filter("BVH", &["bvh"]).pick_file(),
    }
}
