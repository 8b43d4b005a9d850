//! Shared helpers for tests that read `../shared/data` (skipped when it is absent).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data` next to the checkout, if present.
pub fn data_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} not found; data tests skipped", p.display());
        None
    }
}

/// Reads a `.beats` file: (time, beat_in_bar) per line.
pub fn read_beats(path: &Path) -> Vec<(f64, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect()
}

/// Reads a `.sections` file: (start, end, label) per line.
pub fn read_sections(path: &Path) -> Vec<(f64, f64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                it.next()?.to_string(),
            ))
        })
        .collect()
}

/// The 21 annotated songs: (group, audio path, beats path).
pub fn annotated_songs(data: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for group in ["lmms", "openmsx", "fretsonfire"] {
        let dir = data.join("audio").join(group);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "beats"))
            .collect();
        names.sort();
        for b in names {
            let audio = b.with_extension("ogg");
            if audio.exists() {
                out.push((group.to_string(), audio, b));
            }
        }
    }
    out
}
