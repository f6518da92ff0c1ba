#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/page_buffer.h"
#include "embed/dense_product.h"
#include "embed/ops.h"

namespace ksearch {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The rows oneDNN sees: short inputs (queries) are rounded up to a multiple of 8 so a handful of compiled kernels
// serve every query length; batches keep their exact size (each is computed once per batch anyway).
memory::dim padded_rows(std::size_t rows) { return static_cast<memory::dim>(rows <= 64 ? (rows + 7) / 8 * 8 : rows); }

constexpr std::size_t kMaxCachedPrimitives = 64;

// Up to this many rows, fp32 products in oneDNN's panel layout go to ops::gemm_panels (faster there, slower from 24
// rows on: docs/performance-history.md).
constexpr std::size_t kPanelGemmRows = 16;

// Floats from one 64-column panel to the next when `desc` is oneDNN's fp32 panel layout (16×64 blocks, k blocks
// consecutive inside a panel: the "BA16a64b" that ops::gemm_panels reads), else 0.
std::size_t panel_stride(const memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  if (d.format_kind != dnnl_blocked || d.data_type != dnnl_f32 || d.ndims != 2 || d.extra.flags != 0) return 0;
  const auto& blocking = d.format_desc.blocking;
  const bool panels = blocking.inner_nblks == 2 && blocking.inner_blks[0] == 16 && blocking.inner_idxs[0] == 0 &&
                      blocking.inner_blks[1] == 64 && blocking.inner_idxs[1] == 1 && blocking.strides[0] == 16 * 64 &&
                      blocking.strides[1] == d.padded_dims[0] * 64;
  return panels ? static_cast<std::size_t>(blocking.strides[1]) : 0;
}

// Everything that fixes where each weight lies in a blocked layout (oneDNN 2.x descriptor fields).
std::string describe_layout(const memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  if (d.format_kind != dnnl_blocked) return {};
  std::string text = cat("type", static_cast<int>(d.data_type), ":extra", d.extra.flags);
  const auto list = [&](const char* label, const dnnl_dims_t& values, int count) {
    text += cat(":", label);
    for (int i = 0; i < count; ++i) text += cat(i ? "," : "", values[i]);
  };
  list("dims", d.dims, d.ndims);
  list("padded", d.padded_dims, d.ndims);
  list("strides", d.format_desc.blocking.strides, d.ndims);
  list("blocks", d.format_desc.blocking.inner_blks, d.format_desc.blocking.inner_nblks);
  list("block_dims", d.format_desc.blocking.inner_idxs, d.format_desc.blocking.inner_nblks);
  return text;
}

// int8 weights: each output channel (a row of PyTorch's [out, in] weight) quantised as activations are.
void quantize_weight(const float* weight, std::size_t out, std::size_t in, std::vector<std::int8_t>& quantized,
                     std::vector<float>& scales) {
  quantized.resize(out * in);
  scales.resize(out);
  ops::quantize_rows(weight, out, in, quantized.data(), scales.data());
}

// The weight as `precision` rounds it (bf16: as ops::to_bfloat16 rounds; int8: quantize_weight), back in fp32.
std::vector<float> rounded_weight(Precision precision, const float* weight, std::size_t out, std::size_t in) {
  std::vector<float> rounded(out * in);
  if (precision == Precision::Bf16) {
    std::vector<std::uint16_t> halves(out * in);
    ops::to_bfloat16(weight, out * in, halves.data());
    std::ranges::transform(halves, rounded.begin(), ops::from_bfloat16);
  } else {
    std::vector<std::int8_t> quantized;
    std::vector<float> scales;
    quantize_weight(weight, out, in, quantized, scales);
    for (std::size_t i = 0; i < quantized.size(); ++i) rounded[i] = quantized[i] * scales[i / in];
  }
  return rounded;
}

// A compiled product and the scratch memory it needs.  The scratch memory is the calling thread's (run_product), not
// the primitive's, so threads can run one primitive at once: the encoder's threads each run every layer on their own
// groups of sequences.
struct Product {
  dnnl::matmul matmul;
  memory::desc scratchpad;
};

void run_product(const Product& product, std::unordered_map<int, memory> arguments) {
  thread_local memory scratch;  // grows to the largest scratchpad this thread has needed
  const std::size_t size = product.scratchpad.get_size();
  if (size > 0) {
    if (!scratch || scratch.get_desc().get_size() < size)
      scratch = memory({{static_cast<memory::dim>(size)}, Type::u8, Tag::a}, cpu_engine());
    arguments.emplace(DNNL_ARG_SCRATCHPAD, memory(product.scratchpad, cpu_engine(), scratch.get_data_handle()));
  }
  dnnl::stream stream(cpu_engine());
  product.matmul.execute(stream, arguments);
  stream.wait();
}

class OneDnnProduct final : public DenseProduct {
 public:
  // Chooses the packed layout (once, for a mid-sized batch; it serves every row count) and binds the bias; the
  // weights come from pack() or adopt().
  OneDnnProduct(const KernelPlan& plan, const float* bias_data, const DenseShape& shape)
      : precision_(plan.precision),
        rounded_(plan.dense == DenseBackend::OneDnnRounded),
        shape_(shape),
        source_type_(precision_ == Precision::Fp32 || rounded_ ? Type::f32
                     : precision_ == Precision::Bf16           ? Type::bf16
                                                               : Type::s8),
        result_type_(source_type_ == Type::s8 ? Type::s32 : Type::f32) {
    try {
      const memory::desc any({static_cast<memory::dim>(shape.in), static_cast<memory::dim>(shape.out)}, source_type_,
                             Tag::any);
      packed_desc_ = describe(256, any, result_type_).weights_desc();
    } catch (const dnnl::error& e) {
      fail("precision ", precision_name(precision_), " is not supported on this CPU (oneDNN: ", e.what(),
           "); use --precision fp32");
    }
    if (precision_ == Precision::Fp32 && plan.fp32_tiles) panel_stride_ = ksearch::panel_stride(packed_desc_);
    if (source_type_ == Type::s8) {
      bias_values_.assign(bias_data, bias_data + shape.out);
    } else {
      bias_ = memory({{1, static_cast<memory::dim>(shape.out)}, Type::f32, Tag::ab}, cpu_engine());
      std::memcpy(bias_.get_data_handle(), bias_data, shape.out * sizeof(float));
    }
  }

  void pack(const float* weight) {
    auto storage = std::make_shared<PageBuffer>(packed_desc_.get_size());
    packed_ = memory(packed_desc_, cpu_engine(), storage->data());
    packed_owner_ = std::move(storage);
    dnnl::stream stream(cpu_engine());
    // PyTorch's [out, in] row-major weight is the matmul's K×N weight in column-major ("ba") order.
    const auto k = static_cast<memory::dim>(shape_.in), n = static_cast<memory::dim>(shape_.out);
    if (source_type_ == Type::s8) {
      std::vector<std::int8_t> quantized;
      quantize_weight(weight, shape_.out, shape_.in, quantized, weight_scales_);
      memory plain_memory({{k, n}, Type::s8, Tag::ba}, cpu_engine(), quantized.data());
      dnnl::reorder(plain_memory, packed_).execute(stream, plain_memory, packed_);
    } else {
      std::vector<float> rounded =
          rounded_ ? rounded_weight(precision_, weight, shape_.out, shape_.in) : std::vector<float>();
      memory plain_memory({{k, n}, Type::f32, Tag::ba}, cpu_engine(),
                          rounded_ ? rounded.data() : const_cast<float*>(weight));
      dnnl::reorder(plain_memory, packed_).execute(stream, plain_memory, packed_);
    }
    stream.wait();
  }

  void adopt(PackedWeights packed) {
    const std::size_t scale_count = source_type_ == Type::s8 ? shape_.out : 0;
    const std::string layout = layout_name();
    if (layout.empty() || packed.layout != layout || packed.bytes.size() != packed_desc_.get_size() ||
        packed.scales.size() != scale_count)
      fail("packed ", precision_name(precision_), " weights (", packed.bytes.size(), " bytes, ", packed.scales.size(),
           " scales, layout ", packed.layout, ") do not fit a ", shape_.out, "x", shape_.in, " layer on this CPU (",
           packed_desc_.get_size(), " bytes, ", scale_count, " scales, layout ", layout, ")");
    weight_scales_.assign(packed.scales.begin(), packed.scales.end());
    packed_ = memory(packed_desc_, cpu_engine(), const_cast<std::byte*>(packed.bytes.data()));
    packed_owner_ = std::move(packed.owner);
  }

  PackedWeights packed() const override {
    return {{static_cast<const std::byte*>(packed_.get_data_handle()), packed_desc_.get_size()},
            weight_scales_,
            layout_name(),
            packed_owner_};
  }

  void forward(const float* x, std::size_t rows, float* y) const override {
    if (rows == 0) return;
    const bool gelu = shape_.activation == Activation::GeluErf;
    if (panel_stride_ != 0 && rows <= kPanelGemmRows) {
      ops::gemm_panels(rows, shape_.out, shape_.in, x, static_cast<const float*>(packed_.get_data_handle()),
                       panel_stride_, static_cast<const float*>(bias_.get_data_handle()), gelu, y);
      return;
    }
    if (source_type_ == Type::bf16) {
      memory converted({{static_cast<memory::dim>(rows), static_cast<memory::dim>(shape_.in)}, Type::bf16, Tag::ab},
                       cpu_engine());
      auto* values = static_cast<std::uint16_t*>(converted.get_data_handle());
      ops::to_bfloat16(x, rows * shape_.in, values);
      multiply_bf16(values, rows, Type::f32, y);
      return;
    }
    const memory::dim padded = padded_rows(rows);
    const Product product = primitive(padded, result_type_);
    const memory::desc source_desc({padded, static_cast<memory::dim>(shape_.in)}, source_type_, Tag::ab);
    const memory::desc result_desc({padded, static_cast<memory::dim>(shape_.out)}, result_type_, Tag::ab);
    const std::size_t extra = static_cast<std::size_t>(padded) - rows;

    if (source_type_ == Type::f32) {
      // Padding rows come from a scratch copy only when needed (the caller's buffers hold exactly `rows`).
      std::vector<float> source_copy, result_copy;
      const float* source = x;
      float* result = y;
      if (extra > 0) {
        source_copy.assign(static_cast<std::size_t>(padded) * shape_.in, 0.0f);
        std::memcpy(source_copy.data(), x, rows * shape_.in * sizeof(float));
        result_copy.resize(static_cast<std::size_t>(padded) * shape_.out);
        source = source_copy.data();
        result = result_copy.data();
      }
      memory source_memory(source_desc, cpu_engine(), const_cast<float*>(source));
      memory result_memory(result_desc, cpu_engine(), result);
      run_product(product, {{DNNL_ARG_SRC, source_memory},
                            {DNNL_ARG_WEIGHTS, packed_},
                            {DNNL_ARG_BIAS, bias_},
                            {DNNL_ARG_DST, result_memory}});
      if (extra > 0) std::memcpy(y, result, rows * shape_.out * sizeof(float));
      return;
    }

    // int8: quantise each activation row with its own scale, multiply in int32, rescale by row and column scales.
    memory source_memory(source_desc, cpu_engine());
    auto* quantized = static_cast<std::int8_t*>(source_memory.get_data_handle());
    std::vector<float> row_scales(rows);
    ops::quantize_rows(x, rows, shape_.in, quantized, row_scales.data());
    std::memset(quantized + rows * shape_.in, 0, extra * shape_.in);
    memory result_memory(result_desc, cpu_engine());
    run_product(product, {{DNNL_ARG_SRC, source_memory}, {DNNL_ARG_WEIGHTS, packed_}, {DNNL_ARG_DST, result_memory}});
    ops::rescale_products(static_cast<const std::int32_t*>(result_memory.get_data_handle()), rows, shape_.out,
                          row_scales.data(), weight_scales_.data(), bias_values_.data(), gelu, y);
  }

  void forward(const std::uint16_t* x, std::size_t rows, float* y) const override {
    multiply_bf16(x, rows, Type::f32, y);
  }
  void forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const override {
    multiply_bf16(x, rows, Type::bf16, y);
  }

 private:
  // The packed weights' layout name, for the packed-weight cache.
  std::string layout_name() const {
    const std::string layout = describe_layout(packed_desc_);
    return rounded_ && !layout.empty() ? cat(precision_name(precision_), "-rounded:", layout) : layout;
  }

  dnnl::matmul::primitive_desc describe(memory::dim rows, const memory::desc& weights, Type result) const {
    const memory::desc source({rows, static_cast<memory::dim>(shape_.in)}, source_type_, Tag::ab);
    const memory::desc result_desc({rows, static_cast<memory::dim>(shape_.out)}, result, Tag::ab);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // run_product supplies it
    if (source_type_ == Type::s8) return {dnnl::matmul::desc(source, weights, result_desc), attributes, cpu_engine()};
    const memory::desc bias_desc({1, static_cast<memory::dim>(shape_.out)}, Type::f32, Tag::ab);
    if (shape_.activation == Activation::GeluErf) {
      dnnl::post_ops post;
      post.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      attributes.set_post_ops(post);
    }
    return {dnnl::matmul::desc(source, weights, bias_desc, result_desc), attributes, cpu_engine()};
  }

  // By row count, result type (bf16 layers write fp32 or bf16) and the threads oneDNN splits the product over (set
  // when the primitive is made: one inside the encoder's per-thread groups, the team outside).
  Product primitive(memory::dim rows, Type result) const {
    const auto key = std::make_tuple(rows, result, omp_get_max_threads());
    std::lock_guard lock(mutex_);
    if (auto it = primitives_.find(key); it != primitives_.end()) return it->second;
    if (primitives_.size() >= kMaxCachedPrimitives) primitives_.clear();
    const dnnl::matmul::primitive_desc description = describe(rows, packed_desc_, result);
    return primitives_.emplace(key, Product{dnnl::matmul(description), description.scratchpad_desc()}).first->second;
  }

  // bf16 on oneDNN's bf16 matmul: x is `rows` rows in bfloat16 (zero-padded to padded_rows(rows) in a copy where
  // oneDNN needs it); y gets `rows` rows of type `result`.
  void multiply_bf16(const std::uint16_t* x, std::size_t rows, Type result, void* y) const {
    if (source_type_ != Type::bf16)
      fail("bfloat16 activations given to a ", precision_name(precision_), " layer that takes fp32 ones");
    if (rows == 0) return;
    const memory::dim padded = padded_rows(rows);
    const std::size_t extra = static_cast<std::size_t>(padded) - rows;
    const memory::desc source_desc({padded, static_cast<memory::dim>(shape_.in)}, Type::bf16, Tag::ab);
    memory source = extra == 0 ? memory(source_desc, cpu_engine(), const_cast<std::uint16_t*>(x))
                               : memory(source_desc, cpu_engine());
    if (extra > 0) {
      auto* values = static_cast<std::uint16_t*>(source.get_data_handle());
      std::memcpy(values, x, rows * shape_.in * sizeof(std::uint16_t));
      std::memset(values + rows * shape_.in, 0, extra * shape_.in * sizeof(std::uint16_t));
    }
    const memory::desc result_desc({padded, static_cast<memory::dim>(shape_.out)}, result, Tag::ab);
    memory result_memory = extra == 0 ? memory(result_desc, cpu_engine(), y) : memory(result_desc, cpu_engine());
    run_product(
        primitive(padded, result),
        {{DNNL_ARG_SRC, source}, {DNNL_ARG_WEIGHTS, packed_}, {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, result_memory}});
    if (extra > 0) std::memcpy(y, result_memory.get_data_handle(), rows * shape_.out * memory::data_type_size(result));
  }

  Precision precision_;
  bool rounded_;  // DenseBackend::OneDnnRounded: bf16 or int8 weights rounded, kept and multiplied in fp32
  DenseShape shape_;
  Type source_type_;  // what oneDNN multiplies: f32 (also for rounded weights), bf16 or s8
  Type result_type_;
  memory::desc packed_desc_;
  std::shared_ptr<const void> packed_owner_;
  memory packed_;                     // over memory packed_owner_ keeps alive; oneDNN only reads it
  memory bias_;                       // fp32 and bf16: applied by the primitive
  std::vector<float> bias_values_;    // int8: applied while rescaling
  std::vector<float> weight_scales_;  // int8: per output channel
  std::size_t panel_stride_ = 0;  // fp32 in oneDNN's panel layout on an AVX-512 CPU: ops::gemm_panels serves few rows
  mutable std::mutex mutex_;
  mutable std::map<std::tuple<memory::dim, Type, int>, Product> primitives_;
};

}  // namespace

std::unique_ptr<DenseProduct> onednn_product(const KernelPlan& plan, const float* weight, const float* bias,
                                             const DenseShape& shape) {
  auto product = std::make_unique<OneDnnProduct>(plan, bias, shape);
  product->pack(weight);
  return product;
}

std::unique_ptr<DenseProduct> onednn_product(const KernelPlan& plan, PackedWeights packed, const float* bias,
                                             const DenseShape& shape) {
  auto product = std::make_unique<OneDnnProduct>(plan, bias, shape);
  product->adopt(std::move(packed));
  return product;
}

bool onednn_has_bf16_matmul() {
  // Every product a bf16 layer asks for: with its bias and fused GELU, writing fp32 or (in a chain) bf16.
  static const bool has = [] {
    try {
      constexpr memory::dim kRows = 256, kColumns = 64;
      const memory::desc source({kRows, kColumns}, Type::bf16, Tag::ab);
      const memory::desc weights({kColumns, kColumns}, Type::bf16, Tag::any);
      const memory::desc bias({1, kColumns}, Type::f32, Tag::ab);
      dnnl::primitive_attr attributes;
      attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::post_ops post;
      post.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      attributes.set_post_ops(post);
      for (const Type result_type : {Type::f32, Type::bf16}) {
        const memory::desc result({kRows, kColumns}, result_type, Tag::ab);
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(source, weights, bias, result), attributes, cpu_engine());
      }
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return has;
}

bool onednn_runs_amx() {
  // The ISA oneDNN will use, as a set of feature bits: AMX only where the CPU has it and the kernel granted it.
  static const bool runs = [] {
    const auto amx = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_amx);
    return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & amx) == amx;
  }();
  return runs;
}

}  // namespace ksearch
