// fp16 kernels for attention at the reduced precisions (embed/ops.h) on CPUs with AVX512-FP16 whose bf16 dot
// products are slow: Intel Xeons from Sapphire Rapids on, without AMX.  There vfmadd231ph does 32 fp16 FMAs per
// instruction at vfmadd231ps's rate, twice fp32's work, while vdpbf16ps runs at half of fp32's.
//
// A product sums in fp16 registers for up to 64 terms per lane, then adds that partial sum to an fp32 total (kept in
// c): the error of a 64-term fp16 sum is about that of rounding the inputs to bf16, which is what the bf16 kernels
// do, and the fp32 totals keep an 8,192-token p·v from drifting.  Scores and contexts are fp32; the softmax writes
// its exponentials in fp16 (in [0, 1], where fp16 has three more bits than bf16) and leaves the division by the sum
// to the second product's row scales, as the bf16 softmax does.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "embed/avx512.h"
#include "embed/ops.h"

namespace ksearch::ops {
namespace {

constexpr std::size_t kHalfLanes = kHalfGemmColumns;  // fp16 lanes of a 512-bit register
constexpr std::size_t kTileRows = 8;
constexpr std::size_t kTileBlocks = 2;     // blocks of 32 columns per tile: 16 fp16 accumulators
constexpr std::size_t kHalfSumTerms = 64;  // products summed in fp16 before the sum goes to fp32

// The first `valid` fp32 lanes of the 32-column block `block` (none past the end).
inline __mmask16 block_mask(std::size_t columns, std::size_t block, std::size_t half) {
  const std::size_t first = block * kHalfLanes + half * kLanes;
  return lanes_mask(columns > first ? columns - first : 0);
}

template <std::size_t Rows, std::size_t Blocks>
KSEARCH_FP16_TARGET void tile(std::size_t k, const std::uint16_t* a, std::size_t lda, const std::uint16_t* b,
                              std::size_t ldb, const float* row_scales, float* c, std::size_t ldc,
                              std::size_t columns) {
  for (std::size_t k0 = 0; k0 < k; k0 += kHalfSumTerms) {
    __m512h sums[Rows][Blocks];
    KSEARCH_UNROLL for (auto& row : sums) KSEARCH_UNROLL for (auto& sum : row) sum = _mm512_setzero_ph();
    const std::size_t end = std::min(k, k0 + kHalfSumTerms);
    for (std::size_t i = k0; i < end; ++i) {
      __m512h values[Blocks];
      KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) values[block] =
          _mm512_castsi512_ph(_mm512_loadu_si512(b + i * ldb + block * kHalfLanes));
      KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
        _Float16 x;  // memcpy keeps the 16-bit load an embedded broadcast of the FMA, and aliasing-safe
        std::memcpy(&x, a + row * lda + i, sizeof x);
        KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) sums[row][block] =
            _mm512_fmadd_ph(_mm512_set1_ph(x), values[block], sums[row][block]);
      }
    }
    KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
      KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) {
        const __m512i bits = _mm512_castph_si512(sums[row][block]);
        const __m512 halves[2] = {_mm512_cvtph_ps(_mm512_castsi512_si256(bits)),
                                  _mm512_cvtph_ps(_mm512_extracti64x4_epi64(bits, 1))};
        KSEARCH_UNROLL for (std::size_t half = 0; half < 2; ++half) {
          float* out = c + row * ldc + block * kHalfLanes + half * kLanes;
          const __mmask16 mask = block_mask(columns, block, half);
          const __m512 total = k0 == 0 ? halves[half] : _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), halves[half]);
          _mm512_mask_storeu_ps(out, mask, total);
        }
      }
    }
  }
  if (row_scales == nullptr) return;
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
    const __m512 scale = _mm512_set1_ps(row_scales[row]);
    KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block)
        KSEARCH_UNROLL for (std::size_t half = 0; half < 2; ++half) {
      float* out = c + row * ldc + block * kHalfLanes + half * kLanes;
      const __mmask16 mask = block_mask(columns, block, half);
      _mm512_mask_storeu_ps(out, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, out), scale));
    }
  }
}

using Tile = void (*)(std::size_t, const std::uint16_t*, std::size_t, const std::uint16_t*, std::size_t, const float*,
                      float*, std::size_t, std::size_t);

// kTiles[rows - 1][blocks - 1]: full tiles and the edges of the matrix.
template <std::size_t... Rows>
constexpr std::array<std::array<Tile, kTileBlocks>, kTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{{&tile<Rows + 1, 1>, &tile<Rows + 1, 2>}...}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileRows>());

KSEARCH_FP16_TARGET inline void store_half(std::uint16_t* y, __mmask16 mask, __m512 x) {
  _mm256_mask_storeu_epi16(y, mask, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

KSEARCH_FP16_TARGET void convert_rows(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx,
                                      float scale, std::uint16_t* y, std::size_t ldy) {
  const __m512 factor = _mm512_set1_ps(scale);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < columns; i += kLanes) {
      const __mmask16 mask = lanes_mask(columns - i);
      store_half(y + r * ldy + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + r * ldx + i), factor));
    }
}

// y = fp16(exp(x − max x)) for one row; returns 1 / Σ exp(x − max x), summed before rounding.
KSEARCH_FP16_TARGET float exp_row(const float* x, std::size_t width, std::uint16_t* y) {
  __m512 max = _mm512_set1_ps(-INFINITY);
  for (std::size_t i = 0; i < width; i += kLanes)
    max = _mm512_max_ps(max, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes_mask(width - i), x + i));
  const __m512 log2e = _mm512_set1_ps(1.44269504f);
  const __m512 scaled_max = _mm512_mul_ps(_mm512_set1_ps(_mm512_reduce_max_ps(max)), log2e);
  __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;  // two running sums: the loop is not bound by one add's latency
  std::size_t i = 0;
  for (; i + 2 * kLanes <= width; i += 2 * kLanes) {
    const __m512 e0 = exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(x + i), log2e, scaled_max));
    const __m512 e1 = exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(x + i + kLanes), log2e, scaled_max));
    sum0 = _mm512_add_ps(sum0, e0);
    sum1 = _mm512_add_ps(sum1, e1);
    store_half(y + i, lanes_mask(kLanes), e0);
    store_half(y + i + kLanes, lanes_mask(kLanes), e1);
  }
  for (; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    const __m512 e = _mm512_maskz_mov_ps(
        mask, exp2_nonpositive(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask, x + i), log2e, scaled_max)));
    sum0 = _mm512_add_ps(sum0, e);
    store_half(y + i, mask, e);
  }
  return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

}  // namespace

bool has_fp16_gemm() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512fp16");
  return supported;
}

void to_float16(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx, float scale, std::uint16_t* y,
                std::size_t ldy) {
  convert_rows(x, rows, columns, ldx, scale, y, ldy);
}

void softmax_rows_fp16(const float* x, std::size_t rows, std::size_t width, std::size_t ld, std::uint16_t* y,
                       std::size_t ldy, float* inverse_sums) {
  for (std::size_t r = 0; r < rows; ++r) inverse_sums[r] = exp_row(x + r * ld, width, y + r * ldy);
}

void gemm_fp16(std::size_t m, std::size_t n, std::size_t k, const float* row_scales, const std::uint16_t* a,
               std::size_t lda, const std::uint16_t* b, std::size_t ldb, float* c, std::size_t ldc) {
  // A block of b's columns (k rows of up to 64 halves) stays in L1 for every row tile.
  for (std::size_t column = 0; column < n; column += kTileBlocks * kHalfLanes) {
    const std::size_t columns = std::min(kTileBlocks * kHalfLanes, n - column);
    const std::size_t blocks = (columns + kHalfLanes - 1) / kHalfLanes;
    for (std::size_t row = 0; row < m; row += kTileRows)
      kTiles[std::min(kTileRows, m - row) - 1][blocks - 1](k, a + row * lda, lda, b + column, ldb,
                                                           row_scales != nullptr ? row_scales + row : nullptr,
                                                           c + row * ldc + column, ldc, columns);
  }
}

}  // namespace ksearch::ops
