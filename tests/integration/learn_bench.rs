//! The learning benchmark at its quick size (`phrasewise bench learn --quick`): labeled songs
//! generated in four styles (`phrasewise::bench::learn_set`), the encoder pretrained on the
//! train split's audio, the predictor and M₀ trained on its labels, the `evaluate` table on
//! the held-out songs. The network with the matrix must put the true phrase in its top 5 more
//! often than the training-label frequency does: it has to hear the style (and use M), since
//! the frequency prior ignores the music.

use phrasewise::model::train::Reporter;
use phrasewise::service::Quiet;
use phrasewise::service::bench::{BenchLearnRequest, bench_learn};

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
}
