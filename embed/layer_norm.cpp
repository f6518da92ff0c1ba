// ops::add_layer_norm: residual add, layer norm and (for bf16 chains) the rounded copy, one row at a time while the
// row is in L1.  An AVX-512 kernel where the CPU has it; elsewhere plain loops the compiler vectorises.
//
// Two passes over the row for the variance (x − mean, then its squares): a single-pass Σx² − (Σx)² loses digits on
// rows far from zero mean.  The AVX-512 kernel exists for the horizontal sums: GCC ends an `omp simd` reduction with
// sixteen dependent scalar adds through the stack, which cost as much as the row's arithmetic at e5-small's width of
// 384 (the portable loops, and Eigen's expressions before them, ran at 0.2–0.3 ns per element on two cores).

#include <cmath>
#include <cstdint>

#include "base/cpu_dispatch.h"
#include "embed/avx512.h"
#include "embed/ops.h"

namespace ksearch::ops {
namespace {

// bfloat16 rounding of y's lanes, nearest even (as to_bfloat16 rounds), stored to the lanes of `mask`.
KSEARCH_AVX512_TARGET inline void store_rounded(std::uint16_t* out, __mmask16 mask, __m512 y) {
  const __m512i bits = _mm512_castps_si512(y);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
  _mm512_mask_cvtepi32_storeu_epi16(out, mask, _mm512_srli_epi32(rounded, 16));
}

KSEARCH_AVX512_TARGET void layer_norm_row_avx512(float* x, const float* residual, std::size_t width, const float* gamma,
                                                 const float* beta, float eps, std::uint16_t* rounded) {
  // Two running sums, so the loop is not bound by the latency of one.
  __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 2 * kLanes <= width; i += 2 * kLanes) {
    __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + kLanes);
    if (residual != nullptr) {
      v0 = _mm512_add_ps(v0, _mm512_loadu_ps(residual + i));
      v1 = _mm512_add_ps(v1, _mm512_loadu_ps(residual + i + kLanes));
      _mm512_storeu_ps(x + i, v0);
      _mm512_storeu_ps(x + i + kLanes, v1);
    }
    sum0 = _mm512_add_ps(sum0, v0);
    sum1 = _mm512_add_ps(sum1, v1);
  }
  for (; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    if (residual != nullptr) {
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual + i));
      _mm512_mask_storeu_ps(x + i, mask, v);
    }
    sum0 = _mm512_add_ps(sum0, v);
  }
  const float n = static_cast<float>(width);
  const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1)) / n);

  __m512 squares0 = _mm512_setzero_ps(), squares1 = _mm512_setzero_ps();
  for (i = 0; i + 2 * kLanes <= width; i += 2 * kLanes) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), mean);
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + kLanes), mean);
    squares0 = _mm512_fmadd_ps(d0, d0, squares0);
    squares1 = _mm512_fmadd_ps(d1, d1, squares1);
  }
  for (; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    const __m512 d = _mm512_maskz_sub_ps(mask, _mm512_maskz_loadu_ps(mask, x + i), mean);
    squares0 = _mm512_fmadd_ps(d, d, squares0);
  }
  const float variance = _mm512_reduce_add_ps(_mm512_add_ps(squares0, squares1)) / n;
  const __m512 inverse_deviation = _mm512_set1_ps(1.0f / std::sqrt(variance + eps));

  for (i = 0; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    const __m512 scale = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, gamma + i), inverse_deviation);
    const __m512 y = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), mean), scale,
                                     _mm512_maskz_loadu_ps(mask, beta + i));
    _mm512_mask_storeu_ps(x + i, mask, y);
    if (rounded != nullptr) store_rounded(rounded + i, mask, y);
  }
}

KSEARCH_VECTOR_CLONES void layer_norm_row_portable(float* x, const float* residual, std::size_t width,
                                                   const float* gamma, const float* beta, float eps,
                                                   std::uint16_t* rounded) {
  float sum = 0;
  if (residual != nullptr)
    for (std::size_t i = 0; i < width; ++i) x[i] += residual[i];
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < width; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(width);
  float squares = 0;
#pragma omp simd reduction(+ : squares)
  for (std::size_t i = 0; i < width; ++i) squares += (x[i] - mean) * (x[i] - mean);
  const float inverse_deviation = 1.0f / std::sqrt(squares / static_cast<float>(width) + eps);
  for (std::size_t i = 0; i < width; ++i) x[i] = (x[i] - mean) * inverse_deviation * gamma[i] + beta[i];
  if (rounded != nullptr) to_bfloat16(x, width, rounded);
}

}  // namespace

void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t width, const float* gamma,
                    const float* beta, float eps, std::uint16_t* rounded) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  const auto row = avx512 ? layer_norm_row_avx512 : layer_norm_row_portable;
#pragma omp parallel for num_threads(thread_count()) schedule(static) if (rows * width > kParallelThreshold)
  for (std::size_t r = 0; r < rows; ++r)
    row(x + r * width, residual != nullptr ? residual + r * width : nullptr, width, gamma, beta, eps,
        rounded != nullptr ? rounded + r * width : nullptr);
}

}  // namespace ksearch::ops
