// A dense layer y = x·Wᵀ + b on oneDNN's matmul primitive with weights packed once, at load, into the blocked layout
// the CPU's kernel wants (so every call streams each weight once: this is what makes single queries fast).
//
// Precision (per model, chosen at load; CPU features detected at run time by oneDNN):
//   fp32  exact
//   bf16  weights and activations rounded to bfloat16, products accumulated in fp32 on oneDNN's bf16 matmul, where
//         it runs on AVX512_BF16 dot products that outrun fp32 FMAs (ops::bf16_dots_are_fast) or on AMX tiles
//         (bf16_layers_on_amx); elsewhere, with AVX512-FP16, weights
//         and activations in fp16 scaled by powers of two, fp16 FMAs summing 128 terms before fp32 (twice the fp32
//         FMAs' work, at least bf16's accuracy); elsewhere bf16 weights widened to fp32 in registers, fp32
//         activations, fp32 FMAs on our own tiles: half the weight memory of fp32 in each of these.  Without
//         AVX-512 (no bf16 matmul in oneDNN either) weights rounded to bfloat16 times fp32 activations on oneDNN's
//         fp32 matmul: the tiles' results at fp32's speed and memory
//   int8  weights quantised per output channel, activations per row on the fly (dynamic), int32 accumulation
//         (AVX512_VNNI); results rescaled to fp32.  Without AVX512_VNNI the quantised weights, kept in fp32, times
//         fp32 activations on oneDNN's fp32 matmul (its int8 products there keep only 7 bits of each weight)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ksearch {

enum class Precision { Fp32, Bf16, Int8 };
// An activation fused into the layer (computed while the output is still in cache).
enum class Activation { None, GeluErf };
std::string_view precision_name(Precision precision);
Precision parse_precision(std::string_view name);  // "fp32" | "bf16" | "int8"; throws Error otherwise

// A layer's weights in the layout oneDNN's kernel wants: depends on the oneDNN version and the CPU's instruction set,
// so it is only valid where it was made (see embed/packed_cache.h).
struct PackedWeights {
  std::span<const std::byte> bytes;
  std::span<const float> scales;      // int8: one per output channel; empty otherwise
  std::string layout;                 // oneDNN's block structure, in words: reused only where it is the same
  std::shared_ptr<const void> owner;  // keeps `bytes` and `scales` alive where they come from a file
};

// Whether bf16 layers run on oneDNN's bf16 matmul over AMX tiles: the CPU has AMX-BF16 (Intel Xeons from Sapphire
// Rapids on), the OS grants it to the process, ONEDNN_MAX_CPU_ISA leaves it in and KSEARCH_AMX is not 0
// (ops::has_amx_bf16).  There the tiles do 16 times the fp32 FMAs' work per cycle, while vdpbf16ps does half of it:
// without AMX such a CPU runs bf16 on our fp16 tiles.
bool bf16_layers_on_amx();

class Linear {
 public:
  // `weight` is [out, in] row-major (PyTorch layout); it is copied into the packed layout, so it may be freed.
  Linear(const float* weight, const float* bias, std::size_t out, std::size_t in, Precision precision,
         Activation activation = Activation::None);
  // Weights packed earlier by a Linear of the same shape and precision.  Throws Error if their layout or size is not
  // the one this CPU and oneDNN use.
  Linear(PackedWeights packed, const float* bias, std::size_t out, std::size_t in, Precision precision,
         Activation activation = Activation::None);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;

  // y[rows, out] = activation(x[rows, in]·Wᵀ + b), x and y contiguous.  Thread-safe.
  void forward(const float* x, std::size_t rows, float* y) const;
  // bf16 layers on oneDNN's bf16 matmul only, for chains of bf16 products: x already rounded to bfloat16
  // (ops::to_bfloat16's rounding; this skips the conversion), and y rounded to bfloat16 the same way when it is
  // 16-bit.  Same results as forward on the fp32 values.
  void forward(const std::uint16_t* x, std::size_t rows, float* y) const;
  void forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const;

  // Whether the bfloat16-activation overloads above may be called (bf16 on oneDNN's bf16 matmul).
  bool takes_bf16_activations() const;

  // This layer's packed weights (valid while the layer lives).
  PackedWeights packed() const;
  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }

 private:
  struct Impl;
  std::size_t in_ = 0, out_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ksearch
