// fp32 dense products for a few rows (a query's tokens) straight from oneDNN's packed weights (embed/ops.h).
//
// With 16 rows or fewer every weight is used 16 times at most, so the product streams the weights from memory once
// and the question is how well that stream overlaps the arithmetic, plus what each call costs on its own: a query
// runs 72 (e5-small) to 144 (bge-m3) of these back to back.  oneDNN's matmul rounds the rows up to 8 and goes through
// its primitive machinery on every call; this goes straight to a register tile.
//
// The layout: oneDNN packs fp32 weights (K×N) for AVX-512 as panels of 64 columns, each panel K (padded to 16) rows
// of 64 consecutive floats.  A tile is up to 8 rows × 32 columns (16 accumulators, two 64-byte loads of a weight row
// and one broadcast per row for every 16 FMAs), run over k in chunks of 64 rows so the chunk (8 KB of the panel's
// half) stays in L1 for the second group of rows.  The first group prefetches the next chunk into L2: the hardware
// prefetcher alone leaves the cores waiting on memory (measured: 4.7 vs 6.4 ms for e5-small's 72 products).

// GCC 12's AVX-512 headers pass deliberately undefined registers as merge sources, which -Wmaybe-uninitialized
// reports once the intrinsics are inlined into a target("avx512f") function (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <utility>

#include "embed/ops.h"

#define KSEARCH_AVX512_TARGET __attribute__((target("avx512f")))

namespace ksearch::ops {
namespace {

constexpr std::size_t kPanelColumns = 64;  // oneDNN's block of columns
constexpr std::size_t kLanes = 16;
constexpr std::size_t kTileColumns = 32;   // two registers
constexpr std::size_t kTileRows = 8;
constexpr std::size_t kChunkRows = 64;     // rows of k per pass: 64 × 32 floats = 8 KB of weights in L1
constexpr std::size_t kPrefetchRows = 64;  // how far ahead (in k rows) the first row group prefetches

__mmask16 lanes_mask(std::size_t valid) {
  return valid >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1);
}

// c[0..Rows, 0..32) (+)= a[0..Rows, 0..k) · b[0..k, 0..32) with b's rows 64 floats apart; `start` non-null means
// the sums start from it (the bias) instead of from c.  Columns past `columns` are neither read from c nor written.
template <std::size_t Rows>
KSEARCH_AVX512_TARGET void tile(std::size_t k, const float* a, std::size_t lda, const float* b, float* c,
                                std::size_t ldc, std::size_t columns, const float* start, const float* prefetch) {
  const std::array<__mmask16, 2> masks = {lanes_mask(columns), lanes_mask(columns > kLanes ? columns - kLanes : 0)};
  __m512 sums[Rows][2];
  for (std::size_t row = 0; row < Rows; ++row)
    for (std::size_t half = 0; half < 2; ++half)
      sums[row][half] = _mm512_maskz_loadu_ps(masks[half], (start != nullptr ? start : c + row * ldc) + half * kLanes);
  for (std::size_t i = 0; i < k; ++i) {
    const __m512 b0 = _mm512_loadu_ps(b + i * kPanelColumns);
    const __m512 b1 = _mm512_loadu_ps(b + i * kPanelColumns + kLanes);
    if (prefetch != nullptr) {
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + i * kPanelColumns), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + i * kPanelColumns + kLanes), _MM_HINT_T1);
    }
    for (std::size_t row = 0; row < Rows; ++row) {
      const __m512 x = _mm512_set1_ps(a[row * lda + i]);
      sums[row][0] = _mm512_fmadd_ps(x, b0, sums[row][0]);
      sums[row][1] = _mm512_fmadd_ps(x, b1, sums[row][1]);
    }
  }
  for (std::size_t row = 0; row < Rows; ++row)
    for (std::size_t half = 0; half < 2; ++half)
      _mm512_mask_storeu_ps(c + row * ldc + half * kLanes, masks[half], sums[row][half]);
}

using Tile = void (*)(std::size_t, const float*, std::size_t, const float*, float*, std::size_t, std::size_t,
                      const float*, const float*);

template <std::size_t... Rows>
constexpr std::array<Tile, kTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{&tile<Rows + 1>...}};
}
constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileRows>());  // kTiles[rows - 1]

}  // namespace

bool has_panel_gemm() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}

void gemm_panels(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* panels,
                 std::size_t panel_stride, const float* bias, bool gelu, float* c) {
  const std::size_t panel_count = (n + kPanelColumns - 1) / kPanelColumns;
  const int threads = static_cast<int>(std::min<std::size_t>(panel_count, static_cast<std::size_t>(thread_count())));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    for (std::size_t panel = panel_count * thread / team; panel < panel_count * (thread + 1) / team; ++panel) {
      const float* weights = panels + panel * panel_stride;
      const std::size_t first_column = panel * kPanelColumns;
      for (std::size_t k0 = 0; k0 < k; k0 += kChunkRows) {
        const std::size_t chunk = std::min(kChunkRows, k - k0);
        for (std::size_t half = first_column; half < std::min(n, first_column + kPanelColumns); half += kTileColumns) {
          const std::size_t offset = half - first_column;
          const float* b = weights + k0 * kPanelColumns + offset;
          for (std::size_t row = 0; row < m; row += kTileRows) {
            // Past the end of the weights the prefetch is only a hint: it never faults.
            const float* prefetch = row == 0 ? b + kPrefetchRows * kPanelColumns : nullptr;
            kTiles[std::min(kTileRows, m - row) - 1](chunk, a + row * k + k0, k, b, c + row * n + half, n, n - half,
                                                     k0 == 0 ? bias + half : nullptr, prefetch);
          }
        }
      }
      if (gelu)
        for (std::size_t row = 0; row < m; ++row)
          gelu_inplace(c + row * n + first_column, std::min(kPanelColumns, n - first_column));
    }
  }
}

}  // namespace ksearch::ops
