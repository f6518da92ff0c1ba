// The CPU kernels a model runs on, chosen once when it loads (as llama.cpp picks a backend): from the precision, what
// the CPU has (detected at run time) and the developer switches KSEARCH_BF16_DOTS, KSEARCH_FP16 and KSEARCH_AMX, which
// are read here and nowhere else.  Dense layers (embed/linear.h) and attention (embed/attention.h) follow the plan, so
// the encoder reads as model code; tests build a plan for each kernel the CPU can run.
#pragma once

#include <string>
#include <vector>

#include "embed/precision.h"

namespace ksearch {

// How a dense layer multiplies.
enum class DenseBackend {
  OneDnn,         // oneDNN's matmul at the precision: fp32, bf16 (AVX512_BF16 dots or AMX), int8 (AVX512_VNNI)
  OneDnnRounded,  // weights rounded as bf16 or int8 round them, multiplied in fp32 by oneDNN: CPUs that cannot
                  // compute the precision well get its results at fp32's speed, not an error
  Bf16Panels,     // bf16 weights widened to fp32 in registers, fp32 FMAs on our AVX-512 tiles
  HalfPanels,     // bf16 layers in fp16 on AVX512-FP16 tiles, weights and activations scaled by powers of two
};

// How attention multiplies.
enum class AttentionBackend {
  Fp32,      // oneDNN's sgemm, or our fp32 tiles up to 512 tokens where the CPU has AVX-512
  Bf16Dots,  // bfloat16 on AVX512_BF16 dot products
  Bf16Amx,   // bfloat16 on AMX tiles
  Fp16,      // fp16 on AVX512-FP16
};

// What the CPU offers the plan, after the developer switches.
struct CpuKernels {
  bool fp32_tiles = false;   // AVX-512F
  bool bf16_dots = false;    // AVX512_BF16 dot products that outrun fp32 FMAs
  bool amx = false;          // AMX-BF16 tiles granted to the process
  bool onednn_amx = false;   // ... and oneDNN's bf16 matmul runs on them
  bool onednn_bf16 = false;  // oneDNN has a bf16 matmul on this CPU
  bool fp16 = false;         // AVX512-FP16
  bool int8_dots = false;    // AVX512_VNNI

  // This CPU's kernels, the switches applied (an invalid switch value throws Error naming the variable).
  static CpuKernels detect();
};

struct KernelPlan {
  Precision precision = Precision::Fp32;
  DenseBackend dense = DenseBackend::OneDnn;
  AttentionBackend attention = AttentionBackend::Fp32;
  bool fp32_tiles = false;  // AVX-512F: fp32 products of a few rows and fp32 attention on our tiles

  // The plan for `precision` on `cpu`: the fastest kernels it has (docs/architecture.md, "CPU kernels").
  static KernelPlan choose(Precision precision, const CpuKernels& cpu = CpuKernels::detect());
  // Every distinct plan for `precision` this CPU can run, the chosen one among them (the tests run each).
  static std::vector<KernelPlan> runnable(Precision precision);

  // Whether the layers chain bfloat16 activations (bf16 on oneDNN's bf16 matmul).
  bool bf16_activations() const { return precision == Precision::Bf16 && dense == DenseBackend::OneDnn; }
  // "bf16: dense oneDNN, attention bf16 dots", for logs and test names.
  std::string name() const;

  bool operator==(const KernelPlan&) const = default;
};

}  // namespace ksearch
