//! Labeled examples (`phrasewise-labels/1`): from reviewed projects, or made by the cold-start
//! choreographer over folders of songs.

use std::path::{Path, PathBuf};

use super::analyse::{AnalyseOptions, analyse_file};
use super::{Progress, Quiet, Result};
use crate::choreo::Project;
use crate::choreo::decode::{DecodeSettings, decode};
use crate::choreo::paths::{dir_of, relative_to};
use crate::choreo::score::{ColdStartScorer, Scorer};
use crate::choreo::transition::TransitionMatrix;
use crate::labels::{LabelSet, LabeledPhrase, LabeledSong};
use crate::motion::library::Library;

/// Merges the reviewed slots of `projects` into a labels file at `out`.
pub fn export_labels(projects: &[PathBuf], out: &Path) -> Result<LabelSet> {
    let mut set = LabelSet::new();
    for p in projects {
        let project = Project::read(p)?;
        set.add_project(&project, p, out)?;
    }
    set.save(out)?;
    Ok(set)
}

/// The decode of cold-start labels: a mild penalty on a phrase reused within 4 slots, each
/// phrase its own move. Not the editor's variety decode: its strong, history-dependent
/// penalties would make the labels depend on what came before rather than on the music, which
/// is what the network is to learn; variety is the decoder's job at suggestion time.
fn labelling_settings() -> DecodeSettings {
    DecodeSettings {
        diversity_window: 4,
        diversity_penalty: 0.3,
        same_move_penalty: 1.0,
        ..DecodeSettings::default()
    }
}

/// Labels by the cold-start choreographer: for every song, the analysed music phrases are
/// scored against the library by [`ColdStartScorer`] (tempo fit, intensity, tiling) and the
/// best sequence is decoded with the library's style-block transition matrix (beam search
/// with [`labelling_settings`]). The decoded phrase of each slot is its
/// label; every `test_every`-th kept song goes to the test split. Songs that cannot be read
/// are skipped with a warning, songs without phrases silently. These labels teach the network
/// to imitate the hand-made choreographer — a stand-in for expert labels, not a replacement.
pub fn coldstart_labels(
    files: &[PathBuf],
    out: &Path,
    library: &Library,
    test_every: usize,
    progress: &dyn Progress,
) -> Result<LabelSet> {
    let scorer = ColdStartScorer::default();
    let m = TransitionMatrix::for_library(&library.index)?;
    let mut set = LabelSet::new();
    let mut kept = 0usize;
    for (i, f) in files.iter().enumerate() {
        progress.step("cold-start labels", i as f32 / files.len().max(1) as f32)?;
        let analysed = match analyse_file(f, &AnalyseOptions::default(), &Quiet) {
            Ok(o) => o,
            Err(e) => {
                // The error names the file.
                tracing::warn!("skipped: {:#}", anyhow::Error::new(e));
                continue;
            }
        };
        let song = analysed.analysis;
        if song.phrases.is_empty() {
            continue;
        }
        let scores = scorer.score_all(&song, &library.index);
        let locks = vec![None; song.phrases.len()];
        let d = decode(&scores, &locks, &m, &labelling_settings())?;
        let phrases = song
            .phrases
            .iter()
            .zip(&d.path)
            .map(|(p, &j)| LabeledPhrase {
                start: p.start,
                end: p.end,
                // A mirrored variant is labeled as the move it mirrors (the class a model
                // learns; `LibraryIndex::class_id`).
                label: library
                    .index
                    .class_id(&library.index.phrases[j].id)
                    .to_string(),
                status: Default::default(),
            })
            .collect();
        kept += 1;
        let split = if test_every > 0 && kept.is_multiple_of(test_every) {
            "test"
        } else {
            "train"
        };
        set.songs.push(LabeledSong {
            audio: relative_to(&dir_of(out), &std::path::absolute(f).unwrap_or(f.clone())),
            content_hash: Some(analysed.content_hash),
            phrases,
            split: Some(split.into()),
            style: None,
        });
    }
    set.refresh_classes();
    Ok(set)
}
