//! The `phrasewise` binary: parses the command line and calls into the library.

use clap::{Parser, Subcommand};
use phrasewise::cli;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "phrasewise",
    version,
    about = "Music phrases in, ranked dance phrases out"
)]
struct Cli {
    /// Without a command: open the editor on the embedded demo song.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the editor (on a song or project; the embedded demo when none is given).
    Edit(EditArgs),
    /// Analyse a song: tempo, beats, bars, sections, melody and music phrases.
    Analyze(cli::AnalyzeArgs),
    /// Motion libraries: build an index from BVH files, or write the starter library.
    #[command(subcommand)]
    Library(LibraryCommand),
    /// Export a planned dance (slots of dance phrases on music spans) as BVH + JSON timeline.
    Export(phrasewise::cli_motion::ExportArgs),
    /// Rank dance phrases for every music phrase of a song and write a project file.
    Suggest(phrasewise::cli_choreo::SuggestArgs),
    /// Render a project's chosen phrases as BVH + JSON timeline.
    #[command(alias = "render")]
    ExportProject(phrasewise::cli_choreo::ExportProjectArgs),
    /// Suggest and render in one go (starter library and its built-in model by default).
    Choreograph(phrasewise::cli_choreo::ChoreographArgs),
    /// Labeled examples from reviewed projects.
    #[command(subcommand)]
    Labels(phrasewise::cli_choreo::LabelsCommand),
    /// Train the next model from a workspace's decisions (validated on held-out songs).
    Learn(phrasewise::cli_learn::LearnArgs),
    /// QA review report (Markdown or HTML) over every project in a workspace folder.
    ReviewReport(phrasewise::cli_choreo::ReviewReportArgs),
    /// Self-supervised pretraining of the encoder and the pretext decoders on songs.
    Pretrain(phrasewise::cli_model::PretrainArgs),
    /// Train the predictor (and the transition matrix) on a labels file: a model folder.
    Train(phrasewise::cli_model::TrainArgs),
    /// Co-ascent learning: pseudo-labels on unlabeled songs, predictor and matrix refined.
    Coascent(phrasewise::cli_model::CoascentArgs),
    /// Top-1/5/10 of a model folder on a labels file's test split (JSON).
    Evaluate(phrasewise::cli_model::EvaluateArgs),
    /// Write the embedded demo song as a WAV file.
    DemoSong {
        /// Output WAV path.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(clap::Args)]
struct EditArgs {
    /// Song (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A) or `*.phrasewise.json` project.
    path: Option<PathBuf>,
    /// Do not open an audio output (the playhead then runs on the wall clock).
    #[arg(long)]
    no_audio: bool,
    /// Unattended run: write a PNG screenshot after the document is loaded, then close.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Unattended run: frames to draw after loading (with --screenshot or --bench-play).
    #[arg(long, default_value_t = 30)]
    frames: usize,
    /// Unattended run: select this slot (0-based) first.
    #[arg(long)]
    select: Option<usize>,
    /// Unattended run: seek here (s) first.
    #[arg(long)]
    seek: Option<f64>,
    /// Unattended run: play while drawing the frames and print frame times, then close.
    #[arg(long)]
    bench_play: bool,
    /// Window size in points, e.g. `1280x720`.
    #[arg(long, value_parser = parse_size, default_value = "1440x900")]
    window: [f32; 2],
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
    phrasewise::app::run_editor(phrasewise::app::StartOptions {
        open: args
            .path
            .clone()
            .map_or(phrasewise::app::Start::Demo, phrasewise::app::Start::Path),
        audio: !args.no_audio,
        script: (args.screenshot.is_some() || args.bench_play).then(|| phrasewise::app::Script {
            select: args.select,
            seek: args.seek,
            play: args.bench_play,
            frames: args.frames,
            screenshot: args.screenshot.clone(),
        }),
        window: args.window,
        ..Default::default()
    })
}

#[derive(Subcommand)]
enum LibraryCommand {
    /// Index a folder of BVH files into dance phrases: `library build BVH_DIR -o LIB_DIR`.
    Build(phrasewise::cli_motion::LibraryBuildArgs),
    /// Write the embedded starter library (BVH + index) to a folder.
    Starter(phrasewise::cli_motion::LibraryStarterArgs),
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .without_time()
        .init();
    let cli = Cli::parse();
    let default = Command::Edit(EditArgs {
        path: None,
        no_audio: false,
        screenshot: None,
        frames: 30,
        select: None,
        seek: None,
        bench_play: false,
        window: [1440.0, 900.0],
    });
    let result = match cli.command.as_ref().unwrap_or(&default) {
        Command::Edit(args) => run_edit(args),
        Command::Analyze(args) => cli::analyze(args),
        Command::Library(LibraryCommand::Build(args)) => {
            phrasewise::cli_motion::run_library_build(args)
        }
        Command::Library(LibraryCommand::Starter(args)) => {
            phrasewise::cli_motion::run_library_starter(args)
        }
        Command::Export(args) => phrasewise::cli_motion::run_export(args),
        Command::DemoSong { output } => cli::write_demo_song(output),
        Command::Suggest(args) => phrasewise::cli_choreo::run_suggest(args),
        Command::ExportProject(args) => phrasewise::cli_choreo::run_export_project(args),
        Command::Choreograph(args) => phrasewise::cli_choreo::run_choreograph(args).map(|_| ()),
        Command::Labels(cmd) => phrasewise::cli_choreo::run_labels(cmd),
        Command::Learn(args) => phrasewise::cli_learn::run_learn(args),
        Command::ReviewReport(args) => phrasewise::cli_choreo::run_review_report(args),
        Command::Pretrain(args) => phrasewise::cli_model::run_pretrain(args),
        Command::Train(args) => phrasewise::cli_model::run_train(args),
        Command::Coascent(args) => phrasewise::cli_model::run_coascent(args),
        Command::Evaluate(args) => phrasewise::cli_model::run_evaluate(args).map(|_| ()),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
