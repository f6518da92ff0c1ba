// A dense layer y = x·Wᵀ + b with weights packed once, at load, into the layout its kernel wants (so every call
// streams each weight once: this is what makes single queries fast).  The kernel is the model's KernelPlan's
// (embed/kernel_plan.h): oneDNN's matmul at fp32, bf16 or int8, or our own panels for bf16 where the CPU's bf16 dot
// products are slow; embed/dense_product.h holds them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "embed/kernel_plan.h"

namespace ksearch {

// An activation fused into the layer (computed while the output is still in cache).
enum class Activation { None, GeluErf };

// A layer's weights in the layout its kernel wants: depends on the kernel, the oneDNN version and the CPU's
// instruction set, so it is only valid where it was made (see embed/packed_cache.h).
struct PackedWeights {
  std::span<const std::byte> bytes;
  std::span<const float> scales;      // int8: one per output channel; fp16 panels: one per column; empty otherwise
  std::string layout;                 // the block structure, in words: reused only where it is the same
  std::shared_ptr<const void> owner;  // keeps `bytes` and `scales` alive where they come from a file
};

class DenseProduct;

class Linear {
 public:
  // `weight` is [out, in] row-major (PyTorch layout); it is copied into the packed layout, so it may be freed.
  Linear(const float* weight, const float* bias, std::size_t out, std::size_t in, const KernelPlan& plan,
         Activation activation = Activation::None);
  // Weights packed earlier by a Linear of the same shape and plan.  Throws Error if their layout or size is not the
  // one this plan, CPU and oneDNN use.
  Linear(PackedWeights packed, const float* bias, std::size_t out, std::size_t in, const KernelPlan& plan,
         Activation activation = Activation::None);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;

  // y[rows, out] = activation(x[rows, in]·Wᵀ + b), x and y contiguous.  Thread-safe.
  void forward(const float* x, std::size_t rows, float* y) const;
  // Where the plan chains bfloat16 activations (KernelPlan::bf16_activations()): x already rounded to bfloat16
  // (ops::to_bfloat16's rounding; this skips the conversion), and y rounded to bfloat16 the same way when it is
  // 16-bit.  Same results as forward on the fp32 values.  Throws Error on other plans.
  void forward(const std::uint16_t* x, std::size_t rows, float* y) const;
  void forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const;

  // This layer's packed weights (valid while the layer lives).
  PackedWeights packed() const;
  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }

 private:
  std::size_t in_ = 0, out_ = 0;
  std::unique_ptr<DenseProduct> product_;
};

}  // namespace ksearch
