//! Command implementations of the motion layer, for `src/main.rs` to wire into clap.
//!
//! * `phrasewise library build BVH_DIR -o LIB_DIR [--overrides F] [--rigs P]… [--name N]
//!   [--strict]` → [`run_library_build`] with [`LibraryBuildArgs`];
//! * `phrasewise library starter -o DIR` → [`run_library_starter`] with
//!   [`LibraryStarterArgs`];
//! * `phrasewise export PLAN.json -o DANCE.bvh [--timeline T.json] [--library DIR]
//!   [--fps 30] [--crossfade 0.25]` → [`run_export`] with [`ExportArgs`]; programs call
//!   [`export_bvh_timeline`] directly.
//!
//! The argument structs derive `clap::Args`, so they can be used as subcommand payloads.

use crate::motion::blend::{BlendOptions, Choreography, Slot};
use crate::motion::export::{Timeline, export_dance};
use crate::motion::library::{BuildOptions, Library, build_library};
use crate::motion::starter::write_starter;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Arguments of `library build`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LibraryBuildArgs {
    /// Folder of BVH files (any rig with a rig map; `overrides.json` and `rigs/*.json` in it
    /// are read automatically).
    pub bvh_dir: PathBuf,
    /// Output library folder (gets `index.json` and `clips/`).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Overrides file (default: BVH_DIR/overrides.json when present).
    #[arg(long)]
    pub overrides: Option<PathBuf>,
    /// Extra rig-map JSON files or folders.
    #[arg(long = "rigs")]
    pub rigs: Vec<PathBuf>,
    /// Library name (default: the folder name).
    #[arg(long)]
    pub name: Option<String>,
    /// Fail on the first bad file instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// Builds a phrase library and prints a summary.
pub fn run_library_build(args: &LibraryBuildArgs) -> anyhow::Result<()> {
    let opts = BuildOptions {
        overrides: args.overrides.clone(),
        rigs: args.rigs.clone(),
        name: args.name.clone(),
        strict: args.strict,
        ..BuildOptions::default()
    };
    let report = build_library(&args.bvh_dir, &args.out, &opts).with_context(|| {
        format!(
            "building a library from {} into {}",
            args.bvh_dir.display(),
            args.out.display()
        )
    })?;
    let idx = &report.index;
    let flagged = idx
        .clips
        .iter()
        .filter(|c| !c.plausibility.flags.is_empty())
        .count();
    println!(
        "{}: {} clips, {} phrases (median {:.1} s), {} flagged implausible, {} skipped",
        args.out.display(),
        idx.clips.len(),
        idx.phrases.len(),
        idx.median_phrase_seconds(),
        flagged,
        idx.skipped.len()
    );
    if report.parse_seconds > 0.0 {
        println!(
            "parsed {:.1} MB of BVH at {:.0} MB/s",
            report.bytes_read as f64 / 1e6,
            report.bytes_read as f64 / 1e6 / report.parse_seconds
        );
    }
    for s in &idx.skipped {
        println!("skipped {}: {}", s.file, s.reason);
    }
    for c in &idx.clips {
        if !c.plausibility.flags.is_empty() {
            println!("flagged {}: {}", c.source, c.plausibility.flags.join("; "));
        }
        if !c.plausibility.warnings.is_empty() {
            println!(
                "warning {}: {}",
                c.source,
                c.plausibility.warnings.join("; ")
            );
        }
    }
    Ok(())
}

/// Arguments of `library starter`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LibraryStarterArgs {
    /// Output folder.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
}

/// Regenerates the starter library into a folder.
pub fn run_library_starter(args: &LibraryStarterArgs) -> anyhow::Result<()> {
    let n = write_starter(&args.out)
        .with_context(|| format!("writing the starter library to {}", args.out.display()))?;
    println!("{}: wrote {n} files", args.out.display());
    Ok(())
}

/// One slot of an export plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotSpec {
    /// Phrase id in the library.
    pub phrase: String,
    /// Music span start (s).
    pub start: f64,
    /// Music span end (s).
    pub end: f64,
    /// Music beat times within the span (s).
    pub beats: Vec<f64>,
}

/// An export plan file: `{"slots": [{"phrase": "...", "start": 0, "end": 4.8, "beats": [...]}]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportPlan {
    /// Slots in time order.
    pub slots: Vec<SlotSpec>,
}

/// Export settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// Frame rate of the baked BVH.
    pub fps: f64,
    /// Crossfade at each switch (s).
    pub crossfade_s: f64,
    /// Align root position and heading at switches.
    pub align_root: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            fps: 30.0,
            crossfade_s: 0.25,
            align_root: true,
        }
    }
}

/// Assembles the slots from `library` into a choreography (time-warped, aligned,
/// crossfaded) without writing anything.
pub fn choreograph(
    library: &Library,
    slots: &[SlotSpec],
    opts: &ExportOptions,
) -> anyhow::Result<Choreography> {
    let margin = opts.crossfade_s.max(0.0) + 0.5;
    let mut placed = Vec::with_capacity(slots.len());
    for s in slots {
        let phrase = library
            .phrase_clip(&s.phrase, margin)
            .with_context(|| format!("loading phrase `{}`", s.phrase))?;
        placed.push(Slot {
            phrase,
            start: s.start,
            end: s.end,
            music_beats: s.beats.clone(),
        });
    }
    Ok(Choreography::new(
        placed,
        BlendOptions {
            crossfade_s: opts.crossfade_s,
            align_root: opts.align_root,
        },
    )?)
}

/// Writes the blended dance as one BVH on the canonical skeleton (`bvh_out`) and its JSON
/// timeline (`timeline_out`); returns the timeline.
pub fn export_bvh_timeline(
    library: &Library,
    slots: &[SlotSpec],
    opts: &ExportOptions,
    bvh_out: &Path,
    timeline_out: &Path,
) -> anyhow::Result<Timeline> {
    let ch = choreograph(library, slots, opts)?;
    Ok(export_dance(&ch, opts.fps, bvh_out, timeline_out)?)
}

/// Arguments of `export`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ExportArgs {
    /// Plan JSON ([`ExportPlan`]).
    pub plan: PathBuf,
    /// Output BVH.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Output timeline JSON (default: the BVH path with `.timeline.json`).
    #[arg(long)]
    pub timeline: Option<PathBuf>,
    /// Library folder (default: the starter library built into the program).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Frame rate and crossfade.
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Rendering options shared by the commands that write a dance (`export`, `export-project`,
/// `choreograph`).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct RenderArgs {
    /// Frame rate of the BVH.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Crossfade length at switches (s).
    #[arg(long, default_value_t = 0.25)]
    pub crossfade: f64,
}

impl RenderArgs {
    /// The export options these arguments ask for (root alignment on).
    pub fn options(&self) -> ExportOptions {
        ExportOptions {
            fps: self.fps,
            crossfade_s: self.crossfade,
            align_root: true,
        }
    }
}

/// Runs `export`: reads the plan, blends, writes BVH + timeline, prints a summary.
pub fn run_export(args: &ExportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("reading {}", args.plan.display()))?;
    let plan: ExportPlan =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", args.plan.display()))?;
    let library = match &args.library {
        Some(d) => Library::load(d)?,
        None => Library::starter()?,
    };
    let timeline = args
        .timeline
        .clone()
        .unwrap_or_else(|| args.out.with_extension("timeline.json"));
    let opts = args.render.options();
    let tl = export_bvh_timeline(&library, &plan.slots, &opts, &args.out, &timeline)?;
    println!(
        "{}: {} frames at {} fps ({:.2} s), {} slots; timeline {}",
        args.out.display(),
        tl.frames,
        tl.fps,
        tl.duration,
        tl.slots.len(),
        timeline.display()
    );
    Ok(())
}
