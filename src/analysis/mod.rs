//! Song analysis: everything the choreography needs to know about a song, computed from mono
//! samples at 22 050 Hz with librosa-compatible parameters (`n_fft` 2048, hop 512, 128 Slaney
//! mels). Every stage is a pure function over slices plus a config struct.
//!
//! Data flow: samples → [`mel`] (mel power/dB, onset strength) → [`beats`] (tempo, beats) →
//! [`bars`] (downbeats, meter) → [`structure`] (sections) ; samples → [`melody`] (f0) ;
//! all of them → [`phrases`] (music phrases of 2–8 bars) and [`rhythm`] (pretext targets).

pub mod bars;
pub mod beats;
pub mod eval;
pub mod mel;
pub mod melody;
pub mod phrases;
pub mod rhythm;
pub mod song;
pub mod structure;

pub use song::{
    ANALYSIS_SCHEMA, AnalysisError, MelodyTrack, Phrase, Section, SongAnalysis, analyze_samples,
    analyze_samples_with_melody,
};

/// Frame-major matrix: `rows` frames × `cols` features, `data[r * cols + c]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl FrameMatrix {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Row `r` (one frame).
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Mutable row `r`.
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// Analysis parameters (librosa defaults where librosa has one).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalysisConfig {
    /// Sample rate (Hz).
    pub sr: u32,
    /// FFT size (samples).
    pub n_fft: usize,
    /// Hop between frames (samples).
    pub hop: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Steps per phrase of the model's resized targets (mel width, melody, rhythm).
    pub target_steps: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            sr: 22_050,
            n_fft: 2048,
            hop: 512,
            n_mels: 128,
            target_steps: 128,
        }
    }
}

impl AnalysisConfig {
    /// Seconds per frame.
    pub fn frame_seconds(&self) -> f64 {
        self.hop as f64 / f64::from(self.sr)
    }

    /// Time (s) of frame `i` (centred frames: frame i is centred at `i * hop`).
    pub fn frame_time(&self, i: usize) -> f64 {
        i as f64 * self.frame_seconds()
    }

    /// Nearest frame of time `t` (s).
    pub fn time_frame(&self, t: f64) -> usize {
        (t / self.frame_seconds()).round().max(0.0) as usize
    }
}
