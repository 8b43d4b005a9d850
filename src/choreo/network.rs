//! The trained network as the ranking's scorer: `F(u_t)` of the paper's predictor for every
//! music phrase (Duan et al. 2020, Eq. 5), as log-probabilities over the K library phrases.
//!
//! The network needs the audio (the encoder reads each phrase's 128×128 mel image), so its
//! scores are computed once per song (and again after a re-cut of the phrases) and handed to
//! the engine as a [`PrecomputedScorer`]; the transition part stays the engine's own matrix.
//!
//! The default model (`assets/model/`, trained for the embedded starter library) is compiled
//! into the binary and unpacked to the cache folder on first use.

use std::path::{Path, PathBuf};

use super::ChoreoError;
use super::project::library_fingerprint;
use super::score::Scorer;
use super::transition::{MIN_WEIGHT, OTHER_STYLE, REPEAT, SAME_STYLE, TransitionMatrix};
use crate::analysis::SongAnalysis;
use crate::model::PhraseModel;
use crate::model::data::Decoded;
use crate::motion::library::LibraryIndex;

/// Scores computed elsewhere (the network), row-major T×K log-scores.
#[derive(Debug, Clone)]
pub struct PrecomputedScorer {
    /// Model id stored in projects.
    pub id: String,
    /// T×K log-scores.
    pub scores: Vec<f32>,
    /// K.
    pub k: usize,
    /// The model's learned transition matrix in library order (`None`: the library's style
    /// blocks, as for cold start).
    pub matrix: Option<TransitionMatrix>,
    /// The dance styles the model learnt (a declared style must be one of them to count;
    /// empty: cold start, or a model whose labels named no styles).
    pub styles: Vec<String>,
    /// The variety penalties fitted on the model's labels (`None`: the program's defaults).
    pub variety: Option<crate::model::evaluation::VarietyFit>,
}

impl PrecomputedScorer {
    /// The decode settings of a ranking: `requested` when the caller chose some (`--variety
    /// on|off`), else the model's variety penalties fitted on its labels, else the program's
    /// defaults.
    pub fn decode_settings(
        &self,
        requested: Option<&super::DecodeSettings>,
    ) -> super::DecodeSettings {
        requested.map_or_else(
            || Variety::Model.settings(self.variety.as_ref()),
            Clone::clone,
        )
    }
}

/// Where a ranking's variety penalties come from (`--variety`, the editor's *Edit →
/// Variety*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variety {
    /// The model's, fitted on its labels (`model.json` `variety`), else the program's.
    #[default]
    Model,
    /// The program's defaults.
    On,
    /// None: the plain chain.
    Off,
}

impl Variety {
    /// The decode settings it stands for, given the model's fitted penalties (if any).
    pub fn settings(
        self,
        fitted: Option<&crate::model::evaluation::VarietyFit>,
    ) -> super::DecodeSettings {
        let default = super::DecodeSettings::default();
        match (self, fitted) {
            (Variety::Model, Some(v)) => super::DecodeSettings {
                diversity_window: v.window,
                diversity_penalty: v.diversity_penalty,
                same_move_penalty: v.same_move_penalty,
                ..default
            },
            (Variety::Model | Variety::On, _) => default,
            (Variety::Off, _) => super::DecodeSettings::plain(),
        }
    }

    /// Which choice `settings` are, given the model's fitted penalties: `Model` where they
    /// are the fitted ones (or the defaults without a fit), else `On`/`Off` where they are
    /// those, `None` for anything else (hand-edited).
    pub fn of(
        settings: &super::DecodeSettings,
        fitted: Option<&crate::model::evaluation::VarietyFit>,
    ) -> Option<Variety> {
        [Variety::Model, Variety::On, Variety::Off]
            .into_iter()
            .find(|v| v.settings(fitted) == *settings)
    }
}

impl Scorer for PrecomputedScorer {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn transitions(&self, library: &LibraryIndex) -> Result<TransitionMatrix, ChoreoError> {
        match &self.matrix {
            Some(m) if m.len() == library.phrases.len() => Ok(m.clone()),
            _ => TransitionMatrix::for_library(library),
        }
    }

    fn score(&self, _song: &SongAnalysis, slot: usize, _library: &LibraryIndex) -> Vec<f32> {
        self.scores
            .get(slot * self.k..(slot + 1) * self.k)
            .map_or_else(|| vec![0.0; self.k], <[f32]>::to_vec)
    }

    fn score_all(&self, _song: &SongAnalysis, _library: &LibraryIndex) -> Vec<f32> {
        self.scores.clone()
    }
}

const DEFAULT_FILES: [(&str, &[u8]); 4] = [
    (
        "model.json",
        include_bytes!("../../assets/model/model.json"),
    ),
    (
        "encoder.bpk",
        include_bytes!("../../assets/model/encoder.bpk"),
    ),
    (
        "predictor.bpk",
        include_bytes!("../../assets/model/predictor.bpk"),
    ),
    (
        "transitions.json",
        include_bytes!("../../assets/model/transitions.json"),
    ),
];

/// Folder holding the default model (unpacked from the binary into the cache folder, once
/// per content).
pub fn default_model_dir() -> Result<PathBuf, ChoreoError> {
    let mut h = blake3::Hasher::new();
    for (name, bytes) in DEFAULT_FILES {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    let dir = crate::cache::cache_dir()
        .join("models")
        .join(format!("default-{}", &h.finalize().to_hex()[..16]));
    if !dir.join("model.json").is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| ChoreoError::io(&dir, e))?;
        // model.json last: its presence marks a complete folder.
        for (name, bytes) in DEFAULT_FILES.iter().rev() {
            super::project::atomic_write(&dir.join(name), bytes)?;
        }
    }
    Ok(dir)
}

/// The model id stored in projects: `network:<name>@<short hash of model.json>`.
pub fn model_id(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
    let hash = crate::limits::read_file(dir.join("model.json"), crate::limits::MAX_FILE_BYTES)
        .map(|b| blake3::hash(&b).to_hex()[..8].to_string())
        .unwrap_or_default();
    format!("network:{name}@{hash}")
}

/// Says in the log when `model` cannot use the declared `style` (it learnt no styles, or not
/// this one): the music decides then, as without a declared style.
fn warn_unknown_style(model: &PhraseModel, style: &str) {
    match &model.info.style_prior {
        Some(p) if p.declared_prior(style).is_some() => {}
        Some(p) => tracing::warn!(
            "the model knows the dance styles {}; `{style}` is not one of them, so the music \
             decides the style",
            p.styles.join(", ")
        ),
        None => tracing::warn!(
            "the model learnt no dance styles (its labels named none); the declared style \
             `{style}` is not used"
        ),
    }
}

/// Loads the model in `dir` for `index`. A candidate-aware model also loads for a library
/// that gained (or lost) phrases since training, new phrases scored from their motion
/// features ([`PhraseModel::load_adapted`]); any other model trained for another library is
/// an error.
pub fn load_model(dir: &Path, index: &LibraryIndex) -> Result<PhraseModel, ChoreoError> {
    // The model's classes are the library's phrases without the mirrored variants, which
    // take their original's scores (`LibraryIndex::class_phrases`).
    let phrases = index.class_phrases();
    PhraseModel::load_adapted(
        dir,
        (&library_fingerprint(index), &index.name),
        &phrases,
        &crate::model::default_device(),
    )
    .map_err(|e| ChoreoError::Invalid(format!("{e}")))
}

/// Network log-scores (T×K) of the music phrases `spans` of the song at `audio`, in the
/// library's phrase order. `known`: the song as the caller already decoded and analysed it
/// (saves decoding it again when the phrase targets are not cached).
pub fn network_scores(
    model: &PhraseModel,
    audio: &Path,
    spans: &[(f64, f64)],
    index: &LibraryIndex,
    (known, style): (Option<Decoded<'_>>, Option<&str>),
) -> Result<Vec<f32>, ChoreoError> {
    let samples = crate::model::data::song_samples_with(
        audio,
        Some(spans),
        &crate::cache::cache_dir(),
        known,
    )
    .map_err(|e| ChoreoError::Invalid(format!("{e}")))?;
    // The chain's unary terms: F with the model's prior correction.
    let unary = model.chain_scores(&samples.samples, style);
    // Map the model's classes onto the library's phrase order (same fingerprint, so the
    // same set; the order is checked rather than assumed).
    let k = index.phrases.len();
    let pos = class_positions(model, index);
    let mut out = Vec::with_capacity(spans.len() * k);
    for row in &unary {
        for &c in &pos {
            let v = c.and_then(|i| row.get(i)).copied();
            out.push(v.unwrap_or(f32::NEG_INFINITY));
        }
    }
    Ok(out)
}

/// The model's class of each library phrase, in library order: the phrase's own id when the
/// model knows it (models that predate `class_phrases` have the mirrors as classes), else
/// the original a mirrored variant copies; `None` for a phrase the model does not know.
fn class_positions(model: &PhraseModel, index: &LibraryIndex) -> Vec<Option<usize>> {
    let pos: std::collections::HashMap<&str, usize> = model
        .info
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    index
        .phrases
        .iter()
        .map(|p| {
            pos.get(p.id.as_str())
                .or_else(|| p.mirror_of.as_deref().and_then(|o| pos.get(o)))
                .copied()
        })
        .collect()
}

/// The model's M in the library's phrase order, each entry raised to the model's calibrated
/// matrix weight `w` (so the decoder's `log F + log M'` is `log F + w · log M`, the
/// combination the weight was fitted for) and clipped to the decoder's range. A phrase the
/// model does not know gets the style-block default. When the model fitted another weight
/// `w_L` for slots next to a known (locked) one, `M^{w_L}` comes with it
/// ([`TransitionMatrix::with_locked`]).
pub fn model_matrix(
    model: &PhraseModel,
    index: &LibraryIndex,
) -> Result<TransitionMatrix, ChoreoError> {
    let pos = class_positions(model, index);
    let (w, wl) = (
        model.info.matrix_weight(),
        model.info.locked_matrix_weight(),
    );
    let m = weighted_matrix(model, index, &pos, w)?;
    if wl == w {
        return Ok(m);
    }
    m.with_locked(weighted_matrix(model, index, &pos, wl)?)
}

/// The model's M in library order raised to `w` (see [`model_matrix`]).
fn weighted_matrix(
    model: &PhraseModel,
    index: &LibraryIndex,
    pos: &[Option<usize>],
    w: f32,
) -> Result<TransitionMatrix, ChoreoError> {
    let k = index.phrases.len();
    let t = &model.transitions;
    let mut dense = Vec::with_capacity(k * k);
    for (a, pa) in index.phrases.iter().enumerate() {
        for (b, pb) in index.phrases.iter().enumerate() {
            let learned = match (pos[a], pos[b]) {
                (Some(i), Some(j)) if i < t.k && j < t.k => Some(t.get(i, j)),
                _ => None,
            };
            let v = learned.unwrap_or(if a == b {
                REPEAT
            } else if pa.style == pb.style {
                SAME_STYLE
            } else {
                OTHER_STYLE
            });
            let v = if v.is_finite() {
                v.max(1e-12).powf(w)
            } else {
                MIN_WEIGHT
            };
            dense.push(v.clamp(MIN_WEIGHT, 1.0));
        }
    }
    TransitionMatrix::from_dense(k, &dense)
}

/// Where a song's network part comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreSource {
    /// The hand-made feature matcher (any library, no training needed).
    ColdStart,
    /// A trained model folder.
    Model(PathBuf),
    /// The model compiled into the binary (trained for the starter library).
    DefaultModel,
}

impl ScoreSource {
    /// The default for a library: the built-in model for the starter library, cold start for
    /// any other (no model can know it before training).
    pub fn default_for(library_dir: Option<&Path>) -> ScoreSource {
        if library_dir.is_none() {
            ScoreSource::DefaultModel
        } else {
            ScoreSource::ColdStart
        }
    }

    /// Parses a `--model` value: `default`, `cold-start`, or a folder.
    pub fn parse(s: &str) -> ScoreSource {
        match s {
            "default" => ScoreSource::DefaultModel,
            "cold-start" | "coldstart" | "none" => ScoreSource::ColdStart,
            dir => ScoreSource::Model(PathBuf::from(dir)),
        }
    }
}

/// The scores (T×K, library order) and scorer id for the music phrases of `song` (audio at
/// `audio`; `samples`, when the caller has them, its mono samples at the analysis rate, so the
/// network's inputs need no second decode). With a model, the cold-start scorer's hard tempo
/// rule still applies: a phrase that cannot be time-warped to the music within [0.8, 1.25]
/// (and its own comfortable tempo range) stays impossible whatever the network says; and its
/// metre term ([`super::score::metre_cost`]) and beat-clarity term
/// ([`super::score::clarity_costs`], weighted by [`super::score::CLARITY_WEIGHT`]) and break
/// term ([`super::score::apply_breaks`]: calm phrases in a break) are subtracted. `style`: the song's declared dance style ([`super::RankSettings::style`]),
/// which a model with a style prior uses instead of its guess from the music.
pub fn song_scores(
    source: &ScoreSource,
    audio: &Path,
    song: &SongAnalysis,
    samples: Option<&[f32]>,
    index: &LibraryIndex,
    style: Option<&str>,
) -> Result<PrecomputedScorer, ChoreoError> {
    let cold = super::ColdStartScorer::default();
    let cold_scores = cold.score_all(song, index);
    let k = index.phrases.len();
    let dir = match source {
        ScoreSource::ColdStart => {
            if let Some(s) = style {
                tracing::warn!(
                    "the cold-start scorer ranks without dance styles; `{s}` is kept for a \
                     trained model"
                );
            }
            return Ok(PrecomputedScorer {
                id: cold.id(),
                scores: cold_scores,
                k,
                matrix: None,
                styles: Vec::new(),
                variety: None,
            });
        }
        ScoreSource::Model(d) => d.clone(),
        ScoreSource::DefaultModel => default_model_dir()?,
    };
    let model = load_model(&dir, index)?;
    let spans: Vec<(f64, f64)> = song.phrases.iter().map(|p| (p.start, p.end)).collect();
    let known = samples.map(|samples| Decoded {
        analysis: song,
        samples,
    });
    if let Some(s) = style {
        warn_unknown_style(&model, s);
    }
    let mut scores = network_scores(&model, audio, &spans, index, (known, style))?;
    let metre: Vec<f32> = index
        .phrases
        .iter()
        .map(|p| super::score::metre_cost(song.beats_per_bar, p))
        .collect();
    let clarity = super::score::clarity_costs(song, index);
    for (((s, c), m), b) in scores
        .iter_mut()
        .zip(&cold_scores)
        .zip(metre.iter().cycle())
        .zip(&clarity)
    {
        if *c == f32::NEG_INFINITY {
            *s = f32::NEG_INFINITY;
        }
        *s -= m + super::score::CLARITY_WEIGHT * b;
    }
    super::score::apply_breaks(song, index, &mut scores);
    let id = match source {
        ScoreSource::DefaultModel => {
            format!(
                "network:default@{}",
                model_id(&dir).rsplit('@').next().unwrap_or("")
            )
        }
        _ => model_id(&dir),
    };
    let matrix = Some(model_matrix(&model, index)?);
    Ok(PrecomputedScorer {
        id,
        scores,
        k,
        matrix,
        styles: model
            .info
            .style_prior
            .as_ref()
            .map(|p| p.styles.clone())
            .unwrap_or_default(),
        variety: model.info.variety,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choreo::DecodeSettings;

    #[test]
    fn fitted_variety_serves_when_nobody_chose_settings() {
        let mut s = PrecomputedScorer {
            id: "network:x".into(),
            scores: Vec::new(),
            k: 0,
            matrix: None,
            styles: Vec::new(),
            variety: None,
        };
        let default = DecodeSettings::default();
        assert_eq!(s.decode_settings(None), default);
        s.variety = Some(crate::model::evaluation::VarietyFit {
            diversity_penalty: 0.5,
            same_move_penalty: 1.0,
            window: 12,
            mismatch: 0.1,
            mismatch_off: 0.5,
            labels: Default::default(),
            decoded: Default::default(),
            phrases: 50,
        });
        let fitted = s.decode_settings(None);
        assert_eq!(
            (
                fitted.diversity_penalty,
                fitted.same_move_penalty,
                fitted.diversity_window
            ),
            (0.5, 1.0, 12)
        );
        assert_eq!(fitted.beam_width, default.beam_width);
        // asked for explicitly (`--variety off`, `--variety on`): kept
        assert_eq!(
            s.decode_settings(Some(&DecodeSettings::plain())),
            DecodeSettings::plain()
        );
        assert_eq!(s.decode_settings(Some(&default)), default);
        // which choice a project's settings are
        let fit = s.variety.as_ref();
        assert_eq!(Variety::of(&fitted, fit), Some(Variety::Model));
        assert_eq!(Variety::of(&default, fit), Some(Variety::On));
        assert_eq!(
            Variety::of(&DecodeSettings::plain(), fit),
            Some(Variety::Off)
        );
        assert_eq!(Variety::of(&default, None), Some(Variety::Model));
        let odd = DecodeSettings {
            diversity_penalty: 0.7,
            ..default
        };
        assert_eq!(Variety::of(&odd, fit), None);
    }
}
