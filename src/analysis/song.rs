//! The whole analysis of one song and its versioned JSON form.

use super::bars::{BarConfig, Bars, decode_bars, downbeat_evidence, three_or_six};
use super::beats::{BeatConfig, BeatTrack, beat_division, low_band_onset, track_beats_with_bass};
use super::melody::{MelodyConfig, extract_melody};
use super::phrases::{PhraseConfig, break_evidence, cut_fragment};
use super::structure::{Segment, StructureConfig, segment};
use super::{AnalysisConfig, FrameMatrix, mel, rhythm};
use serde::{Deserialize, Serialize};
use std::time::Instant;

pub use super::melody::MelodyTrack;

/// Schema tag of the analysis JSON; bump on incompatible changes.
pub const ANALYSIS_SCHEMA: &str = "phrasewise-analysis/1";

/// Analysis errors.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("sample rate {got} Hz given, the analysis runs at {want} Hz")]
    SampleRate { got: u32, want: u32 },
    #[error("analysis cancelled")]
    Cancelled,
    #[error("the {0} worker thread failed")]
    Worker(&'static str),
}

/// A structural section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub start: f64,
    pub end: f64,
    /// "A", "B", … in order of first appearance; equal letters repeat.
    pub label: String,
}

/// A music phrase: the unit a dance phrase is chosen for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    pub start: f64,
    pub end: f64,
    /// Whole bars in the phrase (2–8 where the song allows).
    pub bars: usize,
    /// Beats in the phrase.
    pub beats: usize,
    /// Index of the phrase's first beat in `SongAnalysis::beats`.
    pub first_beat: usize,
    /// Label of the section the phrase belongs to.
    pub section: String,
}

/// Wall time of one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    pub wall_s: f64,
}

/// Everything Phrasewise knows about a song.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongAnalysis {
    pub schema: String,
    pub duration: f64,
    pub sample_rate: u32,
    pub tempo_bpm: f64,
    pub beats_per_bar: usize,
    pub beats: Vec<f64>,
    /// Position of each beat in its bar (1 = downbeat).
    pub beat_in_bar: Vec<u32>,
    pub downbeats: Vec<f64>,
    pub onsets: Vec<f64>,
    pub sections: Vec<Section>,
    pub phrases: Vec<Phrase>,
    pub melody: MelodyTrack,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub timing: std::collections::BTreeMap<String, StageTime>,
}

/// Intermediate signals kept for callers that need more than the JSON (targets, editor).
#[derive(Debug, Clone, Default)]
pub struct AnalysisSignals {
    pub mel_db: FrameMatrix,
    pub onset: Vec<f32>,
    pub beat_frames: Vec<usize>,
    pub onset_frames: Vec<usize>,
}

/// The analysis stages, reported to progress callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Mel,
    Beats,
    Bars,
    Melody,
    Structure,
    Phrases,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Runs every stage on mono samples at `cfg.sr`. `progress(stage, fraction_done)` is called
/// between stages and may return `false` to cancel.
pub fn analyze_samples(
    samples: &[f32],
    sample_rate: u32,
    cfg: &AnalysisConfig,
    progress: &mut dyn FnMut(Stage, f32) -> bool,
) -> Result<(SongAnalysis, AnalysisSignals), AnalysisError> {
    analyze_samples_with_melody(samples, sample_rate, cfg, progress, || {
        extract_melody(samples, cfg, &MelodyConfig::default())
    })
}

/// [`analyze_samples`] with the melody supplied by `melody`, which runs on a second thread
/// while the mel → beats → bars → structure chain runs on this one. The caller can hand in a
/// melody that was already computed while decoding (see [`super::melody::MelodyStream`]).
pub fn analyze_samples_with_melody(
    samples: &[f32],
    sample_rate: u32,
    cfg: &AnalysisConfig,
    progress: &mut dyn FnMut(Stage, f32) -> bool,
    melody: impl FnOnce() -> MelodyTrack + Send,
) -> Result<(SongAnalysis, AnalysisSignals), AnalysisError> {
    if sample_rate != cfg.sr {
        return Err(AnalysisError::SampleRate {
            got: sample_rate,
            want: cfg.sr,
        });
    }
    let mut timer = Timer::new();
    let mut step = |s: Stage, f: f32| {
        if progress(s, f) {
            Ok(())
        } else {
            Err(AnalysisError::Cancelled)
        }
    };

    // The melody needs only the samples and is the slowest stage: it runs on a second core
    // while the mel → beats → bars → structure chain runs here.
    std::thread::scope(|scope| {
        let melody_job = scope.spawn(|| {
            let t = Instant::now();
            let m = melody();
            (m, t.elapsed().as_secs_f64())
        });
        let r = rhythm_chain(samples, cfg, &mut step, &mut timer)?;

        step(Stage::Melody, 0.75)?;
        let (melody, melody_s) = melody_job
            .join()
            .map_err(|_| AnalysisError::Worker("melody"))?;
        timer.lap("melody_wait");
        timer.record("melody", melody_s);

        step(Stage::Phrases, 0.9)?;
        let duration = samples.len() as f64 / f64::from(cfg.sr);
        let sections = sections_from(&r.segments, cfg, duration);
        let phrases = build_phrases(
            &r.bt.beat_frames,
            &r.bars.downbeat_indices,
            &sections,
            &melody.f0_hz,
            &r.onset,
            cfg,
            r.mel_db.rows,
        );
        timer.lap("phrases");
        timer.record("total", timer.start.elapsed().as_secs_f64());
        step(Stage::Phrases, 1.0)?;
        Ok(assemble(
            cfg,
            duration,
            r,
            sections,
            phrases,
            &melody,
            timer.timing,
        ))
    })
}

/// Wall time per stage: [`Timer::lap`] records the time since the previous lap.
struct Timer {
    start: Instant,
    clock: Instant,
    timing: std::collections::BTreeMap<String, StageTime>,
}

impl Timer {
    fn new() -> Timer {
        let now = Instant::now();
        Timer {
            start: now,
            clock: now,
            timing: std::collections::BTreeMap::new(),
        }
    }

    fn lap(&mut self, name: &str) {
        let now = Instant::now();
        self.record(name, (now - self.clock).as_secs_f64());
        self.clock = now;
    }

    fn record(&mut self, name: &str, wall_s: f64) {
        self.timing.insert(name.to_string(), StageTime { wall_s });
    }
}

/// What the mel → beats → bars → structure chain finds.
struct Rhythm {
    mel_db: FrameMatrix,
    onset: Vec<f32>,
    bt: BeatTrack,
    onset_frames: Vec<usize>,
    bars: Bars,
    segments: Vec<Segment>,
}

/// Runs the mel → beats → bars → structure chain, reporting each stage to `step`.
fn rhythm_chain(
    samples: &[f32],
    cfg: &AnalysisConfig,
    step: &mut dyn FnMut(Stage, f32) -> Result<(), AnalysisError>,
    timer: &mut Timer,
) -> Result<Rhythm, AnalysisError> {
    step(Stage::Mel, 0.0)?;
    let mel_db = mel::mel_db(samples, cfg);
    let onset = mel::onset_strength(&mel_db, cfg);
    timer.lap("mel_onset");

    step(Stage::Beats, 0.2)?;
    let bass = low_band_onset(&mel_db, cfg);
    let bt = track_beats_with_bass(&onset, Some(&bass), cfg, &BeatConfig::default());
    let onset_frames = rhythm::onset_peaks(&onset, cfg);
    timer.lap("beats");

    step(Stage::Bars, 0.3)?;
    let evidence = downbeat_evidence(&mel_db, &onset, &bt.beat_frames);
    let bar_cfg = if beat_division(&onset, &bt.beat_frames) == 3 {
        BarConfig::compound()
    } else {
        BarConfig::default()
    };
    let bars = decode_bars(&evidence, &bar_cfg);
    let bars = three_or_six(
        bars,
        || super::beats::kick_envelope(&mel_db, cfg),
        &bt.beat_frames,
        bt.tempo_bpm,
        &evidence,
        &bar_cfg,
    );
    timer.lap("bars");

    step(Stage::Structure, 0.6)?;
    let segments = segment(&mel_db, &bt.beat_frames, &StructureConfig::default());
    timer.lap("structure");
    Ok(Rhythm {
        mel_db,
        onset,
        bt,
        onset_frames,
        bars,
        segments,
    })
}

/// Sections from the structure's segments, labelled "A", "B", … ("S26" on), the first
/// starting at 0 and the last ending with the song.
fn sections_from(segments: &[Segment], cfg: &AnalysisConfig, duration: f64) -> Vec<Section> {
    let label_of = |l: usize| -> String {
        let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        if l < 26 {
            (letters[l] as char).to_string()
        } else {
            format!("S{l}")
        }
    };
    let mut sections: Vec<Section> = segments
        .iter()
        .map(|s| Section {
            start: round3(cfg.frame_time(s.start_frame)),
            end: round3(cfg.frame_time(s.end_frame).min(duration)),
            label: label_of(s.label),
        })
        .collect();
    if let Some(first) = sections.first_mut() {
        first.start = 0.0;
    }
    if let Some(last) = sections.last_mut() {
        last.end = round3(duration);
    }
    sections
}

/// The analysis document (times rounded to ms, melody to 0.1 Hz) and the signals it came
/// from.
fn assemble(
    cfg: &AnalysisConfig,
    duration: f64,
    r: Rhythm,
    sections: Vec<Section>,
    phrases: Vec<Phrase>,
    melody: &MelodyTrack,
    timing: std::collections::BTreeMap<String, StageTime>,
) -> (SongAnalysis, AnalysisSignals) {
    let Rhythm {
        mel_db,
        onset,
        bt,
        onset_frames,
        bars,
        segments: _,
    } = r;
    let analysis = SongAnalysis {
        schema: ANALYSIS_SCHEMA.to_string(),
        duration: round3(duration),
        sample_rate: cfg.sr,
        tempo_bpm: (bt.tempo_bpm * 100.0).round() / 100.0,
        beats_per_bar: bars.beats_per_bar,
        beats: bt.beat_times.iter().map(|t| round3(*t)).collect(),
        beat_in_bar: bars.beat_in_bar.clone(),
        downbeats: bars
            .downbeat_indices
            .iter()
            .map(|&i| round3(bt.beat_times[i]))
            .collect(),
        onsets: onset_frames
            .iter()
            .map(|&f| round3(cfg.frame_time(f)))
            .collect(),
        sections,
        phrases,
        melody: MelodyTrack {
            hop_s: melody.hop_s,
            f0_hz: melody
                .f0_hz
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect(),
        },
        warnings: rhythm_warnings(bt.beat_frames.len()),
        timing,
    };
    let signals = AnalysisSignals {
        mel_db,
        onset,
        beat_frames: bt.beat_frames,
        onset_frames,
    };
    (analysis, signals)
}

/// Fewest beats for which tempo and metre are reported without a warning: two bars of 4/4.
const MIN_RELIABLE_BEATS: usize = 8;

/// What the analysis could not find, in words for the user: silence, a single hit or a song
/// without a steady pulse give no or too few beats for a tempo and a metre.
fn rhythm_warnings(beats: usize) -> Vec<String> {
    match beats {
        0 => vec!["no beats found: the song is silent or has no steady pulse".into()],
        n if n < MIN_RELIABLE_BEATS => vec![format!(
            "only {n} beats found: the tempo and the beats per bar are unreliable"
        )],
        _ => Vec::new(),
    }
}

/// Music phrases: sections snapped to bar lines become fragments; fragments are cut at breaking
/// points (see [`super::phrases`]).
fn build_phrases(
    beat_frames: &[usize],
    downbeat_idx: &[usize],
    sections: &[Section],
    f0: &[f32],
    onset: &[f32],
    cfg: &AnalysisConfig,
    n_frames: usize,
) -> Vec<Phrase> {
    if beat_frames.len() < 4 || downbeat_idx.is_empty() {
        return Vec::new();
    }
    // bar lines in beat indices, closed by a virtual bar line after the last bar
    let mut lines: Vec<usize> = downbeat_idx.to_vec();
    let last = *lines.last().unwrap_or(&0);
    let prev_len = if lines.len() >= 2 {
        last - lines[lines.len() - 2]
    } else {
        4
    };
    let end_beat = last + prev_len;
    let ibi = {
        let mut d: Vec<usize> = beat_frames.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_unstable();
        d[d.len() / 2]
    };
    let beat_frame = |b: usize| -> usize {
        if b < beat_frames.len() {
            beat_frames[b]
        } else {
            let extra = b + 1 - beat_frames.len();
            (beat_frames[beat_frames.len() - 1] + extra * ibi).min(n_frames.saturating_sub(1))
        }
    };
    // close the final bar only if it is (nearly) complete within the song
    if end_beat <= beat_frames.len() + 1 && beat_frame(end_beat) > beat_frame(last) {
        lines.push(end_beat);
    }
    if lines.len() < 3 {
        return Vec::new();
    }
    let line_frames: Vec<usize> = lines.iter().map(|&b| beat_frame(b)).collect();
    let mut ev = break_evidence(&line_frames, beat_frames, f0, onset);
    // Section changes are the strongest breaking points (the paper's "long fragments"): the
    // bar line nearest each section boundary gets a large bonus, so phrases never straddle a
    // section change, while a boundary the segmentation placed a beat off still lands on the
    // bar line. One programme over the whole song keeps phrase lengths musical (4/8 bars).
    let n_lines = lines.len() - 1;
    // bonus falls off with the distance in beats, so a boundary one beat off pulls on both
    // neighbouring bar lines and the phrase-length preferences break the tie
    let mut section_bonus = vec![0.0f64; lines.len()];
    for s in sections.iter().skip(1) {
        let f = cfg.time_frame(s.start) as f64;
        for (k, &lf) in line_frames.iter().enumerate().take(n_lines).skip(1) {
            let d = (lf as f64 - f).abs() / ibi.max(1) as f64;
            if d <= 2.5 {
                let b = SECTION_BREAK_BONUS * (-0.5 * d * d).exp();
                section_bonus[k] = section_bonus[k].max(b);
            }
        }
    }
    for (v, b) in ev.melody_rest.iter_mut().zip(&section_bonus) {
        *v += b;
    }
    let mut cuts = vec![0];
    cuts.extend(cut_fragment(0, n_lines, &ev, &PhraseConfig::default()));
    cuts.push(n_lines);
    let section_at = |t: f64| -> String {
        sections
            .iter()
            .find(|s| t >= s.start && t < s.end)
            .or(sections.last())
            .map_or_else(|| "A".to_string(), |s| s.label.clone())
    };
    cuts.windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let (start, end) = (
                cfg.frame_time(line_frames[a]),
                cfg.frame_time(line_frames[b]),
            );
            Phrase {
                start: round3(start),
                end: round3(end),
                bars: b - a,
                beats: lines[b] - lines[a],
                first_beat: lines[a],
                section: section_at(0.5 * (start + end)),
            }
        })
        .collect()
}

/// Break bonus at the bar line of a section change (in units of the breaking-point score).
const SECTION_BREAK_BONUS: f64 = 6.0;
