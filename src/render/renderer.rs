//! [`SkeletonRenderer`]: the GPU side of the preview, shaped for `egui_wgpu` paint callbacks.
//!
//! egui's render pass has no depth buffer and may not be multisampled, so the scene is drawn
//! into the renderer's own multisampled colour + depth target in [`SkeletonRenderer::prepare`]
//! (the callback's `prepare`, which gets egui's command encoder), resolved into a texture,
//! and [`SkeletonRenderer::paint`] (the callback's `paint`) blits that texture into egui's
//! pass with one triangle. Offscreen rendering uses the same `prepare` and reads the resolved
//! texture back ([`super::offscreen`]).

use super::camera;
use super::scene::{Capsule, MAX_CAPSULES, Scene, scene_capsules, shadow_points, srgb};
use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

/// Format of the offscreen colour target: sRGB so lighting and blending happen in linear
/// space and the read-back bytes are ready for a PNG.
pub const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;
/// Format of the offscreen depth buffer.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Default multisampling of the 3-D pass: 4 is supported by every wgpu adapter for these
/// formats and smooths the thin limbs and grid lines; 1 is cheaper on software adapters
/// (see BENCHMARKS.md).
pub const SAMPLE_COUNT: u32 = 4;
/// Top of the background gradient (sRGB), a dark neutral that suits an editor's panels.
pub const BACKGROUND_TOP: [u8; 3] = [44, 47, 54];
/// Bottom of the background gradient (sRGB).
pub const BACKGROUND_BOTTOM: [u8; 3] = [22, 23, 27];
/// Radius of the drawn floor patch around the camera target (metres).
const FLOOR_RADIUS: f32 = 7.0;

/// Per-frame uniforms; layout matches `Globals` in `shaders/skeleton.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Globals {
    view_proj: camera::Mat4,
    eye: [f32; 4],
    light_dir: [f32; 4],
    floor_centre: [f32; 4],
    shadow_hips: [f32; 4],
    shadow_lfoot: [f32; 4],
    shadow_rfoot: [f32; 4],
    bg_top: [f32; 4],
    bg_bottom: [f32; 4],
}

/// A vertex of the unit capsule mesh: sphere normal + which cap it belongs to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct CapsuleVertex {
    n: [f32; 3],
    end: f32,
}

/// Segments around the capsule's axis and rings per hemisphere: round enough at preview
/// sizes, ~500 triangles per body part.
const SEGMENTS: usize = 24;
const RINGS: usize = 6;

/// The unit capsule: two hemispheres (`end` 0 and 1) joined at the equator by a cylinder
/// band. Triangles wind counter-clockwise seen from outside.
fn capsule_mesh() -> (Vec<CapsuleVertex>, Vec<u16>) {
    let mut verts = Vec::with_capacity(2 * (RINGS + 1) * (SEGMENTS + 1));
    // rows from the south pole to the equator (cap at `a`), then equator to north pole
    for (end, first) in [(0.0f32, -1.0f32), (1.0, 0.0)] {
        for r in 0..=RINGS {
            let phi = (first + r as f32 / RINGS as f32) * std::f32::consts::FRAC_PI_2;
            let (sp, cp) = phi.sin_cos();
            for k in 0..=SEGMENTS {
                let theta = std::f32::consts::TAU * k as f32 / SEGMENTS as f32;
                let (st, ct) = theta.sin_cos();
                verts.push(CapsuleVertex {
                    n: [cp * st, sp, cp * ct],
                    end,
                });
            }
        }
    }
    let row = SEGMENTS + 1;
    let rows = 2 * (RINGS + 1);
    let mut idx = Vec::with_capacity((rows - 1) * SEGMENTS * 6);
    for i in 0..rows - 1 {
        for k in 0..SEGMENTS {
            let v00 = (i * row + k) as u16;
            let v01 = v00 + 1;
            let v10 = v00 + row as u16;
            let v11 = v10 + 1;
            idx.extend_from_slice(&[v00, v01, v11, v00, v11, v10]);
        }
    }
    (verts, idx)
}

/// The offscreen target at one size.
struct Target {
    size: [u32; 2],
    /// The multisampled colour target, `None` without multisampling (draw straight into
    /// `resolved`).
    msaa_view: Option<wgpu::TextureView>,
    depth_view: wgpu::TextureView,
    resolved: wgpu::Texture,
    resolved_view: wgpu::TextureView,
    blit_bind_group: wgpu::BindGroup,
}

/// Draws a [`Scene`] with wgpu: GPU resources created once in [`SkeletonRenderer::new`],
/// the offscreen target (re)created when the viewport size changes.
///
/// One renderer per viewport: [`SkeletonRenderer::prepare`] writes the frame's uniforms with
/// `queue.write_buffer`, which a second `prepare` before the same submit would overwrite.
pub struct SkeletonRenderer {
    globals: wgpu::Buffer,
    globals_bind_group: wgpu::BindGroup,
    mesh_vertices: wgpu::Buffer,
    mesh_indices: wgpu::Buffer,
    mesh_index_count: u32,
    instances: wgpu::Buffer,
    background: wgpu::RenderPipeline,
    floor: wgpu::RenderPipeline,
    figure: wgpu::RenderPipeline,
    blit: wgpu::RenderPipeline,
    blit_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    target: Option<Target>,
    capsules: Vec<Capsule>,
    samples: u32,
}

impl SkeletonRenderer {
    /// Creates the pipelines and buffers; `output_format` is the format of the pass that
    /// [`SkeletonRenderer::paint`] draws into (egui's framebuffer), single-sampled.
    pub fn new(device: &wgpu::Device, output_format: wgpu::TextureFormat) -> SkeletonRenderer {
        Self::with_output_samples(device, output_format, 1)
    }

    /// As [`SkeletonRenderer::new`] for a host pass with `output_samples` samples per pixel
    /// (eframe's `multisampling` option).
    pub fn with_output_samples(
        device: &wgpu::Device,
        output_format: wgpu::TextureFormat,
        output_samples: u32,
    ) -> SkeletonRenderer {
        Self::with_options(device, output_format, output_samples, SAMPLE_COUNT)
    }

    /// Full control: `scene_samples` is the 3-D pass's multisampling, 1 or 4 (other values
    /// mean 4, the only other count every adapter supports).
    pub fn with_options(
        device: &wgpu::Device,
        output_format: wgpu::TextureFormat,
        output_samples: u32,
        scene_samples: u32,
    ) -> SkeletonRenderer {
        let samples = if scene_samples == 1 { 1 } else { 4 };
        let (globals, globals_layout, globals_bind_group) = globals_resources(device);
        let (verts, idx) = capsule_mesh();
        let mesh_vertices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("phrasewise capsule vertices"),
            contents: bytemuck::cast_slice(&verts),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let mesh_indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("phrasewise capsule indices"),
            contents: bytemuck::cast_slice(&idx),
            usage: wgpu::BufferUsages::INDEX,
        });
        let instances = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("phrasewise capsule instances"),
            size: (MAX_CAPSULES * std::mem::size_of::<Capsule>()) as u64,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let [background, floor, figure] = scene_pipelines(device, &globals_layout, samples);
        let (blit, blit_layout) = blit_pipeline(device, output_format, output_samples);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("phrasewise blit"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });

        SkeletonRenderer {
            globals,
            globals_bind_group,
            mesh_vertices,
            mesh_indices,
            mesh_index_count: idx.len() as u32,
            instances,
            background,
            floor,
            figure,
            blit,
            blit_layout,
            sampler,
            target: None,
            capsules: Vec::with_capacity(MAX_CAPSULES),
            samples,
        }
    }

    /// Size of the current offscreen target, `None` before the first `prepare`.
    pub fn size(&self) -> Option<[u32; 2]> {
        self.target.as_ref().map(|t| t.size)
    }

    /// Records the 3-D pass for `scene` at `size_px` (physical pixels, clamped to 1 ..= the
    /// device's maximum texture size) into `encoder`, recreating the offscreen target when the
    /// size changed. Uniforms are uploaded with `queue.write_buffer`, so they take effect at
    /// the encoder's submit.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        scene: &Scene,
        size_px: [u32; 2],
    ) {
        let max = device.limits().max_texture_dimension_2d;
        let size = [size_px[0].clamp(1, max), size_px[1].clamp(1, max)];
        if self.target.as_ref().map(|t| t.size) != Some(size) {
            self.target = Some(self.create_target(device, size));
        }
        let Some(target) = &self.target else { return };

        scene_capsules(scene, &mut self.capsules);
        if !self.capsules.is_empty() {
            queue.write_buffer(&self.instances, 0, bytemuck::cast_slice(&self.capsules));
        }
        let globals = globals(scene, size);
        queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(&globals));

        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("phrasewise 3-D preview"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target.msaa_view.as_ref().unwrap_or(&target.resolved_view),
                depth_slice: None,
                resolve_target: target.msaa_view.as_ref().map(|_| &target.resolved_view),
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    // the multisampled image is only needed until it is resolved
                    store: if target.msaa_view.is_some() {
                        wgpu::StoreOp::Discard
                    } else {
                        wgpu::StoreOp::Store
                    },
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &target.depth_view,
                depth_ops: Some(wgpu::Operations {
                    load: wgpu::LoadOp::Clear(1.0),
                    store: wgpu::StoreOp::Discard,
                }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_bind_group(0, &self.globals_bind_group, &[]);
        pass.set_pipeline(&self.background);
        pass.draw(0..3, 0..1);
        if scene.floor {
            pass.set_pipeline(&self.floor);
            pass.draw(0..6, 0..1);
        }
        if !self.capsules.is_empty() {
            pass.set_pipeline(&self.figure);
            pass.set_vertex_buffer(0, self.mesh_vertices.slice(..));
            pass.set_vertex_buffer(1, self.instances.slice(..));
            pass.set_index_buffer(self.mesh_indices.slice(..), wgpu::IndexFormat::Uint16);
            pass.draw_indexed(0..self.mesh_index_count, 0, 0..self.capsules.len() as u32);
        }
    }

    /// Draws the last prepared image over the pass's whole viewport (egui sets it to the
    /// callback's rectangle). Draws nothing before the first `prepare`.
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let Some(target) = &self.target {
            pass.set_pipeline(&self.blit);
            pass.set_bind_group(0, &target.blit_bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
    }

    /// The resolved (single-sample, [`COLOR_FORMAT`]) image of the last `prepare`, for
    /// read-back.
    pub(crate) fn resolved_texture(&self) -> Option<&wgpu::Texture> {
        self.target.as_ref().map(|t| &t.resolved)
    }

    fn create_target(&self, device: &wgpu::Device, size: [u32; 2]) -> Target {
        let extent = wgpu::Extent3d {
            width: size[0],
            height: size[1],
            depth_or_array_layers: 1,
        };
        let texture = |label: &str, format, samples, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: extent,
                mip_level_count: 1,
                sample_count: samples,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let msaa = (self.samples > 1).then(|| {
            texture(
                "phrasewise preview msaa",
                COLOR_FORMAT,
                self.samples,
                wgpu::TextureUsages::RENDER_ATTACHMENT,
            )
        });
        let depth = texture(
            "phrasewise preview depth",
            DEPTH_FORMAT,
            self.samples,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        );
        let resolved = texture(
            "phrasewise preview",
            COLOR_FORMAT,
            1,
            wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
        );
        let resolved_view = resolved.create_view(&Default::default());
        let blit_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("phrasewise blit"),
            layout: &self.blit_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&resolved_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        Target {
            size,
            msaa_view: msaa.map(|t| t.create_view(&Default::default())),
            depth_view: depth.create_view(&Default::default()),
            resolved,
            resolved_view,
            blit_bind_group,
        }
    }
}

/// The per-frame uniform buffer, its bind group layout and bind group.
fn globals_resources(
    device: &wgpu::Device,
) -> (wgpu::Buffer, wgpu::BindGroupLayout, wgpu::BindGroup) {
    let globals = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("phrasewise globals"),
        size: std::mem::size_of::<Globals>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let globals_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("phrasewise globals"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<Globals>() as u64),
            },
            count: None,
        }],
    });
    let globals_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("phrasewise globals"),
        layout: &globals_layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: globals.as_entire_binding(),
        }],
    });
    (globals, globals_layout, globals_bind_group)
}

/// What differs between the three 3-D pipelines.
struct ScenePass<'a> {
    label: &'static str,
    vs: &'static str,
    fs: &'static str,
    buffers: &'a [Option<wgpu::VertexBufferLayout<'a>>],
    primitive: wgpu::PrimitiveState,
    depth_write: bool,
    depth_compare: wgpu::CompareFunction,
    blend: Option<wgpu::BlendState>,
}

/// The background, floor and figure pipelines of the 3-D pass (`samples` per pixel).
fn scene_pipelines(
    device: &wgpu::Device,
    globals_layout: &wgpu::BindGroupLayout,
    samples: u32,
) -> [wgpu::RenderPipeline; 3] {
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("phrasewise skeleton"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/skeleton.wgsl").into()),
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("phrasewise scene"),
        bind_group_layouts: &[Some(globals_layout)],
        immediate_size: 0,
    });
    let pipeline = |pass| scene_pipeline(device, &layout, &shader, samples, &pass);
    let background = pipeline(ScenePass {
        label: "phrasewise background",
        vs: "vs_background",
        fs: "fs_background",
        buffers: &[],
        primitive: wgpu::PrimitiveState::default(),
        depth_write: false,
        depth_compare: wgpu::CompareFunction::Always,
        blend: None,
    });
    // The floor writes depth so limbs that dip below it are hidden, and is drawn before
    // the figure; both faces, since the camera may graze it.
    let floor = pipeline(ScenePass {
        label: "phrasewise floor",
        vs: "vs_floor",
        fs: "fs_floor",
        buffers: &[],
        primitive: wgpu::PrimitiveState::default(),
        depth_write: true,
        depth_compare: wgpu::CompareFunction::LessEqual,
        blend: Some(wgpu::BlendState::ALPHA_BLENDING),
    });
    let figure = pipeline(ScenePass {
        label: "phrasewise figure",
        vs: "vs_figure",
        fs: "fs_figure",
        buffers: &[
            Some(wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<CapsuleVertex>() as u64,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32],
            }),
            Some(wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Capsule>() as u64,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: &wgpu::vertex_attr_array![
                    2 => Float32x3, 3 => Float32, 4 => Float32x3, 5 => Float32,
                    6 => Float32x4
                ],
            }),
        ],
        primitive: wgpu::PrimitiveState {
            cull_mode: Some(wgpu::Face::Back),
            ..Default::default()
        },
        depth_write: true,
        depth_compare: wgpu::CompareFunction::Less,
        blend: None,
    });
    [background, floor, figure]
}

/// One 3-D pipeline: shared layout, shader, depth format and multisampling, plus `pass`.
fn scene_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    shader: &wgpu::ShaderModule,
    samples: u32,
    pass: &ScenePass<'_>,
) -> wgpu::RenderPipeline {
    let targets = [Some(wgpu::ColorTargetState {
        format: COLOR_FORMAT,
        blend: pass.blend,
        write_mask: wgpu::ColorWrites::ALL,
    })];
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(pass.label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some(pass.vs),
            compilation_options: Default::default(),
            buffers: pass.buffers,
        },
        primitive: pass.primitive,
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(pass.depth_write),
            depth_compare: Some(pass.depth_compare),
            stencil: wgpu::StencilState::default(),
            bias: wgpu::DepthBiasState::default(),
        }),
        multisample: wgpu::MultisampleState {
            count: samples,
            mask: !0,
            alpha_to_coverage_enabled: false,
        },
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some(pass.fs),
            compilation_options: Default::default(),
            targets: &targets,
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// The pipeline that copies the resolved scene into the host pass (`output_format`,
/// `output_samples` per pixel), and its bind group layout (texture + sampler).
fn blit_pipeline(
    device: &wgpu::Device,
    output_format: wgpu::TextureFormat,
    output_samples: u32,
) -> (wgpu::RenderPipeline, wgpu::BindGroupLayout) {
    let blit_shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("phrasewise blit"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blit.wgsl").into()),
    });
    let blit_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("phrasewise blit"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
        ],
    });
    let blit_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("phrasewise blit"),
        bind_group_layouts: &[Some(&blit_layout)],
        immediate_size: 0,
    });
    let blit = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("phrasewise blit"),
        layout: Some(&blit_pipeline_layout),
        vertex: wgpu::VertexState {
            module: &blit_shader,
            entry_point: Some("vs_blit"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState {
            count: output_samples.max(1),
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module: &blit_shader,
            entry_point: Some(if output_format.is_srgb() {
                "fs_blit"
            } else {
                "fs_blit_encode"
            }),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: output_format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    });
    (blit, blit_layout)
}

/// The frame's uniforms. The key light follows the camera (above and to the left of it) so
/// the figure is well lit from every side the choreographer orbits to.
fn globals(scene: &Scene, size: [u32; 2]) -> Globals {
    let cam = &scene.camera;
    let eye = cam.eye();
    let (sy, cy) = cam.yaw.sin_cos();
    // towards the camera (horizontal) and the camera's right, in world space
    let back = [sy, 0.0, cy];
    let right = [cy, 0.0, -sy];
    let l = [
        back[0] * 0.55 - right[0] * 0.45,
        0.75,
        back[2] * 0.55 - right[2] * 0.45,
    ];
    let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
    let [hips, lfoot, rfoot] = shadow_points(&scene.pose);
    let lin = |c: [u8; 3]| {
        let v = srgb(c[0], c[1], c[2]);
        [v[0], v[1], v[2], 1.0]
    };
    Globals {
        view_proj: cam.view_proj(size[0] as f32 / size[1] as f32),
        eye: [eye[0], eye[1], eye[2], scene.transition.clamp(0.0, 1.0)],
        light_dir: [l[0] / n, l[1] / n, l[2] / n, 0.0],
        floor_centre: [cam.target[0], 0.0, cam.target[2], FLOOR_RADIUS],
        shadow_hips: [hips[0], hips[1], hips[2], 0.0],
        shadow_lfoot: [lfoot[0], lfoot[1], lfoot[2], 0.0],
        shadow_rfoot: [rfoot[0], rfoot[1], rfoot[2], 0.0],
        bg_top: lin(BACKGROUND_TOP),
        bg_bottom: lin(BACKGROUND_BOTTOM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_mesh_is_closed_and_outward() {
        let (v, idx) = capsule_mesh();
        assert!(v.len() < u16::MAX as usize);
        assert!(idx.iter().all(|&i| (i as usize) < v.len()));
        // every non-degenerate triangle's winding agrees with its outward normal
        for t in idx.chunks(3) {
            let p = |i: u16| {
                let c = v[i as usize];
                [c.n[0], c.n[1] + c.end, c.n[2]]
            };
            let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
            let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
            let n = [
                e1[1] * e2[2] - e1[2] * e2[1],
                e1[2] * e2[0] - e1[0] * e2[2],
                e1[0] * e2[1] - e1[1] * e2[0],
            ];
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if len < 1e-6 {
                continue;
            }
            // the face centre, relative to the capsule's centre (0, 0.5, 0), points outwards
            let mid = [
                (a[0] + b[0] + c[0]) / 3.0,
                (a[1] + b[1] + c[1]) / 3.0 - 0.5,
                (a[2] + b[2] + c[2]) / 3.0,
            ];
            let d_mid = n[0] * mid[0] + n[1] * mid[1] + n[2] * mid[2];
            assert!(d_mid > 0.0, "inward triangle {t:?}");
        }
    }
}
