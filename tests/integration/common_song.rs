//! A synthetic analysed song for tests that need phrases, beats and onsets without audio.
#![allow(dead_code)]

use phrasewise::analysis::SongAnalysis;
use phrasewise::analysis::song::{Phrase, Section};

/// A song at `bpm` with one 16-beat phrase per entry of `onsets_per_beat`.
pub fn song(bpm: f64, onsets_per_beat: &[usize]) -> SongAnalysis {
    let ibi = 60.0 / bpm;
    let n_beats = 16 * onsets_per_beat.len() + 1;
    let beats: Vec<f64> = (0..n_beats).map(|i| 0.5 + i as f64 * ibi).collect();
    let mut onsets = vec![];
    let mut phrases = vec![];
    for (p, &d) in onsets_per_beat.iter().enumerate() {
        for b in 0..16 {
            let t0 = beats[p * 16 + b];
            for k in 0..d {
                onsets.push(t0 + k as f64 * ibi / d as f64);
            }
        }
        phrases.push(Phrase {
            start: beats[p * 16],
            end: beats[p * 16 + 16],
            bars: 4,
            beats: 16,
            first_beat: p * 16,
            section: if d > 1 { "B" } else { "A" }.to_string(),
        });
    }
    let duration = beats[n_beats - 1] + 1.0;
    SongAnalysis {
        schema: phrasewise::analysis::ANALYSIS_SCHEMA.to_string(),
        duration,
        sample_rate: 22050,
        tempo_bpm: bpm,
        beats_per_bar: 4,
        beat_in_bar: (0..n_beats).map(|i| (i % 4) as u32 + 1).collect(),
        downbeats: beats.iter().step_by(4).copied().collect(),
        beats,
        onsets,
        sections: vec![Section {
            start: 0.0,
            end: duration,
            label: "A".to_string(),
        }],
        phrases,
        melody: Default::default(),
        warnings: vec![],
        timing: Default::default(),
    }
}
