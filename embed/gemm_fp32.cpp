// fp32 products on our own AVX-512 register tiles (embed/ops.h), where oneDNN's per-call cost or its rounding of the
// rows outweighs its kernels. The measurements behind each choice: docs/performance-history.md ("Our fp32 tiles").
//
// gemm_panels: a query's dense layers (16 rows or fewer), bound by streaming the weights once. It reads oneDNN's
// packed panels (64 columns × K rows) in place, 4 rows × a whole panel row per tile, k in 64-row chunks that stay in
// L1 while the row groups prefetch the next chunk into L2, each line once, so memory requests never stop. It also
// multiplies bf16 weights, widened exactly in registers, for CPUs whose bf16 dot products are slower than fp32 FMAs;
// batches then run 12-row × 32-column tiles over 256-row k chunks.
//
// gemm_small: attention's two small products per head, where oneDNN's sgemm spent more time dispatching and
// generating kernels than multiplying: tiles of up to 8 rows × 32 columns.
//
// transpose: attention's kᵀ in 16 × 16 register blocks (element-wise stores touched a cache line each).

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "embed/avx512.h"
#include "embed/ops.h"

namespace ksearch::ops {
namespace {

constexpr std::size_t kPanelColumns = 64;                // oneDNN's block of columns
constexpr std::size_t kTileColumns = kSmallGemmColumns;  // two registers
constexpr std::size_t kTileRows = 8;
constexpr std::size_t kChunkRows = 64;  // rows of k per pass of a query
// More rows than a query has: the product is compute-bound, so wider tiles and longer chunks (see above).
constexpr std::size_t kQueryRows = 16;
constexpr std::size_t kBatchTileRows = 12;
constexpr std::size_t kBatchChunkRows = 256;
constexpr std::size_t kBatchBlockBytes = 512 * 1024;  // a block of rows' activations, to stay in L2

// A row of b's 32 columns as two registers of floats: fp32 as stored, or bf16 widened exactly (bf16 is the top half
// of a float): each 32-bit word holds columns i (low half) and i + 16 (high half), see pack_bf16_panels.
KSEARCH_AVX512_TARGET inline void load_row(const float* b, __m512& b0, __m512& b1) {
  b0 = _mm512_loadu_ps(b);
  b1 = _mm512_loadu_ps(b + kLanes);
}
KSEARCH_AVX512_TARGET inline void load_row(const std::uint16_t* b, __m512& b0, __m512& b1) {
  const __m512i words = _mm512_loadu_si512(b);
  b0 = _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
  b1 = _mm512_castsi512_ps(_mm512_and_si512(words, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// c[0..Rows, 0..32) (+)= a[0..Rows, 0..k) · b[0..k, 0..32); `start` non-null means the sums start from it (the
// bias: one row for all) instead of from c, `zero` that they start from zero.  b (fp32 or bf16 weights) is read
// whole (32 columns of every row); columns past `columns` are neither read from c nor written.  b's loads are not
// masked because with masks in the loop GCC 12 stored all 16 sums to the stack on every iteration.
template <typename Weight, std::size_t Rows>
KSEARCH_AVX512_TARGET void tile(std::size_t k, const float* a, std::size_t lda, const Weight* b, std::size_t ldb,
                                float* c, std::size_t ldc, std::size_t columns, const float* start, bool zero) {
  const __mmask16 mask0 = lanes_mask(columns), mask1 = lanes_mask(columns > kLanes ? columns - kLanes : 0);
  __m512 sums0[Rows], sums1[Rows];
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
    const float* first = start != nullptr ? start : c + row * ldc;
    sums0[row] = _mm512_maskz_loadu_ps(zero ? 0 : mask0, first);  // an empty mask loads zeros
    sums1[row] = _mm512_maskz_loadu_ps(zero ? 0 : mask1, first + kLanes);
  }
  for (std::size_t i = 0; i < k; ++i, b += ldb) {
    __m512 b0, b1;
    load_row(b, b0, b1);
    KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
      const __m512 x = _mm512_set1_ps(a[row * lda + i]);
      sums0[row] = _mm512_fmadd_ps(x, b0, sums0[row]);
      sums1[row] = _mm512_fmadd_ps(x, b1, sums1[row]);
    }
  }
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
    _mm512_mask_storeu_ps(c + row * ldc, mask0, sums0[row]);
    _mm512_mask_storeu_ps(c + row * ldc + kLanes, mask1, sums1[row]);
  }
}

// The query tile: up to 4 rows × a whole 64-column panel row (256 contiguous bytes of fp32 per k, 128 of bf16), so the
// weights stream strictly in order; alongside, `prefetch_lines` cache lines a step from `prefetch` on are prefetched
// into L2.
template <typename Weight, std::size_t Rows>
KSEARCH_AVX512_TARGET void panel_tile(std::size_t k, const float* a, std::size_t lda, const Weight* b, float* c,
                                      std::size_t ldc, std::size_t columns, const float* start, const char* prefetch,
                                      std::size_t prefetch_lines) {
  constexpr std::size_t kVectors = kPanelColumns / kLanes;
  __mmask16 masks[kVectors];
  KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) masks[v] =
      lanes_mask(columns > v * kLanes ? columns - v * kLanes : 0);
  __m512 sums[Rows][kVectors];
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
    const float* first = start != nullptr ? start : c + row * ldc;
    KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) sums[row][v] =
        _mm512_maskz_loadu_ps(masks[v], first + v * kLanes);
  }
  for (std::size_t i = 0; i < k; ++i, b += kPanelColumns) {
    __m512 w[kVectors];
    load_row(b, w[0], w[1]);
    load_row(b + kTileColumns, w[2], w[3]);
    for (std::size_t line = 0; line < prefetch_lines; ++line, prefetch += 64) _mm_prefetch(prefetch, _MM_HINT_T1);
    KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
      const __m512 x = _mm512_set1_ps(a[row * lda + i]);
      KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v) sums[row][v] = _mm512_fmadd_ps(x, w[v], sums[row][v]);
    }
  }
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) KSEARCH_UNROLL for (std::size_t v = 0; v < kVectors; ++v)
      _mm512_mask_storeu_ps(c + row * ldc + v * kLanes, masks[v], sums[row][v]);
}

template <typename Weight>
using PanelTile = void (*)(std::size_t, const float*, std::size_t, const Weight*, float*, std::size_t, std::size_t,
                           const float*, const char*, std::size_t);
constexpr std::size_t kPanelTileRows = 4;
template <typename Weight>
constexpr std::array<PanelTile<Weight>, kPanelTileRows> kPanelTiles = {&panel_tile<Weight, 1>, &panel_tile<Weight, 2>,
                                                                       &panel_tile<Weight, 3>, &panel_tile<Weight, 4>};

template <typename Weight>
using Tile = void (*)(std::size_t, const float*, std::size_t, const Weight*, std::size_t, float*, std::size_t,
                      std::size_t, const float*, bool);
// kTiles<Weight>[rows - 1]
template <typename Weight, std::size_t... Rows>
constexpr std::array<Tile<Weight>, kTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{&tile<Weight, Rows + 1>...}};
}
template <typename Weight>
constexpr auto kTiles = make_tiles<Weight>(std::make_index_sequence<kTileRows>());

// c[m, n] = a[m, k] · W + bias (then GELU) for W in panels of kPanelColumns columns, each k rows of kPanelColumns
// weights, `panel_stride` weights apart: threads take contiguous runs of panels (each core's stream stays
// contiguous for the prefetch).
template <typename Weight>
void multiply_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const Weight* panels,
                     std::size_t panel_stride, const float* bias, bool gelu, float* c) {
  const std::size_t panel_count = (n + kPanelColumns - 1) / kPanelColumns;
  const int threads = static_cast<int>(std::min<std::size_t>(panel_count, static_cast<std::size_t>(thread_count())));
  const bool batch = m > kQueryRows;
  // A batch goes in blocks of rows whose activations stay in L2 while the thread's panels pass by.
  const std::size_t block_rows =
      batch ? std::clamp<std::size_t>(kBatchBlockBytes / (k * sizeof(float)) / kBatchTileRows, 1, 16) * kBatchTileRows
            : m;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    for (std::size_t first_row = 0; first_row < m; first_row += block_rows) {
      const std::size_t rows = std::min(block_rows, m - first_row);
      const float* const a_block = a + first_row * k;
      float* const c_block = c + first_row * n;
      for (std::size_t panel = panel_count * thread / team; panel < panel_count * (thread + 1) / team; ++panel) {
        const Weight* weights = panels + panel * panel_stride;
        const std::size_t first_column = panel * kPanelColumns;
        const std::size_t chunk_rows = batch ? kBatchChunkRows : kChunkRows;
        for (std::size_t k0 = 0; k0 < k; k0 += chunk_rows) {
          const std::size_t chunk = std::min(chunk_rows, k - k0);
          const float* start = k0 == 0 ? bias + first_column : nullptr;
          if (!batch) {
            // The row groups share out the prefetching of the next chunk: each takes a run of its lines, a few
            // lines a step, so every line is requested once and requests go out all the time the chunk is
            // multiplied.  Past the end of the weights a prefetch is only a hint: it never faults.
            const Weight* b = weights + k0 * kPanelColumns;
            const std::size_t groups = (rows + kPanelTileRows - 1) / kPanelTileRows;
            const std::size_t chunk_lines = kChunkRows * kPanelColumns * sizeof(Weight) / 64;
            const std::size_t lines_per_step = (chunk_lines / kChunkRows + groups - 1) / groups;
            const char* const next_chunk = reinterpret_cast<const char*>(b + kChunkRows * kPanelColumns);
            for (std::size_t row = 0, group = 0; row < rows; row += kPanelTileRows, ++group) {
              const std::size_t first_line = std::min(group * kChunkRows * lines_per_step, chunk_lines);
              kPanelTiles<Weight>[std::min(kPanelTileRows, rows - row) - 1](
                  chunk, a_block + row * k + k0, k, b, c_block + row * n + first_column, n, n - first_column, start,
                  next_chunk + first_line * 64, first_line < chunk_lines ? lines_per_step : 0);
            }
            continue;
          }
          for (std::size_t half = first_column; half < std::min(n, first_column + kPanelColumns);
               half += kTileColumns) {
            const Weight* b = weights + k0 * kPanelColumns + (half - first_column);
            const float* half_start = start != nullptr ? start + (half - first_column) : nullptr;
            std::size_t row = 0;
            for (; row + kBatchTileRows <= rows; row += kBatchTileRows)
              tile<Weight, kBatchTileRows>(chunk, a_block + row * k + k0, k, b, kPanelColumns, c_block + row * n + half,
                                           n, n - half, half_start, false);
            for (; row < rows; row += kTileRows)
              kTiles<Weight>[std::min(kTileRows, rows - row) - 1](chunk, a_block + row * k + k0, k, b, kPanelColumns,
                                                                  c_block + row * n + half, n, n - half, half_start,
                                                                  false);
          }
        }
        if (gelu)
          for (std::size_t row = 0; row < rows; ++row)
            gelu_inplace(c_block + row * n + first_column, std::min(kPanelColumns, n - first_column));
      }
    }
  }
}

// transpose's 16 × 16 blocks: rows and columns past the matrix's edge are neither read nor written.
KSEARCH_AVX512_TARGET void transpose_blocks(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx,
                                            float* y, std::size_t ldy) {
  for (std::size_t first_row = 0; first_row < rows; first_row += kLanes) {
    const std::size_t block_rows = std::min(kLanes, rows - first_row);
    const __mmask16 row_mask = lanes_mask(block_rows);
    for (std::size_t first_column = 0; first_column < columns; first_column += kLanes) {
      const std::size_t block_columns = std::min(kLanes, columns - first_column);
      const __mmask16 column_mask = lanes_mask(block_columns);
      __m512i block[kLanes];
      KSEARCH_UNROLL for (std::size_t r = 0; r < kLanes; ++r) block[r] =
          r < block_rows ? _mm512_maskz_loadu_epi32(column_mask, x + (first_row + r) * ldx + first_column)
                         : _mm512_setzero_si512();
      transpose_16x16(block);
      for (std::size_t c = 0; c < block_columns; ++c)
        _mm512_mask_storeu_epi32(y + (first_column + c) * ldy + first_row, row_mask, block[c]);
    }
  }
}

}  // namespace

void transpose(const float* x, std::size_t rows, std::size_t columns, std::size_t ldx, float* y, std::size_t ldy) {
  if (has_fp32_tiles()) {
    transpose_blocks(x, rows, columns, ldx, y, ldy);
    return;
  }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < columns; ++c) y[c * ldy + r] = x[r * ldx + c];
}

bool has_fp32_tiles() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}

void gemm_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* panels,
                 std::size_t panel_stride, const float* bias, bool gelu, float* c) {
  multiply_panels(m, n, k, a, panels, panel_stride, bias, gelu, c);
}

std::size_t bf16_panels_size(std::size_t k, std::size_t n) {
  return (n + kPanelColumns - 1) / kPanelColumns * kPanelColumns * k;
}

void pack_bf16_panels(const float* weight, std::size_t n, std::size_t k, std::uint16_t* panels) {
  // Column j's place in a row of its panel: in its 32-column half, word j % 16, low half for the first 16 columns.
  const auto place = [](std::size_t j) {
    return j / kTileColumns * kTileColumns + 2 * (j % kLanes) + j % kTileColumns / kLanes;
  };
  // A block of 64 columns × 64 rows (8 KB in bf16) is rounded and transposed in L1: the weights are read row by
  // row of W (contiguous) and written row by row of the panel.
  constexpr std::size_t kBlockRows = 64;
  std::vector<std::uint16_t> block(kPanelColumns * kBlockRows);  // [column][row]
  for (std::size_t first_column = 0; first_column < n; first_column += kPanelColumns) {
    std::uint16_t* const panel = panels + first_column * k;
    const std::size_t columns = std::min(kPanelColumns, n - first_column);
    for (std::size_t first_row = 0; first_row < k; first_row += kBlockRows) {
      const std::size_t rows = std::min(kBlockRows, k - first_row);
      std::fill(block.begin(), block.end(), std::uint16_t{0});  // columns past n stay zero
      for (std::size_t j = 0; j < columns; ++j)
        to_bfloat16(weight + (first_column + j) * k + first_row, rows, block.data() + j * kBlockRows);
      for (std::size_t i = 0; i < rows; ++i) {
        std::uint16_t* const row = panel + (first_row + i) * kPanelColumns;
        for (std::size_t j = 0; j < kPanelColumns; ++j) row[place(j)] = block[j * kBlockRows + i];
      }
    }
  }
}

void gemm_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const std::uint16_t* panels,
                 const float* bias, bool gelu, float* c) {
  multiply_panels(m, n, k, a, panels, kPanelColumns * k, bias, gelu, c);
}

void gemm_small(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda, const float* b,
                std::size_t ldb, float* c, std::size_t ldc) {
  // The same loop order as gemm_panels: a chunk of b's rows stays in L1 for every row group (long inputs).
  for (std::size_t k0 = 0; k0 < k; k0 += kChunkRows) {
    const std::size_t chunk = std::min(kChunkRows, k - k0);
    for (std::size_t column = 0; column < n; column += kTileColumns)
      for (std::size_t row = 0; row < m; row += kTileRows)
        kTiles<float>[std::min(kTileRows, m - row) - 1](chunk, a + row * lda + k0, lda, b + k0 * ldb + column, ldb,
                                                        c + row * ldc + column, ldc, n - column, nullptr, k0 == 0);
  }
}

}  // namespace ksearch::ops
