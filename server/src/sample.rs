//! The embedded default clip: a synthetic moving pattern encoded with OpenH264 at startup, so the
//! page has something to play with no files and no network.
//!
//! Each picture carries its frame number in a row of 16 black/white blocks along the top (bit 15
//! first, neutral chroma), so tests can read it back from the decoded planes or the canvas.

use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod};
use openh264::formats::YUVBuffer;

/// Side of one frame-number block in pixels (16 blocks across the top-left).
pub const BLOCK: usize = 16;

/// Draws picture `n` of a `width`×`height` pattern as I420.
pub fn pattern(n: u32, width: usize, height: usize) -> Vec<u8> {
    let (cw, ch) = (width / 2, height / 2);
    let mut yuv = vec![0u8; width * height + 2 * cw * ch];
    let (y, uv) = yuv.split_at_mut(width * height);
    let shift = n as usize * 4;
    for row in 0..height {
        for col in 0..width {
            y[row * width + col] = (((col + shift) ^ row) & 0xff) as u8 / 2 + 64;
        }
    }
    // A bright square travelling across the picture.
    let side = height / 4;
    let x0 = (n as usize * 8) % width.saturating_sub(side).max(1);
    let y0 = height / 2 - side / 2;
    for row in y0..y0 + side {
        for col in x0..(x0 + side).min(width) {
            y[row * width + col] = 235;
        }
    }
    let (u, v) = uv.split_at_mut(cw * ch);
    for row in 0..ch {
        for col in 0..cw {
            u[row * cw + col] = ((col * 255) / cw.max(1)) as u8;
            v[row * cw + col] = ((row * 255) / ch.max(1)) as u8;
        }
    }
    // Frame number: 16 blocks, white = 1, black = 0, in the top rows, with neutral chroma so that
    // they read back as plain black and white in RGB too.
    for row in 0..(BLOCK / 2).min(ch) {
        for col in 0..(8 * BLOCK).min(cw) {
            u[row * cw + col] = 128;
            v[row * cw + col] = 128;
        }
    }
    for bit in 0..16 {
        let value = if n >> (15 - bit) & 1 == 1 { 235 } else { 16 };
        for row in 0..BLOCK.min(height) {
            for col in bit * BLOCK..((bit + 1) * BLOCK).min(width) {
                y[row * width + col] = value;
            }
        }
    }
    yuv
}

/// Encodes `frames` pictures of the pattern as one Annex-B clip (IDR every `fps` frames).
pub fn encode(
    width: usize,
    height: usize,
    fps: u32,
    frames: u32,
    bitrate: u32,
) -> Result<Vec<u8>, openh264::Error> {
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bitrate))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(fps))
        .skip_frames(false);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
    let mut out = Vec::new();
    for n in 0..frames {
        let picture = YUVBuffer::from_vec(pattern(n, width, height), width, height);
        encoder.encode(&picture)?.write_vec(&mut out);
    }
    Ok(out)
}
