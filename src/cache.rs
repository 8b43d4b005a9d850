//! Content-addressed cache of song analyses: a second open of the same audio (same bytes,
//! any path) is a JSON read instead of a full analysis.

use crate::analysis::SongAnalysis;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Cache errors.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot read {path}: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("cannot write cache entry {path}: {err}")]
    Write { path: PathBuf, err: std::io::Error },
}

/// Bumped whenever an analysis algorithm changes, so stale entries are never served (2: the
/// metre and tempo-octave checks of issue 15 and the 3:2 check, which version 1 entries
/// predate; 3: the kick's 3-or-6 check, `analysis::bars::three_or_six`).
pub const ANALYSIS_VERSION: u32 = 3;

/// BLAKE3 of a file's bytes, hex. Only regular files: a device (`/dev/zero`), a FIFO or a
/// folder would never end or block, so they are refused with an error naming the path.
pub fn content_hash(path: &Path) -> Result<String, CacheError> {
    let map_err = |err| CacheError::Read {
        path: path.to_path_buf(),
        err,
    };
    let meta = std::fs::metadata(path).map_err(map_err)?;
    if !meta.is_file() {
        return Err(map_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let mut f = std::fs::File::open(path).map_err(map_err)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(map_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// The analysis cache folder: `$PHRASEWISE_CACHE` or the platform cache dir.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PHRASEWISE_CACHE") {
        return PathBuf::from(p);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("phrasewise")
}

fn entry_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join("analysis")
        .join(format!("{hash}-v{ANALYSIS_VERSION}.json"))
}

/// A cached analysis for `hash`, if present and readable (a corrupt entry counts as a miss).
pub fn load(dir: &Path, hash: &str) -> Option<SongAnalysis> {
    let text =
        crate::limits::read_text(entry_path(dir, hash), crate::limits::MAX_FILE_BYTES).ok()?;
    let a: SongAnalysis = serde_json::from_str(&text).ok()?;
    (a.schema == crate::analysis::ANALYSIS_SCHEMA).then_some(a)
}

/// Stores an analysis atomically ([`crate::files::write_atomic`]).
pub fn store(dir: &Path, hash: &str, analysis: &SongAnalysis) -> Result<(), CacheError> {
    let path = entry_path(dir, hash);
    let werr = |err| CacheError::Write {
        path: path.clone(),
        err,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    let text = serde_json::to_string(analysis).map_err(|e| werr(std::io::Error::other(e)))?;
    crate::files::write_atomic(&path, text.as_bytes()).map_err(|e| werr(e.into_io().1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_regular_files_and_refuses_the_rest_at_once() {
        let dir = std::env::temp_dir().join(format!("pw-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.wav");
        std::fs::write(&f, b"RIFF0000").unwrap();
        assert_eq!(
            content_hash(&f).unwrap(),
            blake3::hash(b"RIFF0000").to_hex().to_string()
        );
        let e = content_hash(&dir).unwrap_err().to_string();
        assert!(
            e.contains("not a regular file") && e.contains("pw-hash"),
            "{e}"
        );
        #[cfg(unix)]
        {
            let e = content_hash(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("/dev/zero"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
