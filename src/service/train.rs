//! The network's jobs: self-supervised pretraining, training the predictor (and M₀) on a
//! labels file, co-ascent (the paper's Algorithm 1) and evaluation, plus the embedding step
//! they share (a frozen encoder's cached embeddings of every labeled song).

use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::library::load_library;
use super::{Progress, Result, invalid};
use crate::choreo::project::library_fingerprint;
use crate::model::data::append_music_features;
use crate::model::data::{self, LabeledSongData, PhraseSample, SongSamples, Split};
use crate::model::evaluation::{
    Combination, EvalSong, EvalTable, TrainSong, Validation, evaluation_table,
};
use crate::model::feature_expert::{self, FeatureExpert};
use crate::model::features::candidate_matrix;
use crate::model::folder::{
    EvalInput, EvalReport, MODEL_SCHEMA, ModelInfo, PhraseModel, PriorCorrection, SongPriors,
    evaluate_embeddings, phrase_features, prior_topk, song_features_of,
};
use crate::model::style::StylePrior;
use crate::model::train::{
    self, CoascentConfig, PretrainConfig, Reporter, TrainConfig, cached_embeddings, weights_key,
};
use crate::model::{EmbedNorm, Encoder, NetConfig, PredictorConfig, Transitions};
use crate::motion::library::Library;

/// The compute device named `name` (`flex` for the CPU, `wgpu` for a GPU).
pub fn device(name: &str) -> Result<Device> {
    match crate::model::device_named(name) {
        Some(d) => Ok(d),
        None if matches!(name, "wgpu" | "gpu") && !crate::model::HAS_GPU_BACKEND => invalid!(
            "device `{name}`: this build has no GPU backend; build with \
             `cargo build --release --features gpu`"
        ),
        None => invalid!("unknown device `{name}` (flex or wgpu)"),
    }
}

/// Songs named by `paths`: files as given, folders searched recursively for audio.
pub fn song_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(data::audio_files(p)?);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            invalid!("no such file or folder: {}", p.display());
        }
    }
    Ok(out)
}

/// The analysed phrases of every song named by `paths` (see [`song_files`]), reported to
/// `progress` as `step` song by song.
fn unlabeled_songs(
    paths: &[PathBuf],
    step: &str,
    progress: &dyn Progress,
) -> Result<Vec<SongSamples>> {
    let files = song_files(paths)?;
    let n = files.len().max(1) as f32;
    Ok(data::load_unlabeled(
        &files,
        &crate::cache::cache_dir(),
        &mut |i, _| progress.update(step, i as f32 / n),
    ))
}

/// What `pretrain` should do.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainRequest {
    /// Folders (searched recursively) or files of songs.
    pub songs: Vec<PathBuf>,
    /// Output folder (net.json, encoder.bpk, pretext.bpk, checkpoint-pretrain/).
    pub out: PathBuf,
    /// Network size: `compact` or `paper`.
    pub config: String,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Learning rate × 0.1 every this many epochs.
    pub decay_every: usize,
    /// Seed.
    pub seed: u64,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Device: `flex` or `wgpu`.
    pub device: String,
}

/// Self-supervised pretraining of E + D1–D3 on the analysed phrases of every song found;
/// returns the number of phrases trained on.
pub fn pretrain(
    req: &PretrainRequest,
    progress: &dyn Progress,
    reporter: &mut Reporter,
) -> Result<usize> {
    let Some(net) = NetConfig::named(&req.config) else {
        invalid!("unknown network config `{}` (compact or paper)", req.config);
    };
    let songs = unlabeled_songs(&req.songs, "phrases of the songs", progress)?;
    progress.step("pretraining", 0.0)?;
    let samples: Vec<PhraseSample> = songs.into_iter().flat_map(|s| s.samples).collect();
    let cfg = PretrainConfig::new(net, crate::model::net::PretextWeights::new())
        .with_epochs(req.epochs)
        .with_batch_size(req.batch)
        .with_lr(req.lr)
        .with_decay_every(req.decay_every)
        .with_seed(req.seed);
    train::pretrain(
        &cfg,
        &samples,
        &req.out,
        &device(&req.device)?,
        req.resume,
        reporter,
    )?;
    Ok(samples.len())
}

/// The network sizes and the encoder of a `pretrain` output or a model folder.
pub fn load_encoder(dir: &Path, device: &Device) -> Result<(NetConfig, Encoder)> {
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

    /// (inputs, labels, phrase features) per song of `split`, for evaluation.
    pub fn songs_of(&self, split: Split) -> Vec<EvalInput<'_>> {
        self.songs
            .iter()
            .zip(&self.embeddings)
            .filter(|(s, _)| s.split == split)
            .map(|(s, e)| {
                (
                    e.clone(),
                    s.labels.as_slice(),
                    phrase_features(&s.song.samples),
                    s.style.as_deref(),
                )
            })
            .collect()
    }
}

/// Embeds a labels file with the encoder of `model` (loaded from `model_dir`), standardised as
/// its predictor expects: what co-ascent, evaluation and `learn` all start from.
pub fn embed_for_model(
    model: &PhraseModel,
    model_dir: &Path,
    labels: &Path,
    device: &Device,
) -> Result<EmbeddedSet> {
    let key = weights_key(&model_dir.join("encoder.bpk"))?;
    let width = model.info.predictor.features;
    let mut set = embed_labeled(
        labels,
        &model.info.classes,
        (&model.encoder, &key, width),
        device,
    )?;
    for e in &mut set.embeddings {
        model.normalize(e);
    }
    Ok(set)
}

/// Loads a labels file and embeds every song with `encoder` (cached under `encoder_key`),
/// each row followed by the first `features` music features of its phrase (T's input).
pub fn embed_labeled(
    labels: &Path,
    classes: &[String],
    (encoder, encoder_key, features): (&Encoder, &str, usize),
    device: &Device,
) -> Result<EmbeddedSet> {
    let cache = crate::cache::cache_dir();
    let songs = data::load_labeled(labels, classes, &cache, &mut |_, _| {})?;
    let embeddings = songs
        .iter()
        .map(|s| {
            let mut u = cached_embeddings(encoder, encoder_key, &s.song, &cache, device);
            append_music_features(&mut u, &s.song.samples, features);
            u
        })
        .collect();
    Ok(EmbeddedSet { songs, embeddings })
}

/// Top-k of the model in `dir` on the `test` split of `labels`.
pub fn evaluate_dir(labels: &Path, dir: &Path, library: &Library) -> Result<EvalReport> {
    let device = crate::model::default_device();
    let model = PhraseModel::load_on(dir, &library_fingerprint(&library.index), &device)?;
    let set = embed_for_model(&model, dir, labels, &device)?;
    Ok(evaluate_embeddings(
        &model.predictor,
        (&model.transitions, &model.info.priors()),
        &set.songs_of(Split::Test),
        &device,
    ))
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
    /// Fit the variety decode's penalties on the labels and store them in `model.json`
    /// (false: the model's dances use the program's default penalties).
    pub fit_variety: bool,
}

/// What `train` should do (the command line's view of a [`TrainJob`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRequest {
    /// Labels file.
    pub labels: PathBuf,
    /// Pretrained encoder folder (`None`: random encoder, ablation Group I).
    pub encoder: Option<PathBuf>,
    /// Network size when no encoder is given.
    pub config: String,
    /// Predictor size: `compact` or `paper`.
    pub predictor: String,
    /// Model folder to write.
    pub out: PathBuf,
    /// Library folder (default: the starter library).
    pub library: Option<PathBuf>,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// SGD learning rate.
    pub lr: f64,
    /// Class-balanced sampling (Group IV).
    pub balanced: bool,
    /// Predictor without the SE attention gates (Groups I–II).
    pub no_attention: bool,
    /// The paper's predictor only: no music features, no candidate-aware head (ablations).
    pub plain: bool,
    /// Seed.
    pub seed: u64,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Store f16 weights.
    pub half: bool,
    /// Device: `flex` or `wgpu`.
    pub device: String,
    /// Leave out the labels read off recorded takes (status `imported`) until a person has
    /// confirmed them.
    pub skip_imported: bool,
    /// Leave the variety penalties unfitted (labels made by rules rather than people carry
    /// the rules' repetition; see `assets/model/README.md`).
    pub no_variety_fit: bool,
}

/// The labels file to train on: `labels` itself, or — with `skip_imported` — a copy without
/// the imported labels ([`crate::labels::LabelSet::without_imported`]) in a temporary folder (audio paths
/// rebased), removed when the returned guard drops.
fn labels_to_train(labels: &Path, skip_imported: bool) -> Result<(PathBuf, Option<TempLabels>)> {
    if !skip_imported {
        return Ok((labels.to_path_buf(), None));
    }
    let kept = crate::labels::LabelSet::read(labels)?.without_imported();
    if kept.songs.is_empty() {
        invalid!(
            "{}: every label is imported (read off a take); review some, or train without --skip-imported",
            labels.display()
        );
    }
    let dir = std::env::temp_dir().join(format!(
        "phrasewise-reviewed-labels-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| crate::motion::MotionError::io(&dir, e))?;
    let path = dir.join("labels.json");
    let mut used = kept;
    // each run of a song stays its own entry (not merged: that would join them again)
    for song in &mut used.songs {
        let audio =
            crate::choreo::paths::resolve(&crate::choreo::paths::dir_of(labels), &song.audio);
        song.audio = crate::choreo::paths::relative_to(&dir, &audio);
    }
    used.write(&path)?;
    Ok((path, Some(TempLabels(dir))))
}

/// Removes a temporary labels folder when dropped.
struct TempLabels(PathBuf);

impl Drop for TempLabels {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `train`: the predictor and M₀ for the library, a model folder, its test-split report.
pub fn train(req: &TrainRequest, reporter: &mut Reporter) -> Result<EvalReport> {
    let library = load_library(req.library.as_deref())?;
    let (labels, _temp) = labels_to_train(&req.labels, req.skip_imported)?;
    let Some(net) = NetConfig::named(&req.config) else {
        invalid!("unknown network config `{}` (compact or paper)", req.config);
    };
    let Some(predictor) =
        PredictorConfig::named(&req.predictor, library.index.class_phrases().len())
    else {
        invalid!("unknown predictor `{}` (compact or paper)", req.predictor);
    };
    let predictor = predictor.with_attention(!req.no_attention);
    let predictor = if req.plain {
        predictor
    } else {
        predictor.with_extensions()
    };
    let train = TrainConfig::new(predictor)
        .with_epochs(req.epochs)
        .with_batch_size(req.batch)
        .with_lr(req.lr)
        .with_balanced(req.balanced)
        .with_seed(req.seed);
    let job = TrainJob {
        labels,
        encoder: req.encoder.clone(),
        net,
        train,
        out: req.out.clone(),
        resume: req.resume,
        half: req.half,
        device: device(&req.device)?,
        fit_variety: !req.no_variety_fit,
    };
    Ok(train_model(&job, &library, reporter)?.1)
}

/// Trains T (and M) for `library` and writes the model folder; returns the model and its
/// test-split report.
///
/// The calibration folds ([`calibration_folds`]: each training song held out once, or the
/// labels' `valid` split) pick the number of epochs of T (early stopping on the held-out
/// songs, the median over folds) and calibrate the combination of T with M, the style prior
/// and the music-feature expert on every fold's held-out predictions
/// ([`crate::model::evaluation::calibrate`]; saved in `model.json`). Then T is trained
/// again from the same seed, and M, the style prior and the expert counted, on every training
/// song: labeled sets are small, and no song should be left out of the model that ships.
pub fn train_model(
    job: &TrainJob,
    library: &Library,
    reporter: &mut Reporter,
) -> Result<(PhraseModel, EvalReport)> {
    let device = job.device.clone();
    // Mirrored variants are not classes: they take their original's score when a song is
    // ranked (`LibraryIndex::class_phrases`), and a label naming one counts as its original.
    let classes: Vec<String> = library
        .index
        .class_phrases()
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let mut cfg = job.train.clone();
    cfg.predictor.classes = classes.len();
    let (net, encoder, key, pretrained) = job_encoder(job, &device)?;
    let set = embed_labeled(
        &job.labels,
        &classes,
        (&encoder, &key, cfg.predictor.features),
        &device,
    )?;
    let mut fit = Fitting::new(set, library, &cfg, &device);
    fit.show_progress = reporter.show_progress;
    fit.fit_variety = job.fit_variety;
    if fit
        .all_train
        .iter()
        .all(|&i| fit.set.embeddings[i].is_empty())
    {
        invalid!(
            "{}: no labeled phrases in the train split",
            job.labels.display()
        );
    }
    let norm = fit.standardise();
    let (c, norm) = fit.choose_predictor(norm)?;
    let (t, y) = fit.final_predictor(c.epochs, (&job.out, job.resume), reporter)?;
    let all_train = fit.all_train.clone();
    let m = Transitions::smoothed(&fit.styles, &fit.sequences(&all_train), c.beta);
    let set = &fit.set;
    let (style_prior, feature_expert) = fit.song_priors(&c);
    let start_prior = fit.weighted_start_prior(&all_train, c.c.start_weight);
    let priors = SongPriors {
        network: c.c.network_weight,
        context: c.c.song_context,
        style: style_prior.as_ref(),
        expert: feature_expert.as_ref().map(|g| (g, g.weight)),
        start: start_prior.as_ref(),
    };
    let mut report = evaluate_embeddings(&t, (&m, &priors), &set.songs_of(Split::Test), &device);
    let test_labels: Vec<usize> = set.flat(Split::Test).1;
    report.prior = Some(prior_topk(&y, &test_labels, classes.len()));
    let info = ModelInfo {
        schema: MODEL_SCHEMA.into(),
        net,
        predictor: fit.cfg.predictor.clone(),
        classes,
        library_name: library.index.name.clone(),
        library_fingerprint: library_fingerprint(&library.index),
        trained_on: trained_on(
            &pretrained,
            &fit,
            &c,
            (y.len(), all_train.len(), &job.labels),
        ),
        embed_norm: Some(norm),
        metrics: Some(report.clone()),
        matrix_weight: Some(c.c.matrix_weight),
        locked_matrix_weight: Some(c.c.locked_weight),
        network_weight: Some(c.c.network_weight),
        matrix_smoothing: Some(c.beta),
        song_context: Some(c.c.song_context),
        style_prior,
        feature_expert,
        prior_correction: Some(PriorCorrection::from_labels(
            c.c.prior_correction,
            &y,
            cfg.predictor.classes,
        )),
        variety: c.variety,
        start_prior,
    };
    let model = PhraseModel::new(info, encoder, t, m, device);
    model.save_as(&job.out, job.half)?;
    Ok((model, report))
}

/// `model.json`'s `trained_on`: the encoder, the predictor kept, the labels and what the
/// validation songs decided.
fn trained_on(
    pretrained: &str,
    fit: &Fitting,
    c: &Calibration,
    (phrases, songs, labels): (usize, usize, &Path),
) -> String {
    format!(
        "{pretrained}; predictor ({}): {phrases} labeled phrases of {songs} songs of the train \
         split of {}{}; calibrated on {} folds, each song held out once ({} epochs kept, matrix \
         smoothing \
         {}, weight {} (next to a known slot {}), network exponent {}, prior correction {}, \
         song context {}, style prior {} (declared style {}), music-feature expert {}, start \
         prior {})",
        if fit.cfg.predictor.features > 0 {
            "music features and candidate-aware head"
        } else {
            "the paper's, which ranked the held-out folds better"
        },
        labels.display(),
        if fit.cfg.balanced {
            ", class-balanced"
        } else {
            ""
        },
        fit.folds.len(),
        c.epochs,
        c.beta,
        c.c.matrix_weight,
        c.c.locked_weight,
        c.c.network_weight,
        c.c.prior_correction,
        c.c.song_context,
        c.c.style_weight,
        c.declared_style,
        c.c.expert_weight,
        c.c.start_weight,
    )
}

/// What the calibration folds decided (see [`train_model`]).
#[derive(Clone, Copy, Debug)]
struct Calibration {
    /// Epochs of T.
    epochs: usize,
    /// Smoothing of M.
    beta: f32,
    /// The weights fitted with it (its `matrix` is the index of `beta` among the smoothings
    /// tried) and the validation score reached.
    c: Combination,
    /// The style-prior weight for songs with a declared style (`c.style_weight` is the one
    /// for songs whose style the music guesses).
    declared_style: f32,
    /// The variety decode's penalties the labels call for (`None`: nothing to fit on).
    variety: Option<crate::model::evaluation::VarietyFit>,
}

/// The labeled songs of a `train` run: the training songs and the calibration folds they
/// are split into, with what T starts from.
struct Fitting<'a> {
    set: EmbeddedSet,
    /// The held-out songs of each calibration fold ([`calibration_folds`]).
    folds: Vec<Vec<usize>>,
    /// Every song of the train split.
    all_train: Vec<usize>,
    styles: Vec<String>,
    /// Each class's move ([`crate::choreo::variety::move_name`] of its clip), numbered.
    moves: Vec<u32>,
    candidates: Vec<f32>,
    /// The settings in use (the paper's predictor when [`Self::use_plain`] switched to it).
    cfg: TrainConfig,
    /// Music features at the end of each row that the predictor in use does not read.
    strip: usize,
    device: &'a Device,
    /// Fit the variety penalties on the folds ([`TrainJob::fit_variety`]).
    fit_variety: bool,
    /// Show a progress bar over the calibration folds (the CLI on a terminal): two rounds of
    /// fold trainings and weight searches ran silently for most of `train`'s time.
    show_progress: bool,
}

/// One calibration fold's training songs, its held-out songs and T's validation curve on
/// them ([`Fitting::fold_curves`]).
type FoldCurve<'f> = (Vec<usize>, &'f Vec<usize>, train::ValidationCurve);

impl<'a> Fitting<'a> {
    fn new(set: EmbeddedSet, library: &Library, cfg: &'a TrainConfig, device: &'a Device) -> Self {
        let folds = calibration_folds(&set.songs);
        let all_train = (0..set.songs.len())
            .filter(|&i| set.songs[i].split == Split::Train)
            .collect();
        let phrases = library.index.class_phrases();
        Fitting {
            folds,
            all_train,
            styles: phrases.iter().map(|p| p.style.clone()).collect(),
            moves: crate::choreo::variety::move_ids(phrases.iter().map(|p| p.clip.as_str())),
            candidates: candidate_matrix(&phrases),
            set,
            cfg: cfg.clone(),
            strip: 0,
            device,
            fit_variety: true,
            show_progress: false,
        }
    }

    /// Rows and labels of the songs `idx`.
    fn rows(&self, idx: &[usize]) -> (Vec<Vec<f32>>, Vec<usize>) {
        let x = idx
            .iter()
            .flat_map(|&i| strip_rows(&self.set.embeddings[i], self.strip))
            .collect();
        (x, self.sequences(idx).concat())
    }

    /// Calibrates the predictor of the settings and, when they are the extended one, the
    /// paper's predictor on the same folds: where that ranks them better (music
    /// features and the candidate head do not help every label set), it is the one kept.
    /// Returns the calibration and the standardisation that go with the choice.
    fn choose_predictor(&mut self, norm: EmbedNorm) -> Result<(Calibration, EmbedNorm)> {
        let c = self.calibrate()?;
        if self.cfg.predictor.features == 0 || !c.c.score.is_finite() {
            return Ok((c, norm));
        }
        let extended = self.cfg.clone();
        self.use_plain();
        let plain = self.calibrate()?;
        if plain.c.score > c.c.score {
            self.keep_plain();
            return Ok((plain, norm.without_last(extended.predictor.features)));
        }
        self.cfg = extended;
        self.strip = 0;
        Ok((c, norm))
    }

    /// Makes the paper's predictor the one kept: the rows lose the music features for good.
    fn keep_plain(&mut self) {
        for e in &mut self.set.embeddings {
            *e = strip_rows(e, self.strip);
        }
        self.strip = 0;
    }

    /// Switches to the paper's predictor (no music features, plain output layer) for the
    /// same rows: the variant [`train_model`] weighs against the extended one.
    fn use_plain(&mut self) {
        self.strip = self.cfg.predictor.features;
        self.cfg.predictor.features = 0;
        self.cfg.predictor.candidates = 0;
    }

    /// Label sequences of the songs `idx`.
    fn sequences(&self, idx: &[usize]) -> Vec<Vec<usize>> {
        idx.iter()
            .map(|&i| self.set.songs[i].labels.clone())
            .collect()
    }

    /// Fits the standardisation on the training songs (no labels involved) and applies it
    /// to every song.
    fn standardise(&mut self) -> EmbedNorm {
        let norm = EmbedNorm::fit_with_features(
            &self.rows(&self.all_train).0,
            self.cfg.predictor.features,
        );
        for e in &mut self.set.embeddings {
            norm.apply(e);
        }
        norm
    }

    /// A fresh T (seeded) with the library's candidate features, starting as the frequency
    /// prior of `labels` — or uniform under class-balanced training, which learns as if
    /// classes were equally common; the prior is added back afterwards ([`Self::adjust`]).
    fn fresh(&self, labels: &[usize]) -> crate::model::Predictor {
        self.device.seed(self.cfg.seed);
        let k = self.cfg.predictor.classes;
        let start = if self.cfg.balanced {
            vec![0.0; k]
        } else {
            log_prior(labels, k)
        };
        self.cfg
            .predictor
            .init(self.device)
            .with_candidates(&self.candidates)
            .with_prior(&start)
    }

    /// The logit adjustment after class-balanced training (`None` otherwise).
    fn adjust(&self, labels: &[usize]) -> Option<Vec<f32>> {
        self.cfg
            .balanced
            .then(|| log_prior(labels, self.cfg.predictor.classes))
    }

    /// T trained per calibration fold on the other training songs, early-stopped on the
    /// fold's songs: per fold its training songs, its songs and its validation curve, and the
    /// best epoch counts (`pb` steps as each fold starts).
    fn fold_curves(&self, pb: &indicatif::ProgressBar) -> Result<(Vec<FoldCurve<'_>>, Vec<usize>)> {
        let mut curves = Vec::with_capacity(self.folds.len());
        let mut epochs = Vec::with_capacity(self.folds.len());
        for fold in &self.folds {
            pb.inc(1);
            let fit: Vec<usize> = self
                .all_train
                .iter()
                .copied()
                .filter(|i| !fold.contains(i))
                .collect();
            let (vx, vy) = self.rows(fold);
            let (x, y) = self.rows(&fit);
            if vx.is_empty() || x.is_empty() {
                continue;
            }
            let adjustment = self.adjust(&y);
            let data = train::PredictorData {
                x: &x,
                y: &y,
                valid_x: &vx,
                valid_y: &vy,
                adjust: adjustment.as_deref(),
            };
            let init = Some(self.fresh(&y));
            let mut quiet = Reporter::quiet();
            let mut curve = train::ValidationCurve::new();
            let (_, e) = train::train_predictor_on(
                &self.cfg,
                &data,
                init,
                None,
                self.device,
                false,
                (&mut quiet, Some(&mut curve)),
            )?;
            epochs.push(e);
            curves.push((fit, fold, curve));
        }
        Ok((curves, epochs))
    }

    /// Phase 1, per calibration fold: T on the other training songs with early stopping on
    /// the fold's songs, and what is combined with it (M, the style prior, the music-feature
    /// expert) counted on the same songs; then one calibration on every fold's held-out
    /// predictions (each training song is predicted once, by a T that never saw it). The
    /// epochs are the median of the folds'. Defaults when there is nothing to hold out.
    fn calibrate(&self) -> Result<Calibration> {
        let variant = if self.cfg.predictor.features == 0 && self.cfg.predictor.candidates == 0 {
            "paper's T"
        } else {
            "extended T"
        };
        // one step per fold, one for the weight search
        let pb = crate::model::train::bar(
            self.folds.len() as u64 + 1,
            format!("calibrate ({variant})"),
            self.show_progress,
        );
        let (curves, mut epochs) = self.fold_curves(&pb)?;
        // Every fold's songs as predicted after the median epoch count, the one the final T
        // trains for: each fold's own best epoch was picked on its held-out songs, and
        // predictions from it would flatter T beside what it is combined with.
        epochs.sort_unstable();
        let median = epochs
            .get(epochs.len() / 2)
            .copied()
            .unwrap_or(self.cfg.epochs);
        let parts: Vec<FoldData> = curves
            .into_iter()
            .filter_map(|(fit, fold, curve)| {
                let probs = curve.get(median).or_else(|| curve.last())?;
                Some(self.fold_data(probs, &fit, fold))
            })
            .collect();
        if parts.is_empty() {
            pb.finish_and_clear();
            let c = default_combination();
            return Ok(Calibration {
                epochs: self.cfg.epochs,
                beta: DEFAULT_SMOOTHING,
                declared_style: c.style_weight,
                c,
                variety: None,
            });
        }
        // Every weight is fitted with each song's style prior from its declared style (songs
        // that declare none, or one the prior does not know, without a style prior), as
        // `evaluate` and a project with a style rank; then the style prior's weight alone
        // again, with every song's prior guessed from its music, for songs nobody labelled.
        // Fitted the other way round (the weights for the guess first), the declared styles'
        // weight ranked the held-out songs of the learning benchmark worse than the
        // per-style frequency at top-1 (BENCHMARKS, session 8).
        let declared: Vec<Validation> = parts.iter().map(FoldData::declared).collect();
        pb.inc(1);
        let c = crate::model::evaluation::calibrate(&declared);
        let guessed: Vec<Validation> = parts.iter().map(FoldData::validation).collect();
        let guessed_weight = crate::model::evaluation::calibrate_style_weight(&guessed, &c);
        pb.finish_and_clear();
        let variety = self
            .fit_variety
            .then(|| {
                crate::model::evaluation::fit_variety(
                    &declared,
                    &c,
                    &self.moves,
                    crate::choreo::DecodeSettings::default().diversity_window,
                )
            })
            .flatten();
        Ok(Calibration {
            epochs: median,
            beta: MATRIX_SMOOTHINGS[c.matrix.min(MATRIX_SMOOTHINGS.len() - 1)],
            declared_style: c.style_weight,
            c: Combination {
                style_weight: guessed_weight,
                ..c
            },
            variety,
        })
    }

    /// One fold's held-out songs with T's probabilities for their phrases (`probs`, in the
    /// order of [`Self::rows`] of `fold`; T trained on the songs `fit`) and the candidate
    /// matrices, style priors, expert probabilities and label prior counted on `fit`.
    fn fold_data(&self, probs: &[Vec<f32>], fit: &[usize], fold: &[usize]) -> FoldData {
        let style = self.style_prior(fit);
        let expert = self.feature_expert(fit);
        let sequences = self.sequences(fit);
        let keep: Vec<usize> = fold
            .iter()
            .copied()
            .filter(|&i| !self.set.embeddings[i].is_empty())
            .collect();
        let features = |i: usize| phrase_features(&self.set.songs[i].song.samples);
        let labels: Vec<usize> = sequences.iter().flatten().copied().collect();
        let start = self.start_prior(fit);
        let mut rows = probs.iter();
        FoldData {
            songs: keep
                .iter()
                .map(|&i| EvalSong {
                    probs: rows
                        .by_ref()
                        .take(self.set.embeddings[i].len())
                        .cloned()
                        .collect(),
                    labels: self.set.songs[i].labels.clone(),
                    style: self.set.songs[i].style.clone(),
                })
                .collect(),
            style_priors: keep
                .iter()
                .map(|&i| {
                    style
                        .as_ref()
                        .map(|s| s.phrase_prior(&song_features_of(&self.set.songs[i].song.samples)))
                })
                .collect(),
            // Only songs whose declared style the prior knows: the others are ranked at run
            // time with the guessed prior and its own weight, fitted on the guessed pass.
            declared_style_priors: keep
                .iter()
                .map(|&i| {
                    let declared = self.set.songs[i].style.as_deref()?;
                    Some(style.as_ref()?.declared_prior(declared)?.to_vec())
                })
                .collect(),
            experts: keep
                .iter()
                .map(|&i| {
                    expert
                        .as_ref()
                        .map(|g| features(i).iter().map(|f| g.probs(f)).collect())
                })
                .collect(),
            ms: MATRIX_SMOOTHINGS
                .iter()
                .map(|&b| Transitions::smoothed(&self.styles, &sequences, b))
                .collect(),
            // `styles` has one entry per class.
            log_prior: PriorCorrection::from_labels(1.0, &labels, self.styles.len()).log_prior,
            start_priors: keep
                .iter()
                .map(|_| start.as_ref().map(|s| s.for_style(None).to_vec()))
                .collect(),
            declared_start_priors: keep
                .iter()
                .map(|&i| {
                    start
                        .as_ref()
                        .map(|s| s.for_style(self.set.songs[i].style.as_deref()).to_vec())
                })
                .collect(),
        }
    }

    /// [`Self::start_prior`] with `weight`, `None` at weight 0 (nothing to save).
    fn weighted_start_prior(
        &self,
        idx: &[usize],
        weight: f32,
    ) -> Option<crate::model::style::StartPrior> {
        self.start_prior(idx)
            .map(|s| crate::model::style::StartPrior { weight, ..s })
            .filter(|s| s.weight > 0.0)
    }

    /// How the songs `idx` begin ([`crate::model::style::StartPrior::from_songs`] over the K
    /// classes).
    fn start_prior(&self, idx: &[usize]) -> Option<crate::model::style::StartPrior> {
        crate::model::style::StartPrior::from_songs(
            idx.iter().map(|&i| {
                (
                    self.set.songs[i].style.as_deref(),
                    self.set.songs[i].labels.as_slice(),
                )
            }),
            self.styles.len(),
        )
    }

    /// The style prior and the music-feature expert fitted on every training song, with the
    /// weights `c` gave them.
    fn song_priors(&self, c: &Calibration) -> (Option<StylePrior>, Option<FeatureExpert>) {
        let style = self.style_prior(&self.all_train).map(|mut s| {
            s.weight = c.c.style_weight;
            s.declared_weight = Some(c.declared_style);
            s
        });
        let c = &c.c;
        let expert = self.feature_expert(&self.all_train).map(|mut g| {
            g.weight = c.expert_weight;
            g
        });
        (style, expert)
    }

    /// The music-feature expert fitted on the songs `idx` (`None` without labeled phrases).
    fn feature_expert(&self, idx: &[usize]) -> Option<FeatureExpert> {
        let (mut x, mut y): (Vec<&[f32]>, Vec<usize>) = (Vec::new(), Vec::new());
        for &i in idx {
            let s = &self.set.songs[i];
            x.extend(phrase_features(&s.song.samples));
            y.extend(s.labels.iter().copied());
        }
        FeatureExpert::fit(
            &x,
            &y,
            self.cfg.predictor.classes,
            crate::model::features::MUSIC_FEATURES,
            feature_expert::DEFAULT_L2,
        )
    }

    /// The style prior counted on the songs `idx` (`None` without two styles among them).
    fn style_prior(&self, idx: &[usize]) -> Option<StylePrior> {
        let songs: Vec<(Vec<f32>, Option<&str>, &[usize])> = idx
            .iter()
            .map(|&i| {
                let s = &self.set.songs[i];
                (
                    song_features_of(&s.song.samples),
                    s.style.as_deref(),
                    s.labels.as_slice(),
                )
            })
            .collect();
        StylePrior::fit(&songs, self.cfg.predictor.classes)
    }

    /// Phase 2: T on every training song for `epochs` (checkpointed in `out`); returns T
    /// (inference mode) and the labels it was trained on.
    fn final_predictor(
        &self,
        epochs: usize,
        (out, resume): (&Path, bool),
        reporter: &mut Reporter,
    ) -> Result<(crate::model::Predictor, Vec<usize>)> {
        let (x, y) = self.rows(&self.all_train);
        let cfg = self.cfg.clone().with_epochs(epochs);
        let init = Some(self.fresh(&y));
        let t =
            train::train_predictor(&cfg, &x, &y, init, Some(out), self.device, resume, reporter)?
                .valid();
        let t = match self.adjust(&y) {
            Some(a) => t.with_bias_added(&a),
            None => t,
        };
        Ok((t, y))
    }
}

/// `rows` without their last `n` values.
fn strip_rows(rows: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|r| r[..r.len().saturating_sub(n)].to_vec())
        .collect()
}

/// Centred log of the label frequencies (add-one smoothed) of `labels` over `k` classes.
fn log_prior(labels: &[usize], k: usize) -> Vec<f32> {
    let mut f = vec![1.0f32; k];
    for &l in labels.iter().filter(|&&l| l < k) {
        f[l] += 1.0;
    }
    let logs: Vec<f32> = f.iter().map(|v| v.ln()).collect();
    let mean = logs.iter().sum::<f32>() / k.max(1) as f32;
    logs.iter().map(|v| v - mean).collect()
}

/// Smoothings of M tried by [`calibrate_matrix`].
const MATRIX_SMOOTHINGS: [f32; 4] = [0.5, 2.0, 8.0, 32.0];
/// Smoothing and weight used when there are no held-out songs to fit them on.
const DEFAULT_SMOOTHING: f32 = 2.0;

/// One calibration fold's data, owned ([`Fitting::fold_data`]).
struct FoldData {
    songs: Vec<EvalSong>,
    ms: Vec<Transitions>,
    style_priors: Vec<Option<Vec<f32>>>,
    /// The style priors of songs whose style is declared: that style's repertoire.
    declared_style_priors: Vec<Option<Vec<f32>>>,
    experts: Vec<Option<Vec<Vec<f32>>>>,
    log_prior: Vec<f32>,
    /// How the fit songs' dances begin, for songs of unknown style.
    start_priors: Vec<Option<Vec<f32>>>,
    /// The same for each song's declared style, where the fit songs had it.
    declared_start_priors: Vec<Option<Vec<f32>>>,
}

impl FoldData {
    fn validation(&self) -> Validation<'_> {
        Validation {
            songs: &self.songs,
            ms: &self.ms,
            style_priors: &self.style_priors,
            experts: &self.experts,
            log_prior: &self.log_prior,
            start_priors: &self.start_priors,
        }
    }

    /// The same songs with each declared style's repertoire as the style prior and its
    /// openings as the start prior.
    fn declared(&self) -> Validation<'_> {
        Validation {
            style_priors: &self.declared_style_priors,
            start_priors: &self.declared_start_priors,
            ..self.validation()
        }
    }
}

/// The combination used without held-out songs to fit one: the paper's product.
fn default_combination() -> Combination {
    Combination {
        matrix_weight: MATRIX_WEIGHT,
        locked_weight: MATRIX_WEIGHT,
        ..Combination::paper()
    }
}

/// Calibration folds ([`CALIBRATION_FOLDS`] at most).
const CALIBRATION_FOLDS: usize = 4;

/// The held-out songs of each calibration fold: the labels' `valid` split as the one fold
/// when they mark one (T is then trained on the rest of the train split); else the labeled
/// training songs in (style, file) order dealt round-robin into [`CALIBRATION_FOLDS`] folds,
/// so that each fold has songs of every style — none with fewer than four songs. A single
/// held-out fifth of a few dozen songs is too few phrases to fit seven weights on: with
/// folds every training song is held out once.
fn calibration_folds(songs: &[LabeledSongData]) -> Vec<Vec<usize>> {
    let marked: Vec<usize> = (0..songs.len())
        .filter(|&i| songs[i].split == Split::Valid)
        .collect();
    if !marked.is_empty() {
        return vec![marked];
    }
    let mut train: Vec<usize> = (0..songs.len())
        .filter(|&i| songs[i].split == Split::Train && !songs[i].labels.is_empty())
        .collect();
    if train.len() < CALIBRATION_FOLDS {
        return Vec::new();
    }
    train.sort_by_key(|&i| (songs[i].style.clone(), i));
    let mut folds = vec![Vec::new(); CALIBRATION_FOLDS];
    for (n, i) in train.into_iter().enumerate() {
        folds[n % CALIBRATION_FOLDS].push(i);
    }
    folds
}

/// The job's encoder: the pretrained one, or a seeded random one saved into the output
/// folder (so that its embeddings get a cache key). Returns sizes, encoder, weights key and a
/// description for `trained_on`.
fn job_encoder(job: &TrainJob, device: &Device) -> Result<(NetConfig, Encoder, String, String)> {
    Ok(match &job.encoder {
        Some(dir) => {
            let (net, enc) = load_encoder(dir, device)?;
            (
                net,
                enc,
                weights_key(&dir.join("encoder.bpk"))?,
                format!("encoder pretrained in {}", dir.display()),
            )
        }
        None => {
            device.seed(job.train.seed);
            let enc = job.net.encoder.init(device);
            // A scratch file, not `out/encoder.bpk`: `out` may hold the previous model, which
            // stays whole until the new one replaces it in one step.
            let p = std::env::temp_dir().join(format!(
                "phrasewise-encoder-{}-{}.bpk",
                std::process::id(),
                job.train.seed
            ));
            train::save_module(&enc, &p)?;
            // Use the weights as saved: burn initialises parameters lazily from a generator
            // shared by every thread, so the in-memory copy is not guaranteed to hold what
            // the file (and the embedding cache key) holds when other work runs alongside.
            let loaded = train::load_module(job.net.encoder.init(device), &p)
                .and_then(|enc| Ok((enc, weights_key(&p)?)));
            let _ = std::fs::remove_file(&p);
            let (enc, key) = loaded?;
            (
                job.net.clone(),
                enc,
                key,
                "randomly initialised encoder (no pretraining)".to_string(),
            )
        }
    })
}

/// What `coascent` should do.
#[derive(Debug, Clone, PartialEq)]
pub struct CoascentRequest {
    /// Labels file.
    pub labels: PathBuf,
    /// Folders or files of unlabeled songs.
    pub unlabeled: Vec<PathBuf>,
    /// Trained model folder (from `train`).
    pub model: PathBuf,
    /// Model folder to write.
    pub out: PathBuf,
    /// Library folder (default: the starter library).
    pub library: Option<PathBuf>,
    /// Epochs.
    pub epochs: usize,
    /// Confidence threshold τ.
    pub tau: f32,
    /// Learning rate.
    pub lr: f64,
    /// Refresh pseudo-labels every this many epochs.
    pub refresh_every: usize,
    /// Momentum α of the M update.
    pub alpha: f32,
    /// Class-balanced sampling.
    pub balanced: bool,
    /// Seed.
    pub seed: u64,
    /// Store f16 weights.
    pub half: bool,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Device: `flex` or `wgpu`.
    pub device: String,
}

impl CoascentRequest {
    /// The settings `learn` uses (10 epochs, τ 0.9, lr 1e-5, refresh every 5, α 0.5).
    pub fn new(labels: &Path, unlabeled: Vec<PathBuf>, model: &Path, out: &Path) -> Self {
        CoascentRequest {
            labels: labels.to_path_buf(),
            unlabeled,
            model: model.to_path_buf(),
            out: out.to_path_buf(),
            library: None,
            epochs: 10,
            tau: 0.9,
            lr: 1e-5,
            refresh_every: 5,
            alpha: 0.5,
            balanced: false,
            seed: 42,
            half: false,
            resume: false,
            device: "flex".into(),
        }
    }
}

/// Co-ascent learning: pseudo-labels on unlabeled songs, predictor and M refined; writes the
/// model folder and `coascent-log.json`, returns the test-split report.
pub fn coascent(
    req: &CoascentRequest,
    progress: &dyn Progress,
    reporter: &mut Reporter,
) -> Result<EvalReport> {
    let library = load_library(req.library.as_deref())?;
    let fp = library_fingerprint(&library.index);
    let device = device(&req.device)?;
    let model = PhraseModel::load_on(&req.model, &fp, &device)?;
    let key = weights_key(&req.model.join("encoder.bpk"))?;
    let set = embed_for_model(&model, &req.model, &req.labels, &device)?;
    let (x, y) = set.flat(Split::Train);
    let cache = crate::cache::cache_dir();
    let songs = unlabeled_songs(&req.unlabeled, "unlabeled songs", progress)?;
    progress.step("co-ascent", 0.0)?;
    let unlabeled: Vec<Vec<Vec<f32>>> = songs
        .iter()
        .map(|s| {
            let mut u = cached_embeddings(&model.encoder, &key, s, &cache, &device);
            append_music_features(&mut u, &s.samples, model.info.predictor.features);
            model.normalize(&mut u);
            u
        })
        .collect();
    let cfg = CoascentConfig::new(
        TrainConfig::new(model.info.predictor.clone())
            .with_balanced(req.balanced)
            .with_seed(req.seed),
    )
    .with_epochs(req.epochs)
    .with_tau(req.tau)
    .with_lr(req.lr)
    .with_refresh_every(req.refresh_every)
    .with_alpha(req.alpha);
    let mut m = model.transitions.clone();
    let (t, log) = train::coascent(
        &cfg,
        model.predictor.clone(),
        &mut m,
        &x,
        &y,
        &unlabeled,
        &device,
        Some((&req.out, req.resume)),
        reporter,
    )?;
    let report = evaluate_embeddings(
        &t.valid(),
        (&m, &model.info.priors()),
        &set.songs_of(Split::Test),
        &device,
    );
    let mut info = model.info.clone();
    info.trained_on = format!(
        "{}; co-ascent on {} unlabeled phrases of {} songs ({} epochs, τ {})",
        info.trained_on,
        log.unlabeled,
        songs.len(),
        req.epochs,
        req.tau
    );
    info.metrics = Some(report.clone());
    let out = PhraseModel::new(info, model.encoder.clone(), t, m, device);
    out.save_as(&req.out, req.half)?;
    train::write_json(&log, &req.out.join("coascent-log.json"))?;
    Ok(report)
}

/// What `evaluate` should do.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluateRequest {
    /// Labels file.
    pub labels: PathBuf,
    /// Model folder.
    pub model: PathBuf,
    /// Library folder (default: the starter library).
    pub library: Option<PathBuf>,
    /// Split: `test`, `valid` or `train`.
    pub split: String,
    /// Device: `flex` or `wgpu`.
    pub device: String,
    /// Ignore the songs' declared styles: the model's style prior guesses each song's style
    /// from its music, as for a song nobody labelled (the `style_frequency` row still
    /// knows the style).
    pub infer_style: bool,
}

/// The evaluation table of a model folder on one split of a labels file: the model alone,
/// with the matrix over the whole song and interactively, against the frequency, per-style
/// frequency and matrix-only baselines counted on the train split, each with a bootstrap
/// interval over songs (see [`crate::model::evaluation`]).
pub fn evaluate(req: &EvaluateRequest) -> Result<EvalTable> {
    let library = load_library(req.library.as_deref())?;
    let fp = library_fingerprint(&library.index);
    let device = device(&req.device)?;
    let model = PhraseModel::load_on(&req.model, &fp, &device)?;
    let split = match req.split.as_str() {
        "test" => Split::Test,
        "valid" => Split::Valid,
        "train" => Split::Train,
        s => invalid!("unknown split `{s}` (test, valid or train)"),
    };
    let set = embed_for_model(&model, &req.model, &req.labels, &device)?;
    let test: Vec<EvalSong> = set
        .songs
        .iter()
        .zip(&set.embeddings)
        .filter(|(s, e)| s.split == split && !e.is_empty())
        .map(|(s, e)| EvalSong {
            probs: model.info.priors().apply(
                &train::predict(&model.predictor, e, &device),
                &phrase_features(&s.song.samples),
                s.style.as_deref().filter(|_| !req.infer_style),
            ),
            labels: s.labels.clone(),
            style: s.style.clone(),
        })
        .collect();
    if test.is_empty() {
        invalid!(
            "{}: no labeled phrases in the {} split",
            req.labels.display(),
            req.split
        );
    }
    let train_songs: Vec<TrainSong> = set
        .songs
        .iter()
        .filter(|s| s.split == Split::Train)
        .map(|s| TrainSong {
            labels: s.labels.clone(),
            style: s.style.clone(),
        })
        .collect();
    let mut table = evaluation_table(&test, &train_songs, &model.info.chain(&model.transitions));
    table.song_context = model.info.song_context();
    table.network_weight = model.info.network_weight();
    let style = model.info.priors().style;
    table.style_weight = style.map_or(0.0, |s| s.weight);
    table.declared_style_weight = style
        .filter(|s| {
            !req.infer_style
                && test.iter().any(|t| {
                    t.style
                        .as_deref()
                        .is_some_and(|d| s.declared_prior(d).is_some())
                })
        })
        .map(crate::model::style::StylePrior::weight_when_declared);
    table.expert_weight = model.info.priors().expert.map_or(0.0, |(_, w)| w);
    table.variety = model.info.variety;
    table.start_weight = model.info.start_prior.as_ref().map_or(0.0, |s| s.weight);
    Ok(table)
}

/// Weight of the transition matrix when none was fitted: 1 is the paper's Eq. 6 product
/// F(u_t) · M.
pub const MATRIX_WEIGHT: f32 = 1.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn song(split: Split, style: &str, phrases: usize) -> LabeledSongData {
        LabeledSongData {
            song: crate::model::data::SongSamples {
                audio: PathBuf::from("x.wav"),
                hash: String::new(),
                spans: Vec::new(),
                samples: Vec::new(),
            },
            labels: vec![0; phrases],
            split,
            style: Some(style.into()),
        }
    }

    #[test]
    fn calibration_folds_hold_every_training_song_out_once_across_styles() {
        let mut songs: Vec<LabeledSongData> = (0..10)
            .map(|i| song(Split::Train, ["a", "b"][i % 2], 3))
            .collect();
        songs.push(song(Split::Test, "a", 3));
        songs.push(song(Split::Train, "a", 0)); // unlabeled: never held out
        let folds = calibration_folds(&songs);
        assert_eq!(folds.len(), CALIBRATION_FOLDS);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..10).collect::<Vec<_>>(),
            "each labeled train song once"
        );
        // styles are dealt round-robin: the first two folds hold both styles
        for f in &folds[..2] {
            let styles: std::collections::BTreeSet<_> =
                f.iter().map(|&i| songs[i].style.clone()).collect();
            assert_eq!(styles.len(), 2, "{f:?}");
        }
        // a `valid` split in the labels is the one fold
        songs[3].split = Split::Valid;
        assert_eq!(calibration_folds(&songs), vec![vec![3]]);
        // too few songs to hold any out
        assert!(calibration_folds(&songs[..3]).is_empty());
    }

    #[test]
    fn devices_by_name() {
        assert!(device("flex").is_ok());
        let e = device("tpu").unwrap_err().to_string();
        assert!(e.contains("unknown device `tpu`"), "{e}");
        let gpu = device("wgpu");
        if crate::model::HAS_GPU_BACKEND {
            assert!(gpu.is_ok());
        } else {
            let e = gpu.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("--features gpu"), "{e}");
        }
    }
}
