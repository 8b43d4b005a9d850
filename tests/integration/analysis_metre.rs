//! Metre and tempo octave (issue 15, item 5) on the quick synthesised set of
//! `bench metre`, and bad input (silence, a single beat) giving a clear result.

use phrasewise::analysis::{AnalysisConfig, analyze_samples};
use phrasewise::bench::metre_set::MetreSetConfig;
use phrasewise::service::bench_metre::{BenchMetreRequest, MetreSongResult, bench_metre};
use phrasewise::service::{Quiet, ServiceError};

fn share(rows: &[&MetreSongResult], ok: impl Fn(&MetreSongResult) -> bool) -> f64 {
    rows.iter().filter(|r| ok(r)).count() as f64 / rows.len().max(1) as f64
}

#[test]
fn quick_set_metre_and_tempo() -> Result<(), ServiceError> {
    let req = BenchMetreRequest {
        config: MetreSetConfig::quick(),
        data: None,
    };
    let report = bench_metre(&req, &Quiet)?;
    for r in &report.songs {
        println!(
            "{:16} {} {:6.1} BPM -> {:6.1} BPM, {} per bar",
            r.name, r.metre, r.bpm, r.est_bpm, r.est_beats_per_bar
        );
    }
    assert_eq!(report.songs.len(), 18);
    let of = |m: &str| -> Vec<&MetreSongResult> {
        report.songs.iter().filter(|r| r.metre == m).collect()
    };
    // The case: a 3/4 waltz at 84–96 BPM is 3 beats per bar at that tempo.
    for r in report.songs.iter().filter(|r| r.name.starts_with("waltz-")) {
        assert!(r.tempo_ok && r.metre_ok == Some(true), "{r:?}");
    }
    // 3/4 at every tempo (60–184 BPM): the tempo is right; at most one song reads as 6.
    let waltzes = of("3/4");
    assert_eq!(share(&waltzes, |r| r.tempo_ok), 1.0);
    assert!(share(&waltzes, |r| r.metre_ok == Some(true)) >= 0.85);
    // 4/4 stays 4/4; a 4/4 ballad may still come out at double tempo (BENCHMARKS.md).
    let fours = of("4/4");
    assert_eq!(share(&fours, |r| r.metre_ok == Some(true)), 1.0);
    assert_eq!(share(&fours, |r| r.tempo_relaxed_ok), 1.0);
    assert!(share(&fours, |r| r.tempo_ok) >= 0.6);
    // 6/8 is told apart: 2 (fast) or 6 (slow) beats per bar at the counted level.
    let sixes = of("6/8");
    assert_eq!(share(&sixes, |r| r.tempo_ok), 1.0);
    assert!(share(&sixes, |r| r.metre_ok == Some(true)) >= 0.75);
    // Measured: metre 94.4 % (the kick's 3-or-6 check; 88.9 % before), tempo 88.9 % (the
    // two 4/4 ballads' octave); the target for metre is 90 %.
    assert!(report.synth.metre >= 0.9, "{:?}", report.synth);
    assert!(report.synth.tempo >= 0.85, "{:?}", report.synth);
    Ok(())
}

#[test]
fn silence_and_a_single_beat_give_a_warning_not_a_panic() {
    let cfg = AnalysisConfig::default();
    let sr = cfg.sr;
    let silence = vec![0.0f32; sr as usize * 20];
    let (a, _) = analyze_samples(&silence, sr, &cfg, &mut |_, _| true).unwrap();
    assert!(a.beats.is_empty() && a.tempo_bpm == 0.0, "{:?}", a.beats);
    assert!(
        a.warnings.iter().any(|w| w.contains("no beats")),
        "{:?}",
        a.warnings
    );

    // one drum hit in 10 s
    let mut one = vec![0.0f32; sr as usize * 10];
    for (i, v) in one[sr as usize * 3..sr as usize * 3 + 4000]
        .iter_mut()
        .enumerate()
    {
        let t = i as f32 / sr as f32;
        *v = 0.8 * (std::f32::consts::TAU * 60.0 * t).sin() * (-t * 30.0).exp();
    }
    let (a, _) = analyze_samples(&one, sr, &cfg, &mut |_, _| true).unwrap();
    assert!(a.beats.len() < 8, "{:?}", a.beats);
    assert!(!a.warnings.is_empty(), "{a:?}");
}
