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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Suggest and render in one go (cold-start scorer, starter library by default).
    Choreograph(phrasewise::cli_choreo::ChoreographArgs),
    /// Labeled examples from reviewed projects.
    #[command(subcommand)]
    Labels(phrasewise::cli_choreo::LabelsCommand),
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
    let result = match &cli.command {
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
