//! `phrasewise learn WORKSPACE [--use vN] [--coascent]`: see [`crate::service::learn`].

use std::path::PathBuf;

use super::progress::TerminalProgress;
use crate::service::learn::{LearnReport, LearnRequest, learn, use_version};

/// Arguments of `learn`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LearnArgs {
    /// Workspace folder (projects anywhere below it; models in `models/`).
    pub workspace: PathBuf,
    /// Library folder (default: the workspace's `library/`, else the starter library).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Predictor epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Make an existing version current instead of training (e.g. `v2`).
    #[arg(long = "use")]
    pub use_version: Option<String>,
    /// Also run co-ascent on the songs in `WORKSPACE/unlabeled/`.
    #[arg(long)]
    pub coascent: bool,
}

/// `learn`: runs and prints the report as JSON.
pub fn run_learn(args: &LearnArgs) -> anyhow::Result<LearnReport> {
    let report = match &args.use_version {
        Some(v) => use_version(&args.workspace, v)?,
        None => learn(
            &LearnRequest {
                workspace: args.workspace.clone(),
                library: args.library.clone(),
                epochs: args.epochs,
                seed: args.seed,
                coascent: args.coascent,
            },
            &TerminalProgress::new(),
        )?,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report)
}
