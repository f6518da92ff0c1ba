#include "embed/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

using testing::from_bf16;
using testing::to_bf16;

std::vector<std::uint16_t> random_bf16(std::size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal;
  std::vector<std::uint16_t> values(count);
  for (auto& v : values) v = to_bf16(normal(random));
  return values;
}

// Every shape edge: single elements, odd k (a padded pair), n off the 16-column blocks, m off the 8-row tiles,
// B given either way round, with and without row scales.
// Under qemu-user's emulated CPUs (tests/CMakeLists.txt sets KSEARCH_EMULATED_CPU) none of the AVX-512 kernels may be
// chosen, or those runs would test nothing new.
TEST(CpuFeatures, AnEmulatedCpuWithoutAvx512GetsNoAvx512Kernel) {
  const char* cpu = std::getenv("KSEARCH_EMULATED_CPU");
  if (cpu == nullptr) GTEST_SKIP() << "not under an emulated CPU";
  EXPECT_FALSE(ops::has_fp32_tiles()) << cpu;
  EXPECT_FALSE(ops::has_fp16_gemm()) << cpu;
  EXPECT_FALSE(ops::has_bf16_gemm()) << cpu;
  EXPECT_FALSE(ops::has_int8_dots()) << cpu;
}

// On the AVX512_BF16 dot products and, where the CPU has them, on AMX tiles: shapes off the tiles' 8 or 16 rows, 32
// or 64 columns and groups of 32 k, with several of each.
TEST(Bf16Gemm, MatchesExactProductsOfTheRoundedInputs) {
  if (!ops::has_bf16_gemm()) GTEST_SKIP() << "this CPU has no AVX512_BF16 (the encoder uses fp32 attention here)";
  std::vector<ops::Bf16Unit> units = {ops::Bf16Unit::Dots};
  if (ops::has_amx_bf16()) units.push_back(ops::Bf16Unit::Amx);
  struct Shape {
    std::size_t m, n, k;
  };
  for (const ops::Bf16Unit unit : units) {
    const bool amx = unit == ops::Bf16Unit::Amx;
    for (const Shape shape : {Shape{1, 1, 1}, Shape{13, 37, 33}, Shape{8, 32, 64}, Shape{17, 5, 2}, Shape{3, 70, 7},
                              Shape{37, 130, 100}, Shape{16, 64, 32}}) {
      for (const bool transposed : {false, true}) {
        for (const bool scaled : {false, true}) {
          const auto [m, n, k] = shape;
          const std::size_t lda = k + 3;  // rows with room past the pad
          auto a = random_bf16(m * lda, 1);
          for (std::size_t r = 0; r < m; ++r)
            if (k % 2 != 0) a[r * lda + k] = 0;  // the pad the caller provides
          const std::size_t ldb = (transposed ? k : n) + 5;
          const auto b = random_bf16((transposed ? n : k) * ldb, 2);
          std::vector<float> row_scales(m);
          for (std::size_t r = 0; r < m; ++r) row_scales[r] = 0.5f + static_cast<float>(r);
          std::vector<std::uint16_t> packed(ops::bf16_packed_size(k, n));
          ops::pack_bf16(transposed, b.data(), k, n, ldb, packed.data());
          const std::size_t ldc = n + 2;
          std::vector<float> c(m * ldc, -7.0f);
          // Unscaled: alpha 1 and no row scales (AMX writes whole tiles of such sums straight to c).
          const float alpha = scaled ? 0.25f : 1.0f;
          ops::gemm_bf16(unit, m, n, k, alpha, scaled ? row_scales.data() : nullptr, a.data(), lda, packed.data(),
                         c.data(), ldc);
          for (std::size_t r = 0; r < m; ++r) {
            for (std::size_t j = 0; j < n; ++j) {
              double want = 0, magnitude = 0;
              for (std::size_t i = 0; i < k; ++i) {
                const double term = static_cast<double>(from_bf16(a[r * lda + i])) *
                                    from_bf16(transposed ? b[j * ldb + i] : b[i * ldb + j]);
                want += term;
                magnitude += std::abs(term);
              }
              want *= alpha * (scaled ? row_scales[r] : 1.0);
              EXPECT_NEAR(c[r * ldc + j], want, 1e-5 * (magnitude + 1))
                  << "AMX " << amx << ", " << m << "x" << n << "x" << k << " " << r << "," << j;
            }
            for (std::size_t j = n; j < ldc; ++j) EXPECT_EQ(c[r * ldc + j], -7.0f) << "wrote past column " << n;
          }
          // Written in bf16: the same sums, each rounded as to_bf16 rounds, and nothing past column n.
          std::vector<std::uint16_t> rounded(m * ldc, 0xABCD);
          ops::gemm_bf16(unit, m, n, k, alpha, scaled ? row_scales.data() : nullptr, a.data(), lda, packed.data(),
                         rounded.data(), ldc);
          for (std::size_t r = 0; r < m; ++r)
            for (std::size_t j = 0; j < ldc; ++j)
              EXPECT_EQ(rounded[r * ldc + j], j < n ? to_bf16(c[r * ldc + j]) : 0xABCD)
                  << "AMX " << amx << ", " << m << "x" << n << "x" << k << " " << r << "," << j;
        }
      }
    }
  }
}

// A reduced-precision softmax over 3 rows of `width` scores: each y is exp(x − max) to `relative` (the half type's
// rounding; the exponential is good to 1e-4) and each inverse sum to 2e-4, and a score far below the row's maximum
// gives (nearly) zero, never NaN.  Returns y (row stride ldy, 0xFFFF where nothing was written) for the caller to
// check what lies past the width.
using HalfSoftmax =
    std::function<void(const float*, std::size_t, std::size_t, std::size_t, std::uint16_t*, std::size_t, float*)>;
std::vector<std::uint16_t> expect_softmax(HalfSoftmax softmax, float (*decode)(std::uint16_t), double relative,
                                          std::size_t width, std::size_t ldy, double scale = 1.0) {
  const std::size_t rows = 3, ld = width + 5;
  std::mt19937 random(3);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> x(rows * ld);
  for (auto& v : x) v = normal(random);
  x[ld + 7] = -1000.0f;
  const std::vector<float> original = x;
  std::vector<std::uint16_t> y(rows * ldy, 0xFFFF);
  std::vector<float> inverse_sums(rows);
  softmax(x.data(), rows, width, ld, y.data(), ldy, inverse_sums.data());
  for (std::size_t r = 0; r < rows; ++r) {
    double max = original[r * ld], sum = 0;
    for (std::size_t i = 0; i < width; ++i) max = std::max<double>(max, original[r * ld + i]);
    for (std::size_t i = 0; i < width; ++i) {
      const double e = std::exp((original[r * ld + i] - max) * scale);
      sum += e;
      EXPECT_NEAR(decode(y[r * ldy + i]), e, e * relative + 6e-8) << r << "," << i;
    }
    EXPECT_NEAR(inverse_sums[r], 1.0 / sum, 2e-4 / sum);
  }
  return y;
}

TEST(SoftmaxBf16, ExponentialsInBf16AndInverseSums) {
  if (!ops::has_bf16_gemm()) GTEST_SKIP() << "this CPU has no AVX512_BF16 (the encoder uses fp32 attention here)";
  const std::size_t width = 35, ldy = 36;
  for (const float scale : {1.0f, 0.125f}) {
    const auto softmax = [scale](const float* x, std::size_t rows, std::size_t columns, std::size_t ld,
                                 std::uint16_t* y, std::size_t ld_y, float* inverse_sums) {
      ops::softmax_rows_bf16(x, rows, columns, ld, scale, y, ld_y, inverse_sums);
    };
    const auto y = expect_softmax(softmax, from_bf16, 1.0 / 128, width, ldy, scale);  // 8 significant bits
    for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(y[r * ldy + width], 0) << "the odd width is padded to a zero pair";
  }
}

// fp16 as raw bits and back, through the compiler's own _Float16 (independent of the kernels' conversions).
std::uint16_t to_fp16(float x) {
  const auto half = static_cast<_Float16>(x);
  std::uint16_t bits;
  std::memcpy(&bits, &half, sizeof bits);
  return bits;
}
float from_fp16(std::uint16_t bits) {
  _Float16 half;
  std::memcpy(&half, &bits, sizeof half);
  return static_cast<float>(half);
}

TEST(Fp16Conversion, RoundsToNearestWithScale) {
  if (!ops::has_fp16_gemm()) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  const std::size_t rows = 3, columns = 21, ldx = 25, ldy = 23;
  std::mt19937 random(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> x(rows * ldx);
  for (auto& v : x) v = normal(random);
  std::vector<std::uint16_t> y(rows * ldy, 0xABCD);
  ops::to_float16(x.data(), rows, columns, ldx, 0.125f, y.data(), ldy);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < ldy; ++i)
      EXPECT_EQ(y[r * ldy + i], i < columns ? to_fp16(x[r * ldx + i] * 0.125f) : 0xABCD) << r << "," << i;
}

// Shapes off the 8-row tiles and 32-column blocks, k across several 64-term fp16 sums, with and without row scales;
// nothing written past column n.  The products of fp16 inputs, to the error of 64-term fp16 sums.
TEST(Fp16Gemm, MatchesExactProductsOfTheHalfInputs) {
  if (!ops::has_fp16_gemm()) GTEST_SKIP() << "this CPU has no AVX512-FP16 (attention uses another kernel here)";
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape shape : {Shape{1, 1, 1}, Shape{13, 37, 33}, Shape{8, 64, 64}, Shape{17, 70, 200}, Shape{3, 32, 130},
                            Shape{9, 100, 512}}) {
    for (const bool scaled : {false, true}) {
      const auto [m, n, k] = shape;
      std::mt19937 random(static_cast<unsigned>(m * 1000 + n * 10 + k));
      std::normal_distribution<float> normal;
      const std::size_t lda = k + 3, ldb = (n + 31) / 32 * 32 + 4;  // b's rows readable to whole blocks
      std::vector<std::uint16_t> a(m * lda), b(k * ldb);
      for (auto& v : a) v = to_fp16(normal(random));
      for (auto& v : b) v = to_fp16(normal(random));
      std::vector<float> row_scales(m);
      for (std::size_t r = 0; r < m; ++r) row_scales[r] = 0.5f + static_cast<float>(r);
      const std::size_t ldc = n + 2;
      std::vector<float> c(m * ldc, -7.0f);
      ops::gemm_fp16(m, n, k, scaled ? row_scales.data() : nullptr, a.data(), lda, b.data(), ldb, c.data(), ldc);
      for (std::size_t r = 0; r < m; ++r) {
        for (std::size_t j = 0; j < n; ++j) {
          double want = 0, magnitude = 0;
          for (std::size_t i = 0; i < k; ++i) {
            const double term = static_cast<double>(from_fp16(a[r * lda + i])) * from_fp16(b[i * ldb + j]);
            want += term;
            magnitude += std::abs(term);
          }
          const double scale = scaled ? row_scales[r] : 1.0;
          ASSERT_NEAR(c[r * ldc + j], want * scale, 4e-3 * magnitude * scale + 1e-6)
              << m << "x" << n << "x" << k << " " << r << "," << j;
        }
        for (std::size_t j = n; j < ldc; ++j) ASSERT_EQ(c[r * ldc + j], -7.0f) << "wrote past column " << n;
      }
    }
  }
  // 5,000 products of 1: a sum kept in fp16 throughout would stop at 2,048 (where fp16's step becomes 2).
  const std::size_t k = 5000;
  const std::vector<std::uint16_t> ones(k * 32, to_fp16(1.0f));
  float c = 0;
  ops::gemm_fp16(1, 1, k, nullptr, ones.data(), k, ones.data(), 32, &c, 1);
  EXPECT_EQ(c, 5000.0f);
}

TEST(SoftmaxFp16, ExponentialsInFp16AndInverseSums) {
  if (!ops::has_fp16_gemm()) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  const std::size_t width = 45, ldy = 46;
  const auto y = expect_softmax(ops::softmax_rows_fp16, from_fp16, 6e-4, width, ldy);  // 11 significant bits
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(y[r * ldy + width], 0xFFFF) << "wrote past the row";
}

// oneDNN's fp32 panel layout built by hand: 64-column panels, k padded to 16, zeros past n and k.
std::vector<float> pack_panels(const std::vector<float>& w, std::size_t k, std::size_t n, std::size_t& panel_stride) {
  panel_stride = (k + 15) / 16 * 16 * 64;
  std::vector<float> panels((n + 63) / 64 * panel_stride, 0.0f);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < n; ++j) panels[j / 64 * panel_stride + i * 64 + j % 64] = w[i * n + j];
  return panels;
}

// Rows 1 to 16 (the 8-row tiles and their remainders), k off the 64-row chunks and the 16-row blocks, n off the
// 32-column halves and the 64-column panels, with and without GELU; nothing written past the last column.
TEST(PanelGemm, MatchesExactProductsOfTheWeights) {
  if (!ops::has_fp32_tiles()) GTEST_SKIP() << "this CPU has no AVX-512F (fp32 dense layers use oneDNN throughout)";
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape shape : {Shape{1, 1, 1}, Shape{3, 37, 20}, Shape{8, 64, 64}, Shape{9, 100, 130}, Shape{16, 200, 70},
                            Shape{16, 384, 384}, Shape{5, 33, 1}, Shape{12, 130, 200}}) {
    for (const bool gelu : {false, true}) {
      const auto [m, n, k] = shape;
      std::mt19937 random(static_cast<unsigned>(m * 1000 + n * 10 + k));
      std::normal_distribution<float> normal;
      std::vector<float> a(m * k), w(k * n), bias(n);
      for (auto& v : a) v = normal(random);
      for (auto& v : w) v = normal(random);
      for (auto& v : bias) v = normal(random);
      std::size_t panel_stride = 0;
      const std::vector<float> panels = pack_panels(w, k, n, panel_stride);
      constexpr float kSentinel = 12345.0f;
      std::vector<float> c(m * n + 64, kSentinel);
      ops::gemm_panels(m, n, k, a.data(), panels.data(), panel_stride, bias.data(), gelu, c.data());
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          double expected = bias[j];
          for (std::size_t l = 0; l < k; ++l) expected += static_cast<double>(a[i * k + l]) * w[l * n + j];
          if (gelu) expected = 0.5 * expected * (1.0 + std::erf(expected / std::sqrt(2.0)));
          EXPECT_NEAR(c[i * n + j], expected, 1e-5 * (1 + std::sqrt(static_cast<double>(k))))
              << m << "x" << n << "x" << k << (gelu ? " gelu" : "") << " at " << i << "," << j;
        }
      for (std::size_t i = m * n; i < c.size(); ++i) ASSERT_EQ(c[i], kSentinel) << m << "x" << n << "x" << k;
    }
  }
}

// bf16 weights on the fp32 tiles (CPUs whose bf16 dot products are slow): the exact products of the weights rounded
// to bf16, for a query's rows (1-16: the 8-row tiles) and a batch's (the 12-row tiles and what is left after them),
// k off the 64- and 256-row chunks, n off the 32-column halves and 64-column panels, with and without GELU; nothing
// written past the last column.
TEST(Bf16PanelGemm, MatchesExactProductsOfTheRoundedWeights) {
  if (!ops::has_fp32_tiles()) GTEST_SKIP() << "this CPU has no AVX-512F (bf16 dense layers use oneDNN)";
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape shape : {Shape{1, 1, 1}, Shape{5, 33, 20}, Shape{16, 64, 64}, Shape{17, 100, 130},
                            Shape{41, 200, 300}, Shape{300, 70, 257}, Shape{24, 384, 384}, Shape{30, 16, 1}}) {
    for (const bool gelu : {false, true}) {
      const auto [m, n, k] = shape;
      std::mt19937 random(static_cast<unsigned>(m * 1000 + n * 10 + k));
      std::normal_distribution<float> normal;
      std::vector<float> a(m * k), w(n * k), bias(n);  // w as PyTorch stores it: [n, k]
      for (auto& v : a) v = normal(random);
      for (auto& v : w) v = normal(random);
      for (auto& v : bias) v = normal(random);
      std::vector<std::uint16_t> panels(ops::bf16_panels_size(k, n));
      ops::pack_bf16_panels(w.data(), n, k, panels.data());
      constexpr float kSentinel = 12345.0f;
      std::vector<float> c(m * n + 64, kSentinel);
      ops::gemm_panels(m, n, k, a.data(), panels.data(), bias.data(), gelu, c.data());
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          double expected = bias[j];
          for (std::size_t l = 0; l < k; ++l)
            expected += static_cast<double>(a[i * k + l]) * from_bf16(to_bf16(w[j * k + l]));
          if (gelu) expected = 0.5 * expected * (1.0 + std::erf(expected / std::sqrt(2.0)));
          ASSERT_NEAR(c[i * n + j], expected, 1e-5 * (1 + std::sqrt(static_cast<double>(k))))
              << m << "x" << n << "x" << k << (gelu ? " gelu" : "") << " at " << i << "," << j;
        }
      for (std::size_t i = m * n; i < c.size(); ++i) ASSERT_EQ(c[i], kSentinel) << m << "x" << n << "x" << k;
    }
  }
}

// Attention's shapes and strides: a and b inside wider rows (a head's columns), k across several 64-row chunks, n and
// m off the 32-column and 8-row tiles; nothing written outside c's m × n block.
TEST(SmallGemm, MatchesExactProductsWithStrides) {
  if (!ops::has_fp32_tiles()) GTEST_SKIP() << "this CPU has no AVX-512F (attention uses oneDNN's sgemm)";
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape shape :
       {Shape{1, 1, 1}, Shape{24, 24, 32}, Shape{9, 64, 24}, Shape{17, 33, 130}, Shape{3, 100, 64}}) {
    const auto [m, n, k] = shape;
    const std::size_t lda = k + 5, ldb = n + 7, ldc = n + 3;
    const std::size_t readable = (n + ops::kSmallGemmColumns - 1) / ops::kSmallGemmColumns * ops::kSmallGemmColumns;
    std::mt19937 random(static_cast<unsigned>(m * 1000 + n * 10 + k));
    std::normal_distribution<float> normal;
    std::vector<float> a(m * lda), b(k * ldb + readable - n);  // the last row readable whole tiles wide
    for (auto& v : a) v = normal(random);
    for (auto& v : b) v = normal(random);
    constexpr float kSentinel = 12345.0f;
    std::vector<float> c(m * ldc, kSentinel);
    ops::gemm_small(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double expected = 0;
        for (std::size_t l = 0; l < k; ++l) expected += static_cast<double>(a[i * lda + l]) * b[l * ldb + j];
        EXPECT_NEAR(c[i * ldc + j], expected, 1e-5 * (1 + std::sqrt(static_cast<double>(k))))
            << m << "x" << n << "x" << k << " at " << i << "," << j;
      }
      for (std::size_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], kSentinel) << m << "x" << n << "x" << k;
    }
  }
}

// LayerNorm(x + residual) against a double-precision reference, with and without the residual, and the bf16 copy
// it writes for a bf16 product: x's own values rounded to nearest even.
TEST(LayerNorm, NormalisesRowsAndWritesTheirBf16Rounding) {
  constexpr std::size_t rows = 3, width = 37;
  constexpr float eps = 1e-5f;
  const auto input = testing::random_values(rows * width, 7), residual = testing::random_values(rows * width, 8);
  const auto gamma = testing::random_values(width, 9), beta = testing::random_values(width, 10);
  for (const bool with_residual : {false, true}) {
    std::vector<float> x = input;
    std::vector<std::uint16_t> rounded(rows * width);
    ops::add_layer_norm(x.data(), with_residual ? residual.data() : nullptr, rows, width, gamma.data(), beta.data(),
                        eps, rounded.data());
    for (std::size_t r = 0; r < rows; ++r) {
      std::vector<double> sum(width);
      double mean = 0, variance = 0;
      for (std::size_t i = 0; i < width; ++i) {
        sum[i] = input[r * width + i] + (with_residual ? residual[r * width + i] : 0.0);
        mean += sum[i] / width;
      }
      for (std::size_t i = 0; i < width; ++i) variance += (sum[i] - mean) * (sum[i] - mean) / width;
      for (std::size_t i = 0; i < width; ++i) {
        const double expected = (sum[i] - mean) / std::sqrt(variance + eps) * gamma[i] + beta[i];
        const std::size_t at = r * width + i;
        ASSERT_NEAR(x[at], expected, 1e-5) << with_residual << " " << r << "," << i;
        ASSERT_EQ(rounded[at], to_bf16(x[at])) << with_residual << " " << r << "," << i;
      }
    }
  }
}

// Whole 16 × 16 blocks, partial ones on either edge, single rows and columns, strides wider than the rows; what lies
// between the rows of y (past `rows`) is left alone.
TEST(Transpose, SwapsRowsAndColumns) {
  struct Shape {
    std::size_t rows, columns;
  };
  for (const Shape shape : {Shape{2, 3}, Shape{1, 1}, Shape{16, 16}, Shape{512, 32}, Shape{37, 64}, Shape{5, 33},
                            Shape{17, 1}, Shape{1, 19}}) {
    const auto [rows, columns] = shape;
    const std::size_t ldx = columns + 3, ldy = rows + 5;
    std::vector<float> x(rows * ldx);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    std::vector<float> y(columns * ldy, -1.0f);
    ops::transpose(x.data(), rows, columns, ldx, y.data(), ldy);
    for (std::size_t c = 0; c < columns; ++c)
      for (std::size_t r = 0; r < ldy; ++r)
        ASSERT_EQ(y[c * ldy + r], r < rows ? x[r * ldx + c] : -1.0f)
            << rows << "x" << columns << " at " << c << "," << r;
  }
}

}  // namespace
}  // namespace ksearch
