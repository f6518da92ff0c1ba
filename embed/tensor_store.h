// All tensors of a model folder, from the first of these that exists:
//   model.safetensors, model.safetensors.index.json (+ its shards),
//   pytorch_model.bin, pytorch_model.bin.index.json (+ its shards)   (torch.save's zip format)
// so a folder with both formats is read from its safetensors.  Names are looked up without the task prefix
// ("bert.", "roberta.", "model.") that Hugging Face adds in some checkpoints.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "embed/safetensors.h"
#include "embed/torch_checkpoint.h"

namespace ksearch {

class TensorStore {
 public:
  static TensorStore open_model_dir(const std::filesystem::path& model_dir);
  // One weights file: safetensors, or a PyTorch checkpoint when its name ends in .bin or .pt.
  static TensorStore open_file(const std::filesystem::path& file);

  // nullptr when absent.
  const TensorView* find(std::string_view name) const;
  // Throws Error "FILE: missing tensor NAME" when absent.
  const TensorView& require(std::string_view name) const;
  std::filesystem::path describe() const;  // the file (or index) the store was opened from
  // The weights files the tensors come from (one, or the shards).
  std::vector<std::filesystem::path> source_files() const;

 private:
  void add(const std::filesystem::path& file);
  void index_names();

  std::vector<SafetensorsFile> safetensors_;
  std::vector<TorchCheckpoint> checkpoints_;
  std::map<std::string, const TensorView*, std::less<>> by_name_;
  std::filesystem::path source_;
};

}  // namespace ksearch
