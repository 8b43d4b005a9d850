//! Pretext decoders of the self-supervised pretraining (Duan et al. 2020, §3.2, appendix
//! Tables 4 and 5): D1 reconstructs the 128×128 mel image from `u`, D2 regresses the main
//! melody and D3 the rhythm (binary, sigmoid) from `f_t`, each at 128 steps. The transposed
//! convolutions and batch norms run through [`super::train_ops`] (burn's layers and records,
//! backward passes written for the CPU backend).

use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use super::train_ops::{batch_norm_relu, conv_transpose1d, conv_transpose2d};

/// Configuration of D1 (Table 4): 8 transposed 2-D convolutions, kernel/stride/padding
/// 4/1/0, 4/2/1, 4/2/1, 4/2/1, 3/1/1, 4/2/1, 3/1/1, 4/2/1 (1 → 4 → 8 → 16 → 32 → 32 → 64 → 64
/// → 128), BN + ReLU between.
#[derive(Config, Debug, PartialEq)]
pub struct MelDecoderConfig {
    /// Length of `u`.
    pub embed_dim: usize,
    /// Filters of layers 1–7 (layer 8 has one).
    pub widths: [usize; 7],
}

impl MelDecoderConfig {
    /// Table 4: 512, 512, 256, 256, 128, 128, 64.
    pub fn paper() -> Self {
        MelDecoderConfig::new(512, [512, 512, 256, 256, 128, 128, 64])
    }

    /// A quarter of the paper's widths (the compact default).
    pub fn compact() -> Self {
        MelDecoderConfig::new(512, [128, 128, 64, 64, 32, 32, 16])
    }

    /// Builds D1 on `device`.
    pub fn init(&self, device: &Device) -> MelDecoder {
        const KSP: [(usize, usize, usize); 8] = [
            (4, 1, 0),
            (4, 2, 1),
            (4, 2, 1),
            (4, 2, 1),
            (3, 1, 1),
            (4, 2, 1),
            (3, 1, 1),
            (4, 2, 1),
        ];
        let mut layers = Vec::with_capacity(7);
        let mut norms = Vec::with_capacity(7);
        let mut in_ch = self.embed_dim;
        for (i, &w) in self.widths.iter().enumerate() {
            let (k, s, p) = KSP[i];
            layers.push(
                ConvTranspose2dConfig::new([in_ch, w], [k, k])
                    .with_stride([s, s])
                    .with_padding([p, p])
                    .with_bias(false)
                    .init(device),
            );
            norms.push(BatchNormConfig::new(w).init(device));
            in_ch = w;
        }
        let (k, s, p) = KSP[7];
        MelDecoder {
            layers,
            norms,
            output: ConvTranspose2dConfig::new([in_ch, 1], [k, k])
                .with_stride([s, s])
                .with_padding([p, p])
                .init(device),
        }
    }
}

/// D1: `u` → mel image.
#[derive(Module, Debug)]
pub struct MelDecoder {
    layers: Vec<ConvTranspose2d>,
    norms: Vec<BatchNorm>,
    output: ConvTranspose2d,
}

impl MelDecoder {
    /// `[batch, 512]` → `[batch, 1, 128, 128]` (same layout as the encoder input).
    pub fn forward(&self, u: Tensor<2>) -> Tensor<4> {
        let [b, c] = u.dims();
        let mut x = u.reshape([b, c, 1, 1]); // [b, 512, 1, 1]
        for (layer, norm) in self.layers.iter().zip(&self.norms) {
            x = batch_norm_relu(norm, conv_transpose2d(layer, x)); // [b, 512, 4, 4] … [b, 64, 64, 64]
        }
        conv_transpose2d(&self.output, x) // [b, 1, 128, 128]
    }
}

/// Configuration of D2/D3 (Table 5): transposed 1-D convolutions of kernel 2, stride 2 with
/// ReLU (4 → 8 → 16 → 32 → 64 → 128 steps), then a 1×1 convolution to one channel.
#[derive(Config, Debug, PartialEq)]
pub struct SeqDecoderConfig {
    /// Channels of `f_t`.
    pub embed_dim: usize,
    /// Filters of the transposed convolutions.
    pub widths: [usize; 5],
}

impl SeqDecoderConfig {
    /// Table 5: 512, 256, 128, 64, 32 (used by both configurations: it is cheap).
    pub fn paper() -> Self {
        SeqDecoderConfig::new(512, [512, 256, 128, 64, 32])
    }

    /// Builds D2 or D3 on `device`.
    pub fn init(&self, device: &Device) -> SeqDecoder {
        let mut in_ch = self.embed_dim;
        let mut layers = Vec::with_capacity(5);
        for &w in &self.widths {
            layers.push(
                ConvTranspose1dConfig::new([in_ch, w], 2)
                    .with_stride(2)
                    .init(device),
            );
            in_ch = w;
        }
        SeqDecoder {
            layers,
            output: Conv1dConfig::new(in_ch, 1, 1).init(device),
        }
    }
}

/// D2 (melody) or D3 (rhythm).
#[derive(Module, Debug)]
pub struct SeqDecoder {
    layers: Vec<ConvTranspose1d>,
    output: Conv1d,
}

impl SeqDecoder {
    /// `f_t` `[batch, 512, 4]` → `[batch, 128]` (raw values: the melody, or the rhythm
    /// logits; see [`SeqDecoder::rhythm`]).
    pub fn forward(&self, feature: Tensor<3>) -> Tensor<2> {
        let mut x = feature;
        for layer in &self.layers {
            x = relu(conv_transpose1d(layer, x)); // [b, 512, 8] … [b, 32, 128]
        }
        self.output.forward(x).squeeze_dim(1) // [b, 128]
    }

    /// D3's output with its sigmoid: rhythm probabilities `[batch, 128]`.
    pub fn rhythm(&self, feature: Tensor<3>) -> Tensor<2> {
        sigmoid(self.forward(feature))
    }
}
