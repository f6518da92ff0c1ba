// Shared by the files with our AVX-512 kernels (embed/attention_bf16.cpp, embed/attention_fp16.cpp,
// embed/gemm_fp16.cpp, embed/gemm_fp32.cpp, embed/layer_norm.cpp): compiled with target attributes and called only
// where the CPU has the instructions (checked at run time).
#pragma once

// GCC 12's AVX-512 headers pass deliberately undefined registers as merge sources, which -Wmaybe-uninitialized
// reports once the intrinsics are inlined into a target("avx512...") function (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstddef>

// Placed before the loops over a tile's rows and columns (trip counts are template arguments).  Unrolled early,
// the accumulator arrays become registers throughout; otherwise GCC 12 keeps them in memory around the k loop,
// zeroing, spilling and reloading all of them on each tile: a third of the time of a product with k = 32.
#define KSEARCH_UNROLL _Pragma("GCC unroll 16")

#define KSEARCH_AVX512_TARGET __attribute__((target("avx512f")))
#define KSEARCH_FP16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512fp16")))

namespace ksearch::ops {

constexpr std::size_t kLanes = 16;  // fp32 lanes of a 512-bit register

// The first `valid` lanes (all 16 from 16 on).
inline __mmask16 lanes_mask(std::size_t valid) {
  return valid >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1);
}

// The reduced-precision softmaxes' exponential: 2^t for t ≤ 0 to 1.0e-4 relative, twenty times finer than the bf16 or
// fp16 rounding that follows: t = n + f with |f| ≤ 1/2 (adding 1.5·2²³ rounds t to the integer n and leaves n in the
// low mantissa bits), a degree-3 polynomial in f fitted for least relative error, and n added to its exponent field.  t
// is clamped at -125, where 2^t is nothing beside the row's largest term, 1.
KSEARCH_AVX512_TARGET inline __m512 exp2_nonpositive(__m512 t) {
  const __m512 round = _mm512_set1_ps(12582912.0f);  // 1.5 · 2²³
  t = _mm512_max_ps(t, _mm512_set1_ps(-125.0f));
  const __m512 shifted = _mm512_add_ps(t, round);
  const __m512 f = _mm512_sub_ps(t, _mm512_sub_ps(shifted, round));
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.0550089050f), f, _mm512_set1_ps(0.242210990f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.693282935f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_castsi512_ps(
      _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(shifted), 23)));
}

// A 16 × 16 matrix of 32-bit elements, one row per register, transposed in place: 32-bit interleaves, then 64-bit
// interleaves (each 128-bit lane holds a 4 × 4 block), then two rounds of 128-bit lane shuffles that transpose the
// 4 × 4 arrangement of those blocks.
KSEARCH_AVX512_TARGET inline void transpose_16x16(__m512i (&rows)[kLanes]) {
  __m512i pairs[kLanes], quads[kLanes];
  KSEARCH_UNROLL for (std::size_t i = 0; i < kLanes; i += 2) {
    pairs[i] = _mm512_unpacklo_epi32(rows[i], rows[i + 1]);
    pairs[i + 1] = _mm512_unpackhi_epi32(rows[i], rows[i + 1]);
  }
  // quads[4q + m], 128-bit lane L: column 4L + m of rows 4q … 4q + 3.
  KSEARCH_UNROLL for (std::size_t q = 0; q < kLanes; q += 4) {
    quads[q] = _mm512_unpacklo_epi64(pairs[q], pairs[q + 2]);
    quads[q + 1] = _mm512_unpackhi_epi64(pairs[q], pairs[q + 2]);
    quads[q + 2] = _mm512_unpacklo_epi64(pairs[q + 1], pairs[q + 3]);
    quads[q + 3] = _mm512_unpackhi_epi64(pairs[q + 1], pairs[q + 3]);
  }
  KSEARCH_UNROLL for (std::size_t m = 0; m < 4; ++m) {
    const __m512i even_low = _mm512_shuffle_i32x4(quads[m], quads[4 + m], 0x88);  // lanes 0, 2 of each
    const __m512i odd_low = _mm512_shuffle_i32x4(quads[m], quads[4 + m], 0xDD);   // lanes 1, 3
    const __m512i even_high = _mm512_shuffle_i32x4(quads[8 + m], quads[12 + m], 0x88);
    const __m512i odd_high = _mm512_shuffle_i32x4(quads[8 + m], quads[12 + m], 0xDD);
    rows[m] = _mm512_shuffle_i32x4(even_low, even_high, 0x88);
    rows[4 + m] = _mm512_shuffle_i32x4(odd_low, odd_high, 0x88);
    rows[8 + m] = _mm512_shuffle_i32x4(even_low, even_high, 0xDD);
    rows[12 + m] = _mm512_shuffle_i32x4(odd_low, odd_high, 0xDD);
  }
}

}  // namespace ksearch::ops
