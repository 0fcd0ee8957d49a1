//! YUV420p (I420) → RGBA conversion: a scalar reference and a wasm `simd128` fast path that is
//! tested to give the same bytes.
//!
//! Both use the same 16.16 fixed-point arithmetic, so equality is exact, not approximate. The matrix
//! (BT.601 or BT.709) and range (limited or full) come from the stream's SPS VUI (`Frame::color`).

use crate::decoder::Frame;
use nalcast_proto::sps::{ColorSpace, Matrix};

/// The output buffer does not fit the picture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RGBA buffer of {got} bytes, {need} needed")]
pub struct BufferSizeError {
    /// Bytes required: width × height × 4.
    pub need: usize,
    /// Bytes given.
    pub got: usize,
}

/// Fixed-point (×65536) conversion coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coefficients {
    /// Luma offset: 16 for limited range, 0 for full.
    pub y_offset: i32,
    /// Luma gain.
    pub y_gain: i32,
    /// Cr contribution to R.
    pub cr_r: i32,
    /// Cb contribution to G (subtracted).
    pub cb_g: i32,
    /// Cr contribution to G (subtracted).
    pub cr_g: i32,
    /// Cb contribution to B.
    pub cb_b: i32,
}

impl Coefficients {
    /// Coefficients for a colour space (ITU-R BT.601 / BT.709 equations, H.264 Table E-5).
    pub fn for_color(color: ColorSpace) -> Coefficients {
        let (y_offset, y_gain) = if color.full_range { (0, 65536) } else { (16, 76309) };
        // Chroma gains: limited range scales by 255/224 on top of the full-range values.
        let (cr_r, cb_g, cr_g, cb_b) = match (color.matrix, color.full_range) {
            (Matrix::Bt601, false) => (104597, 25675, 53279, 132201),
            (Matrix::Bt709, false) => (117489, 13975, 34925, 138438),
            (Matrix::Bt601, true) => (91881, 22554, 46802, 116130),
            (Matrix::Bt709, true) => (103206, 12277, 30679, 121609),
        };
        Coefficients { y_offset, y_gain, cr_r, cb_g, cr_g, cb_b }
    }
}

#[inline(always)]
fn clamp8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[inline(always)]
fn pixel(c: &Coefficients, y: u8, u: u8, v: u8) -> [u8; 4] {
    let yy = (y as i32 - c.y_offset) * c.y_gain + 32768;
    let (u, v) = (u as i32 - 128, v as i32 - 128);
    [
        clamp8((yy + c.cr_r * v) >> 16),
        clamp8((yy - c.cb_g * u - c.cr_g * v) >> 16),
        clamp8((yy + c.cb_b * u) >> 16),
        255,
    ]
}

fn check(frame: &Frame<'_>, out: &[u8]) -> Result<(), BufferSizeError> {
    let need = frame.width * frame.height * 4;
    if out.len() < need { Err(BufferSizeError { need, got: out.len() }) } else { Ok(()) }
}

/// The reference conversion, one pixel at a time. `out` receives `width * height` RGBA pixels.
pub fn i420_to_rgba_scalar(frame: &Frame<'_>, out: &mut [u8]) -> Result<(), BufferSizeError> {
    check(frame, out)?;
    let c = Coefficients::for_color(frame.color);
    let (w, cw) = (frame.width, frame.chroma_width());
    for row in 0..frame.height {
        let y_row = &frame.y[row * frame.y_stride..][..w];
        let cr = (row / 2).min(frame.chroma_height().saturating_sub(1));
        let u_row = frame.u.get(cr * frame.uv_stride..).unwrap_or(&[]);
        let v_row = frame.v.get(cr * frame.uv_stride..).unwrap_or(&[]);
        let out_row = &mut out[row * w * 4..][..w * 4];
        for (x, px) in out_row.chunks_exact_mut(4).enumerate() {
            let ci = (x / 2).min(cw.saturating_sub(1));
            let u = u_row.get(ci).copied().unwrap_or(128);
            let v = v_row.get(ci).copied().unwrap_or(128);
            px.copy_from_slice(&pixel(&c, y_row[x], u, v));
        }
    }
    Ok(())
}

/// The fastest conversion available on this target; equal to [`i420_to_rgba_scalar`].
pub fn i420_to_rgba(frame: &Frame<'_>, out: &mut [u8]) -> Result<(), BufferSizeError> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        check(frame, out)?;
        simd::convert(frame, out);
        Ok(())
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        i420_to_rgba_scalar(frame, out)
    }
}

/// Whether [`i420_to_rgba`] uses SIMD on this build.
pub const SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    //! wasm `simd128`: 8 pixels per step, the reference arithmetic in `i32x4` lanes.
    use super::{Coefficients, Frame, pixel};
    use core::arch::wasm32::*;

    #[inline(always)]
    fn four(c: &Coefficients, y: v128, u: v128, v: v128) -> v128 {
        let yy = i32x4_add(
            i32x4_mul(i32x4_sub(y, i32x4_splat(c.y_offset)), i32x4_splat(c.y_gain)),
            i32x4_splat(32768),
        );
        let u = i32x4_sub(u, i32x4_splat(128));
        let v = i32x4_sub(v, i32x4_splat(128));
        let clamp = |x: v128| i32x4_min(i32x4_max(i32x4_shr(x, 16), i32x4_splat(0)), i32x4_splat(255));
        let r = clamp(i32x4_add(yy, i32x4_mul(v, i32x4_splat(c.cr_r))));
        let g = clamp(i32x4_sub(
            i32x4_sub(yy, i32x4_mul(u, i32x4_splat(c.cb_g))),
            i32x4_mul(v, i32x4_splat(c.cr_g)),
        ));
        let b = clamp(i32x4_add(yy, i32x4_mul(u, i32x4_splat(c.cb_b))));
        v128_or(v128_or(r, i32x4_shl(g, 8)), v128_or(i32x4_shl(b, 16), i32x4_splat(0xff00_0000u32 as i32)))
    }

    pub(super) fn convert(frame: &Frame<'_>, out: &mut [u8]) {
        let c = Coefficients::for_color(frame.color);
        let w = frame.width;
        let ch = frame.chroma_height();
        for row in 0..frame.height {
            let y_row = &frame.y[row * frame.y_stride..][..w];
            let cr = (row / 2).min(ch.saturating_sub(1));
            let u_row = frame.u.get(cr * frame.uv_stride..).unwrap_or(&[]);
            let v_row = frame.v.get(cr * frame.uv_stride..).unwrap_or(&[]);
            let out_row = &mut out[row * w * 4..][..w * 4];
            let mut x = 0;
            if u_row.len() >= w / 2 && v_row.len() >= w / 2 {
                while x + 8 <= w {
                    // SAFETY: x + 8 <= w bounds the 8 luma bytes, x/2 + 4 <= w/2 bounds the 4 chroma
                    // bytes, and the 32 output bytes lie inside `out_row` (w * 4 bytes).
                    unsafe {
                        let yv = v128_load64_zero(y_row.as_ptr().add(x) as *const u64);
                        let uv = v128_load32_zero(u_row.as_ptr().add(x / 2) as *const u32);
                        let vv = v128_load32_zero(v_row.as_ptr().add(x / 2) as *const u32);
                        let y16 = u16x8_extend_low_u8x16(yv);
                        // Each chroma sample serves two neighbouring pixels.
                        let u2 = u16x8_extend_low_u8x16(i8x16_shuffle::<
                            0,
                            0,
                            1,
                            1,
                            2,
                            2,
                            3,
                            3,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                        >(uv, uv));
                        let v2 = u16x8_extend_low_u8x16(i8x16_shuffle::<
                            0,
                            0,
                            1,
                            1,
                            2,
                            2,
                            3,
                            3,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                        >(vv, vv));
                        let lo = four(
                            &c,
                            u32x4_extend_low_u16x8(y16),
                            u32x4_extend_low_u16x8(u2),
                            u32x4_extend_low_u16x8(v2),
                        );
                        let hi = four(
                            &c,
                            u32x4_extend_high_u16x8(y16),
                            u32x4_extend_high_u16x8(u2),
                            u32x4_extend_high_u16x8(v2),
                        );
                        let dst = out_row.as_mut_ptr().add(x * 4) as *mut v128;
                        v128_store(dst, lo);
                        v128_store(dst.add(1), hi);
                    }
                    x += 8;
                }
            }
            let cw = frame.chroma_width();
            for (i, px) in out_row.chunks_exact_mut(4).enumerate().skip(x) {
                let ci = (i / 2).min(cw.saturating_sub(1));
                let u = u_row.get(ci).copied().unwrap_or(128);
                let v = v_row.get(ci).copied().unwrap_or(128);
                px.copy_from_slice(&pixel(&c, y_row[i], u, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame<'a>(w: usize, h: usize, y: &'a [u8], u: &'a [u8], v: &'a [u8], color: ColorSpace) -> Frame<'a> {
        Frame { width: w, height: h, y, u, v, y_stride: w, uv_stride: w / 2, color, timestamp: 0 }
    }

    #[test]
    fn known_colours() {
        let color = ColorSpace { matrix: Matrix::Bt601, full_range: false };
        // Limited-range black, white, and BT.601 red (Y=81, Cb=90, Cr=240).
        for (yuv, rgb) in
            [((16, 128, 128), [0, 0, 0]), ((235, 128, 128), [255, 255, 255]), ((81, 90, 240), [255, 0, 0])]
        {
            let (y, u, v) = ([yuv.0; 4], [yuv.1], [yuv.2]);
            let f = frame(2, 2, &y, &u, &v, color);
            let mut out = [0u8; 16];
            i420_to_rgba_scalar(&f, &mut out).expect("fits");
            for px in out.chunks(4) {
                for ch in 0..3 {
                    assert!((px[ch] as i32 - rgb[ch]).abs() <= 1, "{yuv:?} -> {px:?}");
                }
                assert_eq!(px[3], 255);
            }
        }
    }

    #[test]
    fn rejects_small_buffer() {
        let f = frame(2, 2, &[0; 4], &[0], &[0], ColorSpace::default());
        assert_eq!(i420_to_rgba(&f, &mut [0; 15]), Err(BufferSizeError { need: 16, got: 15 }));
    }
}
