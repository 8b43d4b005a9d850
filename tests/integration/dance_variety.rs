//! Issue 15, items 1–2 on the demo song: the default model's dance spreads over several
//! moves with no phrase twice in a row, slots alternate their move's phrases, and music
//! before the first and after the last phrase is danced with the idle phrase.

use phrasewise::choreo::network::ScoreSource;
use phrasewise::export::plan::idle_phrase;
use phrasewise::export::{SlotSpec, slot_specs};
use phrasewise::motion::library::Library;
use phrasewise::service::suggest::{SuggestRequest, suggest_with};

fn demo_project(dir: &std::path::Path) -> phrasewise::choreo::Project {
    let demo = dir.join("demo.wav");
    let song = phrasewise::demo::render_demo(22_050);
    phrasewise::demo::write_wav(&demo, &song.samples, song.sample_rate).unwrap();
    suggest_with(
        &SuggestRequest {
            use_cache: false,
            ..SuggestRequest::new(&demo, dir.join("p.phrasewise.json"))
        },
        &Library::starter().unwrap(),
        &ScoreSource::DefaultModel,
        &phrasewise::service::Quiet,
    )
    .unwrap()
}

/// Specs are contiguous from `from` to `to`.
fn contiguous(specs: &[SlotSpec], from: f64, to: f64) {
    assert!((specs[0].start - from).abs() < 1e-9, "{}", specs[0].start);
    assert!((specs[specs.len() - 1].end - to).abs() < 1e-9);
    for w in specs.windows(2) {
        assert!(
            (w[0].end - w[1].start).abs() < 1e-9,
            "{} {}",
            w[0].end,
            w[1].start
        );
    }
}

#[test]
fn the_demo_dance_varies_and_covers_intro_and_outro() {
    let dir = std::env::temp_dir().join(format!("phrasewise-variety-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let library = Library::starter().unwrap();
    let project = demo_project(&dir);
    let chosen: Vec<&str> = project
        .slots
        .iter()
        .map(|s| s.decision.chosen.as_deref().unwrap())
        .collect();
    // no phrase twice in a row (before the variety decode: one move in all 11 slots)
    assert!(chosen.windows(2).all(|w| w[0] != w[1]), "{chosen:?}");
    let report = phrasewise::export::metrics::measure_project(
        &project,
        &library,
        &phrasewise::export::ExportOptions::default(),
    )
    .unwrap();
    let m = &report.metrics;
    assert!(m.most_used_move_share <= 0.4, "{m:?}");
    assert!(m.distinct_move_share >= 0.5, "{m:?}");
    assert_eq!(m.longest_repeat_run, 1, "{m:?}");

    // Every phrase of a two-phrase move alternates inside its slot.
    let specs = slot_specs(&project, &library).unwrap();
    contiguous(&specs, 0.0, project.analysis.duration);
    assert!(
        specs
            .windows(2)
            .filter(|w| w[0].phrase != w[1].phrase)
            .count()
            > project.slots.len(),
        "repetitions inside slots alternate"
    );

    // Drop the first two and the last two music phrases: intro and outro of several beats.
    let mut cut = project.clone();
    let n = cut.slots.len();
    cut.slots = cut.slots[2..n - 2].to_vec();
    let (first, last) = (cut.slots[0].start, cut.slots[cut.slots.len() - 1].end);
    let specs = slot_specs(&cut, &library).unwrap();
    contiguous(&specs, 0.0, project.analysis.duration);
    let idle = idle_phrase(&library.index, cut.analysis.tempo_bpm).unwrap();
    let partners = phrasewise::export::plan::partners(&library.index, &idle.id);
    let intro: Vec<&SlotSpec> = specs.iter().filter(|s| s.end <= first + 1e-9).collect();
    let outro: Vec<&SlotSpec> = specs.iter().filter(|s| s.start >= last - 1e-9).collect();
    for s in intro.iter().chain(&outro) {
        assert!(
            partners.contains(&s.phrase),
            "{} is not the idle move",
            s.phrase
        );
        assert!(s.beats.len() >= 2, "danced on a beat grid");
    }
    assert!(!intro.is_empty() && !outro.is_empty());
    // the carried-on grid keeps the song's beat period
    let mut ibi: Vec<f64> = cut.analysis.beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibi.sort_by(f64::total_cmp);
    let period = ibi[ibi.len() / 2];
    let gaps: Vec<f64> = outro[0].beats.windows(2).map(|w| w[1] - w[0]).collect();
    // counted at ½, 1 or 2 music beats per dance beat
    assert!(
        gaps.iter().all(|g| [0.5, 1.0, 2.0]
            .iter()
            .any(|r| (g / period - r).abs() < 1e-6)),
        "{gaps:?} vs {period}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
