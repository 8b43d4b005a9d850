//! Writing files atomically: readers (and a crash) see either the old content or the new,
//! never a half-written file.
//!
//! [`write_atomic`] writes to a temporary file with a unique name in the target's folder
//! (so concurrent writers never share one, and the rename stays on one file system), syncs
//! it, renames it over the target and syncs the folder, so the rename itself survives a
//! crash. On any error the temporary file is removed. [`write_atomic_with_backup`] first
//! keeps the previous content as `PATH.bak`, itself put in place by a rename.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An error writing a file; every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Creating, writing, syncing or renaming failed.
    #[error("{path}: {err}")]
    Io {
        /// The file being written (or its `.bak`).
        path: PathBuf,
        /// The I/O error.
        err: io::Error,
    },
    /// The value could not be turned into JSON.
    #[error("{path}: {err}")]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The serialisation error.
        err: serde_json::Error,
    },
    /// The path names no file (`/`, `..`, empty).
    #[error("{path}: not a file path")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
}

impl FileError {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Io { path, .. }
            | FileError::Json { path, .. }
            | FileError::NotAFile { path } => path,
        }
    }

    /// The file and an [`io::Error`] saying what went wrong, for error types that only have
    /// an I/O variant.
    pub fn into_io(self) -> (PathBuf, io::Error) {
        match self {
            FileError::Io { path, err } => (path, err),
            FileError::Json { path, err } => (path, io::Error::other(err)),
            FileError::NotAFile { path } => (
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
            ),
        }
    }
}

/// Makes the wrapped error name `path`.
fn at(path: &Path) -> impl Fn(io::Error) -> FileError + '_ {
    move |err| FileError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Writes `bytes` to `path` atomically (see the module documentation). The folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let (dir, name) = split(path)?;
    let (tmp, mut file) = create_temp(&dir, &name).map_err(at(path))?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(at(path)(e));
    }
    sync_dir(&dir).map_err(at(&dir))
}

/// [`write_atomic`], first keeping the previous content of `path` (if it is a file) as
/// `PATH.bak`: hard-linked (or, where links are not possible, copied and synced) to a unique
/// temporary name, then renamed to `PATH.bak`, so the backup is never half-written either.
pub fn write_atomic_with_backup(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let (dir, name) = split(path)?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        let bak = dir.join(format!("{name}.bak"));
        backup(path, &dir, &name, &bak).map_err(at(&bak))?;
    }
    write_atomic(path, bytes)
}

/// Pretty JSON of `value` with a trailing newline, written with [`write_atomic`].
pub fn write_json_atomic<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
) -> Result<(), FileError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|err| FileError::Json {
        path: path.to_path_buf(),
        err,
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The folder holding `path` (`.` for a bare file name) and the file name.
fn split(path: &Path) -> Result<(PathBuf, String), FileError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| FileError::NotAFile {
            path: path.to_path_buf(),
        })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// A fresh temporary name next to the target: `.NAME.PID.COUNTER.NANOS.tmp`. The process id
/// and counter make it unique among this machine's writers; the time guards against a stale
/// file left by a crash of an earlier process with the same id.
fn temp_name(dir: &Path, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(format!(".{name}.{}.{n}.{nanos}.tmp", std::process::id()))
}

/// Creates a new, empty temporary file next to the target (`create_new`, so an existing file
/// is never reused; a few retries with fresh names).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = temp_name(dir, name);
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// Puts the current content of `path` at `bak` through a unique temporary name.
fn backup(path: &Path, dir: &Path, name: &str, bak: &Path) -> io::Result<()> {
    let tmp = temp_name(dir, &format!("{name}.bak"));
    let result = std::fs::hard_link(path, &tmp)
        .or_else(|_| copy_synced(path, &tmp))
        .and_then(|()| std::fs::rename(&tmp, bak));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Copies `from` to `to` and syncs the copy to disk.
fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::copy(from, to)?;
    File::options().write(true).open(to)?.sync_all()
}

/// Syncs the folder so renames in it survive a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Folders cannot be opened as files here (Windows); the rename is what matters.
#[cfg(not(unix))]
fn sync_dir(dir: &Path) -> io::Result<()> {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pw-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let d = scratch("replace");
        let p = d.join("a.json");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(names(&d), ["a.json"]);
        write_json_atomic(&p, &[1, 2]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "[\n  1,\n  2\n]\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn backup_holds_the_previous_content() {
        let d = scratch("backup");
        let p = d.join("p.json");
        write_atomic_with_backup(&p, b"one").unwrap();
        assert_eq!(
            names(&d),
            ["p.json"],
            "no backup of a file that did not exist"
        );
        write_atomic_with_backup(&p, b"two").unwrap();
        write_atomic_with_backup(&p, b"three").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        assert_eq!(std::fs::read(d.join("p.json.bak")).unwrap(), b"two");
        assert_eq!(names(&d), ["p.json", "p.json.bak"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_writers_both_succeed_and_one_wins_whole() {
        let d = scratch("race");
        let p = d.join("r.bin");
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; 1 << 19];
        for _ in 0..4 {
            std::thread::scope(|s| {
                let ha = s.spawn(|| write_atomic_with_backup(&p, &a));
                let hb = s.spawn(|| write_atomic(&p, &b));
                ha.join().unwrap().unwrap();
                hb.join().unwrap().unwrap();
            });
            let got = std::fs::read(&p).unwrap();
            assert!(got == a || got == b, "a torn file of {} bytes", got.len());
        }
        assert_eq!(names(&d), ["r.bin", "r.bin.bak"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_file() {
        let d = scratch("missing");
        let p = d.join("no-such-folder").join("x.json");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.path(), p);
        assert!(e.to_string().contains("no-such-folder"), "{e}");
        let e = write_atomic_with_backup(Path::new("/"), b"x").unwrap_err();
        assert!(matches!(e, FileError::NotAFile { .. }), "{e}");
        assert_eq!(names(&d), Vec::<String>::new());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
