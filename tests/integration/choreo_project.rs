//! Project document: save/load, undo/redo of every edit, atomic save, missing song, schema
//! versions, re-ranking around locks, labels export.

use crate::common_song;

use phrasewise::analysis::SongAnalysis;
use phrasewise::choreo::labels::LabelSet;
use phrasewise::choreo::project::{Actor, RankSettings};
use phrasewise::choreo::score::{ColdStartScorer, Scorer};
use phrasewise::choreo::transition::MIN_WEIGHT;
use phrasewise::choreo::{ChoreoError, Edit, History, Project, SlotStatus, TransitionMatrix};
use phrasewise::motion::library::Library;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-choreo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `phrases` 16-beat phrases whose onset density cycles through 1, 2 and 3 per beat, in
/// sections alternating A and B.
fn song(bpm: f64, phrases: usize) -> SongAnalysis {
    let density: Vec<usize> = (0..phrases).map(|p| 1 + p % 3).collect();
    let mut s = common_song::song(bpm, &density);
    for (p, ph) in s.phrases.iter_mut().enumerate() {
        ph.section = ["A", "B"][p % 2].to_string();
    }
    s
}

/// A project in `dir` for a fake song file (the project never decodes it).
fn project(dir: &Path, name: &str) -> (Project, PathBuf, Library) {
    let song_path = dir.join(format!("{name}.wav"));
    std::fs::write(&song_path, format!("not really audio: {name}")).unwrap();
    let hash = phrasewise::cache::content_hash(&song_path).unwrap();
    let lib = Library::starter().unwrap();
    let path = dir.join(format!("{name}.phrasewise.json"));
    let p = Project::new(
        &path,
        &song_path,
        &hash,
        song(110.0, 8),
        &lib.index,
        None,
        &ColdStartScorer::default(),
        RankSettings::default(),
    )
    .unwrap();
    (p, path, lib)
}

fn actor() -> Actor {
    Actor {
        user: "tester".into(),
        at: "2024-01-02T03:04:05Z".into(),
    }
}

#[test]
fn new_project_is_ranked_and_round_trips() {
    let dir = temp_dir("roundtrip");
    let (mut p, path, lib) = project(&dir, "song");
    assert_eq!(p.schema, "phrasewise-project/1");
    assert_eq!(p.song.path, "song.wav");
    assert_eq!(p.model, "cold-start");
    assert_eq!(p.library.path, "<starter>");
    assert_eq!(p.library.phrases, lib.index.phrases.len());
    assert_eq!(p.slots.len(), 8);
    for s in &p.slots {
        assert!(!s.candidates.is_empty() && s.candidates.len() <= 6);
        assert!(s.decision.chosen.is_some());
        assert_eq!(s.decision.status, SlotStatus::Suggested);
        for w in s.candidates.windows(2) {
            assert!(w[0].score >= w[1].score);
        }
        // 110 BPM: chill (86–90 BPM) phrases are out by the tempo rule
        assert!(s.candidates.iter().all(|c| !c.phrase.starts_with("chill")));
    }
    p.save(&path).unwrap();
    let back = Project::load(&path).unwrap();
    assert_eq!(back, p);
    assert!(p.created_at.ends_with('Z') && p.created_at.len() == 20);
}

#[test]
fn undo_redo_every_edit_kind() {
    let dir = temp_dir("undo");
    let (mut p, _, lib) = project(&dir, "song");
    let original = p.clone();
    let other = lib.index.phrases[12].id.clone();
    let edits = vec![
        Edit::Accept { slot: 0 },
        Edit::Swap {
            slot: 1,
            phrase: other.clone(),
        },
        Edit::Relabel {
            slot: 2,
            phrase: other.clone(),
        },
        Edit::Reject { slot: 3 },
        Edit::Lock { slot: 4 },
        Edit::Unlock { slot: 4 },
        Edit::SetNote {
            slot: 5,
            note: "too busy for the verse".into(),
        },
        Edit::Accept { slot: 5 },
    ];
    let mut h = History::new();
    let mut states = vec![p.clone()];
    for e in &edits {
        h.apply(&mut p, e, &actor()).unwrap();
        states.push(p.clone());
    }
    assert_eq!(p.slots[0].decision.status, SlotStatus::Accepted);
    assert!(p.slots[0].decision.locked);
    assert_eq!(p.slots[0].decision.by.as_deref(), Some("tester"));
    assert_eq!(p.slots[1].decision.chosen.as_deref(), Some(other.as_str()));
    assert_eq!(p.slots[1].decision.status, SlotStatus::Swapped);
    assert_eq!(p.slots[2].decision.status, SlotStatus::Relabeled);
    assert_eq!(p.slots[3].decision.status, SlotStatus::Rejected);
    assert_eq!(p.slots[3].decision.chosen, None);
    assert_eq!(p.slots[3].decision.rejected.len(), 1);
    assert!(!p.slots[4].decision.locked);
    assert_eq!(p.slots[5].decision.note, "too busy for the verse");
    for want in states.iter().rev().skip(1) {
        assert!(h.undo(&mut p).unwrap());
        assert_eq!(&p, want);
    }
    assert!(!h.undo(&mut p).unwrap());
    assert_eq!(p, original);
    for want in states.iter().skip(1) {
        assert!(h.redo(&mut p).unwrap());
        assert_eq!(&p, want);
    }
    assert!(!h.redo(&mut p).unwrap());
    // a new edit clears the redo stack
    h.undo(&mut p).unwrap();
    h.apply(&mut p, &Edit::Unlock { slot: 0 }, &actor())
        .unwrap();
    assert_eq!(h.can_redo(), 0);
    // bad edits change nothing
    let before = p.clone();
    assert!(p.apply(&Edit::Accept { slot: 99 }, &actor()).is_err());
    assert!(p.apply(&Edit::Accept { slot: 3 }, &actor()).is_err());
    assert_eq!(p, before);
}

/// Swaps the library's first latin phrase into slot `slot` (which locks it); returns its id.
fn swap_in_a_latin_phrase(p: &mut Project, lib: &Library, slot: usize) -> String {
    let latin = lib
        .index
        .phrases
        .iter()
        .find(|x| x.style == "latin")
        .unwrap()
        .id
        .clone();
    p.apply(
        &Edit::Swap {
            slot,
            phrase: latin.clone(),
        },
        &actor(),
    )
    .unwrap();
    latin
}

#[test]
fn rerank_respects_locks_and_rejections() {
    let dir = temp_dir("rerank");
    let (mut p, _, lib) = project(&dir, "song");
    let scores = ColdStartScorer::default().score_all(&p.analysis, &lib.index);
    let m = TransitionMatrix::for_library(&lib.index).unwrap();
    let latin = swap_in_a_latin_phrase(&mut p, &lib, 3);
    let rejected = p.slots[5].decision.chosen.clone().unwrap();
    p.apply(&Edit::Reject { slot: 5 }, &actor()).unwrap();
    p.rerank(&scores, &lib.index, &m).unwrap();
    assert_eq!(p.slots[3].decision.chosen.as_deref(), Some(latin.as_str()));
    assert_eq!(p.slots[3].candidates[0].phrase, latin);
    assert_eq!(p.slots[3].candidates.len(), 1);
    assert_ne!(
        p.slots[5].decision.chosen.as_deref(),
        Some(rejected.as_str())
    );
    assert!(p.slots[5].candidates.iter().all(|c| c.phrase != rejected));
    assert_eq!(p.slots[5].decision.status, SlotStatus::Rejected);
    // the slot after a lock now leans towards the lock's style: its best candidate is latin
    // (the variety decode may still choose another style there)
    let style = |id: &str| lib.phrase(id).unwrap().style.clone();
    let best = &p.slots[4].candidates[0].phrase;
    assert_eq!(style(best), "latin", "slot 4 follows the latin lock");
    assert_ne!(p.slots[4].decision.chosen.as_deref(), Some(latin.as_str()));
}

#[test]
fn locked_neighbour_weights_steer_the_slots_beside_a_lock() {
    let dir = temp_dir("rerank-locked");
    let (mut p, _, lib) = project(&dir, "song");
    let scores = ColdStartScorer::default().score_all(&p.analysis, &lib.index);
    let k = lib.index.phrases.len();
    let m = TransitionMatrix::for_library(&lib.index).unwrap();
    let pos = |id: &str| lib.index.phrases.iter().position(|x| x.id == id).unwrap();
    let latin = swap_in_a_latin_phrase(&mut p, &lib, 3);
    p.rerank(&scores, &lib.index, &m).unwrap();
    let plain_next = p.slots[4].decision.chosen.clone().unwrap();
    // Locked-neighbour weights that allow one phrase of another style after the lock.
    let row = &scores[4 * k..5 * k];
    let target = (0..k)
        .filter(|&j| row[j].is_finite() && lib.index.phrases[j].style != "latin")
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap();
    let mut dense = m.to_dense();
    let a = pos(&latin);
    for j in 0..k {
        dense[a * k + j] = if j == target { 1.0 } else { MIN_WEIGHT };
    }
    let steered = m
        .clone()
        .with_locked(TransitionMatrix::from_dense(k, &dense).unwrap())
        .unwrap();
    p.rerank(&scores, &lib.index, &steered).unwrap();
    let next = p.slots[4].decision.chosen.clone().unwrap();
    assert_eq!(next, lib.index.phrases[target].id, "was {plain_next}");
    assert_ne!(next, plain_next);
    // the lock and the slots away from it are decided as before; the network part of a
    // candidate is still the scorer's own
    assert_eq!(p.slots[3].decision.chosen.as_deref(), Some(latin.as_str()));
    let c = p.slots[4]
        .candidates
        .iter()
        .find(|c| c.phrase == next)
        .unwrap();
    let lse = row
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let lse = lse
        + row
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| (f64::from(v) - lse).exp())
            .sum::<f64>()
            .ln();
    let net = c.network.unwrap();
    assert!((net - (f64::from(row[target]) - lse)).abs() < 1e-3, "{net}");
}

#[test]
fn atomic_save_survives_a_crash() {
    let dir = temp_dir("atomic");
    let (mut p, path, _) = project(&dir, "song");
    p.save(&path).unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    // a crash mid-write leaves a half-written temporary file: the project still loads
    let tmp = dir.join(".song.phrasewise.json.1.0.0.tmp");
    std::fs::write(&tmp, "{\"schema\": \"phrasewise-proj").unwrap();
    assert_eq!(Project::load(&path).unwrap(), p);
    // the next save writes its own temporary file (none is left) and keeps a backup
    let temporaries = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count()
    };
    p.apply(&Edit::Accept { slot: 0 }, &actor()).unwrap();
    p.save(&path).unwrap();
    assert_eq!(temporaries(), 1, "only the crashed write's file");
    let bak = dir.join("song.phrasewise.json.bak");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), first);
    assert_eq!(Project::load(&path).unwrap(), p);
    // a write that fails (the backup path is blocked by a folder) leaves the old file intact
    std::fs::remove_file(&bak).unwrap();
    std::fs::create_dir_all(&bak).unwrap();
    let saved = p.clone();
    p.apply(&Edit::Accept { slot: 1 }, &actor()).unwrap();
    let err = p.save(&path).unwrap_err();
    assert!(matches!(err, ChoreoError::Io { .. }), "{err}");
    assert_eq!(Project::load(&path).unwrap(), saved);
}

#[test]
fn missing_song_and_schema_versions_are_clear_errors() {
    let dir = temp_dir("missing");
    let (mut p, path, _) = project(&dir, "song");
    p.save(&path).unwrap();
    std::fs::rename(dir.join("song.wav"), dir.join("moved.wav")).unwrap();
    match Project::load(&path) {
        Err(ChoreoError::SongMissing { path: missing }) => {
            assert!(missing.ends_with("song.wav"));
            assert!(missing.is_absolute());
        }
        other => panic!("expected SongMissing, got {other:?}"),
    }
    let mut q = Project::read(&path).unwrap();
    q.relocate_song(&path, &dir.join("moved.wav")).unwrap();
    assert_eq!(q.song.path, "moved.wav");
    q.save(&path).unwrap();
    Project::load(&path).unwrap();
    // a different file is refused
    std::fs::write(dir.join("other.wav"), "other bytes").unwrap();
    assert!(q.relocate_song(&path, &dir.join("other.wav")).is_err());

    let text = std::fs::read_to_string(&path).unwrap();
    let newer = dir.join("newer.phrasewise.json");
    std::fs::write(
        &newer,
        text.replace("\"phrasewise-project/1\"", "\"phrasewise-project/2\""),
    )
    .unwrap();
    let e = Project::read(&newer).unwrap_err();
    assert!(matches!(e, ChoreoError::NewerSchema { .. }), "{e}");
    assert!(e.to_string().contains("newer"));
    let alien = dir.join("alien.phrasewise.json");
    std::fs::write(&alien, text.replace("\"phrasewise-project/1\"", "\"x/1\"")).unwrap();
    assert!(matches!(
        Project::read(&alien),
        Err(ChoreoError::Schema { .. })
    ));
}

#[test]
fn labels_export_merges_projects_and_round_trips() {
    let dir = temp_dir("labels");
    let (mut a, a_path, lib) = project(&dir, "one");
    let (mut b, b_path, _) = project(&dir, "two");
    let x = lib.index.phrases[20].id.clone();
    a.apply(&Edit::Accept { slot: 0 }, &actor()).unwrap();
    a.apply(
        &Edit::Swap {
            slot: 1,
            phrase: x.clone(),
        },
        &actor(),
    )
    .unwrap();
    a.apply(&Edit::Reject { slot: 2 }, &actor()).unwrap();
    b.apply(
        &Edit::Relabel {
            slot: 4,
            phrase: lib.index.phrases[31].id.clone(),
        },
        &actor(),
    )
    .unwrap();
    a.save(&a_path).unwrap();
    b.save(&b_path).unwrap();
    let out_dir = dir.join("data");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("labels.json");
    let set = phrasewise::service::labels::export_labels(&[a_path.clone(), b_path.clone()], &out)
        .unwrap();
    assert_eq!(set.songs.len(), 2);
    assert_eq!(set.examples(), 3);
    assert_eq!(set.songs[0].audio, "../one.wav");
    assert_eq!(set.songs[0].phrases[1].label, x);
    assert_eq!(set.songs[0].phrases[0].start, a.slots[0].start);
    let mut sorted = set.classes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(set.classes, sorted);
    assert_eq!(set.classes.len(), 3);
    let back = LabelSet::load(&out).unwrap();
    assert_eq!(back, set);
    // order does not matter for the classes
    let rev = phrasewise::service::labels::export_labels(&[b_path, a_path], &out).unwrap();
    assert_eq!(rev.classes, set.classes);
    // merging into a file elsewhere rewrites the audio paths
    let mut merged = LabelSet::new();
    merged.merge(&set, &out, &dir.join("all.json"));
    assert_eq!(merged.songs[0].audio, "one.wav");
    assert_eq!(merged.classes, set.classes);
    // A label rejected in QA review, or marked "no good phrase", is not exported.
    let (mut c, c_path, _) = project(&dir, "three");
    c.apply(&Edit::Accept { slot: 0 }, &actor()).unwrap();
    c.apply(&Edit::Accept { slot: 1 }, &actor()).unwrap();
    c.apply(&Edit::Accept { slot: 2 }, &actor()).unwrap();
    c.apply(
        &Edit::Review {
            slot: 0,
            verdict: phrasewise::choreo::review::Verdict::Rejected,
            comment: "wrong style".into(),
        },
        &actor(),
    )
    .unwrap();
    c.apply(&Edit::NoMatch { slot: 1, on: true }, &actor())
        .unwrap();
    c.save(&c_path).unwrap();
    let only = phrasewise::service::labels::export_labels(&[c_path], &out).unwrap();
    assert_eq!(only.examples(), 1);
    assert_eq!(only.songs[0].phrases[0].start, c.slots[2].start);
}

/// The editor's path after one edit, end to end: swap one slot (an undoable edit), then
/// `Project::rerank` over 100 slots × 1101 phrases (the starter library's phrases repeated
/// under new ids, the cold-start matrix over them), top-k lists included. Run with
/// `cargo test --test integration choreo_project::bench_project_rerank -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_project_rerank_100_slots_1101_phrases() {
    let dir = temp_dir("bench-rerank");
    let song_path = dir.join("song.wav");
    std::fs::write(&song_path, "not really audio").unwrap();
    let hash = phrasewise::cache::content_hash(&song_path).unwrap();
    let lib = Library::starter().unwrap();
    let mut index = lib.index.clone();
    let base = index.phrases.clone();
    index.phrases = (0..1101)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            p.id = format!("{}#{}", p.id, i / base.len());
            p
        })
        .collect();
    let mut p = Project::new(
        &dir.join("song.phrasewise.json"),
        &song_path,
        &hash,
        song(110.0, 100),
        &index,
        None,
        &ColdStartScorer::default(),
        RankSettings::default(),
    )
    .unwrap();
    assert_eq!(p.slots.len(), 100);
    let scores = ColdStartScorer::default().score_all(&p.analysis, &index);
    let m = TransitionMatrix::for_library(&index).unwrap();
    p.rerank(&scores, &index, &m).unwrap();
    let runs = 100;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let slot = (i * 7) % 100;
        let phrase = index.phrases[(i * 13) % 1101].id.clone();
        p.apply(&Edit::Swap { slot, phrase }, &actor()).unwrap();
        let t0 = std::time::Instant::now();
        p.rerank(&scores, &index, &m).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "Project::rerank 100 slots × 1101 phrases after one swap: median {:.2} ms, p90 {:.2} ms \
         ({} locked slots at the end)",
        times[runs / 2],
        times[runs * 9 / 10],
        p.slots.iter().filter(|s| s.decision.locked).count()
    );
}

/// Confinement (issue 16): a project may point outside its folder only where the user trusts
/// it: files the user handed in (sealed at save), folders allowed. A hand-edited path, a link
/// out of the folder, a library or take elsewhere are refused, naming the project, the file
/// and `--allow`; saving such a project does not make it trusted.
#[test]
fn paths_outside_the_project_folder_need_trust() {
    let dir = temp_dir("confine");
    let (music, proj) = (dir.join("music"), dir.join("proj"));
    std::fs::create_dir_all(&music).unwrap();
    std::fs::create_dir_all(&proj).unwrap();
    let song_path = music.join("mine.wav");
    std::fs::write(&song_path, "not really audio").unwrap();
    let hash = phrasewise::cache::content_hash(&song_path).unwrap();
    let lib = Library::starter().unwrap();
    let path = proj.join("a.phrasewise.json");
    let mut p = Project::new(
        &path,
        &song_path,
        &hash,
        song(110.0, 4),
        &lib.index,
        None,
        &ColdStartScorer::default(),
        RankSettings::default(),
    )
    .unwrap();
    p.save(&path).unwrap();
    // the user's own song: stored relative, sealed, loads
    let saved = Project::load(&path).unwrap();
    assert_eq!(saved.song.path, "../music/mine.wav");
    let seal = saved.song.seal.clone().expect("sealed");
    assert_eq!(saved.song_path(&path).unwrap(), song_path);

    // hand-edited to another file outside, with the old seal: refused
    let other = music.join("theirs.wav");
    std::fs::write(&other, "other audio").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = proj.join("edited.phrasewise.json");
    std::fs::write(&edited, text.replace("mine.wav", "theirs.wav")).unwrap();
    let e = Project::load(&edited).unwrap_err();
    assert!(
        matches!(e, ChoreoError::Untrusted { what: "song", .. }),
        "{e}"
    );
    let msg = e.to_string();
    for part in ["edited.phrasewise.json", "theirs.wav", "outside", "--allow"] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    // saving it does not seal the foreign path
    let mut q = Project::read(&edited).unwrap();
    q.save(&edited).unwrap();
    let q = Project::read(&edited).unwrap();
    assert_eq!(q.song.seal.as_deref(), Some(seal.as_str()));
    assert!(Project::load(&edited).is_err());

    // a link inside the folder that leads out is outside
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&other, proj.join("link.wav")).unwrap();
        let linked = proj.join("linked.phrasewise.json");
        std::fs::write(&linked, text.replace("../music/mine.wav", "link.wav")).unwrap();
        assert!(matches!(
            Project::load(&linked),
            Err(ChoreoError::Untrusted { .. })
        ));
    }
    // a file inside the folder needs nothing
    std::fs::copy(&other, proj.join("inside.wav")).unwrap();
    let inside = proj.join("inside.phrasewise.json");
    std::fs::write(&inside, text.replace("../music/mine.wav", "inside.wav")).unwrap();
    Project::load(&inside).unwrap();

    // a library folder and a take elsewhere, unsealed: refused too
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["library"]["path"] = "../somewhere".into();
    v["take"] = serde_json::json!({"path": "/elsewhere/take.bvh", "offset": 0.0});
    let odd = proj.join("odd.phrasewise.json");
    std::fs::write(&odd, v.to_string()).unwrap();
    let r = Project::read(&odd).unwrap();
    assert!(matches!(
        r.library_dir(&odd),
        Err(ChoreoError::Untrusted {
            what: "library",
            ..
        })
    ));
    assert!(matches!(
        r.take_path(&odd),
        Err(ChoreoError::Untrusted { what: "take", .. })
    ));

    // the user allows the folder: the edited project opens
    phrasewise::confine::allow(&music).unwrap();
    assert_eq!(
        Project::load(&edited).unwrap().song_path(&edited).unwrap(),
        other
    );
    assert!(phrasewise::confine::allow(&dir.join("no-such-folder")).is_err());
}
