//! Beat tracking on the 21 songs with exact beat grids (mir_eval F-measure, 70 ms window,
//! beats before 5 s ignored). Prints the per-song table; asserts the targets of the issue.

use crate::common_data;

use phrasewise::analysis::beats::{BeatConfig, low_band_onset, track_beats_with_bass};
use phrasewise::analysis::eval::beat_f_measure;
use phrasewise::analysis::{AnalysisConfig, mel};
use phrasewise::audio::{DecodeOptions, decode_file};

#[test]
fn beat_f_measure_on_annotated_songs() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let cfg = AnalysisConfig::default();
    let songs = common_data::annotated_songs(&data);
    assert_eq!(songs.len(), 21, "expected the 21 annotated songs");
    let mut rows = Vec::new();
    for (group, audio, beats) in &songs {
        let truth: Vec<f64> = common_data::read_beats(beats).iter().map(|b| b.0).collect();
        let a = decode_file(audio, &DecodeOptions::default()).unwrap();
        let m = mel::mel_db(&a.samples, &cfg);
        let onset = mel::onset_strength(&m, &cfg);
        let bass = low_band_onset(&m, &cfg);
        let t0 = std::time::Instant::now();
        let bt = track_beats_with_bass(&onset, Some(&bass), &cfg, &BeatConfig::default());
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let f = beat_f_measure(&truth, &bt.beat_times);
        let gt_bpm = {
            let mut d: Vec<f64> = truth.windows(2).map(|w| w[1] - w[0]).collect();
            d.sort_by(f64::total_cmp);
            60.0 / d[d.len() / 2]
        };
        let name = audio.file_stem().unwrap().to_string_lossy().to_string();
        println!(
            "{group:12} {name:28} gt {gt_bpm:6.1}  est {:6.1}  F {f:.3}  ({ms:.0} ms, {:.0} s)",
            bt.tempo_bpm,
            a.samples.len() as f64 / f64::from(cfg.sr)
        );
        rows.push((group.clone(), name, f));
    }
    let mean = |g: Option<&str>| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| g.is_none_or(|g| r.0 == g))
            .map(|r| r.2)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    for g in ["lmms", "openmsx", "fretsonfire"] {
        println!("mean {g:12} {:.3}", mean(Some(g)));
    }
    let overall = mean(None);
    println!("mean overall      {overall:.3}");
    // librosa's contract pipeline scores 0.613 and essentia 0.761 on these songs; this tracker
    // measured 0.920, lowest song 0.650 (ttsong_iii_imuh3) (debug test profile).
    assert!(
        overall >= 0.80,
        "mean beat F {overall:.3} below the 0.80 target"
    );
    let (worst, min) = rows
        .iter()
        .map(|r| (&r.1, r.2))
        .fold((None, f64::INFINITY), |a, (n, f)| {
            if f < a.1 { (Some(n), f) } else { a }
        });
    assert!(
        min >= 0.5,
        "beat F {min:.3} of {worst:?} below the 0.5 per-song floor"
    );
}
