//! Confinement of paths read from documents and of folder walks (layer 0).
//!
//! A path stored in a document (a library index's clip file) must stay inside the
//! document's folder: [`inside`] accepts only relative paths made of plain names. Walks over
//! a folder ([`files_under`]) never follow a symbolic link to a folder, keep a linked file
//! only when it resolves inside the walked tree, and skip anything that is not a regular
//! file (FIFOs, devices), so a crafted tree can neither escape nor hang a walk.

use std::io;
use std::path::{Component, Path, PathBuf};

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
