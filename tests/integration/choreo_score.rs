//! Cold-start ranking on constructed songs and libraries.

use crate::common_song;

use common_song::song;
use phrasewise::choreo::score::{ColdStartScorer, Scorer, music_features};
use phrasewise::motion::library::{Library, LibraryIndex};

/// Starter phrases `ids`, with tempo and energy overridden.
fn library(spec: &[(&str, f64, f64)]) -> LibraryIndex {
    let mut idx = Library::starter().unwrap().index;
    let template = idx.phrases[0].clone();
    idx.phrases = spec
        .iter()
        .map(|&(id, bpm, energy)| {
            let mut p = template.clone();
            p.id = id.to_string();
            p.tempo_bpm = bpm;
            // the template's comfortable range and metre belong to its own tempo
            p.tempo_range = None;
            p.beats_per_bar = None;
            p.features.energy = energy;
            p.features.mean_speed = energy;
            p.features.travel = energy;
            p
        })
        .collect();
    idx
}

fn best(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap()
}

#[test]
fn tempo_is_a_hard_rule_and_energy_matches() {
    let s = song(120.0, &[1, 4]);
    let f = music_features(&s);
    assert!((f[0].tempo_bpm - 120.0).abs() < 1e-6);
    assert!(f[1].intensity > f[0].intensity);
    let lib = library(&[
        ("calm_120", 118.0, 0.01),
        ("wild_120", 122.0, 0.99),
        ("wild_80", 80.0, 0.95), // 1.5×: incompatible
        ("wild_60", 60.0, 0.92), // half time: one dance beat per two music beats
        ("mid_150", 150.0, 0.3), // 0.8 ratio: compatible at the edge
    ]);
    let scorer = ColdStartScorer::default();
    let quiet = scorer.score(&s, 0, &lib);
    let busy = scorer.score(&s, 1, &lib);
    assert_eq!(quiet[2], f32::NEG_INFINITY, "80 BPM cannot follow 120 BPM");
    assert!(quiet[3].is_finite(), "60 BPM counts at half time");
    assert!(quiet[4].is_finite());
    assert_eq!(best(&quiet), 0, "{quiet:?}");
    assert_eq!(best(&busy), 1, "{busy:?}");
    let all = scorer.score_all(&s, &lib);
    assert_eq!(&all[..5], &quiet[..]);
    assert_eq!(&all[5..], &busy[..]);
    // the closer tempo wins between otherwise equal phrases
    let lib2 = library(&[("a", 100.0, 0.5), ("b", 119.0, 0.5)]);
    assert_eq!(best(&scorer.score(&s, 0, &lib2)), 1);
}

#[test]
fn out_of_range_slot_scores_nothing() {
    let s = song(100.0, &[1]);
    let lib = library(&[("a", 100.0, 0.5)]);
    assert_eq!(
        ColdStartScorer::default().score(&s, 7, &lib),
        vec![f32::NEG_INFINITY]
    );
}
