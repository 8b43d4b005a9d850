//! `phrasewise takes import`: labels (and new library phrases) from motion-capture takes
//! danced to known songs.

use std::path::PathBuf;

use super::progress::TerminalProgress;
use crate::service::takes::{
    DEFAULT_THRESHOLD, TakeImport, TakeImportRequest, import_take, take_pairs,
};

/// `takes` subcommands.
#[derive(clap::Subcommand)]
pub enum TakesCommand {
    /// Import a take: `takes import SONG TAKE.bvh --library DIR --labels labels.json`, or a
    /// folder pairing `NAME.{wav,flac,mp3,ogg,m4a}` with `NAME.bvh`:
    /// `takes import FOLDER --library DIR --labels labels.json`.
    Import(TakesImportArgs),
}

/// Arguments of `takes import`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct TakesImportArgs {
    /// SONG and TAKE.bvh, or one folder of `NAME.<audio>` + `NAME.bvh` pairs.
    #[arg(required = true, num_args = 1..=2)]
    pub inputs: Vec<PathBuf>,
    /// Take time (s) at which the song starts (negative: the capture started after the
    /// music). Found from the motion when absent.
    #[arg(long, allow_hyphen_values = true)]
    pub offset: Option<f64>,
    /// Library folder to match against and extend (see --from-starter for a new one).
    #[arg(long)]
    pub library: PathBuf,
    /// When the library folder does not exist yet, start it as a copy of the starter library
    /// (otherwise a new folder holds only the takes' phrases).
    #[arg(long)]
    pub from_starter: bool,
    /// Labels file to write (created, or the song's entry replaced).
    #[arg(long)]
    pub labels: PathBuf,
    /// Also write a project for the editor with the take's dance as the chosen phrases
    /// (single take only).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Match threshold (m): a piece nearer than this to a library phrase is labeled with it,
    /// otherwise it becomes a new phrase.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Extra rig-map JSON files or folders.
    #[arg(long = "rigs")]
    pub rigs: Vec<PathBuf>,
    /// Frame rate of the take when its header is wrong.
    #[arg(long)]
    pub fps: Option<f64>,
    /// Dance style of the song (written to the labels and the new phrases).
    #[arg(long)]
    pub style: Option<String>,
    /// Print the import report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `takes …`.
pub fn run_takes(cmd: &TakesCommand) -> anyhow::Result<()> {
    match cmd {
        TakesCommand::Import(args) => run_import(args),
    }
}

fn run_import(args: &TakesImportArgs) -> anyhow::Result<()> {
    let pairs = match args.inputs.as_slice() {
        [song, take] => vec![(song.clone(), take.clone())],
        [dir] if dir.is_dir() => {
            if args.project.is_some() || args.offset.is_some() {
                anyhow::bail!("--project and --offset take a single SONG TAKE.bvh pair");
            }
            take_pairs(dir)?
        }
        [other] => anyhow::bail!(
            "{}: give SONG TAKE.bvh, or a folder of NAME.<audio> + NAME.bvh pairs",
            other.display()
        ),
        _ => anyhow::bail!("give SONG TAKE.bvh, or one folder"),
    };
    let mut reports = Vec::new();
    for (song, take) in pairs {
        let mut req = TakeImportRequest::new(&song, &take, &args.library, &args.labels);
        req.offset = args.offset;
        req.seed_starter = args.from_starter;
        req.project.clone_from(&args.project);
        req.threshold = args.threshold;
        req.rigs.clone_from(&args.rigs);
        req.fps = args.fps;
        req.style.clone_from(&args.style);
        let progress = TerminalProgress::new();
        // the service's errors name the file at fault (song, take, library or labels)
        let r = import_take(&req, &progress)?;
        drop(progress);
        print_summary(&song, &take, &r, args.threshold);
        reports.push(serde_json::json!({
            "song": song.display().to_string(),
            "take": take.display().to_string(),
            "import": r,
        }));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "takes": reports }))?
        );
    }
    Ok(())
}

/// The human summary goes to stderr when `--json` owns stdout, else to stdout; it is short
/// either way, so it always goes to stderr.
fn print_summary(song: &std::path::Path, take: &std::path::Path, r: &TakeImport, threshold: f64) {
    let how = match &r.estimate {
        Some(e) => format!(
            "found: beat fit {:.2}, envelope correlation {:.2}, confidence {:.2}, {} beats paired",
            e.beat_fit, e.envelope_corr, e.confidence, e.paired_beats
        ),
        None => "given".into(),
    };
    eprintln!(
        "{} → {}: the song starts {:.3} s into the take ({how}); take at {:.2} fps",
        take.display(),
        song.display(),
        r.offset + 0.0, // + 0.0: −0 prints as 0
        r.take_fps
    );
    for p in &r.pieces {
        let near = match (&p.nearest, p.distance) {
            (Some(n), Some(d)) => format!("nearest {n} at {d:.3} m"),
            _ => "no library phrase to compare".into(),
        };
        let what = if p.new_phrase {
            format!(
                "new phrase {} (over the {threshold} m threshold; {near})",
                p.label
            )
        } else {
            format!("{} ({near})", p.label)
        };
        eprintln!(
            "  {:>7.2}–{:<7.2} s  {:>2} beats  {what}",
            p.start, p.end, p.beats
        );
    }
    let new = r.pieces.iter().filter(|p| p.new_phrase).count();
    eprintln!(
        "{} pieces labeled ({} matched, {new} new{}), {} music phrases outside the take",
        r.pieces.len(),
        r.pieces.len() - new,
        r.new_clip
            .as_ref()
            .map_or_else(String::new, |c| format!(" in clip {c}")),
        r.outside
    );
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
}
