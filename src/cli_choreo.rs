//! Command implementations of the choreography layer, for `src/main.rs` to wire into clap.
//!
//! * `phrasewise suggest SONG [--library DIR] [--top-k 5] -o SONG.phrasewise.json` →
//!   [`run_suggest`]: analyse (cached), rank with the cold-start scorer and the default
//!   transition matrix, write the project.
//! * `phrasewise export-project PROJECT --bvh DANCE.bvh [--json TIMELINE.json]` →
//!   [`run_export_project`]: the chosen phrase of every slot, tiled over its music span,
//!   blended into one BVH plus timeline. (`phrasewise export` stays the plan-file export of
//!   the motion layer; this is a separate command, alias `render`.)
//! * `phrasewise choreograph SONG -o DANCE.bvh [--project P]` → [`run_choreograph`]: both in
//!   one go with the cold-start scorer (a `--model` flag comes with the trained network).
//! * `phrasewise labels export PROJECTS… -o LABELS.json` → [`run_labels`]: reviewed slots of
//!   many projects merged into one `phrasewise-labels/1` file.
//!
//! **Tiling**: a dance phrase is counted at ½, 1 or 2 music beats per dance beat (whichever
//! [`tempo_fit`] picks) and repeated to fill its music phrase, one export slot per
//! repetition, so an 8-beat move fills a 16-beat phrase twice instead of freezing. The first
//! slot starts at 0 s and the last ends at the song's end, so the BVH covers the whole song.

use crate::choreo::LabelSet;
use crate::choreo::network::{ScoreSource, song_scores};
use crate::choreo::project::{Project, RankSettings};
use crate::choreo::score::{beats_in, tempo_fit};
use crate::cli_motion::{ExportOptions, RenderArgs, SlotSpec, export_bvh_timeline};
use crate::motion::export::Timeline;
use crate::motion::library::Library;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

/// Arguments of `suggest`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct SuggestArgs {
    /// Audio file.
    pub song: PathBuf,
    /// Library folder (default: the starter library built into the program).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Candidates kept per slot.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Scorer: a trained model folder, `default` (the built-in model, trained for the starter
    /// library) or `cold-start` (feature matching). Default: `default` with the starter
    /// library, `cold-start` with any other library.
    #[arg(long)]
    pub model: Option<String>,
    /// Project file to write (`*.phrasewise.json`).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Ignore and do not update the analysis cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Refuse audio longer than this many minutes.
    #[arg(long, default_value_t = 20.0)]
    pub max_minutes: f64,
}

/// Arguments of `export-project`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ExportProjectArgs {
    /// Project file.
    pub project: PathBuf,
    /// Output BVH.
    #[arg(long)]
    pub bvh: PathBuf,
    /// Output timeline JSON (default: the BVH path with `.timeline.json`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Library folder (default: the one the project names).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Frame rate and crossfade.
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Arguments of `choreograph`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ChoreographArgs {
    /// Audio file.
    pub song: PathBuf,
    /// Output BVH.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Output timeline JSON (default: the BVH path with `.timeline.json`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the project file here.
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Library folder (default: the starter library built into the program).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Scorer: a trained model folder, `default` (the built-in model, trained for the starter
    /// library) or `cold-start` (feature matching). Default: `default` with the starter
    /// library, `cold-start` with any other library.
    #[arg(long)]
    pub model: Option<String>,
    /// Frame rate and crossfade.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Ignore and do not update the analysis cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Refuse audio longer than this many minutes.
    #[arg(long, default_value_t = 20.0)]
    pub max_minutes: f64,
}

/// `labels` subcommands.
#[derive(clap::Subcommand, Debug, Clone, PartialEq)]
pub enum LabelsCommand {
    /// Merge the reviewed slots of projects into a labels file:
    /// `labels export PROJECTS… -o labels.json`.
    Export(LabelsExportArgs),
    /// A labeled set made by the cold-start choreographer (feature matching + Viterbi) over
    /// folders of songs: `labels coldstart DIR… -o labels.json`.
    Coldstart(crate::cli_model::ColdstartLabelsArgs),
}

/// Arguments of `labels export`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LabelsExportArgs {
    /// Project files.
    #[arg(required = true)]
    pub projects: Vec<PathBuf>,
    /// Labels file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
}

/// The scorer a `--model` value asks for (see [`ScoreSource::parse`]), else the model a
/// workspace adopted (`models/CURRENT` in the project's folder, see `learn`), else the
/// library's default.
pub fn score_source(
    model: Option<&str>,
    library_dir: Option<&Path>,
    project_path: &Path,
) -> ScoreSource {
    match model {
        Some(m) => ScoreSource::parse(m),
        None => project_path
            .parent()
            .and_then(crate::cli_learn::current_model)
            .map_or_else(|| ScoreSource::default_for(library_dir), ScoreSource::Model),
    }
}

fn load_library(dir: Option<&Path>) -> anyhow::Result<Library> {
    Ok(match dir {
        Some(d) => Library::load(d)?,
        None => Library::starter()?,
    })
}

/// Analyses `song` and builds a ranked project for it (not saved).
#[allow(clippy::too_many_arguments)]
pub fn suggest_project(
    song: &Path,
    project_path: &Path,
    library: &Library,
    library_dir: Option<&Path>,
    source: &ScoreSource,
    top_k: usize,
    max_minutes: f64,
    no_cache: bool,
) -> anyhow::Result<Project> {
    let outcome = crate::cli::analyze_file(song, max_minutes, no_cache)?;
    let hash = match outcome.content_hash {
        Some(h) => h,
        None => crate::cache::content_hash(song)?,
    };
    if outcome.analysis.phrases.is_empty() {
        bail!(
            "no music phrases found (too short or no steady beat): {}",
            song.display()
        );
    }
    let settings = RankSettings {
        top_k,
        ..RankSettings::default()
    };
    let scorer = song_scores(
        source,
        song,
        &outcome.analysis,
        outcome.samples.as_deref(),
        &library.index,
    )
    .with_context(|| format!("scoring {}", song.display()))?;
    Ok(Project::new(
        project_path,
        song,
        &hash,
        outcome.analysis,
        &library.index,
        library_dir,
        &scorer,
        settings,
    )?)
}

/// `suggest`.
pub fn run_suggest(args: &SuggestArgs) -> anyhow::Result<()> {
    let library = load_library(args.library.as_deref())?;
    let mut project = suggest_project(
        &args.song,
        &args.out,
        &library,
        args.library.as_deref(),
        &score_source(args.model.as_deref(), args.library.as_deref(), &args.out),
        args.top_k,
        args.max_minutes,
        args.no_cache,
    )?;
    project.save(&args.out)?;
    for (t, s) in project.slots.iter().enumerate() {
        let list: Vec<String> = s
            .candidates
            .iter()
            .map(|c| format!("{} ({:.0}%)", c.phrase, 100.0 * c.score.exp()))
            .collect();
        println!(
            "slot {t:3} {:7.2}–{:7.2} s {:>2} bars [{}]: {}",
            s.start,
            s.end,
            s.bars,
            s.section,
            list.join(", ")
        );
    }
    println!(
        "{}: {} slots, model {}, library {} ({} phrases)",
        args.out.display(),
        project.slots.len(),
        project.model,
        project.library.name,
        project.library.phrases
    );
    Ok(())
}

/// Export slots for a project's chosen phrases (see the module docs on tiling).
pub fn slot_specs(project: &Project, library: &Library) -> anyhow::Result<Vec<SlotSpec>> {
    let song = &project.analysis;
    let n = project.slots.len();
    let mut out = Vec::new();
    for (t, slot) in project.slots.iter().enumerate() {
        let Some(id) = &slot.decision.chosen else {
            bail!("slot {t} has no phrase (rejected and not re-ranked?)");
        };
        let Some(entry) = library.phrase(id) else {
            bail!(
                "slot {t}: phrase `{id}` is not in library `{}`",
                library.index.name
            );
        };
        let start = if t == 0 { 0.0 } else { slot.start };
        let end = if t + 1 == n {
            song.duration.max(slot.end)
        } else {
            slot.end
        };
        let beats = beats_in(song, slot.start, slot.end);
        let mut ibi: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
        ibi.sort_by(f64::total_cmp);
        let music_bpm = ibi
            .get(ibi.len() / 2)
            .filter(|d| **d > 0.0)
            .map_or(song.tempo_bpm, |d| 60.0 / d);
        let counting = tempo_fit(music_bpm, entry.tempo_bpm).map_or(1.0, |f| f.counting);
        let grid: Vec<f64> = if counting >= 2.0 {
            beats.iter().copied().step_by(2).collect()
        } else if counting <= 0.5 {
            let mut g = Vec::with_capacity(beats.len() * 2);
            for w in beats.windows(2) {
                g.push(w[0]);
                g.push(0.5 * (w[0] + w[1]));
            }
            g.extend(beats.last());
            g
        } else {
            beats
        };
        let nd = entry.beats.max(1);
        let intervals = grid.len().saturating_sub(1);
        let reps = ((intervals as f64 / nd as f64).round() as usize).max(1);
        for r in 0..reps {
            let a = (r * nd).min(grid.len().saturating_sub(1));
            let b = if r + 1 == reps {
                grid.len().saturating_sub(1)
            } else {
                ((r + 1) * nd).min(grid.len().saturating_sub(1))
            };
            let s0 = if r == 0 {
                start
            } else {
                grid.get(a).copied().unwrap_or(start)
            };
            let s1 = if r + 1 == reps {
                end
            } else {
                grid.get(b).copied().unwrap_or(end)
            };
            if s1 <= s0 {
                continue;
            }
            out.push(SlotSpec {
                phrase: id.clone(),
                start: s0,
                end: s1,
                beats: grid.get(a..=b).map(<[f64]>::to_vec).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// Library for a project: `override_dir`, else the project's own, with a warning when the
/// fingerprint differs from the one the project was ranked with.
pub fn project_library(
    project: &Project,
    project_path: &Path,
    override_dir: Option<&Path>,
) -> anyhow::Result<Library> {
    let dir = override_dir
        .map(Path::to_path_buf)
        .or_else(|| project.library_dir(project_path));
    let lib = load_library(dir.as_deref())?;
    if crate::choreo::project::library_fingerprint(&lib.index) != project.library.fingerprint {
        tracing::warn!(
            "library `{}` changed since the project was ranked; re-run suggest to refresh the candidates",
            lib.index.name
        );
    }
    Ok(lib)
}

/// Renders a project's choreography to BVH + timeline.
pub fn export_project(
    project: &Project,
    library: &Library,
    opts: &ExportOptions,
    bvh: &Path,
    timeline: &Path,
) -> anyhow::Result<Timeline> {
    let specs = slot_specs(project, library)?;
    export_bvh_timeline(library, &specs, opts, bvh, timeline)
}

fn print_timeline(bvh: &Path, timeline: &Path, tl: &Timeline) {
    println!(
        "{}: {} frames at {} fps ({:.2} s), {} blended slots; timeline {}",
        bvh.display(),
        tl.frames,
        tl.fps,
        tl.duration,
        tl.slots.len(),
        timeline.display()
    );
}

/// `export-project`.
pub fn run_export_project(args: &ExportProjectArgs) -> anyhow::Result<()> {
    let project = Project::read(&args.project)
        .with_context(|| format!("opening project {}", args.project.display()))?;
    let library = project_library(&project, &args.project, args.library.as_deref())?;
    let timeline = args
        .json
        .clone()
        .unwrap_or_else(|| args.bvh.with_extension("timeline.json"));
    let opts = args.render.options();
    let tl = export_project(&project, &library, &opts, &args.bvh, &timeline)?;
    print_timeline(&args.bvh, &timeline, &tl);
    Ok(())
}

/// `choreograph`.
pub fn run_choreograph(args: &ChoreographArgs) -> anyhow::Result<Timeline> {
    let library = load_library(args.library.as_deref())?;
    let project_path = args
        .project
        .clone()
        .unwrap_or_else(|| args.out.with_extension("phrasewise.json"));
    let mut project = suggest_project(
        &args.song,
        &project_path,
        &library,
        args.library.as_deref(),
        &score_source(
            args.model.as_deref(),
            args.library.as_deref(),
            &project_path,
        ),
        RankSettings::default().top_k,
        args.max_minutes,
        args.no_cache,
    )?;
    if let Some(p) = &args.project {
        project.save(p)?;
    }
    let timeline = args
        .json
        .clone()
        .unwrap_or_else(|| args.out.with_extension("timeline.json"));
    let opts = args.render.options();
    let tl = export_project(&project, &library, &opts, &args.out, &timeline)?;
    print_timeline(&args.out, &timeline, &tl);
    Ok(tl)
}

/// `labels …`.
pub fn run_labels(cmd: &LabelsCommand) -> anyhow::Result<()> {
    match cmd {
        LabelsCommand::Export(args) => {
            let set = export_labels(&args.projects, &args.out)?;
            println!(
                "{}: {} songs, {} labeled phrases, {} classes",
                args.out.display(),
                set.songs.len(),
                set.examples(),
                set.classes.len()
            );
            Ok(())
        }
        LabelsCommand::Coldstart(args) => crate::cli_model::run_coldstart_labels(args),
    }
}

/// Merges the reviewed slots of `projects` into a labels file at `out`.
pub fn export_labels(projects: &[PathBuf], out: &Path) -> anyhow::Result<LabelSet> {
    let mut set = LabelSet::new();
    for p in projects {
        let project =
            Project::read(p).with_context(|| format!("opening project {}", p.display()))?;
        set.add_project(&project, p, out);
    }
    set.save(out)?;
    Ok(set)
}

/// Arguments of `review-report`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ReviewReportArgs {
    /// Workspace folder: every `*.phrasewise.json` below it is included.
    pub workspace: PathBuf,
    /// Output file (`.html` for HTML, anything else Markdown); default: Markdown on stdout.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
}

/// `review-report`: QA report over a workspace's projects.
pub fn run_review_report(args: &ReviewReportArgs) -> anyhow::Result<()> {
    let projects = crate::choreo::review::find_projects(&args.workspace)?;
    if projects.is_empty() {
        bail!(
            "no *.phrasewise.json projects under {}",
            args.workspace.display()
        );
    }
    let report = crate::choreo::review::ReviewReport::new(projects);
    match &args.out {
        None => print!("{}", report.to_markdown()),
        Some(path) => {
            let html = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
            let text = if html {
                report.to_html()
            } else {
                report.to_markdown()
            };
            crate::choreo::project::atomic_write(path, text.as_bytes())?;
            eprintln!(
                "{}: {} projects, {} slots, {} rejected in review",
                path.display(),
                report.projects.len(),
                report.totals.slots,
                report.totals.rejected_in_review
            );
        }
    }
    Ok(())
}
