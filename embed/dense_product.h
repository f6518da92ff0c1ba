// The products behind a Linear (embed/linear.h), one per DenseBackend of the kernel plan: oneDNN's matmul
// (dense_onednn.cpp) and our own bf16 and fp16 panels (dense_panels.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "embed/kernel_plan.h"
#include "embed/linear.h"

namespace ksearch {

class DenseProduct {
 public:
  virtual ~DenseProduct() = default;
  // y[rows, out] = activation(x·Wᵀ + b).  Thread-safe.
  virtual void forward(const float* x, std::size_t rows, float* y) const = 0;
  // bfloat16 activations, where the plan chains them; the others throw Error.
  virtual void forward(const std::uint16_t* x, std::size_t rows, float* y) const;
  virtual void forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const;
  virtual PackedWeights packed() const = 0;
};

struct DenseShape {
  std::size_t out = 0, in = 0;
  Activation activation = Activation::None;
};

// DenseBackend::OneDnn and OneDnnRounded: from a [out, in] row-major weight, or from weights packed earlier (Error if
// their layout or size is not this CPU's).
std::unique_ptr<DenseProduct> onednn_product(const KernelPlan& plan, const float* weight, const float* bias,
                                             const DenseShape& shape);
std::unique_ptr<DenseProduct> onednn_product(const KernelPlan& plan, PackedWeights packed, const float* bias,
                                             const DenseShape& shape);
// DenseBackend::Bf16Panels and HalfPanels, the same two ways.
std::unique_ptr<DenseProduct> panel_product(const KernelPlan& plan, const float* weight, const float* bias,
                                            const DenseShape& shape);
std::unique_ptr<DenseProduct> panel_product(const KernelPlan& plan, PackedWeights packed, const float* bias,
                                            const DenseShape& shape);

// Whether oneDNN has a bf16 matmul on this CPU (AVX-512 at least).
bool onednn_has_bf16_matmul();
// Whether oneDNN's bf16 matmul runs on AMX tiles: the CPU has them and ONEDNN_MAX_CPU_ISA leaves them in.
bool onednn_runs_amx();

}  // namespace ksearch
