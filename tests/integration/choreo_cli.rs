//! End to end: demo song (and every song of the shared data when present) →
//! choreograph → BVH covering the whole song; export-project re-renders the saved project.

use phrasewise::choreo::Project;
use phrasewise::cli::choreo::{
    ChoreographArgs, ExportFormat, ExportProjectArgs, run_choreograph, run_export_project,
};
use phrasewise::cli::motion::RenderArgs;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "phrasewise-choreo-cli-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bvh_frames(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Frames:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `choreograph SONG -o DIR/dance.bvh --project DIR/song.phrasewise.json --no-cache` with
/// the starter library and its default scorer.
fn args(song: &Path, dir: &Path) -> ChoreographArgs {
    ChoreographArgs {
        project: Some(dir.join("song.phrasewise.json")),
        no_cache: true,
        ..ChoreographArgs::new(song, &dir.join("dance.bvh")).unwrap()
    }
}

fn choreograph(song: &Path, dir: &Path) -> (ChoreographArgs, usize, f64) {
    let args = args(song, dir);
    let tl = run_choreograph(&args).unwrap();
    let project = Project::load(args.project.as_ref().unwrap()).unwrap();
    // The starter library ranks with the built-in network by default.
    assert!(
        project.model.starts_with("network:default@"),
        "{}",
        project.model
    );
    let duration = project.analysis.duration;
    let want = (duration * 30.0 + 1e-9).floor() as usize + 1;
    assert_eq!(tl.frames, want, "timeline frames vs song length {duration}");
    assert_eq!(bvh_frames(&args.out), tl.frames);
    assert!(dir.join("dance.timeline.json").is_file());
    assert!(tl.slots.len() >= project.slots.len());
    (args, tl.frames, duration)
}

#[test]
fn choreograph_demo_song_covers_the_song() {
    let dir = temp_dir("cli-demo");
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).unwrap();
    let (args, frames, _) = choreograph(&wav, &dir);
    // the saved project renders to the same dance
    let again = dir.join("again.bvh");
    run_export_project(&ExportProjectArgs {
        project: args.project.clone().unwrap(),
        bvh: again.clone(),
        format: ExportFormat::Bvh,
        json: Some(dir.join("again.json")),
        library: None,
        render: RenderArgs {
            fps: 30.0,
            crossfade: 0.25,
        },
    })
    .unwrap();
    assert_eq!(bvh_frames(&again), frames);
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&args.out).unwrap(),
        "deterministic"
    );
}

/// `export-project --format gltf`: a `.glb` that the `gltf` crate reads back with the
/// skinned 22-joint skeleton, its inverse bind matrices, a bone mesh bound to valid joints and
/// one animation as long as the song, one key per frame.
#[test]
fn export_project_as_gltf_round_trips_through_the_gltf_crate() {
    let dir = temp_dir("cli-gltf");
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).unwrap();
    let (args, frames, duration) = choreograph(&wav, &dir);
    let glb = dir.join("dance.glb");
    run_export_project(&ExportProjectArgs {
        project: args.project.clone().unwrap(),
        bvh: glb.clone(),
        format: ExportFormat::Gltf,
        json: None,
        library: None,
        render: RenderArgs {
            fps: 30.0,
            crossfade: 0.25,
        },
    })
    .unwrap();
    let bytes = std::fs::read(&glb).unwrap();
    let g = gltf::Gltf::from_slice(&bytes).unwrap();
    let blob = g.blob.clone().unwrap();
    let buffers = |b: gltf::Buffer<'_>| (b.index() == 0).then_some(blob.as_slice());
    let skin = g.skins().next().unwrap();
    assert_eq!(skin.joints().count(), 22);
    let ibm: Vec<[[f32; 4]; 4]> = skin
        .reader(buffers)
        .read_inverse_bind_matrices()
        .unwrap()
        .collect();
    assert_eq!(ibm.len(), 22);
    // the hips' bind matrix undoes the rest pose's hip height
    assert!((ibm[0][3][1] + 0.97).abs() < 1e-4, "{:?}", ibm[0]);
    let mesh = g.meshes().next().unwrap();
    let prim = mesh.primitives().next().unwrap();
    let r = prim.reader(buffers);
    let n_pos = r.read_positions().unwrap().count();
    let joints: Vec<[u16; 4]> = r.read_joints(0).unwrap().into_u16().collect();
    assert_eq!(joints.len(), n_pos);
    assert!(joints.iter().all(|j| j[0] < 22));
    let weights: Vec<[f32; 4]> = r.read_weights(0).unwrap().into_f32().collect();
    assert!(
        weights
            .iter()
            .all(|w| (w.iter().sum::<f32>() - 1.0).abs() < 1e-6)
    );
    assert!(
        r.read_indices()
            .unwrap()
            .into_u32()
            .all(|i| (i as usize) < n_pos)
    );
    assert_eq!(g.animations().count(), 1);
    let anim = g.animations().next().unwrap();
    assert_eq!(
        anim.channels().count(),
        23,
        "hips translation + 22 rotations"
    );
    for ch in anim.channels() {
        let times: Vec<f32> = ch.reader(buffers).read_inputs().unwrap().collect();
        assert_eq!(times.len(), frames, "one key per frame");
        let last = f64::from(*times.last().unwrap());
        assert!(
            (last - duration).abs() <= 1.0 / 30.0 + 1e-6,
            "animation {last} s vs song {duration} s"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Every audio file of `../shared/data/audio` (demo songs, the annotated LMMS / openMSX /
/// Frets on Fire songs, the format samples): a dance covering the song, or — for the
/// deliberately broken, silent or unsupported files — an error naming the file.
#[test]
fn choreograph_every_shared_song_when_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/audio");
    if !root.is_dir() {
        eprintln!("skipped: no {}", root.display());
        return;
    }
    let mut songs = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| {
                ["ogg", "wav", "flac", "mp3", "m4a", "opus"].contains(&x.to_str().unwrap_or(""))
            }) {
                songs.push(p);
            }
        }
    }
    songs.sort();
    assert!(songs.len() >= 30, "{} audio files", songs.len());
    // Not music (or not decodable) by design; see the data README.
    let bad = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with("bad_") || name.starts_with("silence") || name.ends_with(".opus")
    };
    let (mut danced, mut refused) = (0, 0);
    for (i, s) in songs.iter().enumerate() {
        let dir = temp_dir(&format!("cli-all-{i}"));
        if bad(s) {
            let args = ChoreographArgs {
                project: None,
                ..args(s, &dir)
            };
            let err = format!("{:#}", run_choreograph(&args).unwrap_err());
            let name = s.file_name().unwrap().to_string_lossy();
            assert!(err.contains(name.as_ref()), "{err}");
            assert!(!dir.join("dance.bvh").exists());
            refused += 1;
        } else {
            let (_, frames, duration) = choreograph(s, &dir);
            eprintln!("{}: {duration:.1} s, {frames} frames", s.display());
            danced += 1;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!("{danced} songs danced, {refused} bad files refused with their name");
    assert!(danced >= 30);
}

#[test]
fn choreograph_args_new_has_the_command_line_defaults() {
    // A song whose name starts with a dash is still the song, not an option.
    let a = ChoreographArgs::new(Path::new("-song.wav"), Path::new("o.bvh")).unwrap();
    assert_eq!(a.song, Path::new("-song.wav"));
    assert_eq!(a.out, Path::new("o.bvh"));
    assert_eq!(
        a.render,
        RenderArgs {
            fps: 30.0,
            crossfade: 0.25
        }
    );
    assert_eq!((a.max_minutes, a.no_cache), (20.0, false));
    assert_eq!(
        (a.json, a.timeline, a.project, a.library, a.model),
        (false, None, None, None, None)
    );
}

/// The dance-metric keys `--json` prints in both objects (issue 15).
const METRIC_KEYS: [&str; 9] = [
    "slots",
    "distinct_move_share",
    "most_used_move_share",
    "longest_repeat_run",
    "coverage",
    "bas",
    "energy_correlation",
    "foot_skate",
    "transition_jerk",
];

/// Checks `{"metrics": {...}, "random_baseline": {...}}`: every key, finite values, shares in
/// 0–1, the same slot count on both sides.
fn check_metrics_json(stdout: &[u8]) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 2, "{v}");
    for side in ["metrics", "random_baseline"] {
        let m = v[side]
            .as_object()
            .unwrap_or_else(|| panic!("no {side}: {v}"));
        assert_eq!(m.len(), METRIC_KEYS.len(), "{side}: {v}");
        for k in METRIC_KEYS {
            let x = m
                .get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or_else(|| panic!("{side}.{k} missing: {v}"));
            assert!(x.is_finite(), "{side}.{k} = {x}");
        }
        for k in [
            "distinct_move_share",
            "most_used_move_share",
            "coverage",
            "bas",
        ] {
            let x = m[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&x), "{side}.{k} = {x}");
        }
        assert!(m["energy_correlation"].as_f64().unwrap().abs() <= 1.0);
        assert!(m["slots"].as_u64().unwrap() >= 4, "{v}");
        assert!(m["longest_repeat_run"].as_u64().unwrap() >= 1, "{v}");
    }
    assert_eq!(v["metrics"]["slots"], v["random_baseline"]["slots"]);
    v
}

#[test]
fn choreograph_json_prints_metrics_and_random_baseline() {
    let dir = temp_dir("json");
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).unwrap();
    let run = |args: &[&str]| {
        crate::common_cmd::succeed(
            std::process::Command::new(env!("CARGO_BIN_EXE_phrasewise"))
                .args(args)
                .env("PHRASEWISE_CACHE", dir.join("cache")),
        )
    };
    let bvh = dir.join("dance.bvh");
    let out = run(&[
        "choreograph",
        wav.to_str().unwrap(),
        "-o",
        bvh.to_str().unwrap(),
        "--json",
    ]);
    let v = check_metrics_json(&out.stdout);
    assert!(bvh.is_file());
    // the summary line moved to stderr
    assert!(String::from_utf8_lossy(&out.stderr).contains("frames at 30 fps"));
    // the demo song is danced from its first to its last phrase
    assert!(v["metrics"]["coverage"].as_f64().unwrap() > 0.5, "{v}");
    eprintln!("{}", serde_json::to_string_pretty(&v).unwrap());

    // suggest --json prints the same metrics for the same ranking; the baseline is seeded
    let project = dir.join("demo.phrasewise.json");
    // `suggest SONG -o PROJECT --json` with `extra` arguments: its metrics JSON
    let suggest = |extra: &[&str]| {
        let args = [
            &[
                "suggest",
                wav.to_str().unwrap(),
                "-o",
                project.to_str().unwrap(),
                "--json",
            ][..],
            extra,
        ]
        .concat();
        check_metrics_json(&run(&args).stdout)
    };
    let s = suggest(&[]);
    assert_eq!(s, v, "suggest --json and choreograph --json differ");
    assert!(project.is_file());

    // --no-variety decodes the plain chain: the dance concentrates on fewer moves, and the
    // project records the settings it was decoded with
    let plain = suggest(&["--no-variety"]);
    let most = |x: &serde_json::Value| x["metrics"]["most_used_move_share"].as_f64().unwrap();
    assert!(most(&plain) > most(&v), "{plain} vs {v}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&project).unwrap()).unwrap();
    assert_eq!(saved["settings"]["decode"]["diversity_window"], 0);
    // `--variety off` is `--no-variety`; `--variety on` the program's penalties, which the
    // built-in model (fitted on no labels of its own) also gets by default
    for (choice, want) in [("off", &plain), ("on", &v)] {
        assert_eq!(suggest(&["--variety", choice]), *want, "--variety {choice}");
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&project).unwrap()).unwrap();
    assert_eq!(saved["settings"]["decode"]["diversity_window"], 40);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 15's bad input: a library with a single move (two phrases, their two mirrors) gives
/// a dance or a clear message, never a panic — whether the move fits the song's tempo
/// (`groove_bounce`, 100 BPM) or not (`waltz_box`, 90 BPM in 3/4).
#[test]
fn a_library_with_one_move_gives_a_dance_or_a_clear_message() {
    use phrasewise::motion::library::Library;
    let dir = temp_dir("one-move");
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).unwrap();
    let starter = Library::starter().unwrap();
    let phrasewise::motion::library::LibrarySource::Embedded(files) = starter.source.clone() else {
        panic!("the starter library is embedded")
    };
    for clip in ["groove_bounce", "waltz_box"] {
        let lib_dir = dir.join(clip);
        std::fs::create_dir_all(lib_dir.join("clips")).unwrap();
        let mut index = starter.index.clone();
        index.clips.retain(|c| c.id == clip);
        index
            .phrases
            .retain(|p| p.clip == clip && p.mirror_of.is_none());
        assert_eq!(index.phrases.len(), 2);
        let file = &index.clips[0].file;
        let (_, text) = files.iter().find(|(n, _)| n == file).unwrap();
        std::fs::write(lib_dir.join(file), text).unwrap();
        std::fs::write(lib_dir.join("index.json"), index.to_json()).unwrap();
        let args = ChoreographArgs {
            library: Some(lib_dir.clone()),
            ..ChoreographArgs::new(&wav, &dir.join(format!("{clip}.bvh"))).unwrap()
        };
        match run_choreograph(&args) {
            Ok(tl) => {
                assert!(!tl.slots.is_empty(), "{clip}: a dance without slots");
                assert!(tl.slots.iter().all(|s| s.phrase.starts_with(clip)));
                eprintln!("{clip}: a dance of {} slots", tl.slots.len());
            }
            Err(e) => {
                let msg = format!("{e:#}");
                eprintln!("{clip}: {msg}");
                assert!(msg.len() > 20, "{clip}: unclear message `{msg}`");
            }
        }
    }
}

/// A project the user made remembers its song outside the project's folder across runs (the
/// user's seal, under the key in `PHRASEWISE_TRUST_KEY`); with another user's key it is
/// refused, naming the project, the song and `--allow`, until the folder is allowed.
#[test]
fn a_project_remembers_its_users_files_across_runs() {
    let dir = temp_dir("trust");
    let (music, proj) = (dir.join("music"), dir.join("proj"));
    std::fs::create_dir_all(&music).unwrap();
    std::fs::create_dir_all(&proj).unwrap();
    let (mine, theirs) = (dir.join("keys/me.key"), dir.join("keys/them.key"));
    let pw = |key: &Path| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_phrasewise"));
        c.env("PHRASEWISE_TRUST_KEY", key)
            .env("PHRASEWISE_CACHE", dir.join("cache"))
            .env_remove("PHRASEWISE_ALLOW");
        c
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (wav, project, labels) = (
        music.join("demo.wav"),
        proj.join("demo.phrasewise.json"),
        proj.join("labels.json"),
    );
    let export = [
        s(Path::new("labels")),
        "export".into(),
        s(&project),
        "-o".into(),
        s(&labels),
    ];
    crate::common_cmd::succeed(pw(&mine).args(["demo-song", "-o", &s(&wav)]));
    crate::common_cmd::succeed(pw(&mine).args(["suggest", &s(&wav), "-o", &s(&project)]));
    let key = std::fs::read(&mine).unwrap();
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mine).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
    }
    // a later run of the same user reads the project's song
    crate::common_cmd::succeed(pw(&mine).args(&export));
    assert!(labels.is_file());
    assert_eq!(std::fs::read(&mine).unwrap(), key, "the key is kept");
    // someone else's machine: refused, said once
    let err = crate::common_cmd::fail(pw(&theirs).args(&export));
    for part in ["demo.phrasewise.json", "demo.wav", "outside", "--allow"] {
        assert!(err.contains(part), "{part} not in: {err}");
    }
    assert_eq!(err.matches("outside").count(), 1, "{err}");
    // until the user allows the folder
    crate::common_cmd::succeed(pw(&theirs).args(["--allow", &s(&music)]).args(&export));
    crate::common_cmd::succeed(pw(&theirs).env("PHRASEWISE_ALLOW", &music).args(&export));
    let err = crate::common_cmd::fail(
        pw(&mine)
            .args(["--allow", &s(&dir.join("no-such-folder"))])
            .args(&export),
    );
    assert!(err.contains("no-such-folder"), "{err}");
}
