#include "embed/linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "embed/ops.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

using testing::random_values;

// Made in the tests, not before main(): choosing reads the environment and measures the CPU.
KernelPlan fp32_plan() { return KernelPlan::choose(Precision::Fp32); }

// The plan for `precision` on this CPU without its bf16 dot products, AMX and (unless `fp16`) AVX512-FP16: the fp32
// tiles and oneDNN only.
KernelPlan plain_plan(Precision precision, bool fp16 = false) {
  CpuKernels cpu = CpuKernels::detect();
  cpu.bf16_dots = cpu.amx = cpu.onednn_amx = false;
  cpu.fp16 = cpu.fp16 && fp16;
  return KernelPlan::choose(precision, cpu);
}

std::vector<float> run(const Linear& layer, const std::vector<float>& x, std::size_t rows) {
  std::vector<float> y(rows * layer.out());
  layer.forward(x.data(), rows, y.data());
  return y;
}

TEST(Linear, RepackedWeightsGiveTheSameResults) {
  constexpr std::size_t out = 48, in = 40, rows = 5;
  const auto weight = random_values(out * in, 1), bias = random_values(out, 2), x = random_values(rows * in, 3);
  for (Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8})
    for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
      const Linear packed_now(weight.data(), bias.data(), out, in, plan, Activation::GeluErf);
      const PackedWeights packed = packed_now.packed();
      EXPECT_FALSE(packed.layout.empty());
      // Scales per output column: int8's on its dot products, and the fp16 panels' powers of two.
      const bool scaled = (precision == Precision::Int8 && plan.dense == DenseBackend::OneDnn) ||
                          plan.dense == DenseBackend::HalfPanels;
      EXPECT_EQ(packed.scales.size(), scaled ? out : 0) << plan.name();
      const Linear reused(packed, bias.data(), out, in, plan, Activation::GeluErf);
      EXPECT_EQ(run(packed_now, x, rows), run(reused, x, rows)) << plan.name();
    }
}

TEST(Linear, PackedWeightsOfAnotherLayoutAreRejected) {
  constexpr std::size_t out = 16, in = 32;
  const auto weight = random_values(out * in, 4), bias = random_values(out, 5);
  const Linear layer(weight.data(), bias.data(), out, in, fp32_plan());
  PackedWeights other_layout = layer.packed();
  other_layout.layout += ":x";
  EXPECT_THROW(Linear(other_layout, bias.data(), out, in, fp32_plan()), Error);
  PackedWeights short_bytes = layer.packed();
  short_bytes.bytes = short_bytes.bytes.first(short_bytes.bytes.size() - 64);
  EXPECT_THROW(Linear(short_bytes, bias.data(), out, in, fp32_plan()), Error);
  // Another precision is another layout.
  EXPECT_THROW(Linear(layer.packed(), bias.data(), out, in, KernelPlan::choose(Precision::Bf16)), Error);
  // So is bf16 for another dense backend (a cache file written before KSEARCH_BF16_DOTS or the CPU changed); plans
  // that differ only in attention share their layers.
  const std::vector<KernelPlan> plans = KernelPlan::runnable(Precision::Bf16);
  for (const KernelPlan& writer : plans)
    for (const KernelPlan& reader : plans) {
      const Linear written(weight.data(), bias.data(), out, in, writer);
      if (writer.dense == reader.dense)
        EXPECT_NO_THROW(Linear(written.packed(), bias.data(), out, in, reader))
            << writer.name() << " -> " << reader.name();
      else
        EXPECT_THROW(Linear(written.packed(), bias.data(), out, in, reader), Error)
            << writer.name() << " -> " << reader.name();
    }
}

// bf16 where the CPU's bf16 dot products are slow or missing: the weights rounded to bf16 and multiplied exactly
// with fp32 activations, for a query's rows and a batch's, with and without the fused GELU; on our fp32 tiles in half
// the fp32 weights' memory with AVX-512, on oneDNN's fp32 matmul without it.  Such a layer takes no bf16
// activations (the encoder does not chain bf16 there).
TEST(Linear, Bf16WithoutBf16DotsIsTheExactProductOfTheRoundedWeights) {
  const KernelPlan plan = plain_plan(Precision::Bf16);
  constexpr std::size_t out = 100, in = 70;
  const auto weight = random_values(out * in, 21), bias = random_values(out, 22);
  for (const Activation activation : {Activation::None, Activation::GeluErf}) {
    const Linear layer(weight.data(), bias.data(), out, in, plan, activation);
    if (ops::has_fp32_tiles()) {
      EXPECT_EQ(layer.packed().bytes.size(), ops::bf16_panels_size(in, out) * 2) << "half the fp32 weights' memory";
    }
    for (const std::size_t rows : {1, 16, 17, 70}) {
      const auto x = random_values(rows * in, static_cast<unsigned>(rows + 30));
      const std::vector<float> y = run(layer, x, rows);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < out; ++o) {
          double expected = bias[o];
          for (std::size_t i = 0; i < in; ++i)
            expected += static_cast<double>(x[r * in + i]) * testing::from_bf16(testing::to_bf16(weight[o * in + i]));
          if (activation == Activation::GeluErf)
            expected = 0.5 * expected * (1.0 + std::erf(expected / std::sqrt(2.0)));
          ASSERT_NEAR(y[r * out + o], expected, 1e-5) << rows << " rows, at " << r << "," << o;
        }
    }
    const std::vector<std::uint16_t> x_rounded(in, 0);
    std::vector<float> y(out);
    EXPECT_THROW(layer.forward(x_rounded.data(), 1, y.data()), Error);
  }
}

// int8: the exact product of the weights quantised per output channel (max / 127, round half to even) with the
// activations quantised per row the same way, on VNNI; without VNNI with the fp32 activations themselves (the
// rounded weights on oneDNN's fp32 matmul).  For a query's rows and a batch's, with and without the fused GELU.
TEST(Linear, Int8IsTheProductOfTheQuantisedWeights) {
  constexpr std::size_t out = 40, in = 70;
  const auto weight = random_values(out * in, 41), bias = random_values(out, 42);
  // Each row of `values` as quantize_rows rounds it, back in fp32.
  const auto quantised = [](std::vector<float> values, std::size_t width) {
    for (std::size_t first = 0; first < values.size(); first += width) {
      float max = 0;
      for (std::size_t i = 0; i < width; ++i) max = std::max(max, std::abs(values[first + i]));
      const float scale = max > 0 ? max / 127.0f : 1.0f;
      for (std::size_t i = 0; i < width; ++i) values[first + i] = std::nearbyint(values[first + i] / scale) * scale;
    }
    return values;
  };
  const std::vector<float> weight_q = quantised(weight, in);
  for (const Activation activation : {Activation::None, Activation::GeluErf}) {
    const KernelPlan plan = KernelPlan::choose(Precision::Int8);
    const Linear layer(weight.data(), bias.data(), out, in, plan, activation);
    for (const std::size_t rows : {1, 16, 40}) {
      const auto x = random_values(rows * in, static_cast<unsigned>(rows + 50));
      const std::vector<float> x_used = plan.dense == DenseBackend::OneDnn ? quantised(x, in) : x;
      const std::vector<float> y = run(layer, x, rows);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < out; ++o) {
          double expected = bias[o];
          for (std::size_t i = 0; i < in; ++i)
            expected += static_cast<double>(x_used[r * in + i]) * weight_q[o * in + i];
          if (activation == Activation::GeluErf)
            expected = 0.5 * expected * (1.0 + std::erf(expected / std::sqrt(2.0)));
          ASSERT_NEAR(y[r * out + o], expected, 1e-4) << rows << " rows, at " << r << "," << o;
        }
    }
  }
}

// bf16 on fp16 FMAs (CPUs with AVX512-FP16 whose bf16 dot products are slow): within fp16's rounding of the exact
// product, for a query's rows and a batch's (k past one 1,024-row slab; the threads sharing out the rows where the
// weights are small, the panels, an odd number, where they are not), with and without the fused GELU, at
// magnitudes fp16 cannot hold unscaled (activations to 1e6, weights to 1e-6); and exact where every value and sum
// is exact in fp16 (multiples of 1/2 up to 1: a term lost or counted twice shows).  Such a layer takes no bf16
// activations.
TEST(Linear, Bf16OnFp16IsTheProductToFp16Rounding) {
  if (!ops::has_fp16_gemm()) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  const KernelPlan plan = plain_plan(Precision::Bf16, true);
  ASSERT_EQ(plan.dense, DenseBackend::HalfPanels) << plan.name();
  struct Shape {
    std::size_t out, in;
    bool every_case;  // else the plain and exact cases only (a large layer's reference products are slow)
  };
  for (const auto [out, in, every_case] : {Shape{100, 70, true}, Shape{100, 1100, true}, Shape{800, 1100, false}})
    for (const float magnitude : {1.0f, 1e6f, 1e-6f, 0.0f})  // 0: the exact case
      for (const Activation activation : {Activation::None, Activation::GeluErf}) {
        if (!every_case && ((magnitude != 0 && magnitude != 1) || activation != Activation::None)) continue;
        auto weight = random_values(out * in, 21);
        const auto bias = random_values(out, 22);
        const auto halves = [](float v) { return std::clamp(std::round(v * 2), -2.0f, 2.0f) / 2; };
        if (magnitude == 0)
          for (float& w : weight) w = halves(w);
        if (magnitude > 0 && magnitude < 1)
          for (float& w : weight) w *= magnitude;
        const Linear layer(weight.data(), bias.data(), out, in, plan, activation);
        EXPECT_EQ(layer.packed().bytes.size(), ops::half_panels_size(in, out) * 2) << "half the fp32 weights' memory";
        EXPECT_FALSE(plan.bf16_activations());
        for (const std::size_t rows : {1, 16, 17, every_case ? 70 : 40}) {
          auto x = random_values(rows * in, static_cast<unsigned>(rows + 30));
          if (magnitude == 0)
            for (float& v : x) v = halves(v);
          if (magnitude > 1)
            for (float& v : x) v *= magnitude;
          const std::vector<float> y = run(layer, x, rows);
          for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t o = 0; o < out; ++o) {
              double product = 0, size = 0;  // size: Σ|x·w|, what the rounding errors scale with
              for (std::size_t i = 0; i < in; ++i) {
                product += static_cast<double>(x[r * in + i]) * weight[o * in + i];
                size += std::abs(static_cast<double>(x[r * in + i]) * weight[o * in + i]);
              }
              double expected = product + bias[o];
              // Rounding x and w to fp16 moves each product by up to 2^-10 of itself, and each step of a 128-term
              // fp16 sum by up to 2^-11 of the sum so far: measured within 2^-9 of Σ|x·w|, bound at 2^-8.
              double tolerance = magnitude == 0 ? 1e-6 * (1 + std::abs(expected)) : size / 256 + 1e-6;
              if (activation == Activation::GeluErf) {
                expected = 0.5 * expected * (1.0 + std::erf(expected / std::sqrt(2.0)));
                tolerance *= 1.2;  // GELU's slope is below 1.13
              }
              ASSERT_NEAR(y[r * out + o], expected, tolerance)
                  << out << "x" << in << ", magnitude " << magnitude << ", " << rows << " rows, at " << r << "," << o;
            }
        }
      }
}

// A chain of bf16 products passes bfloat16 activations: the same results as converting the fp32 input inside the
// layer, and a bf16 output that is the fp32 output rounded (to one bf16 step: the kernel may sum in another order).
// Row counts padded for oneDNN (3), exact (8) and beyond the padding range (70); with and without the fused GELU.
TEST(Linear, Bf16ActivationsGiveTheResultsOfConvertedInputs) {
  if (!ops::has_bf16_gemm()) GTEST_SKIP() << "this CPU has no AVX512_BF16: bf16 layers take fp32 activations";
  constexpr std::size_t out = 72, in = 48;
  const auto weight = random_values(out * in, 11), bias = random_values(out, 12);
  for (const KernelPlan& plan : KernelPlan::runnable(Precision::Bf16)) {
    if (!plan.bf16_activations()) continue;
    const std::string kernel = plan.name();
    for (const Activation activation : {Activation::None, Activation::GeluErf}) {
      const Linear layer(weight.data(), bias.data(), out, in, plan, activation);
      for (const std::size_t rows : {3, 8, 70}) {
        const auto x = random_values(rows * in, static_cast<unsigned>(rows));
        std::vector<std::uint16_t> x_rounded(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) x_rounded[i] = testing::to_bf16(x[i]);
        const std::vector<float> expected = run(layer, x, rows);
        std::vector<float> y(rows * out);
        layer.forward(x_rounded.data(), rows, y.data());
        EXPECT_EQ(y, expected) << kernel << ", " << rows << " rows";
        std::vector<std::uint16_t> y_rounded(rows * out);
        layer.forward(x_rounded.data(), rows, y_rounded.data());
        for (std::size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(testing::from_bf16(y_rounded[i]), expected[i], std::abs(expected[i]) / 256 + 1e-6f)
              << kernel << ", " << rows << " rows, at " << i;
      }
    }
  }
  const Linear exact(weight.data(), bias.data(), out, in, fp32_plan());
  const std::vector<std::uint16_t> x_rounded(in, 0);
  std::vector<float> y(out);
  EXPECT_THROW(exact.forward(x_rounded.data(), 1, y.data()), Error);
}

// A query's few rows take other paths than a batch's (embed/ops.h gemm_panels at fp32 on AVX-512 CPUs, up to 16
// rows; rows padded to a multiple of 8 for oneDNN's matmul at bf16): each row must come out the same either way, to
// 1e-5 (sums in another order), for shapes off every block size, with and without the fused GELU.
void expect_few_rows_match_a_batch(const KernelPlan& plan) {
  struct Shape {
    std::size_t out, in;
  };
  for (const Shape shape : {Shape{100, 70}, Shape{384, 384}, Shape{1, 33}, Shape{130, 16}}) {
    for (const Activation activation : {Activation::None, Activation::GeluErf}) {
      const auto seed = static_cast<unsigned>(shape.out * 100 + shape.in);
      const auto weight = random_values(shape.out * shape.in, seed), bias = random_values(shape.out, seed + 1);
      const Linear layer(weight.data(), bias.data(), shape.out, shape.in, plan, activation);
      constexpr std::size_t kBatchRows = 40;
      const auto x = random_values(kBatchRows * shape.in, seed + 2);
      const std::vector<float> batch_out = run(layer, x, kBatchRows);
      for (std::size_t rows = 1; rows <= 17; ++rows) {
        const std::vector<float> out = run(layer, x, rows);
        for (std::size_t i = 0; i < out.size(); ++i)
          ASSERT_NEAR(out[i], batch_out[i], 1e-5f * (1 + std::abs(batch_out[i])))
              << plan.name() << ": " << shape.out << "x" << shape.in << ", " << rows << " rows, at " << i;
      }
    }
  }
}

TEST(Linear, FewRowsMatchTheSameRowsInsideABatch) { expect_few_rows_match_a_batch(fp32_plan()); }

TEST(Linear, Bf16FewRowsMatchTheSameRowsInsideABatch) {
  for (const KernelPlan& plan : KernelPlan::runnable(Precision::Bf16))
    if (plan.bf16_activations()) expect_few_rows_match_a_batch(plan);
}

}  // namespace
}  // namespace ksearch
