//! `render-video`: the demo song's dance as an MP4 that ffprobe reads back (H.264 + AAC, the
//! song's length within a frame, every frame there, the dancer moving), that headless
//! Chromium plays, and failures (cancel, a failing encoder, a missing encoder or folder) that
//! leave nothing behind.
//!
//! The tests need `ffmpeg` (and Chromium for the browser test); where they are missing they
//! say so and pass, unless `PHRASEWISE_REQUIRE_TOOLS` is set, as `.ci/run` does after
//! `.ci/setup` installed them.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common_cmd::succeed;
use phrasewise::choreo::Project;
use phrasewise::cli::choreo::{ChoreographArgs, run_choreograph};
use phrasewise::cli::video::{RenderVideoArgs, run_render_video};
use phrasewise::render::video::frame_count;
use phrasewise::render::{VideoAudio, VideoError, VideoOptions};
use phrasewise::service::{Progress, ServiceError};

const FPS: f64 = 30.0;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-video-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether `program` runs; otherwise a skip message (or a failure where tools are required).
fn have(program: &str, what: &str) -> bool {
    let ok = Command::new(program)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("PHRASEWISE_REQUIRE_TOOLS").is_none(),
            "{program} is required here (PHRASEWISE_REQUIRE_TOOLS) but cannot be run"
        );
        eprintln!("SKIPPED: {what}: `{program}` is not installed (.ci/setup installs it)");
    }
    ok
}

/// The demo song choreographed into `dir`: (project path, song length).
fn demo_project(dir: &Path) -> (PathBuf, f64) {
    let wav = dir.join("demo.wav");
    phrasewise::service::analyse::write_demo_song(&wav).unwrap();
    let args = ChoreographArgs {
        project: Some(dir.join("song.phrasewise.json")),
        no_cache: true,
        ..ChoreographArgs::new(&wav, &dir.join("dance.bvh")).unwrap()
    };
    run_choreograph(&args).unwrap();
    let project = args.project.unwrap();
    let seconds = Project::load(&project).unwrap().analysis.duration;
    (project, seconds)
}

/// One video of the demo dance at 320×180, shared by the tests that only read it:
/// (video, song length).
fn rendered() -> &'static (PathBuf, f64) {
    static VIDEO: OnceLock<(PathBuf, f64)> = OnceLock::new();
    VIDEO.get_or_init(|| {
        let dir = temp_dir("shared");
        let (project, seconds) = demo_project(&dir);
        let out = dir.join("dance.mp4");
        let report = run_render_video(&RenderVideoArgs {
            project,
            output: out.clone(),
            size: "320x180".into(),
            fps: FPS,
            crf: 23,
            library: None,
            json: false,
        })
        .unwrap();
        assert_eq!(report.frames, frame_count(seconds, FPS));
        assert_eq!(report.encoder, "libx264");
        (out, seconds)
    })
}

fn ffprobe(path: &Path) -> serde_json::Value {
    let out = succeed(
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-of", "json"])
        .args(["-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames,pix_fmt:format=duration,format_name"])
            .arg(path),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One grey frame at `t` seconds (320×180 bytes).
fn grey_frame(path: &Path, t: f64) -> Vec<u8> {
    let out = succeed(
        Command::new("ffmpeg")
            .args(["-v", "error", "-ss", &format!("{t}"), "-i"])
            .arg(path)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]),
    );
    out.stdout
}

#[test]
fn the_video_decodes_with_the_songs_length_every_frame_and_sound() {
    if !have("ffmpeg", "video export") {
        return;
    }
    let (video, seconds) = rendered();
    let info = ffprobe(video);
    let streams = info["streams"].as_array().unwrap();
    let v = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["pix_fmt"], "yuv420p", "what browsers play");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(320), Some(180))
    );
    let frames: usize = v["nb_read_frames"].as_str().unwrap().parse().unwrap();
    assert_eq!(frames, frame_count(*seconds, FPS), "every frame encoded");
    let a = streams.iter().find(|s| s["codec_type"] == "audio");
    assert_eq!(
        a.map(|a| a["codec_name"].clone()),
        Some("aac".into()),
        "sound muxed in"
    );
    let duration: f64 = info["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - seconds).abs() <= 1.0 / FPS + 1e-3,
        "video {duration} s vs song {seconds} s"
    );
    assert!(
        info["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("mp4")
    );
    // The dancer is drawn and moves: frames a few seconds apart differ, and not only by noise.
    let a = grey_frame(video, 2.0);
    let b = grey_frame(video, seconds * 0.6);
    assert_eq!(a.len(), 320 * 180);
    let changed = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.abs_diff(**y) > 24)
        .count();
    assert!(
        changed > 200,
        "only {changed} pixels changed between the two frames"
    );
}

/// Plays the video in headless Chromium from a `file://` page: the `<video>` element loads
/// it, reports its duration, decodes audio and its `currentTime` advances past one second.
#[test]
fn the_video_plays_in_headless_chromium() {
    if !have("ffmpeg", "video export") {
        return;
    }
    let browser = [
        "chromium-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    .into_iter()
    .find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("PHRASEWISE_REQUIRE_TOOLS").is_none(),
            "a Chromium is required here (PHRASEWISE_REQUIRE_TOOLS) but none is installed"
        );
        eprintln!(
            "SKIPPED: browser playback: no Chromium installed (.ci/setup installs chromium-headless-shell)"
        );
        return;
    };
    let (video, seconds) = rendered();
    let dir = video.parent().unwrap();
    let page = dir.join("play.html");
    std::fs::write(
        &page,
        r#"<!doctype html><html><body><video id="v" src="dance.mp4" muted autoplay></video>
<script>
const v = document.getElementById('v');
let done = false;
v.addEventListener('error', () => console.log('PWRESULT error ' + (v.error && v.error.code)));
v.addEventListener('timeupdate', () => {
  if (!done && v.currentTime > 1.0) {
    done = true;
    console.log('PWRESULT duration=' + v.duration + ' time=' + v.currentTime +
      ' width=' + v.videoWidth + ' audio=' + v.webkitAudioDecodedByteCount);
  }
});
</script></body></html>"#,
    )
    .unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--autoplay-policy=no-user-gesture-required",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chrome-profile").display()
        ))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // its own process group: Chromium's zygote, GPU and renderer processes outlive a
        // kill of the browser process alone, so the whole group is killed below
        .process_group(0)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(i) = line.find("PWRESULT ") {
                let _ = tx.send(line[i + 9..].to_string());
                return;
            }
        }
    });
    let result = rx.recv_timeout(std::time::Duration::from_secs(60));
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();
    let result = result.expect("no result from the page within 60 s");
    let field = |k: &str| -> f64 {
        let v = result
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing in `{result}`"));
        v.trim_end_matches(['"', ',']).parse().unwrap()
    };
    assert!(
        (field("duration") - seconds).abs() <= 1.0 / FPS + 1e-3,
        "{result}"
    );
    assert!(field("time") > 1.0, "{result}");
    assert_eq!(field("width"), 320.0, "{result}");
    assert!(
        field("audio") > 0.0,
        "the browser decoded the sound: {result}"
    );
}

/// Stops after `after` frames.
struct CancelAfter {
    after: usize,
    seen: std::sync::atomic::AtomicUsize,
}

impl Progress for CancelAfter {
    fn update(&self, step: &str, _: f32) {
        if step.starts_with("rendering frame") {
            self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn cancelled(&self) -> bool {
        self.seen.load(std::sync::atomic::Ordering::Relaxed) >= self.after
    }
}

/// Names of the files in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_cancel_a_failing_encoder_and_bad_targets_leave_nothing_behind() {
    let dir = temp_dir("fail");
    let (project_path, _) = demo_project(&dir);
    let project = Project::load(&project_path).unwrap();
    let library =
        phrasewise::service::library::project_library(&project, &project_path, None).unwrap();
    let audio = VideoAudio::File(project.song_path(&project_path).unwrap());
    let before = names(&dir);
    let small = VideoOptions {
        width: 160,
        height: 90,
        ..VideoOptions::default()
    };
    let render = |out: &Path, opts: &VideoOptions, p: &dyn Progress| {
        phrasewise::service::video::render_project_video(&project, &library, &audio, out, opts, p)
    };

    // A missing encoder: a clear message naming it, before any work.
    let missing = VideoOptions {
        ffmpeg: Some("/nonexistent/ffmpeg".into()),
        ..small.clone()
    };
    let e = render(&dir.join("a.mp4"), &missing, &phrasewise::service::Quiet).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("/nonexistent/ffmpeg") && m.contains("install"),
        "{m}"
    );
    assert_eq!(names(&dir), before);

    // An encoder that fails half-way as on a full disk, after writing part of its output.
    let fake = dir.join("fake-ffmpeg.sh");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a; do last=$a; done\n\
         case \"$*\" in *-encoders*) echo ' V..... libx264 H.264'; exit 0;; esac\n\
         head -c 100000 > /dev/null; echo partial > \"$last\"\n\
         echo \"$last: No space left on device\" >&2; exit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let before = names(&dir);
    let failing = VideoOptions {
        ffmpeg: Some(fake.clone()),
        ..small.clone()
    };
    let out = dir.join("b.mp4");
    let e = render(&out, &failing, &phrasewise::service::Quiet).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("b.mp4") && m.contains("No space left on device"),
        "{m}"
    );
    assert!(!out.exists());
    assert_eq!(names(&dir), before, "no temporary file left");

    // A folder nobody may create files in (even root: /proc), one that does not exist, and a
    // folder in place of the file.
    #[cfg(target_os = "linux")]
    {
        let e = render(
            Path::new("/proc/pw-no-write.mp4"),
            &small,
            &phrasewise::service::Quiet,
        )
        .unwrap_err();
        assert!(e.to_string().contains("/proc/pw-no-write.mp4"), "{e}");
    }
    let e = render(
        &dir.join("no/such/dir/c.mp4"),
        &small,
        &phrasewise::service::Quiet,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no/such/dir/c.mp4"), "{e}");
    let e = render(&dir, &small, &phrasewise::service::Quiet).unwrap_err();
    assert!(!e.to_string().is_empty());
    assert_eq!(names(&dir), before);

    // Cancel half-way with the real encoder: reported as a cancel, nothing written.
    if have("ffmpeg", "cancelling a video export") {
        let cancel = CancelAfter {
            after: 20,
            seen: Default::default(),
        };
        let e = render(&dir.join("d.mp4"), &small, &cancel).unwrap_err();
        assert!(matches!(e, ServiceError::Cancelled), "{e}");
        assert_eq!(names(&dir), before, "nothing left after a cancel");
        // The same with decoded samples (the editor's embedded song): their temporary WAV
        // goes too.
        let song = phrasewise::demo::render_demo(22_050);
        let samples = VideoAudio::Samples {
            samples: song.samples.into(),
            sample_rate: song.sample_rate,
        };
        let cancel = CancelAfter {
            after: 20,
            seen: Default::default(),
        };
        let e = phrasewise::service::video::render_project_video(
            &project,
            &library,
            &samples,
            &dir.join("d.mp4"),
            &small,
            &cancel,
        )
        .unwrap_err();
        assert!(matches!(e, ServiceError::Cancelled), "{e}");
        assert_eq!(names(&dir), before, "nothing left after a cancel");
    }
    // Bad options are refused with the reason.
    let odd = VideoOptions {
        width: 321,
        ..small
    };
    let e = render(&dir.join("e.mp4"), &odd, &phrasewise::service::Quiet).unwrap_err();
    assert!(e.to_string().contains("even"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_video_error_is_not_a_cancel_unless_it_is_one() {
    assert!(ServiceError::from(VideoError::Cancelled).is_cancelled());
    assert!(!ServiceError::from(VideoError::Empty).is_cancelled());
}
