//! Symphonia decoding loop: probe, pick the default audio track, decode packet by packet,
//! downmix to mono (channel mean, as `librosa.to_mono`) and resample on the fly.

use super::{ANALYSIS_SR, Audio, AudioError, StreamResampler};
use std::fs::File;
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

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
    let p = || path.to_path_buf();
    let file = File::open(path).map_err(|source| AudioError::Open { path: p(), source })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(AudioError::Empty { path: p() });
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
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
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Unsupported {
            path: p(),
            reason: describe(&e),
        })?;

    let mut warnings = Vec::new();
    let mut source_rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count());
    if let (Some(n), true) = (claimed_frames, source_rate > 0) {
        let minutes = n as f64 / f64::from(source_rate) / 60.0;
        if minutes > opts.max_minutes {
            return Err(AudioError::TooLong {
                path: p(),
                limit_min: opts.max_minutes,
            });
        }
    }
    let max_out = (opts.max_minutes * 60.0 * f64::from(opts.target_rate)) as usize;

    let mut resampler: Option<StreamResampler> = None;
    let mut out: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let mut mono: Vec<f32> = Vec::new();
    let mut bad_run = 0usize;
    let mut bad_total = 0usize;
    let mut decoded_frames: u64 = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                warnings.push("the stream ends early (file truncated?)".to_string());
                break;
            }
            Err(SymError::ResetRequired) => {
                warnings.push("stream parameters changed mid-file; decoding stopped".into());
                break;
            }
            Err(e) => {
                if decoded_frames == 0 {
                    return Err(AudioError::Decode {
                        path: p(),
                        reason: describe(&e),
                    });
                }
                warnings.push(format!("demuxing stopped: {}", describe(&e)));
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(msg)) => {
                bad_run += 1;
                bad_total += 1;
                if bad_run > MAX_BAD_PACKETS {
                    if decoded_frames == 0 {
                        return Err(AudioError::Decode {
                            path: p(),
                            reason: msg.to_string(),
                        });
                    }
                    warnings.push(format!("too many corrupt packets; stopped ({msg})"));
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
        let spec = buf.spec();
        let ch = spec.channels().count().max(1);
        if source_rate == 0 {
            source_rate = spec.rate();
        }
        channels = ch;
        if resampler.is_none() {
            if source_rate == 0 {
                return Err(AudioError::Decode {
                    path: p(),
                    reason: "unknown sample rate".into(),
                });
            }
            resampler = Some(StreamResampler::new(source_rate, opts.target_rate)?);
        }
        buf.copy_to_vec_interleaved(&mut interleaved);
        let frames = interleaved.len() / ch;
        decoded_frames += frames as u64;
        mono.clear();
        let scale = 1.0 / ch as f32;
        mono.extend(
            interleaved
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() * scale),
        );
        if let Some(r) = resampler.as_mut() {
            r.push(&mono, &mut out)?;
        }
        if out.len() > max_out {
            return Err(AudioError::TooLong {
                path: p(),
                limit_min: opts.max_minutes,
            });
        }
    }
    if let Some(r) = resampler.as_mut() {
        r.finish(&mut out)?;
    }
    if bad_total > 0 {
        warnings.push(format!("{bad_total} corrupt packet(s) skipped"));
    }
    if let (Some(n), true) = (claimed_frames, source_rate > 0) {
        if n > decoded_frames + u64::from(source_rate) / 10 {
            warnings.push(format!(
                "the header claims {:.2} s but only {:.2} s of audio is present",
                n as f64 / f64::from(source_rate),
                decoded_frames as f64 / f64::from(source_rate)
            ));
        }
    }
    let seconds = out.len() as f64 / f64::from(opts.target_rate);
    if decoded_frames == 0 || seconds < opts.min_seconds {
        return Err(AudioError::TooShort {
            path: p(),
            seconds,
            min: opts.min_seconds,
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
        sample_rate: opts.target_rate,
        source_rate,
        source_channels: channels,
        warnings,
    })
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
