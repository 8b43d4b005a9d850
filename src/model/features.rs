//! Hand-made features beside the learned ones.
//!
//! * [`music_features`]: per music phrase, the cues that the 128×128 mel resize erases —
//!   tempo, metre, beats, duration — plus loudness, onset density, position in the song,
//!   voicing and brightness. Duan et al. 2020 resize every phrase to a fixed image (§3.2) and
//!   discuss that absolute tempo and length are lost with it; these put them back as a small
//!   vector the predictor reads beside the embedding `u`.
//! * [`candidate_features`]: per library phrase, what its motion says (beat count, source
//!   tempo, kinetic energy and the other motion statistics, style, tags, move): the
//!   predictor scores music × candidate, so a phrase with few labels borrows from similar
//!   ones and a phrase without any gets a score from its features alone.
//!
//! Both are fixed-width, so a model keeps its shapes when the library changes: style, tag and
//! move names are hashed into buckets (feature hashing, Weinberger et al. 2009).

use crate::analysis::SongAnalysis;
use crate::motion::index::PhraseEntry;

/// Length of [`music_features`].
pub const MUSIC_FEATURES: usize = 11;
/// Names of the [`music_features`], in order (for reports and docs).
pub const MUSIC_FEATURE_NAMES: [&str; MUSIC_FEATURES] = [
    "log2 tempo/120",
    "triple metre",
    "beats/16",
    "duration/16 s",
    "loudness",
    "onsets per s/8",
    "onsets per beat/4",
    "position in song",
    "voiced share",
    "brightness",
    "bass share",
];

/// Numeric motion statistics at the start of [`candidate_features`].
const CANDIDATE_NUMERIC: usize = 9;
/// Hash buckets for the style name.
const STYLE_BUCKETS: usize = 16;
/// Hash buckets for tags.
const TAG_BUCKETS: usize = 16;
/// Hash buckets for the move (clip) a phrase was cut from.
const MOVE_BUCKETS: usize = 16;
/// Length of [`candidate_features`].
pub const CANDIDATE_FEATURES: usize =
    CANDIDATE_NUMERIC + STYLE_BUCKETS + TAG_BUCKETS + MOVE_BUCKETS;

/// The music features of the phrase `(start, end)` of `song`, from the analysis and the
/// phrase's mel image (`mel`: `[time][band]` scaled 0..1, `bands` wide, as a phrase sample's
/// `mel`) and melody steps (0 = unvoiced). Each value is scaled to about unit range; the
/// model standardises them again.
pub fn music_features(
    song: &SongAnalysis,
    span: (f64, f64),
    (mel, bands): (&[f32], usize),
    melody: &[f32],
) -> Vec<f32> {
    let (start, end) = span;
    let dur = (end - start).max(1e-3);
    let inside = |ts: &[f64]| ts.iter().filter(|&&t| t >= start && t < end).count();
    let beats = inside(&song.beats);
    let onsets = inside(&song.onsets);
    let tempo = if song.tempo_bpm.is_finite() && song.tempo_bpm > 0.0 {
        (song.tempo_bpm / 120.0).log2()
    } else {
        0.0
    };
    let triple = song.beats_per_bar > 0 && song.beats_per_bar.is_multiple_of(3);
    let (loudness, brightness, bass) = spectrum_stats(mel, bands);
    let voiced = if melody.is_empty() {
        0.0
    } else {
        melody.iter().filter(|&&m| m > 0.0).count() as f64 / melody.len() as f64
    };
    let position = if song.duration > 0.0 {
        (0.5 * (start + end) / song.duration).clamp(0.0, 1.0)
    } else {
        0.0
    };
    [
        tempo,
        if triple { 1.0 } else { 0.0 },
        beats as f64 / 16.0,
        dur / 16.0,
        loudness,
        onsets as f64 / dur / 8.0,
        onsets as f64 / beats.max(1) as f64 / 4.0,
        position,
        voiced,
        brightness,
        bass,
    ]
    .iter()
    .map(|&v| v as f32)
    .collect()
}

/// Mean level, spectral centroid (as a share of the bands) and the low bands' share of the
/// level, of a `[time][mel]` image.
fn spectrum_stats(mel: &[f32], bands: usize) -> (f64, f64, f64) {
    if bands == 0 || mel.len() < bands {
        return (0.0, 0.0, 0.0);
    }
    let steps = mel.len() / bands;
    let mut per_band = vec![0.0f64; bands];
    for row in mel.chunks_exact(bands) {
        for (b, v) in per_band.iter_mut().zip(row) {
            *b += f64::from(*v) / steps as f64;
        }
    }
    let total: f64 = per_band.iter().sum();
    if total <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let centroid = per_band
        .iter()
        .enumerate()
        .map(|(i, v)| i as f64 * v)
        .sum::<f64>()
        / total
        / bands as f64;
    let low: f64 = per_band[..bands / 8].iter().sum();
    (total / bands as f64, centroid, low / total)
}

/// Bucket of `name` among `n` (BLAKE3, stable across runs and machines).
fn bucket(name: &str, n: usize) -> usize {
    let h = blake3::hash(name.as_bytes());
    let b = h.as_bytes();
    (u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) % n as u64) as usize
}

/// The candidate features of a library phrase: beats/16, log2 of the source tempo over 120,
/// ln(kinetic energy + 0.01) / 2, mean joint speed, travel, turn rate, hands height, hips height
/// range, beat density; then one-hot hash buckets of the style, multi-hot buckets of the tags
/// and a one-hot bucket of the move (the clip it was cut from, so that the phrases of one
/// move share what they learn).
pub fn candidate_features(p: &PhraseEntry) -> Vec<f32> {
    let f = &p.features;
    let tempo = if p.tempo_bpm.is_finite() && p.tempo_bpm > 0.0 {
        (p.tempo_bpm / 120.0).log2()
    } else {
        0.0
    };
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let mut out: Vec<f32> = [
        p.beats as f64 / 16.0,
        tempo,
        (finite(f.energy).max(0.0) + 0.01).ln() / 2.0,
        finite(f.mean_speed),
        finite(f.travel),
        finite(f.turn_rate) / 4.0,
        finite(f.hands_height),
        finite(f.height_range),
        finite(f.beat_density) / 4.0,
    ]
    .iter()
    .map(|&v| v as f32)
    .collect();
    out.resize(CANDIDATE_FEATURES, 0.0);
    out[CANDIDATE_NUMERIC + bucket(&p.style, STYLE_BUCKETS)] = 1.0;
    for t in &p.tags {
        out[CANDIDATE_NUMERIC + STYLE_BUCKETS + bucket(t, TAG_BUCKETS)] = 1.0;
    }
    out[CANDIDATE_NUMERIC + STYLE_BUCKETS + TAG_BUCKETS + bucket(&p.clip, MOVE_BUCKETS)] = 1.0;
    out
}

/// [`candidate_features`] of every phrase, row-major `[K, CANDIDATE_FEATURES]`. No
/// standardisation over the library: a phrase's features must not change when others are
/// added, or a model would see a different candidate for the same phrase.
pub fn candidate_matrix(phrases: &[&PhraseEntry]) -> Vec<f32> {
    phrases.iter().flat_map(|p| candidate_features(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song() -> SongAnalysis {
        let mut s: SongAnalysis = serde_json::from_value(serde_json::json!({
            "schema": "x", "duration": 20.0, "sample_rate": 22050, "tempo_bpm": 90.0,
            "beats_per_bar": 3, "beats": [], "beat_in_bar": [], "downbeats": [], "onsets": [],
            "sections": [], "phrases": [],
            "melody": {"hop_s": 0.01, "f0_hz": []}, "warnings": [], "timing": {}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.beats = (0..30).map(|i| f64::from(i) * 60.0 / 90.0).collect();
        s.onsets = (0..60).map(|i| f64::from(i) * 0.25).collect();
        s
    }

    #[test]
    fn music_features_measure_the_phrase() {
        let s = song();
        let mel = vec![0.5f32; 128 * 128];
        let melody: Vec<f32> = (0..128).map(|i| if i < 32 { 0.4 } else { 0.0 }).collect();
        let f = music_features(&s, (0.0, 8.0), (&mel, 128), &melody);
        assert_eq!(f.len(), MUSIC_FEATURES);
        assert!((f[0] - (90.0f32 / 120.0).log2()).abs() < 1e-6);
        assert_eq!(f[1], 1.0, "3/4 is triple");
        assert!(
            (f[2] - 12.0 / 16.0).abs() < 1e-6,
            "12 beats at 90 BPM in 8 s"
        );
        assert!((f[3] - 0.5).abs() < 1e-6);
        assert!((f[4] - 0.5).abs() < 1e-6, "flat 0.5 image");
        assert!((f[5] - 32.0 / 8.0 / 8.0).abs() < 1e-6, "4 onsets per s");
        assert!((f[7] - 0.2).abs() < 1e-6, "centre 4 s of 20 s");
        assert!((f[8] - 0.25).abs() < 1e-6);
        assert!(
            (f[10] - 1.0 / 8.0).abs() < 1e-6,
            "flat spectrum: 16 of 128 bands"
        );
        let later = music_features(&s, (10.0, 14.0), (&mel, 128), &melody);
        assert!(later[7] > f[7]);
        assert!(later[3] < f[3]);
    }

    #[test]
    fn candidate_features_are_fixed_width_and_hash_names() {
        let lib = crate::motion::library::Library::starter().unwrap_or_else(|e| panic!("{e}"));
        let ps: Vec<&PhraseEntry> = lib.index.phrases.iter().collect();
        let m = candidate_matrix(&ps);
        assert_eq!(m.len(), ps.len() * CANDIDATE_FEATURES);
        // same style → same style bucket; the two phrases of one move share the move bucket
        // (ps[1] is ps[0]'s mirrored variant, tagged as such; ps[2] the move's next phrase)
        let a = candidate_features(ps[0]);
        let b = candidate_features(ps[2]);
        assert_eq!(ps[0].clip, ps[2].clip);
        assert!(ps[2].mirror_of.is_none());
        assert_eq!(a[CANDIDATE_NUMERIC..], b[CANDIDATE_NUMERIC..]);
        assert_eq!(m[2 * CANDIDATE_FEATURES..3 * CANDIDATE_FEATURES], b[..]);
        // the numeric motion statistics tell phrases apart and stay in a unit-ish range
        let distinct = ps
            .iter()
            .map(|p| candidate_features(p)[2].to_bits())
            .collect::<std::collections::BTreeSet<_>>();
        // (the starter library cuts two phrases from each of its 92 moves, each mirrored)
        assert!(
            distinct.len() > ps.len() / 4,
            "energy differs between moves"
        );
        assert!(m.iter().all(|v| v.is_finite() && v.abs() < 10.0));
        assert_eq!(bucket("waltz", 16), bucket("waltz", 16));
    }
}
