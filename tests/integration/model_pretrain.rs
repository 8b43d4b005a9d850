//! Pretraining throughput of the compact network (issue 14): `pretrain` (E + D1–D3, Adam) on
//! the analysed phrases of the first annotated songs of `../shared/data`, printing the loss
//! and samples/s of every epoch and the projection for 50 songs × 30 phrases × 20 epochs.
//! Run on purpose (2 cores: `RAYON_NUM_THREADS=2`):
//!
//! ```text
//! cargo test --test integration model_pretrain:: -- --ignored --nocapture
//! ```
//!
//! `PW_BENCH_PHRASES` (default 96), `PW_BENCH_EPOCHS` (3) and `PW_BENCH_BATCH` (16) change
//! the set. The phrases' targets are cached in the temp folder (`pw-bench-pretrain-cache`), so
//! only the first run analyses the songs.

use crate::common_data;

use phrasewise::model::data::{PhraseSample, load_unlabeled};
use phrasewise::model::net::PretextWeights;
use phrasewise::model::train::{PretrainConfig, Reporter, pretrain};
use phrasewise::model::{NetConfig, default_device};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "benchmark; run on purpose"]
fn bench_pretrain_compact_samples_per_s() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let (phrases, epochs, batch) = (
        env_or("PW_BENCH_PHRASES", 96),
        env_or("PW_BENCH_EPOCHS", 3),
        env_or("PW_BENCH_BATCH", 16),
    );
    let cache = std::env::temp_dir().join("pw-bench-pretrain-cache");
    let mut samples: Vec<PhraseSample> = Vec::new();
    for (_, audio, _) in common_data::annotated_songs(&data) {
        if samples.len() >= phrases {
            break;
        }
        for song in load_unlabeled(&[audio], &cache, &mut |_, _| {}) {
            samples.extend(song.samples);
        }
    }
    samples.truncate(phrases);
    assert_eq!(samples.len(), phrases, "not enough phrases in the data");
    let cfg = PretrainConfig::new(NetConfig::compact(), PretextWeights::new())
        .with_epochs(epochs)
        .with_batch_size(batch)
        .with_seed(7);
    let out = std::env::temp_dir().join(format!("pw-bench-pretrain-{}", std::process::id()));
    let mut log = Vec::new();
    let mut on_epoch = |r: &phrasewise::model::train::EpochReport| log.push(r.clone());
    let mut report = Reporter {
        show_progress: false,
        on_epoch: Some(&mut on_epoch),
    };
    let t0 = std::time::Instant::now();
    pretrain(&cfg, &samples, &out, &default_device(), false, &mut report).unwrap();
    let total = t0.elapsed().as_secs_f64();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    println!("pretrain compact: {phrases} phrases, batch {batch}, threads {threads}");
    for r in &log {
        println!(
            "  epoch {}: loss {:.6}, {:.1} samples/s",
            r.epoch, r.loss, r.samples_per_s
        );
    }
    // the first epoch warms the allocator and the kernels up: the rate of the others
    let steady: Vec<f32> = log.iter().skip(1).map(|r| r.samples_per_s).collect();
    let rate = if steady.is_empty() {
        log.iter().map(|r| r.samples_per_s).sum::<f32>()
    } else {
        steady.iter().sum::<f32>() / steady.len() as f32
    };
    println!(
        "  {:.1} samples/s after the first epoch ({total:.1} s in all); 50 songs × 30 phrases × \
         20 epochs ≈ {:.1} min",
        rate,
        50.0 * 30.0 * 20.0 / f64::from(rate) / 60.0
    );
    let _ = std::fs::remove_dir_all(out);
}
