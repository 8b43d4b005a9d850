//! Integration tests on the CMU motion data in `../shared/data/motion` (read only; every
//! test prints a note and passes when the folder is absent).

use phrasewise::choreo::Project;
use phrasewise::cli::choreo::{ChoreographArgs, run_choreograph};
use phrasewise::motion::beats::{BeatConfig, PhraseConfig, cut_phrases, dance_beats};
use phrasewise::motion::bvh::Bvh;
use phrasewise::motion::clip::{median, percentile, plausibility};
use phrasewise::motion::library::{BuildOptions, Library, build_library};
use phrasewise::motion::retarget::{
    RetargetOptions, Retargeted, builtin_rigs, detect_rig, retarget, retarget_auto,
};
use phrasewise::motion::skeleton::{CANONICAL, J};
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/motion");
    if d.is_dir() {
        Some(d)
    } else {
        println!("note: {} not found; skipping", d.display());
        None
    }
}

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/library")
}

fn bvh_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "bvh"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "phrasewise-motion-data-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Frame counts from the data set's index.csv (file → frames).
fn index_frames(dir: &Path) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(dir.join("index.csv")).expect("index.csv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            // the description may contain quoted commas: frames is the 7th field from a
            // split that respects quotes
            let mut fields = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            for ch in l.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                    _ => cur.push(ch),
                }
            }
            fields.push(cur);
            Some((fields[0].replace(".xz", ""), fields.get(6)?.parse().ok()?))
        })
        .collect()
}

#[test]
fn parses_every_cmu_bvh() {
    let Some(d) = data_dir() else { return };
    let mut bytes = 0u64;
    let mut secs = 0.0;
    for (set, joints, channels, fps) in [("cmu-salsa", 43, 132, 120.0), ("cmu-05", 100, 303, 60.0)]
    {
        let frames = index_frames(&d.join(set));
        let files = bvh_files(&d.join(set));
        assert_eq!(files.len(), frames.len(), "{set}");
        for f in files {
            let raw = std::fs::read(&f).expect("read");
            let t0 = std::time::Instant::now();
            let b = Bvh::parse(&raw, &f.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
            secs += t0.elapsed().as_secs_f64();
            bytes += raw.len() as u64;
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let expect = frames.iter().find(|(n, _)| *n == name).map(|x| x.1);
            assert_eq!(Some(b.frames), expect, "{name}");
            assert_eq!(b.joints.len(), joints, "{name}");
            assert_eq!(b.channel_count(), channels, "{name}");
            assert!((b.fps() - fps).abs() < 0.05, "{name}: {}", b.fps());
            assert!(b.data.iter().all(|v| v.is_finite()));
        }
    }
    println!(
        "parsed {:.1} MB in {:.2} s: {:.0} MB/s",
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs
    );
}

#[test]
fn round_trip_keeps_the_motion() {
    let Some(d) = data_dir() else { return };
    for f in ["cmu-salsa/60_01_scaled.bvh", "cmu-05/005_03.bvh"] {
        let a = Bvh::read(&d.join(f)).expect("read");
        let text = a.to_string_with(6);
        let b = Bvh::parse(text.as_bytes(), "rewritten.bvh").expect("reparse");
        assert_eq!(a.joints, b.joints, "{f}");
        assert_eq!(a.frames, b.frames);
        assert!((a.frame_time - b.frame_time).abs() < 1e-9);
        let max = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(max <= 5.0e-7, "{f}: max difference {max}");
        // and the world positions agree
        let (mut pa, mut ra, mut pb, mut rb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        a.world_pose(a.frames / 2, &mut pa, &mut ra);
        b.world_pose(b.frames / 2, &mut pb, &mut rb);
        for (x, y) in pa.iter().zip(&pb) {
            assert!((*x - *y).length() < 1e-4);
        }
    }
}

/// Writes `text` to `dir/name` and returns the parse error message.
fn parse_error(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    match Bvh::read(&p) {
        Ok(_) => panic!("{name} parsed"),
        Err(e) => {
            let s = e.to_string();
            assert!(s.starts_with(&p.display().to_string()), "no file name: {s}");
            println!("{name}: {s}");
            s
        }
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

#[test]
fn broken_files_give_clear_errors() {
    let Some(d) = data_dir() else { return };
    let good = std::fs::read_to_string(d.join("cmu-05/005_03.bvh")).expect("read");
    let tmp = tmp_dir("broken-bvh");
    let motion_line = line_of(&good, "MOTION");
    let lines: Vec<&str> = good.lines().collect();
    // truncated in the middle of a frame line
    let cut = good.len() * 6 / 10;
    let truncated = &good[..cut];
    let last_line = truncated.lines().count();
    let e = parse_error(&tmp, "truncated.bvh", truncated);
    assert!(
        e.contains(&format!(":{last_line}:")) && e.contains("truncated"),
        "{e}"
    );
    // a frame with a value missing
    let k = motion_line + 10;
    let mut v: Vec<String> = lines.iter().map(std::string::ToString::to_string).collect();
    let mut vals: Vec<&str> = lines[k - 1].split_whitespace().collect();
    vals.pop();
    v[k - 1] = vals.join(" ");
    let e = parse_error(&tmp, "short_frame.bvh", &(v.join("\n") + "\n"));
    assert!(
        e.contains(&format!(":{k}:")) && e.contains("302 values"),
        "{e}"
    );
    // wrong channel count in the hierarchy
    let ch = line_of(&good, "CHANNELS 3");
    let bad = good.replacen("CHANNELS 3", "CHANNELS 2", 1);
    let e = parse_error(&tmp, "channels.bvh", &bad);
    assert!(
        e.contains(&format!(":{ch}:")) && e.contains("more channel names than the 2"),
        "{e}"
    );
    // NaN in a frame
    let mut v: Vec<String> = lines.iter().map(std::string::ToString::to_string).collect();
    let k = motion_line + 20;
    v[k - 1] = v[k - 1].replacen(' ', " nan ", 1);
    let e = parse_error(&tmp, "nan.bvh", &(v.join("\n") + "\n"));
    assert!(e.contains(&format!(":{k}:")) && e.contains("`nan`"), "{e}");
    // a huge frame count is refused before anything is read for it
    let huge = good.replacen("Frames: 216", "Frames: 40000000", 1);
    let e = parse_error(&tmp, "huge.bvh", &huge);
    assert!(
        e.contains("claims 40000000 frames, more than the limit of 1000000"),
        "{e}"
    );
    let e = parse_error(
        &tmp,
        "absurd.bvh",
        &good.replacen("Frames: 216", "Frames: 9999999999", 1),
    );
    assert!(e.contains("limit"), "{e}");
    // no MOTION section
    let e = parse_error(&tmp, "no_motion.bvh", &lines[..motion_line - 1].join("\n"));
    assert!(e.contains("MOTION"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

fn angle_deg(a: phrasewise::motion::Vec3, b: phrasewise::motion::Vec3) -> f64 {
    let (Some(a), Some(b)) = (a.try_normalized(), b.try_normalized()) else {
        return 0.0;
    };
    a.dot(b).clamp(-1.0, 1.0).acos().to_degrees()
}

/// Checks one retargeted clip against its source: bone directions, feet on the floor,
/// standing height.
fn check_retarget(bvh: &Bvh, rt: &Retargeted, name: &str) {
    let maps = builtin_rigs().expect("rigs");
    let map = maps.iter().find(|m| m.name == rt.rig).expect("map");
    let src: Vec<Option<usize>> = CANONICAL
        .iter()
        .map(|c| {
            map.joints
                .get(c.name)
                .and_then(|s| s.as_deref())
                .and_then(|s| bvh.joint_index(s))
        })
        .collect();
    let (mut pos, mut rot) = (Vec::new(), Vec::new());
    let mut worst: f64 = 0.0;
    let step = (rt.clip.len() / 25).max(1);
    for f in (0..rt.clip.len()).step_by(step) {
        let w = rt.clip.poses[f].world();
        bvh.world_pose(f + 3, &mut pos, &mut rot);
        // limb and neck bones: each is its parent joint's tip, so its direction must match
        for (p, c) in [
            (J::LShoulder, J::LArm),
            (J::LArm, J::LForearm),
            (J::LForearm, J::LHand),
            (J::RShoulder, J::RArm),
            (J::RArm, J::RForearm),
            (J::RForearm, J::RHand),
            (J::LUpLeg, J::LLeg),
            (J::LLeg, J::LFoot),
            (J::RUpLeg, J::RLeg),
            (J::RLeg, J::RFoot),
            (J::Neck, J::Head),
        ] {
            let (p, c) = (p.idx(), c.idx());
            if let (Some(sp), Some(sc)) = (src[p], src[c]) {
                let a = angle_deg(pos[sc] - pos[sp], w.pos[c] - w.pos[p]);
                worst = worst.max(a);
            }
        }
        // canonical bone lengths are the canonical offsets
        for (c, joint) in CANONICAL.iter().enumerate() {
            if let Some(p) = joint.parent {
                let l = (w.pos[c] - w.pos[p]).length();
                assert!((l - joint.offset.length()).abs() < 1e-9);
            }
        }
    }
    assert!(
        worst < 3.0,
        "{name}: a bone is {worst:.2}° off its source direction"
    );
    let world = rt.clip.world();
    let mut low: Vec<f64> = world
        .iter()
        .map(|w| w.foot_height(true).min(w.foot_height(false)))
        .collect();
    let med = median(&mut low.clone());
    let p5 = percentile(&mut low.clone(), 5.0);
    let p1 = percentile(&mut low, 1.0);
    // supporting feet are on the floor: the lower foot sits at 0 in most frames (above it
    // while airborne in jumps), and the low tail is the source's own foot penetration
    assert!(
        (-0.01..0.04).contains(&med),
        "{name}: median lowest foot {med}"
    );
    assert!(p5 > -0.03, "{name}: 5th percentile lowest foot {p5}");
    assert!(p1 > -0.06, "{name}: 1st percentile lowest foot {p1}");
    let mut heights: Vec<f64> = world
        .iter()
        .map(|w| w.end_site(5).map_or(0.0, |h| h.y) - w.foot_height(true).min(w.foot_height(false)))
        .collect();
    let h = percentile(&mut heights, 90.0);
    assert!((1.45..1.85).contains(&h), "{name}: standing height {h}");
    println!(
        "{name}: rig {} unit {} leg scale {:.3}, worst bone {worst:.2}°, feet median {:.3} p1 {:.3}, height {:.2} m",
        rt.rig, rt.unit, rt.leg_scale, med, p1, h
    );
}

#[test]
fn retargets_both_rigs_with_sane_bones_and_grounded_feet() {
    let Some(d) = data_dir() else { return };
    let maps = builtin_rigs().expect("rigs");
    for (set, rig, unit, fps) in [
        ("cmu-salsa", "cmu-salsa-daz", "m", Some(60.0)),
        ("cmu-05", "cmu-05-ccbase", "cm", None),
    ] {
        for f in bvh_files(&d.join(set)).iter().step_by(3) {
            let name = f.display().to_string();
            let bvh = Bvh::read(f).expect("read");
            assert_eq!(detect_rig(&bvh, &maps).map(|m| m.name.as_str()), Some(rig));
            let rt = retarget_auto(
                &bvh,
                &maps,
                &name,
                &RetargetOptions {
                    fps,
                    start: 3,
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rt.unit, unit, "{name}");
            check_retarget(&bvh, &rt, &name);
        }
    }
}

#[test]
fn salsa_fps_override_gives_plausible_speeds() {
    let Some(d) = data_dir() else { return };
    let maps = builtin_rigs().expect("rigs");
    let f = d.join("cmu-salsa/60_01_scaled.bvh");
    let bvh = Bvh::read(&f).expect("read");
    let map = detect_rig(&bvh, &maps).expect("rig");
    let run = |fps: Option<f64>| {
        retarget(
            &bvh,
            map,
            "60_01",
            &RetargetOptions {
                fps,
                start: 3,
                ..Default::default()
            },
        )
        .expect("retarget")
    };
    let at60 = run(Some(60.0));
    let at120 = run(None);
    assert!((at120.clip.fps - 120.0).abs() < 0.05);
    let p60 = plausibility(&at60.clip);
    let p120 = plausibility(&at120.clip);
    println!("60 fps: {p60:?}\n120 fps: {p120:?}");
    assert!(p60.is_plausible() && p60.warnings.is_empty(), "{p60:?}");
    assert!(
        p60.root_speed_p95 < 2.0 && p60.foot_speed_p99 < 5.0,
        "{p60:?}"
    );
    // speeds double; the acceleration check is what catches the wrong header
    assert!((p120.root_speed_median / p60.root_speed_median - 2.0).abs() < 0.1);
    assert!(!p120.warnings.is_empty(), "{p120:?}");
    let b60 = dance_beats(&at60.clip, &BeatConfig::default());
    let b120 = dance_beats(&at120.clip, &BeatConfig::default());
    let rate60 = b60.times.len() as f64 / at60.clip.duration() * 60.0;
    let rate120 = b120.times.len() as f64 / at120.clip.duration() * 60.0;
    println!(
        "dance beats per minute: {rate60:.1} at 60 fps, {rate120:.1} at the header's 120 fps; \
         grid tempo {:.1} vs {:.1} BPM (the true rate at 120 fps is beyond the 180 BPM search range)",
        b60.grid_bpm, b120.grid_bpm
    );
    assert!(rate120 > 1.3 * rate60, "{rate60} {rate120}");
}

#[test]
fn salsa_phrases_have_a_plausible_tempo() {
    let Some(d) = data_dir() else { return };
    let maps = builtin_rigs().expect("rigs");
    let mut tempi = Vec::new();
    let mut phrases = 0;
    for f in bvh_files(&d.join("cmu-salsa")) {
        let bvh = Bvh::read(&f).expect("read");
        let rt = retarget_auto(
            &bvh,
            &maps,
            &f.display().to_string(),
            &RetargetOptions {
                fps: Some(60.0),
                start: 3,
                ..Default::default()
            },
        )
        .expect("retarget");
        let b = dance_beats(&rt.clip, &BeatConfig::default());
        let cuts = cut_phrases(&b.grid, &PhraseConfig::default());
        println!(
            "{}: {} dance beats, grid {:.1} BPM, {} phrases",
            rt.clip.name,
            b.times.len(),
            b.grid_bpm,
            cuts.len()
        );
        assert!(cuts.len() >= 2, "{}", rt.clip.name);
        assert!(cuts.iter().all(|c| (4..=16).contains(&c.beats)));
        tempi.push(b.grid_bpm);
        phrases += cuts.len();
    }
    let med = median(&mut tempi);
    println!(
        "salsa: median grid tempo {med:.1} BPM over {} clips, {phrases} phrases",
        tempi.len()
    );
    assert!((70.0..=150.0).contains(&med), "median tempo {med}");
    assert!(tempi.iter().all(|t| (55.0..=185.0).contains(t)));
}

#[test]
fn builds_and_loads_the_cmu_libraries() {
    let Some(d) = data_dir() else { return };
    let tmp = tmp_dir("cmu-library");
    for (set, overrides, clips) in [
        ("cmu-salsa", "cmu-salsa.json", 28),
        ("cmu-05", "cmu-05.json", 20),
    ] {
        let out = tmp.join(set);
        let report = build_library(
            &d.join(set),
            &out,
            &BuildOptions {
                overrides: Some(assets().join("overrides").join(overrides)),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let idx = &report.index;
        assert_eq!(idx.clips.len(), clips, "{:?}", idx.skipped);
        assert!(idx.skipped.is_empty());
        assert!(
            idx.phrases.len() >= clips,
            "{set}: {} phrases",
            idx.phrases.len()
        );
        let flagged: Vec<&str> = idx
            .clips
            .iter()
            .filter(|c| !c.plausibility.flags.is_empty())
            .map(|c| c.id.as_str())
            .collect();
        assert!(flagged.is_empty(), "{set}: {flagged:?}");
        let text = std::fs::read_to_string(out.join("index.json")).expect("index");
        assert!(text.contains("\"schema\": \"phrasewise-library/1\""));
        let lib = Library::load(&out).expect("load");
        let p = &lib.index.phrases[lib.index.phrases.len() / 2];
        let pc = lib.phrase_clip(&p.id, 0.3).expect("phrase clip");
        assert!(pc.clip.len() > p.end_frame - p.start_frame);
        // The folder drives a whole dance for the demo song: cold start (no model knows this
        // library yet), every slot one of its phrases, the BVH covering the song.
        let song = tmp.join("demo.wav");
        phrasewise::service::analyse::write_demo_song(&song).expect("demo song");
        let args = ChoreographArgs {
            project: Some(out.join("demo.phrasewise.json")),
            library: Some(out.clone()),
            no_cache: true,
            ..ChoreographArgs::new(&song, &out.join("dance.bvh")).unwrap()
        };
        let tl = run_choreograph(&args).unwrap_or_else(|e| panic!("{set}: {e:#}"));
        let project = Project::load(&out.join("demo.phrasewise.json")).expect("project");
        assert!(!project.model.starts_with("network:"), "{}", project.model);
        let want = (project.analysis.duration * 30.0 + 1e-9).floor() as usize + 1;
        assert_eq!(tl.frames, want, "{set}");
        assert!(project.slots.iter().all(|s| {
            s.decision
                .chosen
                .as_deref()
                .is_some_and(|id| lib.phrase(id).is_some())
        }));
        if set == "cmu-salsa" {
            assert!(
                idx.clips
                    .iter()
                    .all(|c| c.fps == 60.0 && (c.header_fps - 120.0).abs() < 0.01)
            );
            assert!(idx.phrases.iter().all(|p| p.style == "salsa"));
        }
        println!(
            "{set}: {} clips, {} phrases, median phrase {:.2} s, {:.1} MB parsed at {:.0} MB/s",
            idx.clips.len(),
            idx.phrases.len(),
            idx.median_phrase_seconds(),
            report.bytes_read as f64 / 1e6,
            report.bytes_read as f64 / 1e6 / report.parse_seconds.max(1e-9)
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Throughput on a ~50 MB file made by repeating a salsa clip's frames (prints only).
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bvh_parse_throughput_50mb() {
    let Some(d) = data_dir() else { return };
    let text = std::fs::read_to_string(d.join("cmu-salsa/60_01_scaled.bvh")).expect("read");
    let Some(m) = text.find("MOTION") else { return };
    let header = &text[..m];
    let frames: Vec<&str> = text[m..].lines().skip(3).collect();
    let mut body = String::with_capacity(52_000_000);
    let mut n = 0;
    while body.len() < 50_000_000 {
        body.push_str(frames[n % frames.len()]);
        body.push('\n');
        n += 1;
    }
    let file = format!("{header}MOTION\nFrames: {n}\nFrame Time: 0.016667\n{body}");
    let tmp = tmp_dir("throughput");
    let p = tmp.join("big.bvh");
    std::fs::write(&p, &file).expect("write");
    let t0 = std::time::Instant::now();
    let b = Bvh::read(&p).expect("parse");
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(b.frames, n);
    println!(
        "BVH read+parse: {:.1} MB, {n} frames in {dt:.3} s = {:.0} MB/s",
        file.len() as f64 / 1e6,
        file.len() as f64 / 1e6 / dt
    );
    let t0 = std::time::Instant::now();
    let _ = Bvh::parse(file.as_bytes(), "mem").expect("parse");
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "BVH parse from memory: {:.0} MB/s",
        file.len() as f64 / 1e6 / dt
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
