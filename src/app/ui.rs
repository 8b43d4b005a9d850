//! The panels. They read the [`Editor`] and return [`Command`]s; nothing here changes the
//! document directly.

use egui::{
    Align2, Color32, CornerRadius, FontId, Key, Modifiers, Pos2, Rect, Sense, Stroke, StrokeKind,
    Vec2,
};

use crate::choreo::SlotStatus;

use super::editor::{Command, Editor, Level, SHORTCUTS};
use super::playback::{MAX_SPEED, MIN_SPEED};
use super::session::Session;

/// Colours of the editor (dark, low-glare; status colours readable on it).
pub mod palette {
    use egui::Color32;
    /// Lane background.
    pub const LANE_BG: Color32 = Color32::from_rgb(24, 26, 31);
    /// Waveform fill.
    pub const WAVE: Color32 = Color32::from_rgb(92, 156, 214);
    /// Beat ticks.
    pub const BEAT: Color32 = Color32::from_rgb(52, 56, 66);
    /// Bar lines.
    pub const BAR: Color32 = Color32::from_rgb(96, 102, 118);
    /// Phrase boundaries.
    pub const PHRASE: Color32 = Color32::from_rgb(236, 186, 84);
    /// Playhead.
    pub const PLAYHEAD: Color32 = Color32::from_rgb(255, 92, 92);
    /// Selection outline.
    pub const SELECT: Color32 = Color32::from_rgb(250, 250, 250);
    /// Slot: suggested.
    pub const SUGGESTED: Color32 = Color32::from_rgb(70, 78, 98);
    /// Slot: accepted.
    pub const ACCEPTED: Color32 = Color32::from_rgb(46, 125, 80);
    /// Slot: swapped.
    pub const SWAPPED: Color32 = Color32::from_rgb(40, 110, 150);
    /// Slot: relabeled.
    pub const RELABELED: Color32 = Color32::from_rgb(120, 84, 170);
    /// Slot: rejected.
    pub const REJECTED: Color32 = Color32::from_rgb(150, 58, 58);
    /// A slot read off a recorded take, not yet reviewed.
    pub const IMPORTED: Color32 = Color32::from_rgb(70, 96, 128);
    /// Timeline candidate row.
    pub const CANDIDATE_BG: Color32 = Color32::from_rgb(44, 48, 58);
    /// Its probability bar.
    pub const CANDIDATE_BAR: Color32 = Color32::from_rgb(62, 74, 96);
    /// Section band colours, cycled.
    pub const SECTIONS: [Color32; 6] = [
        Color32::from_rgb(58, 64, 92),
        Color32::from_rgb(44, 78, 74),
        Color32::from_rgb(86, 62, 48),
        Color32::from_rgb(70, 52, 86),
        Color32::from_rgb(54, 74, 50),
        Color32::from_rgb(84, 50, 64),
    ];
}

/// Fill colour of a slot with `status`.
pub fn status_color(status: SlotStatus) -> Color32 {
    match status {
        SlotStatus::Suggested => palette::SUGGESTED,
        SlotStatus::Accepted => palette::ACCEPTED,
        SlotStatus::Swapped => palette::SWAPPED,
        SlotStatus::Relabeled => palette::RELABELED,
        SlotStatus::Rejected => palette::REJECTED,
        SlotStatus::Imported => palette::IMPORTED,
    }
}

/// Colour of a QA verdict.
pub fn verdict_color(v: crate::choreo::review::Verdict) -> Color32 {
    match v {
        crate::choreo::review::Verdict::Approved => Color32::from_rgb(120, 220, 140),
        crate::choreo::review::Verdict::Rejected => Color32::from_rgb(255, 110, 100),
    }
}

/// `m:ss.s`.
pub fn clock(t: f64) -> String {
    let t = t.max(0.0);
    let m = (t / 60.0).floor();
    format!("{}:{:04.1}", m as u64, t - 60.0 * m)
}

/// Keyboard shortcuts → commands (only when no text field has focus).
pub fn keyboard(ctx: &egui::Context, ed: &Editor, out: &mut Vec<Command>) {
    if ctx.text_edit_focused() {
        return;
    }
    let table = shortcuts(ed);
    ctx.input_mut(|i| {
        for (mods, key, cmd) in table {
            if i.consume_key(mods, key) {
                out.push(cmd);
            }
        }
    });
}

/// The shortcut table, in the order keys are consumed (Ctrl+Shift+Z before Ctrl+Z). The
/// speed and zoom entries depend on the current speed and view; Escape closes the help only
/// while it is shown.
fn shortcuts(ed: &Editor) -> Vec<(Modifiers, Key, Command)> {
    use crate::choreo::review::Verdict;
    const NONE: Modifiers = Modifiers::NONE;
    let cmd = Modifiers::COMMAND;
    let speed = ed.player.transport().speed();
    let (a, b) = ed.view.view;
    let mid = 0.5 * (a + b);
    let zoom = |factor| Command::Zoom { at: mid, factor };
    let mut t = vec![
        (cmd | Modifiers::SHIFT, Key::Z, Command::Redo),
        (cmd, Key::Z, Command::Undo),
        (cmd, Key::Y, Command::Redo),
        (NONE, Key::Space, Command::PlayPause),
        (NONE, Key::ArrowRight, Command::SelectNext),
        (NONE, Key::ArrowLeft, Command::SelectPrev),
        (NONE, Key::ArrowDown, Command::CursorNext),
        (NONE, Key::ArrowUp, Command::CursorPrev),
        (NONE, Key::Enter, Command::AcceptCursor),
        (NONE, Key::N, Command::SelectNextUnreviewed),
        (
            Modifiers::SHIFT,
            Key::X,
            Command::Review(Verdict::Rejected, String::new()),
        ),
        (NONE, Key::X, Command::Reject),
        (NONE, Key::Delete, Command::Reject),
        (NONE, Key::L, Command::ToggleLock),
        (NONE, Key::G, Command::ToggleNoMatch),
        (
            NONE,
            Key::A,
            Command::Review(Verdict::Approved, String::new()),
        ),
        (NONE, Key::S, Command::Split),
        (NONE, Key::M, Command::MergeNext),
        (NONE, Key::O, Command::ToggleLoop),
        (NONE, Key::F1, Command::ToggleHelp),
        (Modifiers::SHIFT, Key::Questionmark, Command::ToggleHelp),
        (NONE, Key::Questionmark, Command::ToggleHelp),
        (NONE, Key::OpenBracket, Command::SetSpeed(speed - 0.1)),
        (NONE, Key::CloseBracket, Command::SetSpeed(speed + 0.1)),
        (NONE, Key::Plus, zoom(1.5)),
        (NONE, Key::Equals, zoom(1.5)),
        (NONE, Key::Minus, zoom(1.0 / 1.5)),
        (NONE, Key::Num0, Command::ZoomAll),
        (NONE, Key::Home, Command::Seek(0.0)),
    ];
    if ed.view.help {
        t.push((NONE, Key::Escape, Command::ToggleHelp));
    }
    t.extend(
        PICK_KEYS
            .into_iter()
            .enumerate()
            .map(|(n, k)| (NONE, k, Command::Pick(n))),
    );
    t
}

/// Widest a candidate's phrase id is drawn in the slot inspector (points); longer ids are
/// truncated with "…".
const CANDIDATE_NAME_WIDTH: f32 = 170.0;

/// Number keys 1–9: pick the selected slot's candidate 1–9 at once.
pub const PICK_KEYS: [Key; 9] = [
    Key::Num1,
    Key::Num2,
    Key::Num3,
    Key::Num4,
    Key::Num5,
    Key::Num6,
    Key::Num7,
    Key::Num8,
    Key::Num9,
];

/// Transport bar: play, time, speed, loop, follow.
pub fn transport_bar(ui: &mut egui::Ui, ed: &Editor, out: &mut Vec<Command>) {
    let tr = ed.player.transport();
    ui.horizontal(|ui| {
        let playing = tr.is_playing();
        if ui
            .button(if playing { "Pause" } else { "Play" })
            .on_hover_text("Space")
            .clicked()
        {
            out.push(Command::PlayPause);
        }
        if ui.button("|<").on_hover_text("to start (Home)").clicked() {
            out.push(Command::Seek(0.0));
        }
        ui.monospace(format!(
            "{} / {}",
            clock(tr.position()),
            clock(ed.duration())
        ));
        ui.separator();
        let mut speed = tr.speed();
        let r = ui.add(
            egui::Slider::new(&mut speed, MIN_SPEED..=MAX_SPEED)
                .text("speed")
                .custom_formatter(|v, _| format!("{:.0} %", v * 100.0)),
        );
        if r.changed() {
            out.push(Command::SetSpeed(speed));
        }
        let looping = tr.loop_region().is_some();
        if ui
            .selectable_label(looping, "Loop slot")
            .on_hover_text("O")
            .clicked()
        {
            out.push(Command::ToggleLoop);
        }
        view_controls(ui, ed, out);
        ui.separator();
        if let Some(s) = &ed.session {
            let n = s.project.slots.len();
            let done = s
                .project
                .slots
                .iter()
                .filter(|x| x.decision.status.is_decided())
                .count();
            ui.label(format!("{done}/{n} slots reviewed"));
            ui.separator();
            ui.label(format!(
                "{:.0} BPM · {}/4",
                s.project.analysis.tempo_bpm, s.project.analysis.beats_per_bar
            ));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            match (&ed.player.device, &ed.player.unavailable) {
                (Some(d), _) => ui.weak(format!("audio: {d}")),
                (None, Some(why)) => ui
                    .colored_label(Color32::from_rgb(230, 170, 80), "no audio output")
                    .on_hover_text(why.as_str()),
                _ => ui.weak(""),
            };
        });
    });
}

/// Maps song time to x within a lane rect.
#[derive(Debug, Clone, Copy)]
pub struct TimeAxis {
    /// Lane rect.
    pub rect: Rect,
    /// Visible range (s).
    pub t0: f64,
    /// Visible range end (s).
    pub t1: f64,
}

impl TimeAxis {
    /// x of time `t`.
    pub fn x(&self, t: f64) -> f32 {
        self.rect.left() + ((t - self.t0) / (self.t1 - self.t0)) as f32 * self.rect.width()
    }

    /// Time at x.
    pub fn t(&self, x: f32) -> f64 {
        self.t0
            + f64::from((x - self.rect.left()) / self.rect.width().max(1.0)) * (self.t1 - self.t0)
    }
}

/// Waveform lane: envelope, beat grid, bar numbers, section bands, phrase boundaries and the
/// playhead; click/drag seeks, wheel zooms (Ctrl) or scrolls.
pub fn waveform_lane(ui: &mut egui::Ui, ed: &Editor, out: &mut Vec<Command>) {
    let h = 150.0;
    let (rect, resp) =
        ui.allocate_exact_size(Vec2::new(ui.available_width(), h), Sense::click_and_drag());
    let p = ui.painter_at(rect);
    p.rect_filled(rect, CornerRadius::same(4), palette::LANE_BG);
    let Some(s) = &ed.session else {
        p.text(
            rect.center(),
            Align2::CENTER_CENTER,
            "Open a song (Ctrl+O) or drop an audio file here",
            FontId::proportional(16.0),
            Color32::GRAY,
        );
        return;
    };
    let (t0, t1) = ed.view.view;
    let ax = TimeAxis { rect, t0, t1 };
    let a = &s.project.analysis;
    let band = Rect::from_min_max(rect.min, Pos2::new(rect.right(), rect.top() + 16.0));
    section_bands(&p, &ax, band, a);
    beat_grid(&p, &ax, band, a);
    if let Some(audio) = &s.audio {
        let wave = Rect::from_min_max(Pos2::new(rect.left(), band.bottom() + 12.0), rect.max);
        envelope(&p, &ax, wave, &audio.envelope);
    }
    slot_marks(&p, &ax, band, ed, s);
    playhead(&p, &ax, ed.player.transport().position());
    lane_input(ui, &resp, &ax, out);
}

/// Section bands along the top of the waveform lane.
fn section_bands(p: &egui::Painter, ax: &TimeAxis, band: Rect, a: &crate::analysis::SongAnalysis) {
    for (k, sec) in a.sections.iter().enumerate() {
        let x0 = ax.x(sec.start).max(ax.rect.left());
        let x1 = ax.x(sec.end).min(ax.rect.right());
        if x1 <= x0 {
            continue;
        }
        let r = Rect::from_x_y_ranges(x0..=x1, band.y_range());
        let c = palette::SECTIONS[sec_color_index(&sec.label, k)];
        p.rect_filled(r, 0.0, c);
        p.text(
            Pos2::new(x0 + 4.0, band.center().y),
            Align2::LEFT_CENTER,
            &sec.label,
            FontId::proportional(11.0),
            Color32::from_gray(220),
        );
    }
}

/// Beat lines (when they are far enough apart), bar lines and bar numbers below `band`.
fn beat_grid(p: &egui::Painter, ax: &TimeAxis, band: Rect, a: &crate::analysis::SongAnalysis) {
    let rect = ax.rect;
    let px_per_s = rect.width() as f64 / (ax.t1 - ax.t0).max(1e-6);
    let beat_px = px_per_s * 60.0 / a.tempo_bpm.max(1.0);
    let mut bar_no = 0usize;
    for (i, &b) in a.beats.iter().enumerate() {
        let downbeat = a.beat_in_bar.get(i).is_some_and(|&k| k == 1);
        if downbeat {
            bar_no += 1;
        }
        if b < ax.t0 || b > ax.t1 {
            continue;
        }
        let x = ax.x(b);
        if downbeat {
            p.line_segment(
                [Pos2::new(x, band.bottom()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, palette::BAR),
            );
            if beat_px * a.beats_per_bar as f64 > 22.0 {
                p.text(
                    Pos2::new(x + 2.0, band.bottom() + 1.0),
                    Align2::LEFT_TOP,
                    bar_no.to_string(),
                    FontId::monospace(9.0),
                    Color32::from_gray(150),
                );
            }
        } else if beat_px > 5.0 {
            p.line_segment(
                [Pos2::new(x, band.bottom()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, palette::BEAT),
            );
        }
    }
}

/// The audio envelope in `wave`, one column per pixel.
fn envelope(p: &egui::Painter, ax: &TimeAxis, wave: Rect, env: &super::waveform::Envelope) {
    let rect = ax.rect;
    let cols = rect.width().max(1.0) as usize;
    let mid = wave.center().y;
    let half = wave.height() * 0.48;
    for (c, v) in env.columns(ax.t0, ax.t1, cols).iter().enumerate() {
        if let Some((lo, hi)) = v {
            let x = rect.left() + c as f32 + 0.5;
            p.line_segment(
                [
                    Pos2::new(x, mid - hi.clamp(-1.0, 1.0) * half),
                    Pos2::new(x, mid - lo.clamp(-1.0, 1.0) * half + 0.5),
                ],
                Stroke::new(1.0, palette::WAVE),
            );
        }
    }
}

/// Music-phrase boundaries, the selected slot's shade and the loop region.
fn slot_marks(p: &egui::Painter, ax: &TimeAxis, band: Rect, ed: &Editor, s: &Session) {
    let rect = ax.rect;
    for (i, slot) in s.project.slots.iter().enumerate() {
        for t in [slot.start, slot.end] {
            if t >= ax.t0 && t <= ax.t1 {
                let x = ax.x(t);
                p.line_segment(
                    [Pos2::new(x, band.bottom()), Pos2::new(x, rect.bottom())],
                    Stroke::new(1.5, palette::PHRASE),
                );
            }
        }
        if ed.view.selected == Some(i) {
            let r = Rect::from_x_y_ranges(ax.x(slot.start)..=ax.x(slot.end), rect.y_range());
            p.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(255, 255, 255, 14));
        }
    }
    if let Some((la, lb)) = ed.player.transport().loop_region() {
        let r = Rect::from_x_y_ranges(ax.x(la)..=ax.x(lb), band.y_range());
        p.rect_stroke(
            r,
            0.0,
            Stroke::new(2.0, palette::PHRASE),
            StrokeKind::Inside,
        );
    }
}

fn sec_color_index(label: &str, k: usize) -> usize {
    // Same label, same colour (sections repeat: A B A C ...).
    label
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
        .wrapping_add(if label.is_empty() { k } else { 0 })
        % palette::SECTIONS.len()
}

fn playhead(p: &egui::Painter, ax: &TimeAxis, t: f64) {
    if t >= ax.t0 && t <= ax.t1 {
        let x = ax.x(t);
        p.line_segment(
            [Pos2::new(x, ax.rect.top()), Pos2::new(x, ax.rect.bottom())],
            Stroke::new(2.0, palette::PLAYHEAD),
        );
    }
}

fn lane_input(ui: &egui::Ui, resp: &egui::Response, ax: &TimeAxis, out: &mut Vec<Command>) {
    if (resp.clicked() || resp.dragged())
        && let Some(pos) = resp.interact_pointer_pos()
    {
        out.push(Command::Seek(ax.t(pos.x)));
    }
    if resp.hovered() {
        let (scroll, zoom, hover) =
            ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
        if let Some(h) = hover {
            if (zoom - 1.0).abs() > 1e-3 {
                out.push(Command::Zoom {
                    at: ax.t(h.x),
                    factor: f64::from(zoom),
                });
            } else if scroll.x.abs() + scroll.y.abs() > 0.5 {
                let d = -(scroll.x + scroll.y) / ax.rect.width().max(1.0);
                out.push(Command::Scroll(f64::from(d) * (ax.t1 - ax.t0)));
            }
        }
    }
}

/// The slot filter and the number of candidate rows under the timeline's slots.
fn view_controls(ui: &mut egui::Ui, ed: &Editor, out: &mut Vec<Command>) {
    let mut f = ed.view.filter;
    egui::ComboBox::from_label("show")
        .selected_text(f.label())
        .show_ui(ui, |ui| {
            for x in super::editor::Filter::ALL {
                ui.selectable_value(&mut f, x, x.label());
            }
        });
    if f != ed.view.filter {
        out.push(Command::SetFilter(f));
    }
    let mut rows = ed.view.rows;
    ui.add(
        egui::DragValue::new(&mut rows)
            .range(0..=super::editor::MAX_CANDIDATE_ROWS)
            .prefix("top-k rows "),
    )
    .on_hover_text("alternative candidates shown under each slot of the timeline");
    if rows != ed.view.rows {
        out.push(Command::SetRows(rows));
    }
}

/// Height of the timeline's slot blocks (px).
const SLOT_LANE_H: f32 = 64.0;
/// Height of one candidate row under them (px).
const CANDIDATE_ROW_H: f32 = 18.0;

/// The alternatives a slot's candidate rows show: the ranked candidates other than the chosen
/// one, best first, at most `rows`, each with its index in the ranked list.
pub fn alternatives(slot: &Slot, rows: usize) -> Vec<(usize, &crate::choreo::project::Candidate)> {
    slot.candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| slot.decision.chosen.as_deref() != Some(c.phrase.as_str()))
        .take(rows)
        .collect()
}

/// Which candidate row (0-based) a point `dy` px below the timeline's top falls in, if any.
pub fn candidate_row_at(dy: f32, rows: usize) -> Option<usize> {
    let r = (dy - SLOT_LANE_H) / CANDIDATE_ROW_H;
    (r >= 0.0 && (r as usize) < rows).then_some(r as usize)
}

/// Timeline lane: one block per slot with its chosen phrase and status, and under it the
/// next-best candidates ([`ViewState::rows`](super::editor::ViewState) rows, with their
/// probability); a click on a block selects the slot, on a candidate row chooses it.
pub fn timeline_lane(ui: &mut egui::Ui, ed: &Editor, out: &mut Vec<Command>) {
    let rows = ed.view.rows;
    let h = SLOT_LANE_H + rows as f32 * CANDIDATE_ROW_H;
    let (rect, resp) =
        ui.allocate_exact_size(Vec2::new(ui.available_width(), h), Sense::click_and_drag());
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Group, true, "timeline"));
    let p = ui.painter_at(rect);
    p.rect_filled(rect, CornerRadius::same(4), palette::LANE_BG);
    let Some(s) = &ed.session else {
        return;
    };
    let (t0, t1) = ed.view.view;
    let blocks = Rect::from_min_size(rect.min, Vec2::new(rect.width(), SLOT_LANE_H));
    let ax = TimeAxis {
        rect: blocks,
        t0,
        t1,
    };
    for (i, slot) in s.project.slots.iter().enumerate() {
        if slot.end < t0 || slot.start > t1 {
            continue;
        }
        slot_block(&p, &ax, ed, i, slot);
        candidate_rows(&p, &ax, slot, rows);
    }
    playhead(
        &p,
        &TimeAxis { rect, t0, t1 },
        ed.player.transport().position(),
    );
    boundary_drag(ui, &resp, &p, &ax, s, out);
    // hovering a candidate row auditions it
    if let Some(pos) = resp.hover_pos()
        && !resp.clicked()
        && let Some(i) = s.slot_at(ax.t(pos.x))
        && let Some(r) = candidate_row_at(pos.y - rect.top(), rows)
        && let Some((_, c)) = alternatives(&s.project.slots[i], rows).get(r)
    {
        out.push(Command::Audition(Some((i, c.phrase.clone()))));
    }
    if resp.clicked()
        && let Some(pos) = resp.interact_pointer_pos()
        && let Some(i) = s.slot_at(ax.t(pos.x))
    {
        match candidate_row_at(pos.y - rect.top(), rows)
            .and_then(|r| alternatives(&s.project.slots[i], rows).get(r).map(|a| a.0))
        {
            Some(k) => out.push(Command::PickIn { slot: i, k }),
            None => out.push(Command::Select(i)),
        }
    }
    // Drop a library phrase on a slot: swap.
    if let Some(payload) = resp.dnd_release_payload::<LibraryDrag>()
        && let Some(pos) = ui.input(|i| i.pointer.interact_pos())
        && let Some(i) = s.slot_at(ax.t(pos.x))
    {
        out.push(Command::Select(i));
        out.push(Command::Swap(payload.0.clone()));
    }
}

/// A slot's candidate rows under its block: each alternative's phrase and probability, the
/// bar's length showing the probability.
fn candidate_rows(p: &egui::Painter, ax: &TimeAxis, slot: &Slot, rows: usize) {
    let (x0, x1) = (ax.x(slot.start) + 1.0, ax.x(slot.end) - 1.0);
    for (r, (_, c)) in alternatives(slot, rows).into_iter().enumerate() {
        let top = ax.rect.bottom() + r as f32 * CANDIDATE_ROW_H + 1.0;
        let row = Rect::from_x_y_ranges(x0..=x1, top..=top + CANDIDATE_ROW_H - 2.0);
        let prob = c.score.exp().clamp(0.0, 1.0) as f32;
        p.rect_filled(row, CornerRadius::same(3), palette::CANDIDATE_BG);
        let bar = Rect::from_min_size(row.min, Vec2::new(row.width() * prob, row.height()));
        p.rect_filled(bar, CornerRadius::same(3), palette::CANDIDATE_BAR);
        p.with_clip_rect(row.shrink(2.0)).text(
            row.left_center() + Vec2::new(5.0, 0.0),
            Align2::LEFT_CENTER,
            format!("{:.0}%  {}", 100.0 * prob, c.phrase),
            FontId::proportional(10.5),
            Color32::from_gray(215),
        );
    }
}

/// One slot's block in the timeline: status colour (dimmed when the filter hides it), review
/// mark, selection outline, chosen phrase, status, bars and the best candidate's probability.
fn slot_block(
    p: &egui::Painter,
    ax: &TimeAxis,
    ed: &Editor,
    i: usize,
    slot: &crate::choreo::project::Slot,
) {
    let rect = ax.rect;
    let r = Rect::from_x_y_ranges(
        ax.x(slot.start) + 1.0..=ax.x(slot.end) - 1.0,
        rect.top() + 6.0..=rect.bottom() - 6.0,
    );
    let shown = ed.view.filter == super::editor::Filter::All || ed.view.filter.matches(slot);
    let fill = status_color(slot.decision.status);
    p.rect_filled(
        r,
        CornerRadius::same(4),
        if shown {
            fill
        } else {
            fill.gamma_multiply(0.35)
        },
    );
    if let Some(rv) = &slot.decision.review {
        p.rect_filled(
            Rect::from_min_size(r.right_top() + Vec2::new(-12.0, 4.0), Vec2::splat(8.0)),
            CornerRadius::same(4),
            verdict_color(rv.verdict),
        );
    }
    if ed.view.selected == Some(i) {
        p.rect_stroke(
            r,
            CornerRadius::same(4),
            Stroke::new(2.0, palette::SELECT),
            StrokeKind::Outside,
        );
    }
    let name = slot.decision.chosen.as_deref().unwrap_or("—");
    let lock = if slot.decision.locked { "[L] " } else { "" };
    let painter = p.with_clip_rect(r.shrink(3.0));
    painter.text(
        r.left_top() + Vec2::new(6.0, 5.0),
        Align2::LEFT_TOP,
        format!("{lock}{name}"),
        FontId::proportional(12.0),
        Color32::WHITE,
    );
    // The chosen phrase's probability (with the variety decode it need not be the first
    // candidate's).
    let top = slot
        .candidates
        .iter()
        .find(|c| Some(c.phrase.as_str()) == slot.decision.chosen.as_deref())
        .map_or(0.0, |c| c.score.exp());
    painter.text(
        r.left_bottom() + Vec2::new(6.0, -5.0),
        Align2::LEFT_BOTTOM,
        format!(
            "{}{} · {} bars · {:.0}%",
            slot.decision.status.name(),
            if slot.decision.no_match {
                " · no good phrase"
            } else {
                ""
            },
            slot.bars,
            100.0 * top
        ),
        FontId::proportional(10.0),
        Color32::from_gray(200),
    );
}

/// Boundary dragging: a press within 5 px of a boundary between two slots grabs it; the
/// release moves it (`Command::MoveBoundary`, snapped to a bar line by the editor).
fn boundary_drag(
    ui: &egui::Ui,
    resp: &egui::Response,
    p: &egui::Painter,
    ax: &TimeAxis,
    s: &Session,
    out: &mut Vec<Command>,
) {
    let rect = ax.rect;
    let grab_id = ui.scope_id().with("boundary");
    let near_boundary = |x: f32| {
        s.project
            .slots
            .iter()
            .take(s.project.slots.len().saturating_sub(1))
            .position(|sl| (ax.x(sl.end) - x).abs() < 5.0)
    };
    if let Some(h) = resp.hover_pos()
        && near_boundary(h.x).is_some()
    {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeHorizontal);
    }
    if resp.drag_started()
        && let Some(pos) = resp.interact_pointer_pos()
        && let Some(b) = near_boundary(pos.x)
    {
        ui.ctx().data_mut(|d| d.insert_temp(grab_id, b));
    }
    let grabbed: Option<usize> = ui.ctx().data(|d| d.get_temp(grab_id));
    if let Some(b) = grabbed {
        if let Some(pos) = ui.input(|i| i.pointer.interact_pos()) {
            p.line_segment(
                [
                    Pos2::new(pos.x, rect.top()),
                    Pos2::new(pos.x, rect.bottom()),
                ],
                Stroke::new(2.0, palette::PHRASE),
            );
            if resp.drag_stopped() {
                out.push(Command::MoveBoundary {
                    slot: b,
                    to: ax.t(pos.x),
                });
            }
        }
        if resp.drag_stopped() || !ui.input(|i| i.pointer.any_down()) {
            ui.ctx().data_mut(|d| d.remove::<usize>(grab_id));
        }
    }
}

/// Drag payload: a library phrase id.
#[derive(Debug, Clone)]
pub struct LibraryDrag(pub String);

/// Inspector: the selected slot, its ranked candidates with network and transition parts,
/// decision buttons and the reviewer note.
pub fn inspector(
    ui: &mut egui::Ui,
    ed: &Editor,
    note: &mut String,
    comment: &mut String,
    out: &mut Vec<Command>,
) {
    ui.heading("Slot");
    let Some(s) = &ed.session else {
        ui.weak("no project");
        return;
    };
    let Some(t) = ed.view.selected.filter(|&t| t < s.project.slots.len()) else {
        ui.weak("select a slot (Left/Right keys)");
        return;
    };
    let slot = &s.project.slots[t];
    slot_header(ui, t, slot);
    slot_metrics(ui, s, t);
    candidates_grid(ui, ed, (t, slot), out);
    decision_buttons(ui, slot, out);
    note_editor(ui, slot, note, out);
    review_section(ui, slot, comment, out);
}

type Slot = crate::choreo::project::Slot;

/// Where the slot is and what was decided.
fn slot_header(ui: &mut egui::Ui, t: usize, slot: &Slot) {
    ui.label(format!(
        "#{} · {}–{} · {} bars · section {}",
        t + 1,
        clock(slot.start),
        clock(slot.end),
        slot.bars,
        slot.section
    ));
    ui.horizontal(|ui| {
        ui.label("status");
        ui.colored_label(
            status_color(slot.decision.status).gamma_multiply(1.6),
            slot.decision.status.name(),
        );
        if slot.decision.locked {
            ui.label("locked");
        }
        if let Some(by) = &slot.decision.by {
            ui.weak(format!("by {by}"));
        }
    });
}

/// The selected slot's dance metrics: BAS of its beats, music energy against motion energy,
/// jerk at the switch into it.
fn slot_metrics(ui: &mut egui::Ui, s: &crate::app::session::Session, t: usize) {
    let Some(m) = s.metrics.as_ref().and_then(|m| m.measure.per_slot.get(t)) else {
        return;
    };
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |x| format!("{x:.digits$}"));
    ui.label(format!(
        "BAS {} · music {:.1} onsets/s · motion {:.2} m²/s² · entry jerk {} m/s³",
        opt(m.bas, 2),
        m.music_energy,
        m.motion_energy,
        opt(m.entry_jerk, 0)
    ))
    .on_hover_text(
        "beat alignment of this phrase's music beats (Bailando), onsets per second against the \
         dance's kinetic energy here, mean jerk around the switch into this slot",
    );
}

/// The whole dance's metrics beside the random-phrase baseline on the same slots.
pub fn dance_metrics_panel(ui: &mut egui::Ui, ed: &Editor) {
    let Some(s) = &ed.session else {
        return;
    };
    egui::CollapsingHeader::new("Dance metrics")
        .default_open(true)
        .show(ui, |ui| {
            let Some(m) = &s.metrics else {
                ui.weak(if s.dance.is_some() {
                    "measuring…"
                } else {
                    "no dance"
                });
                return;
            };
            let d = &m.measure.metrics;
            let r = m.random.as_ref();
            let rows: [(&str, f64, Option<f64>, usize); 9] = [
                ("slots", d.slots as f64, r.map(|r| r.slots as f64), 0),
                (
                    "distinct moves",
                    d.distinct_move_share,
                    r.map(|r| r.distinct_move_share),
                    2,
                ),
                (
                    "most used move",
                    d.most_used_move_share,
                    r.map(|r| r.most_used_move_share),
                    2,
                ),
                (
                    "longest repeat run",
                    d.longest_repeat_run as f64,
                    r.map(|r| r.longest_repeat_run as f64),
                    0,
                ),
                ("coverage", d.coverage, r.map(|r| r.coverage), 2),
                ("BAS", d.bas, r.map(|r| r.bas), 3),
                (
                    "energy correlation",
                    d.energy_correlation,
                    r.map(|r| r.energy_correlation),
                    2,
                ),
                ("foot skate (m/s)", d.foot_skate, r.map(|r| r.foot_skate), 3),
                (
                    "transition jerk (m/s³)",
                    d.transition_jerk,
                    r.map(|r| r.transition_jerk),
                    0,
                ),
            ];
            egui::Grid::new("dance-metrics")
                .num_columns(3)
                .striped(true)
                .spacing([8.0, 2.0])
                .show(ui, |ui| {
                    ui.weak("metric");
                    ui.weak("dance");
                    ui.weak("random");
                    ui.end_row();
                    for (name, v, rv, digits) in rows {
                        ui.label(name);
                        ui.label(format!("{v:.digits$}"));
                        ui.weak(rv.map_or("–".to_string(), |x| format!("{x:.digits$}")));
                        ui.end_row();
                    }
                });
        });
}

/// The ranked candidates: probability and the network / transition parts; click chooses.
/// Height of a pose thumbnail in the inspector and the library browser (points).
const THUMB_HEIGHT: f32 = 26.0;

/// Draws phrase `id`'s pose strip (from the session's cache) in a `THUMB_HEIGHT`-tall box,
/// in the preview's colours (the dancer's left cool, right warm); named for screen readers and
/// tests as "poses of ID".
pub fn pose_thumbnail(ui: &mut egui::Ui, s: &Session, id: &str) -> egui::Response {
    use crate::app::session::THUMB_CELL_ASPECT;
    use crate::motion::thumbnail::STRIP_POSES;
    let cell = Vec2::new(THUMB_HEIGHT * THUMB_CELL_ASPECT, THUMB_HEIGHT);
    let size = Vec2::new(cell.x * STRIP_POSES as f32, cell.y);
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, format!("poses of {id}"))
    });
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, CornerRadius::same(2), palette::LANE_BG);
    let Some(strip) = s.thumbs.get(&s.library, id) else {
        return response;
    };
    for (k, figure) in strip.figures.iter().enumerate() {
        let origin = rect.min + Vec2::new(k as f32 * cell.x, 0.0);
        let at = |p: [f32; 2]| origin + Vec2::new(p[0] * cell.x, p[1] * cell.y);
        for seg in figure {
            let [r, g, b] = crate::render::scene::side_srgb(seg.side);
            let color = Color32::from_rgb(r, g, b);
            painter.line_segment([at(seg.a), at(seg.b)], Stroke::new(1.5, color));
        }
    }
    response
}

fn candidates_grid(
    ui: &mut egui::Ui,
    ed: &Editor,
    (t, slot): (usize, &Slot),
    out: &mut Vec<Command>,
) {
    ui.add_space(4.0);
    ui.label(egui::RichText::new("Candidates").strong());
    let Some(s) = &ed.session else {
        return;
    };
    egui::Grid::new("candidates")
        .num_columns(5)
        .striped(true)
        .spacing([6.0, 3.0])
        .show(ui, |ui| {
            ui.weak("#");
            ui.weak("poses");
            ui.weak("phrase");
            ui.weak("p");
            ui.weak("net / trans");
            ui.end_row();
            for (k, c) in slot.candidates.iter().enumerate() {
                let chosen = slot.decision.chosen.as_ref() == Some(&c.phrase);
                let cursor = ed.view.cursor == k;
                ui.label(format!("{}", k + 1));
                pose_thumbnail(ui, s, &c.phrase);
                let text = if chosen {
                    egui::RichText::new(format!("> {}", c.phrase)).strong()
                } else {
                    egui::RichText::new(c.phrase.as_str())
                };
                // Long ids (a 60-move library's `street_cabbage_patch_travel/001~mirror`)
                // are cut with "…" so the table stays inside the panel; the hover shows all.
                let pick = ui
                    .scope(|ui| {
                        ui.set_max_width(CANDIDATE_NAME_WIDTH);
                        ui.add(egui::Button::selectable(cursor, text).truncate())
                    })
                    .inner
                    .on_hover_text(format!(
                        "{}\nthe preview auditions it while hovered; click: choose it",
                        c.phrase
                    ));
                if pick.clicked() {
                    out.push(Command::Pick(k));
                } else if pick.hovered() && !chosen {
                    out.push(Command::Audition(Some((t, c.phrase.clone()))));
                }
                let prob = c.score.exp() as f32;
                ui.add(
                    egui::ProgressBar::new(prob)
                        .desired_width(48.0)
                        .text(format!("{:.0}%", 100.0 * prob)),
                );
                ui.monospace(format!(
                    "{:>5} {:>5}",
                    c.network.map_or("—".into(), |v| format!("{v:.1}")),
                    c.transition.map_or("—".into(), |v| format!("{v:+.1}"))
                ));
                ui.end_row();
            }
        });
}

/// Accept, Reject, Lock, Undo, Redo.
fn decision_buttons(ui: &mut egui::Ui, slot: &Slot, out: &mut Vec<Command>) {
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button("Accept").on_hover_text("Enter").clicked() {
            out.push(Command::AcceptCursor);
        }
        if ui.button("Reject").on_hover_text("X").clicked() {
            out.push(Command::Reject);
        }
        let lock = if slot.decision.locked {
            "Unlock"
        } else {
            "Lock"
        };
        if ui.button(lock).on_hover_text("L").clicked() {
            out.push(Command::ToggleLock);
        }
        if ui.button("Undo").on_hover_text("Undo (Ctrl+Z)").clicked() {
            out.push(Command::Undo);
        }
        if ui
            .button("Redo")
            .on_hover_text("Redo (Ctrl+Shift+Z)")
            .clicked()
        {
            out.push(Command::Redo);
        }
    });
}

/// The reviewer note, committed when the field loses focus.
fn note_editor(ui: &mut egui::Ui, slot: &Slot, note: &mut String, out: &mut Vec<Command>) {
    ui.add_space(4.0);
    let label = ui.label("Reviewer note");
    let r = ui
        .add(
            egui::TextEdit::multiline(note)
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if r.lost_focus() && *note != slot.decision.note {
        out.push(Command::SetNote(note.clone()));
    }
    if !r.has_focus() && *note != slot.decision.note && !r.changed() {
        note.clone_from(&slot.decision.note);
    }
}

/// The QA review: verdict, comment, Approve / Reject in review / No good phrase.
fn review_section(ui: &mut egui::Ui, slot: &Slot, comment: &mut String, out: &mut Vec<Command>) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new("Review").strong());
        match &slot.decision.review {
            Some(rv) => {
                ui.colored_label(
                    verdict_color(rv.verdict),
                    format!("{} by {}", rv.verdict.name(), rv.by),
                );
            }
            None => {
                ui.weak("not reviewed");
            }
        }
    });
    if let Some(rv) = slot
        .decision
        .review
        .as_ref()
        .filter(|r| !r.comment.is_empty())
    {
        ui.weak(format!("“{}”", rv.comment));
    }
    let label = ui.label("Review comment");
    ui.add(
        egui::TextEdit::singleline(comment)
            .hint_text("why (for a rejection)")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    ui.horizontal_wrapped(|ui| {
        if ui.button("Approve").on_hover_text("A").clicked() {
            out.push(Command::Review(
                crate::choreo::review::Verdict::Approved,
                comment.clone(),
            ));
        }
        if ui
            .button("Reject in review")
            .on_hover_text("Shift+X")
            .clicked()
        {
            out.push(Command::Review(
                crate::choreo::review::Verdict::Rejected,
                comment.clone(),
            ));
        }
        let nm = slot.decision.no_match;
        if ui
            .selectable_label(nm, "No good phrase")
            .on_hover_text("G: the library has nothing right for this music")
            .clicked()
        {
            out.push(Command::ToggleNoMatch);
        }
    });
}

/// State of the library browser.
#[derive(Debug, Clone, Default)]
pub struct BrowserState {
    /// Search text (id, clip, tags).
    pub query: String,
    /// Style filter.
    pub style: Option<String>,
    /// Clicking relabels instead of swapping.
    pub relabel: bool,
}

/// Library browser: search, style filter, list; click swaps (or relabels), drag onto the
/// timeline swaps.
pub fn library_browser(
    ui: &mut egui::Ui,
    ed: &Editor,
    st: &mut BrowserState,
    out: &mut Vec<Command>,
) {
    ui.heading("Library");
    let Some(s) = &ed.session else {
        return;
    };
    let index = &s.library.index;
    ui.weak(format!("{} · {} phrases", index.name, index.phrases.len()));
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut st.query)
                .hint_text("id, clip, tag")
                .desired_width(130.0),
        )
        .labelled_by(label.id);
        let mut styles: Vec<&str> = index.phrases.iter().map(|p| p.style.as_str()).collect();
        styles.sort_unstable();
        styles.dedup();
        egui::ComboBox::from_label("style")
            .selected_text(st.style.as_deref().unwrap_or("all styles"))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut st.style, None, "all styles");
                for sty in styles {
                    ui.selectable_value(&mut st.style, Some(sty.to_string()), sty);
                }
            });
    });
    ui.checkbox(&mut st.relabel, "click relabels (annotation)");
    let q = st.query.to_lowercase();
    let matches: Vec<_> = index
        .phrases
        .iter()
        .filter(|p| st.style.as_ref().is_none_or(|s| &p.style == s))
        .filter(|p| {
            q.is_empty()
                || p.id.to_lowercase().contains(&q)
                || p.clip.to_lowercase().contains(&q)
                || p.tags.iter().any(|t| t.to_lowercase().contains(&q))
        })
        .collect();
    egui::ScrollArea::vertical()
        .id_salt("library")
        .auto_shrink([false, false])
        .show_rows(ui, THUMB_HEIGHT, matches.len(), |ui, range| {
            for p in &matches[range] {
                let text = format!(
                    "{}  ·  {} · {:.0} BPM · {} beats",
                    p.id, p.style, p.tempo_bpm, p.beats
                );
                let r = ui
                    .horizontal(|ui| {
                        pose_thumbnail(ui, s, &p.id);
                        ui.dnd_drag_source(
                            ui.scope_id().with(("lib", &p.id)),
                            LibraryDrag(p.id.clone()),
                            |ui| ui.add(egui::Label::new(text).truncate().sense(Sense::click())),
                        )
                        .inner
                    })
                    .inner;
                if r.clicked() {
                    out.push(if st.relabel {
                        Command::Relabel(p.id.clone())
                    } else {
                        Command::Swap(p.id.clone())
                    });
                } else if r.hovered()
                    && let Some(t) = ed.view.selected
                {
                    out.push(Command::Audition(Some((t, p.id.clone()))));
                }
            }
        });
}

/// The shortcut overlay.
pub fn help_window(ctx: &egui::Context, ed: &Editor, out: &mut Vec<Command>) {
    if !ed.view.help {
        return;
    }
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .min_width(600.0)
        .anchor(Align2::CENTER_CENTER, Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("keys").striped(true).show(ui, |ui| {
                for (k, what) in SHORTCUTS {
                    ui.monospace(*k);
                    ui.label(*what);
                    ui.end_row();
                }
            });
        });
    if !open {
        out.push(Command::ToggleHelp);
    }
}

/// Status bar text colour.
pub fn level_color(l: Level) -> Color32 {
    match l {
        Level::Info => Color32::from_gray(190),
        Level::Error => Color32::from_rgb(255, 120, 110),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choreo::project::{Candidate, SlotDecision};

    fn slot(chosen: &str) -> Slot {
        let cand = |p: &str, prob: f64| Candidate {
            phrase: p.into(),
            score: prob.ln(),
            network: None,
            transition: None,
        };
        Slot {
            start: 0.0,
            end: 4.0,
            bars: 2,
            beats: 8,
            section: "A".into(),
            candidates: vec![
                cand("a", 0.5),
                cand("b", 0.3),
                cand("c", 0.15),
                cand("d", 0.05),
            ],
            decision: SlotDecision {
                chosen: Some(chosen.into()),
                ..SlotDecision::default()
            },
        }
    }

    #[test]
    fn candidate_rows_skip_the_chosen_phrase_and_keep_ranked_indices() {
        let s = slot("b");
        let alt: Vec<(usize, &str)> = alternatives(&s, 2)
            .into_iter()
            .map(|(k, c)| (k, c.phrase.as_str()))
            .collect();
        assert_eq!(alt, vec![(0, "a"), (2, "c")]);
        assert_eq!(alternatives(&s, 0).len(), 0);
        assert_eq!(alternatives(&s, 9).len(), 3);
    }

    #[test]
    fn a_click_under_the_blocks_lands_in_a_candidate_row() {
        assert_eq!(candidate_row_at(10.0, 3), None, "in the block");
        assert_eq!(candidate_row_at(SLOT_LANE_H + 1.0, 3), Some(0));
        assert_eq!(
            candidate_row_at(SLOT_LANE_H + 2.5 * CANDIDATE_ROW_H, 3),
            Some(2)
        );
        assert_eq!(
            candidate_row_at(SLOT_LANE_H + 3.5 * CANDIDATE_ROW_H, 3),
            None
        );
        assert_eq!(candidate_row_at(SLOT_LANE_H + 1.0, 0), None);
    }
}
