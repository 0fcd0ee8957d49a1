/* nalcast's wasm simd128 inverse transforms with prediction add (H.264 8.5.12, 8.5.13).
 * 4x4: a row pass whose results are kept to 16 bits (as the C reference stores them in int16_t), a
 * column pass in 32 bits, (x + 32) >> 6 added to the prediction and clipped. Four rows, one vector each.
 * 8x8: both passes in wrapping 16-bit lanes, exactly as the C keeps every intermediate in int16_t;
 * the coefficient block is transposed so each pass works on whole vectors. */
#include "nalcast_simd.h"
#include "simd_util.h"

static inline void transpose4 (V* a, V* b, V* c, V* d) {
  const V ab_lo = wasm_i32x4_shuffle (*a, *b, 0, 4, 1, 5), ab_hi = wasm_i32x4_shuffle (*a, *b, 2, 6, 3, 7);
  const V cd_lo = wasm_i32x4_shuffle (*c, *d, 0, 4, 1, 5), cd_hi = wasm_i32x4_shuffle (*c, *d, 2, 6, 3, 7);
  *a = wasm_i32x4_shuffle (ab_lo, cd_lo, 0, 1, 4, 5);
  *b = wasm_i32x4_shuffle (ab_lo, cd_lo, 2, 3, 6, 7);
  *c = wasm_i32x4_shuffle (ab_hi, cd_hi, 0, 1, 4, 5);
  *d = wasm_i32x4_shuffle (ab_hi, cd_hi, 2, 3, 6, 7);
}

/* Keeps the low 16 bits, sign-extended (the int16_t store of the reference). */
static inline V wrap16 (V x) {
  return wasm_i32x4_shr (wasm_i32x4_shl (x, 16), 16);
}

static inline void add_row (uint8_t* p, V res) {
  const V pred = wasm_u32x4_extend_low_u16x8 (wasm_u16x8_extend_low_u8x16 (wasm_v128_load32_zero (p)));
  const V s = wasm_i32x4_add (pred, wasm_i32x4_shr (res, 6));
  const V n = wasm_i16x8_narrow_i32x4 (s, s);
  wasm_v128_store32_lane (p, wasm_u8x16_narrow_i16x8 (n, n), 0);
}

void nalcast_idct4x4_add (uint8_t* pPred, int32_t iStride, int16_t* pRs) {
  V c0 = wasm_i32x4_load16x4 (pRs), c1 = wasm_i32x4_load16x4 (pRs + 4);
  V c2 = wasm_i32x4_load16x4 (pRs + 8), c3 = wasm_i32x4_load16x4 (pRs + 12);
  transpose4 (&c0, &c1, &c2, &c3); /* ck: coefficient k of each row */
  const V t0 = wasm_i32x4_add (c0, c2), t1 = wasm_i32x4_sub (c0, c2);
  const V t2 = wasm_i32x4_sub (wasm_i32x4_shr (c1, 1), c3), t3 = wasm_i32x4_add (c1, wasm_i32x4_shr (c3, 1));
  V r0 = wrap16 (wasm_i32x4_add (t0, t3)), r1 = wrap16 (wasm_i32x4_add (t1, t2));
  V r2 = wrap16 (wasm_i32x4_sub (t1, t2)), r3 = wrap16 (wasm_i32x4_sub (t0, t3));
  transpose4 (&r0, &r1, &r2, &r3); /* rk: row k of the intermediate block */
  const V r32 = wasm_i32x4_splat (32);
  const V u0 = wasm_i32x4_add (wasm_i32x4_add (r0, r2), r32), u1 = wasm_i32x4_add (wasm_i32x4_sub (r0, r2), r32);
  const V u2 = wasm_i32x4_sub (wasm_i32x4_shr (r1, 1), r3), u3 = wasm_i32x4_add (r1, wasm_i32x4_shr (r3, 1));
  add_row (pPred, wasm_i32x4_add (u0, u3));
  add_row (pPred + iStride, wasm_i32x4_add (u1, u2));
  add_row (pPred + 2 * iStride, wasm_i32x4_sub (u1, u2));
  add_row (pPred + 3 * iStride, wasm_i32x4_sub (u0, u3));
}

/* One 8-point inverse transform pass on 8 vectors (p[k]: element k of 8 independent lines). */
static inline void idct8_pass (V p[8]) {
  const V a0 = wasm_i16x8_add (p[0], p[4]), a1 = wasm_i16x8_sub (p[0], p[4]);
  const V a2 = wasm_i16x8_sub (p[6], wasm_i16x8_shr (p[2], 1)), a3 = wasm_i16x8_add (p[2], wasm_i16x8_shr (p[6], 1));
  const V b0 = wasm_i16x8_add (a0, a3), b2 = wasm_i16x8_sub (a1, a2);
  const V b4 = wasm_i16x8_add (a1, a2), b6 = wasm_i16x8_sub (a0, a3);
  const V e0 = wasm_i16x8_sub (wasm_i16x8_sub (wasm_i16x8_sub (p[5], p[3]), p[7]), wasm_i16x8_shr (p[7], 1));
  const V e1 = wasm_i16x8_sub (wasm_i16x8_sub (wasm_i16x8_add (p[1], p[7]), p[3]), wasm_i16x8_shr (p[3], 1));
  const V e2 = wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_sub (p[7], p[1]), p[5]), wasm_i16x8_shr (p[5], 1));
  const V e3 = wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_add (p[3], p[5]), p[1]), wasm_i16x8_shr (p[1], 1));
  const V b1 = wasm_i16x8_add (e0, wasm_i16x8_shr (e3, 2)), b3 = wasm_i16x8_add (e1, wasm_i16x8_shr (e2, 2));
  const V b5 = wasm_i16x8_sub (e2, wasm_i16x8_shr (e1, 2)), b7 = wasm_i16x8_sub (e3, wasm_i16x8_shr (e0, 2));
  p[0] = wasm_i16x8_add (b0, b7);
  p[1] = wasm_i16x8_sub (b2, b5);
  p[2] = wasm_i16x8_add (b4, b3);
  p[3] = wasm_i16x8_add (b6, b1);
  p[4] = wasm_i16x8_sub (b6, b1);
  p[5] = wasm_i16x8_sub (b4, b3);
  p[6] = wasm_i16x8_add (b2, b5);
  p[7] = wasm_i16x8_sub (b0, b7);
}

/* 8x8 transpose of 16-bit lanes. */
static inline void transpose8 (V r[8]) {
  V a[8], b[8];
  for (int i = 0; i < 4; i++) {
    a[2 * i] = IL16_LO (r[2 * i], r[2 * i + 1]);     /* columns 0-3 of rows 2i, 2i+1 */
    a[2 * i + 1] = IL16_HI (r[2 * i], r[2 * i + 1]); /* columns 4-7 */
  }
  for (int g = 0; g < 2; g++) {
    const V* aa = a + 4 * g;
    b[4 * g + 0] = IL32_LO (aa[0], aa[2]); /* columns 0, 1 of 4 rows */
    b[4 * g + 1] = IL32_HI (aa[0], aa[2]); /* columns 2, 3 */
    b[4 * g + 2] = IL32_LO (aa[1], aa[3]); /* columns 4, 5 */
    b[4 * g + 3] = IL32_HI (aa[1], aa[3]); /* columns 6, 7 */
  }
  for (int i = 0; i < 4; i++) {
    r[2 * i] = IL64_LO (b[i], b[4 + i]);
    r[2 * i + 1] = IL64_HI (b[i], b[4 + i]);
  }
}

void nalcast_idct8x8_add (uint8_t* pPred, int32_t iStride, int16_t* pRs) {
  V p[8];
  for (int i = 0; i < 8; i++)
    p[i] = wasm_v128_load (pRs + 8 * i);
  transpose8 (p); /* p[j]: coefficient j of each row */
  idct8_pass (p); /* p[k]: column k of the row-transformed block */
  transpose8 (p); /* p[j]: row j */
  idct8_pass (p); /* p[k]: row k of the residual */
  for (int k = 0; k < 8; k++) {
    uint8_t* d = pPred + k * iStride;
    /* (32 + x) >> 6 without leaving 16 bits: ((x >> 1) + 16) >> 5 is the same floor */
    const V res = wasm_i16x8_shr (wasm_i16x8_add (wasm_i16x8_shr (p[k], 1), wasm_i16x8_splat (16)), 5);
    const V sum = wasm_i16x8_add (wasm_u16x8_load8x8 (d), res);
    wasm_v128_store64_lane (d, wasm_u8x16_narrow_i16x8 (sum, sum), 0);
  }
}
