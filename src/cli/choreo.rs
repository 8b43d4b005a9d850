//! `phrasewise suggest | export-project | choreograph | labels | review-report`.
//!
//! * `suggest SONG [--library DIR] [--top-k 5] -o SONG.phrasewise.json [--json]`: analyse
//!   (cached), rank, write the project; `--json` prints the dance metrics on stdout.
//! * `export-project PROJECT --bvh DANCE.bvh [--json TIMELINE.json]`: the chosen phrase of
//!   every slot, tiled over its music span, blended into one BVH plus timeline.
//! * `choreograph SONG -o DANCE.bvh [--timeline T.json] [--project P] [--json]`: both in one
//!   go; `--json` prints `{"metrics": {…}, "random_baseline": {…}}` on stdout.
//! * `labels export PROJECTS… -o LABELS.json`, `labels coldstart DIR… -o LABELS.json`.
//! * `review-report WORKSPACE [-o report.html|report.md]`.

use std::path::{Path, PathBuf};

use super::motion::RenderArgs;
use super::progress::TerminalProgress;
use crate::choreo::Project;
use crate::choreo::network::Variety;
use crate::export::Timeline;
use crate::service::library::load_library;
use crate::service::suggest::{RenderTarget, SuggestRequest};
use crate::service::{labels, review, suggest, train};

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
    /// Decode the plain chain of the model and the transition matrix, without the variety
    /// penalties (a move reused within 40 slots, the same move back-to-back); the same as
    /// `--variety off`.
    #[arg(long, conflicts_with = "variety")]
    pub no_variety: bool,
    /// The variety penalties: `model` (default) those the model fitted on its labels, where it
    /// has them, else the program's; `on` the program's; `off` none.
    #[arg(long, value_enum, default_value_t = VarietyArg::Model)]
    pub variety: VarietyArg,
    /// The song's dance style (e.g. `waltz`), as the model's labels name styles: a model
    /// that learnt styles ranks that style's repertoire instead of guessing the style from
    /// the music. Saved in the project.
    #[arg(long)]
    pub style: Option<String>,
    /// Print the dance metrics and the random baseline as JSON on stdout (the slot list goes
    /// to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `export-project`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ExportProjectArgs {
    /// Project file.
    pub project: PathBuf,
    /// Output file: a BVH (`--format bvh`) or a glTF binary `.glb` (`--format gltf`).
    #[arg(long, short = 'o', visible_alias = "out")]
    pub bvh: PathBuf,
    /// `bvh` (canonical skeleton + JSON timeline) or `gltf` (a `.glb` with a skinned
    /// skeleton, a bone mesh and one animation, for Blender, Godot, three.js).
    #[arg(long, value_enum, default_value_t = ExportFormat::Bvh)]
    pub format: ExportFormat,
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

/// Output formats of `export-project`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// BVH on the canonical skeleton, with a JSON timeline.
    #[default]
    Bvh,
    /// glTF 2.0 binary (`.glb`).
    Gltf,
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
    pub timeline: Option<PathBuf>,
    /// Print the dance metrics and the random baseline as JSON on stdout:
    /// `{"metrics": {…}, "random_baseline": {…}}` (the summary goes to stderr).
    #[arg(long)]
    pub json: bool,
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
    /// Decode the plain chain of the model and the transition matrix, without the variety
    /// penalties (a move reused within 40 slots, the same move back-to-back); the same as
    /// `--variety off`.
    #[arg(long, conflicts_with = "variety")]
    pub no_variety: bool,
    /// The variety penalties: `model` (default) those the model fitted on its labels, where it
    /// has them, else the program's; `on` the program's; `off` none.
    #[arg(long, value_enum, default_value_t = VarietyArg::Model)]
    pub variety: VarietyArg,
    /// The song's dance style (e.g. `waltz`), as the model's labels name styles: a model
    /// that learnt styles ranks that style's repertoire instead of guessing the style from
    /// the music. Saved in the project.
    #[arg(long)]
    pub style: Option<String>,
}

impl ChoreographArgs {
    /// `choreograph SONG -o OUT` with every other option at its command-line default (read
    /// from the attributes above through clap, so the defaults are written once).
    pub fn new(song: &Path, out: &Path) -> Result<ChoreographArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Line {
            #[command(flatten)]
            args: ChoreographArgs,
        }
        let line: [&std::ffi::OsStr; 5] = [
            "choreograph".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            "--".as_ref(),
            song.as_os_str(),
        ];
        <Line as clap::Parser>::try_parse_from(line).map(|l| l.args)
    }
}

/// `labels` subcommands.
#[derive(clap::Subcommand, Debug, Clone, PartialEq)]
pub enum LabelsCommand {
    /// Merge the reviewed slots of projects into a labels file:
    /// `labels export PROJECTS… -o labels.json`.
    Export(LabelsExportArgs),
    /// A labeled set made by the cold-start choreographer (feature matching + Viterbi) over
    /// folders of songs: `labels coldstart DIR… -o labels.json`.
    Coldstart(ColdstartLabelsArgs),
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

/// Arguments of `labels coldstart`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ColdstartLabelsArgs {
    /// Folders (recursive) or files of songs.
    #[arg(required = true)]
    pub songs: Vec<PathBuf>,
    /// Labels file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Library folder (default: the starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Every n-th song (in sorted order, starting with the n-th) goes to the test split.
    #[arg(long, default_value_t = 4)]
    pub test_every: usize,
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

fn request(
    song: &Path,
    project: &Path,
    library: Option<&PathBuf>,
    model: Option<&String>,
    max_minutes: f64,
    (no_cache, variety, style): (bool, Variety, Option<&String>),
) -> SuggestRequest {
    SuggestRequest {
        style: crate::choreo::project::clean_style(style.map(String::as_str)),
        library: library.cloned(),
        model: model.cloned(),
        max_minutes,
        use_cache: !no_cache,
        decode: (variety != Variety::Model).then(|| variety.settings(None)),
        ..SuggestRequest::new(song, project)
    }
}

/// `--variety`: where the variety penalties come from ([`Variety`]).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VarietyArg {
    /// The model's, fitted on its labels (`model.json` `variety`), else the program's.
    #[default]
    Model,
    /// The program's defaults.
    On,
    /// None: the plain chain.
    Off,
}

/// `--variety`, with `--no-variety` as `off`.
fn variety_of(no_variety: bool, variety: VarietyArg) -> Variety {
    match (no_variety, variety) {
        (true, _) | (_, VarietyArg::Off) => Variety::Off,
        (false, VarietyArg::On) => Variety::On,
        (false, VarietyArg::Model) => Variety::Model,
    }
}

/// `suggest`.
pub fn run_suggest(args: &SuggestArgs) -> anyhow::Result<()> {
    let req = SuggestRequest {
        top_k: args.top_k,
        ..request(
            &args.song,
            &args.out,
            args.library.as_ref(),
            args.model.as_ref(),
            args.max_minutes,
            (
                args.no_cache,
                variety_of(args.no_variety, args.variety),
                args.style.as_ref(),
            ),
        )
    };
    let (mut project, library) = suggest::suggest(&req, &TerminalProgress::new())?;
    project.save(&args.out)?;
    if args.json {
        let report =
            suggest::dance_metrics(&project, &library, &crate::export::ExportOptions::default())?;
        eprint!("{}", project_text(&project, &args.out));
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", project_text(&project, &args.out));
    }
    Ok(())
}

fn project_text(project: &Project, out: &Path) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (t, s) in project.slots.iter().enumerate() {
        let list: Vec<String> = s
            .candidates
            .iter()
            .map(|c| format!("{} ({:.0}%)", c.phrase, 100.0 * c.score.exp()))
            .collect();
        let _ = writeln!(
            text,
            "slot {t:3} {:7.2}–{:7.2} s {:>2} bars [{}]: {}",
            s.start,
            s.end,
            s.bars,
            s.section,
            list.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "{}: {} slots, model {}, library {} ({} phrases)",
        out.display(),
        project.slots.len(),
        project.model,
        project.library.name,
        project.library.phrases
    );
    text
}

fn timeline_text(target: &RenderTarget, tl: &Timeline) -> String {
    format!(
        "{}: {} frames at {} fps ({:.2} s), {} blended slots; timeline {}",
        target.bvh.display(),
        tl.frames,
        tl.fps,
        tl.duration,
        tl.slots.len(),
        target.timeline.display()
    )
}

/// `export-project`.
pub fn run_export_project(args: &ExportProjectArgs) -> anyhow::Result<()> {
    if args.format == ExportFormat::Gltf {
        let options = args.render.options();
        let frames = suggest::export_saved_project_glb(
            &args.project,
            args.library.as_deref(),
            &args.bvh,
            &options,
        )?;
        println!(
            "{}: glTF binary, 22 joints, {frames} frames at {} fps",
            args.bvh.display(),
            options.fps
        );
        return Ok(());
    }
    let target = RenderTarget::new(&args.bvh, args.json.as_deref(), args.render.options());
    let tl = suggest::export_saved_project(&args.project, args.library.as_deref(), &target)?;
    println!("{}", timeline_text(&target, &tl));
    Ok(())
}

/// `choreograph`.
pub fn run_choreograph(args: &ChoreographArgs) -> anyhow::Result<Timeline> {
    let project_path = args
        .project
        .clone()
        .unwrap_or_else(|| args.out.with_extension("phrasewise.json"));
    let req = request(
        &args.song,
        &project_path,
        args.library.as_ref(),
        args.model.as_ref(),
        args.max_minutes,
        (
            args.no_cache,
            variety_of(args.no_variety, args.variety),
            args.style.as_ref(),
        ),
    );
    let target = RenderTarget::new(&args.out, args.timeline.as_deref(), args.render.options());
    let done = suggest::choreograph(
        &req,
        args.project.is_some(),
        args.json,
        &target,
        &TerminalProgress::new(),
    )?;
    let summary = timeline_text(&target, &done.timeline);
    match &done.metrics {
        Some(report) => {
            eprintln!("{summary}");
            println!("{}", serde_json::to_string_pretty(report)?);
        }
        None => println!("{summary}"),
    }
    Ok(done.timeline)
}

/// `labels …`.
pub fn run_labels(cmd: &LabelsCommand) -> anyhow::Result<()> {
    match cmd {
        LabelsCommand::Export(args) => {
            let set = labels::export_labels(&args.projects, &args.out)?;
            println!(
                "{}: {} songs, {} labeled phrases, {} classes",
                args.out.display(),
                set.songs.len(),
                set.examples(),
                set.classes.len()
            );
        }
        LabelsCommand::Coldstart(args) => {
            let library = load_library(args.library.as_deref())?;
            let files = train::song_files(&args.songs)?;
            let set = labels::coldstart_labels(
                &files,
                &args.out,
                &library,
                args.test_every,
                &TerminalProgress::new(),
            )?;
            set.write(&args.out)?;
            let test = set
                .songs
                .iter()
                .filter(|s| s.split.as_deref() == Some("test"))
                .count();
            println!(
                "{}: {} songs ({} test), {} phrases, {} of the library's {} phrases used (a \
                 mirrored variant labeled as its original)",
                args.out.display(),
                set.songs.len(),
                test,
                set.examples(),
                set.classes.len(),
                library.index.class_phrases().len()
            );
        }
    }
    Ok(())
}

/// `review-report`: QA report over a workspace's projects.
pub fn run_review_report(args: &ReviewReportArgs) -> anyhow::Result<()> {
    let report = review::review_report(&args.workspace)?;
    match &args.out {
        None => print!("{}", report.to_markdown()),
        Some(path) => {
            review::write_report(&report, path)?;
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
