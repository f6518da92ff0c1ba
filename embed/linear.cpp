#include "embed/linear.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/page_buffer.h"
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

// Up to this many rows, fp32 products in oneDNN's panel layout go to ops::gemm_panels (measured faster there, and
// slower from 24 rows on).
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

// The layout names of ops::pack_bf16_panels' and ops::pack_half_panels' weights, for the packed-weight cache.
std::string bf16_panels_layout(std::size_t in, std::size_t out) { return cat("ksearch-bf16-panels64:", in, "x", out); }
std::string half_panels_layout(std::size_t in, std::size_t out) { return cat("ksearch-fp16-panels64:", in, "x", out); }

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

}  // namespace

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::Fp32:
      return "fp32";
    case Precision::Bf16:
      return "bf16";
    case Precision::Int8:
      return "int8";
  }
  return "?";
}

Precision parse_precision(std::string_view name) {
  if (name == "fp32" || name.empty()) return Precision::Fp32;
  if (name == "bf16") return Precision::Bf16;
  if (name == "int8") return Precision::Int8;
  fail("unknown precision '", name, "' (use fp32, bf16 or int8)");
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

struct Linear::Impl {
  Precision precision;
  Activation activation = Activation::None;
  Type source_type = Type::f32;  // what oneDNN multiplies: f32 (also for rounded weights), bf16 or s8
  Type result_type = Type::f32;
  memory::desc packed_desc;
  std::shared_ptr<const void> packed_owner;
  memory packed;                     // over memory packed_owner keeps alive; oneDNN only reads it
  memory bias;                       // fp32 and bf16 on oneDNN: applied by the primitive
  std::vector<float> bias_values;    // int8 (applied while rescaling) and bf16 panels
  std::vector<float> weight_scales;  // int8: per output channel; fp16 panels: per column
  std::size_t panel_stride = 0;  // fp32 in oneDNN's panel layout on an AVX-512 CPU: ops::gemm_panels serves few rows
  // bf16 where the CPU's bf16 dot products are slow and AMX is out: with AVX512-FP16, weights in
  // ops::pack_half_panels' layout (column scales in weight_scales) multiplied in fp16; else in ops::pack_bf16_panels'
  // layout, on the fp32 tiles.  Every row count; bias in bias_values; oneDNN is not used.
  enum class Panels { None, Bf16, Half } own_panels = Panels::None;
  // Reduced precision the CPU cannot compute well: weights rounded as the precision rounds them, kept in fp32 and
  // multiplied with fp32 activations by oneDNN's fp32 matmul, at fp32's speed and memory (rather than an error or
  // worse results on a laptop's CPU).  bf16 without AVX-512 (no bf16 matmul in oneDNN either): the bf16 tiles'
  // products.  int8 without AVX512_VNNI: there oneDNN's int8 products keep 7 bits of each weight to spare 16-bit
  // sums from overflow, cosine 0.980 to fp32 on the fixtures against 0.99+ with VNNI.
  bool rounded_weights_in_fp32 = false;
  std::span<const std::byte> panel_bytes;
  mutable std::mutex mutex;
  // By row count, result type (bf16 layers write fp32 or bf16) and the threads oneDNN splits the product over (set
  // when the primitive is made: one inside the encoder's per-thread groups, the team outside).
  mutable std::map<std::tuple<memory::dim, Type, int>, Product> primitives;

  // The packed weights' layout name, for the packed-weight cache.
  std::string layout_name() const {
    const std::string layout = describe_layout(packed_desc);
    return rounded_weights_in_fp32 && !layout.empty() ? cat(precision_name(precision), "-rounded:", layout) : layout;
  }

  Product primitive(memory::dim rows, std::size_t in, std::size_t out, Type result) const {
    const auto key = std::make_tuple(rows, result, omp_get_max_threads());
    std::lock_guard lock(mutex);
    if (auto it = primitives.find(key); it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedPrimitives) primitives.clear();
    const dnnl::matmul::primitive_desc description = describe(rows, in, out, packed_desc, result);
    return primitives.emplace(key, Product{dnnl::matmul(description), description.scratchpad_desc()}).first->second;
  }

  dnnl::matmul::primitive_desc describe(memory::dim rows, std::size_t in, std::size_t out, const memory::desc& weights,
                                        Type result_type) const {
    const memory::desc source({rows, static_cast<memory::dim>(in)}, source_type, Tag::ab);
    const memory::desc result({rows, static_cast<memory::dim>(out)}, result_type, Tag::ab);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // run_product supplies it
    if (source_type == Type::s8) return {dnnl::matmul::desc(source, weights, result), attributes, cpu_engine()};
    const memory::desc bias_desc({1, static_cast<memory::dim>(out)}, Type::f32, Tag::ab);
    if (activation == Activation::GeluErf) {
      dnnl::post_ops post;
      post.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      attributes.set_post_ops(post);
    }
    return {dnnl::matmul::desc(source, weights, bias_desc, result), attributes, cpu_engine()};
  }

  // Chooses the packed layout (once, for a mid-sized batch; it serves every row count) and binds the bias.
  void prepare(Precision chosen, Activation fused, std::size_t in, std::size_t out, const float* bias_data) {
    precision = chosen;
    activation = fused;
    if (precision == Precision::Bf16 && ops::has_fp32_tiles() && !ops::bf16_dots_are_fast() && !bf16_layers_on_amx()) {
      own_panels = ops::has_fp16_gemm() ? Panels::Half : Panels::Bf16;
      bias_values.assign(bias_data, bias_data + out);
      return;
    }
    rounded_weights_in_fp32 = precision == Precision::Int8 && !ops::has_int8_dots();
    source_type = precision == Precision::Fp32 || rounded_weights_in_fp32 ? Type::f32
                  : precision == Precision::Bf16                          ? Type::bf16
                                                                          : Type::s8;
    result_type = source_type == Type::s8 ? Type::s32 : Type::f32;
    const auto choose_layout = [&] {
      const memory::desc any({static_cast<memory::dim>(in), static_cast<memory::dim>(out)}, source_type, Tag::any);
      packed_desc = describe(256, in, out, any, result_type).weights_desc();
    };
    try {
      choose_layout();
    } catch (const dnnl::error& e) {
      if (precision != Precision::Bf16)
        fail("precision ", precision_name(precision), " is not supported on this CPU (oneDNN: ", e.what(),
             "); use --precision fp32");
      rounded_weights_in_fp32 = true;
      source_type = Type::f32;
      choose_layout();
    }
    if (precision == Precision::Fp32 && ops::has_fp32_tiles()) panel_stride = ksearch::panel_stride(packed_desc);
    if (source_type == Type::s8) {
      bias_values.assign(bias_data, bias_data + out);
    } else {
      bias = memory({{1, static_cast<memory::dim>(out)}, Type::f32, Tag::ab}, cpu_engine());
      std::memcpy(bias.get_data_handle(), bias_data, out * sizeof(float));
    }
  }

  // bf16 layers: x is `rows` rows in bfloat16 (zero-padded to padded_rows(rows) in a copy where oneDNN needs it);
  // y gets `rows` rows of type `result`.
  void multiply_bf16(const std::uint16_t* x, std::size_t rows, std::size_t in, std::size_t out, Type result,
                     void* y) const {
    if (precision != Precision::Bf16) fail("bfloat16 activations given to a ", precision_name(precision), " layer");
    if (source_type != Type::bf16) fail("bfloat16 activations given to a bf16 layer that takes fp32 ones on this CPU");
    if (rows == 0) return;
    const memory::dim padded = padded_rows(rows);
    const std::size_t extra = static_cast<std::size_t>(padded) - rows;
    const memory::desc source_desc({padded, static_cast<memory::dim>(in)}, Type::bf16, Tag::ab);
    memory source = extra == 0 ? memory(source_desc, cpu_engine(), const_cast<std::uint16_t*>(x))
                               : memory(source_desc, cpu_engine());
    if (extra > 0) {
      auto* values = static_cast<std::uint16_t*>(source.get_data_handle());
      std::memcpy(values, x, rows * in * sizeof(std::uint16_t));
      std::memset(values + rows * in, 0, extra * in * sizeof(std::uint16_t));
    }
    const memory::desc result_desc({padded, static_cast<memory::dim>(out)}, result, Tag::ab);
    memory result_memory = extra == 0 ? memory(result_desc, cpu_engine(), y) : memory(result_desc, cpu_engine());
    run_product(
        primitive(padded, in, out, result),
        {{DNNL_ARG_SRC, source}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, result_memory}});
    if (extra > 0) std::memcpy(y, result_memory.get_data_handle(), rows * out * memory::data_type_size(result));
  }
};

bool bf16_layers_on_amx() {
  // The ISA oneDNN will use, as a set of feature bits: AMX only where the CPU has it and the kernel granted it.
  static const bool available = [] {
    const auto amx = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_amx);
    return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & amx) == amx;
  }();
  return available && ops::has_amx_bf16();
}

Linear::Linear(const float* weight, const float* bias, std::size_t out, std::size_t in, Precision precision,
               Activation activation)
    : in_(in), out_(out), impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.prepare(precision, activation, in, out, bias);
  if (impl.own_panels == Impl::Panels::Half) {
    auto storage = std::make_shared<PageBuffer>(ops::half_panels_size(in, out) * sizeof(std::uint16_t));
    impl.weight_scales.resize(out);
    ops::pack_half_panels(weight, out, in, static_cast<std::uint16_t*>(storage->data()), impl.weight_scales.data());
    impl.panel_bytes = {static_cast<const std::byte*>(storage->data()), storage->size()};
    impl.packed_owner = std::move(storage);
    return;
  }
  if (impl.own_panels == Impl::Panels::Bf16) {
    auto storage = std::make_shared<PageBuffer>(ops::bf16_panels_size(in, out) * sizeof(std::uint16_t));
    ops::pack_bf16_panels(weight, out, in, static_cast<std::uint16_t*>(storage->data()));
    impl.panel_bytes = {static_cast<const std::byte*>(storage->data()), storage->size()};
    impl.packed_owner = std::move(storage);
    return;
  }
  auto storage = std::make_shared<PageBuffer>(impl.packed_desc.get_size());
  impl.packed = memory(impl.packed_desc, cpu_engine(), storage->data());
  impl.packed_owner = std::move(storage);
  dnnl::stream stream(cpu_engine());

  // PyTorch's [out, in] row-major weight is the matmul's K×N weight in column-major ("ba") order.
  const auto k = static_cast<memory::dim>(in), n = static_cast<memory::dim>(out);
  if (impl.source_type == Type::s8) {
    std::vector<std::int8_t> quantized;
    quantize_weight(weight, out, in, quantized, impl.weight_scales);
    memory plain_memory({{k, n}, Type::s8, Tag::ba}, cpu_engine(), quantized.data());
    dnnl::reorder(plain_memory, impl.packed).execute(stream, plain_memory, impl.packed);
  } else {
    std::vector<float> rounded =
        impl.rounded_weights_in_fp32 ? rounded_weight(precision, weight, out, in) : std::vector<float>();
    memory plain_memory({{k, n}, Type::f32, Tag::ba}, cpu_engine(),
                        impl.rounded_weights_in_fp32 ? rounded.data() : const_cast<float*>(weight));
    dnnl::reorder(plain_memory, impl.packed).execute(stream, plain_memory, impl.packed);
  }
  stream.wait();
}

Linear::Linear(PackedWeights packed, const float* bias, std::size_t out, std::size_t in, Precision precision,
               Activation activation)
    : in_(in), out_(out), impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.prepare(precision, activation, in, out, bias);
  if (impl.own_panels != Impl::Panels::None) {
    const bool half = impl.own_panels == Impl::Panels::Half;
    const std::size_t size =
        (half ? ops::half_panels_size(in, out) : ops::bf16_panels_size(in, out)) * sizeof(std::uint16_t);
    const std::size_t scale_count = half ? out : 0;
    const std::string layout = half ? half_panels_layout(in, out) : bf16_panels_layout(in, out);
    if (packed.layout != layout || packed.bytes.size() != size || packed.scales.size() != scale_count)
      fail("packed bf16 weights (", packed.bytes.size(), " bytes, ", packed.scales.size(), " scales, layout ",
           packed.layout, ") do not fit a ", out, "x", in, " layer on this CPU (", size, " bytes, ", scale_count,
           " scales, layout ", layout, ")");
    impl.weight_scales.assign(packed.scales.begin(), packed.scales.end());
    impl.panel_bytes = packed.bytes;
    impl.packed_owner = std::move(packed.owner);
    return;
  }
  const std::size_t scale_count = impl.source_type == Type::s8 ? out : 0;
  const std::string layout = impl.layout_name();
  if (layout.empty() || packed.layout != layout || packed.bytes.size() != impl.packed_desc.get_size() ||
      packed.scales.size() != scale_count)
    fail("packed ", precision_name(precision), " weights (", packed.bytes.size(), " bytes, ", packed.scales.size(),
         " scales, layout ", packed.layout, ") do not fit a ", out, "x", in, " layer on this CPU (",
         impl.packed_desc.get_size(), " bytes, ", scale_count, " scales, layout ", layout, ")");
  impl.weight_scales.assign(packed.scales.begin(), packed.scales.end());
  impl.packed = memory(impl.packed_desc, cpu_engine(), const_cast<std::byte*>(packed.bytes.data()));
  impl.packed_owner = std::move(packed.owner);
}

bool Linear::takes_bf16_activations() const {
  return impl_->own_panels == Impl::Panels::None && impl_->source_type == Type::bf16;
}

PackedWeights Linear::packed() const {
  const Impl& impl = *impl_;
  if (impl.own_panels == Impl::Panels::Half)
    return {impl.panel_bytes, impl.weight_scales, half_panels_layout(in_, out_), impl.packed_owner};
  if (impl.own_panels == Impl::Panels::Bf16)
    return {impl.panel_bytes, {}, bf16_panels_layout(in_, out_), impl.packed_owner};
  return {{static_cast<const std::byte*>(impl.packed.get_data_handle()), impl.packed_desc.get_size()},
          impl.weight_scales,
          impl.layout_name(),
          impl.packed_owner};
}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

void Linear::forward(const float* x, std::size_t rows, float* y) const {
  if (rows == 0) return;
  const Impl& impl = *impl_;
  if (impl.own_panels == Impl::Panels::Half) {
    ops::gemm_half_panels(rows, out_, in_, x, reinterpret_cast<const std::uint16_t*>(impl.panel_bytes.data()),
                          impl.weight_scales.data(), impl.bias_values.data(), impl.activation == Activation::GeluErf,
                          y);
    return;
  }
  if (impl.own_panels == Impl::Panels::Bf16) {
    ops::gemm_panels(rows, out_, in_, x, reinterpret_cast<const std::uint16_t*>(impl.panel_bytes.data()),
                     impl.bias_values.data(), impl.activation == Activation::GeluErf, y);
    return;
  }
  if (impl.panel_stride != 0 && rows <= kPanelGemmRows) {
    ops::gemm_panels(rows, out_, in_, x, static_cast<const float*>(impl.packed.get_data_handle()), impl.panel_stride,
                     static_cast<const float*>(impl.bias.get_data_handle()), impl.activation == Activation::GeluErf, y);
    return;
  }
  if (impl.source_type == Type::bf16) {
    memory converted({{static_cast<memory::dim>(rows), static_cast<memory::dim>(in_)}, Type::bf16, Tag::ab},
                     cpu_engine());
    auto* values = static_cast<std::uint16_t*>(converted.get_data_handle());
    ops::to_bfloat16(x, rows * in_, values);
    impl.multiply_bf16(values, rows, in_, out_, Type::f32, y);
    return;
  }
  const memory::dim padded = padded_rows(rows);
  const Product product = impl.primitive(padded, in_, out_, impl.result_type);
  const memory::desc source_desc({padded, static_cast<memory::dim>(in_)}, impl.source_type, Tag::ab);
  const memory::desc result_desc({padded, static_cast<memory::dim>(out_)}, impl.result_type, Tag::ab);
  const std::size_t extra = static_cast<std::size_t>(padded) - rows;

  if (impl.source_type == Type::f32) {
    // Padding rows come from a scratch copy only when needed (the caller's buffers hold exactly `rows`).
    std::vector<float> source_copy, result_copy;
    const float* source = x;
    float* result = y;
    if (extra > 0) {
      source_copy.assign(static_cast<std::size_t>(padded) * in_, 0.0f);
      std::memcpy(source_copy.data(), x, rows * in_ * sizeof(float));
      result_copy.resize(static_cast<std::size_t>(padded) * out_);
      source = source_copy.data();
      result = result_copy.data();
    }
    memory source_memory(source_desc, cpu_engine(), const_cast<float*>(source));
    memory result_memory(result_desc, cpu_engine(), result);
    run_product(product, {{DNNL_ARG_SRC, source_memory},
                          {DNNL_ARG_WEIGHTS, impl.packed},
                          {DNNL_ARG_BIAS, impl.bias},
                          {DNNL_ARG_DST, result_memory}});
    if (extra > 0) std::memcpy(y, result, rows * out_ * sizeof(float));
    return;
  }

  // int8: quantise each activation row with its own scale, multiply in int32, rescale by row and column scales.
  memory source_memory(source_desc, cpu_engine());
  auto* quantized = static_cast<std::int8_t*>(source_memory.get_data_handle());
  std::vector<float> row_scales(rows);
  ops::quantize_rows(x, rows, in_, quantized, row_scales.data());
  std::memset(quantized + rows * in_, 0, extra * in_);
  memory result_memory(result_desc, cpu_engine());
  run_product(product, {{DNNL_ARG_SRC, source_memory}, {DNNL_ARG_WEIGHTS, impl.packed}, {DNNL_ARG_DST, result_memory}});
  ops::rescale_products(static_cast<const std::int32_t*>(result_memory.get_data_handle()), rows, out_,
                        row_scales.data(), impl.weight_scales.data(), impl.bias_values.data(),
                        impl.activation == Activation::GeluErf, y);
}

void Linear::forward(const std::uint16_t* x, std::size_t rows, float* y) const {
  impl_->multiply_bf16(x, rows, in_, out_, Type::f32, y);
}

void Linear::forward(const std::uint16_t* x, std::size_t rows, std::uint16_t* y) const {
  impl_->multiply_bf16(x, rows, in_, out_, Type::bf16, y);
}

}  // namespace ksearch
