// bfloat16 kernels for attention (embed/ops.h): the two products and the softmax between them.  oneDNN 2.6 has no
// public bf16 gemm, and its matmul primitive wants a shape fixed at creation while attention is one small product
// per sequence and head: so these are our own, compiled for AVX512_BF16 and called only where the CPU has it.
//
// vdpbf16ps multiplies 16 pairs of bf16 and adds both products of each pair to an fp32 lane: with B packed as
// [column block of 16][row pair][16 columns][2 rows], one 64-byte load gives the pairs of 16 columns, and a row of A
// contributes the matching pair of its own, broadcast to all lanes.  A tile of up to 8 rows × 32 columns keeps 16
// accumulators in registers for the whole k loop.
//
// The softmax writes exp(x − max) straight to bf16 (the CPU's own rounding conversion) and leaves the division by the
// sum to the second product's row scales: one pass over the scores after the maximum.


#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "embed/avx512.h"
#include "embed/ops.h"

#define KSEARCH_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace ksearch::ops {
namespace {

constexpr std::size_t kTileRows = 8;    // rows of A per tile
constexpr std::size_t kTileBlocks = 2;  // column blocks per tile

std::size_t pairs_of(std::size_t k) { return (k + 1) / 2; }

template <std::size_t Rows, std::size_t Blocks>
KSEARCH_BF16_TARGET void tile(std::size_t pairs, const std::uint16_t* a, std::size_t lda, const std::uint16_t* b,
                              std::size_t block_stride, float alpha, const float* row_scales, float* c,
                              std::size_t ldc, std::size_t columns) {
  __m512 sums[Rows][Blocks];
  for (auto& row : sums)
    for (auto& sum : row) sum = _mm512_setzero_ps();
  for (std::size_t pair = 0; pair < pairs; ++pair) {
    __m512i columns_pairs[Blocks];
    for (std::size_t block = 0; block < Blocks; ++block)
      columns_pairs[block] = _mm512_loadu_si512(b + block * block_stride + pair * 2 * kLanes);
    for (std::size_t row = 0; row < Rows; ++row) {
      std::int32_t row_pair;
      std::memcpy(&row_pair, a + row * lda + 2 * pair, sizeof row_pair);
      const __m512i broadcast = _mm512_set1_epi32(row_pair);
      for (std::size_t block = 0; block < Blocks; ++block)
        sums[row][block] = _mm512_dpbf16_ps(sums[row][block], (__m512bh)broadcast, (__m512bh)columns_pairs[block]);
    }
  }
  for (std::size_t row = 0; row < Rows; ++row) {
    const __m512 scale = _mm512_set1_ps(row_scales != nullptr ? alpha * row_scales[row] : alpha);
    for (std::size_t block = 0; block < Blocks; ++block)
      _mm512_mask_storeu_ps(c + row * ldc + block * kLanes, lanes_mask(columns - block * kLanes),
                            _mm512_mul_ps(sums[row][block], scale));
  }
}

using Tile = void (*)(std::size_t, const std::uint16_t*, std::size_t, const std::uint16_t*, std::size_t, float,
                      const float*, float*, std::size_t, std::size_t);

// tiles[rows - 1][blocks - 1]: full tiles and the edges of the matrix.
template <std::size_t... Rows>
constexpr std::array<std::array<Tile, kTileBlocks>, kTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{{&tile<Rows + 1, 1>, &tile<Rows + 1, 2>}...}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileRows>());

// e^x for x ≤ 0 to about 3e-6 relative (bf16 keeps 8 bits): x = n·ln2 + r, degree-5 polynomial in r, and
// vscalefps for the 2^n (no exponent-field arithmetic, and underflow to 0 below -87).
KSEARCH_BF16_TARGET inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(0.00833333377f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.0416666679f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.166666672f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// y = bf16(exp(x − max x)) for one row; returns 1 / Σ exp(x − max x), summed before rounding.
KSEARCH_BF16_TARGET float exp_row(const float* x, std::size_t width, std::uint16_t* y) {
  __m512 max = _mm512_set1_ps(-INFINITY);
  for (std::size_t i = 0; i < width; i += kLanes)
    max = _mm512_max_ps(max, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes_mask(width - i), x + i));
  const __m512 row_max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
  __m512 sum = _mm512_setzero_ps();
  for (std::size_t i = 0; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    const __m512 e = _mm512_maskz_mov_ps(mask, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), row_max)));
    sum = _mm512_add_ps(sum, e);
    _mm256_mask_storeu_epi16(y + i, mask, (__m256i)_mm512_cvtneps_pbh(e));
  }
  return 1.0f / _mm512_reduce_add_ps(sum);
}

}  // namespace

bool has_bf16_gemm() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return supported;
}

std::size_t bf16_packed_size(std::size_t k, std::size_t n) {
  return (n + kLanes - 1) / kLanes * kLanes * pairs_of(k) * 2;
}

void pack_bf16(bool b_transposed, const std::uint16_t* b, std::size_t k, std::size_t n, std::size_t ldb,
               std::uint16_t* packed) {
  // Element (row, column) of op(b) lies at b[row · row_step + column · column_step].
  const std::size_t row_step = b_transposed ? 1 : ldb, column_step = b_transposed ? ldb : 1;
  for (std::size_t first_column = 0; first_column < n; first_column += kLanes) {
    const std::size_t columns = std::min(kLanes, n - first_column);
    for (std::size_t row = 0; row < k; row += 2, packed += 2 * kLanes) {
      const std::uint16_t* first = b + row * row_step + first_column * column_step;
      const std::uint16_t* second = row + 1 < k ? first + row_step : nullptr;
      for (std::size_t column = 0; column < columns; ++column) {
        packed[2 * column] = first[column * column_step];
        packed[2 * column + 1] = second != nullptr ? second[column * column_step] : 0;
      }
      std::fill(packed + 2 * columns, packed + 2 * kLanes, std::uint16_t{0});
    }
  }
}

void softmax_rows_bf16(const float* x, std::size_t rows, std::size_t width, std::size_t ld, std::uint16_t* y,
                       std::size_t ldy, float* inverse_sums) {
  for (std::size_t r = 0; r < rows; ++r) {
    inverse_sums[r] = exp_row(x + r * ld, width, y + r * ldy);
    if (width % 2 != 0) y[r * ldy + width] = 0;
  }
}

void gemm_bf16(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
               const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, float* c, std::size_t ldc) {
  const std::size_t pairs = pairs_of(k), block_stride = pairs * 2 * kLanes;
  const std::size_t blocks = (n + kLanes - 1) / kLanes;
  for (std::size_t block = 0; block < blocks; block += kTileBlocks) {
    const std::size_t tile_blocks = std::min(kTileBlocks, blocks - block);
    const std::size_t columns = std::min(kTileBlocks * kLanes, n - block * kLanes);
    for (std::size_t row = 0; row < m; row += kTileRows) {
      const std::size_t tile_rows = std::min(kTileRows, m - row);
      kTiles[tile_rows - 1][tile_blocks - 1](pairs, a + row * lda, lda, b_packed + block * block_stride, block_stride,
                                             alpha, row_scales != nullptr ? row_scales + row : nullptr,
                                             c + row * ldc + block * kLanes, ldc, columns);
    }
  }
}

}  // namespace ksearch::ops
