// The 3-D preview scene: background gradient, floor grid with contact shadows, and the
// figure as instanced capsules. All colours are linear; the target is sRGB.
// Layout of `Globals` must match `Globals` in src/render/renderer.rs.

struct Globals {
    view_proj: mat4x4<f32>,
    // xyz: camera position; w: transition highlight 0..1
    eye: vec4<f32>,
    // xyz: unit vector towards the key light; w: unused
    light_dir: vec4<f32>,
    // xyz: centre of the floor patch (camera target on the floor); w: its radius
    floor_centre: vec4<f32>,
    // hips (x, height, z); w: unused
    shadow_hips: vec4<f32>,
    // lowest point of each foot (x, height above contact, z)
    shadow_lfoot: vec4<f32>,
    shadow_rfoot: vec4<f32>,
    bg_top: vec4<f32>,
    bg_bottom: vec4<f32>,
};

@group(0) @binding(0) var<uniform> g: Globals;

// ---------------------------------------------------------------- background

struct BgOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One triangle covering the viewport; uv (0,0) bottom-left, (1,1) top-right.
@vertex
fn vs_background(@builtin(vertex_index) i: u32) -> BgOut {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    var out: BgOut;
    out.pos = vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

@fragment
fn fs_background(in: BgOut) -> @location(0) vec4<f32> {
    let t = clamp(in.uv.y, 0.0, 1.0);
    var c = mix(g.bg_bottom.rgb, g.bg_top.rgb, t * t * (3.0 - 2.0 * t));
    // soft vignette keeps the eye on the dancer
    let d = in.uv - vec2<f32>(0.5, 0.55);
    c = c * (1.0 - 0.35 * dot(d, d));
    return vec4<f32>(c, 1.0);
}

// ---------------------------------------------------------------- floor

struct FloorOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) world: vec3<f32>,
};

@vertex
fn vs_floor(@builtin(vertex_index) i: u32) -> FloorOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0),
    );
    let c = corners[i];
    let r = g.floor_centre.w;
    let p = vec3<f32>(g.floor_centre.x + c.x * r, 0.0, g.floor_centre.z + c.y * r);
    var out: FloorOut;
    out.pos = g.view_proj * vec4<f32>(p, 1.0);
    out.world = p;
    return out;
}

// Anti-aliased grid lines about one pixel wide, every `spacing` metres; fades out where the
// lines would be closer than a few pixels (moiré).
fn grid(p: vec2<f32>, spacing: f32) -> f32 {
    let q = p / spacing;
    let w = max(fwidth(q), vec2<f32>(1e-5));
    let d = abs(fract(q - 0.5) - 0.5) / w;
    let line = 1.0 - min(min(d.x, d.y), 1.0);
    let density = max(w.x, w.y);
    return line * (1.0 - smoothstep(0.12, 0.4, density));
}

// A soft round shadow of radius `r` centred at `c`.
fn blob(p: vec2<f32>, c: vec2<f32>, r: f32) -> f32 {
    return 1.0 - smoothstep(0.0, r, length(p - c));
}

@fragment
fn fs_floor(in: FloorOut) -> @location(0) vec4<f32> {
    let p = in.world.xz;
    let minor = grid(p, 0.25);
    let major = grid(p, 1.0);
    let axis_w = max(fwidth(p), vec2<f32>(1e-5));
    let axis_d = abs(p) / axis_w;
    let axis = 1.0 - min(min(axis_d.x, axis_d.y) * 0.7, 1.0);

    // a soft pool of light around the dancer so the contact shadows read
    let pool = 1.0 - smoothstep(0.0, 3.5, length(p - g.floor_centre.xz));
    var c = g.bg_bottom.rgb * 1.3 + vec3<f32>(0.03, 0.031, 0.036) * pool * pool;
    c = mix(c, vec3<f32>(0.03, 0.032, 0.038), minor * 0.5);
    c = mix(c, vec3<f32>(0.05, 0.054, 0.064), major * 0.8);
    c = mix(c, vec3<f32>(0.09, 0.097, 0.115), axis);

    // contact shadows: a wide one under the hips that weakens as they rise, small ones under
    // feet that touch the floor
    let hips_h = g.shadow_hips.y;
    let hips = blob(p, g.shadow_hips.xz, 0.75 + 0.25 * max(hips_h - 1.0, 0.0))
        * 0.75 * clamp(1.6 - 0.6 * hips_h, 0.2, 1.0);
    let lf = blob(p, g.shadow_lfoot.xz, 0.22) * 0.7 * clamp(1.0 - 3.0 * g.shadow_lfoot.y, 0.0, 1.0);
    let rf = blob(p, g.shadow_rfoot.xz, 0.22) * 0.7 * clamp(1.0 - 3.0 * g.shadow_rfoot.y, 0.0, 1.0);
    let shadow = 1.0 - (1.0 - hips) * (1.0 - lf) * (1.0 - rf);
    c = c * (1.0 - 0.85 * shadow);

    // the floor patch dissolves into the background towards its edge
    let dist = length(p - g.floor_centre.xz) / g.floor_centre.w;
    let alpha = 1.0 - smoothstep(0.3, 0.95, dist);
    return vec4<f32>(c, max(alpha, shadow * 0.9 * step(dist, 1.0)));
}

// ---------------------------------------------------------------- figure

struct CapsuleVertex {
    // unit-sphere normal of the mesh vertex
    @location(0) n: vec3<f32>,
    // 0: the vertex belongs to the cap at `a`, 1: to the cap at `b`
    @location(1) end: f32,
    // per instance
    @location(2) a: vec3<f32>,
    @location(3) radius: f32,
    @location(4) b: vec3<f32>,
    @location(5) side: f32,
    @location(6) color: vec4<f32>,
};

struct FigureOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};

// The capsule's frame is built from its axis alone: a capsule is symmetric about it, so any
// perpendicular works. Positions are `a + axis * end * length + normal * radius`, which keeps
// the caps round whatever the length.
@vertex
fn vs_figure(v: CapsuleVertex) -> FigureOut {
    let d = v.b - v.a;
    let len = length(d);
    var y = vec3<f32>(0.0, 1.0, 0.0);
    if len > 1e-6 {
        y = d / len;
    }
    var helper = vec3<f32>(1.0, 0.0, 0.0);
    if abs(y.x) > 0.9 {
        helper = vec3<f32>(0.0, 0.0, 1.0);
    }
    let x = normalize(cross(helper, y));
    let z = cross(x, y);
    let n = x * v.n.x + y * v.n.y + z * v.n.z;
    let p = v.a + y * (v.end * len) + n * v.radius;
    var out: FigureOut;
    out.pos = g.view_proj * vec4<f32>(p, 1.0);
    out.world = p;
    out.normal = n;
    out.color = v.color.rgb;
    return out;
}

const HIGHLIGHT: vec3<f32> = vec3<f32>(1.0, 0.55, 0.08);
const SKY: vec3<f32> = vec3<f32>(0.20, 0.22, 0.27);
const GROUND: vec3<f32> = vec3<f32>(0.05, 0.045, 0.04);
const RIM: vec3<f32> = vec3<f32>(0.35, 0.45, 0.65);

@fragment
fn fs_figure(in: FigureOut) -> @location(0) vec4<f32> {
    let n = normalize(in.normal);
    let v = normalize(g.eye.xyz - in.world);
    let l = g.light_dir.xyz;
    let hl = clamp(g.eye.w, 0.0, 1.0);
    let albedo = mix(in.color, HIGHLIGHT, hl * 0.55);

    // wrapped key light: softer terminator, reads as a matte mannequin
    let key = max((dot(n, l) + 0.25) / 1.25, 0.0);
    let fill_dir = normalize(vec3<f32>(-l.x, 0.25, -l.z));
    let fill = max(dot(n, fill_dir), 0.0) * 0.18;
    let hemi = mix(GROUND, SKY, n.y * 0.5 + 0.5);
    // darker near the floor: cheap ambient occlusion from the ground
    let ao = mix(0.55, 1.0, smoothstep(0.0, 0.35, in.world.y));

    let h = normalize(l + v);
    let spec = pow(max(dot(n, h), 0.0), 40.0) * 0.18 * step(0.0, dot(n, l));
    let rim = pow(1.0 - max(dot(n, v), 0.0), 3.0);

    var c = albedo * (key * 0.95 + fill + hemi * ao * 1.6) + vec3<f32>(spec);
    c = c + rim * mix(RIM * 0.35, HIGHLIGHT * 0.8, hl);
    return vec4<f32>(c, 1.0);
}
