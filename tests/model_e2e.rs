//! End to end: a labeled set for the starter library made by the cold-start choreographer
//! over the 21 annotated songs of `../shared/data` (every 4th song held out as test), the
//! predictor trained on frozen-encoder embeddings, evaluated on the held-out songs.
//! Skipped when the data folder is absent.

mod common_data;

use phrasewise::cli_model::{TrainJob, coldstart_labels, train_model};
use phrasewise::model::train::{Reporter, TrainConfig};
use phrasewise::model::{NetConfig, PredictorConfig};
use phrasewise::motion::library::Library;
use std::path::{Path, PathBuf};

fn songs(data: &Path) -> Vec<PathBuf> {
    common_data::annotated_songs(data)
        .into_iter()
        .map(|(_, audio, _)| audio)
        .collect()
}

#[test]
fn predictor_beats_chance_on_held_out_songs() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("pw-model-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let labels = dir.join("labels.json");
    let library = Library::starter().unwrap();
    let set = coldstart_labels(&songs(&data), &labels, &library, 4).unwrap();
    set.write(&labels).unwrap();
    let test_songs = set
        .songs
        .iter()
        .filter(|s| s.split.as_deref() == Some("test"))
        .count();
    assert!(test_songs >= 4, "{test_songs} test songs");

    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/model");
    let k = library.index.phrases.len();
    let mut results = Vec::new();
    for (name, encoder) in [
        ("random encoder", None),
        (
            "shipped pretrained encoder",
            Some(shipped.clone()).filter(|p| p.join("encoder.bpk").is_file()),
        ),
    ] {
        if name.starts_with("shipped") && encoder.is_none() {
            continue;
        }
        let job = TrainJob {
            labels: labels.clone(),
            encoder,
            net: NetConfig::compact(),
            train: TrainConfig::new(PredictorConfig::compact(k))
                .with_epochs(60)
                .with_balanced(true)
                .with_seed(7),
            out: dir.join(name.replace(' ', "-")),
            resume: false,
        };
        let (_, report) = train_model(&job, &library, &mut Reporter::quiet()).unwrap();
        eprintln!("{name}: {}", serde_json::to_string(&report).unwrap());
        results.push((name, report));
    }
    for (name, r) in &results {
        assert!(r.phrases >= 40, "{name}: {} test phrases", r.phrases);
        // clearly above chance (1/40 top-1, 5/40 top-5) on songs never seen in training
        assert!(r.without_m.top1 >= 3.0 * r.chance.top1, "{name}: {r:?}");
        assert!(r.without_m.top5 >= 2.0 * r.chance.top5, "{name}: {r:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
