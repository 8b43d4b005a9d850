//! Confinement of paths read from documents and of folder walks (layer 0).
//!
//! A path stored in a document (a library index's clip file) must stay inside the
//! document's folder: [`inside`] accepts only relative paths made of plain names. Walks over
//! a folder ([`files_under`]) never follow a symbolic link to a folder, keep a linked file
//! only when it resolves inside the walked tree, and skip anything that is not a regular
//! file (FIFOs, devices), so a crafted tree can neither escape nor hang a walk.
//!
//! A project names files that may lie anywhere (a song in the music folder, a library folder
//! beside it). Such a path outside the document's folder is used only when it is *trusted*
//! ([`trusted`]): a file the user handed in during this run ([`vouch`]: a command-line
//! argument, a file dialog), a folder the user allowed ([`allow`]: `--allow DIR`,
//! `PHRASEWISE_ALLOW`, the editor's "Trust" answer), or a path carrying this user's
//! [`seal`]: a keyed BLAKE3 MAC of the absolute path under a secret key kept in the user's
//! data folder, written when the path was trusted at save time. A project from someone else
//! (or hand-edited) that points outside its folder is therefore refused with a message
//! naming the way to allow it, while the user's own projects open as before — the model of
//! an editor's "workspace trust".

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{OnceLock, RwLock};

/// Whether `stored` names something inside the folder it is resolved against: relative,
/// no `..`, no root or drive prefix, not empty.
pub fn inside(stored: &str) -> bool {
    let p = Path::new(stored);
    !stored.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && p.components().any(|c| matches!(c, Component::Normal(_)))
}

/// Regular files under `root` (every level when `recursive`, else its own entries) for
/// which `keep` holds, sorted. A link is followed only to a regular file inside `root`.
pub fn files_under(
    root: &Path,
    recursive: bool,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let canonical_root = std::fs::canonicalize(root).map_err(|e| (root.to_path_buf(), e))?;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| (dir.clone(), e))?;
        for entry in rd {
            let entry = entry.map_err(|e| (dir.clone(), e))?;
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let regular = if kind.is_dir() {
                if recursive {
                    stack.push(path);
                }
                continue;
            } else if kind.is_symlink() {
                std::fs::canonicalize(&path)
                    .is_ok_and(|t| t.starts_with(&canonical_root) && t.is_file())
            } else {
                kind.is_file()
            };
            if regular && keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Files handed in by the user and folders the user allowed, for this process.
#[derive(Default)]
struct Trust {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn trust() -> &'static RwLock<Trust> {
    static TRUST: OnceLock<RwLock<Trust>> = OnceLock::new();
    TRUST.get_or_init(|| {
        let dirs = std::env::var_os("PHRASEWISE_ALLOW")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter_map(|d| canonical_dir(&d))
                    .collect()
            })
            .unwrap_or_default();
        RwLock::new(Trust {
            files: Vec::new(),
            dirs,
        })
    })
}

fn canonical_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(dir).ok().filter(|d| d.is_dir())
}

/// `p` made absolute, `.` dropped and `..` resolved lexically (links are not followed, a
/// missing file keeps its name).
pub fn lexical(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Trusts every file under `dir` for the rest of this run (`--allow DIR`, the editor's
/// "Trust" answer). Fails when `dir` is not a folder.
pub fn allow(dir: &Path) -> io::Result<()> {
    let d = std::fs::canonicalize(dir)?;
    if !d.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a folder"));
    }
    if let Ok(mut t) = trust().write()
        && !t.dirs.contains(&d)
    {
        t.dirs.push(d);
    }
    Ok(())
}

/// Trusts `file` for the rest of this run: the user named it (a command-line argument, a
/// file dialog), so a document may point at it.
pub fn vouch(file: &Path) {
    let l = lexical(file);
    if let Ok(mut t) = trust().write() {
        for p in [Some(l), std::fs::canonicalize(file).ok()]
            .into_iter()
            .flatten()
        {
            if !t.files.contains(&p) {
                t.files.push(p);
            }
        }
    }
}

/// Whether `target` (resolved from a document) lies inside the folder `base` — through
/// links too: a link inside the folder to a file outside it is outside.
pub fn within(base: &Path, target: &Path) -> bool {
    match (std::fs::canonicalize(base), std::fs::canonicalize(target)) {
        (Ok(b), Ok(t)) => t.starts_with(b),
        // a missing target is judged by its name (it is then reported missing)
        _ => lexical(target).starts_with(lexical(base)),
    }
}

/// Whether a document may use `target` outside its folder: vouched for or allowed in this
/// run, or carrying a valid [`seal`].
pub fn trusted(target: &Path, seal: Option<&str>) -> bool {
    let l = lexical(target);
    let c = std::fs::canonicalize(target).ok();
    // inside an allowed folder where it really is (a link in the folder may lead out)
    let real = c.as_ref().unwrap_or(&l);
    let by_user = trust().read().is_ok_and(|t| {
        t.files.iter().any(|f| *f == l || Some(f) == c.as_ref())
            || t.dirs.iter().any(|d| real.starts_with(d))
    });
    by_user
        || seal
            .and_then(|s| blake3::Hash::from_hex(s).ok())
            .is_some_and(|s| Some(s) == seal_hash(target))
}

/// This user's seal of `target` (hex keyed BLAKE3 of its absolute path), or `None` when no
/// key can be read or made (then paths outside a document's folder need `--allow`).
pub fn seal(target: &Path) -> Option<String> {
    seal_hash(target).map(|h| h.to_hex().to_string())
}

/// The MAC behind [`seal`] (compared in constant time by `blake3::Hash`'s `==`).
fn seal_hash(target: &Path) -> Option<blake3::Hash> {
    let key = user_key()?;
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"phrasewise/path-seal/1\0");
    h.update(lexical(target).as_os_str().as_encoded_bytes());
    Some(h.finalize())
}

/// Where the key lives: `PHRASEWISE_TRUST_KEY`, else `<local data>/phrasewise/trust.key`
/// (none without a data folder: a shared temporary folder would let others plant a key).
pub fn key_path() -> Option<PathBuf> {
    std::env::var_os("PHRASEWISE_TRUST_KEY")
        .map(PathBuf::from)
        .or_else(|| dirs::data_local_dir().map(|d| d.join("phrasewise").join("trust.key")))
}

fn user_key() -> Option<&'static [u8; 32]> {
    static KEY: OnceLock<Option<[u8; 32]>> = OnceLock::new();
    KEY.get_or_init(|| {
        let made = key_path()
            .ok_or_else(|| {
                (
                    PathBuf::from("trust.key"),
                    io::Error::other("no data folder"),
                )
            })
            .and_then(|p| read_or_make_key(&p).map_err(|e| (p, e)));
        made.map_err(|(p, e)| {
            tracing::warn!(
                "{}: {e}; projects cannot remember the files outside their folder (use --allow)",
                p.display()
            );
        })
        .ok()
    })
    .as_ref()
}

/// Reads the 32-byte key, making it first when there is none: written whole under a
/// temporary name (mode 0600) and hard-linked into place, which fails rather than replaces
/// when another process made it first (then that one is read).
fn read_or_make_key(path: &Path) -> io::Result<[u8; 32]> {
    let read = |path: &Path| -> io::Result<[u8; 32]> {
        let bytes = crate::limits::read_file(path, 64)?;
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a 32-byte key"))
    };
    match read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".trust.key.{}", std::process::id()));
    {
        use std::io::Write as _;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_paths_must_stay_inside() {
        for ok in ["a.bvh", "clips/a.bvh", "./a.bvh"] {
            assert!(inside(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../a.bvh",
            "clips/../../a.bvh",
            "a/../b",
        ] {
            assert!(!inside(bad), "{bad}");
        }
    }

    #[test]
    fn the_key_is_made_once_and_kept() {
        let base = std::env::temp_dir().join(format!("pw-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let path = base.join("sub/trust.key");
        let k = read_or_make_key(&path).unwrap();
        assert_eq!(read_or_make_key(&path).unwrap(), k);
        assert_ne!(k, [0u8; 32]);
        // no temporary file left beside it
        assert_eq!(std::fs::read_dir(base.join("sub")).unwrap().count(), 1);
        std::fs::write(&path, b"short").unwrap();
        let e = read_or_make_key(&path).unwrap_err();
        assert!(e.to_string().contains("32-byte"), "{e}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[cfg(unix)]
    #[test]
    fn an_allowed_folder_does_not_extend_through_its_links() {
        let base = std::env::temp_dir().join(format!("pw-allow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (allowed, outside) = (base.join("allowed"), base.join("outside"));
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(allowed.join("song.wav"), "a").unwrap();
        std::fs::write(outside.join("secret.wav"), "s").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.wav"), allowed.join("link.wav")).unwrap();
        assert!(!trusted(&allowed.join("song.wav"), None));
        allow(&allowed).unwrap();
        assert!(trusted(&allowed.join("song.wav"), None));
        assert!(trusted(&allowed.join("sub/../song.wav"), None));
        assert!(!trusted(&allowed.join("link.wav"), None));
        assert!(!trusted(&allowed.join("../outside/secret.wav"), None));
        assert!(
            allow(&allowed.join("song.wav")).is_err(),
            "a file is not a folder"
        );
        // a file handed in is trusted alone, not its folder
        vouch(&outside.join("secret.wav"));
        assert!(trusted(&outside.join("secret.wav"), None));
        assert!(!trusted(&outside.join("other.wav"), None));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn seals_name_one_path() {
        let (a, b) = (Path::new("/x/song.wav"), Path::new("/x/other.wav"));
        if let Some(s) = seal(a) {
            assert_eq!(seal(Path::new("/x/sub/../song.wav")), Some(s.clone()));
            assert_ne!(seal(b), Some(s.clone()));
            assert!(trusted(a, Some(&s)));
            assert!(!trusted(b, Some(&s)));
            assert!(!trusted(b, Some("0000")));
        }
        assert!(!trusted(b, None));
    }

    #[cfg(unix)]
    #[test]
    fn walks_do_not_follow_links_out_of_the_tree() {
        use std::os::unix::fs::symlink;
        let base = std::env::temp_dir().join(format!("pw-confine-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (tree, outside) = (base.join("tree"), base.join("outside"));
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(tree.join("a.x"), "a").unwrap();
        std::fs::write(tree.join("sub/b.x"), "b").unwrap();
        std::fs::write(outside.join("secret.x"), "s").unwrap();
        symlink(outside.join("secret.x"), tree.join("leak.x")).unwrap();
        symlink(&outside, tree.join("out-dir")).unwrap();
        symlink(&tree, tree.join("sub/loop")).unwrap();
        symlink(tree.join("a.x"), tree.join("sub/alias.x")).unwrap();
        let all = files_under(&tree, true, |_| true).unwrap();
        let names: Vec<_> = all
            .iter()
            .map(|p| {
                p.strip_prefix(&tree)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.x", "sub/alias.x", "sub/b.x"]);
        let top = files_under(&tree, false, |p| p.extension().is_some_and(|e| e == "x")).unwrap();
        assert_eq!(top, [tree.join("a.x")]);
        assert!(files_under(&base.join("missing"), true, |_| true).is_err());
        let _ = std::fs::remove_dir_all(&base);
    }
}
