//! The embedded demo song: an original, deterministic synthesis (drums, bass, pad chords and
//! a lead melody in sections intro–A–B–A–B–outro) that ships inside the binary, so Phrasewise
//! opens with music on a machine that has none. Because it is synthesised, its beat grid,
//! bars, sections and melody are known exactly, which the tests use as ground truth.

/// Tempo of the demo song (BPM).
pub const DEMO_BPM: f64 = 118.0;
/// Beats per bar.
pub const DEMO_METER: usize = 4;
/// Sections as (label, bars).
pub const DEMO_SECTIONS: [(&str, usize); 6] = [
    ("intro", 4),
    ("A", 8),
    ("B", 8),
    ("A", 8),
    ("B", 8),
    ("outro", 4),
];

/// The rendered demo song with its ground truth.
#[derive(Debug, Clone)]
pub struct DemoSong {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Beat times (s).
    pub beats: Vec<f64>,
    /// Downbeat times (s).
    pub downbeats: Vec<f64>,
    /// Section (start s, end s, label).
    pub sections: Vec<(f64, f64, String)>,
    /// Lead melody notes (start s, end s, Hz).
    pub melody: Vec<(f64, f64, f64)>,
}

/// Small deterministic PRNG (xorshift64*), seeded, for the noise instruments (also used by
/// the learning benchmark's songs, `crate::bench`).
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (a zero seed would stay zero: it is replaced).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x5eed_1234_abcd_0001
        } else {
            seed
        })
    }

    /// Uniform in [-1, 1).
    pub(crate) fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((v >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

pub(crate) fn midi_hz(m: f64) -> f64 {
    440.0 * 2f64.powf((m - 69.0) / 12.0)
}

/// Chord roots (MIDI) and triads per bar of section A.
const PROG_A: [(i32, [i32; 3]); 4] = [
    (57, [57, 60, 64]),
    (53, [53, 57, 60]),
    (48, [55, 60, 64]),
    (55, [55, 59, 62]),
];
/// Chord roots (MIDI) and triads per bar of section B.
const PROG_B: [(i32, [i32; 3]); 4] = [
    (53, [53, 57, 60]),
    (55, [55, 59, 62]),
    (52, [55, 59, 64]),
    (57, [57, 60, 64]),
];
/// Lead phrase of section A: 8 bars of (beat offset in phrase, length in beats, MIDI); rests
/// at the ends of bars 4 and 8.
const LEAD_A: [(f64, f64, f64); 14] = [
    (0.0, 1.0, 76.0),
    (1.0, 1.0, 74.0),
    (2.0, 2.0, 72.0),
    (4.0, 1.5, 71.0),
    (5.5, 0.5, 72.0),
    (6.0, 2.0, 74.0),
    (8.0, 2.0, 72.0),
    (10.0, 1.0, 71.0),
    (11.0, 3.0, 69.0),
    (16.0, 2.0, 76.0),
    (18.0, 2.0, 79.0),
    (20.0, 4.0, 77.0),
    (24.0, 4.0, 76.0),
    (28.0, 2.0, 72.0),
];
/// Lead phrase of section B, same layout as [`LEAD_A`].
const LEAD_B: [(f64, f64, f64); 12] = [
    (0.0, 1.0, 81.0),
    (1.0, 1.0, 79.0),
    (2.0, 1.0, 77.0),
    (3.0, 1.0, 76.0),
    (4.0, 4.0, 74.0),
    (8.0, 2.0, 76.0),
    (10.0, 2.0, 77.0),
    (12.0, 2.0, 79.0),
    (16.0, 4.0, 81.0),
    (20.0, 4.0, 79.0),
    (24.0, 3.0, 76.0),
    (27.0, 2.0, 72.0),
];

/// Renders the demo song at `sample_rate` Hz (mono). Deterministic: the same bytes every time.
pub fn render_demo(sample_rate: u32) -> DemoSong {
    let sr = f64::from(sample_rate);
    let beat = 60.0 / DEMO_BPM;
    let total_bars: usize = DEMO_SECTIONS.iter().map(|s| s.1).sum();
    let lead_in = 0.25; // a little silence before the first downbeat
    let tail = 1.5;
    let n = ((lead_in + (total_bars * DEMO_METER) as f64 * beat + tail) * sr) as usize;
    let mut out = vec![0.0f32; n];
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);

    let mut beats = Vec::new();
    let mut downbeats = Vec::new();
    let mut sections = Vec::new();
    let mut melody = Vec::new();
    let mut bar_index = 0usize;
    for (label, bars) in DEMO_SECTIONS {
        let sec_start = lead_in + (bar_index * DEMO_METER) as f64 * beat;
        for b in 0..bars {
            let bar_t = lead_in + ((bar_index + b) * DEMO_METER) as f64 * beat;
            downbeats.push(bar_t);
            let chord = if label == "B" {
                PROG_B[b % 4]
            } else {
                PROG_A[b % 4]
            };
            let bar = Bar {
                t: bar_t,
                beat,
                label,
                chord,
            };
            render_bar(&mut out, sr, &bar, &mut rng, &mut beats);
        }
        // lead melody over the section (A and B only), one 8-bar phrase repeated
        if label == "A" || label == "B" {
            let notes: &[(f64, f64, f64)] = if label == "A" { &LEAD_A } else { &LEAD_B };
            for rep in 0..(bars / 8).max(1) {
                for &(off, len, m) in notes {
                    let t = sec_start + (rep as f64 * 32.0 + off) * beat;
                    let d = len * beat * 0.92;
                    add_lead(&mut out, sr, t, d, midi_hz(m), 0.22);
                    melody.push((t, t + d, midi_hz(m)));
                }
            }
        }
        bar_index += bars;
        let sec_end = lead_in + (bar_index * DEMO_METER) as f64 * beat;
        sections.push((sec_start, sec_end, label.to_string()));
    }
    // normalise to -1 dBFS
    let peak = out.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(1e-6);
    let g = 0.89 / peak;
    out.iter_mut().for_each(|v| *v *= g);
    DemoSong {
        samples: out,
        sample_rate,
        beats,
        downbeats,
        sections,
        melody,
    }
}

/// One bar of the demo: its start, the beat period, its section and its chord.
struct Bar {
    t: f64,
    beat: f64,
    label: &'static str,
    chord: (i32, [i32; 3]),
}

/// Adds a bar's drums, bass and pad chord to `out` and its beat times to `beats`.
fn render_bar(out: &mut [f32], sr: f64, bar: &Bar, rng: &mut Rng, beats: &mut Vec<f64>) {
    let (root, triad) = bar.chord;
    let beat = bar.beat;
    let energetic = bar.label == "B";
    for k in 0..DEMO_METER {
        let t = bar.t + k as f64 * beat;
        beats.push(t);
        // drums
        if k % 2 == 0 || energetic {
            add_kick(out, sr, t, 0.9);
        }
        if k % 2 == 1 && bar.label != "intro" {
            add_snare(out, sr, t, 0.45, rng);
        }
        for half in 0..2 {
            let amp = if half == 0 { 0.12 } else { 0.18 };
            add_hat(out, sr, t + half as f64 * beat / 2.0, amp, rng);
        }
        // bass: root on every beat, octave on the off-beat in B
        add_tone(
            out,
            sr,
            t,
            beat * 0.9,
            midi_hz(f64::from(root) - 12.0),
            0.32,
            4,
            0.01,
        );
        if energetic {
            let hz = midi_hz(f64::from(root));
            add_tone(out, sr, t + beat / 2.0, beat * 0.4, hz, 0.18, 4, 0.01);
        }
    }
    // pad chord for the whole bar (not in intro)
    if bar.label != "intro" {
        for &m in &triad {
            let hz = midi_hz(f64::from(m));
            add_tone(out, sr, bar.t, beat * 4.0, hz, 0.07, 3, 0.25);
        }
    }
}

pub(crate) fn span(sr: f64, t: f64, dur: f64, len: usize) -> (usize, usize) {
    let a = ((t * sr) as usize).min(len);
    let b = (((t + dur) * sr) as usize).min(len).max(a);
    (a, b)
}

pub(crate) fn add_kick(out: &mut [f32], sr: f64, t: f64, amp: f32) {
    let (a, b) = span(sr, t, 0.35, out.len());
    let mut phase = 0.0f64;
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let f = 45.0 + 75.0 * (-x * 30.0).exp();
        phase += 2.0 * std::f64::consts::PI * f / sr;
        *o += amp * (phase.sin() * (-x * 9.0).exp()) as f32;
    }
}

pub(crate) fn add_snare(out: &mut [f32], sr: f64, t: f64, amp: f32, rng: &mut Rng) {
    let (a, b) = span(sr, t, 0.2, out.len());
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let tone = (2.0 * std::f64::consts::PI * 185.0 * x).sin() * (-x * 25.0).exp();
        let noise = f64::from(rng.next_f32()) * (-x * 18.0).exp();
        *o += amp * (0.4 * tone + 0.8 * noise) as f32;
    }
}

pub(crate) fn add_hat(out: &mut [f32], sr: f64, t: f64, amp: f32, rng: &mut Rng) {
    let (a, b) = span(sr, t, 0.06, out.len());
    let mut prev = 0.0f32;
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let w = rng.next_f32();
        let hp = w - prev; // first difference: crude high-pass
        prev = w;
        *o += amp * hp * (-x * 70.0).exp() as f32;
    }
}

/// A harmonic tone with `harmonics` partials (1/h amplitudes), attack `att` s, release tail.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_tone(
    out: &mut [f32],
    sr: f64,
    t: f64,
    dur: f64,
    hz: f64,
    amp: f32,
    harmonics: usize,
    att: f64,
) {
    let (a, b) = span(sr, t, dur, out.len());
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let env = (x / att).min(1.0) * ((dur - x) / 0.03).clamp(0.0, 1.0);
        let mut v = 0.0;
        for h in 1..=harmonics {
            if hz * h as f64 > sr / 2.2 {
                break;
            }
            v += (2.0 * std::f64::consts::PI * hz * h as f64 * x).sin() / h as f64;
        }
        *o += amp * (env * v) as f32;
    }
}

/// The lead: a bright harmonic tone with gentle vibrato.
pub(crate) fn add_lead(out: &mut [f32], sr: f64, t: f64, dur: f64, hz: f64, amp: f32) {
    let (a, b) = span(sr, t, dur, out.len());
    let mut phase = 0.0f64;
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let f = hz * (1.0 + 0.004 * (2.0 * std::f64::consts::PI * 5.5 * x).sin());
        phase += 2.0 * std::f64::consts::PI * f / sr;
        let env = (x / 0.02).min(1.0) * ((dur - x) / 0.04).clamp(0.0, 1.0);
        let mut v = 0.0;
        for h in 1..=8 {
            v += (phase * h as f64).sin() * 0.7f64.powi(h - 1);
        }
        *o += amp * (env * v) as f32;
    }
}

/// Mono samples as the bytes of a 16-bit PCM WAV file (the benchmark compares them with a
/// file on disk before writing).
pub fn wav_bytes(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut f = Vec::with_capacity(44 + samples.len() * 2);
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&(36 + data_len).to_le_bytes());
    f.extend_from_slice(b"WAVEfmt ");
    f.extend_from_slice(&16u32.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&sample_rate.to_le_bytes());
    f.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(b"data");
    f.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        f.extend_from_slice(&v.to_le_bytes());
    }
    f
}

/// Writes mono samples as a 16-bit PCM WAV file.
pub fn write_wav(path: &std::path::Path, samples: &[f32], sample_rate: u32) -> std::io::Result<()> {
    std::fs::write(path, wav_bytes(samples, sample_rate))
}
