//! Predictor T (Duan et al. 2020, §3.3, appendix Table 6 and Fig. 6): Linear(512, 512), three
//! residual attention blocks, Linear(512, K). A block is an MLP (512 → 1024 → 512) whose
//! output is gated channel-wise by a squeeze-and-excitation branch (512 → 16 → 512, sigmoid)
//! and added to the block input (SENet without the global pooling, applied to an FC layer).
//!
//! Two extensions, both off in configurations that predate them (their widths default to 0):
//! the input may carry music features beside `u` ([`PredictorConfig::features`]), and the
//! output layer may be the candidate-aware [`CandidateHead`] instead of Linear(512, K).

use burn::module::Param;
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
    /// Music features appended to `u` ([`super::features::MUSIC_FEATURES`]; 0 in models
    /// that predate them).
    #[config(default = 0)]
    pub features: usize,
    /// Width of the candidate features of [`CandidateHead`]; 0 = the paper's plain output
    /// layer.
    #[config(default = 0)]
    pub candidates: usize,
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

    /// This configuration with the music features and the candidate-aware head on (the
    /// default for new models).
    pub fn with_extensions(self) -> Self {
        self.with_features(super::features::MUSIC_FEATURES)
            .with_candidates(super::features::CANDIDATE_FEATURES)
    }

    /// Width of T's input: `u` plus the music features.
    pub fn input_width(&self) -> usize {
        self.embed_dim + self.features
    }

    /// Builds T on `device`; a candidate-aware head starts with all-zero candidate features
    /// (loading weights or [`Predictor::with_candidates`] sets them).
    pub fn init(&self, device: &Device) -> Predictor {
        let block = ResAttConfig::new(self.embed_dim, self.expand, self.squeeze, self.attention);
        let (output, head) = if self.candidates == 0 {
            (
                Some(LinearConfig::new(self.embed_dim, self.classes).init(device)),
                None,
            )
        } else {
            (None, Some(self.head(device)))
        };
        Predictor {
            input: LinearConfig::new(self.input_width(), self.embed_dim).init(device),
            blocks: (0..self.blocks).map(|_| block.init(device)).collect(),
            output,
            head,
        }
    }

    fn head(&self, device: &Device) -> CandidateHead {
        let (k, d, c) = (self.classes, self.embed_dim, self.candidates);
        let init = burn::nn::Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        // Small initial weights: the first logits are the bias (see `with_prior`), not noise.
        CandidateHead {
            phrase: init.init([k, d], device),
            bias: burn::nn::Initializer::Zeros.init([k], device),
            proj: LinearConfig::new(c, d)
                .with_bias(false)
                .with_initializer(init.clone())
                .init(device),
            proj_bias: LinearConfig::new(c, 1).with_initializer(init).init(device),
            candidates: Param::from_tensor(Tensor::zeros([k, c], device)).set_require_grad(false),
        }
    }
}

/// Candidate-aware output layer: the logit of library phrase `j` for hidden music state `h` is
/// `h · (e_j + P c_j) + b_j + q · c_j`, where `c_j` are the phrase's motion features
/// ([`super::features::candidate_features`]), `e_j`, `b_j` a learned per-phrase embedding and
/// bias, and `P`, `q` shared. A phrase with few labels borrows `P c_j` from phrases with
/// similar features; one with no label at all (`e_j = 0`, `b_j = 0`) is still scored. This is
/// the factorised ("two-tower") form of Linear(512, K), which it reduces to when `c = 0`.
#[derive(Module, Debug)]
pub struct CandidateHead {
    /// `e`: `[K, d]`.
    phrase: Param<Tensor<2>>,
    /// `b`: `[K]`.
    bias: Param<Tensor<1>>,
    /// `P`: C → d.
    proj: Linear,
    /// `q` (and a shared offset): C → 1.
    proj_bias: Linear,
    /// `c`: `[K, C]`, constant (not trained).
    candidates: Param<Tensor<2>>,
}

impl CandidateHead {
    /// `[batch, d]` → logits `[batch, K]`.
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        let c = self.candidates.val(); // [K, C]
        let w = self.phrase.val() + self.proj.forward(c.clone()); // [K, d]
        let b = self.bias.val() + self.proj_bias.forward(c).squeeze_dim::<1>(1); // [K]
        h.matmul(w.transpose()) + b.unsqueeze_dim(0) // [b, K]
    }
}

/// Predictor T: `u` (plus music features) → logits over the K dance phrases of the library.
#[derive(Module, Debug)]
pub struct Predictor {
    input: Linear,
    blocks: Vec<ResAtt>,
    /// The paper's Linear(512, K) (models without candidate features).
    output: Option<Linear>,
    /// The candidate-aware head.
    head: Option<CandidateHead>,
}

impl Predictor {
    /// `[batch, 512 + F]` → logits `[batch, K]`.
    pub fn forward(&self, u: Tensor<2>) -> Tensor<2> {
        let mut x = relu(self.input.forward(u)); // [b, 512]
        for block in &self.blocks {
            x = block.forward(x); // [b, 512]
        }
        match (&self.head, &self.output) {
            (Some(head), _) => head.forward(x),  // [b, K]
            (None, Some(out)) => out.forward(x), // [b, K]
            (None, None) => x,
        }
    }

    /// Sets the output bias to `log_prior` (`[K]`, the log of the training labels'
    /// smoothed frequencies, centred): T then starts as the frequency prior and learns what
    /// the music adds to it, and early stopping can keep that start when nothing is learned.
    /// No-op when the length does not fit.
    #[must_use]
    pub fn with_prior(mut self, log_prior: &[f32]) -> Self {
        self.map_bias(log_prior, |_, prior| prior);
        if let Some(out) = self.output.as_mut() {
            // the paper's layer: shrink its weights too, as the candidate head's are
            out.weight = Param::from_tensor((out.weight.val() * 0.1).detach());
        }
        self
    }

    /// Adds `delta` (`[K]`) to the output bias (logit adjustment after class-balanced
    /// training). No-op when the length does not fit.
    #[must_use]
    pub fn with_bias_added(mut self, delta: &[f32]) -> Self {
        self.map_bias(delta, |bias, d| bias + d);
        self
    }

    /// Replaces the output bias `b` (`[K]`) by `f(b, v)`, `v` given as `values`; no-op when
    /// the lengths differ or there is no output bias.
    fn map_bias(&mut self, values: &[f32], f: impl FnOnce(Tensor<1>, Tensor<1>) -> Tensor<1>) {
        let bias = match (&mut self.head, &mut self.output) {
            (Some(head), _) => Some(&mut head.bias),
            (None, Some(out)) => out.bias.as_mut(),
            (None, None) => None,
        };
        if let Some(bias) = bias {
            let [k] = bias.val().dims();
            if values.len() == k {
                let device = bias.val().device();
                let v = Tensor::<1>::from_data(TensorData::new(values.to_vec(), [k]), &device);
                *bias = Param::from_tensor(f(bias.val(), v).detach());
            }
        }
    }

    /// T for another library: `map[j]` is the old class of new phrase `j` (`None`: a phrase
    /// T has never seen), `candidates` the new library's features `[K', C]`. Known phrases
    /// keep their embedding and bias; new ones get none (`e_j = 0`) and the mean bias, so
    /// they are scored from their motion features alone (cold start without retraining).
    /// `None` when T has no candidate-aware head (the paper's layer cannot score a phrase it
    /// has no output for).
    pub fn for_classes(&self, map: &[Option<usize>], candidates: &[f32]) -> Option<Predictor> {
        let head = self.head.as_ref()?;
        let [k, d] = head.phrase.val().dims();
        let [_, c] = head.candidates.val().dims();
        if candidates.len() != map.len() * c || map.iter().flatten().any(|&i| i >= k) {
            return None;
        }
        let floats = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>().ok();
        let phrase = floats(head.phrase.val())?;
        let bias = head
            .bias
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        let mean_bias = bias.iter().sum::<f32>() / k.max(1) as f32;
        let (mut e, mut b) = (
            Vec::with_capacity(map.len() * d),
            Vec::with_capacity(map.len()),
        );
        for m in map {
            match m {
                Some(i) => {
                    e.extend_from_slice(&phrase[i * d..(i + 1) * d]);
                    b.push(bias[*i]);
                }
                None => {
                    e.extend(std::iter::repeat_n(0.0, d));
                    b.push(mean_bias);
                }
            }
        }
        let device = head.phrase.val().device();
        let n = map.len();
        let new_head = CandidateHead {
            phrase: Param::from_tensor(Tensor::from_data(TensorData::new(e, [n, d]), &device)),
            bias: Param::from_tensor(Tensor::from_data(TensorData::new(b, [n]), &device)),
            proj: head.proj.clone(),
            proj_bias: head.proj_bias.clone(),
            candidates: Param::from_tensor(Tensor::from_data(
                TensorData::new(candidates.to_vec(), [n, c]),
                &device,
            ))
            .set_require_grad(false),
        };
        Some(Predictor {
            input: self.input.clone(),
            blocks: self.blocks.clone(),
            output: None,
            head: Some(new_head),
        })
    }

    /// Sets the candidate features `[K, C]` (row-major) of the candidate-aware head; no-op
    /// without one or when the shape does not fit.
    #[must_use]
    pub fn with_candidates(mut self, features: &[f32]) -> Self {
        if let Some(head) = self.head.as_mut() {
            let [k, c] = head.candidates.val().dims();
            if features.len() == k * c {
                let device = head.candidates.val().device();
                let t = Tensor::<2>::from_data(TensorData::new(features.to_vec(), [k, c]), &device);
                head.candidates = Param::from_tensor(t).set_require_grad(false);
            }
        }
        self
    }
}
