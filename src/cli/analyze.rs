//! `phrasewise analyze` and `phrasewise demo-song`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};

use super::progress::TerminalProgress;
use crate::analysis::SongAnalysis;
use crate::service::analyse::{AnalyseOptions, analyse_file, analyse_samples};

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

/// `phrasewise analyze`.
pub fn run_analyze(args: &AnalyzeArgs) -> Result<()> {
    let t0 = Instant::now();
    let progress = TerminalProgress::new();
    let (analysis, source, hash, from_cache) = match (&args.audio, args.demo) {
        (Some(path), false) => {
            let opts = AnalyseOptions {
                max_minutes: args.max_minutes,
                use_cache: !args.no_cache,
                need_audio: false,
            };
            let a = analyse_file(path, &opts, &progress)?;
            (
                a.analysis,
                path.display().to_string(),
                Some(a.content_hash),
                a.from_cache,
            )
        }
        (None, true) => {
            let song = crate::demo::render_demo(crate::audio::ANALYSIS_SR);
            let analysis = analyse_samples(&song.samples, song.sample_rate, &progress)?;
            (analysis, "<embedded demo song>".to_string(), None, false)
        }
        (Some(_), true) => bail!("give either an audio file or --demo, not both"),
        (None, false) => bail!("no audio file given (or use --demo for the embedded demo song)"),
    };
    drop(progress);
    let mut value = serde_json::to_value(&analysis)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "source".into(),
            serde_json::json!({
                "path": source,
                "content_hash": hash,
                "from_cache": from_cache,
            }),
        );
        let total = t0.elapsed().as_secs_f64();
        if let Some(timing) = obj.get_mut("timing").and_then(|t| t.as_object_mut()) {
            timing.insert("process".into(), serde_json::json!({ "wall_s": total }));
        }
    }
    if let Some(out) = &args.output {
        let text = serde_json::to_string_pretty(&value)?;
        crate::files::write_atomic(out, text.as_bytes())?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&value)?);
    } else if args.output.is_none() || std::io::stdout().is_terminal() {
        print_summary(&analysis, &source, from_cache);
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
