//! The `phrasewise` binary: parses the command line and calls into the library.

use clap::{Parser, Subcommand};
use phrasewise::cli;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "phrasewise", version, about = "Music phrases in, ranked dance phrases out")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a song: tempo, beats, bars, sections, melody and music phrases.
    Analyze(cli::AnalyzeArgs),
    /// Write the embedded demo song as a WAV file.
    DemoSong {
        /// Output WAV path.
        #[arg(short, long)]
        output: PathBuf,
    },
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
        Command::DemoSong { output } => cli::write_demo_song(output),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
