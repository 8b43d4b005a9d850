//! Each bad input gets one message that names the file once and says the problem once (no
//! context repeated by an error chain or a caller).

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-msg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the program in `dir` (cache inside it) and returns its `error: …` line.
fn error_line(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_phrasewise"))
        .current_dir(dir)
        .env("PHRASEWISE_CACHE", dir.join("cache"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one error line in\n{stderr}");
    lines[0].to_string()
}

/// The message names `file` exactly once and no `: `-separated segment comes twice.
fn assert_said_once(msg: &str, file: &str, problem: &str) {
    assert_eq!(msg.matches(file).count(), 1, "`{file}` once in: {msg}");
    assert_eq!(
        msg.matches(problem).count(),
        1,
        "`{problem}` once in: {msg}"
    );
    let segments: Vec<&str> = msg
        .trim_start_matches("error:")
        .split(": ")
        .map(str::trim)
        .collect();
    for (i, s) in segments.iter().enumerate() {
        assert!(!segments[i + 1..].contains(s), "`{s}` repeated in: {msg}");
    }
}

#[test]
fn bad_inputs_are_named_once() {
    let dir = temp("bad-inputs");
    std::fs::write(dir.join("corrupt-labels.json"), "{\"schema\": ").unwrap();
    std::fs::write(dir.join("corrupt-project.json"), "{\"schema\"").unwrap();
    let missing = "No such file or directory";
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &[
                "train",
                "--library",
                "no-library",
                "--labels",
                "l.json",
                "-o",
                "m",
            ],
            "no-library",
            missing,
        ),
        (
            &["train", "--labels", "no-labels.json", "-o", "m"],
            "no-labels.json",
            missing,
        ),
        (
            &["train", "--labels", "corrupt-labels.json", "-o", "m"],
            "corrupt-labels.json",
            "EOF while parsing",
        ),
        (&["analyze", "no-song.mp3"], "no-song.mp3", missing),
        (
            &["labels", "export", "corrupt-project.json", "-o", "l.json"],
            "corrupt-project.json",
            "EOF while parsing",
        ),
        (
            &["export-project", "no-project.json", "--bvh", "o.bvh"],
            "no-project.json",
            missing,
        ),
    ];
    for (args, file, problem) in cases {
        let msg = error_line(&dir, args);
        assert_said_once(&msg, file, problem);
    }
}

/// An MP3 that starts with an ID3v2 tag is read quietly: the tag is metadata, not "junk".
#[test]
fn an_mp3_with_an_id3v2_tag_decodes_without_a_warning() {
    let Some(data) = crate::common_data::data_dir() else {
        return;
    };
    let mp3 = data.join("audio/formats/TameAnderson-MakeMe_30s.mp3");
    let head = std::fs::read(&mp3).unwrap();
    assert!(head.starts_with(b"ID3"), "the test file has an ID3v2 tag");
    let dir = temp("id3");
    let out = Command::new(env!("CARGO_BIN_EXE_phrasewise"))
        .env("PHRASEWISE_CACHE", dir.join("cache"))
        .env("RUST_LOG", "warn")
        .args(["analyze", "--no-cache"])
        .arg(&mp3)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("junk"),
        "{stderr}"
    );
}
