/* Test-only (built with the `kernel-tests` feature): scalar references for the weighted-prediction
 * kernels. OpenH264's WeightPrediction/BiWeightPrediction are file-local in rec_mb.cpp and take whole
 * decoder structures, so these restate their per-plane loops sample by sample, with the same
 * expressions (H.264 8-270 / 8-271 / 8-301). Conformance decoding covers the decoder's own path. */
#include <stdint.h>

static uint8_t clip3_255 (int32_t v) {
  return (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
}

void nalcast_ref_weight_plane (uint8_t* pDst, int32_t iStride, int32_t iWidth, int32_t iHeight, int32_t iLog2Denom,
                               int32_t iWeight, int32_t iOffset) {
  for (int32_t i = 0; i < iHeight; i++) {
    for (int32_t j = 0; j < iWidth; j++) {
      uint8_t* p = pDst + j + i * iStride;
      if (iLog2Denom >= 1)
        *p = clip3_255 (((*p * iWeight + (1 << (iLog2Denom - 1))) >> iLog2Denom) + iOffset);
      else
        *p = clip3_255 (*p * iWeight + iOffset);
    }
  }
}

void nalcast_ref_biweight_plane (uint8_t* pDst, const uint8_t* pSrc2, int32_t iStride, int32_t iWidth, int32_t iHeight,
                                 int32_t iLog2Denom, int32_t iWeight1, int32_t iWeight2, int32_t iOffset) {
  for (int32_t i = 0; i < iHeight; i++) {
    for (int32_t j = 0; j < iWidth; j++) {
      const int32_t k = j + i * iStride;
      pDst[k] = clip3_255 (((pDst[k] * iWeight1 + pSrc2[k] * iWeight2 + (1 << iLog2Denom)) >> (iLog2Denom + 1)) + iOffset);
    }
  }
}
