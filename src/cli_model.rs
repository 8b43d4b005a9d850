//! Command implementations of the network (layer 5), for `src/main.rs` to wire into clap:
//!
//! * `phrasewise pretrain --songs DIR… --out DIR [--config compact|paper]` → [`run_pretrain`]:
//!   self-supervised pretraining of E + D1–D3 on the analysed phrases of every song found.
//! * `phrasewise train --labels FILE [--encoder DIR] --out DIR [--balanced]` →
//!   [`run_train`]: predictor T on the frozen encoder's (cached) embeddings of the train
//!   split, M₀ from the labels, a model folder, test-split metrics.
//! * `phrasewise coascent --labels FILE --unlabeled DIR --model DIR --out DIR` →
//!   [`run_coascent`]: Algorithm 1.
//! * `phrasewise evaluate --labels FILE --model DIR` → [`run_evaluate`]: JSON top-1/5/10 on
//!   the test split with and without M.
//! * `phrasewise labels coldstart DIR… -o labels.json` → [`run_coldstart_labels`]: a labeled
//!   set made by the feature-matching cold-start choreographer (see its docs).

use crate::choreo::decode::{DecodeSettings, decode};
use crate::choreo::paths::{dir_of, relative_to};
use crate::choreo::project::library_fingerprint;
use crate::choreo::score::{ColdStartScorer, Scorer};
use crate::choreo::transition::TransitionMatrix;
use crate::labels::{LabelSet, LabeledPhrase, LabeledSong};
use crate::model::data::{self, LabeledSongData, PhraseSample, SongSamples, Split};
use crate::model::folder::{
    EvalReport, MODEL_SCHEMA, ModelInfo, PhraseModel, evaluate_embeddings, prior_topk,
};
use crate::model::train::{
    self, CoascentConfig, EpochReport, PretrainConfig, Reporter, TrainConfig, cached_embeddings,
    weights_key,
};
use crate::model::{EmbedNorm, Encoder, NetConfig, PredictorConfig, Transitions};
use crate::motion::library::Library;
use anyhow::{Context as _, bail};
use burn::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// Do not print the report (when called from `learn`).
    #[arg(skip)]
    pub quiet: bool,
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
}

/// Arguments of `labels coldstart`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ColdstartLabelsArgs {
    /// Folders (recursive) or files of songs.
    #[arg(required = true)]
    pub songs: Vec<PathBuf>,
    /// Labels file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Library folder (default: the starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Every n-th song (in sorted order, starting with the n-th) goes to the test split.
    #[arg(long, default_value_t = 4)]
    pub test_every: usize,
}

fn device(name: &str) -> anyhow::Result<Device> {
    crate::model::device_named(name)
        .with_context(|| format!("unknown --device `{name}` (flex or wgpu)"))
}

fn load_library(dir: Option<&Path>) -> anyhow::Result<Library> {
    Ok(match dir {
        Some(d) => Library::load(d)?,
        None => Library::starter()?,
    })
}

fn song_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(data::audio_files(p)?);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("no such file or folder: {}", p.display());
        }
    }
    Ok(out)
}

fn progress_bar(len: u64, msg: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len}") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

fn cli_reporter(on_epoch: &mut dyn FnMut(&EpochReport)) -> Reporter<'_> {
    Reporter {
        show_progress: std::io::stderr().is_terminal(),
        on_epoch: Some(on_epoch),
    }
}

/// Labels by the cold-start choreographer: for every song, the analysed music phrases are
/// scored against the library by [`ColdStartScorer`] (tempo fit, intensity, tiling) and the
/// best sequence is decoded with the library's style-block transition matrix (Viterbi,
/// default settings, diversity penalty included). The decoded phrase of each slot is its
/// label. Songs without phrases are skipped. These labels teach the network to imitate the
/// hand-made choreographer — a stand-in for expert labels, not a replacement.
pub fn coldstart_labels(
    files: &[PathBuf],
    out: &Path,
    library: &Library,
    test_every: usize,
) -> anyhow::Result<LabelSet> {
    let scorer = ColdStartScorer::default();
    let m = TransitionMatrix::for_library(&library.index)?;
    let mut set = LabelSet::new();
    let pb = progress_bar(files.len() as u64, "cold-start labels");
    let mut kept = 0usize;
    for f in files {
        pb.inc(1);
        let outcome = match crate::cli::analyze_file(f, 20.0, false) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("skipped {}: {e:#}", f.display());
                continue;
            }
        };
        let song = outcome.analysis;
        if song.phrases.is_empty() {
            continue;
        }
        let scores = scorer.score_all(&song, &library.index);
        let locks = vec![None; song.phrases.len()];
        let d = decode(&scores, &locks, &m, &DecodeSettings::default())?;
        let phrases = song
            .phrases
            .iter()
            .zip(&d.path)
            .map(|(p, &j)| LabeledPhrase {
                start: p.start,
                end: p.end,
                label: library.index.phrases[j].id.clone(),
            })
            .collect();
        kept += 1;
        let split = if test_every > 0 && kept.is_multiple_of(test_every) {
            "test"
        } else {
            "train"
        };
        set.songs.push(LabeledSong {
            audio: relative_to(&dir_of(out), &std::path::absolute(f).unwrap_or(f.clone())),
            content_hash: outcome.content_hash,
            phrases,
            split: Some(split.into()),
        });
    }
    pb.finish_and_clear();
    let mut classes: Vec<String> = set
        .songs
        .iter()
        .flat_map(|s| s.phrases.iter().map(|p| p.label.clone()))
        .collect();
    classes.sort();
    classes.dedup();
    set.classes = classes;
    Ok(set)
}

/// `labels coldstart`.
pub fn run_coldstart_labels(args: &ColdstartLabelsArgs) -> anyhow::Result<()> {
    let library = load_library(args.library.as_deref())?;
    let files = song_files(&args.songs)?;
    let set = coldstart_labels(&files, &args.out, &library, args.test_every)?;
    set.write(&args.out)?;
    let test = set
        .songs
        .iter()
        .filter(|s| s.split.as_deref() == Some("test"))
        .count();
    println!(
        "{}: {} songs ({} test), {} phrases, {} of {} library phrases used",
        args.out.display(),
        set.songs.len(),
        test,
        set.examples(),
        set.classes.len(),
        library.index.phrases.len()
    );
    Ok(())
}

/// `pretrain`.
pub fn run_pretrain(args: &PretrainArgs) -> anyhow::Result<()> {
    let net = NetConfig::named(&args.config)
        .with_context(|| format!("unknown --config `{}` (compact or paper)", args.config))?;
    let files = song_files(&args.songs)?;
    let cache = crate::cache::cache_dir();
    let pb = progress_bar(files.len() as u64, "phrases");
    let songs = data::load_unlabeled(&files, &cache, &mut |i, _| pb.set_position(i as u64));
    pb.finish_and_clear();
    let samples: Vec<PhraseSample> = songs.into_iter().flat_map(|s| s.samples).collect();
    eprintln!(
        "pretraining on {} phrases of {} songs",
        samples.len(),
        files.len()
    );
    let cfg = PretrainConfig::new(net, crate::model::net::PretextWeights::new())
        .with_epochs(args.epochs)
        .with_batch_size(args.batch)
        .with_lr(args.lr)
        .with_decay_every(args.decay_every)
        .with_seed(args.seed);
    let mut on_epoch = |r: &EpochReport| {
        eprintln!(
            "epoch {:4}: loss {:.4}, {:.1} samples/s",
            r.epoch, r.loss, r.samples_per_s
        );
    };
    train::pretrain(
        &cfg,
        &samples,
        &args.out,
        &device(&args.device)?,
        args.resume,
        &mut cli_reporter(&mut on_epoch),
    )?;
    println!("{}: encoder.bpk, pretext.bpk, net.json", args.out.display());
    Ok(())
}

/// The network sizes and the encoder of a `pretrain` output or a model folder.
pub fn load_encoder(dir: &Path, device: &Device) -> anyhow::Result<(NetConfig, Encoder)> {
    let net: NetConfig = if dir.join("model.json").is_file() {
        PhraseModel::read_info(dir)?.net
    } else {
        train::read_json(&dir.join("net.json"))?
    };
    let enc = train::load_module(net.encoder.init(device), &dir.join("encoder.bpk"))?;
    Ok((net, enc))
}

/// Labeled data plus the embeddings of every song by one encoder.
pub struct EmbeddedSet {
    /// The songs.
    pub songs: Vec<LabeledSongData>,
    /// `embeddings[song][phrase]`.
    pub embeddings: Vec<Vec<Vec<f32>>>,
}

impl EmbeddedSet {
    /// Embeddings and labels of the songs in `split`, flattened.
    pub fn flat(&self, split: Split) -> (Vec<Vec<f32>>, Vec<usize>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (s, e) in self.songs.iter().zip(&self.embeddings) {
            if s.split == split {
                x.extend(e.iter().cloned());
                y.extend(s.labels.iter().copied());
            }
        }
        (x, y)
    }

    /// (embeddings, labels) per song of `split`, for evaluation.
    pub fn songs_of(&self, split: Split) -> Vec<(Vec<Vec<f32>>, &[usize])> {
        self.songs
            .iter()
            .zip(&self.embeddings)
            .filter(|(s, _)| s.split == split)
            .map(|(s, e)| (e.clone(), s.labels.as_slice()))
            .collect()
    }
}

/// Embeds a labels file with the encoder of `model` (loaded from `model_dir`), standardised as
/// its predictor expects: what `coascent`, `evaluate` and `learn` all start from.
pub fn embed_for_model(
    model: &PhraseModel,
    model_dir: &Path,
    labels: &Path,
    device: &Device,
) -> anyhow::Result<EmbeddedSet> {
    let key = weights_key(&model_dir.join("encoder.bpk"))?;
    let mut set = embed_labeled(labels, &model.info.classes, &model.encoder, &key, device)?;
    for e in &mut set.embeddings {
        model.normalize(e);
    }
    Ok(set)
}

/// Loads a labels file and embeds every song with `encoder` (cached under `encoder_key`).
pub fn embed_labeled(
    labels: &Path,
    classes: &[String],
    encoder: &Encoder,
    encoder_key: &str,
    device: &Device,
) -> anyhow::Result<EmbeddedSet> {
    let cache = crate::cache::cache_dir();
    let pb = progress_bar(0, "labeled songs");
    let songs = data::load_labeled(labels, classes, &cache, &mut |i, n| {
        pb.set_length(n as u64);
        pb.set_position(i as u64);
    })?;
    pb.finish_and_clear();
    let embeddings = songs
        .iter()
        .map(|s| cached_embeddings(encoder, encoder_key, &s.song, &cache, device))
        .collect();
    Ok(EmbeddedSet { songs, embeddings })
}

/// What [`train_model`] needs.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// Labels file.
    pub labels: PathBuf,
    /// Pretrained encoder folder, or `None` for a random encoder of `net`.
    pub encoder: Option<PathBuf>,
    /// Sizes when `encoder` is `None`.
    pub net: NetConfig,
    /// Predictor training settings (K is filled in).
    pub train: TrainConfig,
    /// Model folder to write.
    pub out: PathBuf,
    /// Resume from the checkpoint in `out`.
    pub resume: bool,
    /// Write f16 weights.
    pub half: bool,
    /// Where to train.
    pub device: Device,
}

/// Trains T (and M₀) for `library` and writes the model folder; returns the model and its
/// test-split report.
pub fn train_model(
    job: &TrainJob,
    library: &Library,
    reporter: &mut Reporter,
) -> anyhow::Result<(PhraseModel, EvalReport)> {
    let device = job.device.clone();
    let classes: Vec<String> = library.index.phrases.iter().map(|p| p.id.clone()).collect();
    let styles: Vec<String> = library
        .index
        .phrases
        .iter()
        .map(|p| p.style.clone())
        .collect();
    let (net, encoder, key, pretrained) = match &job.encoder {
        Some(dir) => {
            let (net, enc) = load_encoder(dir, &device)?;
            (
                net,
                enc,
                weights_key(&dir.join("encoder.bpk"))?,
                format!("encoder pretrained in {}", dir.display()),
            )
        }
        None => {
            device.seed(job.train.seed);
            let enc = job.net.encoder.init(&device);
            // a random encoder has no file: save it so that its embeddings get a cache key
            let p = job.out.join("encoder.bpk");
            train::save_module(&enc, &p)?;
            (
                job.net.clone(),
                enc,
                weights_key(&p)?,
                "randomly initialised encoder (no pretraining)".to_string(),
            )
        }
    };
    let mut set = embed_labeled(&job.labels, &classes, &encoder, &key, &device)?;
    let norm = EmbedNorm::fit(&set.flat(Split::Train).0);
    for e in &mut set.embeddings {
        norm.apply(e);
    }
    let (x, y) = set.flat(Split::Train);
    if x.is_empty() {
        bail!(
            "{}: no labeled phrases in the train split",
            job.labels.display()
        );
    }
    let mut cfg = job.train.clone();
    cfg.predictor.classes = classes.len();
    let t = train::train_predictor(
        &cfg,
        &x,
        &y,
        None,
        Some(&job.out),
        &device,
        job.resume,
        reporter,
    )?;
    let sequences: Vec<Vec<usize>> = set
        .songs
        .iter()
        .filter(|s| s.split == Split::Train)
        .map(|s| s.labels.clone())
        .collect();
    let m = Transitions::from_labels(&styles, &sequences);
    let mut report = evaluate_embeddings(&t.valid(), &m, &set.songs_of(Split::Test), &device);
    let test_labels: Vec<usize> = set.flat(Split::Test).1;
    report.prior = Some(prior_topk(&y, &test_labels, classes.len()));
    let info = ModelInfo {
        schema: MODEL_SCHEMA.into(),
        net,
        predictor: cfg.predictor.clone(),
        classes,
        library_name: library.index.name.clone(),
        library_fingerprint: library_fingerprint(&library.index),
        trained_on: format!(
            "{pretrained}; predictor: {} labeled phrases of the train split of {}{}",
            x.len(),
            job.labels.display(),
            if cfg.balanced { ", class-balanced" } else { "" }
        ),
        embed_norm: Some(norm),
        metrics: Some(report.clone()),
    };
    let model = PhraseModel::new(info, encoder, t, m, device);
    model.save_as(&job.out, job.half)?;
    Ok((model, report))
}

/// `train`.
pub fn run_train(args: &TrainArgs) -> anyhow::Result<()> {
    let library = load_library(args.library.as_deref())?;
    let net = NetConfig::named(&args.config)
        .with_context(|| format!("unknown --config `{}` (compact or paper)", args.config))?;
    let predictor = PredictorConfig::named(&args.predictor, library.index.phrases.len())
        .with_context(|| {
            format!(
                "unknown --predictor `{}` (compact or paper)",
                args.predictor
            )
        })?
        .with_attention(!args.no_attention);
    let train = TrainConfig::new(predictor)
        .with_epochs(args.epochs)
        .with_batch_size(args.batch)
        .with_lr(args.lr)
        .with_balanced(args.balanced)
        .with_seed(args.seed);
    let job = TrainJob {
        labels: args.labels.clone(),
        encoder: args.encoder.clone(),
        net,
        train,
        out: args.out.clone(),
        resume: args.resume,
        half: args.half,
        device: device(&args.device)?,
    };
    let mut on_epoch = |r: &EpochReport| {
        if r.epoch.is_multiple_of(10) {
            eprintln!(
                "epoch {:4}: loss {:.4}, {:.0} samples/s",
                r.epoch, r.loss, r.samples_per_s
            );
        }
    };
    let (_, report) = train_model(&job, &library, &mut cli_reporter(&mut on_epoch))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// `coascent`.
pub fn run_coascent(args: &CoascentArgs) -> anyhow::Result<()> {
    let library = load_library(args.library.as_deref())?;
    let fp = library_fingerprint(&library.index);
    let device = device(&args.device)?;
    let model = PhraseModel::load_on(&args.model, &fp, &device)?;
    let key = weights_key(&args.model.join("encoder.bpk"))?;
    let set = embed_for_model(&model, &args.model, &args.labels, &device)?;
    let (x, y) = set.flat(Split::Train);
    let cache = crate::cache::cache_dir();
    let files = song_files(&args.unlabeled)?;
    let pb = progress_bar(files.len() as u64, "unlabeled songs");
    let songs: Vec<SongSamples> =
        data::load_unlabeled(&files, &cache, &mut |i, _| pb.set_position(i as u64));
    pb.finish_and_clear();
    let unlabeled: Vec<Vec<Vec<f32>>> = songs
        .iter()
        .map(|s| {
            let mut u = cached_embeddings(&model.encoder, &key, s, &cache, &device);
            model.normalize(&mut u);
            u
        })
        .collect();
    let train = TrainConfig::new(model.info.predictor.clone())
        .with_balanced(args.balanced)
        .with_seed(args.seed);
    let cfg = CoascentConfig::new(train)
        .with_epochs(args.epochs)
        .with_tau(args.tau)
        .with_lr(args.lr)
        .with_refresh_every(args.refresh_every)
        .with_alpha(args.alpha);
    let mut m = model.transitions.clone();
    let mut on_epoch = |_: &EpochReport| {};
    let (t, log) = train::coascent(
        &cfg,
        model.predictor.clone(),
        &mut m,
        &x,
        &y,
        &unlabeled,
        &device,
        Some((&args.out, args.resume)),
        &mut cli_reporter(&mut on_epoch),
    )?;
    let report = evaluate_embeddings(&t.valid(), &m, &set.songs_of(Split::Test), &device);
    let mut info = model.info.clone();
    info.trained_on = format!(
        "{}; co-ascent on {} unlabeled phrases of {} songs ({} epochs, τ {})",
        info.trained_on,
        log.unlabeled,
        songs.len(),
        args.epochs,
        args.tau
    );
    info.metrics = Some(report.clone());
    let out = PhraseModel::new(info, model.encoder.clone(), t, m, device);
    out.save_as(&args.out, args.half)?;
    train::write_json(&log, &args.out.join("coascent-log.json"))?;
    if !args.quiet {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// `evaluate`.
pub fn run_evaluate(args: &EvaluateArgs) -> anyhow::Result<EvalReport> {
    let library = load_library(args.library.as_deref())?;
    let fp = library_fingerprint(&library.index);
    let device = device(&args.device)?;
    let model = PhraseModel::load_on(&args.model, &fp, &device)?;
    let split = match args.split.as_str() {
        "test" => Split::Test,
        "valid" => Split::Valid,
        "train" => Split::Train,
        s => bail!("unknown --split `{s}` (test, valid or train)"),
    };
    let set = embed_for_model(&model, &args.model, &args.labels, &device)?;
    let report = evaluate_embeddings(
        &model.predictor,
        &model.transitions,
        &set.songs_of(split),
        &device,
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report)
}
