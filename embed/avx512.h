// Shared by the files with our AVX-512 kernels (embed/attention_bf16.cpp, embed/gemm_fp32.cpp, embed/layer_norm.cpp):
// compiled with target attributes and called only where the CPU has the instructions (checked at run time).
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

}  // namespace ksearch::ops
