//! The 3-D skeleton preview, drawn with wgpu: shaded capsule bones, floor grid, contact
//! shadows, an orbit camera. No egui types here (layer 4): the editor wraps
//! [`SkeletonRenderer`] in an `egui_wgpu` paint callback (`prepare` → [`SkeletonRenderer::prepare`],
//! `paint` → [`SkeletonRenderer::paint`]); tests and exports use [`OffscreenRenderer`].
//!
//! Shaders are WGSL in `shaders/`, compiled into the binary with `include_str!`.

pub mod camera;
pub mod offscreen;
pub mod renderer;
pub mod scene;
pub mod video;

pub use camera::OrbitCamera;
pub use offscreen::{OffscreenRenderer, RgbaImage, render_offscreen};
pub use renderer::SkeletonRenderer;
pub use scene::Scene;
pub use video::{VideoAudio, VideoError, VideoOptions, VideoReport, render_video};

/// Every error of the renderer. Only the offscreen path can fail: inside the editor the
/// device belongs to egui.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No adapter, not even a software one.
    #[error(
        "no graphics adapter found (backends {backends}): {reason}. Without a GPU, install a \
         software Vulkan adapter: Mesa's lavapipe (Debian/Ubuntu: apt install \
         mesa-vulkan-drivers libvulkan1); WGPU_BACKEND=vulkan picks it"
    )]
    NoAdapter {
        /// The backends that were searched.
        backends: String,
        /// wgpu's reason.
        reason: String,
    },
    /// The adapter refused to open a device.
    #[error("could not open the graphics device: {0}")]
    Device(String),
    /// The requested image size is zero or too large for the device.
    #[error("image size {width}x{height} is outside 1..={max} pixels per side")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// The device's maximum texture side.
        max: u32,
    },
    /// wgpu reported a validation error (a bug in the renderer).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Waiting for the GPU failed.
    #[error("waiting for the GPU failed: {0}")]
    Poll(String),
    /// Reading the image back failed.
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
}
