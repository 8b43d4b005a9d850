//! Timings of the network on the CPU (`flex`), run on purpose (not a test):
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release --example model_bench [-- --quick] [--json]
//! ```
//!
//! Rows (medians of the timed repetitions after one warm-up; ms per sample):
//! * `enc_fwd_b1`, `enc_fwd_b32`, `enc_fwdbwd_b32`, `mlp_fwd_b256`, `mlp_fwdbwd_b256`: the
//!   rows of `../shared/reference/model_ref.py` (paper encoder, predictor with K = 1101), so
//!   `model_ref.py --rust "… --json"` can put them next to torch's;
//! * `pretrain_step_b8` per configuration: forward + backward + Adam step of E + D1–D3;
//! * `train_step_b32`: predictor forward + backward + SGD step;
//! * `phrase` / `song_4min`: encoder + predictor inference for one phrase and for the phrases
//!   of a 4-minute song (30 phrases of 8 s, in batches of 16), K = 40.
//!
//! The thread count is rayon's (`RAYON_NUM_THREADS`), which burn's `flex` kernels use.

use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use phrasewise::model::data::PhraseSample;
use phrasewise::model::net::{NetConfig, PretextWeights, cross_entropy};
use phrasewise::model::train::{TrainConfig, mel_batch, predictor_step, pretrain_step, sgd};
use phrasewise::model::{PredictorConfig, default_device};
use std::time::Instant;

fn sample(i: usize) -> PhraseSample {
    let f = |k: usize| ((k * 7919 + i * 104_729) % 1000) as f32 / 1000.0;
    PhraseSample {
        mel: (0..128 * 128).map(f).collect(),
        melody: (0..128).map(f).collect(),
        rhythm: (0..128)
            .map(|k| if k % 8 == 0 { 1.0 } else { 0.0 })
            .collect(),
        features: (0..phrasewise::model::data::MUSIC_FEATURES)
            .map(f)
            .collect(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds of `f` over `reps` runs after one warm-up.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn sync<const D: usize>(t: Tensor<D>) {
    let _ = t.into_data();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    let reps = if quick { 2 } else { 5 };
    let d = default_device();
    d.seed(1);
    let samples: Vec<PhraseSample> = (0..32).map(sample).collect();
    let refs: Vec<&PhraseSample> = samples.iter().collect();
    let mut rows: Vec<(String, f64)> = Vec::new(); // (name, ms per sample)
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());

    reference_rows(reps, &d, &refs, &mut rows);
    training_rows(reps, &d, &refs, &mut rows);
    inference_rows(reps, &d, &refs, &mut rows);
    print_rows(&rows, &threads, json);
}

type Rows = Vec<(String, f64)>;

/// The rows `model_ref.py` times in PyTorch: paper encoder (batch 1 and 32, forward and
/// forward + backward), paper predictor with K = 1101.
fn reference_rows(reps: usize, d: &Device, refs: &[&PhraseSample], rows: &mut Rows) {
    let d = d.clone();
    // model_ref.py rows: paper encoder, predictor K = 1101
    let enc = NetConfig::paper().encoder.init(&d).valid();
    let x1 = mel_batch(&refs[..1], &d);
    let x32 = mel_batch(refs, &d);
    let s = time(reps, || {
        for _ in 0..3 {
            sync(enc.forward(x1.clone()).embedding);
        }
    });
    rows.push(("enc_fwd_b1".into(), s / 3.0 * 1e3));
    let s = time(reps, || sync(enc.forward(x32.clone()).embedding));
    rows.push(("enc_fwd_b32".into(), s / 32.0 * 1e3));
    let ad = d.clone().autodiff();
    let enc_ad = NetConfig::paper().encoder.init(&ad);
    let x32a = mel_batch(refs, &ad);
    let target = Tensor::<2>::zeros([32, 512], &ad);
    let s = time(reps.min(3), || {
        let u = enc_ad.forward(x32a.clone()).embedding;
        let loss = (u - target.clone()).powi_scalar(2).mean();
        let _ = loss.backward();
    });
    rows.push(("enc_fwdbwd_b32".into(), s / 32.0 * 1e3));
    let t = PredictorConfig::paper(1101).init(&d).valid();
    let u256 = Tensor::<2>::random([256, 512], burn::tensor::Distribution::Default, &d);
    let s = time(reps, || sync(t.forward(u256.clone())));
    rows.push(("mlp_fwd_b256".into(), s / 256.0 * 1e3));
    let ta = PredictorConfig::paper(1101).init(&ad);
    let u256a = Tensor::<2>::random([256, 512], burn::tensor::Distribution::Default, &ad);
    let y = Tensor::<1, Int>::zeros([256], &ad);
    let w = Tensor::<1>::ones([256], &ad);
    let s = time(reps, || {
        let _ = cross_entropy(ta.forward(u256a.clone()), y.clone(), w.clone()).backward();
    });
    rows.push(("mlp_fwdbwd_b256".into(), s / 256.0 * 1e3));
}

/// Training throughput: a pretext step (E + D1–D3, Adam, batch 8) per network size, and a
/// predictor step (SGD, batch 32, K = 40) per predictor size.
fn training_rows(reps: usize, d: &Device, refs: &[&PhraseSample], rows: &mut Rows) {
    let ad = d.clone().autodiff();
    // training throughput: pretext step (E + D1–D3, Adam) per configuration, batch 8
    for (name, net_cfg, r) in [
        ("compact", NetConfig::compact(), reps),
        ("paper", NetConfig::paper(), reps.min(2)),
    ] {
        let mut net = Some(net_cfg.init(&ad));
        let mut optim = AdamConfig::new().init();
        let w = PretextWeights::new();
        let s = time(r, || {
            if let Some(n) = net.take() {
                let (n, _) = pretrain_step(n, &mut optim, &refs[..8], &w, 1e-4, &ad);
                net = Some(n);
            }
        });
        rows.push((format!("pretrain_step_b8_{name}"), s / 8.0 * 1e3));
    }
    // predictor step (compact and paper predictor, K = 40), batch 32
    for (name, pcfg) in [
        ("compact", PredictorConfig::compact(40)),
        ("paper", PredictorConfig::paper(40)),
    ] {
        let cfg = TrainConfig::new(pcfg.clone());
        let mut t = Some(pcfg.init(&ad));
        let mut optim = sgd(&cfg);
        let x: Vec<Vec<f32>> = (0..32)
            .map(|i| {
                (0..512)
                    .map(|j| ((i * 31 + j) % 17) as f32 / 17.0)
                    .collect()
            })
            .collect();
        let xr: Vec<&[f32]> = x.iter().map(std::vec::Vec::as_slice).collect();
        let yb: Vec<usize> = (0..32).map(|i| i % 40).collect();
        let s = time(reps, || {
            if let Some(p) = t.take() {
                let (p, _) = predictor_step(p, &mut optim, &xr, &yb, 1e-2, &ad);
                t = Some(p);
            }
        });
        rows.push((format!("train_step_b32_{name}"), s / 32.0 * 1e3));
    }
}

/// Inference: encoder + predictor (softmax), K = 40, one phrase and a 4-minute song.
fn inference_rows(reps: usize, d: &Device, refs: &[&PhraseSample], rows: &mut Rows) {
    let d = d.clone();
    // inference: encoder + predictor (softmax), K = 40
    for (name, net_cfg, pcfg) in [
        (
            "compact",
            NetConfig::compact(),
            PredictorConfig::compact(40),
        ),
        ("paper", NetConfig::paper(), PredictorConfig::paper(40)),
    ] {
        let enc = net_cfg.encoder.init(&d).valid();
        let t = pcfg.init(&d).valid();
        let run = |batch: &[&PhraseSample]| {
            let u = enc.forward(mel_batch(batch, &d)).embedding;
            sync(softmax(t.forward(u), 1));
        };
        let s = time(reps, || run(&refs[..1]));
        rows.push((format!("phrase_{name}"), s * 1e3));
        let song: Vec<&PhraseSample> = (0..30).map(|i| refs[i % refs.len()]).collect();
        let s = time(reps.min(3), || {
            for chunk in song.chunks(16) {
                run(chunk);
            }
        });
        // per song, not per sample
        rows.push((format!("song_4min_{name}"), s * 1e3));
    }
}

fn print_rows(rows: &Rows, threads: &str, json: bool) {
    if json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        println!(
            "{}",
            serde_json::json!({"threads": threads, "ms_per_sample": map})
        );
    } else {
        println!("threads: {threads}");
        for (k, v) in rows {
            let unit = if k.starts_with("song_") {
                "ms per song"
            } else if k.starts_with("phrase_") {
                "ms per phrase"
            } else {
                "ms per sample"
            };
            let rate = if k.starts_with("pretrain") || k.starts_with("train") {
                format!("  ({:.1} samples/s)", 1e3 / v)
            } else {
                String::new()
            };
            println!("{k:28} {v:10.2} {unit}{rate}");
        }
    }
}
