//! YUV420p (I420) → RGBA conversion: a scalar reference and a wasm `simd128` fast path that is
//! tested to give the same bytes.
//!
//! Both use the same 16-bit fixed-point arithmetic, so equality is exact, not approximate: each
//! term is a Q15 rounding multiply (`i16x8.q15mulr_sat`) of a sample scaled by 128, giving the
//! colour ×64, and the sums saturate at 16 bits as the SIMD lanes do. Every output is within 1 of
//! the exact (floating-point, rounded) conversion; a test checks that across the YUV cube. The
//! matrix (BT.601 or BT.709) and range (limited or full) come from the stream's SPS VUI
//! (`Frame::color`).

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

/// Fixed-point conversion coefficients: Q15 factors applied to samples scaled by 128, so each term
/// comes out as the colour contribution ×64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coefficients {
    /// Luma offset: 16 for limited range, 0 for full.
    pub y_offset: i16,
    /// Luma gain (255/219 for limited range, 1 for full) × 16384.
    pub y_gain: i16,
    /// Cr contribution to R × 16384.
    pub cr_r: i16,
    /// Cb contribution to G (subtracted) × 16384.
    pub cb_g: i16,
    /// Cr contribution to G (subtracted) × 16384.
    pub cr_g: i16,
    /// Cb contribution to B, less 2 (which is added as the scaled sample itself), × 16384: the
    /// whole factor (up to 2.11) does not fit Q15.
    pub cb_b_minus_2: i16,
}

impl Coefficients {
    /// Coefficients for a colour space (ITU-R BT.601 / BT.709 equations, H.264 Table E-5).
    pub fn for_color(color: ColorSpace) -> Coefficients {
        let (y_offset, y_gain) = if color.full_range { (0, 16384) } else { (16, 19077) };
        // Chroma gains: limited range scales by 255/224 on top of the full-range values.
        let (cr_r, cb_g, cr_g, cb_b_minus_2) = match (color.matrix, color.full_range) {
            (Matrix::Bt601, false) => (26149, 6419, 13320, 282),
            (Matrix::Bt709, false) => (29372, 3494, 8731, 1842),
            (Matrix::Bt601, true) => (22970, 5639, 11701, -3736),
            (Matrix::Bt709, true) => (25802, 3069, 7670, -2366),
        };
        Coefficients { y_offset, y_gain, cr_r, cb_g, cr_g, cb_b_minus_2 }
    }
}

/// `i16x8.q15mulr_sat` on one lane: `(a * b + 2^14) >> 15`, saturated.
#[inline(always)]
fn q15(a: i16, b: i16) -> i16 {
    ((a as i32 * b as i32 + 0x4000) >> 15).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// Colour ×64 → 8 bits, as `i16x8.shr_s` by 6 then `u8x16.narrow_i16x8` do it.
#[inline(always)]
fn out8(x: i16) -> u8 {
    (x >> 6).clamp(0, 255) as u8
}

#[inline(always)]
fn pixel(c: &Coefficients, y: u8, u: u8, v: u8) -> [u8; 4] {
    // The luma term carries the rounding (+32, half of 64).
    let yc = q15((y as i16 - c.y_offset) << 7, c.y_gain).saturating_add(32);
    let (u7, v7) = ((u as i16 - 128) << 7, (v as i16 - 128) << 7);
    [
        out8(yc.saturating_add(q15(v7, c.cr_r))),
        out8(yc.saturating_sub(q15(u7, c.cb_g).saturating_add(q15(v7, c.cr_g)))),
        // u7 + its remainder term never saturates (|sum| < 18300), so it is one chroma term.
        out8(yc.saturating_add(u7.saturating_add(q15(u7, c.cb_b_minus_2)))),
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
    //! wasm `simd128`: 16 pixels per step in `i16x8` lanes, the chroma terms computed once per two
    //! pixels; the reference arithmetic lane for lane.
    use super::{Coefficients, Frame, pixel};
    use core::arch::wasm32::*;

    /// Each of the low (`HIGH` false) or high four 16-bit lanes of `x`, twice: the chroma term of
    /// one sample for the two pixels it covers.
    #[inline(always)]
    fn pairs<const HIGH: bool>(x: v128) -> v128 {
        if HIGH {
            i8x16_shuffle::<8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15>(x, x)
        } else {
            i8x16_shuffle::<0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7>(x, x)
        }
    }

    /// R, G, B (×64, luma rounding included) → 8 bits for 8 pixels each, as two `i16x8` halves.
    #[inline(always)]
    fn narrow(lo: v128, hi: v128) -> v128 {
        u8x16_narrow_i16x8(i16x8_shr(lo, 6), i16x8_shr(hi, 6))
    }

    /// The chroma terms of 16 pixels (8 chroma samples), each already doubled for its two pixels:
    /// R, G (subtracted) and B, low and high halves.
    struct Chroma {
        r: (v128, v128),
        g: (v128, v128),
        b: (v128, v128),
    }

    pub(super) fn convert(frame: &Frame<'_>, out: &mut [u8]) {
        let c = Coefficients::for_color(frame.color);
        let w = frame.width;
        let ch = frame.chroma_height();
        // Rows go in pairs that share a chroma row: its terms are computed once for both.
        let mut row = 0;
        while row < frame.height {
            let cr = (row / 2).min(ch.saturating_sub(1));
            let u_row = frame.u.get(cr * frame.uv_stride..).unwrap_or(&[]);
            let v_row = frame.v.get(cr * frame.uv_stride..).unwrap_or(&[]);
            let y0 = &frame.y[row * frame.y_stride..][..w];
            let (out0, rest) = out[row * w * 4..].split_at_mut(w * 4);
            if row + 1 < frame.height {
                let y1 = &frame.y[(row + 1) * frame.y_stride..][..w];
                rows(&c, [y0, y1], u_row, v_row, out0, &mut rest[..w * 4]);
            } else {
                // The last row of an odd height: once per picture, the reference arithmetic.
                tail(&c, y0, u_row, v_row, 0, out0);
            }
            row += 2;
        }
    }

    /// Converts two rows that share `u_row`/`v_row`: `y[0]` into `out0`, `y[1]` into `out1`.
    #[inline(always)]
    fn rows(c: &Coefficients, y: [&[u8]; 2], u_row: &[u8], v_row: &[u8], out0: &mut [u8], out1: &mut [u8]) {
        let w = y[0].len();
        let mut x = 0;
        if u_row.len() >= w / 2 && v_row.len() >= w / 2 {
            let (cr_r, cb_g, cr_g) = (i16x8_splat(c.cr_r), i16x8_splat(c.cb_g), i16x8_splat(c.cr_g));
            let (cb_b, c128) = (i16x8_splat(c.cb_b_minus_2), i16x8_splat(128));
            while x + 16 <= w {
                // SAFETY: x/2 + 8 <= w/2 <= the chroma rows' lengths bounds the 8 chroma bytes.
                let (u8s, v8s) = unsafe {
                    (
                        u16x8_load_extend_u8x8(u_row.as_ptr().add(x / 2)),
                        u16x8_load_extend_u8x8(v_row.as_ptr().add(x / 2)),
                    )
                };
                let u7 = i16x8_shl(i16x8_sub(u8s, c128), 7);
                let v7 = i16x8_shl(i16x8_sub(v8s, c128), 7);
                let r_c = i16x8_q15mulr_sat(v7, cr_r);
                let g_c = i16x8_add_sat(i16x8_q15mulr_sat(u7, cb_g), i16x8_q15mulr_sat(v7, cr_g));
                let b_c = i16x8_add_sat(u7, i16x8_q15mulr_sat(u7, cb_b));
                let k = Chroma {
                    r: (pairs::<false>(r_c), pairs::<true>(r_c)),
                    g: (pairs::<false>(g_c), pairs::<true>(g_c)),
                    b: (pairs::<false>(b_c), pairs::<true>(b_c)),
                };
                sixteen(c, y[0], x, &k, out0);
                sixteen(c, y[1], x, &k, out1);
                x += 16;
            }
        }
        tail(c, y[0], u_row, v_row, x, out0);
        tail(c, y[1], u_row, v_row, x, out1);
    }

    /// 16 pixels of one row from `x`: luma terms plus the shared chroma terms, stored as RGBA.
    #[inline(always)]
    fn sixteen(c: &Coefficients, y_row: &[u8], x: usize, k: &Chroma, out_row: &mut [u8]) {
        let (y_off, y_gain, half) = (i16x8_splat(c.y_offset), i16x8_splat(c.y_gain), i16x8_splat(32));
        let alpha = u8x16_splat(255);
        assert!(x + 16 <= y_row.len() && (x + 16) * 4 <= out_row.len());
        // SAFETY: the assert above bounds the 16 luma bytes and the 64 output bytes.
        unsafe {
            let yv = v128_load(y_row.as_ptr().add(x) as *const v128);
            let y_term =
                |y8: v128| i16x8_add_sat(i16x8_q15mulr_sat(i16x8_shl(i16x8_sub(y8, y_off), 7), y_gain), half);
            let y_lo = y_term(u16x8_extend_low_u8x16(yv));
            let y_hi = y_term(u16x8_extend_high_u8x16(yv));
            let r = narrow(i16x8_add_sat(y_lo, k.r.0), i16x8_add_sat(y_hi, k.r.1));
            let g = narrow(i16x8_sub_sat(y_lo, k.g.0), i16x8_sub_sat(y_hi, k.g.1));
            let b = narrow(i16x8_add_sat(y_lo, k.b.0), i16x8_add_sat(y_hi, k.b.1));
            // R G B A interleaved: RG and BA byte pairs, then the pairs as 16-bit lanes.
            let rg_lo = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r, g);
            let rg_hi = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(r, g);
            let ba_lo = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(b, alpha);
            let ba_hi =
                i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(b, alpha);
            let dst = out_row.as_mut_ptr().add(x * 4) as *mut v128;
            v128_store(dst, i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(rg_lo, ba_lo));
            v128_store(dst.add(1), i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(rg_lo, ba_lo));
            v128_store(dst.add(2), i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(rg_hi, ba_hi));
            v128_store(dst.add(3), i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(rg_hi, ba_hi));
        }
    }

    /// The pixels from `x` to the row's end, one at a time (the reference arithmetic).
    fn tail(c: &Coefficients, y_row: &[u8], u_row: &[u8], v_row: &[u8], x: usize, out_row: &mut [u8]) {
        let cw = y_row.len() / 2;
        for (i, px) in out_row.chunks_exact_mut(4).enumerate().skip(x) {
            let ci = (i / 2).min(cw.saturating_sub(1));
            let u = u_row.get(ci).copied().unwrap_or(128);
            let v = v_row.get(ci).copied().unwrap_or(128);
            px.copy_from_slice(&pixel(c, y_row[i], u, v));
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

    /// The fixed-point reference is within 1 of the exact conversion (rounded) for every Y, U, V
    /// (in steps of 3: 636,056 colours per colour space), in all four colour spaces.
    #[test]
    fn within_one_of_the_exact_conversion() {
        let exact = |color: ColorSpace, y: u8, u: u8, v: u8| -> [i32; 3] {
            let (kr, kb) = if color.matrix == Matrix::Bt709 { (0.2126, 0.0722) } else { (0.299, 0.114) };
            let kg = 1.0 - kr - kb;
            let (yy, cs) = if color.full_range {
                (y as f64, 1.0)
            } else {
                ((y as f64 - 16.0) * 255.0 / 219.0, 255.0 / 224.0)
            };
            let (pb, pr) = ((u as f64 - 128.0) * cs, (v as f64 - 128.0) * cs);
            let r = yy + 2.0 * (1.0 - kr) * pr;
            let b = yy + 2.0 * (1.0 - kb) * pb;
            let g = (yy - kr * r - kb * b) / kg;
            [r, g, b].map(|x| x.round().clamp(0.0, 255.0) as i32)
        };
        for matrix in [Matrix::Bt601, Matrix::Bt709] {
            for full_range in [false, true] {
                let color = ColorSpace { matrix, full_range };
                let c = Coefficients::for_color(color);
                for y in (0..=255u8).step_by(3) {
                    for u in (0..=255u8).step_by(3) {
                        for v in (0..=255u8).step_by(3) {
                            let got = pixel(&c, y, u, v);
                            let want = exact(color, y, u, v);
                            for ch in 0..3 {
                                assert!(
                                    (got[ch] as i32 - want[ch]).abs() <= 1,
                                    "{color:?} yuv {y} {u} {v}: {got:?} vs {want:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_small_buffer() {
        let f = frame(2, 2, &[0; 4], &[0], &[0], ColorSpace::default());
        assert_eq!(i420_to_rgba(&f, &mut [0; 15]), Err(BufferSizeError { need: 16, got: 15 }));
    }
}
