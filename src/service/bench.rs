//! `bench learn`: the learning benchmark on data the program makes itself
//! ([`crate::bench::learn_set`]): generate the labeled songs, pretrain the encoder on the
//! train split's audio, train the predictor and M₀ on its labels, and evaluate on the test
//! split — the same services `pretrain`, `train` and `evaluate` run, so the table is the one a
//! user gets on real data.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::train::{
    EvaluateRequest, PretrainRequest, TrainRequest, evaluate, pretrain, train as train_model,
};
use super::{Progress, Result};
use crate::bench::LearnSetConfig;
use crate::labels::LabelSet;
use crate::model::evaluation::EvalTable;
use crate::model::train::Reporter;

/// What `bench learn` should do.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchLearnRequest {
    /// The data set.
    pub config: LearnSetConfig,
    /// Folder holding the data set's folder (`learn-KEY`, see
    /// [`LearnSetConfig::folder_name`]) and, inside it, the run (`run/pretrain`,
    /// `run/model`).
    pub out: PathBuf,
    /// Pretraining epochs.
    pub pretrain_epochs: usize,
    /// Predictor epochs.
    pub train_epochs: usize,
    /// Seed of pretraining and training.
    pub seed: u64,
    /// Device: `flex` or `wgpu`.
    pub device: String,
}

impl BenchLearnRequest {
    /// The quick benchmark: [`LearnSetConfig::quick`], 8 pretraining epochs (a few minutes
    /// on two cores in the dev profile).
    pub fn quick(out: &Path) -> BenchLearnRequest {
        BenchLearnRequest {
            config: LearnSetConfig::quick(),
            out: out.to_path_buf(),
            pretrain_epochs: 8,
            train_epochs: 100,
            seed: 42,
            device: "flex".into(),
        }
    }

    /// The full benchmark: [`LearnSetConfig::full`], 25 pretraining epochs (as the shipped
    /// encoder was pretrained, see BENCHMARKS.md).
    pub fn full(out: &Path) -> BenchLearnRequest {
        BenchLearnRequest {
            config: LearnSetConfig::full(),
            pretrain_epochs: 25,
            ..BenchLearnRequest::quick(out)
        }
    }
}

/// Where `bench learn` writes by default: `bench/` in the cache folder.
pub fn default_out() -> PathBuf {
    crate::cache::cache_dir().join("bench")
}

/// Wall-clock seconds of each stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageSeconds {
    /// Generating the songs (or finding them written).
    pub generate: f64,
    /// Analysing the train songs and pretraining the encoder.
    pub pretrain: f64,
    /// Embedding the labeled phrases and training the predictor.
    pub train: f64,
    /// Evaluating on the test split.
    pub evaluate: f64,
}

/// The outcome of `bench learn`: the evaluation table and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchLearnReport {
    /// The `evaluate` table on the test split.
    #[serde(flatten)]
    pub table: EvalTable,
    /// The labels file of the data set.
    pub labels: PathBuf,
    /// Songs in the train split (pretrained on, trained on).
    pub train_songs: usize,
    /// Phrases the encoder was pretrained on.
    pub pretrain_phrases: usize,
    /// The encoder of an earlier run with the same data set and pretraining settings was
    /// reused (its pretraining seconds are not counted).
    pub pretrain_reused: bool,
    /// Seconds per stage.
    pub seconds: StageSeconds,
}

/// Runs the benchmark of `req`; `reporter` sees the epochs of pretraining and training.
pub fn bench_learn(
    req: &BenchLearnRequest,
    progress: &dyn Progress,
    reporter: &mut Reporter,
) -> Result<BenchLearnReport> {
    let dir = req.out.join(req.config.folder_name());
    let mut seconds = StageSeconds::default();
    let clock = Instant::now();
    let n = req.config.songs.max(1) as f32;
    let labels = crate::bench::generate(&req.config, &dir, &mut |i, _| {
        progress.update("generating songs", i as f32 / n);
    })?;
    seconds.generate = clock.elapsed().as_secs_f64();
    progress.step("pretraining", 0.0)?;
    let set = LabelSet::read(&labels)?;
    let train_songs: Vec<PathBuf> = set
        .songs
        .iter()
        .filter(|s| s.split.as_deref() == Some("train"))
        .map(|s| LabelSet::audio_path(&labels, s))
        .collect();
    let run = dir.join("run");
    let clock = Instant::now();
    let pre = PretrainRequest {
        songs: train_songs.clone(),
        out: run.join("pretrain"),
        config: "compact".into(),
        epochs: req.pretrain_epochs,
        batch: 16,
        lr: 1e-3,
        decay_every: (req.pretrain_epochs * 3 / 5).max(1),
        seed: req.seed,
        resume: false,
        device: req.device.clone(),
    };
    let key_path = run.join("pretrain-key.json");
    let key = PretrainKey::of(&pre);
    let done = crate::model::train::read_json::<PretrainKey>(&key_path)
        .ok()
        .filter(|k| k.same_run(&key) && pre.out.join("encoder.bpk").is_file());
    let (pretrain_phrases, pretrain_reused) = match done {
        Some(k) => (k.phrases, true),
        None => {
            // A stale key must not vouch for a half-done or different pretraining.
            let _ = std::fs::remove_file(&key_path);
            let phrases = pretrain(&pre, progress, reporter)?;
            crate::model::train::write_json(&PretrainKey { phrases, ..key }, &key_path)?;
            (phrases, false)
        }
    };
    seconds.pretrain = clock.elapsed().as_secs_f64();
    progress.step("training", 0.0)?;
    let clock = Instant::now();
    train_model(&train_request(req, &labels, &run), reporter)?;
    seconds.train = clock.elapsed().as_secs_f64();
    progress.step("evaluating", 0.0)?;
    let clock = Instant::now();
    let table = evaluate(&EvaluateRequest {
        labels: labels.clone(),
        model: run.join("model"),
        library: None,
        split: "test".into(),
        device: req.device.clone(),
        infer_style: false,
    })?;
    seconds.evaluate = clock.elapsed().as_secs_f64();
    Ok(BenchLearnReport {
        table,
        labels,
        train_songs: train_songs.len(),
        pretrain_phrases,
        pretrain_reused,
        seconds,
    })
}

/// What a finished pretraining of a run was (`run/pretrain-key.json`, written after it
/// completed): a later run asking for the same pretraining of the same songs (the data set's
/// folder is keyed by its generator config) reuses the encoder instead of pretraining again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PretrainKey {
    program: String,
    /// The analysis version its phrases and targets came from
    /// ([`crate::cache::ANALYSIS_VERSION`]; 0 in keys from before it was recorded, so an
    /// analysis change pretrains again).
    #[serde(default)]
    analysis: u32,
    songs: Vec<String>,
    config: String,
    epochs: usize,
    batch: usize,
    lr: f64,
    decay_every: usize,
    seed: u64,
    device: String,
    /// Phrases pretrained on (reported again on reuse).
    phrases: usize,
}

impl PretrainKey {
    fn of(r: &PretrainRequest) -> PretrainKey {
        PretrainKey {
            program: env!("CARGO_PKG_VERSION").to_string(),
            analysis: crate::cache::ANALYSIS_VERSION,
            songs: r
                .songs
                .iter()
                .map(|p| {
                    p.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                })
                .collect(),
            config: r.config.clone(),
            epochs: r.epochs,
            batch: r.batch,
            lr: r.lr,
            decay_every: r.decay_every,
            seed: r.seed,
            device: r.device.clone(),
            phrases: 0,
        }
    }

    /// The same pretraining (every field but the phrase count).
    fn same_run(&self, other: &PretrainKey) -> bool {
        PretrainKey {
            phrases: 0,
            ..self.clone()
        } == *other
    }
}

/// `train`'s defaults (compact predictor, SGD 1e-2, batch 32) on the benchmark's labels,
/// with the encoder pretrained in `run/pretrain`.
fn train_request(req: &BenchLearnRequest, labels: &Path, run: &Path) -> TrainRequest {
    TrainRequest {
        labels: labels.to_path_buf(),
        encoder: Some(run.join("pretrain")),
        config: "compact".into(),
        predictor: "compact".into(),
        out: run.join("model"),
        library: None,
        epochs: req.train_epochs,
        batch: 32,
        lr: 1e-2,
        balanced: false,
        no_attention: false,
        plain: false,
        seed: req.seed,
        resume: false,
        half: false,
        device: req.device.clone(),
        skip_imported: false,
        no_variety_fit: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key written before the analysis version was recorded (or under another one) does
    /// not vouch for the encoder: the phrases it was pretrained on may have changed.
    #[test]
    fn a_pretraining_key_names_the_analysis_version() {
        let req = PretrainRequest {
            songs: vec![PathBuf::from("a/waltz-00.wav")],
            out: PathBuf::from("out"),
            config: "compact".into(),
            epochs: 5,
            batch: 16,
            lr: 1e-3,
            decay_every: 3,
            seed: 1,
            resume: false,
            device: "flex".into(),
        };
        let key = PretrainKey::of(&req);
        assert_eq!(key.analysis, crate::cache::ANALYSIS_VERSION);
        assert!(key.same_run(&key.clone()));
        let mut json = serde_json::to_value(&key).unwrap();
        json.as_object_mut().unwrap().remove("analysis");
        let old: PretrainKey = serde_json::from_value(json).unwrap();
        assert_eq!(old.analysis, 0);
        assert!(!old.same_run(&key));
    }
}
