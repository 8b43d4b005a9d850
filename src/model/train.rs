//! Training loops (Duan et al. 2020, §3.5 and Algorithm 1), written directly against burn's
//! autodiff and optimisers with indicatif progress bars:
//!
//! * [`pretrain`]: E + D1–D3 on the pretext losses (Adam 1e-4, ×0.1 every 50 epochs);
//! * [`embed_samples`] / [`cached_embeddings`]: the frozen encoder's embeddings `u`, cached on
//!   disk so that predictor training costs only the MLP;
//! * [`train_predictor`]: T on labeled embeddings (SGD 1e-2, momentum 0.9, weight decay 5e-4,
//!   cross-entropy), optionally class-balanced (Group IV);
//! * [`coascent`]: Algorithm 1 (pseudo-labels re-scored by M above τ = 0.9, lr 1e-5, refresh
//!   every 5 epochs, M updated with momentum α = 0.5).
//!
//! Every loop shuffles with its own seeded generator (epoch order depends only on the seed and
//! the epoch), writes a checkpoint (weights, optimiser state, epoch) after every epoch and can
//! resume from it.

use super::data::{MELS, PhraseSample, STEPS};
use super::encoder::Encoder;
use super::net::{NetConfig, PretextNet, PretextWeights, cross_entropy};
use super::predictor::{Predictor, PredictorConfig};
use super::transition::{Transitions, argmax};
use super::{ModelError, SongSamples};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// SplitMix64: a small seeded generator for shuffles and sampling.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` and `stream` (e.g. the epoch).
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Mel images of `samples` as `[b, 1, 128, 128]`.
pub fn mel_batch(samples: &[&PhraseSample], device: &Device) -> Tensor<4> {
    let mut v = Vec::with_capacity(samples.len() * STEPS * MELS);
    for s in samples {
        v.extend_from_slice(&s.mel);
    }
    Tensor::from_data(TensorData::new(v, [samples.len(), 1, STEPS, MELS]), device)
}

fn rows_batch<'a>(
    rows: impl Iterator<Item = &'a [f32]>,
    n: usize,
    width: usize,
    device: &Device,
) -> Tensor<2> {
    let mut v = Vec::with_capacity(n * width);
    for r in rows {
        v.extend_from_slice(r);
    }
    Tensor::from_data(TensorData::new(v, [n, width]), device)
}

fn to_vec(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [b, k] = t.dims();
    let v: Vec<f32> = t
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default();
    (0..b).map(|i| v[i * k..(i + 1) * k].to_vec()).collect()
}

fn scalar(t: Tensor<1>) -> f32 {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f32::NAN)
}

/// A progress bar of `len` steps labelled `msg` (hidden unless `show`), in the style of the
/// training loops' bars.
pub(crate) fn bar(len: u64, msg: String, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:24} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg);
    pb
}

fn record_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Record {
        msg: e.to_string(),
        path: path.to_path_buf(),
    }
}

/// Saves a module's weights (burnpack). The module is snapshotted with `valid()` first: burn
/// keeps the latest batch-norm running statistics per thread until a sync, and a record taken
/// straight from a training module would hold values one update old.
pub fn save_module<M: Module>(m: &M, path: &Path) -> Result<(), ModelError> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| ModelError::io(p, e))?;
    }
    m.valid().save_file(path).map_err(|e| record_err(path, e))
}

/// Casts every float parameter to f16 (for [`save_module_f16`]).
struct CastF16;

impl burn::module::ModuleMapper for CastF16 {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        param.map(|t| t.cast(burn::tensor::DType::F16))
    }
}

/// [`save_module`] with the weights stored as f16 (half the file; [`load_module`] casts them
/// back to the module's f32). For shipping a model, not for checkpoints.
pub fn save_module_f16<M: Module>(m: &M, path: &Path) -> Result<(), ModelError> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| ModelError::io(p, e))?;
    }
    m.valid()
        .map(&mut CastF16)
        .save_file(path)
        .map_err(|e| record_err(path, e))
}

/// Loads weights saved by [`save_module`] or [`save_module_f16`] into `m` (built from the
/// same config), cast to `m`'s dtypes.
pub fn load_module<M: Module>(m: M, path: &Path) -> Result<M, ModelError> {
    if !path.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let record = burn::store::ModuleRecord::from_bytes(resident(path)?)
        .map_err(|e| record_err(path, e))?
        .cast_to_module_dtype();
    m.try_load_record(record).map_err(|e| record_err(path, e))
}

/// The whole file in memory. burn's `load(path)` keeps the tensors backed by the file and
/// reads them when first used: a model folder replaced in the meantime
/// ([`replace_dir`]) would then fail, or a checkpoint loaded at resume read the next epoch's
/// bytes.
fn resident(path: &Path) -> Result<burn::tensor::Bytes, ModelError> {
    let bytes = crate::limits::read_file(path, crate::limits::MAX_FILE_BYTES)
        .map_err(|e| ModelError::io(path, e))?;
    Ok(burn::tensor::Bytes::from_bytes_vec(bytes))
}

/// [`crate::files::replace_dir`] with this layer's errors: the folder `dir` gets what `fill`
/// writes (plus what it held that `fill` does not write) in one step.
pub fn replace_dir(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    crate::files::replace_dir(dir, fill).map_err(crate::files::ReplaceError::into_inner)
}

/// Writes JSON atomically.
pub fn write_json<T: Serialize>(value: &T, path: &Path) -> Result<(), ModelError> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| ModelError::io(p, e))?;
    }
    Ok(crate::files::write_json_atomic(path, value)?)
}

/// Reads JSON.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let text = crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES)
        .map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|err| ModelError::Json {
        path: path.to_path_buf(),
        err,
    })
}

/// Progress of a checkpointed loop (`checkpoint/state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Epochs completed.
    pub epoch: usize,
    /// Mean training loss per completed epoch.
    pub losses: Vec<f32>,
    /// Training throughput per completed epoch (samples/s).
    pub samples_per_s: Vec<f32>,
}

impl LoopState {
    fn record(&mut self, r: &EpochReport) {
        self.epoch = r.epoch;
        self.losses.push(r.loss);
        self.samples_per_s.push(r.samples_per_s);
    }
}

/// `out/checkpoint-NAME/`: weights, optimiser state and the loop's state (`S`, JSON).
struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    fn new(out: &Path, name: &str) -> Checkpoint {
        Checkpoint {
            dir: out.join(format!("checkpoint-{name}")),
        }
    }

    fn save<M: Module, S: Serialize>(
        &self,
        m: &M,
        optim: &ModuleOptimizer,
        state: &S,
    ) -> Result<(), ModelError> {
        // One step: a kill leaves the previous epoch's checkpoint or this one, never a mix.
        replace_dir(&self.dir, |tmp| {
            save_module(m, &tmp.join("weights.bpk"))?;
            let op = tmp.join("optim.bpk");
            optim.save(&op).map_err(|e| record_err(&op, e))?;
            write_json(state, &tmp.join("state.json"))
        })
    }

    /// Loads a checkpoint when one exists.
    fn load<M: Module, S: serde::de::DeserializeOwned>(
        &self,
        m: M,
        optim: ModuleOptimizer,
    ) -> Result<Option<(M, ModuleOptimizer, S)>, ModelError> {
        let sp = self.dir.join("state.json");
        if !sp.is_file() {
            return Ok(None);
        }
        let state: S = read_json(&sp)?;
        let m = load_module(m, &self.dir.join("weights.bpk"))?;
        let op = self.dir.join("optim.bpk");
        let optim = optim
            .from_bytes(resident(&op)?)
            .map_err(|e| record_err(&op, e))?;
        Ok(Some((m, optim, state)))
    }
}

/// Settings of self-supervised pretraining (§3.5).
#[derive(Config, Debug)]
pub struct PretrainConfig {
    /// Network sizes.
    pub net: NetConfig,
    /// Loss weights β.
    pub weights: PretextWeights,
    /// Epochs (200 in the paper).
    #[config(default = 200)]
    pub epochs: usize,
    /// Batch size.
    #[config(default = 16)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 1e-4)]
    pub lr: f64,
    /// Multiply the learning rate by `decay` every this many epochs.
    #[config(default = 50)]
    pub decay_every: usize,
    /// Step decay factor.
    #[config(default = 0.1)]
    pub decay: f64,
    /// Seed of initialisation and shuffling.
    #[config(default = 42)]
    pub seed: u64,
}

/// Per-epoch report of a training loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean loss over the epoch.
    pub loss: f32,
    /// Training throughput (samples/s).
    pub samples_per_s: f32,
}

/// How a loop reports (progress bars on a terminal, a per-epoch callback).
pub struct Reporter<'a> {
    /// Draw progress bars.
    pub show_progress: bool,
    /// Called after each epoch.
    pub on_epoch: Option<&'a mut dyn FnMut(&EpochReport)>,
}

impl Reporter<'_> {
    /// No bars, no callback.
    pub fn quiet() -> Reporter<'static> {
        Reporter {
            show_progress: false,
            on_epoch: None,
        }
    }

    fn epoch(&mut self, r: &EpochReport) {
        if let Some(f) = self.on_epoch.as_mut() {
            f(r);
        }
    }
}

/// One epoch of a training loop (0-based `epoch`): `step` on the batches of `order` (chunks
/// of `batch_size`; it takes the model and returns it with the batch's mean loss), with a
/// progress bar labelled `label`. Returns the model and the epoch's report (loss averaged
/// over samples, throughput). Shared by [`pretrain`], [`train_predictor`] and [`coascent`].
fn run_epoch<M>(
    mut model: M,
    order: &[usize],
    batch_size: usize,
    (label, epoch, epochs): (&str, usize, usize),
    report: &Reporter,
    mut step: impl FnMut(M, &[usize]) -> (M, f32),
) -> (M, EpochReport) {
    let pb = bar(
        order.len() as u64,
        format!("{label} {}/{epochs}", epoch + 1),
        report.show_progress,
    );
    let t0 = Instant::now();
    let mut sum = 0.0f64;
    for chunk in order.chunks(batch_size.max(1)) {
        let (m, l) = step(model, chunk);
        model = m;
        sum += f64::from(l) * chunk.len() as f64;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let r = EpochReport {
        epoch: epoch + 1,
        loss: (sum / order.len().max(1) as f64) as f32,
        samples_per_s: (order.len() as f64 / t0.elapsed().as_secs_f64()) as f32,
    };
    (model, r)
}

/// One Adam step of the pretext losses on a batch; returns the loss before the step.
pub fn pretrain_step(
    net: PretextNet,
    optim: &mut ModuleOptimizer,
    batch: &[&PhraseSample],
    weights: &PretextWeights,
    lr: f64,
    device: &Device,
) -> (PretextNet, f32) {
    let n = batch.len();
    let mel = mel_batch(batch, device);
    let melody = rows_batch(batch.iter().map(|s| s.melody.as_slice()), n, STEPS, device);
    let rhythm = rows_batch(batch.iter().map(|s| s.rhythm.as_slice()), n, STEPS, device);
    let loss = net.loss(mel, melody, rhythm, weights);
    let grads = GradientsParams::from_grads(loss.total.backward(), &net);
    let value = scalar(loss.total);
    (optim.step(lr, net, grads), value)
}

/// Self-supervised pretraining of E + D1–D3 on `samples` (Eq. 4). Writes `out/net.json`
/// (sizes), `out/pretext.bpk` (E + D1–D3) and `out/encoder.bpk` at the end, and a checkpoint
/// after every epoch; with `resume`, continues from the checkpoint in `out`.
pub fn pretrain(
    cfg: &PretrainConfig,
    samples: &[PhraseSample],
    out: &Path,
    device: &Device,
    resume: bool,
    report: &mut Reporter,
) -> Result<PretextNet, ModelError> {
    if samples.is_empty() {
        return Err(ModelError::Invalid {
            msg: "no phrases to pretrain on".into(),
            path: out.to_path_buf(),
        });
    }
    let _heap = super::heap::TrainingHeap::hold();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let mut net = cfg.net.init(&ad);
    let mut optim = AdamConfig::new().init();
    let ck = Checkpoint::new(out, "pretrain");
    let mut state = LoopState::default();
    if resume && let Some((n, o, s)) = ck.load(net.clone(), optim.clone())? {
        (net, optim, state) = (n, o, s);
    }
    write_json(&cfg.net, &out.join("net.json"))?;
    for epoch in state.epoch..cfg.epochs {
        let lr = cfg.lr * cfg.decay.powi((epoch / cfg.decay_every.max(1)) as i32);
        let mut order: Vec<usize> = (0..samples.len()).collect();
        Rng::new(cfg.seed, epoch as u64).shuffle(&mut order);
        let label = ("pretrain", epoch, cfg.epochs);
        let r;
        (net, r) = run_epoch(net, &order, cfg.batch_size, label, report, |net, chunk| {
            let batch: Vec<&PhraseSample> = chunk.iter().map(|&i| &samples[i]).collect();
            pretrain_step(net, &mut optim, &batch, &cfg.weights, lr, &ad)
        });
        state.record(&r);
        ck.save(&net, &optim, &state)?;
        report.epoch(&r);
    }
    replace_dir(out, |tmp| {
        write_json(&cfg.net, &tmp.join("net.json"))?;
        save_module(&net, &tmp.join("pretext.bpk"))?;
        save_module(&net.encoder, &tmp.join("encoder.bpk"))?;
        write_json(&state, &tmp.join("pretrain-log.json"))
    })?;
    Ok(net)
}

/// Embeddings `u` `[512]` of `samples` by `encoder` (inference mode), in batches of `batch`.
pub fn embed_samples(
    encoder: &Encoder,
    samples: &[&PhraseSample],
    batch: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let enc = encoder.valid();
    let mut out = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(batch.max(1)) {
        let u = enc.forward(mel_batch(chunk, device)).embedding; // [b, 512]
        out.extend(to_vec(u));
    }
    out
}

/// BLAKE3 of a weights file: the key of the embedding cache.
pub fn weights_key(path: &Path) -> Result<String, ModelError> {
    let bytes = crate::limits::read_file(path, crate::limits::MAX_FILE_BYTES)
        .map_err(|e| ModelError::io(path, e))?;
    Ok(blake3::hash(&bytes).to_hex()[..32].to_string())
}

/// The `n` embeddings of length `dim` cached in `file`, or `None` (a miss) when it is
/// absent, unreadable or of the wrong size; a corrupt file is reported with a warning and
/// then recomputed.
pub fn read_embedding_cache(file: &Path, n: usize, dim: usize) -> Option<Vec<Vec<f32>>> {
    let want = n.checked_mul(dim)?.checked_mul(4)?;
    let bytes = match crate::limits::read_file(file, want as u64) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("{}: {e}; recomputing the embeddings", file.display());
            return None;
        }
    };
    if n == 0 || dim == 0 || bytes.len() != want {
        tracing::warn!(
            "{}: embedding cache of {} bytes, expected {want}; recomputing",
            file.display(),
            bytes.len()
        );
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if v.iter().any(|x| !x.is_finite()) {
        tracing::warn!(
            "{}: embedding cache holds non-finite values; recomputing",
            file.display()
        );
        return None;
    }
    Some(v.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

/// [`embed_samples`] of a song, cached in `cache_dir/model-embeddings/` under the encoder's
/// weights key and the song's phrase key.
pub fn cached_embeddings(
    encoder: &Encoder,
    encoder_key: &str,
    song: &SongSamples,
    cache_dir: &Path,
    device: &Device,
) -> Vec<Vec<f32>> {
    let file = cache_dir
        .join("model-embeddings")
        .join(format!("{encoder_key}-{}.bin", song.key()));
    if let Some(v) = read_embedding_cache(&file, song.samples.len(), encoder.embed_dim()) {
        return v;
    }
    let refs: Vec<&PhraseSample> = song.samples.iter().collect();
    let emb = embed_samples(encoder, &refs, 16, device);
    let bytes: Vec<u8> = emb.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let write = || -> std::io::Result<()> {
        if let Some(p) = file.parent() {
            std::fs::create_dir_all(p)?;
        }
        crate::files::write_atomic(&file, &bytes).map_err(|e| e.into_io().1)
    };
    if let Err(e) = write() {
        tracing::warn!("cannot write embedding cache {}: {e}", file.display());
    }
    emb
}

/// Settings of predictor training (§3.5: SGD 1e-2, momentum 0.9, weight decay 5e-4).
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Predictor sizes (K, attention on/off).
    pub predictor: PredictorConfig,
    /// Epochs (500 in the paper).
    #[config(default = 100)]
    pub epochs: usize,
    /// Batch size.
    #[config(default = 32)]
    pub batch_size: usize,
    /// SGD learning rate.
    #[config(default = 1e-2)]
    pub lr: f64,
    /// SGD momentum (no dampening, as in PyTorch).
    #[config(default = 0.9)]
    pub momentum: f64,
    /// L2 weight decay.
    #[config(default = 5e-4)]
    pub weight_decay: f32,
    /// Class-balanced sampling (Group IV): each epoch draws as many examples as there are,
    /// a uniformly chosen class first, then an example of it.
    #[config(default = false)]
    pub balanced: bool,
    /// Seed of initialisation and sampling.
    #[config(default = 42)]
    pub seed: u64,
}

/// The SGD optimiser of [`TrainConfig`].
pub fn sgd(cfg: &TrainConfig) -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(cfg.momentum)
                .with_dampening(0.0),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay)))
        .init()
}

/// One SGD step of the cross-entropy of T on embeddings `x` with labels `y`; returns the loss
/// before the step.
pub fn predictor_step(
    t: Predictor,
    optim: &mut ModuleOptimizer,
    x: &[&[f32]],
    y: &[usize],
    lr: f64,
    device: &Device,
) -> (Predictor, f32) {
    let n = x.len();
    let dim = x.first().map_or(0, |r| r.len());
    let xb = rows_batch(x.iter().copied(), n, dim, device); // [b, 512]
    let yb = Tensor::<1, Int>::from_data(
        TensorData::new(y.iter().map(|&c| c as i64).collect::<Vec<i64>>(), [n]),
        device,
    );
    let w = Tensor::<1>::ones([n], device);
    let loss = cross_entropy(t.forward(xb), yb, w);
    let grads = GradientsParams::from_grads(loss.backward(), &t);
    let value = scalar(loss);
    (optim.step(lr, t, grads), value)
}

/// The epoch's example order: a seeded shuffle, or class-balanced draws.
fn epoch_order(y: &[usize], balanced: bool, rng: &mut Rng) -> Vec<usize> {
    if !balanced {
        let mut o: Vec<usize> = (0..y.len()).collect();
        rng.shuffle(&mut o);
        return o;
    }
    let mut by_class: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, &c) in y.iter().enumerate() {
        by_class.entry(c).or_default().push(i);
    }
    let classes: Vec<&Vec<usize>> = by_class.values().collect();
    (0..y.len())
        .map(|_| {
            let members = classes[rng.below(classes.len())];
            members[rng.below(members.len())]
        })
        .collect()
}

/// Trains T on embeddings `x` (one `[512]` row per phrase) and labels `y`, starting from
/// `init` or a fresh T; checkpoints to `out/checkpoint-train` after every epoch and resumes
/// from it with `resume`. The encoder is not involved (frozen, §3.3).
#[allow(clippy::too_many_arguments)]
pub fn train_predictor(
    cfg: &TrainConfig,
    x: &[Vec<f32>],
    y: &[usize],
    init: Option<Predictor>,
    out: Option<&Path>,
    device: &Device,
    resume: bool,
    report: &mut Reporter,
) -> Result<Predictor, ModelError> {
    let data = PredictorData {
        x,
        y,
        valid_x: &[],
        valid_y: &[],
        adjust: None,
    };
    Ok(train_predictor_on(cfg, &data, init, out, device, resume, (report, None))?.0)
}

/// Training and validation rows of [`train_predictor_on`].
#[derive(Clone, Copy, Debug)]
pub struct PredictorData<'a> {
    /// Training inputs, one row per phrase.
    pub x: &'a [Vec<f32>],
    /// Training labels.
    pub y: &'a [usize],
    /// Validation inputs (may be empty).
    pub valid_x: &'a [Vec<f32>],
    /// Validation labels.
    pub valid_y: &'a [usize],
    /// Logit adjustment `[K]` added to T's outputs when scoring the validation rows (the
    /// log prior, after class-balanced training: Menon et al. 2021, post-hoc form).
    pub adjust: Option<&'a [f32]>,
}

/// What early stopping minimises: minus the mean reciprocal rank of the true labels of the
/// validation rows, plus a hundredth of their cross-entropy to break ties. A ranking score,
/// because suggestions are ranked: on small sets the cross-entropy alone stops at the flat
/// prior (it punishes a confident miss more than it rewards a better ranking), while the
/// ranking keeps improving for many epochs.
/// Returns the loss and the validation rows' probabilities it was computed from.
fn validation_loss(t: &Predictor, data: &PredictorData, device: &Device) -> (f64, Vec<Vec<f32>>) {
    let p = match data.adjust {
        Some(a) => predict(&t.valid().with_bias_added(a), data.valid_x, device),
        None => predict(t, data.valid_x, device),
    };
    let n = p.len().min(data.valid_y.len()).max(1) as f64;
    let (mut rr, mut ce) = (0.0f64, 0.0f64);
    for (row, &l) in p.iter().zip(data.valid_y) {
        rr += 1.0 / super::evaluation::rank_of(row, l) as f64;
        ce -= f64::from(row.get(l).copied().unwrap_or(0.0).max(1e-12)).ln();
    }
    (-(rr / n) + 0.01 * ce / n, p)
}

/// The validation rows' probabilities after each epoch of [`train_predictor_on`] (index 0:
/// before the first), for calibrating on a T of a fixed epoch count rather than on the
/// epoch early stopping picked for these very rows (which flatters T).
pub type ValidationCurve = Vec<Vec<Vec<f32>>>;

/// [`train_predictor`] with early stopping: with validation rows, T is scored on them after
/// every epoch and the epoch of the best validation score is kept (labeled sets are small
/// and T over-fits them long before the paper's 500 epochs); training stops
/// [`EARLY_STOP_PATIENCE`] epochs after the best one. Returns T and the epoch kept (the last
/// one without validation rows).
#[allow(clippy::too_many_arguments)]
pub fn train_predictor_on(
    cfg: &TrainConfig,
    data: &PredictorData,
    init: Option<Predictor>,
    out: Option<&Path>,
    device: &Device,
    resume: bool,
    (report, mut curve): (&mut Reporter, Option<&mut ValidationCurve>),
) -> Result<(Predictor, usize), ModelError> {
    let (x, y) = (data.x, data.y);
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let mut t = match init {
        Some(p) => p.fork(&ad).train(),
        None => cfg.predictor.init(&ad),
    };
    let mut optim = sgd(cfg);
    let ck = out.map(|o| Checkpoint::new(o, "train"));
    let mut state = LoopState::default();
    if resume
        && let Some(ck) = &ck
        && let Some((p, o, s)) = ck.load(t.clone(), optim.clone())?
    {
        (t, optim, state) = (p, o, s);
    }
    if x.is_empty() {
        return Ok((t, state.epoch));
    }
    // The start counts as epoch 0: when no epoch beats it on the validation songs, T stays
    // as it began (the frequency prior, when started from one).
    let mut best: Option<(f64, Predictor, usize)> = None;
    if !data.valid_x.is_empty() && state.epoch == 0 {
        let (v, p) = validation_loss(&t, data, device);
        best = Some((v, t.clone(), 0));
        if let Some(c) = curve.as_deref_mut() {
            c.push(p);
        }
    }
    for epoch in state.epoch..cfg.epochs {
        let mut rng = Rng::new(cfg.seed, 1_000 + epoch as u64);
        let order = epoch_order(y, cfg.balanced, &mut rng);
        let label = ("train", epoch, cfg.epochs);
        let r;
        (t, r) = run_epoch(t, &order, cfg.batch_size, label, report, |t, chunk| {
            let xb: Vec<&[f32]> = chunk.iter().map(|&i| x[i].as_slice()).collect();
            let yb: Vec<usize> = chunk.iter().map(|&i| y[i]).collect();
            predictor_step(t, &mut optim, &xb, &yb, cfg.lr, &ad)
        });
        state.record(&r);
        if let Some(ck) = &ck {
            ck.save(&t, &optim, &state)?;
        }
        report.epoch(&r);
        if !data.valid_x.is_empty() {
            let (v, p) = validation_loss(&t, data, device);
            if let Some(c) = curve.as_deref_mut() {
                c.push(p);
            }
            if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
                best = Some((v, t.clone(), epoch + 1));
            }
            // Early stopping: the epochs past the best one only cost time once it is this
            // far behind.
            if best
                .as_ref()
                .is_some_and(|(_, _, e)| epoch + 1 >= e + EARLY_STOP_PATIENCE)
            {
                break;
            }
        }
    }
    Ok(match best {
        Some((_, b, e)) => (b, e),
        None => (t, state.epoch),
    })
}

/// Epochs without a better validation score after which [`train_predictor_on`] stops.
pub const EARLY_STOP_PATIENCE: usize = 10;

/// Class probabilities (softmax of T) for embeddings `x`, inference mode.
pub fn predict(t: &Predictor, x: &[Vec<f32>], device: &Device) -> Vec<Vec<f32>> {
    let t = t.valid();
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(256) {
        let dim = chunk[0].len();
        let xb = rows_batch(
            chunk.iter().map(std::vec::Vec::as_slice),
            chunk.len(),
            dim,
            device,
        );
        out.extend(to_vec(softmax(t.forward(xb), 1))); // [b, K]
    }
    out
}

/// Settings of co-ascent learning (Algorithm 1, §3.5).
#[derive(Config, Debug)]
pub struct CoascentConfig {
    /// Fine-tuning settings (the learning rate is replaced by `lr`).
    pub train: TrainConfig,
    /// Epochs of fine-tuning.
    #[config(default = 20)]
    pub epochs: usize,
    /// Confidence threshold τ of a pseudo-label.
    #[config(default = 0.9)]
    pub tau: f32,
    /// Learning rate of the fine-tuning.
    #[config(default = 1e-5)]
    pub lr: f64,
    /// Pseudo-labels (and M) are refreshed every this many epochs.
    #[config(default = 5)]
    pub refresh_every: usize,
    /// Momentum α of the M update.
    #[config(default = 0.5)]
    pub alpha: f32,
}

/// What a co-ascent run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoascentLog {
    /// Pseudo-labels kept (confidence above τ) at each refresh.
    pub pseudo_labels: Vec<usize>,
    /// Unlabeled phrases seen at each refresh.
    pub unlabeled: usize,
    /// Mean loss per epoch.
    pub losses: Vec<f32>,
}

/// Pseudo-labels of one refresh: per song, the M-re-scored top-1 class and confidence.
pub fn pseudo_label(
    t: &Predictor,
    m: &Transitions,
    songs: &[Vec<Vec<f32>>],
    device: &Device,
) -> Vec<(Vec<usize>, Vec<f32>)> {
    songs
        .iter()
        .map(|u| {
            let p = m.rescale(&predict(t, u, device));
            let labels: Vec<usize> = p.iter().map(|r| argmax(r).unwrap_or(0)).collect();
            let conf: Vec<f32> = p.iter().zip(&labels).map(|(r, &l)| r[l]).collect();
            (labels, conf)
        })
        .collect()
}

/// Checkpoint state of [`coascent`] (`checkpoint-coascent/state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoascentState {
    /// Epochs completed.
    pub epoch: usize,
    /// M after the last update.
    pub m: Option<Transitions>,
    /// Pseudo-labels in use: (song, phrase, class).
    pub pseudo: Vec<(usize, usize, usize)>,
    /// The log so far.
    pub log: CoascentLog,
}

/// Algorithm 1: fine-tunes T on the labeled `(x, y)` plus the unlabeled songs' embeddings
/// (`unlabeled[song][phrase]`) pseudo-labeled with M-re-scored predictions above τ, refreshing
/// the pseudo-labels and updating M every `refresh_every` epochs. With `out`, a checkpoint
/// (T, optimiser, M, pseudo-labels, log) is written to `out/checkpoint-coascent` after every
/// epoch, and `resume` continues from it.
#[allow(clippy::too_many_arguments)]
pub fn coascent(
    cfg: &CoascentConfig,
    t: Predictor,
    m: &mut Transitions,
    x: &[Vec<f32>],
    y: &[usize],
    unlabeled: &[Vec<Vec<f32>>],
    device: &Device,
    out: Option<(&Path, bool)>,
    report: &mut Reporter,
) -> Result<(Predictor, CoascentLog), ModelError> {
    let ad = device.clone().autodiff();
    ad.seed(cfg.train.seed);
    let mut t = t.fork(&ad).train();
    let mut optim = sgd(&cfg.train);
    let mut state = CoascentState {
        log: CoascentLog {
            unlabeled: unlabeled.iter().map(std::vec::Vec::len).sum(),
            ..Default::default()
        },
        ..Default::default()
    };
    let ck = out.map(|(o, _)| Checkpoint::new(o, "coascent"));
    if let (Some(ck), Some((_, true))) = (&ck, out)
        && let Some((p, o, s)) = ck.load(t.clone(), optim.clone())?
    {
        (t, optim, state) = (p, o, s);
        if let Some(saved) = &state.m {
            *m = saved.clone();
        }
    }
    for epoch in state.epoch..cfg.epochs {
        if epoch % cfg.refresh_every.max(1) == 0 {
            let pl = pseudo_label(&t, m, unlabeled, device);
            state.pseudo.clear();
            for (si, (labels, conf)) in pl.iter().enumerate() {
                for (pi, (&l, &c)) in labels.iter().zip(conf).enumerate() {
                    if c > cfg.tau {
                        state.pseudo.push((si, pi, l));
                    }
                }
            }
            state.log.pseudo_labels.push(state.pseudo.len());
            m.coascent_update(&pl, cfg.alpha);
        }
        let all_y: Vec<usize> = y
            .iter()
            .copied()
            .chain(state.pseudo.iter().map(|p| p.2))
            .collect();
        let mut rng = Rng::new(cfg.train.seed, 2_000 + epoch as u64);
        let order = epoch_order(&all_y, cfg.train.balanced, &mut rng);
        let label = ("coascent", epoch, cfg.epochs);
        let pseudo = &state.pseudo;
        let r;
        (t, r) = run_epoch(
            t,
            &order,
            cfg.train.batch_size,
            label,
            report,
            |t, chunk| {
                let xb: Vec<&[f32]> = chunk
                    .iter()
                    .map(|&i| {
                        if i < x.len() {
                            x[i].as_slice()
                        } else {
                            let (si, pi, _) = pseudo[i - x.len()];
                            unlabeled[si][pi].as_slice()
                        }
                    })
                    .collect();
                let yb: Vec<usize> = chunk.iter().map(|&i| all_y[i]).collect();
                predictor_step(t, &mut optim, &xb, &yb, cfg.lr, &ad)
            },
        );
        state.log.losses.push(r.loss);
        state.epoch = epoch + 1;
        state.m = Some(m.clone());
        if let Some(ck) = &ck {
            ck.save(&t, &optim, &state)?;
        }
        report.epoch(&r);
    }
    Ok((t, state.log))
}
