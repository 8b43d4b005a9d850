//! The dance metrics of a project (issue 15): its chosen phrases blended as the export blends
//! them and measured by [`crate::motion::metrics::measure_dance`], beside a **random
//! baseline**: the same slots with phrases drawn uniformly from the library by a seeded
//! `StdRng` ([`BASELINE_SEED`]), tiled and blended the same way. `choreograph --json`,
//! `suggest --json`, the editor and BENCHMARKS.md all take their numbers from here.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::ExportError;
use super::plan::{ExportOptions, choreograph, slot_specs};
use crate::choreo::Project;
use crate::motion::blend::Choreography;
use crate::motion::library::Library;
use crate::motion::metrics::{DanceMeasure, DanceMetrics, DancedSlot, MusicTimes, measure_dance};

/// Seed of the random baseline's phrase choices.
pub const BASELINE_SEED: u64 = 15;

/// What `choreograph --json` prints: `{"metrics": {...}, "random_baseline": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// The project's dance.
    pub metrics: DanceMetrics,
    /// Random phrases on the same slots.
    pub random_baseline: DanceMetrics,
}

/// The project's slots with the move of each chosen phrase (its clip, a mirrored variant
/// counting as the move it mirrors: [`crate::choreo::variety::move_name`]).
pub fn danced_slots(project: &Project, library: &Library) -> Result<Vec<DancedSlot>, ExportError> {
    project
        .slots
        .iter()
        .enumerate()
        .map(|(t, s)| {
            let id = s
                .decision
                .chosen
                .as_ref()
                .ok_or(ExportError::NoPhrase { slot: t })?;
            let entry = library
                .phrase(id)
                .ok_or_else(|| ExportError::UnknownPhrase {
                    slot: t,
                    phrase: id.clone(),
                    library: library.index.name.clone(),
                })?;
            Ok(DancedSlot {
                start: s.start,
                end: s.end,
                move_id: crate::choreo::variety::move_name(&entry.clip).to_string(),
            })
        })
        .collect()
}

/// Measures `dance`, the blended dance of `project`'s chosen phrases, baked at `fps`.
pub fn measure_dance_of(
    project: &Project,
    library: &Library,
    dance: &Choreography,
    fps: f64,
) -> Result<DanceMeasure, ExportError> {
    let slots = danced_slots(project, library)?;
    let music = MusicTimes {
        beats: &project.analysis.beats,
        onsets: &project.analysis.onsets,
    };
    Ok(measure_dance(dance, music, &slots, fps))
}

/// Blends `project`'s chosen phrases with `opts` (as the export does) and measures them.
pub fn measure_project(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
) -> Result<DanceMeasure, ExportError> {
    let dance = choreograph(library, &slot_specs(project, library)?, opts)?;
    measure_dance_of(project, library, &dance, opts.fps)
}

/// `project` with every slot's phrase drawn uniformly from the library by `StdRng` seeded
/// with `seed` (slots, spans and analysis unchanged).
pub fn random_choices(project: &Project, library: &Library, seed: u64) -> Project {
    let mut out = project.clone();
    let phrases = &library.index.phrases;
    if phrases.is_empty() {
        return out;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for slot in &mut out.slots {
        slot.decision.chosen = Some(phrases[rng.random_range(0..phrases.len())].id.clone());
    }
    out
}

/// The metrics of random phrases on `project`'s slots (see the module docs).
pub fn random_baseline(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
) -> Result<DanceMeasure, ExportError> {
    measure_project(
        &random_choices(project, library, BASELINE_SEED),
        library,
        opts,
    )
}

/// The project's metrics and the random baseline's.
pub fn metrics_report(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
) -> Result<MetricsReport, ExportError> {
    Ok(MetricsReport {
        metrics: measure_project(project, library, opts)?.metrics,
        random_baseline: random_baseline(project, library, opts)?.metrics,
    })
}
