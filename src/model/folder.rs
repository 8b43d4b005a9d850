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
use super::train::{
    embed_samples, load_module, predict, read_json, replace_dir, save_module, save_module_f16,
    write_json,
};
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
    /// Per-dimension mean and standard deviation of the training embeddings; `u` is
    /// standardised with them before T (absent: used as is). Not in the paper: the frozen
    /// encoder's raw outputs can sit on any scale (a random encoder's do), and SGD on T at
    /// lr 1e-2 needs inputs of unit scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_norm: Option<EmbedNorm>,
    /// Test-split metrics at save time, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<EvalReport>,
    /// Weight `w` of the matrix in `log F + w · log M`, fitted on validation songs (absent:
    /// 1, the paper's Eq. 6 product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_weight: Option<f32>,
    /// Weight `w_L` of the matrix next to a slot whose phrase is known (accepted in the
    /// editor), fitted on the validation songs' interactive case (absent: `w`). A known
    /// neighbour makes M's row exact evidence, where between two slots the decoder chooses
    /// M only passes on uncertain beliefs, so the two weights differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_matrix_weight: Option<f32>,
    /// Exponent `τ` of the network's probabilities
    /// ([`super::evaluation::tempered`]), fitted with the matrix weight (absent: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_weight: Option<f32>,
    /// Additive smoothing β of M ([`Transitions::smoothed`]), fitted with the weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_smoothing: Option<f32>,
    /// Song-context weight γ ([`super::evaluation::with_song_context`]), fitted with the
    /// matrix weight (absent: 0, none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub song_context: Option<f32>,
    /// The style prior ([`super::style::StylePrior`], its weight fitted on validation songs),
    /// when the training labels name styles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_prior: Option<super::style::StylePrior>,
    /// The music-feature expert ([`super::feature_expert::FeatureExpert`], its weight `κ`
    /// fitted on validation songs), when trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_expert: Option<super::feature_expert::FeatureExpert>,
    /// The label prior divided out of F on the chain ([`super::evaluation::ChainModel`]),
    /// fitted with the matrix weight (absent: none, the paper's product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_correction: Option<PriorCorrection>,
    /// The variety decode's penalties fitted on the labels
    /// ([`super::evaluation::fit_variety`]): a dance ranked with this model repeats moves as
    /// much as the labelled dances did (absent: the program's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variety: Option<super::evaluation::VarietyFit>,
    /// How the training songs' dances begin, with its weight on a song's first phrase
    /// ([`super::style::StartPrior`]; absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_prior: Option<super::style::StartPrior>,
}

/// `F_t(j) / P(j)^α` on the chain: `α` and `log P(j)` over the K classes (add-one smoothed
/// training-label frequencies, the prior F learnt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorCorrection {
    /// Exponent `α` (0 = off).
    pub weight: f32,
    /// `log P(j)`, one per class.
    pub log_prior: Vec<f32>,
}

impl PriorCorrection {
    /// `α` and the log of the add-one smoothed frequencies of `labels` over `k` classes.
    pub fn from_labels(weight: f32, labels: &[usize], k: usize) -> PriorCorrection {
        let mut f = vec![1.0f32; k];
        for &l in labels.iter().filter(|&&l| l < k) {
            f[l] += 1.0;
        }
        let n: f32 = f.iter().sum();
        PriorCorrection {
            weight,
            log_prior: f.iter().map(|v| (v / n).ln()).collect(),
        }
    }
}

/// What a model does to the network's probabilities, song by song: raises them to `τ`, then
/// multiplies them by the style prior (the song's declared style's repertoire, else the
/// style its music suggests), the music-feature expert and the song context, in that order.
#[derive(Clone, Copy, Debug)]
pub struct SongPriors<'a> {
    /// Network exponent τ ([`super::evaluation::tempered`]; 1 = as it is).
    pub network: f32,
    /// Song-context weight γ.
    pub context: f32,
    /// Style prior (its weights inside: inferred from the music, or for a declared style).
    pub style: Option<&'a super::style::StylePrior>,
    /// Music-feature expert and its weight κ.
    pub expert: Option<(&'a super::feature_expert::FeatureExpert, f32)>,
    /// How dances begin (its weight inside), on the first phrase.
    pub start: Option<&'a super::style::StartPrior>,
}

impl SongPriors<'_> {
    /// The priors applied to the probabilities of one song's phrases, given each phrase's
    /// raw music features ([`phrase_features`]) and the song's declared style, if any (the
    /// labels' `style`, `--style`): a style the model knows replaces the music's guess
    /// ([`super::style::StylePrior::song_prior`]).
    pub fn apply(
        &self,
        probs: &[Vec<f32>],
        features: &[&[f32]],
        declared: Option<&str>,
    ) -> Vec<Vec<f32>> {
        let style = self
            .style
            .map(|s| s.song_prior(declared, &super::style::song_features(features)))
            .filter(|(_, w)| w.is_finite() && *w > 0.0);
        let expert = self
            .expert
            .filter(|(_, w)| *w != 0.0)
            .map(|(g, w)| (features.iter().map(|f| g.probs(f)).collect::<Vec<_>>(), w));
        let combined = super::evaluation::combine(
            probs,
            self.network,
            style.as_ref().map(|(p, w)| (p.as_slice(), *w)),
            expert.as_ref().map(|(g, w)| (g.as_slice(), *w)),
            self.context,
        );
        match self
            .start
            .filter(|s| s.weight.is_finite() && s.weight > 0.0)
        {
            Some(s) => super::style::with_start(&combined, s.for_style(declared), s.weight),
            None => combined,
        }
    }
}

/// A song's mean music features from its phrases.
pub fn song_features_of(phrases: &[PhraseSample]) -> Vec<f32> {
    super::style::song_features(&phrase_features(phrases))
}

/// Each phrase's raw music features.
pub fn phrase_features(phrases: &[PhraseSample]) -> Vec<&[f32]> {
    phrases.iter().map(|p| p.features.as_slice()).collect()
}

impl ModelInfo {
    /// The song-level priors this model scores with.
    pub fn priors(&self) -> SongPriors<'_> {
        SongPriors {
            network: self.network_weight(),
            context: self.song_context(),
            style: self.style_prior.as_ref(),
            expert: self
                .feature_expert
                .as_ref()
                .map(|g| (g, g.weight))
                .filter(|(g, w)| w.is_finite() && *w > 0.0 && g.classes() == self.classes.len()),
            start: self.start_prior.as_ref(),
        }
    }

    /// The song-context weight to score with: the fitted one, else 0.
    pub fn song_context(&self) -> f32 {
        self.song_context
            .filter(|g| g.is_finite() && *g >= 0.0)
            .unwrap_or(0.0)
    }

    /// The matrix weight to rank with: the fitted one, else 1.
    pub fn matrix_weight(&self) -> f32 {
        self.matrix_weight
            .filter(|w| w.is_finite() && *w >= 0.0)
            .unwrap_or(1.0)
    }

    /// The matrix weight next to a known slot: the fitted one, else [`Self::matrix_weight`].
    pub fn locked_matrix_weight(&self) -> f32 {
        self.locked_matrix_weight
            .filter(|w| w.is_finite() && *w >= 0.0)
            .unwrap_or_else(|| self.matrix_weight())
    }

    /// The network exponent τ: the fitted one, else 1 (the network as it is).
    pub fn network_weight(&self) -> f32 {
        self.network_weight
            .filter(|w| w.is_finite() && *w >= 0.0)
            .unwrap_or(1.0)
    }

    /// How this model combines F and `m` on a song's chain: its matrix weight and prior
    /// correction (none when absent, or when its prior is not one per class).
    pub fn chain<'a>(&'a self, m: &'a Transitions) -> super::evaluation::ChainModel<'a> {
        let mut chain = super::evaluation::ChainModel::plain(m, self.matrix_weight());
        chain.locked_w = self.locked_matrix_weight();
        if let Some(c) = &self.prior_correction
            && c.weight.is_finite()
            && c.weight > 0.0
            && c.log_prior.len() == self.classes.len()
            && c.log_prior.iter().all(|v| v.is_finite())
        {
            // α corrects the prior inside F, which enters the chain as F^τ.
            chain.alpha = c.weight * self.network_weight();
            chain.log_prior = &c.log_prior;
        }
        chain
    }
}

/// Standardisation of the embeddings `u` (see [`ModelInfo::embed_norm`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbedNorm {
    /// Mean per dimension.
    pub mean: Vec<f32>,
    /// Standard deviation per dimension (at least 1e-6).
    pub std: Vec<f32>,
    /// The last `gained` dimensions (the music features) are multiplied by `gain` after
    /// standardising (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gained: usize,
    /// See `gained`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub gain: f32,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

fn one() -> f32 {
    1.0
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(v: &f32) -> bool {
    *v == 1.0
}

impl EmbedNorm {
    /// Mean and standard deviation of `rows` (all of one width).
    pub fn fit(rows: &[Vec<f32>]) -> EmbedNorm {
        let d = rows.first().map_or(0, std::vec::Vec::len);
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0f64; d];
        for r in rows {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += f64::from(*v) / n;
            }
        }
        let mut var = vec![0.0f64; d];
        for r in rows {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (f64::from(*v) - m).powi(2) / n;
            }
        }
        EmbedNorm {
            mean: mean.iter().map(|m| *m as f32).collect(),
            std: var.iter().map(|v| (v.sqrt() as f32).max(1e-6)).collect(),
            gained: 0,
            gain: 1.0,
        }
    }

    /// [`fit`](Self::fit) for rows `[u; f]` whose last `features` values are the music
    /// features: those are given as much weight in total as the whole embedding
    /// (`gain = √(dim u / features)`). A handful of decisive cues (tempo, metre) would
    /// otherwise enter T's first layer as 11 of 523 equal inputs, and with a few hundred
    /// labeled phrases T fits the embedding's noise before it finds them.
    pub fn fit_with_features(rows: &[Vec<f32>], features: usize) -> EmbedNorm {
        let mut n = EmbedNorm::fit(rows);
        let d = n.mean.len();
        if features > 0 && features < d {
            n.gained = features;
            n.gain = (((d - features) as f32) / features as f32).sqrt();
        }
        n
    }

    /// This standardisation without its last `n` dimensions (for rows without the music
    /// features).
    #[must_use]
    pub fn without_last(mut self, n: usize) -> EmbedNorm {
        let d = self.mean.len().saturating_sub(n);
        self.mean.truncate(d);
        self.std.truncate(d);
        self.gained = self.gained.saturating_sub(n);
        if self.gained == 0 {
            self.gain = 1.0;
        }
        self
    }

    /// Standardises `rows` in place (and applies the features' gain).
    pub fn apply(&self, rows: &mut [Vec<f32>]) {
        let from = self.mean.len().saturating_sub(self.gained);
        for r in rows {
            for (i, ((v, m), s)) in r.iter_mut().zip(&self.mean).zip(&self.std).enumerate() {
                *v = (*v - m) / s;
                if i >= from {
                    *v *= self.gain;
                }
            }
        }
    }
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
    /// Top-k of a fixed ranking by training-label frequency (no music at all), for reference;
    /// set by training, absent from `evaluate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<TopK>,
}

/// Top-k of the fixed ranking by the class frequencies of `train_labels`, on `test_labels`.
pub fn prior_topk(train_labels: &[usize], test_labels: &[usize], k: usize) -> TopK {
    let freq = super::evaluation::label_frequency(train_labels.iter().copied(), k);
    let ranks: Vec<usize> = test_labels.iter().map(|&l| rank_of(&freq, l)).collect();
    topk(&ranks)
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
        let mut value: serde_json::Value = read_json(&path)?;
        // Predictor widths added after `phrasewise-model/1` was first written: absent means
        // 0 (the paper's predictor). burn's `Config` derive has no serde defaults.
        if let Some(p) = value.get_mut("predictor").and_then(|p| p.as_object_mut()) {
            for field in ["features", "candidates"] {
                p.entry(field).or_insert(serde_json::Value::from(0));
            }
        }
        let info: ModelInfo = serde_json::from_value(value).map_err(|err| ModelError::Json {
            path: path.clone(),
            err,
        })?;
        if info.schema != MODEL_SCHEMA {
            return Err(ModelError::Invalid {
                msg: format!("schema is `{}`, expected `{MODEL_SCHEMA}`", info.schema),
                path,
            });
        }
        check_sizes(&info).map_err(|msg| ModelError::Invalid {
            msg,
            path: path.clone(),
        })?;
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
        PhraseModel::load_with(
            PhraseModel::read_info(dir)?,
            dir,
            library_fingerprint,
            device,
        )
    }

    /// [`load_on`](Self::load_on) with `model.json` already read.
    fn load_with(
        info: ModelInfo,
        dir: &Path,
        library_fingerprint: &str,
        device: &Device,
    ) -> Result<PhraseModel, ModelError> {
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

    /// [`load_on`](Self::load_on) for a library that may have changed since training (by
    /// phrase id; `phrases` in the library's order, `fingerprint` its fingerprint). The
    /// library it was trained for loads as it is. Another library loads only into a
    /// candidate-aware model: known phrases keep what was learned for them, phrases added
    /// since are scored from their motion features ([`Predictor::for_classes`]) and enter M
    /// with the style prior — no retraining needed to suggest them. A model with the paper's
    /// output layer is [`ModelError::WrongLibrary`] as before.
    pub fn load_adapted(
        dir: &Path,
        (fingerprint, name): (&str, &str),
        phrases: &[&crate::motion::index::PhraseEntry],
        device: &Device,
    ) -> Result<PhraseModel, ModelError> {
        let info = PhraseModel::read_info(dir)?;
        if info.library_fingerprint == fingerprint || info.predictor.candidates == 0 {
            return PhraseModel::load_with(info, dir, fingerprint, device);
        }
        let trained_fp = info.library_fingerprint.clone();
        let trained = PhraseModel::load_with(info, dir, &trained_fp, device)?;
        let map: Vec<Option<usize>> = phrases
            .iter()
            .map(|p| trained.info.classes.iter().position(|c| *c == p.id))
            .collect();
        let candidates = super::features::candidate_matrix(phrases);
        let Some(predictor) = trained.predictor.for_classes(&map, &candidates) else {
            return Err(ModelError::Invalid {
                msg: "the predictor cannot be adapted to this library".into(),
                path: dir.to_path_buf(),
            });
        };
        let styles: Vec<String> = phrases.iter().map(|p| p.style.clone()).collect();
        let mut transitions = Transitions::style_prior(&styles);
        let k = phrases.len();
        for (a, ma) in map.iter().enumerate() {
            for (b, mb) in map.iter().enumerate() {
                if let (Some(i), Some(j)) = (ma, mb) {
                    transitions.m[a * k + b] = trained.transitions.get(*i, *j);
                }
            }
        }
        let added = map.iter().filter(|m| m.is_none()).count();
        let mut info = trained.info;
        info.trained_on = format!(
            "{}; adapted to library `{name}`: {added} phrases new since training, scored from \
             their motion features",
            info.trained_on
        );
        info.classes = phrases.iter().map(|p| p.id.clone()).collect();
        info.predictor.classes = k;
        if let Some(c) = &mut info.prior_correction {
            // A phrase new since training has no labels: the prior of an unseen class.
            let unseen = c.log_prior.iter().copied().fold(f32::INFINITY, f32::min);
            c.log_prior = map
                .iter()
                .map(|m| {
                    m.and_then(|i| c.log_prior.get(i).copied())
                        .unwrap_or(unseen)
                })
                .collect();
        }
        if let Some(s) = &mut info.style_prior {
            // A new phrase has no labels in any style: the smallest share of its style.
            for row in &mut s.phrase_given_style {
                let unseen = row.iter().copied().fold(f32::INFINITY, f32::min);
                *row = map
                    .iter()
                    .map(|m| m.and_then(|i| row.get(i).copied()).unwrap_or(unseen))
                    .collect();
            }
        }
        if let Some(g) = &mut info.feature_expert {
            *g = g.for_classes(&map);
        }
        info.library_fingerprint = fingerprint.to_string();
        info.library_name = name.to_string();
        Ok(PhraseModel::new(
            info,
            trained.encoder,
            predictor,
            transitions,
            device.clone(),
        ))
    }

    /// Writes the folder (f32 weights).
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        self.save_as(dir, false)
    }

    /// Writes the folder, with f16 weights when `half` (half the size; outputs change by
    /// rounding only). The shipped default model is stored this way.
    pub fn save_as(&self, dir: &Path, half: bool) -> Result<(), ModelError> {
        // The four files in one step: a reader or a kill sees the old model or the new one.
        replace_dir(dir, |tmp| {
            let (enc, pred) = (tmp.join("encoder.bpk"), tmp.join("predictor.bpk"));
            if half {
                save_module_f16(&self.encoder, &enc)?;
                save_module_f16(&self.predictor, &pred)?;
            } else {
                save_module(&self.encoder, &enc)?;
                save_module(&self.predictor, &pred)?;
            }
            write_json(&self.transitions, &tmp.join("transitions.json"))?;
            write_json(&self.info, &tmp.join("model.json"))
        })
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// T's inputs for phrases: embeddings `u` plus the music features the predictor reads,
    /// standardised as T expects.
    pub fn embed(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        let refs: Vec<&PhraseSample> = phrases.iter().collect();
        let mut u = embed_samples(&self.encoder, &refs, 16, &self.device);
        super::data::append_music_features(&mut u, phrases, self.info.predictor.features);
        self.normalize(&mut u);
        u
    }

    /// Standardises raw encoder embeddings as T expects (no-op without `embed_norm`).
    pub fn normalize(&self, rows: &mut [Vec<f32>]) {
        if let Some(n) = &self.info.embed_norm {
            n.apply(rows);
        }
    }

    /// F(u_t): probabilities over the K library phrases for every music phrase of one song,
    /// in order (no M), with the model's song context applied
    /// ([`super::evaluation::with_song_context`]).
    pub fn score_phrases(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        self.score_phrases_in_style(phrases, None)
    }

    /// [`score_phrases`](Self::score_phrases) of a song whose dance style is declared
    /// (`None`: the model's style prior guesses it from the music).
    pub fn score_phrases_in_style(
        &self,
        phrases: &[PhraseSample],
        style: Option<&str>,
    ) -> Vec<Vec<f32>> {
        let p = if self.info.network_weight() == 0.0 {
            // Calibration switched the network off (F^0 is uniform): the encoder and T need
            // not run at all.
            let k = self.info.classes.len();
            vec![vec![1.0 / k.max(1) as f32; k]; phrases.len()]
        } else {
            predict(&self.predictor, &self.embed(phrases), &self.device)
        };
        self.info
            .priors()
            .apply(&p, &phrase_features(phrases), style)
    }

    /// The unary terms of the song's chain: `log F_t(j) − α · log P(j)` with the model's
    /// prior correction ([`ModelInfo::chain`]), one row of K per phrase; the decoder adds
    /// `w · log M`.
    pub fn chain_scores(&self, phrases: &[PhraseSample], style: Option<&str>) -> Vec<Vec<f32>> {
        let chain = self.info.chain(&self.transitions);
        self.score_phrases_in_style(phrases, style)
            .iter()
            .map(|p| chain.unary(p))
            .collect()
    }

    /// [`score_phrases`](Self::score_phrases) of a song's phrases in order, re-scored by M
    /// along the song (Eq. 6).
    pub fn score_song(&self, phrases: &[PhraseSample]) -> Vec<Vec<f32>> {
        self.transitions.rescale(&self.score_phrases(phrases))
    }

    /// Top-1/5/10 on the songs of `split`, with and without M, from embeddings computed by
    /// this model's encoder.
    pub fn evaluate(&self, data: &[LabeledSongData], split: Split) -> EvalReport {
        let songs: Vec<EvalInput> = data
            .iter()
            .filter(|s| s.split == split)
            .map(|s| {
                (
                    self.embed(&s.song.samples),
                    s.labels.as_slice(),
                    phrase_features(&s.song.samples),
                    s.style.as_deref(),
                )
            })
            .collect();
        evaluate_embeddings(
            &self.predictor,
            (&self.transitions, &self.info.priors()),
            &songs,
            &self.device,
        )
    }
}

/// Rank (0-based) of `label` in `probs`: the classes scored at least as high (ties count
/// against the label, as in the evaluation table: a model that scores everything alike
/// ranks nothing first).
fn rank_of(probs: &[f32], label: usize) -> usize {
    super::evaluation::rank_of(probs, label) - 1
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

/// One song to evaluate: T's inputs, the labels, each phrase's raw music features, and its
/// declared style (the labels' `style`; `None`: the music decides).
pub type EvalInput<'a> = (Vec<Vec<f32>>, &'a [usize], Vec<&'a [f32]>, Option<&'a str>);

/// Top-k of T's predictions with the song-level `priors` (and of their M re-scoring along
/// each song) for songs given as (inputs, labels, phrase features).
pub fn evaluate_embeddings(
    t: &Predictor,
    (m, priors): (&Transitions, &SongPriors),
    songs: &[EvalInput],
    device: &Device,
) -> EvalReport {
    let (mut raw, mut resc) = (Vec::new(), Vec::new());
    let mut k = m.k;
    for (u, labels, song, style) in songs {
        if u.is_empty() {
            continue;
        }
        let p = priors.apply(&predict(t, u, device), song, *style);
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
        prior: None,
    }
}

/// Checks `model.json`'s sizes against [`crate::limits`] and each other before any module
/// is built from them: a corrupt or hostile file must not make the program allocate without
/// bound or panic on a shape mismatch.
fn check_sizes(info: &ModelInfo) -> Result<(), String> {
    use crate::limits::{MAX_MODEL_BLOCKS, MAX_MODEL_CLASSES, MAX_MODEL_PARAMS, MAX_MODEL_WIDTH};
    let (enc, p) = (&info.net.encoder, &info.predictor);
    let (mel, seq) = (&info.net.mel_decoder, &info.net.seq_decoder);
    let widths = [("encoder.stem_channels", enc.stem_channels)]
        .into_iter()
        .chain(enc.planes.iter().map(|&w| ("encoder.planes", w)))
        .chain([
            ("encoder.embed_dim", enc.embed_dim),
            ("mel_decoder.embed_dim", mel.embed_dim),
            ("seq_decoder.embed_dim", seq.embed_dim),
            ("predictor.embed_dim", p.embed_dim),
            ("predictor.expand", p.expand),
            ("predictor.squeeze", p.squeeze),
        ])
        .chain(mel.widths.iter().map(|&w| ("mel_decoder.widths", w)))
        .chain(seq.widths.iter().map(|&w| ("seq_decoder.widths", w)));
    for (name, w) in widths {
        if !(1..=MAX_MODEL_WIDTH).contains(&w) {
            return Err(format!("{name} is {w}, outside 1–{MAX_MODEL_WIDTH}"));
        }
    }
    let blocks = enc.blocks.iter().map(|&b| ("encoder.blocks", b));
    for (name, b) in blocks.chain([("predictor.blocks", p.blocks)]) {
        if b > MAX_MODEL_BLOCKS {
            return Err(format!("{name} is {b}, more than {MAX_MODEL_BLOCKS}"));
        }
    }
    if !(1..=MAX_MODEL_CLASSES).contains(&p.classes) {
        return Err(format!(
            "predictor.classes is {}, outside 1–{MAX_MODEL_CLASSES}",
            p.classes
        ));
    }
    for (name, d) in [
        ("predictor", p.embed_dim),
        ("mel_decoder", mel.embed_dim),
        ("seq_decoder", seq.embed_dim),
    ] {
        if d != enc.embed_dim {
            return Err(format!(
                "{name}.embed_dim is {d}, the encoder's is {}",
                enc.embed_dim
            ));
        }
    }
    if ![0, super::features::MUSIC_FEATURES].contains(&p.features) {
        return Err(format!("predictor.features is {}", p.features));
    }
    if ![0, super::features::CANDIDATE_FEATURES].contains(&p.candidates) {
        return Err(format!("predictor.candidates is {}", p.candidates));
    }
    if let Some(c) = &info.prior_correction
        && c.log_prior.len() != p.classes
    {
        return Err(format!(
            "prior_correction has {} entries for {} classes",
            c.log_prior.len(),
            p.classes
        ));
    }
    check_combination(info)?;
    let params = [
        ("encoder", encoder_params(enc)),
        ("predictor", predictor_params(p)),
    ];
    for (name, n) in params {
        if n > MAX_MODEL_PARAMS {
            return Err(format!(
                "the {name} would have about {n} parameters, more than {MAX_MODEL_PARAMS}"
            ));
        }
    }
    Ok(())
}

/// Largest fitted weight a `model.json` may hold (calibration tries at most 12).
const MAX_FITTED_WEIGHT: f32 = 100.0;

/// `model.json`'s start prior (sizes those of the K classes, weight as the fitted weights)
/// and variety penalties (factors in (0, 1], a window the decoder allows).
fn check_start_and_variety(info: &ModelInfo) -> Result<(), String> {
    let k = info.predictor.classes;
    if let Some(s) = &info.start_prior {
        let fits = s.all.len() == k
            && s.styles.len() == s.per_style.len()
            && s.styles.len() <= crate::limits::MAX_MODEL_CLASSES
            && s.per_style.iter().all(|r| r.len() == k)
            && s.weight.is_finite()
            && (0.0..=MAX_FITTED_WEIGHT).contains(&s.weight);
        if !fits {
            return Err(format!(
                "start_prior sizes ({} classes, {} styles) or weight {} do not fit {k} classes",
                s.all.len(),
                s.styles.len(),
                s.weight
            ));
        }
    }
    if let Some(v) = &info.variety {
        let factor = |x: f32| x.is_finite() && x > 0.0 && x <= 1.0;
        if !(factor(v.diversity_penalty)
            && factor(v.same_move_penalty)
            && v.window <= crate::limits::MAX_DIVERSITY_WINDOW)
        {
            return Err(format!(
                "variety penalties {} / {} (window {}) outside (0, 1] (window at most {})",
                v.diversity_penalty,
                v.same_move_penalty,
                v.window,
                crate::limits::MAX_DIVERSITY_WINDOW
            ));
        }
    }
    Ok(())
}

/// The fitted weights and the song-level priors of `model.json`: weights finite and within
/// 0–[`MAX_FITTED_WEIGHT`], the music-feature expert's and the style prior's sizes those of
/// the predictor's classes (a corrupt file must not allocate without bound or be indexed out
/// of range when a song is scored).
fn check_combination(info: &ModelInfo) -> Result<(), String> {
    let k = info.predictor.classes;
    let weights = [
        ("matrix_weight", info.matrix_weight),
        ("locked_matrix_weight", info.locked_matrix_weight),
        ("network_weight", info.network_weight),
        ("matrix_smoothing", info.matrix_smoothing),
        ("song_context", info.song_context),
        (
            "style_prior.weight",
            info.style_prior.as_ref().map(|s| s.weight),
        ),
        (
            "style_prior.declared_weight",
            info.style_prior.as_ref().and_then(|s| s.declared_weight),
        ),
        (
            "feature_expert.weight",
            info.feature_expert.as_ref().map(|g| g.weight),
        ),
        (
            "prior_correction.weight",
            info.prior_correction.as_ref().map(|c| c.weight),
        ),
    ];
    for (name, w) in weights {
        if let Some(w) = w
            && !(w.is_finite() && (0.0..=MAX_FITTED_WEIGHT).contains(&w))
        {
            return Err(format!("{name} is {w}, outside 0–{MAX_FITTED_WEIGHT}"));
        }
    }
    check_start_and_variety(info)?;
    if let Some(g) = &info.feature_expert {
        let fits = g.features <= 4 * super::features::MUSIC_FEATURES
            && g.mean.len() == 2 * g.features
            && g.std.len() == 2 * g.features
            && g.weights.len() == k * (2 * g.features + 1);
        if !fits {
            return Err(format!(
                "feature_expert sizes ({} features, {} weights) do not fit {k} classes",
                g.features,
                g.weights.len()
            ));
        }
    }
    if let Some(s) = &info.style_prior {
        let n = s.styles.len();
        let d = s.feature_mean.len();
        let fits = n <= crate::limits::MAX_MODEL_CLASSES
            && s.centroids.len() == n
            && s.centroids.iter().all(|c| c.len() == d)
            && s.feature_std.len() == d
            && s.phrase_given_style.len() == n
            && s.phrase_given_style.iter().all(|r| r.len() == k);
        if !fits {
            return Err(format!(
                "style_prior sizes ({n} styles) do not fit {k} classes"
            ));
        }
    }
    Ok(())
}

/// About how many parameters the encoder of `c` has (an upper estimate).
fn encoder_params(c: &super::encoder::EncoderConfig) -> u64 {
    let mut in_ch = c.stem_channels as u64;
    let mut n = 49 * in_ch;
    for (&planes, &blocks) in c.planes.iter().zip(&c.blocks) {
        let (p, out) = (planes as u64, 4 * planes as u64);
        let block = |i: u64| i * p + 9 * p * p + p * out + i * out;
        n = n.saturating_add((blocks.max(1) as u64).saturating_mul(block(in_ch.max(out))));
        in_ch = out;
    }
    n.saturating_add(in_ch * c.embed_dim as u64)
}

/// About how many parameters the predictor of `c` has (an upper estimate).
fn predictor_params(c: &PredictorConfig) -> u64 {
    let d = (c.embed_dim + c.features) as u64;
    let block = 2 * d * c.expand as u64 + 2 * d * c.squeeze as u64;
    (c.blocks as u64)
        .saturating_mul(block)
        .saturating_add(d.saturating_mul(c.classes as u64))
        .saturating_add((c.classes as u64).saturating_mul(c.candidates as u64 + d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_topk() {
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 2), 1);
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 1), 0);
        assert_eq!(rank_of(&[0.5, 0.5], 0), 1, "a tie counts against");
        let t = topk(&[0, 1, 7, 20]);
        assert_eq!((t.top1, t.top5, t.top10), (0.25, 0.5, 0.75));
    }
}
