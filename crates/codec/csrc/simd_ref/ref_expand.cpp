// Test-only (built with the `kernel-tests` feature): OpenH264's own border extension, file-local in the
// unpatched upstream expand_pic.cpp, compiled into this unit with its external functions renamed so
// they do not clash with the decoder's copies.
#define InitExpandPictureFunc nalcast_ref_InitExpandPictureFunc
#define ExpandReferencingPicture nalcast_ref_ExpandReferencingPicture
#define PadMBLuma_c nalcast_ref_PadMBLuma_c
#define PadMBChroma_c nalcast_ref_PadMBChroma_c
#include "expand_pic.cpp"

extern "C" void nalcast_ref_expand_picture_luma (uint8_t* pDst, int32_t iStride, int32_t iPicW, int32_t iPicH) {
  ExpandPictureLuma_c (pDst, iStride, iPicW, iPicH);
}

extern "C" void nalcast_ref_expand_picture_chroma (uint8_t* pDst, int32_t iStride, int32_t iPicW, int32_t iPicH) {
  ExpandPictureChroma_c (pDst, iStride, iPicW, iPicH);
}
