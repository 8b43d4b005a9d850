//! Training data: labeled songs (`phrasewise-labels/1`) and unlabeled folders of songs turned
//! into per-phrase pretext inputs and targets (§3.2, §3.5: mel 128×128, melody and rhythm
//! 1×128), with an on-disk cache next to the analysis cache.
//!
//! A song's analysis comes from the content-hash analysis cache ([`crate::cache`]) or is
//! computed and stored there; the mel spectrogram is not part of the cached analysis, so the
//! audio is decoded once more (unless the caller hands over the samples it already decoded,
//! [`Decoded`]) and the per-phrase targets are cached as a small binary file keyed by the audio
//! hash and the phrase spans.

use super::ModelError;
pub use super::features::MUSIC_FEATURES;
use crate::analysis::{self, AnalysisConfig, SongAnalysis, rhythm};
use crate::audio::{self, DecodeOptions};
use crate::cache;
use crate::labels::LabelSet;
use std::path::{Path, PathBuf};

/// Version of the target cache files; bump when the targets change.
pub const TARGETS_VERSION: u32 = 2;
/// Steps per phrase (time axis of the mel image, melody and rhythm).
pub const STEPS: usize = 128;
/// Mel bands.
pub const MELS: usize = 128;
/// Audio extensions an unlabeled folder is searched for.
pub const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "flac", "mp3", "ogg", "m4a", "aac", "mp4"];

/// Inputs and pretext targets of one music phrase.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseSample {
    /// Mel image `[time 128][mel 128]` row-major, dB scaled to 0..1 (the encoder layout).
    pub mel: Vec<f32>,
    /// Main melody per step, 0..1 over MIDI 24–108, 0 = unvoiced.
    pub melody: Vec<f32>,
    /// Rhythm per step, 1 at an onset or beat.
    pub rhythm: Vec<f32>,
    /// Music features ([`super::features::music_features`], [`MUSIC_FEATURES`] values):
    /// tempo, metre, length and the like, which the fixed-size mel image does not keep.
    pub features: Vec<f32>,
}

/// The phrases of one song.
#[derive(Clone, Debug)]
pub struct SongSamples {
    /// The audio file.
    pub audio: PathBuf,
    /// BLAKE3 of the audio.
    pub hash: String,
    /// Phrase spans (s).
    pub spans: Vec<(f64, f64)>,
    /// One sample per span.
    pub samples: Vec<PhraseSample>,
}

impl SongSamples {
    /// A key for this song's phrases (audio hash + spans), for caches derived from them.
    pub fn key(&self) -> String {
        spans_key(&self.hash, &self.spans)
    }
}

fn spans_key(hash: &str, spans: &[(f64, f64)]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(hash.as_bytes());
    for (a, b) in spans {
        h.update(&a.to_le_bytes());
        h.update(&b.to_le_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

/// The analysis of `audio`, from the cache when present (else computed and stored), plus the
/// decoded samples' mel spectrogram in dB.
fn analysis_and_mel(
    audio_path: &Path,
    hash: &str,
    cache_dir: &Path,
) -> Result<(SongAnalysis, analysis::FrameMatrix), ModelError> {
    let cfg = AnalysisConfig::default();
    let decoded = audio::decode_file(audio_path, &DecodeOptions::default()).map_err(|e| {
        ModelError::Data {
            msg: e.to_string(),
            path: audio_path.to_path_buf(),
        }
    })?;
    if let Some(a) = cache::load(cache_dir, hash) {
        return Ok((a, analysis::mel::mel_db(&decoded.samples, &cfg)));
    }
    let (a, signals) =
        analysis::analyze_samples(&decoded.samples, decoded.sample_rate, &cfg, &mut |_, _| {
            true
        })
        .map_err(|e| ModelError::Data {
            msg: e.to_string(),
            path: audio_path.to_path_buf(),
        })?;
    if let Err(e) = cache::store(cache_dir, hash, &a) {
        tracing::warn!("{e}");
    }
    Ok((a, signals.mel_db))
}

/// A song the caller has already decoded (mono, at the analysis rate) and analysed: its
/// targets need no second decode. They are written to the target cache only when `analysis`
/// is the one the analysis cache holds for the file.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// The song's analysis (the one the cache holds for its content hash).
    pub analysis: &'a SongAnalysis,
    /// Mono samples at [`crate::audio::ANALYSIS_SR`].
    pub samples: &'a [f32],
}

/// The samples of the phrases `spans` of a song (its analysed phrases when `None`), from the
/// target cache in `cache_dir` when present.
pub fn song_samples(
    audio_path: &Path,
    spans: Option<&[(f64, f64)]>,
    cache_dir: &Path,
) -> Result<SongSamples, ModelError> {
    song_samples_with(audio_path, spans, cache_dir, None)
}

/// The cache file of one song's targets. The targets (rhythm from the beats, tempo and
/// metre features) come from the analysis, so the analysis version is part of the name: a new
/// analysis is not served old targets.
fn targets_file(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join("model-targets").join(format!(
        "{key}-v{TARGETS_VERSION}-a{}.bin",
        crate::cache::ANALYSIS_VERSION
    ))
}

/// [`song_samples`] for a song the caller has decoded already (`known`): on a target-cache
/// miss the mel comes from those samples instead of decoding the file again.
pub fn song_samples_with(
    audio_path: &Path,
    spans: Option<&[(f64, f64)]>,
    cache_dir: &Path,
    known: Option<Decoded<'_>>,
) -> Result<SongSamples, ModelError> {
    let hash = cache::content_hash(audio_path).map_err(|e| ModelError::Data {
        msg: e.to_string(),
        path: audio_path.to_path_buf(),
    })?;
    // Unlabeled songs: the spans are the analysed phrases (needs the analysis, cached).
    let spans: Vec<(f64, f64)> = match (spans, known) {
        (Some(s), _) => s.to_vec(),
        (None, Some(k)) => k
            .analysis
            .phrases
            .iter()
            .map(|p| (p.start, p.end))
            .collect(),
        (None, None) => match cache::load(cache_dir, &hash) {
            Some(a) => a.phrases.iter().map(|p| (p.start, p.end)).collect(),
            None => {
                let (a, _) = analysis_and_mel(audio_path, &hash, cache_dir)?;
                a.phrases.iter().map(|p| (p.start, p.end)).collect()
            }
        },
    };
    let key = spans_key(&hash, &spans);
    let file = targets_file(cache_dir, &key);
    if let Some(samples) = read_targets(&file, spans.len()) {
        return Ok(SongSamples {
            audio: audio_path.to_path_buf(),
            hash,
            spans,
            samples,
        });
    }
    let cfg = AnalysisConfig::default();
    let computed;
    let (a, mel_db) = match known {
        Some(k) => (k.analysis, analysis::mel::mel_db(k.samples, &cfg)),
        None => {
            let (a, mel_db) = analysis_and_mel(audio_path, &hash, cache_dir)?;
            computed = a;
            (&computed, mel_db)
        }
    };
    let frames = |ts: &[f64]| -> Vec<usize> { ts.iter().map(|&t| cfg.time_frame(t)).collect() };
    let onsets = frames(&a.onsets);
    let beats = frames(&a.beats);
    let samples: Vec<PhraseSample> = spans
        .iter()
        .map(|&(s, e)| {
            let (fs, fe) = (
                cfg.time_frame(s),
                cfg.time_frame(e).max(cfg.time_frame(s) + 1),
            );
            let t =
                rhythm::phrase_targets(&mel_db, &a.melody.f0_hz, &onsets, &beats, fs, fe, STEPS);
            let mut mel = vec![0.0f32; STEPS * MELS];
            for m in 0..MELS.min(t.mel.len() / STEPS) {
                for k in 0..STEPS {
                    mel[k * MELS + m] = t.mel[m * STEPS + k];
                }
            }
            let features = super::features::music_features(a, (s, e), (&mel, MELS), &t.melody);
            PhraseSample {
                mel,
                melody: t.melody,
                rhythm: t.rhythm,
                features,
            }
        })
        .collect();
    // The cache is keyed by the file's hash and the spans: targets from a caller's analysis
    // are stored only when it is the one the analysis cache holds for that hash (a project
    // may carry an older analysis, or its song may have been replaced since).
    let cacheable =
        known.is_none_or(|k| cache::load(cache_dir, &hash).as_ref() == Some(k.analysis));
    if cacheable && let Err(e) = write_targets(&file, &samples) {
        tracing::warn!("cannot write target cache {}: {e}", file.display());
    }
    Ok(SongSamples {
        audio: audio_path.to_path_buf(),
        hash,
        spans,
        samples,
    })
}

const MAGIC: &[u8; 4] = b"PWT2";
/// Floats per cached sample: mel, melody, rhythm, features.
const PER_SAMPLE: usize = STEPS * MELS + 2 * STEPS + MUSIC_FEATURES;

fn write_targets(file: &Path, samples: &[PhraseSample]) -> std::io::Result<()> {
    if let Some(p) = file.parent() {
        std::fs::create_dir_all(p)?;
    }
    let mut bytes = Vec::with_capacity(8 + samples.len() * PER_SAMPLE * 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    for s in samples {
        for v in s
            .mel
            .iter()
            .chain(&s.melody)
            .chain(&s.rhythm)
            .chain(&s.features)
        {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    crate::files::write_atomic(file, &bytes).map_err(|e| e.into_io().1)
}

fn read_targets(file: &Path, n: usize) -> Option<Vec<PhraseSample>> {
    let bytes = crate::limits::read_file(file, crate::limits::MAX_FILE_BYTES).ok()?;
    let per = PER_SAMPLE;
    if bytes.len() != 8 + n * per * 4 || &bytes[..4] != MAGIC {
        return None;
    }
    let count = u32::from_le_bytes(bytes[4..8].try_into().ok()?) as usize;
    if count != n {
        return None;
    }
    let floats: Vec<f32> = bytes[8..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(
        floats
            .chunks_exact(per)
            .map(|c| PhraseSample {
                mel: c[..STEPS * MELS].to_vec(),
                melody: c[STEPS * MELS..STEPS * MELS + STEPS].to_vec(),
                rhythm: c[STEPS * MELS + STEPS..STEPS * MELS + 2 * STEPS].to_vec(),
                features: c[STEPS * MELS + 2 * STEPS..].to_vec(),
            })
            .collect(),
    )
}

/// Split of a labeled song.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Training (also songs without a split).
    Train,
    /// Validation.
    Valid,
    /// Held-out test.
    Test,
}

/// One labeled song, ready for training.
#[derive(Clone, Debug)]
pub struct LabeledSongData {
    /// Its phrases.
    pub song: SongSamples,
    /// Class index (into the model's classes) per phrase.
    pub labels: Vec<usize>,
    /// Split.
    pub split: Split,
    /// Dance style, when the labels say.
    pub style: Option<String>,
}

/// Loads a labels file: every song's labeled phrases as samples, labels mapped to indices of
/// `classes` (the library's phrase ids, in library order). A label that is not a phrase of
/// the library is an error naming the labels file. `progress(done, total)` is called per song.
pub fn load_labeled(
    labels_path: &Path,
    classes: &[String],
    cache_dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<LabeledSongData>, ModelError> {
    let set = LabelSet::read(labels_path)?;
    let mut out = Vec::with_capacity(set.songs.len());
    let styled = set.songs.iter().filter(|s| s.style.is_some()).count();
    if styled > 0 && styled < set.songs.len() {
        tracing::warn!(
            "{}: {} of {} songs have a style; the others count towards no style's prior",
            labels_path.display(),
            styled,
            set.songs.len()
        );
    }
    for (i, s) in set.songs.iter().enumerate() {
        progress(i, set.songs.len());
        let mut labels = Vec::with_capacity(s.phrases.len());
        for (j, p) in s.phrases.iter().enumerate() {
            // A label naming a mirrored variant (`ID~mirror`, e.g. accepted in the editor)
            // counts as its original, the class a model learns.
            let class = |id: &str| classes.iter().position(|c| c == id);
            let mirrored = p.label.strip_suffix(crate::motion::mirror::MIRROR_SUFFIX);
            let Some(c) = class(&p.label).or_else(|| mirrored.and_then(class)) else {
                return Err(ModelError::Data {
                    msg: format!(
                        "song {} ({}), phrase {} at {:.2} s: label `{}` is not a phrase of the \
                         model's library",
                        i + 1,
                        s.audio,
                        j + 1,
                        p.start,
                        p.label
                    ),
                    path: labels_path.to_path_buf(),
                });
            };
            labels.push(c);
        }
        let spans: Vec<(f64, f64)> = s.phrases.iter().map(|p| (p.start, p.end)).collect();
        let audio = LabelSet::audio_path(labels_path, s);
        if !audio.is_file() {
            return Err(ModelError::Data {
                msg: format!("song {}: audio `{}` not found", i + 1, audio.display()),
                path: labels_path.to_path_buf(),
            });
        }
        let song = song_samples(&audio, Some(&spans), cache_dir)?;
        let split = match s.split.as_deref() {
            Some("test") => Split::Test,
            Some("valid") => Split::Valid,
            _ => Split::Train,
        };
        out.push(LabeledSongData {
            song,
            labels,
            split,
            style: s.style.clone(),
        });
    }
    progress(set.songs.len(), set.songs.len());
    Ok(out)
}

/// Audio files under `dir` (recursively, sorted), by extension; links out of `dir` are not
/// followed.
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    crate::confine::files_under(dir, true, |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
    })
    .map_err(|(path, e)| ModelError::Data {
        msg: e.to_string(),
        path,
    })
}

/// The analysed phrases of every song in `files`; songs that fail to decode or analyse are
/// skipped with a warning (an unlabeled folder may hold broken files).
pub fn load_unlabeled(
    files: &[PathBuf],
    cache_dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<SongSamples> {
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        progress(i, files.len());
        match song_samples(f, None, cache_dir) {
            Ok(s) if !s.samples.is_empty() => out.push(s),
            Ok(_) => tracing::warn!("{}: no phrases", f.display()),
            Err(e) => tracing::warn!("skipped: {e}"),
        }
    }
    progress(files.len(), files.len());
    out
}

/// Appends the first `width` music features of each phrase to its embedding row (T's input,
/// `[u; f]`); missing values are 0. `width` 0 (models without features) leaves the rows as
/// they are.
pub fn append_music_features(rows: &mut [Vec<f32>], samples: &[PhraseSample], width: usize) {
    if width == 0 {
        return;
    }
    for (r, s) in rows.iter_mut().zip(samples) {
        r.extend((0..width).map(|i| s.features.get(i).copied().unwrap_or(0.0)));
    }
}
