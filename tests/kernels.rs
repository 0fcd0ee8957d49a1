//! The simd128 kernels the build patches into OpenH264 (crates/codec/csrc/simd) against OpenH264's
//! portable C versions, on random samples, geometry and parameters, in headless Chromium. Each test
//! also counts the samples the filters changed, so an edge case that never fires would show up.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use nalcast_codec::kernels::{self, Block, Edge, Impl};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// xorshift64*: reproducible random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    /// Samples around a random level with noise of a random amplitude (so filters see both smooth
    /// areas, where they act, and busy ones), sometimes pinned near 0 or 255 to reach the clipping.
    fn plane(&mut self, len: usize) -> Vec<u8> {
        let any = self.range(0, 255);
        let level = self.pick(&[0, 4, 128, 251, 255, any]);
        let noise = self.pick(&[1, 3, 8, 20, 60, 255]);
        let step = self.range(-40, 40);
        (0..len)
            .map(|i| {
                let l = if (i / 7) % 2 == 0 { level } else { level + step };
                (l + self.range(-noise, noise)).clamp(0, 255) as u8
            })
            .collect()
    }
}

const ROUNDS: usize = 3000;

fn changed(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

#[wasm_bindgen_test]
fn deblock_luma_matches_c() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut touched = 0;
    for round in 0..ROUNDS {
        let edge = if round % 2 == 0 { Edge::Horizontal } else { Edge::Vertical };
        let stride = rng.range(16, 48) as usize;
        let buf = rng.plane(stride * 24 + 8);
        let at = match edge {
            Edge::Horizontal => 4 * stride + rng.range(0, stride as i32 - 16) as usize,
            Edge::Vertical => rng.range(0, 3) as usize * stride + rng.range(4, stride as i32 - 4) as usize,
        };
        let (alpha, beta) = (rng.range(0, 255), rng.range(0, 255));
        let tc = [0; 4].map(|_| rng.range(-1, 25) as i8);
        let (mut c, mut simd) = (buf.clone(), buf.clone());
        if round % 4 < 2 {
            kernels::deblock_luma_lt4(Impl::Reference, edge, &mut c, stride, at, alpha, beta, tc)
                .expect("args");
            kernels::deblock_luma_lt4(Impl::Simd, edge, &mut simd, stride, at, alpha, beta, tc)
                .expect("args");
        } else {
            kernels::deblock_luma_eq4(Impl::Reference, edge, &mut c, stride, at, alpha, beta).expect("args");
            kernels::deblock_luma_eq4(Impl::Simd, edge, &mut simd, stride, at, alpha, beta).expect("args");
        }
        assert_eq!(
            c, simd,
            "round {round}: {edge:?} stride {stride} at {at} alpha {alpha} beta {beta} tc {tc:?}"
        );
        touched += changed(&buf, &c);
    }
    assert!(touched > ROUNDS * 4, "the filters changed only {touched} samples");
}

#[wasm_bindgen_test]
fn deblock_chroma_matches_c() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut touched = 0;
    for round in 0..ROUNDS {
        let edge = if round % 2 == 0 { Edge::Horizontal } else { Edge::Vertical };
        let stride = rng.range(8, 40) as usize;
        let (cb, cr) = (rng.plane(stride * 12 + 4), rng.plane(stride * 12 + 4));
        let at = match edge {
            Edge::Horizontal => 2 * stride + rng.range(0, stride as i32 - 8) as usize,
            Edge::Vertical => rng.range(0, 3) as usize * stride + rng.range(2, stride as i32 - 2) as usize,
        };
        let (alpha, beta) = (rng.range(0, 255), rng.range(0, 255));
        let tc = [0; 4].map(|_| rng.range(-1, 26) as i8);
        let (mut cb_c, mut cr_c, mut cb_s, mut cr_s) = (cb.clone(), cr.clone(), cb.clone(), cr.clone());
        if round % 4 < 2 {
            kernels::deblock_chroma_lt4(
                Impl::Reference,
                edge,
                &mut cb_c,
                &mut cr_c,
                stride,
                at,
                alpha,
                beta,
                tc,
            )
            .expect("args");
            kernels::deblock_chroma_lt4(Impl::Simd, edge, &mut cb_s, &mut cr_s, stride, at, alpha, beta, tc)
                .expect("args");
        } else {
            kernels::deblock_chroma_eq4(Impl::Reference, edge, &mut cb_c, &mut cr_c, stride, at, alpha, beta)
                .expect("args");
            kernels::deblock_chroma_eq4(Impl::Simd, edge, &mut cb_s, &mut cr_s, stride, at, alpha, beta)
                .expect("args");
        }
        let what =
            format!("round {round}: {edge:?} stride {stride} at {at} alpha {alpha} beta {beta} tc {tc:?}");
        assert_eq!(cb_c, cb_s, "Cb, {what}");
        assert_eq!(cr_c, cr_s, "Cr, {what}");
        touched += changed(&cb, &cb_c) + changed(&cr, &cr_c);
    }
    assert!(touched > ROUNDS * 2, "the filters changed only {touched} samples");
}

#[wasm_bindgen_test]
fn mc_copy_and_chroma_match_c() {
    let mut rng = Rng(0x0bad_cafe_f00d_0001);
    for round in 0..ROUNDS {
        let chroma = round % 2 == 1;
        let width = if chroma { rng.pick(&[2, 4, 8]) } else { rng.pick(&[2, 4, 8, 16]) };
        let height = rng.pick(&[2, 4, 8, 16]);
        let stride = width + rng.range(1, 40) as usize;
        let src = rng.plane(stride * (height + 4) + 4);
        let from = Block { at: rng.range(0, stride as i32 * 2) as usize, stride, width, height };
        let to_stride = width + rng.range(0, 40) as usize;
        let to_at = rng.range(0, 20) as usize;
        let dst = rng.plane(to_stride * height + 40);
        let (mut c, mut simd) = (dst.clone(), dst.clone());
        // Copies are also exercised through mc_chroma's whole-sample case (mv fraction 0).
        let mv = (rng.range(-32768, 32767) as i16, rng.range(-32768, 32767) as i16);
        let mv = if rng.range(0, 7) == 0 { (mv.0 & !7, mv.1 & !7) } else { mv };
        if chroma {
            kernels::mc_chroma(Impl::Reference, &src, from, &mut c, to_at, to_stride, mv).expect("args");
            kernels::mc_chroma(Impl::Simd, &src, from, &mut simd, to_at, to_stride, mv).expect("args");
        } else {
            kernels::mc_copy(Impl::Reference, &src, from, &mut c, to_at, to_stride).expect("args");
            kernels::mc_copy(Impl::Simd, &src, from, &mut simd, to_at, to_stride).expect("args");
        }
        assert_eq!(c, simd, "round {round}: chroma {chroma} {from:?} to {to_at}/{to_stride} mv {mv:?}");
    }
}

#[wasm_bindgen_test]
fn mc_luma_matches_c() {
    let mut rng = Rng(0x6a09_e667_f3bc_c908);
    for round in 0..ROUNDS {
        let width = rng.pick(&[4, 8, 16]);
        let height = rng.pick(&[4, 8, 16]);
        let stride = width + 5 + rng.range(0, 40) as usize;
        // Exactly the rows the 6-tap filters read, so a kernel reading past them fails its bounds check.
        let src = rng.plane(stride * (height + 5));
        let from = Block {
            at: 2 * stride + 2 + rng.range(0, (stride - width - 5) as i32) as usize,
            stride,
            width,
            height,
        };
        let to_stride = width + rng.range(0, 40) as usize;
        let to_at = rng.range(0, 20) as usize;
        let dst = rng.plane(to_stride * height + 40);
        let (mut c, mut simd) = (dst.clone(), dst.clone());
        // every quarter position in turn, with random integer parts (only mv & 3 matters)
        let mv = (
            (rng.range(-4096, 4096) & !3 | (round & 3) as i32) as i16,
            (rng.range(-4096, 4096) & !3 | ((round >> 2) & 3) as i32) as i16,
        );
        kernels::mc_luma(Impl::Reference, &src, from, &mut c, to_at, to_stride, mv).expect("args");
        kernels::mc_luma(Impl::Simd, &src, from, &mut simd, to_at, to_stride, mv).expect("args");
        assert_eq!(c, simd, "round {round}: {from:?} to {to_at}/{to_stride} mv {mv:?}");
    }
}

/// Random samples for the three planes of a prediction block.
fn pred_planes(rng: &mut Rng, stride_y: usize, stride_c: usize, height: usize) -> [Vec<u8>; 3] {
    let y = rng.plane(stride_y * height + 8);
    [y, rng.plane(stride_c * height / 2 + 8), rng.plane(stride_c * height / 2 + 8)]
}

fn pred_block(
    p: &mut [Vec<u8>; 3],
    stride_y: usize,
    stride_c: usize,
    width: usize,
    height: usize,
) -> kernels::PredBlock<'_> {
    let [y, u, v] = p;
    kernels::PredBlock { planes: [y, u, v], stride_y, stride_c, width, height }
}

fn weights(rng: &mut Rng, log2: (i32, i32), default: bool) -> kernels::ListWeights {
    let mut wo = [0; 6];
    for k in 0..3 {
        let d = if k == 0 { log2.0 } else { log2.1 };
        // the default weight (the kernels' shortcuts), near it, or any coded weight
        let (w, o) = match (default, rng.range(0, 3)) {
            (true, _) => (1 << d, 0),
            (false, 0) => ((1 << d) - rng.range(0, 1), rng.range(-1, 1)),
            _ => (rng.range(-128, 127), rng.range(-128, 127)),
        };
        wo[2 * k] = w;
        wo[2 * k + 1] = o;
    }
    wo
}

#[wasm_bindgen_test]
fn weighted_prediction_matches_c() {
    let mut rng = Rng(0x5eed_0000_0000_0042);
    for round in 0..ROUNDS {
        let (width, height) = (rng.pick(&[4, 8, 16]), rng.pick(&[4, 8, 16]));
        let (sy, sc) = (width + rng.range(0, 40) as usize, width / 2 + rng.range(0, 20) as usize);
        let (planes, other) = (pred_planes(&mut rng, sy, sc, height), pred_planes(&mut rng, sy, sc, height));
        let log2 = (rng.range(0, 7), rng.range(0, 7));
        let default = round % 4 == 0;
        let (mut c, mut simd, mut q1, mut q2) =
            (planes.clone(), planes.clone(), other.clone(), other.clone());
        let what = match round % 4 {
            0 | 1 => {
                let wo = weights(&mut rng, log2, default);
                kernels::weight_block(
                    Impl::Reference,
                    &mut pred_block(&mut c, sy, sc, width, height),
                    log2,
                    wo,
                )
                .expect("args");
                kernels::weight_block(
                    Impl::Simd,
                    &mut pred_block(&mut simd, sy, sc, width, height),
                    log2,
                    wo,
                )
                .expect("args");
                format!("single {wo:?}")
            }
            r => {
                let mode = match (r, rng.range(0, 2)) {
                    (2, 0) => kernels::BiMode::Average,
                    (2, _) => kernels::BiMode::Implicit(rng.range(-64, 128)),
                    _ => {
                        let default = rng.range(0, 3) == 0;
                        kernels::BiMode::Explicit(
                            weights(&mut rng, log2, default),
                            weights(&mut rng, log2, default),
                        )
                    }
                };
                kernels::biweight_block(
                    Impl::Reference,
                    &mut pred_block(&mut c, sy, sc, width, height),
                    &mut pred_block(&mut q1, sy, sc, width, height),
                    log2,
                    mode,
                )
                .expect("args");
                kernels::biweight_block(
                    Impl::Simd,
                    &mut pred_block(&mut simd, sy, sc, width, height),
                    &mut pred_block(&mut q2, sy, sc, width, height),
                    log2,
                    mode,
                )
                .expect("args");
                format!("bi {mode:?}")
            }
        };
        assert_eq!(c, simd, "round {round}: {width}x{height} strides {sy}/{sc} log2 {log2:?} {what}");
    }
}

#[wasm_bindgen_test]
fn idct4x4_add_matches_c() {
    let mut rng = Rng(0x1dc7_4444_0000_0001);
    for round in 0..ROUNDS {
        let stride = rng.range(4, 40) as usize;
        let at = rng.range(0, 20) as usize;
        let buf = rng.plane(at + stride * 4 + 4);
        // Typical dequantised residuals, large ones, and the whole int16 range (the reference keeps
        // its first pass in int16, which the kernel must reproduce bit for bit).
        let amp = rng.pick(&[16, 300, 4000, 32767]);
        let coeffs =
            [0i16; 16].map(|_| if rng.range(0, 2) == 0 { 0 } else { rng.range(-amp, amp.min(32767)) as i16 });
        let (mut c, mut simd) = (buf.clone(), buf.clone());
        kernels::idct4x4_add(Impl::Reference, &mut c, at, stride, &coeffs).expect("args");
        kernels::idct4x4_add(Impl::Simd, &mut simd, at, stride, &coeffs).expect("args");
        assert_eq!(c, simd, "round {round}: stride {stride} at {at} coeffs {coeffs:?}");
    }
}

#[wasm_bindgen_test]
fn idct8x8_add_matches_c() {
    let mut rng = Rng(0x8888_1dc7_0000_0003);
    for round in 0..ROUNDS {
        let stride = rng.range(8, 40) as usize;
        let at = rng.range(0, 20) as usize;
        let buf = rng.plane(at + stride * 8 + 8);
        // as for 4x4: typical, large, and the whole int16 range (every intermediate wraps in int16)
        let amp = rng.pick(&[16, 300, 4000, 32767]);
        let density = rng.range(1, 4);
        let coeffs =
            [0i16; 64].map(|_| if rng.range(0, 4) >= density { 0 } else { rng.range(-amp, amp) as i16 });
        let (mut c, mut simd) = (buf.clone(), buf.clone());
        kernels::idct8x8_add(Impl::Reference, &mut c, at, stride, &coeffs).expect("args");
        kernels::idct8x8_add(Impl::Simd, &mut simd, at, stride, &coeffs).expect("args");
        assert_eq!(c, simd, "round {round}: stride {stride} at {at} coeffs {coeffs:?}");
    }
}

#[wasm_bindgen_test]
fn expand_picture_matches_c() {
    let mut rng = Rng(0xe7a4_d000_0000_0005);
    for round in 0..300 {
        let luma = round % 2 == 0;
        let pad = if luma { 32 } else { 16 };
        // macroblock-aligned sizes as the decoder uses, and odd ones
        let unit = if round % 4 < 2 { if luma { 16 } else { 8 } } else { 1 };
        let width = unit * rng.range(1, 12) as usize;
        let height = unit * rng.range(1, 12) as usize;
        let stride = width + 2 * pad + rng.range(0, 20) as usize;
        let at = pad * stride + pad + rng.range(0, 10) as usize;
        let buf = rng.plane(at + (height + pad) * stride + 16);
        let (mut c, mut simd) = (buf.clone(), buf.clone());
        kernels::expand_picture(Impl::Reference, luma, &mut c, at, stride, width, height).expect("args");
        kernels::expand_picture(Impl::Simd, luma, &mut simd, at, stride, width, height).expect("args");
        assert_eq!(c, simd, "round {round}: luma {luma} {width}x{height} stride {stride} at {at}");
    }
}

#[wasm_bindgen_test]
fn kernels_refuse_out_of_bounds() {
    let mut buf = vec![0u8; 64];
    assert!(kernels::deblock_luma_eq4(Impl::Simd, Edge::Horizontal, &mut buf, 16, 16, 10, 10).is_err());
    assert!(kernels::idct4x4_add(Impl::Simd, &mut buf, 60, 16, &[0; 16]).is_err());
    let (mut u, mut v) = (vec![0u8; 32], vec![0u8; 32]);
    let mut block = kernels::PredBlock {
        planes: [&mut buf, &mut u, &mut v],
        stride_y: 16,
        stride_c: 8,
        width: 8,
        height: 8,
    };
    assert!(kernels::weight_block(Impl::Simd, &mut block, (0, 0), [1, 0, 1, 0, 1, 0]).is_err());
}
