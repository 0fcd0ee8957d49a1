/* Declarations of nalcast's wasm simd128 kernels, which our build-time patches (crates/codec/patches)
 * put into OpenH264's function tables and loops in place of the portable C versions. Each has the
 * signature of the table entry it replaces; the arithmetic is the H.264 spec's, bit-exact with the C. */
#ifndef NALCAST_SIMD_H
#define NALCAST_SIMD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deblocking (deblock.c): luma bS<4 and bS=4, chroma bS<4 and bS=4 (separate Cb/Cr planes).
 * _v filters a horizontal edge (pixels above/below, 16 or 8 columns), _h a vertical edge (pixels
 * left/right, 16 or 8 rows). pPix points at q0; tc holds tc0 per 4 (luma) or 2 (chroma) pixels. */
void nalcast_deblock_luma_lt4_v (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta, int8_t* pTc);
void nalcast_deblock_luma_lt4_h (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta, int8_t* pTc);
void nalcast_deblock_luma_eq4_v (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta);
void nalcast_deblock_luma_eq4_h (uint8_t* pPix, int32_t iStride, int32_t iAlpha, int32_t iBeta);
void nalcast_deblock_chroma_lt4_v (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta,
                                   int8_t* pTc);
void nalcast_deblock_chroma_lt4_h (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta,
                                   int8_t* pTc);
void nalcast_deblock_chroma_eq4_v (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta);
void nalcast_deblock_chroma_eq4_h (uint8_t* pCb, uint8_t* pCr, int32_t iStride, int32_t iAlpha, int32_t iBeta);

/* Motion compensation (mc.c, mc_luma.c): full-pel block copy (width 2, 4, 8 or 16), chroma eighth-pel
 * bilinear interpolation and luma quarter-pel 6-tap interpolation (McChroma's and McLuma's signature;
 * pSrc already offset by the integer part of the mv; luma blocks 4, 8 or 16 wide). */
void nalcast_mc_copy (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int32_t iWidth,
                      int32_t iHeight);
void nalcast_mc_chroma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int16_t iMvX,
                        int16_t iMvY, int32_t iWidth, int32_t iHeight);
void nalcast_mc_luma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride, int16_t iMvX,
                      int16_t iMvY, int32_t iWidth, int32_t iHeight);

/* Weighted prediction (weight.c), in place on one plane of a prediction block:
 * explicit single-list:  p = clip((p * w + round) >> log2denom) + o)
 * bi-predictive:         p = clip(((p * w1 + q * w2 + 2^log2denom) >> (log2denom + 1)) + o) */
void nalcast_weight_plane (uint8_t* pDst, int32_t iStride, int32_t iWidth, int32_t iHeight, int32_t iLog2Denom,
                           int32_t iWeight, int32_t iOffset);
void nalcast_biweight_plane (uint8_t* pDst, const uint8_t* pSrc2, int32_t iStride, int32_t iWidth, int32_t iHeight,
                             int32_t iLog2Denom, int32_t iWeight1, int32_t iWeight2, int32_t iOffset);

/* Border extension of a reference picture (expand.c): 32 samples around luma, 16 around chroma. */
void nalcast_expand_picture_luma (uint8_t* pDst, const int32_t kiStride, const int32_t kiPicW, const int32_t kiPicH);
void nalcast_expand_picture_chroma (uint8_t* pDst, const int32_t kiStride, const int32_t kiPicW,
                                    const int32_t kiPicH);

/* Inverse 4x4 transform of pRs (16 coefficients, row-major) added to the prediction in place (idct.c). */
void nalcast_idct4x4_add (uint8_t* pPred, int32_t iStride, int16_t* pRs);
/* The same for an 8x8 block (pRs: 64 coefficients, row-major). */
void nalcast_idct8x8_add (uint8_t* pPred, int32_t iStride, int16_t* pRs);
/* The four 4x4 blocks of an 8x8 quadrant (pRs: 4 x 16 coefficients; pNzc: the quadrant's entries in
 * OpenH264's 4-wide non-zero-count layout), each skipped when it has no coefficient: what the
 * pIdctFourResAddPredFunc table entry does, inline here so the patched call sites call it directly. */
static inline void nalcast_idct4x4x4_add (uint8_t* pPred, int32_t iStride, int16_t* pRs, const int8_t* pNzc) {
  for (int32_t b = 0; b < 4; b++) {
    const int32_t iRow = b >> 1, iCol = b & 1;
    if (pNzc[iRow * 4 + iCol] || pRs[b * 16])
      nalcast_idct4x4_add (pPred + iRow * 4 * iStride + iCol * 4, iStride, pRs + b * 16);
  }
}

#ifdef __cplusplus
}
#endif

#endif
