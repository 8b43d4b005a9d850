//! `phrasewise pretrain | train | coascent | evaluate`: argument parsing and printing around
//! [`crate::service::train`].

use std::path::PathBuf;

use super::progress::{TerminalProgress, epoch_reporter};
use crate::model::EvalReport;
use crate::model::evaluation::EvalTable;
use crate::model::train::EpochReport;
use crate::service::train::{
    self, CoascentRequest, EvaluateRequest, PretrainRequest, TrainRequest,
};

/// Arguments of `pretrain`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct PretrainArgs {
    /// Folders (searched recursively) or files of songs to pretrain on.
    #[arg(long = "songs", required = true, num_args = 1..)]
    pub songs: Vec<PathBuf>,
    /// Output folder (net.json, encoder.bpk, pretext.bpk, checkpoint-pretrain/).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Network size: `compact` (default, CPU) or `paper` (ResNet-50, Table 3).
    #[arg(long, default_value = "compact")]
    pub config: String,
    /// Epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Learning rate × 0.1 every this many epochs.
    #[arg(long, default_value_t = 50)]
    pub decay_every: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue from the checkpoint in `--out`.
    #[arg(long)]
    pub resume: bool,
    /// Device: `flex` (CPU, default) or `wgpu` (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
}

/// Arguments of `train`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct TrainArgs {
    /// Labels file (`phrasewise-labels/1`).
    #[arg(long)]
    pub labels: PathBuf,
    /// Pretrained encoder: a `pretrain` output or a model folder. Without it the encoder is
    /// randomly initialised (ablation Group I).
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// Network size when no `--encoder` is given.
    #[arg(long, default_value = "compact")]
    pub config: String,
    /// Predictor size: `compact` (inner width 256, default) or `paper` (Table 6, 1024).
    #[arg(long, default_value = "compact")]
    pub predictor: String,
    /// Model folder to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Library folder (default: the starter library built into the program).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 1e-2)]
    pub lr: f64,
    /// Class-balanced sampling (Group IV).
    #[arg(long)]
    pub balanced: bool,
    /// Predictor without the SE attention gates (Groups I–II).
    #[arg(long)]
    pub no_attention: bool,
    /// The paper's predictor only, for ablations: no music features beside the embedding and
    /// a plain output layer instead of the candidate-aware one.
    #[arg(long)]
    pub plain: bool,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue from the checkpoint in `--out`.
    #[arg(long)]
    pub resume: bool,
    /// Store the model folder's weights as f16 (half the size).
    #[arg(long)]
    pub half: bool,
    /// Device: `flex` (CPU, default) or `wgpu` (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Leave out the labels read off recorded takes (`takes import`, status `imported`)
    /// until a person has confirmed them in the editor.
    #[arg(long)]
    pub skip_imported: bool,
    /// Do not fit the variety decode's penalties on the labels: dances ranked with the model
    /// use the program's default penalties. For labels made by rules rather than people
    /// (`labels coldstart`), whose repetition is the rules', not a choreographer's.
    #[arg(long)]
    pub no_variety_fit: bool,
}

/// Arguments of `coascent`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct CoascentArgs {
    /// Labels file.
    #[arg(long)]
    pub labels: PathBuf,
    /// Folder of unlabeled songs.
    #[arg(long, required = true, num_args = 1..)]
    pub unlabeled: Vec<PathBuf>,
    /// Trained model folder (from `train`).
    #[arg(long)]
    pub model: PathBuf,
    /// Model folder to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Library folder (default: the starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Confidence threshold τ.
    #[arg(long, default_value_t = 0.9)]
    pub tau: f32,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-5)]
    pub lr: f64,
    /// Refresh pseudo-labels every this many epochs.
    #[arg(long, default_value_t = 5)]
    pub refresh_every: usize,
    /// Momentum α of the M update.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f32,
    /// Class-balanced sampling.
    #[arg(long)]
    pub balanced: bool,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Store the model folder's weights as f16 (half the size).
    #[arg(long)]
    pub half: bool,
    /// Continue from the checkpoint in `--out`.
    #[arg(long)]
    pub resume: bool,
    /// Device: `flex` (CPU, default) or `wgpu` (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
}

/// Arguments of `evaluate`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct EvaluateArgs {
    /// Labels file.
    #[arg(long)]
    pub labels: PathBuf,
    /// Model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Library folder (default: the starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Split to evaluate: test, valid or train.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Device: `flex` (CPU, default) or `wgpu` (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Print the table as JSON: `{"rows": [{"name", "top1", "top5", "top10", "top5_ci", …}]}`.
    #[arg(long)]
    pub json: bool,
    /// Ignore the songs' declared `style`: the model guesses each song's style from its
    /// music (by default a style the labels declare is used, as the `style_frequency` row
    /// uses it).
    #[arg(long)]
    pub infer_style: bool,
}

/// `pretrain`.
pub fn run_pretrain(args: &PretrainArgs) -> anyhow::Result<()> {
    let req = PretrainRequest {
        songs: args.songs.clone(),
        out: args.out.clone(),
        config: args.config.clone(),
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        decay_every: args.decay_every,
        seed: args.seed,
        resume: args.resume,
        device: args.device.clone(),
    };
    let mut on_epoch = |r: &EpochReport| {
        eprintln!(
            "epoch {:4}: loss {:.4}, {:.1} samples/s",
            r.epoch, r.loss, r.samples_per_s
        );
    };
    let phrases = train::pretrain(
        &req,
        &TerminalProgress::new(),
        &mut epoch_reporter(&mut on_epoch),
    )?;
    println!(
        "{}: encoder.bpk, pretext.bpk, net.json ({phrases} phrases)",
        args.out.display()
    );
    Ok(())
}

/// `train`.
pub fn run_train(args: &TrainArgs) -> anyhow::Result<EvalReport> {
    let req = TrainRequest {
        labels: args.labels.clone(),
        encoder: args.encoder.clone(),
        config: args.config.clone(),
        predictor: args.predictor.clone(),
        out: args.out.clone(),
        library: args.library.clone(),
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        balanced: args.balanced,
        no_attention: args.no_attention,
        plain: args.plain,
        seed: args.seed,
        resume: args.resume,
        half: args.half,
        device: args.device.clone(),
        skip_imported: args.skip_imported,
        no_variety_fit: args.no_variety_fit,
    };
    let mut on_epoch = |r: &EpochReport| {
        if r.epoch.is_multiple_of(10) {
            eprintln!(
                "epoch {:4}: loss {:.4}, {:.0} samples/s",
                r.epoch, r.loss, r.samples_per_s
            );
        }
    };
    let report = train::train(&req, &mut epoch_reporter(&mut on_epoch))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report)
}

/// `coascent`.
pub fn run_coascent(args: &CoascentArgs) -> anyhow::Result<EvalReport> {
    let req = CoascentRequest {
        labels: args.labels.clone(),
        unlabeled: args.unlabeled.clone(),
        model: args.model.clone(),
        out: args.out.clone(),
        library: args.library.clone(),
        epochs: args.epochs,
        tau: args.tau,
        lr: args.lr,
        refresh_every: args.refresh_every,
        alpha: args.alpha,
        balanced: args.balanced,
        seed: args.seed,
        half: args.half,
        resume: args.resume,
        device: args.device.clone(),
    };
    let mut on_epoch = |_: &EpochReport| {};
    let report = train::coascent(
        &req,
        &TerminalProgress::new(),
        &mut epoch_reporter(&mut on_epoch),
    )?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report)
}

/// `evaluate`: the table (text, or JSON with `--json`).
pub fn run_evaluate(args: &EvaluateArgs) -> anyhow::Result<EvalTable> {
    let table = train::evaluate(&EvaluateRequest {
        labels: args.labels.clone(),
        model: args.model.clone(),
        library: args.library.clone(),
        split: args.split.clone(),
        device: args.device.clone(),
        infer_style: args.infer_style,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", table.to_text());
    }
    Ok(table)
}
