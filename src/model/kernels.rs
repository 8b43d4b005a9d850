//! Loops over contiguous `f32` buffers behind the training ops of [`super::train_ops`]: im2col
//! and the per-channel passes of batch normalisation over `[batch, channels, positions]`.
//! They run on rayon's global pool, the one burn's `flex` kernels use; the batch-norm passes
//! are compiled for the CPU's vector instructions ([`simd`]).

use rayon::prelude::*;

/// Lanes of the manual reductions: one AVX-512 register of `f32`.
const LANES: usize = 16;

/// Runs `f` compiled for the best vector instruction set of the CPU (AVX-512 through pulp's
/// dispatch where the CPU has it, plain code elsewhere), so that its loops vectorise: the
/// crate is built for baseline x86-64, whose SSE2 turned the kernels' selects into a branch
/// per lane.
#[inline(always)]
fn simd<R>(f: impl FnOnce(Once) -> R) -> R {
    struct Task<F>(F);
    impl<R, F: FnOnce(Once) -> R> pulp::WithSimd for Task<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) -> R {
            (self.0)(Once)
        }
    }
    pulp::Arch::new().dispatch(Task(f))
}

/// A token moved into each [`simd`] task: it makes the task an `FnOnce` whose body is its
/// `call_once`, which then inlines into pulp's dispatch (a borrowing closure is called through
/// a shim that stayed out of line, compiled without the vector instructions).
struct Once;

/// Where [`im2col`] reads: a source `[b, c, h, w]` seen through a `kernel` at `stride` with
/// `pad` zeros before each axis, for an output of `out` positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patches {
    /// Source shape `[b, c, h, w]`.
    pub src: [usize; 4],
    /// Kernel `[k0, k1]`.
    pub kernel: [usize; 2],
    /// Stride `[s0, s1]`.
    pub stride: [usize; 2],
    /// Zeros before each axis `[p0, p1]`.
    pub pad: [usize; 2],
    /// Output positions `[out0, out1]`.
    pub out: [usize; 2],
}

impl Patches {
    /// Rows of the patch matrix: `c·k0·k1`.
    pub fn rows(&self) -> usize {
        self.src[1] * self.kernel[0] * self.kernel[1]
    }

    /// Columns of the patch matrix: `b·out0·out1`.
    pub fn cols(&self) -> usize {
        self.src[0] * self.out[0] * self.out[1]
    }
}

/// The output positions `o` in `0..out` whose source index `o·stride + k − pad` lies in
/// `0..len`.
fn valid(out: usize, len: usize, k: usize, stride: usize, pad: usize) -> std::ops::Range<usize> {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = if len + pad > k {
        out.min((len + pad - k - 1) / stride + 1)
    } else {
        0
    };
    lo..hi.max(lo)
}

/// The patch matrix `[c·k0·k1, b·out0·out1]` of `src` `[b, c, h, w]`: row (c, ky, kx), column
/// (b, oy, ox) holds `src[b, c, oy·s0 + ky − p0, ox·s1 + kx − p1]`, zero outside the source.
pub fn im2col(src: &[f32], g: Patches) -> Vec<f32> {
    let [b, c, h, w] = g.src;
    let [k0, k1] = g.kernel;
    let [s0, s1] = g.stride;
    let [p0, p1] = g.pad;
    let [ho, wo] = g.out;
    let n = g.cols();
    let mut cols = vec![0.0f32; g.rows() * n];
    if n == 0 {
        return cols;
    }
    cols.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        let (ci, ky, kx) = (r / (k0 * k1), r / k1 % k0, r % k1);
        let xs = valid(wo, w, kx, s1, p1);
        if xs.is_empty() {
            // the kernel column lies in the padding for every output column (its start may
            // then be past the row: nothing to read, the row stays zero)
            return;
        }
        for oy in valid(ho, h, ky, s0, p0) {
            let iy = oy * s0 + ky - p0;
            for bi in 0..b {
                let line = &src[((bi * c + ci) * h + iy) * w..][..w];
                let dst = &mut row[(bi * ho + oy) * wo..][..wo];
                if s1 == 1 {
                    let from = xs.start + kx - p1;
                    dst[xs.clone()].copy_from_slice(&line[from..from + xs.len()]);
                } else {
                    for ox in xs.clone() {
                        dst[ox] = line[ox * s1 + kx - p1];
                    }
                }
            }
        }
    });
    cols
}

/// The adjoint of [`im2col`]: adds the patch matrix `cols` `[c·k0·k1, b·out0·out1]` back
/// onto `dst` `[b, c, h, w]` (`g.src`), each column entry onto the source element it was
/// read from (a col2im). It is a transposed convolution's forward pass and a convolution's
/// input gradient once the GEMM has made the columns. Parallel over the `(b, c)` planes, so
/// no two threads add to the same element.
pub fn col2im_add(cols: &[f32], g: Patches, dst: &mut [f32]) {
    let [b, c, h, w] = g.src;
    let [k0, k1] = g.kernel;
    let [s0, s1] = g.stride;
    let [p0, p1] = g.pad;
    let [ho, wo] = g.out;
    let n = g.cols();
    if h * w == 0 || n == 0 {
        return;
    }
    dst[..b * c * h * w]
        .par_chunks_mut(h * w)
        .enumerate()
        .for_each(|(q, plane)| {
            let (bi, ci) = (q / c, q % c);
            for ky in 0..k0 {
                for kx in 0..k1 {
                    let xs = valid(wo, w, kx, s1, p1);
                    if xs.is_empty() {
                        continue; // in the padding for every column, as in `im2col`
                    }
                    let row = &cols[((ci * k0 + ky) * k1 + kx) * n..][..n];
                    for oy in valid(ho, h, ky, s0, p0) {
                        let iy = oy * s0 + ky - p0;
                        let src = &row[(bi * ho + oy) * wo..][..wo];
                        let line = &mut plane[iy * w..][..w];
                        if s1 == 1 {
                            let from = xs.start + kx - p1;
                            for (d, v) in
                                line[from..from + xs.len()].iter_mut().zip(&src[xs.clone()])
                            {
                                *d += v;
                            }
                        } else {
                            for ox in xs.clone() {
                                line[ox * s1 + kx - p1] += src[ox];
                            }
                        }
                    }
                }
            }
        });
}

/// Largest im2col matrix of one batch chunk, in bytes: half of glibc's largest `mmap`
/// threshold (32 MiB, [`super::heap`]), so that the matrix comes from the heap kept for
/// training and is not mapped, faulted in and unmapped at every step. A decoder layer's
/// matrix for a whole batch of 16 is up to 38 MB (3×3 at 64×64), so the batch is split; the
/// backward passes run a chunk per rayon thread at a time, so about that many such matrices
/// (and their GEMM products) are alive together.
pub const COLS_BYTES: usize = 16 << 20;

#[cfg(test)]
thread_local! {
    /// A smaller [`COLS_BYTES`] for the tests of this thread ([`with_cols_limit`]).
    static COLS_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(COLS_BYTES) };
}

/// The chunk limit in force: [`COLS_BYTES`], or a test's own.
fn cols_limit() -> usize {
    #[cfg(test)]
    return COLS_LIMIT.with(std::cell::Cell::get);
    #[cfg(not(test))]
    COLS_BYTES
}

/// Runs `f` with the chunk limit at `bytes` on this thread (where [`batch_chunks`] is called),
/// so that a test drives a small batch through several chunks.
#[cfg(test)]
pub fn with_cols_limit<R>(bytes: usize, f: impl FnOnce() -> R) -> R {
    let before = COLS_LIMIT.with(|c| c.replace(bytes));
    let r = f();
    COLS_LIMIT.with(|c| c.set(before));
    r
}

/// The batch `0..b` in chunks whose im2col matrices (`per_sample` floats each) stay within
/// [`COLS_BYTES`] (one sample a chunk at least): as few as that allows, rounded up to a
/// multiple of `threads` (as far as there are samples) so that chunks run side by side end
/// together, their sizes differing by one at most.
pub fn batch_chunks(b: usize, per_sample: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    if b == 0 {
        return Vec::new();
    }
    let most = (cols_limit() / 4 / per_sample.max(1)).clamp(1, b);
    let t = threads.max(1);
    let n = (b.div_ceil(most).div_ceil(t) * t).min(b);
    let (q, r) = (b / n, b % n);
    let mut start = 0;
    (0..n)
        .map(|i| {
            let len = q + usize::from(i < r);
            start += len;
            start - len..start
        })
        .collect()
}

/// `src` `[b, c, hw]` → `[c, b·hw]` (the channels-major matrix of a batch), copied in
/// contiguous runs of `hw` per (channel, sample).
pub fn to_channels_major(src: &[f32], [b, c, hw]: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0.0f32; b * c * hw];
    if hw == 0 || b == 0 {
        return out;
    }
    out.par_chunks_mut(b * hw)
        .enumerate()
        .for_each(|(ci, row)| {
            for (bi, dst) in row.chunks_exact_mut(hw).enumerate() {
                dst.copy_from_slice(&src[(bi * c + ci) * hw..][..hw]);
            }
        });
    out
}

/// The inverse of [`to_channels_major`], into part of a larger buffer: `src` `[c, b·hw]` →
/// `dst` `[b, c, hw]`.
pub fn from_channels_major(src: &[f32], dst: &mut [f32], [b, c, hw]: [usize; 3]) {
    if hw == 0 || c == 0 {
        return;
    }
    dst[..b * c * hw]
        .par_chunks_mut(c * hw)
        .enumerate()
        .for_each(|(bi, sample)| {
            for (ci, d) in sample.chunks_exact_mut(hw).enumerate() {
                d.copy_from_slice(&src[ci * b * hw + bi * hw..][..hw]);
            }
        });
}

/// `Σ a` in `f32` lanes (vectorisable), as `f64`.
#[inline(always)]
fn lane_sum(a: &[f32]) -> f64 {
    let mut s = [0.0f32; LANES];
    let (ac, ar) = a.as_chunks::<LANES>();
    for a8 in ac {
        for i in 0..LANES {
            s[i] += a8[i];
        }
    }
    let tail: f64 = ar.iter().map(|&v| f64::from(v)).sum();
    s.iter().map(|&v| f64::from(v)).sum::<f64>() + tail
}

/// `(Σ a, Σ a·(b − m))` over two slices in `f32` lanes (vectorisable), as `f64`.
#[inline(always)]
fn centred_dot(a: &[f32], b: &[f32], m: f32) -> (f64, f64) {
    let (mut sa, mut sab) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    for (a8, b8) in ac.iter().zip(bc) {
        for i in 0..LANES {
            sa[i] += a8[i];
            sab[i] += a8[i] * (b8[i] - m);
        }
    }
    let total = |l: [f32; LANES]| l.iter().map(|&v| f64::from(v)).sum::<f64>();
    let tail_a: f64 = ar.iter().map(|&v| f64::from(v)).sum();
    let tail_ab: f64 = ar
        .iter()
        .zip(br)
        .map(|(&x, &y)| f64::from(x * (y - m)))
        .sum();
    (total(sa) + tail_a, total(sab) + tail_ab)
}

/// `Σ (a − m)²` in `f32` lanes, as `f64`.
#[inline(always)]
fn centred_squares(a: &[f32], m: f32) -> f64 {
    let mut s = [0.0f32; LANES];
    let (ac, ar) = a.as_chunks::<LANES>();
    for a8 in ac {
        for i in 0..LANES {
            s[i] += (a8[i] - m) * (a8[i] - m);
        }
    }
    let tail: f64 = ar.iter().map(|&v| f64::from((v - m) * (v - m))).sum();
    s.iter().map(|&v| f64::from(v)).sum::<f64>() + tail
}

/// Per-channel statistics of `x` `[b, c, l]`: `[2·c]`, the means then the biased variances
/// (two passes).
pub fn channel_stats(x: &[f32], dims: [usize; 3]) -> Vec<f32> {
    let [b, c, l] = dims;
    let n = (b * l).max(1) as f64;
    let stats: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ci| {
            simd(
                #[inline(always)]
                |_: Once| {
                    let plane = |bi: usize| &x[(bi * c + ci) * l..][..l];
                    let mut sum = 0.0;
                    for bi in 0..b {
                        sum += lane_sum(plane(bi));
                    }
                    let m = (sum / n) as f32;
                    let mut sq = 0.0;
                    for bi in 0..b {
                        sq += centred_squares(plane(bi), m);
                    }
                    (m, (sq / n) as f32)
                },
            )
        })
        .collect();
    stats
        .iter()
        .map(|s| s.0)
        .chain(stats.iter().map(|s| s.1))
        .collect()
}

/// Settings of a batch norm: `ε` and whether a ReLU follows (fused).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BnSpec {
    /// `ε` of `√(var + ε)`.
    pub eps: f64,
    /// Apply `max(·, 0)` to the output.
    pub relu: bool,
}

/// One channel's batch norm: `y = max((x − mean)·scale + shift, floor)` with
/// `scale = γ/√(var + ε)`, `shift = β`, `floor` 0 with the ReLU and −∞ without.
#[derive(Clone, Copy, Debug)]
struct Channel {
    mean: f32,
    inv_std: f32,
    scale: f32,
    shift: f32,
    floor: f32,
}

fn channels(stats: &[f32], gamma: &[f32], beta: &[f32], spec: BnSpec) -> Vec<Channel> {
    let c = stats.len() / 2;
    (0..c)
        .map(|ci| {
            let inv_std = (1.0 / (f64::from(stats[c + ci]) + spec.eps).sqrt()) as f32;
            Channel {
                mean: stats[ci],
                inv_std,
                scale: inv_std * gamma[ci],
                shift: beta[ci],
                floor: if spec.relu { 0.0 } else { f32::NEG_INFINITY },
            }
        })
        .collect()
}

/// Batch normalisation of `x` `[b, c, l]` with the batch statistics `stats` (see
/// [`channel_stats`]): `(x − mean)·γ/√(var + ε) + β`, then the ReLU if `spec.relu`.
pub fn bn_forward(
    x: &[f32],
    dims: [usize; 3],
    stats: &[f32],
    gamma: &[f32],
    beta: &[f32],
    spec: BnSpec,
) -> Vec<f32> {
    let [_, c, l] = dims;
    let ch = channels(stats, gamma, beta, spec);
    let mut y = vec![0.0f32; x.len()];
    if l == 0 {
        return y;
    }
    y.par_chunks_mut(l)
        .zip(x.par_chunks(l))
        .enumerate()
        .for_each(|(plane, (yp, xp))| {
            let k = ch[plane % c];
            simd(
                #[inline(always)]
                |_: Once| {
                    for (o, &v) in yp.iter_mut().zip(xp) {
                        *o = ((v - k.mean) * k.scale + k.shift).max(k.floor);
                    }
                },
            );
        });
    y
}

/// Gradients of [`bn_forward`] (with the statistics' own dependence on `x`, and through the
/// ReLU if `spec.relu`) for the output gradient `g`: `(dx [b, c, l], dγ [c], dβ [c])`.
pub fn bn_backward(
    x: &[f32],
    g: &[f32],
    dims: [usize; 3],
    stats: &[f32],
    (gamma, beta): (&[f32], &[f32]),
    spec: BnSpec,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let [b, c, l] = dims;
    let n = (b * l).max(1) as f64;
    let ch = channels(stats, gamma, beta, spec);
    let mut dx = vec![0.0f32; x.len()];
    if l == 0 {
        return (dx, vec![0.0; c], vec![0.0; c]);
    }
    // the output gradient where the ReLU let it through (a plain loop: vectorised selects)
    dx.par_chunks_mut(l)
        .zip(x.par_chunks(l).zip(g.par_chunks(l)))
        .enumerate()
        .for_each(|(plane, (dp, (xp, gp)))| {
            let k = ch[plane % c];
            simd(
                #[inline(always)]
                |_: Once| {
                    for (o, (&xv, &gv)) in dp.iter_mut().zip(xp.iter().zip(gp)) {
                        let through = (xv - k.mean) * k.scale + k.shift > k.floor;
                        *o = if through { gv } else { 0.0 };
                    }
                },
            );
        });
    // per channel: Σ g and Σ g·x̂
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ci| {
            let k = ch[ci];
            let (sg, sgd) = simd(
                #[inline(always)]
                |_: Once| {
                    let (mut sg, mut sgd) = (0.0, 0.0);
                    for bi in 0..b {
                        let at = (bi * c + ci) * l;
                        let (a, d) = centred_dot(&dx[at..at + l], &x[at..at + l], k.mean);
                        sg += a;
                        sgd += d;
                    }
                    (sg, sgd)
                },
            );
            (sg, sgd * f64::from(k.inv_std))
        })
        .collect();
    dx.par_chunks_mut(l)
        .zip(x.par_chunks(l))
        .enumerate()
        .for_each(|(plane, (dp, xp))| {
            let ci = plane % c;
            let k = ch[ci];
            let (mg, mgx) = ((sums[ci].0 / n) as f32, (sums[ci].1 / n) as f32);
            let scale = gamma[ci] * k.inv_std;
            simd(
                #[inline(always)]
                |_: Once| {
                    for (o, &xv) in dp.iter_mut().zip(xp) {
                        *o = scale * (*o - mg - (xv - k.mean) * k.inv_std * mgx);
                    }
                },
            );
        });
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), y> = <x, col2im(y)> for every x, y: checked on random ones, for the
        // shapes of the decoders (stride 2, padding 1), a 7×7 stem and an asymmetric one
        for (src, kernel, stride, pad, out) in [
            ([2, 3, 5, 4], [4, 4], [2, 2], [1, 1], [2, 2]),
            ([2, 2, 9, 9], [7, 7], [2, 2], [3, 3], [5, 5]),
            ([1, 3, 6, 5], [3, 2], [1, 2], [1, 0], [6, 2]),
            ([3, 2, 4, 4], [1, 1], [1, 1], [0, 0], [4, 4]),
            // a kernel overhanging a one-wide input at stride 1 (its start past the row)
            ([1, 1, 1, 1], [1, 5], [1, 1], [0, 2], [1, 1]),
            ([1, 2, 3, 1], [3, 3], [1, 1], [2, 2], [5, 3]),
        ] {
            let g = Patches {
                src,
                kernel,
                stride,
                pad,
                out,
            };
            let mut seed = 1u32;
            let mut next = move || {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            };
            let x: Vec<f32> = (0..src.iter().product::<usize>()).map(|_| next()).collect();
            let y: Vec<f32> = (0..g.rows() * g.cols()).map(|_| next()).collect();
            let lhs: f64 = im2col(&x, g)
                .iter()
                .zip(&y)
                .map(|(a, b)| f64::from(a * b))
                .sum();
            let mut back = vec![0.0f32; x.len()];
            col2im_add(&y, g, &mut back);
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| f64::from(a * b)).sum();
            assert!((lhs - rhs).abs() < 1e-4, "{g:?}: {lhs} vs {rhs}");
            assert!(back.iter().any(|v| *v != 0.0), "{g:?}");
        }
    }

    #[test]
    fn batch_chunks_cover_the_batch_within_the_limit() {
        let per = COLS_BYTES / 4 / 7; // seven samples a chunk at most
        for b in [0, 1, 6, 7, 8, 16, 100] {
            let chunks = batch_chunks(b, per, 1);
            let joined: Vec<usize> = chunks.iter().flat_map(Clone::clone).collect();
            assert_eq!(joined, (0..b).collect::<Vec<_>>(), "batch {b}");
            assert!(
                chunks.iter().all(|r| r.len() <= 7 && !r.is_empty()),
                "{chunks:?}"
            );
            let (lo, hi) = chunks.iter().fold((usize::MAX, 0), |(lo, hi), r| {
                (lo.min(r.len()), hi.max(r.len()))
            });
            assert!(chunks.is_empty() || hi - lo <= 1, "uneven: {chunks:?}");
            assert_eq!(chunks.len(), b.div_ceil(7), "as few as the limit allows");
        }
        assert_eq!(batch_chunks(16, per, 1), vec![0..6, 6..11, 11..16]);
        // a multiple of the threads: two threads run 3 chunks as 6 + 5 and 5, 4 as 4 + 4 each
        assert_eq!(batch_chunks(16, per, 2), vec![0..4, 4..8, 8..12, 12..16]);
        assert_eq!(batch_chunks(16, per, 4).len(), 4);
        assert_eq!(batch_chunks(1, 1, 2), vec![0..1]);
        // a sample above the limit still gets a chunk of its own
        assert_eq!(batch_chunks(3, COLS_BYTES, 1), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn channels_major_round_trip() {
        let [b, c, hw] = [3, 4, 5];
        let src: Vec<f32> = (0..b * c * hw).map(|i| i as f32).collect();
        let m = to_channels_major(&src, [b, c, hw]);
        // [c, b·hw]: channel 1 of sample 2, position 3
        assert_eq!(m[b * hw + 2 * hw + 3], src[(2 * c + 1) * hw + 3]);
        let mut back = vec![0.0; b * c * hw + 2];
        from_channels_major(&m, &mut back, [b, c, hw]);
        assert_eq!(&back[..b * c * hw], &src[..]);
        assert_eq!(
            &back[b * c * hw..],
            &[0.0, 0.0],
            "nothing past the batch is written"
        );
    }

    /// im2col by its definition, one element at a time.
    fn im2col_naive(src: &[f32], g: Patches) -> Vec<f32> {
        let [b, c, h, w] = g.src;
        let [k0, k1] = g.kernel;
        let mut out = Vec::new();
        for ci in 0..c {
            for ky in 0..k0 {
                for kx in 0..k1 {
                    for bi in 0..b {
                        for oy in 0..g.out[0] {
                            for ox in 0..g.out[1] {
                                let iy = (oy * g.stride[0] + ky) as isize - g.pad[0] as isize;
                                let ix = (ox * g.stride[1] + kx) as isize - g.pad[1] as isize;
                                let inside =
                                    (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix);
                                out.push(if inside {
                                    src[((bi * c + ci) * h + iy as usize) * w + ix as usize]
                                } else {
                                    0.0
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matches_its_definition() {
        let src: Vec<f32> = (0..2 * 3 * 7 * 6).map(|i| i as f32).collect();
        for (k, s, p) in [
            (1, 1, 0),
            (1, 2, 0),
            (3, 1, 1),
            (3, 2, 1),
            (4, 2, 1),
            (7, 2, 3),
            (2, 1, 0),
        ] {
            let out = |len: usize| (len + 2 * p - k) / s + 1;
            let g = Patches {
                src: [2, 3, 7, 6],
                kernel: [k, k],
                stride: [s, s],
                pad: [p, p],
                out: [out(7), out(6)],
            };
            assert_eq!(im2col(&src, g), im2col_naive(&src, g), "k {k} s {s} p {p}");
        }
    }

    #[test]
    fn batch_norm_gradients_match_finite_differences() {
        for relu in [false, true] {
            check_batch_norm_gradients(BnSpec { eps: 1e-5, relu });
        }
    }

    fn check_batch_norm_gradients(spec: BnSpec) {
        let dims = [3, 2, 5];
        let x: Vec<f32> = (0..30)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let g: Vec<f32> = (0..30).map(|i| ((i * 13 % 7) as f32 - 3.0) / 2.0).collect();
        let (gamma, beta) = ([1.5f32, -0.7], [0.2f32, 0.1]);
        // loss = Σ g·y
        let loss = |x: &[f32], gamma: &[f32]| -> f64 {
            let y = bn_forward(x, dims, &channel_stats(x, dims), gamma, &beta, spec);
            y.iter()
                .zip(&g)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        };
        let stats = channel_stats(&x, dims);
        let (dx, dgamma, dbeta) = bn_backward(&x, &g, dims, &stats, (&gamma, &beta), spec);
        let h = 1e-2f32;
        for i in [0, 7, 18, 29] {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (loss(&xp, &gamma) - loss(&xm, &gamma)) / f64::from(2.0 * h);
            assert!(
                (fd - f64::from(dx[i])).abs() < 2e-2,
                "dx[{i}] {fd} vs {}",
                dx[i]
            );
        }
        for ci in 0..2 {
            let (mut gp, mut gm) = (gamma, gamma);
            gp[ci] += h;
            gm[ci] -= h;
            let fd = (loss(&x, &gp) - loss(&x, &gm)) / f64::from(2.0 * h);
            assert!(
                (fd - f64::from(dgamma[ci])).abs() < 2e-2,
                "dγ[{ci}] {fd} vs {}",
                dgamma[ci]
            );
            let (mut bp, mut bm) = (beta, beta);
            bp[ci] += h;
            bm[ci] -= h;
            let lb = |beta: &[f32]| -> f64 {
                let y = bn_forward(&x, dims, &stats, &gamma, beta, spec);
                y.iter()
                    .zip(&g)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum()
            };
            let fd = (lb(&bp) - lb(&bm)) / f64::from(2.0 * h);
            assert!(
                (fd - f64::from(dbeta[ci])).abs() < 2e-2,
                "dβ[{ci}] {fd} vs {}",
                dbeta[ci]
            );
        }
    }
}
