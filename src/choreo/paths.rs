//! Paths stored in documents: relative to the document's folder when possible, with `/`
//! separators, so a project folder can move as a whole.

use crate::confine::lexical;
use std::path::{Component, Path, PathBuf};

/// `target` relative to the folder `base_dir` (lexically, `..` where needed); the absolute
/// path when they share no root (other drive).
pub fn relative_to(base_dir: &Path, target: &Path) -> String {
    let (b, t) = (lexical(base_dir), lexical(target));
    let bc: Vec<Component> = b.components().collect();
    let tc: Vec<Component> = t.components().collect();
    let common = bc.iter().zip(&tc).take_while(|(a, b)| a == b).count();
    let shares_root =
        common > 0 && matches!(bc.first(), Some(Component::RootDir | Component::Prefix(_)));
    if !shares_root {
        return t.to_string_lossy().replace('\\', "/");
    }
    let mut parts: Vec<String> = vec!["..".to_string(); bc.len() - common];
    parts.extend(
        tc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Resolves a stored path against the document's folder.
pub fn resolve(base_dir: &Path, stored: &str) -> PathBuf {
    let p = Path::new(stored);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        lexical(&base_dir.join(p))
    }
}

/// The folder holding `file` (`.` for a bare name).
pub fn dir_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b/c.wav")),
            "c.wav"
        );
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/x/c.wav")),
            "../x/c.wav"
        );
        assert_eq!(
            resolve(Path::new("/a/b"), "../x/c.wav"),
            PathBuf::from("/a/x/c.wav")
        );
        assert_eq!(resolve(Path::new("/a"), "/z.wav"), PathBuf::from("/z.wav"));
    }
}
