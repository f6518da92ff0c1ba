#include "embed/bge_m3_heads.h"

#include <algorithm>
#include <map>

#include "base/error.h"
#include "embed/ops.h"
#include "embed/tensor_store.h"

namespace ksearch {
namespace {

std::vector<float> head_tensor(const TensorStore& store, const char* name, const std::vector<std::int64_t>& shape) {
  const TensorView& view = store.require(name);
  if (view.shape != shape) {
    TensorView wanted;
    wanted.shape = shape;
    fail(view.file.string(), ": tensor ", name, " has shape ", view.shape_string(), ", the encoder needs ",
         wanted.shape_string());
  }
  return to_float32(view);
}

}  // namespace

BgeM3Heads BgeM3Heads::load(const std::filesystem::path& model_dir, int hidden) {
  BgeM3Heads heads;
  if (const auto path = model_dir / "sparse_linear.pt"; std::filesystem::exists(path)) {
    const TensorStore store = TensorStore::open_file(path);
    heads.sparse_weight_ = head_tensor(store, "weight", {1, hidden});
    heads.sparse_bias_ = head_tensor(store, "bias", {1})[0];
  }
  if (const auto path = model_dir / "colbert_linear.pt"; std::filesystem::exists(path)) {
    const TensorStore store = TensorStore::open_file(path);
    const TensorView& weight = store.require("weight");
    if (weight.shape.size() != 2 || weight.shape[1] != hidden || weight.shape[0] < 1)
      fail(path.string(), ": tensor weight has shape ", weight.shape_string(), ", expected [C,", hidden, "]");
    const std::vector<float> matrix = to_float32(weight);
    const std::vector<float> bias = head_tensor(store, "bias", {weight.shape[0]});
    heads.colbert_ =
        std::make_shared<const Linear>(matrix.data(), bias.data(), static_cast<std::size_t>(weight.shape[0]),
                                       static_cast<std::size_t>(hidden), KernelPlan::choose(Precision::Fp32));
  }
  return heads;
}

LexicalWeights BgeM3Heads::lexical_weights(std::span<const TokenId> ids, const float* hidden_rows,
                                           std::span<const TokenId> dropped) const {
  KSEARCH_ASSERT(has_lexical());
  const std::size_t hidden = sparse_weight_.size();
  std::map<TokenId, float> largest;
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (std::find(dropped.begin(), dropped.end(), ids[t]) != dropped.end()) continue;
    const float* row = hidden_rows + t * hidden;
    float weight = sparse_bias_;
    for (std::size_t i = 0; i < hidden; ++i) weight += sparse_weight_[i] * row[i];
    if (weight <= 0) continue;  // relu, and only positive weights are kept
    float& kept = largest[ids[t]];
    kept = std::max(kept, weight);
  }
  LexicalWeights out;
  for (const auto& [token, weight] : largest) {
    out.tokens.push_back(token);
    out.weights.push_back(weight);
  }
  return out;
}

MultiVector BgeM3Heads::colbert_vectors(const float* hidden_rows, std::size_t tokens) const {
  KSEARCH_ASSERT(has_colbert());
  MultiVector out;
  out.dimension = colbert_->out();
  if (tokens < 2) return out;
  out.values.resize((tokens - 1) * out.dimension);
  colbert_->forward(hidden_rows + colbert_->in(), tokens - 1, out.values.data());
  ops::l2_normalize_rows(out.values.data(), tokens - 1, out.dimension);
  return out;
}

}  // namespace ksearch
