// Shared by the files with our AVX-512 kernels (embed/attention_bf16.cpp, embed/attention_fp16.cpp,
// embed/gemm_fp32.cpp, embed/layer_norm.cpp): compiled with target attributes and called only where the CPU has the
// instructions (checked at run time).
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

namespace ksearch::ops {

constexpr std::size_t kLanes = 16;  // fp32 lanes of a 512-bit register

// The first `valid` lanes (all 16 from 16 on).
inline __mmask16 lanes_mask(std::size_t valid) {
  return valid >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1);
}

// The reduced-precision softmaxes' exponential: 2^t for t ≤ 0 to 1.0e-4 relative, twenty times finer than the bf16 or fp16 rounding that follows: t = n + f with
// |f| ≤ 1/2 (adding 1.5·2²³ rounds t to the integer n and leaves n in the low mantissa bits), a degree-3 polynomial
// in f fitted for least relative error, and n added to its exponent field.  t is clamped at -125, where 2^t is
// nothing beside the row's largest term, 1.
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

}  // namespace ksearch::ops
