//! Shape, training-step and record tests of the network (Tables 3–6).

use super::data::PhraseSample;
use super::decoders::{MelDecoderConfig, SeqDecoderConfig};
use super::encoder::EncoderConfig;
use super::folder::{MODEL_SCHEMA, ModelInfo, PhraseModel};
use super::net::{NetConfig, PretextWeights};
use super::predictor::PredictorConfig;
use super::train::{Reporter, TrainConfig, predictor_step, pretrain_step, sgd, train_predictor};
use super::transition::Transitions;
use super::{ModelError, default_device};
use burn::optim::AdamConfig;
use burn::prelude::*;

/// burn's generator is global per backend: tests that seed it and then train must not run
/// interleaved, or "same seed, same result" fails by chance.
static SEED_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn seed_lock() -> std::sync::MutexGuard<'static, ()> {
    SEED_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn device() -> Device {
    default_device()
}

fn sample(seed: u64) -> PhraseSample {
    let mut rng = super::train::Rng::new(seed, 0);
    let mut u = || (rng.next_u64() % 1000) as f32 / 1000.0;
    PhraseSample {
        mel: (0..128 * 128).map(|_| u()).collect(),
        melody: (0..128).map(|_| u()).collect(),
        rhythm: (0..128)
            .map(|i| if i % 8 == 0 { 1.0 } else { 0.0 })
            .collect(),
        features: (0..super::data::MUSIC_FEATURES).map(|_| u()).collect(),
    }
}

/// `model.json` of a test model for library "test" (fingerprint "abc"), three classes.
fn test_info(net: &NetConfig, predictor: PredictorConfig) -> ModelInfo {
    ModelInfo {
        schema: MODEL_SCHEMA.into(),
        net: net.clone(),
        predictor,
        classes: vec!["a/000".into(), "a/001".into(), "b/000".into()],
        library_name: "test".into(),
        library_fingerprint: "abc".into(),
        trained_on: "unit test".into(),
        embed_norm: None,
        metrics: None,
        matrix_weight: None,
        locked_matrix_weight: None,
        network_weight: None,
        matrix_smoothing: None,
        song_context: None,
        style_prior: None,
        feature_expert: None,
        prior_correction: None,
        variety: None,
        start_prior: None,
    }
}

/// A model of `info` with a fresh encoder, predictor `t` and the style prior over
/// `test_info`'s classes (styles a, a, b).
fn test_model(net: &NetConfig, info: ModelInfo, t: super::Predictor, d: &Device) -> PhraseModel {
    let styles = vec!["a".to_string(), "a".into(), "b".into()];
    PhraseModel::new(
        info,
        net.encoder.init(d),
        t,
        Transitions::style_prior(&styles),
        d.clone(),
    )
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pw-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn compact_encoder_shapes() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(1);
    let enc = EncoderConfig::compact().init(&d);
    let x = Tensor::<4>::zeros([2, 1, 128, 128], &d);
    let dims: Vec<[usize; 4]> = enc
        .stage_outputs(x.clone())
        .iter()
        .map(burn::Tensor::dims)
        .collect();
    assert_eq!(
        dims,
        vec![
            [2, 16, 32, 32],
            [2, 64, 32, 32],
            [2, 128, 16, 16],
            [2, 256, 8, 8],
            [2, 512, 4, 4]
        ]
    );
    let out = enc.forward(x);
    assert_eq!(out.feature.dims(), [2, 512, 4]);
    assert_eq!(out.embedding.dims(), [2, 512]);
}

#[test]
fn paper_encoder_shapes_table3() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(1);
    let enc = EncoderConfig::paper().init(&d).valid();
    let x = Tensor::<4>::zeros([1, 1, 128, 128], &d);
    let dims: Vec<[usize; 4]> = enc
        .stage_outputs(x.clone())
        .iter()
        .map(burn::Tensor::dims)
        .collect();
    // MaxPool 64×32×32, Conv_2 … Conv_5 (bottleneck output = 4 × planes)
    assert_eq!(
        dims,
        vec![
            [1, 64, 32, 32],
            [1, 256, 32, 32],
            [1, 512, 16, 16],
            [1, 1024, 8, 8],
            [1, 2048, 4, 4]
        ]
    );
    let out = enc.forward(x);
    assert_eq!(out.feature.dims(), [1, 512, 4]); // f_t 512×4×1
    assert_eq!(out.embedding.dims(), [1, 512]); // u 512×1×1
    // torchvision's ResNet-50 trunk on one input channel (23 501 760) + Conv_6 2048→512 with
    // bias (1 049 088) = 24 550 848, the reference's 24.55 M; burn's count adds the 53 120
    // batch-norm running statistics (mean + variance of every BN channel)
    assert_eq!(enc.num_params(), 24_550_848 + 53_120);
}

#[test]
fn decoder_shapes_tables_4_and_5() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(2);
    for cfg in [MelDecoderConfig::paper(), MelDecoderConfig::compact()] {
        let d1 = cfg.init(&d).valid();
        assert_eq!(
            d1.forward(Tensor::zeros([1, 512], &d)).dims(),
            [1, 1, 128, 128]
        );
    }
    let d2 = SeqDecoderConfig::paper().init(&d);
    assert_eq!(d2.forward(Tensor::zeros([2, 512, 4], &d)).dims(), [2, 128]);
    let r = d2.rhythm(Tensor::zeros([2, 512, 4], &d));
    let v: Vec<f32> = r
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
}

#[test]
fn predictor_shapes_table6() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(3);
    for attention in [true, false] {
        let t = PredictorConfig::new(512, 40)
            .with_attention(attention)
            .init(&d);
        assert_eq!(t.forward(Tensor::zeros([3, 512], &d)).dims(), [3, 40]);
    }
    // Linear(512,512) + 3 × [512·1024 + 1024·512 + 512·16 + 16·512 (+ biases)] + Linear(512,K)
    let t = PredictorConfig::new(512, 40).init(&d);
    let per_block = 512 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 16 + 16 + 16 * 512 + 512;
    assert_eq!(
        t.num_params(),
        512 * 512 + 512 + 3 * per_block + 512 * 40 + 40
    );
}

#[test]
fn a_pretrain_step_lowers_the_loss() {
    let _seeded = seed_lock();
    let d = device().autodiff();
    let samples: Vec<PhraseSample> = (0..4).map(sample).collect();
    let batch: Vec<&PhraseSample> = samples.iter().collect();
    let w = PretextWeights::new();
    let run = || {
        d.seed(4);
        let mut net = NetConfig::compact().init(&d);
        let mut optim = AdamConfig::new().init();
        let mut losses = Vec::new();
        for _ in 0..4 {
            let (n, l) = pretrain_step(net, &mut optim, &batch, &w, 1e-3, &d);
            net = n;
            losses.push(l);
        }
        losses
    };
    let losses = run();
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[3] < losses[0], "{losses:?}");
    // the training ops' parallel loops and sums do not depend on scheduling
    assert_eq!(run(), losses, "same seed, same losses");
}

#[test]
fn a_predictor_step_lowers_the_loss() {
    let _seeded = seed_lock();
    let d = device().autodiff();
    d.seed(5);
    let cfg = TrainConfig::new(PredictorConfig::new(512, 10));
    let mut t = cfg.predictor.init(&d);
    let mut optim = sgd(&cfg);
    let x: Vec<Vec<f32>> = (0..8)
        .map(|i| (0..512).map(|j| ((i * 7 + j) % 13) as f32 / 13.0).collect())
        .collect();
    let xr: Vec<&[f32]> = x.iter().map(std::vec::Vec::as_slice).collect();
    let y: Vec<usize> = (0..8).map(|i| i % 10).collect();
    let (t1, l0) = predictor_step(t, &mut optim, &xr, &y, 1e-2, &d);
    t = t1;
    let (_, l1) = predictor_step(t, &mut optim, &xr, &y, 1e-2, &d);
    assert!(l1 < l0, "{l0} -> {l1}");
}

#[test]
fn records_save_and_load_bit_exact() {
    let _seeded = seed_lock();
    let d = device();
    let ad = d.clone().autodiff();
    ad.seed(6);
    let mut net = NetConfig::compact().init(&ad);
    let mut optim = AdamConfig::new().init();
    let samples: Vec<PhraseSample> = (0..2).map(sample).collect();
    let batch: Vec<&PhraseSample> = samples.iter().collect();
    // one step moves weights and the BN running statistics away from their initial values
    (net, _) = pretrain_step(net, &mut optim, &batch, &PretextWeights::new(), 1e-3, &ad);
    let dir = tmpdir("record");
    let path = dir.join("pretext.bpk");
    super::train::save_module(&net, &path).unwrap();
    d.seed(99);
    let fresh = NetConfig::compact().init(&d);
    let loaded = super::train::load_module(fresh, &path).unwrap();
    let x = super::train::mel_batch(&batch, &d);
    let a = net.valid().encoder.forward(x.clone()).embedding.into_data();
    let b = loaded.valid().encoder.forward(x).embedding.into_data();
    assert!(
        a.as_bytes() == b.as_bytes(),
        "embeddings differ after save/load"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn model_folder_refuses_another_library() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(7);
    let net = NetConfig::compact();
    let pcfg = PredictorConfig::new(512, 3);
    let cfg = TrainConfig::new(pcfg.clone()).with_epochs(1);
    let x = vec![vec![0.5f32; 512]; 3];
    let t = train_predictor(
        &cfg,
        &x,
        &[0, 1, 2],
        None,
        None,
        &d,
        false,
        &mut Reporter::quiet(),
    )
    .unwrap();
    let info = test_info(&net, pcfg);
    let model = test_model(&net, info, t, &d);
    let dir = tmpdir("folder");
    model.save(&dir).unwrap();
    let err = PhraseModel::load(&dir, "other").unwrap_err();
    assert!(matches!(err, ModelError::WrongLibrary { .. }), "{err}");
    assert!(
        err.to_string().contains("trained for library `test`"),
        "{err}"
    );
    let back = PhraseModel::load(&dir, "abc").unwrap();
    let s = vec![sample(1), sample(2)];
    let p = back.score_phrases(&s);
    let q = model.score_phrases(&s);
    assert_eq!(p, q);
    assert_eq!(p.len(), 2);
    assert!((p[0].iter().sum::<f32>() - 1.0).abs() < 1e-4);
    // f16 storage: the same model up to rounding
    let half = dir.join("half");
    model.save_as(&half, true).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&half.join("encoder.bpk")) * 10 < size(&dir.join("encoder.bpk")) * 6);
    let h = PhraseModel::load(&half, "abc").unwrap().score_phrases(&s);
    for (a, b) in h.iter().flatten().zip(p.iter().flatten()) {
        assert!((a - b).abs() < 1e-2, "{a} vs {b}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_is_deterministic_and_resumes_exactly() {
    let _seeded = seed_lock();
    let d = device();
    let x: Vec<Vec<f32>> = (0..24)
        .map(|i| {
            (0..512)
                .map(|j| (((i * 13 + j * 7) % 23) as f32 - 11.0) / 11.0)
                .collect()
        })
        .collect();
    let y: Vec<usize> = (0..24).map(|i| i % 6).collect();
    let cfg = |epochs| {
        TrainConfig::new(PredictorConfig::compact(6))
            .with_epochs(epochs)
            .with_batch_size(8)
            .with_balanced(true)
            .with_seed(11)
    };
    let run = |dir: &std::path::Path, epochs, resume| {
        let t = train_predictor(
            &cfg(epochs),
            &x,
            &y,
            None,
            Some(dir),
            &d,
            resume,
            &mut Reporter::quiet(),
        )
        .unwrap();
        super::train::predict(&t, &x, &d)
    };
    let (a, b, c) = (tmpdir("det-a"), tmpdir("det-b"), tmpdir("det-c"));
    let full = run(&a, 4, false);
    assert_eq!(run(&b, 4, false), full, "same seed, same result");
    // two epochs, then resume from the checkpoint for the other two
    run(&c, 2, false);
    let state: super::train::LoopState =
        super::train::read_json(&c.join("checkpoint-train/state.json")).unwrap();
    assert_eq!(state.epoch, 2);
    assert_eq!(
        run(&c, 4, true),
        full,
        "resumed run equals the uninterrupted one"
    );
    for dir in [a, b, c] {
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn early_stopping_records_the_validation_curve_and_stops_after_its_patience() {
    let _seeded = seed_lock();
    use super::train::{EARLY_STOP_PATIENCE, PredictorData, ValidationCurve, train_predictor_on};
    let d = device();
    // Training labels are noise on these inputs; the validation rows' labels are another
    // noise: nothing learnt carries over, so the best epoch comes early and training stops
    // long before the 200 asked for.
    let row = |i: usize| -> Vec<f32> {
        (0..512)
            .map(|j| (((i * 31 + j * 17) % 29) as f32 - 14.0) / 14.0)
            .collect()
    };
    let x: Vec<Vec<f32>> = (0..48).map(row).collect();
    let y: Vec<usize> = (0..48).map(|i| (i * 7) % 5).collect();
    let vx: Vec<Vec<f32>> = (100..112).map(row).collect();
    let vy: Vec<usize> = (0..12).map(|i| (i * 3) % 5).collect();
    let data = PredictorData {
        x: &x,
        y: &y,
        valid_x: &vx,
        valid_y: &vy,
        adjust: None,
    };
    let cfg = TrainConfig::new(PredictorConfig::compact(5))
        .with_epochs(200)
        .with_batch_size(8)
        .with_seed(3);
    let mut curve = ValidationCurve::new();
    let (_, best) = train_predictor_on(
        &cfg,
        &data,
        None,
        None,
        &d,
        false,
        (&mut Reporter::quiet(), Some(&mut curve)),
    )
    .unwrap();
    // one entry before training and one per epoch run, stopping the patience after the best
    assert_eq!(
        curve.len(),
        best + EARLY_STOP_PATIENCE + 1,
        "best epoch {best}"
    );
    assert!(curve.len() < 200);
    for probs in &curve {
        assert_eq!(probs.len(), vx.len());
        assert!((probs[0].iter().sum::<f32>() - 1.0).abs() < 1e-3);
    }
}

#[test]
fn a_label_outside_the_library_is_an_error_naming_the_file() {
    let _seeded = seed_lock();
    use crate::labels::{LabelSet, LabeledPhrase, LabeledSong};
    let dir = tmpdir("badlabel");
    let path = dir.join("labels.json");
    let mut set = LabelSet::new();
    set.classes = vec!["nowhere/000".into()];
    set.songs.push(LabeledSong {
        audio: "missing.ogg".into(),
        content_hash: None,
        phrases: vec![LabeledPhrase {
            start: 0.0,
            end: 4.0,
            label: "nowhere/000".into(),
            status: Default::default(),
        }],
        split: None,
        style: None,
    });
    set.write(&path).unwrap();
    let classes = vec!["a/000".to_string()];
    let err = super::data::load_labeled(&path, &classes, &dir, &mut |_, _| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("labels.json") && msg.contains("nowhere/000"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn coascent_pseudo_labels_updates_m_and_resumes_exactly() {
    let _seeded = seed_lock();
    use super::train::{CoascentConfig, coascent};
    let d = device();
    let x: Vec<Vec<f32>> = (0..12)
        .map(|i| {
            (0..512)
                .map(|j| if j % 6 == i % 6 { 2.0 } else { -0.2 })
                .collect()
        })
        .collect();
    let y: Vec<usize> = (0..12).map(|i| i % 6).collect();
    let tcfg = TrainConfig::new(PredictorConfig::compact(6))
        .with_epochs(15)
        .with_batch_size(6)
        .with_seed(3);
    let t0 = train_predictor(&tcfg, &x, &y, None, None, &d, false, &mut Reporter::quiet()).unwrap();
    // two unlabeled "songs" made of the labeled embeddings
    let unlabeled = vec![x[..6].to_vec(), x[6..].to_vec()];
    let styles: Vec<String> = (0..6).map(|i| format!("s{}", i % 2)).collect();
    let cfg = |epochs| {
        CoascentConfig::new(tcfg.clone())
            .with_epochs(epochs)
            .with_refresh_every(2)
            .with_tau(0.3)
            .with_lr(1e-3)
    };
    let run = |dir: &std::path::Path, epochs, resume| {
        let mut m = Transitions::style_prior(&styles);
        let (t, log) = coascent(
            &cfg(epochs),
            t0.clone(),
            &mut m,
            &x,
            &y,
            &unlabeled,
            &d,
            Some((dir, resume)),
            &mut Reporter::quiet(),
        )
        .unwrap();
        (super::train::predict(&t, &x, &d), m, log)
    };
    let (a, b) = (tmpdir("co-a"), tmpdir("co-b"));
    let (p_full, m_full, log) = run(&a, 4, false);
    assert_eq!(log.pseudo_labels.len(), 2, "refreshed at epochs 0 and 2");
    assert!(log.pseudo_labels[0] > 0, "{log:?}");
    assert_ne!(m_full, Transitions::style_prior(&styles), "M was updated");
    run(&b, 2, false);
    let (p_res, m_res, log_res) = run(&b, 4, true);
    assert_eq!(p_res, p_full);
    assert_eq!(m_res, m_full);
    assert_eq!(log_res, log);
    for dir in [a, b] {
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn candidate_aware_model_round_trips_with_its_features() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(11);
    let net = NetConfig::compact();
    let pcfg = PredictorConfig::compact(3).with_extensions();
    let c = super::features::CANDIDATE_FEATURES;
    let cand: Vec<f32> = (0..3 * c).map(|i| ((i * 7) % 5) as f32 / 5.0).collect();
    let t = pcfg
        .init(&d)
        .with_candidates(&cand)
        .with_prior(&[0.5, 0.0, -0.5]);
    // candidate features change the scores (they enter the head)
    let x = Tensor::<2>::ones([1, pcfg.input_width()], &d);
    let without = pcfg.init(&d).forward(x.clone()).into_data();
    let with = t.forward(x).into_data();
    assert_ne!(without, with);
    let info = ModelInfo {
        matrix_weight: Some(2.0),
        matrix_smoothing: Some(0.5),
        song_context: Some(1.0),
        prior_correction: Some(super::folder::PriorCorrection::from_labels(
            0.5,
            &[0, 0, 0, 1],
            3,
        )),
        ..test_info(&net, pcfg)
    };
    let model = test_model(&net, info, t, &d);
    let dir = tmpdir("candidates");
    model.save(&dir).unwrap();
    let back = PhraseModel::load(&dir, "abc").unwrap();
    let s = vec![sample(1), sample(2), sample(3)];
    assert_eq!(back.score_phrases(&s), model.score_phrases(&s));
    assert_eq!(back.info.matrix_weight(), 2.0);
    assert_eq!(back.info.song_context(), 1.0);
    // The chain's unary terms divide out half the label prior (4:2:1 after add-one
    // smoothing): the common class 0 loses ln 2 against class 1 and 2 ln 2 against class 2.
    let (f, u) = (back.score_phrases(&s), back.chain_scores(&s, None));
    for (f, u) in f.iter().zip(&u) {
        let gap = |a: usize, b: usize| (u[a] - u[b]) - (f[a].ln() - f[b].ln());
        assert!((gap(0, 1) + 0.5 * 2f32.ln()).abs() < 1e-4, "{f:?} {u:?}");
        assert!((gap(0, 2) + 0.5 * 4f32.ln()).abs() < 1e-4, "{f:?} {u:?}");
    }
    // With the network's exponent fitted to 0 the network is not run: F is uniform, as
    // F^0 of the network's own probabilities would be, and the priors still apply.
    let mut off = back;
    off.info.network_weight = Some(0.0);
    off.info.song_context = Some(0.0);
    let p = off.score_phrases(&s);
    assert_eq!(p.len(), s.len());
    for row in &p {
        assert!(row.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6), "{row:?}");
    }
    let tempered = super::evaluation::tempered(&model.score_phrases(&s), 0.0);
    assert_eq!(p, tempered);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_labels_name_the_file_and_the_entry() {
    let dir = tmpdir("bad-labels");
    let labels = dir.join("labels.json");
    let classes = vec!["a/000".to_string(), "b/000".to_string()];
    let write = |label: &str, audio: &str| {
        let json = serde_json::json!({
            "schema": "phrasewise-labels/1",
            "classes": ["a/000", "b/000", "b/000~mirror", "zzz/000", "zzz/000~mirror"],
            "songs": [{"audio": audio, "phrases": [
                {"start": 0.0, "end": 2.0, "label": "a/000"},
                {"start": 2.0, "end": 4.0, "label": label}]}]
        });
        std::fs::write(&labels, json.to_string()).unwrap();
    };
    write("zzz/000", "missing.wav");
    let e = super::data::load_labeled(&labels, &classes, &dir, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("labels.json") && e.contains("song 1 (missing.wav), phrase 2"),
        "{e}"
    );
    assert!(e.contains("`zzz/000`"), "{e}");
    write("b/000", "missing.wav");
    let e = super::data::load_labeled(&labels, &classes, &dir, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("labels.json") && e.contains("missing.wav") && e.contains("not found"),
        "{e}"
    );
    // A mirrored variant's label counts as its original (past the labels, to the audio);
    // the mirror of a phrase the library lacks is still an unknown label.
    write("b/000~mirror", "missing.wav");
    let e = super::data::load_labeled(&labels, &classes, &dir, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("not found"), "{e}");
    write("zzz/000~mirror", "missing.wav");
    let e = super::data::load_labeled(&labels, &classes, &dir, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("`zzz/000~mirror`"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario: train, grow the library, compare
fn candidate_aware_model_scores_phrases_added_after_training() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(5);
    let lib = crate::motion::library::Library::starter().unwrap();
    let all: Vec<&crate::motion::index::PhraseEntry> = lib.index.phrases.iter().collect();
    // trained on three phrases of two moves; the library then gains two phrases (one of a
    // move it knows the twin of, one of a new move)
    let trained: Vec<&crate::motion::index::PhraseEntry> = vec![all[0], all[2], all[10]];
    let grown: Vec<&crate::motion::index::PhraseEntry> =
        vec![all[0], all[1], all[2], all[10], all[12]];
    let net = NetConfig::compact();
    let pcfg = PredictorConfig::compact(3).with_extensions();
    let t = pcfg
        .init(&d)
        .with_candidates(&super::features::candidate_matrix(&trained))
        .with_prior(&[0.3, 0.0, -0.3]);
    let info = ModelInfo {
        classes: trained.iter().map(|p| p.id.clone()).collect(),
        library_name: "three".into(),
        ..test_info(&net, pcfg)
    };
    let styles: Vec<String> = trained.iter().map(|p| p.style.clone()).collect();
    let model = PhraseModel::new(
        info,
        net.encoder.init(&d),
        t,
        Transitions::style_prior(&styles),
        d.clone(),
    );
    let dir = tmpdir("adapt");
    model.save(&dir).unwrap();
    let same = PhraseModel::load_adapted(&dir, ("abc", "three"), &trained, &d).unwrap();
    let s = vec![sample(1), sample(2)];
    assert_eq!(same.score_phrases(&s), model.score_phrases(&s));
    let grown_model = PhraseModel::load_adapted(&dir, ("xyz", "grown"), &grown, &d).unwrap();
    assert_eq!(grown_model.info.classes.len(), 5);
    assert_eq!(grown_model.transitions.k, 5);
    assert!(
        grown_model
            .info
            .trained_on
            .contains("2 phrases new since training")
    );
    let before = model.score_phrases(&s);
    let after = grown_model.score_phrases(&s);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|v| v.is_finite() && *v > 0.0), "{a:?}");
        // the known phrases keep their odds against each other
        let (r_before, r_after) = (b[0] / b[1], a[0] / a[2]);
        assert!(
            (r_before / r_after - 1.0).abs() < 1e-3,
            "{r_before} vs {r_after}"
        );
    }
    // M: a known pair keeps its learned value; a new phrase gets the style prior
    assert_eq!(
        grown_model.transitions.get(0, 2),
        model.transitions.get(0, 1)
    );
    let plain_dir = tmpdir("adapt-plain");
    let plain = PhraseModel::new(
        ModelInfo {
            predictor: PredictorConfig::compact(3),
            ..model.info.clone()
        },
        net.encoder.init(&d),
        PredictorConfig::compact(3).init(&d),
        Transitions::style_prior(&styles),
        d.clone(),
    );
    plain.save(&plain_dir).unwrap();
    let err = PhraseModel::load_adapted(&plain_dir, ("xyz", "grown"), &grown, &d).unwrap_err();
    assert!(matches!(err, ModelError::WrongLibrary { .. }), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&plain_dir).ok();
}

#[test]
fn a_declared_style_ranks_its_repertoire_whatever_the_music_says() {
    let _seeded = seed_lock();
    let d = device();
    d.seed(12);
    let net = NetConfig::compact();
    let pcfg = PredictorConfig::compact(3);
    // Style "a" dances classes 0–1, "b" class 2; the music's features put every song near
    // "a"'s centroid.
    let f = super::data::MUSIC_FEATURES;
    let prior = super::style::StylePrior {
        styles: vec!["a".into(), "b".into()],
        centroids: vec![vec![0.0; f], vec![4.0; f]],
        feature_mean: vec![0.5; f],
        feature_std: vec![1.0; f],
        phrase_given_style: vec![vec![0.45, 0.45, 0.1], vec![0.05, 0.05, 0.9]],
        weight: 1.0,
        declared_weight: Some(2.0),
    };
    let info = ModelInfo {
        style_prior: Some(prior),
        ..test_info(&net, pcfg.clone())
    };
    let model = test_model(&net, info, pcfg.init(&d), &d);
    let dir = tmpdir("declared-style");
    model.save(&dir).unwrap();
    let back = PhraseModel::load(&dir, "abc").unwrap();
    let s = vec![sample(1), sample(2)];
    let guessed = back.score_phrases(&s);
    let declared = back.score_phrases_in_style(&s, Some("B"));
    for (g, dcl) in guessed.iter().zip(&declared) {
        // the music's guess ("a") puts class 2 last; the declared "b" puts it first
        assert!(g[2] < g[0] && g[2] < g[1], "{g:?}");
        assert!(dcl[2] > dcl[0] && dcl[2] > dcl[1], "{dcl:?}");
    }
    // an unknown style is the music's guess; the weights survive the round trip
    assert_eq!(back.score_phrases_in_style(&s, Some("tango")), guessed);
    let p = back.info.style_prior.as_ref().unwrap();
    assert_eq!((p.weight, p.declared_weight), (1.0, Some(2.0)));
    // the guess switched off (weight 0) while a declared style still counts
    let mut off = back;
    if let Some(p) = off.info.style_prior.as_mut() {
        p.weight = 0.0;
    }
    let plain = off.score_phrases(&s);
    assert_ne!(plain, guessed);
    assert_eq!(off.score_phrases_in_style(&s, Some("b")), declared);
    std::fs::remove_dir_all(&dir).ok();
}
