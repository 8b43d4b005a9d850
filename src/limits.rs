//! The program's limits in one place: how long a song, how fast a sample rate, how many BVH
//! frames, how large a file or a model it accepts. Each is checked where the data comes in
//! (decoder, BVH parser, document and model readers), with an error naming the file, so no
//! input can make the program panic, hang or allocate without bound. The README's "Limits"
//! section lists them.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

/// Longest song analysed, and longest choreography exported (s): one hour.
pub const MAX_SONG_SECONDS: f64 = 3600.0;
/// Lowest sample rate a song may declare (Hz).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate a song may declare (Hz).
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Most frames a BVH file may declare.
pub const MAX_BVH_FRAMES: usize = 1_000_000;
/// Most channel values (frames × channels) a BVH file may hold: 480 MB as `f64`.
pub const MAX_BVH_VALUES: usize = 60_000_000;
/// Shortest BVH frame time (s): 10 000 frames per second.
pub const MIN_FRAME_TIME: f64 = 1e-4;
/// Longest BVH frame time (s).
pub const MAX_FRAME_TIME: f64 = 10.0;
/// Longest motion clip (frames × frame time, s): two hours.
pub const MAX_MOTION_SECONDS: f64 = 7200.0;
/// Largest file read whole into memory (documents, BVH, weights): 512 MiB.
pub const MAX_FILE_BYTES: u64 = 512 << 20;
/// Most slots the decoder's variety penalty looks back; more are clamped to this.
pub const MAX_DIVERSITY_WINDOW: usize = 64;
/// Most partial paths the decoder's variety beam search keeps; more are clamped to this.
pub const MAX_BEAM_WIDTH: usize = 256;
/// Widest layer of a model (channels, embedding length, inner widths).
pub const MAX_MODEL_WIDTH: usize = 8192;
/// Most blocks in one stage of a model.
pub const MAX_MODEL_BLOCKS: usize = 64;
/// Most classes (library phrases) of a model's predictor.
pub const MAX_MODEL_CLASSES: usize = 100_000;
/// Most parameters of one model module (about 1 GB of `f32`).
pub const MAX_MODEL_PARAMS: u64 = 250_000_000;

/// The length of `path` when it is a regular file of at most `max` bytes. A device
/// (`/dev/zero`), a FIFO or a folder would never end, block or not read, so it is refused
/// before it is opened.
pub fn regular_file_len(path: &Path, max: u64) -> io::Result<u64> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(too_large(meta.len(), max));
    }
    Ok(meta.len())
}

fn too_large(len: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("file too large ({len} bytes, the limit is {max})"),
    )
}

/// Reads a regular file of at most `max` bytes ([`regular_file_len`]); a file that grows
/// past `max` while read is refused too.
pub fn read_file(path: impl AsRef<Path>, max: u64) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    let len = regular_file_len(path, max)?;
    let f = File::open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64, max));
    }
    Ok(bytes)
}

/// [`read_file`] as UTF-8 text.
pub fn read_text(path: impl AsRef<Path>, max: u64) -> io::Result<String> {
    String::from_utf8(read_file(path, max)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_folders_and_large_files() {
        let dir = std::env::temp_dir().join(format!("pw-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.txt");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read_text(&f, 5).unwrap(), "hello");
        let e = read_file(&f, 4).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        assert!(read_file(&dir, MAX_FILE_BYTES).is_err());
        #[cfg(unix)]
        {
            let e = read_file(Path::new("/dev/zero"), MAX_FILE_BYTES).unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
