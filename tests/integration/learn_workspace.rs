//! `phrasewise learn WORKSPACE`: labels gathered from the workspace's projects, a new model
//! version trained and validated on held-out songs, adopted only if not worse, versions kept
//! and switchable.

use phrasewise::choreo::network::ScoreSource;
use phrasewise::choreo::project::{Actor, Edit};
use phrasewise::cli::learn::{LearnArgs, run_learn as learn};
use phrasewise::motion::library::Library;
use phrasewise::service::learn::current_model;

/// Progress that records the steps and asks to stop once `stop` is reached.
struct StopAt {
    steps: std::sync::Mutex<Vec<String>>,
    stop: &'static str,
}

impl StopAt {
    fn new(stop: &'static str) -> StopAt {
        StopAt {
            steps: std::sync::Mutex::new(Vec::new()),
            stop,
        }
    }

    fn steps(&self) -> Vec<String> {
        self.steps.lock().unwrap().clone()
    }
}

impl phrasewise::service::Progress for StopAt {
    fn update(&self, step: &str, _: f32) {
        self.steps.lock().unwrap().push(step.to_string());
    }

    fn cancelled(&self) -> bool {
        self.steps.lock().unwrap().last().map(String::as_str) == Some(self.stop)
    }
}

#[test]
fn learn_trains_validates_and_keeps_versions() {
    let ws = std::env::temp_dir().join(format!("pw-learn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    // Two songs: the demo, and a quieter copy that starts 2 s later (different bytes).
    let demo = phrasewise::demo::render_demo(22_050);
    let a = ws.join("a.wav");
    let b = ws.join("b.wav");
    phrasewise::demo::write_wav(&a, &demo.samples, 22_050).unwrap();
    let shifted: Vec<f32> = demo.samples[44_100..].iter().map(|x| x * 0.8).collect();
    phrasewise::demo::write_wav(&b, &shifted, 22_050).unwrap();
    let library = Library::starter().unwrap();
    let actor = Actor::now("ann");
    for (song, name) in [(&a, "a"), (&b, "b")] {
        let path = ws.join(format!("{name}.phrasewise.json"));
        let mut p = phrasewise::service::suggest::suggest_with(
            &phrasewise::service::suggest::SuggestRequest {
                use_cache: true,
                ..phrasewise::service::suggest::SuggestRequest::new(song, &path)
            },
            &library,
            &ScoreSource::ColdStart,
            &phrasewise::service::Quiet,
        )
        .unwrap();
        for t in 0..p.slots.len() {
            p.apply(&Edit::Accept { slot: t }, &actor).unwrap();
        }
        p.save(&path).unwrap();
    }
    let args = LearnArgs {
        workspace: ws.clone(),
        library: None,
        epochs: 15,
        seed: 1,
        use_version: None,
        coascent: false,
    };
    let r = learn(&args).unwrap();
    assert_eq!(r.version, "v1");
    assert_eq!((r.songs_train, r.songs_test), (1, 1));
    assert!(r.labels >= 10, "{}", r.labels);
    let (before, after) = (r.before.clone().unwrap(), r.after.clone().unwrap());
    assert!(
        before.phrases > 0 && before.phrases == after.phrases,
        "same held-out phrases"
    );
    assert!(ws.join("models/v1/model.json").is_file());
    assert!(ws.join("labels.json").is_file());
    // Adopted exactly when it validated at least as well as the model it replaces.
    assert_eq!(r.adopted, after.with_m.top1 >= before.with_m.top1);
    assert_eq!(current_model(&ws).is_some(), r.adopted);
    // A second run trains v2 from the current model; switching back to v1 is one command.
    let r2 = learn(&args).unwrap();
    assert_eq!(r2.version, "v2");
    assert!(ws.join("models/v2/model.json").is_file());
    let back = learn(&LearnArgs {
        use_version: Some("v1".into()),
        ..args.clone()
    })
    .unwrap();
    assert!(back.adopted);
    assert_eq!(current_model(&ws), Some(ws.join("models/v1")));
    // New suggestions in the workspace rank with its adopted model unless told otherwise.
    let next = ws.join("c.phrasewise.json");
    assert_eq!(
        phrasewise::service::scoring::score_source(None, None, &next),
        ScoreSource::Model(ws.join("models/v1"))
    );
    assert_eq!(
        phrasewise::service::scoring::score_source(Some("cold-start"), None, &next),
        ScoreSource::ColdStart
    );
    assert_eq!(
        phrasewise::service::scoring::score_source(
            None,
            None,
            &std::env::temp_dir().join("x.json")
        ),
        ScoreSource::DefaultModel
    );
    let p = phrasewise::service::suggest::suggest_with(
        &phrasewise::service::suggest::SuggestRequest {
            use_cache: true,
            ..phrasewise::service::suggest::SuggestRequest::new(&a, &next)
        },
        &library,
        &phrasewise::service::scoring::score_source(None, None, &next),
        &phrasewise::service::Quiet,
    )
    .unwrap();
    assert!(p.model.starts_with("network:v1@"), "{}", p.model);
    assert!(
        learn(&LearnArgs {
            use_version: Some("v9".into()),
            ..args.clone()
        })
        .is_err()
    );
    // Co-ascent on the workspace's unlabeled songs refines the next version.
    let unl = ws.join("unlabeled");
    std::fs::create_dir_all(&unl).unwrap();
    let other: Vec<f32> = demo.samples[22_050..].iter().map(|x| x * 0.6).collect();
    phrasewise::demo::write_wav(&unl.join("c.wav"), &other, 22_050).unwrap();
    let r3 = learn(&LearnArgs {
        coascent: true,
        ..args.clone()
    })
    .unwrap();
    assert_eq!(r3.version, "v3");
    assert_eq!(r3.coascent_songs, 1);
    assert!(ws.join("models/v3/coascent-log.json").is_file());
    assert!(r3.after.is_some_and(|a| a.phrases > 0));
    let (vs, cur) = phrasewise::service::learn::versions(&ws);
    assert_eq!(vs, vec!["v1", "v2", "v3"]);
    assert_eq!(cur.as_deref(), Some(if r3.adopted { "v3" } else { "v1" }));
    // Cancelling stops at the next step, adopts nothing and leaves no half-made version.
    let stop = StopAt::new("validating");
    let request = phrasewise::service::learn::LearnRequest {
        library: None,
        epochs: args.epochs,
        seed: args.seed,
        ..phrasewise::service::learn::LearnRequest::new(&ws)
    };
    let e = phrasewise::service::learn::learn(&request, &stop).unwrap_err();
    let steps = stop.steps();
    assert!(format!("{e}").contains("cancelled"));
    assert!(
        steps.iter().any(|s| s == "training the predictor"),
        "{steps:?}"
    );
    assert!(!ws.join("models/v4").exists());
    assert_eq!(phrasewise::service::learn::versions(&ws).1, cur);
    // A workspace may carry its own library folder.
    assert_eq!(phrasewise::service::library::workspace_library(&ws), None);
    let lib_dir = ws.join("library");
    std::fs::create_dir_all(&lib_dir).unwrap();
    std::fs::write(lib_dir.join("index.json"), "{}").unwrap();
    assert_eq!(
        phrasewise::service::library::workspace_library(&ws),
        Some(lib_dir.clone())
    );
    std::fs::remove_dir_all(&lib_dir).unwrap();
    // Too little labeled data is a clear error, not a silent no-op.
    let empty = ws.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = learn(&LearnArgs {
        workspace: empty,
        ..args
    })
    .unwrap_err();
    assert!(format!("{e:#}").contains("at least two"), "{e:#}");
    let _ = std::fs::remove_dir_all(ws);
}

/// `learn`'s cost once embeddings are cached: predictor training on 1 000 and 16 000 labels
/// (the paper's labeled-set size), compact predictor, K = 40, class-balanced, 5 epochs timed.
/// Run on purpose: `cargo test --test integration learn_workspace::bench_learn -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run on purpose"]
fn bench_learn_predictor_1000_and_16000_labels() {
    use phrasewise::model::train::{Reporter, TrainConfig, train_predictor};
    let device = phrasewise::model::default_device();
    for n in [1_000usize, 16_000] {
        let mut s = 99u64;
        let mut r = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let x: Vec<Vec<f32>> = (0..n).map(|_| (0..512).map(|_| r()).collect()).collect();
        let y: Vec<usize> = (0..n).map(|i| (i * 7 + i / 13) % 40).collect();
        let epochs = 5;
        let cfg = TrainConfig::new(phrasewise::model::PredictorConfig::compact(40))
            .with_epochs(epochs)
            .with_balanced(true)
            .with_seed(3);
        let t0 = std::time::Instant::now();
        let _ = train_predictor(
            &cfg,
            &x,
            &y,
            None,
            None,
            &device,
            false,
            &mut Reporter::quiet(),
        )
        .unwrap();
        let s = t0.elapsed().as_secs_f64();
        println!(
            "learn predictor: {n} labels, {epochs} epochs in {s:.2} s ({:.0} samples/s); 60 epochs ≈ {:.0} s",
            (n * epochs) as f64 / s,
            s / epochs as f64 * 60.0
        );
    }
}

/// One co-ascent round (pseudo-labels refreshed once, one epoch over labeled + pseudo-labeled)
/// with 1 000 labels and the phrases of 300 unlabeled songs (30 each), cached embeddings,
/// compact predictor, K = 40. `cargo test --test integration learn_workspace::bench_coascent -- --ignored
/// --nocapture`.
#[test]
#[ignore = "benchmark; run on purpose"]
fn bench_coascent_round_300_unlabeled_songs() {
    use phrasewise::model::train::{CoascentConfig, Reporter, TrainConfig, coascent};
    let device = phrasewise::model::default_device();
    let mut s = 5u64;
    let mut r = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let x: Vec<Vec<f32>> = (0..1_000)
        .map(|_| (0..512).map(|_| r()).collect())
        .collect();
    let y: Vec<usize> = (0..1_000).map(|i| (i * 7) % 40).collect();
    let unlabeled: Vec<Vec<Vec<f32>>> = (0..300)
        .map(|_| (0..30).map(|_| (0..512).map(|_| r()).collect()).collect())
        .collect();
    let pcfg = phrasewise::model::PredictorConfig::compact(40);
    let t = pcfg.init(&device);
    let styles: Vec<String> = (0..40).map(|i| format!("s{}", i % 4)).collect();
    let mut m = phrasewise::model::Transitions::style_prior(&styles);
    let cfg = CoascentConfig::new(TrainConfig::new(pcfg).with_seed(1))
        .with_epochs(1)
        .with_refresh_every(1)
        .with_tau(0.0);
    let t0 = std::time::Instant::now();
    let (_, log) = coascent(
        &cfg,
        t,
        &mut m,
        &x,
        &y,
        &unlabeled,
        &device,
        None,
        &mut Reporter::quiet(),
    )
    .unwrap();
    println!(
        "co-ascent round: 1 000 labels + {} unlabeled phrases of 300 songs in {:.2} s",
        log.unlabeled,
        t0.elapsed().as_secs_f64()
    );
}
