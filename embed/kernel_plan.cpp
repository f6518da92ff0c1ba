#include "embed/kernel_plan.h"

#include <algorithm>
#include <optional>

#include "base/env.h"
#include "base/error.h"
#include "embed/dense_product.h"
#include "embed/ops.h"

namespace ksearch {
namespace {

std::string_view dense_name(DenseBackend backend) {
  switch (backend) {
    case DenseBackend::OneDnn:
      return "oneDNN";
    case DenseBackend::OneDnnRounded:
      return "oneDNN fp32 on rounded weights";
    case DenseBackend::Bf16Panels:
      return "bf16 panels on fp32 tiles";
    case DenseBackend::HalfPanels:
      return "fp16 panels";
  }
  return "?";
}

std::string_view attention_name(AttentionBackend backend, bool fp32_tiles) {
  switch (backend) {
    case AttentionBackend::Fp32:
      return fp32_tiles ? "fp32 tiles" : "fp32 sgemm";
    case AttentionBackend::Bf16Dots:
      return "bf16 dots";
    case AttentionBackend::Bf16Amx:
      return "bf16 AMX";
    case AttentionBackend::Fp16:
      return "fp16";
  }
  return "?";
}

// What the CPU has, no switch applied.
CpuKernels hardware() {
  CpuKernels cpu;
  cpu.fp32_tiles = ops::has_fp32_tiles();
  cpu.amx = ops::has_amx_bf16();
  cpu.onednn_amx = cpu.amx && onednn_runs_amx();
  cpu.onednn_bf16 = onednn_has_bf16_matmul();
  cpu.fp16 = ops::has_fp16_gemm();
  cpu.int8_dots = ops::has_int8_dots();
  return cpu;
}

}  // namespace

CpuKernels CpuKernels::detect() {
  // Read first, so a wrong value is an error on every CPU, not only on those with the kernel.
  const std::optional<bool> dots = env::flag("KSEARCH_BF16_DOTS"), fp16 = env::flag("KSEARCH_FP16"),
                            amx = env::flag("KSEARCH_AMX");
  CpuKernels cpu = hardware();
  cpu.bf16_dots = ops::has_bf16_gemm() && (dots ? *dots : ops::bf16_dots_are_fast());
  cpu.fp16 = cpu.fp16 && fp16.value_or(true);
  cpu.amx = cpu.amx && amx.value_or(true);
  cpu.onednn_amx = cpu.onednn_amx && cpu.amx;
  return cpu;
}

KernelPlan KernelPlan::choose(Precision precision, const CpuKernels& cpu) {
  KernelPlan plan;
  plan.precision = precision;
  plan.fp32_tiles = cpu.fp32_tiles;
  if (precision == Precision::Fp32) return plan;
  // Reduced-precision attention in bf16 where the CPU's bf16 dot products or AMX tiles are fast, else in fp16.
  plan.attention = cpu.amx         ? AttentionBackend::Bf16Amx
                   : cpu.bf16_dots ? AttentionBackend::Bf16Dots
                   : cpu.fp16      ? AttentionBackend::Fp16
                                   : AttentionBackend::Fp32;
  if (precision == Precision::Int8) {
    // Without AVX512_VNNI oneDNN's int8 products keep 7 bits of each weight (cosine 0.980 to fp32 on the fixtures
    // against 0.99+ with VNNI): the quantised weights are multiplied in fp32 instead.
    plan.dense = cpu.int8_dots ? DenseBackend::OneDnn : DenseBackend::OneDnnRounded;
    return plan;
  }
  // bf16 where the CPU's bf16 dot products are slow and AMX is out: our panels on AVX-512, in fp16 where it has
  // AVX512-FP16; without AVX-512 (no bf16 matmul in oneDNN either) the bf16 weights' products in fp32.
  if (cpu.fp32_tiles && !cpu.bf16_dots && !cpu.onednn_amx)
    plan.dense = cpu.fp16 ? DenseBackend::HalfPanels : DenseBackend::Bf16Panels;
  else
    plan.dense = cpu.onednn_bf16 ? DenseBackend::OneDnn : DenseBackend::OneDnnRounded;
  return plan;
}

std::vector<KernelPlan> KernelPlan::runnable(Precision precision) {
  const CpuKernels cpu = hardware();
  CpuKernels plain = cpu;
  plain.bf16_dots = plain.amx = plain.onednn_amx = plain.fp16 = false;
  std::vector<KernelPlan> plans;
  const auto add = [&](const CpuKernels& variant) {
    if (const KernelPlan plan = choose(precision, variant); std::ranges::find(plans, plan) == plans.end())
      plans.push_back(plan);
  };
  add(CpuKernels::detect());  // the plan a model loads with, which may combine the units tried one by one below
  add(plain);
  CpuKernels variant = plain;
  variant.fp16 = cpu.fp16;
  add(variant);
  variant = plain;
  variant.bf16_dots = ops::has_bf16_gemm();  // whether or not they are fast here
  add(variant);
  variant = plain;
  variant.amx = cpu.amx;
  variant.onednn_amx = cpu.onednn_amx;
  add(variant);
  return plans;
}

std::string KernelPlan::name() const {
  return cat(precision_name(precision), ": dense ", dense_name(dense), ", attention ",
             attention_name(attention, fp32_tiles));
}

}  // namespace ksearch
