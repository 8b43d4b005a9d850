//! The pretraining network (encoder E with decoders D1–D3) and the losses of Duan et al. 2020
//! (Eq. 1–5).

use super::decoders::{MelDecoder, MelDecoderConfig, SeqDecoder, SeqDecoderConfig};
use super::encoder::{Encoder, EncoderConfig, EncoderOutput};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Which network size: the paper's (ResNet-50 encoder, Table 4 decoder) or the compact
/// default of the same design.
#[derive(Config, Debug, PartialEq)]
pub struct NetConfig {
    /// Encoder E.
    pub encoder: EncoderConfig,
    /// Decoder D1.
    pub mel_decoder: MelDecoderConfig,
    /// Decoders D2 and D3.
    pub seq_decoder: SeqDecoderConfig,
}

impl NetConfig {
    /// The paper's sizes (Tables 3–5).
    pub fn paper() -> Self {
        NetConfig::new(
            EncoderConfig::paper(),
            MelDecoderConfig::paper(),
            SeqDecoderConfig::paper(),
        )
    }

    /// The compact default (see [`EncoderConfig::compact`]).
    pub fn compact() -> Self {
        NetConfig::new(
            EncoderConfig::compact(),
            MelDecoderConfig::compact(),
            SeqDecoderConfig::paper(),
        )
    }

    /// `paper` or `compact`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "paper" => Some(Self::paper()),
            "compact" => Some(Self::compact()),
            _ => None,
        }
    }

    /// Builds E + D1–D3 on `device`.
    pub fn init(&self, device: &Device) -> PretextNet {
        PretextNet {
            encoder: self.encoder.init(device),
            mel: self.mel_decoder.init(device),
            melody: self.seq_decoder.init(device),
            rhythm: self.seq_decoder.init(device),
        }
    }
}

/// Loss weights β1, β2, β3 of Eq. 4 (1, 1, 10 in §3.5).
#[derive(Config, Debug, PartialEq)]
pub struct PretextWeights {
    /// Mel reconstruction (L1).
    #[config(default = 1.0)]
    pub mel: f32,
    /// Melody regression (L1).
    #[config(default = 1.0)]
    pub melody: f32,
    /// Rhythm (BCE).
    #[config(default = 10.0)]
    pub rhythm: f32,
}

/// E + D1 (mel) + D2 (melody) + D3 (rhythm).
#[derive(Module, Debug)]
pub struct PretextNet {
    /// Encoder E.
    pub encoder: Encoder,
    /// D1.
    pub mel: MelDecoder,
    /// D2.
    pub melody: SeqDecoder,
    /// D3.
    pub rhythm: SeqDecoder,
}

/// The three pretext losses of one batch (scalars) and their weighted sum.
#[derive(Debug, Clone)]
pub struct PretextLoss {
    /// β1·L_spe + β2·L_mld + β3·L_rym, `[1]`.
    pub total: Tensor<1>,
    /// L1 of the mel reconstruction, `[1]`.
    pub mel: Tensor<1>,
    /// L1 of the melody, `[1]`.
    pub melody: Tensor<1>,
    /// BCE of the rhythm, `[1]`.
    pub rhythm: Tensor<1>,
}

impl PretextNet {
    /// Decoder outputs for mel images `[b, 1, 128, 128]`: (mel `[b, 1, 128, 128]`, melody
    /// `[b, 128]`, rhythm logits `[b, 128]`).
    pub fn forward(&self, mel: Tensor<4>) -> (Tensor<4>, Tensor<2>, Tensor<2>) {
        let EncoderOutput { feature, embedding } = self.encoder.forward(mel); // [b,512,4], [b,512]
        let rec = self.mel.forward(embedding); // [b, 1, 128, 128]
        let melody = self.melody.forward(feature.clone()); // [b, 128]
        let rhythm = self.rhythm.forward(feature); // [b, 128]
        (rec, melody, rhythm)
    }

    /// Eq. 1–4 on a batch: mel `[b, 1, 128, 128]`, melody `[b, 128]`, rhythm `[b, 128]` in
    /// {0, 1}.
    pub fn loss(
        &self,
        mel: Tensor<4>,
        melody: Tensor<2>,
        rhythm: Tensor<2>,
        w: &PretextWeights,
    ) -> PretextLoss {
        let (rec, mel_hat, rhythm_logits) = self.forward(mel.clone());
        let l_mel = (rec - mel).abs().mean(); // [1]
        let l_melody = (mel_hat - melody).abs().mean(); // [1]
        let l_rhythm = bce_with_logits(rhythm_logits, rhythm); // [1]
        let total =
            l_mel.clone() * w.mel + l_melody.clone() * w.melody + l_rhythm.clone() * w.rhythm;
        PretextLoss {
            total,
            mel: l_mel,
            melody: l_melody,
            rhythm: l_rhythm,
        }
    }
}

/// Mean binary cross-entropy of logits `x` against targets `y` (same shape), in the stable
/// form `max(x, 0) − x·y + ln(1 + e^{−|x|})`.
pub fn bce_with_logits<const D: usize>(x: Tensor<D>, y: Tensor<D>) -> Tensor<1> {
    let pos = x.clone().clamp_min(0.0);
    let soft = x.clone().abs().neg().exp().log1p();
    (pos - x * y + soft).mean()
}

/// Mean cross-entropy (Eq. 5) of logits `[b, K]` against class indices `[b]`, each example
/// weighted by `weights` `[b]` (all ones for the plain loss).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>, weights: Tensor<1>) -> Tensor<1> {
    let [b, _k] = logits.dims();
    let logp = log_softmax(logits, 1); // [b, K]
    let picked: Tensor<1> = logp.gather(1, targets.reshape([b, 1])).squeeze_dim(1); // [b]
    let wsum = weights.clone().sum();
    (picked * weights).sum().neg() / wsum
}
