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

/// Mesa releases before 23 compile every branch of a shader to run on all pixels, also when
/// the condition is the same for the whole draw (lavapipe learnt uniform branches in 23.x):
/// egui's shader carries an optional software texture filter behind such a branch, so the
/// editor's frame under Xvfb costs 77 ms with Debian 12's Mesa 22.3 and 29 ms with Mesa 25.0
/// (BENCHMARKS *Editor frame time on Mesa 25*). Returns a hint for the log when `info` is such
/// a software adapter, `None` for GPUs, newer Mesa and drivers that do not say.
pub fn slow_software_adapter_hint(info: &wgpu::AdapterInfo) -> Option<String> {
    if info.device_type != wgpu::DeviceType::Cpu {
        return None;
    }
    let rest = info.driver_info.split("Mesa ").nth(1)?;
    let major: u32 = rest.split('.').next()?.trim().parse().ok()?;
    (major < 23).then(|| {
        format!(
            "{} with Mesa {major} draws the editor about 2.7x slower than Mesa 23 or later \
             (it runs both sides of every shader branch); on Debian 12, .ci/setup installs \
             mesa-vulkan-drivers from bookworm-backports",
            info.name
        )
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(device_type: wgpu::DeviceType, driver_info: &str) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            vendor: 0x10005,
            device: 0,
            device_type,
            driver: "llvmpipe".into(),
            driver_info: driver_info.into(),
            backend: wgpu::Backend::Vulkan,
            ..wgpu::AdapterInfo::new(wgpu::DeviceType::Other, wgpu::Backend::Noop)
        }
    }

    #[test]
    fn old_mesa_software_adapters_get_a_hint() {
        let cpu = wgpu::DeviceType::Cpu;
        let hint = slow_software_adapter_hint(&adapter(cpu, "Mesa 22.3.6-1+deb12u2 (LLVM 15.0.6)"));
        assert!(hint.is_some_and(|h| h.contains("Mesa 22") && h.contains("backports")));
        for quiet in [
            adapter(cpu, "Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)"),
            adapter(cpu, "Mesa 23.0.0"),
            adapter(cpu, ""),
            adapter(cpu, "Mesa x.y"),
            adapter(wgpu::DeviceType::DiscreteGpu, "Mesa 22.3.6"),
        ] {
            assert_eq!(
                slow_software_adapter_hint(&quiet),
                None,
                "{}",
                quiet.driver_info
            );
        }
    }
}
