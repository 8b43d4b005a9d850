//! The preview renderer on a headless adapter (lavapipe on CI machines): the skeleton is drawn
//! where the camera's projection of its joints says, the raised arm moves coverage where it
//! should, read-back handles padded rows, the transition tint shows.
//!
//! Figure pixels are found by difference: the same camera renders a scene whose figure is far
//! out of view, and every pixel that differs by more than [`DIFF`] (any channel) is figure.
//! The floor is off for those renders so shadows do not count as figure.
//!
//! No adapter is a failure, with wgpu's reason and the fix (install mesa-vulkan-drivers).
//! Renders are saved as PNGs under the target directory's `tmp/` to look at.

use phrasewise::motion::skeleton::{J, Pose, WorldPose};
use phrasewise::motion::{Axis, Quat, Vec3};
use phrasewise::render::renderer::COLOR_FORMAT;
use phrasewise::render::scene::figure_points;
use phrasewise::render::{OffscreenRenderer, OrbitCamera, RgbaImage, Scene, SkeletonRenderer};
use std::time::Instant;

/// Per-channel difference that marks a pixel as covered by the figure.
const DIFF: i32 = 24;
/// Margin around the projected joints (pixels at 256²): the capsules' radius (≤ 0.115 m ≈ 9
/// px at the default camera distance) plus anti-aliasing.
const MARGIN: f32 = 12.0;

fn renderer() -> OffscreenRenderer {
    match OffscreenRenderer::new() {
        Ok(r) => {
            let info = r.adapter_info();
            eprintln!(
                "adapter: {} ({:?}, {:?})",
                info.name, info.backend, info.device_type
            );
            r
        }
        Err(e) => panic!("the renderer test needs a graphics adapter: {e}"),
    }
}

fn render(r: &mut OffscreenRenderer, scene: &Scene, w: u32, h: u32) -> RgbaImage {
    match r.render(scene, w, h) {
        Ok(img) => img,
        Err(e) => panic!("render failed: {e}"),
    }
}

fn save_png(name: &str, img: &RgbaImage) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let result = std::fs::File::create(&path)
        .map(std::io::BufWriter::new)
        .and_then(|w| {
            let mut enc = png::Encoder::new(w, img.width, img.height);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().map_err(std::io::Error::other)?;
            writer
                .write_image_data(&img.pixels)
                .map_err(std::io::Error::other)
        });
    match result {
        Ok(()) => eprintln!("saved {}", path.display()),
        Err(e) => eprintln!("could not save {}: {e}", path.display()),
    }
}

/// A scene without floor whose figure is 1 km away: the background the figure is drawn over.
fn empty_like(scene: &Scene) -> Scene {
    let far = Pose::rest()
        .transformed(0.0, Vec3::new(1000.0, 0.0, 1000.0))
        .world();
    Scene {
        pose: far,
        floor: false,
        ..*scene
    }
}

/// Figure mask: pixels differing from `background`.
fn mask(img: &RgbaImage, background: &RgbaImage) -> Vec<bool> {
    img.pixels
        .chunks(4)
        .zip(background.pixels.chunks(4))
        .map(|(a, b)| (0..3).any(|c| (a[c] as i32 - b[c] as i32).abs() > DIFF))
        .collect()
}

/// Pixel bounding box (min x, min y, max x, max y) of the projected joints and end sites.
fn projected_box(pose: &WorldPose, cam: &OrbitCamera, size: [u32; 2]) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for p in figure_points(pose) {
        let Some(q) = cam.project(p, size) else {
            panic!("joint {p:?} behind the camera")
        };
        b = [
            b[0].min(q[0]),
            b[1].min(q[1]),
            b[2].max(q[0]),
            b[3].max(q[1]),
        ];
    }
    b
}

fn grow(b: [f32; 4], m: f32) -> [f32; 4] {
    [b[0] - m, b[1] - m, b[2] + m, b[3] + m]
}

/// Covered pixels inside and outside box `b`.
fn count_in_out(mask: &[bool], w: u32, b: [f32; 4]) -> (usize, usize) {
    let (mut inside, mut outside) = (0, 0);
    for (i, &m) in mask.iter().enumerate() {
        if !m {
            continue;
        }
        let (x, y) = ((i as u32 % w) as f32 + 0.5, (i as u32 / w) as f32 + 0.5);
        if x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3] {
            inside += 1;
        } else {
            outside += 1;
        }
    }
    (inside, outside)
}

/// Rest pose with the left upper arm turned 90° about +Z: the T-pose arm (along +X) points up.
fn left_arm_raised() -> WorldPose {
    let mut p = Pose::rest();
    p.rot[J::LArm.idx()] = Quat::about(Axis::Z, std::f64::consts::FRAC_PI_2);
    p.world()
}

/// Box around the segment from the left upper arm to the left hand's end site.
fn left_arm_box(pose: &WorldPose, cam: &OrbitCamera, size: [u32; 2]) -> [f32; 4] {
    let end = pose
        .end_site(J::LHand.idx())
        .unwrap_or(pose.pos[J::LHand.idx()]);
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for p in [pose.pos[J::LArm.idx()], pose.pos[J::LForearm.idx()], end] {
        let q = cam
            .project([p.x as f32, p.y as f32, p.z as f32], size)
            .unwrap_or([0.0; 2]);
        b = [
            b[0].min(q[0]),
            b[1].min(q[1]),
            b[2].max(q[0]),
            b[3].max(q[1]),
        ];
    }
    grow(b, 6.0)
}

#[test]
fn skeleton_covers_its_projected_region() {
    let mut r = renderer();
    let size = [256, 256];
    let cam = OrbitCamera::default();

    // the picture a person looks at: floor, shadows, rest pose
    let rest = Pose::rest().world();
    let full = render(&mut r, &Scene::new(rest, cam), size[0], size[1]);
    save_png("render_rest.png", &full);
    // corners are the dark background
    for (x, y) in [(0, 0), (255, 0), (0, 255), (255, 255)] {
        let p = full.pixel(x, y).unwrap_or([255; 4]);
        assert!(p[..3].iter().all(|&c| c < 70), "corner ({x},{y}) = {p:?}");
    }

    let scene = Scene {
        floor: false,
        ..Scene::new(rest, cam)
    };
    let background = render(&mut r, &empty_like(&scene), size[0], size[1]);
    let img = render(&mut r, &scene, size[0], size[1]);
    let m = mask(&img, &background);
    let bbox = projected_box(&rest, &cam, size);
    let (inside, outside) = count_in_out(&m, size[0], grow(bbox, MARGIN));
    eprintln!("rest pose: box {bbox:?}, {inside} figure pixels inside, {outside} outside");
    let box_area = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]);
    assert!(
        inside as f32 > 0.12 * box_area,
        "only {inside} figure pixels in a box of {box_area} px²"
    );
    assert!(
        outside < 10,
        "{outside} figure pixels outside the projected box"
    );
    // the hips (centre of the body) are covered
    let hips = cam
        .project(
            [0.0, phrasewise::motion::skeleton::HIPS_HEIGHT as f32, 0.0],
            size,
        )
        .unwrap_or([0.0; 2]);
    assert!(m[hips[1] as usize * size[0] as usize + hips[0] as usize]);

    // raise the left arm: coverage appears above the shoulder and leaves the T-pose arm
    let raised = left_arm_raised();
    let hand_top = raised.end_site(J::LHand.idx()).map_or(0.0, |p| p.y);
    assert!(hand_top > 2.0, "the arm points up ({hand_top})");
    let raised_scene = Scene {
        pose: raised,
        ..scene
    };
    let img_raised = render(&mut r, &raised_scene, size[0], size[1]);
    save_png("render_left_arm_raised_nofloor.png", &img_raised);
    let m_raised = mask(&img_raised, &background);
    let (inside, outside) = count_in_out(
        &m_raised,
        size[0],
        grow(projected_box(&raised, &cam, size), MARGIN),
    );
    assert!(outside < 10, "raised arm: {outside} pixels outside the box");
    assert!(inside > 1500, "raised arm: {inside} pixels");

    let up_box = left_arm_box(&raised, &cam, size);
    let side_box = left_arm_box(&rest, &cam, size);
    // the figure faces the camera (+Z), so its left arm is on the right half of the screen
    assert!(
        up_box[0] > 128.0 && side_box[0] > 128.0,
        "{up_box:?} {side_box:?}"
    );
    // only the part of the box above the head, where nothing of the rest pose is
    let head_top = rest
        .end_site(J::Head.idx())
        .map_or([0.0; 3], |p| [p.x as f32, p.y as f32, p.z as f32]);
    let head_top_y = cam.project(head_top, size).map_or(0.0, |p| p[1]);
    let above = [up_box[0], up_box[1], up_box[2], head_top_y - 4.0];
    let (up_raised, _) = count_in_out(&m_raised, size[0], above);
    let (up_rest, _) = count_in_out(&m, size[0], above);
    eprintln!("above the left shoulder: {up_rest} px at rest, {up_raised} px raised");
    assert!(up_rest < 5, "{up_rest}");
    assert!(up_raised > 100, "{up_raised}");
    // beyond the elbow (outer half of the T-pose arm), the raised pose leaves nothing
    let elbow = rest.pos[J::LForearm.idx()];
    let elbow_x = cam
        .project([elbow.x as f32, elbow.y as f32, elbow.z as f32], size)
        .map_or(0.0, |p| p[0]);
    let outer = [elbow_x + 4.0, side_box[1], side_box[2], side_box[3]];
    let (out_rest, _) = count_in_out(&m, size[0], outer);
    let (out_raised, _) = count_in_out(&m_raised, size[0], outer);
    eprintln!("outer left arm: {out_rest} px at rest, {out_raised} px raised");
    assert!(out_rest > 100 && out_raised < 5, "{out_rest} {out_raised}");

    let with_floor = render(
        &mut r,
        &Scene {
            floor: true,
            ..raised_scene
        },
        size[0],
        size[1],
    );
    save_png("render_left_arm_raised.png", &with_floor);
    // a larger one to look at
    save_png(
        "render_rest_wide.png",
        &render(&mut r, &Scene::new(rest, cam), 640, 360),
    );
    let feet = OrbitCamera {
        pitch: 0.6,
        distance: 2.2,
        target: [0.0, 0.2, 0.0],
        ..cam
    };
    save_png(
        "render_feet.png",
        &render(&mut r, &Scene::new(rest, feet), 400, 300),
    );
}

#[test]
fn padded_rows_and_reuse_across_sizes() {
    // 300 px rows are 1200 bytes, not a multiple of 256: the read-back must strip padding
    let mut r = renderer();
    let cam = OrbitCamera {
        yaw: 0.0,
        ..OrbitCamera::default()
    };
    let scene = Scene {
        floor: false,
        ..Scene::new(Pose::rest().world(), cam)
    };
    for size in [[300u32, 200u32], [64, 48], [300, 200]] {
        let img = render(&mut r, &scene, size[0], size[1]);
        assert_eq!(img.pixels.len(), (size[0] * size[1] * 4) as usize);
        let bg = render(&mut r, &empty_like(&scene), size[0], size[1]);
        let m = mask(&img, &bg);
        // the chest is covered, and the figure is symmetric about the screen's centre column
        let chest = rest_point(J::Chest, &cam, size);
        assert!(m[chest[1] * size[0] as usize + chest[0]], "{size:?}");
        let (mut left, mut right) = (0, 0);
        for (i, &c) in m.iter().enumerate() {
            if c {
                if (i as u32 % size[0]) < size[0] / 2 {
                    left += 1;
                } else {
                    right += 1;
                }
            }
        }
        let total = (left + right) as f32;
        assert!(
            (left as f32 - right as f32).abs() < 0.1 * total,
            "{size:?}: {left} vs {right}"
        );
    }
    assert!(r.render(&scene, 0, 10).is_err());
}

fn rest_point(j: J, cam: &OrbitCamera, size: [u32; 2]) -> [usize; 2] {
    let p = Pose::rest().world().pos[j.idx()];
    let q = cam
        .project([p.x as f32, p.y as f32, p.z as f32], size)
        .unwrap_or([0.0; 2]);
    [q[0] as usize, q[1] as usize]
}

#[test]
fn transition_tints_the_figure_warm() {
    let mut r = renderer();
    let scene = Scene {
        floor: false,
        ..Scene::default()
    };
    let plain = render(&mut r, &scene, 128, 128);
    let tinted = render(
        &mut r,
        &Scene {
            transition: 1.0,
            ..scene
        },
        128,
        128,
    );
    save_png("render_transition.png", &tinted);
    let bg = render(&mut r, &empty_like(&scene), 128, 128);
    let m = mask(&plain, &bg);
    let mean = |img: &RgbaImage| {
        let mut s = [0.0f64; 3];
        let mut n = 0.0f64;
        for (p, &c) in img.pixels.chunks(4).zip(&m) {
            if c {
                for k in 0..3 {
                    s[k] += p[k] as f64;
                }
                n += 1.0;
            }
        }
        s.map(|v| v / n.max(1.0))
    };
    let (a, b) = (mean(&plain), mean(&tinted));
    eprintln!("mean figure colour {a:?} -> {b:?}");
    assert!(b[0] - b[2] > a[0] - a[2] + 30.0, "{a:?} -> {b:?}");
}

/// Frame time of the preview at 1280×720: `cargo test --test integration render_offscreen:: -- --ignored
/// --nocapture`. Reports the GPU frame alone (what the editor pays, the blit aside) and with
/// the read-back (what a video export pays).
#[test]
#[ignore = "benchmark; run on purpose"]
fn bench_1280x720() {
    let mut r = renderer();
    let (w, h) = (1280, 720);
    let mut scene = Scene::default();
    let mut img = RgbaImage {
        width: w,
        height: h,
        pixels: Vec::new(),
    };
    let frames = 30;
    for _ in 0..3 {
        r.render_into(&scene, &mut img)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let t = Instant::now();
    for i in 0..frames {
        scene.camera.yaw = i as f32 * 0.05;
        r.render_into(&scene, &mut img)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let with_readback = t.elapsed().as_secs_f64() * 1e3 / frames as f64;

    let frame = |sk: &mut SkeletonRenderer, scene: &Scene| {
        let mut enc = r.device().create_command_encoder(&Default::default());
        sk.prepare(r.device(), r.queue(), &mut enc, scene, [w, h]);
        r.queue().submit([enc.finish()]);
        r.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    for samples in [4, 1] {
        let mut sk = SkeletonRenderer::with_options(r.device(), COLOR_FORMAT, 1, samples);
        for _ in 0..3 {
            frame(&mut sk, &scene);
        }
        let t = Instant::now();
        for i in 0..frames {
            scene.camera.yaw = i as f32 * 0.05;
            frame(&mut sk, &scene);
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / frames as f64;
        eprintln!(
            "1280x720 on {}, {samples}x MSAA: {ms:.1} ms/frame rendered",
            r.adapter_info().name
        );
    }
    eprintln!("1280x720, 4x MSAA: {with_readback:.1} ms/frame with read-back");
}

/// Reads a single-sample RGBA8 texture back, rows unpadded.
fn read_texture(r: &OffscreenRenderer, texture: &wgpu::Texture) -> Vec<u8> {
    let (w, h) = (texture.width(), texture.height());
    let padded = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let buffer = r.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (padded * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut enc = r.device().create_command_encoder(&Default::default());
    enc.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(h),
            },
        },
        texture.size(),
    );
    r.queue().submit([enc.finish()]);
    buffer.map_async(wgpu::MapMode::Read, .., |res| {
        res.unwrap_or_else(|e| panic!("map: {e}"));
    });
    r.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap_or_else(|e| panic!("{e}"));
    let data = buffer
        .get_mapped_range(..)
        .unwrap_or_else(|e| panic!("{e}"));
    data.chunks(padded as usize)
        .flat_map(|row| row[..(w * 4) as usize].to_vec())
        .collect()
}

/// The editor's path: `prepare` into an encoder, then `paint` in a host render pass (egui's
/// framebuffer is usually linear `Rgba8Unorm`/`Bgra8Unorm`, sometimes sRGB). The blit must
/// reproduce the offscreen image in either.
#[test]
fn paint_blits_the_prepared_image_into_a_host_pass() {
    let mut r = renderer();
    let (w, h) = (160u32, 120u32);
    let scene = Scene::default();
    let reference = render(&mut r, &scene, w, h);
    for format in [
        wgpu::TextureFormat::Rgba8Unorm,
        wgpu::TextureFormat::Rgba8UnormSrgb,
    ] {
        let mut sk = SkeletonRenderer::new(r.device(), format);
        let host = r.device().create_texture(&wgpu::TextureDescriptor {
            label: Some("host framebuffer"),
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = host.create_view(&Default::default());
        let mut enc = r.device().create_command_encoder(&Default::default());
        sk.prepare(r.device(), r.queue(), &mut enc, &scene, [w, h]);
        {
            let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("host pass"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::RED),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            sk.paint(&mut pass);
        }
        r.queue().submit([enc.finish()]);
        let got = read_texture(&r, &host);
        let worst = got
            .iter()
            .zip(&reference.pixels)
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .max()
            .unwrap_or(255);
        eprintln!("{format:?}: largest byte difference to the offscreen image {worst}");
        assert!(worst <= 2, "{format:?}: {worst}");
    }
}

/// Frames of real starter-library moves (the figure off-centre, limbs crossing, turned): the
/// figure stays inside the box its projected joints span, with the camera following the hips.
#[test]
fn dance_frames_stay_in_their_projected_box() {
    use phrasewise::motion::starter::{MOVES, generate_move};
    let mut r = renderer();
    let size = [256u32, 256u32];
    for (k, spec) in MOVES.iter().enumerate().step_by(5) {
        let (clip, _) = generate_move(spec);
        let pose = clip.sample(clip.duration() * 0.37).world();
        let mut cam = OrbitCamera::default();
        cam.frame(&pose);
        let scene = Scene::new(pose, cam);
        if k == 0 {
            save_png(
                &format!("render_{}.png", spec.name()),
                &render(&mut r, &scene, 512, 384),
            );
        }
        let scene = Scene {
            floor: false,
            ..scene
        };
        let img = render(&mut r, &scene, size[0], size[1]);
        let bg = render(&mut r, &empty_like(&scene), size[0], size[1]);
        let bbox = projected_box(&pose, &cam, size);
        let (inside, outside) = count_in_out(&mask(&img, &bg), size[0], grow(bbox, MARGIN));
        eprintln!(
            "{}: {inside} inside {bbox:?}, {outside} outside",
            spec.name()
        );
        assert!(inside > 1500, "{}: {inside}", spec.name());
        assert!(outside < 10, "{}: {outside}", spec.name());
    }
}

/// egui_wgpu keeps callback resources in a `Send + Sync` type map.
#[test]
fn renderer_can_live_in_egui_callback_resources() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<SkeletonRenderer>();
    send_sync::<OffscreenRenderer>();
}
