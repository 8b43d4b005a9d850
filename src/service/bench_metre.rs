//! `bench metre`: metre and tempo accuracy of the song analysis (issue 15, item 5) on the
//! synthesised set of [`crate::bench::metre_set`] and, when a data folder with annotated
//! beat grids is given (`../shared/data`'s layout: `audio/GROUP/NAME.ogg` + `NAME.beats`),
//! on its real songs. Every song goes through the product's whole analysis
//! ([`crate::analysis::analyze_samples`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{Progress, Result};
use crate::analysis::eval::beat_f_measure;
use crate::analysis::{AnalysisConfig, SongAnalysis, analyze_samples};
use crate::audio::{DecodeOptions, decode_file};
use crate::bench::metre_set::{
    Metre, MetreSetConfig, grid_tempo_and_metre, plan, tempo_relaxed, tempo_strict,
};

/// What `bench metre` should do.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchMetreRequest {
    /// The synthesised set.
    pub config: MetreSetConfig,
    /// A folder laid out like `../shared/data` whose annotated songs are scored too;
    /// skipped when `None` or absent.
    pub data: Option<PathBuf>,
}

/// One analysed song.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetreSongResult {
    /// `STYLE-NN` or `GROUP/NAME`.
    pub name: String,
    /// Annotated metre ("3/4", "4/4", "6/8", or "N beats" for real songs).
    pub metre: String,
    /// Annotated beat tempo (BPM).
    pub bpm: f64,
    /// Analysed beats per bar.
    pub est_beats_per_bar: usize,
    /// Analysed tempo (BPM).
    pub est_bpm: f64,
    /// The metre is right (`None`: the grid has no bar labels).
    pub metre_ok: Option<bool>,
    /// Tempo within 4 % of the annotated one.
    pub tempo_ok: bool,
    /// Tempo within 4 % of the annotated one times 1, 2, ½, 3 or ⅓.
    pub tempo_relaxed_ok: bool,
    /// Beat F-measure (±70 ms, beats before 5 s ignored).
    pub beat_f: f64,
    /// Downbeat F-measure (same rules; `None` without bar labels).
    pub downbeat_f: Option<f64>,
}

/// Shares of songs right, over a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetreSummary {
    /// Songs.
    pub songs: usize,
    /// Share with the metre right (of the songs with bar labels).
    pub metre: f64,
    /// Share with the tempo within 4 %.
    pub tempo: f64,
    /// Share with the tempo within 4 % at one metrical level.
    pub tempo_relaxed: f64,
    /// Mean beat F-measure.
    pub beat_f: f64,
    /// Mean downbeat F-measure (of the songs with bar labels).
    pub downbeat_f: f64,
}

impl MetreSummary {
    fn of<'a>(rows: impl Iterator<Item = &'a MetreSongResult> + Clone) -> MetreSummary {
        let n = rows.clone().count();
        let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let labelled: Vec<&MetreSongResult> =
            rows.clone().filter(|r| r.metre_ok.is_some()).collect();
        MetreSummary {
            songs: n,
            metre: share(
                labelled.iter().filter(|r| r.metre_ok == Some(true)).count(),
                labelled.len(),
            ),
            tempo: share(rows.clone().filter(|r| r.tempo_ok).count(), n),
            tempo_relaxed: share(rows.clone().filter(|r| r.tempo_relaxed_ok).count(), n),
            beat_f: rows.clone().map(|r| r.beat_f).sum::<f64>() / n.max(1) as f64,
            downbeat_f: labelled.iter().filter_map(|r| r.downbeat_f).sum::<f64>()
                / labelled.len().max(1) as f64,
        }
    }
}

/// The outcome of `bench metre`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BenchMetreReport {
    /// Synthesised set: every song.
    pub synth: MetreSummary,
    /// Synthesised set per metre.
    pub synth_by_metre: BTreeMap<String, MetreSummary>,
    /// Confusion of the synthesised set: annotated metre → analysed beats per bar → songs.
    pub confusion: BTreeMap<String, BTreeMap<usize, usize>>,
    /// Real annotated songs (empty without a data folder).
    pub real: MetreSummary,
    /// Every song.
    pub songs: Vec<MetreSongResult>,
    /// The real songs' results.
    pub real_songs: Vec<MetreSongResult>,
    /// Wall seconds of the whole run.
    pub seconds: f64,
}

fn analyse(samples: &[f32], sr: u32) -> Result<SongAnalysis> {
    let cfg = AnalysisConfig::default();
    Ok(analyze_samples(samples, sr, &cfg, &mut |_, _| true)?.0)
}

fn score(
    name: String,
    metre: String,
    grid: &[(f64, u32)],
    metre_ok: impl Fn(usize) -> Option<bool>,
    a: &SongAnalysis,
) -> MetreSongResult {
    let (bpm, _) = grid_tempo_and_metre(grid);
    let beats: Vec<f64> = grid.iter().map(|b| b.0).collect();
    let downs: Vec<f64> = grid.iter().filter(|b| b.1 == 1).map(|b| b.0).collect();
    let ok = metre_ok(a.beats_per_bar);
    MetreSongResult {
        name,
        metre,
        bpm,
        est_beats_per_bar: a.beats_per_bar,
        est_bpm: a.tempo_bpm,
        metre_ok: ok,
        tempo_ok: tempo_strict(a.tempo_bpm, bpm),
        tempo_relaxed_ok: tempo_relaxed(a.tempo_bpm, bpm),
        beat_f: beat_f_measure(&beats, &a.beats),
        downbeat_f: ok.map(|_| beat_f_measure(&downs, &a.downbeats)),
    }
}

/// Runs the benchmark of `req`.
pub fn bench_metre(req: &BenchMetreRequest, progress: &dyn Progress) -> Result<BenchMetreReport> {
    let clock = Instant::now();
    let songs = plan(&req.config);
    let mut report = BenchMetreReport::default();
    for (i, s) in songs.iter().enumerate() {
        progress.step("synthesised songs", i as f32 / songs.len().max(1) as f32)?;
        let a = analyse(&s.render(), s.sample_rate())?;
        let grid: Vec<(f64, u32)> = s.beats.iter().copied().zip(s.beat_in_bar.clone()).collect();
        let metre = s.metre;
        let mut r = score(
            s.name.clone(),
            metre.label().into(),
            &grid,
            |b| Some(metre.accepts(b)),
            &a,
        );
        r.bpm = s.bpm;
        *report
            .confusion
            .entry(metre.label().into())
            .or_default()
            .entry(a.beats_per_bar)
            .or_default() += 1;
        report.songs.push(r);
    }
    report.synth = MetreSummary::of(report.songs.iter());
    for m in Metre::ALL {
        let rows = report.songs.iter().filter(move |r| r.metre == m.label());
        report
            .synth_by_metre
            .insert(m.label().into(), MetreSummary::of(rows));
    }
    if let Some(data) = req.data.as_deref().filter(|d| d.is_dir()) {
        let real = annotated_songs(data);
        for (i, (group, audio, beats)) in real.iter().enumerate() {
            progress.step("annotated songs", i as f32 / real.len().max(1) as f32)?;
            let stem = beats
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            let name = format!("{group}/{stem}");
            let grid = read_grid(beats)?;
            let (_, bar) = grid_tempo_and_metre(&grid);
            let dec = decode_file(audio, &DecodeOptions::default())?;
            let a = analyse(&dec.samples, dec.sample_rate)?;
            let label = bar.map_or_else(|| "?".to_string(), |b| format!("{b} beats"));
            report
                .real_songs
                .push(score(name, label, &grid, |b| bar.map(|m| m == b), &a));
        }
        report.real = MetreSummary::of(report.real_songs.iter());
    }
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

/// The annotated songs of a data folder (`../shared/data`): (group, audio, beats file) for
/// every `audio/{lmms,openmsx,fretsonfire}/NAME.beats` beside its `NAME.ogg`, sorted by name
/// within each group. The data tests read the same list.
pub fn annotated_songs(data: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for group in ["lmms", "openmsx", "fretsonfire"] {
        let Ok(rd) = std::fs::read_dir(data.join("audio").join(group)) else {
            continue;
        };
        let mut beats: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "beats"))
            .collect();
        beats.sort();
        for b in beats {
            let audio = b.with_extension("ogg");
            if audio.is_file() {
                out.push((group.to_string(), audio, b));
            }
        }
    }
    out
}

/// A `.beats` file: `(time, beat_in_bar)` per `<time> <beat_in_bar>` line.
pub fn read_grid(path: &Path) -> Result<Vec<(f64, u32)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| super::ServiceError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect())
}
