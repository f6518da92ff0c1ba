#include "embed/kernel_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.h"
#include "embed/ops.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

// A CPU with AVX-512F only (Skylake-SP): fp32 tiles, oneDNN's bf16 matmul (emulated), no fast bf16 units.
CpuKernels avx512_cpu() {
  CpuKernels cpu;
  cpu.fp32_tiles = cpu.onednn_bf16 = true;
  return cpu;
}

TEST(KernelPlan, Fp32RunsOnOneDnnAndFp32AttentionOnEveryCpu) {
  CpuKernels everything = avx512_cpu();
  everything.bf16_dots = everything.amx = everything.onednn_amx = everything.fp16 = everything.int8_dots = true;
  for (const CpuKernels& cpu : {CpuKernels{}, avx512_cpu(), everything}) {
    const KernelPlan plan = KernelPlan::choose(Precision::Fp32, cpu);
    EXPECT_EQ(plan.dense, DenseBackend::OneDnn);
    EXPECT_EQ(plan.attention, AttentionBackend::Fp32);
    EXPECT_EQ(plan.fp32_tiles, cpu.fp32_tiles);
    EXPECT_FALSE(plan.bf16_activations());
  }
}

TEST(KernelPlan, Bf16TakesTheFastestUnitTheCpuHas) {
  // No AVX-512 (a laptop): oneDNN has no bf16 matmul, so the rounded weights run in fp32, attention in fp32.
  const KernelPlan laptop = KernelPlan::choose(Precision::Bf16, CpuKernels{});
  EXPECT_EQ(laptop.dense, DenseBackend::OneDnnRounded);
  EXPECT_EQ(laptop.attention, AttentionBackend::Fp32);
  EXPECT_FALSE(laptop.bf16_activations());
  // AVX-512 with slow or no bf16 dots: our panels, in fp16 where the CPU has AVX512-FP16.
  CpuKernels cpu = avx512_cpu();
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, cpu).dense, DenseBackend::Bf16Panels);
  cpu.fp16 = true;
  const KernelPlan fp16 = KernelPlan::choose(Precision::Bf16, cpu);
  EXPECT_EQ(fp16.dense, DenseBackend::HalfPanels);
  EXPECT_EQ(fp16.attention, AttentionBackend::Fp16);
  // Fast bf16 dots (Zen 4) win over fp16; AMX wins over both, for attention and, where oneDNN runs it, the layers.
  cpu.bf16_dots = true;
  const KernelPlan dots = KernelPlan::choose(Precision::Bf16, cpu);
  EXPECT_EQ(dots.dense, DenseBackend::OneDnn);
  EXPECT_EQ(dots.attention, AttentionBackend::Bf16Dots);
  EXPECT_TRUE(dots.bf16_activations());
  cpu.bf16_dots = false;
  cpu.amx = true;
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, cpu).attention, AttentionBackend::Bf16Amx);
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, cpu).dense, DenseBackend::HalfPanels) << "oneDNN without AMX";
  cpu.onednn_amx = true;
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, cpu).dense, DenseBackend::OneDnn);
}

TEST(KernelPlan, Int8QuantisesOnVnniAndRoundsWeightsElsewhere) {
  CpuKernels cpu = avx512_cpu();
  EXPECT_EQ(KernelPlan::choose(Precision::Int8, cpu).dense, DenseBackend::OneDnnRounded);
  cpu.int8_dots = true;
  EXPECT_EQ(KernelPlan::choose(Precision::Int8, cpu).dense, DenseBackend::OneDnn);
  EXPECT_FALSE(KernelPlan::choose(Precision::Int8, cpu).bf16_activations());
  cpu.bf16_dots = true;
  EXPECT_EQ(KernelPlan::choose(Precision::Int8, cpu).attention, AttentionBackend::Bf16Dots);
}

TEST(KernelPlan, RunnablePlansAreDistinctAndIncludeTheChosenOne) {
  for (const Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
    const std::vector<KernelPlan> plans = KernelPlan::runnable(precision);
    ASSERT_FALSE(plans.empty());
    EXPECT_NE(std::ranges::find(plans, KernelPlan::choose(precision)), plans.end()) << precision_name(precision);
    for (std::size_t i = 0; i < plans.size(); ++i)
      for (std::size_t j = i + 1; j < plans.size(); ++j) EXPECT_NE(plans[i], plans[j]) << plans[i].name();
    for (const KernelPlan& plan : plans) EXPECT_EQ(plan.precision, precision) << plan.name();
  }
  EXPECT_EQ(KernelPlan::runnable(Precision::Fp32).size(), 1u);
  // A unit the CPU lacks is never planned.
  for (const KernelPlan& plan : KernelPlan::runnable(Precision::Bf16)) {
    EXPECT_TRUE(ops::has_fp32_tiles() || plan.dense != DenseBackend::Bf16Panels) << plan.name();
    EXPECT_TRUE(ops::has_fp16_gemm() || plan.attention != AttentionBackend::Fp16) << plan.name();
    EXPECT_TRUE(ops::has_amx_bf16() || plan.attention != AttentionBackend::Bf16Amx) << plan.name();
    EXPECT_TRUE(ops::has_bf16_gemm() || plan.attention != AttentionBackend::Bf16Dots) << plan.name();
  }
}

TEST(KernelPlan, NamesSayPrecisionDenseAndAttention) {
  CpuKernels cpu = avx512_cpu();
  cpu.bf16_dots = true;
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, cpu).name(), "bf16: dense oneDNN, attention bf16 dots");
  EXPECT_EQ(KernelPlan::choose(Precision::Bf16, CpuKernels{}).name(),
            "bf16: dense oneDNN fp32 on rounded weights, attention fp32 sgemm");
}

// The developer switches (README's configuration table) force or forbid a unit; a wrong value is an error naming the
// variable on any CPU.
TEST(KernelPlan, SwitchesForceOrForbidUnits) {
  {
    const testing::ScopedEnvironment slow("KSEARCH_BF16_DOTS", "0");
    EXPECT_FALSE(CpuKernels::detect().bf16_dots);
  }
  {
    const testing::ScopedEnvironment fast("KSEARCH_BF16_DOTS", "1");
    EXPECT_EQ(CpuKernels::detect().bf16_dots, ops::has_bf16_gemm()) << "only where the CPU has them";
  }
  {
    const testing::ScopedEnvironment off("KSEARCH_AMX", "0");
    EXPECT_FALSE(CpuKernels::detect().amx);
    EXPECT_FALSE(CpuKernels::detect().onednn_amx);
  }
  {
    const testing::ScopedEnvironment off("KSEARCH_FP16", "0");
    EXPECT_FALSE(CpuKernels::detect().fp16);
  }
  for (const char* name : {"KSEARCH_BF16_DOTS", "KSEARCH_FP16", "KSEARCH_AMX"}) {
    const testing::ScopedEnvironment wrong(name, "fast");
    try {
      CpuKernels::detect();
      ADD_FAILURE() << name << "=fast was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ksearch
