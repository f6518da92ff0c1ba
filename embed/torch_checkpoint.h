// PyTorch checkpoint reader for the zip format torch.save writes (PyTorch >= 1.6): ARCHIVE/data.pkl (the pickled
// state dict, read by the restricted embed/pickle_reader.h), ARCHIVE/data/KEY (one stored entry per storage),
// ARCHIVE/byteorder ("little") and ARCHIVE/version.
//
// The file is memory-mapped and tensors are views into it, as SafetensorsFile's are.  A tensor must be a contiguous
// (row-major) view of its storage; other strides, an absent storage entry or a view past its storage's end are an
// Error naming the file and tensor.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "base/mapped_file.h"
#include "embed/safetensors.h"

namespace ksearch {

class TorchCheckpoint {
 public:
  // Maps and validates `path`.
  static TorchCheckpoint open(const std::filesystem::path& path);
  // Validates an archive in memory (the fuzz target); the views point into `archive`.  `where` names it in errors.
  static std::vector<TensorView> parse(std::span<const std::byte> archive, const std::filesystem::path& where);

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorView> tensors_;
};

}  // namespace ksearch
