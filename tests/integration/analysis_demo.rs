//! The whole analysis on the embedded demo song, whose beats, bars, sections and melody are
//! known exactly because it is synthesised.

use phrasewise::analysis::eval::{beat_f_measure, f_measure};
use phrasewise::analysis::{AnalysisConfig, SongAnalysis, analyze_samples};
use phrasewise::demo::{DEMO_BPM, render_demo};

fn analyse_demo() -> (SongAnalysis, phrasewise::demo::DemoSong) {
    let song = render_demo(22_050);
    let (a, _) = analyze_samples(
        &song.samples,
        song.sample_rate,
        &AnalysisConfig::default(),
        &mut |_, _| true,
    )
    .unwrap();
    (a, song)
}

#[test]
fn demo_song_analysis_matches_the_score() {
    let (a, song) = analyse_demo();
    println!(
        "tempo {} beats {} downbeats {} sections {:?} phrases {}",
        a.tempo_bpm,
        a.beats.len(),
        a.downbeats.len(),
        a.sections,
        a.phrases.len()
    );
    assert!(
        (a.tempo_bpm - DEMO_BPM).abs() < 2.0,
        "tempo {}",
        a.tempo_bpm
    );
    let f = beat_f_measure(&song.beats, &a.beats);
    assert!(f > 0.95, "beat F {f}");
    assert_eq!(a.beats_per_bar, 4);
    let fd = f_measure(&song.downbeats, &a.downbeats, 0.07);
    assert!(fd > 0.8, "downbeat F {fd}");
    // phrases: 2–8 bars, contiguous, inside the song
    assert!(!a.phrases.is_empty());
    for p in &a.phrases {
        assert!((2..=8).contains(&p.bars), "{p:?}");
        assert!(p.end > p.start && p.end <= a.duration + 1e-6);
    }
    for w in a.phrases.windows(2) {
        assert!((w[1].start - w[0].end).abs() < 1e-6, "gap between phrases");
    }
    // the song has 40 bars; phrases cover (nearly) all of them
    let bars: usize = a.phrases.iter().map(|p| p.bars).sum();
    assert!((38..=40).contains(&bars), "phrases cover {bars} bars");
    // section boundaries of the score (A/B changes every 8 bars) are found within 3 s
    let truth: Vec<f64> = song.sections.iter().map(|s| s.0).collect();
    let est: Vec<f64> = a.sections.iter().map(|s| s.start).collect();
    let fs = f_measure(&truth[1..], &est[1..], 3.0);
    println!("section boundary F@3s {fs:.2}");
    assert!(fs >= 0.5, "section F {fs}");
    // melody: voiced where the lead plays, pitch within a semitone on most voiced frames
    let hop = a.melody.hop_s;
    let (mut inside, mut voiced, mut close) = (0, 0, 0);
    for &(s, e, hz) in &song.melody {
        let (i0, i1) = (((s + 0.05) / hop) as usize, ((e - 0.05) / hop) as usize);
        for i in i0..i1.min(a.melody.f0_hz.len()) {
            inside += 1;
            let f0 = f64::from(a.melody.f0_hz[i]);
            if f0 > 0.0 {
                voiced += 1;
                if (12.0 * (f0 / hz).log2()).abs() < 1.0 {
                    close += 1;
                }
            }
        }
    }
    println!("melody: {voiced}/{inside} voiced, {close} within a semitone");
    assert!(inside > 1000);
    assert!(
        close as f64 > 0.6 * inside as f64,
        "melody accuracy {close}/{inside}"
    );
}

#[test]
fn analysis_json_round_trips_and_is_versioned() {
    let (a, _) = analyse_demo();
    let text = serde_json::to_string(&a).unwrap();
    let back: SongAnalysis = serde_json::from_str(&text).unwrap();
    assert_eq!(back, a);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "phrasewise-analysis/1");
    for key in [
        "duration",
        "tempo_bpm",
        "beats",
        "downbeats",
        "sections",
        "phrases",
        "melody",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["melody"]["hop_s"].as_f64().unwrap() > 0.02);
    assert!(v["phrases"][0]["bars"].as_u64().unwrap() >= 2);
}

#[test]
fn silence_gives_a_valid_result_without_beats() {
    let samples = vec![0.0f32; 22_050 * 10];
    let (a, _) = analyze_samples(&samples, 22_050, &AnalysisConfig::default(), &mut |_, _| {
        true
    })
    .unwrap();
    assert!(a.beats.is_empty());
    assert!(a.phrases.is_empty());
    assert_eq!(a.sections.len(), 1);
    assert!(a.melody.f0_hz.iter().all(|v| *v == 0.0));
}

#[test]
fn analysis_can_be_cancelled() {
    let samples = vec![0.1f32; 22_050 * 5];
    let r = analyze_samples(&samples, 22_050, &AnalysisConfig::default(), &mut |_, _| {
        false
    });
    assert!(r.is_err());
}
