//! The real cpal output path on ALSA's `null` PCM (no sound card needed): the stream opens,
//! the callback runs, and the playhead it publishes advances. Linux only.

#![allow(clippy::expect_used)]

#[cfg(target_os = "linux")]
#[test]
fn cpal_stream_on_the_alsa_null_device_drives_the_playhead() {
    use std::sync::Arc;
    let dir = std::env::temp_dir().join(format!("pw-alsa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("alsa.conf");
    // A complete ALSA configuration with only a null default device.
    std::fs::write(&conf, "pcm.!default { type null }\n").expect("conf");
    // SAFETY: this test binary has this one test; nothing else reads the environment while
    // it is changed, and alsa-lib reads ALSA_CONFIG_PATH on first use, after this.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", &conf);
    }
    let sr = 22_050;
    let samples: Arc<[f32]> = (0..sr * 20)
        .map(|i| (i as f32 * 0.05).sin() * 0.1)
        .collect::<Vec<f32>>()
        .into();
    let player = phrasewise::app::playback::Player::open(samples, sr as u32);
    assert!(
        player.unavailable.is_none(),
        "null device did not open: {:?}",
        player.unavailable
    );
    let tr = player.transport();
    tr.seek(2.0);
    tr.set_playing(true);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let p = tr.position();
    assert!(p > 2.0, "playhead did not move: {p}");
    tr.set_playing(false);
    let q = tr.position();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!((tr.position() - q).abs() < 1e-9, "paused playhead moved");
    let _ = std::fs::remove_dir_all(dir);
}
