// Compute primitives of the encoder.  Matrices are row-major float32; "rows" are tokens.
//
// Dense layers are embed/linear.h; here are the kernels under them and attention: our own register tiles (fp32 on
// AVX-512, bf16 on AVX512_BF16, each checked for at run time), oneDNN's sgemm where those are missing, and the
// element-wise steps, fused loops over rows, parallel over both cores.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace ksearch::ops {

// c[m, n] = alpha · a[m, k] · op(b) (+ beta · c), op(b) = bᵀ when b_transposed (b is [n, k]) else b ([k, n]).
// Single-threaded: callers parallelise over heads.
void gemm_serial(bool b_transposed, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

// Makes oneDNN generate its sgemm kernels now (it does so on the first gemm call in a process).
void prepare_gemm() noexcept;

// bfloat16 products for attention at the reduced precisions: AVX512_BF16 dot products (two bf16 products summed
// into an fp32 lane per instruction) or AMX tiles where has_amx_bf16(), accumulated in fp32.  Only where
// has_bf16_gemm(); callers fall back to gemm_serial elsewhere.  Single-threaded.
bool has_bf16_gemm();

// Whether the CPU's bf16 dot products do more work per second than its fp32 FMAs: twice as much on AMD Zen 4, half
// as much on Intel Xeons without AMX (vdpbf16ps issues at a quarter of vfmadd231ps's rate there), so bf16 runs on
// them only where they win.  Measured once (two short instruction loops, ~0.1 ms); false without has_bf16_gemm().
bool bf16_dots_are_fast();

// Whether the CPU has AMX-BF16 tiles and Linux granted them to this process (requested on the first call).
bool has_amx_bf16();

// What gemm_bf16 multiplies on (the kernel plan's choice, embed/kernel_plan.h): the dot products, or AMX tiles
// where has_amx_bf16().
enum class Bf16Unit { Dots, Amx };

// op(b)[k, n] in bfloat16, laid out for gemm_bf16: blocks of 16 columns, rows in pairs, [n/16][k/2][16][2],
// zero-padded to whole blocks and pairs.  op(b) = bᵀ when b_transposed (b is [n, k]) else b ([k, n]).
std::size_t bf16_packed_size(std::size_t k, std::size_t n);  // in 16-bit elements
void pack_bf16(bool b_transposed, const std::uint16_t* b, std::size_t k, std::size_t n, std::size_t ldb,
               std::uint16_t* packed);

// Softmax for gemm_bf16, normalisation left to the product: y = bf16(exp(scale · (x − max x))) per row (scale > 0;
// row stride ldy, padded with a zero to an even width) and inverse_sums[r] = 1 / Σ exp, to pass to gemm_bf16 as row
// scales.  Attention's 1/√d comes in here, where it costs nothing, so its first product writes unscaled sums.
void softmax_rows_bf16(const float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale,
                       std::uint16_t* y, std::size_t ldy, float* inverse_sums);

// c[m, n] = alpha · row_scales[m] · a[m, k] · B, a in bfloat16 row-major with its rows padded to an even length
// (the pad zero), B from pack_bf16; row_scales may be null (all 1).
void gemm_bf16(Bf16Unit unit, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
               const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, float* c, std::size_t ldc);
// The same with c rounded to bfloat16 (nearest even, as to_bfloat16 rounds), for a bf16 product to read.
void gemm_bf16(Bf16Unit unit, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
               const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, std::uint16_t* c,
               std::size_t ldc);

// fp16 products for attention at the reduced precisions where the CPU has AVX512-FP16, its bf16 dot products are
// slow (!bf16_dots_are_fast()) and it has no AMX (!has_amx_bf16()): 32 fp16 FMAs per instruction, twice fp32's work.
// Only where has_fp16_gemm() (AVX512-FP16).
bool has_fp16_gemm();
// y[rows, columns] = fp16(x · scale), row strides ldx and ldy.
void to_float16(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx, float scale, std::uint16_t* y,
                std::size_t ldy);
// Softmax for gemm_fp16, normalisation left to the product: y = fp16(exp(x − max x)) per row (row stride ldy) and
// inverse_sums[r] = 1 / Σ exp, to pass to gemm_fp16 as row scales.
void softmax_rows_fp16(const float* x, std::size_t rows, std::size_t width, std::size_t ld, std::uint16_t* y,
                       std::size_t ldy, float* inverse_sums);
// c[m, n] = row_scales[m] · a[m, k] · b[k, n], a and b fp16 row-major, row_scales may be null (all 1).  b's rows are
// read whole 32-column blocks wide: to n rounded up to kHalfGemmColumns (ignored past n, but readable).  Each lane
// sums up to 64 products in fp16 (about the error of rounding the inputs to bf16), those sums in fp32.
// Single-threaded: callers parallelise over heads.
constexpr std::size_t kHalfGemmColumns = 32;
void gemm_fp16(std::size_t m, std::size_t n, std::size_t k, const float* row_scales, const std::uint16_t* a,
               std::size_t lda, const std::uint16_t* b, std::size_t ldb, float* c, std::size_t ldc);

// fp32 products on our own register tiles, where the CPU has AVX-512F (has_fp32_tiles()); callers use oneDNN
// elsewhere.  gemm_panels: a few rows straight from the weights a fp32 Linear packed with oneDNN on an AVX-512 CPU:
// panels of 64 columns, each k (padded to 16) rows of 64 floats, `panel_stride` floats apart, columns past n zero.
// c[m, n] = a[m, k] · W + bias, then the exact GELU when `gelu`.  Faster than oneDNN's matmul up to 16 rows; parallel
// over the panels.
bool has_fp32_tiles();
void gemm_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* panels,
                 std::size_t panel_stride, const float* bias, bool gelu, float* c);

// bf16 weights on the fp32 tiles, for CPUs whose bf16 dot products are slow (DenseBackend::Bf16Panels): the weights
// are stored in bfloat16 (half the memory and bandwidth of fp32) and widened in registers, exactly, for fp32 FMAs
// with fp32 activations.  Panels of 64 columns like oneDNN's fp32 ones, each k rows of 64 bf16, every 32 of them
// ordered so that one shift and one mask give columns 0-15 and 16-31 as floats.  Any number of rows.
std::size_t bf16_panels_size(std::size_t k, std::size_t n);  // in 16-bit elements; panels are k · 64 apart
// weight is [n, k] row-major (PyTorch's [out, in]), rounded to bfloat16 as to_bfloat16 rounds.
void pack_bf16_panels(const float* weight, std::size_t n, std::size_t k, std::uint16_t* panels);
void gemm_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const std::uint16_t* panels,
                 const float* bias, bool gelu, float* c);

// bf16 dense layers in fp16 on CPUs with AVX512-FP16 whose bf16 dot products are slow, without AMX
// (DenseBackend::HalfPanels): twice the fp32 FMAs' work per instruction, at least bf16's accuracy
// (embed/gemm_fp16.cpp). Weights in panels of 64 columns, each k rows of 64 fp16, every column scaled by a power of two
// (column_scales[j] undoes it) so its largest magnitude is in [1/2, 1); activations scaled the same per row, inside the
// call.
std::size_t half_panels_size(std::size_t k, std::size_t n);  // in 16-bit elements; panels are k · 64 apart
// weight is [n, k] row-major (PyTorch's [out, in]); column_scales gets n values.
void pack_half_panels(const float* weight, std::size_t n, std::size_t k, std::uint16_t* panels, float* column_scales);
// c[m, n] = a[m, k] · W + bias, then the exact GELU when `gelu`.  Parallel over the panels.
void gemm_half_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const std::uint16_t* panels,
                      const float* column_scales, const float* bias, bool gelu, float* c);

// c[m, n] = a[m, k] · b[k, n], all row-major with the given row strides: attention's products.  b's rows are read
// whole tiles wide: to n rounded up to a multiple of kSmallGemmColumns (what lies past n is ignored, but must be
// readable).  Single-threaded: callers parallelise over heads.
constexpr std::size_t kSmallGemmColumns = 32;
void gemm_small(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda, const float* b,
                std::size_t ldb, float* c, std::size_t ldc);

// y[columns, rows] = x[rows, columns]ᵀ, x and y with row strides ldx and ldy.
void transpose(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx, float* y, std::size_t ldy);

// In place: x = GELU(x) = x · Φ(x), with erf to 1.5e-7.
void gelu_inplace(float* x, std::size_t count);

// In place: x = LayerNorm(x + residual) · gamma + beta over rows of width `width`; residual may be null.  Where
// `rounded` is given, it also gets x rounded to bfloat16 (as to_bfloat16 rounds), for a bf16 product to read.
void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t width, const float* gamma,
                    const float* beta, float eps, std::uint16_t* rounded = nullptr);

// In place, each row: softmax(row · scale).
void softmax_rows(float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale);

// In place: x = tanh(x).
void tanh_inplace(float* x, std::size_t count);

// Rows of x divided by their L2 norm (rows with zero norm stay zero).
void l2_normalize_rows(float* x, std::size_t rows, std::size_t width);

// int8 dynamic quantisation: each row of x[rows, width] gets scale = max|row| / 127 and q = round(x / scale).
// int8 layers multiply on oneDNN's int8 products only where the CPU has AVX512_VNNI (has_int8_dots()).
bool has_int8_dots();
void quantize_rows(const float* x, std::size_t rows, std::size_t width, std::int8_t* q, float* scales);

// y[r, c] = sums[r, c] · row_scales[r] · column_scales[c] + bias[c]  (int8 products back to fp32), then the exact
// GELU when `gelu` (while the row is in cache).
void rescale_products(const std::int32_t* sums, std::size_t rows, std::size_t columns, const float* row_scales,
                      const float* column_scales, const float* bias, bool gelu, float* y);

// fp32 -> bfloat16 (round to nearest even), as raw 16-bit patterns.
void to_bfloat16(const float* x, std::size_t count, std::uint16_t* y);
// bfloat16 -> fp32, exact: the pattern is the float's upper half.
inline float from_bfloat16(std::uint16_t x) { return std::bit_cast<float>(static_cast<std::uint32_t>(x) << 16); }

// Number of threads the parallel loops use (the cores OpenMP gives the process; KSEARCH_THREADS overrides).
int thread_count();

// Below this many elements an element-wise loop runs on one thread: waking the team costs more than it saves
// (single queries).
constexpr std::size_t kParallelThreshold = 1 << 15;

}  // namespace ksearch::ops
