// Compute primitives of the encoder.  Matrices are row-major float32; "rows" are tokens.
//
// Matrix products go through oneDNN (runtime CPU dispatch: the same binary uses AVX-512 where present and SSE/AVX2
// elsewhere); the element-wise steps are fused loops over rows, parallel over both cores.
#pragma once

#include <cstddef>

namespace ksearch::ops {

// y[rows, out] = x[rows, in] · wᵀ (+ bias), w is [out, in] row-major (PyTorch Linear layout).
// ldx / ldy are row strides of x and y (elements).
void linear(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* w, const float* bias,
            std::size_t out, float* y, std::size_t ldy);

// c[m, n] = alpha · a[m, k] · op(b) (+ beta · c), op(b) = bᵀ when b_transposed (b is [n, k]) else b ([k, n]).
// Single-threaded: callers parallelise over heads.
void gemm_serial(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

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

// Number of threads the parallel loops use (both cores by default; KSEARCH_THREADS overrides).
int thread_count();

}  // namespace ksearch::ops
