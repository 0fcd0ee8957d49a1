//! Annex-B `.h264` files: split into access units (H.264 7.4.1.2.3), paced at the stream's frame
//! rate, looped. A keyframe request cannot be honoured mid-GOP; viewers wait for the file's next IDR.

use crate::frame::SourceFrame;
use crate::hub::Hub;
use crate::sources::{Pacer, SourceError, StopFlag, now_us, pattern::has_idr};
use bytes::Bytes;
use nalcast_proto::au::access_units;
use nalcast_proto::sps::SpsInfo;
use std::path::PathBuf;
use std::sync::Arc;

/// The `path` that names the bundled sample clip (compiled into the server): 8 s of a Mandelbrot
/// zoom, 640×360, High profile with B-frames, made with ffmpeg/x264.
pub const BUILTIN_SAMPLE: &str = "builtin:sample";
const SAMPLE: &[u8] = include_bytes!("../../samples/mandelbrot-640x360-high.h264");

/// Largest file accepted (it is read into memory once).
pub const MAX_FILE: u64 = 1 << 30;

/// An Annex-B file source.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct H264FileSpec {
    /// The file.
    pub path: PathBuf,
    /// Frames per second; default: the SPS VUI timing, else 30.
    pub fps: Option<f64>,
}

/// A file's access units with their keyframe flags, and the frame rate its SPS declares.
#[derive(Debug)]
pub struct Loaded {
    /// Access units in decoding order, each with "is IDR".
    pub units: Vec<(Bytes, bool)>,
    /// Frame rate from the SPS VUI timing info.
    pub fps: Option<f64>,
}

/// Reads and splits a file.
pub fn load(spec: &H264FileSpec) -> Result<Loaded, SourceError> {
    let path = spec.path.display().to_string();
    let data = if path == BUILTIN_SAMPLE {
        Bytes::from_static(SAMPLE)
    } else {
        let io = |error| SourceError::Io { path: path.clone(), error };
        let len = std::fs::metadata(&spec.path).map_err(io)?.len();
        if len > MAX_FILE {
            return Err(SourceError::Invalid(format!("{path}: {len} bytes is larger than {MAX_FILE}")));
        }
        Bytes::from(std::fs::read(&spec.path).map_err(io)?)
    };
    let fps = nalcast_proto::annexb::nal_units(&data)
        .find(|n| n.nal_type() == Some(7))
        .and_then(|n| SpsInfo::parse(n.payload).ok())
        .and_then(|s| s.fps);
    let units: Vec<(Bytes, bool)> = access_units(&data)
        .into_iter()
        .map(|r| {
            let au = data.slice(r);
            let key = has_idr(&au);
            (au, key)
        })
        .collect();
    if !units.iter().any(|(_, key)| *key) {
        return Err(SourceError::Empty(path));
    }
    Ok(Loaded { units, fps })
}

/// Plays the file in a loop until `stop` is set.
pub fn run(spec: &H264FileSpec, hub: &Arc<Hub>, stop: &StopFlag) -> Result<(), SourceError> {
    let Loaded { units, fps: sps_fps } = load(spec)?;
    let fps = spec.fps.or(sps_fps).filter(|f| *f > 0.0 && *f <= 240.0).unwrap_or(30.0);
    // Start at the first IDR so every loop begins decodable.
    let first_key = units.iter().position(|(_, key)| *key).unwrap_or(0);
    let mut pacer = Pacer::new(fps);
    let mut n: u64 = 0;
    while !stop.is_set() {
        for (au, key) in &units[first_key..] {
            pacer.wait(stop);
            if stop.is_set() {
                break;
            }
            let _ = hub.take_keyframe_request(); // only the file's own IDRs exist
            let pts_us = (n as f64 * 1e6 / fps) as u64;
            hub.publish(&SourceFrame { pts_us, capture_us: now_us(), key: *key, data: au.clone() });
            n += 1;
        }
    }
    Ok(())
}
