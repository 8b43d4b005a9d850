//! Writing files atomically: readers (and a crash) see either the old content or the new,
//! never a half-written file.
//!
//! [`write_atomic`] writes to a temporary file with a unique name in the target's folder
//! (so concurrent writers never share one, and the rename stays on one file system), syncs
//! it, renames it over the target and syncs the folder, so the rename itself survives a
//! crash. On any error the temporary file is removed. [`write_atomic_with_backup`] first
//! keeps the previous content as `PATH.bak`, itself put in place by a rename.
//!
//! [`replace_dir`] does the same for a folder of files that belong together (a model, a
//! library, a training checkpoint): the new content is written into a fresh sibling folder,
//! synced, and swapped with the old folder in one step, so a reader (or a process killed at
//! any moment) sees the old set or the new set, never a mix.

use std::fs::File;
use std::io;
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
    let pending = PendingFile::new(path)?;
    pending.write(bytes)?;
    pending.commit()
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

/// A file filled under a unique temporary name next to its target — by [`PendingFile::write`]
/// ([`write_atomic`]) or by another writer such as an encoder process —; [`PendingFile::commit`]
/// syncs it, renames it into place and syncs the folder. Dropped without a commit (an error,
/// a cancel), the temporary file is removed, so nothing half-written is ever left under the
/// final name or beside it.
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    dir: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Creates the empty temporary file next to `target` (the folder must exist and be
    /// writable: both are checked here, before any long work starts).
    pub fn new(target: &Path) -> Result<PendingFile, FileError> {
        let (dir, name) = split(target)?;
        let (tmp, file) = create_temp(&dir, &name).map_err(at(target))?;
        drop(file);
        Ok(PendingFile {
            target: target.to_path_buf(),
            dir,
            tmp,
            committed: false,
        })
    }

    /// Where the writer writes.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Writes `bytes` as the whole content (for content made in memory).
    pub fn write(&self, bytes: &[u8]) -> Result<(), FileError> {
        std::fs::write(&self.tmp, bytes).map_err(at(&self.target))
    }

    /// Syncs the written file, renames it over the target and syncs the folder.
    pub fn commit(mut self) -> Result<(), FileError> {
        File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&self.tmp, &self.target))
            .map_err(at(&self.target))?;
        self.committed = true;
        sync_dir(&self.dir).map_err(at(&self.dir))
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An error of [`replace_dir`]: the folder could not be swapped in (`File`), or `fill`
/// failed (`Fill`, its own error).
#[derive(Debug)]
pub enum ReplaceError<E> {
    /// Creating, syncing or swapping the folders failed.
    File(FileError),
    /// Writing the new content failed.
    Fill(E),
}

impl<E: From<FileError>> ReplaceError<E> {
    /// The error as the caller's own type.
    pub fn into_inner(self) -> E {
        match self {
            ReplaceError::File(e) => e.into(),
            ReplaceError::Fill(e) => e,
        }
    }
}

/// Replaces the folder `dir` with new content as one step: `fill(tmp)` writes the new content
/// into a fresh hidden sibling folder; entries of the old folder that the new content lacks
/// (a training checkpoint, a user's notes) are carried over as hard links (copies where links
/// fail); everything is synced; then the two folders are exchanged atomically
/// (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere two renames, with a moment in between
/// where `dir` is missing) and the old content is removed. A folder that does not exist yet
/// is simply renamed into place. Refuses the file-system root, the home folder and any folder
/// that holds the working directory. Stale temporary folders of killed processes are removed
/// first.
pub fn replace_dir<E>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), ReplaceError<E>> {
    let (parent, name) = split(dir).map_err(ReplaceError::File)?;
    refuse_special(dir).map_err(ReplaceError::File)?;
    std::fs::create_dir_all(&parent).map_err(|e| ReplaceError::File(at(&parent)(e)))?;
    remove_stale(&parent, &name);
    let tmp = temp_dir_name(&parent, &name);
    std::fs::create_dir(&tmp).map_err(|e| ReplaceError::File(at(&tmp)(e)))?;
    let cleanup = |e| {
        let _ = std::fs::remove_dir_all(&tmp);
        e
    };
    fill(&tmp).map_err(|e| cleanup(ReplaceError::Fill(e)))?;
    let exists = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    let swap = || -> io::Result<()> {
        if exists {
            carry_over(dir, &tmp)?;
        }
        sync_tree(&tmp)?;
        if exists {
            exchange(&tmp, dir)?;
            // `tmp` now holds the old content.
            std::fs::remove_dir_all(&tmp)?;
        } else {
            std::fs::rename(&tmp, dir)?;
        }
        sync_dir(&parent)
    };
    swap().map_err(|e| cleanup(ReplaceError::File(at(dir)(e))))
}

/// [`replace_dir`] refuses these: swapping them would pull the ground from under the user.
fn refuse_special(dir: &Path) -> Result<(), FileError> {
    let canon = std::fs::canonicalize(dir).ok();
    let home = dirs::home_dir().and_then(|h| std::fs::canonicalize(h).ok());
    let cwd = std::env::current_dir().ok();
    let special = match &canon {
        Some(c) => {
            c.parent().is_none()
                || home.as_ref() == Some(c)
                || cwd.as_ref().is_some_and(|w| w.starts_with(c))
        }
        None => false,
    };
    if special {
        return Err(FileError::Io {
            path: dir.to_path_buf(),
            err: io::Error::new(
                io::ErrorKind::InvalidInput,
                "refusing to replace the root, home or working folder; choose a folder of its own",
            ),
        });
    }
    Ok(())
}

/// `.NAME.new.PID.COUNTER.NANOS` next to the target (see [`temp_name`]).
fn temp_dir_name(parent: &Path, name: &str) -> PathBuf {
    parent.join(format!(".{name}.new.{}", unique_tag()))
}

/// Removes `.NAME.new.PID.*` folders next to the target whose process is gone (Linux:
/// `/proc/PID` missing): what a process killed inside [`replace_dir`] left behind.
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}.new.");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            Some(p) if p == std::process::id() => true,
            Some(p) => cfg!(not(target_os = "linux")) || Path::new(&format!("/proc/{p}")).exists(),
            None => true,
        };
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Links (or copies) into `new` every entry of `old` that `new` lacks, recursively; symbolic
/// links are recreated, not followed.
fn carry_over(old: &Path, new: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(old)? {
        let e = e?;
        let to = new.join(e.file_name());
        if std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        link_tree(&e.path(), &to)?;
    }
    Ok(())
}

/// Hard-links the tree at `from` to `to` (folders recreated, files linked or copied).
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            link_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
        }
        #[cfg(not(unix))]
        {
            Ok(())
        }
    } else if meta.is_file() {
        std::fs::hard_link(from, to).or_else(|_| copy_synced(from, to))
    } else {
        // Sockets, FIFOs, devices: not part of a document folder.
        Ok(())
    }
}

/// Syncs every regular file and folder of the tree at `dir` to disk.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            sync_tree(&e.path())?;
        } else if t.is_file() {
            File::open(e.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Swaps the folders `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

/// Swaps the folders `a` and `b` with two renames through a third name (no atomic exchange
/// here: for a moment `b` does not exist).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let mid = a.with_extension("old");
    std::fs::rename(b, &mid)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&mid, a)
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
    dir.join(format!(".{name}.{}.tmp", unique_tag()))
}

/// `PID.COUNTER.NANOS`: unique among this machine's writers (see [`temp_name`]).
fn unique_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}.{n}.{nanos}", std::process::id())
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

    #[test]
    fn replace_dir_swaps_the_whole_folder_and_keeps_what_it_does_not_write() {
        let d = scratch("swap");
        let m = d.join("model");
        let write = |files: &[(&str, &str)]| {
            replace_dir::<io::Error>(&m, |tmp| {
                for (n, t) in files {
                    std::fs::write(tmp.join(n), t)?;
                }
                Ok(())
            })
        };
        // a new folder is created
        write(&[("a", "1"), ("b", "1")]).unwrap();
        assert_eq!(names(&m), ["a", "b"]);
        // a checkpoint folder and a note written beside the model survive the next save
        std::fs::create_dir(m.join("checkpoint")).unwrap();
        std::fs::write(m.join("checkpoint").join("state.json"), "7").unwrap();
        std::fs::write(m.join("notes.txt"), "mine").unwrap();
        write(&[("a", "2"), ("b", "2")]).unwrap();
        assert_eq!(names(&m), ["a", "b", "checkpoint", "notes.txt"]);
        assert_eq!(std::fs::read_to_string(m.join("a")).unwrap(), "2");
        assert_eq!(
            std::fs::read_to_string(m.join("checkpoint").join("state.json")).unwrap(),
            "7"
        );
        assert_eq!(
            std::fs::read_to_string(m.join("notes.txt")).unwrap(),
            "mine"
        );
        // a failing fill leaves the old folder as it was and no temporary folder
        let e = replace_dir(&m, |tmp| {
            std::fs::write(tmp.join("a"), "3")?;
            Err(io::Error::other("disk full"))
        });
        assert!(matches!(e, Err(ReplaceError::Fill(_))));
        assert_eq!(std::fs::read_to_string(m.join("a")).unwrap(), "2");
        assert_eq!(names(&d), ["model"]);
        // a temporary folder left by a killed process is cleaned up; a live one is not
        let dead = d.join(".model.new.4294967295.0.0");
        let live = d.join(format!(".model.new.{}.99.0", std::process::id()));
        std::fs::create_dir(&dead).unwrap();
        std::fs::create_dir(&live).unwrap();
        write(&[("a", "4")]).unwrap();
        assert!(!dead.exists() || cfg!(not(target_os = "linux")));
        assert!(live.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replace_dir_refuses_the_working_folder() {
        let cwd = std::env::current_dir().unwrap();
        let e = replace_dir::<io::Error>(&cwd, |_| Ok(())).unwrap_err();
        match e {
            ReplaceError::File(f) => assert!(f.to_string().contains("refusing"), "{f}"),
            ReplaceError::Fill(_) => panic!("fill error"),
        }
        let parent = cwd.parent().unwrap().to_path_buf();
        assert!(replace_dir::<io::Error>(&parent, |_| Ok(())).is_err());
    }

    #[test]
    fn replaced_folder_is_old_or_new_for_a_concurrent_reader() {
        let d = scratch("reader");
        let m = d.join("lib");
        let save = |v: &str| {
            replace_dir::<io::Error>(&m, |tmp| {
                std::fs::write(tmp.join("index"), v)?;
                std::fs::write(tmp.join("clip"), v)
            })
            .unwrap();
        };
        save("0");
        std::thread::scope(|s| {
            let w = s.spawn(|| {
                for v in 1..40 {
                    save(&v.to_string());
                }
            });
            let mut seen = 0;
            while !w.is_finished() {
                // both files of one generation (a missing file would be a torn swap)
                let (i, c) = (
                    std::fs::read_to_string(m.join("index")),
                    std::fs::read_to_string(m.join("clip")),
                );
                if let (Ok(i), Ok(c)) = (&i, &c) {
                    assert!(i.parse::<u32>().unwrap() <= c.parse::<u32>().unwrap());
                    seen += 1;
                } else if cfg!(target_os = "linux") {
                    panic!("a reader found no file: {i:?} {c:?}");
                }
            }
            assert!(seen > 0);
        });
        assert_eq!(std::fs::read_to_string(m.join("clip")).unwrap(), "39");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn pending_file_commits_or_leaves_nothing() {
        let d = scratch("pending");
        let target = d.join("dance.mp4");
        let p = PendingFile::new(&target).unwrap();
        std::fs::write(p.temp_path(), b"video").unwrap();
        assert!(
            !target.exists(),
            "nothing under the final name before the commit"
        );
        p.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"video");
        // Dropped without a commit: the temporary file goes, the old target stays.
        let p = PendingFile::new(&target).unwrap();
        let tmp = p.temp_path().to_path_buf();
        std::fs::write(&tmp, b"half").unwrap();
        drop(p);
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"video");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "only the target is left"
        );
        // A folder that does not exist is refused up front, naming the file.
        let e = PendingFile::new(&d.join("missing/dance.mp4")).unwrap_err();
        assert!(e.to_string().contains("missing/dance.mp4"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
