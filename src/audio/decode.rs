//! Symphonia decoding loop: probe, pick the default audio track, decode packet by packet,
//! downmix to mono (channel mean, as `librosa.to_mono`) and resample on the fly.

use super::{ANALYSIS_SR, Audio, AudioError, StreamResampler};
use std::fs::File;
use std::path::Path;
use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;

/// Options for [`decode_file`].
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Output rate (Hz).
    pub target_rate: u32,
    /// Files longer than this are refused (minutes), keeping memory bounded.
    pub max_minutes: f64,
    /// Files shorter than this are refused (seconds): nothing musical can be found in them.
    pub min_seconds: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            target_rate: ANALYSIS_SR,
            max_minutes: 20.0,
            min_seconds: 1.0,
        }
    }
}

/// Consecutive undecodable packets after which a stream is declared broken.
const MAX_BAD_PACKETS: usize = 64;

/// Decodes `path` to mono at `opts.target_rate`.
///
/// A stream that ends early (truncated file, a header that claims more data than there is)
/// yields what could be decoded plus a warning, as ffmpeg and libsndfile do; corrupt packets
/// are skipped with a warning. A file with no decodable audio at all is an error.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Audio, AudioError> {
    decode_file_with(path, opts, &mut |_| {})
}

/// [`decode_file`], handing every newly decoded block of output samples to `on_samples` as it
/// is produced, so analysis can start before decoding ends.
pub fn decode_file_with(
    path: &Path,
    opts: &DecodeOptions,
    on_samples: &mut dyn FnMut(&[f32]),
) -> Result<Audio, AudioError> {
    let p = || path.to_path_buf();
    let Opened {
        mut format,
        mut decoder,
        track_id,
        params,
        claimed_frames,
    } = open_track(path)?;
    let source_rate = params.sample_rate.unwrap_or(0);
    if source_rate > 0 {
        check_rate(path, source_rate)?;
    }
    let opts = &DecodeOptions {
        max_minutes: opts.max_minutes.min(crate::limits::MAX_SONG_SECONDS / 60.0),
        ..opts.clone()
    };
    #[allow(clippy::redundant_closure_for_method_calls)] // the type's path is private
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    if let (Some(n), true) = (claimed_frames, source_rate > 0) {
        let minutes = n as f64 / f64::from(source_rate) / 60.0;
        if minutes > opts.max_minutes {
            return Err(AudioError::TooLong {
                path: p(),
                limit_min: opts.max_minutes,
            });
        }
    }

    // MP4 edit list (AAC priming), applied by hand: symphonia 0.6 does not
    let trim = if is_mp4(path) && source_rate > 0 {
        mp4_edit_trim(path, source_rate)
    } else {
        None
    };
    let mut sink = Sink::new(path, opts, trim, source_rate, channels);
    let mut bad_run = 0usize;
    let mut bad_total = 0usize;
    while let Some(packet) = next_packet(&mut *format, &mut sink)? {
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(msg)) => {
                bad_run += 1;
                bad_total += 1;
                if bad_run > MAX_BAD_PACKETS {
                    if sink.decoded_frames == 0 {
                        return Err(AudioError::Decode {
                            path: p(),
                            reason: msg.to_string(),
                        });
                    }
                    sink.warnings
                        .push(format!("too many corrupt packets; stopped ({msg})"));
                    break;
                }
                continue;
            }
            Err(SymError::IoError(_)) => {
                bad_total += 1;
                continue;
            }
            Err(e) => {
                return Err(AudioError::Decode {
                    path: p(),
                    reason: describe(&e),
                });
            }
        };
        bad_run = 0;
        sink.push(&buf, on_samples)?;
    }
    sink.finish(bad_total, claimed_frames, on_samples)
}

/// An opened file: its demuxer, the default audio track and a decoder for it.
struct Opened {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    params: AudioCodecParameters,
    /// Frames the container claims the track has.
    claimed_frames: Option<u64>,
}

/// Opens `path`, probes its format and makes a decoder for its default audio track.
fn open_track(path: &Path) -> Result<Opened, AudioError> {
    let p = || path.to_path_buf();
    // Refused before opening: a FIFO would block, a device never end.
    crate::limits::regular_file_len(path, u64::MAX)
        .map_err(|err| AudioError::Open { path: p(), err })?;
    let file = File::open(path).map_err(|err| AudioError::Open { path: p(), err })?;
    let len = file.metadata().map_or(0, |m| m.len());
    if len == 0 {
        return Err(AudioError::Empty { path: p() });
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| AudioError::Unsupported {
            path: p(),
            reason: describe(&e),
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::NoAudioTrack { path: p() })?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .ok_or_else(|| AudioError::NoAudioTrack { path: p() })?
        .clone();
    let claimed_frames = track.num_frames;
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Unsupported {
            path: p(),
            reason: describe(&e),
        })?;
    Ok(Opened {
        format,
        decoder,
        track_id,
        params,
        claimed_frames,
    })
}

/// True for the MP4 family of extensions, whose edit lists are applied by hand.
/// Refuses a sample rate outside [`crate::limits`]' range (a huge one would size the
/// resampler's FFT without bound).
fn check_rate(path: &Path, rate: u32) -> Result<(), AudioError> {
    if (crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::SampleRate {
            path: path.to_path_buf(),
            rate,
        })
    }
}

fn is_mp4(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "m4a" | "mp4" | "m4b" | "aac"
        )
    })
}

/// The next packet, or `None` when the stream ends: a truncated stream or a mid-file
/// parameter change ends it with a warning; a demuxing error before any audio is an error.
fn next_packet(
    format: &mut dyn FormatReader,
    sink: &mut Sink<'_>,
) -> Result<Option<Packet>, AudioError> {
    match format.next_packet() {
        Ok(packet) => Ok(packet),
        Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            sink.warnings
                .push("the stream ends early (file truncated?)".to_string());
            Ok(None)
        }
        Err(SymError::ResetRequired) => {
            sink.warnings
                .push("stream parameters changed mid-file; decoding stopped".into());
            Ok(None)
        }
        Err(e) => {
            if sink.decoded_frames == 0 {
                return Err(AudioError::Decode {
                    path: sink.path.to_path_buf(),
                    reason: describe(&e),
                });
            }
            sink.warnings
                .push(format!("demuxing stopped: {}", describe(&e)));
            Ok(None)
        }
    }
}

/// Where decoded buffers go: edit-list trimming, downmix to mono, streaming resampling, the
/// length limit, and the warnings gathered on the way.
struct Sink<'a> {
    path: &'a Path,
    opts: &'a DecodeOptions,
    /// Whether an MP4 edit list trims the stream (then its claimed length is not checked).
    trimmed: bool,
    /// Source frames still to drop (encoder priming).
    skip_left: u64,
    /// Source frames to keep at most.
    keep_limit: Option<u64>,
    /// Output samples beyond which the file is too long.
    max_out: usize,
    source_rate: u32,
    channels: usize,
    resampler: Option<StreamResampler>,
    out: Vec<f32>,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    /// Source frames decoded and kept.
    decoded_frames: u64,
    warnings: Vec<String>,
}

impl<'a> Sink<'a> {
    fn new(
        path: &'a Path,
        opts: &'a DecodeOptions,
        trim: Option<EditTrim>,
        source_rate: u32,
        channels: usize,
    ) -> Sink<'a> {
        Sink {
            path,
            opts,
            trimmed: trim.is_some(),
            skip_left: trim.map_or(0, |t| t.skip),
            keep_limit: trim.and_then(|t| t.keep),
            max_out: (opts.max_minutes * 60.0 * f64::from(opts.target_rate)) as usize,
            source_rate,
            channels,
            resampler: None,
            out: Vec::new(),
            interleaved: Vec::new(),
            mono: Vec::new(),
            decoded_frames: 0,
            warnings: Vec::new(),
        }
    }

    /// Trims, downmixes and resamples one decoded buffer, handing the new output samples to
    /// `on_samples`.
    fn push(
        &mut self,
        buf: &GenericAudioBufferRef<'_>,
        on_samples: &mut dyn FnMut(&[f32]),
    ) -> Result<(), AudioError> {
        let spec = buf.spec();
        let ch = spec.channels().count().max(1);
        if self.source_rate == 0 {
            self.source_rate = spec.rate();
        }
        self.channels = ch;
        if self.resampler.is_none() {
            if self.source_rate == 0 {
                return Err(AudioError::Decode {
                    path: self.path.to_path_buf(),
                    reason: "unknown sample rate".into(),
                });
            }
            check_rate(self.path, self.source_rate)?;
            self.resampler = Some(StreamResampler::new(
                self.source_rate,
                self.opts.target_rate,
            )?);
        }
        let interleaved = &mut self.interleaved;
        buf.copy_to_vec_interleaved(interleaved);
        if self.skip_left > 0 {
            let drop = (self.skip_left as usize).min(interleaved.len() / ch);
            interleaved.drain(..drop * ch);
            self.skip_left -= drop as u64;
        }
        if let Some(keep) = self.keep_limit {
            let room = keep.saturating_sub(self.decoded_frames) as usize;
            interleaved.truncate(room.min(interleaved.len() / ch) * ch);
        }
        let frames = interleaved.len() / ch;
        self.decoded_frames += frames as u64;
        self.mono.clear();
        let scale = 1.0 / ch as f32;
        self.mono.extend(
            interleaved
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() * scale),
        );
        if let Some(r) = self.resampler.as_mut() {
            let before = self.out.len();
            r.push(&self.mono, &mut self.out)?;
            on_samples(&self.out[before..]);
        }
        if self.out.len() > self.max_out {
            return Err(AudioError::TooLong {
                path: self.path.to_path_buf(),
                limit_min: self.opts.max_minutes,
            });
        }
        Ok(())
    }

    /// Flushes the resampler, adds the end-of-stream warnings and checks the result.
    fn finish(
        mut self,
        bad_total: usize,
        claimed_frames: Option<u64>,
        on_samples: &mut dyn FnMut(&[f32]),
    ) -> Result<Audio, AudioError> {
        let p = || self.path.to_path_buf();
        let (source_rate, decoded_frames) = (self.source_rate, self.decoded_frames);
        let mut out = self.out;
        if let Some(r) = self.resampler.as_mut() {
            let before = out.len();
            r.finish(&mut out)?;
            if out.len() > before {
                on_samples(&out[before..]);
            }
        }
        let mut warnings = self.warnings;
        if bad_total > 0 {
            warnings.push(format!("{bad_total} corrupt packet(s) skipped"));
        }
        if let (Some(n), true) = (claimed_frames, source_rate > 0)
            && !self.trimmed
            && n > decoded_frames + u64::from(source_rate) / 10
        {
            warnings.push(format!(
                "the header claims {:.2} s but only {:.2} s of audio is present",
                n as f64 / f64::from(source_rate),
                decoded_frames as f64 / f64::from(source_rate)
            ));
        }
        let seconds = out.len() as f64 / f64::from(self.opts.target_rate);
        if decoded_frames == 0 || seconds < self.opts.min_seconds {
            return Err(AudioError::TooShort {
                path: p(),
                seconds,
                min: self.opts.min_seconds,
            });
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(AudioError::Decode {
                path: p(),
                reason: "decoded samples are not finite".into(),
            });
        }
        warnings.dedup();
        Ok(Audio {
            samples: out,
            sample_rate: self.opts.target_rate,
            source_rate,
            source_channels: self.channels,
            warnings,
        })
    }
}

/// A short, user-facing description of a symphonia error.
fn describe(e: &SymError) -> String {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file".to_string()
        }
        SymError::Unsupported(what) => format!("unsupported: {what}"),
        other => other.to_string(),
    }
}

/// Edit-list trimming of an MP4/M4A audio track: (frames to skip at the start, frames to keep
/// or `None` for all), at the track's own sample rate.
///
/// symphonia 0.6 parses `elst` but does not apply it, and its AAC decoder is not gapless, so
/// without this every AAC file would start 1024–2112 samples late (the encoder priming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditTrim {
    pub skip: u64,
    pub keep: Option<u64>,
}

/// Reads the first audio edit list of an MP4 file (box walk over `moov/trak/edts/elst` and
/// `mdia/mdhd`, ISO/IEC 14496-12 §8.6.6), converted to frames at `rate`.
pub fn mp4_edit_trim(path: &Path, rate: u32) -> Option<EditTrim> {
    let moov = read_moov(path)?;
    let movie_ts = find_box(&moov, b"mvhd").and_then(timescale)?;
    for trak in iter_boxes(&moov).filter(|(t, _)| t == b"trak") {
        let trak = trak.1;
        let Some(mdia) = find_box(trak, b"mdia") else {
            continue;
        };
        let is_audio = find_box(mdia, b"hdlr")
            .and_then(|h| h.get(8..12))
            .is_some_and(|t| t == b"soun");
        if !is_audio {
            continue;
        }
        let media_ts = find_box(mdia, b"mdhd").and_then(timescale)?;
        let elst = find_box(trak, b"edts").and_then(|e| find_box(e, b"elst"))?;
        let version = *elst.first()?;
        let count = u32::from_be_bytes(elst.get(4..8)?.try_into().ok()?);
        let mut p = 8usize;
        for _ in 0..count {
            let (dur, media_time, step) = if version == 1 {
                let d = u64::from_be_bytes(elst.get(p..p + 8)?.try_into().ok()?);
                let m = i64::from_be_bytes(elst.get(p + 8..p + 16)?.try_into().ok()?);
                (d, m, 20)
            } else {
                let d = u64::from(u32::from_be_bytes(elst.get(p..p + 4)?.try_into().ok()?));
                let m = i64::from(i32::from_be_bytes(elst.get(p + 4..p + 8)?.try_into().ok()?));
                (d, m, 12)
            };
            p += step;
            if media_time < 0 {
                continue; // an empty edit (delay): ignored
            }
            let r = f64::from(rate);
            let skip = (media_time as f64 * r / f64::from(media_ts.max(1))).round() as u64;
            let keep =
                (dur > 0).then(|| (dur as f64 * r / f64::from(movie_ts.max(1))).round() as u64);
            return Some(EditTrim { skip, keep });
        }
        return None;
    }
    None
}

/// Most top-level boxes looked at for `moov` (real files have a handful).
const MAX_TOP_BOXES: usize = 4096;

/// A box header at the start of `hdr` (16 bytes, zero-padded past the data), with `avail`
/// bytes from the box's start to the end of its container: `(type, header length, size)`.
/// Size 0 runs to the end, size 1 takes the 64-bit size after the type. `None` for a size
/// smaller than its header or running past `avail`, so a walk always moves forward and
/// stays inside its container.
fn box_header(hdr: &[u8; 16], avail: u64) -> Option<([u8; 4], u64, u64)> {
    let typ: [u8; 4] = [hdr[4], hdr[5], hdr[6], hdr[7]];
    let (hlen, size) = match u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) {
        0 => (8, avail),
        1 => (16, u64::from_be_bytes(hdr[8..16].try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    (hlen <= size && size <= avail && hlen <= avail).then_some((typ, hlen, size))
}

/// The payload of the top-level `moov` box (at most 64 MiB), if the file has one.
fn read_moov(path: &Path) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let file_len = meta.len();
    let mut off = 0u64;
    for _ in 0..MAX_TOP_BOXES {
        let avail = file_len.checked_sub(off).filter(|&a| a >= 8)?;
        f.seek(SeekFrom::Start(off)).ok()?;
        let mut hdr = [0u8; 16];
        let want = usize::try_from(avail.min(16)).ok()?;
        f.read_exact(&mut hdr[..want]).ok()?;
        let (typ, hlen, size) = box_header(&hdr, avail)?;
        if &typ == b"moov" {
            if size > 64 << 20 {
                return None;
            }
            f.seek(SeekFrom::Start(off + hlen)).ok()?;
            let mut buf = vec![0u8; usize::try_from(size - hlen).ok()?];
            f.read_exact(&mut buf).ok()?;
            return Some(buf);
        }
        off += size; // size <= avail: no overflow, and size >= 8: progress
    }
    None
}

/// The timescale of an `mvhd` or `mdhd` payload (its field offset depends on the version).
fn timescale(b: &[u8]) -> Option<u32> {
    let v = *b.first()?;
    let at = if v == 1 { 20 } else { 12 };
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The boxes directly inside `buf` ([`box_header`]); stops at the first malformed one.
fn iter_boxes(buf: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(off..)?;
        let mut hdr = [0u8; 16];
        let n = rest.len().min(16);
        hdr[..n].copy_from_slice(&rest[..n]);
        let (typ, hlen, size) = box_header(&hdr, rest.len() as u64)?;
        let (hlen, size) = (usize::try_from(hlen).ok()?, usize::try_from(size).ok()?);
        let body = rest.get(hlen..size)?;
        off += size;
        Some((typ, body))
    })
}

fn find_box<'a>(buf: &'a [u8], name: &[u8; 4]) -> Option<&'a [u8]> {
    iter_boxes(buf).find(|(t, _)| t == name).map(|(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(typ: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(typ);
        v.extend_from_slice(body);
        v
    }

    /// `ftyp` + `moov` (mvhd at 1000 Hz; one audio trak at 44.1 kHz skipping 2112 frames).
    fn m4a() -> Vec<u8> {
        let ts = |rate: u32| [vec![0u8; 12], rate.to_be_bytes().to_vec(), vec![0; 8]].concat();
        let mut hd = vec![0u8; 8];
        hd.extend_from_slice(b"soun");
        let mut el = vec![0u8, 0, 0, 0, 0, 0, 0, 1];
        el.extend_from_slice(&1000u32.to_be_bytes());
        el.extend_from_slice(&2112u32.to_be_bytes());
        el.extend_from_slice(&[0, 1, 0, 0]);
        let mdia = bx(
            b"mdia",
            &[bx(b"mdhd", &ts(44_100)), bx(b"hdlr", &hd)].concat(),
        );
        let trak = bx(b"trak", &[bx(b"edts", &bx(b"elst", &el)), mdia].concat());
        let moov = bx(b"moov", &[bx(b"mvhd", &ts(1000)), trak].concat());
        [bx(b"ftyp", b"M4A \0\0\0\0"), moov].concat()
    }

    #[test]
    fn box_headers_that_lie_are_refused() {
        let h = |size: u32, large: u64| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&size.to_be_bytes());
            b[4..8].copy_from_slice(b"free");
            b[8..].copy_from_slice(&large.to_be_bytes());
            b
        };
        assert_eq!(box_header(&h(0, 0), 100), Some((*b"free", 8, 100)));
        assert_eq!(box_header(&h(1, 40), 100), Some((*b"free", 16, 40)));
        assert_eq!(box_header(&h(24, 0), 100), Some((*b"free", 8, 24)));
        for (size, large, avail) in [
            (1, 0, 100),
            (1, 15, 100),
            (1, u64::MAX, 100),
            (1, 40, 12),
            (7, 0, 100),
            (200, 0, 100),
            (u32::MAX, 0, 100),
            (0, 0, 4),
        ] {
            assert_eq!(
                box_header(&h(size, large), avail),
                None,
                "{size} {large} {avail}"
            );
        }
    }

    #[test]
    fn edit_lists_of_crafted_files_end_without_panic() {
        let dir = std::env::temp_dir().join(format!("pw-mp4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.m4a");
        let seed = m4a();
        std::fs::write(&path, &seed).unwrap();
        let want = EditTrim {
            skip: 2112,
            keep: Some(44_100),
        };
        assert_eq!(mp4_edit_trim(&path, 44_100), Some(want));
        // every 4-byte field set to each size that once overflowed or looped
        let mut found = 0;
        for at in 0..seed.len() - 4 {
            for v in [0u32, 1, 4, 7, 8, 0x7FFF_FFFF, u32::MAX] {
                let mut b = seed.clone();
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
                std::fs::write(&path, &b).unwrap();
                found += usize::from(mp4_edit_trim(&path, 44_100) == Some(want));
            }
        }
        // some fields (reserved bytes, the rate) do not matter: the walk still finds the list
        assert!(found > 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
