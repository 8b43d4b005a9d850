//! The model folder and the scorer entry point.
//!
//! A model folder holds `model.json` ([`ModelInfo`]: schema, network and predictor sizes,
//! the K phrase ids in library order, the fingerprint of the library it was trained for, what
//! it was trained on), `encoder.bpk` and `predictor.bpk` (burnpack weights) and
//! `transitions.json` (M). Loading it for a library with another fingerprint is
//! [`ModelError::WrongLibrary`], never silently wrong indices.

use super::ModelError;
use super::data::{LabeledSongData, PhraseSample, Split};
use super::encoder::Encoder;
use super::net::NetConfig;
use super::predictor::{Predictor, PredictorConfig};
use super::train::{embed_samples, load_module, predict, read_json, save_module, write_json};
use super::transition::Transitions;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Schema tag of `model.json`.
pub const MODEL_SCHEMA: &str = "phrasewise-model/1";

/// `model.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelInfo {
    /// [`MODEL_SCHEMA`].
    pub schema: String,
    /// Encoder and decoder sizes.
    pub net: NetConfig,
    /// Predictor sizes.
    pub predictor: PredictorConfig,
    /// Dance phrase ids, index = class (the library's order).
    pub classes: Vec<String>,
    /// Name of the library.
    pub library_name: String,
    /// BLAKE3 of the library index JSON (`choreo::project::library_fingerprint`).
    pub library_fingerprint: String,
    /// What the encoder and the predictor were trained on, in words.
    pub trained_on: String,
    /// Test-split metrics at save time, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<EvalReport>,
}

/// Top-k accuracies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopK {
    /// Top-1.
    pub top1: f64,
    /// Top-5.
    pub top5: f64,
    /// Top-10.
    pub top10: f64,
}

/// Evaluation on a split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Phrases evaluated.
    pub phrases: usize,
    /// Songs evaluated.
    pub songs: usize,
    /// Number of classes K.
    pub classes: usize,
    /// Raw predictions F(u_t).
    pub without_m: TopK,
    /// Re-scored along each song with M (Eq. 6).
    pub with_m: TopK,
    /// Top-k of a uniform random ranking (k / K), for reference.
    pub chance: TopK,
}

/// A trained encoder + predictor + M for one library: the scorer the choreography layer
/// wraps.
#[derive(Debug)]
pub struct PhraseModel {
    /// `model.json`.
    pub info: ModelInfo,
    /// E (inference mode).
    pub encoder: Encoder,
    /// T (inference mode).
    pub predictor: Predictor,
    /// M.
    pub transitions: Transitions,
    device: Device,
}

impl PhraseModel {
    /// Assembles a model (weights in any mode; they are switched to inference).
    pub fn new(
        info: ModelInfo,
        encoder: Encoder,
        predictor: Predictor,
        transitions: Transitions,
        device: Device,
    ) -> Self {
        PhraseModel {
            encoder: encoder.valid().to_device(&device),
            predictor: predictor.valid().to_device(&device),
            info,
            transitions,
            device,
        }
    }

    /// Loads `dir` on the CPU for the library with fingerprint `library_fingerprint`.
    pub fn load(dir: &Path, library_fingerprint: &str) -> Result<PhraseModel, ModelError> {
        PhraseModel::load_on(dir, library_fingerprint, &super::default_device())
    }

    /// Reads `dir/model.json` and checks schema and K (no weights).
    pub fn read_info(dir: &Path) -> Result<ModelInfo, ModelError> {
        let path = dir.join("model.json");
        let info: ModelInfo = read_json(&path)?;
        if info.schema != MODEL_SCHEMA {
            return Err(ModelError::Invalid {
                msg: format!("schema is `{}`, expected `{MODEL_SCHEMA}`", info.schema),
                path,
            });
        }
        if info.classes.len() != info.predictor.classes {
            return Err(ModelError::Invalid {
                msg: format!(
                    "{} classes listed for a predictor of {}",
                    info.classes.len(),
                    info.predictor.classes
                ),
                path,
            });
        }
        Ok(info)
    }

    /// [`PhraseModel::load`] on `device`.
    pub fn load_on(
        dir: &Path,
        library_fingerprint: &str,
        device: &Device,
    ) -> Result<PhraseModel, ModelError> {
        let info = PhraseModel::read_info(dir)?;
        if info.library_fingerprint != library_fingerprint {
            return Err(ModelError::WrongLibrary {
                model_library: info.library_name.clone(),
                model_fp: info.library_fingerprint.clone(),
                library_fp: library_fingerprint.to_string(),
                path: dir.to_path_buf(),
            });
        }
        let encoder = load_module(info.net.encoder.init(device), &dir.join("encoder.bpk"))?;
        let predictor = load_module(info.predictor.init(device), &dir.join("predictor.bpk"))?;
        let tp = dir.join("transitions.json");
        let transitions: Transitions = read_json(&tp)?;
        let k = info.classes.len();
        if transitions.k != k || transitions.m.len() != k * k {
            return Err(ModelError::Invalid {
                msg: format!("transition matrix is not {k}×{k}"),
                path: tp,
            });
        }
        Ok(PhraseModel::new(
            info,
            encoder,
            predictor,
            transitions,
            device.clone(),
        ))
    }

    /// Writes the folder.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        save_module(&self.encoder, &dir.join("encoder.bpk"))?;
        save_module(&self.predictor, &dir.join("predictor.bpk"))?;
        write_json(&self.transitions, &dir.join("transitions.json"))?;
        write_json(&self.info, &dir.join("model.json"))
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Embeddings `u` of phrases.
    pub fn embed(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        let refs: Vec<&PhraseSample> = phrases.iter().collect();
        embed_samples(&self.encoder, &refs, 16, &self.device)
    }

    /// F(u_t): probabilities over the K library phrases for every music phrase (no M).
    pub fn score_phrases(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        predict(&self.predictor, &self.embed(phrases), &self.device)
    }

    /// [`score_phrases`](Self::score_phrases) of a song's phrases in order, re-scored by M
    /// along the song (Eq. 6).
    pub fn score_song(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        self.transitions.rescale(&self.score_phrases(phrases))
    }

    /// Top-1/5/10 on the songs of `split`, with and without M, from embeddings computed by
    /// this model's encoder.
    pub fn evaluate(&self, data: &[LabeledSongData], split: Split) -> EvalReport {
        let songs: Vec<(Vec<Vec<f32>>, &[usize])> = data
            .iter()
            .filter(|s| s.split == split)
            .map(|s| (self.embed(&s.song.samples), s.labels.as_slice()))
            .collect();
        evaluate_embeddings(&self.predictor, &self.transitions, &songs, &self.device)
    }
}

/// Rank (0-based) of `label` in `probs` (number of classes scored strictly higher).
fn rank_of(probs: &[f32], label: usize) -> usize {
    let p = probs.get(label).copied().unwrap_or(f32::NEG_INFINITY);
    probs.iter().filter(|&&q| q > p).count()
}

fn topk(ranks: &[usize]) -> TopK {
    let n = ranks.len().max(1) as f64;
    let at = |k: usize| ranks.iter().filter(|&&r| r < k).count() as f64 / n;
    TopK {
        top1: at(1),
        top5: at(5),
        top10: at(10),
    }
}

/// Top-k of T's predictions (and of their M re-scoring along each song) for songs given as
/// (embeddings, labels).
pub fn evaluate_embeddings(
    t: &Predictor,
    m: &Transitions,
    songs: &[(Vec<Vec<f32>>, &[usize])],
    device: &Device,
) -> EvalReport {
    let (mut raw, mut resc) = (Vec::new(), Vec::new());
    let mut k = m.k;
    for (u, labels) in songs {
        if u.is_empty() {
            continue;
        }
        let p = predict(t, u, device);
        k = p[0].len();
        let q = m.rescale(&p);
        for ((pi, qi), &l) in p.iter().zip(&q).zip(labels.iter()) {
            raw.push(rank_of(pi, l));
            resc.push(rank_of(qi, l));
        }
    }
    let kf = k.max(1) as f64;
    EvalReport {
        phrases: raw.len(),
        songs: songs.len(),
        classes: k,
        without_m: topk(&raw),
        with_m: topk(&resc),
        chance: TopK {
            top1: (1.0 / kf).min(1.0),
            top5: (5.0 / kf).min(1.0),
            top10: (10.0 / kf).min(1.0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_topk() {
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 2), 1);
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 1), 0);
        let t = topk(&[0, 1, 7, 20]);
        assert_eq!((t.top1, t.top5, t.top10), (0.25, 0.5, 0.75));
    }
}
