//! Layer 1: the plain `phrasewise-labels/1` labeled-example types, shared by the model (which
//! trains on them) and the choreography layer (which writes them from reviewed projects and
//! adds merging, see `choreo::labels`).
//!
//! ```json
//! {"schema": "phrasewise-labels/1", "classes": ["phrase ids", "..."],
//!  "songs": [{"audio": "path relative to the labels file",
//!             "phrases": [{"start": 0.0, "end": 4.1, "label": "groove_bounce/000"}],
//!             "split": "train"}]}
//! ```

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Schema tag of label files.
pub const LABELS_SCHEMA: &str = "phrasewise-labels/1";

/// Errors reading or writing a labels file.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    /// Reading or writing the file failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        err: std::io::Error,
    },
    /// The JSON is malformed.
    #[error("{path}: {err}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        err: serde_json::Error,
    },
    /// The content breaks a rule of the format.
    #[error("{path}: {msg}")]
    Invalid {
        /// What is wrong.
        msg: String,
        /// The file.
        path: PathBuf,
    },
}

/// Where a label comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelStatus {
    /// A person chose or accepted it (in the editor, or a hand-made labels file).
    #[default]
    Accepted,
    /// Read off a recorded take (`takes import`): to be confirmed in review; training uses it
    /// like an accepted label unless told to leave it out (`train --skip-imported`).
    Imported,
}

impl LabelStatus {
    /// Whether this is the default (not written to files).
    pub fn is_accepted(&self) -> bool {
        *self == LabelStatus::Accepted
    }
}

/// One labeled music phrase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledPhrase {
    /// Start (s).
    pub start: f64,
    /// End (s).
    pub end: f64,
    /// Dance phrase id.
    pub label: String,
    /// Where the label comes from (`accepted` when absent).
    #[serde(default, skip_serializing_if = "LabelStatus::is_accepted")]
    pub status: LabelStatus,
}

/// One song's labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledSong {
    /// Audio path relative to the labels file (absolute when that is impossible).
    pub audio: String,
    /// BLAKE3 of the audio (lets a reader check it has the right file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Labeled phrases in time order.
    pub phrases: Vec<LabeledPhrase>,
    /// `train` / `valid` / `test`, when assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The song's dance style (`waltz`, `cha-cha`, …), when known: `evaluate` then reports a
    /// per-style frequency prior and per-style rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

/// A labeled dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSet {
    /// [`LABELS_SCHEMA`].
    pub schema: String,
    /// Sorted, distinct labels.
    pub classes: Vec<String>,
    /// Songs.
    pub songs: Vec<LabeledSong>,
}

impl Default for LabelSet {
    fn default() -> Self {
        LabelSet {
            schema: LABELS_SCHEMA.to_string(),
            classes: Vec::new(),
            songs: Vec::new(),
        }
    }
}

impl LabelSet {
    /// Empty set.
    pub fn new() -> LabelSet {
        LabelSet::default()
    }

    /// Adds every label of the songs to `classes` (kept sorted and distinct).
    pub fn refresh_classes(&mut self) {
        let mut c: Vec<String> = self
            .songs
            .iter()
            .flat_map(|s| s.phrases.iter().map(|p| p.label.clone()))
            .collect();
        c.append(&mut self.classes);
        c.sort();
        c.dedup();
        self.classes = c;
    }

    /// Number of labeled phrases.
    pub fn examples(&self) -> usize {
        self.songs.iter().map(|s| s.phrases.len()).sum()
    }

    /// The audio file of `song`, resolved against the folder of the labels file at `path`.
    pub fn audio_path(path: &Path, song: &LabeledSong) -> PathBuf {
        let p = Path::new(&song.audio);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// The set without the labels read off recorded takes (status `imported`): each song is
    /// cut where an imported label was, so that no two labels become neighbours that were not
    /// (the transition matrix counts neighbours); songs left without labels are dropped.
    pub fn without_imported(&self) -> LabelSet {
        let mut songs = Vec::new();
        for s in &self.songs {
            for run in s.phrases.split(|p| p.status == LabelStatus::Imported) {
                if !run.is_empty() {
                    songs.push(LabeledSong {
                        phrases: run.to_vec(),
                        ..s.clone()
                    });
                }
            }
        }
        LabelSet {
            schema: self.schema.clone(),
            classes: self.classes.clone(),
            songs,
        }
    }

    /// Reads and checks a labels file (schema `phrasewise-labels/1`, every label among the
    /// classes, phrases with `start < end`).
    pub fn read(path: &Path) -> Result<LabelSet, LabelsError> {
        let text =
            crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES).map_err(|err| {
                LabelsError::Io {
                    path: path.to_path_buf(),
                    err,
                }
            })?;
        let mut set: LabelSet = serde_json::from_str(&text).map_err(|err| LabelsError::Json {
            path: path.to_path_buf(),
            err,
        })?;
        let invalid = |msg: String| LabelsError::Invalid {
            msg,
            path: path.to_path_buf(),
        };
        if set.schema != LABELS_SCHEMA {
            return Err(invalid(format!(
                "schema is `{}`, expected `{LABELS_SCHEMA}`",
                set.schema
            )));
        }
        set.normalise().map_err(invalid)?;
        for p in set.songs.iter().flat_map(|s| &s.phrases) {
            if !set.classes.contains(&p.label) {
                return Err(invalid(format!(
                    "label `{}` is not among the classes",
                    p.label
                )));
            }
            if !(p.start.is_finite() && p.end.is_finite() && p.start < p.end) {
                return Err(invalid(format!(
                    "phrase {}–{} s has no duration",
                    p.start, p.end
                )));
            }
        }
        Ok(set)
    }

    /// Spellings a converted data set is likely to use: `split` without case or blanks, with
    /// `val`/`validation`/`dev` read as `valid` and `holdout`/`held-out`/`testing` as `test`
    /// (a `Test` must not train the model in silence); `style` without surrounding blanks
    /// (empty: none), and spellings of one style that differ only by case made one (the
    /// first seen), so the model's style prior and the per-style baseline group alike.
    fn normalise(&mut self) -> Result<(), String> {
        let mut styles: Vec<String> = Vec::new();
        for (i, song) in self.songs.iter_mut().enumerate() {
            if let Some(split) = &song.split {
                let canonical = match split.trim().to_ascii_lowercase().as_str() {
                    "train" | "training" => "train",
                    "valid" | "val" | "validation" | "dev" => "valid",
                    "test" | "testing" | "holdout" | "held-out" | "heldout" => "test",
                    other => {
                        return Err(format!(
                            "song {} ({}): split `{other}` is not train, valid or test",
                            i + 1,
                            song.audio
                        ));
                    }
                };
                song.split = Some(canonical.to_string());
            }
            song.style = song
                .style
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(
                    |s| match styles.iter().find(|known| known.eq_ignore_ascii_case(s)) {
                        Some(known) => known.clone(),
                        None => {
                            styles.push(s.to_string());
                            s.to_string()
                        }
                    },
                );
        }
        Ok(())
    }

    /// Writes the set as pretty JSON, atomically ([`crate::files::write_json_atomic`]).
    pub fn write(&self, path: &Path) -> Result<(), LabelsError> {
        crate::files::write_json_atomic(path, self).map_err(|e| match e {
            crate::files::FileError::Io { path, err } => LabelsError::Io { path, err },
            crate::files::FileError::Json { path, err } => LabelsError::Json { path, err },
            crate::files::FileError::NotAFile { path } => LabelsError::Invalid {
                msg: "not a file path".into(),
                path,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_checks_labels_and_spans() {
        let dir = std::env::temp_dir().join(format!("pw-labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.json");
        let mut set = LabelSet::new();
        set.classes = vec!["a/000".into()];
        set.songs.push(LabeledSong {
            audio: "song.wav".into(),
            content_hash: None,
            phrases: vec![LabeledPhrase {
                start: 0.0,
                end: 2.0,
                label: "a/000".into(),
                status: LabelStatus::Imported,
            }],
            split: Some("train".into()),
            style: Some("waltz".into()),
        });
        set.write(&path).unwrap();
        let back = LabelSet::read(&path).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            LabelSet::audio_path(&path, &back.songs[0]),
            dir.join("song.wav")
        );
        // without the imported label: nothing of this song is left
        assert!(set.without_imported().songs.is_empty());
        let mut mixed = set.clone();
        let p = |label: &str, status| LabeledPhrase {
            start: 0.0,
            end: 1.0,
            label: label.into(),
            status,
        };
        mixed.songs[0].phrases = vec![
            p("a/000", LabelStatus::Accepted),
            p("a/001", LabelStatus::Accepted),
            p("a/002", LabelStatus::Imported),
            p("a/003", LabelStatus::Accepted),
        ];
        let kept = mixed.without_imported();
        assert_eq!(kept.songs.len(), 2, "cut where the imported label was");
        assert_eq!(kept.songs[0].phrases.len(), 2);
        assert_eq!(kept.songs[1].phrases[0].label, "a/003");
        assert_eq!(kept.songs[1].audio, "song.wav");
        set.songs[0].phrases[0].label = "b/000".into();
        set.write(&path).unwrap();
        let err = LabelSet::read(&path).unwrap_err().to_string();
        assert!(err.contains("l.json") && err.contains("b/000"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn splits_and_styles_of_a_converted_set_are_read_as_meant() {
        let dir = std::env::temp_dir().join(format!("pw-labels-norm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("converted.json");
        let song = |split: &str, style: &str| LabeledSong {
            audio: format!("{split}.wav"),
            content_hash: None,
            phrases: vec![LabeledPhrase {
                start: 0.0,
                end: 2.0,
                label: "a/000".into(),
                status: LabelStatus::Accepted,
            }],
            split: Some(split.into()),
            style: Some(style.into()),
        };
        let mut set = LabelSet::new();
        set.classes = vec!["a/000".into()];
        set.songs = vec![
            song("Test", "Waltz"),
            song(" validation", " waltz "),
            song("TRAIN", "Cha-Cha"),
            song("dev", "cha-cha"),
            song("held-out", "  "),
        ];
        set.write(&path).unwrap();
        let back = LabelSet::read(&path).unwrap();
        let splits: Vec<&str> = back
            .songs
            .iter()
            .filter_map(|s| s.split.as_deref())
            .collect();
        assert_eq!(splits, ["test", "valid", "train", "valid", "test"]);
        let styles: Vec<Option<&str>> = back.songs.iter().map(|s| s.style.as_deref()).collect();
        assert_eq!(
            styles,
            [
                Some("Waltz"),
                Some("Waltz"),
                Some("Cha-Cha"),
                Some("Cha-Cha"),
                None
            ]
        );
        // an unknown split is an error naming the file and the song, not a training song
        set.songs[1].split = Some("heldback".into());
        set.write(&path).unwrap();
        let err = LabelSet::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("converted.json") && err.contains("song 2") && err.contains("heldback"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
