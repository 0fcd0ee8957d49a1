// Test-only (built with the `kernel-tests` feature): exposes OpenH264's own portable C motion
// compensation, which is file-local in the unpatched upstream mc.cpp, to the simd128 kernel tests.
// The upstream file is compiled here as part of this translation unit; its one external function is
// renamed so it does not clash with the decoder's copy.
#define InitMcFunc nalcast_ref_InitMcFunc
#include "mc.cpp"

extern "C" void nalcast_ref_mc_copy (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride,
                                     int32_t iWidth, int32_t iHeight) {
  McCopy_c (pSrc, iSrcStride, pDst, iDstStride, iWidth, iHeight);
}

extern "C" void nalcast_ref_mc_chroma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride,
                                       int16_t iMvX, int16_t iMvY, int32_t iWidth, int32_t iHeight) {
  McChroma_c (pSrc, iSrcStride, pDst, iDstStride, iMvX, iMvY, iWidth, iHeight);
}

extern "C" void nalcast_ref_mc_luma (const uint8_t* pSrc, int32_t iSrcStride, uint8_t* pDst, int32_t iDstStride,
                                     int16_t iMvX, int16_t iMvY, int32_t iWidth, int32_t iHeight) {
  McLuma_c (pSrc, iSrcStride, pDst, iDstStride, iMvX, iMvY, iWidth, iHeight);
}
