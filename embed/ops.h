// Compute primitives of the encoder.  Matrices are row-major float32; "rows" are tokens.
//
// Dense layers are embed/linear.h; here are the attention products (oneDNN sgemm, dispatched on the CPU at run time)
// and the element-wise steps, fused loops over rows, parallel over both cores.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ksearch::ops {

// c[m, n] = alpha · a[m, k] · op(b) (+ beta · c), op(b) = bᵀ when b_transposed (b is [n, k]) else b ([k, n]).
// Single-threaded: callers parallelise over heads.
void gemm_serial(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

// Makes oneDNN generate its sgemm kernels now (it does so on the first gemm call in a process).
void prepare_gemm() noexcept;

// In place: x = LayerNorm(x + residual) · gamma + beta over rows of width `width`; residual may be null.
void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t width, const float* gamma,
                    const float* beta, float eps);

// In place: x = gelu(x) with the exact erf form 0.5·x·(1 + erf(x/√2)).
void gelu_erf(float* x, std::size_t count);

// In place, each row: softmax(row · scale).
void softmax_rows(float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale);

// In place: x = tanh(x).
void tanh_inplace(float* x, std::size_t count);

// Rows of x divided by their L2 norm (rows with zero norm stay zero).
void l2_normalize_rows(float* x, std::size_t rows, std::size_t width);

// int8 dynamic quantisation: each row of x[rows, width] gets scale = max|row| / 127 and q = round(x / scale).
void quantize_rows(const float* x, std::size_t rows, std::size_t width, std::int8_t* q, float* scales);

// y[r, c] = sums[r, c] · row_scales[r] · column_scales[c] + bias[c]  (int8 products back to fp32).
void rescale_products(const std::int32_t* sums, std::size_t rows, std::size_t columns, const float* row_scales,
                      const float* column_scales, const float* bias, float* y);

// fp32 -> bfloat16 (round to nearest even), as raw 16-bit patterns.
void to_bfloat16(const float* x, std::size_t count, std::uint16_t* y);

// Number of threads the parallel loops use (both cores by default; KSEARCH_THREADS overrides).
int thread_count();

}  // namespace ksearch::ops
