//! Video export: the blended dance drawn frame by frame by the [`OffscreenRenderer`] (Mesa's
//! lavapipe on a machine without a GPU), the camera following the dancer, piped as raw RGBA
//! into the system's `ffmpeg`, which encodes H.264 (`yuv420p`) and AAC and muxes an MP4 with
//! its index at the front (`-movflags +faststart`), so browsers start playing while loading.
//!
//! Why `ffmpeg` and not crates: no pure-Rust AAC encoder exists, the Rust H.264 encoders bind
//! C code we would compile on every cold build (OpenH264, slower and larger files than x264 at
//! the same quality), and an MP4 made by `ffmpeg` is what every browser and editing tool is
//! tested against. A missing `ffmpeg` is a clear error ([`VideoError::NoEncoder`]) before any
//! work starts; `PHRASEWISE_FFMPEG` names another binary.
//!
//! The output is written under a temporary name next to the target and renamed into place only
//! when `ffmpeg` succeeded ([`PendingFile`]): a cancel, a full disk or a crash of the encoder
//! leaves nothing half-written under the final name.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use super::RenderError;
use super::camera::OrbitCamera;
use super::offscreen::{OffscreenRenderer, RgbaImage};
use super::scene::Scene;
use crate::files::{FileError, PendingFile};
use crate::motion::blend::Choreography;

/// Environment variable naming the `ffmpeg` binary (default: `ffmpeg` on the `PATH`).
pub const FFMPEG_ENV: &str = "PHRASEWISE_FFMPEG";

/// Largest frame side accepted (4K UHD's width); sides must be even for `yuv420p`.
pub const MAX_SIDE: u32 = 3840;

/// Time constant of the camera's follow (s): the view eases towards the hips instead of
/// jumping with every step.
const FOLLOW_SECONDS: f64 = 0.35;

/// How the video is made.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoOptions {
    /// Frame width in pixels (even).
    pub width: u32,
    /// Frame height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// x264's constant rate factor (0–51, lower = better and larger; 20 is visually clean
    /// for flat-shaded figures).
    pub crf: u8,
    /// The `ffmpeg` binary; `None`: [`FFMPEG_ENV`], else `ffmpeg` on the `PATH`.
    pub ffmpeg: Option<PathBuf>,
}

impl Default for VideoOptions {
    /// 1280×720 at 30 fps.
    fn default() -> Self {
        VideoOptions {
            width: 1280,
            height: 720,
            fps: 30.0,
            crf: 20,
            ffmpeg: None,
        }
    }
}

impl VideoOptions {
    /// Checks size and frame rate.
    pub fn check(&self) -> Result<(), VideoError> {
        let side_ok = |s: u32| (16..=MAX_SIDE).contains(&s) && s.is_multiple_of(2);
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(VideoError::Options(format!(
                "video size {}x{}: each side must be even and within 16..={MAX_SIDE} pixels",
                self.width, self.height
            )));
        }
        if !(self.fps.is_finite() && (1.0..=120.0).contains(&self.fps)) {
            return Err(VideoError::Options(format!(
                "frame rate {} is outside 1–120 fps",
                self.fps
            )));
        }
        if self.crf > 51 {
            return Err(VideoError::Options(format!(
                "quality (crf) {} is outside 0–51",
                self.crf
            )));
        }
        Ok(())
    }

    /// Parses `WIDTHxHEIGHT` (`1280x720`).
    pub fn parse_size(text: &str) -> Result<(u32, u32), VideoError> {
        let bad = || {
            VideoError::Options(format!(
                "video size `{text}`: expected WIDTHxHEIGHT, e.g. 1280x720"
            ))
        };
        let (w, h) = text.split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let w = w.trim().parse::<u32>().map_err(|_| bad())?;
        let h = h.trim().parse::<u32>().map_err(|_| bad())?;
        Ok((w, h))
    }
}

/// The song's sound for the video.
#[derive(Clone, Debug)]
pub enum VideoAudio {
    /// The song file itself (full quality, every channel), read by `ffmpeg`.
    File(PathBuf),
    /// Decoded mono samples (the editor's copy, when the file is gone or embedded), written
    /// to a temporary WAV for `ffmpeg`.
    Samples {
        /// Mono samples.
        samples: Arc<[f32]>,
        /// Their rate (Hz).
        sample_rate: u32,
    },
}

/// What was written.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoReport {
    /// The video file.
    pub path: PathBuf,
    /// Frames encoded.
    pub frames: usize,
    /// Length (s): the song's.
    pub seconds: f64,
    /// File size in bytes.
    pub bytes: u64,
    /// Wall time of rendering and encoding (s).
    pub wall_seconds: f64,
    /// The graphics adapter that drew the frames.
    pub adapter: String,
    /// The H.264 encoder `ffmpeg` used.
    pub encoder: String,
}

/// Why a video could not be made. Every message names the file or the program concerned.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// No `ffmpeg` to encode with.
    #[error(
        "video export needs ffmpeg, and `{program}` could not be run ({reason}). Install it \
         (Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install ffmpeg; Windows: \
         https://ffmpeg.org/download.html) or set {FFMPEG_ENV} to its path"
    )]
    NoEncoder {
        /// The program looked for.
        program: String,
        /// Why it could not be used.
        reason: String,
    },
    /// Size, frame rate or quality out of range.
    #[error("{0}")]
    Options(String),
    /// The dance has no frames.
    #[error("the dance is empty: nothing to render")]
    Empty,
    /// The song's audio file is missing.
    #[error("{path}: the song's audio file is missing")]
    MissingAudio {
        /// The file.
        path: PathBuf,
    },
    /// Drawing a frame failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Creating, writing or renaming the output (or the temporary audio) failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// `ffmpeg` failed (a full disk, an unreadable song, a broken encoder).
    #[error("{path}: ffmpeg failed ({status}): {message}")]
    Encoder {
        /// The video being written.
        path: PathBuf,
        /// Its exit status.
        status: String,
        /// The end of what it printed.
        message: String,
    },
    /// The user stopped the export; nothing was written.
    #[error("cancelled")]
    Cancelled,
}

/// The `ffmpeg` to run: `chosen`, else [`FFMPEG_ENV`], else `ffmpeg`.
pub fn ffmpeg_program(chosen: Option<&Path>) -> PathBuf {
    if let Some(p) = chosen {
        return p.to_path_buf();
    }
    std::env::var_os(FFMPEG_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("ffmpeg"), PathBuf::from)
}

/// The H.264 encoder `program` offers (`libx264`, else `libopenh264`), or why none can be
/// used.
pub fn h264_encoder(program: &Path) -> Result<&'static str, VideoError> {
    let no = |reason: String| VideoError::NoEncoder {
        program: program.display().to_string(),
        reason,
    };
    let out = Command::new(program)
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| no(e.to_string()))?;
    if !out.status.success() {
        return Err(no(format!("`-encoders` exited with {}", out.status)));
    }
    let list = String::from_utf8_lossy(&out.stdout);
    let has = |name: &str| list.split_whitespace().any(|w| w == name);
    if has("libx264") {
        Ok("libx264")
    } else if has("libopenh264") {
        Ok("libopenh264")
    } else {
        Err(no("it has no H.264 encoder (libx264 or libopenh264)".into()))
    }
}

/// Number of frames for `seconds` of song at `fps` (at least one): the video ends within one
/// frame of the song.
pub fn frame_count(seconds: f64, fps: f64) -> usize {
    ((seconds * fps).round() as usize).max(1)
}

/// Renders `dance` over `seconds` of song to an MP4 at `out` with `audio` muxed in.
/// `progress(done, total)` is called after every frame; returning `false` cancels (the
/// encoder is stopped and nothing is left behind).
pub fn render_video(
    dance: &Choreography,
    seconds: f64,
    audio: &VideoAudio,
    opts: &VideoOptions,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<VideoReport, VideoError> {
    let start = Instant::now();
    check_inputs(dance, seconds, opts, out)?;
    let program = ffmpeg_program(opts.ffmpeg.as_deref());
    let encoder = h264_encoder(&program)?;
    let target = PendingFile::new(out)?;
    let (audio_path, wav) = audio_input(audio, out)?;

    let mut renderer = OffscreenRenderer::new()?;
    let adapter = renderer.adapter_info().name.clone();
    let frames = frame_count(seconds, opts.fps);
    let mut child = spawn_ffmpeg(
        &program,
        encoder,
        opts,
        seconds,
        &audio_path,
        target.temp_path(),
    )
    .map_err(|e| VideoError::NoEncoder {
        program: program.display().to_string(),
        reason: e.to_string(),
    })?;
    let stderr = collect_stderr(&mut child);
    let fed = feed_frames(&mut child, &mut renderer, dance, frames, opts, progress);
    if matches!(fed, Err(VideoError::Cancelled)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(VideoError::Cancelled);
    }
    // Closing stdin (dropped in feed_frames) lets ffmpeg finish the file.
    let status = child.wait().map_err(|e| VideoError::Encoder {
        path: out.to_path_buf(),
        status: "not waited for".into(),
        message: e.to_string(),
    })?;
    let message = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(VideoError::Encoder {
            path: out.to_path_buf(),
            status: status.to_string(),
            message: tail(&message),
        });
    }
    // A broken pipe means ffmpeg stopped reading; its status says why, so only a render
    // error is reported from here.
    fed?;
    target.commit()?;
    drop(wav);
    let bytes = std::fs::metadata(out).map_or(0, |m| m.len());
    Ok(VideoReport {
        path: out.to_path_buf(),
        frames,
        seconds,
        bytes,
        wall_seconds: start.elapsed().as_secs_f64(),
        adapter,
        encoder: encoder.to_string(),
    })
}

/// Refuses what cannot be rendered before any work starts.
fn check_inputs(
    dance: &Choreography,
    seconds: f64,
    opts: &VideoOptions,
    out: &Path,
) -> Result<(), VideoError> {
    opts.check()?;
    if dance.slots.is_empty() || !(seconds.is_finite() && seconds > 0.0) {
        return Err(VideoError::Empty);
    }
    if seconds > crate::limits::MAX_SONG_SECONDS {
        return Err(VideoError::Options(format!(
            "the song is {seconds:.0} s long; videos are limited to {} s",
            crate::limits::MAX_SONG_SECONDS
        )));
    }
    if out.is_dir() {
        return Err(VideoError::Options(format!(
            "{}: is a folder; give a file name such as dance.mp4",
            out.display()
        )));
    }
    Ok(())
}

/// The audio file `ffmpeg` reads: the song itself, or the decoded samples written to a
/// temporary WAV beside the video (removed when the returned [`PendingFile`] is dropped).
fn audio_input(
    audio: &VideoAudio,
    out: &Path,
) -> Result<(PathBuf, Option<PendingFile>), VideoError> {
    Ok(match audio {
        VideoAudio::File(path) => {
            if !path.is_file() {
                return Err(VideoError::MissingAudio { path: path.clone() });
            }
            (path.clone(), None)
        }
        VideoAudio::Samples {
            samples,
            sample_rate,
        } => {
            let wav = PendingFile::new(&out.with_extension("audio.wav"))?;
            wav.write(&crate::demo::wav_bytes(samples, *sample_rate))?;
            (wav.temp_path().to_path_buf(), Some(wav))
        }
    })
}

/// Starts `ffmpeg` reading raw RGBA frames on stdin and the song from `audio`.
fn spawn_ffmpeg(
    program: &Path,
    encoder: &str,
    opts: &VideoOptions,
    seconds: f64,
    audio: &Path,
    out: &Path,
) -> std::io::Result<Child> {
    let size = format!("{}x{}", opts.width, opts.height);
    let mut cmd = Command::new(program);
    cmd.args(["-hide_banner", "-nostats", "-loglevel", "error", "-y"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-video_size", &size])
        .args(["-framerate", &format!("{}", opts.fps), "-i", "pipe:0"])
        .arg("-i")
        .arg(audio)
        .args(["-map", "0:v:0", "-map", "1:a:0", "-c:v", encoder]);
    if encoder == "libx264" {
        cmd.args(["-preset", "veryfast", "-crf", &opts.crf.to_string()]);
    }
    cmd.args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k"])
        .args([
            "-t",
            &format!("{seconds:.6}"),
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
}

/// Reads the child's stderr on a thread (so a chatty encoder never blocks on a full pipe).
fn collect_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let pipe = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut text);
        }
        text
    })
}

/// The last lines of an encoder's output, for an error message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(4);
    let t = lines[from..].join("; ");
    if t.is_empty() { "no message".into() } else { t }
}

/// Draws every frame and writes it to the encoder's stdin (closed on return).
fn feed_frames(
    child: &mut Child,
    renderer: &mut OffscreenRenderer,
    dance: &Choreography,
    frames: usize,
    opts: &VideoOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<(), VideoError> {
    let Some(mut stdin) = child.stdin.take() else {
        return Ok(());
    };
    let mut image = RgbaImage {
        width: opts.width,
        height: opts.height,
        pixels: Vec::new(),
    };
    let mut camera = OrbitCamera::default();
    let follow = (1.0 - (-1.0 / (opts.fps * FOLLOW_SECONDS)).exp()) as f32;
    for i in 0..frames {
        let pose = dance.sample(i as f64 / opts.fps).world();
        if i == 0 {
            camera.frame(&pose);
        } else {
            camera.frame_towards(&pose, follow);
        }
        renderer.render_into(&Scene::new(pose, camera), &mut image)?;
        if stdin.write_all(&image.pixels).is_err() {
            // ffmpeg stopped reading: its exit status and message tell why.
            return Ok(());
        }
        if !progress(i + 1, frames) {
            return Err(VideoError::Cancelled);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        assert!(VideoOptions::default().check().is_ok());
        for (w, h, fps) in [
            (1281, 720, 30.0),
            (0, 720, 30.0),
            (8000, 720, 30.0),
            (1280, 720, 0.0),
            (1280, 720, f64::NAN),
        ] {
            let o = VideoOptions {
                width: w,
                height: h,
                fps,
                ..VideoOptions::default()
            };
            assert!(o.check().is_err(), "{w}x{h} at {fps}");
        }
        assert_eq!(VideoOptions::parse_size("640x360").unwrap(), (640, 360));
        assert!(
            VideoOptions::parse_size("640")
                .unwrap_err()
                .to_string()
                .contains("WIDTHxHEIGHT")
        );
    }

    #[test]
    fn frame_count_ends_within_a_frame_of_the_song() {
        for (s, fps) in [(98.8, 30.0), (10.01, 24.0), (0.001, 30.0), (3.0, 60.0)] {
            let n = frame_count(s, fps);
            assert!(n >= 1);
            if s * fps >= 1.0 {
                assert!(
                    (n as f64 / fps - s).abs() <= 0.5 / fps + 1e-9,
                    "{s} s at {fps}"
                );
            }
        }
    }

    #[test]
    fn a_missing_ffmpeg_is_named() {
        let e = h264_encoder(Path::new("/nonexistent/ffmpeg")).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("/nonexistent/ffmpeg") && m.contains("apt install ffmpeg"),
            "{m}"
        );
    }
}
