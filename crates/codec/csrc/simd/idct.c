/* nalcast's wasm simd128 inverse 4x4 transform with prediction add (H.264 8.5.12): a row pass whose
 * results are kept to 16 bits (as the C reference stores them in int16_t), a column pass in 32 bits,
 * (x + 32) >> 6 added to the prediction and clipped to 0..255. Four rows of four, one vector each. */
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
