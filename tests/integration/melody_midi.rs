//! Melody extraction on rendered MIDI songs (`shared/data/audio/openmsx`: FluidR3 renders of
//! the OpenMSX MIDI files), scored against the lead instrument's notes read from the MIDI file.
//! Skipped with a note when the data folder is absent.

use phrasewise::analysis::AnalysisConfig;
use phrasewise::analysis::melody::{MelodyConfig, extract_melody};
use std::path::{Path, PathBuf};

/// A MIDI note: channel, key, start and end (s).
#[derive(Debug, Clone, Copy)]
struct MidiNote {
    ch: u8,
    key: u8,
    t0: f64,
    t1: f64,
}

fn vlq(d: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0_u64;
    loop {
        let b = *d.get(*i)?;
        *i += 1;
        v = (v << 7) | u64::from(b & 0x7f);
        if b < 0x80 {
            return Some(v);
        }
    }
}

/// Minimal Standard MIDI File reader: notes of all tracks, timed through the tempo map.
fn read_midi(path: &Path) -> Option<Vec<MidiNote>> {
    let d = std::fs::read(path).ok()?;
    if d.get(..4)? != b"MThd" {
        return None;
    }
    let be16 = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?])) };
    let be32 = |i: usize| -> Option<usize> {
        Some(
            u32::from_be_bytes([*d.get(i)?, *d.get(i + 1)?, *d.get(i + 2)?, *d.get(i + 3)?])
                as usize,
        )
    };
    let n_tracks = be16(10)?;
    let division = f64::from(be16(12)?);
    let mut i = 8 + be32(4)?;
    // (tick, kind, channel, key): kind 0 = off, 1 = on; tempo events separately.
    let mut events: Vec<(u64, u8, u8, u8)> = Vec::new();
    let mut tempos: Vec<(u64, f64)> = Vec::new();
    for _ in 0..n_tracks {
        if d.get(i..i + 4)? != b"MTrk" {
            return None;
        }
        let end = i + 8 + be32(i + 4)?;
        let mut j = i + 8;
        let (mut tick, mut status) = (0_u64, 0_u8);
        while j < end {
            tick += vlq(&d, &mut j)?;
            let b = *d.get(j)?;
            if b == 0xff {
                let kind = *d.get(j + 1)?;
                j += 2;
                let len = vlq(&d, &mut j)? as usize;
                if kind == 0x51 && len == 3 {
                    let us =
                        (u32::from(d[j]) << 16) | (u32::from(d[j + 1]) << 8) | u32::from(d[j + 2]);
                    tempos.push((tick, f64::from(us) / 1e6));
                }
                j += len;
                continue;
            }
            if b == 0xf0 || b == 0xf7 {
                j += 1;
                let len = vlq(&d, &mut j)? as usize;
                j += len;
                continue;
            }
            if b & 0x80 != 0 {
                status = b;
                j += 1;
            }
            let (kind, ch) = (status & 0xf0, status & 0x0f);
            let n_data = if kind == 0xc0 || kind == 0xd0 { 1 } else { 2 };
            let a = *d.get(j)?;
            let v = if n_data == 2 { *d.get(j + 1)? } else { 0 };
            j += n_data;
            match kind {
                0x90 if v > 0 => events.push((tick, 1, ch, a)),
                0x80 | 0x90 => events.push((tick, 0, ch, a)),
                _ => {}
            }
        }
        i = end;
    }
    tempos.sort_by_key(|t| t.0);
    let seconds = |tick: u64| {
        let (mut s, mut prev, mut spb) = (0.0, 0_u64, 0.5);
        for &(t, v) in &tempos {
            if t > tick {
                break;
            }
            s += (t - prev) as f64 * spb / division;
            prev = t;
            spb = v;
        }
        s + (tick - prev) as f64 * spb / division
    };
    events.sort_by_key(|e| (e.0, e.1));
    let mut open: Vec<(u8, u8, f64)> = Vec::new();
    let mut notes = Vec::new();
    for (tick, kind, ch, key) in events {
        let t = seconds(tick);
        if kind == 1 {
            open.push((ch, key, t));
        } else if let Some(k) = open.iter().position(|o| o.0 == ch && o.1 == key) {
            let (_, _, t0) = open.remove(k);
            notes.push(MidiNote { ch, key, t0, t1: t });
        }
    }
    Some(notes)
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/audio/openmsx")
}

/// Raw pitch accuracy (50 cents) against the highest sounding note of `lead_ch`, over the frames
/// where that channel sounds.
fn lead_accuracy(name: &str, lead_ch: u8) -> Option<f32> {
    let dir = data_dir();
    let notes = read_midi(&dir.join(format!("{name}.mid")))?;
    let audio = phrasewise::audio::decode_file(
        &dir.join(format!("{name}.ogg")),
        &phrasewise::audio::DecodeOptions::default(),
    )
    .ok()?;
    let cfg = AnalysisConfig::default();
    let est = extract_melody(&audio.samples, &cfg, &MelodyConfig::default());
    let lead: Vec<MidiNote> = notes.into_iter().filter(|n| n.ch == lead_ch).collect();
    let (mut frames, mut correct) = (0_usize, 0_usize);
    for (i, &f) in est.f0_hz.iter().enumerate() {
        let t = cfg.frame_time(i);
        let Some(key) = lead
            .iter()
            .filter(|n| n.t0 <= t && t < n.t1)
            .map(|n| n.key)
            .max()
        else {
            continue;
        };
        frames += 1;
        let g = 440.0 * ((f32::from(key) - 69.0) / 12.0).exp2();
        if f > 0.0 && (1200.0 * (f / g).log2()).abs() < 50.0 {
            correct += 1;
        }
    }
    Some(correct as f32 / frames.max(1) as f32)
}

#[test]
fn rendered_midi_lead_lines() {
    if !data_dir().exists() {
        eprintln!("skipped: {} not found", data_dir().display());
        return;
    }
    // (song, lead channel, minimum raw pitch accuracy): choir "ooh" lead over piano, bass and
    // drums; ocarina over guitar, bass, piano and drums; xylophone lead.
    for (name, ch, min) in [
        ("5432gone_redfarn", 0, 0.8),
        ("midnight_snow_run", 4, 0.6),
        ("coconut_run2", 2, 0.6),
    ] {
        let Some(rpa) = lead_accuracy(name, ch) else {
            panic!("{name}: could not read the MIDI or audio file");
        };
        eprintln!("{name}: lead channel {ch}, raw pitch accuracy {rpa:.3}");
        assert!(rpa >= min, "{name}: raw pitch accuracy {rpa:.3} < {min}");
    }
}
