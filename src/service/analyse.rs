//! Analyse a song: decode, then tempo, beats, bars, sections, melody and music phrases
//! (`crate::analysis`), through the content-addressed cache (`crate::cache`). The one place
//! that decides between the cache and a fresh analysis, for `analyze`, `suggest`,
//! `choreograph`, `labels coldstart` and the editor alike.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use super::{Progress, Result, ServiceError};
use crate::analysis::{self, AnalysisConfig, SongAnalysis};
use crate::audio::{self, ANALYSIS_SR, DecodeOptions};
use crate::cache;

/// How to analyse a file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyseOptions {
    /// Refuse audio longer than this many minutes.
    pub max_minutes: f64,
    /// Read and update the analysis cache.
    pub use_cache: bool,
    /// Decode the song even when the analysis comes from the cache (the editor plays it).
    pub need_audio: bool,
}

impl Default for AnalyseOptions {
    fn default() -> Self {
        AnalyseOptions {
            max_minutes: 20.0,
            use_cache: true,
            need_audio: false,
        }
    }
}

/// An analysed song, with where the analysis came from.
#[derive(Debug, Clone)]
pub struct Analysed {
    /// The analysis.
    pub analysis: SongAnalysis,
    /// Whether it came from the cache.
    pub from_cache: bool,
    /// BLAKE3 of the file (the cache key, recorded in projects and labels).
    pub content_hash: String,
    /// Seconds spent decoding (0 when nothing was decoded).
    pub decode_s: f64,
    /// The decoded mono audio, when the file was decoded (always with `need_audio`).
    pub audio: Option<audio::Audio>,
}

impl Analysed {
    /// The decoded samples when they are at the analysis rate: the network's inputs are
    /// computed from them, so scoring needs no second decode.
    pub fn analysis_samples(&self) -> Option<&[f32]> {
        self.audio.as_ref().and_then(audio::Audio::analysis_samples)
    }
}

/// Analyses `path` (decoding it unless the cache holds its analysis and no audio is needed).
/// Every error names the file.
pub fn analyse_file(
    path: &Path,
    opts: &AnalyseOptions,
    progress: &dyn Progress,
) -> Result<Analysed> {
    let hash = cache::content_hash(path)?;
    let dir = cache::cache_dir();
    if opts.use_cache
        && let Some(analysis) = cache::load(&dir, &hash)
    {
        let (audio, decode_s) = if opts.need_audio {
            progress.step("decoding", 0.0)?;
            let t0 = Instant::now();
            let a = decode_song(path, opts.max_minutes)?;
            (Some(a), t0.elapsed().as_secs_f64())
        } else {
            (None, 0.0)
        };
        return Ok(Analysed {
            analysis,
            from_cache: true,
            content_hash: hash,
            decode_s,
            audio,
        });
    }
    let decode_opts = DecodeOptions {
        max_minutes: opts.max_minutes,
        ..DecodeOptions::default()
    };
    let (decoded, analysis, decode_s) = decode_and_analyse(path, &decode_opts, progress)?;
    if opts.use_cache
        && let Err(e) = cache::store(&dir, &hash, &analysis)
    {
        tracing::warn!("{e}");
    }
    Ok(Analysed {
        analysis,
        from_cache: false,
        content_hash: hash,
        decode_s,
        audio: Some(decoded),
    })
}

/// A song must have music phrases to be ranked: too short or no steady beat is an error
/// naming the file.
pub fn require_phrases(analysis: &SongAnalysis, song: &Path) -> Result<()> {
    if analysis.phrases.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "no music phrases found (too short or no steady beat): {}",
            song.display()
        )));
    }
    Ok(())
}

/// Analyses samples already in memory whose file hashes to `hash` (the editor's demo),
/// through the same cache.
pub fn analyse_samples_cached(
    samples: &[f32],
    sample_rate: u32,
    hash: &str,
    source: &Path,
    progress: &dyn Progress,
) -> Result<SongAnalysis> {
    let dir = cache::cache_dir();
    if let Some(a) = cache::load(&dir, hash) {
        return Ok(a);
    }
    let analysis =
        analyse_samples(samples, sample_rate, progress).map_err(|e| naming(e, source))?;
    if let Err(e) = cache::store(&dir, hash, &analysis) {
        tracing::warn!("analysis cache: {e}");
    }
    Ok(analysis)
}

/// Decodes `path` and analyses it, the melody running on a second thread while the file is
/// still being decoded. Returns the decoded audio too (the editor plays it), the analysis and
/// the decode time.
pub fn decode_and_analyse(
    path: &Path,
    opts: &DecodeOptions,
    progress: &dyn Progress,
) -> Result<(audio::Audio, SongAnalysis, f64)> {
    let t0 = Instant::now();
    progress.step("decoding", 0.0)?;
    // The melody is computed while the file is still being decoded: decoded blocks go to a
    // worker that runs the salience frames they complete (the slowest analysis stage).
    let (tx, rx) = std::sync::mpsc::channel::<Vec<f32>>();
    let cfg = AnalysisConfig::default();
    let melody_worker = {
        let cfg = cfg.clone();
        std::thread::spawn(move || {
            let mut stream = analysis::melody::MelodyStream::new(&cfg, &Default::default());
            for block in rx {
                stream.push(&block);
            }
            stream.finish()
        })
    };
    let mut pending: Vec<f32> = Vec::with_capacity(1 << 15);
    let decoded = audio::decode_file_with(path, opts, &mut |block| {
        pending.extend_from_slice(block);
        if pending.len() >= 1 << 15 {
            // a closed channel only means the worker is gone; decoding goes on
            let _ = tx.send(std::mem::take(&mut pending));
        }
    });
    if !pending.is_empty() {
        let _ = tx.send(pending);
    }
    drop(tx);
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            let _ = melody_worker.join();
            return Err(e.into());
        }
    };
    let decode_s = t0.elapsed().as_secs_f64();
    log_warnings(path, &decoded.warnings);
    let melody = move || {
        melody_worker.join().unwrap_or_else(|_| {
            tracing::warn!("melody worker failed; melody left unvoiced");
            analysis::MelodyTrack::default()
        })
    };
    let mut analysis =
        analyse_samples_with(&decoded.samples, decoded.sample_rate, melody, progress)
            .map_err(|e| naming(e, path))?;
    analysis.warnings.clone_from(&decoded.warnings);
    analysis.timing.insert(
        "decode".into(),
        analysis::song::StageTime { wall_s: decode_s },
    );
    Ok((decoded, analysis, decode_s))
}

/// An analysis error (which does not know the file) with the file named; a cancel stays a
/// cancel.
fn naming(e: ServiceError, song: &Path) -> ServiceError {
    match e {
        ServiceError::Cancelled => e,
        e => anyhow::Error::new(e)
            .context(format!("analysing {}", song.display()))
            .into(),
    }
}

/// Analyses samples (no cache), the melody supplied by `melody` (run on a second thread);
/// reports each stage to `progress` as "analysing: STAGE" over 10–90 %.
pub fn analyse_samples_with(
    samples: &[f32],
    sample_rate: u32,
    melody: impl FnOnce() -> analysis::MelodyTrack + Send,
    progress: &dyn Progress,
) -> Result<SongAnalysis> {
    let cfg = AnalysisConfig::default();
    let mut cancelled = false;
    let mut report = |stage: analysis::song::Stage, f: f32| {
        let go = progress.keep_going(
            &format!("analysing: {}", format!("{stage:?}").to_lowercase()),
            0.1 + 0.8 * f,
        );
        cancelled |= !go;
        go
    };
    let result =
        analysis::analyze_samples_with_melody(samples, sample_rate, &cfg, &mut report, melody);
    if cancelled {
        return Err(ServiceError::Cancelled);
    }
    Ok(result?.0)
}

/// Analyses samples in memory (no cache, no file): `analyze --demo` and tests.
pub fn analyse_samples(
    samples: &[f32],
    sample_rate: u32,
    progress: &dyn Progress,
) -> Result<SongAnalysis> {
    let cfg = AnalysisConfig::default();
    analyse_samples_with(
        samples,
        sample_rate,
        || analysis::melody::extract_melody(samples, &cfg, &Default::default()),
        progress,
    )
}

/// Decodes `song` (mono, analysis rate) with the usual limits, for playback.
pub fn decode_song(song: &Path, max_minutes: f64) -> Result<audio::Audio> {
    let opts = DecodeOptions {
        max_minutes,
        ..DecodeOptions::default()
    };
    let a = audio::decode_file(song, &opts)?;
    log_warnings(song, &a.warnings);
    Ok(a)
}

/// `phrasewise demo-song`: the embedded demo song as a WAV file.
pub fn write_demo_song(out: &Path) -> Result<()> {
    let song = crate::demo::render_demo(ANALYSIS_SR);
    crate::demo::write_wav(out, &song.samples, song.sample_rate)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn log_warnings(path: &Path, warnings: &[String]) {
    for w in warnings {
        tracing::warn!("{}: {w}", path.display());
    }
}
