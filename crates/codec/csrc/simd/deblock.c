/* nalcast's wasm simd128 deblocking kernels (H.264 8.7.2): luma bS<4 and bS=4, chroma bS<4 and bS=4,
 * for horizontal edges (_v: rows above/below) and vertical edges (_h: columns left/right, done by
 * transposing 16 rows of 8 bytes, or of 4 bytes for chroma, into 16-lane vectors and back).
 * All 16 lanes are filtered at once; lanes whose edge condition fails keep their samples. */
#include "nalcast_simd.h"
#include "simd_util.h"

/* ---- filters on 16 lanes ---- */

/* Luma, bS<4. tc0 holds tc0 per lane as signed bytes; a negative tc0 leaves the lane alone. */
static inline void luma_lt4 (V* p2, V* p1, V* p0, V* q0, V* q1, V* q2, int32_t iAlpha, int32_t iBeta, V tc0) {
  const V a = wasm_u8x16_splat ((uint8_t)iAlpha), b = wasm_u8x16_splat ((uint8_t)iBeta);
  V mask = wasm_v128_and (wasm_u8x16_lt (absdiff_u8 (*p0, *q0), a),
                          wasm_v128_and (wasm_u8x16_lt (absdiff_u8 (*p1, *p0), b),
                                         wasm_u8x16_lt (absdiff_u8 (*q1, *q0), b)));
  mask = wasm_v128_and (mask, wasm_i8x16_gt (tc0, wasm_i8x16_splat (-1)));
  const V ap = wasm_v128_and (mask, wasm_u8x16_lt (absdiff_u8 (*p2, *p0), b));
  const V aq = wasm_v128_and (mask, wasm_u8x16_lt (absdiff_u8 (*q2, *q0), b));
  const V avg = wasm_u8x16_avgr (*p0, *q0); /* (p0 + q0 + 1) >> 1 */
  V np1[2], nq1[2], np0[2], nq0[2];
  for (int h = 0; h < 2; h++) {
#define W(x) (h ? wasm_u16x8_extend_high_u8x16 (x) : wasm_u16x8_extend_low_u8x16 (x))
#define S(x) (h ? wasm_i16x8_extend_high_i8x16 (x) : wasm_i16x8_extend_low_i8x16 (x))
    const V P2 = W (*p2), P1 = W (*p1), P0 = W (*p0), Q0 = W (*q0), Q1 = W (*q1), Q2 = W (*q2), A = W (avg);
    const V T0 = S (tc0), nT0 = wasm_i16x8_neg (T0);
    np1[h] = wasm_i16x8_add (P1, clamp_i16 (wasm_i16x8_shr (wasm_i16x8_sub (wasm_i16x8_add (P2, A),
                                                                       wasm_i16x8_shl (P1, 1)), 1), nT0, T0));
    nq1[h] = wasm_i16x8_add (Q1, clamp_i16 (wasm_i16x8_shr (wasm_i16x8_sub (wasm_i16x8_add (Q2, A),
                                                                       wasm_i16x8_shl (Q1, 1)), 1), nT0, T0));
    /* tc = tc0 + (ap ? 1 : 0) + (aq ? 1 : 0); the masks are -1 where set. */
    const V T = wasm_i16x8_sub (wasm_i16x8_sub (T0, S (ap)), S (aq));
    const V d = wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_sub (Q0, P0), 2), wasm_i16x8_sub (P1, Q1)),
                                wasm_i16x8_splat (4));
    const V delta = clamp_i16 (wasm_i16x8_shr (d, 3), wasm_i16x8_neg (T), T);
    np0[h] = wasm_i16x8_add (P0, delta);
    nq0[h] = wasm_i16x8_sub (Q0, delta);
#undef W
#undef S
  }
  *p1 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (np1[0], np1[1]), *p1, ap);
  *q1 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (nq1[0], nq1[1]), *q1, aq);
  *p0 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (np0[0], np0[1]), *p0, mask);
  *q0 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (nq0[0], nq0[1]), *q0, mask);
}

/* Luma, bS=4. */
static inline void luma_eq4 (V* p3, V* p2, V* p1, V* p0, V* q0, V* q1, V* q2, V* q3, int32_t iAlpha, int32_t iBeta) {
  const V a = wasm_u8x16_splat ((uint8_t)iAlpha), b = wasm_u8x16_splat ((uint8_t)iBeta);
  const V d00 = absdiff_u8 (*p0, *q0);
  const V mask = wasm_v128_and (wasm_u8x16_lt (d00, a), wasm_v128_and (wasm_u8x16_lt (absdiff_u8 (*p1, *p0), b),
                                wasm_u8x16_lt (absdiff_u8 (*q1, *q0), b)));
  const V strong = wasm_v128_and (mask, wasm_u8x16_lt (d00, wasm_u8x16_splat ((uint8_t) ((iAlpha >> 2) + 2))));
  const V ap = wasm_v128_and (strong, wasm_u8x16_lt (absdiff_u8 (*p2, *p0), b));
  const V aq = wasm_v128_and (strong, wasm_u8x16_lt (absdiff_u8 (*q2, *q0), b));
  V wp0[2], wq0[2], sp0[2], sp1[2], sp2[2], sq0[2], sq1[2], sq2[2];
  for (int h = 0; h < 2; h++) {
#define W(x) (h ? wasm_u16x8_extend_high_u8x16 (x) : wasm_u16x8_extend_low_u8x16 (x))
    const V P3 = W (*p3), P2 = W (*p2), P1 = W (*p1), P0 = W (*p0);
    const V Q0 = W (*q0), Q1 = W (*q1), Q2 = W (*q2), Q3 = W (*q3);
    const V two = wasm_i16x8_splat (2), four = wasm_i16x8_splat (4);
    const V p0q0 = wasm_i16x8_add (P0, Q0);
    wp0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (P1, 1), P0), wasm_i16x8_add (Q1, two)), 2);
    wq0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (Q1, 1), Q0), wasm_i16x8_add (P1, two)), 2);
    /* p side: p2+p1+p0+q0 shared by the three outputs */
    const V sp = wasm_i16x8_add (wasm_i16x8_add (P2, P1), p0q0);
    sp0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_add (P1, p0q0), 1), P2),
                                             wasm_i16x8_add (Q1, four)), 3);
    sp1[h] = wasm_u16x8_shr (wasm_i16x8_add (sp, two), 2);
    sp2[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_add (P3, P2), 1), sp), four), 3);
    const V sq = wasm_i16x8_add (wasm_i16x8_add (Q2, Q1), p0q0);
    sq0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_add (Q1, p0q0), 1), Q2),
                                             wasm_i16x8_add (P1, four)), 3);
    sq1[h] = wasm_u16x8_shr (wasm_i16x8_add (sq, two), 2);
    sq2[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_add (Q3, Q2), 1), sq), four), 3);
#undef W
  }
#define N(x) wasm_u8x16_narrow_i16x8 (x[0], x[1])
  const V np0 = wasm_v128_bitselect (N (sp0), N (wp0), ap);
  const V nq0 = wasm_v128_bitselect (N (sq0), N (wq0), aq);
  *p2 = wasm_v128_bitselect (N (sp2), *p2, ap);
  *p1 = wasm_v128_bitselect (N (sp1), *p1, ap);
  *q1 = wasm_v128_bitselect (N (sq1), *q1, aq);
  *q2 = wasm_v128_bitselect (N (sq2), *q2, aq);
#undef N
  *p0 = wasm_v128_bitselect (np0, *p0, mask);
  *q0 = wasm_v128_bitselect (nq0, *q0, mask);
}

/* Chroma, bS<4 (tc0 > 0 filters) or bS=4 (strong != 0). */
static inline void chroma (V* p1, V* p0, V* q0, V* q1, int32_t iAlpha, int32_t iBeta, V tc0, int strong) {
  const V a = wasm_u8x16_splat ((uint8_t)iAlpha), b = wasm_u8x16_splat ((uint8_t)iBeta);
  V mask = wasm_v128_and (wasm_u8x16_lt (absdiff_u8 (*p0, *q0), a),
                          wasm_v128_and (wasm_u8x16_lt (absdiff_u8 (*p1, *p0), b),
                                         wasm_u8x16_lt (absdiff_u8 (*q1, *q0), b)));
  V np0[2], nq0[2];
  if (!strong)
    mask = wasm_v128_and (mask, wasm_i8x16_gt (tc0, wasm_i8x16_splat (0)));
  for (int h = 0; h < 2; h++) {
#define W(x) (h ? wasm_u16x8_extend_high_u8x16 (x) : wasm_u16x8_extend_low_u8x16 (x))
    const V P1 = W (*p1), P0 = W (*p0), Q0 = W (*q0), Q1 = W (*q1), two = wasm_i16x8_splat (2);
    if (strong) {
      np0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (P1, 1), P0), wasm_i16x8_add (Q1, two)), 2);
      nq0[h] = wasm_u16x8_shr (wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (Q1, 1), Q0), wasm_i16x8_add (P1, two)), 2);
    } else {
      const V T = h ? wasm_i16x8_extend_high_i8x16 (tc0) : wasm_i16x8_extend_low_i8x16 (tc0);
      const V d = wasm_i16x8_add (wasm_i16x8_add (wasm_i16x8_shl (wasm_i16x8_sub (Q0, P0), 2), wasm_i16x8_sub (P1, Q1)),
                                  wasm_i16x8_splat (4));
      const V delta = clamp_i16 (wasm_i16x8_shr (d, 3), wasm_i16x8_neg (T), T);
      np0[h] = wasm_i16x8_add (P0, delta);
      nq0[h] = wasm_i16x8_sub (Q0, delta);
    }
#undef W
  }
  *p0 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (np0[0], np0[1]), *p0, mask);
  *q0 = wasm_v128_bitselect (wasm_u8x16_narrow_i16x8 (nq0[0], nq0[1]), *q0, mask);
}

/* tc0 of 4 edge parts spread over the lanes they cover. */
static inline V luma_tc (const int8_t* pTc) {
  const V t = wasm_v128_load32_zero (pTc);
  return wasm_i8x16_shuffle (t, t, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
}
static inline V chroma_tc (const int8_t* pTc) {
  const V t = wasm_v128_load32_zero (pTc);
  return wasm_i8x16_shuffle (t, t, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3);
}

/* ---- 16 rows x 8 bytes <-> 8 vectors of 16 lanes ---- */

static inline void load_transpose_16x8 (const uint8_t* p, int32_t s, V c[8]) {
  V r[16], t[8], u[8];
  for (int i = 0; i < 16; i++)
    r[i] = wasm_v128_load64_zero (p + i * s);
  for (int i = 0; i < 8; i++)
    r[i] = IL8_LO (r[2 * i], r[2 * i + 1]); /* rows 2i, 2i+1 interleaved */
  for (int i = 0; i < 4; i++) {
    t[2 * i] = IL16_LO (r[2 * i], r[2 * i + 1]);     /* columns 0-3 of 4 rows */
    t[2 * i + 1] = IL16_HI (r[2 * i], r[2 * i + 1]); /* columns 4-7 */
  }
  for (int g = 0; g < 2; g++) { /* rows 0-7, rows 8-15 */
    const V* tt = t + 4 * g;
    u[4 * g + 0] = IL32_LO (tt[0], tt[2]); /* columns 0,1 of 8 rows */
    u[4 * g + 1] = IL32_HI (tt[0], tt[2]); /* columns 2,3 */
    u[4 * g + 2] = IL32_LO (tt[1], tt[3]); /* columns 4,5 */
    u[4 * g + 3] = IL32_HI (tt[1], tt[3]); /* columns 6,7 */
  }
  for (int i = 0; i < 4; i++) {
    c[2 * i] = IL64_LO (u[i], u[4 + i]);
    c[2 * i + 1] = IL64_HI (u[i], u[4 + i]);
  }
}

static inline void transpose_store_8x16 (uint8_t* p, int32_t s, const V c[8]) {
  V a[8], g[8];
  for (int i = 0; i < 4; i++) {
    a[i] = IL8_LO (c[2 * i], c[2 * i + 1]);     /* rows 0-7: column pairs */
    a[4 + i] = IL8_HI (c[2 * i], c[2 * i + 1]); /* rows 8-15 */
  }
  for (int k = 0; k < 2; k++) {
    const V* aa = a + 4 * k;
    g[4 * k + 0] = IL16_LO (aa[0], aa[1]); /* columns 0-3, rows 0-3 of the group */
    g[4 * k + 1] = IL16_HI (aa[0], aa[1]); /* columns 0-3, rows 4-7 */
    g[4 * k + 2] = IL16_LO (aa[2], aa[3]); /* columns 4-7, rows 0-3 */
    g[4 * k + 3] = IL16_HI (aa[2], aa[3]); /* columns 4-7, rows 4-7 */
  }
  for (int k = 0; k < 2; k++) {
    for (int j = 0; j < 2; j++) {
      const V lo = IL32_LO (g[4 * k + j], g[4 * k + 2 + j]);
      const V hi = IL32_HI (g[4 * k + j], g[4 * k + 2 + j]);
      uint8_t* row = p + (8 * k + 4 * j) * s;
      wasm_v128_store64_lane (row, lo, 0);
      wasm_v128_store64_lane (row + s, lo, 1);
      wasm_v128_store64_lane (row + 2 * s, hi, 0);
      wasm_v128_store64_lane (row + 3 * s, hi, 1);
    }
  }
}

/* ---- luma ---- */

void nalcast_deblock_luma_lt4_v (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta, int8_t* pTc) {
  V p2 = wasm_v128_load (pPix - 3 * iStride), p1 = wasm_v128_load (pPix - 2 * iStride);
  V p0 = wasm_v128_load (pPix - iStride), q0 = wasm_v128_load (pPix);
  V q1 = wasm_v128_load (pPix + iStride), q2 = wasm_v128_load (pPix + 2 * iStride);
  luma_lt4 (&p2, &p1, &p0, &q0, &q1, &q2, iAlpha, iBeta, luma_tc (pTc));
  wasm_v128_store (pPix - 2 * iStride, p1);
  wasm_v128_store (pPix - iStride, p0);
  wasm_v128_store (pPix, q0);
  wasm_v128_store (pPix + iStride, q1);
}

void nalcast_deblock_luma_lt4_h (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta, int8_t* pTc) {
  V c[8];
  load_transpose_16x8 (pPix - 4, iStride, c);
  luma_lt4 (&c[1], &c[2], &c[3], &c[4], &c[5], &c[6], iAlpha, iBeta, luma_tc (pTc));
  transpose_store_8x16 (pPix - 4, iStride, c);
}

void nalcast_deblock_luma_eq4_v (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta) {
  V p3 = wasm_v128_load (pPix - 4 * iStride), p2 = wasm_v128_load (pPix - 3 * iStride);
  V p1 = wasm_v128_load (pPix - 2 * iStride), p0 = wasm_v128_load (pPix - iStride);
  V q0 = wasm_v128_load (pPix), q1 = wasm_v128_load (pPix + iStride);
  V q2 = wasm_v128_load (pPix + 2 * iStride), q3 = wasm_v128_load (pPix + 3 * iStride);
  luma_eq4 (&p3, &p2, &p1, &p0, &q0, &q1, &q2, &q3, iAlpha, iBeta);
  wasm_v128_store (pPix - 3 * iStride, p2);
  wasm_v128_store (pPix - 2 * iStride, p1);
  wasm_v128_store (pPix - iStride, p0);
  wasm_v128_store (pPix, q0);
  wasm_v128_store (pPix + iStride, q1);
  wasm_v128_store (pPix + 2 * iStride, q2);
}

void nalcast_deblock_luma_eq4_h (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta) {
  V c[8];
  load_transpose_16x8 (pPix - 4, iStride, c);
  luma_eq4 (&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], iAlpha, iBeta);
  transpose_store_8x16 (pPix - 4, iStride, c);
}

/* ---- chroma: lanes 0-7 are Cb, lanes 8-15 Cr ---- */

static inline V load_cbcr8 (const uint8_t* pCb, const uint8_t* pCr) {
  return wasm_v128_load64_lane (pCr, wasm_v128_load64_zero (pCb), 1);
}
static inline void store_cbcr8 (uint8_t* pCb, uint8_t* pCr, V v) {
  wasm_v128_store64_lane (pCb, v, 0);
  wasm_v128_store64_lane (pCr, v, 1);
}

static inline void chroma_v (uint8_t* pCb, uint8_t* pCr, int32_t s, int32_t iAlpha, int32_t iBeta, V tc0, int strong) {
  V p1 = load_cbcr8 (pCb - 2 * s, pCr - 2 * s), p0 = load_cbcr8 (pCb - s, pCr - s);
  V q0 = load_cbcr8 (pCb, pCr), q1 = load_cbcr8 (pCb + s, pCr + s);
  chroma (&p1, &p0, &q0, &q1, iAlpha, iBeta, tc0, strong);
  store_cbcr8 (pCb - s, pCr - s, p0);
  store_cbcr8 (pCb, pCr, q0);
}

static inline V load_4rows (const uint8_t* p, int32_t s) {
  V v = wasm_v128_load32_zero (p);
  v = wasm_v128_load32_lane (p + s, v, 1);
  v = wasm_v128_load32_lane (p + 2 * s, v, 2);
  return wasm_v128_load32_lane (p + 3 * s, v, 3);
}
static inline void store_4rows (uint8_t* p, int32_t s, V v) {
  wasm_v128_store32_lane (p, v, 0);
  wasm_v128_store32_lane (p + s, v, 1);
  wasm_v128_store32_lane (p + 2 * s, v, 2);
  wasm_v128_store32_lane (p + 3 * s, v, 3);
}

static inline void chroma_h (uint8_t* pCb, uint8_t* pCr, int32_t s, int32_t iAlpha, int32_t iBeta, V tc0, int strong) {
  /* 16 rows (8 Cb, 8 Cr) of p1 p0 q0 q1 */
  const V v0 = load_4rows (pCb - 2, s), v1 = load_4rows (pCb - 2 + 4 * s, s);
  const V v2 = load_4rows (pCr - 2, s), v3 = load_4rows (pCr - 2 + 4 * s, s);
#define EVEN(x, y) wasm_i8x16_shuffle (x, y, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29)
#define ODD(x, y) wasm_i8x16_shuffle (x, y, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31)
  const V a = EVEN (v0, v1), b = ODD (v0, v1), c = EVEN (v2, v3), d = ODD (v2, v3);
#undef EVEN
#undef ODD
  V p1 = IL64_LO (a, c), p0 = IL64_HI (a, c), q0 = IL64_LO (b, d), q1 = IL64_HI (b, d);
  chroma (&p1, &p0, &q0, &q1, iAlpha, iBeta, tc0, strong);
  const V xl = IL8_LO (p1, p0), yl = IL8_LO (q0, q1), xh = IL8_HI (p1, p0), yh = IL8_HI (q0, q1);
  store_4rows (pCb - 2, s, IL16_LO (xl, yl));
  store_4rows (pCb - 2 + 4 * s, s, IL16_HI (xl, yl));
  store_4rows (pCr - 2, s, IL16_LO (xh, yh));
  store_4rows (pCr - 2 + 4 * s, s, IL16_HI (xh, yh));
}

void nalcast_deblock_chroma_lt4_v (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta,
                                   int8_t* pTc) {
  chroma_v (pCb, pCr, iStride, iAlpha, iBeta, chroma_tc (pTc), 0);
}
void nalcast_deblock_chroma_lt4_h (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta,
                                   int8_t* pTc) {
  chroma_h (pCb, pCr, iStride, iAlpha, iBeta, chroma_tc (pTc), 0);
}
void nalcast_deblock_chroma_eq4_v (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta) {
  chroma_v (pCb, pCr, iStride, iAlpha, iBeta, wasm_i8x16_splat (0), 1);
}
void nalcast_deblock_chroma_eq4_h (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta) {
  chroma_h (pCb, pCr, iStride, iAlpha, iBeta, wasm_i8x16_splat (0), 1);
}
