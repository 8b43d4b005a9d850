//! The 3-D preview panel: the blended dance at the playhead, orbit (drag) and zoom (wheel).
//!
//! Drawing is a perspective projection of the canonical skeleton's bones with the egui
//! painter; it follows the playhead, tints the figure during transitions and shows which
//! phrase plays.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

use crate::motion::Vec3;
use crate::motion::skeleton::{CANONICAL, JOINT_COUNT, WorldPose};

use super::editor::Editor;

/// Orbit camera around the dancer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    /// Rotation about the vertical axis (rad).
    pub yaw: f32,
    /// Elevation (rad).
    pub pitch: f32,
    /// Distance to the target (m).
    pub distance: f32,
}

impl Default for Orbit {
    fn default() -> Self {
        Orbit {
            yaw: 0.5,
            pitch: 0.25,
            distance: 4.2,
        }
    }
}

impl Orbit {
    /// Projects world point `p` (target at `target`) to normalised screen coordinates
    /// (x right, y down, roughly −1..1) with a 40° vertical field of view; `None` behind the
    /// camera.
    pub fn project(&self, p: Vec3, target: Vec3) -> Option<(f32, f32, f32)> {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        let d = [
            (p.x - target.x) as f32,
            (p.y - target.y) as f32,
            (p.z - target.z) as f32,
        ];
        // Rotate the world by −yaw about Y, then by −pitch about X; camera looks down −Z.
        let x1 = cy * d[0] - sy * d[2];
        let z1 = sy * d[0] + cy * d[2];
        let y2 = cp * d[1] - sp * z1;
        let z2 = sp * d[1] + cp * z1;
        let depth = self.distance - z2;
        if depth < 0.05 {
            return None;
        }
        let f = 1.0 / (20f32.to_radians()).tan();
        Some((f * x1 / depth, -f * y2 / depth, depth))
    }
}

/// Preview state.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// Camera.
    pub orbit: Orbit,
}

impl Preview {
    /// A preview for the app being created.
    pub fn new(_cc: &eframe::CreationContext<'_>) -> Preview {
        Preview::default()
    }

    /// Draws the preview into the rest of `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui, ed: &Editor) {
        let size = ui.available_size();
        let (rect, resp) = ui.allocate_exact_size(size, Sense::click_and_drag());
        if resp.dragged() {
            let d = resp.drag_delta();
            self.orbit.yaw -= d.x * 0.01;
            self.orbit.pitch = (self.orbit.pitch + d.y * 0.01).clamp(-0.2, 1.4);
        }
        if resp.hovered() {
            let s = ui.input(|i| i.smooth_scroll_delta.y);
            if s.abs() > 0.1 {
                self.orbit.distance = (self.orbit.distance * (1.0 - s * 0.002)).clamp(1.5, 12.0);
            }
        }
        let p = ui.painter_at(rect);
        p.rect_filled(rect, 4.0, Color32::from_rgb(30, 33, 40));
        let Some(s) = &ed.session else {
            return;
        };
        let Some(dance) = &s.dance else {
            p.text(
                rect.center(),
                Align2::CENTER_CENTER,
                s.dance_error
                    .as_deref()
                    .unwrap_or("no dance to preview"),
                FontId::proportional(14.0),
                Color32::GRAY,
            );
            return;
        };
        let t = ed.player.transport().position();
        let world = dance.sample(t).world();
        let hips = world.pos[0];
        let target = Vec3 {
            x: hips.x,
            y: 0.9,
            z: hips.z,
        };
        let scale = 0.5 * rect.height();
        let to_screen = |v: Vec3| -> Option<Pos2> {
            self.orbit
                .project(v, target)
                .map(|(x, y, _)| rect.center() + Vec2::new(x * scale, y * scale))
        };
        draw_floor(&p, &self.orbit, target, scale, rect);
        // Shadow blob under the hips.
        if let Some(c) = to_screen(Vec3 {
            x: hips.x,
            y: 0.0,
            z: hips.z,
        }) {
            p.circle_filled(c, 0.12 * scale, Color32::from_black_alpha(90));
        }
        let switch = dance
            .switch_times()
            .iter()
            .any(|&w| (t - w).abs() < 0.25);
        draw_skeleton(&p, &world, switch, &to_screen);
        let slot = s.slot_at(t);
        let label = slot
            .and_then(|i| s.project.slots[i].decision.chosen.clone())
            .unwrap_or_default();
        p.text(
            rect.left_top() + Vec2::new(10.0, 8.0),
            Align2::LEFT_TOP,
            format!(
                "{}{}",
                label,
                if switch { "  · transition" } else { "" }
            ),
            FontId::proportional(13.0),
            Color32::from_gray(220),
        );
        p.text(
            rect.right_bottom() - Vec2::new(10.0, 8.0),
            Align2::RIGHT_BOTTOM,
            "drag: orbit · wheel: zoom",
            FontId::proportional(11.0),
            Color32::from_gray(120),
        );
    }
}

fn draw_floor(
    p: &egui::Painter,
    orbit: &Orbit,
    target: Vec3,
    scale: f32,
    rect: Rect,
) {
    let c = rect.center();
    let grid = Color32::from_rgb(52, 57, 68);
    let snap = |v: f64| (v / 0.5).round() * 0.5;
    let (cx, cz) = (snap(target.x), snap(target.z));
    for k in -6..=6 {
        let o = f64::from(k) * 0.5;
        for (a, b) in [
            (
                Vec3 { x: cx + o, y: 0.0, z: cz - 3.0 },
                Vec3 { x: cx + o, y: 0.0, z: cz + 3.0 },
            ),
            (
                Vec3 { x: cx - 3.0, y: 0.0, z: cz + o },
                Vec3 { x: cx + 3.0, y: 0.0, z: cz + o },
            ),
        ] {
            if let (Some(pa), Some(pb)) = (orbit.project(a, target), orbit.project(b, target)) {
                p.line_segment(
                    [
                        c + Vec2::new(pa.0 * scale, pa.1 * scale),
                        c + Vec2::new(pb.0 * scale, pb.1 * scale),
                    ],
                    Stroke::new(1.0, grid),
                );
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
    for j in 0..JOINT_COUNT {
        let name = CANONICAL[j].name;
        let col = if name.starts_with("l_") {
            left
        } else if name.starts_with("r_") {
            right
        } else {
            center
        };
        let mut segs = Vec::new();
        if let Some(parent) = CANONICAL[j].parent {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_puts_the_head_above_the_feet_and_centres_the_target() {
        let o = Orbit::default();
        let target = Vec3 { x: 0.0, y: 0.9, z: 0.0 };
        let c = o.project(target, target).expect("in front");
        assert!(c.0.abs() < 1e-6 && c.1.abs() < 1e-6);
        let head = o.project(Vec3 { x: 0.0, y: 1.7, z: 0.0 }, target).expect("head");
        let foot = o.project(Vec3 { x: 0.0, y: 0.0, z: 0.0 }, target).expect("foot");
        assert!(head.1 < 0.0 && foot.1 > 0.0, "{head:?} {foot:?}");
        // Facing the dancer from +Z: a point behind the camera is not drawn.
        let front = Orbit {
            yaw: 0.0,
            pitch: 0.0,
            distance: 4.0,
        };
        assert!(front.project(Vec3 { x: 0.0, y: 0.9, z: 5.0 }, target).is_none());
        assert!(front.project(Vec3 { x: 0.0, y: 0.9, z: 3.0 }, target).is_some());
        // The figure's left (+X) appears on screen right when seen from the front... mirrored:
        // seen from +Z looking at −Z, +X is on the viewer's right.
        let lx = front.project(Vec3 { x: 0.5, y: 0.9, z: 0.0 }, target).expect("x");
        assert!(lx.0 > 0.0);
    }
}
