//! Rig maps and retargeting of any BVH rig onto the canonical skeleton.
//!
//! **Method** (world-space rotation transfer with a rest-pose-aware reference, as in the
//! "world rotation delta" retargeters of e.g. Monzani et al. 2000 and Blender's Rokoko/ARP
//! remappers):
//!
//! 1. The source rig is put in its *reference pose*: either its zero-rotation pose
//!    (`"reference": "zero"`, for rigs whose rest is a T- or A-pose) or a frame of the clip
//!    (`{"frame": n}`, for rigs like CC_Base whose zero pose is degenerate). Forward
//!    kinematics gives each source joint's world rotation `G_ref` and each mapped bone's world
//!    direction `b_ref` (joint → tip). The pose's heading `H` (from the hip line) is removed.
//! 2. Each mapped joint's orientation *in the canonical T-pose* is
//!    `Q_T = A · H⁻¹ · G_ref`, where `A` is the shortest rotation taking `H⁻¹·b_ref` onto the
//!    canonical rest bone direction (two-vector alignment with the hip / shoulder line for
//!    the hips and chest). An A-pose or a hanging-arms frame is thus swung into the T-pose
//!    before anything is transferred; leaf joints without a tip inherit their parent's `A`.
//! 3. Per frame, the canonical joint's world rotation is the source's world rotation relative
//!    to that reference, `W(t) = G(t) · Q_T⁻¹` (the canonical rest frames are the identity);
//!    unmapped canonical joints follow their parent. Local rotations are
//!    `W(parent)⁻¹ · W(joint)`. Bone directions then match the source exactly.
//! 4. The root translation is the source hips position times the leg-length ratio
//!    (canonical thigh + shin over the source's), which also removes the unit; the clip is
//!    then grounded (see [`Clip::ground`]).
//!
//! **Units** are reported separately: the unit whose scale makes the head-to-ankle bone path
//! closest (in log ratio) to the canonical 1.58 m among metres, centimetres, millimetres,
//! inches, feet and CMU ASF units (0.056444 m).
//!
//! **Rig maps** are JSON files (schema `phrasewise-rig/1`):
//!
//! ```json
//! { "schema": "phrasewise-rig/1", "name": "my-rig",
//!   "reference": "zero",            // or {"frame": 0}
//!   "unit": null,                    // metres per file unit; null = detect
//!   "joints": { "hips": "Hips", "spine": "Spine", "spine1": null, ... },
//!   "tips": { "l_hand": "LeftHandMiddle1" } }
//! ```
//!
//! `joints` maps canonical joint names to source joint names (`null` = absent). A map applies
//! to a BVH when every named source joint exists; among those the one naming most joints
//! wins, so adding a map for a new rig needs no code. `tips` optionally names the source
//! joint (or `"JOINT/end"`, an End Site) that gives a joint's bone direction; by default it is
//! the source joint of the nearest mapped canonical descendant, else the joint's End Site.

use super::MotionError;
use super::bvh::Bvh;
use super::clip::Clip;
use super::quat::{Quat, Vec3};
use super::skeleton::{CANONICAL, J, JOINT_COUNT, LEG_LENGTH, Pose, children, joint_index};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Schema tag of rig-map files.
pub const RIG_SCHEMA: &str = "phrasewise-rig/1";

/// The built-in rig maps as (file name, JSON).
pub const BUILTIN_RIGS: [(&str, &str); 3] = [
    (
        "canonical.json",
        include_str!("../../assets/library/rigs/canonical.json"),
    ),
    (
        "cmu-salsa-daz.json",
        include_str!("../../assets/library/rigs/cmu-salsa-daz.json"),
    ),
    (
        "cmu-05-ccbase.json",
        include_str!("../../assets/library/rigs/cmu-05-ccbase.json"),
    ),
];

/// Which pose of the source rig is taken as its rest posture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reference {
    /// `"zero"`: all rotation channels at zero.
    Named(String),
    /// `{"frame": n}`: frame `n` of the clip being retargeted.
    Frame {
        /// Frame index.
        frame: usize,
    },
    /// `{"t_pose": {"hips": [w, x, y, z], ...}}`: each mapped joint's world orientation when
    /// the source stands in the canonical T-pose facing +Z (`Q_T`), as produced by
    /// [`calibrate`] from a neutral frame once for the rig.
    TPose {
        /// Canonical joint name → quaternion `[w, x, y, z]`.
        t_pose: BTreeMap<String, [f64; 4]>,
    },
}

impl Default for Reference {
    fn default() -> Self {
        Reference::Named("zero".into())
    }
}

/// A joint map from a source rig to the canonical skeleton.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RigMap {
    /// Must be [`RIG_SCHEMA`].
    pub schema: String,
    /// Short unique name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The source's reference (rest) pose.
    #[serde(default)]
    pub reference: Reference,
    /// Metres per file unit; `None` detects it.
    #[serde(default)]
    pub unit: Option<f64>,
    /// Canonical joint name → source joint name (`null` = none).
    pub joints: BTreeMap<String, Option<String>>,
    /// Canonical joint name → source joint (or `JOINT/end`) giving the bone direction.
    #[serde(default)]
    pub tips: BTreeMap<String, String>,
}

impl RigMap {
    /// Parses and validates a rig map; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<RigMap, MotionError> {
        let map: RigMap = serde_json::from_str(text).map_err(|e| MotionError::json(file, e))?;
        map.validate(file)?;
        Ok(map)
    }

    /// Reads a rig-map file.
    pub fn read(path: &Path) -> Result<RigMap, MotionError> {
        let text = crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| MotionError::io(path, e))?;
        RigMap::from_json(&text, &path.display().to_string())
    }

    fn validate(&self, file: &str) -> Result<(), MotionError> {
        if self.schema != RIG_SCHEMA {
            return Err(MotionError::invalid(
                file,
                format!("schema is `{}`, expected `{RIG_SCHEMA}`", self.schema),
            ));
        }
        for k in self.joints.keys().chain(self.tips.keys()) {
            if joint_index(k).is_none() {
                return Err(MotionError::invalid(
                    file,
                    format!("`{k}` is not a canonical joint name"),
                ));
            }
        }
        if !matches!(self.joints.get("hips"), Some(Some(_))) {
            return Err(MotionError::invalid(
                file,
                "the `hips` joint must be mapped",
            ));
        }
        if let Reference::Named(n) = &self.reference
            && n != "zero"
        {
            return Err(MotionError::invalid(
                file,
                format!("reference must be \"zero\" or {{\"frame\": n}}, found \"{n}\""),
            ));
        }
        if let Some(u) = self.unit
            && !(u.is_finite() && u > 0.0)
        {
            return Err(MotionError::invalid(file, "unit must be a positive number"));
        }
        Ok(())
    }

    /// Source joint names this map requires.
    pub fn required_joints(&self) -> impl Iterator<Item = &str> {
        self.joints.values().filter_map(|v| v.as_deref())
    }

    /// Number of mapped source joints if every one exists in `bvh`, else `None`.
    pub fn match_score(&self, bvh: &Bvh) -> Option<usize> {
        let mut n = 0;
        for name in self.required_joints() {
            bvh.joint_index(name)?;
            n += 1;
        }
        Some(n)
    }
}

/// The built-in rig maps (canonical, CMU salsa Daz/SL figure, CMU subject 5 CC_Base).
pub fn builtin_rigs() -> Result<Vec<RigMap>, MotionError> {
    BUILTIN_RIGS
        .iter()
        .map(|(f, t)| RigMap::from_json(t, &format!("<builtin>/rigs/{f}")))
        .collect()
}

/// Reads every `*.json` rig map in a directory (sorted by file name).
pub fn load_rig_dir(dir: &Path) -> Result<Vec<RigMap>, MotionError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| MotionError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.iter().map(|p| RigMap::read(p)).collect()
}

/// The map that fits `bvh` best: every mapped joint present, most joints mapped; ties go to
/// the earlier map (so user maps listed first override built-ins).
pub fn detect_rig<'a>(bvh: &Bvh, maps: &'a [RigMap]) -> Option<&'a RigMap> {
    let mut best: Option<(&RigMap, usize)> = None;
    for m in maps {
        if let Some(s) = m.match_score(bvh)
            && best.is_none_or(|(_, b)| s > b)
        {
            best = Some((m, s));
        }
    }
    best.map(|(m, _)| m)
}

/// A unit candidate: name and metres per unit.
pub const UNITS: [(&str, f64); 6] = [
    ("m", 1.0),
    ("cm", 0.01),
    ("mm", 0.001),
    ("in", 0.0254),
    ("ft", 0.3048),
    ("cmu", 0.056444),
];

/// Head-to-ankle bone-path length of the canonical skeleton (m).
pub fn canonical_path_length() -> f64 {
    let up = path_to_root_canonical(J::Head.idx());
    let down = path_to_root_canonical(J::LFoot.idx());
    up + down
}

fn path_to_root_canonical(mut j: usize) -> f64 {
    let mut s = 0.0;
    while let Some(p) = CANONICAL[j].parent {
        s += CANONICAL[j].offset.length();
        j = p;
    }
    s
}

fn path_to_root(bvh: &Bvh, mut j: usize) -> f64 {
    let mut s = 0.0;
    while let Some(p) = bvh.joints[j].parent {
        s += bvh.joints[j].offset.length();
        j = p;
    }
    s
}

/// Detects metres per file unit from the head-to-ankle bone path (pose independent), or
/// `None` if the map lacks head or feet.
pub fn detect_unit(bvh: &Bvh, map: &RigMap) -> Option<(&'static str, f64)> {
    let idx = |c: &str| -> Option<usize> {
        map.joints
            .get(c)
            .and_then(|s| s.as_deref())
            .and_then(|s| bvh.joint_index(s))
    };
    let head = idx("head").or_else(|| idx("neck"))?;
    let foot = idx("l_foot").or_else(|| idx("r_foot"))?;
    let len = path_to_root(bvh, head) + path_to_root(bvh, foot);
    if len <= 0.0 {
        return None;
    }
    let target = canonical_path_length();
    UNITS
        .iter()
        .min_by(|a, b| {
            let da = (a.1 * len / target).ln().abs();
            let db = (b.1 * len / target).ln().abs();
            da.total_cmp(&db)
        })
        .copied()
}

/// Options for [`retarget`].
#[derive(Clone, Debug, Default)]
pub struct RetargetOptions {
    /// Frame rate to use instead of the header's (metadata override).
    pub fps: Option<f64>,
    /// First source frame kept.
    pub start: usize,
    /// One past the last source frame kept (`None` = to the end).
    pub end: Option<usize>,
    /// Skip grounding.
    pub no_ground: bool,
}

/// A retargeted clip and what was learned on the way.
#[derive(Clone, Debug)]
pub struct Retargeted {
    /// The clip on the canonical skeleton (metres, grounded unless disabled).
    pub clip: Clip,
    /// Name of the rig map used.
    pub rig: String,
    /// Detected or configured file unit name (`"m"`, `"cm"`, …, or `"map"`).
    pub unit: String,
    /// Metres per file unit.
    pub unit_scale: f64,
    /// Root-translation scale (canonical leg length / source leg length, per file unit).
    pub leg_scale: f64,
    /// Frame rate claimed by the file header.
    pub header_fps: f64,
    /// Vertical shift applied by grounding (m).
    pub ground_shift: f64,
}

/// Where a canonical joint's bone direction comes from on the source.
#[derive(Clone, Copy, Debug)]
enum Tip {
    /// A source joint, and the canonical rest point it corresponds to.
    Joint(usize, Vec3),
    /// A source End Site (joint, site), and the canonical rest point.
    End(usize, usize, Vec3),
    /// No direction: inherit the parent's alignment.
    Inherit,
}

/// Canonical rest point at the end of `c`'s chain (first child down to a leaf end site).
fn chain_end(c: usize, rest: &[Vec3; JOINT_COUNT]) -> Option<Vec3> {
    let mut j = c;
    loop {
        match children(j).next() {
            Some(k) => j = k,
            None => return CANONICAL[j].end.map(|e| rest[j] + e),
        }
    }
}

fn parse_tip(
    spec: &str,
    bvh: &Bvh,
    file: &str,
    map: &RigMap,
) -> Result<(usize, Option<usize>), MotionError> {
    let (name, end) = match spec.strip_suffix("/end") {
        Some(n) => (n, true),
        None => (spec, false),
    };
    let Some(j) = bvh.joint_index(name) else {
        return Err(MotionError::invalid(
            file,
            format!("rig map `{}`: tip joint `{name}` not in the file", map.name),
        ));
    };
    if end {
        if bvh.joints[j].end_sites.is_empty() {
            return Err(MotionError::invalid(
                file,
                format!("rig map `{}`: `{name}` has no End Site", map.name),
            ));
        }
        Ok((j, Some(0)))
    } else {
        Ok((j, None))
    }
}

/// Resolves the map's source joint for every canonical joint.
fn resolve_sources(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
) -> Result<[Option<usize>; JOINT_COUNT], MotionError> {
    let mut src: [Option<usize>; JOINT_COUNT] = [None; JOINT_COUNT];
    for (c, cj) in CANONICAL.iter().enumerate() {
        if let Some(Some(name)) = map.joints.get(cj.name) {
            src[c] = Some(bvh.joint_index(name).ok_or_else(|| {
                MotionError::invalid(
                    file,
                    format!("rig map `{}`: joint `{name}` not in the file", map.name),
                )
            })?);
        }
    }
    if src[0].is_none() {
        return Err(MotionError::invalid(file, "rig map has no hips"));
    }
    Ok(src)
}

/// Computes each mapped joint's T-pose world orientation `Q_T` (module docs, step 2) from
/// the zero pose (`frame = None`) or a frame of `bvh`. Unmapped joints get `None`.
pub fn calibrate(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
    frame: Option<usize>,
) -> Result<[Option<Quat>; JOINT_COUNT], MotionError> {
    let rest = super::skeleton::rest_positions();
    let src = resolve_sources(bvh, map, file)?;
    let tips = bone_tips(bvh, map, file, &src, &rest)?;
    let (ref_pos, ref_rot) = reference_pose(bvh, map, file, frame)?;
    let point = |tip: &Tip| -> Option<Vec3> {
        match *tip {
            Tip::Joint(j, _) => Some(ref_pos[j]),
            Tip::End(j, k, _) => bvh.joints[j]
                .end_sites
                .get(k)
                .map(|e| ref_pos[j] + ref_rot[j].rotate(*e)),
            Tip::Inherit => None,
        }
    };
    let heading = hip_heading(&src, &ref_pos);
    let h_inv = Quat::from_yaw(-heading);
    // alignment A per canonical joint, and Q_T
    let mut align = [Quat::IDENTITY; JOINT_COUNT];
    let mut q_t = [None; JOINT_COUNT];
    for c in 0..JOINT_COUNT {
        let Some(s) = src[c] else {
            if let Some(p) = CANONICAL[c].parent {
                align[c] = align[p];
            }
            continue;
        };
        let inherited = CANONICAL[c].parent.map_or(Quat::IDENTITY, |p| align[p]);
        let a = match (point(&tips[c]), tips[c]) {
            (Some(tp), Tip::Joint(_, target) | Tip::End(_, _, target)) => {
                let b = h_inv.rotate(tp - ref_pos[s]);
                let d = target - rest[c];
                let lateral = lateral_pair(c)
                    .and_then(|(l, r)| Some((src[l]?, src[r]?, l, r)))
                    .map(|(sl, sr, l, r)| {
                        (h_inv.rotate(ref_pos[sl] - ref_pos[sr]), rest[l] - rest[r])
                    });
                match lateral {
                    Some((ls, lc)) => Quat::align_two(b, ls, d, lc),
                    None => Quat::rotation_between(b, d),
                }
            }
            _ => inherited,
        };
        align[c] = a;
        q_t[c] = Some((a * h_inv * ref_rot[s]).normalized());
    }
    Ok(q_t)
}

/// Where each mapped joint's bone points (module docs, step 2): an explicit tip from the
/// map, else the nearest mapped descendant, else the joint's own end site.
fn bone_tips(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
    src: &[Option<usize>; JOINT_COUNT],
    rest: &[Vec3; JOINT_COUNT],
) -> Result<[Tip; JOINT_COUNT], MotionError> {
    let mut tips = [Tip::Inherit; JOINT_COUNT];
    for c in 0..JOINT_COUNT {
        let Some(s) = src[c] else { continue };
        if let Some(spec) = map.tips.get(CANONICAL[c].name) {
            let (j, site) = parse_tip(spec, bvh, file, map)?;
            let target = canonical_point_for_source(j, src, rest)
                .or_else(|| chain_end(c, rest))
                .unwrap_or(rest[c] + Vec3::Y * 0.1);
            tips[c] = match site {
                Some(k) => Tip::End(j, k, chain_end(c, rest).unwrap_or(target)),
                None => Tip::Joint(j, target),
            };
            continue;
        }
        if let Some(d) = nearest_mapped_descendant(c, src) {
            if let Some(sd) = src[d] {
                tips[c] = Tip::Joint(sd, rest[d]);
            }
        } else if !bvh.joints[s].end_sites.is_empty()
            && let Some(e) = chain_end(c, rest)
        {
            tips[c] = Tip::End(s, 0, e);
        }
    }
    Ok(tips)
}

/// World positions and rotations of `bvh`'s joints in the reference pose: frame `frame`, or
/// the zero pose.
fn reference_pose(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
    frame: Option<usize>,
) -> Result<(Vec<Vec3>, Vec<Quat>), MotionError> {
    Ok(match frame {
        Some(f) => {
            if f >= bvh.frames {
                return Err(MotionError::invalid(
                    file,
                    format!(
                        "rig map `{}`: reference frame {f} but the file has {} frames",
                        map.name, bvh.frames
                    ),
                ));
            }
            let mut p = Vec::new();
            let mut r = Vec::new();
            bvh.world_pose(f, &mut p, &mut r);
            (p, r)
        }
        None => (
            bvh.zero_pose_positions(),
            vec![Quat::IDENTITY; bvh.joints.len()],
        ),
    })
}

/// Heading (yaw) of the reference pose from the hip line (left minus right); 0 without both
/// hips or with a vertical hip line.
fn hip_heading(src: &[Option<usize>; JOINT_COUNT], ref_pos: &[Vec3]) -> f64 {
    match (src[J::LUpLeg.idx()], src[J::RUpLeg.idx()]) {
        (Some(l), Some(r)) => {
            let f = (ref_pos[l] - ref_pos[r]).cross(Vec3::Y);
            if f.x.hypot(f.z) > 1e-9 {
                f.x.atan2(f.z)
            } else {
                0.0
            }
        }
        _ => 0.0,
    }
}

/// Each mapped joint's T-pose world orientation `Q_T`: calibrated from the zero pose or a
/// frame, or given by the map's `t_pose`.
fn reference_orientations(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
    src: &[Option<usize>; JOINT_COUNT],
) -> Result<[Option<Quat>; JOINT_COUNT], MotionError> {
    Ok(match &map.reference {
        Reference::Named(_) => calibrate(bvh, map, file, None)?,
        Reference::Frame { frame } => calibrate(bvh, map, file, Some(*frame))?,
        Reference::TPose { t_pose } => {
            let mut q = [None; JOINT_COUNT];
            for c in 0..JOINT_COUNT {
                if src[c].is_none() {
                    continue;
                }
                let name = CANONICAL[c].name;
                let Some(v) = t_pose.get(name) else {
                    return Err(MotionError::invalid(
                        file,
                        format!("rig map `{}`: t_pose lacks mapped joint `{name}`", map.name),
                    ));
                };
                q[c] = Some(Quat::new(v[0], v[1], v[2], v[3]).normalized());
            }
            q
        }
    })
}

/// Scale of the root translation: the canonical leg length over the source's mean leg
/// length (hip to knee to ankle in the zero pose), or `unit_scale` without measurable legs.
fn leg_scale(bvh: &Bvh, src: &[Option<usize>; JOINT_COUNT], unit_scale: f64) -> f64 {
    let zero = bvh.zero_pose_positions();
    let leg = |a: J, b: J, c: J| -> Option<f64> {
        let (a, b, c) = (src[a.idx()]?, src[b.idx()]?, src[c.idx()]?);
        Some((zero[b] - zero[a]).length() + (zero[c] - zero[b]).length())
    };
    let legs: Vec<f64> = [
        leg(J::LUpLeg, J::LLeg, J::LFoot),
        leg(J::RUpLeg, J::RLeg, J::RFoot),
    ]
    .into_iter()
    .flatten()
    .filter(|l| *l > 0.0)
    .collect();
    if legs.is_empty() {
        unit_scale
    } else {
        LEG_LENGTH / (legs.iter().sum::<f64>() / legs.len() as f64)
    }
}

/// Retargets a BVH onto the canonical skeleton with `map` (see the module docs).
pub fn retarget(
    bvh: &Bvh,
    map: &RigMap,
    file: &str,
    opts: &RetargetOptions,
) -> Result<Retargeted, MotionError> {
    let src = resolve_sources(bvh, map, file)?;
    let src_root = src[0].unwrap_or(0);
    if bvh.frames == 0 {
        return Err(MotionError::invalid(file, "the file has no frames"));
    }
    let q_t = reference_orientations(bvh, map, file, &src)?;
    let mut q_t_inv = [Quat::IDENTITY; JOINT_COUNT];
    for c in 0..JOINT_COUNT {
        if let Some(q) = q_t[c] {
            q_t_inv[c] = q.inverse();
        }
    }
    // units and scales
    let (unit, unit_scale) = match map.unit {
        Some(u) => ("map".to_string(), u),
        None => detect_unit(bvh, map).map_or(("m".to_string(), 1.0), |(n, s)| (n.to_string(), s)),
    };
    let leg_scale = leg_scale(bvh, &src, unit_scale);
    // frames
    let start = opts.start.min(bvh.frames);
    let end = opts.end.unwrap_or(bvh.frames).clamp(start, bvh.frames);
    let mut poses = Vec::with_capacity(end - start);
    let mut pos = Vec::new();
    let mut rot = Vec::new();
    for f in start..end {
        bvh.world_pose(f, &mut pos, &mut rot);
        let mut world = [Quat::IDENTITY; JOINT_COUNT];
        let mut pose = Pose::rest();
        for c in 0..JOINT_COUNT {
            world[c] = match (src[c], CANONICAL[c].parent) {
                (Some(s), _) => (rot[s] * q_t_inv[c]).normalized(),
                (None, Some(p)) => world[p],
                (None, None) => Quat::IDENTITY,
            };
            pose.rot[c] = match CANONICAL[c].parent {
                Some(p) => (world[p].inverse() * world[c]).normalized(),
                None => world[c],
            };
        }
        pose.root = pos[src_root] * leg_scale;
        if !pose.is_finite() {
            return Err(MotionError::invalid(
                file,
                format!("frame {f}: retargeting produced non-finite values"),
            ));
        }
        poses.push(pose);
    }
    let header_fps = bvh.fps();
    let fps = opts.fps.unwrap_or(header_fps);
    let (lo, hi) = (
        1.0 / crate::limits::MAX_FRAME_TIME,
        1.0 / crate::limits::MIN_FRAME_TIME,
    );
    if !(lo..=hi).contains(&fps) {
        return Err(MotionError::invalid(
            file,
            format!("frame rate {fps} is outside the supported {lo}–{hi} fps"),
        ));
    }
    let mut clip = Clip {
        name: super::clip::file_stem(file),
        fps,
        poses,
    };
    let ground_shift = if opts.no_ground || clip.is_empty() {
        0.0
    } else {
        clip.ground()
    };
    Ok(Retargeted {
        clip,
        rig: map.name.clone(),
        unit,
        unit_scale,
        leg_scale,
        header_fps,
        ground_shift,
    })
}

/// For the hips and chest, the (left, right) canonical joints whose line fixes the twist.
fn lateral_pair(c: usize) -> Option<(usize, usize)> {
    if c == J::Hips.idx() {
        Some((J::LUpLeg.idx(), J::RUpLeg.idx()))
    } else if c == J::Chest.idx() {
        Some((J::LArm.idx(), J::RArm.idx()))
    } else {
        None
    }
}

/// The nearest canonical descendant of `c` (breadth first, first child first) with a source
/// joint; for the hips only the spine chain counts.
fn nearest_mapped_descendant(c: usize, src: &[Option<usize>; JOINT_COUNT]) -> Option<usize> {
    let mut queue: std::collections::VecDeque<usize> = children(c).collect();
    if c == J::Hips.idx() {
        queue.retain(|&k| k == J::Spine.idx());
    }
    if c == J::Chest.idx() {
        queue.retain(|&k| k == J::Neck.idx());
    }
    while let Some(k) = queue.pop_front() {
        if src[k].is_some() {
            return Some(k);
        }
        queue.extend(children(k));
    }
    None
}

fn canonical_point_for_source(
    j: usize,
    src: &[Option<usize>; JOINT_COUNT],
    rest: &[Vec3; JOINT_COUNT],
) -> Option<Vec3> {
    src.iter().position(|s| *s == Some(j)).map(|c| rest[c])
}

/// Retargets with the best matching map among `maps` (see [`detect_rig`]).
pub fn retarget_auto(
    bvh: &Bvh,
    maps: &[RigMap],
    file: &str,
    opts: &RetargetOptions,
) -> Result<Retargeted, MotionError> {
    let Some(map) = detect_rig(bvh, maps) else {
        let names: Vec<&str> = bvh.joints.iter().take(8).map(|j| j.name.as_str()).collect();
        return Err(MotionError::invalid(
            file,
            format!(
                "no rig map matches this skeleton (first joints: {}); add a rig-map JSON file",
                names.join(", ")
            ),
        ));
    };
    retarget(bvh, map, file, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_maps_parse_and_name_canonical_joints() {
        let maps = builtin_rigs().unwrap();
        assert_eq!(maps.len(), 3);
        for m in &maps {
            assert!(m.joints.contains_key("hips"), "{}", m.name);
            assert!(m.required_joints().count() >= 18, "{}", m.name);
        }
    }

    #[test]
    fn bad_maps_are_rejected_with_the_file_name() {
        let e = RigMap::from_json("{\"schema\":\"x\"}", "bad.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad.json:"), "{e}");
        let e = RigMap::from_json(
            r#"{"schema":"phrasewise-rig/1","name":"n","joints":{"hip":"H"}}"#,
            "bad2.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`hip` is not a canonical joint"), "{e}");
    }

    #[test]
    fn canonical_round_trip_through_the_identity_map() {
        // A canonical clip written as BVH and retargeted with the identity map comes back.
        let mut poses = Vec::new();
        for i in 0..20 {
            let mut p = Pose::rest();
            p.root = Vec3::new(0.01 * i as f64, super::super::skeleton::HIPS_HEIGHT, 0.0);
            p.rot[J::LArm.idx()] = Quat::about(super::super::quat::Axis::Z, -0.05 * i as f64);
            p.rot[J::RLeg.idx()] = Quat::about(super::super::quat::Axis::X, 0.03 * i as f64);
            poses.push(p);
        }
        let clip = Clip {
            name: "c".into(),
            fps: 30.0,
            poses,
        };
        let bvh = clip.to_bvh();
        let maps = builtin_rigs().unwrap();
        let r = retarget_auto(
            &bvh,
            &maps,
            "c.bvh",
            &RetargetOptions {
                no_ground: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.rig, "canonical");
        assert_eq!(r.unit, "m");
        assert!((r.leg_scale - 1.0).abs() < 1e-9);
        for (a, b) in clip.poses.iter().zip(&r.clip.poses) {
            assert!((a.root - b.root).length() < 1e-9);
            for (qa, qb) in a.rot.iter().zip(&b.rot) {
                assert!(qa.angle_to(*qb) < 1e-6);
            }
        }
    }
}
