//! Export (layer 4): a planned dance — slots of library phrases on music spans — blended and
//! written out. [`plan`] turns a project's chosen phrases into export slots (tiling) and
//! assembles them into a [`Choreography`]; [`bvh`] writes the BVH and its JSON timeline;
//! [`metrics`] measures the blended dance against a random-phrase baseline. A new
//! format goes in its own file here, taking a [`Choreography`] (see `docs/ARCHITECTURE.md`).

pub mod bvh;
pub mod gltf;
pub mod metrics;
pub mod plan;

pub use bvh::{TIMELINE_SCHEMA, Timeline, TimelineSlot, export_dance};
pub use metrics::{MetricsReport, measure_project, metrics_report};
pub use plan::{ExportOptions, ExportPlan, SlotSpec, choreograph, slot_specs};

use std::path::Path;

use crate::choreo::Project;
use crate::motion::blend::Choreography;
use crate::motion::library::Library;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A slot has no phrase (rejected and not re-ranked).
    #[error("slot {slot} has no phrase (rejected and not re-ranked?)")]
    NoPhrase {
        /// The slot.
        slot: usize,
    },
    /// A slot's phrase is not in the library.
    #[error("slot {slot}: phrase `{phrase}` is not in library `{library}`")]
    UnknownPhrase {
        /// The slot.
        slot: usize,
        /// The phrase id.
        phrase: String,
        /// The library's name.
        library: String,
    },
    /// A phrase's motion could not be loaded.
    #[error("loading phrase `{phrase}`: {err}")]
    LoadPhrase {
        /// The phrase id.
        phrase: String,
        /// Why.
        err: crate::motion::MotionError,
    },
    /// The dance would run past [`crate::limits::MAX_SONG_SECONDS`], or the frame rate is
    /// outside the BVH limits.
    #[error("{0}")]
    TooLarge(String),
    /// Blending or writing the motion failed.
    #[error(transparent)]
    Motion(#[from] crate::motion::MotionError),
}

/// Writes the blended dance of `slots` as one BVH on the canonical skeleton (`bvh_out`) and its
/// JSON timeline (`timeline_out`); returns the timeline.
pub fn export_bvh_timeline(
    library: &Library,
    slots: &[SlotSpec],
    opts: &ExportOptions,
    bvh_out: &Path,
    timeline_out: &Path,
) -> Result<Timeline, ExportError> {
    let (lo, hi) = (
        1.0 / crate::limits::MAX_FRAME_TIME,
        1.0 / crate::limits::MIN_FRAME_TIME,
    );
    if !(lo..=hi).contains(&opts.fps) {
        return Err(ExportError::TooLarge(format!(
            "frame rate {} is outside the supported {lo}–{hi} fps",
            opts.fps
        )));
    }
    let ch: Choreography = choreograph(library, slots, opts)?;
    Ok(export_dance(&ch, opts.fps, bvh_out, timeline_out)?)
}

/// Renders a project's chosen phrases to BVH + timeline.
pub fn export_project(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
    bvh: &Path,
    timeline: &Path,
) -> Result<Timeline, ExportError> {
    let specs = slot_specs(project, library)?;
    export_bvh_timeline(library, &specs, opts, bvh, timeline)
}

/// Writes a project's blended dance as a glTF binary ([`gltf::export_glb`]); returns the frame
/// count.
pub fn export_project_glb(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
    glb: &Path,
) -> Result<usize, ExportError> {
    let specs = slot_specs(project, library)?;
    let ch = choreograph(library, &specs, opts)?;
    Ok(gltf::export_glb(&ch, opts.fps, glb)?)
}
