//! The command line (layer 6): argument parsing with clap, one file per command group, each
//! command calling a [`crate::service`] and printing what it returns. `src/main.rs` only calls
//! [`main`].

pub mod analyze;
pub mod bench;
pub mod choreo;
pub mod learn;
pub mod model;
pub mod motion;
pub mod progress;
pub mod takes;
pub mod video;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The `phrasewise` command line.
#[derive(Parser)]
#[command(
    name = "phrasewise",
    version,
    about = "Music phrases in, ranked dance phrases out"
)]
pub struct Cli {
    /// Without a command: open the editor on the embedded demo song.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Trust the files under DIR: a project may name them even though they lie outside its
    /// folder (repeatable; also `PHRASEWISE_ALLOW`, a path list).
    #[arg(long = "allow", value_name = "DIR", global = true)]
    pub allow: Vec<std::path::PathBuf>,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Open the editor (on a song or project; the embedded demo when none is given).
    Edit(EditArgs),
    /// Analyse a song: tempo, beats, bars, sections, melody and music phrases.
    Analyze(analyze::AnalyzeArgs),
    /// Motion libraries: build an index from BVH files, or write the starter library.
    #[command(subcommand)]
    Library(LibraryCommand),
    /// Export a planned dance (slots of dance phrases on music spans) as BVH + JSON timeline.
    Export(motion::ExportArgs),
    /// Rank dance phrases for every music phrase of a song and write a project file.
    Suggest(choreo::SuggestArgs),
    /// Render a project's chosen phrases as BVH + JSON timeline.
    #[command(alias = "render")]
    ExportProject(choreo::ExportProjectArgs),
    /// Render a project's dance to an MP4 video (H.264 + AAC, via the system's ffmpeg).
    RenderVideo(video::RenderVideoArgs),
    /// Suggest and render in one go (starter library and its built-in model by default).
    Choreograph(choreo::ChoreographArgs),
    /// Labeled examples from reviewed projects.
    #[command(subcommand)]
    Labels(choreo::LabelsCommand),
    /// Recorded takes: labels and library phrases from motion capture danced to a song.
    #[command(subcommand)]
    Takes(takes::TakesCommand),
    /// Train the next model from a workspace's decisions (validated on held-out songs).
    Learn(learn::LearnArgs),
    /// QA review report (Markdown or HTML) over every project in a workspace folder.
    ReviewReport(choreo::ReviewReportArgs),
    /// Self-supervised pretraining of the encoder and the pretext decoders on songs.
    Pretrain(model::PretrainArgs),
    /// Train the predictor (and the transition matrix) on a labels file: a model folder.
    Train(model::TrainArgs),
    /// Co-ascent learning: pseudo-labels on unlabeled songs, predictor and matrix refined.
    Coascent(model::CoascentArgs),
    /// Top-1/5/10 of a model folder on a labels file's test split, against baselines.
    Evaluate(model::EvaluateArgs),
    /// Benchmarks on data the program makes itself: `bench learn [--quick] [--json]`, `bench metre [--quick] [--json]`.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write the embedded demo song as a WAV file.
    DemoSong {
        /// Output WAV path.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// `library` subcommands.
#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Index a folder of BVH files into dance phrases: `library build BVH_DIR -o LIB_DIR`.
    Build(motion::LibraryBuildArgs),
    /// Write the embedded starter library (BVH + index) to a folder.
    Starter(motion::LibraryStarterArgs),
}

/// Arguments of `edit`.
#[derive(clap::Args)]
pub struct EditArgs {
    /// Song (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A) or `*.phrasewise.json` project.
    pub path: Option<PathBuf>,
    /// Do not open an audio output (the playhead then runs on the wall clock).
    #[arg(long)]
    pub no_audio: bool,
    /// Unattended run: write a PNG screenshot after the document is loaded, then close.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Unattended run: frames to draw after loading (with --screenshot or --bench-play).
    #[arg(long, default_value_t = 30)]
    pub frames: usize,
    /// Unattended run: select this slot (0-based) first.
    #[arg(long)]
    pub select: Option<usize>,
    /// Unattended run: seek here (s) first.
    #[arg(long)]
    pub seek: Option<f64>,
    /// Unattended run: play while drawing the frames and print frame times, then close.
    #[arg(long)]
    pub bench_play: bool,
    /// Unattended run: audition candidate K (0-based) of the selected slot throughout, as
    /// hovering it does.
    #[arg(long)]
    pub audition: Option<usize>,
    /// Window size in points, e.g. `1280x720`.
    #[arg(long, value_parser = parse_size, default_value = "1440x900")]
    pub window: [f32; 2],
}

impl Default for EditArgs {
    fn default() -> Self {
        EditArgs {
            path: None,
            no_audio: false,
            screenshot: None,
            frames: 30,
            select: None,
            seek: None,
            bench_play: false,
            audition: None,
            window: [1440.0, 900.0],
        }
    }
}

fn parse_size(s: &str) -> Result<[f32; 2], String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, e.g. 1280x720"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<f32>()
            .ok()
            .filter(|x| *x >= 200.0 && *x <= 10_000.0)
            .ok_or_else(|| format!("`{s}`: sizes are 200–10000"))
    };
    Ok([p(w)?, p(h)?])
}

fn run_edit(args: &EditArgs) -> anyhow::Result<()> {
    use crate::app::{Script, Start, StartOptions, run_editor};
    run_editor(StartOptions {
        open: args.path.clone().map_or(Start::Demo, Start::Path),
        audio: !args.no_audio,
        script: (args.screenshot.is_some() || args.bench_play).then(|| Script {
            select: args.select,
            seek: args.seek,
            play: args.bench_play,
            frames: args.frames,
            screenshot: args.screenshot.clone(),
            audition: args.audition,
        }),
        window: args.window,
        ..Default::default()
    })
}

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    for dir in &cli.allow {
        crate::confine::allow(dir)
            .map_err(|e| anyhow::anyhow!("--allow {}: {e}", dir.display()))?;
    }
    let default = Command::Edit(EditArgs::default());
    match cli.command.as_ref().unwrap_or(&default) {
        Command::Edit(args) => run_edit(args),
        Command::Analyze(args) => analyze::run_analyze(args),
        Command::Library(LibraryCommand::Build(args)) => motion::run_library_build(args),
        Command::Library(LibraryCommand::Starter(args)) => motion::run_library_starter(args),
        Command::Export(args) => motion::run_export(args),
        Command::DemoSong { output } => Ok(crate::service::analyse::write_demo_song(output)?),
        Command::Suggest(args) => choreo::run_suggest(args),
        Command::ExportProject(args) => choreo::run_export_project(args),
        Command::RenderVideo(args) => video::run_render_video(args).map(|_| ()),
        Command::Choreograph(args) => choreo::run_choreograph(args).map(|_| ()),
        Command::Labels(cmd) => choreo::run_labels(cmd),
        Command::Takes(cmd) => takes::run_takes(cmd),
        Command::Learn(args) => learn::run_learn(args).map(|_| ()),
        Command::ReviewReport(args) => choreo::run_review_report(args),
        Command::Pretrain(args) => model::run_pretrain(args),
        Command::Train(args) => model::run_train(args).map(|_| ()),
        Command::Coascent(args) => model::run_coascent(args).map(|_| ()),
        Command::Evaluate(args) => model::run_evaluate(args).map(|_| ()),
        Command::Bench(cmd) => bench::run_bench(cmd),
    }
}

/// The program: logging to stderr (`RUST_LOG`, default `warn`), parse, run, and exit 1 with
/// `error: …` on failure (exit 130 with `cancelled` when a job was cancelled).
pub fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .without_time()
        .init();
    let cli = Cli::parse();
    let (code, message) = outcome(&run(&cli));
    if let Some(m) = message {
        eprintln!("{m}");
    }
    std::process::ExitCode::from(code)
}

/// Exit status and stderr line of a command's result: 0 and nothing; 130 and `cancelled`
/// for a cancel (not a failure, wherever in the chain it sits); 1 and `error: …` otherwise.
pub fn outcome(r: &anyhow::Result<()>) -> (u8, Option<String>) {
    match r {
        Ok(()) => (0, None),
        Err(e)
            if e.downcast_ref::<crate::service::ServiceError>()
                .is_some_and(crate::service::ServiceError::is_cancelled) =>
        {
            (130, Some("cancelled".to_string()))
        }
        Err(e) => (1, Some(format!("error: {e:#}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn a_cancel_exits_130_and_is_not_an_error() {
        let cancelled: anyhow::Result<()> =
            Err(crate::service::ServiceError::Cancelled).context("training models/v3");
        assert_eq!(outcome(&cancelled), (130, Some("cancelled".to_string())));
        let failed: anyhow::Result<()> = Err(anyhow::anyhow!("disk full"));
        assert_eq!(outcome(&failed), (1, Some("error: disk full".to_string())));
        assert_eq!(outcome(&Ok(())), (0, None));
    }
}
