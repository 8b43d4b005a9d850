//! Predictor T (Duan et al. 2020, §3.3, appendix Table 6 and Fig. 6): Linear(512, 512), three
//! residual attention blocks, Linear(512, K). A block is an MLP (512 → 1024 → 512) whose
//! output is gated channel-wise by a squeeze-and-excitation branch (512 → 16 → 512, sigmoid)
//! and added to the block input (SENet without the global pooling, applied to an FC layer).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

/// Configuration of one residual attention block.
#[derive(Config, Debug, PartialEq)]
pub struct ResAttConfig {
    /// Input and output width (512).
    pub width: usize,
    /// Width of the inner layer (1024).
    pub expand: usize,
    /// Width of the squeeze layer (16).
    pub squeeze: usize,
    /// With the SE gate; without it the block is a plain residual MLP (ablation Groups I–II).
    pub attention: bool,
}

impl ResAttConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ResAtt {
        let attention = self.attention.then(|| {
            (
                LinearConfig::new(self.width, self.squeeze).init(device),
                LinearConfig::new(self.squeeze, self.width).init(device),
            )
        });
        ResAtt {
            fc1: LinearConfig::new(self.width, self.expand).init(device),
            fc2: LinearConfig::new(self.expand, self.width).init(device),
            attention,
        }
    }
}

/// Residual attention block ("Res-Att", Fig. 6).
#[derive(Module, Debug)]
pub struct ResAtt {
    fc1: Linear,
    fc2: Linear,
    attention: Option<(Linear, Linear)>,
}

impl ResAtt {
    /// `[batch, 512]` → `[batch, 512]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = self.fc2.forward(relu(self.fc1.forward(x.clone()))); // [b, 512]
        let h = match &self.attention {
            Some((squeeze, excite)) => {
                let s = relu(squeeze.forward(h.clone())); // [b, 16]
                h * sigmoid(excite.forward(s)) // [b, 512]
            }
            None => h,
        };
        relu(h + x)
    }
}

/// Configuration of the predictor.
#[derive(Config, Debug, PartialEq)]
pub struct PredictorConfig {
    /// Length of `u` (512).
    pub embed_dim: usize,
    /// Number of dance phrases K.
    pub classes: usize,
    /// Residual blocks (3 in Table 6).
    #[config(default = 3)]
    pub blocks: usize,
    /// Inner width of a block (1024).
    #[config(default = 1024)]
    pub expand: usize,
    /// Squeeze width of the gate (16).
    #[config(default = 16)]
    pub squeeze: usize,
    /// SE gates on (the paper's "attention" predictor, Groups III–V).
    #[config(default = true)]
    pub attention: bool,
}

impl PredictorConfig {
    /// Table 6 for K classes: inner width 1024 (3.4 M parameters for K = 40).
    pub fn paper(classes: usize) -> Self {
        PredictorConfig::new(512, classes)
    }

    /// The compact default: Table 6 with an inner width of 256 instead of 1024 (1.1 M
    /// parameters for K = 40), so a shipped model stays a few MB.
    pub fn compact(classes: usize) -> Self {
        PredictorConfig::new(512, classes).with_expand(256)
    }

    /// `paper` or `compact`.
    pub fn named(name: &str, classes: usize) -> Option<Self> {
        match name {
            "paper" => Some(Self::paper(classes)),
            "compact" => Some(Self::compact(classes)),
            _ => None,
        }
    }

    /// Builds T on `device`.
    pub fn init(&self, device: &Device) -> Predictor {
        let block = ResAttConfig::new(self.embed_dim, self.expand, self.squeeze, self.attention);
        Predictor {
            input: LinearConfig::new(self.embed_dim, self.embed_dim).init(device),
            blocks: (0..self.blocks).map(|_| block.init(device)).collect(),
            output: LinearConfig::new(self.embed_dim, self.classes).init(device),
        }
    }
}

/// Predictor T: `u` → logits over the K dance phrases of the library.
#[derive(Module, Debug)]
pub struct Predictor {
    input: Linear,
    blocks: Vec<ResAtt>,
    output: Linear,
}

impl Predictor {
    /// `[batch, 512]` → logits `[batch, K]`.
    pub fn forward(&self, u: Tensor<2>) -> Tensor<2> {
        let mut x = relu(self.input.forward(u)); // [b, 512]
        for block in &self.blocks {
            x = block.forward(x); // [b, 512]
        }
        self.output.forward(x) // [b, K]
    }
}
