//! Decoding every format in `../shared/data/audio/formats`, and the deliberately broken files.

use crate::common_data;

use phrasewise::audio::{AudioError, DecodeOptions, decode_file};

/// Normalised cross-correlation peak lag (samples) of `b` against `a`, searched in ±max_lag.
fn best_lag(a: &[f32], b: &[f32], max_lag: isize) -> (isize, f32) {
    let n = a.len().min(b.len()) as isize;
    let mut best = (0, f32::MIN);
    for lag in -max_lag..=max_lag {
        let (mut s, mut ea, mut eb) = (0.0f64, 0.0f64, 0.0f64);
        let mut i = 22_050isize; // skip the first second
        while i < n - 22_050 {
            let j = i + lag;
            if j >= 0 && j < b.len() as isize {
                let (x, y) = (f64::from(a[i as usize]), f64::from(b[j as usize]));
                s += x * y;
                ea += x * x;
                eb += y * y;
            }
            i += 3;
        }
        let c = (s / (ea.sqrt() * eb.sqrt() + 1e-12)) as f32;
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

#[test]
fn every_supported_format_decodes_to_the_same_signal() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let dir = data.join("audio/formats");
    let opts = DecodeOptions::default();
    let master = decode_file(&dir.join("TameAnderson-MakeMe_30s.wav"), &opts).unwrap();
    assert_eq!(master.source_rate, 44_100);
    assert!(
        (master.duration() - 30.0).abs() < 0.01,
        "{}",
        master.duration()
    );
    // (file, expected duration, max |lag| in samples at 22.05 kHz, min correlation)
    let cases = [
        ("TameAnderson-MakeMe_30s.flac", 30.0, 1, 0.999),
        ("TameAnderson-MakeMe_30s.mp3", 30.0, 2, 0.95),
        ("TameAnderson-MakeMe_30s.ogg", 30.0, 1, 0.95),
        ("TameAnderson-MakeMe_30s.m4a", 30.0, 2, 0.95),
        // made by sox from the 44.1 kHz master: its anti-alias filter differs from ours near 11 kHz
        ("TameAnderson-MakeMe_30s_48k.wav", 10.0, 1, 0.95),
        ("TameAnderson-MakeMe_30s_5.1.wav", 10.0, 1, 0.95),
        ("TameAnderson-MakeMe_30s_8k_mono.wav", 30.0, 1, 0.80),
    ];
    for (name, dur, max_lag, min_corr) in cases {
        let a = decode_file(&dir.join(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.sample_rate, 22_050);
        assert!(
            (a.duration() - dur).abs() < 0.06,
            "{name}: duration {:.3}",
            a.duration()
        );
        let len = a.samples.len().min(master.samples.len());
        let (lag, corr) = best_lag(&master.samples[..len], &a.samples[..len], 40);
        println!(
            "{name}: lag {lag} samples, correlation {corr:.4}, warnings {:?}",
            a.warnings
        );
        assert!(
            lag.abs() <= max_lag,
            "{name}: offset {lag} samples (gapless handling?)"
        );
        assert!(corr >= min_corr, "{name}: correlation {corr}");
    }
}

#[test]
fn opus_is_reported_as_unsupported_with_the_file_name() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let path = data.join("audio/formats/TameAnderson-MakeMe_30s.opus");
    let err = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("TameAnderson-MakeMe_30s.opus"), "{msg}");
    assert!(matches!(err, AudioError::Unsupported { .. }), "{msg}");
}

#[test]
fn broken_files_give_clear_errors_or_flagged_results() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let dir = data.join("audio/formats");
    let opts = DecodeOptions::default();

    let e = decode_file(&dir.join("bad_empty.wav"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::Empty { .. }));
    assert!(e.to_string().contains("bad_empty.wav"));

    let e = decode_file(&dir.join("bad_random_bytes.mp3"), &opts).unwrap_err();
    assert!(e.to_string().contains("bad_random_bytes.mp3"), "{e}");

    // 0.6 s of real audio: below the 1 s minimum, so an error that says how much was found
    let e = decode_file(&dir.join("bad_truncated_10KB.mp3"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::TooShort { .. }), "{e}");
    assert!(e.to_string().contains("bad_truncated_10KB.mp3"), "{e}");

    // header claims 10 s, 1 s present: decoded, with a warning that says so
    let a = decode_file(&dir.join("bad_header_overclaims.wav"), &opts).unwrap();
    assert!((a.duration() - 1.0).abs() < 0.05, "{}", a.duration());
    assert!(
        a.warnings.iter().any(|w| w.contains("claims")),
        "{:?}",
        a.warnings
    );

    let a = decode_file(&dir.join("silence_10s.wav"), &opts).unwrap();
    assert!((a.duration() - 10.0).abs() < 0.01);
    assert!(a.samples.iter().all(|v| *v == 0.0));

    let missing = dir.join("no_such_file.wav");
    let e = decode_file(&missing, &opts).unwrap_err();
    assert!(matches!(e, AudioError::Open { .. }));
    assert!(e.to_string().contains("no_such_file.wav"));
}

#[test]
fn a_long_file_is_refused_early_with_bounded_memory() {
    // A 60-minute 8 kHz mono WAV (57 MB) against the default 20-minute limit.
    let dir = std::env::temp_dir().join(format!("phrasewise-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("one_hour.wav");
    let samples: Vec<f32> = (0..8_000 * 3600)
        .map(|i| ((i as f32) * 0.05).sin() * 0.3)
        .collect();
    phrasewise::demo::write_wav(&path, &samples, 8_000).unwrap();
    drop(samples);
    let e = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, AudioError::TooLong { .. }), "{e}");
    assert!(e.to_string().contains("one_hour.wav"));
    // with the limit raised it decodes: 3600 s at 22.05 kHz
    let opts = DecodeOptions {
        max_minutes: 61.0,
        ..DecodeOptions::default()
    };
    let a = decode_file(&path, &opts).unwrap();
    assert!((a.duration() - 3600.0).abs() < 0.1);
    std::fs::remove_dir_all(&dir).ok();
}
