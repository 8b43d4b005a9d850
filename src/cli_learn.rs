//! `phrasewise learn WORKSPACE`: the choreographers' decisions train the next model.
//!
//! A workspace is a folder of `*.phrasewise.json` projects (any depth) plus `models/`, and
//! optionally its motion library in `library/` (an `index.json` folder, used when no
//! `--library` is given; the embedded starter library otherwise):
//! 1. every project's labels (accepted, swapped, relabeled; not review-rejected) are gathered
//!    into `WORKSPACE/labels.json`, songs split train/test by content hash (every fourth song
//!    is held out, at least one);
//! 2. the current model (`models/CURRENT` names a version; the built-in model for the starter
//!    library before the first run) is evaluated on the held-out songs;
//! 3. a new version `models/vN` is trained from the current one's encoder (cached embeddings,
//!    so only the predictor and M learn: seconds to minutes on a CPU) and evaluated on the
//!    same held-out songs;
//! 4. with `--coascent`, the new version is refined by co-ascent (the paper's Algorithm 1) on
//!    the songs in `WORKSPACE/unlabeled/`, then evaluated again;
//! 5. it becomes current only if its top-1 (with M) is not worse — a model is never replaced
//!    by an unvalidated one. Every version is kept; `--use vK` switches back.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::choreo::LabelSet;
use crate::choreo::network::default_model_dir;
use crate::choreo::project::library_fingerprint;
use crate::cli_model::{TrainJob, train_model};
use crate::model::train::TrainConfig;
use crate::model::{EvalReport, PhraseModel, Split};
use crate::motion::library::Library;

/// Arguments of `learn`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LearnArgs {
    /// Workspace folder (projects anywhere below it; models in `models/`).
    pub workspace: PathBuf,
    /// Library folder (default: the starter library).
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

/// What one `learn` did.
#[derive(Debug, Clone, Serialize)]
pub struct LearnReport {
    /// The version trained (or switched to).
    pub version: String,
    /// Whether it is now the current model.
    pub adopted: bool,
    /// Labeled phrases gathered.
    pub labels: usize,
    /// Songs used for training / held out.
    pub songs_train: usize,
    /// Held-out songs.
    pub songs_test: usize,
    /// The previous model on the held-out songs.
    pub before: Option<EvalReport>,
    /// The new model on the held-out songs.
    pub after: Option<EvalReport>,
    /// Unlabeled songs co-ascent used (0 without `--coascent`).
    pub coascent_songs: usize,
}

fn models_dir(ws: &Path) -> PathBuf {
    ws.join("models")
}

/// The workspace's own motion library (`WORKSPACE/library/index.json`), if it has one.
pub fn workspace_library(ws: &Path) -> Option<PathBuf> {
    let dir = ws.join("library");
    dir.join("index.json").is_file().then_some(dir)
}

/// The current model folder of a workspace, if one was adopted.
pub fn current_model(ws: &Path) -> Option<PathBuf> {
    let name = std::fs::read_to_string(models_dir(ws).join("CURRENT")).ok()?;
    let dir = models_dir(ws).join(name.trim());
    dir.join("model.json").is_file().then_some(dir)
}

fn set_current(ws: &Path, version: &str) -> anyhow::Result<()> {
    crate::choreo::project::atomic_write(
        &models_dir(ws).join("CURRENT"),
        format!("{version}\n").as_bytes(),
    )?;
    Ok(())
}

/// Gathers the workspace's labels into `WORKSPACE/labels.json` with a train/test split.
pub fn gather_labels(ws: &Path) -> anyhow::Result<(PathBuf, LabelSet)> {
    let projects = crate::choreo::review::find_projects(ws)?;
    let path = ws.join("labels.json");
    let mut set = LabelSet::new();
    for (p, project) in &projects {
        set.add_project(project, p, &path);
    }
    set.songs.retain(|s| !s.phrases.is_empty());
    if set.songs.len() < 2 {
        bail!(
            "{}: {} song(s) with labels; learning needs at least two (one is held out to \
             validate the new model)",
            ws.display(),
            set.songs.len()
        );
    }
    set.songs.sort_by(|a, b| {
        a.content_hash
            .cmp(&b.content_hash)
            .then(a.audio.cmp(&b.audio))
    });
    let n = set.songs.len();
    for (i, s) in set.songs.iter_mut().enumerate() {
        let test = i % 4 == 3 || (n < 4 && i == n - 1);
        s.split = Some(if test { "test" } else { "train" }.to_string());
    }
    set.save(&path)?;
    Ok((path, set))
}

/// Top-k of the model in `dir` on the `test` split of `labels`.
pub fn evaluate_dir(labels: &Path, dir: &Path, library: &Library) -> anyhow::Result<EvalReport> {
    let device = crate::model::default_device();
    let model = PhraseModel::load_on(dir, &library_fingerprint(&library.index), &device)?;
    let set = crate::cli_model::embed_for_model(&model, dir, labels, &device)?;
    Ok(crate::model::folder::evaluate_embeddings(
        &model.predictor,
        &model.transitions,
        &set.songs_of(Split::Test),
        &device,
    ))
}

/// Versions in a workspace (`v1`, `v2`, …, in order) and the current one.
pub fn versions(ws: &Path) -> (Vec<String>, Option<String>) {
    let mut v: Vec<(usize, String)> = std::fs::read_dir(models_dir(ws))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name.strip_prefix('v')?.parse::<usize>().ok()?;
                    e.path().join("model.json").is_file().then_some((n, name))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    let current = std::fs::read_to_string(models_dir(ws).join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string());
    (v.into_iter().map(|(_, n)| n).collect(), current)
}

/// Runs `learn`.
pub fn learn(args: &LearnArgs) -> anyhow::Result<LearnReport> {
    learn_with(args, &mut |_, _| true)
}

/// [`learn`] reporting its steps to `progress`, which may return `false` to cancel: the run
/// stops at the next step boundary (a training run itself finishes first), adopts nothing and
/// removes the half-made version.
pub fn learn_with(
    args: &LearnArgs,
    progress: &mut dyn FnMut(&str, f32) -> bool,
) -> anyhow::Result<LearnReport> {
    let ws = &args.workspace;
    if !ws.is_dir() {
        bail!("{} is not a folder", ws.display());
    }
    std::fs::create_dir_all(models_dir(ws))
        .with_context(|| format!("creating {}", models_dir(ws).display()))?;
    if let Some(v) = &args.use_version {
        let dir = models_dir(ws).join(v);
        if !dir.join("model.json").is_file() {
            bail!("{}: no such model version", dir.display());
        }
        set_current(ws, v)?;
        return Ok(LearnReport {
            version: v.clone(),
            adopted: true,
            labels: 0,
            songs_train: 0,
            songs_test: 0,
            before: None,
            after: None,
            coascent_songs: 0,
        });
    }
    let library_dir = args.library.clone().or_else(|| workspace_library(ws));
    let library = match &library_dir {
        Some(d) => Library::load(d)?,
        None => Library::starter()?,
    };
    if !progress("gathering labels", 0.05) {
        bail!("cancelled");
    }
    let (labels_path, set) = gather_labels(ws)?;
    let base = match (current_model(ws), &library_dir) {
        (Some(d), _) => d,
        (None, None) => default_model_dir()?,
        (None, Some(_)) => bail!(
            "{}: no model for this library yet; train one with `phrasewise train` and copy it \
             to models/v1 (with a models/CURRENT file saying v1)",
            ws.display()
        ),
    };
    if !progress("evaluating the current model", 0.15) {
        bail!("cancelled");
    }
    let before = evaluate_dir(&labels_path, &base, &library)?;
    if !progress("training the predictor", 0.3) {
        bail!("cancelled");
    }
    let n = std::fs::read_dir(models_dir(ws))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with('v'))
                .count()
        })
        .unwrap_or(0);
    let version = format!("v{}", n + 1);
    let out = models_dir(ws).join(&version);
    let base_info = PhraseModel::read_info(&base)?;
    let k = library.index.phrases.len();
    let mut predictor = base_info.predictor.clone();
    predictor.classes = k;
    let train = TrainConfig::new(predictor)
        .with_epochs(args.epochs)
        .with_balanced(true)
        .with_seed(args.seed);
    let job = TrainJob {
        labels: labels_path.clone(),
        encoder: Some(base.clone()),
        net: base_info.net.clone(),
        train,
        out: out.clone(),
        resume: false,
        half: false,
        device: crate::model::default_device(),
    };
    let mut quiet = crate::model::train::Reporter::quiet();
    let (_, mut after) = train_model(&job, &library, &mut quiet)?;
    let cancelled = |p: &mut dyn FnMut(&str, f32) -> bool, step: &str, f: f32| {
        if p(step, f) {
            false
        } else {
            let _ = std::fs::remove_dir_all(&out);
            true
        }
    };
    let mut coascent_songs = 0;
    if args.coascent {
        if cancelled(progress, "co-ascent", 0.7) {
            bail!("cancelled");
        }
        let dir = ws.join("unlabeled");
        coascent_songs = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .count()
            })
            .unwrap_or(0);
        if coascent_songs == 0 {
            bail!(
                "--coascent: put unlabeled songs in {} (none found)",
                dir.display()
            );
        }
        crate::cli_model::run_coascent(&crate::cli_model::CoascentArgs {
            labels: labels_path.clone(),
            unlabeled: vec![dir],
            model: out.clone(),
            out: out.clone(),
            library: library_dir.clone(),
            epochs: 10,
            tau: 0.9,
            lr: 1e-5,
            refresh_every: 5,
            alpha: 0.5,
            balanced: true,
            seed: args.seed,
            half: false,
            resume: false,
            device: "flex".into(),
            quiet: true,
        })?;
        after = evaluate_dir(&labels_path, &out, &library)?;
    }
    if cancelled(progress, "validating", 0.95) {
        bail!("cancelled");
    }
    let adopted = after.with_m.top1 >= before.with_m.top1;
    if adopted {
        set_current(ws, &version)?;
    }
    let songs_test = set
        .songs
        .iter()
        .filter(|s| s.split.as_deref() == Some("test"))
        .count();
    Ok(LearnReport {
        version,
        adopted,
        labels: set.examples(),
        songs_train: set.songs.len() - songs_test,
        songs_test,
        before: Some(before),
        after: Some(after),
        coascent_songs,
    })
}

/// `learn`: runs and prints the report as JSON.
pub fn run_learn(args: &LearnArgs) -> anyhow::Result<()> {
    let r = learn(args)?;
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(())
}
