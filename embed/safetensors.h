// Safetensors reader: https://github.com/huggingface/safetensors (format: u64 LE header length N, N bytes of JSON
// header, then raw little-endian tensor data addressed by data_offsets relative to the end of the header).
//
// Files are memory-mapped; tensors are views into the map.  Every header field is validated against the file size
// so a truncated or corrupt file is an Error naming the file and tensor, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"

namespace ksearch {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
  std::filesystem::path file;  // for error messages

  std::int64_t element_count() const;
  std::string shape_string() const;  // "[384,1536]"
};

// Converts a floating-point tensor (F32, F16, BF16, F64) to float32.
std::vector<float> to_float32(const TensorView& tensor);

class SafetensorsFile {
 public:
  // Maps and validates `path`.  Throws Error naming the file (and tensor) on any inconsistency.
  static SafetensorsFile open(const std::filesystem::path& path);
  // Validates an in-memory buffer (used by the fuzz target); `where` names it in errors.
  static std::vector<TensorView> parse_header(std::span<const std::byte> file_bytes, const std::filesystem::path& where,
                                              std::map<std::string, std::string>* metadata);

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ksearch
