// Scaled dot-product attention of one sequence and head on the kernel plan's AttentionBackend (embed/kernel_plan.h),
// and the working buffers each thread needs for it, sized with the padding its kernels read past the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "embed/kernel_plan.h"

namespace ksearch {

// One head of one sequence: the head's columns in the sequence's first row of the projections (its query; keys and
// values follow `hidden` and 2·`hidden` columns on) and of the context it writes.
struct AttentionHead {
  const float* qkv = nullptr;               // fp32 projections, unless the attention reads bfloat16
  const std::uint16_t* qkv_bf16 = nullptr;  // bfloat16 projections (Attention::reads_bf16())
  std::size_t qkv_stride = 0;
  std::size_t length = 0;                 // tokens
  std::size_t queries = 0;                // query rows that attend: length, or 1 for the first token only
  float* context = nullptr;               // fp32 context, unless context_bf16 is given
  std::uint16_t* context_bf16 = nullptr;  // bfloat16 context (bf16 attention only), for a bf16 product to read
  std::size_t context_stride = 0;
};

class Attention {
 public:
  Attention(const KernelPlan& plan, std::size_t hidden, std::size_t heads);

  // One thread's buffers, sized by fit().
  struct Scratch {
    std::vector<float> scores;
    std::vector<float> keys_transposed;                               // fp32 tiles and fp16
    std::vector<std::uint16_t> queries, probabilities, keys, values;  // bf16 and fp16 (queries: fp16)
    std::vector<float> inverse_sums;                                  // bf16 and fp16
    std::size_t keys_stride = 0;                                      // kᵀ's rows: whole tiles wide
    std::size_t capacity_bytes() const;
  };
  // Sizes `scratch` for sequences of up to `longest` tokens (vectors already that size are left as they are).
  void fit(Scratch& scratch, std::size_t longest) const;

  // Whether the projections come in bfloat16 (AttentionHead::qkv_bf16).
  bool reads_bf16() const { return backend_ == AttentionBackend::Bf16Dots || backend_ == AttentionBackend::Bf16Amx; }
  // Floats an fp32 projection buffer needs past its last row: the fp32 tiles read whole tiles wide.
  static std::size_t qkv_padding();
  // Whether it runs on oneDNN's sgemm (whose kernels are generated on the first call: ops::prepare_gemm).
  bool uses_sgemm() const { return backend_ == AttentionBackend::Fp32 && !fp32_tiles_; }

  // softmax(q·kᵀ/√d)·v for the head's query rows.  Single-threaded: callers run heads in parallel.
  void attend(const AttentionHead& head, Scratch& scratch) const;

 private:
  AttentionBackend backend_;
  bool fp32_tiles_;
  std::size_t hidden_, head_dim_;
  float scale_;
};

}  // namespace ksearch
