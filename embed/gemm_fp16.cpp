// fp16 dense layers (embed/ops.h gemm_half_panels): bf16 precision on CPUs with AVX512-FP16 whose bf16 dot products
// are slow (Intel Xeons from Sapphire Rapids on, without AMX).  There vfmadd231ph does twice the work of
// vfmadd231ps per second and vdpbf16ps half of it (bench/cpu_rates.cpp), so half-width weights and activations in
// fp16 are the fast way to bf16's accuracy: fp16 keeps 11 significant bits to bf16's 8, and its narrow range is made
// safe by scaling every weight column and activation row by a power of two (exact) to a largest magnitude in
// [1/2, 1).  A lane then sums up to 128 products of magnitude at most 1 in fp16 (|sum| ≤ 128, no overflow) before
// the sum goes to an fp32 total; the error stays below that of rounding the inputs to bf16
// (docs/performance-history.md, "fp16 tiles").
//
// Weights: panels of 64 columns like the fp32 ones (each k rows of 64 fp16), one power-of-two scale per column.
// Activations: each fp16 value doubled into a 32-bit word, so broadcasting it is one vpbroadcastd, a plain load
// (broadcasting a 16-bit value costs a shuffle on the FMA port 5 besides), and stored k-major per group of a tile's
// rows, so one pointer walks a tile's broadcasts.  Each thread converts the block of rows it multiplies into its own
// L2 (16 × 16 transposes in registers).  Where the weights fit in L2 beside a block (e5-small's layers), the threads
// share out the rows instead of the panels, so each converts only its own rows.  A tile is up to 12 rows × a whole
// panel row (24 fp16 accumulators); every 128 k its sums are widened and added to c, which holds the fp32 totals;
// after the last chunk each total is multiplied by its row's and column's scales, the bias added and GELU applied
// while the panel's columns are in cache.  Queries (up to 16 rows) stream the weights as gemm_fp32.cpp's panel tiles
// do: chunks of 128 k rows, the next prefetched into L2 a few lines a step; batches run 12-row tiles over chunks of
// 128 k rows (16 KB of weights, in L1 for every tile), in slabs of up to 1,024 k rows and blocks of rows whose slab
// of activations (512 KB) stays in L2.

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "embed/avx512.h"
#include "embed/ops.h"

namespace ksearch::ops {
namespace {

constexpr std::size_t kPanelColumns = 64;
constexpr std::size_t kHalfLanes = 32;  // fp16 lanes of a 512-bit register
constexpr std::size_t kVectors = kPanelColumns / kHalfLanes;
constexpr std::size_t kHalfSumTerms = 128;  // products summed in fp16 before the sum goes to fp32
constexpr std::size_t kQueryRows = 16;
constexpr std::size_t kQueryTileRows = 8;
constexpr std::size_t kQueryChunkRows = kHalfSumTerms;  // a batch's tiles sum over the same spans: the same rounding
constexpr std::size_t kBatchTileRows = 12;
constexpr std::size_t kBatchChunkRows = 128;
constexpr std::size_t kBatchSlabRows = 1024;
constexpr std::size_t kBatchBlockBytes = 512 * 1024;       // a block of rows' activations, to stay in L2
constexpr std::size_t kRowSplitWeightBytes = 1536 * 1024;  // weights that stay in L2 beside a block

// The power of two 2^e with largest / 2^e in [1/2, 1): values are divided by it (exactly) before rounding to fp16,
// and the products multiplied by it.  1 where there is nothing to scale (all zeros, or not finite).
float unit_scale(float largest) {
  if (!(largest > 0) || !std::isfinite(largest)) return 1.0f;
  int exponent = 0;
  std::frexp(largest, &exponent);
  return std::ldexp(1.0f, exponent);
}

KSEARCH_FP16_TARGET std::uint16_t to_half(float x) {
  const auto half = static_cast<_Float16>(x);  // round to nearest even
  std::uint16_t bits;
  std::memcpy(&bits, &half, sizeof bits);
  return bits;
}

// c[0..Rows, 0..64) (+)= a[0..Rows, 0..k) · b[0..k, 0..64) in fp32 totals, summing 128 terms at a time in fp16:
// a in doubled fp16 (a group of double_halves), b a panel's rows (64 fp16 each); `zero` starts the totals from zero
// instead of from c.  Columns past `columns` are neither read from c nor written.  Alongside, `prefetch_lines`
// cache lines a step from `prefetch` on are prefetched into L2.
template <std::size_t Rows>
KSEARCH_FP16_TARGET void tile(std::size_t k, const std::uint32_t* a, const std::uint16_t* b, float* c, std::size_t ldc,
                              std::size_t columns, bool zero, const char* prefetch, std::size_t prefetch_lines) {
  __mmask16 masks[2 * kVectors];
  KSEARCH_UNROLL for (std::size_t v = 0; v < 2 * kVectors; ++v) masks[v] =
      lanes_mask(columns > v * kLanes ? columns - v * kLanes : 0);
  for (std::size_t k0 = 0; k0 < k; k0 += kHalfSumTerms) {
    __m512h sums[Rows][kVectors];
    KSEARCH_UNROLL for (auto& row : sums) KSEARCH_UNROLL for (auto& sum : row) sum = _mm512_setzero_ph();
    const std::size_t end = std::min(k, k0 + kHalfSumTerms);
    for (std::size_t i = k0; i < end; ++i) {
      __m512h w[kVectors];
      KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) w[v] =
          _mm512_castsi512_ph(_mm512_loadu_si512(b + i * kPanelColumns + v * kHalfLanes));
      for (std::size_t line = 0; line < prefetch_lines; ++line, prefetch += 64) _mm_prefetch(prefetch, _MM_HINT_T1);
      KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
        const __m512h x = _mm512_castsi512_ph(_mm512_set1_epi32(static_cast<int>(a[i * Rows + row])));
        KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) sums[row][v] = _mm512_fmadd_ph(x, w[v], sums[row][v]);
      }
    }
    const bool first = zero && k0 == 0;
    KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
      KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) {
        const __m512i bits = _mm512_castph_si512(sums[row][v]);
        const __m512 halves[2] = {_mm512_cvtph_ps(_mm512_castsi512_si256(bits)),
                                  _mm512_cvtph_ps(_mm512_extracti64x4_epi64(bits, 1))};
        KSEARCH_UNROLL for (std::size_t half = 0; half < 2; ++half) {
          float* out = c + row * ldc + (2 * v + half) * kLanes;
          const __mmask16 mask = masks[2 * v + half];
          const __m512 total = first ? halves[half] : _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), halves[half]);
          _mm512_mask_storeu_ps(out, mask, total);
        }
      }
    }
  }
}

using Tile = void (*)(std::size_t, const std::uint32_t*, const std::uint16_t*, float*, std::size_t, std::size_t, bool,
                      const char*, std::size_t);
// kTiles[rows - 1]
template <std::size_t... Rows>
constexpr std::array<Tile, kBatchTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{&tile<Rows + 1>...}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kBatchTileRows>());

// The power of two that a row's products undo (1 for a row of zeros): row · 2^-e has its largest magnitude in [1/2, 1).
KSEARCH_FP16_TARGET float find_row_scale(const float* row, std::size_t width) {
  __m512 largest = _mm512_setzero_ps();
  for (std::size_t i = 0; i < width; i += kLanes)
    largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes_mask(width - i), row + i)));
  return unit_scale(_mm512_reduce_max_ps(largest));
}

// Activations for the tiles: rows [0, rows) × columns [0, columns) of x (row stride ldx), each value divided by its
// row's scale (a power of two: exact), rounded to fp16 and doubled into a 32-bit word, in groups of `tile_rows` rows
// (the last may be shorter), each group k-major: value (r, i) of a group of g rows at y[group · tile_rows · ldy + i ·
// g + r].  So a tile's broadcasts for one k are consecutive words behind one pointer.  16 × 16 blocks are
// transposed in registers.
KSEARCH_FP16_TARGET void double_halves(const float* x, std::size_t ldx, std::size_t rows, std::size_t columns,
                                       const float* row_scales, std::size_t tile_rows, std::uint32_t* y,
                                       std::size_t ldy) {
  for (std::size_t first = 0; first < rows; first += tile_rows) {
    const std::size_t group = std::min(tile_rows, rows - first);
    std::uint32_t* const out = y + first * ldy;
    for (std::size_t i = 0; i < columns; i += kLanes) {
      const __mmask16 mask = lanes_mask(columns - i);
      __m512i block[kLanes];
      KSEARCH_UNROLL for (std::size_t r = 0; r < kLanes; ++r) {
        if (r >= group) {
          block[r] = _mm512_setzero_si512();
          continue;
        }
        const __m512 scale = _mm512_set1_ps(1.0f / row_scales[first + r]);
        const __m256i halves = _mm512_cvtps_ph(
            _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + (first + r) * ldx + i), scale), _MM_FROUND_TO_NEAREST_INT);
        const __m512i words = _mm512_cvtepu16_epi32(halves);
        block[r] = _mm512_or_si512(words, _mm512_slli_epi32(words, 16));
      }
      transpose_16x16(block);
      const __mmask16 group_mask = lanes_mask(group);
      for (std::size_t c = 0; c < std::min(kLanes, columns - i); ++c)
        _mm512_mask_storeu_epi32(out + (i + c) * group, group_mask, block[c]);
    }
  }
}

// c[r, j] = c[r, j] · row_scales[r] · column_scales[j] + bias[j] over a panel's columns, then GELU.
KSEARCH_FP16_TARGET void finish_panel(float* c, std::size_t ldc, std::size_t rows, std::size_t columns,
                                      const float* row_scales, const float* column_scales, const float* bias,
                                      bool gelu) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* const out = c + r * ldc;
    const __m512 row_scale = _mm512_set1_ps(row_scales[r]);
    for (std::size_t j = 0; j < columns; j += kLanes) {
      const __mmask16 mask = lanes_mask(columns - j);
      const __m512 scale = _mm512_mul_ps(row_scale, _mm512_maskz_loadu_ps(mask, column_scales + j));
      _mm512_mask_storeu_ps(
          out + j, mask,
          _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, out + j), scale, _mm512_maskz_loadu_ps(mask, bias + j)));
    }
    if (gelu) gelu_inplace(out, columns);
  }
}

}  // namespace

std::size_t half_panels_size(std::size_t k, std::size_t n) {
  return (n + kPanelColumns - 1) / kPanelColumns * kPanelColumns * k;
}

KSEARCH_FP16_TARGET void pack_half_panels(const float* weight, std::size_t n, std::size_t k, std::uint16_t* panels,
                                          float* column_scales) {
  std::fill(panels, panels + half_panels_size(k, n), std::uint16_t{0});  // columns past n stay zero
  for (std::size_t j = 0; j < n; ++j) {
    const float* const column = weight + j * k;  // PyTorch's [out, in]: column j of W is row j
    float max = 0;
    for (std::size_t i = 0; i < k; ++i) max = std::max(max, std::abs(column[i]));
    column_scales[j] = unit_scale(max);
    const float scale = 1.0f / column_scales[j];  // a power of two: exact
    std::uint16_t* const panel = panels + j / kPanelColumns * kPanelColumns * k + j % kPanelColumns;
    for (std::size_t i = 0; i < k; ++i) panel[i * kPanelColumns] = to_half(column[i] * scale);
  }
}

void gemm_half_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const std::uint16_t* panels,
                      const float* column_scales, const float* bias, bool gelu, float* c) {
  std::vector<float> row_scales(m);
#pragma omp parallel for num_threads(thread_count()) schedule(static) if (m * k > kParallelThreshold)
  for (std::size_t r = 0; r < m; ++r) row_scales[r] = find_row_scale(a + r * k, k);

  const std::size_t panel_count = (n + kPanelColumns - 1) / kPanelColumns;
  // A query multiplies all of k at once; a batch goes in blocks of rows and slabs of k whose doubled activations
  // stay in L2 while the thread's panels pass by.
  const bool batch = m > kQueryRows;
  // The threads share out the panels, each converting every row for its own; a batch whose weights fit in L2
  // shares out the rows instead, each thread converting only its own and reading every panel.
  const bool split_rows = batch && half_panels_size(k, n) * sizeof(std::uint16_t) <= kRowSplitWeightBytes;
  const std::size_t parts = split_rows ? (m + kBatchTileRows - 1) / kBatchTileRows : panel_count;
  const int threads = static_cast<int>(std::min<std::size_t>(parts, static_cast<std::size_t>(thread_count())));
  const std::size_t slab_width = batch ? std::min(k, kBatchSlabRows) : k;
  const std::size_t block_rows =
      batch ? std::max<std::size_t>(kBatchBlockBytes / (slab_width * sizeof(std::uint32_t)) / kBatchTileRows, 1) *
                  kBatchTileRows
            : m;
  const std::size_t tile_rows = batch ? kBatchTileRows : kQueryTileRows;
  const std::size_t chunk_rows = batch ? kBatchChunkRows : kQueryChunkRows;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t first_part = parts * thread / team, end_part = parts * (thread + 1) / team;
    const std::size_t row_begin = split_rows ? first_part * kBatchTileRows : 0;
    const std::size_t row_end = split_rows ? std::min(m, end_part * kBatchTileRows) : m;
    const std::size_t panel_begin = split_rows ? 0 : first_part, panel_end = split_rows ? panel_count : end_part;
    // Written whole before it is read: no zeroing.
    const auto doubled =
        std::make_unique_for_overwrite<std::uint32_t[]>(std::min(block_rows, row_end - row_begin) * slab_width);
    for (std::size_t first_row = row_begin; first_row < row_end; first_row += block_rows) {
      const std::size_t rows = std::min(block_rows, row_end - first_row);
      float* const c_block = c + first_row * n;
      for (std::size_t slab = 0; slab < k; slab += slab_width) {
        const std::size_t width = std::min(slab_width, k - slab);
        double_halves(a + first_row * k + slab, k, rows, width, row_scales.data() + first_row, tile_rows, doubled.get(),
                      slab_width);
        for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
          const std::size_t first_column = panel * kPanelColumns;
          const std::size_t columns = std::min(kPanelColumns, n - first_column);
          for (std::size_t k0 = 0; k0 < width; k0 += chunk_rows) {
            const std::size_t chunk = std::min(chunk_rows, width - k0);
            const std::uint16_t* const b = panels + (panel * k + slab + k0) * kPanelColumns;
            // A query's row groups share out prefetching the next chunk into L2, each line once (see
            // gemm_fp32.cpp); past the end of the weights a prefetch is only a hint: it never faults.
            const std::size_t groups = (rows + tile_rows - 1) / tile_rows;
            const std::size_t chunk_lines = chunk_rows * kPanelColumns * sizeof(std::uint16_t) / 64;
            const std::size_t lines_per_step = batch ? 0 : (chunk_lines / chunk_rows + groups - 1) / groups;
            const char* const next_chunk = reinterpret_cast<const char*>(b + chunk_rows * kPanelColumns);
            for (std::size_t row = 0, group = 0; row < rows; row += tile_rows, ++group) {
              const std::size_t first_line = std::min(group * chunk_rows * lines_per_step, chunk_lines);
              const std::size_t group_rows = std::min(tile_rows, rows - row);
              kTiles[group_rows - 1](chunk, doubled.get() + row * slab_width + k0 * group_rows, b,
                                     c_block + row * n + first_column, n, columns, slab + k0 == 0,
                                     next_chunk + first_line * 64, first_line < chunk_lines ? lines_per_step : 0);
            }
          }
          if (slab + width == k)
            finish_panel(c_block + first_column, n, rows, columns, row_scales.data() + first_row,
                         column_scales + first_column, bias + first_column, gelu);
        }
      }
    }
  }
}

}  // namespace ksearch::ops
