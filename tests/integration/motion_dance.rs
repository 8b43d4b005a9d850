//! Integration tests of the dance side: the starter library (generator, committed files,
//! embedded copy), beat detection on it, blending and time-warping, export, metrics, and
//! user rig maps. Needs no external data.

use phrasewise::cli::motion::RenderArgs;
use phrasewise::export::{ExportOptions, SlotSpec, choreograph, export_bvh_timeline};
use phrasewise::motion::beats::{BeatConfig, dance_beats};
use phrasewise::motion::bvh::Bvh;
use phrasewise::motion::clip::{Clip, is_canonical};
use phrasewise::motion::library::{BuildOptions, Library, LibraryIndex, build_library};
use phrasewise::motion::metrics::{
    BAS_SIGMA_S, beat_align_score, foot_skating_ratio, step_percentile, transitions,
};
use phrasewise::motion::starter::{EMBEDDED_CLIPS, MOVES, generate_starter};
use std::path::{Path, PathBuf};

fn starter_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/library/starter")
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "phrasewise-motion-dance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn committed_starter_files_match_the_generator() {
    let generated = generate_starter();
    let dir = starter_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.join("clips"))
        .expect("clips dir")
        .filter_map(|e| {
            e.ok()
                .map(|e| format!("clips/{}", e.file_name().to_string_lossy()))
        })
        .collect();
    on_disk.push("index.json".into());
    on_disk.sort();
    let mut names: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        names, on_disk,
        "regenerate with `phrasewise library starter -o assets/library/starter`"
    );
    for (rel, text) in &generated {
        let committed = std::fs::read_to_string(dir.join(rel)).expect("read");
        if rel == "index.json" {
            let a = LibraryIndex::from_json(text, "generated").expect("generated index");
            let b = LibraryIndex::from_json(&committed, rel).expect("committed index");
            assert_eq!(a.phrases.len(), b.phrases.len());
            for (p, q) in a.phrases.iter().zip(&b.phrases) {
                assert_eq!(
                    (&p.id, p.start_frame, p.end_frame),
                    (&q.id, q.start_frame, q.end_frame)
                );
                assert_eq!(p.beat_times, q.beat_times);
                assert_eq!(p.kinematic_beats, q.kinematic_beats, "{}", p.id);
                assert!(
                    (p.features.energy - q.features.energy).abs() < 1e-4,
                    "{}",
                    p.id
                );
            }
            continue;
        }
        let a = Bvh::parse(text.as_bytes(), "generated").expect("generated bvh");
        let b = Bvh::parse(committed.as_bytes(), rel).expect("committed bvh");
        assert_eq!(a.joints, b.joints, "{rel}");
        assert_eq!(a.frames, b.frames, "{rel}");
        let worst = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1.5e-3, "{rel} differs by {worst}");
    }
}

#[test]
fn embedded_starter_library_loads_without_files() {
    let lib = Library::starter().expect("embedded starter");
    assert_eq!(EMBEDDED_CLIPS.len(), MOVES.len());
    // two phrases per move, each with its mirrored variant
    assert_eq!(lib.index.phrases.len(), 4 * MOVES.len());
    let mut styles: Vec<&str> = lib.index.phrases.iter().map(|p| p.style.as_str()).collect();
    styles.sort_unstable();
    styles.dedup();
    assert!(styles.len() >= 6, "{styles:?}");
    for p in &lib.index.phrases {
        let triple = p.beats_per_bar == Some(3);
        let lengths: &[usize] = if triple { &[6, 12] } else { &[4, 8, 16] };
        assert!(lengths.contains(&p.beats), "{}: {} beats", p.id, p.beats);
        let [lo, hi] = p.tempo_range.expect("tempo range");
        assert!(lo < p.tempo_bpm && p.tempo_bpm < hi, "{}", p.id);
        assert!(!p.flagged, "{}", p.id);
        assert!(
            (80.0..=185.0).contains(&p.tempo_bpm),
            "{}: {}",
            p.id,
            p.tempo_bpm
        );
    }
    for (name, _) in EMBEDDED_CLIPS {
        assert!(
            starter_dir().join(name).is_file(),
            "{name} embedded but not committed"
        );
    }
    let pc = lib.phrase_clip("hype_kicks/001", 0.5).expect("phrase");
    assert!(pc.clip.len() > 100 && pc.offset > 0.4);
    // the mirrored variant is the same frames seen in a mirror
    let m = lib
        .phrase_clip("hype_kicks/001~mirror", 0.5)
        .expect("mirrored phrase");
    assert_eq!(m.clip.len(), pc.clip.len());
    let (a, b) = (pc.clip.poses[40].world(), m.clip.poses[40].world());
    let (l, r) = (
        phrasewise::motion::skeleton::J::LHand.idx(),
        phrasewise::motion::skeleton::J::RHand.idx(),
    );
    assert!((a.pos[l].x + b.pos[r].x).abs() < 1e-6 && (a.pos[l].y - b.pos[r].y).abs() < 1e-6);
    // hype phrases are more energetic than chill ones
    let mean = |style: &str| {
        let v: Vec<f64> = lib
            .index
            .phrases
            .iter()
            .filter(|p| p.style == style)
            .map(|p| p.features.energy)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean("hype") > 2.0 * mean("chill"),
        "{} vs {}",
        mean("hype"),
        mean("chill")
    );
}

#[test]
fn starter_moves_have_velocity_minima_on_their_beats() {
    let lib = Library::starter().expect("starter");
    let mut good = 0;
    for spec in &MOVES {
        let name = spec.name();
        let clip = lib.load_clip(&name).expect("clip");
        let b = dance_beats(&clip, &BeatConfig::default());
        let beats = phrasewise::motion::starter::move_beats(spec);
        let truth: Vec<f64> = (0..=beats)
            .map(|k| f64::from(spec.period_frames) * (k + 1) as f64 / 30.0)
            .collect();
        let bas = beat_align_score(&b.times, &truth, BAS_SIGMA_S);
        let skate = foot_skating_ratio(&clip);
        println!(
            "{:28} {:5.1} BPM: {} dance beats, grid {:5.1} BPM, BAS {bas:.2}, skating {skate:.3}",
            name,
            spec.bpm(),
            b.times.len(),
            b.grid_bpm
        );
        if bas > 0.9 {
            good += 1;
        }
        assert!(bas > 0.5, "{name}");
        assert!(skate < 0.1, "{name}: skating {skate}");
    }
    assert!(
        good >= MOVES.len() * 4 / 5,
        "only {good} moves with BAS > 0.9"
    );
}

fn grid(start: f64, bpm: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| start + i as f64 * 60.0 / bpm).collect()
}

/// Four 8-beat slots at `bpm` from four styles.
fn plan(bpm: f64, phrases: &[&str]) -> Vec<SlotSpec> {
    let period = 60.0 / bpm;
    phrases
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let start = 1.0 + i as f64 * 8.0 * period;
            SlotSpec {
                phrase: id.to_string(),
                start,
                end: start + 8.0 * period,
                beats: grid(start, bpm, 8),
            }
        })
        .collect()
}

/// Four 8-beat phrases of four styles (the second a mirrored variant), each moving on every
/// beat (the latin basics hold still over beats 4 and 8, which has no velocity minimum).
const MIX: [&str; 4] = [
    "chill_sway/000",
    "groove_bounce/001~mirror",
    "hype_kicks/000",
    "street_cabbage_patch/001",
];

#[test]
fn time_warp_puts_dance_beats_on_music_beats() {
    let lib = Library::starter().expect("starter");
    let slots = plan(112.0, &MIX);
    let ch = choreograph(&lib, &slots, &ExportOptions::default()).expect("choreograph");
    // exact by construction: every music beat maps to the phrase's dance beat
    for (placed, spec) in ch.slots.iter().zip(&slots) {
        let pb = &placed.slot.phrase.beats;
        for (i, t) in spec.beats.iter().enumerate() {
            assert!((placed.map.phrase_time(*t) - pb[i]).abs() < 1e-9);
        }
        assert!((placed.map.phrase_time(spec.end) - pb[8]).abs() < 1e-9);
    }
    // and measured: dance beats of the baked dance within one frame of the music beats
    let fps = 30.0;
    let baked = ch.bake(fps);
    let t0 = ch.start();
    let detected: Vec<f64> = dance_beats(&baked, &BeatConfig::default())
        .times
        .iter()
        .map(|t| t + t0)
        .collect();
    let switches = ch.switch_times();
    let music: Vec<f64> = slots.iter().flat_map(|s| s.beats.clone()).collect();
    let away: Vec<f64> = music
        .iter()
        .copied()
        .filter(|m| switches.iter().all(|s| (m - s).abs() > 0.2))
        .collect();
    let hit = away
        .iter()
        .filter(|m| detected.iter().any(|d| (d - *m).abs() <= 1.0 / fps + 1e-9))
        .count();
    println!(
        "{hit} of {} music beats have a dance beat within one frame",
        away.len()
    );
    assert!(
        hit as f64 >= 0.9 * away.len() as f64,
        "{hit}/{}",
        away.len()
    );
    let bas = beat_align_score(&detected, &music, BAS_SIGMA_S);
    assert!(bas > 0.8, "BAS {bas}");
}

#[test]
fn switches_are_continuous() {
    let lib = Library::starter().expect("starter");
    let slots = plan(112.0, &MIX);
    let fps = 60.0;
    let blended = choreograph(&lib, &slots, &ExportOptions::default()).expect("blend");
    let hard = choreograph(
        &lib,
        &slots,
        &ExportOptions {
            crossfade_s: 0.0,
            ..ExportOptions::default()
        },
    )
    .expect("cut");
    let switches: Vec<f64> = blended
        .switch_times()
        .iter()
        .map(|s| s - blended.start())
        .collect();
    let b = blended.bake(fps);
    let h = hard.bake(fps);
    let tb = transitions(&b, &switches, 0.25);
    let th = transitions(&h, &switches, 0.25);
    let within = step_percentile(&b, 99.0);
    for (x, y) in tb.iter().zip(&th) {
        println!(
            "switch at {:.2} s: blended max step {:.4} m, jerk {:.0} m/s³; hard cut {:.4} m, {:.0} m/s³",
            x.time, x.max_step, x.jerk_peak, y.max_step, y.jerk_peak
        );
        // stated threshold: a crossfade of L seconds spreads the hard cut's jump J over
        // L·fps frames with a peak smoothstep slope of 1.5, so the largest joint step near a
        // switch may exceed the dance's own 99th-percentile step by at most 1.5·J/(L·fps),
        // and it must stay a fraction of the hard cut's single-frame jump
        let bound = within + 1.5 * y.max_step / (0.25 * fps);
        assert!(x.max_step <= bound, "{x:?}: bound {bound}");
        assert!(x.max_step < 0.25 * y.max_step, "{x:?} vs hard cut {y:?}");
        assert!(x.jerk_peak < y.jerk_peak, "{x:?} vs {y:?}");
    }
    // the root is continuous: aligned slots meet at the switch
    for k in 1..blended.slots.len() {
        let s = blended.slots[k].slot.start;
        let a = blended.slots[k - 1].pose(s).root;
        let c = blended.slots[k].pose(s).root;
        assert!((a - c).xz().length() < 1e-9);
    }
    // live preview: sampling between frames is finite and clamps outside the dance
    assert!(blended.sample(blended.start() - 5.0).is_finite());
    assert!(blended.sample(2.345_678).is_finite());
}

#[test]
fn export_writes_a_bvh_blender_reads_at_the_right_length() {
    let lib = Library::starter().expect("starter");
    let slots = plan(
        100.0,
        &[
            "groove_clap_step/000",
            "latin_salsa_basic/001",
            "hype_kicks/000",
        ],
    );
    let tmp = tmp_dir("export");
    let (bvh_p, tl_p) = (tmp.join("dance.bvh"), tmp.join("dance.timeline.json"));
    let opts = ExportOptions {
        fps: 24.0,
        ..ExportOptions::default()
    };
    let tl = export_bvh_timeline(&lib, &slots, &opts, &bvh_p, &tl_p).expect("export");
    let bvh = Bvh::read(&bvh_p).expect("read back");
    assert!(is_canonical(&bvh));
    assert_eq!(bvh.frames, tl.frames);
    assert!((bvh.fps() - 24.0).abs() < 1e-6, "{}", bvh.fps());
    let length = (bvh.frames - 1) as f64 / 24.0;
    assert!((length - 14.4).abs() <= 1.0 / 24.0, "{length}");
    let text = std::fs::read_to_string(&tl_p).expect("timeline");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["schema"], "phrasewise-timeline/1");
    assert_eq!(v["slots"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["slots"][1]["phrase"], "latin_salsa_basic/001");
    assert_eq!(v["slots"][1]["blend_in"], 0.25);
    assert_eq!(v["slots"][0]["blend_in"], 0.0);
    let clip = Clip::from_canonical_bvh(&bvh, "dance.bvh", None).expect("canonical");
    assert!(
        clip.poses
            .iter()
            .all(phrasewise::motion::skeleton::Pose::is_finite)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_user_rig_map_needs_no_code() {
    // A starter clip re-skinned with other joint names, plus a rig map in BVH_DIR/rigs/.
    let lib = Library::starter().expect("starter");
    let clip = lib.load_clip("groove_bounce").expect("clip");
    let mut bvh = clip.to_bvh();
    for j in &mut bvh.joints {
        j.name = format!("my:{}", j.name.to_uppercase());
    }
    let tmp = tmp_dir("user-rig");
    let src = tmp.join("in");
    std::fs::create_dir_all(src.join("rigs")).expect("dirs");
    bvh.write(&src.join("renamed.bvh")).expect("write");
    let canonical = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/library/rigs/canonical.json"),
    )
    .expect("canonical map");
    let mut map: serde_json::Value = serde_json::from_str(&canonical).expect("json");
    map["name"] = "my-rig".into();
    if let Some(joints) = map["joints"].as_object_mut() {
        for v in joints.values_mut() {
            if let Some(s) = v.as_str() {
                *v = format!("my:{}", s.to_uppercase()).into();
            }
        }
    }
    std::fs::write(src.join("rigs/my-rig.json"), map.to_string()).expect("write map");
    // an unknown rig is reported, not fatal
    let mut other = clip.to_bvh();
    other.joints[0].name = "Pelvis".into();
    other.write(&src.join("unknown.bvh")).expect("write");
    let report = build_library(&src, &tmp.join("out"), &BuildOptions::default()).expect("build");
    assert_eq!(report.index.clips.len(), 1);
    assert_eq!(report.index.clips[0].rig, "my-rig");
    assert!(!report.index.phrases.is_empty());
    assert_eq!(report.index.skipped.len(), 1);
    assert!(
        report.index.skipped[0]
            .reason
            .contains("no rig map matches"),
        "{:?}",
        report.index.skipped
    );
    // the detected beats match the generator's tempo (100 BPM)
    assert!(
        (report.index.clips[0].grid_bpm - 100.0).abs() < 6.0,
        "{}",
        report.index.clips[0].grid_bpm
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn library_build_on_starter_clips_recovers_the_tempi() {
    let tmp = tmp_dir("starter-build");
    let report =
        build_library(&starter_dir().join("clips"), &tmp, &BuildOptions::default()).expect("build");
    let mut close = 0;
    for c in &report.index.clips {
        let spec = MOVES.iter().find(|m| m.name() == c.id).expect("move");
        let ratio = c.grid_bpm / spec.bpm();
        let ok = [0.5, 1.0, 2.0]
            .iter()
            .any(|r| (ratio / r - 1.0).abs() < 0.06);
        println!(
            "{:22} true {:5.1} detected {:5.1} BPM {}",
            c.id,
            spec.bpm(),
            c.grid_bpm,
            if ok { "" } else { "(off)" }
        );
        if ok {
            close += 1;
        }
    }
    assert!(
        close * 20 >= report.index.clips.len() * 17,
        "only {close} of {} tempi recovered",
        report.index.clips.len()
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Prints the numbers for BENCHMARKS.md (no timing assertions).
#[test]
#[ignore = "report: run with --ignored --nocapture"]
fn benchmark_numbers() {
    let lib = Library::starter().expect("starter");
    println!(
        "starter: {} phrases, median phrase {:.2} s",
        lib.index.phrases.len(),
        lib.index.median_phrase_seconds()
    );
    let slots = plan(112.0, &MIX);
    let music: Vec<f64> = slots.iter().flat_map(|s| s.beats.clone()).collect();
    for (name, fade, align) in [
        ("blended (0.25 s crossfade, aligned)", 0.25, true),
        ("hard cut, aligned", 0.0, true),
        ("hard cut, unaligned", 0.0, false),
    ] {
        let ch = choreograph(
            &lib,
            &slots,
            &ExportOptions {
                fps: 30.0,
                crossfade_s: fade,
                align_root: align,
            },
        )
        .expect("choreograph");
        let b = ch.bake(30.0);
        let beats: Vec<f64> = dance_beats(&b, &BeatConfig::default())
            .times
            .iter()
            .map(|t| t + ch.start())
            .collect();
        let sw: Vec<f64> = ch.switch_times().iter().map(|s| s - ch.start()).collect();
        let tr = transitions(&b, &sw, 0.25);
        let jerk = tr.iter().map(|t| t.jerk_peak).fold(0.0, f64::max);
        let step = tr.iter().map(|t| t.max_step).fold(0.0, f64::max);
        println!(
            "{name}: BAS {:.3}, max transition jerk {:.0} m/s³, max step at switch {:.3} m/frame (30 fps), skating {:.3}",
            beat_align_score(&beats, &music, BAS_SIGMA_S),
            jerk,
            step,
            foot_skating_ratio(&b)
        );
    }
    // unwarped: each phrase at its own tempo, only its first beat placed on the music
    let unwarped: Vec<SlotSpec> = slots
        .iter()
        .map(|s| SlotSpec {
            beats: vec![s.start],
            ..s.clone()
        })
        .collect();
    let ch = choreograph(&lib, &unwarped, &ExportOptions::default()).expect("unwarped");
    let b = ch.bake(30.0);
    let beats: Vec<f64> = dance_beats(&b, &BeatConfig::default())
        .times
        .iter()
        .map(|t| t + ch.start())
        .collect();
    println!(
        "not time-warped (natural tempo, blended): BAS {:.3}",
        beat_align_score(&beats, &music, BAS_SIGMA_S)
    );
}

#[test]
fn cli_functions_run_end_to_end() {
    use phrasewise::cli::motion::{
        ExportArgs, LibraryBuildArgs, LibraryStarterArgs, run_export, run_library_build,
        run_library_starter,
    };
    use phrasewise::export::ExportPlan;
    let tmp = tmp_dir("cli");
    run_library_starter(&LibraryStarterArgs {
        out: tmp.join("starter"),
    })
    .expect("starter");
    assert!(tmp.join("starter/index.json").is_file());
    run_library_build(&LibraryBuildArgs {
        bvh_dir: tmp.join("starter/clips"),
        out: tmp.join("lib"),
        overrides: None,
        rigs: Vec::new(),
        name: Some("rebuilt".into()),
        strict: true,
    })
    .expect("build");
    let lib = Library::load(&tmp.join("lib")).expect("load");
    assert_eq!(lib.index.name, "rebuilt");
    assert_eq!(lib.index.clips.len(), MOVES.len());
    // export from a plan file, with the built library and with the embedded one
    let first = lib.index.phrases[0].id.clone();
    let plan = ExportPlan {
        slots: vec![
            SlotSpec {
                phrase: first,
                start: 0.0,
                end: 4.0,
                beats: grid(0.0, 120.0, 8),
            },
            SlotSpec {
                phrase: "hype_kicks/000".into(),
                start: 4.0,
                end: 8.0,
                beats: grid(4.0, 120.0, 8),
            },
        ],
    };
    let plan_path = tmp.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string(&plan).expect("json")).expect("write");
    let args = ExportArgs {
        plan: plan_path.clone(),
        out: tmp.join("a.bvh"),
        timeline: None,
        library: Some(tmp.join("lib")),
        render: RenderArgs {
            fps: 30.0,
            crossfade: 0.25,
        },
    };
    run_export(&args).expect("export with the built library");
    assert!(tmp.join("a.timeline.json").is_file());
    let bvh = Bvh::read(&tmp.join("a.bvh")).expect("bvh");
    assert_eq!(bvh.frames, 241);
    let embedded = ExportArgs {
        library: None,
        out: tmp.join("b.bvh"),
        ..args.clone()
    };
    // the built library's first phrase id also exists in the embedded starter
    run_export(&embedded).expect("export with the embedded starter");
    let missing = ExportArgs {
        plan: tmp.join("nope.json"),
        ..args
    };
    let e = run_export(&missing).expect_err("missing plan");
    assert!(format!("{e:#}").contains("nope.json"), "{e:#}");
    let _ = std::fs::remove_dir_all(&tmp);
}
