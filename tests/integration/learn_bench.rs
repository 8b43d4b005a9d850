//! The learning benchmark at its quick size (`phrasewise bench learn --quick`): labeled songs
//! generated in four styles (`phrasewise::bench::learn_set`), the encoder pretrained on the
//! train split's audio, the predictor and M₀ trained on its labels, the `evaluate` table on
//! the held-out songs. The network with the matrix must put the true phrase in its top 5 more
//! often than the training-label frequency does: it has to hear the style (and use M), since
//! the frequency prior ignores the music.

use phrasewise::model::train::Reporter;
use phrasewise::service::Quiet;
use phrasewise::service::bench::{BenchLearnRequest, bench_learn};
use phrasewise::service::suggest::{SuggestRequest, suggest};
use phrasewise::service::train::{EvaluateRequest, evaluate};

#[test]
fn model_with_matrix_beats_the_frequency_prior_on_the_quick_benchmark() {
    // A folder that stays between runs (like the analysis cache): the songs are generated
    // and the encoder pretrained once per machine; later runs train and evaluate again.
    let dir = phrasewise::cache::cache_dir().join("test-learn-bench");
    let req = BenchLearnRequest::quick(&dir);
    let key = dir
        .join(req.config.folder_name())
        .join("run/pretrain-key.json");
    let pretrained_before = key.is_file();
    let report = bench_learn(&req, &Quiet, &mut Reporter::quiet()).unwrap();
    let table = &report.table;
    eprintln!("{:?}\n{}", report.seconds, table.to_text());
    let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"style_frequency"), "{names:?}");
    assert_eq!(table.songs, 8, "two held-out songs per style");
    let row = |n: &str| table.row(n).unwrap();
    assert!(
        row("frequency").phrases >= 40,
        "{}",
        row("frequency").phrases
    );
    assert!(
        row("model_matrix").top5 > row("frequency").top5,
        "model + matrix top-5 {:.3} ≤ frequency prior {:.3}\n{}",
        row("model_matrix").top5,
        row("frequency").top5,
        table.to_text()
    );
    // A second run finds the songs written and the labels unchanged.
    let labels = std::fs::read(&report.labels).unwrap();
    let again =
        phrasewise::bench::generate(&req.config, report.labels.parent().unwrap(), &mut |_, _| {})
            .unwrap();
    assert_eq!(std::fs::read(again).unwrap(), labels);
    // The encoder is reused exactly when an earlier run with the same settings finished
    // pretraining; after this run one has.
    assert_eq!(report.pretrain_reused, pretrained_before);
    assert!(key.is_file());
    declared_styles(&report.labels, table);
}

/// The songs' declared styles: `evaluate` ranks with them unless told to guess the style
/// from the music, and a song declared as one style or another is ranked differently by a
/// model whose style prior counts, the style kept in the project.
fn declared_styles(labels: &std::path::Path, table: &phrasewise::model::evaluation::EvalTable) {
    let folder = labels.parent().unwrap();
    let model = folder.join("run/model");
    let guessed = evaluate(&EvaluateRequest {
        labels: labels.to_path_buf(),
        model: model.clone(),
        library: None,
        split: "test".into(),
        device: "flex".into(),
        infer_style: true,
    })
    .unwrap();
    eprintln!("styles guessed from the music:\n{}", guessed.to_text());
    assert!(table.declared_style_weight.is_some(), "{}", table.to_text());
    assert_eq!(guessed.declared_style_weight, None);
    assert_eq!(guessed.row("style_frequency"), table.row("style_frequency"));
    assert!(
        guessed
            .to_text()
            .lines()
            .next()
            .is_some_and(|l| !l.contains("declared"))
    );

    let set: phrasewise::labels::LabelSet =
        serde_json::from_slice(&std::fs::read(labels).unwrap()).unwrap();
    let song = set
        .songs
        .iter()
        .find(|s| s.split.as_deref() == Some("test"))
        .unwrap();
    let own = song.style.clone().unwrap();
    let other = set
        .songs
        .iter()
        .filter_map(|s| s.style.clone())
        .find(|s| *s != own)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
    let weight = info["style_prior"]["declared_weight"].as_f64().unwrap();
    // the variety penalties fitted on the labels: in model.json, printed by evaluate, and
    // what a dance ranked with the model is decoded with
    let variety = table
        .variety
        .expect("variety fitted on the training labels");
    assert!(table.to_text().contains("variety decode fitted on"));
    assert_eq!(
        info["variety"]["diversity_penalty"].as_f64().unwrap() as f32,
        variety.diversity_penalty
    );
    // the decoded dances repeat their moves at least as the labels do as without penalties
    assert!(variety.mismatch <= variety.mismatch_off, "{variety:?}");
    assert!(variety.labels.distinct_move_share > 0.0, "{variety:?}");
    assert!(variety.phrases > 100, "{variety:?}");
    let out = std::env::temp_dir().join(format!("pw-declared-style-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let ranked = |style: &str| {
        let path = out.join(format!("{style}.phrasewise.json"));
        let req = SuggestRequest {
            model: Some(model.display().to_string()),
            style: Some(style.to_string()),
            ..SuggestRequest::new(folder.join(&song.audio), &path)
        };
        let (mut project, _) = suggest(&req, &Quiet).unwrap();
        assert_eq!(project.settings.style.as_deref(), Some(style));
        let d = &project.settings.decode;
        assert_eq!(
            (d.diversity_penalty, d.same_move_penalty, d.diversity_window),
            (
                variety.diversity_penalty,
                variety.same_move_penalty,
                variety.window
            )
        );
        project.save(&path).unwrap();
        let back = phrasewise::service::document::open_project(&path, &Quiet).unwrap();
        assert_eq!(back.project.settings.style.as_deref(), Some(style));
        project
            .slots
            .iter()
            .map(|s| s.candidates.iter().map(|c| c.phrase.clone()).collect())
            .collect::<Vec<Vec<String>>>()
    };
    let (a, b) = (ranked(&own), ranked(&other));
    if weight > 0.0 {
        assert_ne!(
            a, b,
            "declared {own} and {other} ranked alike (weight {weight})"
        );
    } else {
        assert_eq!(a, b, "a style prior of weight 0 changed the ranking");
    }
    std::fs::remove_dir_all(&out).ok();
}
