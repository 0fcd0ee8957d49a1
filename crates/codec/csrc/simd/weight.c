/* nalcast's wasm simd128 weighted-prediction kernels (H.264 8.4.2.3.2), in place on one plane of a
 * prediction block: explicit single-list weighting and bi-predictive (explicit or implicit) weighting.
 * Single-list products fit 16 bits (|p * w| <= 255 * 128); bi-predictive sums use 32-bit dot products. */
#include "nalcast_simd.h"
#include "simd_util.h"

static inline uint8_t clip255 (int32_t v) {
  return (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* 8 samples: ((p * w + round) >> d) + o, clipped. */
static inline V weight8 (V p16, V w, V round, int32_t d, V o) {
  return wasm_i16x8_add (wasm_i16x8_shr (wasm_i16x8_add (wasm_i16x8_mul (p16, w), round), d), o);
}

void nalcast_weight_plane (uint8_t* pDst, int32_t iStride, int32_t iWidth, int32_t iHeight, int32_t iLog2Denom,
                           int32_t iWeight, int32_t iOffset) {
  if (iWeight == 1 << iLog2Denom && iOffset == 0)
    return; /* the default weight: ((p << d) + 2^(d-1)) >> d == p */
  const int32_t r = iLog2Denom >= 1 ? 1 << (iLog2Denom - 1) : 0;
  const V w = wasm_i16x8_splat ((int16_t)iWeight), round = wasm_i16x8_splat ((int16_t)r);
  const V o = wasm_i16x8_splat ((int16_t)iOffset);
  int32_t x, y;
  for (y = 0; y < iHeight; y++, pDst += iStride) {
    for (x = 0; x + 8 <= iWidth; x += 8) {
      const V v = weight8 (wasm_u16x8_load8x8 (pDst + x), w, round, in_loop (iLog2Denom), o);
      wasm_v128_store64_lane (pDst + x, wasm_u8x16_narrow_i16x8 (v, v), 0);
    }
    if (x + 4 <= iWidth) {
      const V v = weight8 (wasm_u16x8_extend_low_u8x16 (wasm_v128_load32_zero (pDst + x)), w, round, in_loop (iLog2Denom),
                         o);
      wasm_v128_store32_lane (pDst + x, wasm_u8x16_narrow_i16x8 (v, v), 0);
      x += 4;
    }
    for (; x < iWidth; x++)
      pDst[x] = clip255 (((pDst[x] * iWeight + r) >> iLog2Denom) + iOffset);
  }
}

/* 4 samples from interleaved (p, q) 16-bit pairs: ((p * w1 + q * w2 + 2^d) >> (d + 1)) + o. */
static inline V biweight4 (V pq, V w12, V round, int32_t d, V o) {
  return wasm_i32x4_add (wasm_i32x4_shr (wasm_i32x4_add (wasm_i32x4_dot_i16x8 (pq, w12), round), in_loop (d + 1)), o);
}

void nalcast_biweight_plane (uint8_t* pDst, const uint8_t* pSrc2, int32_t iStride, int32_t iWidth, int32_t iHeight,
                             int32_t iLog2Denom, int32_t iWeight1, int32_t iWeight2, int32_t iOffset) {
  int32_t x, y;
  if (iWeight1 == 1 << iLog2Denom && iWeight2 == iWeight1 && iOffset == 0) {
    /* default (or implicit equal) weights: ((p + q) 2^d + 2^d) >> (d + 1) == (p + q + 1) >> 1 */
    for (y = 0; y < iHeight; y++, pDst += iStride, pSrc2 += iStride) {
      if (iWidth == 16)
        wasm_v128_store (pDst, wasm_u8x16_avgr (wasm_v128_load (pDst), wasm_v128_load (pSrc2)));
      else if (iWidth == 8)
        wasm_v128_store64_lane (pDst, wasm_u8x16_avgr (wasm_v128_load64_zero (pDst), wasm_v128_load64_zero (pSrc2)), 0);
      else
        for (x = 0; x < iWidth; x++)
          pDst[x] = (uint8_t) ((pDst[x] + pSrc2[x] + 1) >> 1);
    }
    return;
  }
  const V w12 = wasm_i32x4_splat ((int32_t) ((uint32_t) (uint16_t)iWeight1 | ((uint32_t) (uint16_t)iWeight2 << 16)));
  const V round = wasm_i32x4_splat (1 << iLog2Denom), o = wasm_i32x4_splat (iOffset);
  for (y = 0; y < iHeight; y++, pDst += iStride, pSrc2 += iStride) {
    for (x = 0; x + 8 <= iWidth; x += 8) {
      const V p = wasm_u16x8_load8x8 (pDst + x), q = wasm_u16x8_load8x8 (pSrc2 + x);
      const V lo = biweight4 (wasm_i16x8_shuffle (p, q, 0, 8, 1, 9, 2, 10, 3, 11), w12, round, iLog2Denom, o);
      const V hi = biweight4 (wasm_i16x8_shuffle (p, q, 4, 12, 5, 13, 6, 14, 7, 15), w12, round, iLog2Denom, o);
      const V v = wasm_i16x8_narrow_i32x4 (lo, hi);
      wasm_v128_store64_lane (pDst + x, wasm_u8x16_narrow_i16x8 (v, v), 0);
    }
    if (x + 4 <= iWidth) {
      const V p = wasm_u16x8_extend_low_u8x16 (wasm_v128_load32_zero (pDst + x));
      const V q = wasm_u16x8_extend_low_u8x16 (wasm_v128_load32_zero (pSrc2 + x));
      const V lo = biweight4 (wasm_i16x8_shuffle (p, q, 0, 8, 1, 9, 2, 10, 3, 11), w12, round, iLog2Denom, o);
      const V v = wasm_i16x8_narrow_i32x4 (lo, lo);
      wasm_v128_store32_lane (pDst + x, wasm_u8x16_narrow_i16x8 (v, v), 0);
      x += 4;
    }
    for (; x < iWidth; x++)
      pDst[x] = clip255 (((pDst[x] * iWeight1 + pSrc2[x] * iWeight2 + (1 << iLog2Denom)) >> (iLog2Denom + 1)) + iOffset);
  }
}
