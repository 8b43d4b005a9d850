//! Audio input: decode any common format with symphonia, downmix to mono and resample to the
//! analysis rate (22 050 Hz, librosa's default `sr`).
//!
//! Decoding streams packet by packet: each packet is downmixed and pushed through a streaming
//! resampler, so only the mono 22.05 kHz signal is ever held in memory (about 5 MB per minute),
//! and a configurable duration limit stops runaway files early.

mod decode;
mod resample;

pub use decode::{DecodeOptions, decode_file, decode_file_with};
pub use resample::{StreamResampler, resample_mono};

use std::path::PathBuf;

/// The sample rate every analysis stage works at (librosa's default `sr`).
pub const ANALYSIS_SR: u32 = 22_050;

/// Decoded, mono, resampled audio.
#[derive(Debug, Clone)]
pub struct Audio {
    /// Mono samples at [`Audio::sample_rate`].
    pub samples: Vec<f32>,
    /// Sample rate of `samples` (normally [`ANALYSIS_SR`]).
    pub sample_rate: u32,
    /// Sample rate of the file.
    pub source_rate: u32,
    /// Channel count of the file.
    pub source_channels: usize,
    /// Problems that did not stop decoding (a truncated stream, corrupt packets).
    pub warnings: Vec<String>,
}

impl Audio {
    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The samples when they are at [`ANALYSIS_SR`]: the network's inputs are computed from
    /// them, so scoring a decoded song needs no second decode.
    pub fn analysis_samples(&self) -> Option<&[f32]> {
        (self.sample_rate == ANALYSIS_SR).then_some(&self.samples[..])
    }
}

/// Everything that can go wrong turning a file into samples. Messages name the file last.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open audio file: {err}: {path}")]
    Open { path: PathBuf, err: std::io::Error },
    #[error("the file is empty (0 bytes): {path}")]
    Empty { path: PathBuf },
    #[error("not a supported audio format ({reason}): {path}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("no audio track in the file: {path}")]
    NoAudioTrack { path: PathBuf },
    #[error("audio data could not be decoded ({reason}): {path}")]
    Decode { path: PathBuf, reason: String },
    #[error("only {seconds:.2} s of audio could be decoded (at least {min:.1} s needed): {path}")]
    TooShort {
        path: PathBuf,
        seconds: f64,
        min: f64,
    },
    #[error(
        "the audio is longer than the {limit_min:.0}-minute limit (raise it with --max-minutes): {path}"
    )]
    TooLong { path: PathBuf, limit_min: f64 },
    #[error(
        "the sample rate {rate} Hz is outside the supported {min}–{max} Hz: {path}",
        min = crate::limits::MIN_SAMPLE_RATE,
        max = crate::limits::MAX_SAMPLE_RATE
    )]
    SampleRate { path: PathBuf, rate: u32 },
    #[error("resampler error: {0}")]
    Resample(String),
}
