//! The metre and tempo benchmark set (issue 15, item 5): seeded synthesised songs in 3/4,
//! 4/4 and 6/8 with exact beat and downbeat grids, played by [`super::synth`]'s band, and
//! the scores `bench metre` reports.
//!
//! **The right answer.** 3/4 and 4/4: 3 or 4 beats per bar at the quarter-note tempo (a
//! Viennese waltz at 174 BPM is 3 beats per bar at 174, as dancers count it). 6/8 follows the
//! conductor's rule: fast 6/8 (a jig, a 6/8 march) is beaten in two, 2 dotted-quarter beats per
//! bar at the dotted-quarter tempo, the eighths being its triplet subdivision; slow 6/8 (a
//! ballad whose eighths are at most [`SIX_EIGHT_IN_SIX_BPM`]) is counted in six, 6 eighth-note
//! beats per bar at the eighth tempo (a slow waltz is danced to it step by eighth). The grid of
//! each song is written at that level. Since the analysis reports no beat division, a 6/8
//! song's metre counts as right with 2 or with 6 beats per bar; a 3/4 song read as 6 beats per
//! bar (double tempo, two bars as one: the error of issue 15) is wrong.
//!
//! **Tempo.** Strict: within 4 % of the annotated beat tempo (MIREX "accuracy 1",
//! Gouyon et al. 2006, with 4 % instead of 8 %). Relaxed, also reported: within 4 % of the
//! annotated tempo times 2, ½, 3 or ⅓ (one metrical level off, "accuracy 2").

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::styles::{Comp, Lead, MusicStyle, Perc, STYLES};
use super::synth::render_style;
use super::synth::{SAMPLE_RATE, SongPlan};

/// Tolerance of the tempo scores (share of the annotated tempo).
pub const TEMPO_TOLERANCE: f64 = 0.04;

/// Fastest eighth-note tempo (BPM) at which a 6/8 bar is counted in six (see the module
/// documentation); above it, in two.
pub const SIX_EIGHT_IN_SIX_BPM: f64 = 200.0;

/// The metres of the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Metre {
    /// Three quarter-note beats per bar.
    #[serde(rename = "3/4")]
    ThreeFour,
    /// Four quarter-note beats per bar.
    #[serde(rename = "4/4")]
    FourFour,
    /// Two dotted-quarter beats per bar, each of three eighths.
    #[serde(rename = "6/8")]
    SixEight,
}

impl Metre {
    /// All metres, in table order.
    pub const ALL: [Metre; 3] = [Metre::ThreeFour, Metre::FourFour, Metre::SixEight];

    /// Beats per bar of the metre's bar in its main count (6/8: in two).
    pub fn beats_per_bar(self) -> usize {
        match self {
            Metre::ThreeFour => 3,
            Metre::FourFour => 4,
            Metre::SixEight => 2,
        }
    }

    /// Pattern units (the synthesiser's beats) per annotated beat: eighths per dotted quarter
    /// in 6/8.
    fn units_per_beat(self) -> usize {
        match self {
            Metre::SixEight => 3,
            _ => 1,
        }
    }

    /// Whether an analysis that found `beats_per_bar` got this metre right (see the module
    /// documentation for 6/8).
    pub fn accepts(self, beats_per_bar: usize) -> bool {
        match self {
            Metre::SixEight => beats_per_bar == 2 || beats_per_bar == 6,
            m => beats_per_bar == m.beats_per_bar(),
        }
    }

    /// "3/4", "4/4" or "6/8".
    pub fn label(self) -> &'static str {
        match self {
            Metre::ThreeFour => "3/4",
            Metre::FourFour => "4/4",
            Metre::SixEight => "6/8",
        }
    }
}

/// A style of the set: the band's patterns, the metre and the range of annotated beat tempi.
struct MetreStyle {
    music: MusicStyle,
    metre: Metre,
    bpm: (f64, f64),
}

/// A 3/4 ballad: pad chords on the one, eighth-note arpeggio hats, bass 1 and 3.
const BALLAD_34: MusicStyle = MusicStyle {
    name: "ballad-3/4",
    meter: 3,
    bpm: (0.0, 0.0),
    swing: (0.0, 0.0),
    kick: "x...........",
    snare: "............",
    hat: "x.o.o.o.o.o.",
    perc: "............",
    perc_kind: Perc::None,
    bass: "1.......5...",
    bass_len: 6.0,
    comp: "x...........",
    comp_kind: Comp::Pad,
    lead: Lead::Flute,
    lead_density: 0.6,
    minor: 0.5,
    progressions: &[[0, 3, 4, 0], [0, 5, 3, 4]],
    home: &[],
};

/// A jazz waltz: swung ride, brushed snare on 3, walking bass.
const JAZZ_WALTZ: MusicStyle = MusicStyle {
    name: "jazz-waltz",
    meter: 3,
    bpm: (0.0, 0.0),
    swing: (0.2, 0.33),
    kick: "x...........",
    snare: "........o...",
    hat: "x...x.x.x...",
    perc: "............",
    perc_kind: Perc::None,
    bass: "1...w...w...",
    bass_len: 3.5,
    comp: "....x...x...",
    comp_kind: Comp::Pluck,
    lead: Lead::Sax,
    lead_density: 1.0,
    minor: 0.3,
    progressions: &[[1, 4, 0, 0], [0, 5, 1, 4]],
    home: &[],
};

/// A march: bass drum on 1 and 3, snare on 2 and 4, oom-pah bass and chords.
const MARCH: MusicStyle = MusicStyle {
    name: "march",
    meter: 4,
    bpm: (0.0, 0.0),
    swing: (0.0, 0.0),
    kick: "x.......x.......",
    snare: "....x.......x.x.",
    hat: "x...x...x...x...",
    perc: "................",
    perc_kind: Perc::None,
    bass: "1.......5.......",
    bass_len: 2.0,
    comp: "....x.......x...",
    comp_kind: Comp::Reed,
    lead: Lead::Brass,
    lead_density: 1.0,
    minor: 0.2,
    progressions: &[[0, 3, 4, 0], [0, 4, 4, 0], [0, 0, 3, 4]],
    home: &[],
};

/// A 4/4 ballad: eighth-note hats, kick on 1 and the and of 3, backbeat, pads.
const BALLAD_44: MusicStyle = MusicStyle {
    name: "ballad-4/4",
    meter: 4,
    bpm: (0.0, 0.0),
    swing: (0.0, 0.1),
    kick: "x.........x.....",
    snare: "....x.......x...",
    hat: "x.o.x.o.x.o.x.o.",
    perc: "................",
    perc_kind: Perc::None,
    bass: "1.........1.5...",
    bass_len: 5.0,
    comp: "x.......x.......",
    comp_kind: Comp::Pad,
    lead: Lead::Strings,
    lead_density: 0.6,
    minor: 0.5,
    progressions: &[[0, 5, 3, 4], [0, 4, 5, 3]],
    home: &[],
};

/// A slow 6/8 ballad, written in eighth-note units (6 per bar): kick on 1, snare on 4,
/// arpeggiated eighths.
const BALLAD_68: MusicStyle = MusicStyle {
    name: "ballad-6/8",
    meter: 6,
    bpm: (0.0, 0.0),
    swing: (0.0, 0.0),
    kick: "x.......................",
    snare: "............x...........",
    hat: "x...o...o...x...o...o...",
    perc: "........................",
    perc_kind: Perc::None,
    bass: "1...........5...........",
    bass_len: 10.0,
    comp: "x...x...x...x...x...x...",
    comp_kind: Comp::Pluck,
    lead: Lead::Strings,
    lead_density: 0.25,
    minor: 0.5,
    progressions: &[[0, 3, 4, 0], [0, 5, 3, 4]],
    home: &[],
};

/// A fast 6/8 (jig or 6/8 march), eighth-note units: bass drum on 1 and 4, chords on 3 and 6.
const JIG_68: MusicStyle = MusicStyle {
    name: "jig-6/8",
    meter: 6,
    bpm: (0.0, 0.0),
    swing: (0.0, 0.0),
    kick: "x...........x...........",
    snare: "........o...........o...",
    hat: "x...o...o...x...o...o...",
    perc: "........................",
    perc_kind: Perc::None,
    bass: "1...........5...........",
    bass_len: 4.0,
    comp: "........x...........x...",
    comp_kind: Comp::Reed,
    lead: Lead::Flute,
    lead_density: 0.6,
    minor: 0.4,
    progressions: &[[0, 4, 0, 4], [0, 3, 4, 0]],
    home: &[],
};

/// The styles of the set, in table order.
fn styles() -> [MetreStyle; 9] {
    use Metre::{FourFour, SixEight, ThreeFour};
    let [waltz, _, _, _, rumba, viennese] = STYLES;
    let style = |music, metre, lo, hi| MetreStyle {
        music,
        metre,
        bpm: (lo, hi),
    };
    [
        style(waltz, ThreeFour, 84.0, 96.0),
        style(BALLAD_34, ThreeFour, 60.0, 84.0),
        style(JAZZ_WALTZ, ThreeFour, 100.0, 140.0),
        style(viennese, ThreeFour, 164.0, 184.0),
        style(MARCH, FourFour, 100.0, 140.0),
        style(BALLAD_44, FourFour, 70.0, 100.0),
        style(rumba, FourFour, 98.0, 110.0),
        style(BALLAD_68, SixEight, 48.0, 64.0),
        style(JIG_68, SixEight, 96.0, 124.0),
    ]
}

/// Size and seed of the set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetreSetConfig {
    /// Songs per style (9 styles: 4 in 3/4, 3 in 4/4, 2 in 6/8).
    pub per_style: usize,
    /// Length of each song (s).
    pub seconds: f64,
    /// Seed of every random choice (tempi, lead-in, the band's feel).
    pub seed: u64,
}

impl MetreSetConfig {
    /// The quick set: 2 songs of 20 s per style (18 songs).
    pub fn quick() -> MetreSetConfig {
        MetreSetConfig {
            per_style: 2,
            seconds: 20.0,
            seed: 1,
        }
    }

    /// The full set: 8 songs of 30 s per style (72 songs).
    pub fn full() -> MetreSetConfig {
        MetreSetConfig {
            per_style: 8,
            seconds: 30.0,
            seed: 1,
        }
    }
}

/// One planned song of the set; [`MetreSong::render`] makes its audio.
#[derive(Clone, Debug)]
pub struct MetreSong {
    /// `STYLE-NN`.
    pub name: String,
    /// The style's name.
    pub style: &'static str,
    /// The metre.
    pub metre: Metre,
    /// Annotated beat tempo (BPM): quarter notes; in 6/8 dotted quarters, or eighths when
    /// counted in six.
    pub bpm: f64,
    /// Annotated beats per bar (2 or 6 in 6/8).
    pub beats_per_bar: usize,
    /// Exact beat times (s).
    pub beats: Vec<f64>,
    /// Position of each beat in its bar (1 = downbeat).
    pub beat_in_bar: Vec<u32>,
    music: MusicStyle,
    plan: SongPlan,
}

impl MetreSong {
    /// The audio: mono at [`SAMPLE_RATE`], deterministic in the set's seed.
    pub fn render(&self) -> Vec<f32> {
        render_style(&self.plan, &self.music)
    }

    /// The sample rate of [`MetreSong::render`].
    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }
}

/// Plans every song of `cfg`: per style, tempi spread evenly over its range (one draw per
/// stratum), a lead-in of 0.2–1 s, and whole bars filling the song.
pub fn plan(cfg: &MetreSetConfig) -> Vec<MetreSong> {
    let mut out = Vec::new();
    for (si, st) in styles().into_iter().enumerate() {
        for k in 0..cfg.per_style {
            let mut rng = StdRng::seed_from_u64(
                cfg.seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add((si * 1000 + k) as u64),
            );
            let u: f64 = rng.random();
            let bpm = st.bpm.0 + (st.bpm.1 - st.bpm.0) * (k as f64 + u) / cfg.per_style as f64;
            let lead_in = rng.random_range(0.2..1.0);
            let unit_bpm = bpm * st.metre.units_per_beat() as f64;
            let bar_s = st.metre.beats_per_bar() as f64 * 60.0 / bpm;
            let (per_bar, beat_bpm) =
                if st.metre == Metre::SixEight && unit_bpm <= SIX_EIGHT_IN_SIX_BPM {
                    (6, unit_bpm)
                } else {
                    (st.metre.beats_per_bar(), bpm)
                };
            let bars = ((cfg.seconds - lead_in - 1.0) / bar_s).floor().max(2.0) as usize;
            let beats = (0..bars * per_bar)
                .map(|i| lead_in + i as f64 * 60.0 / beat_bpm)
                .collect();
            let beat_in_bar = (0..bars * per_bar)
                .map(|i| (i % per_bar + 1) as u32)
                .collect();
            let plan = SongPlan {
                name: format!("{}-{k:02}", st.music.name),
                style: 0,
                test: false,
                bpm: unit_bpm,
                lead_in,
                bars,
                phrases: (0..bars / 4).map(|p| (4 * p, 4, 0)).collect(),
                audio_seed: rng.random(),
            };
            out.push(MetreSong {
                name: plan.name.clone(),
                style: st.music.name,
                metre: st.metre,
                bpm: beat_bpm,
                beats_per_bar: per_bar,
                beats,
                beat_in_bar,
                music: st.music,
                plan,
            });
        }
    }
    out
}

/// Whether `est` is within [`TEMPO_TOLERANCE`] of `truth`.
pub fn tempo_strict(est: f64, truth: f64) -> bool {
    truth > 0.0 && ((est - truth) / truth).abs() <= TEMPO_TOLERANCE
}

/// Whether `est` is within [`TEMPO_TOLERANCE`] of `truth` times 1, 2, ½, 3 or ⅓.
pub fn tempo_relaxed(est: f64, truth: f64) -> bool {
    [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0]
        .iter()
        .any(|f| tempo_strict(est, truth * f))
}

/// The annotated tempo (60 / median inter-beat interval) and bar length (the most common
/// number of beats from one downbeat to the next; `None` without bar labels) of a beat grid.
pub fn grid_tempo_and_metre(beats: &[(f64, u32)]) -> (f64, Option<usize>) {
    let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1].0 - w[0].0).collect();
    ibi.sort_by(f64::total_cmp);
    let tempo = ibi.get(ibi.len() / 2).map_or(0.0, |d| 60.0 / d);
    let downs: Vec<usize> = (0..beats.len()).filter(|&i| beats[i].1 == 1).collect();
    let mut counts = std::collections::BTreeMap::<usize, usize>::new();
    for w in downs.windows(2) {
        *counts.entry(w[1] - w[0]).or_default() += 1;
    }
    let metre = counts.iter().max_by_key(|(_, c)| **c).map(|(bar, _)| *bar);
    (tempo, metre)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fill_one_bar() {
        for st in styles() {
            let s = st.music;
            for p in [s.kick, s.snare, s.hat, s.perc, s.bass, s.comp] {
                assert_eq!(p.len(), s.meter * 4, "{}: `{p}`", s.name);
            }
            assert_eq!(
                s.meter,
                st.metre.beats_per_bar() * st.metre.units_per_beat(),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn grids_are_exact_and_seeded() {
        let cfg = MetreSetConfig::quick();
        let songs = plan(&cfg);
        assert_eq!(songs.len(), 18);
        for s in &songs {
            let per_bar = s.beats_per_bar;
            assert!(s.metre.accepts(per_bar), "{}", s.name);
            assert_eq!(s.beats.len() % per_bar, 0, "{}", s.name);
            assert_eq!(s.beats.len(), s.plan.bars * per_bar);
            for (i, w) in s.beats.windows(2).enumerate() {
                assert!((w[1] - w[0] - 60.0 / s.bpm).abs() < 1e-9, "{}", s.name);
                assert_eq!(s.beat_in_bar[i], (i % per_bar + 1) as u32);
            }
            // the band's bar (pattern units) is the grid's bar
            let unit_bar = s.music.meter as f64 * 60.0 / s.plan.bpm;
            assert!((unit_bar - per_bar as f64 * 60.0 / s.bpm).abs() < 1e-9);
            assert!((s.beats[0] - s.plan.lead_in).abs() < 1e-12);
            assert!(*s.beats.last().unwrap_or(&0.0) < cfg.seconds);
            let pairs: Vec<(f64, u32)> =
                s.beats.iter().copied().zip(s.beat_in_bar.clone()).collect();
            let (tempo, metre) = grid_tempo_and_metre(&pairs);
            assert!((tempo - s.bpm).abs() < 1e-6);
            assert_eq!(metre, Some(per_bar));
        }
        let again = plan(&cfg);
        for (a, b) in songs.iter().zip(&again) {
            assert_eq!((a.bpm, &a.beats), (b.bpm, &b.beats));
        }
        assert_ne!(
            plan(&MetreSetConfig { seed: 2, ..cfg })[0].bpm,
            songs[0].bpm
        );
        // slow 6/8 is counted in six, fast 6/8 in two
        let six_eight: Vec<usize> = songs
            .iter()
            .filter(|s| s.metre == Metre::SixEight)
            .map(|s| s.beats_per_bar)
            .collect();
        assert!(six_eight.contains(&6) && six_eight.contains(&2));
    }

    #[test]
    fn audio_starts_at_the_first_downbeat() {
        let cfg = MetreSetConfig {
            per_style: 1,
            seconds: 6.0,
            seed: 3,
        };
        for s in plan(&cfg) {
            let a = s.render();
            let sr = f64::from(s.sample_rate());
            let before = (s.beats[0] * sr) as usize - 200;
            let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
            let quiet = rms(&a[..before]);
            let loud = rms(&a[before + 200..before + 2400]);
            assert!(loud > 5.0 * quiet, "{}: {loud} vs {quiet}", s.name);
        }
    }

    #[test]
    fn scores() {
        assert!(tempo_strict(93.0, 90.0) && !tempo_strict(94.0, 90.0));
        assert!(!tempo_strict(180.0, 90.0) && tempo_relaxed(180.0, 90.0));
        assert!(tempo_relaxed(165.0, 55.0) && !tempo_relaxed(120.0, 90.0));
        assert!(Metre::SixEight.accepts(6) && Metre::SixEight.accepts(2));
        assert!(!Metre::ThreeFour.accepts(6) && Metre::FourFour.accepts(4));
    }
}
