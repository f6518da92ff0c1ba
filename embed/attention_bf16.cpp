// bfloat16 kernels for attention (embed/ops.h): the two products and the softmax between them.  oneDNN 2.6 has no
// public bf16 gemm, and its matmul primitive wants a shape fixed at creation while attention is one small product
// per sequence and head: so these are our own, compiled for AVX512_BF16 and called only where the CPU has it.
//
// vdpbf16ps multiplies 16 pairs of bf16 and adds both products of each pair to an fp32 lane: with B packed as
// [column block of 16][row pair][16 columns][2 rows], one 64-byte load gives the pairs of 16 columns, and a row of A
// contributes the matching pair of its own, broadcast to all lanes.  A tile of up to 8 rows × 32 columns keeps 16
// accumulators in registers for the whole k loop.
//
// On CPUs with AMX-BF16 the two products run on AMX tiles instead (Intel Xeons from Sapphire Rapids on, where
// vdpbf16ps does half the fp32 FMA's work per cycle and a tile product 16 times it): the packed B above is already
// the tiles' layout, each block of 16 columns 16 pairs at a time one 16 × 64-byte tile, and a row block of A is a
// tile of up to 16 rows × 32 k.  Tiles 0-3 hold the sums of up to 64 columns, 4 and 5 a full group of 32 k of A and
// B, 6 and 7 the last, shorter group.
//
// The softmax writes exp(x − max) straight to bf16 (the CPU's own rounding conversion) and leaves the division by the
// sum to the second product's row scales: one pass over the scores after the maximum.  Its exponential is only as
// exact as bf16 needs (1e-4), the row in 40% less time than with one good to 3e-6.

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "embed/avx512.h"
#include "embed/ops.h"

#define KSEARCH_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define KSEARCH_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

namespace ksearch::ops {
namespace {

constexpr std::size_t kTileRows = 8;    // rows of A per tile
constexpr std::size_t kTileBlocks = 2;  // column blocks per tile

std::size_t pairs_of(std::size_t k) { return (k + 1) / 2; }

// c's element type: fp32, or bf16 rounded to nearest even (the CPU's own conversion) for a bf16 product to read.
template <typename Out>
KSEARCH_BF16_TARGET inline void store(Out* c, __mmask16 mask, __m512 value) {
  if constexpr (std::is_same_v<Out, float>)
    _mm512_mask_storeu_ps(c, mask, value);
  else
    _mm256_mask_storeu_epi16(c, mask, (__m256i)_mm512_cvtneps_pbh(value));
}

template <typename Out, std::size_t Rows, std::size_t Blocks>
KSEARCH_BF16_TARGET void tile(std::size_t pairs, const std::uint16_t* a, std::size_t lda, const std::uint16_t* b,
                              std::size_t block_stride, float alpha, const float* row_scales, Out* c, std::size_t ldc,
                              std::size_t columns) {
  __m512 sums[Rows][Blocks];
  KSEARCH_UNROLL for (auto& row : sums) KSEARCH_UNROLL for (auto& sum : row) sum = _mm512_setzero_ps();
  for (std::size_t pair = 0; pair < pairs; ++pair) {
    __m512i columns_pairs[Blocks];
    KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) columns_pairs[block] =
        _mm512_loadu_si512(b + block * block_stride + pair * 2 * kLanes);
    KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
      std::int32_t row_pair;
      std::memcpy(&row_pair, a + row * lda + 2 * pair, sizeof row_pair);
      const __m512i broadcast = _mm512_set1_epi32(row_pair);
      KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) sums[row][block] =
          _mm512_dpbf16_ps(sums[row][block], (__m512bh)broadcast, (__m512bh)columns_pairs[block]);
    }
  }
  KSEARCH_UNROLL for (std::size_t row = 0; row < Rows; ++row) {
    const __m512 scale = _mm512_set1_ps(row_scales != nullptr ? alpha * row_scales[row] : alpha);
    KSEARCH_UNROLL for (std::size_t block = 0; block < Blocks; ++block) store(
        c + row * ldc + block * kLanes, lanes_mask(columns - block * kLanes), _mm512_mul_ps(sums[row][block], scale));
  }
}

template <typename Out>
using Tile = void (*)(std::size_t, const std::uint16_t*, std::size_t, const std::uint16_t*, std::size_t, float,
                      const float*, Out*, std::size_t, std::size_t);

// tiles<Out>[rows - 1][blocks - 1]: full tiles and the edges of the matrix.
template <typename Out, std::size_t... Rows>
constexpr std::array<std::array<Tile<Out>, kTileBlocks>, kTileRows> make_tiles(std::index_sequence<Rows...>) {
  return {{{&tile<Out, Rows + 1, 1>, &tile<Out, Rows + 1, 2>}...}};
}
template <typename Out>
constexpr auto kTiles = make_tiles<Out>(std::make_index_sequence<kTileRows>());

template <typename Out>
void multiply(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales, const std::uint16_t* a,
              std::size_t lda, const std::uint16_t* b_packed, Out* c, std::size_t ldc) {
  const std::size_t pairs = pairs_of(k), block_stride = pairs * 2 * kLanes;
  const std::size_t blocks = (n + kLanes - 1) / kLanes;
  for (std::size_t block = 0; block < blocks; block += kTileBlocks) {
    const std::size_t tile_blocks = std::min(kTileBlocks, blocks - block);
    const std::size_t columns = std::min(kTileBlocks * kLanes, n - block * kLanes);
    for (std::size_t row = 0; row < m; row += kTileRows) {
      const std::size_t tile_rows = std::min(kTileRows, m - row);
      kTiles<Out>[tile_rows - 1][tile_blocks - 1](
          pairs, a + row * lda, lda, b_packed + block * block_stride, block_stride, alpha,
          row_scales != nullptr ? row_scales + row : nullptr, c + row * ldc + block * kLanes, ldc, columns);
    }
  }
}

constexpr std::size_t kAmxRows = 16, kAmxGroupPairs = 16, kAmxColumnTiles = 4, kAmxRowBytes = 64;

// The 64 bytes ldtilecfg reads (palette 1).
struct TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// GCC 12's tile intrinsics under-declare what they read (ldtilecfg's asm names only the config's first 8 bytes,
// tileloadd's nothing), so earlier stores may be dropped or sunk past them: the config's fields were, and
// ldtilecfg faulted.  This barrier lands every earlier store first.
inline void stores_land() { asm volatile("" ::: "memory"); }

// Tiles for `rows` rows of A and a last group of `tail_pairs` pairs (0: k is whole groups).
KSEARCH_AMX_TARGET void configure_tiles(std::size_t rows, std::size_t tail_pairs) {
  TileConfig config;
  const auto set = [&](int tile, std::size_t tile_rows, std::size_t bytes) {
    config.rows[tile] = static_cast<std::uint8_t>(tile_rows);
    config.bytes_per_row[tile] = static_cast<std::uint16_t>(bytes);
  };
  for (int tile = 0; tile <= 4; ++tile) set(tile, rows, kAmxRowBytes);  // the sums and A
  set(5, kAmxGroupPairs, kAmxRowBytes);
  if (tail_pairs > 0) {
    set(6, rows, tail_pairs * 4);
    set(7, tail_pairs, kAmxRowBytes);
  }
  stores_land();
  _tile_loadconfig(&config);
}

// One group of k inside amx_tile: A's tile `a_tile` times each block's B tile `b_tile`, into sums tiles 0..Blocks-1.
// A macro because the intrinsics paste the tile numbers into the instruction text: they must be literals.
#define KSEARCH_AMX_GROUP(a_tile, b_tile, a_group, b_group)            \
  do {                                                                 \
    _tile_loadd(a_tile, a_group, a_stride);                            \
    _tile_loadd(b_tile, b_group, kAmxRowBytes);                        \
    _tile_dpbf16ps(0, a_tile, b_tile);                                 \
    if constexpr (Blocks > 1) {                                        \
      _tile_loadd(b_tile, (b_group) + block_stride, kAmxRowBytes);     \
      _tile_dpbf16ps(1, a_tile, b_tile);                               \
    }                                                                  \
    if constexpr (Blocks > 2) {                                        \
      _tile_loadd(b_tile, (b_group) + 2 * block_stride, kAmxRowBytes); \
      _tile_dpbf16ps(2, a_tile, b_tile);                               \
    }                                                                  \
    if constexpr (Blocks > 3) {                                        \
      _tile_loadd(b_tile, (b_group) + 3 * block_stride, kAmxRowBytes); \
      _tile_dpbf16ps(3, a_tile, b_tile);                               \
    }                                                                  \
  } while (false)

// sums[rows][Blocks · 16] (rows `sums_stride` floats apart) = a's row block · Blocks blocks of 16 packed columns.
template <std::size_t Blocks>
KSEARCH_AMX_TARGET void amx_tile(std::size_t groups, bool tail, const std::uint16_t* a, std::size_t lda,
                                 const std::uint16_t* b, std::size_t block_stride, float* sums,
                                 std::size_t sums_stride) {
  constexpr std::size_t kGroupElements = kAmxGroupPairs * 2 * kLanes;  // of a block of B: 16 pairs × 16 columns × 2
  const auto a_stride = static_cast<long>(lda * sizeof(std::uint16_t));
  stores_land();
  _tile_zero(0);
  if constexpr (Blocks > 1) _tile_zero(1);
  if constexpr (Blocks > 2) _tile_zero(2);
  if constexpr (Blocks > 3) _tile_zero(3);
  for (std::size_t group = 0; group < groups; ++group)
    KSEARCH_AMX_GROUP(4, 5, a + group * 2 * kAmxGroupPairs, b + group * kGroupElements);
  if (tail) KSEARCH_AMX_GROUP(6, 7, a + groups * 2 * kAmxGroupPairs, b + groups * kGroupElements);
  const auto stride = static_cast<long>(sums_stride * sizeof(float));
  _tile_stored(0, sums, stride);
  if constexpr (Blocks > 1) _tile_stored(1, sums + kLanes, stride);
  if constexpr (Blocks > 2) _tile_stored(2, sums + 2 * kLanes, stride);
  if constexpr (Blocks > 3) _tile_stored(3, sums + 3 * kLanes, stride);
}

#undef KSEARCH_AMX_GROUP

using AmxTile = void (*)(std::size_t, bool, const std::uint16_t*, std::size_t, const std::uint16_t*, std::size_t,
                         float*, std::size_t);
constexpr std::array<AmxTile, kAmxColumnTiles> kAmxTiles = {&amx_tile<1>, &amx_tile<2>, &amx_tile<3>, &amx_tile<4>};

KSEARCH_AMX_TARGET void release_tiles() { _tile_release(); }

template <typename Out>
KSEARCH_AMX_TARGET void multiply_on_amx(std::size_t m, std::size_t n, std::size_t k, float alpha,
                                        const float* row_scales, const std::uint16_t* a, std::size_t lda,
                                        const std::uint16_t* b_packed, Out* c, std::size_t ldc) {
  const std::size_t pairs = pairs_of(k), block_stride = pairs * 2 * kLanes;
  const std::size_t groups = pairs / kAmxGroupPairs, tail_pairs = pairs % kAmxGroupPairs;
  const std::size_t blocks = (n + kLanes - 1) / kLanes;
  alignas(64) float sums[kAmxRows * kAmxColumnTiles * kLanes];
  std::size_t configured_rows = 0;
  for (std::size_t row = 0; row < m; row += kAmxRows) {
    const std::size_t rows = std::min(kAmxRows, m - row);
    if (rows != configured_rows) configure_tiles(rows, tail_pairs);
    configured_rows = rows;
    for (std::size_t block = 0; block < blocks; block += kAmxColumnTiles) {
      const std::size_t tile_blocks = std::min(kAmxColumnTiles, blocks - block);
      const std::size_t first_column = block * kLanes, columns = std::min(tile_blocks * kLanes, n - first_column);
      const AmxTile multiply_tiles = kAmxTiles[tile_blocks - 1];
      const std::uint16_t* const a_rows = a + row * lda;
      const std::uint16_t* const b_blocks = b_packed + block * block_stride;
      // fp32 sums that need no scaling and fill whole tiles go straight to c (attention's scores).
      if constexpr (std::is_same_v<Out, float>) {
        if (alpha == 1.0f && row_scales == nullptr && columns == tile_blocks * kLanes) {
          multiply_tiles(groups, tail_pairs > 0, a_rows, lda, b_blocks, block_stride, c + row * ldc + first_column,
                         ldc);
          continue;
        }
      }
      multiply_tiles(groups, tail_pairs > 0, a_rows, lda, b_blocks, block_stride, sums, kAmxColumnTiles * kLanes);
      for (std::size_t r = 0; r < rows; ++r) {
        const __m512 scale = _mm512_set1_ps(row_scales != nullptr ? alpha * row_scales[row + r] : alpha);
        for (std::size_t j = 0; j < columns; j += kLanes)
          store(c + (row + r) * ldc + first_column + j, lanes_mask(columns - j),
                _mm512_mul_ps(_mm512_load_ps(sums + r * kAmxColumnTiles * kLanes + j), scale));
      }
    }
  }
  release_tiles();
}

template <typename Out>
void product(Bf16Unit unit, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
             const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, Out* c, std::size_t ldc) {
  if (unit == Bf16Unit::Amx)
    multiply_on_amx(m, n, k, alpha, row_scales, a, lda, b_packed, c, ldc);
  else
    multiply(m, n, k, alpha, row_scales, a, lda, b_packed, c, ldc);
}

// y = bf16(exp(scale·(x − max x))) for one row; returns 1 / Σ of those, summed before rounding.  The exponent goes in
// base 2: (x − max)·scale·log₂e in one fused multiply-subtract.  Two vectors per step with a sum each, so the loop is
// not bound by the latency of one running sum.
KSEARCH_BF16_TARGET float exp_row(const float* x, std::size_t width, float scale, std::uint16_t* y) {
  const std::size_t whole = width / (2 * kLanes) * (2 * kLanes);
  __m512 max0 = _mm512_set1_ps(-INFINITY), max1 = max0;
  for (std::size_t i = 0; i < whole; i += 2 * kLanes) {
    max0 = _mm512_max_ps(max0, _mm512_loadu_ps(x + i));
    max1 = _mm512_max_ps(max1, _mm512_loadu_ps(x + i + kLanes));
  }
  for (std::size_t i = whole; i < width; i += kLanes)
    max0 = _mm512_max_ps(max0, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes_mask(width - i), x + i));
  const __m512 log2e = _mm512_set1_ps(scale * 1.44269504f);
  const __m512 scaled_max = _mm512_mul_ps(_mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(max0, max1))), log2e);
  __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;
  for (std::size_t i = 0; i < whole; i += 2 * kLanes) {
    const __m512 e0 = exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(x + i), log2e, scaled_max));
    const __m512 e1 = exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(x + i + kLanes), log2e, scaled_max));
    sum0 = _mm512_add_ps(sum0, e0);
    sum1 = _mm512_add_ps(sum1, e1);
    _mm512_storeu_si512(y + i, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));  // e0's lanes first
  }
  for (std::size_t i = whole; i < width; i += kLanes) {
    const __mmask16 mask = lanes_mask(width - i);
    const __m512 e = _mm512_maskz_mov_ps(
        mask, exp2_nonpositive(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask, x + i), log2e, scaled_max)));
    sum0 = _mm512_add_ps(sum0, e);
    _mm256_mask_storeu_epi16(y + i, mask, (__m256i)_mm512_cvtneps_pbh(e));
  }
  return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

// op(b) = bᵀ, b [n, k]: a row pair of op(b) in a column is two neighbouring elements of a row of b, one 32-bit word,
// so each block of 16 columns and 16 pairs is a 16 × 16 transpose of words.
KSEARCH_BF16_TARGET void pack_transposed(const std::uint16_t* b, std::size_t k, std::size_t n, std::size_t ldb,
                                         std::uint16_t* packed) {
  const std::size_t pairs = pairs_of(k);
  for (std::size_t first_column = 0; first_column < n; first_column += kLanes, packed += pairs * 2 * kLanes) {
    const std::size_t columns = std::min(kLanes, n - first_column);
    for (std::size_t first_pair = 0; first_pair < pairs; first_pair += kLanes) {
      const std::size_t values = std::min(2 * kLanes, k - 2 * first_pair);  // of each row of b, the odd k's pad zero
      const __mmask32 mask = values == 2 * kLanes ? ~__mmask32{0} : (__mmask32{1} << values) - 1;
      __m512i words[kLanes];
      KSEARCH_UNROLL for (std::size_t c = 0; c < kLanes; ++c) words[c] =
          c < columns ? _mm512_maskz_loadu_epi16(mask, b + (first_column + c) * ldb + 2 * first_pair)
                      : _mm512_setzero_si512();
      transpose_16x16(words);
      for (std::size_t pair = 0; pair < std::min(kLanes, pairs - first_pair); ++pair)
        _mm512_storeu_si512(packed + (first_pair + pair) * 2 * kLanes, words[pair]);
    }
  }
}

// op(b) = b [k, n]: 16 columns of two rows widened to 32 bits, the second row's in the high halves.
KSEARCH_BF16_TARGET void pack_rows(const std::uint16_t* b, std::size_t k, std::size_t n, std::size_t ldb,
                                   std::uint16_t* packed) {
  for (std::size_t first_column = 0; first_column < n; first_column += kLanes) {
    const __mmask16 mask = lanes_mask(n - first_column);
    for (std::size_t row = 0; row < k; row += 2, packed += 2 * kLanes) {
      const __m512i first = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, b + row * ldb + first_column));
      const __m512i second =
          row + 1 < k ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, b + (row + 1) * ldb + first_column))
                      : _mm512_setzero_si512();
      _mm512_storeu_si512(packed, _mm512_or_si512(first, _mm512_slli_epi32(second, 16)));
    }
  }
}

// Seconds for a fixed number of independent vdpbf16ps (Dots) or vfmadd231ps: sixteen accumulator chains, more than
// latency × issue width on any CPU, so the loop measures throughput.  Each chain starts from its own value: chains
// that all started from zero were one computation to GCC, which kept one chain and so timed the instructions'
// latencies (on Zen 5 the dot product's is 1.5× the FMA's, and bf16 lost its dot products there at the same
// throughput as the FMA).
template <bool Dots>
KSEARCH_BF16_TARGET double seconds_for_chains() {
  constexpr int kIterations = 1024;
  __m512 sums[16];
  float value = 0;
  KSEARCH_UNROLL for (auto& sum : sums) sum = _mm512_set1_ps(value++);
  const __m512 x = _mm512_set1_ps(1e-3f);
  const auto pairs = (__m512bh)_mm512_set1_epi32(0x3a833a83);  // bf16 pairs of ~1e-3
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIterations; ++i) {
    KSEARCH_UNROLL for (auto& sum : sums) {
      if constexpr (Dots)
        sum = _mm512_dpbf16_ps(sum, pairs, pairs);
      else
        sum = _mm512_fmadd_ps(sum, x, x);
    }
  }
  __m512 total = sums[0];
  for (std::size_t i = 1; i < std::size(sums); ++i) total = _mm512_add_ps(total, sums[i]);
  [[maybe_unused]] static volatile float sink;  // the sums are used, so the loop stays
  sink = _mm512_reduce_add_ps(total);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

bool has_bf16_gemm() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return supported;
}

bool has_amx_bf16() {
  static const bool usable = [] {
    if (!has_bf16_gemm() || !__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16")) return false;
    // Linux hands a process the tiles' state (8 KB a thread) only on request (ARCH_REQ_XCOMP_PERM for
    // XFEATURE_XTILEDATA, Linux 5.16 on); without it the first tile instruction is fatal.
    constexpr int kRequestPermission = 0x1023, kTileData = 18;
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
  }();
  return usable;
}

bool bf16_dots_are_fast() {
  if (!has_bf16_gemm()) return false;
  // A dot product does two FMAs' work per lane: it wins where it issues at over 3/4 of the FMA's rate (Zen 4: the
  // same rate; Sapphire and Emerald Rapids: a quarter).  Best of five tries each, alternating, so a clock ramp or a
  // preemption in one try does not decide.
  static const bool fast = [] {
    double dots = 1e9, fmas = 1e9;
    for (int attempt = 0; attempt < 5; ++attempt) {
      dots = std::min(dots, seconds_for_chains<true>());
      fmas = std::min(fmas, seconds_for_chains<false>());
    }
    return dots * 0.75 <= fmas;
  }();
  return fast;
}

std::size_t bf16_packed_size(std::size_t k, std::size_t n) {
  return (n + kLanes - 1) / kLanes * kLanes * pairs_of(k) * 2;
}

void pack_bf16(bool b_transposed, const std::uint16_t* b, std::size_t k, std::size_t n, std::size_t ldb,
               std::uint16_t* packed) {
  if (b_transposed)
    pack_transposed(b, k, n, ldb, packed);
  else
    pack_rows(b, k, n, ldb, packed);
}

void softmax_rows_bf16(const float* x, std::size_t rows, std::size_t width, std::size_t ld, float scale,
                       std::uint16_t* y, std::size_t ldy, float* inverse_sums) {
  for (std::size_t r = 0; r < rows; ++r) {
    inverse_sums[r] = exp_row(x + r * ld, width, scale, y + r * ldy);
    if (width % 2 != 0) y[r * ldy + width] = 0;
  }
}

void gemm_bf16(Bf16Unit unit, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
               const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, float* c, std::size_t ldc) {
  product(unit, m, n, k, alpha, row_scales, a, lda, b_packed, c, ldc);
}

void gemm_bf16(Bf16Unit unit, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* row_scales,
               const std::uint16_t* a, std::size_t lda, const std::uint16_t* b_packed, std::uint16_t* c,
               std::size_t ldc) {
  product(unit, m, n, k, alpha, row_scales, a, lda, b_packed, c, ldc);
}

}  // namespace ksearch::ops
