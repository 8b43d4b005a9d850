//! The network part `F(u_t)` of the ranking: a [`Scorer`] gives, for one music phrase (slot),
//! an unnormalised log-score per library phrase (`−∞` = impossible).
//!
//! Only the cold-start scorer exists for now. The trained burn network (music encoder →
//! dance-phrase classifier, Duan et al. 2020) plugs in later as another `Scorer`
//! implementation; its log-softmax output is exactly what [`decode`](super::decode) expects.
//!
//! **Cold start** ([`ColdStartScorer`]) matches hand-picked music features of each slot to
//! the motion features of each library phrase:
//!
//! | term | music side | motion side | log-score |
//! |---|---|---|---|
//! | tempo (hard) | slot tempo (60 / median beat interval) | phrase `tempo_bpm` | `−∞` unless music/phrase ∈ [0.8, 1.25] counting the phrase at 1, ½ or 2 beats per music beat |
//! | tempo (soft) | same | same | `−w_tempo·(ln r / ln 1.25)²` |
//! | intensity | ½·(rank of onsets/s in the song) + ½·clamp((onsets/beat − 0.5)/2.5), then averaged half-and-half with the section's mean | ½·rank(energy) + ¼·rank(mean_speed) + ¼·rank(travel + height_range + turn_rate/4) within the library | `−w_intensity·((m − d)/0.3)²` |
//! | tempo range | same, counted as danced | phrase `tempo_range` (optional) | `−∞` outside the move's comfortable range |
//! | length | slot beats | phrase beats × counting | `−w_tiling` when the phrase does not tile the slot a whole number of times |
//! | metre | song beats per bar (3, 6: triple) | phrase `beats_per_bar` (optional) | `−`[`METRE_MISMATCH`] when one is triple and the other not |
//! | quality | — | clip flagged implausible | `−w_flagged` |
//! | beat clarity | counting (1, ½, 2) | phrase `kinematic_beats` (optional) | `−w_clarity·(1 − c)`, `c` the phrase's [`beat_clarity`] at that counting ([`clarity_cost`]) |
//! | break | the slot's onset rate under [`BREAK_ONSET_SHARE`] of the song's median slot ([`MusicFeatures::is_break`]) | motion intensity | in a break `−`[`BREAK_WEIGHT`]`·intensity`, and `−`[`BREAK_GATE`] more above the calmest quarter of the slot's possible phrases; else 0 ([`apply_breaks`]) |
//!
//! The beat-clarity term (issue 15, item 3) is the dance's beat alignment score (Bailando's
//! BAS) as the phrase alone would score over its slot: a move whose velocity minima sit on
//! its beat markers scores near 1 at 1:1 and near ½ at half time (every other music beat
//! falls between its dance beats), one with off-beat minima lower. It is applied to a trained
//! model's scores too ([`super::network::song_scores`]), with the same weight: the labels a
//! model is calibrated on say nothing about how crisply a move marks the beat.
//!
//! Style is not scored per slot; it enters through the transition matrix (same-style
//! neighbours are preferred).

use crate::analysis::SongAnalysis;
use crate::motion::library::{LibraryIndex, PhraseEntry};
use crate::motion::metrics::beat_clarity;

/// Identifier of the cold-start model in project files.
pub const COLD_START_ID: &str = "cold-start";

/// Lowest accepted music/phrase tempo ratio.
pub const MIN_TEMPO_RATIO: f64 = 0.8;
/// Highest accepted music/phrase tempo ratio.
pub const MAX_TEMPO_RATIO: f64 = 1.25;

/// Log-score cost of dancing a 3/4 phrase to music in duple metre or the reverse (about the
/// weight of an intensity mismatch of 0.37).
pub const METRE_MISMATCH: f32 = 1.5;

/// A slot is a break when its onsets per second fall under this share of the song's median
/// slot: the drums drop out, the music thins to a pad or a held chord, or it nearly stops
/// (issue 15, item 2: breaks are danced with calm phrases rather than at full energy).
pub const BREAK_ONSET_SHARE: f64 = 0.25;

/// Log-score cost per unit of motion intensity (a rank in [0, 1] within the library) in a
/// break: among the calm phrases, the calmer.
pub const BREAK_WEIGHT: f32 = 6.0;

/// Log-score cost in a break of a phrase above the calmest quarter of the phrases possible in
/// the slot (finite score): larger than the network's usual spread and the variety decode's
/// reuse penalty (ln 0.02 ≈ −3.9), so a break is danced calmly — measured on the demo song
/// with two phrases faded out, where the intensity term alone (even at 15) let the variety
/// decode pick mid-energy phrases once the calmest one had been used, and a gate at the
/// calmest third let through a phrase of intensity 0.40.
pub const BREAK_GATE: f32 = 10.0;

/// Applies the break term to the log-scores of one slot's library phrases (`row`, library
/// order, `−∞` for impossible ones), given the phrases' motion intensities.
fn break_row(row: &mut [f32], motion: &[f64]) {
    let mut possible: Vec<f64> = row
        .iter()
        .zip(motion)
        .filter(|(s, _)| s.is_finite())
        .map(|(_, &d)| d)
        .collect();
    if possible.is_empty() {
        return;
    }
    possible.sort_by(f64::total_cmp);
    let calm = possible[(possible.len() - 1) / 4];
    for (s, &d) in row.iter_mut().zip(motion) {
        *s -= BREAK_WEIGHT * d as f32;
        if d > calm {
            *s -= BREAK_GATE;
        }
    }
}

/// Applies the break term to T×K log-scores (library order) of the slots of `song`: in the
/// slots that are breaks ([`MusicFeatures::is_break`]) calm phrases win (issue 15, item 2).
/// The cold-start scorer applies it to its own scores, [`super::network::song_scores`] to a
/// trained model's.
pub fn apply_breaks(song: &SongAnalysis, library: &LibraryIndex, scores: &mut [f32]) {
    let k = library.phrases.len();
    if k == 0 {
        return;
    }
    let motion = motion_intensity(library);
    for (m, row) in music_features(song).iter().zip(scores.chunks_mut(k)) {
        if m.is_break {
            break_row(row, &motion);
        }
    }
}

/// Default weight of the beat-clarity term ([`clarity_cost`]) for the cold-start scorer and
/// on a trained model's scores. Measured on the four songs of BENCHMARKS.md's dance metrics
/// (see its "Beat clarity" section).
pub const CLARITY_WEIGHT: f32 = 8.0;

/// The beat-clarity cost `1 − c` of dancing `p` counted `counting` music beats per dance beat,
/// `c` its [`beat_clarity`] from the kinematic beats the library index stores; 0 for a phrase
/// without them (an index written before they were stored), so such a library ranks as
/// before. In [0, 1]; the caller weights it.
pub fn clarity_cost(counting: f64, p: &PhraseEntry) -> f32 {
    match &p.kinematic_beats {
        Some(k) => (1.0 - beat_clarity(k, &p.beat_times, counting)).clamp(0.0, 1.0) as f32,
        None => 0.0,
    }
}

/// [`clarity_cost`] of every library phrase on every slot of `song` (row-major T×K), counted
/// as the slot's tempo fits it ([`tempo_fit`], as the export counts it); 0 where no counting
/// fits (the phrase is impossible there anyway).
pub fn clarity_costs(song: &SongAnalysis, library: &LibraryIndex) -> Vec<f32> {
    music_features(song)
        .iter()
        .flat_map(|m| {
            library.phrases.iter().map(|p| {
                tempo_fit(m.tempo_bpm, p.tempo_bpm).map_or(0.0, |f| clarity_cost(f.counting, p))
            })
        })
        .collect()
}

/// True for triple metres (3/4, 6/8 counted in 6).
fn is_triple(beats_per_bar: usize) -> bool {
    beats_per_bar > 0 && beats_per_bar.is_multiple_of(3)
}

/// The metre term of a phrase on a song with `beats_per_bar`: [`METRE_MISMATCH`] when one is
/// triple and the other not, else 0 (also for phrases that do not say their metre). Applied to
/// the network's scores too, whose training labels come almost only from 4/4 songs.
pub fn metre_cost(beats_per_bar: usize, p: &PhraseEntry) -> f32 {
    match p.beats_per_bar {
        Some(b) if is_triple(b) != is_triple(beats_per_bar) => METRE_MISMATCH,
        _ => 0.0,
    }
}

/// Scores library phrases for one music phrase.
pub trait Scorer {
    /// Model identifier stored in the project (`"cold-start"`, or a trained model's id).
    fn id(&self) -> String;

    /// Log-scores (unnormalised; `−∞` = impossible) of the K library phrases for slot `slot`
    /// (index into `song.phrases`).
    fn score(&self, song: &SongAnalysis, slot: usize, library: &LibraryIndex) -> Vec<f32>;

    /// The transition matrix to decode with: the library's style blocks unless the scorer
    /// brings a learned one (a trained model's M, weighted as it was calibrated).
    fn transitions(
        &self,
        library: &LibraryIndex,
    ) -> Result<super::transition::TransitionMatrix, super::ChoreoError> {
        super::transition::TransitionMatrix::for_library(library)
    }

    /// Scores of every slot, row-major T×K. Override when slots share work.
    fn score_all(&self, song: &SongAnalysis, library: &LibraryIndex) -> Vec<f32> {
        (0..song.phrases.len())
            .flat_map(|t| self.score(song, t, library))
            .collect()
    }
}

/// How a dance phrase is counted against the music.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TempoFit {
    /// Music beats per dance beat: 1, 2 (dance at half time) or 0.5 (double time).
    pub counting: f64,
    /// Playback-rate ratio `(music bpm / counting) / phrase bpm`.
    pub ratio: f64,
}

/// The counting (½, 1, 2 music beats per dance beat) that brings `phrase_bpm` closest to
/// `music_bpm`, if its ratio lies within [[`MIN_TEMPO_RATIO`], [`MAX_TEMPO_RATIO`]].
pub fn tempo_fit(music_bpm: f64, phrase_bpm: f64) -> Option<TempoFit> {
    if !(music_bpm > 0.0 && phrase_bpm > 0.0 && music_bpm.is_finite() && phrase_bpm.is_finite()) {
        return None;
    }
    [1.0, 2.0, 0.5]
        .into_iter()
        .map(|c| TempoFit {
            counting: c,
            ratio: music_bpm / c / phrase_bpm,
        })
        .filter(|f| f.ratio >= MIN_TEMPO_RATIO - 1e-9 && f.ratio <= MAX_TEMPO_RATIO + 1e-9)
        .min_by(|a, b| a.ratio.ln().abs().total_cmp(&b.ratio.ln().abs()))
}

/// Music features of one slot.
#[derive(Clone, Debug, PartialEq)]
pub struct MusicFeatures {
    /// Span (s).
    pub start: f64,
    /// Span end (s).
    pub end: f64,
    /// Local tempo (BPM).
    pub tempo_bpm: f64,
    /// Beats in the phrase.
    pub beats: usize,
    /// Bars in the phrase.
    pub bars: usize,
    /// Onsets per beat.
    pub onsets_per_beat: f64,
    /// Onsets per second.
    pub onsets_per_second: f64,
    /// Intensity in [0, 1] (see the module table).
    pub intensity: f64,
    /// A break: onsets per second under [`BREAK_ONSET_SHARE`] of the song's median slot.
    pub is_break: bool,
    /// Section label.
    pub section: String,
}

/// Music beat times inside `[start, end]` (both ends within 1 ms).
pub fn beats_in(song: &SongAnalysis, start: f64, end: f64) -> Vec<f64> {
    song.beats
        .iter()
        .copied()
        .filter(|&b| b >= start - 1e-3 && b <= end + 1e-3)
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Percentile ranks in [0, 1] (ties share their mean rank; a single value gets ½).
fn ranks(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n <= 1 {
        return vec![0.5; n];
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 / (n - 1) as f64;
        for &p in &idx[i..=j] {
            r[p] = mean;
        }
        i = j + 1;
    }
    r
}

/// Music features of every slot of `song`.
pub fn music_features(song: &SongAnalysis) -> Vec<MusicFeatures> {
    let mut out: Vec<MusicFeatures> = song
        .phrases
        .iter()
        .map(|p| {
            let b = beats_in(song, p.start, p.end);
            let ibi = median(b.windows(2).map(|w| w[1] - w[0]).collect());
            let tempo_bpm = match ibi {
                Some(d) if d > 0.0 => 60.0 / d,
                _ => song.tempo_bpm,
            };
            let n_on = song
                .onsets
                .iter()
                .filter(|&&o| o >= p.start && o < p.end)
                .count() as f64;
            let dur = (p.end - p.start).max(1e-6);
            MusicFeatures {
                start: p.start,
                end: p.end,
                tempo_bpm,
                beats: p.beats,
                bars: p.bars,
                onsets_per_beat: n_on / p.beats.max(1) as f64,
                onsets_per_second: n_on / dur,
                intensity: 0.0,
                is_break: false,
                section: p.section.clone(),
            }
        })
        .collect();
    let rate: Vec<f64> = out.iter().map(|m| m.onsets_per_second).collect();
    let typical = median(rate.clone()).unwrap_or(0.0);
    let r = ranks(&rate);
    let own: Vec<f64> = out
        .iter()
        .zip(&r)
        .map(|(m, r)| 0.5 * r + 0.5 * ((m.onsets_per_beat - 0.5) / 2.5).clamp(0.0, 1.0))
        .collect();
    for (t, m) in out.iter_mut().enumerate() {
        let same: Vec<f64> = song
            .phrases
            .iter()
            .zip(&own)
            .filter(|(p, _)| p.section == m.section)
            .map(|(_, v)| *v)
            .collect();
        let sec = same.iter().sum::<f64>() / same.len().max(1) as f64;
        m.intensity = 0.5 * own[t] + 0.5 * sec;
        m.is_break = typical > 0.0 && m.onsets_per_second < BREAK_ONSET_SHARE * typical;
    }
    out
}

/// Motion intensity in [0, 1] of every library phrase (see the module table).
pub fn motion_intensity(library: &LibraryIndex) -> Vec<f64> {
    let f = |g: fn(&PhraseEntry) -> f64| -> Vec<f64> {
        ranks(&library.phrases.iter().map(g).collect::<Vec<_>>())
    };
    let e = f(|p| p.features.energy);
    let s = f(|p| p.features.mean_speed);
    let m = f(|p| p.features.travel + p.features.height_range + 0.25 * p.features.turn_rate);
    (0..library.phrases.len())
        .map(|i| 0.5 * e[i] + 0.25 * s[i] + 0.25 * m[i])
        .collect()
}

/// Weights of the cold-start terms.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColdStartWeights {
    /// Soft tempo term.
    pub tempo: f32,
    /// Intensity match.
    pub intensity: f32,
    /// Phrase does not tile the slot.
    pub tiling: f32,
    /// Flagged implausible.
    pub flagged: f32,
    /// Beat clarity ([`clarity_cost`]; absent in older settings: [`CLARITY_WEIGHT`]).
    #[serde(default = "default_clarity_weight")]
    pub clarity: f32,
}

fn default_clarity_weight() -> f32 {
    CLARITY_WEIGHT
}

impl Default for ColdStartWeights {
    fn default() -> Self {
        ColdStartWeights {
            tempo: 1.0,
            intensity: 1.0,
            tiling: 0.5,
            flagged: 2.0,
            clarity: CLARITY_WEIGHT,
        }
    }
}

/// The hand-weighted cold-start scorer (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColdStartScorer {
    /// Term weights.
    pub weights: ColdStartWeights,
}

impl ColdStartScorer {
    /// One slot's row with the break term when the slot is a break ([`break_row`]).
    fn slot_row(
        &self,
        m: &MusicFeatures,
        beats_per_bar: usize,
        library: &LibraryIndex,
        motion: &[f64],
    ) -> Vec<f32> {
        let mut row = self.row(m, beats_per_bar, library, motion);
        if m.is_break {
            break_row(&mut row, motion);
        }
        row
    }

    fn row(
        &self,
        m: &MusicFeatures,
        beats_per_bar: usize,
        library: &LibraryIndex,
        motion: &[f64],
    ) -> Vec<f32> {
        let w = &self.weights;
        library
            .phrases
            .iter()
            .zip(motion)
            .map(|(p, &d)| {
                let Some(fit) = tempo_fit(m.tempo_bpm, p.tempo_bpm) else {
                    return f32::NEG_INFINITY;
                };
                if let Some([lo, hi]) = p.tempo_range
                    && !(lo - 1e-6..=hi + 1e-6).contains(&(m.tempo_bpm / fit.counting))
                {
                    return f32::NEG_INFINITY;
                }
                let tempo = (fit.ratio.ln() / MAX_TEMPO_RATIO.ln()).powi(2) as f32;
                let di = ((m.intensity - d) / 0.3).powi(2) as f32;
                let unit = p.beats as f64 * fit.counting;
                let reps = m.beats as f64 / unit.max(1e-9);
                let tiles = unit > 0.0 && (reps - reps.round()).abs() < 1e-6 && reps >= 1.0;
                let mut s = -w.tempo * tempo - w.intensity * di;
                if !tiles {
                    s -= w.tiling;
                }
                if p.flagged {
                    s -= w.flagged;
                }
                s -= w.clarity * clarity_cost(fit.counting, p);
                s - metre_cost(beats_per_bar, p)
            })
            .collect()
    }
}

impl Scorer for ColdStartScorer {
    fn id(&self) -> String {
        COLD_START_ID.to_string()
    }

    fn score(&self, song: &SongAnalysis, slot: usize, library: &LibraryIndex) -> Vec<f32> {
        let feats = music_features(song);
        let motion = motion_intensity(library);
        match feats.get(slot) {
            Some(m) => self.slot_row(m, song.beats_per_bar, library, &motion),
            None => vec![f32::NEG_INFINITY; library.phrases.len()],
        }
    }

    fn score_all(&self, song: &SongAnalysis, library: &LibraryIndex) -> Vec<f32> {
        let feats = music_features(song);
        let motion = motion_intensity(library);
        feats
            .iter()
            .flat_map(|m| self.slot_row(m, song.beats_per_bar, library, &motion))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_break_favours_the_calm_and_keeps_impossible_phrases_impossible() {
        let inf = f32::NEG_INFINITY;
        // five phrases, intensities 0.0 … 1.0; the second is impossible (tempo)
        let motion = [0.0, 0.25, 0.5, 0.75, 1.0];
        let mut row = vec![0.0, inf, 0.0, 0.0, 0.0];
        break_row(&mut row, &motion);
        assert_eq!(row[1], inf);
        assert!(row.iter().all(|v| !v.is_nan()));
        // possible: 0.0, 0.5, 0.75, 1.0 — the calmest quarter ends at 0.0: the rest pay the gate
        assert_eq!(row[0], 0.0);
        assert_eq!(row[2], -(BREAK_WEIGHT * 0.5 + BREAK_GATE));
        assert!(row[3] < row[2] && row[4] < row[3]);
        // a row with nothing possible, or one phrase, is left as it is / only pays intensity
        let mut none = vec![inf, inf];
        break_row(&mut none, &[0.1, 0.9]);
        assert_eq!(none, [inf, inf]);
        let mut one = vec![-1.0];
        break_row(&mut one, &[0.5]);
        assert_eq!(one, [-1.0 - BREAK_WEIGHT * 0.5]);
    }

    #[test]
    fn tempo_fit_counts_half_and_double_time() {
        assert_eq!(tempo_fit(120.0, 120.0).map(|f| f.counting), Some(1.0));
        assert_eq!(tempo_fit(240.0, 118.0).map(|f| f.counting), Some(2.0));
        assert_eq!(tempo_fit(60.0, 125.0).map(|f| f.counting), Some(0.5));
        assert!(tempo_fit(118.0, 90.0).is_none());
        assert!(tempo_fit(100.0, 80.0).is_some());
        assert!(tempo_fit(100.0, 79.0).is_none());
        assert!(tempo_fit(0.0, 100.0).is_none());
    }

    /// A phrase's `tempo_range` narrows the hard window; a 3/4 phrase costs
    /// [`METRE_MISMATCH`] on duple music and a 4/4 one on triple music.
    #[test]
    fn tempo_range_and_metre_enter_the_cold_start_row() {
        let mut lib = crate::motion::library::Library::starter()
            .unwrap_or_else(|e| panic!("{e}"))
            .index;
        lib.phrases
            .retain(|p| p.id == "waltz_box/000" || p.id == "groove_bounce/000");
        assert_eq!(lib.phrases.len(), 2);
        // library order: groove (index 0) before waltz (index 1)
        let (groove, waltz) = (lib.phrases[0].clone(), lib.phrases[1].clone());
        assert_eq!(groove.id, "groove_bounce/000");
        assert_eq!(waltz.beats_per_bar, Some(3));
        let music = |bpm: f64, beats: usize| MusicFeatures {
            start: 0.0,
            end: 10.0,
            tempo_bpm: bpm,
            beats,
            bars: 4,
            onsets_per_beat: 1.0,
            onsets_per_second: 2.0,
            intensity: 0.5,
            is_break: false,
            section: "A".into(),
        };
        let motion = vec![0.5, 0.5];
        let cs = ColdStartScorer::default();
        // the same slot scored as 3/4 and as 4/4 music
        let row3 = cs.row(&music(waltz.tempo_bpm, 12), 3, &lib, &motion);
        let row4 = cs.row(&music(waltz.tempo_bpm, 12), 4, &lib, &motion);
        assert!(
            (row3[1] - row4[1] - METRE_MISMATCH).abs() < 1e-5,
            "{row3:?} {row4:?}"
        );
        let g3 = cs.row(&music(groove.tempo_bpm, 16), 3, &lib, &motion);
        let g4 = cs.row(&music(groove.tempo_bpm, 16), 4, &lib, &motion);
        assert!(
            (g4[0] - g3[0] - METRE_MISMATCH).abs() < 1e-5,
            "{g3:?} {g4:?}"
        );
        // just outside the comfortable range but inside ×0.8 … ×1.25: impossible
        let [lo, hi] = groove.tempo_range.unwrap_or([0.0, 0.0]);
        assert!(lo > 0.8 * groove.tempo_bpm && hi < 1.25 * groove.tempo_bpm);
        assert!(cs.row(&music(hi + 0.5, 16), 4, &lib, &motion)[0].is_infinite());
        assert!(cs.row(&music(lo - 0.5, 16), 4, &lib, &motion)[0].is_infinite());
        assert!(cs.row(&music(hi - 0.5, 16), 4, &lib, &motion)[0].is_finite());
    }

    /// The beat-clarity term: the same phrase with its kinematic beats half a beat late
    /// scores lower on the same slot, by `w_clarity` times the difference of the costs; a
    /// phrase without stored kinematic beats has no cost. The starter index stores them for
    /// every phrase, an index without them still loads, and its fingerprint is the same (the
    /// default model and saved projects keep matching).
    #[test]
    fn clarity_term_ranks_crisp_phrases_first() {
        use crate::choreo::project::library_fingerprint;
        let full = crate::motion::library::Library::starter()
            .unwrap_or_else(|e| panic!("{e}"))
            .index;
        assert!(full.phrases.iter().all(|p| p.kinematic_beats.is_some()));
        let marked = full
            .phrases
            .iter()
            .filter(|p| {
                p.kinematic_beats
                    .as_ref()
                    .is_some_and(|k| k.len() > p.beats)
            })
            .count();
        assert!(marked * 2 > full.phrases.len(), "{marked}");
        let mut lib = full.clone();
        lib.phrases.retain(|p| p.id == "chill_sway/001");
        assert_eq!(lib.phrases.len(), 1);
        let clear = lib.phrases[0].clone();
        let half = 0.5 * clear.duration() / clear.beats as f64;
        let mut late = clear.clone();
        late.kinematic_beats = clear
            .kinematic_beats
            .as_ref()
            .map(|k| k.iter().map(|t| t + half).collect());
        let mut bare = clear.clone();
        bare.kinematic_beats = None;
        lib.phrases = vec![clear.clone(), late.clone(), bare];
        let (c_clear, c_late) = (clarity_cost(1.0, &clear), clarity_cost(1.0, &late));
        assert!(c_clear < 0.2 && c_late > 0.8, "{c_clear} {c_late}");
        let m = MusicFeatures {
            start: 0.0,
            end: 10.0,
            tempo_bpm: clear.tempo_bpm,
            beats: clear.beats,
            bars: 2,
            onsets_per_beat: 1.0,
            onsets_per_second: 2.0,
            intensity: 0.5,
            is_break: false,
            section: "A".into(),
        };
        let cs = ColdStartScorer::default();
        let row = cs.row(&m, 4, &lib, &[0.5; 3]);
        let w = cs.weights.clarity;
        assert!(
            (row[0] - row[1] - w * (c_late - c_clear)).abs() < 1e-4,
            "{row:?}"
        );
        assert!((row[2] - row[0] - w * c_clear).abs() < 1e-4, "{row:?}");
        // an index written before kinematic beats were stored
        let mut json: serde_json::Value =
            serde_json::from_str(&full.to_json()).unwrap_or_else(|e| panic!("{e}"));
        let phrases = json["phrases"].as_array_mut().map_or(0, |ps| {
            ps.iter_mut()
                .filter_map(|p| p.as_object_mut())
                .filter_map(|p| p.remove("kinematic_beats"))
                .count()
        });
        assert_eq!(phrases, full.phrases.len());
        let old = LibraryIndex::from_json(&json.to_string(), "old index")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(old.phrases.iter().all(|p| p.kinematic_beats.is_none()));
        assert_eq!(library_fingerprint(&old), library_fingerprint(&full));
        assert_ne!(old.to_json(), full.to_json());
    }

    #[test]
    fn ranks_share_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![0.75, 0.0, 0.75]);
        assert_eq!(ranks(&[2.0]), vec![0.5]);
    }
}
