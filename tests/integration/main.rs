//! All integration tests in one binary: the stack (eframe, wgpu, burn) is linked once instead
//! of once per test file. `playback_alsa` stays apart: it sets `ALSA_CONFIG_PATH` for its
//! whole process. Run one file's tests with `cargo test --test integration FILE::`.

// Tests unwrap (a panic is a failed test), and a test scenario reads better whole than split
// into helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod analysis_demo;
mod analysis_metre;
mod audio_formats;
mod beats_dataset;
mod choreo_cli;
mod choreo_decode;
mod choreo_project;
mod choreo_quality;
mod choreo_score;
mod cli_analyze;
mod cli_messages;
mod common_cmd;
mod common_data;
mod common_song;
mod dance_variety;
mod downbeats_dataset;
mod editor_app;
mod hardening;
mod kill_points;
mod learn_bench;
mod learn_hidden_rule;
mod learn_workspace;
mod melody_midi;
mod melody_synth;
mod model_e2e;
mod model_pretrain;
mod motion_dance;
mod motion_data;
mod render_offscreen;
mod structure_lmms;
mod takes_import;
mod video_export;
