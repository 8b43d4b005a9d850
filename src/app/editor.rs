//! Editor state and commands, free of egui: panels read [`Editor`] and emit [`Command`]s; the
//! shell applies them once per frame through [`Editor::apply`] (the rerun-viewer split of UI
//! state from document data). Every command that changes the document goes through the
//! session's undo history; selection, zoom and the candidate cursor are UI state only.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::choreo::project::Edit;

use super::playback::Player;
use super::session::Session;

/// Something a panel or a key asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Select slot `i`.
    Select(usize),
    /// Select the next slot (clamped).
    SelectNext,
    /// Select the previous slot (clamped).
    SelectPrev,
    /// Select the first slot not yet reviewed (status `suggested` or `rejected`).
    SelectNextUnreviewed,
    /// Move the candidate cursor down the selected slot's list.
    CursorNext,
    /// Move the candidate cursor up.
    CursorPrev,
    /// Accept the candidate under the cursor: `Accept` when it is the chosen phrase, `Swap`
    /// to it otherwise.
    AcceptCursor,
    /// Choose the selected slot's candidate `n` (0-based) at once (number keys).
    Pick(usize),
    /// Swap the selected slot to any library phrase.
    Swap(String),
    /// Relabel the selected slot (annotation: the right phrase for this music).
    Relabel(String),
    /// Reject the selected slot's phrase.
    Reject,
    /// Lock or unlock the selected slot.
    ToggleLock,
    /// Set the selected slot's reviewer note.
    SetNote(String),
    /// QA verdict on the selected slot, with a comment.
    Review(crate::choreo::review::Verdict, String),
    /// Toggle "no good phrase in the library" on the selected slot.
    ToggleNoMatch,
    /// Show only some slots (others are dimmed; N jumps among the shown ones).
    SetFilter(Filter),
    /// Show this many candidate rows under each slot of the timeline (0 hides them).
    SetRows(usize),
    /// Audition a phrase in a slot (`None`: stop): the preview plays the dance with it there,
    /// the document unchanged.
    Audition(Option<(usize, String)>),
    /// Choose candidate `k` (an index into its ranked list) of slot `slot`: select it, then
    /// [`Command::Pick`] — what clicking a timeline candidate row does.
    PickIn { slot: usize, k: usize },
    /// Split the selected slot at the bar line nearest the playhead (or its middle when the
    /// playhead is elsewhere).
    Split,
    /// Merge the selected slot with the next one.
    MergeNext,
    /// Move the boundary after slot `slot` to the bar line nearest `to` seconds.
    MoveBoundary { slot: usize, to: f64 },
    /// Declare the song's dance style (`None`: the music decides) and rank again.
    SetStyle(Option<String>),
    /// Where the variety penalties come from, and rank again.
    SetVariety(crate::choreo::network::Variety),
    /// Undo the last decision.
    Undo,
    /// Redo.
    Redo,
    /// Play or pause.
    PlayPause,
    /// Seek to a time (s).
    Seek(f64),
    /// Set playback speed (0.5–1.0).
    SetSpeed(f32),
    /// Loop the selected slot (toggle).
    ToggleLoop,
    /// Zoom the lanes around a time by a factor (>1 zooms in).
    Zoom { at: f64, factor: f64 },
    /// Scroll the lanes by seconds.
    Scroll(f64),
    /// Show the whole song.
    ZoomAll,
    /// Show/hide the shortcut overlay.
    ToggleHelp,
    /// Save to the current path.
    Save,
    /// Save to a new path.
    SaveAs(PathBuf),
}

/// Which slots the timeline highlights and N visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every slot (N visits the ones without a label).
    #[default]
    All,
    /// Only slots still "suggested".
    Suggested,
    /// Only slots an annotator changed (swapped or relabeled).
    Changed,
    /// Only slots whose best candidate has probability below 30 %.
    LowConfidence,
    /// Only slots without a QA review.
    Unreviewed,
}

impl Filter {
    /// Every filter, for menus.
    pub const ALL: [Filter; 5] = [
        Filter::All,
        Filter::Suggested,
        Filter::Changed,
        Filter::LowConfidence,
        Filter::Unreviewed,
    ];

    /// Menu label.
    pub fn label(self) -> &'static str {
        match self {
            Filter::All => "all slots",
            Filter::Suggested => "only suggested",
            Filter::Changed => "only changed",
            Filter::LowConfidence => "low confidence",
            Filter::Unreviewed => "not reviewed",
        }
    }

    /// Whether `slot` passes.
    pub fn matches(self, slot: &crate::choreo::project::Slot) -> bool {
        use crate::choreo::SlotStatus as S;
        let d = &slot.decision;
        match self {
            Filter::All => !d.status.is_decided() && !d.no_match,
            Filter::Suggested => d.status == S::Suggested,
            Filter::Changed => matches!(d.status, S::Swapped | S::Relabeled),
            Filter::LowConfidence => slot.candidates.first().map_or(0.0, |c| c.score.exp()) < 0.3,
            Filter::Unreviewed => d.review.is_none(),
        }
    }
}

/// Severity of a status message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Informational.
    Info,
    /// Something failed.
    Error,
}

/// UI-only state (persisted apart from the project, never in it).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    /// Selected slot.
    pub selected: Option<usize>,
    /// Candidate cursor within the selected slot's list.
    pub cursor: usize,
    /// Visible time range of the lanes (s).
    pub view: (f64, f64),
    /// Shortcut overlay shown.
    pub help: bool,
    /// Keep the playhead in view while playing.
    pub follow: bool,
    /// Slot filter.
    pub filter: Filter,
    /// Candidate rows under each slot of the timeline (the next-best alternatives to the
    /// chosen phrase; 0 hides them).
    pub rows: usize,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            selected: None,
            cursor: 0,
            view: (0.0, 30.0),
            help: false,
            follow: true,
            filter: Filter::All,
            rows: DEFAULT_CANDIDATE_ROWS,
        }
    }
}

/// Candidate rows the timeline shows under each slot at start.
pub const DEFAULT_CANDIDATE_ROWS: usize = 3;
/// Most candidate rows the timeline shows.
pub const MAX_CANDIDATE_ROWS: usize = 5;

/// The editor: the open session (if any), playback and UI state.
pub struct Editor {
    /// Open document.
    pub session: Option<Session>,
    /// Playback of the open song.
    pub player: Player,
    /// UI state.
    pub view: ViewState,
    /// Latest status message.
    pub status: Option<(Level, String)>,
    /// Whether audio output may be opened (off in tests).
    pub audio_enabled: bool,
}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("session", &self.session)
            .field("view", &self.view)
            .finish()
    }
}

/// Shortcut list for the help overlay: (keys, action).
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("← / →", "previous / next slot"),
    ("↑ / ↓", "previous / next candidate"),
    ("Enter", "accept the candidate under the cursor"),
    ("1 – 9", "choose candidate n"),
    ("N", "next slot to do (unlabeled, or the filter's)"),
    ("G", "no good phrase in the library for this music"),
    ("A / Shift+X", "review: approve / reject (with the comment)"),
    ("X", "reject the slot's phrase"),
    ("L", "lock / unlock the slot"),
    (
        "S / M",
        "split the slot at the playhead / merge it with the next",
    ),
    ("drag a boundary", "move it to another bar line"),
    ("O", "loop the selected slot"),
    ("[ / ]", "slower / faster (50–100 %)"),
    ("+ / − / 0", "zoom in / out / whole song"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
    ("Ctrl+S / Ctrl+Shift+S", "save / save as"),
    ("Ctrl+O", "open a song or project"),
    ("F1 or ?", "this help"),
];

impl Editor {
    /// An editor with no document.
    pub fn empty(audio_enabled: bool) -> Editor {
        Editor {
            session: None,
            player: Player::silent(0.0),
            view: ViewState::default(),
            status: None,
            audio_enabled,
        }
    }

    /// Replaces the open document (the caller has dealt with unsaved changes).
    pub fn set_session(&mut self, session: Session) {
        self.player = match (&session.audio, self.audio_enabled) {
            (Some(a), true) => Player::open(a.samples.clone(), a.sample_rate),
            (Some(a), false) => Player::silent(a.duration()),
            (None, _) => Player::silent(session.project.analysis.duration),
        };
        let dur = session.project.analysis.duration.max(1.0);
        self.view = ViewState {
            selected: (!session.project.slots.is_empty()).then_some(0),
            view: (0.0, dur.min(40.0)),
            ..ViewState::default()
        };
        let first = (!session.project.slots.is_empty()).then_some(0);
        self.session = Some(session);
        // Selecting puts the candidate cursor on the chosen phrase, so Enter accepts the
        // suggestion (the chosen phrase is not always the first candidate: the list is
        // ordered by marginal probability, the choice is the best whole path).
        if let Some(t) = first
            && let Err(e) = self.select(t)
        {
            self.say(Level::Error, e.to_string());
        }
    }

    /// Reports a message in the status bar.
    pub fn say(&mut self, level: Level, msg: impl Into<String>) {
        let msg = msg.into();
        match level {
            Level::Info => tracing::info!("{msg}"),
            Level::Error => tracing::warn!("{msg}"),
        }
        self.status = Some((level, msg));
    }

    /// Applies a command; failures become an error message (never a panic, never a lost
    /// document).
    pub fn run(&mut self, cmd: Command) {
        if let Err(e) = self.apply(cmd) {
            self.say(Level::Error, format!("{e:#}"));
        }
    }

    fn selected(&self) -> Result<(usize, &Session)> {
        let Some(s) = &self.session else {
            bail!("no project open");
        };
        let Some(t) = self.view.selected else {
            bail!("no slot selected");
        };
        if t >= s.project.slots.len() {
            bail!("slot {t} does not exist");
        }
        Ok((t, s))
    }

    fn session_mut(&mut self) -> Result<&mut Session> {
        self.session
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no project open"))
    }

    fn edit(&mut self, edit: Edit) -> Result<()> {
        self.session_mut()?.edit(&edit)?;
        self.sync_loop();
        Ok(())
    }

    /// Song duration (s), 0 without a document.
    pub fn duration(&self) -> f64 {
        self.session
            .as_ref()
            .map_or(0.0, |s| s.project.analysis.duration)
    }

    fn clamp_view(&mut self) {
        let dur = self.duration().max(1.0);
        let (mut a, mut b) = self.view.view;
        let w = (b - a).clamp(1.0, dur.max(1.0) + 2.0);
        if a < -1.0 {
            a = -1.0;
        }
        if a + w > dur + 1.0 {
            a = (dur + 1.0 - w).max(-1.0);
        }
        b = a + w;
        self.view.view = (a, b);
    }

    fn reveal(&mut self, t0: f64, t1: f64) {
        let (a, b) = self.view.view;
        let w = b - a;
        if t0 < a || t1 > b {
            let mid = 0.5 * (t0 + t1);
            self.view.view = (mid - 0.5 * w, mid + 0.5 * w);
            self.clamp_view();
        }
    }

    fn select(&mut self, t: usize) -> Result<()> {
        let n = self.session.as_ref().map_or(0, |s| s.project.slots.len());
        if t >= n {
            bail!("slot {t} does not exist ({n} slots)");
        }
        self.view.selected = Some(t);
        self.view.cursor = 0;
        if let Some(s) = &self.session {
            let slot = &s.project.slots[t];
            let (a, b) = (slot.start, slot.end);
            // The cursor starts on the chosen phrase.
            self.view.cursor = slot
                .candidates
                .iter()
                .position(|c| Some(&c.phrase) == slot.decision.chosen.as_ref())
                .unwrap_or(0);
            self.reveal(a, b);
        }
        self.sync_loop();
        Ok(())
    }

    /// Keeps the loop region on the selected slot while looping.
    fn sync_loop(&self) {
        let tr = self.player.transport();
        if tr.loop_region().is_some()
            && let Ok((t, s)) = self.selected()
        {
            let slot = &s.project.slots[t];
            tr.set_loop(Some((slot.start, slot.end)));
        }
    }

    /// Applies one command (dispatched by kind to the methods below).
    pub fn apply(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Select(_)
            | Command::SelectNext
            | Command::SelectPrev
            | Command::SelectNextUnreviewed
            | Command::CursorNext
            | Command::CursorPrev => self.navigate(cmd),
            Command::AcceptCursor
            | Command::Pick(_)
            | Command::Swap(_)
            | Command::Relabel(_)
            | Command::Reject
            | Command::ToggleLock
            | Command::SetNote(_)
            | Command::Review(..)
            | Command::ToggleNoMatch => self.decide(cmd),
            Command::Split | Command::MergeNext | Command::MoveBoundary { .. } => self.recut(cmd),
            Command::Undo | Command::Redo => self.history(cmd),
            Command::PlayPause | Command::Seek(_) | Command::SetSpeed(_) | Command::ToggleLoop => {
                self.transport(cmd)
            }
            Command::Audition(which) => {
                let Some(s) = self.session.as_mut() else {
                    return Ok(());
                };
                match which {
                    Some((slot, phrase)) => s.audition(slot, &phrase)?,
                    None => s.clear_audition(),
                }
                Ok(())
            }
            Command::PickIn { slot, k } => {
                self.select(slot)?;
                self.apply(Command::Pick(k))
            }
            Command::SetStyle(style) => match self.session.as_mut() {
                Some(s) => s.set_style(style),
                None => Ok(()),
            },
            Command::SetVariety(v) => match self.session.as_mut() {
                Some(s) => s.set_variety(v),
                None => Ok(()),
            },
            Command::SetFilter(_)
            | Command::SetRows(_)
            | Command::Zoom { .. }
            | Command::Scroll(_)
            | Command::ZoomAll
            | Command::ToggleHelp => self.view_command(cmd),
            Command::Save | Command::SaveAs(_) => self.save(cmd),
        }
    }

    /// Selection and the candidate cursor.
    fn navigate(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Select(t) => self.select(t)?,
            Command::SelectNext | Command::SelectPrev => {
                let n = self.session.as_ref().map_or(0, |s| s.project.slots.len());
                if n == 0 {
                    bail!("no slots");
                }
                let t = match (self.view.selected, &cmd) {
                    (None, _) => 0,
                    (Some(t), Command::SelectNext) => (t + 1).min(n - 1),
                    (Some(t), _) => t.saturating_sub(1),
                };
                self.select(t)?;
            }
            Command::SelectNextUnreviewed => {
                let Some(s) = &self.session else {
                    bail!("no project open");
                };
                let n = s.project.slots.len();
                let from = self.view.selected.map_or(0, |t| t + 1);
                let next = (0..n)
                    .map(|i| (from + i) % n)
                    .find(|&i| !s.project.slots[i].decision.status.is_decided());
                match next {
                    Some(t) => self.select(t)?,
                    None => self.say(Level::Info, "every slot is reviewed"),
                }
            }
            Command::CursorNext | Command::CursorPrev => {
                let (t, s) = self.selected()?;
                let n = s.project.slots[t].candidates.len();
                if n > 0 {
                    self.view.cursor = if cmd == Command::CursorNext {
                        (self.view.cursor + 1).min(n - 1)
                    } else {
                        self.view.cursor.saturating_sub(1)
                    };
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Decisions on the selected slot, each an undoable edit.
    fn decide(&mut self, cmd: Command) -> Result<()> {
        let swap = matches!(cmd, Command::Swap(_));
        match cmd {
            Command::AcceptCursor => {
                let c = self.view.cursor;
                self.apply(Command::Pick(c))?;
            }
            Command::Pick(c) => {
                let (t, s) = self.selected()?;
                let slot = &s.project.slots[t];
                let Some(cand) = slot.candidates.get(c) else {
                    bail!("slot {t} has {} candidates", slot.candidates.len());
                };
                let phrase = cand.phrase.clone();
                let edit = if slot.decision.chosen.as_ref() == Some(&phrase) {
                    Edit::Accept { slot: t }
                } else {
                    Edit::Swap { slot: t, phrase }
                };
                self.edit(edit)?;
                self.select(t)?;
            }
            Command::Swap(phrase) | Command::Relabel(phrase) => {
                let (t, s) = self.selected()?;
                if s.library.phrase(&phrase).is_none() {
                    bail!("`{phrase}` is not in library `{}`", s.library.index.name);
                }
                let edit = if swap {
                    Edit::Swap { slot: t, phrase }
                } else {
                    Edit::Relabel { slot: t, phrase }
                };
                self.edit(edit)?;
                self.select(t)?;
            }
            Command::Reject => {
                let (t, _) = self.selected()?;
                self.edit(Edit::Reject { slot: t })?;
                self.select(t)?;
            }
            Command::ToggleLock => {
                let (t, s) = self.selected()?;
                let e = if s.project.slots[t].decision.locked {
                    Edit::Unlock { slot: t }
                } else {
                    Edit::Lock { slot: t }
                };
                self.edit(e)?;
            }
            Command::SetNote(note) => {
                let (t, s) = self.selected()?;
                if s.project.slots[t].decision.note != note {
                    self.edit(Edit::SetNote { slot: t, note })?;
                }
            }
            Command::Review(verdict, comment) => {
                let (t, _) = self.selected()?;
                self.edit(Edit::Review {
                    slot: t,
                    verdict,
                    comment,
                })?;
            }
            Command::ToggleNoMatch => {
                let (t, s) = self.selected()?;
                let on = !s.project.slots[t].decision.no_match;
                self.edit(Edit::NoMatch { slot: t, on })?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Re-cutting the music phrases (split, merge, move a boundary), each an undoable edit.
    fn recut(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Split => {
                let (t, s) = self.selected()?;
                let slot = &s.project.slots[t];
                let pos = self.player.transport().position();
                let at = if pos > slot.start && pos < slot.end {
                    pos
                } else {
                    0.5 * (slot.start + slot.end)
                };
                let e = crate::choreo::spans::split(&s.project, t, at)?;
                self.edit(e)?;
                self.select(t)?;
            }
            Command::MergeNext => {
                let (t, s) = self.selected()?;
                let e = crate::choreo::spans::merge(&s.project, t)?;
                self.edit(e)?;
                self.select(t)?;
            }
            Command::MoveBoundary { slot, to } => {
                let s = self
                    .session
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no project open"))?;
                let e = crate::choreo::spans::move_boundary(&s.project, slot, to)?;
                self.edit(e)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Undo and redo.
    fn history(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Undo => {
                if !self.session_mut()?.undo()? {
                    self.say(Level::Info, "nothing to undo");
                }
                self.sync_loop();
            }
            Command::Redo => {
                if !self.session_mut()?.redo()? {
                    self.say(Level::Info, "nothing to redo");
                }
                self.sync_loop();
            }
            _ => {}
        }
        Ok(())
    }

    /// Playback: play/pause, seek, speed, loop.
    fn transport(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::PlayPause => {
                let tr = self.player.transport();
                if tr.position() >= tr.duration() - 1e-3 {
                    tr.seek(0.0);
                }
                tr.set_playing(!tr.is_playing());
            }
            Command::Seek(t) => {
                self.player.transport().seek(t);
                if let Some(i) = self.session.as_ref().and_then(|s| s.slot_at(t))
                    && self.view.selected != Some(i)
                {
                    // Selecting puts the candidate cursor on the chosen phrase.
                    self.select(i)?;
                }
                self.reveal(t, t);
            }
            Command::SetSpeed(v) => self.player.transport().set_speed(v),
            Command::ToggleLoop => {
                let tr = self.player.transport();
                if tr.loop_region().is_some() {
                    tr.set_loop(None);
                } else {
                    let (t, s) = self.selected()?;
                    let slot = &s.project.slots[t];
                    let (a, b) = (slot.start, slot.end);
                    let tr = self.player.transport();
                    tr.set_loop(Some((a, b)));
                    tr.seek(a);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The lanes' view and overlays (UI state only).
    fn view_command(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::SetFilter(f) => self.view.filter = f,
            Command::SetRows(n) => self.view.rows = n.min(MAX_CANDIDATE_ROWS),
            Command::Zoom { at, factor } => {
                let (a, b) = self.view.view;
                let f = factor.clamp(0.05, 20.0);
                let w = ((b - a) / f).max(1.0);
                let rel = if b > a { (at - a) / (b - a) } else { 0.5 };
                self.view.view = (at - rel * w, at - rel * w + w);
                self.clamp_view();
            }
            Command::Scroll(dt) => {
                let (a, b) = self.view.view;
                self.view.view = (a + dt, b + dt);
                self.clamp_view();
            }
            Command::ZoomAll => {
                self.view.view = (0.0, self.duration().max(1.0));
            }
            Command::ToggleHelp => self.view.help = !self.view.help,
            _ => {}
        }
        Ok(())
    }

    /// Saving the document.
    fn save(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Save => {
                let s = self.session_mut()?;
                let Some(path) = s.path.clone() else {
                    bail!("choose where to save (Ctrl+Shift+S)");
                };
                s.save_as(&path)?;
                self.say(Level::Info, format!("saved {}", path.display()));
            }
            Command::SaveAs(path) => {
                self.session_mut()?.save_as(&path)?;
                self.say(Level::Info, format!("saved {}", path.display()));
            }

            _ => {}
        }
        Ok(())
    }

    /// Follows the playhead: selects the slot under it and scrolls the view (while playing).
    pub fn follow_playhead(&mut self) {
        let tr = self.player.transport();
        if !tr.is_playing() || !self.view.follow {
            return;
        }
        let t = tr.position();
        let (a, b) = self.view.view;
        if t > b || t < a {
            let w = b - a;
            self.view.view = (t - 0.1 * w, t + 0.9 * w);
            self.clamp_view();
        }
    }

    /// Path of the open project, if saved.
    pub fn project_path(&self) -> Option<&Path> {
        self.session.as_ref().and_then(|s| s.path.as_deref())
    }
}
