//! Song playback through cpal, with a playhead taken from the output stream's clock.
//!
//! The whole song is decoded up front (mono, the analysis rate), so the audio callback only
//! reads an immutable `Arc<[f32]>` and a handful of atomics: it never allocates, locks or
//! blocks (the rule Symphonia's `symphonia-play` output follows). The UI writes requests
//! (play, seek, speed, loop) into atomics; the callback publishes, per buffer, the song time
//! that is audible at `callback + (playback − callback)` latency together with a
//! monotonic `Instant`, and the UI extrapolates from that pair. So the playhead follows the
//! device, not a count of frames the UI thinks it has sent.
//!
//! With no output device (CI, a laptop without sound) the same [`Transport`] runs on the
//! wall clock: the editor keeps working and says "no audio output".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

/// Playback problems (none of them stop the editor).
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    /// No default output device.
    #[error("no audio output device")]
    NoDevice,
    /// The device refused a stream.
    #[error("audio output unavailable: {0}")]
    Stream(String),
}

/// Lowest playback speed (fraction of normal).
pub const MIN_SPEED: f32 = 0.5;
/// Highest playback speed.
pub const MAX_SPEED: f32 = 1.0;

const NO_SEEK: u64 = u64::MAX;

/// State shared between the UI thread and the audio callback: atomics only.
#[derive(Debug)]
pub struct Transport {
    playing: AtomicBool,
    /// Requested seek (f64 seconds bits), [`NO_SEEK`] when none.
    seek: AtomicU64,
    /// Playback speed (f32 bits).
    speed: AtomicU32,
    /// Loop region start/end (f64 seconds bits); end ≤ start means no loop.
    loop_start: AtomicU64,
    loop_end: AtomicU64,
    /// Song time (s, f64 bits) audible at [`Self::anchor_nanos`].
    anchor_time: AtomicU64,
    /// Nanoseconds since [`Self::epoch`] when `anchor_time` is audible.
    anchor_nanos: AtomicU64,
    /// Whether the anchor advances (false while paused).
    anchor_running: AtomicBool,
    epoch: Instant,
    duration: f64,
}

impl Transport {
    /// A stopped transport at 0 s for a song of `duration` seconds.
    pub fn new(duration: f64) -> Transport {
        Transport {
            playing: AtomicBool::new(false),
            seek: AtomicU64::new(NO_SEEK),
            speed: AtomicU32::new(1.0f32.to_bits()),
            loop_start: AtomicU64::new(0f64.to_bits()),
            loop_end: AtomicU64::new(0f64.to_bits()),
            anchor_time: AtomicU64::new(0f64.to_bits()),
            anchor_nanos: AtomicU64::new(0),
            anchor_running: AtomicBool::new(false),
            epoch: Instant::now(),
            duration: duration.max(0.0),
        }
    }

    /// Song length (s).
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Whether playback is running.
    pub fn is_playing(&self) -> bool {
        self.playing.load(Ordering::Acquire)
    }

    /// Starts or pauses.
    pub fn set_playing(&self, on: bool) {
        if !on {
            // Freeze the playhead where it is audible now, and move the callback's cursor
            // there so resuming starts exactly at the frozen position.
            let t = self.position();
            self.seek.store(t.to_bits(), Ordering::Release);
            self.publish(t, self.now_nanos(), false);
        }
        self.playing.store(on, Ordering::Release);
    }

    /// Jumps to `t` seconds (clamped to the song).
    pub fn seek(&self, t: f64) {
        let t = t.clamp(0.0, self.duration);
        self.seek.store(t.to_bits(), Ordering::Release);
        self.publish(t, self.now_nanos(), false);
    }

    /// Sets the speed, clamped to [[`MIN_SPEED`], [`MAX_SPEED`]].
    pub fn set_speed(&self, s: f32) {
        self.speed
            .store(s.clamp(MIN_SPEED, MAX_SPEED).to_bits(), Ordering::Release);
    }

    /// Current speed.
    pub fn speed(&self) -> f32 {
        f32::from_bits(self.speed.load(Ordering::Acquire))
    }

    /// Loops `[start, end)`; `None` stops looping.
    pub fn set_loop(&self, region: Option<(f64, f64)>) {
        let (a, b) = region.unwrap_or((0.0, 0.0));
        self.loop_start.store(a.to_bits(), Ordering::Release);
        self.loop_end.store(b.to_bits(), Ordering::Release);
    }

    /// The loop region, if any.
    pub fn loop_region(&self) -> Option<(f64, f64)> {
        let a = f64::from_bits(self.loop_start.load(Ordering::Acquire));
        let b = f64::from_bits(self.loop_end.load(Ordering::Acquire));
        (b > a).then_some((a, b))
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn publish(&self, t: f64, nanos: u64, running: bool) {
        self.anchor_running.store(false, Ordering::Release);
        self.anchor_time.store(t.to_bits(), Ordering::Release);
        self.anchor_nanos.store(nanos, Ordering::Release);
        self.anchor_running.store(running, Ordering::Release);
    }

    /// The audible song time now: the last anchor the output published, advanced by the
    /// time since at the current speed, wrapped into the loop region and clamped to the song.
    pub fn position(&self) -> f64 {
        let t = f64::from_bits(self.anchor_time.load(Ordering::Acquire));
        if !self.anchor_running.load(Ordering::Acquire) || !self.is_playing() {
            return t.clamp(0.0, self.duration);
        }
        let dt = self
            .now_nanos()
            .saturating_sub(self.anchor_nanos.load(Ordering::Acquire)) as f64
            * 1e-9;
        let mut p = t + dt * f64::from(self.speed());
        if let Some((a, b)) = self.loop_region()
            && t < b
            && p >= b
        {
            p = a + (p - a).rem_euclid(b - a);
        }
        p.clamp(0.0, self.duration)
    }

    /// Advances the clock without an audio device: called by the UI each frame when there is
    /// no output stream, with `song` time computed from the wall clock.
    pub fn tick_without_device(&self) {
        if !self.is_playing() {
            return;
        }
        let p = self.position();
        if p >= self.duration {
            self.set_playing(false);
            self.publish(self.duration, self.now_nanos(), false);
            return;
        }
        if !self.anchor_running.load(Ordering::Acquire) {
            self.publish(p, self.now_nanos(), true);
        }
    }
}

/// The callback's own reading position, kept inside the closure (never shared).
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    /// Position in input samples.
    pub pos: f64,
}

/// Fills one interleaved output buffer from `samples` (mono at `sr_in`) for a device at
/// `sr_out` with `channels` channels; linear interpolation at the speed-scaled step. Returns
/// the song time of the buffer's first frame. Pure and allocation-free: the audio callback's
/// whole job, testable without a device.
pub fn fill(
    transport: &Transport,
    cursor: &mut Cursor,
    samples: &[f32],
    sr_in: u32,
    sr_out: u32,
    channels: usize,
    out: &mut [f32],
) -> f64 {
    let seek = transport.seek.swap(NO_SEEK, Ordering::AcqRel);
    if seek != NO_SEEK {
        cursor.pos = f64::from_bits(seek) * f64::from(sr_in);
    }
    let first = cursor.pos / f64::from(sr_in);
    let channels = channels.max(1);
    if !transport.is_playing() {
        out.fill(0.0);
        return first;
    }
    let step = f64::from(transport.speed()) * f64::from(sr_in) / f64::from(sr_out.max(1));
    let region = transport
        .loop_region()
        .map(|(a, b)| (a * f64::from(sr_in), b * f64::from(sr_in)));
    let n = samples.len();
    for frame in out.chunks_mut(channels) {
        if let Some((a, b)) = region
            && cursor.pos >= b
            && cursor.pos - step < b
        {
            cursor.pos = a + (cursor.pos - b);
        }
        let i = cursor.pos.floor();
        let v = if (i as usize) + 1 < n && i >= 0.0 {
            let k = i as usize;
            let f = (cursor.pos - i) as f32;
            samples[k] * (1.0 - f) + samples[k + 1] * f
        } else {
            0.0
        };
        frame.fill(v);
        cursor.pos += step;
    }
    first
}

/// An open output stream (or none) playing one song.
pub struct Player {
    transport: Arc<Transport>,
    /// Kept alive while playing; `None` without a device.
    _stream: Option<cpal::Stream>,
    /// Why there is no stream, for the status bar.
    pub unavailable: Option<String>,
    /// Device description, for the status bar.
    pub device: Option<String>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("device", &self.device)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl Player {
    /// Opens the default output for `samples` (mono, `sr` Hz). Never fails: without a device
    /// the player runs on the wall clock and [`Self::unavailable`] says why.
    pub fn open(samples: Arc<[f32]>, sr: u32) -> Player {
        let duration = samples.len() as f64 / f64::from(sr.max(1));
        let transport = Arc::new(Transport::new(duration));
        match open_stream(samples, sr, transport.clone()) {
            Ok((stream, device)) => Player {
                transport,
                _stream: Some(stream),
                unavailable: None,
                device: Some(device),
            },
            Err(e) => {
                tracing::warn!("playback: {e}; the editor continues without sound");
                Player {
                    transport,
                    _stream: None,
                    unavailable: Some(e.to_string()),
                    device: None,
                }
            }
        }
    }

    /// A player that never opens a device (tests, headless runs).
    pub fn silent(duration: f64) -> Player {
        Player {
            transport: Arc::new(Transport::new(duration)),
            _stream: None,
            unavailable: Some("audio output disabled".to_string()),
            device: None,
        }
    }

    /// The shared transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Call once per UI frame (drives the wall clock when there is no device).
    pub fn tick(&self) {
        if self._stream.is_none() {
            self.transport.tick_without_device();
        }
    }
}

fn open_stream(
    samples: Arc<[f32]>,
    sr: u32,
    transport: Arc<Transport>,
) -> Result<(cpal::Stream, String), PlaybackError> {
    let host = cpal::default_host();
    let device = host
        .default_output_device()
        .ok_or(PlaybackError::NoDevice)?;
    let supported = device
        .default_output_config()
        .map_err(|e| PlaybackError::Stream(e.to_string()))?;
    let config = supported.config();
    let name = format!(
        "{} Hz, {} ch, {:?}",
        config.sample_rate,
        config.channels,
        supported.sample_format()
    );
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => build::<f32>(&device, config, samples, sr, transport),
        cpal::SampleFormat::I16 => build::<i16>(&device, config, samples, sr, transport),
        cpal::SampleFormat::U16 => build::<u16>(&device, config, samples, sr, transport),
        cpal::SampleFormat::I32 => build::<i32>(&device, config, samples, sr, transport),
        other => Err(PlaybackError::Stream(format!(
            "unsupported sample format {other:?}"
        ))),
    }?;
    stream
        .play()
        .map_err(|e| PlaybackError::Stream(e.to_string()))?;
    Ok((stream, name))
}

/// Largest device buffer handled without a second pass (frames × channels).
const SCRATCH: usize = 8192;

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    samples: Arc<[f32]>,
    sr: u32,
    transport: Arc<Transport>,
) -> Result<cpal::Stream, PlaybackError>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels);
    let sr_out = config.sample_rate;
    let mut cursor = Cursor { pos: 0.0 };
    // Allocated once here, never in the callback.
    let mut scratch = vec![0.0f32; SCRATCH];
    let chunk = (SCRATCH / channels.max(1)) * channels.max(1);
    device
        .build_output_stream(
            config,
            move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
                let ts = info.timestamp();
                let latency = ts
                    .playback
                    .checked_duration_since(ts.callback)
                    .map_or(0.0, |d| d.as_secs_f64());
                let mut first_time = None;
                for block in data.chunks_mut(chunk.max(1)) {
                    let buf = &mut scratch[..block.len()];
                    let t = fill(&transport, &mut cursor, &samples, sr, sr_out, channels, buf);
                    first_time.get_or_insert(t);
                    for (o, v) in block.iter_mut().zip(buf.iter()) {
                        *o = T::from_sample(*v);
                    }
                }
                // The buffer's first frame becomes audible `latency` from now.
                let t0 = first_time.unwrap_or(0.0);
                let now = transport.now_nanos();
                let at = now.saturating_add((latency * 1e9) as u64);
                // Anchor at `t0` audible at `at`; position() extrapolates from there (it may
                // read slightly before `at`, which saturates to t0). Paused: the UI owns the
                // anchor.
                if transport.is_playing() {
                    transport.publish(t0, at, true);
                    if t0 >= transport.duration {
                        transport.playing.store(false, Ordering::Release);
                    }
                }
            },
            |e| tracing::warn!("audio stream error: {e}"),
            None,
        )
        .map_err(|e| PlaybackError::Stream(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    #[test]
    fn fill_is_silent_when_paused_and_reads_when_playing() {
        let t = Transport::new(10.0);
        let s = ramp(1000);
        let mut c = Cursor { pos: 0.0 };
        let mut out = vec![1.0f32; 8];
        fill(&t, &mut c, &s, 100, 100, 2, &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
        t.set_playing(true);
        fill(&t, &mut c, &s, 100, 100, 2, &mut out);
        // 4 stereo frames of 0,1,2,3 duplicated to both channels.
        assert_eq!(out, vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        assert!((c.pos - 4.0).abs() < 1e-9);
    }

    #[test]
    fn fill_resamples_seeks_and_honours_speed() {
        let t = Transport::new(10.0);
        let s = ramp(1000);
        let mut c = Cursor { pos: 0.0 };
        t.set_playing(true);
        t.seek(1.0); // sample 100 at 100 Hz
        t.set_speed(0.5);
        let mut out = vec![0.0f32; 4];
        // device at 200 Hz, half speed: step = 0.5 * 100 / 200 = 0.25 samples per frame
        let first = fill(&t, &mut c, &s, 100, 200, 1, &mut out);
        assert!((first - 1.0).abs() < 1e-9);
        for (i, v) in out.iter().enumerate() {
            assert!((v - (100.0 + 0.25 * i as f32)).abs() < 1e-4, "{out:?}");
        }
        t.set_speed(0.1);
        assert_eq!(t.speed(), MIN_SPEED);
    }

    #[test]
    fn fill_wraps_inside_the_loop_region() {
        let t = Transport::new(10.0);
        let s = ramp(1000);
        let mut c = Cursor { pos: 0.0 };
        t.set_playing(true);
        t.set_loop(Some((0.1, 0.2))); // samples 10..20
        t.seek(0.18);
        let mut out = vec![0.0f32; 6];
        fill(&t, &mut c, &s, 100, 100, 1, &mut out);
        assert_eq!(out, vec![18.0, 19.0, 10.0, 11.0, 12.0, 13.0]);
    }

    #[test]
    fn wall_clock_transport_advances_and_pauses() {
        let t = Transport::new(100.0);
        t.seek(5.0);
        t.set_playing(true);
        t.tick_without_device();
        std::thread::sleep(std::time::Duration::from_millis(60));
        let p = t.position();
        assert!(p > 5.04 && p < 6.0, "{p}");
        t.set_playing(false);
        let q = t.position();
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!((t.position() - q).abs() < 1e-9);
        let player = Player::silent(3.0);
        assert!(player.unavailable.is_some());
        assert_eq!(player.transport().duration(), 3.0);
    }
}
