//! Melody extraction on synthetic signals with a known melody, plus the vocal-pop demo song.

use phrasewise::analysis::AnalysisConfig;
use phrasewise::analysis::melody::{MelodyConfig, MelodyTrack, extract_melody};
use std::f32::consts::TAU;

const SR: f32 = 22_050.0;

fn midi_hz(m: f32) -> f32 {
    440.0 * ((m - 69.0) / 12.0).exp2()
}

/// A note: start (s), duration (s), MIDI pitch.
#[derive(Clone, Copy)]
struct Note {
    t0: f32,
    dur: f32,
    midi: f32,
}

/// Notes of `dur` seconds each, back to back from `t0`.
fn sequence(t0: f32, dur: f32, pitches: &[f32]) -> Vec<Note> {
    pitches
        .iter()
        .enumerate()
        .map(|(i, &midi)| Note {
            t0: t0 + i as f32 * dur,
            dur,
            midi,
        })
        .collect()
}

/// Vibrato of the lead: 5.5 Hz, `cents` deep, phase locked to absolute time.
fn vibrato(t: f32, cents: f32) -> f32 {
    (cents / 1200.0 * (TAU * 5.5 * t).sin()).exp2()
}

/// Adds harmonic notes (`amps[k]` for harmonic k+1) with 10 ms attack/release ramps and a
/// `vib_cents` vibrato.
fn render_vib(out: &mut [f32], notes: &[Note], amps: &[f32], vib_cents: f32) {
    for n in notes {
        let f0 = midi_hz(n.midi);
        let s0 = (n.t0 * SR) as usize;
        let len = (n.dur * SR) as usize;
        let ramp = (0.01 * SR) as usize;
        let mut phase = 0.0_f32;
        for i in 0..len {
            let Some(o) = out.get_mut(s0 + i) else { break };
            let env = (i.min(len - 1 - i) as f32 / ramp as f32).min(1.0);
            let f = f0 * vibrato((s0 + i) as f32 / SR, vib_cents);
            phase = (phase + TAU * f / SR) % TAU;
            let mut v = 0.0;
            for (k, a) in amps.iter().enumerate() {
                let h = (k + 1) as f32;
                if f * h < SR / 2.0 {
                    v += a * (phase * h).sin();
                }
            }
            *o += env * v;
        }
    }
}

/// Adds steady harmonic notes.
fn render(out: &mut [f32], notes: &[Note], amps: &[f32]) {
    render_vib(out, notes, amps, 0.0);
}

/// Decaying white-noise bursts (deterministic LCG), `amp` peak, every `period` s.
fn drums(out: &mut [f32], period: f32, amp: f32) {
    let mut state: u32 = 12_345;
    let step = (period * SR) as usize;
    let len = (0.08 * SR) as usize;
    let mut s0 = 0;
    while s0 < out.len() {
        for i in 0..len {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let r = (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
            if let Some(o) = out.get_mut(s0 + i) {
                *o += amp * r * (-(i as f32) / (0.02 * SR)).exp();
            }
        }
        s0 += step;
    }
}

/// A melody of 0.25-s notes (scales, leaps, repeated notes) starting at 0.5 s.
fn melody_notes() -> Vec<Note> {
    let pitches = [
        60.0, 62.0, 64.0, 65.0, 67.0, 69.0, 71.0, 72.0, 74.0, 72.0, 71.0, 69.0, 67.0, 65.0, 64.0,
        62.0, 60.0, 64.0, 67.0, 72.0, 67.0, 64.0, 60.0, 62.0, 65.0, 69.0, 74.0, 69.0, 65.0, 62.0,
        67.0, 67.0, 71.0, 74.0, 79.0, 74.0, 71.0, 67.0, 72.0, 72.0,
    ];
    sequence(0.5, 0.25, &pitches)
}

/// Ground-truth f0 per analysis frame (0 = no melody), with the lead's vibrato.
fn truth(notes: &[Note], n_frames: usize, cfg: &AnalysisConfig, vib_cents: f32) -> Vec<f32> {
    (0..n_frames)
        .map(|i| {
            let t = cfg.frame_time(i) as f32;
            notes
                .iter()
                .find(|n| t >= n.t0 && t < n.t0 + n.dur)
                .map_or(0.0, |n| midi_hz(n.midi) * vibrato(t, vib_cents))
        })
        .collect()
}

#[derive(Debug)]
struct Scores {
    voicing_recall: f32,
    false_alarm: f32,
    raw_pitch_accuracy: f32,
    octave_errors: f32,
    median_abs_cents: f32,
}

fn score(est: &MelodyTrack, gt: &[f32]) -> Scores {
    assert_eq!(est.f0_hz.len(), gt.len());
    let (mut n_mel, mut n_rest, mut voiced, mut fa, mut correct, mut octave) = (0, 0, 0, 0, 0, 0);
    let mut errs = Vec::new();
    for (&e, &g) in est.f0_hz.iter().zip(gt) {
        if g > 0.0 {
            n_mel += 1;
            if e > 0.0 {
                voiced += 1;
                let c = 1200.0 * (e / g).log2();
                errs.push(c.abs());
                if c.abs() < 50.0 {
                    correct += 1;
                } else if (c.abs() - 1200.0).abs() < 50.0 || (c.abs() - 2400.0).abs() < 50.0 {
                    octave += 1;
                }
            }
        } else {
            n_rest += 1;
            if e > 0.0 {
                fa += 1;
            }
        }
    }
    errs.sort_by(f32::total_cmp);
    let frac = |a: usize, b: usize| a as f32 / b.max(1) as f32;
    Scores {
        voicing_recall: frac(voiced, n_mel),
        false_alarm: frac(fa, n_rest),
        raw_pitch_accuracy: frac(correct, n_mel),
        octave_errors: frac(octave, n_mel),
        median_abs_cents: errs.get(errs.len() / 2).copied().unwrap_or(f32::INFINITY),
    }
}

#[test]
fn pure_sine_melody() {
    let cfg = AnalysisConfig::default();
    let notes = melody_notes();
    let end = notes.last().map_or(0.0, |n| n.t0 + n.dur) + 0.5;
    let mut x = vec![0.0_f32; (end * SR) as usize];
    render(&mut x, &notes, &[0.3]);
    let est = extract_melody(&x, &cfg, &MelodyConfig::default());
    let s = score(&est, &truth(&notes, est.f0_hz.len(), &cfg, 0.0));
    eprintln!("pure sine melody: {s:?}");
    assert!(s.median_abs_cents < 50.0, "{s:?}");
    assert!(s.voicing_recall > 0.9, "{s:?}");
    assert!(s.false_alarm < 0.2, "{s:?}");
}

/// The melody (transposed by `shift` semitones, lead partials `lead`, `vib` cents of vibrato)
/// over a bass line two octaves below it that is twice as loud as a sawtooth lead, a sustained
/// chord pad and noise-burst drums.
fn mix(shift: f32, lead: &[f32], vib: f32) -> (Vec<f32>, Vec<Note>) {
    let mut notes = melody_notes();
    for n in &mut notes {
        n.midi += shift;
    }
    let end = notes.last().map_or(0.0, |n| n.t0 + n.dur) + 0.5;
    let mut x = vec![0.0_f32; (end * SR) as usize];
    render_vib(&mut x, &notes, lead, vib);
    // Bass: chord roots/fifths two octaves below the melody, 0.5-s notes, 10 partials.
    let bass: Vec<f32> = [36.0, 43.0, 33.0, 40.0, 41.0, 36.0, 43.0, 38.0]
        .iter()
        .cycle()
        .take(22)
        .map(|m| m + shift)
        .collect();
    render(&mut x, &sequence(0.0, 0.5, &bass), &saw(0.24, 10));
    // Pad: sustained triads (C, Am, F, G), 2 s each, 4 soft partials per note.
    let chords = [
        [48.0, 52.0, 55.0],
        [45.0, 48.0, 52.0],
        [53.0, 57.0, 60.0],
        [55.0, 59.0, 62.0],
    ];
    for (i, ch) in chords.iter().cycle().take(6).enumerate() {
        for &m in ch {
            let n = Note {
                t0: i as f32 * 2.0,
                dur: 2.0,
                midi: m + shift,
            };
            render(&mut x, &[n], &[0.05, 0.025, 0.012, 0.006]);
        }
    }
    drums(&mut x, 0.5, 0.3);
    (x, notes)
}

/// Sawtooth-like partial amplitudes `a / k`, `k = 1..=n`.
fn saw(a: f32, n: usize) -> Vec<f32> {
    (1..=n).map(|k| a / k as f32).collect()
}

fn full_mix() -> (Vec<f32>, Vec<Note>) {
    mix(0.0, &saw(0.12, 10), 0.0)
}

#[test]
fn harmonic_melody_in_a_mix() {
    let cfg = AnalysisConfig::default();
    let (x, notes) = full_mix();
    let est = extract_melody(&x, &cfg, &MelodyConfig::default());
    let s = score(&est, &truth(&notes, est.f0_hz.len(), &cfg, 0.0));
    eprintln!("harmonic melody in a mix: {s:?}");
    assert!(s.raw_pitch_accuracy >= 0.7, "{s:?}");
    assert!(s.octave_errors < 0.05, "{s:?}");
}

/// A voice-like lead (2nd partial strongest, 30-cent vibrato, quieter than the sawtooth) an
/// octave lower, in the same kind of mix.
#[test]
fn vocal_like_lead_with_vibrato_in_a_mix() {
    let cfg = AnalysisConfig::default();
    let lead: Vec<f32> = [0.6, 1.0, 0.8, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1]
        .iter()
        .map(|a| a * 0.08)
        .collect();
    let (x, notes) = mix(-12.0, &lead, 30.0);
    let est = extract_melody(&x, &cfg, &MelodyConfig::default());
    let s = score(&est, &truth(&notes, est.f0_hz.len(), &cfg, 30.0));
    eprintln!("vocal-like lead with vibrato in a mix: {s:?}");
    assert!(s.raw_pitch_accuracy >= 0.7, "{s:?}");
    assert!(s.octave_errors < 0.05, "{s:?}");
}

#[test]
fn silence_short_and_empty_inputs() {
    let cfg = AnalysisConfig::default();
    let m = MelodyConfig::default();
    let silent = extract_melody(&vec![0.0; 5 * 22_050], &cfg, &m);
    assert_eq!(silent.f0_hz.len(), 5 * 22_050 / 512 + 1);
    assert!(silent.f0_hz.iter().all(|&f| f == 0.0));

    let empty = extract_melody(&[], &cfg, &m);
    assert_eq!(empty.f0_hz.len(), 1);
    assert_eq!(empty.f0_hz[0], 0.0);

    let n = (0.1 * SR) as usize;
    let mut short = vec![0.0_f32; n];
    render(&mut short, &sequence(0.0, 0.1, &[69.0]), &[0.3]);
    let tr = extract_melody(&short, &cfg, &m);
    assert_eq!(tr.f0_hz.len(), n / 512 + 1);
    assert!(tr.f0_hz.iter().all(|f| f.is_finite() && *f >= 0.0));
}

#[test]
fn deterministic() {
    let cfg = AnalysisConfig::default();
    let (x, _) = full_mix();
    let a = extract_melody(&x, &cfg, &MelodyConfig::default());
    let b = extract_melody(&x, &cfg, &MelodyConfig::default());
    assert_eq!(a, b);
}

/// Speed on a 4-minute mix (the synthetic mix looped); timing is printed, not asserted tightly.
#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn four_minute_speed() {
    let cfg = AnalysisConfig::default();
    let (x, _) = full_mix();
    let n = (240.0 * SR) as usize;
    let long: Vec<f32> = x.iter().cycle().take(n).copied().collect();
    let t = std::time::Instant::now();
    let tr = extract_melody(&long, &cfg, &MelodyConfig::default());
    let secs = t.elapsed().as_secs_f64();
    eprintln!("4-minute mix: {} frames in {secs:.3} s", tr.f0_hz.len());
    assert!(secs < 10.0);
}

#[test]
fn demo_vocal_pop_song() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/audio/demo/Karissa_Hobbs_-_Lets_Go_Fishin.ogg");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let audio =
        match phrasewise::audio::decode_file(&path, &phrasewise::audio::DecodeOptions::default()) {
            Ok(a) => a,
            Err(e) => panic!("decoding {}: {e}", path.display()),
        };
    let cfg = AnalysisConfig::default();
    let t = std::time::Instant::now();
    let tr = extract_melody(&audio.samples, &cfg, &MelodyConfig::default());
    let secs = t.elapsed().as_secs_f64();
    let mut voiced: Vec<f32> = tr.f0_hz.iter().copied().filter(|&f| f > 0.0).collect();
    voiced.sort_by(f32::total_cmp);
    let frac = voiced.len() as f32 / tr.f0_hz.len() as f32;
    let median = voiced.get(voiced.len() / 2).copied().unwrap_or(0.0);
    eprintln!(
        "demo song: {:.1} s, {} frames in {secs:.3} s, voiced {:.2}, median f0 {median:.1} Hz",
        audio.duration(),
        tr.f0_hz.len(),
        frac
    );
    assert!((0.2..=0.95).contains(&frac), "voiced fraction {frac}");
    assert!((150.0..=800.0).contains(&median), "median f0 {median}");
}
