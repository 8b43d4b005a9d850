//! Layer 2: the network of Duan et al. 2020 in burn — encoder E, pretext decoders D1–D3,
//! predictor T, the transition matrix M and the co-ascent loop — with its data, training
//! loops, model folder and evaluation.
//!
//! * [`encoder`]: E, a bottleneck ResNet on the 128×128 phrase mel (Table 3); the paper's
//!   ResNet-50 and a compact default of the same design.
//! * [`decoders`]: D1 (mel, Table 4), D2/D3 (melody, rhythm, Table 5).
//! * [`predictor`]: T with residual SE-attention blocks (Table 6).
//! * [`net`]: E + D1–D3 and the losses (Eq. 1–5).
//! * [`transition`]: M, its style prior, Eq. 6 re-scoring and the Algorithm 1 update.
//! * [`features`]: music features per phrase and motion features per candidate, beside the
//!   learned embeddings.
//! * [`style`]: the song's style inferred from its music, as a prior over the phrases.
//! * [`data`]: labeled / unlabeled songs → per-phrase inputs and targets, cached on disk.
//! * [`heap`]: glibc's allocator set to keep training's large buffers while it runs.
//! * [`train`]: pretraining, embedding cache, predictor training, co-ascent; checkpoints.
//! * [`folder`]: the model folder (weights + config + M + library fingerprint), the scorer
//!   entry point [`PhraseModel`], evaluation (top-k with and without M).
//!
//! burn 0.22 has no backend type parameter: tensors carry their backend in their
//! [`Device`](burn::tensor::Device), so "generic over the backend" means every function takes
//! a device; [`default_device`] picks `flex` (CPU), `Device::wgpu(..)` is one argument away.
//! Training runs on `device.autodiff()`.

pub mod data;
pub mod decoders;
pub mod encoder;
pub mod evaluation;
pub mod feature_expert;
pub mod features;
pub mod folder;
pub mod heap;
pub mod kernels;
pub mod net;
pub mod predictor;
pub mod style;
pub mod train;
pub mod train_ops;
pub mod transition;

pub use data::{LabeledSongData, PhraseSample, SongSamples, Split};
pub use encoder::{Encoder, EncoderConfig};
pub use folder::{EmbedNorm, EvalReport, MODEL_SCHEMA, ModelInfo, PhraseModel, TopK};
pub use net::{NetConfig, PretextNet};
pub use predictor::{Predictor, PredictorConfig};
pub use transition::Transitions;

use std::path::PathBuf;

/// Errors of the model layer; every message names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Reading or writing a file failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        err: std::io::Error,
    },
    /// A JSON file is malformed.
    #[error("{path}: {err}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        err: serde_json::Error,
    },
    /// Weights could not be saved or loaded.
    #[error("{path}: weights: {msg}")]
    Record {
        /// What went wrong.
        msg: String,
        /// The file.
        path: PathBuf,
    },
    /// Training data could not be prepared.
    #[error("{path}: {msg}")]
    Data {
        /// What went wrong.
        msg: String,
        /// The file.
        path: PathBuf,
    },
    /// The model folder was trained for another motion library.
    #[error(
        "{path}: the model was trained for library `{model_library}` (fingerprint {model_fp}), \
         not for this one (fingerprint {library_fp}); retrain it with `phrasewise train`"
    )]
    WrongLibrary {
        /// Library name in the model folder.
        model_library: String,
        /// Fingerprint in the model folder.
        model_fp: String,
        /// Fingerprint of the library in use.
        library_fp: String,
        /// The model folder.
        path: PathBuf,
    },
    /// A labels file could not be read (the error names it).
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelsError),
    /// A configuration or argument is unusable.
    #[error("{path}: {msg}")]
    Invalid {
        /// What is wrong.
        msg: String,
        /// The file or folder concerned.
        path: PathBuf,
    },
}

impl From<crate::files::FileError> for ModelError {
    fn from(e: crate::files::FileError) -> ModelError {
        use crate::files::FileError;
        match e {
            FileError::Io { path, err } => ModelError::Io { path, err },
            FileError::Json { path, err } => ModelError::Json { path, err },
            FileError::NotAFile { path } => ModelError::Data {
                msg: "not a file path".into(),
                path,
            },
        }
    }
}

impl ModelError {
    pub(crate) fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        ModelError::Io {
            path: path.to_path_buf(),
            err,
        }
    }
}

/// The CPU device (`flex`, SIMD kernels, rayon threads).
pub fn default_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}

/// A device by name: `flex` (CPU, the default) or `wgpu` (the default GPU adapter; on a
/// machine without a GPU, a CPU Vulkan driver such as lavapipe if installed). `wgpu` exists
/// only in builds with the `gpu` feature.
pub fn device_named(name: &str) -> Option<burn::tensor::Device> {
    match name {
        "flex" | "cpu" => Some(default_device()),
        #[cfg(feature = "gpu")]
        "wgpu" | "gpu" => Some(burn::tensor::Device::wgpu(Default::default())),
        _ => None,
    }
}

/// Whether this build has the GPU backend (the `gpu` feature).
pub const HAS_GPU_BACKEND: bool = cfg!(feature = "gpu");

#[cfg(test)]
mod tests;
