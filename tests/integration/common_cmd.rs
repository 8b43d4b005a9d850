//! Running the program (or a tool such as ffprobe) from tests: the exit status is checked and
//! the command's stderr shown when it is not the expected one.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `cmd` and asserts that it exits 0 (its stderr in the failure message).
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` and asserts that it exits 1, the program's status for an error; returns its
/// stderr.
pub fn fail(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}
