#include "embed/ops.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "base/error.h"

namespace ksearch::ops {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) fail("oneDNN ", what, " failed with status ", static_cast<int>(status));
}

}  // namespace

int thread_count() {
  static const int threads = [] {
    if (const char* value = std::getenv("KSEARCH_THREADS"); value != nullptr && std::atoi(value) > 0)
      return std::atoi(value);
    return omp_get_max_threads();
  }();
  return threads;
}

void linear(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* w, const float* bias,
            std::size_t out, float* y, std::size_t ldy) {
  if (rows == 0) return;
  check(dnnl_sgemm('N', 'T', static_cast<dnnl_dim_t>(rows), static_cast<dnnl_dim_t>(out),
                   static_cast<dnnl_dim_t>(in), 1.0f, x, static_cast<dnnl_dim_t>(ldx), w,
                   static_cast<dnnl_dim_t>(in), 0.0f, y, static_cast<dnnl_dim_t>(ldy)),
        "sgemm");
  if (bias == nullptr) return;
  const Eigen::Map<const Eigen::ArrayXf> b(bias, static_cast<Eigen::Index>(out));
#pragma omp parallel for num_threads(thread_count()) schedule(static)
  for (std::size_t r = 0; r < rows; ++r) ArrayMap(y + r * ldy, static_cast<Eigen::Index>(out)) += b;
}

void gemm_serial(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  check(dnnl_sgemm('N', b_transposed ? 'T' : 'N', static_cast<dnnl_dim_t>(m), static_cast<dnnl_dim_t>(n),
                   static_cast<dnnl_dim_t>(k), alpha, a, static_cast<dnnl_dim_t>(lda), b,
                   static_cast<dnnl_dim_t>(ldb), beta, c, static_cast<dnnl_dim_t>(ldc)),
        "sgemm");
}

void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t width, const float* gamma,
                    const float* beta, float eps) {
  const auto n = static_cast<Eigen::Index>(width);
  const Eigen::Map<const Eigen::ArrayXf> g(gamma, n), b(beta, n);
#pragma omp parallel for num_threads(thread_count()) schedule(static)
  for (std::size_t r = 0; r < rows; ++r) {
    ArrayMap row(x + r * width, n);
    if (residual != nullptr) row += Eigen::Map<const Eigen::ArrayXf>(residual + r * width, n);
    const float mean = row.mean();
    row -= mean;
    const float variance = row.square().mean();
    row = row * (1.0f / std::sqrt(variance + eps)) * g + b;
  }
}

void gelu_erf(float* x, std::size_t count) {
  constexpr std::size_t kBlock = 4096;
  const std::size_t blocks = (count + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(thread_count()) schedule(static)
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t begin = i * kBlock;
    ArrayMap v(x + begin, static_cast<Eigen::Index>(std::min(kBlock, count - begin)));
    v = 0.5f * v * (1.0f + (v * static_cast<float>(M_SQRT1_2)).erf());
  }
}

void softmax_rows(float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale) {
  for (std::size_t r = 0; r < rows; ++r) {
    ArrayMap row(x + r * ld, static_cast<Eigen::Index>(width));
    const float max = row.maxCoeff();
    row = ((row - max) * scale).exp();
    row *= 1.0f / row.sum();
  }
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
