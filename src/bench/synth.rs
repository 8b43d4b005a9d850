//! The audio of a planned benchmark song: the style's drum, bass, chord and lead patterns on
//! the plan's exact bar grid, with what varies between real recordings of one style drawn per
//! song: key and mode, tuning and per-instrument detuning, levels, swing, timing jitter,
//! dropped and ghost hits, timbre (partials, brightness, attack), fills and crashes at
//! section changes, the arrangement of its sections and its own lead motifs.
//!
//! The drums, bass, pads and sax lead are [`crate::demo`]'s instruments; the other voices
//! are here.

use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::styles::{Comp, Lead, MusicStyle, Perc, STYLES};
use crate::demo::{self, add_hat, add_kick, add_lead, add_snare, add_tone, midi_hz, span};

/// Sample rate of the songs: the analysis rate, so nothing is resampled.
pub const SAMPLE_RATE: u32 = crate::audio::ANALYSIS_SR;

/// One planned song: everything but its audio.
#[derive(Clone, Debug)]
pub(crate) struct SongPlan {
    /// File stem, `STYLE-NN`.
    pub name: String,
    /// Index into [`STYLES`].
    pub style: usize,
    /// In the test split.
    pub test: bool,
    /// Tempo (BPM).
    pub bpm: f64,
    /// Silence before the first downbeat (s).
    pub lead_in: f64,
    /// Bars in all (unlabeled intro and outro bars included).
    pub bars: usize,
    /// Labeled phrases: (first bar, bars, library phrase index).
    pub phrases: Vec<(usize, usize, usize)>,
    /// Seed of the song's audio.
    pub audio_seed: u64,
}

impl SongPlan {
    /// The music style.
    pub fn music(&self) -> &'static MusicStyle {
        &STYLES[self.style]
    }

    /// Seconds per bar.
    pub fn bar_s(&self) -> f64 {
        self.music().meter as f64 * 60.0 / self.bpm
    }

    /// Time of the downbeat of `bar` (s); `bars` gives the end of the last bar.
    pub fn downbeat(&self, bar: usize) -> f64 {
        self.lead_in + bar as f64 * self.bar_s()
    }
}

const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

/// How much of the band plays in a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrangement {
    /// Everything, lead included.
    Full,
    /// Drums, bass and chords.
    Groove,
    /// Bass, chords and light percussion.
    Sparse,
    /// Chords and lead only.
    Break,
}

/// A harmonic voice: partial count, amplitude roll-off (`1/h^rolloff`), attack, decay rate
/// (0: sustained), vibrato depth (share of the pitch) and a detuned second voice.
#[derive(Clone, Copy, Debug)]
struct Timbre {
    harmonics: usize,
    rolloff: f64,
    attack: f64,
    decay: f64,
    vibrato: f64,
    chorus_cents: f64,
    odd_boost: f64,
}

/// A note: start, duration (s), frequency, amplitude.
#[derive(Clone, Copy, Debug)]
struct Note {
    t: f64,
    dur: f64,
    hz: f64,
    amp: f32,
}

/// Adds `note` played with `timbre`.
fn voice(out: &mut [f32], sr: f64, note: Note, timb: &Timbre) {
    let (a, b) = span(sr, note.t, note.dur + 0.05, out.len());
    let voices: &[(f64, f64)] = if timb.chorus_cents > 0.0 {
        &[(1.0, 0.6), (2f64.powf(timb.chorus_cents / 1200.0), 0.4)]
    } else {
        &[(1.0, 1.0)]
    };
    let nyquist = sr / 2.2;
    for &(ratio, gain) in voices {
        let hz = note.hz * ratio;
        let mut phase = 0.0f64;
        for (i, o) in out[a..b].iter_mut().enumerate() {
            let x = i as f64 / sr;
            let f = hz * (1.0 + timb.vibrato * (TAU * 5.2 * x).sin());
            phase += TAU * f / sr;
            let release = ((note.dur + 0.05 - x) / 0.05).clamp(0.0, 1.0);
            let env = (x / timb.attack).min(1.0) * (-x * timb.decay).exp() * release;
            let mut v = 0.0;
            for h in 1..=timb.harmonics {
                if hz * h as f64 > nyquist {
                    break;
                }
                let odd = if h % 2 == 1 { timb.odd_boost } else { 1.0 };
                // upper partials fade faster in decaying voices (a struck string's sound)
                let fade = (-x * timb.decay * 0.5 * (h - 1) as f64).exp();
                v += odd * fade * (phase * h as f64).sin() / (h as f64).powf(timb.rolloff);
            }
            *o += note.amp * (gain * env * v) as f32;
        }
    }
}

/// A two-tone metallic cowbell.
fn add_cowbell(out: &mut [f32], sr: f64, t: f64, amp: f32, tune: f64) {
    let (a, b) = span(sr, t, 0.25, out.len());
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let v = (TAU * 562.0 * tune * x).sin().signum() * 0.5 + (TAU * 845.0 * tune * x).sin();
        *o += amp * (v * (-x * 18.0).exp()) as f32;
    }
}

/// A short high wooden click (claves).
fn add_clave(out: &mut [f32], sr: f64, t: f64, amp: f32, tune: f64) {
    let (a, b) = span(sr, t, 0.08, out.len());
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        *o += amp * ((TAU * 2500.0 * tune * x).sin() * (-x * 60.0).exp()) as f32;
    }
}

/// A crash cymbal: long bright noise.
fn add_crash(out: &mut [f32], sr: f64, t: f64, amp: f32, rng: &mut demo::Rng) {
    let (a, b) = span(sr, t, 1.2, out.len());
    let mut prev = 0.0f32;
    for (i, o) in out[a..b].iter_mut().enumerate() {
        let x = i as f64 / sr;
        let w = rng.next_f32();
        *o += amp * (w - prev) * (-x * 3.5).exp() as f32;
        prev = w;
    }
}

/// What one song draws once: tuning, levels, feel, timbres, harmony, motifs.
struct Feel {
    tuning: f64,
    detune: [f64; 3],
    level: [f32; 8],
    swing: f64,
    jitter: f64,
    drop: f64,
    ghost: f64,
    fill: f64,
    crash: f64,
    tonic: i32,
    scale: [i32; 7],
    progressions: [[usize; 4]; 2],
    comp: Timbre,
    lead: Timbre,
    motifs: [Vec<(usize, usize, i32)>; 2],
    perc_tune: f64,
}

/// Level indices of [`Feel::level`].
const KICK: usize = 0;
const SNARE: usize = 1;
const HAT: usize = 2;
const PERC: usize = 3;
const BASS: usize = 4;
const COMP: usize = 5;
const LEAD: usize = 6;
const NOISE: usize = 7;

fn comp_timbre(kind: Comp, rng: &mut StdRng) -> Timbre {
    let (harmonics, rolloff, attack, decay, odd) = match kind {
        Comp::Pad => (3, 1.0, 0.25, 0.0, 1.0),
        Comp::Pluck => (6, 1.3, 0.005, 3.0, 1.0),
        Comp::Reed => (7, 0.9, 0.02, 0.0, 1.6),
    };
    Timbre {
        harmonics: (harmonics + rng.random_range(0..=2usize)).saturating_sub(1),
        rolloff: rolloff * rng.random_range(0.85..1.15),
        attack: attack * rng.random_range(0.7..1.4),
        decay: decay * rng.random_range(0.8..1.25),
        vibrato: 0.0,
        chorus_cents: if kind == Comp::Reed {
            rng.random_range(6.0..14.0)
        } else {
            0.0
        },
        odd_boost: odd,
    }
}

fn lead_timbre(kind: Lead, rng: &mut StdRng) -> Timbre {
    let (harmonics, rolloff, attack, vibrato, chorus, odd) = match kind {
        Lead::Strings => (6, 1.1, 0.09, 0.004, 8.0, 1.0),
        Lead::Reed => (7, 0.9, 0.02, 0.0, 10.0, 1.6),
        Lead::Sax => (8, 0.7, 0.02, 0.004, 0.0, 1.0),
        Lead::Brass => (8, 0.8, 0.03, 0.002, 0.0, 1.0),
        Lead::Flute => (2, 2.0, 0.05, 0.006, 0.0, 1.0),
    };
    Timbre {
        harmonics: (harmonics + rng.random_range(0..=2usize))
            .saturating_sub(1)
            .max(1),
        rolloff: rolloff * rng.random_range(0.85..1.15),
        attack: attack * rng.random_range(0.7..1.4),
        decay: 0.0,
        vibrato: vibrato * rng.random_range(0.5..1.5),
        chorus_cents: chorus * rng.random_range(0.7..1.3),
        odd_boost: odd,
    }
}

/// A lead motif of two bars: (eighth slot, length in eighths, scale degree above the chord
/// root), `density` notes per beat on average.
fn motif(rng: &mut StdRng, meter: usize, density: f64) -> Vec<(usize, usize, i32)> {
    let slots = meter * 4;
    let onsets: Vec<usize> = (0..slots)
        .filter(|&s| s == 0 || rng.random_bool((density / 2.0).clamp(0.0, 1.0)))
        .collect();
    let mut deg = [0, 2, 4][rng.random_range(0..3)];
    onsets
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = onsets.get(i + 1).copied().unwrap_or(slots);
            if s % 2 == 0 {
                deg = [0, 2, 4, 7][rng.random_range(0..4)];
            } else {
                deg = (deg + rng.random_range(-2..=2)).clamp(-2, 9);
            }
            (s, end - s, deg)
        })
        .collect()
}

fn feel(style: &MusicStyle, rng: &mut StdRng) -> Feel {
    let mut level = [1.0f32; 8];
    for l in &mut level {
        *l = rng.random_range(-0.4f32..0.4).exp();
    }
    level[NOISE] = rng.random_range(0.002..0.01);
    let p = style.progressions;
    Feel {
        tuning: rng.random_range(-30.0..30.0),
        detune: [(); 3].map(|()| rng.random_range(-20.0..20.0)),
        level,
        swing: rng.random_range(style.swing.0..=style.swing.1),
        jitter: rng.random_range(0.0..0.008),
        drop: rng.random_range(0.0..0.08),
        ghost: rng.random_range(0.0..0.06),
        fill: rng.random_range(0.2..0.8),
        crash: rng.random_range(0.2..0.8),
        tonic: 45 + rng.random_range(0..12),
        scale: if rng.random_bool(style.minor) {
            MINOR
        } else {
            MAJOR
        },
        progressions: [
            p[rng.random_range(0..p.len())],
            p[rng.random_range(0..p.len())],
        ],
        comp: comp_timbre(style.comp_kind, rng),
        lead: lead_timbre(style.lead, rng),
        motifs: [
            motif(rng, style.meter, style.lead_density),
            motif(rng, style.meter, style.lead_density),
        ],
        perc_tune: rng.random_range(0.92..1.08),
    }
}

impl Feel {
    /// MIDI pitch of scale degree `d` (may be negative or above 6) over the tonic.
    fn degree(&self, d: i32) -> i32 {
        let (oct, i) = (d.div_euclid(7), d.rem_euclid(7) as usize);
        self.tonic + 12 * oct + self.scale[i]
    }

    /// Frequency of MIDI pitch `m` for instrument `inst` (0 bass, 1 chords, 2 lead).
    fn hz(&self, m: f64, inst: usize) -> f64 {
        midi_hz(m + (self.tuning + self.detune[inst]) / 100.0)
    }
}

/// Per bar of the song: its section's arrangement, the section's index and the bar's chord
/// (a scale degree). Sections start at phrase boundaries and last 1–3 phrases; unlabeled
/// intro bars are a section of their own.
fn bar_map(plan: &SongPlan, feel: &Feel, rng: &mut StdRng) -> Vec<(Arrangement, usize, i32)> {
    let mut starts: Vec<usize> = Vec::new();
    if plan.phrases.first().is_none_or(|p| p.0 > 0) {
        starts.push(0);
    }
    let mut k = 0;
    while k < plan.phrases.len() {
        starts.push(plan.phrases[k].0);
        k += rng.random_range(1..=3);
    }
    let kinds: Vec<Arrangement> = (0..starts.len())
        .map(|i| match (i, rng.random_range(0..10)) {
            (0, _) | (_, 0..=1) => Arrangement::Sparse,
            (_, 2) => Arrangement::Break,
            (_, 3..=5) => Arrangement::Groove,
            _ => Arrangement::Full,
        })
        .collect();
    let mut out = Vec::with_capacity(plan.bars);
    let mut sec = 0;
    for b in 0..plan.bars {
        while sec + 1 < starts.len() && starts[sec + 1] <= b {
            sec += 1;
        }
        let prog = &feel.progressions[usize::from(kinds[sec] == Arrangement::Full)];
        let chord = prog[(b - starts[sec]) % 4] as i32;
        out.push((kinds[sec], sec, chord));
    }
    out
}

/// Renders `plan` (mono, [`SAMPLE_RATE`]), deterministic in its audio seed.
pub(crate) fn render(plan: &SongPlan) -> Vec<f32> {
    render_style(plan, plan.music())
}

/// [`render`] with `style` instead of the plan's own: the metre benchmark
/// ([`super::metre_set`]) plays styles of its own on the same instruments. `plan.bpm` is
/// the rate of the style's pattern unit (`style.meter` units per bar, four pattern steps each).
pub(crate) fn render_style(plan: &SongPlan, style: &MusicStyle) -> Vec<f32> {
    let sr = f64::from(SAMPLE_RATE);
    let bar_s = style.meter as f64 * 60.0 / plan.bpm;
    let downbeat = |b: usize| plan.lead_in + b as f64 * bar_s;
    let mut rng = StdRng::seed_from_u64(plan.audio_seed);
    let mut noise = demo::Rng::new(rng.random());
    let feel = feel(style, &mut rng);
    let bars = bar_map(plan, &feel, &mut rng);
    let n = ((downbeat(plan.bars) + 2.0) * sr) as usize;
    let mut out = vec![0.0f32; n];
    for b in 0..plan.bars {
        let next = bars.get(b + 1).copied();
        let section_ends = next.is_none_or(|nb| nb.1 != bars[b].1);
        let bar = Bar {
            t: downbeat(b),
            sixteenth: 60.0 / plan.bpm / 4.0,
            arrangement: bars[b].0,
            chord: bars[b].2,
            next_chord: next.map_or(0, |nb| nb.2),
            fill: section_ends && next.is_some() && rng.random_bool(feel.fill),
            crash: b > 0 && bars[b - 1].1 != bars[b].1 && rng.random_bool(feel.crash),
            motif: usize::from(bars[b].0 == Arrangement::Full),
            motif_bar: b % 2,
        };
        let mut ctx = Ctx {
            out: &mut out,
            sr,
            style,
            feel: &feel,
            rng: &mut rng,
            noise: &mut noise,
        };
        ctx.drums(&bar);
        ctx.bass(&bar);
        ctx.chords(&bar);
        ctx.lead(&bar);
    }
    for o in &mut out {
        *o += feel.level[NOISE] * noise.next_f32();
    }
    let peak = out.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(1e-6);
    let g = rng.random_range(0.5f32..0.95) / peak;
    out.iter_mut().for_each(|v| *v *= g);
    out
}

/// One bar to play.
struct Bar {
    t: f64,
    sixteenth: f64,
    arrangement: Arrangement,
    chord: i32,
    next_chord: i32,
    fill: bool,
    crash: bool,
    motif: usize,
    motif_bar: usize,
}

/// The song being rendered.
struct Ctx<'a> {
    out: &'a mut [f32],
    sr: f64,
    style: &'a MusicStyle,
    feel: &'a Feel,
    rng: &'a mut StdRng,
    noise: &'a mut demo::Rng,
}

/// Hit strength of pattern character `c` (0 for a rest).
fn strength(c: u8) -> f32 {
    match c {
        b'x' => 1.0,
        b'o' => 0.5,
        _ => 0.0,
    }
}

impl Ctx<'_> {
    /// Time of sixteenth `k` of `bar`: swung, with the song's timing jitter.
    fn at(&mut self, bar: &Bar, k: usize) -> f64 {
        let eighth = 2.0 * bar.sixteenth;
        let swing = match k % 4 {
            2 => self.feel.swing * eighth,
            1 | 3 => self.feel.swing * eighth / 2.0,
            _ => 0.0,
        };
        let j = self.feel.jitter;
        let jitter = if j > 0.0 {
            self.rng.random_range(-j..j)
        } else {
            0.0
        };
        (bar.t + k as f64 * bar.sixteenth + swing + jitter).max(0.0)
    }

    /// Whether a pattern hit is played (the song drops a few), or a rest gets a ghost note.
    fn hit(&mut self, c: u8, ghostable: bool) -> f32 {
        let s = strength(c);
        if s > 0.0 {
            if self.rng.random_bool(self.feel.drop) {
                0.0
            } else {
                s
            }
        } else if ghostable && self.rng.random_bool(self.feel.ghost) {
            0.3
        } else {
            0.0
        }
    }

    fn drums(&mut self, bar: &Bar) {
        let (st, lv) = (self.style, self.feel.level);
        let (drums, light) = match bar.arrangement {
            Arrangement::Full | Arrangement::Groove => (true, false),
            Arrangement::Sparse => (false, true),
            Arrangement::Break => (false, false),
        };
        if bar.crash && drums {
            let t = bar.t;
            add_crash(self.out, self.sr, t, 0.25 * lv[HAT], self.noise);
        }
        let steps = st.meter * 4;
        let fill_from = if bar.fill { steps - 4 } else { steps };
        for k in 0..steps {
            let t = self.at(bar, k);
            let (kick, snare, hat, perc) = (
                st.kick.as_bytes()[k],
                st.snare.as_bytes()[k],
                st.hat.as_bytes()[k],
                st.perc.as_bytes()[k],
            );
            if drums {
                let a = self.hit(kick, false);
                if a > 0.0 {
                    add_kick(self.out, self.sr, t, 0.8 * a * lv[KICK]);
                }
                let a = if k >= fill_from {
                    0.3 + 0.2 * (k - fill_from) as f32
                } else {
                    self.hit(snare, true)
                };
                if a > 0.0 {
                    add_snare(self.out, self.sr, t, 0.4 * a * lv[SNARE], self.noise);
                }
            }
            if drums || light {
                let a = self.hit(hat, drums) * if light { 0.6 } else { 1.0 };
                if a > 0.0 {
                    add_hat(self.out, self.sr, t, 0.14 * a * lv[HAT], self.noise);
                }
                let a = self.hit(perc, false);
                let (amp, tune) = (0.2 * a * lv[PERC], self.feel.perc_tune);
                match st.perc_kind {
                    _ if a == 0.0 => {}
                    Perc::Cowbell => add_cowbell(self.out, self.sr, t, amp, tune),
                    Perc::Clave => add_clave(self.out, self.sr, t, amp, tune),
                    Perc::None => {}
                }
            }
        }
    }

    fn bass(&mut self, bar: &Bar) {
        if bar.arrangement == Arrangement::Break {
            return;
        }
        let f = self.feel;
        let root = f.degree(bar.chord) - 12;
        let mut walk = 0;
        for (k, &c) in self.style.bass.as_bytes().iter().enumerate() {
            let m = match c {
                b'1' => root,
                b'3' => f.degree(bar.chord + 2) - 12,
                b'5' => f.degree(bar.chord + 4) - 12,
                b'8' => root + 12,
                b'w' => {
                    walk += 1;
                    match walk {
                        1 => f.degree(bar.chord + 2) - 12,
                        2 => f.degree(bar.chord + 4) - 12,
                        _ => f.degree(bar.next_chord) - 13,
                    }
                }
                _ => continue,
            };
            let t = self.at(bar, k);
            let dur = self.style.bass_len * bar.sixteenth;
            let hz = f.hz(f64::from(m), 0);
            add_tone(self.out, self.sr, t, dur, hz, 0.3 * f.level[BASS], 4, 0.01);
        }
    }

    fn chords(&mut self, bar: &Bar) {
        let (f, st) = (self.feel, self.style);
        let steps = st.meter * 4;
        let hits: Vec<usize> = (0..steps)
            .filter(|&k| st.comp.as_bytes()[k] == b'x')
            .collect();
        let triad = [0, 2, 4].map(|d| f.degree(bar.chord + d));
        for (i, &k) in hits.iter().enumerate() {
            let end = hits.get(i + 1).copied().unwrap_or(steps);
            let mut dur = (end - k) as f64 * bar.sixteenth;
            if st.comp_kind == Comp::Reed {
                dur *= 0.55;
            }
            let t = self.at(bar, k);
            for &m in &triad {
                let hz = f.hz(f64::from(m), 1);
                let amp = 0.07 * f.level[COMP];
                if st.comp_kind == Comp::Pad {
                    add_tone(self.out, self.sr, t, dur, hz, amp, f.comp.harmonics, 0.25);
                } else {
                    voice(self.out, self.sr, Note { t, dur, hz, amp }, &f.comp);
                }
            }
        }
    }

    fn lead(&mut self, bar: &Bar) {
        if !matches!(bar.arrangement, Arrangement::Full | Arrangement::Break) {
            return;
        }
        let (f, st) = (self.feel, self.style);
        let slots = st.meter * 2;
        let legato = if matches!(st.lead, Lead::Reed | Lead::Brass) {
            0.5
        } else {
            0.9
        };
        for &(slot, len, deg) in &f.motifs[bar.motif] {
            if slot / slots != bar.motif_bar {
                continue;
            }
            let deg = if self.rng.random_bool(0.15) {
                deg + self.rng.random_range(-1..=1)
            } else {
                deg
            };
            let t = self.at(bar, 2 * (slot % slots));
            let dur = len as f64 * 2.0 * bar.sixteenth * legato;
            let hz = f.hz(f64::from(f.degree(bar.chord + deg) + 12), 2);
            let amp = 0.16 * f.level[LEAD];
            if st.lead == Lead::Sax {
                add_lead(self.out, self.sr, t, dur, hz, amp);
            } else {
                voice(self.out, self.sr, Note { t, dur, hz, amp }, &f.lead);
            }
        }
    }
}
