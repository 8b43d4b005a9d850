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
    phrasewise::service::bench_metre::read_grid(path).unwrap()
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
pub use phrasewise::service::bench_metre::annotated_songs;
