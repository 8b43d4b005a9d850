//! Settings that persist between runs (recent files, last library, user name), kept apart
//! from projects, and the crash-recovery file.
//!
//! Settings go through eframe's storage (`persistence` feature, one RON file per app in the
//! platform's data folder). Recovery: every 30 s a dirty document is written to
//! `recovery.phrasewise.json` plus a small `recovery.json` saying which project it belongs
//! to, in a folder of its own per document ([`Recovery::for_document`]: a hash of the
//! project's canonical path, or of the song's while untitled), so two editors on two
//! documents never touch each other's files. A clean save or a normal exit removes both;
//! finding them when the document is opened means its last run did not end cleanly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Key of the settings in eframe's storage.
pub const STORAGE_KEY: &str = "phrasewise.settings";
/// Most recent files remembered.
pub const MAX_RECENT: usize = 10;

/// Persistent settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Recently opened songs and projects, newest first.
    pub recent: Vec<PathBuf>,
    /// Library folder used last (`None`: the starter library).
    pub last_library: Option<PathBuf>,
    /// Name recorded with decisions (empty: `$USER`).
    pub user: String,
}

impl Settings {
    /// Moves `path` to the front of the recent list.
    pub fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
    }
}

/// What the recovery sidecar says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryInfo {
    /// Project file the recovered document belongs to (`None`: untitled).
    pub original: Option<PathBuf>,
    /// When it was written (RFC 3339 UTC).
    pub written_at: String,
}

/// The recovery files of one document, in one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    dir: PathBuf,
}

impl Recovery {
    /// Recovery files in `dir`.
    pub fn new(dir: PathBuf) -> Recovery {
        Recovery { dir }
    }

    /// The recovery files of document `doc` (a project file, or the song of an untitled
    /// document) under `base`: a folder named by a hash of its canonical path.
    pub fn for_document(base: &Path, doc: &Path) -> Recovery {
        let canonical = std::fs::canonicalize(doc)
            .or_else(|e| match (doc.parent(), doc.file_name()) {
                (Some(dir), Some(name)) => std::fs::canonicalize(dir).map(|d| d.join(name)),
                _ => Err(e),
            })
            .unwrap_or_else(|_| doc.to_path_buf());
        let hash = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
        let stem: String = doc
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(40)
            .collect();
        Recovery::new(base.join(format!("{stem}-{}", &hash.as_str()[..16])))
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The platform default: `<local data>/phrasewise/recovery`.
    pub fn default_dir() -> PathBuf {
        dirs::data_local_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("phrasewise")
            .join("recovery")
    }

    /// The recovered project file.
    pub fn document(&self) -> PathBuf {
        self.dir.join("recovery.phrasewise.json")
    }

    fn info_path(&self) -> PathBuf {
        self.dir.join("recovery.json")
    }

    /// Writes the sidecar after the document was written.
    pub fn write_info(&self, info: &RecoveryInfo) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(info)?;
        crate::files::write_atomic(&self.info_path(), json.as_bytes())?;
        Ok(())
    }

    /// Creates the folder.
    pub fn ensure_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", self.dir.display()))
    }

    /// A recovery left by a run that did not end cleanly.
    pub fn pending(&self) -> Option<RecoveryInfo> {
        if !self.document().is_file() {
            return None;
        }
        let text = std::fs::read_to_string(self.info_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Removes the recovery files (after a save, a clean exit or a discarded recovery), and
    /// their folder once empty.
    pub fn clear(&self) {
        for p in [self.document(), self.info_path()] {
            if p.exists()
                && let Err(e) = std::fs::remove_file(&p)
            {
                tracing::warn!("removing {}: {e}", p.display());
            }
        }
        // Only succeeds when empty; anything else in it stays.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_list_is_unique_newest_first_and_bounded() {
        let mut s = Settings::default();
        for i in 0..15 {
            s.remember(Path::new(&format!("/songs/{i}.mp3")));
        }
        s.remember(Path::new("/songs/12.mp3"));
        assert_eq!(s.recent.len(), MAX_RECENT);
        assert_eq!(s.recent[0], PathBuf::from("/songs/12.mp3"));
        assert_eq!(s.recent[1], PathBuf::from("/songs/14.mp3"));
        assert_eq!(s.recent.iter().filter(|p| p.ends_with("12.mp3")).count(), 1);
    }

    #[test]
    fn recovery_pending_only_with_both_files() {
        let dir = std::env::temp_dir().join(format!("pw-recovery-{}", std::process::id()));
        let r = Recovery::new(dir.clone());
        r.ensure_dir().expect("dir");
        assert!(r.pending().is_none());
        std::fs::write(r.document(), "{}").expect("write");
        let info = RecoveryInfo {
            original: Some(PathBuf::from("/p/a.phrasewise.json")),
            written_at: "2026-11-26T00:00:00Z".into(),
        };
        r.write_info(&info).expect("info");
        assert_eq!(r.pending(), Some(info));
        r.clear();
        assert!(r.pending().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn each_document_has_its_own_recovery_folder() {
        let base = std::env::temp_dir().join(format!("pw-recovery-docs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("w")).expect("dir");
        let a = Recovery::for_document(&base, &base.join("w/a.phrasewise.json"));
        let b = Recovery::for_document(&base, &base.join("w/b.phrasewise.json"));
        // Same file through another spelling: same folder.
        let a2 = Recovery::for_document(&base, &base.join("w/../w/a.phrasewise.json"));
        std::fs::write(base.join("w/a.phrasewise.json"), "{}").expect("write");
        let a3 = Recovery::for_document(&base, &base.join("w/./a.phrasewise.json"));
        let a4 = Recovery::for_document(&base, &base.join("w/a.phrasewise.json"));
        assert_ne!(a.dir(), b.dir());
        assert!(
            a == a2 && a2 == a3 && a3 == a4,
            "{a:?} {a2:?} {a3:?} {a4:?}"
        );
        assert!(a.dir().starts_with(&base) && a2.dir().starts_with(&base));
        let info = RecoveryInfo {
            original: None,
            written_at: "2026-11-26T00:00:00Z".into(),
        };
        for r in [&a4, &b] {
            r.ensure_dir().expect("dir");
            std::fs::write(r.document(), "{}").expect("write");
            r.write_info(&info).expect("info");
        }
        a4.clear();
        assert!(a4.pending().is_none() && !a4.dir().exists());
        assert_eq!(b.pending(), Some(info), "b's recovery untouched");
        let _ = std::fs::remove_dir_all(base);
    }
}
