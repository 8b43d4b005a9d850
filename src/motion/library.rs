//! The phrase library: per-clip metadata overrides, building the index from a folder of BVH
//! files, and loading it (from disk or embedded in the binary). The index types live in
//! [`super::index`] and are re-exported here.
//!
//! A built library folder holds `index.json` (schema `phrasewise-library/1`) and `clips/`
//! with every source clip retargeted onto the canonical skeleton (so loading never needs
//! rig maps). Each phrase records its clip, frame range, dance-beat times, tempo (BPM from
//! the median inter-beat interval), style and motion features for a cold-start ranker.
//!
//! **Overrides** (`BVH_DIR/overrides.json`, or a file given explicitly), schema
//! `phrasewise-overrides/1`. Every field is optional; `clips` entries (keyed by file name)
//! override `defaults`, and their `tags` are added to the default tags:
//!
//! ```json
//! { "schema": "phrasewise-overrides/1",
//!   "defaults": { "fps": 60, "start_frame": 3, "style": "salsa", "tags": ["partner"] },
//!   "clips": {
//!     "60_06_scaled.bvh": { "end_frame": 1700, "tags": ["head-wrong"] },
//!     "61_10_scaled.bvh": { "exclude": true },
//!     "odd.bvh": { "rig": "cmu-05-ccbase", "style": "ballet" } } }
//! ```
//!
//! `fps` replaces the header's frame rate (the CMU salsa headers claim 120, the truth is 60),
//! `start_frame`/`end_frame` trim source frames (end exclusive), `style` and `tags` label the
//! phrases, `rig` forces a rig map by name, `exclude` skips the file.

use super::MotionError;
use super::beats::{BeatConfig, PhraseConfig, dance_beats};
use super::bvh::Bvh;
use super::clip::{Clip, Plausibility, plausibility};
use super::embedded::{EMBEDDED_CLIPS, EMBEDDED_INDEX};
pub use super::index::{
    ClipEntry, LIBRARY_SCHEMA, LibraryIndex, PhraseEntry, SKELETON_NAME, Skipped, phrases_for_clip,
    r6, round_plaus,
};
pub use super::phrase::PhraseClip;
use super::retarget::{
    RetargetOptions, Retargeted, RigMap, builtin_rigs, detect_rig, load_rig_dir, retarget,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Schema tag of override files.
pub const OVERRIDES_SCHEMA: &str = "phrasewise-overrides/1";

/// Per-clip metadata corrections; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipOverride {
    /// True frame rate (replaces the header's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// First source frame to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_frame: Option<usize>,
    /// One past the last source frame to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_frame: Option<usize>,
    /// Style tag of the clip's phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Extra tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Rig map to use (by name) instead of detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig: Option<String>,
    /// Skip this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl ClipOverride {
    /// `self` over `base`: set fields win, tags are concatenated (base first, no duplicates).
    pub fn over(&self, base: &ClipOverride) -> ClipOverride {
        let mut tags = base.tags.clone();
        for t in &self.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        ClipOverride {
            fps: self.fps.or(base.fps),
            start_frame: self.start_frame.or(base.start_frame),
            end_frame: self.end_frame.or(base.end_frame),
            style: self.style.clone().or_else(|| base.style.clone()),
            tags,
            rig: self.rig.clone().or_else(|| base.rig.clone()),
            exclude: self.exclude.or(base.exclude),
        }
    }
}

/// An overrides file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Must be [`OVERRIDES_SCHEMA`].
    pub schema: String,
    /// Applied to every clip.
    #[serde(default)]
    pub defaults: ClipOverride,
    /// Per file name.
    #[serde(default)]
    pub clips: BTreeMap<String, ClipOverride>,
}

impl Overrides {
    /// Parses and validates; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Overrides, MotionError> {
        let o: Overrides = serde_json::from_str(text).map_err(|e| MotionError::json(file, e))?;
        if o.schema != OVERRIDES_SCHEMA {
            return Err(MotionError::invalid(
                file,
                format!("schema is `{}`, expected `{OVERRIDES_SCHEMA}`", o.schema),
            ));
        }
        for (name, c) in std::iter::once(("defaults", &o.defaults))
            .chain(o.clips.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if let Some(f) = c.fps
                && !(f.is_finite() && f > 0.0 && f <= 1000.0)
            {
                return Err(MotionError::invalid(
                    file,
                    format!("{name}: fps {f} out of range"),
                ));
            }
            if let (Some(a), Some(b)) = (c.start_frame, c.end_frame)
                && a >= b
            {
                return Err(MotionError::invalid(
                    file,
                    format!("{name}: start_frame {a} is not before end_frame {b}"),
                ));
            }
        }
        Ok(o)
    }

    /// Reads an overrides file.
    pub fn read(path: &Path) -> Result<Overrides, MotionError> {
        let text = crate::limits::read_text(path, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| MotionError::io(path, e))?;
        Overrides::from_json(&text, &path.display().to_string())
    }

    /// The effective override for a file name.
    pub fn for_file(&self, name: &str) -> ClipOverride {
        match self.clips.get(name) {
            Some(c) => c.over(&self.defaults),
            None => self.defaults.clone(),
        }
    }
}

/// Options of [`build_library`].
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Overrides file (default: `BVH_DIR/overrides.json` if present).
    pub overrides: Option<PathBuf>,
    /// Extra rig-map files or folders (tried before `BVH_DIR/rigs/` and the built-ins).
    pub rigs: Vec<PathBuf>,
    /// Library name (default: the BVH folder's name).
    pub name: Option<String>,
    /// Dance-beat parameters.
    pub beats: BeatConfig,
    /// Phrase-cutting parameters.
    pub phrases: PhraseConfig,
    /// Stop at the first bad file instead of recording it in `skipped`.
    pub strict: bool,
}

/// All rig maps for a build: explicit ones, `BVH_DIR/rigs/*.json`, then the built-ins.
pub fn gather_rigs(bvh_dir: &Path, extra: &[PathBuf]) -> Result<Vec<RigMap>, MotionError> {
    let mut maps = Vec::new();
    for p in extra {
        if p.is_dir() {
            maps.extend(load_rig_dir(p)?);
        } else {
            maps.push(RigMap::read(p)?);
        }
    }
    let local = bvh_dir.join("rigs");
    if local.is_dir() {
        maps.extend(load_rig_dir(&local)?);
    }
    maps.extend(builtin_rigs()?);
    Ok(maps)
}

/// One clip processed for the library.
#[derive(Clone, Debug)]
pub struct ProcessedClip {
    /// Index entry.
    pub entry: ClipEntry,
    /// The canonical clip.
    pub clip: Clip,
    /// Its phrases.
    pub phrases: Vec<PhraseEntry>,
}

/// Retargets, checks, beat-tracks and phrases one BVH file (`name` = file name for
/// overrides and ids).
pub fn process_bvh(
    bvh: &Bvh,
    name: &str,
    over: &ClipOverride,
    maps: &[RigMap],
    opts: &BuildOptions,
) -> Result<ProcessedClip, MotionError> {
    let map = match &over.rig {
        Some(r) => maps.iter().find(|m| &m.name == r).ok_or_else(|| {
            MotionError::invalid(name, format!("override names unknown rig map `{r}`"))
        })?,
        None => detect_rig(bvh, maps).ok_or_else(|| {
            MotionError::invalid(name, "no rig map matches this skeleton; add a rig-map JSON")
        })?,
    };
    let start = over.start_frame.unwrap_or(0);
    if start >= bvh.frames {
        return Err(MotionError::invalid(
            name,
            format!("start_frame {start} but the file has {} frames", bvh.frames),
        ));
    }
    let rt = retarget(
        bvh,
        map,
        name,
        &RetargetOptions {
            fps: over.fps,
            start,
            end: over.end_frame,
            no_ground: false,
        },
    )?;
    let id = super::clip::file_stem(name);
    let file = format!("clips/{id}.bvh");
    let plaus = round_plaus(plausibility(&rt.clip));
    let flagged = !plaus.is_plausible();
    let ba = dance_beats(&rt.clip, &opts.beats);
    let style = over.style.clone().unwrap_or_else(|| "unknown".to_string());
    let mut tags = over.tags.clone();
    if flagged && !tags.iter().any(|t| t == "implausible") {
        tags.push("implausible".into());
    }
    if !plaus.warnings.is_empty() && !tags.iter().any(|t| t == "suspect") {
        tags.push("suspect".into());
    }
    let phrases = phrases_for_clip(
        &id,
        &file,
        &rt.clip,
        &ba.grid,
        &style,
        &tags,
        flagged,
        &opts.phrases,
    );
    let end = over.end_frame.unwrap_or(bvh.frames).min(bvh.frames);
    let entry = ClipEntry {
        style,
        tags,
        grid_bpm: r6(ba.grid_bpm),
        dance_beats: ba.times.len(),
        ..clip_entry(&rt, id, file, name.to_string(), [start, end], plaus)
    };
    Ok(ProcessedClip {
        entry,
        clip: rt.clip,
        phrases,
    })
}

/// The index entry of a retargeted clip: what the retargeting found (rig, unit, scales and
/// frame rates, rounded as the index stores them), with style "unknown", no tags and no dance
/// beats, for the caller to fill in.
pub fn clip_entry(
    rt: &Retargeted,
    id: String,
    file: String,
    source: String,
    source_frames: [usize; 2],
    plausibility: Plausibility,
) -> ClipEntry {
    ClipEntry {
        id,
        file,
        source,
        rig: rt.rig.clone(),
        unit: rt.unit.clone(),
        unit_scale: rt.unit_scale,
        leg_scale: r6(rt.leg_scale),
        header_fps: r6(rt.header_fps),
        fps: rt.clip.fps,
        source_frames,
        frames: rt.clip.len(),
        style: "unknown".into(),
        tags: Vec::new(),
        grid_bpm: 0.0,
        dance_beats: 0,
        plausibility,
    }
}

/// Summary of a build.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// The index written.
    pub index: LibraryIndex,
    /// Bytes of BVH read.
    pub bytes_read: u64,
    /// Seconds spent parsing BVH.
    pub parse_seconds: f64,
}

/// Builds a library from every `*.bvh` in `bvh_dir` (sorted by name) into `out_dir`:
/// `out_dir/clips/*.bvh` (canonical skeleton, 5 decimals) and `out_dir/index.json`. The
/// folder is replaced in one step ([`crate::files::replace_dir`]): a library open elsewhere,
/// or a build killed half-way, leaves the previous library whole.
pub fn build_library(
    bvh_dir: &Path,
    out_dir: &Path,
    opts: &BuildOptions,
) -> Result<BuildReport, MotionError> {
    let mut report = None;
    replace_dir(out_dir, |tmp| {
        report = Some(build_into(bvh_dir, tmp, opts)?);
        Ok(())
    })?;
    report.ok_or_else(|| MotionError::io(out_dir, std::io::Error::other("nothing was built")))
}

/// [`crate::files::replace_dir`] with this layer's errors.
pub(crate) fn replace_dir(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), MotionError>,
) -> Result<(), MotionError> {
    crate::files::replace_dir(dir, fill).map_err(|e| match e {
        crate::files::ReplaceError::File(f) => {
            let (path, source) = f.into_io();
            MotionError::io(&path, source)
        }
        crate::files::ReplaceError::Fill(e) => e,
    })
}

/// [`build_library`]'s work, written into the fresh folder `out_dir`.
fn build_into(
    bvh_dir: &Path,
    out_dir: &Path,
    opts: &BuildOptions,
) -> Result<BuildReport, MotionError> {
    let overrides = build_overrides(bvh_dir, opts)?;
    let maps = gather_rigs(bvh_dir, &opts.rigs)?;
    let files = bvh_files(bvh_dir)?;
    let clips_dir = out_dir.join("clips");
    std::fs::create_dir_all(&clips_dir).map_err(|e| MotionError::io(&clips_dir, e))?;
    let mut index = LibraryIndex {
        schema: LIBRARY_SCHEMA.into(),
        name: opts.name.clone().unwrap_or_else(|| {
            bvh_dir
                .file_name()
                .map_or_else(|| "library".into(), |n| n.to_string_lossy().into_owned())
        }),
        skeleton: SKELETON_NAME.into(),
        generator: format!("phrasewise {}", env!("CARGO_PKG_VERSION")),
        clips: Vec::new(),
        phrases: Vec::new(),
        skipped: Vec::new(),
    };
    let mut bytes_read = 0u64;
    let mut parse_seconds = 0.0;
    for path in files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let over = overrides.for_file(&name);
        if over.exclude == Some(true) {
            index.skipped.push(Skipped {
                file: name,
                reason: "excluded by overrides".into(),
            });
            continue;
        }
        let result = (|| {
            let bytes = crate::limits::read_file(&path, crate::limits::MAX_FILE_BYTES)
                .map_err(|e| MotionError::io(&path, e))?;
            let t0 = std::time::Instant::now();
            let bvh = Bvh::parse(&bytes, &path.display().to_string())?;
            parse_seconds += t0.elapsed().as_secs_f64();
            bytes_read += bytes.len() as u64;
            let pc = process_bvh(&bvh, &name, &over, &maps, opts)?;
            let out = out_dir.join(&pc.entry.file);
            std::fs::write(&out, pc.clip.to_bvh().to_string_with(5))
                .map_err(|e| MotionError::io(&out, e))?;
            Ok::<_, MotionError>(pc)
        })();
        match result {
            Ok(pc) => {
                tracing::info!(file = %name, phrases = pc.phrases.len(), "clip added");
                index.clips.push(pc.entry);
                index.phrases.extend(pc.phrases);
            }
            Err(e) if !opts.strict => {
                tracing::warn!(file = %name, error = %e, "clip skipped");
                index.skipped.push(Skipped {
                    file: name,
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    let idx_path = out_dir.join("index.json");
    std::fs::write(&idx_path, index.to_json()).map_err(|e| MotionError::io(&idx_path, e))?;
    Ok(BuildReport {
        index,
        bytes_read,
        parse_seconds,
    })
}

/// The overrides of a build: the explicit file, else `BVH_DIR/overrides.json` if present,
/// else none.
fn build_overrides(bvh_dir: &Path, opts: &BuildOptions) -> Result<Overrides, MotionError> {
    Ok(match &opts.overrides {
        Some(p) => Overrides::read(p)?,
        None => {
            let p = bvh_dir.join("overrides.json");
            if p.is_file() {
                Overrides::read(&p)?
            } else {
                Overrides {
                    schema: OVERRIDES_SCHEMA.into(),
                    ..Default::default()
                }
            }
        }
    })
}

/// The `*.bvh` files (any case) directly in `bvh_dir`, sorted.
fn bvh_files(bvh_dir: &Path) -> Result<Vec<PathBuf>, MotionError> {
    crate::confine::files_under(bvh_dir, false, |p| {
        p.extension().is_some_and(|x| x.eq_ignore_ascii_case("bvh"))
    })
    .map_err(|(p, e)| MotionError::io(&p, e))
}

/// Where a library's clip files live.
#[derive(Clone, Debug)]
pub enum LibrarySource {
    /// A folder on disk.
    Dir(PathBuf),
    /// Files compiled into the binary: (relative path, contents).
    Embedded(&'static [(&'static str, &'static str)]),
}

/// A loaded library: the index plus access to its clips.
#[derive(Clone, Debug)]
pub struct Library {
    /// The index.
    pub index: LibraryIndex,
    /// Where clips are read from.
    pub source: LibrarySource,
    /// Clips parsed so far, shared by the clones of this library.
    cache: ClipCache,
}

/// Parsed clips keyed by where they come from (source, file, its size and modification
/// time, clip id, frame rate): the editor re-blends the dance after every edit, and parsing
/// each slot's BVH again cost ≈ 1 ms a slot (44 ms an edit on a 4-minute song). Bounded:
/// cleared when it would hold more than [`ClipCache::MAX_CLIPS`] clips or
/// [`ClipCache::MAX_FRAMES`] frames.
#[derive(Clone, Default)]
struct ClipCache(Arc<Mutex<CacheMap>>);

#[derive(Default)]
struct CacheMap {
    clips: HashMap<ClipKey, Arc<Clip>>,
    frames: usize,
}

/// See [`ClipCache`].
type ClipKey = (String, String, u64);

impl std::fmt::Debug for ClipCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.clips.len());
        write!(f, "ClipCache({n} clips)")
    }
}

impl ClipCache {
    const MAX_CLIPS: usize = 256;
    const MAX_FRAMES: usize = 300_000;

    fn get_or_load(
        &self,
        key: ClipKey,
        load: impl FnOnce() -> Result<Clip, MotionError>,
    ) -> Result<Arc<Clip>, MotionError> {
        // A poisoned lock only means another thread panicked while holding it; the map is
        // still a valid cache.
        if let Some(c) = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clips
            .get(&key)
        {
            return Ok(c.clone());
        }
        let clip = Arc::new(load()?);
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.clips.len() >= Self::MAX_CLIPS || map.frames + clip.len() > Self::MAX_FRAMES {
            map.clips.clear();
            map.frames = 0;
        }
        map.frames += clip.len();
        if let Some(old) = map.clips.insert(key, clip.clone()) {
            map.frames -= old.len();
        }
        Ok(clip)
    }
}

impl Library {
    /// A library over `index` reading its clips from `source`, with a left↔right mirrored
    /// variant of every phrase added ([`super::mirror::add_mirrored_variants`]; the index
    /// file on disk lists only the originals).
    pub fn new(mut index: LibraryIndex, source: LibrarySource) -> Library {
        super::mirror::add_mirrored_variants(&mut index);
        Library {
            index,
            source,
            cache: ClipCache::default(),
        }
    }

    /// Loads `dir/index.json`.
    pub fn load(dir: &Path) -> Result<Library, MotionError> {
        let p = dir.join("index.json");
        let text = crate::limits::read_text(&p, crate::limits::MAX_FILE_BYTES)
            .map_err(|e| MotionError::io(&p, e))?;
        Ok(Library::new(
            LibraryIndex::from_json(&text, &p.display().to_string())?,
            LibrarySource::Dir(dir.to_path_buf()),
        ))
    }

    /// The starter library from the copy compiled into the binary (no files needed).
    pub fn starter() -> Result<Library, MotionError> {
        Ok(Library::new(
            LibraryIndex::from_json(EMBEDDED_INDEX, "<embedded>/starter/index.json")?,
            LibrarySource::Embedded(EMBEDDED_CLIPS),
        ))
    }

    /// The phrase with this id.
    pub fn phrase(&self, id: &str) -> Option<&PhraseEntry> {
        self.index.phrases.iter().find(|p| p.id == id)
    }

    /// The clip entry with this id.
    pub fn clip_entry(&self, id: &str) -> Option<&ClipEntry> {
        self.index.clips.iter().find(|c| c.id == id)
    }

    /// Loads a whole clip (canonical BVH) by clip id, at the index's frame rate.
    pub fn load_clip(&self, clip_id: &str) -> Result<Clip, MotionError> {
        let entry = self
            .clip_entry(clip_id)
            .ok_or_else(|| MotionError::invalid("library", format!("no clip `{clip_id}`")))?;
        let (bytes, label): (Vec<u8>, String) = match &self.source {
            LibrarySource::Dir(d) => {
                let p = d.join(&entry.file);
                (
                    crate::limits::read_file(&p, crate::limits::MAX_FILE_BYTES)
                        .map_err(|e| MotionError::io(&p, e))?,
                    p.display().to_string(),
                )
            }
            LibrarySource::Embedded(files) => {
                let Some((_, text)) = files.iter().find(|(n, _)| *n == entry.file) else {
                    return Err(MotionError::invalid(
                        format!("<embedded>/{}", entry.file),
                        "file missing from the embedded library",
                    ));
                };
                (
                    text.as_bytes().to_vec(),
                    format!("<embedded>/{}", entry.file),
                )
            }
        };
        let bvh = Bvh::parse(&bytes, &label)?;
        let mut clip = Clip::from_canonical_bvh(&bvh, &label, Some(entry.fps))?;
        clip.name = entry.id.clone();
        Ok(clip)
    }

    /// Loads a phrase with up to `margin_s` seconds of its clip on either side (for
    /// crossfades and time-warp extrapolation).
    pub fn phrase_clip(&self, id: &str, margin_s: f64) -> Result<PhraseClip, MotionError> {
        let p = self
            .phrase(id)
            .ok_or_else(|| MotionError::invalid("library", format!("no phrase `{id}`")))?;
        let clip = self.clip_shared(&p.clip)?;
        let mut cut = PhraseClip::from_clip(&clip, p, margin_s);
        if p.mirror_of.is_some() {
            cut.clip = super::mirror::mirror_clip(&cut.clip);
        }
        Ok(cut)
    }

    /// [`Library::load_clip`] through the library's clip cache.
    pub fn clip_shared(&self, clip_id: &str) -> Result<Arc<Clip>, MotionError> {
        let entry = self
            .clip_entry(clip_id)
            .ok_or_else(|| MotionError::invalid("library", format!("no clip `{clip_id}`")))?;
        // Where the bytes come from: a folder's file with its size and modification time (a
        // rebuilt library is read again), or the copy compiled into the binary.
        let origin = match &self.source {
            LibrarySource::Dir(d) => {
                let p = d.join(&entry.file);
                let stamp = std::fs::metadata(&p)
                    .map(|m| (m.len(), m.modified().ok()))
                    .map_err(|e| MotionError::io(&p, e))?;
                format!("{}|{stamp:?}", p.display())
            }
            LibrarySource::Embedded(_) => format!("<embedded>/{}", entry.file),
        };
        let key = (origin, clip_id.to_string(), entry.fps.to_bits());
        self.cache.get_or_load(key, || self.load_clip(clip_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_and_validate() {
        let o = Overrides::from_json(
            r#"{"schema":"phrasewise-overrides/1",
                "defaults":{"fps":60,"start_frame":3,"style":"salsa","tags":["partner"]},
                "clips":{"a.bvh":{"end_frame":100,"tags":["dip"]},"b.bvh":{"exclude":true,"style":"x"}}}"#,
            "o.json",
        )
        .unwrap();
        let a = o.for_file("a.bvh");
        assert_eq!(a.fps, Some(60.0));
        assert_eq!(a.start_frame, Some(3));
        assert_eq!(a.end_frame, Some(100));
        assert_eq!(a.tags, vec!["partner".to_string(), "dip".to_string()]);
        assert_eq!(o.for_file("b.bvh").exclude, Some(true));
        assert_eq!(o.for_file("b.bvh").style.as_deref(), Some("x"));
        assert_eq!(o.for_file("zzz.bvh").style.as_deref(), Some("salsa"));
        let e = Overrides::from_json(
            r#"{"schema":"phrasewise-overrides/1","defaults":{"fsp":60}}"#,
            "typo.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("typo.json:") && e.contains("fsp"), "{e}");
        let e = Overrides::from_json(
            r#"{"schema":"phrasewise-overrides/1","clips":{"a.bvh":{"start_frame":9,"end_frame":3}}}"#,
            "range.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("a.bvh: start_frame 9"), "{e}");
    }

    /// A crafted index whose clip file is absolute or climbs out with `..` is refused on
    /// load, naming the index and the entry.
    #[test]
    fn a_library_index_cannot_point_outside_its_folder() {
        let dir = std::env::temp_dir().join(format!("pw-lib-confine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let starter = Library::starter().unwrap().index;
        for bad in ["/etc/passwd", "../outside.bvh", "clips/../../x.bvh"] {
            let mut idx = starter.clone();
            idx.clips[0].file = bad.to_string();
            std::fs::write(dir.join("index.json"), idx.to_json()).unwrap();
            let e = Library::load(&dir).unwrap_err().to_string();
            assert!(e.contains("index.json") && e.contains(bad), "{e}");
            assert!(e.contains(&format!("clip `{}`", idx.clips[0].id)), "{e}");
        }
        std::fs::write(dir.join("index.json"), starter.to_json()).unwrap();
        assert!(
            Library::load(&dir).is_ok(),
            "the starter's own index is inside"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Clips come from the cache after the first load, shared by clones, equal to a fresh
    /// parse; an unknown clip is still an error naming it.
    #[test]
    fn clip_cache_is_shared_and_equals_a_fresh_load() {
        let lib = Library::starter().unwrap();
        let clone = lib.clone();
        let p = lib.index.phrases[0].clone();
        let a = lib.clip_shared(&p.clip).unwrap();
        let b = clone.clip_shared(&p.clip).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "a clone shares the cache");
        assert_eq!(*a, lib.load_clip(&p.clip).unwrap());
        let cut = lib.phrase_clip(&p.id, 0.5).unwrap();
        assert_eq!(
            cut,
            PhraseClip::from_clip(&lib.load_clip(&p.clip).unwrap(), &p, 0.5)
        );
        let err = lib.clip_shared("no-such-clip").unwrap_err().to_string();
        assert!(err.contains("no-such-clip"), "{err}");
    }

    /// A folder library's cache notices a rewritten clip file (size / modification time in
    /// the key) and reads it again.
    #[test]
    fn clip_cache_rereads_a_rewritten_file() {
        let starter = Library::starter().unwrap();
        let LibrarySource::Embedded(files) = starter.source.clone() else {
            panic!("the starter library is embedded")
        };
        let dir = std::env::temp_dir().join(format!("pw-clip-cache-{}", std::process::id()));
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        std::fs::write(
            dir.join("index.json"),
            serde_json::to_string(&starter.index).unwrap(),
        )
        .unwrap();
        let lib = Library::load(&dir).unwrap();
        let c0 = lib.index.clips[0].clone();
        let other = lib
            .index
            .clips
            .iter()
            .find(|c| {
                let len = |c: &ClipEntry| std::fs::metadata(dir.join(&c.file)).unwrap().len();
                len(c) != len(&c0)
            })
            .unwrap()
            .clone();
        let a = lib.clip_shared(&c0.id).unwrap();
        assert!(Arc::ptr_eq(&a, &lib.clip_shared(&c0.id).unwrap()));
        std::fs::copy(dir.join(&other.file), dir.join(&c0.file)).unwrap();
        let b = lib.clip_shared(&c0.id).unwrap();
        assert!(!Arc::ptr_eq(&a, &b), "the rewritten file is read again");
        assert_eq!(b.len(), lib.load_clip(&other.id).unwrap().len());
        assert!(format!("{lib:?}").contains("ClipCache("));
        std::fs::remove_dir_all(&dir).ok();
    }
}
