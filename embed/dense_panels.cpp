#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/page_buffer.h"
#include "embed/dense_product.h"
#include "embed/ops.h"

namespace ksearch {
namespace {

// bf16 layers where the CPU's bf16 dot products are slow and AMX is out: weights in ops::pack_half_panels' layout
// (column scales beside them) multiplied in fp16 (DenseBackend::HalfPanels), or in ops::pack_bf16_panels' layout on
// the fp32 tiles (Bf16Panels).  Every row count; oneDNN is not used.
class PanelProduct final : public DenseProduct {
 public:
  PanelProduct(const KernelPlan& plan, const float* bias, const DenseShape& shape)
      : half_(plan.dense == DenseBackend::HalfPanels), shape_(shape), bias_(bias, bias + shape.out) {}

  void pack(const float* weight) {
    auto storage = std::make_shared<PageBuffer>(size_bytes());
    auto* panels = static_cast<std::uint16_t*>(storage->data());
    if (half_) {
      scales_.resize(shape_.out);
      ops::pack_half_panels(weight, shape_.out, shape_.in, panels, scales_.data());
    } else {
      ops::pack_bf16_panels(weight, shape_.out, shape_.in, panels);
    }
    bytes_ = {static_cast<const std::byte*>(storage->data()), storage->size()};
    owner_ = std::move(storage);
  }

  void adopt(PackedWeights packed) {
    const std::size_t size = size_bytes(), scale_count = half_ ? shape_.out : 0;
    const std::string layout = layout_name();
    if (packed.layout != layout || packed.bytes.size() != size || packed.scales.size() != scale_count)
      fail("packed bf16 weights (", packed.bytes.size(), " bytes, ", packed.scales.size(), " scales, layout ",
           packed.layout, ") do not fit a ", shape_.out, "x", shape_.in, " layer on this CPU (", size, " bytes, ",
           scale_count, " scales, layout ", layout, ")");
    scales_.assign(packed.scales.begin(), packed.scales.end());
    bytes_ = packed.bytes;
    owner_ = std::move(packed.owner);
  }

  void forward(const float* x, std::size_t rows, float* y) const override {
    if (rows == 0) return;
    const auto* panels = reinterpret_cast<const std::uint16_t*>(bytes_.data());
    const bool gelu = shape_.activation == Activation::GeluErf;
    if (half_)
      ops::gemm_half_panels(rows, shape_.out, shape_.in, x, panels, scales_.data(), bias_.data(), gelu, y);
    else
      ops::gemm_panels(rows, shape_.out, shape_.in, x, panels, bias_.data(), gelu, y);
  }

  PackedWeights packed() const override {
    return {bytes_, half_ ? scales_ : std::span<const float>(), layout_name(), owner_};
  }

 private:
  std::size_t size_bytes() const {
    return (half_ ? ops::half_panels_size(shape_.in, shape_.out) : ops::bf16_panels_size(shape_.in, shape_.out)) *
           sizeof(std::uint16_t);
  }
  // The layout names of the packed-weight cache.
  std::string layout_name() const {
    return cat(half_ ? "ksearch-fp16-panels64:" : "ksearch-bf16-panels64:", shape_.in, "x", shape_.out);
  }

  bool half_;
  DenseShape shape_;
  std::vector<float> bias_;
  std::vector<float> scales_;  // fp16 panels: per column
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> owner_;  // keeps bytes_ alive
};

}  // namespace

std::unique_ptr<DenseProduct> panel_product(const KernelPlan& plan, const float* weight, const float* bias,
                                            const DenseShape& shape) {
  auto product = std::make_unique<PanelProduct>(plan, bias, shape);
  product->pack(weight);
  return product;
}

std::unique_ptr<DenseProduct> panel_product(const KernelPlan& plan, PackedWeights packed, const float* bias,
                                            const DenseShape& shape) {
  auto product = std::make_unique<PanelProduct>(plan, bias, shape);
  product->adopt(std::move(packed));
  return product;
}

}  // namespace ksearch
