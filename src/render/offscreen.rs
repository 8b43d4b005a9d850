//! Rendering without a window: tests, thumbnails and (later) video export.
//!
//! [`OffscreenRenderer`] owns its own wgpu device and a [`SkeletonRenderer`], so many frames
//! can be rendered without re-creating either; [`render_offscreen`] is the one-shot form.

use super::RenderError;
use super::renderer::{COLOR_FORMAT, SkeletonRenderer};
use super::scene::Scene;
use std::sync::mpsc;

/// An 8-bit RGBA image, rows top to bottom, tightly packed, sRGB-encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    /// The pixel at (`x`, `y`), `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = 4 * (y as usize * self.width as usize + x as usize);
        self.pixels
            .get(i..i + 4)
            .and_then(|p| <[u8; 4]>::try_from(p).ok())
    }
}

/// A headless device plus a renderer and a reusable read-back buffer.
pub struct OffscreenRenderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    renderer: SkeletonRenderer,
    readback: Option<(wgpu::Buffer, u64)>,
}

impl OffscreenRenderer {
    /// Opens a device on the first adapter wgpu finds, accepting a software ("fallback")
    /// adapter such as Mesa's lavapipe when there is no GPU. Backends come from
    /// `WGPU_BACKEND` if set; otherwise the native ones (Vulkan, Metal, DX12) are tried
    /// before OpenGL, which on a headless Linux box only adds noise and a slower adapter.
    pub fn new() -> Result<OffscreenRenderer, RenderError> {
        let from_env = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let choices = if std::env::var_os("WGPU_BACKEND").is_some() {
            vec![from_env.backends]
        } else {
            vec![wgpu::Backends::PRIMARY, wgpu::Backends::all()]
        };
        let mut last_error = String::new();
        let mut found = None;
        for backends in &choices {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            desc.backends = *backends;
            let instance = wgpu::Instance::new(desc);
            for fallback in [false, true] {
                match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    force_fallback_adapter: fallback,
                    compatible_surface: None,
                    apply_limit_buckets: false,
                })) {
                    Ok(a) => {
                        found = Some(a);
                        break;
                    }
                    Err(e) => last_error = e.to_string(),
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some(adapter) = found else {
            return Err(RenderError::NoAdapter {
                backends: format!("{choices:?}"),
                reason: last_error,
            });
        };
        let adapter_info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("phrasewise offscreen"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        let renderer = SkeletonRenderer::new(&device, COLOR_FORMAT);
        Ok(OffscreenRenderer {
            device,
            queue,
            adapter_info,
            renderer,
            readback: None,
        })
    }

    /// The adapter in use (name, backend, whether it is a CPU implementation).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.adapter_info
    }

    /// The device, to build more GPU work on it (an export pipeline, a benchmark).
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Renders `scene` at `width` × `height` and reads the image back.
    pub fn render(
        &mut self,
        scene: &Scene,
        width: u32,
        height: u32,
    ) -> Result<RgbaImage, RenderError> {
        let mut img = RgbaImage {
            width,
            height,
            pixels: Vec::new(),
        };
        self.render_into(scene, &mut img)?;
        Ok(img)
    }

    /// Makes the read-back buffer at least `size` bytes (kept between frames).
    fn grow_readback(&mut self, size: u64) {
        if self.readback.as_ref().is_none_or(|(_, s)| *s < size) {
            let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("phrasewise read-back"),
                size,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            });
            self.readback = Some((buffer, size));
        }
    }

    /// Renders `scene` at `image`'s size into `image`, reusing its allocation (for exporting
    /// many frames).
    pub fn render_into(&mut self, scene: &Scene, image: &mut RgbaImage) -> Result<(), RenderError> {
        let (width, height) = (image.width, image.height);
        let max = self.device.limits().max_texture_dimension_2d;
        if width == 0 || height == 0 || width > max || height > max {
            return Err(RenderError::Size { width, height, max });
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);

        // Rows of a texture-to-buffer copy must start at multiples of 256 bytes.
        let row = width as u64 * 4;
        let padded_row = row.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as u64);
        let size = padded_row * height as u64;
        self.grow_readback(size);
        let Some((buffer, _)) = &self.readback else {
            return Err(RenderError::Gpu("no read-back buffer".into()));
        };

        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("phrasewise offscreen"),
            });
        self.renderer.prepare(
            &self.device,
            &self.queue,
            &mut encoder,
            scene,
            [width, height],
        );
        let Some(texture) = self.renderer.resolved_texture() else {
            return Err(RenderError::Gpu("no offscreen target".into()));
        };
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row as u32),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        self.queue.submit([encoder.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(RenderError::Gpu(e.to_string()));
        }

        let slice = buffer.slice(..size);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // the receiver outlives the poll below; a failed send only means it gave up
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Poll(e.to_string()))?;
        rx.recv()
            .map_err(|_| RenderError::Readback("the map callback never ran".into()))?
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        {
            let data = slice
                .get_mapped_range()
                .map_err(|e| RenderError::Readback(e.to_string()))?;
            image.pixels.clear();
            image.pixels.reserve(row as usize * height as usize);
            for r in data.chunks(padded_row as usize).take(height as usize) {
                image.pixels.extend_from_slice(&r[..row as usize]);
            }
        }
        buffer.unmap();
        Ok(())
    }
}

/// Renders one frame on a device of its own; for many frames keep an [`OffscreenRenderer`].
pub fn render_offscreen(scene: &Scene, width: u32, height: u32) -> Result<RgbaImage, RenderError> {
    OffscreenRenderer::new()?.render(scene, width, height)
}
