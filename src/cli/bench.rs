//! `phrasewise bench learn [--quick] [--json]`: see [`crate::service::bench`].

use std::path::PathBuf;

use clap::Subcommand;

use super::progress::{TerminalProgress, epoch_reporter};
use crate::bench::metre_set::MetreSetConfig;
use crate::model::train::EpochReport;
use crate::service::bench::{BenchLearnReport, BenchLearnRequest, bench_learn, default_out};
use crate::service::bench_metre::{BenchMetreRequest, MetreSummary, bench_metre};

/// `bench` subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum BenchCommand {
    /// Generate labeled songs (synthesised, several styles), pretrain, train and print the
    /// `evaluate` table on their test split.
    Learn(BenchLearnArgs),
    /// Analyse synthesised songs in 3/4, 4/4 and 6/8 (and the annotated songs of a data
    /// folder) and print metre and tempo accuracy.
    Metre(BenchMetreArgs),
}

/// Arguments of `bench metre`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct BenchMetreArgs {
    /// The quick set (2 songs of 20 s per style) instead of the full one (8 of 30 s).
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON, every song included.
    #[arg(long)]
    pub json: bool,
    /// Seed of the synthesised set.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder of annotated songs (`audio/GROUP/NAME.ogg` + `.beats`); skipped when absent.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Skip the annotated songs.
    #[arg(long)]
    pub no_data: bool,
}

/// Arguments of `bench learn`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct BenchLearnArgs {
    /// The quick size (4 styles × 8 songs of 40–50 s, 8 pretraining epochs) instead of the full one
    /// (6 styles × 8 songs of 2–3 minutes, 25 epochs).
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON: the `evaluate --json` table plus `seconds` per stage.
    #[arg(long)]
    pub json: bool,
    /// Output folder (default: `bench/` in the cache folder); songs already written there
    /// with the same content are not written again.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pretraining epochs (default: 8 quick, 25 full).
    #[arg(long)]
    pub pretrain_epochs: Option<usize>,
    /// Device: `flex` (CPU, default) or `wgpu` (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
}

/// Runs a `bench` subcommand.
pub fn run_bench(cmd: &BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Learn(args) => run_bench_learn(args).map(|_| ()),
        BenchCommand::Metre(args) => run_bench_metre(args),
    }
}

/// `bench metre`: the accuracy tables (or JSON with `--json`).
pub fn run_bench_metre(args: &BenchMetreArgs) -> anyhow::Result<()> {
    let mut config = if args.quick {
        MetreSetConfig::quick()
    } else {
        MetreSetConfig::full()
    };
    config.seed = args.seed;
    let req = BenchMetreRequest {
        config,
        data: (!args.no_data).then(|| args.data.clone()),
    };
    let report = bench_metre(&req, &TerminalProgress::new())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let pct = |x: f64| format!("{:5.1} %", 100.0 * x);
    println!("group            songs  metre    tempo±4%  relaxed  beat F  downbeat F");
    let line = |name: &str, s: &MetreSummary| {
        println!(
            "{name:16} {:5}  {}  {}  {}  {:.3}  {:.3}",
            s.songs,
            pct(s.metre),
            pct(s.tempo),
            pct(s.tempo_relaxed),
            s.beat_f,
            s.downbeat_f
        );
    };
    line("synthesised", &report.synth);
    for (m, s) in &report.synth_by_metre {
        line(&format!("  {m}"), s);
    }
    if report.real.songs > 0 {
        line("real annotated", &report.real);
    }
    println!("\nconfusion (annotated metre: analysed beats per bar × songs)");
    for (m, row) in &report.confusion {
        let cells: Vec<String> = row.iter().map(|(b, n)| format!("{b}×{n}")).collect();
        println!("  {m}: {}", cells.join("  "));
    }
    println!("\nsong                           metre     bpm    est bpm  est bar  beat F");
    for r in report.songs.iter().chain(&report.real_songs) {
        let mark = |ok: bool| if ok { ' ' } else { '!' };
        println!(
            "{:30} {:8} {:7.1} {:7.1}{} {:4}{}    {:.3}",
            r.name,
            r.metre,
            r.bpm,
            r.est_bpm,
            mark(r.tempo_ok),
            r.est_beats_per_bar,
            mark(r.metre_ok != Some(false)),
            r.beat_f
        );
    }
    println!("seconds: {:.1}", report.seconds);
    Ok(())
}

/// `bench learn`: the table and the seconds each stage took (or JSON with `--json`).
pub fn run_bench_learn(args: &BenchLearnArgs) -> anyhow::Result<BenchLearnReport> {
    let out = args.out.clone().unwrap_or_else(default_out);
    let mut req = if args.quick {
        BenchLearnRequest::quick(&out)
    } else {
        BenchLearnRequest::full(&out)
    };
    req.config = req.config.with_seed(args.seed);
    req.device.clone_from(&args.device);
    if let Some(e) = args.pretrain_epochs {
        req.pretrain_epochs = e;
    }
    // Pretraining's epochs, then the predictor's (numbered from 1 again; every 20th shown).
    let mut stage = 0;
    let mut on_epoch = |r: &EpochReport| {
        stage += usize::from(r.epoch == 1);
        let name = if stage == 1 { "pretrain" } else { "train" };
        if stage == 1 || r.epoch.is_multiple_of(20) {
            eprintln!(
                "{name} epoch {:4}: loss {:.4}, {:.1} samples/s",
                r.epoch, r.loss, r.samples_per_s
            );
        }
    };
    let report = bench_learn(
        &req,
        &TerminalProgress::new(),
        &mut epoch_reporter(&mut on_epoch),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let s = &report.seconds;
        println!(
            "{} ({} train songs, {} phrases pretrained on{})",
            report.labels.display(),
            report.train_songs,
            report.pretrain_phrases,
            if report.pretrain_reused {
                "; encoder of an earlier run with the same settings reused"
            } else {
                ""
            }
        );
        println!(
            "seconds: generate {:.1}, pretrain {:.1}, train {:.1}, evaluate {:.1}",
            s.generate, s.pretrain, s.train, s.evaluate
        );
        print!("{}", report.table.to_text());
    }
    Ok(report)
}
