//! Learn from a workspace: the choreographers' decisions train the next model.
//!
//! A workspace is a folder of `*.phrasewise.json` projects (any depth) plus `models/`, and
//! optionally its motion library in `library/` (an `index.json` folder, used when no library
//! is given; the embedded starter library otherwise):
//! 1. every project's labels (accepted, swapped, relabeled; not review-rejected) are gathered
//!    into `WORKSPACE/labels.json`, songs split train/test by content hash (every fourth song
//!    is held out, at least one);
//! 2. the current model (`models/CURRENT` names a version; the built-in model for the starter
//!    library before the first run) is evaluated on the held-out songs;
//! 3. a new version `models/vN` (N one above the highest version ever made, so a deleted
//!    version's number is never reused) is trained from the current one's encoder (cached
//!    embeddings, so only the predictor and M learn) and evaluated on the same songs;
//! 4. optionally it is refined by co-ascent (the paper's Algorithm 1) on the songs in
//!    `WORKSPACE/unlabeled/`, then evaluated again;
//! 5. it becomes current only if its top-1 (with M) is not worse — a model is never replaced
//!    by an unvalidated one. Every version is kept; [`use_version`] switches back.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::library::{load_library, workspace_library};
use super::train::{CoascentRequest, TrainJob, coascent, evaluate_dir, train_model};
use super::{Progress, Quiet, Result, ServiceError, invalid};
use crate::choreo::LabelSet;
use crate::choreo::network::default_model_dir;
use crate::model::PhraseModel;
use crate::model::train::TrainConfig;

/// What `learn` should do.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnRequest {
    /// Workspace folder.
    pub workspace: PathBuf,
    /// Library folder (default: the workspace's `library/`, else the starter library).
    pub library: Option<PathBuf>,
    /// Predictor epochs.
    pub epochs: usize,
    /// Seed.
    pub seed: u64,
    /// Also run co-ascent on the songs in `WORKSPACE/unlabeled/`.
    pub coascent: bool,
}

impl LearnRequest {
    /// The defaults of `phrasewise learn WORKSPACE` (60 epochs, seed 42, no co-ascent).
    pub fn new(workspace: impl Into<PathBuf>) -> LearnRequest {
        LearnRequest {
            workspace: workspace.into(),
            library: None,
            epochs: 60,
            seed: 42,
            coascent: false,
        }
    }
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
    /// Songs used for training.
    pub songs_train: usize,
    /// Held-out songs.
    pub songs_test: usize,
    /// The previous model on the held-out songs.
    pub before: Option<crate::model::EvalReport>,
    /// The new model on the held-out songs.
    pub after: Option<crate::model::EvalReport>,
    /// Unlabeled songs co-ascent used (0 without co-ascent).
    pub coascent_songs: usize,
}

fn models_dir(ws: &Path) -> PathBuf {
    ws.join("models")
}

/// The version `models/CURRENT` names, if any.
fn current_name(ws: &Path) -> Option<String> {
    std::fs::read_to_string(models_dir(ws).join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The current model folder of a workspace, if one was adopted.
pub fn current_model(ws: &Path) -> Option<PathBuf> {
    let dir = models_dir(ws).join(current_name(ws)?);
    dir.join("model.json").is_file().then_some(dir)
}

fn set_current(ws: &Path, version: &str) -> Result<()> {
    crate::files::write_atomic(
        &models_dir(ws).join("CURRENT"),
        format!("{version}\n").as_bytes(),
    )?;
    Ok(())
}

/// Versions in a workspace (`v1`, `v2`, …, in order) and the current one.
pub fn versions(ws: &Path) -> (Vec<String>, Option<String>) {
    let mut v: Vec<(usize, String)> = version_dirs(ws)
        .into_iter()
        .filter(|(_, name)| models_dir(ws).join(name).join("model.json").is_file())
        .collect();
    v.sort();
    (v.into_iter().map(|(_, n)| n).collect(), current_name(ws))
}

/// Every `vN` entry of `models/` (complete or not), with its number.
fn version_dirs(ws: &Path) -> Vec<(usize, String)> {
    std::fs::read_dir(models_dir(ws))
        .map(|rd| {
            rd.filter_map(std::result::Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name.strip_prefix('v')?.parse::<usize>().ok()?;
                    Some((n, name))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The next version name: one above the highest `vN` present or named current, so a deleted
/// or half-made version is never written over.
pub fn next_version(ws: &Path) -> String {
    let current = current_name(ws).and_then(|c| c.strip_prefix('v')?.parse::<usize>().ok());
    let top = version_dirs(ws)
        .into_iter()
        .map(|(n, _)| n)
        .chain(current)
        .max()
        .unwrap_or(0);
    format!("v{}", top + 1)
}

/// Creates the folder of the next version and returns its name and path. The folder is made
/// with `create_dir`, which fails when it exists, so two runs at once never share a version.
pub fn reserve_version(ws: &Path) -> Result<(String, PathBuf)> {
    for _ in 0..1000 {
        let version = next_version(ws);
        let out = models_dir(ws).join(&version);
        match std::fs::create_dir(&out) {
            Ok(()) => return Ok((version, out)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => invalid!("{}: {e}", out.display()),
        }
    }
    invalid!("{}: no free version name", models_dir(ws).display())
}

/// Gathers the workspace's labels into `WORKSPACE/labels.json` with a train/test split.
pub fn gather_labels(ws: &Path) -> Result<(PathBuf, LabelSet)> {
    let projects = crate::choreo::review::find_projects(ws)?;
    let path = ws.join("labels.json");
    let mut set = LabelSet::new();
    for (p, project) in &projects {
        // one project pointing where it may not does not stop the workspace's learning
        if let Err(e) = set.add_project(project, p, &path) {
            tracing::warn!("{e}; its labels are left out");
        }
    }
    set.songs.retain(|s| !s.phrases.is_empty());
    if set.songs.len() < 2 {
        invalid!(
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

/// Makes an existing version current (undoing a `learn`).
pub fn use_version(ws: &Path, version: &str) -> Result<LearnReport> {
    let dir = models_dir(ws).join(version);
    if !dir.join("model.json").is_file() {
        invalid!("{}: no such model version", dir.display());
    }
    set_current(ws, version)?;
    Ok(LearnReport {
        version: version.to_string(),
        adopted: true,
        labels: 0,
        songs_train: 0,
        songs_test: 0,
        before: None,
        after: None,
        coascent_songs: 0,
    })
}

/// Runs `learn`, reporting its steps to `progress`; a cancel stops it at the next step
/// boundary (a training run itself finishes first), adopts nothing and removes the half-made
/// version.
pub fn learn(req: &LearnRequest, progress: &dyn Progress) -> Result<LearnReport> {
    let ws = &req.workspace;
    if !ws.is_dir() {
        invalid!("{} is not a folder", ws.display());
    }
    std::fs::create_dir_all(models_dir(ws))
        .with_context(|| format!("creating {}", models_dir(ws).display()))?;
    let library_dir = req.library.clone().or_else(|| workspace_library(ws));
    let library = load_library(library_dir.as_deref())?;
    progress.step("gathering labels", 0.05)?;
    let (labels_path, set) = gather_labels(ws)?;
    let base = match (current_model(ws), &library_dir) {
        (Some(d), _) => d,
        (None, None) => default_model_dir()?,
        (None, Some(_)) => invalid!(
            "{}: no model for this library yet; train one with `phrasewise train` and copy it \
             to models/v1 (with a models/CURRENT file saying v1)",
            ws.display()
        ),
    };
    progress.step("evaluating the current model", 0.15)?;
    let before = evaluate_dir(&labels_path, &base, &library)?;
    progress.step("training the predictor", 0.3)?;
    let (version, out) = reserve_version(ws)?;
    let trained = train_version(req, &library, &labels_path, &base, &out)
        .and_then(|after| {
            if req.coascent {
                refine(
                    req,
                    ws,
                    library_dir.as_ref(),
                    &library,
                    &labels_path,
                    &out,
                    progress,
                )
            } else {
                Ok((after, 0))
            }
        })
        .and_then(|r| progress.step("validating", 0.95).map(|()| r));
    let (after, coascent_songs) = match trained {
        Ok(r) => r,
        Err(e) => {
            // Nothing half-made stays behind under a version name.
            let _ = std::fs::remove_dir_all(&out);
            return Err(e);
        }
    };
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

/// Trains the predictor and M of a new version on the base model's encoder.
fn train_version(
    req: &LearnRequest,
    library: &crate::motion::library::Library,
    labels: &Path,
    base: &Path,
    out: &Path,
) -> Result<crate::model::EvalReport> {
    let base_info = PhraseModel::read_info(base)?;
    let mut predictor = base_info.predictor.clone().with_extensions();
    predictor.classes = library.index.class_phrases().len();
    let train = TrainConfig::new(predictor)
        .with_epochs(req.epochs)
        .with_balanced(true)
        .with_seed(req.seed);
    let job = TrainJob {
        labels: labels.to_path_buf(),
        encoder: Some(base.to_path_buf()),
        net: base_info.net.clone(),
        train,
        out: out.to_path_buf(),
        resume: false,
        half: false,
        device: crate::model::default_device(),
        fit_variety: true,
    };
    let mut quiet = crate::model::train::Reporter::quiet();
    Ok(train_model(&job, library, &mut quiet)?.1)
}

/// Co-ascent of the new version on `WORKSPACE/unlabeled/`, then its held-out report.
fn refine(
    req: &LearnRequest,
    ws: &Path,
    library_dir: Option<&PathBuf>,
    library: &crate::motion::library::Library,
    labels: &Path,
    out: &Path,
    progress: &dyn Progress,
) -> Result<(crate::model::EvalReport, usize)> {
    progress.step("co-ascent", 0.7)?;
    let dir = ws.join("unlabeled");
    let songs = std::fs::read_dir(&dir).map_or(0, |rd| {
        rd.filter_map(std::result::Result::ok)
            .filter(|e| e.path().is_file())
            .count()
    });
    if songs == 0 {
        return Err(ServiceError::Invalid(format!(
            "co-ascent: put unlabeled songs in {} (none found)",
            dir.display()
        )));
    }
    let mut request = CoascentRequest::new(labels, vec![dir], out, out);
    request.library = library_dir.cloned();
    request.balanced = true;
    request.seed = req.seed;
    coascent(
        &request,
        &Quiet,
        &mut crate::model::train::Reporter::quiet(),
    )?;
    Ok((evaluate_dir(labels, out, library)?, songs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_above_the_highest_ever_made() {
        let ws = std::env::temp_dir().join(format!("pw-versions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&ws);
        assert_eq!(next_version(&ws), "v1");
        for v in ["v1", "v3", "vx", "notes"] {
            std::fs::create_dir_all(ws.join("models").join(v)).unwrap();
        }
        std::fs::write(ws.join("models/v1/model.json"), "{}").unwrap();
        // v2 was deleted and v3 is half-made: the next is v4, never v3 (count + 1) again.
        assert_eq!(next_version(&ws), "v4");
        assert_eq!(versions(&ws).0, vec!["v1"]);
        assert!(use_version(&ws, "v3").is_err_and(|e| e.to_string().contains("no such")));
        let r = use_version(&ws, "v1").unwrap();
        assert!(r.adopted);
        assert_eq!(current_model(&ws), Some(ws.join("models/v1")));
        // Reserving makes the folder, so the next reservation moves on.
        let (v, out) = reserve_version(&ws).unwrap();
        assert_eq!((v.as_str(), out.is_dir()), ("v4", true));
        assert_eq!(reserve_version(&ws).unwrap().0, "v5");
        // The current version counts even when its folder is gone.
        std::fs::write(ws.join("models/CURRENT"), "v9\n").unwrap();
        assert_eq!(next_version(&ws), "v10");
        let _ = std::fs::remove_dir_all(&ws);
    }
}
