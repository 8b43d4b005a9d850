//! Streaming sample-rate conversion with rubato's FFT resampler (`FftFixedIn`), the synchronous
//! band-limited resampler; it plays the role of librosa's `soxr_hq` in `librosa.load`.

use super::AudioError;
use rubato::{FftFixedIn, Resampler};

/// Input chunk the FFT resampler works on (frames).
const CHUNK: usize = 4096;

/// Resamples a mono stream pushed in pieces of any length; output is delay-compensated, so
/// sample `n` of the output lies at time `n / rate_out` like sample `m` of the input at
/// `m / rate_in`.
pub struct StreamResampler {
    inner: Option<FftFixedIn<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    delay_left: usize,
    consumed_in: u64,
    produced_out: u64,
    rate_in: u32,
    rate_out: u32,
}

impl StreamResampler {
    /// A resampler from `rate_in` to `rate_out` Hz (identity when equal); both within
    /// [`crate::limits`]' sample-rate range.
    pub fn new(rate_in: u32, rate_out: u32) -> Result<Self, AudioError> {
        let ok = crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE;
        if !ok.contains(&rate_in) || !ok.contains(&rate_out) {
            return Err(AudioError::Resample(format!(
                "{rate_in} Hz to {rate_out} Hz: rates must lie in {}–{} Hz",
                ok.start(),
                ok.end()
            )));
        }
        let inner = if rate_in == rate_out {
            None
        } else {
            let r = FftFixedIn::<f32>::new(rate_in as usize, rate_out as usize, CHUNK, 2, 1)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            Some(r)
        };
        let delay_left = inner.as_ref().map_or(0, rubato::Resampler::output_delay);
        let out_max = inner
            .as_ref()
            .map_or(0, rubato::Resampler::output_frames_max);
        Ok(Self {
            inner,
            pending: Vec::with_capacity(CHUNK * 2),
            out_buf: vec![vec![0.0; out_max]],
            delay_left,
            consumed_in: 0,
            produced_out: 0,
            rate_in,
            rate_out,
        })
    }

    /// Pushes input samples; resampled output is appended to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed_in += input.len() as u64;
        let Some(r) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            self.produced_out += input.len() as u64;
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= r.input_frames_next() {
            let need = r.input_frames_next();
            let (_, n_out) = r
                .process_into_buffer(
                    &[&self.pending[start..start + need]],
                    &mut self.out_buf,
                    None,
                )
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            start += need;
            Self::emit(
                &self.out_buf[0][..n_out],
                &mut self.delay_left,
                out,
                &mut self.produced_out,
            );
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Flushes the tail: the total output length is `round(n_in * rate_out / rate_in)`.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let target = (self.consumed_in as f64 * f64::from(self.rate_out) / f64::from(self.rate_in))
            .round() as u64;
        let Some(r) = self.inner.as_mut() else {
            return Ok(());
        };
        let mut guard = 0;
        while self.produced_out < target && guard < 64 {
            guard += 1;
            let need = r.input_frames_next();
            let mut chunk = std::mem::take(&mut self.pending);
            chunk.resize(need, 0.0);
            let (_, n_out) = r
                .process_into_buffer(&[&chunk[..]], &mut self.out_buf, None)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            Self::emit(
                &self.out_buf[0][..n_out],
                &mut self.delay_left,
                out,
                &mut self.produced_out,
            );
        }
        let excess = self.produced_out.saturating_sub(target) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.produced_out = target;
        Ok(())
    }

    fn emit(block: &[f32], delay_left: &mut usize, out: &mut Vec<f32>, produced: &mut u64) {
        let skip = (*delay_left).min(block.len());
        *delay_left -= skip;
        out.extend_from_slice(&block[skip..]);
        *produced += (block.len() - skip) as u64;
    }
}

/// Resamples a whole mono signal (convenience over [`StreamResampler`]).
pub fn resample_mono(input: &[f32], rate_in: u32, rate_out: u32) -> Result<Vec<f32>, AudioError> {
    let mut r = StreamResampler::new(rate_in, rate_out)?;
    let mut out = Vec::with_capacity(
        (input.len() as f64 * f64::from(rate_out) / f64::from(rate_in.max(1))) as usize + 16,
    );
    for piece in input.chunks(10_000) {
        r.push(piece, &mut out)?;
    }
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn length_and_phase_are_preserved() {
        for &rate in &[44_100u32, 48_000, 8_000, 16_000] {
            let x = sine(440.0, rate, 2.0);
            let y = resample_mono(&x, rate, 22_050).unwrap();
            assert_eq!(y.len(), 44_100, "rate {rate}");
            // compare against the ideal sine in the middle (edges have filter transients)
            let ideal = sine(440.0, 22_050, 2.0);
            let err: f32 = (5000..40_000)
                .map(|i| (y[i] - ideal[i]).abs())
                .fold(0.0, f32::max);
            // < 0.07 ≈ a phase error under half an output sample (23 µs) at 440 Hz
            assert!(err < 0.07, "rate {rate}: max error {err}");
        }
    }

    #[test]
    fn aliasing_is_suppressed() {
        // 15 kHz at 44.1 kHz is above the new Nyquist (11.025 kHz): must be filtered out.
        let x = sine(15_000.0, 44_100, 1.0);
        let y = resample_mono(&x, 44_100, 22_050).unwrap();
        let rms = (y[2000..20_000].iter().map(|v| v * v).sum::<f32>() / 18_000.0).sqrt();
        assert!(rms < 0.01, "alias rms {rms}");
    }

    #[test]
    fn identity_rate_is_a_copy() {
        let x = sine(100.0, 22_050, 0.5);
        assert_eq!(resample_mono(&x, 22_050, 22_050).unwrap(), x);
    }
}
