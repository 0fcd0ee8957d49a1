/* nalcast's wasm simd128 luma quarter-sample interpolation (H.264 8.4.2.2.1): the 6-tap half-sample
 * filters (1, -5, 20, 20, -5, 1) horizontal (b), vertical (h) and centre (j, from unrounded vertical
 * sums), and the quarter positions as rounded averages of two of those or of a full sample, as OpenH264's
 * McLuma_c composes them. Blocks are 4, 8 or 16 wide; loads never reach past the samples the C reads. */
#include "nalcast_simd.h"
#include "simd_util.h"

/* (a0 + a5) - 5 (a1 + a4) + 20 (a2 + a3) on 16-bit lanes (fits: -2550..10710 for 8-bit input). */
static inline V tap6 (V a0, V a1, V a2, V a3, V a4, V a5) {
  const V s05 = wasm_i16x8_add (a0, a5), s14 = wasm_i16x8_add (a1, a4), s23 = wasm_i16x8_add (a2, a3);
  return wasm_i16x8_add (wasm_i16x8_sub (s05, wasm_i16x8_mul (s14, wasm_i16x8_splat (5))),
                         wasm_i16x8_mul (s23, wasm_i16x8_splat (20)));
}

/* 8 (or, with w4, 4) source samples widened to 16 bits. */
static inline V ld (const uint8_t* p, int w4) {
  return w4 ? wasm_u16x8_extend_low_u8x16 (wasm_v128_load32_zero (p)) : wasm_u16x8_load8x8 (p);
}

static inline V round5 (V x) { /* clip((x + 16) >> 5), as bytes in the low half */
  const V r = wasm_i16x8_shr (wasm_i16x8_add (x, wasm_i16x8_splat (16)), 5);
  return wasm_u8x16_narrow_i16x8 (r, r);
}

static inline void st (uint8_t* p, V v, int w4) {
  if (w4)
    wasm_v128_store32_lane (p, v, 0);
  else
    wasm_v128_store64_lane (p, v, 0);
}

/* Vertical 6-tap sums (unrounded) of 8 columns at p. */
static inline V vsum (const uint8_t* p, int32_t s, int w4) {
  return tap6 (ld (p - 2 * s, w4), ld (p - s, w4), ld (p, w4), ld (p + s, w4), ld (p + 2 * s, w4), ld (p + 3 * s, w4));
}

static void blk_h (const uint8_t* src, int32_t ss, uint8_t* dst, int32_t ds, int32_t w, int32_t h) {
  const int w4 = w == 4;
  for (int32_t y = 0; y < h; y++, src += ss, dst += ds)
    for (int32_t x = 0; x < w; x += 8) {
      const uint8_t* p = src + x;
      st (dst + x, round5 (tap6 (ld (p - 2, w4), ld (p - 1, w4), ld (p, w4), ld (p + 1, w4), ld (p + 2, w4),
                                 ld (p + 3, w4))), w4);
    }
}

static void blk_v (const uint8_t* src, int32_t ss, uint8_t* dst, int32_t ds, int32_t w, int32_t h) {
  const int w4 = w == 4;
  for (int32_t y = 0; y < h; y++, src += ss, dst += ds)
    for (int32_t x = 0; x < w; x += 8)
      st (dst + x, round5 (vsum (src + x, ss, w4)), w4);
}

/* Centre: horizontal 6-tap over the vertical sums, in 32 bits, clip((x + 512) >> 10). */
static void blk_c (const uint8_t* src, int32_t ss, uint8_t* dst, int32_t ds, int32_t w, int32_t h) {
  for (int32_t y = 0; y < h; y++, src += ss, dst += ds) {
    for (int32_t x = 0; x < w; x += 8) {
      const uint8_t* p = src + x;
      V s0, s1, s2, s3, s4, s5;
      if (w == 4) {
        /* t[-2..5] and t[-1..6]: the 9 sums 4 outputs need */
        const V a = vsum (p - 2, ss, 0), b = vsum (p - 1, ss, 0);
        s0 = a;
        s1 = b;
        s2 = wasm_i16x8_shuffle (b, b, 1, 2, 3, 4, 5, 6, 7, 7);
        s3 = wasm_i16x8_shuffle (b, b, 2, 3, 4, 5, 6, 7, 7, 7);
        s4 = wasm_i16x8_shuffle (b, b, 3, 4, 5, 6, 7, 7, 7, 7);
        s5 = wasm_i16x8_shuffle (b, b, 4, 5, 6, 7, 7, 7, 7, 7);
      } else {
        /* t[-2..5] and t[3..10]: the 13 sums 8 outputs need */
        const V a = vsum (p - 2, ss, 0), b = vsum (p + 3, ss, 0);
        s0 = a;
        s1 = wasm_i16x8_shuffle (a, b, 1, 2, 3, 4, 5, 6, 7, 11);
        s2 = wasm_i16x8_shuffle (a, b, 2, 3, 4, 5, 6, 7, 11, 12);
        s3 = wasm_i16x8_shuffle (a, b, 3, 4, 5, 6, 7, 11, 12, 13);
        s4 = wasm_i16x8_shuffle (a, b, 4, 5, 6, 7, 11, 12, 13, 14);
        s5 = b;
      }
      /* pair sums fit 16 bits (|t| <= 10710); the weighted total needs 32 */
      const V s05 = wasm_i16x8_add (s0, s5), s14 = wasm_i16x8_add (s1, s4), s23 = wasm_i16x8_add (s2, s3);
      const V five = wasm_i16x8_splat (5), twenty = wasm_i16x8_splat (20), r512 = wasm_i32x4_splat (512);
      const V lo = wasm_i32x4_add (wasm_i32x4_sub (wasm_i32x4_extend_low_i16x8 (s05), wasm_i32x4_extmul_low_i16x8 (s14, five)),
                                   wasm_i32x4_add (wasm_i32x4_extmul_low_i16x8 (s23, twenty), r512));
      const V hi = wasm_i32x4_add (wasm_i32x4_sub (wasm_i32x4_extend_high_i16x8 (s05), wasm_i32x4_extmul_high_i16x8 (s14, five)),
                                   wasm_i32x4_add (wasm_i32x4_extmul_high_i16x8 (s23, twenty), r512));
      const V n = wasm_i16x8_narrow_i32x4 (wasm_i32x4_shr (lo, 10), wasm_i32x4_shr (hi, 10));
      st (dst + x, wasm_u8x16_narrow_i16x8 (n, n), w == 4);
    }
  }
}

/* dst = (a + b + 1) >> 1 */
static void blk_avg (uint8_t* dst, int32_t ds, const uint8_t* a, int32_t as, const uint8_t* b, int32_t bs, int32_t w,
                     int32_t h) {
  for (int32_t y = 0; y < h; y++, dst += ds, a += as, b += bs) {
    if (w == 16)
      wasm_v128_store (dst, wasm_u8x16_avgr (wasm_v128_load (a), wasm_v128_load (b)));
    else if (w == 8)
      wasm_v128_store64_lane (dst, wasm_u8x16_avgr (wasm_v128_load64_zero (a), wasm_v128_load64_zero (b)), 0);
    else
      wasm_v128_store32_lane (dst, wasm_u8x16_avgr (wasm_v128_load32_zero (a), wasm_v128_load32_zero (b)), 0);
  }
}

void nalcast_mc_luma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int16_t iMvX,
                      int16_t iMvY, int32_t iWidth, int32_t iHeight) {
  const int32_t s = iSrcStride, w = iWidth, h = iHeight;
  uint8_t t1[256], t2[256];
  switch (((iMvX & 3) << 2) | (iMvY & 3)) {
  case 0x0: nalcast_mc_copy (pSrc, s, pDst, iDstStride, w, h); return;
  case 0x2: blk_v (pSrc, s, pDst, iDstStride, w, h); return;
  case 0x8: blk_h (pSrc, s, pDst, iDstStride, w, h); return;
  case 0xa: blk_c (pSrc, s, pDst, iDstStride, w, h); return;
  case 0x1: /* full and vertical half */
  case 0x3:
    blk_v (pSrc, s, t1, 16, w, h);
    blk_avg (pDst, iDstStride, pSrc + ((iMvY & 3) == 3 ? s : 0), s, t1, 16, w, h);
    return;
  case 0x4: /* full and horizontal half */
  case 0xc:
    blk_h (pSrc, s, t1, 16, w, h);
    blk_avg (pDst, iDstStride, pSrc + ((iMvX & 3) == 3 ? 1 : 0), s, t1, 16, w, h);
    return;
  case 0x5: /* diagonal quarters: horizontal half (this row or next) and vertical half (this column or next) */
  case 0x7:
  case 0xd:
  case 0xf:
    blk_h (pSrc + ((iMvY & 3) == 3 ? s : 0), s, t1, 16, w, h);
    blk_v (pSrc + ((iMvX & 3) == 3 ? 1 : 0), s, t2, 16, w, h);
    break;
  case 0x6: /* vertical half (this column or next) and centre */
  case 0xe:
    blk_v (pSrc + ((iMvX & 3) == 3 ? 1 : 0), s, t1, 16, w, h);
    blk_c (pSrc, s, t2, 16, w, h);
    break;
  default: /* 0x9, 0xb: horizontal half (this row or next) and centre */
    blk_h (pSrc + ((iMvY & 3) == 3 ? s : 0), s, t1, 16, w, h);
    blk_c (pSrc, s, t2, 16, w, h);
    break;
  }
  blk_avg (pDst, iDstStride, t1, 16, t2, 16, w, h);
}
