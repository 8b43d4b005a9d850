//! The layers of E and D1–D3 for training on the CPU: burn's `Conv2d`, `ConvTranspose2d`,
//! `ConvTranspose1d` and `BatchNorm` (same parameters, same records, same results up to float
//! rounding) with backward passes written for the `flex` backend.
//!
//! Why: burn 0.22's `flex` backend takes a convolution's weight gradient as a convolution of
//! the input by the output gradient — a kernel as large as the feature map, whose im2col
//! copies the input once per kernel position — and its batch norm transposes every activation
//! twice forward and twice backward; in a compact pretraining step that was more than half of
//! the time. Here:
//!
//! * a convolution's weight gradient is one GEMM: with `cols = im2col(x)`
//!   `[ci·k·k, b·ho·wo]` and the output gradient `g` as `[co, b·ho·wo]`, `dW = g·colsᵀ`;
//!   its input gradient is the col2im of `Wᵀ·g` (its forward pass is flex's, but for the
//!   strided 1×1 layers: one GEMM over the batch);
//! * a transposed convolution is the adjoint of a convolution: the im2col of its *output*
//!   gradient gives both its weight gradient (`x·colsᵀ`) and its input gradient (`W·cols`)
//!   (its forward pass is flex's, but for one-row inputs: col2im of one GEMM over the batch);
//! * batch norm runs per-channel loops over the `[b, c, h·w]` layout ([`super::kernels`]).
//!
//! The backward passes work on batch chunks whose im2col matrices stay under 16 MiB (so they
//! come from the heap kept for training, [`super::heap`], not from fresh mappings), a
//! multiple of the rayon threads in number, the chunks side by side.
//!
//! The layers go through a burn backend extension ([`TrainOps`]) with hand-written backward
//! steps for `Autodiff<Flex>`. On another device (wgpu), another dtype or a layer shape it
//! does not cover (groups, dilation, `Same` padding, output padding), a layer runs its module's
//! own `forward`.

use super::kernels::{self, BnSpec, Patches};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::ops::{ConvOptions, ConvTransposeOptions, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, DispatchDevice, backend_extension};
use burn::nn::conv::{Conv2d, ConvTranspose1d, ConvTranspose2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::{DType, Shape};
use rayon::prelude::*;

/// Training layers whose backward pass is written for the `flex` backend.
#[backend_extension(Autodiff, Flex)]
pub trait TrainOps: burn::backend::Backend {
    /// Convolution without bias: `x` `[b, ci, h, w]`, `weight` `[co, ci, k0, k1]` →
    /// `[b, co, ho, wo]`.
    fn train_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Transposed convolution without bias: `x` `[b, ci, h, w]`, `weight` `[ci, co, k0, k1]` →
    /// `[b, co, (h−1)·s0 + k0 − 2·p0, (w−1)·s1 + k1 − 2·p1]`.
    fn train_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self>;

    /// Batch norm of `x` `[b, c, h, w]` with its batch statistics `stats` `[2, c]` (means,
    /// biased variances; a constant input, computed from `x`), followed by a ReLU if `relu`:
    /// `[b, c, h, w]`. The backward pass includes the statistics' dependence on `x`.
    fn train_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self>;
}

impl TrainOps for Flex {
    fn train_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        // flex's per-sample GEMMs win on every other layer of E (measured per layer)
        let strided_1x1 = dims4(&weight)[2..] == [1, 1] && options.stride != [1, 1];
        if options.groups != 1 || options.dilation != [1, 1] || !strided_1x1 {
            return Flex::conv2d(x, weight, None, options);
        }
        conv2d_forward(x, &weight, &options)
    }

    fn train_conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        options: ConvTransposeOptions<2>,
    ) -> FlexTensor {
        // one input row (D2/D3, D1's first layer): flex's per-sample GEMMs have ≤ 64 columns
        let one_row = dims4(&x)[2] == 1;
        if options.groups != 1
            || options.dilation != [1, 1]
            || options.padding_out != [0, 0]
            || !one_row
        {
            return Flex::conv_transpose2d(x, weight, None, options);
        }
        conv_transpose2d_forward(x, &weight, &options)
    }

    fn train_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stats: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> FlexTensor {
        let (x, dims) = planar(x);
        let y = kernels::bn_forward(
            x.storage::<f32>(),
            dims,
            stats.to_contiguous().storage::<f32>(),
            gamma.to_contiguous().storage::<f32>(),
            beta.to_contiguous().storage::<f32>(),
            BnSpec { eps: epsilon, relu },
        );
        from_vec(y, x.layout().shape().clone())
    }
}

/// Backward step of [`TrainOps::train_conv2d`].
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 2> for Conv2dBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, ck: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad: FlexTensor = grads.consume::<Flex>(&ops.node);
        let (x_id, w_id, options) = ops.state;
        let x: FlexTensor = ck.retrieve_node_output(x_id);
        let weight: FlexTensor = ck.retrieve_node_output(w_id);
        let want = [node_x.is_some(), node_w.is_some()];
        let (gx, gw) = conv2d_grads(x, &weight, grad, &options, want);
        if let (Some(node), Some(gx)) = (node_x, gx) {
            grads.register::<Flex>(node.id, gx);
        }
        if let (Some(node), Some(gw)) = (node_w, gw) {
            grads.register::<Flex>(node.id, gw);
        }
    }
}

/// Backward step of [`TrainOps::train_conv_transpose2d`].
#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 2> for ConvTranspose2dBackward {
    type State = (NodeId, NodeId, ConvTransposeOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, ck: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad: FlexTensor = grads.consume::<Flex>(&ops.node);
        let (x_id, w_id, options) = ops.state;
        let x: FlexTensor = ck.retrieve_node_output(x_id);
        let weight: FlexTensor = ck.retrieve_node_output(w_id);
        let want = [node_x.is_some(), node_w.is_some()];
        let (gx, gw) = conv_transpose2d_grads(x, weight, grad, &options, want);
        if let (Some(node), Some(gx)) = (node_x, gx) {
            grads.register::<Flex>(node.id, gx);
        }
        if let (Some(node), Some(gw)) = (node_w, gw) {
            grads.register::<Flex>(node.id, gw);
        }
    }
}

/// Backward step of [`TrainOps::train_batch_norm`] (no gradient for the statistics).
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 4> for BatchNormBackward {
    type State = ([NodeId; 4], BnSpec);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, ck: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta, _] = ops.parents;
        let grad: FlexTensor = grads.consume::<Flex>(&ops.node);
        let ([x_id, gamma_id, beta_id, stats_id], spec) = ops.state;
        let (x, dims) = planar(ck.retrieve_node_output::<FlexTensor>(x_id));
        let [gamma, beta, stats] = [gamma_id, beta_id, stats_id]
            .map(|id| ck.retrieve_node_output::<FlexTensor>(id).to_contiguous());
        let grad = grad.to_contiguous();
        let (dx, dgamma, dbeta) = kernels::bn_backward(
            x.storage::<f32>(),
            grad.storage::<f32>(),
            dims,
            stats.storage::<f32>(),
            (gamma.storage::<f32>(), beta.storage::<f32>()),
            spec,
        );
        let c = dims[1];
        for (node, g, shape) in [
            (node_x, dx, x.layout().shape().clone()),
            (node_gamma, dgamma, Shape::new([c])),
            (node_beta, dbeta, Shape::new([c])),
        ] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, from_vec(g, shape));
            }
        }
    }
}

impl<C: CheckpointStrategy> TrainOps for Autodiff<Flex, C> {
    fn train_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let out = Flex::train_conv2d(x.into_primitive(), weight.into_primitive(), options);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::train_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn train_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvTranspose2dBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let (x, w) = (x.into_primitive(), weight.into_primitive());
                prep.finish(state, Flex::train_conv_transpose2d(x, w, options))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::train_conv_transpose2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn train_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node(), beta.node(), stats.node()];
        let run = |x: FloatTensor<Self>,
                   gamma: FloatTensor<Self>,
                   beta: FloatTensor<Self>,
                   stats: FloatTensor<Self>| {
            Flex::train_batch_norm(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                stats.into_primitive(),
                epsilon,
                relu,
            )
        };
        match BatchNormBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let ids = [&x, &gamma, &beta, &stats].map(|t| prep.checkpoint(t));
                let state = (ids, BnSpec { eps: epsilon, relu });
                prep.finish(state, run(x, gamma, beta, stats))
            }
            OpsKind::UnTracked(prep) => prep.finish(run(x, gamma, beta, stats)),
        }
    }
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

/// A contiguous `[b, c, h, w]` tensor and its `[b, c, h·w]` dimensions.
fn planar(t: FlexTensor) -> (FlexTensor, [usize; 3]) {
    let [b, c, h, w] = dims4(&t);
    (t.to_contiguous(), [b, c, h * w])
}

fn from_vec(v: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// `[rows, cols]` as a flex matrix.
fn matrix(v: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    from_vec(v, Shape::new([rows, cols]))
}

/// The sum `Σ cols · mᵀ` over the batch chunks (`[k, r]`) transposed and reshaped to `shape`
/// (`[r, …]`); zeros for an empty batch. The product is taken in this orientation because
/// gemm runs a long reduction over row-major operands several times faster than over a
/// transposed one.
fn weight_grad(acc: Option<FlexTensor>, shape: [usize; 4]) -> FlexTensor {
    match acc {
        Some(t) => Flex::float_reshape(Flex::float_transpose(t), Shape::new(shape)),
        None => from_vec(vec![0.0; shape.iter().product()], Shape::new(shape)),
    }
}

/// Output length of a convolution along one axis: `len` with `pad` zeros before and after,
/// kernel `k`, stride `s` (0 when the kernel does not fit).
fn conv_len(len: usize, k: usize, s: usize, (before, after): (usize, usize)) -> usize {
    (len + before + after)
        .checked_sub(k)
        .map_or(0, |n| n / s.max(1) + 1)
}

/// A convolution (no bias, groups 1, dilation 1): per batch chunk one GEMM
/// `W [co, ci·k0·k1] · im2col(x) [ci·k0·k1, n·ho·wo]`, laid back out as `[n, co, ho, wo]`.
/// Used for E's strided 1×1 (downsampling) convolutions, where flex's strided gather and
/// per-sample GEMMs took 3.5× as long (64 → 128 channels at 32×32, batch 16: 5.5 against
/// 1.6 ms); on E's other layers flex's own was as fast or faster, so they keep it.
fn conv2d_forward(x: FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    let [co, ci, k0, k1] = dims4(weight);
    let [b, _, h, w] = dims4(&x);
    let ho = conv_len(h, k0, options.stride[0], options.padding[0]);
    let wo = conv_len(w, k1, options.stride[1], options.padding[1]);
    let g = Patches {
        src: [b, ci, h, w],
        kernel: [k0, k1],
        stride: options.stride,
        pad: options.padding_begin(),
        out: [ho, wo],
    };
    let x = x.to_contiguous();
    let xs = x.storage::<f32>();
    let wm = Flex::float_reshape(weight.clone(), Shape::new([co, ci * k0 * k1]));
    let mut out = vec![0.0f32; b * co * ho * wo];
    for r in kernels::batch_chunks(b, g.rows() * ho * wo, 1) {
        let n = r.len();
        let part = Patches {
            src: [n, ci, h, w],
            ..g
        };
        let src = &xs[r.start * ci * h * w..r.end * ci * h * w];
        let cols = matrix(kernels::im2col(src, part), part.rows(), part.cols()); // [ci·k0·k1, n·ho·wo]
        let y = Flex::float_matmul(wm.clone(), cols).to_contiguous(); // [co, n·ho·wo]
        let dst = &mut out[r.start * co * ho * wo..r.end * co * ho * wo];
        kernels::from_channels_major(y.storage::<f32>(), dst, [n, co, ho * wo]);
    }
    from_vec(out, Shape::new([b, co, ho, wo]))
}

/// A transposed convolution (no bias, groups 1, dilation 1, no output padding), the adjoint
/// of a convolution: per batch chunk `Wᵀ [co·k0·k1, ci] · x [ci, n·h·w]`, added back onto
/// the output by [`kernels::col2im_add`]. Used where the input is one row (D2/D3's 1-D
/// layers, D1's first layer from 1×1): flex runs one GEMM per sample with `h·w` ≤ 64 columns,
/// which left gemm's microkernels idle (D2 + D3 forward, batch 16: 16.7 → 5.2 ms). On D1's
/// larger maps flex's own, which adds each sample's columns while they are in cache, was
/// faster.
fn conv_transpose2d_forward(
    x: FlexTensor,
    weight: &FlexTensor,
    options: &ConvTransposeOptions<2>,
) -> FlexTensor {
    let [ci, co, k0, k1] = dims4(weight);
    let [b, _, h, w] = dims4(&x);
    let out_len = |len: usize, k: usize, s: usize, p: usize| {
        (len.saturating_sub(1) * s + k).saturating_sub(2 * p)
    };
    let ho = out_len(h, k0, options.stride[0], options.padding[0]);
    let wo = out_len(w, k1, options.stride[1], options.padding[1]);
    let g = Patches {
        src: [b, co, ho, wo],
        kernel: [k0, k1],
        stride: options.stride,
        pad: options.padding,
        out: [h, w],
    };
    let x = x.to_contiguous();
    let xs = x.storage::<f32>();
    let wt = Flex::float_transpose(Flex::float_reshape(
        weight.clone(),
        Shape::new([ci, co * k0 * k1]),
    )); // [co·k0·k1, ci]
    let mut out = vec![0.0f32; b * co * ho * wo];
    if h * w > 0 {
        for r in kernels::batch_chunks(b, g.rows() * h * w, 1) {
            let n = r.len();
            let part = Patches {
                src: [n, co, ho, wo],
                ..g
            };
            let xm = &xs[r.start * ci * h * w..r.end * ci * h * w];
            let xm = matrix(
                kernels::to_channels_major(xm, [n, ci, h * w]),
                ci,
                n * h * w,
            );
            let cols = Flex::float_matmul(wt.clone(), xm).to_contiguous(); // [co·k0·k1, n·h·w]
            let dst = &mut out[r.start * co * ho * wo..r.end * co * ho * wo];
            kernels::col2im_add(cols.storage::<f32>(), part, dst);
        }
    }
    from_vec(out, Shape::new([b, co, ho, wo]))
}

/// `buf` cut at the sample boundaries of `chunks` (`per` floats a sample), one slice per
/// chunk, so that the chunks can write their parts of it in parallel.
fn split_by_chunks<'a>(
    mut buf: &'a mut [f32],
    chunks: &[std::ops::Range<usize>],
    per: usize,
) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(chunks.len());
    debug_assert!(
        chunks.windows(2).all(|p| p[0].end == p[1].start)
            && chunks.first().is_none_or(|r| r.start == 0),
        "chunks must cover the batch in order"
    );
    for r in chunks {
        let (head, tail) = std::mem::take(&mut buf).split_at_mut(r.len() * per);
        parts.push(head);
        buf = tail;
    }
    parts
}

/// Each chunk's part of the input-gradient buffer `gx` ([`split_by_chunks`]), or `None` for
/// every chunk when the input needs no gradient.
fn chunk_parts<'a>(
    gx: Option<&'a mut [f32]>,
    chunks: &[std::ops::Range<usize>],
    per: usize,
) -> Vec<Option<&'a mut [f32]>> {
    match gx {
        Some(v) => split_by_chunks(v, chunks, per)
            .into_iter()
            .map(Some)
            .collect(),
        None => chunks.iter().map(|_| None).collect(),
    }
}

/// The chunks of a backward pass: under [`kernels::COLS_BYTES`] each, a multiple of the rayon
/// threads, run side by side. Run one after the other, the two threads shared every
/// GEMM, and gemm splits only the output among them, which for a weight gradient is a few
/// dozen rows by a few dozen columns over a reduction of tens of thousands: the 3×3 layer of
/// D1 at 64×64 reached 41 GFLOP/s one chunk at a time, 96 two at a time.
fn backward_chunks(b: usize, per_sample: usize) -> Vec<std::ops::Range<usize>> {
    kernels::batch_chunks(b, per_sample, rayon::current_num_threads())
}

/// What both backward passes share: the batch in [`backward_chunks`] (`per_sample` im2col
/// floats a sample) run side by side, `chunk(range, dst)` writing that chunk's input gradient
/// into `dst` (its part of a `[b, x_per]` buffer, when `want_x`) and returning its part of the
/// weight gradient. Returns the input gradient's buffer and the parts' sum.
fn over_chunks(
    (b, per_sample, x_per): (usize, usize, usize),
    want_x: bool,
    chunk: impl Fn(std::ops::Range<usize>, Option<&mut [f32]>) -> Option<FlexTensor> + Sync,
) -> (Option<Vec<f32>>, Option<FlexTensor>) {
    let chunks = backward_chunks(b, per_sample);
    let mut gx = want_x.then(|| vec![0.0f32; b * x_per]);
    let dsts = chunk_parts(gx.as_deref_mut(), &chunks, x_per);
    let parts: Vec<Option<FlexTensor>> = chunks
        .par_iter()
        .zip(dsts)
        .map(|(r, dst)| chunk(r.clone(), dst))
        .collect();
    (gx, sum_parts(parts))
}

/// The weight gradient summed over the chunks' parts (`None` parts skipped).
fn sum_parts(parts: Vec<Option<FlexTensor>>) -> Option<FlexTensor> {
    parts.into_iter().flatten().reduce(Flex::float_add)
}

/// Input and weight gradients of a convolution (those asked for by `want`), per batch chunk
/// ([`backward_chunks`]) from the output gradient `g` as a `[co, n·ho·wo]` matrix: the
/// input's as `col2im(Wᵀ · g)`, the weight's as `g · im2col(x)ᵀ`.
fn conv2d_grads(
    x: FlexTensor,
    weight: &FlexTensor,
    grad: FlexTensor,
    options: &ConvOptions<2>,
    want: [bool; 2],
) -> (Option<FlexTensor>, Option<FlexTensor>) {
    let [co, ci, k0, k1] = dims4(weight);
    let [b, _, ho, wo] = dims4(&grad);
    let [_, _, h, w] = dims4(&x);
    let g = Patches {
        src: dims4(&x),
        kernel: [k0, k1],
        stride: options.stride,
        pad: options.padding_begin(),
        out: [ho, wo],
    };
    let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
    let (xs, gs) = (x.storage::<f32>(), grad.storage::<f32>());
    let wt = Flex::float_transpose(Flex::float_reshape(
        weight.clone(),
        Shape::new([co, ci * k0 * k1]),
    )); // [ci·k0·k1, co]
    let (gx, acc) = over_chunks((b, g.rows() * ho * wo, ci * h * w), want[0], |r, dst| {
        let n = r.len();
        let part = Patches {
            src: [n, ci, h, w],
            ..g
        };
        let gm = &gs[r.start * co * ho * wo..r.end * co * ho * wo];
        let gm = matrix(
            kernels::to_channels_major(gm, [n, co, ho * wo]),
            co,
            n * ho * wo,
        );
        if let Some(dst) = dst {
            let dcols = Flex::float_matmul(wt.clone(), gm.clone()).to_contiguous(); // [ci·k0·k1, n·ho·wo]
            kernels::col2im_add(dcols.storage::<f32>(), part, dst);
        }
        want[1].then(|| {
            let src = &xs[r.start * ci * h * w..r.end * ci * h * w];
            let cols = matrix(kernels::im2col(src, part), part.rows(), part.cols()); // [ci·k0·k1, n·ho·wo]
            Flex::float_matmul(cols, Flex::float_transpose(gm)) // [ci·k0·k1, co]
        })
    });
    let gx = gx.map(|v| from_vec(v, Shape::new([b, ci, h, w])));
    let gw = want[1].then(|| weight_grad(acc, [co, ci, k0, k1]));
    (gx, gw)
}

/// Input and weight gradients of a transposed convolution (those asked for by `want`), from
/// one im2col of the output gradient per batch chunk ([`backward_chunks`]): `W · cols` and
/// `x · colsᵀ`.
fn conv_transpose2d_grads(
    x: FlexTensor,
    weight: FlexTensor,
    grad: FlexTensor,
    options: &ConvTransposeOptions<2>,
    want: [bool; 2],
) -> (Option<FlexTensor>, Option<FlexTensor>) {
    let [ci, co, k0, k1] = dims4(&weight);
    let [b, _, h, w] = dims4(&x);
    let [_, _, ho, wo] = dims4(&grad);
    let g = Patches {
        src: dims4(&grad),
        kernel: [k0, k1],
        stride: options.stride,
        pad: options.padding,
        out: [h, w],
    };
    let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
    let (xs, gs) = (x.storage::<f32>(), grad.storage::<f32>());
    let wm = Flex::float_reshape(weight, Shape::new([ci, co * k0 * k1]));
    let (gx, acc) = over_chunks((b, g.rows() * h * w, ci * h * w), want[0], |r, dst| {
        let n = r.len();
        let part = Patches {
            src: [n, co, ho, wo],
            ..g
        };
        let src = &gs[r.start * co * ho * wo..r.end * co * ho * wo];
        let cols = matrix(kernels::im2col(src, part), part.rows(), part.cols()); // [co·k0·k1, n·h·w]
        if let Some(dst) = dst {
            let m = Flex::float_matmul(wm.clone(), cols.clone()).to_contiguous(); // [ci, n·h·w]
            kernels::from_channels_major(m.storage::<f32>(), dst, [n, ci, h * w]);
        }
        want[1].then(|| {
            let xm = &xs[r.start * ci * h * w..r.end * ci * h * w];
            let xm = kernels::to_channels_major(xm, [n, ci, h * w]);
            let xm = matrix(xm, ci, n * h * w);
            Flex::float_matmul(cols, Flex::float_transpose(xm)) // [co·k0·k1, ci]
        })
    });
    let gx = gx.map(|v| from_vec(v, Shape::new([b, ci, h, w])));
    let gw = want[1].then(|| weight_grad(acc, [ci, co, k0, k1]));
    (gx, gw)
}

/// Whether the custom ops can run `x`: an `f32` tensor on the `flex` backend (with or without
/// autodiff).
fn supported<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

fn add_bias(y: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let [c] = bias.dims();
            y + bias.reshape([1, c, 1, 1])
        }
        None => y,
    }
}

/// `conv.forward(x)`: `[b, ci, h, w]` → `[b, co, ho, wo]`.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => return conv.forward(x),
    };
    if !supported(&x) || conv.groups != 1 || conv.dilation != [1, 1] {
        return conv.forward(x);
    }
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
    let y = <Dispatch as TrainOps>::train_conv2d(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        options,
    );
    add_bias(
        Tensor::from_dispatch(y),
        conv.bias.as_ref().map(burn::module::Param::val),
    )
}

/// `conv.forward(x)`: `[b, ci, h, w]` → `[b, co, (h−1)·s0 + k0 − 2·p0, (w−1)·s1 + k1 − 2·p1]`.
pub fn conv_transpose2d(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    if !supported(&x) || conv.groups != 1 || conv.dilation != [1, 1] || conv.padding_out != [0, 0] {
        return conv.forward(x);
    }
    let options = ConvTransposeOptions::new(conv.stride, conv.padding, [0, 0], [1, 1], conv.groups);
    let y = <Dispatch as TrainOps>::train_conv_transpose2d(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        options,
    );
    add_bias(
        Tensor::from_dispatch(y),
        conv.bias.as_ref().map(burn::module::Param::val),
    )
}

/// `conv.forward(x)`: `[b, ci, t]` → `[b, co, (t−1)·s + k − 2·p]`.
pub fn conv_transpose1d(conv: &ConvTranspose1d, x: Tensor<3>) -> Tensor<3> {
    if !supported(&x) || conv.groups != 1 || conv.dilation != 1 || conv.padding_out != 0 {
        return conv.forward(x);
    }
    let [ci, co, k] = conv.weight.dims();
    let options = ConvTransposeOptions::new([1, conv.stride], [0, conv.padding], [0, 0], [1, 1], 1);
    let y = <Dispatch as TrainOps>::train_conv_transpose2d(
        x.unsqueeze_dim::<4>(2).into_dispatch(), // [b, ci, 1, t]
        conv.weight.val().reshape([ci, co, 1, k]).into_dispatch(),
        options,
    );
    let y = add_bias(
        Tensor::from_dispatch(y),
        conv.bias.as_ref().map(burn::module::Param::val),
    );
    y.squeeze_dim(2) // [b, co, t']
}

/// Batch statistics `[2, c]` (means, biased variances) of `x` `[b, c, h, w]`, untracked.
fn batch_stats(x: &Tensor<4>) -> Option<Tensor<2>> {
    let inner = x.clone().detach().inner();
    let device = inner.device();
    let flex = inner.try_into_primitive::<Flex>().ok()?;
    let (flex, dims) = planar(flex);
    let stats = kernels::channel_stats(flex.storage::<f32>(), dims);
    let stats = from_vec(stats, Shape::new([2, dims[1]]));
    let stats = Tensor::<2>::from_primitive::<Flex>(stats).to_device(&device);
    Some(Tensor::from_inner(stats))
}

/// `bn.forward(x)` for `[b, c, h, w]`: in training (an autodiff device and the layer not
/// frozen), normalises with the batch statistics and updates the running ones with the
/// layer's momentum, as burn's `BatchNorm` does; otherwise burn's inference path.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    norm(bn, x, false)
}

/// `relu(bn.forward(x))` for `[b, c, h, w]`, fused in training (see [`batch_norm`]).
pub fn batch_norm_relu(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    norm(bn, x, true)
}

fn norm(bn: &BatchNorm, x: Tensor<4>, relu: bool) -> Tensor<4> {
    let fallback = |x| {
        let y = bn.forward(x);
        if relu {
            burn::tensor::activation::relu(y)
        } else {
            y
        }
    };
    if !(supported(&x) && x.device().is_autodiff() && bn.training.is_enabled()) {
        return fallback(x);
    }
    let Some(stats) = batch_stats(&x) else {
        return fallback(x);
    };
    let [_, c] = stats.dims();
    let device = x.device();
    let momentum = bn.momentum;
    for (state, row) in [(&bn.running_mean, 0), (&bn.running_var, 1)] {
        let batch = stats.clone().narrow(0, row, 1).reshape([c]);
        let running = state.value_sync().to_device(&device);
        let updated = running
            .mul_scalar(1.0 - momentum)
            .add(batch.mul_scalar(momentum));
        state.update(updated.detach());
    }
    let y = <Dispatch as TrainOps>::train_batch_norm(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        stats.into_dispatch(),
        bn.epsilon,
        relu,
    );
    Tensor::from_dispatch(y)
}

#[cfg(test)]
mod tests {
    //! Each layer against burn's own module (forward and autodiff backward) on random inputs:
    //! the values and the gradients of `Σ y·g` for a random `g`, for every input and parameter.
    //! Shapes are rectangular, kernels, strides and paddings differ between the axes, so that
    //! a swapped axis cannot pass.
    use super::*;
    use burn::module::Param;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose1dConfig, ConvTranspose2dConfig};
    use burn::nn::{BatchNormConfig, Initializer};
    use burn::tensor::Gradients;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    // Modules are built with constant initialisers and their weights drawn from a local
    // seeded generator: burn's random generator is global, and drawing from it here could
    // interleave with the seeded determinism tests of `model::tests`.
    const CONSTANT: Initializer = Initializer::Constant { value: 0.0 };

    fn device() -> Device {
        super::super::default_device().autodiff()
    }

    /// A random tensor, uniform in −1..1, from a generator seeded with `seed`.
    fn rand<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<D> {
        let mut rng = StdRng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        Tensor::from_data(TensorData::new(v, shape), &device())
    }

    /// The gradient of `t` in `grads`, flattened.
    fn grad<const D: usize>(t: &Tensor<D>, grads: &Gradients) -> Tensor<1> {
        t.grad(grads).unwrap().flatten(0, D - 1)
    }

    /// What a convolution test compares: the gradients of its input, weight and bias.
    fn conv_grads<const D: usize, const W: usize>(
        x: &Tensor<D>,
        weight: &Param<Tensor<W>>,
        bias: Option<&Param<Tensor<1>>>,
        g: &Gradients,
    ) -> Vec<(&'static str, Tensor<1>)> {
        let mut v = vec![("x", grad(x, g)), ("weight", grad(&weight.val(), g))];
        if let Some(b) = bias {
            v.push(("bias", grad(&b.val(), g)));
        }
        v
    }

    /// `max |a − b| / max |b|`.
    fn max_rel_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-6);
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    /// `ours` and `reference` agree in value (relative 1e-5) and in the gradients that
    /// `grads_of` reads (relative 1e-4) of `Σ y·g` for a random `g`.
    fn assert_same<const D: usize>(
        what: &str,
        ours: impl Fn() -> Tensor<D>,
        reference: impl Fn() -> Tensor<D>,
        grads_of: impl Fn(&Gradients) -> Vec<(&'static str, Tensor<1>)>,
    ) {
        let (y, y_ref) = (ours(), reference());
        assert_eq!(y.dims(), y_ref.dims(), "{what}");
        let d = max_rel_diff(y.clone(), y_ref.clone());
        assert!(d < 1e-5, "{what}: values differ by {d}");
        let g = rand(y.dims(), 99);
        let ours = grads_of(&(y * g.clone()).sum().backward());
        let reference = grads_of(&(y_ref * g).sum().backward());
        for ((name, a), (_, b)) in ours.into_iter().zip(reference) {
            let d = max_rel_diff(a, b);
            assert!(d < 1e-4, "{what}: gradient of {name} differs by {d}");
        }
    }

    #[test]
    fn convolutions_match_burn_modules() {
        // in, out, kernel, stride, padding (top, left, bottom, right), input, bias: the
        // encoder's stem, 3×3 and 1×1 layers with and without stride, then shapes that tell
        // the axes apart
        for (ci, co, k, s, p, hw, bias) in [
            (1, 4, [7, 7], [2, 2], (3, 3, 3, 3), [16, 12], false),
            (3, 5, [3, 3], [1, 1], (1, 1, 1, 1), [9, 7], false),
            (4, 6, [3, 3], [2, 2], (1, 1, 1, 1), [8, 11], false),
            (6, 8, [1, 1], [2, 2], (0, 0, 0, 0), [8, 6], false),
            (8, 5, [1, 1], [1, 1], (0, 0, 0, 0), [4, 5], true),
            (3, 4, [3, 2], [1, 2], (2, 0, 1, 1), [7, 9], true),
        ] {
            let mut conv = Conv2dConfig::new([ci, co], k)
                .with_stride(s)
                .with_padding(PaddingConfig2d::Explicit(p.0, p.1, p.2, p.3))
                .with_bias(bias)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([co, ci, k[0], k[1]], 1).require_grad());
            conv.bias = bias.then(|| Param::from_tensor(rand([co], 2).require_grad()));
            let x = rand([3, ci, hw[0], hw[1]], 3).require_grad();
            assert_same(
                &format!("conv {ci}→{co} k{k:?} s{s:?} p{p:?} {hw:?}"),
                || conv2d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| conv_grads(&x, &conv.weight, conv.bias.as_ref(), g),
            );
        }
    }

    #[test]
    fn transposed_convolutions_match_burn_modules() {
        // D1's layers: 4/1/0 from 1×1, 4/2/1, 3/1/1, the biased output layer; then shapes
        // that tell the axes apart
        for (ci, co, k, s, p, hw, bias) in [
            (6, 4, [4, 4], [1, 1], [0, 0], [1, 1], false),
            (4, 3, [4, 4], [2, 2], [1, 1], [5, 5], false),
            (5, 3, [3, 3], [1, 1], [1, 1], [6, 4], false),
            (3, 1, [4, 4], [2, 2], [1, 1], [4, 3], true),
            (3, 2, [4, 3], [2, 1], [1, 0], [3, 5], true),
        ] {
            let mut conv = ConvTranspose2dConfig::new([ci, co], k)
                .with_stride(s)
                .with_padding(p)
                .with_bias(bias)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([ci, co, k[0], k[1]], 4).require_grad());
            conv.bias = bias.then(|| Param::from_tensor(rand([co], 5).require_grad()));
            let x = rand([2, ci, hw[0], hw[1]], 6).require_grad();
            assert_same(
                &format!("transposed conv {ci}→{co} k{k:?} s{s:?} p{p:?} {hw:?}"),
                || conv_transpose2d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| conv_grads(&x, &conv.weight, conv.bias.as_ref(), g),
            );
        }
    }

    #[test]
    fn batches_split_to_stay_in_the_heap_match_burn_modules() {
        // im2col matrices above kernels::COLS_BYTES are built per batch chunk: a convolution
        // whose matrix is 12.8 MB a sample (3 chunks) and a transposed one at 4 MiB a sample
        // (2 chunks of 3)
        let x = rand([3, 16, 128, 128], 10).require_grad();
        assert_eq!(kernels::batch_chunks(3, 16 * 49 * 64 * 64, 2).len(), 3);
        let mut conv = Conv2dConfig::new([16, 2], [7, 7])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
            .with_bias(false)
            .with_initializer(CONSTANT)
            .init(&device());
        conv.weight = Param::from_tensor(rand([2, 16, 7, 7], 11).require_grad());
        assert_same(
            "conv in 3 chunks",
            || conv2d(&conv, x.clone()),
            || conv.forward(x.clone()),
            |g| conv_grads(&x, &conv.weight, None, g),
        );
        let x = rand([6, 2, 32, 32], 12).require_grad();
        assert_eq!(
            kernels::batch_chunks(6, 64 * 16 * 32 * 32, 2),
            vec![0..3, 3..6]
        );
        let mut conv = ConvTranspose2dConfig::new([2, 64], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_bias(false)
            .with_initializer(CONSTANT)
            .init(&device());
        conv.weight = Param::from_tensor(rand([2, 64, 4, 4], 13).require_grad());
        assert_same(
            "transposed conv in 2 chunks",
            || conv_transpose2d(&conv, x.clone()),
            || conv.forward(x.clone()),
            |g| conv_grads(&x, &conv.weight, None, g),
        );
    }

    #[test]
    fn batched_forwards_match_flex_on_every_shape() {
        // the batched forwards are chosen for some shapes only; they must be right on all
        let fx = |shape: [usize; 4], seed: u64| {
            rand(shape, seed)
                .inner()
                .try_into_primitive::<Flex>()
                .ok()
                .unwrap()
        };
        let close = |a: FlexTensor, b: FlexTensor, what: &str| {
            assert_eq!(a.layout().shape(), b.layout().shape(), "{what}");
            let (a, b) = (a.to_contiguous(), b.to_contiguous());
            let (a, b) = (a.storage::<f32>(), b.storage::<f32>());
            let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
            let d = a
                .iter()
                .zip(b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(d / scale < 1e-5, "{what}: differs by {}", d / scale);
        };
        for (ci, co, k, s, p, hw) in [
            (1, 4, [7, 7], [2, 2], (3, 3, 3, 3), [16, 12]),
            (3, 5, [3, 3], [1, 1], (1, 1, 1, 1), [9, 7]),
            (3, 4, [3, 2], [1, 2], (2, 0, 1, 1), [7, 9]),
        ] {
            let options = ConvOptions::new_with_padding(s, [(p.0, p.2), (p.1, p.3)], [1, 1], 1);
            let (x, w) = (fx([3, ci, hw[0], hw[1]], 20), fx([co, ci, k[0], k[1]], 21));
            close(
                conv2d_forward(x.clone(), &w, &options),
                Flex::conv2d(x, w, None, options),
                &format!("conv {ci}→{co} k{k:?} s{s:?}"),
            );
        }
        for (ci, co, k, s, p, hw) in [
            (4, 3, [4, 4], [2, 2], [1, 1], [5, 5]),
            (5, 3, [3, 3], [1, 1], [1, 1], [6, 4]),
            (3, 2, [4, 3], [2, 1], [1, 0], [3, 5]),
        ] {
            let options = ConvTransposeOptions::new(s, p, [0, 0], [1, 1], 1);
            let (x, w) = (fx([2, ci, hw[0], hw[1]], 22), fx([ci, co, k[0], k[1]], 23));
            close(
                conv_transpose2d_forward(x.clone(), &w, &options),
                Flex::conv_transpose2d(x, w, None, options),
                &format!("transposed conv {ci}→{co} k{k:?} s{s:?}"),
            );
        }
    }

    #[test]
    fn every_path_in_several_chunks_matches_burn_modules() {
        // with a 1-byte limit every sample is a chunk of its own: the batched forwards (a
        // strided 1×1 convolution, a one-row transposed convolution), both backward passes and
        // a convolution whose input needs no gradient (as the stem's) all run in 3 chunks
        kernels::with_cols_limit(1, || {
            assert_eq!(kernels::batch_chunks(3, 1, 2).len(), 3);
            let x = rand([3, 4, 6, 5], 30).require_grad();
            let mut conv = Conv2dConfig::new([4, 6], [1, 1])
                .with_stride([2, 2])
                .with_bias(false)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([6, 4, 1, 1], 31).require_grad());
            assert_same(
                "strided 1×1 in 3 chunks",
                || conv2d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| conv_grads(&x, &conv.weight, None, g),
            );
            let x = rand([3, 5, 1, 4], 32).require_grad();
            let mut conv = ConvTranspose2dConfig::new([5, 3], [1, 4])
                .with_stride([1, 2])
                .with_padding([0, 1])
                .with_bias(false)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([5, 3, 1, 4], 33).require_grad());
            assert_same(
                "one-row transposed conv in 3 chunks",
                || conv_transpose2d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| conv_grads(&x, &conv.weight, None, g),
            );
            let x = rand([3, 1, 9, 8], 34); // no gradient asked for the input
            let mut conv = Conv2dConfig::new([1, 3], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([3, 1, 3, 3], 35).require_grad());
            assert_same(
                "input without gradient, 3 chunks",
                || conv2d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| vec![("weight", grad(&conv.weight.val(), g))],
            );
        });
    }

    #[test]
    fn transposed_1d_convolutions_match_burn_modules() {
        // D2/D3's layers (kernel 2, stride 2, with bias), and one with padding
        for (k, s, p) in [(2, 2, 0), (4, 2, 1)] {
            let mut conv = ConvTranspose1dConfig::new([6, 4], k)
                .with_stride(s)
                .with_padding(p)
                .with_initializer(CONSTANT)
                .init(&device());
            conv.weight = Param::from_tensor(rand([6, 4, k], 7).require_grad());
            conv.bias = Some(Param::from_tensor(rand([4], 8).require_grad()));
            let x = rand([3, 6, 5], 9).require_grad();
            assert_same(
                &format!("transposed conv 1-D k{k} s{s} p{p}"),
                || conv_transpose1d(&conv, x.clone()),
                || conv.forward(x.clone()),
                |g| {
                    assert!(conv.bias.is_some());
                    conv_grads(&x, &conv.weight, conv.bias.as_ref(), g)
                },
            );
        }
    }

    #[test]
    fn batch_norms_match_burn_modules() {
        for relu in [false, true] {
            let mut bn = BatchNormConfig::new(3).init(&device());
            let mut bn_ref = BatchNormConfig::new(3).init(&device());
            let (gamma, beta) = (rand([3], 10), rand([3], 11));
            for b in [&mut bn, &mut bn_ref] {
                b.gamma = Param::from_tensor(gamma.clone().require_grad());
                b.beta = Param::from_tensor(beta.clone().require_grad());
            }
            let x = (rand([4, 3, 5, 7], 12) * 3.0 + 0.5).require_grad();
            let ours = || {
                if relu {
                    batch_norm_relu(&bn, x.clone())
                } else {
                    batch_norm(&bn, x.clone())
                }
            };
            let reference = || {
                let y = bn_ref.forward(x.clone());
                if relu {
                    burn::tensor::activation::relu(y)
                } else {
                    y
                }
            };
            assert_same(&format!("batch norm, relu {relu}"), ours, reference, |g| {
                vec![
                    ("x", grad(&x, g)),
                    ("gamma", grad(&bn.gamma.val(), g)),
                    ("beta", grad(&bn.beta.val(), g)),
                ]
            });
            // both were called twice (value, gradient): the running statistics agree
            for (a, b) in [
                (
                    bn.running_mean.value_sync(),
                    bn_ref.running_mean.value_sync(),
                ),
                (bn.running_var.value_sync(), bn_ref.running_var.value_sync()),
            ] {
                assert!(max_rel_diff(a, b) < 1e-5, "running statistics");
            }
        }
    }
}
