//! `render-video`: a project's dance as an MP4 (H.264 + AAC) for posting.

use std::path::PathBuf;

use super::progress::TerminalProgress;
use crate::render::{VideoOptions, VideoReport};
use crate::service::video::render_saved_project_video;

/// Arguments of `render-video`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct RenderVideoArgs {
    /// Project file.
    pub project: PathBuf,
    /// Output video (`.mp4`).
    #[arg(long, short = 'o', visible_alias = "out")]
    pub output: PathBuf,
    /// Frame size, WIDTHxHEIGHT (even sides).
    #[arg(long, default_value = "1280x720")]
    pub size: String,
    /// Frames per second.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// H.264 quality: x264's constant rate factor (0–51, lower is better and larger).
    #[arg(long, default_value_t = 20)]
    pub crf: u8,
    /// Library folder (default: the one the project names).
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `render-video`.
pub fn run_render_video(args: &RenderVideoArgs) -> anyhow::Result<VideoReport> {
    let (width, height) = VideoOptions::parse_size(&args.size)?;
    let opts = VideoOptions {
        width,
        height,
        fps: args.fps,
        crf: args.crf,
        ffmpeg: None,
    };
    let report = render_saved_project_video(
        &args.project,
        args.library.as_deref(),
        &args.output,
        &opts,
        &TerminalProgress::new(),
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "path": report.path,
                "frames": report.frames,
                "seconds": report.seconds,
                "bytes": report.bytes,
                "wall_seconds": report.wall_seconds,
                "adapter": report.adapter,
                "encoder": report.encoder,
            })
        );
    } else {
        println!(
            "{}: {} frames at {} fps ({:.1} s, {}x{}, H.264 {} + AAC), {:.1} MB in {:.1} s on {}",
            report.path.display(),
            report.frames,
            opts.fps,
            report.seconds,
            width,
            height,
            report.encoder,
            report.bytes as f64 / 1e6,
            report.wall_seconds,
            report.adapter
        );
    }
    Ok(report)
}
