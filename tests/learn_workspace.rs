//! `phrasewise learn WORKSPACE`: labels gathered from the workspace's projects, a new model
//! version trained and validated on held-out songs, adopted only if not worse, versions kept
//! and switchable.

use phrasewise::choreo::network::ScoreSource;
use phrasewise::choreo::project::{Actor, Edit};
use phrasewise::cli_choreo::suggest_project;
use phrasewise::cli_learn::{LearnArgs, current_model, learn};
use phrasewise::motion::library::Library;

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
        let mut p = suggest_project(
            song,
            &path,
            &library,
            None,
            &ScoreSource::ColdStart,
            5,
            20.0,
            false,
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
    assert!(
        learn(&LearnArgs {
            use_version: Some("v9".into()),
            ..args.clone()
        })
        .is_err()
    );
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
