//! MP4 files: the first H.264 (`avc1`) video track is demuxed with `re_mp4`, its samples converted
//! from length-prefixed form to Annex-B (`nalcast_proto::avcc`, SPS/PPS in front of every sync
//! sample), and played in decode order at the pace of their decode timestamps, looped.

use crate::frame::SourceFrame;
use crate::hub::Hub;
use crate::sources::{Pacer, SourceError, StopFlag, now_us};
use bytes::Bytes;
use nalcast_proto::avcc::AvcConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest file accepted (it is read into memory once).
pub const MAX_FILE: u64 = 1 << 30;

/// An MP4 file source.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mp4FileSpec {
    /// The file.
    pub path: PathBuf,
}

/// One converted sample.
#[derive(Debug, Clone)]
pub struct Mp4Sample {
    /// Annex-B access unit.
    pub data: Bytes,
    /// Sync sample (keyframe).
    pub key: bool,
    /// Decode time in microseconds from the track's start.
    pub dts_us: u64,
    /// Presentation time in microseconds.
    pub pts_us: u64,
}

/// The H.264 track of a file, converted.
#[derive(Debug)]
pub struct Mp4Track {
    /// Samples in decode order.
    pub samples: Vec<Mp4Sample>,
    /// Track duration in microseconds (the loop length).
    pub duration_us: u64,
    /// The track's codec string.
    pub codec: String,
}

/// Reads and converts the first H.264 track of a file.
pub fn load(spec: &Mp4FileSpec) -> Result<Mp4Track, SourceError> {
    let path = spec.path.display().to_string();
    let io = |error| SourceError::Io { path: path.clone(), error };
    let len = std::fs::metadata(&spec.path).map_err(io)?.len();
    if len > MAX_FILE {
        return Err(SourceError::Invalid(format!("{path}: {len} bytes is larger than {MAX_FILE}")));
    }
    let bytes = std::fs::read(&spec.path).map_err(io)?;
    parse(&bytes, &path)
}

/// Converts the first H.264 track of an MP4 held in memory; `name` labels errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<Mp4Track, SourceError> {
    let invalid = |what: String| SourceError::Invalid(format!("{name}: {what}"));
    let mp4 = re_mp4::Mp4::read_bytes(bytes).map_err(|e| invalid(format!("not a readable MP4: {e}")))?;
    let mut unsupported = Vec::new();
    for track in mp4.tracks().values() {
        let codec = track.codec_string(&mp4).unwrap_or_default();
        if !codec.starts_with("avc1") {
            if !codec.is_empty() {
                unsupported.push(codec);
            }
            continue;
        }
        let record = track.raw_codec_config(&mp4).ok_or_else(|| invalid("avc1 track without avcC".into()))?;
        let config = AvcConfig::parse(&record).map_err(|e| invalid(e.to_string()))?;
        let timescale = track.timescale.max(1);
        let to_us = |t: i64| (t.max(0) as u128 * 1_000_000 / timescale as u128) as u64;
        let mut samples = Vec::with_capacity(track.samples.len());
        for s in &track.samples {
            let range = s.byte_range();
            let raw = bytes
                .get(range.clone())
                .ok_or_else(|| invalid(format!("sample {} lies outside the file", s.id)))?;
            let data = config
                .sample_to_annexb(raw, s.is_sync)
                .map_err(|e| invalid(format!("sample {}: {e}", s.id)))?;
            samples.push(Mp4Sample {
                data: data.into(),
                key: s.is_sync,
                dts_us: to_us(s.decode_timestamp),
                pts_us: to_us(s.composition_timestamp),
            });
        }
        if !samples.iter().any(|s| s.key) {
            return Err(SourceError::Empty(name.into()));
        }
        let last = samples.last().map(|s| s.dts_us).unwrap_or(0);
        let duration_us = to_us(track.duration as i64).max(last + 1);
        return Ok(Mp4Track { samples, duration_us, codec });
    }
    Err(invalid(if unsupported.is_empty() {
        "no video track".into()
    } else {
        format!("no H.264 track (found {}); only avc1 is supported", unsupported.join(", "))
    }))
}

/// Plays the track in a loop until `stop` is set, paced by decode timestamps.
pub fn run(spec: &Mp4FileSpec, hub: &Arc<Hub>, stop: &StopFlag) -> Result<(), SourceError> {
    let track = load(spec)?;
    let first_key = track.samples.iter().position(|s| s.key).unwrap_or(0);
    let mut loop_start = Instant::now();
    let mut base_us: u64 = 0; // stream time at the start of this loop
    let mut idle = Pacer::new(1000.0);
    while !stop.is_set() {
        let offset = track.samples[first_key].dts_us;
        for s in &track.samples[first_key..] {
            let due = loop_start + Duration::from_micros(s.dts_us - offset);
            while !stop.is_set() && Instant::now() < due {
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(50)));
            }
            if stop.is_set() {
                break;
            }
            let _ = hub.take_keyframe_request();
            hub.publish(&SourceFrame {
                pts_us: base_us + s.pts_us.saturating_sub(offset),
                capture_us: now_us(),
                key: s.key,
                data: s.data.clone(),
            });
        }
        let length = track.duration_us.saturating_sub(offset).max(1);
        base_us += length;
        loop_start += Duration::from_micros(length);
        if Instant::now() > loop_start + Duration::from_secs(1) {
            loop_start = Instant::now(); // we fell far behind: restart the clock rather than burst
        }
        idle.wait(stop);
    }
    Ok(())
}
