#include "embed/linear.h"

#include "base/error.h"
#include "embed/dense_product.h"

namespace ksearch {
namespace {

bool on_panels(const KernelPlan& plan) {
  return plan.dense == DenseBackend::Bf16Panels || plan.dense == DenseBackend::HalfPanels;
}

}  // namespace

void DenseProduct::forward(const std::uint16_t*, std::size_t, float*) const {
  fail("bfloat16 activations given to a layer that takes fp32 ones");
}

void DenseProduct::forward(const std::uint16_t*, std::size_t, std::uint16_t*) const {
  fail("bfloat16 activations given to a layer that takes fp32 ones");
}

Linear::Linear(const float* weight, const float* bias, std::size_t out, std::size_t in, const KernelPlan& plan,
               Activation activation)
    : in_(in),
      out_(out),
      product_(on_panels(plan) ? panel_product(plan, weight, bias, {out, in, activation})
                               : onednn_product(plan, weight, bias, {out, in, activation})) {}

Linear::Linear(PackedWeights packed, const float* bias, std::size_t out, std::size_t in, const KernelPlan& plan,
               Activation activation)
    : in_(in),
      out_(out),
      product_(on_panels(plan) ? panel_product(plan, std::move(packed), bias, {out, in, activation})
                               : onednn_product(plan, std::move(packed), bias, {out, in, activation})) {}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

void Linear::forward(const float* x, std::size_t rows, float* y) const { product_->forward(x, rows, y); }
void Linear::forward(const std::uint16_t* x, std::size_t rows, float* y) const { product_->forward(x, rows, y); }
void Linear::forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const {
  product_->forward(x, rows, y);
}

PackedWeights Linear::packed() const { return product_->packed(); }

}  // namespace ksearch
