#include "embed/tensor_store.h"

#include <set>

#include "base/error.h"
#include "base/files.h"
#include "base/json.h"

namespace ksearch {
namespace {

// The shard files named by a Hugging Face index (model.safetensors.index.json, pytorch_model.bin.index.json).
std::set<std::string> shard_names(const std::filesystem::path& index) {
  const Json json = read_json_file(index);
  const auto weight_map = json.find("weight_map");
  if (weight_map == json.end() || !weight_map->is_object()) fail(index.string(), ": missing object 'weight_map'");
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : weight_map->items()) {
    if (!shard.is_string()) fail(index.string(), ": weight_map entry for ", tensor, " is not a file name");
    const auto name = shard.get<std::string>();
    if (name.find('/') != std::string::npos || name.find("..") != std::string::npos)
      fail(index.string(), ": shard name '", name, "' must be a plain file name");
    shards.insert(name);
  }
  return shards;
}

bool is_torch_checkpoint(const std::filesystem::path& file) {
  const auto extension = file.extension();
  return extension == ".bin" || extension == ".pt" || extension == ".pth";
}

}  // namespace

TensorStore TensorStore::open_model_dir(const std::filesystem::path& model_dir) {
  TensorStore store;
  for (const char* single :
       {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}) {
    const auto path = model_dir / single;
    if (!std::filesystem::exists(path)) continue;
    store.source_ = path;
    if (path.extension() == ".json")
      for (const auto& shard : shard_names(path)) store.add(model_dir / shard);
    else
      store.add(path);
    store.index_names();
    return store;
  }
  fail(model_dir.string(), ": no weights: expected model.safetensors, model.safetensors.index.json, ",
       "pytorch_model.bin or pytorch_model.bin.index.json");
}

TensorStore TensorStore::open_file(const std::filesystem::path& file) {
  TensorStore store;
  store.source_ = file;
  store.add(file);
  store.index_names();
  return store;
}

void TensorStore::add(const std::filesystem::path& file) {
  if (is_torch_checkpoint(file))
    checkpoints_.push_back(TorchCheckpoint::open(file));
  else
    safetensors_.push_back(SafetensorsFile::open(file));
}

void TensorStore::index_names() {
  const auto index = [&](const std::vector<TensorView>& tensors) {
    for (const auto& tensor : tensors) {
      std::string_view name = tensor.name;
      for (std::string_view prefix : {"bert.", "roberta.", "model."})
        if (name.starts_with(prefix)) {
          name.remove_prefix(prefix.size());
          break;
        }
      by_name_.emplace(std::string(name), &tensor);
    }
  };
  for (const auto& file : safetensors_) index(file.tensors());
  for (const auto& file : checkpoints_) index(file.tensors());
}

const TensorView* TensorStore::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorView& TensorStore::require(std::string_view name) const {
  const TensorView* view = find(name);
  if (view == nullptr) fail(source_.string(), ": missing tensor ", name);
  return *view;
}

std::filesystem::path TensorStore::describe() const { return source_; }

std::vector<std::filesystem::path> TensorStore::source_files() const {
  std::vector<std::filesystem::path> out;
  for (const auto& file : safetensors_) out.push_back(file.path());
  for (const auto& file : checkpoints_) out.push_back(file.path());
  return out;
}

}  // namespace ksearch
