// BERT / XLM-RoBERTa encoder (post-LN transformer) with Hugging Face semantics:
//   embeddings = LayerNorm(word[id] + position[pos] + token_type[type id])   (type ids default to 0)
//   BERT positions are 0..n-1; XLM-R positions start at padding_idx + 1 (create_position_ids_from_input_ids).
//   each layer: x = LN(x + Wo·softmax(QKᵀ/√d)·V);  x = LN(x + W2·gelu(W1·x))   (exact erf GELU)
//
// Batches are packed: the sequences of a batch are laid end to end with no padding, every matrix product runs on a
// group of whole sequences at once (up to 512 tokens; large batches give each thread groups of its own), and
// attention runs per sequence and head.  So a text gets the same vector alone or in any batch, and no work is spent
// on padding.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "embed/linear.h"
#include "embed/model_spec.h"
#include "embed/tokenizer.h"

namespace ksearch {

class TensorStore;

// Hidden states of a packed batch: rows [offsets[i], offsets[i+1]) belong to sequence i.
struct PackedHidden {
  std::vector<float> values;         // [total_tokens, hidden]
  std::vector<std::size_t> offsets;  // size batch + 1
  int hidden = 0;
  const float* row(std::size_t token) const { return values.data() + token * static_cast<std::size_t>(hidden); }
};

class TransformerEncoder {
 public:
  // Binds the weights of `store` (keeps `store` alive) for the kernels of `plan`; validates every tensor's presence,
  // dtype and shape against `config`, naming the file, tensor and both shapes on mismatch.
  TransformerEncoder(const TransformerConfig& config, std::shared_ptr<const TensorStore> store,
                     const KernelPlan& plan = KernelPlan::choose(Precision::Fp32));
  ~TransformerEncoder();
  TransformerEncoder(TransformerEncoder&&) noexcept;

  // Which last hidden states forward() returns: every token's, or each sequence's first only (one row per sequence),
  // all that CLS pooling and the classification head read.  For the first rows the last layer computes keys and
  // values from every token but its attention, output product and feed-forward on the first rows alone (as llama.cpp
  // computes only the rows whose outputs are used), which leaves about a quarter of that layer's work.
  enum class Rows { All, First };

  // Last hidden states of the batch's sequences.  Every sequence must be non-empty and at most config.max_tokens()
  // long; ids must be inside the vocabulary.  `type_ids` (the tokenizer's Encoding::type_ids; segment 1 for the
  // second text of a BERT pair) is empty for all zeros, or one list per sequence of the same length.
  PackedHidden forward(std::span<const std::vector<TokenId>> batch, Rows rows = Rows::All,
                       std::span<const std::vector<std::int32_t>> type_ids = {}) const;

  // Sequence-classification head on each sequence's first token (forward's Rows::First suffices): raw logits
  // [batch, num_labels].
  // XLM-R: out_proj(tanh(dense(h0)));  BERT: classifier(tanh(pooler(h0))).
  std::vector<float> classify(const PackedHidden& hidden) const;

  // Bytes of the layers' packed dense weights: what a query's forward pass streams from memory (benchmarks compare
  // its latency with the time to read these bytes).
  std::size_t dense_weight_bytes() const;

  const TransformerConfig& config() const { return config_; }
  Precision precision() const { return plan_.precision; }
  const KernelPlan& plan() const { return plan_; }

 private:
  struct Weights;
  class WorkspacePool;
  TransformerConfig config_;
  std::shared_ptr<const TensorStore> store_;
  std::unique_ptr<Weights> weights_;
  KernelPlan plan_;
  std::unique_ptr<WorkspacePool> workspaces_;  // forward()'s working buffers, reused from pass to pass
};

}  // namespace ksearch
