/* nalcast's wasm simd128 reference-picture border extension: every sample of the padding around a
 * picture (32 luma, 16 chroma samples on each side) takes the value of the nearest picture sample.
 * Left and right borders are stored as splatted vectors (the C issued two small memsets per row);
 * the top and bottom borders are then copies of the first and last padded rows. */
#include <string.h>

#include "nalcast_simd.h"
#include "simd_util.h"

static inline void expand (uint8_t* pDst, int32_t iStride, int32_t iPicW, int32_t iPicH, int32_t iPad) {
  uint8_t* row = pDst;
  for (int32_t y = 0; y < iPicH; y++, row += iStride) {
    const V l = wasm_i8x16_splat ((int8_t)row[0]), r = wasm_i8x16_splat ((int8_t)row[iPicW - 1]);
    for (int32_t k = 0; k < iPad; k += 16) {
      wasm_v128_store (row - iPad + k, l);
      wasm_v128_store (row + iPicW + k, r);
    }
  }
  const uint8_t* first = pDst - iPad;
  const uint8_t* last = pDst + (iPicH - 1) * iStride - iPad;
  const size_t len = (size_t) (iPicW + 2 * iPad);
  for (int32_t i = 1; i <= iPad; i++) {
    memcpy ((uint8_t*)first - i * iStride, first, len);
    memcpy ((uint8_t*)last + i * iStride, last, len);
  }
}

void nalcast_expand_picture_luma (uint8_t* pDst, const int32_t kiStride, const int32_t kiPicW, const int32_t kiPicH) {
  expand (pDst, kiStride, kiPicW, kiPicH, 32);
}

void nalcast_expand_picture_chroma (uint8_t* pDst, const int32_t kiStride, const int32_t kiPicW,
                                    const int32_t kiPicH) {
  expand (pDst, kiStride, kiPicW, kiPicH, 16);
}
