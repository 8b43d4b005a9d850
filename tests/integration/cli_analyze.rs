//! The `phrasewise analyze` command as a user runs it: JSON out, cache, clear errors.

use crate::common_cmd::{fail, succeed};
use crate::common_data;

use std::process::Command;

fn phrasewise(cache: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phrasewise"));
    c.env("PHRASEWISE_CACHE", cache);
    c
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn analyze_writes_json_and_second_open_comes_from_the_cache() {
    let dir = temp("cache");
    let wav = dir.join("demo.wav");
    succeed(phrasewise(&dir).args(["demo-song", "-o"]).arg(&wav));
    let json_path = dir.join("a.json");
    let run = |extra: &[&str]| succeed(phrasewise(&dir).arg("analyze").arg(&wav).args(extra));
    let first = run(&["--json", "-o", json_path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(v["source"]["from_cache"], false);
    assert!(v["beats"].as_array().unwrap().len() > 100);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(file["beats"], v["beats"]);
    // same bytes under another name: served from the cache, identical result
    let copy = dir.join("copy.wav");
    std::fs::copy(&wav, &copy).unwrap();
    let out = phrasewise(&dir)
        .arg("analyze")
        .arg(&copy)
        .arg("--json")
        .output()
        .unwrap();
    let v2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v2["source"]["from_cache"], true);
    assert_eq!(v2["phrases"], v["phrases"]);
    // human-readable summary mentions tempo and phrases
    let text = String::from_utf8(run(&[]).stdout).unwrap();
    assert!(text.contains("BPM") && text.contains("phrases:"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_exits_with_an_error_naming_the_file() {
    let dir = temp("bad");
    let bogus = dir.join("not-audio.mp3");
    std::fs::write(&bogus, b"this is not an mp3 file at all, just text").unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    for f in [&bogus, &empty, &dir.join("missing.ogg")] {
        let err = fail(phrasewise(&dir).arg("analyze").arg(f));
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(err.contains(&*name), "stderr does not name {name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_broken_shared_file_is_handled_without_panic() {
    let Some(data) = common_data::data_dir() else {
        return;
    };
    let dir = temp("shared-bad");
    for name in [
        "bad_empty.wav",
        "bad_header_overclaims.wav",
        "bad_random_bytes.mp3",
        "bad_truncated_10KB.mp3",
        "silence_10s.wav",
        "TameAnderson-MakeMe_30s.opus",
    ] {
        let out = phrasewise(&dir)
            .arg("analyze")
            .arg(data.join("audio/formats").join(name))
            .arg("--json")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{name}: {err}");
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(v["duration"].as_f64().unwrap() > 0.9, "{name}");
        } else {
            assert!(err.contains(name), "{name}: {err}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
