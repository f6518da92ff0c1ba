#include "embed/ops.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <Eigen/Core>

#include "base/cpu_dispatch.h"
#include "base/env.h"
#include "base/error.h"

namespace ksearch::ops {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) fail("oneDNN ", what, " failed with status ", static_cast<int>(status));
}

dnnl_status_t serial_sgemm(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                           std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  // Outside a parallel region oneDNN's sgemm spreads even a tiny product over the team, and a team wake-up per
  // product costs more than the product (a 64-token bge-m3 query ran 2.5x slower): one thread, always.
  const bool outside_team = !omp_in_parallel();
  const int team = omp_get_max_threads();
  if (outside_team) omp_set_num_threads(1);
  const dnnl_status_t status = dnnl_sgemm(
      'N', b_transposed ? 'T' : 'N', static_cast<dnnl_dim_t>(m), static_cast<dnnl_dim_t>(n), static_cast<dnnl_dim_t>(k),
      alpha, a, static_cast<dnnl_dim_t>(lda), b, static_cast<dnnl_dim_t>(ldb), beta, c, static_cast<dnnl_dim_t>(ldc));
  if (outside_team) omp_set_num_threads(team);
  return status;
}

}  // namespace

int thread_count() {
  static const int threads = [] {
    if (const auto chosen = env::positive_integer("KSEARCH_THREADS")) return static_cast<int>(*chosen);
    return omp_get_max_threads();
  }();
  return threads;
}

void gemm_serial(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  check(serial_sgemm(b_transposed, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "sgemm");
}

void prepare_gemm() noexcept {
  // Kernels are made per variant: both products attention runs (q·kᵀ, p·v), on a query-sized problem.  A failure
  // is not reported here: it comes back, with its error, from the first real product.
  constexpr std::size_t n = 16;
  std::array<float, n * n> a{}, b{}, c{};
  serial_sgemm(true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  serial_sgemm(false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
}

// Transcendental kernels: plain loops the compiler vectorises, dispatched on the CPU at run time (base/cpu_dispatch.h).

namespace {

// e^x to about 2e-7 relative: x = n·ln2 + r with |r| ≤ ln2/2, degree-6 Taylor polynomial, 2^n from the exponent bits.
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest without a libm call
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  const float p =
      1.0f +
      r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f + r * 0.00138888892f)))));
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// erf(x) to 1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
inline float erf_approx(float x) {
  const float a = std::abs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.0f - poly * exp_approx(-a * a);
  return x < 0 ? -y : y;
}

KSEARCH_VECTOR_CLONES void gelu_block(float* x, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) x[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * 0.707106781f));
}

KSEARCH_VECTOR_CLONES void softmax_row(float* x, std::size_t width, float scale) {
  // `omp simd` on the max: without it the compiler keeps a float max reduction scalar, a latency-bound chain that
  // took half of the softmax.
  float max = x[0];
#pragma omp simd reduction(max : max)
  for (std::size_t i = 1; i < width; ++i) max = x[i] > max ? x[i] : max;
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < width; ++i) {
    x[i] = exp_approx((x[i] - max) * scale);
    sum += x[i];
  }
  const float inverse = 1.0f / sum;
  for (std::size_t i = 0; i < width; ++i) x[i] *= inverse;
}

KSEARCH_VECTOR_CLONES void bfloat16_block(const float* x, std::size_t count, std::uint16_t* y) {
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    y[i] = static_cast<std::uint16_t>(bits >> 16);
  }
}

KSEARCH_VECTOR_CLONES void quantize_row(const float* x, std::size_t width, std::int8_t* q, float* scale_out) {
  float max = 0;
#pragma omp simd reduction(max : max)
  for (std::size_t i = 0; i < width; ++i) max = std::abs(x[i]) > max ? std::abs(x[i]) : max;
  const float scale = max > 0 ? max / 127.0f : 1.0f;
  const float inverse = 1.0f / scale;
  for (std::size_t i = 0; i < width; ++i) {
    const float rounded = (x[i] * inverse + 12582912.0f) - 12582912.0f;  // round half to even
    q[i] = static_cast<std::int8_t>(static_cast<std::int32_t>(rounded));
  }
  *scale_out = scale;
}

KSEARCH_VECTOR_CLONES void rescale_row(const std::int32_t* sums, std::size_t columns, float row_scale,
                                       const float* column_scales, const float* bias, float* y) {
  for (std::size_t c = 0; c < columns; ++c) y[c] = static_cast<float>(sums[c]) * row_scale * column_scales[c] + bias[c];
}

}  // namespace

bool has_int8_dots() {
  static const bool has = __builtin_cpu_supports("avx512vnni") != 0;
  return has;
}

void quantize_rows(const float* x, std::size_t rows, std::size_t width, std::int8_t* q, float* scales) {
#pragma omp parallel for num_threads(thread_count()) schedule(static) if (rows * width > kParallelThreshold)
  for (std::size_t r = 0; r < rows; ++r) quantize_row(x + r * width, width, q + r * width, scales + r);
}

void rescale_products(const std::int32_t* sums, std::size_t rows, std::size_t columns, const float* row_scales,
                      const float* column_scales, const float* bias, bool gelu, float* y) {
#pragma omp parallel for num_threads(thread_count()) schedule(static) if (rows * columns > kParallelThreshold)
  for (std::size_t r = 0; r < rows; ++r) {
    rescale_row(sums + r * columns, columns, row_scales[r], column_scales, bias, y + r * columns);
    if (gelu) gelu_block(y + r * columns, columns);
  }
}

void gelu_inplace(float* x, std::size_t count) { gelu_block(x, count); }

void to_bfloat16(const float* x, std::size_t count, std::uint16_t* y) {
  constexpr std::size_t kBlock = 8192;
  const std::size_t blocks = (count + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(thread_count()) schedule(static) if (count > kParallelThreshold)
  for (std::size_t i = 0; i < blocks; ++i)
    bfloat16_block(x + i * kBlock, std::min(kBlock, count - i * kBlock), y + i * kBlock);
}

void softmax_rows(float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale) {
  for (std::size_t r = 0; r < rows; ++r) softmax_row(x + r * ld, width, scale);
}

void tanh_inplace(float* x, std::size_t count) {
  ArrayMap v(x, static_cast<Eigen::Index>(count));
  v = v.tanh();
}

void l2_normalize_rows(float* x, std::size_t rows, std::size_t width) {
  for (std::size_t r = 0; r < rows; ++r) {
    ArrayMap row(x + r * width, static_cast<Eigen::Index>(width));
    const float norm = std::sqrt(row.square().sum());
    if (norm > 0) row /= norm;
  }
}

}  // namespace ksearch::ops
