//! Labeled examples out of reviewed projects, in the `phrasewise-labels/1` format:
//!
//! ```json
//! {"schema": "phrasewise-labels/1", "classes": ["phrase ids", "..."],
//!  "songs": [{"audio": "path relative to the labels file",
//!             "phrases": [{"start": 0.0, "end": 4.1, "label": "groove_bounce/000"}],
//!             "split": "train"}]}
//! ```
//!
//! Accepted, swapped and relabeled slots become examples; suggested and rejected slots do not.
//! `classes` is the sorted union of all labels, so merging projects in any order gives the
//! same file. The plain types are defined one layer down, in [`crate::labels`], so the model
//! (layer 2) can read them.

use super::ChoreoError;
use super::paths::{dir_of, relative_to, resolve};
use super::project::{Project, atomic_write, check_schema};
use std::path::Path;

pub use crate::labels::{LABELS_SCHEMA, LabelSet, LabeledPhrase, LabeledSong};

/// Writing label sets from projects, merging them, and loading with the choreography layer's
/// errors (the plain types live in [`crate::labels`]).
impl LabelSet {
    /// Adds the labeled slots of `project` (stored at `project_path`), with the audio path
    /// written relative to `labels_path`. A song already present (same audio path and hash)
    /// is replaced. Returns the number of phrases added; fails when the song's path is not
    /// trusted ([`Project::song_path`]).
    pub fn add_project(
        &mut self,
        project: &Project,
        project_path: &Path,
        labels_path: &Path,
    ) -> Result<usize, super::ChoreoError> {
        let song = project.song_path(project_path)?;
        let audio = relative_to(&dir_of(labels_path), &song);
        let phrases: Vec<LabeledPhrase> = project
            .slots
            .iter()
            .filter(|s| s.decision.status.is_label() && !s.decision.no_match)
            // A label a reviewer rejected does not train the model.
            .filter(|s| {
                s.decision
                    .review
                    .as_ref()
                    .is_none_or(|r| r.verdict != super::review_data::Verdict::Rejected)
            })
            .filter_map(|s| {
                s.decision.chosen.as_ref().map(|c| LabeledPhrase {
                    start: s.start,
                    end: s.end,
                    label: c.clone(),
                    status: if s.decision.status == super::project::SlotStatus::Imported {
                        crate::labels::LabelStatus::Imported
                    } else {
                        crate::labels::LabelStatus::Accepted
                    },
                })
            })
            .collect();
        let n = phrases.len();
        let entry = LabeledSong {
            audio,
            content_hash: Some(project.song.content_hash.clone()),
            phrases,
            split: None,
            style: project.settings.style.clone(),
        };
        self.add_song(entry);
        Ok(n)
    }

    /// Adds a song's labels, replacing an entry for the same audio (path and hash); a
    /// replaced entry keeps its split, and its style when the new entry names none.
    pub fn add_song(&mut self, song: LabeledSong) {
        if let Some(old) = self
            .songs
            .iter_mut()
            .find(|s| s.audio == song.audio && s.content_hash == song.content_hash)
        {
            let (split, style) = (old.split.take(), old.style.take());
            *old = song;
            if old.split.is_none() {
                old.split = split;
            }
            if old.style.is_none() {
                old.style = style;
            }
        } else {
            self.songs.push(song);
        }
        self.refresh_classes();
    }

    /// Merges another set (whose audio paths are relative to `other_path`) into this one
    /// (relative to `self_path`).
    pub fn merge(&mut self, other: &LabelSet, other_path: &Path, self_path: &Path) {
        for s in &other.songs {
            let abs = resolve(&dir_of(other_path), &s.audio);
            let mut s = s.clone();
            s.audio = relative_to(&dir_of(self_path), &abs);
            self.add_song(s);
        }
    }

    /// Reads and checks a labels file.
    pub fn load(path: &Path) -> Result<LabelSet, ChoreoError> {
        let text = crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| ChoreoError::io(path, e))?;
        let json_err = |err| ChoreoError::Json {
            path: path.to_path_buf(),
            err,
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(json_err)?;
        check_schema(&value, "phrasewise-labels/", 1, path)?;
        let set: LabelSet = serde_json::from_value(value).map_err(json_err)?;
        if let Some(bad) = set
            .songs
            .iter()
            .flat_map(|s| &s.phrases)
            .find(|p| !set.classes.contains(&p.label))
        {
            return Err(ChoreoError::Invalid(format!(
                "{}: label `{}` is not among the classes",
                path.display(),
                bad.label
            )));
        }
        Ok(set)
    }

    /// Saves atomically (keeps a `.bak` of the previous file).
    pub fn save(&self, path: &Path) -> Result<(), ChoreoError> {
        let mut json = serde_json::to_string_pretty(self).map_err(|err| ChoreoError::Json {
            path: path.to_path_buf(),
            err,
        })?;
        json.push('\n');
        atomic_write(path, json.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use crate::labels::{LabelSet, LabeledSong};

    #[test]
    fn a_replaced_song_keeps_its_split_and_style_unless_the_new_entry_names_them() {
        let song = |style: Option<&str>, split: Option<&str>| LabeledSong {
            audio: "a.wav".into(),
            content_hash: Some("h".into()),
            phrases: Vec::new(),
            split: split.map(Into::into),
            style: style.map(Into::into),
        };
        let mut set = LabelSet::new();
        set.add_song(song(Some("waltz"), Some("test")));
        set.add_song(song(None, None));
        assert_eq!(set.songs.len(), 1);
        assert_eq!(set.songs[0].style.as_deref(), Some("waltz"));
        assert_eq!(set.songs[0].split.as_deref(), Some("test"));
        set.add_song(song(Some("tango"), None));
        assert_eq!(set.songs[0].style.as_deref(), Some("tango"));
    }
}
