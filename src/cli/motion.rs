//! `phrasewise library build|starter` and `phrasewise export` (a plan file → BVH).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::export::{ExportOptions, ExportPlan, export_bvh_timeline};
use crate::motion::library::{BuildOptions, build_library};
use crate::motion::starter::write_starter;
use crate::service::library::load_library;

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

/// Runs `export`: reads the plan, blends, writes BVH + timeline, prints a summary.
pub fn run_export(args: &ExportArgs) -> anyhow::Result<()> {
    let text = crate::limits::read_text(&args.plan, crate::limits::MAX_FILE_BYTES)
        .with_context(|| format!("reading {}", args.plan.display()))?;
    let plan: ExportPlan =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", args.plan.display()))?;
    let library = load_library(args.library.as_deref())?;
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
