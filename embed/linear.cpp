#include "embed/linear.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
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
memory::dim padded_rows(std::size_t rows) {
  return static_cast<memory::dim>(rows <= 64 ? (rows + 7) / 8 * 8 : rows);
}

constexpr std::size_t kMaxCachedPrimitives = 64;

}  // namespace

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::Fp32: return "fp32";
    case Precision::Bf16: return "bf16";
    case Precision::Int8: return "int8";
  }
  return "?";
}

Precision parse_precision(std::string_view name) {
  if (name == "fp32" || name.empty()) return Precision::Fp32;
  if (name == "bf16") return Precision::Bf16;
  if (name == "int8") return Precision::Int8;
  fail("unknown precision '", name, "' (use fp32, bf16 or int8)");
}

struct Linear::Impl {
  Precision precision;
  Activation activation = Activation::None;
  Type source_type;
  Type result_type;
  memory::desc packed_desc;
  PageBuffer packed_storage;
  memory packed;  // over packed_storage
  memory bias;                       // fp32 and bf16: applied by the primitive
  std::vector<float> bias_values;    // int8: applied while rescaling
  std::vector<float> weight_scales;  // int8: per output channel
  mutable std::mutex mutex;
  mutable std::unordered_map<memory::dim, dnnl::matmul> primitives;  // by row count

  dnnl::matmul primitive(memory::dim rows, std::size_t in, std::size_t out) const {
    std::lock_guard lock(mutex);
    if (auto it = primitives.find(rows); it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedPrimitives) primitives.clear();
    return primitives.emplace(rows, dnnl::matmul(describe(rows, in, out, packed_desc))).first->second;
  }

  dnnl::matmul::primitive_desc describe(memory::dim rows, std::size_t in, std::size_t out,
                                        const memory::desc& weights) const {
    const memory::desc source({rows, static_cast<memory::dim>(in)}, source_type, Tag::ab);
    const memory::desc result({rows, static_cast<memory::dim>(out)}, result_type, Tag::ab);
    if (precision == Precision::Int8) return {dnnl::matmul::desc(source, weights, result), cpu_engine()};
    const memory::desc bias_desc({1, static_cast<memory::dim>(out)}, Type::f32, Tag::ab);
    dnnl::primitive_attr attributes;
    if (activation == Activation::GeluErf) {
      dnnl::post_ops post;
      post.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      attributes.set_post_ops(post);
    }
    return {dnnl::matmul::desc(source, weights, bias_desc, result), attributes, cpu_engine()};
  }
};

Linear::Linear(const float* weight, const float* bias, std::size_t out, std::size_t in, Precision precision,
               Activation activation)
    : in_(in), out_(out), impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.precision = precision;
  impl.activation = activation;
  impl.source_type = precision == Precision::Fp32 ? Type::f32 : precision == Precision::Bf16 ? Type::bf16 : Type::s8;
  impl.result_type = precision == Precision::Int8 ? Type::s32 : Type::f32;
  const auto k = static_cast<memory::dim>(in), n = static_cast<memory::dim>(out);
  // The packed layout is chosen once (for a mid-sized batch) and used for every row count.
  const memory::desc any({k, n}, impl.source_type, Tag::any);
  try {
    impl.packed_desc = impl.describe(256, in, out, any).weights_desc();
  } catch (const dnnl::error& e) {
    fail("precision ", precision_name(precision), " is not supported on this CPU (oneDNN: ", e.what(),
         "); use --precision fp32");
  }
  impl.packed_storage = PageBuffer(impl.packed_desc.get_size());
  impl.packed = memory(impl.packed_desc, cpu_engine(), impl.packed_storage.data());
  dnnl::stream stream(cpu_engine());

  // PyTorch's [out, in] row-major weight is the matmul's K×N weight in column-major ("ba") order.
  const float* plain = weight;
  if (precision == Precision::Int8) {
    impl.weight_scales.resize(out);
    std::vector<std::int8_t> quantized(out * in);
    for (std::size_t o = 0; o < out; ++o) {
      float max = 0;
      for (std::size_t i = 0; i < in; ++i) max = std::max(max, std::abs(weight[o * in + i]));
      const float scale = max > 0 ? max / 127.0f : 1.0f;
      impl.weight_scales[o] = scale;
      for (std::size_t i = 0; i < in; ++i)
        quantized[o * in + i] = static_cast<std::int8_t>(std::lround(weight[o * in + i] / scale));
    }
    memory plain_memory({{k, n}, Type::s8, Tag::ba}, cpu_engine(), quantized.data());
    dnnl::reorder(plain_memory, impl.packed).execute(stream, plain_memory, impl.packed);
    impl.bias_values.assign(bias, bias + out);
  } else {
    memory plain_memory({{k, n}, Type::f32, Tag::ba}, cpu_engine(), const_cast<float*>(plain));
    dnnl::reorder(plain_memory, impl.packed).execute(stream, plain_memory, impl.packed);
    impl.bias = memory({{1, n}, Type::f32, Tag::ab}, cpu_engine());
    std::memcpy(impl.bias.get_data_handle(), bias, out * sizeof(float));
  }
  stream.wait();
}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

void Linear::forward(const float* x, std::size_t rows, float* y) const {
  if (rows == 0) return;
  const Impl& impl = *impl_;
  const memory::dim padded = padded_rows(rows);
  const dnnl::matmul matmul = impl.primitive(padded, in_, out_);
  const memory::desc source_desc({padded, static_cast<memory::dim>(in_)}, impl.source_type, Tag::ab);
  const memory::desc result_desc({padded, static_cast<memory::dim>(out_)}, impl.result_type, Tag::ab);
  dnnl::stream stream(cpu_engine());
  const std::size_t extra = static_cast<std::size_t>(padded) - rows;

  if (impl.precision == Precision::Fp32) {
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
    matmul.execute(stream, {{DNNL_ARG_SRC, source_memory}, {DNNL_ARG_WEIGHTS, impl.packed},
                            {DNNL_ARG_BIAS, impl.bias}, {DNNL_ARG_DST, result_memory}});
    stream.wait();
    if (extra > 0) std::memcpy(y, result, rows * out_ * sizeof(float));
    return;
  }

  if (impl.precision == Precision::Bf16) {
    memory source_memory(source_desc, cpu_engine());
    auto* converted = static_cast<std::uint16_t*>(source_memory.get_data_handle());
    ops::to_bfloat16(x, rows * in_, converted);
    std::memset(converted + rows * in_, 0, extra * in_ * sizeof(std::uint16_t));
    memory result_memory = extra == 0 ? memory(result_desc, cpu_engine(), y) : memory(result_desc, cpu_engine());
    matmul.execute(stream, {{DNNL_ARG_SRC, source_memory}, {DNNL_ARG_WEIGHTS, impl.packed},
                            {DNNL_ARG_BIAS, impl.bias}, {DNNL_ARG_DST, result_memory}});
    stream.wait();
    if (extra > 0) std::memcpy(y, result_memory.get_data_handle(), rows * out_ * sizeof(float));
    return;
  }

  // int8: quantise each activation row with its own scale, multiply in int32, rescale by row and column scales.
  memory source_memory(source_desc, cpu_engine());
  auto* quantized = static_cast<std::int8_t*>(source_memory.get_data_handle());
  std::vector<float> row_scales(rows);
  ops::quantize_rows(x, rows, in_, quantized, row_scales.data());
  std::memset(quantized + rows * in_, 0, extra * in_);
  memory result_memory(result_desc, cpu_engine());
  matmul.execute(stream, {{DNNL_ARG_SRC, source_memory}, {DNNL_ARG_WEIGHTS, impl.packed}, {DNNL_ARG_DST, result_memory}});
  stream.wait();
  ops::rescale_products(static_cast<const std::int32_t*>(result_memory.get_data_handle()), rows, out_, row_scales.data(),
                        impl.weight_scales.data(), impl.bias_values.data(), y);
  if (impl.activation == Activation::GeluErf) ops::gelu_erf(y, rows * out_);
}

}  // namespace ksearch
