// Test-only (built with the `kernel-tests` feature): C entry points to OpenH264's portable deblocking
// and inverse-transform functions (C++ linkage in the decoder), for the simd128 kernel tests.
#include "deblocking_common.h"
#include "decode_mb_aux.h"

extern "C" {
void nalcast_ref_deblock_luma_lt4_v (uint8_t* p, int32_t s, int32_t a, int32_t b, int8_t* tc) {
  DeblockLumaLt4V_c (p, s, a, b, tc);
}
void nalcast_ref_deblock_luma_lt4_h (uint8_t* p, int32_t s, int32_t a, int32_t b, int8_t* tc) {
  DeblockLumaLt4H_c (p, s, a, b, tc);
}
void nalcast_ref_deblock_luma_eq4_v (uint8_t* p, int32_t s, int32_t a, int32_t b) {
  DeblockLumaEq4V_c (p, s, a, b);
}
void nalcast_ref_deblock_luma_eq4_h (uint8_t* p, int32_t s, int32_t a, int32_t b) {
  DeblockLumaEq4H_c (p, s, a, b);
}
void nalcast_ref_deblock_chroma_lt4_v (uint8_t* cb, uint8_t* cr, int32_t s, int32_t a, int32_t b, int8_t* tc) {
  DeblockChromaLt4V_c (cb, cr, s, a, b, tc);
}
void nalcast_ref_deblock_chroma_lt4_h (uint8_t* cb, uint8_t* cr, int32_t s, int32_t a, int32_t b, int8_t* tc) {
  DeblockChromaLt4H_c (cb, cr, s, a, b, tc);
}
void nalcast_ref_deblock_chroma_eq4_v (uint8_t* cb, uint8_t* cr, int32_t s, int32_t a, int32_t b) {
  DeblockChromaEq4V_c (cb, cr, s, a, b);
}
void nalcast_ref_deblock_chroma_eq4_h (uint8_t* cb, uint8_t* cr, int32_t s, int32_t a, int32_t b) {
  DeblockChromaEq4H_c (cb, cr, s, a, b);
}
void nalcast_ref_idct4x4_add (uint8_t* p, int32_t s, int16_t* rs) {
  WelsDec::IdctResAddPred_c (p, s, rs);
}
void nalcast_ref_idct8x8_add (uint8_t* p, int32_t s, int16_t* rs) {
  WelsDec::IdctResAddPred8x8_c (p, s, rs);
}
}
