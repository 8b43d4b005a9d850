//! End to end: demo song (and the real demo songs when the shared data is present) →
//! choreograph → BVH covering the whole song; export-project re-renders the saved project.

use phrasewise::choreo::Project;
use phrasewise::cli_choreo::{
    ChoreographArgs, ExportProjectArgs, run_choreograph, run_export_project,
};
use phrasewise::cli_motion::RenderArgs;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-choreo-{name}-{}", std::process::id()));
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

fn choreograph(song: &Path, dir: &Path) -> (ChoreographArgs, usize, f64) {
    let args = ChoreographArgs {
        song: song.to_path_buf(),
        out: dir.join("dance.bvh"),
        json: None,
        project: Some(dir.join("song.phrasewise.json")),
        library: None,
        model: None,
        render: RenderArgs {
            fps: 30.0,
            crossfade: 0.25,
        },
        no_cache: true,
        max_minutes: 20.0,
    };
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
    phrasewise::cli::write_demo_song(&wav).unwrap();
    let (args, frames, _) = choreograph(&wav, &dir);
    // the saved project renders to the same dance
    let again = dir.join("again.bvh");
    run_export_project(&ExportProjectArgs {
        project: args.project.clone().unwrap(),
        bvh: again.clone(),
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

#[test]
fn choreograph_real_demo_songs_when_present() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/audio/demo");
    let Ok(entries) = std::fs::read_dir(&demo) else {
        eprintln!("skipped: no {}", demo.display());
        return;
    };
    let mut songs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ogg"))
        .collect();
    songs.sort();
    for (i, s) in songs.iter().enumerate() {
        let dir = temp_dir(&format!("cli-real-{i}"));
        let (_, frames, duration) = choreograph(s, &dir);
        eprintln!("{}: {duration:.1} s, {frames} frames", s.display());
    }
}
