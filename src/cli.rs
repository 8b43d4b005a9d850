//! Command-line shell (layer 5): argument types and the commands' implementations. `main.rs`
//! only parses and dispatches, so everything here is reachable from tests.

use crate::analysis::{self, AnalysisConfig, SongAnalysis};
use crate::audio::{self, DecodeOptions};
use crate::{cache, demo};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `phrasewise analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// Audio file (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A). Omit with --demo.
    pub audio: Option<PathBuf>,
    /// Analyse the embedded demo song instead of a file.
    #[arg(long)]
    pub demo: bool,
    /// Print the analysis as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the analysis JSON to this file.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Ignore and do not update the analysis cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Refuse audio longer than this many minutes.
    #[arg(long, default_value_t = 20.0)]
    pub max_minutes: f64,
}

/// Result of an analysis run, with where it came from.
#[derive(Debug, Clone)]
pub struct AnalyzeOutcome {
    pub analysis: SongAnalysis,
    pub from_cache: bool,
    pub content_hash: Option<String>,
    pub decode_s: f64,
    /// The decoded mono samples at the analysis rate, when the file was decoded (not when the
    /// analysis came from the cache): the network's inputs are computed from them.
    pub samples: Option<Vec<f32>>,
}

/// Decodes and analyses a file, using the content-addressed cache unless `no_cache`.
pub fn analyze_file(path: &Path, max_minutes: f64, no_cache: bool) -> Result<AnalyzeOutcome> {
    let hash = cache::content_hash(path)?;
    let dir = cache::cache_dir();
    if !no_cache && let Some(a) = cache::load(&dir, &hash) {
        return Ok(AnalyzeOutcome {
            analysis: a,
            from_cache: true,
            content_hash: Some(hash),
            decode_s: 0.0,
            samples: None,
        });
    }
    let opts = DecodeOptions {
        max_minutes,
        ..DecodeOptions::default()
    };
    let (decoded, analysis, decode_s) = decode_and_analyze(path, &opts, &mut |_, _| true)?;
    if !no_cache && let Err(e) = cache::store(&dir, &hash, &analysis) {
        tracing::warn!("{e}");
    }
    Ok(AnalyzeOutcome {
        analysis,
        from_cache: false,
        content_hash: Some(hash),
        decode_s,
        samples: (decoded.sample_rate == crate::audio::ANALYSIS_SR).then_some(decoded.samples),
    })
}

/// Decodes `path` and analyses it, the melody running on a second thread while the file is
/// still being decoded. Returns the decoded audio too (the editor plays it), the analysis and
/// the decode time. `progress(stage, fraction)` may return `false` to cancel.
pub fn decode_and_analyze(
    path: &Path,
    opts: &DecodeOptions,
    progress: &mut dyn FnMut(analysis::song::Stage, f32) -> bool,
) -> Result<(audio::Audio, SongAnalysis, f64)> {
    let t0 = Instant::now();
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
    for w in &decoded.warnings {
        tracing::warn!("{}: {}", path.display(), w);
    }
    let melody = move || {
        melody_worker.join().unwrap_or_else(|_| {
            tracing::warn!("melody worker failed; melody left unvoiced");
            analysis::MelodyTrack::default()
        })
    };
    let mut analysis =
        run_analysis_progress(&decoded.samples, decoded.sample_rate, melody, progress)?;
    analysis.warnings = decoded.warnings.clone();
    analysis.timing.insert(
        "decode".into(),
        analysis::song::StageTime { wall_s: decode_s },
    );
    Ok((decoded, analysis, decode_s))
}

/// Runs the analysis with a terminal progress bar for songs over a minute.
pub fn run_analysis(samples: &[f32], sample_rate: u32) -> Result<SongAnalysis> {
    let cfg = AnalysisConfig::default();
    run_analysis_with(samples, sample_rate, || {
        analysis::melody::extract_melody(samples, &cfg, &Default::default())
    })
}

/// [`run_analysis`] with the melody supplied by `melody` (run on a second thread).
pub fn run_analysis_with(
    samples: &[f32],
    sample_rate: u32,
    melody: impl FnOnce() -> analysis::MelodyTrack + Send,
) -> Result<SongAnalysis> {
    run_analysis_progress(samples, sample_rate, melody, &mut |_, _| true)
}

/// [`run_analysis_with`], also reporting to `outer` (which may cancel by returning `false`).
pub fn run_analysis_progress(
    samples: &[f32],
    sample_rate: u32,
    melody: impl FnOnce() -> analysis::MelodyTrack + Send,
    outer: &mut dyn FnMut(analysis::song::Stage, f32) -> bool,
) -> Result<SongAnalysis> {
    let cfg = AnalysisConfig::default();
    let long = samples.len() as f64 / f64::from(sample_rate) > 60.0;
    let bar = if long && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(100);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {msg:12} [{bar:30}] {percent:>3}%")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        Some(pb)
    } else {
        None
    };
    let mut progress = |stage: analysis::song::Stage, f: f32| {
        if let Some(pb) = &bar {
            pb.set_message(format!("{stage:?}").to_lowercase());
            pb.set_position((f * 100.0) as u64);
        }
        outer(stage, f)
    };
    let (a, _signals) =
        analysis::analyze_samples_with_melody(samples, sample_rate, &cfg, &mut progress, melody)?;
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    Ok(a)
}

/// `phrasewise analyze`.
pub fn analyze(args: &AnalyzeArgs) -> Result<()> {
    let t0 = Instant::now();
    let (outcome, source) = match (&args.audio, args.demo) {
        (Some(path), false) => (
            analyze_file(path, args.max_minutes, args.no_cache)?,
            path.display().to_string(),
        ),
        (None, true) => {
            let song = demo::render_demo(crate::audio::ANALYSIS_SR);
            let analysis = run_analysis(&song.samples, song.sample_rate)?;
            (
                AnalyzeOutcome {
                    analysis,
                    from_cache: false,
                    content_hash: None,
                    decode_s: 0.0,
                    samples: None,
                },
                "<embedded demo song>".to_string(),
            )
        }
        (Some(_), true) => anyhow::bail!("give either an audio file or --demo, not both"),
        (None, false) => {
            anyhow::bail!("no audio file given (or use --demo for the embedded demo song)")
        }
    };
    let mut value = serde_json::to_value(&outcome.analysis)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "source".into(),
            serde_json::json!({
                "path": source,
                "content_hash": outcome.content_hash,
                "from_cache": outcome.from_cache,
            }),
        );
        let total = t0.elapsed().as_secs_f64();
        if let Some(timing) = obj.get_mut("timing").and_then(|t| t.as_object_mut()) {
            timing.insert("process".into(), serde_json::json!({ "wall_s": total }));
        }
    }
    if let Some(out) = &args.output {
        let text = serde_json::to_string_pretty(&value)?;
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&value)?);
    } else if args.output.is_none() || std::io::stdout().is_terminal() {
        print_summary(&outcome.analysis, &source, outcome.from_cache);
    }
    Ok(())
}

fn print_summary(a: &SongAnalysis, source: &str, from_cache: bool) {
    println!("{source}{}", if from_cache { "  (cached)" } else { "" });
    println!(
        "  duration {:.1} s · tempo {:.1} BPM · {}/4 · {} beats · {} bars",
        a.duration,
        a.tempo_bpm,
        a.beats_per_bar,
        a.beats.len(),
        a.downbeats.len()
    );
    let voiced = a.melody.f0_hz.iter().filter(|v| **v > 0.0).count();
    println!(
        "  melody voiced {:.0} % of frames",
        100.0 * voiced as f64 / a.melody.f0_hz.len().max(1) as f64
    );
    println!("  sections:");
    for s in &a.sections {
        println!("    {:>7.2} – {:>7.2}  {}", s.start, s.end, s.label);
    }
    println!("  phrases:");
    for (i, p) in a.phrases.iter().enumerate() {
        println!(
            "    {:>3}  {:>7.2} – {:>7.2}  {} bars  {:>2} beats  section {}",
            i + 1,
            p.start,
            p.end,
            p.bars,
            p.beats,
            p.section
        );
    }
    for w in &a.warnings {
        println!("  warning: {w}");
    }
}

/// `phrasewise demo-song -o FILE.wav`: writes the embedded demo song.
pub fn write_demo_song(out: &Path) -> Result<()> {
    let song = demo::render_demo(crate::audio::ANALYSIS_SR);
    demo::write_wav(out, &song.samples, song.sample_rate)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
