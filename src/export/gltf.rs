//! glTF 2.0 binary (`.glb`) export of a blended dance (issue 17, item 2): the canonical
//! 22-joint skeleton as a node hierarchy with a skin (inverse bind matrices), a simple mesh —
//! one square prism per bone, each rigidly bound to the bone's joint — and one animation
//! with the hips' translation and every joint's rotation per frame (linear interpolation).
//!
//! The layout follows the glTF 2.0 specification (Khronos): a 12-byte header, a JSON chunk and
//! a BIN chunk, each padded to 4 bytes; every accessor into one buffer, each buffer view
//! 4-byte aligned; POSITION and animation input accessors carry `min`/`max`. Units are metres,
//! +Y up and the figure faces +Z, as glTF expects, so Blender, Godot and three.js need no
//! conversion. Animation time 0 is the song's start.

use std::path::Path;

use serde_json::{Value, json};

use crate::motion::MotionError;
use crate::motion::blend::Choreography;
use crate::motion::quat::Vec3;
use crate::motion::skeleton::{CANONICAL, JOINT_COUNT, Pose};

/// Half-width of the bone prisms (m).
const BONE_RADIUS: f32 = 0.035;

/// Little-endian binary buffer with 4-byte aligned views.
#[derive(Default)]
struct Bin {
    bytes: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

impl Bin {
    /// Adds `data` as a buffer view and an accessor; returns the accessor's index.
    fn add(
        &mut self,
        data: &[u8],
        count: usize,
        (component, kind): (u32, &str),
        extra: Value,
        target: Option<u32>,
    ) -> usize {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
        let mut view = json!({
            "buffer": 0,
            "byteOffset": self.bytes.len(),
            "byteLength": data.len(),
        });
        if let Some(t) = target {
            view["target"] = json!(t);
        }
        self.bytes.extend_from_slice(data);
        self.views.push(view);
        let mut acc = json!({
            "bufferView": self.views.len() - 1,
            "componentType": component,
            "count": count,
            "type": kind,
        });
        if let (Value::Object(a), Value::Object(e)) = (&mut acc, extra) {
            a.extend(e);
        }
        self.accessors.push(acc);
        self.accessors.len() - 1
    }
}

const FLOAT: u32 = 5126;
const UNSIGNED_SHORT: u32 = 5123;
const UNSIGNED_BYTE: u32 = 5121;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `min`/`max` of vec3 rows.
fn bounds(rows: &[[f32; 3]]) -> Value {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for r in rows {
        for k in 0..3 {
            lo[k] = lo[k].min(r[k]);
            hi[k] = hi[k].max(r[k]);
        }
    }
    json!({ "min": lo, "max": hi })
}

fn v3(v: Vec3) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

/// The bone prisms in the rest pose: positions, the joint each vertex follows, triangle
/// indices. A bone runs from a joint to each child (and to its end site); it follows the joint.
fn bone_mesh() -> (Vec<[f32; 3]>, Vec<u8>, Vec<u16>) {
    let rest = Pose::rest().world();
    let mut bones: Vec<(usize, Vec3, Vec3)> = Vec::new();
    for (j, joint) in CANONICAL.iter().enumerate() {
        if let Some(p) = joint.parent {
            bones.push((p, rest.pos[p], rest.pos[j]));
        }
        if let Some(end) = rest.end_site(j) {
            bones.push((j, rest.pos[j], end));
        }
    }
    let (mut pos, mut joint, mut idx) = (Vec::new(), Vec::new(), Vec::new());
    for (j, a, b) in bones {
        let axis = (b - a).normalized_or_zero();
        if axis.length() < 0.5 {
            continue;
        }
        // two directions across the bone
        let helper = if axis.y.abs() < 0.9 { Vec3::Y } else { Vec3::X };
        let u = axis.cross(helper).normalized_or_zero() * f64::from(BONE_RADIUS);
        let w = axis.cross(u).normalized_or_zero() * f64::from(BONE_RADIUS);
        let base = pos.len() as u16;
        for end in [a, b] {
            for (su, sw) in [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)] {
                pos.push(v3(end + u * su + w * sw));
                joint.push(j as u8);
            }
        }
        // four sides and two caps, counter-clockwise seen from outside
        for k in 0..4u16 {
            let (k0, k1) = (k, (k + 1) % 4);
            idx.extend([base + k0, base + k1, base + 4 + k1]);
            idx.extend([base + k0, base + 4 + k1, base + 4 + k0]);
        }
        idx.extend([base, base + 2, base + 1, base, base + 3, base + 2]);
        idx.extend([base + 4, base + 5, base + 6, base + 4, base + 6, base + 7]);
    }
    (pos, joint, idx)
}

/// Accessors of the bone mesh: (positions, joints, weights, indices).
fn mesh_accessors(bin: &mut Bin) -> (usize, usize, usize, usize) {
    let (pos, joints, idx) = bone_mesh();
    let a_pos = bin.add(
        &f32s(&pos.concat()),
        pos.len(),
        (FLOAT, "VEC3"),
        bounds(&pos),
        Some(ARRAY_BUFFER),
    );
    let joint_bytes: Vec<u8> = joints.iter().flat_map(|&j| [j, 0, 0, 0]).collect();
    let a_joints = bin.add(
        &joint_bytes,
        joints.len(),
        (UNSIGNED_BYTE, "VEC4"),
        json!({}),
        Some(ARRAY_BUFFER),
    );
    let weights: Vec<f32> = joints.iter().flat_map(|_| [1.0, 0.0, 0.0, 0.0]).collect();
    let a_weights = bin.add(
        &f32s(&weights),
        joints.len(),
        (FLOAT, "VEC4"),
        json!({}),
        Some(ARRAY_BUFFER),
    );
    let idx_bytes: Vec<u8> = idx.iter().flat_map(|i| i.to_le_bytes()).collect();
    let a_idx = bin.add(
        &idx_bytes,
        idx.len(),
        (UNSIGNED_SHORT, "SCALAR"),
        json!({}),
        Some(ELEMENT_ARRAY_BUFFER),
    );
    (a_pos, a_joints, a_weights, a_idx)
}

/// The skin's inverse bind matrices: the rest pose has identity rotations, so each is the
/// translation back from the joint's rest position (column-major).
fn inverse_bind_accessor(bin: &mut Bin) -> usize {
    let rest = Pose::rest().world();
    let ibm: Vec<f32> = rest
        .pos
        .iter()
        .flat_map(|p| {
            let [x, y, z] = v3(*p);
            [
                1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -x, -y, -z, 1.0,
            ]
        })
        .collect();
    bin.add(&f32s(&ibm), JOINT_COUNT, (FLOAT, "MAT4"), json!({}), None)
}

/// The animation's samplers and channels: the hips' translation (node 0) and each joint's
/// rotation, one key per pose of `poses` at times `t0 + i / fps`.
fn animation(bin: &mut Bin, poses: &[Pose], t0: f64, fps: f64) -> (Vec<Value>, Vec<Value>) {
    let n = poses.len();
    let times: Vec<f32> = (0..n).map(|i| (t0 + i as f64 / fps) as f32).collect();
    let (first, last) = (times.first().copied(), times.last().copied());
    let a_time = bin.add(
        &f32s(&times),
        n,
        (FLOAT, "SCALAR"),
        json!({ "min": [first], "max": [last] }),
        None,
    );
    let root: Vec<f32> = poses.iter().flat_map(|p| v3(p.root)).collect();
    let a_root = bin.add(&f32s(&root), n, (FLOAT, "VEC3"), json!({}), None);
    let mut samplers =
        vec![json!({ "input": a_time, "output": a_root, "interpolation": "LINEAR" })];
    let mut channels =
        vec![json!({ "sampler": 0, "target": { "node": 0, "path": "translation" } })];
    for j in 0..JOINT_COUNT {
        let mut rot: Vec<f32> = Vec::with_capacity(4 * n);
        let mut prev: Option<[f32; 4]> = None;
        for p in poses {
            let q = p.rot[j].normalized();
            let mut r = [q.x as f32, q.y as f32, q.z as f32, q.w as f32];
            // keep neighbouring keys in one hemisphere so linear interpolation takes the
            // short way
            if let Some(pr) = prev
                && pr.iter().zip(&r).map(|(a, b)| a * b).sum::<f32>() < 0.0
            {
                r = r.map(|c| -c);
            }
            prev = Some(r);
            rot.extend(r);
        }
        let a_rot = bin.add(&f32s(&rot), n, (FLOAT, "VEC4"), json!({}), None);
        samplers.push(json!({ "input": a_time, "output": a_rot, "interpolation": "LINEAR" }));
        channels.push(json!({
            "sampler": samplers.len() - 1,
            "target": { "node": j, "path": "rotation" },
        }));
    }
    (samplers, channels)
}

/// The joint nodes (node `j` = canonical joint `j`, rest translations) and the skinned mesh
/// node after them.
fn nodes() -> Vec<Value> {
    let mut nodes: Vec<Value> = CANONICAL
        .iter()
        .enumerate()
        .map(|(j, joint)| {
            let t = if joint.parent.is_some() {
                v3(joint.offset)
            } else {
                v3(Pose::rest().root)
            };
            let children: Vec<usize> = (0..JOINT_COUNT)
                .filter(|&c| CANONICAL[c].parent == Some(j))
                .collect();
            let mut node = json!({ "name": joint.name, "translation": t });
            if !children.is_empty() {
                node["children"] = json!(children);
            }
            node
        })
        .collect();
    nodes.push(json!({ "name": "figure", "mesh": 0, "skin": 0 }));
    nodes
}

/// The `.glb` bytes of `ch` baked at `fps`, named `name`, and its frame count.
pub fn glb_bytes(ch: &Choreography, fps: f64, name: &str) -> Result<(Vec<u8>, usize), MotionError> {
    if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
        return Err(MotionError::invalid(
            name,
            format!("export frame rate {fps} out of range"),
        ));
    }
    let clip = ch.bake(fps);
    if clip.poses.is_empty() {
        return Err(MotionError::invalid(name, "the dance has no frames"));
    }
    let mut bin = Bin::default();
    let (a_pos, a_joints, a_weights, a_idx) = mesh_accessors(&mut bin);
    let a_ibm = inverse_bind_accessor(&mut bin);
    let (samplers, channels) = animation(&mut bin, &clip.poses, ch.start(), clip.fps);
    let doc = json!({
        "asset": { "version": "2.0", "generator": format!("phrasewise {}", env!("CARGO_PKG_VERSION")) },
        "scene": 0,
        "scenes": [{ "name": name, "nodes": [0, JOINT_COUNT] }],
        "nodes": nodes(),
        "skins": [{ "name": "phrasewise-canonical-22", "joints": (0..JOINT_COUNT).collect::<Vec<_>>(),
                    "skeleton": 0, "inverseBindMatrices": a_ibm }],
        "meshes": [{ "name": "bones", "primitives": [{
            "attributes": { "POSITION": a_pos, "JOINTS_0": a_joints, "WEIGHTS_0": a_weights },
            "indices": a_idx, "material": 0 }] }],
        "materials": [{ "name": "figure", "pbrMetallicRoughness": {
            "baseColorFactor": [0.8, 0.82, 0.86, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8 } }],
        "animations": [{ "name": "dance", "samplers": samplers, "channels": channels }],
        "buffers": [{ "byteLength": bin.bytes.len() }],
        "bufferViews": bin.views,
        "accessors": bin.accessors,
    });
    let text = serde_json::to_vec(&doc).map_err(|e| MotionError::json(name, e))?;
    Ok((pack(text, bin.bytes, name)?, clip.poses.len()))
}

/// The binary container: header, JSON chunk (space-padded), BIN chunk (zero-padded).
fn pack(mut text: Vec<u8>, mut data: Vec<u8>, name: &str) -> Result<Vec<u8>, MotionError> {
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    while !data.len().is_multiple_of(4) {
        data.push(0);
    }
    let total = 12 + 8 + text.len() + 8 + data.len();
    let len32 = |n: usize| {
        u32::try_from(n).map_err(|_| MotionError::invalid(name, "the dance is too long for a .glb"))
    };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&len32(total)?.to_le_bytes());
    out.extend_from_slice(&len32(text.len())?.to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&len32(data.len())?.to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&data);
    Ok(out)
}

/// Writes `ch` baked at `fps` to `path` as a `.glb`, atomically (nothing under the final name
/// if anything fails); returns the frame count.
pub fn export_glb(ch: &Choreography, fps: f64, path: &Path) -> Result<usize, MotionError> {
    let name = path
        .file_stem()
        .map_or_else(|| "dance".into(), |s| s.to_string_lossy().into_owned());
    let (bytes, frames) = glb_bytes(ch, fps, &name)?;
    crate::files::write_atomic(path, &bytes).map_err(|e| MotionError::io(path, e.into_io().1))?;
    Ok(frames)
}
