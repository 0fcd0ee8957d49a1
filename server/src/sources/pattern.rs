//! The synthetic test pattern, encoded live with OpenH264: a still grey texture, an orange square
//! moving across it at a position known for every frame ([`square`], what overlay tests check the
//! motion analyzer's and a served model's boxes against), and a machine-readable stamp — frame number and capture time — so tests and latency meters can
//! read them back from decoded pixels.
//!
//! The stamp is 4 rows of 16 blocks ([`BLOCK`] pixels square) at the top left, white = 1, black = 0,
//! most significant bit first, with neutral chroma: row 0 holds the frame number (low 16 bits),
//! rows 1–3 the capture time in milliseconds since the Unix epoch (low 48 bits).

use crate::frame::SourceFrame;
use crate::hub::Hub;
use crate::sources::{Pacer, SourceError, StopFlag, now_us};
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod};
use openh264::formats::YUVBuffer;
use std::sync::Arc;

/// Side of one stamp block in pixels.
pub const BLOCK: usize = 16;
/// Stamp size: 16 blocks across, 4 rows.
pub const STAMP_WIDTH: usize = 16 * BLOCK;
/// Stamp height.
pub const STAMP_HEIGHT: usize = 4 * BLOCK;

/// The square's top-left corner and side in picture `n` (known per frame, for overlay tests).
pub fn square(n: u64, width: usize, height: usize) -> (usize, usize, usize) {
    let side = (height / 4).max(2) & !1;
    let travel = width.saturating_sub(side).max(2);
    let x = ((n as usize * 8) % travel) & !1;
    let y = (height / 2).saturating_sub(side / 2) & !1;
    (x, y, side)
}

/// Draws picture `n`, captured at `capture_ms`, as I420 (`width` and `height` even, at least the stamp).
pub fn draw(n: u64, capture_ms: u64, width: usize, height: usize) -> Vec<u8> {
    let (cw, ch) = (width / 2, height / 2);
    let mut yuv = vec![0u8; width * height + 2 * cw * ch];
    let (y, uv) = yuv.split_at_mut(width * height);
    for row in 0..height {
        let line = &mut y[row * width..][..width];
        for (col, px) in line.iter_mut().enumerate() {
            *px = (((col ^ row) & 0xff) / 2 + 64) as u8;
        }
    }
    let (u, v) = uv.split_at_mut(cw * ch);
    u.fill(128);
    v.fill(128);
    // The square: luma 235 with saturated chroma (orange, about RGB 255/208/29), on even pixels.
    let (x0, y0, side) = square(n, width, height);
    for row in y0..(y0 + side).min(height) {
        y[row * width + x0..row * width + (x0 + side).min(width)].fill(235);
    }
    for row in y0 / 2..((y0 + side) / 2).min(ch) {
        u[row * cw + x0 / 2..row * cw + ((x0 + side) / 2).min(cw)].fill(16);
        v[row * cw + x0 / 2..row * cw + ((x0 + side) / 2).min(cw)].fill(240);
    }
    stamp(y, u, v, width, n as u16 as u64, capture_ms & ((1 << 48) - 1));
    yuv
}

fn stamp(y: &mut [u8], u: &mut [u8], v: &mut [u8], width: usize, frame: u64, ms: u64) {
    let cw = width / 2;
    let words = [frame, ms >> 32, (ms >> 16) & 0xffff, ms & 0xffff];
    for (r, word) in words.iter().enumerate() {
        for bit in 0..16 {
            let value = if (word >> (15 - bit)) & 1 == 1 { 235 } else { 16 };
            for row in r * BLOCK..(r + 1) * BLOCK {
                let start = row * width + bit * BLOCK;
                y[start..start + BLOCK].fill(value);
            }
        }
    }
    for row in 0..STAMP_HEIGHT / 2 {
        u[row * cw..row * cw + STAMP_WIDTH / 2].fill(128);
        v[row * cw..row * cw + STAMP_WIDTH / 2].fill(128);
    }
}

/// Reads the stamp back from a luma plane: `(frame number mod 2^16, capture ms mod 2^48)`.
pub fn read_stamp(y: &[u8], stride: usize) -> Option<(u64, u64)> {
    let mut words = [0u64; 4];
    for (r, word) in words.iter_mut().enumerate() {
        for bit in 0..16 {
            let sample = *y.get((r * BLOCK + BLOCK / 2) * stride + bit * BLOCK + BLOCK / 2)?;
            *word = (*word << 1) | u64::from(sample > 128);
        }
    }
    Some((words[0], (words[1] << 32) | (words[2] << 16) | words[3]))
}

/// Parameters of a live pattern stream.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Width in pixels (even, ≥ 256).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Height in pixels (even, ≥ 64).
    #[serde(default = "default_height")]
    pub height: usize,
    /// Frames per second.
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// Target bitrate in bits per second.
    #[serde(default = "default_bitrate")]
    pub bitrate: u32,
    /// Keyframe interval in frames (default 30: one second at 30 fps keeps a joiner's catch-up short).
    #[serde(default = "default_gop")]
    pub gop: u32,
}

fn default_width() -> usize {
    1280
}
fn default_height() -> usize {
    720
}
fn default_fps() -> f64 {
    30.0
}
fn default_bitrate() -> u32 {
    2_000_000
}
fn default_gop() -> u32 {
    30
}

impl PatternSpec {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), SourceError> {
        let ok = self.width % 2 == 0
            && self.height % 2 == 0
            && (STAMP_WIDTH..=4096).contains(&self.width)
            && (STAMP_HEIGHT..=2304).contains(&self.height)
            && self.fps > 0.0
            && self.fps <= 240.0
            && self.gop > 0;
        if ok {
            Ok(())
        } else {
            Err(SourceError::Invalid(format!("pattern parameters out of range: {self:?}")))
        }
    }
}

/// Encodes an IDR-or-not access unit: whether it holds an IDR slice.
pub fn has_idr(data: &[u8]) -> bool {
    nalcast_proto::annexb::nal_units(data).any(|n| n.nal_type() == Some(5))
}

/// Runs the pattern until `stop` is set, publishing to `hub` in real time.
pub fn run(spec: &PatternSpec, hub: &Arc<Hub>, stop: &StopFlag) -> Result<(), SourceError> {
    spec.validate()?;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(spec.bitrate))
        .max_frame_rate(FrameRate::from_hz(spec.fps as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(spec.gop))
        .skip_frames(false);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| SourceError::Encoder(e.to_string()))?;
    let mut pacer = Pacer::new(spec.fps);
    let mut out = Vec::new();
    let mut n: u64 = 0;
    while !stop.is_set() {
        pacer.wait(stop);
        let capture_us = now_us();
        let picture =
            YUVBuffer::from_vec(draw(n, capture_us / 1000, spec.width, spec.height), spec.width, spec.height);
        if hub.take_keyframe_request() {
            encoder.force_intra_frame();
        }
        out.clear();
        encoder.encode(&picture).map_err(|e| SourceError::Encoder(e.to_string()))?.write_vec(&mut out);
        if !out.is_empty() {
            let key = has_idr(&out);
            let pts_us = (n as f64 * 1e6 / spec.fps) as u64;
            hub.publish(&SourceFrame { pts_us, capture_us, key, data: Bytes::copy_from_slice(&out) });
        }
        n += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_in_raw_pixels() {
        let (w, h) = (320, 180);
        let yuv = draw(12345, 1_764_000_000_123, w, h);
        assert_eq!(read_stamp(&yuv[..w * h], w), Some((12345, 1_764_000_000_123)));
    }
}
