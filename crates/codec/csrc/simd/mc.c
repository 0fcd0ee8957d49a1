/* nalcast's wasm simd128 motion-compensation kernels: full-pel block copy and chroma eighth-pel
 * bilinear interpolation (H.264 8.4.2.2.2), computed as a horizontal pass
 * H = (8 - dx) * a + dx * b per row, then ((8 - dy) * H[y] + dy * H[y + 1] + 32) >> 6, which is the
 * spec's ((8-dx)(8-dy)A + dx(8-dy)B + (8-dx)dyC + dx dyD + 32) >> 6 regrouped. */
#include "nalcast_simd.h"
#include "simd_util.h"

void nalcast_mc_copy (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int32_t iWidth,
                      int32_t iHeight) {
  int32_t i;
  if (iWidth == 16) {
    for (i = 0; i < iHeight; i++, pSrc += iSrcStride, pDst += iDstStride)
      wasm_v128_store (pDst, wasm_v128_load (pSrc));
  } else if (iWidth == 8) {
    for (i = 0; i < iHeight; i++, pSrc += iSrcStride, pDst += iDstStride)
      wasm_v128_store64_lane (pDst, wasm_v128_load64_zero (pSrc), 0);
  } else if (iWidth == 4) {
    for (i = 0; i < iHeight; i++, pSrc += iSrcStride, pDst += iDstStride)
      wasm_v128_store32_lane (pDst, wasm_v128_load32_zero (pSrc), 0);
  } else { /* width 2, chroma only */
    for (i = 0; i < iHeight; i++, pSrc += iSrcStride, pDst += iDstStride)
      wasm_v128_store16_lane (pDst, wasm_v128_load16_splat (pSrc), 0);
  }
}

/* Horizontal pass of 8 samples (u16 lanes): (8 - dx) * src[j] + dx * src[j + 1]. */
static inline V hpass8 (const uint8_t* p, V wa, V wb) {
  return wasm_i16x8_add (wasm_i16x8_mul (wasm_u16x8_load8x8 (p), wa), wasm_i16x8_mul (wasm_u16x8_load8x8 (p + 1), wb));
}
/* The same for 4 samples of row p (lanes 0-3) and, unless `one`, of the row below (lanes 4-7). */
static inline V hpass4x2 (const uint8_t* p, int32_t s, int one, V wa, V wb) {
  V a = wasm_v128_load32_zero (p), b = wasm_v128_load32_zero (p + 1);
  if (!one) {
    a = wasm_v128_load32_lane (p + s, a, 1);
    b = wasm_v128_load32_lane (p + s + 1, b, 1);
  }
  return wasm_i16x8_add (wasm_i16x8_mul (wasm_u16x8_extend_low_u8x16 (a), wa),
                         wasm_i16x8_mul (wasm_u16x8_extend_low_u8x16 (b), wb));
}

void nalcast_mc_chroma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int16_t iMvX,
                        int16_t iMvY, int32_t iWidth, int32_t iHeight) {
  const int32_t dx = iMvX & 7, dy = iMvY & 7;
  if (dx == 0 && dy == 0) {
    nalcast_mc_copy (pSrc, iSrcStride, pDst, iDstStride, iWidth, iHeight);
    return;
  }
  const V wa = wasm_i16x8_splat ((int16_t) (8 - dx)), wb = wasm_i16x8_splat ((int16_t)dx);
  const V wc = wasm_i16x8_splat ((int16_t) (8 - dy)), wd = wasm_i16x8_splat ((int16_t)dy);
  const V r32 = wasm_i16x8_splat (32);
  int32_t x, y;
  if (iWidth >= 8 && (iWidth & 7) == 0) {
    for (x = 0; x < iWidth; x += 8) {
      const uint8_t* s = pSrc + x;
      uint8_t* d = pDst + x;
      V h0 = hpass8 (s, wa, wb);
      for (y = 0; y < iHeight; y++) {
        const V h1 = hpass8 (s + (y + 1) * iSrcStride, wa, wb);
        const V v = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_mul (h0, wc), wasm_i16x8_mul (h1, wd)),
                                                    r32), 6);
        wasm_v128_store64_lane (d + y * iDstStride, wasm_u8x16_narrow_i16x8 (v, v), 0);
        h0 = h1;
      }
    }
  } else if (iWidth == 4 && (iHeight & 1) == 0) {
    /* two rows per vector: h01 holds rows y, y+1; h12 rows y+1, y+2 (the last pass reads only row h) */
    V h01 = hpass4x2 (pSrc, iSrcStride, 0, wa, wb);
    for (y = 0; y < iHeight; y += 2) {
      const V h23 = hpass4x2 (pSrc + (y + 2) * iSrcStride, iSrcStride, y + 2 == iHeight, wa, wb);
      const V h12 = wasm_i16x8_shuffle (h01, h23, 4, 5, 6, 7, 8, 9, 10, 11);
      const V v = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_mul (h01, wc), wasm_i16x8_mul (h12, wd)),
                                                  r32), 6);
      const V n = wasm_u8x16_narrow_i16x8 (v, v);
      wasm_v128_store32_lane (pDst + y * iDstStride, n, 0);
      wasm_v128_store32_lane (pDst + (y + 1) * iDstStride, n, 1);
      h01 = h23;
    }
  } else { /* width 2 (or any other): scalar, the spec's four weights */
    const int32_t a = (8 - dx) * (8 - dy), b = dx * (8 - dy), c = (8 - dx) * dy, d = dx * dy;
    for (y = 0; y < iHeight; y++) {
      const uint8_t* s = pSrc + y * iSrcStride;
      const uint8_t* n = s + iSrcStride;
      for (x = 0; x < iWidth; x++)
        pDst[y * iDstStride + x] = (uint8_t) ((a * s[x] + b * s[x + 1] + c * n[x] + d * n[x + 1] + 32) >> 6);
    }
  }
}
