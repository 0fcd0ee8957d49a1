/* Small wasm simd128 helpers shared by nalcast's kernels: byte interleaves for transposes, absolute
 * difference of bytes and a signed 16-bit clamp. */
#ifndef NALCAST_SIMD_UTIL_H
#define NALCAST_SIMD_UTIL_H

#include <stdint.h>
#include <wasm_simd128.h>

typedef v128_t V;

/* Interleave the low (or high) halves of a and b in units of 8, 16, 32 or 64 bits. */
#define IL8_LO(a, b) wasm_i8x16_shuffle (a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define IL8_HI(a, b) wasm_i8x16_shuffle (a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#define IL16_LO(a, b) wasm_i8x16_shuffle (a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23)
#define IL16_HI(a, b) wasm_i8x16_shuffle (a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)
#define IL32_LO(a, b) wasm_i8x16_shuffle (a, b, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23)
#define IL32_HI(a, b) wasm_i8x16_shuffle (a, b, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31)
#define IL64_LO(a, b) wasm_i8x16_shuffle (a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
#define IL64_HI(a, b) wasm_i8x16_shuffle (a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)

/* Returns x unchanged, but opaque to the optimiser. clang 14 scalarises a vector shift by a variable
 * count (into 8 extract/shift/replace steps) when the count's splat is hoisted out of the loop; a
 * count that passes through this in the loop body keeps the single i16x8.shr_s / i32x4.shr_s. */
static inline int32_t in_loop (int32_t x) {
  __asm__ volatile ("" : "+r"(x));
  return x;
}

/* |a - b| of unsigned bytes. */
static inline V absdiff_u8 (V a, V b) {
  return wasm_v128_or (wasm_u8x16_sub_sat (a, b), wasm_u8x16_sub_sat (b, a));
}

/* min(max(x, lo), hi) on signed 16-bit lanes. */
static inline V clamp_i16 (V x, V lo, V hi) {
  return wasm_i16x8_min (wasm_i16x8_max (x, lo), hi);
}

#endif
