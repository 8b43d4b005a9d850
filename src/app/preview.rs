//! The 3-D preview panel: the blended dance at the playhead, orbit (drag) and zoom (wheel).
//!
//! With the wgpu backend the figure is drawn by [`crate::render::SkeletonRenderer`] inside
//! egui through an `egui_wgpu` paint callback (the pattern of egui's `custom3d_wgpu` demo):
//! the renderer lives in the callback resources, `prepare` records the 3-D pass into egui's
//! encoder (its own colour + depth target), `paint` blits it into the panel. On a CPU adapter
//! (lavapipe) the 3-D pass runs without multisampling, a third of the cost. Without wgpu (a
//! glow build, or no adapter) a line drawing with the egui painter takes its place.

use eframe::egui_wgpu;
use egui::{Align2, Color32, FontId, Pos2, Sense, Stroke, Vec2};

use crate::motion::Vec3;
use crate::motion::skeleton::{CANONICAL, JOINT_COUNT, WorldPose};
use crate::render::{OrbitCamera, Scene, SkeletonRenderer};

use super::editor::Editor;

/// How far to the dance's left a recorded take stands (m): arms spread wide do not touch.
const TAKE_GAP_M: f64 = 1.7;

/// Crossfade length the preview treats as "in transition" on each side of a switch (s).
const TRANSITION_S: f64 = 0.25;

/// Preview state.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Camera (follows the hips).
    pub camera: OrbitCamera,
    /// Whether the wgpu renderer is registered with egui.
    pub gpu: bool,
}

/// The paint callback: one frame's scene.
struct PreviewCallback {
    scene: Scene,
}

impl egui_wgpu::CallbackTrait for PreviewCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let _ = screen;
        if let Some((r, size)) = resources.get_mut::<(SkeletonRenderer, [u32; 2])>() {
            let size = *size;
            r.prepare(device, queue, encoder, &self.scene, size);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some((r, _)) = resources.get::<(SkeletonRenderer, [u32; 2])>() {
            r.paint(pass);
        }
    }
}

impl Preview {
    /// A preview for the app being created; registers the GPU renderer when eframe runs on
    /// wgpu.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Preview {
        let mut gpu = false;
        // `PHRASEWISE_PREVIEW=lines` draws the light line figure even with wgpu (slow
        // software adapters, remote desktops).
        let lines = std::env::var("PHRASEWISE_PREVIEW").is_ok_and(|v| v == "lines");
        if let Some(rs) = cc.wgpu_render_state.as_ref().filter(|_| !lines) {
            let info = rs.adapter.get_info();
            if let Some(hint) = crate::render::slow_software_adapter_hint(&info) {
                tracing::warn!("{hint}");
            }
            let cpu = info.device_type == wgpu::DeviceType::Cpu;
            let renderer = SkeletonRenderer::with_options(
                &rs.device,
                rs.target_format,
                1,
                if cpu { 1 } else { 4 },
            );
            rs.renderer
                .write()
                .callback_resources
                .insert((renderer, [1u32, 1u32]));
            gpu = true;
        }
        Preview {
            camera: OrbitCamera::default(),
            gpu,
        }
    }

    /// Dragging orbits the camera, the wheel zooms.
    fn orbit(&mut self, ui: &egui::Ui, resp: &egui::Response) {
        if resp.dragged() {
            let d = resp.drag_delta();
            self.camera.orbit(-d.x * 0.01, d.y * 0.01);
        }
        if resp.hovered() {
            let s = ui.input(|i| i.smooth_scroll_delta.y);
            if s.abs() > 0.1 {
                self.camera.zoom(1.0 - s * 0.002);
            }
        }
    }

    /// Draws the preview into the rest of `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui, ed: &Editor) {
        let size = ui.available_size();
        let (rect, resp) = ui.allocate_exact_size(size, Sense::click_and_drag());
        self.orbit(ui, &resp);
        let p = ui.painter_at(rect);
        let Some(s) = &ed.session else {
            p.rect_filled(rect, 4.0, Color32::from_rgb(30, 33, 40));
            return;
        };
        let Some(dance) = &s.dance else {
            p.rect_filled(rect, 4.0, Color32::from_rgb(30, 33, 40));
            p.text(
                rect.center(),
                Align2::CENTER_CENTER,
                s.dance_error.as_deref().unwrap_or("no dance to preview"),
                FontId::proportional(14.0),
                Color32::GRAY,
            );
            return;
        };
        let t = ed.player.transport().position();
        // an auditioned candidate plays in its slot, blended with the neighbours
        let dance = s.audition.as_ref().map_or(dance, |a| &a.dance);
        let pose = dance.sample(t);
        let world = pose.world();
        // a recorded take stands beside its blended dance, facing the same way
        let companion = s
            .take
            .as_ref()
            .map(|take| take.pose_beside(t, &pose, TAKE_GAP_M).world());
        // with a take beside it, the camera looks between the two
        let mut target = world;
        if let Some(c) = &companion {
            target.pos[0] = world.pos[0].lerp(c.pos[0], 0.5);
        }
        self.camera.frame(&target);
        let nearest = dance
            .switch_times()
            .iter()
            .map(|&w| (t - w).abs())
            .fold(f64::INFINITY, f64::min);
        let transition = (1.0 - nearest / TRANSITION_S).max(0.0) as f32;
        let ppp = ui.ctx().pixels_per_point();
        let size_px = [
            (rect.width() * ppp).round().max(1.0) as u32,
            (rect.height() * ppp).round().max(1.0) as u32,
        ];
        if self.gpu {
            let mut scene = Scene::new(world, self.camera);
            scene.transition = transition * 0.6;
            scene.companion = companion;
            // The target size travels with the renderer in the callback resources.
            p.add(egui_wgpu::Callback::new_paint_callback(
                rect,
                SizedCallback {
                    inner: PreviewCallback { scene },
                    size_px,
                },
            ));
        } else {
            p.rect_filled(rect, 4.0, Color32::from_rgb(30, 33, 40));
            let cam = self.camera;
            let to_screen = |v: Vec3| -> Option<Pos2> {
                cam.project([v.x as f32, v.y as f32, v.z as f32], size_px)
                    .map(|q| rect.min + Vec2::new(q[0] / ppp, q[1] / ppp))
            };
            draw_floor(&p, &to_screen, &world);
            if let Some(c) = &companion {
                draw_skeleton(&p, c, false, &to_screen);
            }
            draw_skeleton(&p, &world, transition > 0.0, &to_screen);
        }
        captions(&p, rect, s, t, transition > 0.0);
    }
}

/// Passes the panel's pixel size to the renderer's slot before preparing.
struct SizedCallback {
    inner: PreviewCallback,
    size_px: [u32; 2],
}

impl egui_wgpu::CallbackTrait for SizedCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some((_, size)) = resources.get_mut::<(SkeletonRenderer, [u32; 2])>() {
            *size = self.size_px;
        }
        self.inner
            .prepare(device, queue, screen, encoder, resources)
    }

    fn paint(
        &self,
        info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        self.inner.paint(info, pass, resources);
    }
}

fn draw_floor(p: &egui::Painter, to_screen: &dyn Fn(Vec3) -> Option<Pos2>, world: &WorldPose) {
    let grid = Color32::from_rgb(52, 57, 68);
    let hips = world.pos[0];
    let snap = |v: f64| (v / 0.5).round() * 0.5;
    let (cx, cz) = (snap(hips.x), snap(hips.z));
    for k in -6..=6 {
        let o = f64::from(k) * 0.5;
        let v = |x: f64, z: f64| Vec3 { x, y: 0.0, z };
        for (a, b) in [
            (v(cx + o, cz - 3.0), v(cx + o, cz + 3.0)),
            (v(cx - 3.0, cz + o), v(cx + 3.0, cz + o)),
        ] {
            if let (Some(pa), Some(pb)) = (to_screen(a), to_screen(b)) {
                p.line_segment([pa, pb], Stroke::new(1.0, grid));
            }
        }
    }
}

fn draw_skeleton(
    p: &egui::Painter,
    world: &WorldPose,
    transition: bool,
    to_screen: &dyn Fn(Vec3) -> Option<Pos2>,
) {
    let left = Color32::from_rgb(110, 190, 255);
    let right = Color32::from_rgb(255, 170, 90);
    let center = Color32::from_rgb(225, 228, 235);
    let tint = |c: Color32| {
        if transition {
            c.lerp_to_gamma(Color32::from_rgb(255, 235, 120), 0.45)
        } else {
            c
        }
    };
    for (j, joint) in CANONICAL.iter().enumerate().take(JOINT_COUNT) {
        let name = joint.name;
        let col = if name.starts_with("l_") {
            left
        } else if name.starts_with("r_") {
            right
        } else {
            center
        };
        let mut segs = Vec::new();
        if let Some(parent) = joint.parent {
            segs.push((world.pos[parent], world.pos[j]));
        }
        if let Some(end) = world.end_site(j) {
            segs.push((world.pos[j], end));
        }
        for (a, b) in segs {
            if let (Some(pa), Some(pb)) = (to_screen(a), to_screen(b)) {
                p.line_segment([pa, pb], Stroke::new(5.0, tint(col)));
            }
        }
        if let Some(pj) = to_screen(world.pos[j]) {
            p.circle_filled(pj, 3.5, Color32::from_gray(245));
        }
    }
    if let Some(head) = world.end_site(5).and_then(to_screen) {
        p.circle_filled(head, 9.0, tint(center));
    }
}

/// The chosen phrase at `t` (marked during a transition) and the mouse hints.
fn captions(
    p: &egui::Painter,
    rect: egui::Rect,
    s: &super::session::Session,
    t: f64,
    transition: bool,
) {
    let slot = s.slot_at(t);
    let label = match (&s.audition, slot) {
        (Some(a), _) if slot == Some(a.slot) => {
            format!("auditioning {} (click to choose)", a.phrase)
        }
        (Some(a), _) => format!(
            "auditioning {} in slot {} (the playhead is elsewhere)",
            a.phrase,
            a.slot + 1
        ),
        _ => slot
            .and_then(|i| s.project.slots[i].decision.chosen.clone())
            .unwrap_or_default(),
    };
    p.text(
        rect.left_top() + Vec2::new(10.0, 8.0),
        Align2::LEFT_TOP,
        format!(
            "{}{}",
            label,
            if transition { "  · transition" } else { "" }
        ),
        FontId::proportional(13.0),
        Color32::from_gray(220),
    );
    if let Some(take) = &s.take {
        p.text(
            rect.left_top() + Vec2::new(10.0, 26.0),
            Align2::LEFT_TOP,
            format!(
                "muted, beside the dance: the recorded take {} (the song starts {:.2} s into it)",
                take.file
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                take.offset
            ),
            FontId::proportional(11.0),
            Color32::from_gray(160),
        );
    }
    p.text(
        rect.right_bottom() - Vec2::new(10.0, 8.0),
        Align2::RIGHT_BOTTOM,
        "drag: orbit · wheel: zoom",
        FontId::proportional(11.0),
        Color32::from_gray(120),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::skeleton::Pose;

    #[test]
    fn fallback_projection_puts_the_head_above_the_feet() {
        let world = Pose::rest().world();
        let mut cam = OrbitCamera::default();
        cam.frame(&world);
        let size = [400, 300];
        let head = cam.project([0.0, 1.7, 0.0], size).expect("head");
        let foot = cam.project([0.0, 0.0, 0.0], size).expect("foot");
        assert!(head[1] < foot[1], "{head:?} {foot:?}");
        assert!(head[1] > 0.0 && foot[1] < 300.0, "whole figure in view");
    }
}
