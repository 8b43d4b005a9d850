//! Structural segmentation on the 9 LMMS songs against their arrangement-derived sections
//! (`NAME.sections`; not human annotations). Boundary hit rate F at ±0.5 s and ±3 s as
//! mir_eval `segment.detection` (trim = False) after `adjust_intervals`: the estimate is
//! cropped / padded to the reference span, and the first and last boundary count.
//!
//! Runs per song with the beats of our own tracker (the real pipeline; default config, and the
//! automatic eigengap k for comparison) and with the ground-truth beats (the segmentation
//! alone). Prints a table; asserts only robust floors. Takes a few seconds.
//! The librosa reference (CQT features, k = 5) scores F@0.5 0.327, F@3 0.431 here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use phrasewise::analysis::beats::{BeatConfig, track_beats};
use phrasewise::analysis::eval::boundary_f_measure;
use phrasewise::analysis::structure::{Segment, StructureConfig, segment};
use phrasewise::analysis::{AnalysisConfig, mel};
use phrasewise::audio::{DecodeOptions, decode_file};

fn lmms_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/audio/lmms");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found; LMMS structure test skipped",
            p.display()
        );
        None
    }
}

/// First column of every non-empty line, as numbers.
fn read_column(path: &Path, col: usize) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(col)?.parse().ok())
        .collect()
}

/// Estimated boundaries (s) adjusted to the reference span `[0, end]`, as mir_eval does.
fn estimate_boundaries(segs: &[Segment], frame_s: f64, end: f64) -> Vec<f64> {
    let mut b: Vec<f64> = segs
        .iter()
        .map(|s| s.start_frame as f64 * frame_s)
        .filter(|&t| t < end)
        .collect();
    b.push(end);
    b
}

#[test]
fn lmms_section_boundaries() {
    let Some(dir) = lmms_dir() else { return };
    let cfg = AnalysisConfig::default();
    let frame_s = cfg.frame_seconds();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sections").map(str::to_string)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "expected the 9 LMMS songs");

    let auto = StructureConfig::default();
    let eigengap = StructureConfig {
        k: None,
        ..StructureConfig::default()
    };
    // (F@0.5, F@3) per song: tracked beats (default k = 5), tracked beats with the eigengap's
    // k, ground-truth beats
    let mut scores: Vec<[f64; 6]> = Vec::new();
    let mut slowest = (0.0f64, 0usize, String::new());
    println!(
        "{:30} {:>17} | {:>17} | {:>17} | ref",
        "F@0.5 F@3 segments", "tracked beats", "tracked, eigengap", "true beats"
    );
    for name in &names {
        let audio =
            decode_file(&dir.join(format!("{name}.ogg")), &DecodeOptions::default()).unwrap();
        let m = mel::mel_db(&audio.samples, &cfg);
        let onset = mel::onset_strength(&m, &cfg);
        let tracked = track_beats(&onset, &cfg, &BeatConfig::default()).beat_frames;
        let gt_beats: Vec<usize> = read_column(&dir.join(format!("{name}.beats")), 0)
            .iter()
            .map(|&t| cfg.time_frame(t))
            .collect();
        let starts = read_column(&dir.join(format!("{name}.sections")), 0);
        let ends = read_column(&dir.join(format!("{name}.sections")), 1);
        let end = ends.last().copied().unwrap();
        let mut reference: Vec<f64> = starts.clone();
        if reference.first().is_none_or(|&s| s > 0.0) {
            reference.insert(0, 0.0);
        }
        reference.push(end);

        let mut row = Vec::new();
        for (beats, scfg) in [(&tracked, &auto), (&tracked, &eigengap), (&gt_beats, &auto)] {
            let t0 = Instant::now();
            let segs = segment(&m, beats, scfg);
            let secs = t0.elapsed().as_secs_f64();
            if secs > slowest.0 {
                slowest = (secs, beats.len(), name.clone());
            }
            assert_eq!(segs.first().map(|s| s.start_frame), Some(0));
            assert_eq!(segs.last().map(|s| s.end_frame), Some(m.rows));
            let est = estimate_boundaries(&segs, frame_s, end);
            row.push((
                boundary_f_measure(&reference, &est, 0.5),
                boundary_f_measure(&reference, &est, 3.0),
                segs.len(),
            ));
        }
        let cell = |r: &(f64, f64, usize)| format!("{:5.3} {:5.3} {:5}", r.0, r.1, r.2);
        println!(
            "{name:30} {} | {} | {} | {:3}",
            cell(&row[0]),
            cell(&row[1]),
            cell(&row[2]),
            starts.len()
        );
        scores.push([row[0].0, row[0].1, row[1].0, row[1].1, row[2].0, row[2].1]);
    }
    let mean = |i: usize| scores.iter().map(|s| s[i]).sum::<f64>() / scores.len() as f64;
    println!(
        "{:30} {:5.3} {:5.3}       | {:5.3} {:5.3}       | {:5.3} {:5.3}",
        "mean",
        mean(0),
        mean(1),
        mean(2),
        mean(3),
        mean(4),
        mean(5)
    );
    println!(
        "slowest segment(): {:.3} s ({} beats, {})",
        slowest.0, slowest.1, slowest.2
    );
    // Floors well under the measured means (see the module doc for the reference).
    assert!(
        mean(1) >= 0.40,
        "mean F@3 with tracked beats {:.3} < 0.40",
        mean(1)
    );
    assert!(
        mean(5) >= 0.40,
        "mean F@3 with ground-truth beats {:.3} < 0.40",
        mean(5)
    );
    assert!(
        mean(4) >= 0.30,
        "mean F@0.5 with ground-truth beats {:.3} < 0.30",
        mean(4)
    );
}
