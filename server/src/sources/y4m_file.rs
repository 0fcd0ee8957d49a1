//! Y4M (YUV4MPEG2) raw video files, re-encoded live with OpenH264 at a chosen bitrate and size:
//! the header and frame framing are parsed here, frames are read from disk one at a time (raw video
//! is large), scaled if asked (bilinear), encoded, paced at the file's frame rate and looped.
//! Only 8-bit 4:2:0 is accepted (`C420`, `C420jpeg`, `C420paldv`, `C420mpeg2`, or no `C`).

use crate::frame::SourceFrame;
use crate::hub::Hub;
use crate::sources::pattern::has_idr;
use crate::sources::{Pacer, SourceError, StopFlag, now_us};
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod};
use openh264::formats::YUVBuffer;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

/// Longest header or frame line accepted.
const MAX_LINE: usize = 4096;
/// Largest picture accepted.
const MAX_DIMENSION: usize = 8192;

/// A Y4M stream header.
#[derive(Debug, Clone, PartialEq)]
pub struct Y4mHeader {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Frames per second (`F` numerator / denominator; 25 if absent).
    pub fps: f64,
}

impl Y4mHeader {
    /// Parses the header line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Y4mHeader, String> {
        let line = std::str::from_utf8(line).map_err(|_| "header is not ASCII")?;
        let mut words = line.split(' ');
        if words.next() != Some("YUV4MPEG2") {
            return Err("not a Y4M file (no YUV4MPEG2 signature)".into());
        }
        let (mut width, mut height, mut fps) = (None, None, 25.0);
        for w in words.filter(|w| !w.is_empty()) {
            // A word whose first character is not one byte is no known tag: ignored like the others.
            let Some((tag, value)) = w.split_at_checked(1) else { continue };
            match tag {
                "W" => width = value.parse::<usize>().ok(),
                "H" => height = value.parse::<usize>().ok(),
                "F" => {
                    let (n, d) = value.split_once(':').ok_or("bad F field")?;
                    let (n, d): (f64, f64) =
                        (n.parse().map_err(|_| "bad F field")?, d.parse().map_err(|_| "bad F field")?);
                    if n <= 0.0 || d <= 0.0 {
                        return Err("bad frame rate".into());
                    }
                    fps = n / d;
                }
                "I" if value != "p" && value != "?" => {
                    return Err(format!("interlaced Y4M ({value}) is not supported"));
                }
                "C" if !matches!(value, "420" | "420jpeg" | "420paldv" | "420mpeg2") => {
                    return Err(format!("colour space C{value} is not supported (8-bit 4:2:0 only)"));
                }
                _ => {}
            }
        }
        let (width, height) = (width.ok_or("no W field")?, height.ok_or("no H field")?);
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(format!("picture size {width}x{height} out of range"));
        }
        if !(0.1..=1000.0).contains(&fps) {
            return Err(format!("frame rate {fps} out of range"));
        }
        Ok(Y4mHeader { width, height, fps })
    }

    /// Bytes of one picture: Y, then U and V at half size (rounded up).
    pub fn frame_len(&self) -> usize {
        let (cw, ch) = (self.width.div_ceil(2), self.height.div_ceil(2));
        self.width * self.height + 2 * cw * ch
    }
}

/// A Y4M source.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Y4mFileSpec {
    /// The file.
    pub path: PathBuf,
    /// Output width (default: the file's, rounded down to even).
    pub width: Option<usize>,
    /// Output height (default: the file's, rounded down to even).
    pub height: Option<usize>,
    /// Encoder bitrate in bits per second.
    #[serde(default = "default_bitrate")]
    pub bitrate: u32,
    /// Keyframe interval in frames.
    #[serde(default = "default_gop")]
    pub gop: u32,
}

fn default_bitrate() -> u32 {
    2_000_000
}
fn default_gop() -> u32 {
    60
}

/// Reads a line up to `\n` (excluded), at most [`MAX_LINE`] bytes; `None` at end of file.
fn read_line(r: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = r.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long or truncated"));
    }
    line.pop();
    Ok(Some(line))
}

/// Scales one plane bilinearly (`src` is `sw`×`sh`, tight).
fn scale_plane(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize, out: &mut Vec<u8>) {
    for y in 0..dh {
        let fy = ((y as f64 + 0.5) * sh as f64 / dh as f64 - 0.5).clamp(0.0, (sh - 1) as f64);
        let (y0, wy) = (fy as usize, fy.fract());
        let y1 = (y0 + 1).min(sh - 1);
        for x in 0..dw {
            let fx = ((x as f64 + 0.5) * sw as f64 / dw as f64 - 0.5).clamp(0.0, (sw - 1) as f64);
            let (x0, wx) = (fx as usize, fx.fract());
            let x1 = (x0 + 1).min(sw - 1);
            let p = |yy: usize, xx: usize| src[yy * sw + xx] as f64;
            let top = p(y0, x0) * (1.0 - wx) + p(y0, x1) * wx;
            let bottom = p(y1, x0) * (1.0 - wx) + p(y1, x1) * wx;
            out.push((top * (1.0 - wy) + bottom * wy).round() as u8);
        }
    }
}

/// Converts a Y4M picture (`w`×`h`, chroma rounded up) to tight I420 at `dw`×`dh` (even).
pub fn to_i420(picture: &[u8], w: usize, h: usize, dw: usize, dh: usize) -> Vec<u8> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (y, uv) = picture.split_at(w * h);
    let (u, v) = uv.split_at(cw * ch);
    let mut out = Vec::with_capacity(dw * dh * 3 / 2);
    scale_plane(y, w, h, dw, dh, &mut out);
    scale_plane(u, cw, ch, dw / 2, dh / 2, &mut out);
    scale_plane(v, cw, ch, dw / 2, dh / 2, &mut out);
    out
}

/// Re-encodes the file in a loop until `stop` is set.
pub fn run(spec: &Y4mFileSpec, hub: &Arc<Hub>, stop: &StopFlag) -> Result<(), SourceError> {
    let path = spec.path.display().to_string();
    let io = |error| SourceError::Io { path: path.clone(), error };
    let invalid = |what: String| SourceError::Invalid(format!("{path}: {what}"));
    let mut file = BufReader::new(std::fs::File::open(&spec.path).map_err(io)?);
    let header_line = read_line(&mut file).map_err(io)?.ok_or_else(|| invalid("empty file".into()))?;
    let header = Y4mHeader::parse(&header_line).map_err(invalid)?;
    let data_start = file.stream_position().map_err(io)?;
    let dw = spec.width.unwrap_or(header.width) & !1;
    let dh = spec.height.unwrap_or(header.height) & !1;
    if !(16..=4096).contains(&dw) || !(16..=2304).contains(&dh) {
        return Err(invalid(format!("output size {dw}x{dh} out of range")));
    }
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(spec.bitrate))
        .max_frame_rate(FrameRate::from_hz(header.fps as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(spec.gop.max(1)))
        .skip_frames(false);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| SourceError::Encoder(e.to_string()))?;
    let mut pacer = Pacer::new(header.fps);
    let mut picture = vec![0u8; header.frame_len()];
    let mut out = Vec::new();
    let mut n: u64 = 0;
    let mut frames_this_loop = 0;
    while !stop.is_set() {
        let Some(line) = read_line(&mut file).map_err(io)? else {
            if frames_this_loop == 0 {
                return Err(SourceError::Empty(path));
            }
            file.seek(SeekFrom::Start(data_start)).map_err(io)?;
            frames_this_loop = 0;
            encoder.force_intra_frame(); // each loop starts decodable
            continue;
        };
        if !line.starts_with(b"FRAME") {
            return Err(invalid(format!("expected FRAME after {frames_this_loop} frames")));
        }
        match file.read_exact(&mut picture) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && frames_this_loop > 0 => {
                tracing::warn!(%path, "last frame truncated; looping");
                file.seek(SeekFrom::Start(data_start)).map_err(io)?;
                frames_this_loop = 0;
                continue;
            }
            Err(e) => return Err(io(e)),
        }
        frames_this_loop += 1;
        pacer.wait(stop);
        let capture_us = now_us();
        let i420 = if (dw, dh) == (header.width, header.height) {
            picture.clone()
        } else {
            to_i420(&picture, header.width, header.height, dw, dh)
        };
        if hub.take_keyframe_request() {
            encoder.force_intra_frame();
        }
        out.clear();
        encoder
            .encode(&YUVBuffer::from_vec(i420, dw, dh))
            .map_err(|e| SourceError::Encoder(e.to_string()))?
            .write_vec(&mut out);
        if !out.is_empty() {
            let pts_us = (n as f64 * 1e6 / header.fps) as u64;
            hub.publish(&SourceFrame {
                pts_us,
                capture_us,
                key: has_idr(&out),
                data: Bytes::copy_from_slice(&out),
            });
        }
        n += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_and_rejects_unsupported_ones() {
        let h = Y4mHeader::parse(b"YUV4MPEG2 W352 H288 F30000:1001 Ip A128:117 C420jpeg XYSCSS=420JPEG")
            .expect("valid");
        assert_eq!((h.width, h.height), (352, 288));
        assert!((h.fps - 29.97).abs() < 0.01);
        assert_eq!(h.frame_len(), 352 * 288 * 3 / 2);
        assert_eq!(Y4mHeader::parse(b"YUV4MPEG2 W3 H3").expect("odd").frame_len(), 9 + 2 * 4);
        for bad in [
            &b"YUV4MPEG W1 H1"[..],
            b"YUV4MPEG2 W1",
            b"YUV4MPEG2 W1 H1 C444",
            b"YUV4MPEG2 W1 H1 C420p10",
            b"YUV4MPEG2 W1 H1 It",
            b"YUV4MPEG2 W0 H1",
            b"YUV4MPEG2 W99999 H1",
            b"YUV4MPEG2 W1 H1 F1:0",
            b"YUV4MPEG2 W1 H1 Fx",
            b"\xff\xfe",
        ] {
            assert!(Y4mHeader::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn scaling_keeps_flat_areas_flat_and_sizes_right() {
        let (w, h) = (8, 6);
        let pic = vec![100u8; Y4mHeader { width: w, height: h, fps: 1.0 }.frame_len()];
        let out = to_i420(&pic, w, h, 4, 4);
        assert_eq!(out.len(), 4 * 4 + 2 * 2 * 2);
        assert!(out.iter().all(|&p| p == 100));
    }
}
