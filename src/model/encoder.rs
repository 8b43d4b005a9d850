//! Encoder E (Duan et al. 2020, appendix A.1, Table 3): a ResNet with bottleneck blocks on the
//! 1×128×128 mel "image" of a music phrase.
//!
//! Layout: the input is `[batch, 1, time, mel]` — height is **time** (128 resized steps) and
//! width the 128 mel bands — so Table 3's `feature` pooling `AdaptiveAvgPool2d(None, 1)`, which
//! keeps the height, keeps time and the "temporal feature" `f_t` really is temporal (4 steps of
//! 32 phrase steps each).
//!
//! The 2048 → 512 step that Table 3 leaves implicit: the table prints `Conv_6` as "2048×1×1"
//! but gives `f_t` 512 channels. `Conv_6` is read as a 1×1 convolution (with bias, no
//! activation) from `Conv_5`'s 2048 channels to `embed_dim` = 512, applied to the 4×4 map
//! before both poolings — the same reading as the PyTorch reference
//! (`../shared/reference/model_ref.py`), so the two time the same network. `u` is the time
//! average of `f_t`, exactly Table 3's `embedding` pooling `(1, None)` applied to `feature`.
//!
//! The convolutions and batch norms run through [`super::train_ops`]: burn's layers and
//! records, with backward passes written for the CPU backend.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::train_ops::{batch_norm, batch_norm_relu, conv2d};

/// Channel expansion of a bottleneck block (He et al. 2016).
pub const EXPANSION: usize = 4;

/// Configuration of one bottleneck block.
#[derive(Config, Debug)]
pub struct BottleneckConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Planes of the 3×3 convolution (output = `planes · 4`).
    pub planes: usize,
    /// Stride of the block (on the 3×3 convolution, torchvision's ResNet v1.5).
    pub stride: usize,
}

/// Bottleneck block: 1×1 → 3×3/stride → 1×1 (×4), BN after each, identity or 1×1/stride
/// projection shortcut, ReLU after the sum.
#[derive(Module, Debug)]
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    downsample: Option<(Conv2d, BatchNorm)>,
}

impl BottleneckConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> Bottleneck {
        let out = self.planes * EXPANSION;
        let conv = |i: usize, o: usize, k: usize, s: usize| {
            let p = k / 2;
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .init(device)
        };
        let bn = |c: usize| BatchNormConfig::new(c).init(device);
        let downsample = (self.stride != 1 || self.in_channels != out)
            .then(|| (conv(self.in_channels, out, 1, self.stride), bn(out)));
        Bottleneck {
            conv1: conv(self.in_channels, self.planes, 1, 1),
            bn1: bn(self.planes),
            conv2: conv(self.planes, self.planes, 3, self.stride),
            bn2: bn(self.planes),
            conv3: conv(self.planes, out, 1, 1),
            bn3: bn(out),
            downsample,
        }
    }
}

impl Bottleneck {
    /// `[batch, in, h, w]` → `[batch, planes·4, h/stride, w/stride]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.downsample {
            Some((conv, bn)) => batch_norm(bn, conv2d(conv, x.clone())), // [b, 4p, h/s, w/s]
            None => x.clone(),
        };
        let y = batch_norm_relu(&self.bn1, conv2d(&self.conv1, x)); // [b, p, h, w]
        let y = batch_norm_relu(&self.bn2, conv2d(&self.conv2, y)); // [b, p, h/s, w/s]
        let y = batch_norm(&self.bn3, conv2d(&self.conv3, y)); // [b, 4p, h/s, w/s]
        relu(y + identity)
    }
}

/// Configuration of the encoder. [`EncoderConfig::paper`] is Table 3 (ResNet-50);
/// [`EncoderConfig::compact`] is the same design with one narrow block per stage, the default
/// on CPUs.
#[derive(Config, Debug, PartialEq)]
pub struct EncoderConfig {
    /// Filters of the 7×7/2 stem convolution (`Conv_1`).
    pub stem_channels: usize,
    /// Bottleneck planes of `Conv_2` … `Conv_5` (strides 1, 2, 2, 2).
    pub planes: [usize; 4],
    /// Bottleneck blocks per stage.
    pub blocks: [usize; 4],
    /// Filters of the 1×1 `Conv_6`: channels of `f_t` and length of `u` (512 in the paper).
    pub embed_dim: usize,
}

impl EncoderConfig {
    /// Table 3: ResNet-50 (stem 64, planes 64/128/256/512, blocks 3/4/6/3, `Conv_5` output
    /// 2048 channels, `Conv_6` 2048 → 512); 24.55 M parameters like the reference.
    pub fn paper() -> Self {
        EncoderConfig::new(64, [64, 128, 256, 512], [3, 4, 6, 3], 512)
    }

    /// The compact default: stem 16, planes 16/32/64/128 (`Conv_5` output 512), one block per
    /// stage, the same 512-d `f_t`/`u` (0.77 M parameters).
    pub fn compact() -> Self {
        EncoderConfig::new(16, [16, 32, 64, 128], [1, 1, 1, 1], 512)
    }

    /// Builds the encoder on `device` (random initialisation; seed the device first).
    pub fn init(&self, device: &Device) -> Encoder {
        let mut in_ch = self.stem_channels;
        let mut stages = Vec::with_capacity(4);
        for (i, (&planes, &n)) in self.planes.iter().zip(&self.blocks).enumerate() {
            let mut blocks = Vec::with_capacity(n);
            for b in 0..n.max(1) {
                let stride = if i > 0 && b == 0 { 2 } else { 1 };
                blocks.push(BottleneckConfig::new(in_ch, planes, stride).init(device));
                in_ch = planes * EXPANSION;
            }
            stages.push(blocks);
        }
        Encoder {
            stem: Conv2dConfig::new([1, self.stem_channels], [7, 7])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                .with_bias(false)
                .init(device),
            stem_bn: BatchNormConfig::new(self.stem_channels).init(device),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            stages,
            conv6: Conv2dConfig::new([in_ch, self.embed_dim], [1, 1]).init(device),
            feature_pool: AdaptiveAvgPool2dConfig::new([4, 1]).init(),
        }
    }
}

/// Encoder E.
#[derive(Module, Debug)]
pub struct Encoder {
    stem: Conv2d,
    stem_bn: BatchNorm,
    pool: MaxPool2d,
    stages: Vec<Vec<Bottleneck>>,
    conv6: Conv2d,
    feature_pool: AdaptiveAvgPool2d,
}

/// What the encoder returns.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// Temporal feature `f_t`: `[batch, embed_dim, 4]` (Table 3 `feature`, 512×4×1).
    pub feature: Tensor<3>,
    /// Embedding `u`: `[batch, embed_dim]` (Table 3 `embedding`, 512×1×1).
    pub embedding: Tensor<2>,
}

impl Encoder {
    /// Length of the embedding `u` (channels of `Conv_6`).
    pub fn embed_dim(&self) -> usize {
        self.conv6.weight.dims()[0]
    }

    /// The stem and the four bottleneck stages: `[b, 1, 128, 128]` → `[b, 4·planes[3], 4, 4]`.
    pub fn backbone(&self, x: Tensor<4>) -> Tensor<4> {
        let x = batch_norm_relu(&self.stem_bn, conv2d(&self.stem, x)); // [b, stem, 64, 64]
        let mut x = self.pool.forward(x); // [b, stem, 32, 32]
        for stage in &self.stages {
            for block in stage {
                x = block.forward(x); // Conv_2 [b, 4p0, 32, 32] … Conv_5 [b, 4p3, 4, 4]
            }
        }
        x
    }

    /// Output of each stage (`Conv_1` after pooling, `Conv_2` … `Conv_5`), for shape checks.
    pub fn stage_outputs(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let x = batch_norm_relu(&self.stem_bn, conv2d(&self.stem, x));
        let mut x = self.pool.forward(x);
        let mut outs = vec![x.clone()];
        for stage in &self.stages {
            for block in stage {
                x = block.forward(x);
            }
            outs.push(x.clone());
        }
        outs
    }

    /// `[batch, 1, 128 time, 128 mel]` → `f_t` `[batch, 512, 4]` and `u` `[batch, 512]`.
    pub fn forward(&self, x: Tensor<4>) -> EncoderOutput {
        let x = self.backbone(x); // [b, 2048, 4, 4]
        let x = conv2d(&self.conv6, x); // [b, 512, 4, 4]
        let feature: Tensor<3> = self.feature_pool.forward(x).squeeze_dim(3); // [b, 512, 4]
        let embedding: Tensor<2> = feature.clone().mean_dim(2).squeeze_dim(2); // [b, 512]
        EncoderOutput { feature, embedding }
    }
}
