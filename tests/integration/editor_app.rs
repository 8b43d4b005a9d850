//! Drives the real editor (`EditorApp`, the same eframe app the binary opens) with
//! egui_kittest: keys and clicks in, assertions on the document out; plus image snapshots
//! rendered by wgpu on the software adapter (lavapipe).

use std::path::PathBuf;
use std::time::Duration;

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use phrasewise::app::editor::Command;
use phrasewise::app::{EditorApp, Start, StartOptions};
use phrasewise::choreo::{Project, SlotStatus};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pw-editor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn options(dir: &std::path::Path) -> StartOptions {
    StartOptions {
        open: Start::Demo,
        audio: false,
        recovery_dir: dir.join("recovery"),
        blocking_load: true,
        autosave: Duration::from_secs(3600),
        script: None,
        window: [1280.0, 800.0],
    }
}

fn harness(dir: &std::path::Path, wgpu: bool) -> Harness<'static, EditorApp> {
    let opts = options(dir);
    let mut b = Harness::builder().with_size(egui::vec2(1280.0, 800.0));
    if wgpu {
        b = b.wgpu();
    }
    let mut h = b.build_eframe(move |cc| EditorApp::new(cc, opts));
    if let Some(s) = h.state_mut().editor.session.as_mut() {
        s.user = "tester".into();
    }
    h.run_steps(2);
    h
}

/// An editor started on the file `path` (recovery files under `dir`), two frames run.
fn harness_opening(dir: &std::path::Path, path: &std::path::Path) -> Harness<'static, EditorApp> {
    let mut opts = options(dir);
    opts.open = Start::Path(path.to_path_buf());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| EditorApp::new(cc, opts));
    h.run_steps(2);
    h
}

/// Steps the editor (a frame, then 20 ms for its background jobs) until `done`, at most 200
/// times.
fn run_until(
    h: &mut Harness<'static, EditorApp>,
    done: impl Fn(&Harness<'static, EditorApp>) -> bool,
) {
    for _ in 0..200 {
        h.run_steps(1);
        if done(h) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chosen(app: &EditorApp, t: usize) -> Option<String> {
    app.editor.session.as_ref()?.project.slots[t]
        .decision
        .chosen
        .clone()
}

#[test]
fn keyboard_review_undo_save_and_reload() {
    let dir = temp_dir("keys");
    let mut h = harness(&dir, false);
    let n = h
        .state()
        .editor
        .session
        .as_ref()
        .expect("demo loaded")
        .project
        .slots
        .len();
    assert!(n >= 4, "demo has {n} slots");
    assert_eq!(h.state().editor.view.selected, Some(0));

    // → selects slot 1; ↓ moves the candidate cursor; Enter swaps to that candidate.
    h.key_press(Key::ArrowRight);
    h.run_steps(1);
    assert_eq!(h.state().editor.view.selected, Some(1));
    let before = chosen(h.state(), 1).expect("slot 1 has a phrase");
    let cands: Vec<String> = h.state().editor.session.as_ref().expect("s").project.slots[1]
        .candidates
        .iter()
        .map(|c| c.phrase.clone())
        .collect();
    assert!(cands.len() >= 2, "{cands:?}");
    let cursor0 = h.state().editor.view.cursor;
    h.key_press(Key::ArrowDown);
    h.run_steps(1);
    let cursor = h.state().editor.view.cursor;
    assert_eq!(cursor, (cursor0 + 1).min(cands.len() - 1));
    let target = cands[cursor].clone();
    h.key_press(Key::Enter);
    h.run_steps(1);
    {
        let s = h.state().editor.session.as_ref().expect("s");
        let slot = &s.project.slots[1];
        assert_eq!(slot.decision.chosen.as_deref(), Some(target.as_str()));
        let expect = if target == before {
            SlotStatus::Accepted
        } else {
            SlotStatus::Swapped
        };
        assert_eq!(slot.decision.status, expect);
        assert!(slot.decision.locked);
        assert_eq!(slot.decision.by.as_deref(), Some("tester"));
        assert!(s.dirty);
        assert_eq!(s.history.can_undo(), 1);
    }

    // Ctrl+Z restores the suggestion; Ctrl+Shift+Z brings the decision back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    {
        let slot = &h.state().editor.session.as_ref().expect("s").project.slots[1];
        assert_eq!(slot.decision.status, SlotStatus::Suggested);
        assert!(!slot.decision.locked);
        assert_eq!(slot.decision.chosen.as_deref(), Some(before.as_str()));
    }
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run_steps(1);
    assert_eq!(chosen(h.state(), 1).as_deref(), Some(target.as_str()));

    // Number keys pick directly; X rejects (a new phrase is suggested, the old one banned).
    h.key_press(Key::ArrowRight);
    h.run_steps(1);
    let rejected = chosen(h.state(), 2).expect("slot 2 phrase");
    h.key_press(Key::X);
    h.run_steps(1);
    {
        let slot = &h.state().editor.session.as_ref().expect("s").project.slots[2];
        assert_eq!(slot.decision.status, SlotStatus::Rejected);
        assert_ne!(slot.decision.chosen.as_deref(), Some(rejected.as_str()));
        assert!(slot.decision.rejected.contains(&rejected));
    }
    // The number key of the suggested phrase accepts it (the list is ordered by marginal
    // probability, so the suggestion — the best whole path — need not be candidate 1).
    let n = {
        let slot = &h.state().editor.session.as_ref().expect("s").project.slots[2];
        slot.candidates
            .iter()
            .position(|c| Some(&c.phrase) == slot.decision.chosen.as_ref())
            .expect("the chosen phrase is listed")
    };
    h.key_press(phrasewise::app::ui::PICK_KEYS[n]);
    h.run_steps(1);
    assert_eq!(
        h.state().editor.session.as_ref().expect("s").project.slots[2]
            .decision
            .status,
        SlotStatus::Accepted
    );

    // Save (first to a chosen path, as the file dialog would), edit again, Ctrl+S, reload.
    let path = dir.join("demo.phrasewise.json");
    h.state_mut().editor.run(Command::SaveAs(path.clone()));
    assert!(path.is_file(), "{:?}", h.state().editor.status);
    h.key_press(Key::ArrowRight);
    h.run_steps(1);
    h.key_press(Key::Enter);
    h.run_steps(1);
    assert!(h.state().editor.session.as_ref().expect("s").dirty);
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_steps(1);
    assert!(!h.state().editor.session.as_ref().expect("s").dirty);
    let saved = Project::load(&path).expect("reload");
    let live = &h.state().editor.session.as_ref().expect("s").project;
    for t in 0..n {
        assert_eq!(saved.slots[t].decision, live.slots[t].decision, "slot {t}");
    }
    assert_eq!(
        saved.slots[1].decision.chosen.as_deref(),
        Some(target.as_str())
    );
    assert_eq!(saved.slots[3].decision.status, SlotStatus::Accepted);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn clicking_the_timeline_selects_and_help_toggles() {
    let dir = temp_dir("click");
    let mut h = harness(&dir, false);
    h.key_press(Key::F1);
    h.run_steps(1);
    assert!(h.state().editor.view.help);
    h.key_press(Key::Escape);
    h.run_steps(1);
    assert!(!h.state().editor.view.help);
    // Zoom out to the whole song, then seek by command and check the slot under the playhead.
    h.key_press(Key::Num0);
    h.run_steps(1);
    let dur = h.state().editor.duration();
    assert!((h.state().editor.view.view.1 - dur).abs() < 1e-6);
    let (mid_t, mid_slot) = {
        let s = h.state().editor.session.as_ref().expect("s");
        let k = s.project.slots.len() / 2;
        let sl = &s.project.slots[k];
        (0.5 * (sl.start + sl.end), k)
    };
    h.state_mut().editor.run(Command::Seek(mid_t));
    h.run_steps(1);
    assert_eq!(h.state().editor.view.selected, Some(mid_slot));
    assert!((h.state().editor.player.transport().position() - mid_t).abs() < 1e-6);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn autosave_writes_a_recovery_file_that_a_new_editor_offers() {
    let dir = temp_dir("recover");
    let mut h = harness(&dir, false);
    h.key_press(Key::Enter);
    h.run_steps(1);
    h.state_mut().autosave_now().expect("autosave");
    let rec = h.state().recovery().expect("a document");
    assert!(rec.dir().starts_with(dir.join("recovery")), "{rec:?}");
    let info = rec.pending().expect("recovery pending");
    assert!(info.original.is_none());
    let recovered = Project::load(&rec.document()).expect("recovery document loads");
    assert_eq!(recovered.slots[0].decision.status, SlotStatus::Accepted);
    // A new editor on the same document offers it (a window with Recover/Discard).
    let opts = options(&dir);
    let mut h2 = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| EditorApp::new(cc, opts));
    h2.run_steps(2);
    use egui_kittest::kittest::Queryable;
    h2.get_by_label("Discard").click();
    h2.run_steps(2);
    assert!(
        rec.pending().is_none(),
        "discard removes the recovery files"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn two_editors_on_two_documents_keep_their_own_recovery() {
    use egui_kittest::kittest::Queryable;
    let dir = temp_dir("recover-two");
    // Editor A: the demo saved as a project, then edited (unsaved).
    let a_path = dir.join("a.phrasewise.json");
    let mut a = harness(&dir, false);
    a.state_mut().editor.run(Command::SaveAs(a_path.clone()));
    a.key_press(Key::Enter);
    a.run_steps(1);
    a.state_mut().autosave_now().expect("autosave a");
    // Editor B: the demo, untitled, edited on another slot.
    let mut b = harness(&dir, false);
    b.key_press(Key::ArrowRight);
    b.run_steps(1);
    b.key_press(Key::Enter);
    b.run_steps(1);
    b.state_mut().autosave_now().expect("autosave b");
    let (ra, rb) = (
        a.state().recovery().expect("a"),
        b.state().recovery().expect("b"),
    );
    assert_ne!(ra.dir(), rb.dir());
    assert_eq!(
        ra.pending().expect("a pending").original,
        Some(a_path.clone())
    );
    assert_eq!(rb.pending().expect("b pending").original, None);
    let doc_a = Project::load(&ra.document()).expect("a's recovery");
    assert_eq!(doc_a.slots[0].decision.status, SlotStatus::Accepted);
    assert_ne!(doc_a.slots[1].decision.status, SlotStatus::Accepted);
    let doc_b = Project::load(&rb.document()).expect("b's recovery");
    assert_eq!(doc_b.slots[1].decision.status, SlotStatus::Accepted);
    // B saves (its recovery goes) and leaves A's alone.
    b.state_mut()
        .dispatch(phrasewise::app::AppCommand::Editor(Command::SaveAs(
            dir.join("b.phrasewise.json"),
        )));
    use eframe::App as _;
    b.state_mut().on_exit();
    assert!(rb.pending().is_none());
    assert!(ra.pending().is_some(), "A's recovery untouched by B");
    // An editor opening A's project is offered A's recovery; one on the demo is not.
    let mut c = harness_opening(&dir, &a_path);
    assert!(
        c.query_by_label("Recover").is_some(),
        "A's recovery offered"
    );
    let d = harness(&dir, false);
    assert!(
        d.query_by_label("Recover").is_none(),
        "nothing to recover for the demo"
    );
    c.get_by_label("Discard").click();
    c.run_steps(2);
    assert!(ra.pending().is_none());
    let _ = std::fs::remove_dir_all(dir);
}

/// Image snapshot of the main view rendered with wgpu on the software adapter. Threshold:
/// kittest's per-pixel colour distance 1.0 with at most 200 differing pixels (0.02 %): enough
/// for lavapipe/LLVM rounding in anti-aliased edges, while a recoloured bone, a moved label
/// or a shifted lane changes thousands.
#[test]
fn snapshot_main_view() {
    let dir = temp_dir("snap");
    let mut h = harness(&dir, true);
    h.key_press(Key::ArrowRight);
    h.run_steps(2);
    // the dance metrics are measured on a worker thread: wait for them (a loaded machine
    // drew "measuring…" instead)
    wait_for_metrics(&mut h, None);
    let opts = egui_kittest::SnapshotOptions::new()
        .threshold(1.0)
        .max_failed_pixels(200);
    h.snapshot_options("editor_main", &opts);
    // The shortcut overlay over the same view.
    h.key_press(Key::F1);
    h.run_steps(4);
    h.snapshot_options("editor_help", &opts);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn split_merge_and_boundary_edits_undo_through_the_history() {
    let dir = temp_dir("spans");
    let mut h = harness(&dir, false);
    let spans = |app: &EditorApp| -> Vec<(f64, f64)> {
        app.editor
            .session
            .as_ref()
            .expect("s")
            .project
            .slots
            .iter()
            .map(|s| (s.start, s.end))
            .collect()
    };
    let before = spans(h.state());
    let n = before.len();
    // S splits the selected (first) slot at a bar line: one more slot, same total span.
    h.key_press(Key::S);
    h.run_steps(1);
    let after = spans(h.state());
    assert_eq!(after.len(), n + 1, "{:?}", h.state().editor.status);
    assert_eq!(after[0].0, before[0].0);
    assert_eq!(after[1].1, before[0].1);
    assert!(after[0].1 > before[0].0 && after[0].1 < before[0].1);
    for w in after.windows(2) {
        assert!((w[0].1 - w[1].0).abs() < 1e-9, "contiguous");
    }
    {
        let s = h.state().editor.session.as_ref().expect("s");
        assert_eq!(s.project.analysis.phrases.len(), n + 1);
        assert!(
            s.project.slots.iter().all(|x| x.decision.chosen.is_some()),
            "re-ranked"
        );
        assert_eq!(s.scores.len(), (n + 1) * s.library.index.phrases.len());
    }
    // M merges it back; Ctrl+Z twice restores the split, then the original.
    h.key_press(Key::M);
    h.run_steps(1);
    assert_eq!(spans(h.state()), before);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_eq!(spans(h.state()), after);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_eq!(spans(h.state()), before);
    // Moving the first boundary one bar later (a command, as the timeline drag emits).
    let bar = 60.0
        / h.state()
            .editor
            .session
            .as_ref()
            .expect("s")
            .project
            .analysis
            .tempo_bpm
        * 4.0;
    h.state_mut().editor.run(Command::MoveBoundary {
        slot: 0,
        to: before[0].1 + bar,
    });
    let moved = spans(h.state());
    assert_eq!(moved.len(), n);
    assert!(
        (moved[0].1 - (before[0].1 + bar)).abs() < 0.1 * bar,
        "{moved:?}"
    );
    assert_eq!(moved[1].1, before[1].1);
    let _ = std::fs::remove_dir_all(dir);
}

/// The demo saved as `folder/demo.phrasewise.json` beside its own copy of the song
/// (`folder/song.wav`), by an editor whose recovery files go under `dir`.
fn save_demo_project(dir: &std::path::Path, folder: &std::path::Path) -> PathBuf {
    let project_path = folder.join("demo.phrasewise.json");
    let mut h = harness(dir, false);
    let song = phrasewise::app::session::demo_song_path();
    std::fs::copy(&song, folder.join("song.wav")).expect("copy song");
    let s = h.state_mut().editor.session.as_mut().expect("demo");
    s.project.song.path = "song.wav".into();
    s.path = Some(project_path.clone());
    s.base_path = project_path.clone();
    h.state_mut().editor.run(Command::Save);
    assert!(project_path.is_file(), "{:?}", h.state().editor.status);
    project_path
}

#[test]
fn a_project_whose_song_moved_asks_for_it_and_opens() {
    use egui_kittest::kittest::Queryable;
    let dir = temp_dir("moved");
    let project_path = save_demo_project(&dir, &dir);
    std::fs::create_dir_all(dir.join("elsewhere")).expect("dir");
    let moved = dir.join("elsewhere").join("moved.wav");
    std::fs::rename(dir.join("song.wav"), &moved).expect("move song");

    let mut h = harness_opening(&dir, &project_path);
    assert!(h.state().editor.session.is_none());
    let status = format!("{:?}", h.state().editor.status);
    assert!(status.contains("the song moved"), "{status}");
    // No portal here: the editor asks for a typed path.
    let field = h.get_by_label("No file dialog is available here; type a path:");
    field.click();
    h.run_steps(1);
    h.get_by_label("No file dialog is available here; type a path:")
        .type_text(&moved.display().to_string());
    h.run_steps(1);
    h.get_by_label("OK").click();
    run_until(&mut h, |h| h.state().editor.session.is_some());
    let status = format!("{:?}", h.state().editor.status);
    let s = h
        .state()
        .editor
        .session
        .as_ref()
        .unwrap_or_else(|| panic!("project not opened after relocating: {status}"));
    assert!(s.audio.is_some(), "song decoded from its new place");
    let saved = Project::load(&project_path).expect("project now loads without asking");
    assert!(
        saved.song.path.ends_with("moved.wav"),
        "{}",
        saved.song.path
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A project from elsewhere pointing outside its folder is not opened silently: the editor
/// names the file and asks; trusting the folder opens it.
#[test]
fn a_project_pointing_outside_its_folder_asks_for_trust() {
    use egui_kittest::kittest::Queryable;
    let dir = temp_dir("trust");
    let (music, proj) = (dir.join("music"), dir.join("proj"));
    std::fs::create_dir_all(&music).expect("dir");
    std::fs::create_dir_all(&proj).expect("dir");
    let project_path = save_demo_project(&dir, &proj);
    // as if made on another machine: the song one folder over, no seal
    std::fs::rename(proj.join("song.wav"), music.join("song.wav")).expect("move");
    let text = std::fs::read_to_string(&project_path).expect("saved");
    std::fs::write(
        &project_path,
        text.replace("\"song.wav\"", "\"../music/song.wav\""),
    )
    .expect("edit");

    let mut h = harness_opening(&dir, &project_path);
    assert!(h.state().editor.session.is_none());
    let status = format!("{:?}", h.state().editor.status);
    assert!(status.contains("outside the project's folder"), "{status}");
    h.get_by_label_contains("music/song.wav, outside the project's folder");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Trust this folder").is_none());
    assert!(h.state().editor.session.is_none());

    // asked again, and trusted this time
    h.state_mut()
        .dispatch(phrasewise::app::AppCommand::Open(Start::Path(
            project_path.clone(),
        )));
    // the second open runs as a background job: wait for its question
    run_until(&mut h, |h| h.query_by_label_contains("and open").is_some());
    h.get_by_label_contains("and open").click();
    run_until(&mut h, |h| h.state().editor.session.is_some());
    let s = h
        .state()
        .editor
        .session
        .as_ref()
        .expect("opened once trusted");
    assert_eq!(s.song(), music.join("song.wav"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The annotator flow by keys only (two annotators on the same song), then a reviewer
/// rejects one slot; the review report shows both annotators, their agreement and the
/// rejection with its comment.
#[test]
fn labelling_by_keys_two_annotators_and_a_review_report() {
    use phrasewise::choreo::review::{ReviewReport, Verdict, find_projects};
    let dir = temp_dir("annotate");
    let save = |h: &mut Harness<'static, EditorApp>, name: &str| {
        let path = dir.join(name);
        h.state_mut().editor.run(Command::SaveAs(path.clone()));
        assert!(path.is_file(), "{:?}", h.state().editor.status);
    };
    // Annotator 1: N (first slot to do), Enter accepts, N, 2 picks the 2nd candidate, N, G.
    let mut h = harness(&dir, false);
    h.state_mut().editor.session.as_mut().expect("s").user = "ann1".into();
    for k in [Key::N, Key::Enter, Key::N, Key::Num2, Key::N, Key::G] {
        h.key_press(k);
        h.run_steps(1);
    }
    {
        let s = h.state().editor.session.as_ref().expect("s");
        let labeled = s
            .project
            .slots
            .iter()
            .filter(|x| x.decision.status.is_label())
            .count();
        assert_eq!(labeled, 2, "two labels from the keys");
        assert_eq!(
            s.project
                .slots
                .iter()
                .filter(|x| x.decision.no_match)
                .count(),
            1
        );
        assert!(
            s.project
                .slots
                .iter()
                .filter(|x| x.decision.status.is_label())
                .all(|x| x.decision.by.as_deref() == Some("ann1"))
        );
    }
    save(&mut h, "a.phrasewise.json");
    drop(h);
    // Annotator 2 accepts the first three suggestions; a reviewer then rejects slot 2.
    let mut h = harness(&dir, false);
    h.state_mut().editor.session.as_mut().expect("s").user = "ann2".into();
    for k in [
        Key::Enter,
        Key::ArrowRight,
        Key::Enter,
        Key::ArrowRight,
        Key::Enter,
    ] {
        h.key_press(k);
        h.run_steps(1);
    }
    h.state_mut().editor.session.as_mut().expect("s").user = "rev".into();
    h.state_mut()
        .editor
        .run(Command::Review(Verdict::Rejected, "feet slide".into()));
    h.key_press(Key::ArrowLeft);
    h.run_steps(1);
    h.key_press(Key::A);
    h.run_steps(1);
    save(&mut h, "b.phrasewise.json");

    let report = ReviewReport::new(find_projects(&dir).expect("projects"));
    assert_eq!(report.projects.len(), 2);
    assert_eq!(report.totals.rejected_in_review, 1);
    assert_eq!(report.totals.approved, 1);
    assert_eq!(report.annotators["ann1"].labels, 2);
    assert_eq!(report.annotators["ann2"].labels, 3);
    assert_eq!(report.annotators["ann2"].rejected_in_review, 1);
    assert_eq!(report.agreements.len(), 1);
    let ag = &report.agreements[0].1;
    assert!(ag.n >= 1 && ag.kappa.is_some(), "{ag:?}");
    let md = report.to_markdown();
    assert!(
        md.contains("feet slide") && md.contains("**rejected**"),
        "{md}"
    );
    assert!(md.contains("no good phrase"));
    let html = report.to_html();
    assert!(html.contains("class=\"rej\"") && html.contains("feet slide"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Edit → Learn from my edits: the open project's folder is the workspace; the job trains
/// and validates a new version in the background and reports before/after.
#[test]
fn learn_from_my_edits_runs_in_the_background_and_reports() {
    use phrasewise::choreo::network::ScoreSource;
    use phrasewise::choreo::project::{Actor, Edit};
    let dir = temp_dir("learn");
    // A second labeled song in the workspace (a shifted, quieter copy of the demo).
    let demo = phrasewise::demo::render_demo(22_050);
    let b = dir.join("b.wav");
    let shifted: Vec<f32> = demo.samples[44_100..].iter().map(|x| x * 0.8).collect();
    phrasewise::demo::write_wav(&b, &shifted, 22_050).expect("wav");
    let library = phrasewise::motion::library::Library::starter().expect("lib");
    let bp = dir.join("b.phrasewise.json");
    let mut p = phrasewise::service::suggest::suggest_with(
        &phrasewise::service::suggest::SuggestRequest {
            use_cache: true,
            ..phrasewise::service::suggest::SuggestRequest::new(&b, &bp)
        },
        &library,
        &ScoreSource::ColdStart,
        &phrasewise::service::Quiet,
    )
    .expect("suggest");
    for t in 0..p.slots.len() {
        p.apply(&Edit::Accept { slot: t }, &Actor::now("ann"))
            .expect("accept");
    }
    p.save(&bp).expect("save");
    // The editor: label a few slots of the demo by keys, save into the workspace, learn.
    let mut h = harness(&dir, false);
    for _ in 0..4 {
        h.key_press(Key::Enter);
        h.run_steps(1);
        h.key_press(Key::ArrowRight);
        h.run_steps(1);
    }
    h.state_mut()
        .editor
        .run(Command::SaveAs(dir.join("demo.phrasewise.json")));
    h.state_mut().start_learn();
    let mut status = String::new();
    for _ in 0..600 {
        h.run_steps(1);
        status = format!("{:?}", h.state().editor.status);
        if status.contains("held-out") || status.contains("learn:") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        status.contains("v1") && status.contains("held-out"),
        "{status}"
    );
    let adopted = status.contains("adopted");
    let model = h
        .state()
        .editor
        .session
        .as_ref()
        .expect("s")
        .project
        .model
        .clone();
    assert_eq!(
        model.starts_with("network:v1@"),
        adopted,
        "{model} / {status}"
    );
    assert!(dir.join("models/v1/model.json").is_file());
    // Edit > Model version > v1: current, and the slots re-ranked with it.
    h.state_mut().switch_model(&dir, "v1");
    let status = format!("{:?}", h.state().editor.status);
    assert!(status.contains("v1 is current"), "{status}");
    let model = h
        .state()
        .editor
        .session
        .as_ref()
        .expect("s")
        .project
        .model
        .clone();
    assert!(model.starts_with("network:v1@"), "{model}");
    let _ = std::fs::remove_dir_all(dir);
}

/// What one edit costs the editor on a real song, end to end on the UI thread: the undoable
/// swap, the re-rank around the locks and the re-blended dance the preview plays. Run with
/// `cargo test --test integration editor_app::bench_edit_latency -- --ignored --nocapture`; needs
/// `../shared/data`.
#[test]
#[ignore]
fn bench_edit_latency_long_song() {
    use phrasewise::app::session::open_song;
    use phrasewise::choreo::Edit;
    let song = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/audio/lmms/TameAnderson-MakeMe.ogg");
    if !song.is_file() {
        eprintln!("skipped: {} not found", song.display());
        return;
    }
    let mut s = open_song(&song, None, &phrasewise::service::Quiet).unwrap();
    let (t_n, k) = (s.project.slots.len(), s.library.index.phrases.len());
    let (mut edit, mut blend) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let slot = (i * 7) % t_n;
        let phrase = s.library.index.phrases[(i * 13) % k].id.clone();
        let t0 = std::time::Instant::now();
        s.edit(&Edit::Swap { slot, phrase }).unwrap();
        edit.push(t0.elapsed().as_secs_f64() * 1e3);
        let t0 = std::time::Instant::now();
        s.rebuild_dance();
        blend.push(t0.elapsed().as_secs_f64() * 1e3);
        assert!(s.dance.is_some(), "{:?}", s.dance_error);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "edit on {} ({t_n} slots × {k} phrases): swap + re-rank + re-blend median {:.1} ms, \
         of which re-blending the dance {:.1} ms",
        song.display(),
        median(edit),
        median(blend)
    );
}

#[test]
fn export_never_overwrites_the_open_project() {
    use phrasewise::app::AppCommand;
    use phrasewise::app::dialogs::DialogKind;
    let dir = temp_dir("export-guard");
    let mut h = harness(&dir, false);
    let path = dir.join("song.phrasewise.json");
    h.state_mut().editor.run(Command::SaveAs(path.clone()));
    let saved = std::fs::read(&path).expect("saved project");
    h.state_mut()
        .dispatch(AppCommand::Chosen(DialogKind::ExportBvh, path.clone()));
    let status = h.state().editor.status.clone().expect("a message");
    assert!(status.1.contains("open project"), "{status:?}");
    assert_eq!(
        std::fs::read(&path).expect("project"),
        saved,
        "project untouched"
    );
    assert!(Project::read(&path).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cancelled_job_is_reported_as_cancelled_not_as_an_error() {
    use phrasewise::app::editor::Level;
    let dir = temp_dir("cancel");
    let mut h = harness(&dir, false);
    let cancelled = anyhow::Error::from(phrasewise::service::ServiceError::Cancelled);
    h.state_mut().finish_learn(Err(cancelled));
    let (level, msg) = h.state().editor.status.clone().expect("a message");
    assert!(matches!(level, Level::Info), "{level:?}: {msg}");
    assert!(msg.contains("cancelled") && !msg.contains("error"), "{msg}");
    h.state_mut()
        .finish_learn(Err(anyhow::anyhow!("disk full")));
    let (level, msg) = h.state().editor.status.clone().expect("a message");
    assert!(matches!(level, Level::Error), "{level:?}: {msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

type Metrics = std::sync::Arc<phrasewise::app::session::SessionMetrics>;

/// Runs frames until the dance metrics of the open dance have come back from their worker
/// thread, as a new measurement when `previous` is given (at most 60 s).
fn wait_for_metrics(h: &mut Harness<'static, EditorApp>, previous: Option<&Metrics>) -> Metrics {
    let t0 = std::time::Instant::now();
    loop {
        h.run_steps(1);
        let now = h
            .state()
            .editor
            .session
            .as_ref()
            .and_then(|s| s.metrics.clone());
        if let Some(m) = now
            && previous.is_none_or(|p| !std::sync::Arc::ptr_eq(p, &m))
        {
            h.run_steps(1);
            return m;
        }
        assert!(
            t0.elapsed().as_secs() < 60,
            "no new dance metrics after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dance_metrics_show_for_the_dance_and_the_selected_slot() {
    let dir = temp_dir("metrics");
    let mut h = harness(&dir, false);
    let first = wait_for_metrics(&mut h, None);
    let (bas, random_bas, slots, slot_bas) = {
        let s = h.state().editor.session.as_ref().expect("demo loaded");
        let m = s.metrics.as_ref().expect("metrics");
        assert_eq!(m.measure.per_slot.len(), s.project.slots.len());
        let r = m.random.as_ref().expect("random baseline");
        assert_eq!(r.slots, s.project.slots.len());
        (
            m.measure.metrics.bas,
            r.bas,
            m.measure.metrics.slots,
            m.measure.per_slot[0].bas,
        )
    };
    assert!(bas > 0.0 && bas <= 1.0, "BAS {bas}");
    // the panel shows the dance's and the baseline's values
    use egui_kittest::kittest::Queryable;
    let shown =
        |h: &Harness<'static, EditorApp>, text: &str| h.query_all_by_label(text).next().is_some();
    for text in [
        "Dance metrics".to_string(),
        "BAS".to_string(),
        "longest repeat run".to_string(),
        "random".to_string(),
        format!("{bas:.3}"),
        format!("{random_bas:.3}"),
        format!("{slots}"),
    ] {
        assert!(shown(&h, &text), "`{text}` is not shown");
    }
    // the inspector shows the selected slot's values
    let slot_bas = slot_bas.expect("slot 0 has beats");
    let line = format!("BAS {slot_bas:.2} · music");
    assert!(
        h.query_all_by_label_contains(&line).next().is_some(),
        "no per-slot metrics line `{line}`"
    );
    // an edit measures the new dance: slot 0 swapped to its second candidate
    let was = chosen(h.state(), 0);
    h.key_press(Key::Num2);
    let after = wait_for_metrics(&mut h, Some(&first));
    assert_ne!(chosen(h.state(), 0), was, "the key did not swap slot 0");
    assert_eq!(after.measure.per_slot.len(), slots);
    let _ = std::fs::remove_dir_all(dir);
}

/// File > Import take…: a take danced to the open song becomes the slots' choices (imported,
/// locked), the workspace gets a library (from the starter) and labels, and the preview holds
/// the take beside the dance.
#[test]
fn importing_a_take_shows_its_dance_and_the_take_beside_it() {
    use phrasewise::app::AppCommand;
    use phrasewise::app::dialogs::DialogKind;
    let dir = temp_dir("take");
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).expect("demo");
    let syn = crate::takes_import::synthetic_take(&wav, &dir);
    let take = dir.join("demo_take.bvh");
    crate::takes_import::write_take(&syn.take, &take);
    let opts = StartOptions {
        open: Start::Path(wav.clone()),
        ..options(&dir)
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| EditorApp::new(cc, opts));
    h.run_steps(2);
    assert!(h.state().editor.session.is_some());
    h.state_mut()
        .dispatch(AppCommand::Chosen(DialogKind::ImportTake, take.clone()));
    let mut status = String::new();
    for _ in 0..600 {
        h.run_steps(1);
        status = format!("{:?}", h.state().editor.status);
        if status.contains("imported") || status.contains("Error") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status.contains("slots imported"), "{status}");
    let s = h.state().editor.session.as_ref().expect("session");
    let preview = s.take.as_ref().expect("the take is shown");
    assert!((preview.offset - crate::takes_import::OFFSET).abs() < 0.02);
    assert_eq!(
        s.path.as_deref(),
        Some(dir.join("demo.phrasewise.json").as_path())
    );
    assert!(
        s.project
            .slots
            .iter()
            .all(|x| x.decision.status == SlotStatus::Imported && x.decision.locked)
    );
    // the take stands beside the dance at any time, facing the same way
    let dance = s.dance.as_ref().expect("dance");
    let pose = dance.sample(20.0);
    let beside = preview.pose_beside(20.0, &pose, 1.1);
    assert!(((beside.root - pose.root).xz().length() - 1.1).abs() < 1e-6);
    assert!((beside.heading() - pose.heading()).abs() < 1e-6);
    assert!(dir.join("library/index.json").is_file());
    assert!(dir.join("labels.json").is_file());
    h.run_steps(2);
    // imported slots still wait for a person: N visits them, Enter accepts
    h.state_mut().editor.run(Command::SelectNextUnreviewed);
    let t = h
        .state()
        .editor
        .view
        .selected
        .expect("an imported slot is next");
    h.key_press(Key::Enter);
    h.run_steps(1);
    let s = h.state().editor.session.as_ref().expect("session");
    assert_eq!(s.project.slots[t].decision.status, SlotStatus::Accepted);
    let imported = s
        .project
        .slots
        .iter()
        .filter(|x| x.decision.status == SlotStatus::Imported)
        .count();
    assert_eq!(imported, s.project.slots.len() - 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The timeline's candidate rows: a click on one chooses that candidate for its slot (an
/// undoable swap); the rows' count is a view setting.
#[test]
fn a_click_on_a_timeline_candidate_row_chooses_it() {
    use egui_kittest::kittest::Queryable as _;
    let dir = temp_dir("rows");
    let mut h = harness(&dir, false);
    assert_eq!(h.state().editor.view.rows, 3, "three rows by default");
    let t = 1;
    let (phrase, mid, view) = {
        let ed = &h.state().editor;
        let s = ed.session.as_ref().expect("s");
        let slot = &s.project.slots[t];
        let (_, c) = phrasewise::app::ui::alternatives(slot, 3)[1];
        (
            c.phrase.clone(),
            0.5 * (slot.start + slot.end),
            ed.view.view,
        )
    };
    // the middle of slot t's second candidate row: 64 px of blocks, then 18 px rows
    let lane = h.get_by_label("timeline").rect();
    let x = lane.left() + lane.width() * ((mid - view.0) / (view.1 - view.0)) as f32;
    let pos = egui::pos2(x, lane.top() + 64.0 + 1.5 * 18.0);
    h.hover_at(pos);
    h.run_steps(1);
    h.drag_at(pos);
    h.run_steps(1);
    h.drop_at(pos);
    h.run_steps(2);
    assert_eq!(chosen(h.state(), t).as_deref(), Some(phrase.as_str()));
    let s = h.state().editor.session.as_ref().expect("s");
    assert_eq!(s.project.slots[t].decision.status, SlotStatus::Swapped);
    assert_eq!(h.state().editor.view.selected, Some(t));
    // undo puts the suggestion back; the rows are capped at five
    h.state_mut().editor.run(Command::Undo);
    let s = h.state().editor.session.as_ref().expect("s");
    assert_eq!(s.project.slots[t].decision.status, SlotStatus::Suggested);
    h.state_mut().editor.run(Command::SetRows(9));
    assert_eq!(h.state().editor.view.rows, 5);
    let _ = std::fs::remove_dir_all(dir);
}

/// Audition: a hovered candidate plays in its slot in the preview's dance, blended with the
/// neighbours, while the document stays as it was; the next frame without a hover ends it.
#[test]
fn auditioning_a_candidate_changes_the_preview_not_the_document() {
    let dir = temp_dir("audition");
    let mut h = harness(&dir, false);
    let t = 2;
    let (before, phrase, mid) = {
        let s = h.state().editor.session.as_ref().expect("s");
        let slot = &s.project.slots[t];
        let (_, c) = phrasewise::app::ui::alternatives(slot, 3)[0];
        (
            s.project.clone(),
            c.phrase.clone(),
            0.5 * (slot.start + slot.end),
        )
    };
    h.state_mut()
        .editor
        .run(Command::Audition(Some((t, phrase.clone()))));
    let s = h.state().editor.session.as_ref().expect("s");
    let a = s.audition.as_ref().expect("auditioning");
    assert_eq!((a.slot, a.phrase.as_str()), (t, phrase.as_str()));
    assert_eq!(s.project, before, "the document is unchanged");
    assert!(!s.dirty && s.history.can_undo() == 0);
    let chosen_pose = s.dance.as_ref().expect("dance").sample(mid);
    let auditioned = a.dance.sample(mid);
    let moved = (0..22)
        .map(|j| chosen_pose.rot[j].angle_to(auditioned.rot[j]))
        .fold(0.0, f64::max);
    assert!(
        moved > 0.05,
        "the auditioned phrase moves differently ({moved} rad)"
    );
    // far from the slot the two dances agree in every joint below the root (the root's
    // heading may differ: later slots are aligned to where the auditioned phrase ends)
    let far = s.project.slots.last().expect("slots");
    let tf = 0.5 * (far.start + far.end);
    let d = s.dance.as_ref().expect("dance").sample(tf);
    let e = a.dance.sample(tf);
    let worst = (1..22)
        .map(|j| d.rot[j].angle_to(e.rot[j]))
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "{worst} rad");
    // nothing hovered in the next frame: the audition ends
    h.run_steps(2);
    let s = h.state().editor.session.as_ref().expect("s");
    assert!(s.audition.is_none());
    let _ = std::fs::remove_dir_all(dir);
}

/// File → Export video… starts a render job with progress in the status bar; Cancel stops it,
/// the status bar says "cancelled" (not an error) and no file is left in the folder.
#[test]
fn export_video_runs_as_a_job_and_cancels_cleanly() {
    use phrasewise::app::AppCommand;
    use phrasewise::app::dialogs::DialogKind;
    use phrasewise::app::editor::Level;
    let dir = temp_dir("video");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).expect("out dir");
    let mut h = harness(&dir, false);
    let out = out_dir.join("dance.mp4");
    h.state_mut()
        .dispatch(AppCommand::Chosen(DialogKind::ExportVideo, out.clone()));
    h.run_steps(1);
    let status = h.state().editor.status.clone();
    if let Some((Level::Error, msg)) = &status {
        // Only acceptable where ffmpeg is missing, and then the message says how to get it.
        assert!(msg.contains("ffmpeg"), "{msg}");
        return;
    }
    h.state_mut().dispatch(AppCommand::CancelJob(format!(
        "rendering {}",
        out.display()
    )));
    let t0 = std::time::Instant::now();
    let msg = loop {
        h.run_steps(1);
        if let Some((level, msg)) = h.state().editor.status.clone()
            && msg != "cancelling…"
        {
            break (level, msg);
        }
        assert!(t0.elapsed().as_secs() < 60, "the export did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    if msg.1.contains("ffmpeg") {
        eprintln!("SKIPPED: video export in the editor: {}", msg.1);
        return;
    }
    assert!(
        matches!(msg.0, Level::Info) && msg.1.contains("cancelled"),
        "{msg:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&out_dir).expect("dir").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pose thumbnails: the inspector draws a strip of poses beside every candidate and the
/// library browser beside every visible phrase, each made once and kept in the session's
/// cache (a second frame makes none).
#[test]
fn pose_thumbnails_show_in_the_inspector_and_the_library_browser() {
    use egui_kittest::kittest::Queryable;
    let dir = temp_dir("thumbs");
    let mut h = harness(&dir, false);
    h.run_steps(2);
    let (first, lib_first, made) = {
        let s = h.state().editor.session.as_ref().expect("s");
        let t = h.state().editor.view.selected.expect("a slot selected");
        (
            s.project.slots[t].candidates[0].phrase.clone(),
            s.library.index.phrases[0].id.clone(),
            s.thumbs.len(),
        )
    };
    assert!(made >= 5, "strips made for the candidates: {made}");
    for id in [&first, &lib_first] {
        let label = format!("poses of {id}");
        assert!(h.query_all_by_label(&label).next().is_some(), "{label}");
    }
    h.run_steps(3);
    let again = h.state().editor.session.as_ref().expect("s").thumbs.len();
    assert_eq!(again, made, "cached: no strip is made twice");
    let s = h.state().editor.session.as_ref().expect("s");
    let strip = s.thumbs.get(&s.library, &first).expect("a strip");
    assert_eq!(strip.figures.len(), 4);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_declared_dance_style_is_kept_in_the_project() {
    use egui_kittest::kittest::Queryable;
    let dir = temp_dir("style");
    let mut h = harness(&dir, false);
    let before: Vec<Option<String>> = (0..3).map(|t| chosen(h.state(), t)).collect();
    {
        let s = h.state().editor.session.as_ref().expect("session");
        // the built-in model was trained on labels without styles: nothing to offer
        assert!(s.styles.is_empty(), "{:?}", s.styles);
        assert_eq!(s.project.settings.style, None);
    }
    h.state_mut()
        .editor
        .run(Command::SetStyle(Some("waltz".into())));
    h.run_steps(2);
    {
        let s = h.state().editor.session.as_ref().expect("session");
        assert_eq!(s.project.settings.style.as_deref(), Some("waltz"));
        assert!(s.dirty);
    }
    // a model without styles ranks as before; the status bar says which style is declared
    let after: Vec<Option<String>> = (0..3).map(|t| chosen(h.state(), t)).collect();
    assert_eq!(before, after);
    assert!(h.query_by_label_contains("style waltz").is_some());
    let path = dir.join("song.phrasewise.json");
    h.state_mut().editor.run(Command::SaveAs(path.clone()));
    let saved = Project::read(&path).expect("saved");
    assert_eq!(saved.settings.style.as_deref(), Some("waltz"));
    // the style goes with the project's labels into training (labels export, learn)
    let mut labels = phrasewise::labels::LabelSet::new();
    labels
        .add_project(&saved, &path, &dir.join("labels.json"))
        .unwrap();
    assert_eq!(labels.songs[0].style.as_deref(), Some("waltz"));
    h.state_mut().editor.run(Command::SetStyle(None));
    assert_eq!(
        h.state()
            .editor
            .session
            .as_ref()
            .expect("session")
            .project
            .settings
            .style,
        None
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unattended_run_can_hold_an_audition() {
    let dir = temp_dir("script-audition");
    let opts = StartOptions {
        script: Some(phrasewise::app::Script {
            select: Some(1),
            frames: 50,
            audition: Some(2),
            ..Default::default()
        }),
        ..options(&dir)
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| EditorApp::new(cc, opts));
    h.run_steps(4);
    let s = h.state().editor.session.as_ref().expect("session");
    let want = s.project.slots[1].candidates[2].phrase.clone();
    let a = s.audition.as_ref().expect("auditioning");
    assert_eq!((a.slot, a.phrase.as_str()), (1, want.as_str()));
    // the document is unchanged
    assert!(!s.dirty);
    let _ = std::fs::remove_dir_all(&dir);
}

/// *Edit → Variety*: the program's penalties, none, or the model's fitted ones; each ranks
/// again, is kept in the project's decode settings, and the menu shows which is in force.
#[test]
fn the_variety_menu_switches_the_decode_penalties() {
    use egui_kittest::kittest::Queryable;
    use phrasewise::choreo::DecodeSettings;
    let dir = temp_dir("variety");
    let mut h = harness(&dir, false);
    {
        let s = h.state().editor.session.as_ref().expect("session");
        // the built-in model fitted no variety: the program's penalties
        assert!(s.fitted_variety.is_none());
        assert_eq!(s.project.settings.decode, DecodeSettings::default());
    }
    let pick = |h: &mut Harness<'static, EditorApp>, item: &str| {
        h.get_by_label("Edit").click();
        h.run_steps(2);
        h.get_by_label("Variety").hover();
        h.run_steps(2);
        h.get_by_label_contains(item).click();
        h.run_steps(2);
    };
    pick(&mut h, "Off (the plain chain)");
    {
        let s = h.state().editor.session.as_ref().expect("session");
        assert_eq!(s.project.settings.decode, DecodeSettings::plain());
        assert!(s.dirty);
    }
    pick(&mut h, "Varied");
    let s = h.state().editor.session.as_ref().expect("session");
    assert_eq!(s.project.settings.decode, DecodeSettings::default());
    // a model that fitted its labels' repeats: the first item applies them
    h.state_mut()
        .editor
        .session
        .as_mut()
        .expect("session")
        .fitted_variety = Some(phrasewise::model::evaluation::VarietyFit {
        diversity_penalty: 0.5,
        same_move_penalty: 1.0,
        window: 20,
        mismatch: 0.1,
        mismatch_off: 0.6,
        labels: Default::default(),
        decoded: Default::default(),
        phrases: 100,
    });
    pick(&mut h, "As the model's labels repeat");
    let d = &h
        .state()
        .editor
        .session
        .as_ref()
        .expect("session")
        .project
        .settings
        .decode;
    assert_eq!(
        (d.diversity_penalty, d.same_move_penalty, d.diversity_window),
        (0.5, 1.0, 20)
    );
    let _ = std::fs::remove_dir_all(dir);
}
