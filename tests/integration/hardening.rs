//! Hardening: crafted inputs that once panicked, hung or allocated without bound (issue 16),
//! and seeded fuzzing of every format the program reads. Each case must end quickly, without
//! a panic, and a refused input must name its file. The crafted files are made here, in a
//! temporary folder.

use crate::common_song;

use phrasewise::audio::{DecodeOptions, decode_file};
use phrasewise::choreo::project::RankSettings;
use phrasewise::choreo::score::ColdStartScorer;
use phrasewise::choreo::{DecodeSettings, Project, TransitionMatrix, decode, spans};
use phrasewise::export::{ExportOptions, SlotSpec, choreograph};
use phrasewise::motion::bvh::Bvh;
use phrasewise::motion::index::LibraryIndex;
use phrasewise::motion::library::Library;
use phrasewise::motion::retarget::RigMap;
use phrasewise::{labels, limits};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phrasewise-harden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `f` on another thread; fails the test if it panics or takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("{what}: panicked"),
        Err(_) => panic!("{what}: still running after {limit:?}"),
    }
}

const TEN_S: Duration = Duration::from_secs(10);

/// A small valid BVH: two joints, two frames.
const BVH: &str = "HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n\tJOINT Leg\n\t{\n\t\tOFFSET 0 -1.5 0\n\t\tCHANNELS 3 Xrotation Yrotation Zrotation\n\t\tEnd Site\n\t\t{\n\t\t\tOFFSET 0 -1 0\n\t\t}\n\t}\n}\nMOTION\nFrames: 2\nFrame Time: 0.033333\n1 2 3 0 0 0 90 0 0\n-1 2.5 3 10 20 30 0 0 -45\n";

fn bvh_with(frames: &str, frame_time: &str) -> String {
    BVH.replace("Frames: 2", &format!("Frames: {frames}"))
        .replace("Frame Time: 0.033333", &format!("Frame Time: {frame_time}"))
}

#[test]
fn bvh_frame_time_and_frame_count_are_bounded() {
    for (frames, ft) in [
        ("2", "1e-300"),
        ("2", "1e-9"),
        ("2", "1e6"),
        ("2", "0"),
        ("2", "-1"),
        ("50000000", "0.033333"),
        ("1000000", "1"),
    ] {
        let text = bvh_with(frames, ft);
        let e = within(TEN_S, "bvh", move || {
            Bvh::parse(text.as_bytes(), "crafted.bvh")
        })
        .expect_err(&format!("{frames} frames of {ft} s"));
        let msg = e.to_string();
        assert!(msg.contains("crafted.bvh"), "{msg}");
    }
    assert!(Bvh::parse(BVH.as_bytes(), "ok.bvh").is_ok());
}

/// A 16-bit mono WAV header with `rate` over `samples`.
fn wav(samples: &[f32], rate: u32) -> Vec<u8> {
    phrasewise::demo::wav_bytes(samples, rate)
}

fn tone(seconds: f64, rate: u32) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.3)
        .collect()
}

#[test]
fn wav_with_a_huge_or_tiny_sample_rate_is_refused_naming_the_file() {
    let dir = temp_dir("rate");
    for rate in [u32::MAX, 2_000_000_000, 10_000_000, 1] {
        let mut bytes = wav(&tone(2.0, 22_050), 22_050);
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        bytes[28..32].copy_from_slice(&rate.saturating_mul(2).to_le_bytes());
        let path = dir.join(format!("rate-{rate}.wav"));
        std::fs::write(&path, &bytes).unwrap();
        let p = path.clone();
        let e = within(TEN_S, "wav", move || {
            decode_file(&p, &DecodeOptions::default())
        })
        .expect_err(&format!("{rate} Hz"));
        let msg = e.to_string();
        assert!(msg.contains(&format!("rate-{rate}.wav")), "{msg}");
    }
    let ok = dir.join("ok.wav");
    std::fs::write(&ok, wav(&tone(2.0, 44_100), 44_100)).unwrap();
    assert!(decode_file(&ok, &DecodeOptions::default()).is_ok());
}

/// An MP4 box.
fn bx(typ: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(typ);
    v.extend_from_slice(body);
    v
}

/// A minimal M4A: `ftyp`, `moov` (mvhd, one audio trak with an edit list), `mdat`.
fn m4a() -> Vec<u8> {
    let mut ts = vec![0u8; 12];
    ts.extend_from_slice(&1000u32.to_be_bytes());
    ts.extend_from_slice(&[0u8; 84]);
    let mvhd = bx(b"mvhd", &ts);
    let mut md = vec![0u8; 12];
    md.extend_from_slice(&44_100u32.to_be_bytes());
    md.extend_from_slice(&[0u8; 8]);
    let mdhd = bx(b"mdhd", &md);
    let mut hd = vec![0u8; 8];
    hd.extend_from_slice(b"soun");
    hd.extend_from_slice(&[0u8; 13]);
    let hdlr = bx(b"hdlr", &hd);
    let mut el = vec![0u8, 0, 0, 0, 0, 0, 0, 1];
    el.extend_from_slice(&1000u32.to_be_bytes());
    el.extend_from_slice(&2112u32.to_be_bytes());
    el.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    let edts = bx(b"edts", &bx(b"elst", &el));
    let mdia = bx(b"mdia", &[mdhd, hdlr].concat());
    let trak = bx(b"trak", &[edts, mdia].concat());
    let moov = bx(b"moov", &[mvhd, trak].concat());
    let ftyp = bx(b"ftyp", b"M4A \0\0\0\0M4A mp42isom");
    [ftyp, moov, bx(b"mdat", &[0u8; 64])].concat()
}

/// Offsets of every box header in `m4a()` (the walker's inputs to corrupt).
fn box_offsets(b: &[u8]) -> Vec<usize> {
    let containers: [&[u8; 4]; 5] = [b"moov", b"trak", b"edts", b"mdia", b"minf"];
    let mut out = Vec::new();
    let mut stack = vec![(0usize, b.len())];
    while let Some((mut off, end)) = stack.pop() {
        while off + 8 <= end {
            out.push(off);
            let size = u32::from_be_bytes(b[off..off + 4].try_into().unwrap()) as usize;
            if containers.iter().any(|c| &b[off + 4..off + 8] == *c) {
                stack.push((off + 8, off + size));
            }
            off += size.max(8);
        }
    }
    out
}

#[test]
fn mp4_box_sizes_that_lie_end_quickly() {
    let dir = temp_dir("mp4");
    let seed = m4a();
    let offsets = box_offsets(&seed);
    assert!(offsets.len() >= 9, "{offsets:?}");
    let mut cases = 0;
    for &off in &offsets {
        for (size, large) in [
            (0u32, None),
            (1, Some(0u64)),
            (1, Some(8)),
            (1, Some(15)),
            (1, Some(u64::MAX)),
            (1, Some(u64::MAX - 7)),
            (1, Some(1 << 40)),
            (1, None),
            (4, None),
            (7, None),
            (u32::MAX, None),
            (0x7FFF_FFFF, None),
        ] {
            let mut b = seed.clone();
            b[off..off + 4].copy_from_slice(&size.to_be_bytes());
            if let Some(l) = large {
                // the 64-bit size takes the 8 bytes after the type
                b.splice(off + 8..off + 8, l.to_be_bytes());
            }
            let path = dir.join(format!("box-{off}-{size}-{}.m4a", large.unwrap_or(0)));
            std::fs::write(&path, &b).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let r = within(TEN_S, &name, move || {
                decode_file(&path, &DecodeOptions::default())
            });
            // nothing decodable is in these files: each must be an error naming the file
            let msg = r.expect_err(&name).to_string();
            assert!(msg.contains(&name), "{msg}");
            cases += 1;
        }
    }
    assert_eq!(cases, offsets.len() * 12);
}

#[test]
fn non_regular_files_are_refused_at_once() {
    let dir = temp_dir("nonregular");
    let mut paths = vec![dir.clone()];
    #[cfg(unix)]
    {
        paths.push(PathBuf::from("/dev/zero"));
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            paths.push(fifo);
        }
    }
    for p in paths {
        let q = p.clone();
        let r = within(TEN_S, "hash", move || {
            (
                phrasewise::cache::content_hash(&q).is_err(),
                phrasewise::model::train::weights_key(&q).is_err(),
                Bvh::read(&q).is_err(),
                Project::read(&q).is_err(),
                decode_file(&q, &DecodeOptions::default()).is_err(),
                labels::LabelSet::read(&q).is_err(),
                limits::read_file(&q, limits::MAX_FILE_BYTES).is_err(),
            )
        });
        assert_eq!(
            r,
            (true, true, true, true, true, true, true),
            "{}",
            p.display()
        );
    }
}

#[test]
fn a_corrupt_embedding_cache_is_a_miss() {
    use phrasewise::model::train::read_embedding_cache;
    let dir = temp_dir("embcache");
    let f = dir.join("e.bin");
    for bytes in [
        vec![],
        vec![1u8; 3],
        vec![0u8; 4 * 3 * 8 + 4],
        vec![0u8; 4 * 3 * 4],
    ] {
        std::fs::write(&f, &bytes).unwrap();
        assert_eq!(
            read_embedding_cache(&f, 3, 8),
            None,
            "{} bytes",
            bytes.len()
        );
    }
    let nan: Vec<u8> = [f32::NAN; 24]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&f, nan).unwrap();
    assert_eq!(read_embedding_cache(&f, 3, 8), None);
    let good: Vec<u8> = (0..24).flat_map(|i| (i as f32).to_le_bytes()).collect();
    std::fs::write(&f, good).unwrap();
    let v = read_embedding_cache(&f, 3, 8).unwrap();
    assert_eq!((v.len(), v[2][7]), (3, 23.0));
    assert_eq!(read_embedding_cache(&dir.join("absent.bin"), 3, 8), None);
}

/// A saved project over the starter library (its song a placeholder file).
fn saved_project(dir: &Path) -> (PathBuf, Library) {
    let song = dir.join("song.wav");
    std::fs::write(&song, b"not audio").unwrap();
    let lib = Library::starter().unwrap();
    let path = dir.join("p.phrasewise.json");
    let mut p = Project::new(
        &path,
        &song,
        "hash",
        common_song::song(110.0, &[1, 2, 1, 2, 1, 2, 1, 2]),
        &lib.index,
        None,
        &ColdStartScorer::default(),
        RankSettings::default(),
    )
    .unwrap();
    p.save(&path).unwrap();
    (path, lib)
}

#[test]
fn an_empty_library_is_an_error_not_a_panic() {
    let dir = temp_dir("emptylib");
    let song = dir.join("song.wav");
    std::fs::write(&song, b"x").unwrap();
    let mut index = Library::starter().unwrap().index;
    index.phrases.clear();
    let r = within(TEN_S, "empty library", move || {
        Project::new(
            &dir.join("p.json"),
            &song,
            "h",
            common_song::song(100.0, &[1, 2]),
            &index,
            None,
            &ColdStartScorer::default(),
            RankSettings::default(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    });
    let msg = r.unwrap_err();
    assert!(msg.contains("no phrases"), "{msg}");
}

#[test]
fn huge_spans_and_inconsistent_beats_are_refused_naming_the_project() {
    let dir = temp_dir("spans");
    let (path, lib) = saved_project(&dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let last = v["slots"].as_array().unwrap().len() - 1;
    v["slots"][last]["end"] = serde_json::json!(1e9);
    v["analysis"]["duration"] = serde_json::json!(1e9);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let msg = Project::read(&path).unwrap_err().to_string();
    assert!(
        msg.contains("p.phrasewise.json") && msg.contains("1000000000"),
        "{msg}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["analysis"]["beats"].as_array_mut().unwrap().truncate(3);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let msg = Project::read(&path).unwrap_err().to_string();
    assert!(msg.contains("p.phrasewise.json"), "{msg}");

    // the export refuses a span past the longest song before allocating for it
    let spec = SlotSpec {
        phrase: lib.index.phrases[0].id.clone(),
        start: 0.0,
        end: 1e9,
        beats: vec![0.0, 0.5],
    };
    let e = within(TEN_S, "export", move || {
        choreograph(&lib, &[spec], &ExportOptions::default()).map(|_| ())
    });
    assert!(e.unwrap_err().to_string().contains("at most"));
}

#[test]
fn span_edits_on_a_corrupt_project_in_memory_do_not_panic() {
    let dir = temp_dir("spanedits");
    let (path, _) = saved_project(&dir);
    let p = Project::read(&path).unwrap();
    let mut bad = p.clone();
    bad.analysis.beats.truncate(5);
    bad.analysis.phrases[0].beats = usize::MAX;
    bad.analysis.phrases[1].first_beat = usize::MAX - 1;
    within(TEN_S, "spans", move || {
        for t in 0..3 {
            let _ = spans::split(&bad, t, 1.0);
            let _ = spans::merge(&bad, t);
            let _ = spans::move_boundary(&bad, t, 2.0);
        }
    });
    // on the intact project the edits still work
    assert!(spans::merge(&p, 0).is_ok());
}

#[test]
fn a_huge_variety_window_and_beam_end_quickly() {
    let k = 6;
    let t_n = 400;
    let styles: Vec<String> = (0..k).map(|j| format!("s{}", j % 2)).collect();
    let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let scores: Vec<f32> = (0..t_n * k).map(|_| rng.random_range(-3.0..0.0)).collect();
    let settings = DecodeSettings {
        beam_width: 1_000_000_000_000,
        diversity_window: 1_000_000,
        diversity_penalty: 0.999,
        ..DecodeSettings::default()
    };
    let start = Instant::now();
    let d = within(TEN_S, "diversity", move || {
        decode(&scores, &vec![None; t_n], &m, &settings).unwrap()
    });
    assert_eq!(d.path.len(), t_n);
    assert!(start.elapsed() < TEN_S);
}

#[test]
fn model_json_sizes_are_checked_before_building() {
    use phrasewise::model::folder::PhraseModel;
    let dir = temp_dir("modeljson");
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../../assets/model/model.json")).unwrap();
    std::fs::write(dir.join("model.json"), seed.to_string()).unwrap();
    PhraseModel::read_info(&dir).unwrap();
    let cases: [(&[&str], serde_json::Value); 13] = [
        (
            &["feature_expert", "features"],
            serde_json::json!(u64::MAX / 2 + 1),
        ),
        (
            &["feature_expert", "weights"],
            serde_json::json!([0.5, 1.0]),
        ),
        (&["network_weight"], serde_json::json!(1e30)),
        (&["locked_matrix_weight"], serde_json::json!(-1.0)),
        (
            &["style_prior"],
            serde_json::json!({"styles": ["a", "b"], "centroids": [[0.0]], "feature_mean": [0.0],
                "feature_std": [1.0], "phrase_given_style": [[1.0], [1.0]], "weight": 1.0}),
        ),
        (
            &["predictor", "expand"],
            serde_json::json!(1_000_000_000_000u64),
        ),
        (&["predictor", "expand"], serde_json::json!(0)),
        (&["predictor", "embed_dim"], serde_json::json!(7)),
        (&["predictor", "classes"], serde_json::json!(0)),
        (&["predictor", "blocks"], serde_json::json!(1_000_000)),
        (
            &["net", "encoder", "embed_dim"],
            serde_json::json!(1u64 << 40),
        ),
        (&["net", "encoder", "stem_channels"], serde_json::json!(0)),
        (
            &["net", "mel_decoder", "widths"],
            serde_json::json!([8192, 8192, 8192, 8192, 8192, 8192, 0]),
        ),
    ];
    for (field, value) in cases {
        let mut v = seed.clone();
        let mut at = &mut v;
        for f in field {
            at = &mut at[*f];
        }
        *at = value.clone();
        std::fs::write(dir.join("model.json"), v.to_string()).unwrap();
        let d = dir.clone();
        let e = within(TEN_S, "model.json", move || {
            PhraseModel::read_info(&d).map(|_| ())
        })
        .expect_err(&format!("{field:?} = {value}"));
        assert!(e.to_string().contains("model.json"), "{e}");
    }
}

// ---- fuzzing ------------------------------------------------------------------------------

/// Extreme replacements for a number.
const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "1e-300",
    "1e-9",
    "1e9",
    "1e12",
    "NaN",
    "18446744073709551616",
    "4294967295",
    "9999999999999999999999",
    "-0",
];

/// One structure-aware mutation of a text: a flipped byte, a truncation, a number swapped for
/// an extreme, or a duplicated or deleted line.
fn mutate_text(s: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = s.to_vec();
    if b.is_empty() {
        return b;
    }
    match rng.random_range(0..5) {
        0 => {
            let i = rng.random_range(0..b.len());
            b[i] = rng.random();
        }
        1 => b.truncate(rng.random_range(0..b.len())),
        2 => {
            let starts: Vec<usize> = (0..b.len())
                .filter(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
                .collect();
            if let Some(&i) = starts.get(rng.random_range(0..starts.len().max(1))) {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.' || b[j] == b'e') {
                    j += 1;
                }
                let x = EXTREMES[rng.random_range(0..EXTREMES.len())];
                b.splice(i..j, x.bytes());
            }
        }
        op => {
            let lines: Vec<&[u8]> = s.split(|&c| c == b'\n').collect();
            let k = rng.random_range(0..lines.len());
            let mut out: Vec<&[u8]> = lines.clone();
            if op == 3 {
                out.insert(k, lines[k]);
            } else {
                out.remove(k);
            }
            b = out.join(&b'\n');
        }
    }
    b
}

/// One mutation of a binary header: a 32-bit field among the first `header` bytes set to an
/// extreme, a flipped byte, or a truncation.
fn mutate_binary(s: &[u8], header: usize, rng: &mut StdRng) -> Vec<u8> {
    let mut b = s.to_vec();
    let header = header.min(b.len());
    if header < 4 {
        return b;
    }
    match rng.random_range(0..3) {
        0 => {
            let i = rng.random_range(0..header / 4) * 4;
            let v: u32 =
                [0, 1, 7, 8, 16, 0x7FFF_FFFF, u32::MAX, rng.random()][rng.random_range(0..8)];
            let big_endian = rng.random_bool(0.5);
            let bytes = if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            let n = 4.min(b.len() - i);
            b[i..i + n].copy_from_slice(&bytes[..n]);
        }
        1 => {
            let i = rng.random_range(0..header);
            b[i] = rng.random();
        }
        _ => b.truncate(rng.random_range(0..b.len())),
    }
    b
}

/// Runs `cases` mutated inputs through `check` on a worker thread: no case may panic or take
/// more than ten seconds, and `check`'s own assertions (a refused input names its file) hold.
/// Returns how many inputs were refused.
fn fuzz(
    name: &str,
    seed: Vec<u8>,
    cases: usize,
    mutate: fn(&[u8], &mut StdRng) -> Vec<u8>,
    check: fn(&[u8], &Path) -> Result<(), String>,
) -> usize {
    let dir = temp_dir(&format!("fuzz-{name}"));
    let what = name.to_string();
    let start = Instant::now();
    let refused = within(Duration::from_secs(120), name, move || {
        let mut rng = StdRng::seed_from_u64(0x5EED_0016);
        let mut refused = 0;
        for case in 0..cases {
            let mut b = seed.clone();
            for _ in 0..rng.random_range(1..=3) {
                b = mutate(&b, &mut rng);
            }
            let t = Instant::now();
            let r = catch_unwind(AssertUnwindSafe(|| check(&b, &dir)));
            let took = t.elapsed();
            match r {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => panic!("{what} case {case}: {msg}"),
                Err(_) => {
                    let _ = std::fs::write(dir.join(format!("panic-{case}")), &b);
                    panic!(
                        "{what} case {case} panicked (input kept in {})",
                        dir.display()
                    );
                }
            }
            assert!(took < TEN_S, "{what} case {case} took {took:?}");
            refused += usize::from(dir.join("refused").exists());
            let _ = std::fs::remove_file(dir.join("refused"));
        }
        refused
    });
    eprintln!(
        "fuzz {name}: {cases} cases, {refused} refused, {:?}",
        start.elapsed()
    );
    refused
}

/// Records a refusal and checks its message names `file`.
fn refused(dir: &Path, msg: &str, file: &str) -> Result<(), String> {
    std::fs::write(dir.join("refused"), b"").map_err(|e| e.to_string())?;
    if msg.contains(file) {
        Ok(())
    } else {
        Err(format!("error does not name {file}: {msg}"))
    }
}

fn write(dir: &Path, name: &str, b: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, b).unwrap();
    p
}

#[test]
fn fuzz_bvh() {
    let n = fuzz(
        "bvh",
        BVH.as_bytes().to_vec(),
        600,
        mutate_text,
        |b, dir| {
            match Bvh::read(&write(dir, "fuzz.bvh", b)) {
                Ok(bvh) => {
                    // what the library does with a parsed file: world poses of every frame
                    let (mut pos, mut rot) = (Vec::new(), Vec::new());
                    for f in 0..bvh.frames {
                        bvh.world_pose(f, &mut pos, &mut rot);
                    }
                    Ok(())
                }
                Err(e) => refused(dir, &e.to_string(), "fuzz.bvh"),
            }
        },
    );
    assert!(n > 0 && n < 600, "{n} of 600 refused");
}

#[test]
fn fuzz_project() {
    let dir = temp_dir("fuzz-project-seed");
    let (path, _) = saved_project(&dir);
    let seed = std::fs::read(path).unwrap();
    let n = fuzz("project", seed, 300, mutate_text, |b, dir| {
        let song = dir.join("song.wav");
        if !song.exists() {
            std::fs::write(&song, b"x").unwrap();
        }
        match Project::read(&write(dir, "fuzz.phrasewise.json", b)) {
            Ok(p) => {
                for t in 0..p.slots.len().min(3) {
                    let _ = spans::split(&p, t, 2.0);
                    let _ = spans::merge(&p, t);
                    let _ = spans::move_boundary(&p, t, 4.0);
                }
                let lib = Library::starter().unwrap();
                let _ = phrasewise::export::slot_specs(&p, &lib);
                Ok(())
            }
            Err(e) => refused(dir, &e.to_string(), "fuzz.phrasewise.json"),
        }
    });
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_labels() {
    let mut set = labels::LabelSet::new();
    set.songs.push(labels::LabeledSong {
        audio: "a.wav".into(),
        content_hash: Some("abc".into()),
        phrases: vec![
            labels::LabeledPhrase {
                start: 0.5,
                end: 8.5,
                label: "hiphop-01".into(),
                status: Default::default(),
            },
            labels::LabeledPhrase {
                start: 8.5,
                end: 16.5,
                label: "house-02".into(),
                status: Default::default(),
            },
        ],
        split: Some("train".into()),
        style: Some("hiphop".into()),
    });
    set.refresh_classes();
    let seed = serde_json::to_vec_pretty(&set).unwrap();
    let n = fuzz(
        "labels",
        seed,
        400,
        mutate_text,
        |b, dir| match labels::LabelSet::read(&write(dir, "fuzz-labels.json", b)) {
            Ok(s) => {
                let _ = s.examples();
                Ok(())
            }
            Err(e) => refused(dir, &e.to_string(), "fuzz-labels.json"),
        },
    );
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_library_index() {
    let seed = phrasewise::motion::embedded::EMBEDDED_INDEX
        .as_bytes()
        .to_vec();
    let n = fuzz("index", seed, 300, mutate_text, |b, _dir| {
        let text = String::from_utf8_lossy(b);
        match LibraryIndex::from_json(&text, "fuzz-index.json") {
            Ok(_) => Ok(()),
            Err(e) => refused(_dir, &e.to_string(), "fuzz-index.json"),
        }
    });
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_rig_map() {
    let seed = include_bytes!("../../assets/library/rigs/cmu-05-ccbase.json").to_vec();
    let n = fuzz("rig", seed, 400, mutate_text, |b, dir| {
        match RigMap::read(&write(dir, "fuzz-rig.json", b)) {
            Ok(_) => Ok(()),
            Err(e) => refused(dir, &e.to_string(), "fuzz-rig.json"),
        }
    });
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_model_json() {
    use phrasewise::model::folder::PhraseModel;
    let seed = include_bytes!("../../assets/model/model.json").to_vec();
    let n = fuzz("model", seed, 400, mutate_text, |b, dir| {
        write(dir, "model.json", b);
        match PhraseModel::read_info(dir) {
            Ok(_) => Ok(()),
            Err(e) => refused(dir, &e.to_string(), "model.json"),
        }
    });
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_wav_header() {
    let seed = wav(&tone(1.5, 22_050), 22_050);
    let n = fuzz(
        "wav",
        seed,
        300,
        |s, rng| mutate_binary(s, 48, rng),
        |b, dir| match decode_file(&write(dir, "fuzz.wav", b), &DecodeOptions::default()) {
            Ok(a) => {
                if a.samples.len() as f64 > limits::MAX_SONG_SECONDS * 22_050.0 {
                    return Err(format!("{} samples decoded", a.samples.len()));
                }
                Ok(())
            }
            Err(e) => refused(dir, &e.to_string(), "fuzz.wav"),
        },
    );
    assert!(n > 0, "nothing refused");
}

#[test]
fn fuzz_mp4_header() {
    let seed = m4a();
    let len = seed.len();
    let n = fuzz(
        "mp4",
        seed,
        400,
        |s, rng| mutate_binary(s, s.len(), rng),
        |b, dir| match decode_file(&write(dir, "fuzz.m4a", b), &DecodeOptions::default()) {
            Ok(_) => Ok(()),
            Err(e) => refused(dir, &e.to_string(), "fuzz.m4a"),
        },
    );
    assert!(n > 0 && len > 0, "nothing refused");
}
