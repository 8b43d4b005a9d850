//! The window's chrome: menu bar, status bar (jobs with Cancel, messages) and the recovery
//! offer. Each only reads state and pushes [`AppCommand`]s.

use std::path::Path;

use super::commands::AppCommand;
use super::commands::TrustOffer;
use super::dialogs::DialogKind;
use super::editor::{Command, Editor};
use super::jobs::Jobs;
use super::session::Session;
use super::settings::{RecoveryInfo, Settings};
use super::{Start, ui};
use crate::service::learn;

/// Ctrl+S, Ctrl+Shift+S and Ctrl+O.
pub fn file_keys(ctx: &egui::Context, editor: &Editor, out: &mut Vec<AppCommand>) {
    ctx.input_mut(|i| {
        if i.consume_key(
            egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
            egui::Key::S,
        ) {
            out.push(AppCommand::Ask(DialogKind::SaveAs));
        }
        if i.consume_key(egui::Modifiers::COMMAND, egui::Key::S) {
            out.push(save(editor));
        }
        if i.consume_key(egui::Modifiers::COMMAND, egui::Key::O) {
            out.push(AppCommand::Ask(DialogKind::Open));
        }
    });
}

/// Save to the project's file, or ask where when it has none.
fn save(editor: &Editor) -> AppCommand {
    if editor.project_path().is_some() {
        AppCommand::Editor(Command::Save)
    } else {
        AppCommand::Ask(DialogKind::SaveAs)
    }
}

/// The menu bar and the transport bar under it.
pub fn menu_bar(
    ui: &mut egui::Ui,
    editor: &Editor,
    settings: &Settings,
    out: &mut Vec<AppCommand>,
) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu(ui, editor, settings, out));
        ui.menu_button("Edit", |ui| edit_menu(ui, editor, out));
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts  F1").clicked() {
                out.push(AppCommand::Editor(Command::ToggleHelp));
            }
        });
        ui.separator();
        ui.strong(title(editor));
    });
    let mut cmds = Vec::new();
    ui::transport_bar(ui, editor, &mut cmds);
    out.extend(cmds.into_iter().map(AppCommand::Editor));
}

fn file_menu(ui: &mut egui::Ui, editor: &Editor, settings: &Settings, out: &mut Vec<AppCommand>) {
    if ui.button("Open song or project…  Ctrl+O").clicked() {
        out.push(AppCommand::Ask(DialogKind::Open));
    }
    if ui.button("Open demo").clicked() {
        out.push(AppCommand::Open(Start::Demo));
    }
    if ui.button("Library folder…").clicked() {
        out.push(AppCommand::Ask(DialogKind::Library));
    }
    ui.menu_button("Recent", |ui| {
        for p in &settings.recent {
            if ui.button(p.display().to_string()).clicked() {
                out.push(AppCommand::Open(Start::Path(p.clone())));
            }
        }
    });
    ui.separator();
    if ui.button("Save  Ctrl+S").clicked() {
        out.push(save(editor));
    }
    if ui.button("Save as…  Ctrl+Shift+S").clicked() {
        out.push(AppCommand::Ask(DialogKind::SaveAs));
    }
    if ui.button("Export BVH + timeline…").clicked() {
        out.push(AppCommand::Ask(DialogKind::ExportBvh));
    }
    if ui
        .button("Export video…")
        .on_hover_text("an MP4 (H.264 + AAC, 1280×720, 30 fps) of the dance with the song, for posting; needs ffmpeg")
        .clicked()
    {
        out.push(AppCommand::Ask(DialogKind::ExportVideo));
    }
    ui.separator();
    if ui
        .button("Import take…")
        .on_hover_text(
            "a motion-capture take (BVH) danced to this song: its phrases become the \
             slots' choices (marked imported), labels, and new library phrases where the \
             library lacks the move",
        )
        .clicked()
    {
        out.push(AppCommand::Ask(DialogKind::ImportTake));
    }
}

fn edit_menu(ui: &mut egui::Ui, editor: &Editor, out: &mut Vec<AppCommand>) {
    if ui.button("Undo  Ctrl+Z").clicked() {
        out.push(AppCommand::Editor(Command::Undo));
    }
    if ui.button("Redo  Ctrl+Shift+Z").clicked() {
        out.push(AppCommand::Editor(Command::Redo));
    }
    if ui.button("Next unreviewed slot  N").clicked() {
        out.push(AppCommand::Editor(Command::SelectNextUnreviewed));
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
        out.push(AppCommand::Learn);
    }
    style_menu(ui, editor, out);
    variety_menu(ui, editor, out);
    if let Some(ws) = editor.project_path().and_then(Path::parent) {
        let (versions, current) = learn::versions(ws);
        if !versions.is_empty() {
            ui.menu_button("Model version", |ui| {
                for v in versions {
                    let on = current.as_deref() == Some(v.as_str());
                    if ui.selectable_label(on, v.as_str()).clicked() && !on {
                        out.push(AppCommand::UseModel {
                            workspace: ws.to_path_buf(),
                            version: v,
                        });
                    }
                }
            });
        }
    }
}

/// *Dance style*: the styles the model learnt, or the music's guess. Disabled, with the
/// reason, when the model learnt none (cold start, labels without styles).
fn style_menu(ui: &mut egui::Ui, editor: &Editor, out: &mut Vec<AppCommand>) {
    let Some(s) = editor.session.as_ref() else {
        return;
    };
    let current = s.project.settings.style.as_deref();
    if s.styles.is_empty() && current.is_none() {
        ui.add_enabled(false, egui::Button::new("Dance style"))
            .on_disabled_hover_text(
                "the model learnt no dance styles: train one on labels that name each \
                 song's style",
            );
        return;
    }
    ui.menu_button("Dance style", |ui| {
        if ui
            .selectable_label(current.is_none(), "From the music")
            .clicked()
            && current.is_some()
        {
            out.push(AppCommand::Editor(Command::SetStyle(None)));
        }
        for style in &s.styles {
            let on = current.is_some_and(|c| c.eq_ignore_ascii_case(style));
            if ui.selectable_label(on, style.as_str()).clicked() && !on {
                out.push(AppCommand::Editor(Command::SetStyle(Some(style.clone()))));
            }
        }
        // A declared style this model did not learn (another model's, a typo): shown so it
        // can be cleared, and said to be unused.
        if let Some(c) = current.filter(|c| !s.styles.iter().any(|k| k.eq_ignore_ascii_case(c))) {
            ui.add_enabled(
                false,
                egui::Button::selectable(true, format!("{c} (not used)")),
            )
            .on_disabled_hover_text("the current model did not learn this style");
        }
    });
}

/// *Variety*: the model's penalties fitted on its labels, the program's, or none.
fn variety_menu(ui: &mut egui::Ui, editor: &Editor, out: &mut Vec<AppCommand>) {
    use crate::choreo::network::Variety;
    let Some(s) = editor.session.as_ref() else {
        return;
    };
    let current = s.variety();
    ui.menu_button("Variety", |ui| {
        let fitted = s.fitted_variety.is_some();
        let model = ui
            .add_enabled(
                fitted,
                egui::Button::selectable(
                    fitted && current == Some(Variety::Model),
                    "As the model's labels repeat",
                ),
            )
            .on_hover_text(
                "the reuse and same-move penalties the model fitted on its labels \
                 (model.json `variety`)",
            )
            .on_disabled_hover_text("the model fitted no variety on labels of its own");
        if model.clicked() && current != Some(Variety::Model) {
            out.push(AppCommand::Editor(Command::SetVariety(Variety::Model)));
        }
        let on = current == Some(Variety::On) || (!fitted && current == Some(Variety::Model));
        if ui
            .selectable_label(on, "Varied (no move twice in a row, few repeats)")
            .clicked()
            && !on
        {
            out.push(AppCommand::Editor(Command::SetVariety(Variety::On)));
        }
        let off = current == Some(Variety::Off);
        if ui.selectable_label(off, "Off (the plain chain)").clicked() && !off {
            out.push(AppCommand::Editor(Command::SetVariety(Variety::Off)));
        }
    });
}

/// The window title's document part: the project path (or the song, untitled) and a dot
/// when there are unsaved changes.
fn title(editor: &Editor) -> String {
    editor.session.as_ref().map_or_else(
        || "no project".to_string(),
        |s| {
            let name = s.path.as_ref().map_or_else(
                || format!("{} (untitled)", song_name(s)),
                |p| p.display().to_string(),
            );
            format!("{name}{}", if s.dirty { " •" } else { "" })
        },
    )
}

fn song_name(s: &Session) -> String {
    Path::new(&s.project.song.path).file_name().map_or_else(
        || s.project.song.path.clone(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The status bar: running jobs with progress and Cancel, the latest message, the document's
/// library, model and user.
pub fn status_bar(ui: &mut egui::Ui, editor: &Editor, jobs: &Jobs, out: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        for (title, p) in jobs.rows() {
            ui.label(format!("{title}: {}", p.current_step()));
            ui.add(
                egui::ProgressBar::new(p.fraction())
                    .desired_width(160.0)
                    .show_percentage(),
            );
            if ui.button("Cancel").clicked() {
                out.push(AppCommand::CancelJob(title.clone()));
            }
        }
        if let Some((lvl, msg)) = &editor.status {
            ui.colored_label(ui::level_color(*lvl), msg);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if let Some(s) = &editor.session {
                let style = s
                    .project
                    .settings
                    .style
                    .as_deref()
                    .map(|st| format!(" · style {st}"))
                    .unwrap_or_default();
                ui.weak(format!(
                    "{} · model {}{style} · user {}",
                    s.project.library.name, s.project.model, s.user
                ));
            }
        });
    });
}

/// The offer to recover unsaved work left by a run that did not end cleanly.
pub fn recovery_window(ctx: &egui::Context, info: &RecoveryInfo, out: &mut Vec<AppCommand>) {
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
                    out.push(AppCommand::Recover(true));
                }
                if ui.button("Discard").clicked() {
                    out.push(AppCommand::Recover(false));
                }
            });
        });
}

/// Asks whether to trust the folder a project points into ([`crate::confine`]).
pub fn trust_window(ctx: &egui::Context, offer: &TrustOffer, out: &mut Vec<AppCommand>) {
    egui::Window::new("Trust this folder?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(format!(
                "{} names its {} {}, outside the project's folder, and nothing says you chose \
                 it on this machine. Open it only if you trust where it came from.",
                offer.project.display(),
                offer.what,
                offer.path.display()
            ));
            ui.horizontal(|ui| {
                if ui
                    .button(format!("Trust {} and open", offer.dir.display()))
                    .clicked()
                {
                    out.push(AppCommand::Trust(true));
                }
                if ui.button("Cancel").clicked() {
                    out.push(AppCommand::Trust(false));
                }
            });
        });
}
