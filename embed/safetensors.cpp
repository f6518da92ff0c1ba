#include "embed/safetensors.h"

#include <cstring>
#include <limits>

#include "base/error.h"
#include "base/json.h"
#include "embed/ops.h"

namespace ksearch {
namespace {

// Headers above this size are certainly corrupt (real ones are a few hundred KiB at most).
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

DType parse_dtype(const std::string& name, const std::filesystem::path& where, const std::string& tensor) {
  static const std::map<std::string, DType, std::less<>> kNames = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64}, {"I64", DType::I64},
      {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},     {"U8", DType::U8},   {"BOOL", DType::Bool}};
  auto it = kNames.find(name);
  if (it == kNames.end()) fail(where.string(), ": tensor ", tensor, " has unsupported dtype '", name, "'");
  return it->second;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1F;
  std::uint32_t mantissa = h & 0x3FF;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3FF;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::F64:
      return "F64";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::I16:
      return "I16";
    case DType::I8:
      return "I8";
    case DType::U8:
      return "U8";
    case DType::Bool:
      return "BOOL";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  return 1;
}

std::int64_t TensorView::element_count() const {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  return count;
}

std::string TensorView::shape_string() const {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::vector<float> to_float32(const TensorView& tensor) {
  const std::size_t count = static_cast<std::size_t>(tensor.element_count());
  std::vector<float> out(count);
  const std::byte* src = tensor.bytes.data();
  switch (tensor.dtype) {
    case DType::F32:
      std::memcpy(out.data(), src, count * 4);
      break;
    case DType::F16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = half_to_float(h);
      }
      break;
    case DType::BF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = ops::from_bfloat16(h);
      }
      break;
    case DType::F64:
      for (std::size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      fail(tensor.file.string(), ": tensor ", tensor.name, " has dtype ", dtype_name(tensor.dtype),
           ", expected a floating-point type (F32, F16, BF16)");
  }
  return out;
}

std::vector<TensorView> SafetensorsFile::parse_header(std::span<const std::byte> file_bytes,
                                                      const std::filesystem::path& where,
                                                      std::map<std::string, std::string>* metadata) {
  const std::string file = where.string();
  if (file_bytes.size() < 8) fail(file, ": truncated safetensors file (", file_bytes.size(), " bytes, no header)");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<std::uint8_t>(file_bytes[i]);
  if (header_size > kMaxHeaderBytes || header_size > file_bytes.size() - 8)
    fail(file, ": corrupt safetensors header: header length ", header_size, " exceeds the file size ",
         file_bytes.size());
  const std::string_view header_text(reinterpret_cast<const char*>(file_bytes.data() + 8), header_size);
  const Json header = parse_json(header_text, file + " (safetensors header)");
  if (!header.is_object()) fail(file, ": safetensors header is not a JSON object");

  const std::span<const std::byte> data = file_bytes.subspan(8 + header_size);
  std::vector<TensorView> tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (metadata != nullptr && entry.is_object())
        for (const auto& [key, value] : entry.items())
          if (value.is_string()) (*metadata)[key] = value.get<std::string>();
      continue;
    }
    const std::string where_tensor = file + ": tensor " + name;
    if (!entry.is_object()) fail(where_tensor, ": header entry is not an object");
    TensorView view;
    view.name = name;
    view.file = where;
    view.dtype = parse_dtype(required_field<std::string>(entry, "dtype", where_tensor), where, name);
    const Json& shape = entry.value("shape", Json());
    if (!shape.is_array()) fail(where_tensor, ": missing or invalid 'shape'");
    // Overflow-safe element count: every product stays below 2^62 bytes.
    std::uint64_t count = 1;
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned()) fail(where_tensor, ": shape has a non-integer or negative dimension");
      const std::uint64_t d = dim.get<std::uint64_t>();
      if (d != 0 && count > (std::uint64_t{1} << 62) / d) fail(where_tensor, ": shape is too large");
      count *= d;
      view.shape.push_back(static_cast<std::int64_t>(d));
    }
    const Json& offsets = entry.value("data_offsets", Json());
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(where_tensor, ": missing or invalid 'data_offsets'");
    const std::uint64_t begin = offsets[0].get<std::uint64_t>();
    const std::uint64_t end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data.size())
      fail(where_tensor, ": data_offsets [", begin, ",", end, "] outside the data section of ", data.size(),
           " bytes (file truncated?)");
    const std::uint64_t expected = count * dtype_size(view.dtype);
    if (end - begin != expected)
      fail(where_tensor, ": ", end - begin, " bytes of data, but shape ", view.shape_string(), " of ",
           dtype_name(view.dtype), " needs ", expected);
    view.bytes = data.subspan(begin, end - begin);
    tensors.push_back(std::move(view));
  }
  return tensors;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile out;
  out.file_ = std::make_shared<MappedFile>(path);
  out.tensors_ = parse_header(out.file_->bytes(), path, &out.metadata_);
  return out;
}

}  // namespace ksearch
