// BGE-M3's lexical-weight and multi-vector heads, as FlagEmbedding's BGEM3FlagModel applies them to the last hidden
// state h of a sequence (https://github.com/FlagOpen/FlagEmbedding, inference/embedder/encoder_only/m3.py):
//   sparse_linear.pt   Linear(hidden, 1): token weight relu(sparse_linear(h_t)); a text's lexical weights keep, per
//                      token id, the largest weight of its tokens, drop the special tokens and keep weights > 0
//   colbert_linear.pt  Linear(hidden, C): ColBERT vectors colbert_linear(h_t) for every token after <s> (</s>
//                      included), each L2-normalised
// Both files are torch.save state dicts {weight, bias}; a model folder may have either, both or neither.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "embed/linear.h"
#include "embed/tokenizer.h"

namespace ksearch {

// Lexical weights of one text, sorted by token id, every weight > 0.
struct LexicalWeights {
  std::vector<TokenId> tokens;
  std::vector<float> weights;
};

// ColBERT vectors of one text: `rows` L2-normalised vectors of `dimension` floats, row-major.
struct MultiVector {
  std::size_t dimension = 0;
  std::vector<float> values;
  std::size_t rows() const { return dimension == 0 ? 0 : values.size() / dimension; }
};

class BgeM3Heads {
 public:
  BgeM3Heads() = default;
  // Reads whichever heads `model_dir` has; `hidden` is the encoder's width.  Throws Error naming the file and tensor
  // when a head's shapes do not fit it.
  static BgeM3Heads load(const std::filesystem::path& model_dir, int hidden);

  bool has_lexical() const { return !sparse_weight_.empty(); }
  bool has_colbert() const { return colbert_ != nullptr; }
  std::size_t colbert_dimension() const { return colbert_ == nullptr ? 0 : colbert_->out(); }

  // `hidden_rows` is the last hidden state [ids.size(), hidden] of the sequence `ids`; tokens in `dropped` (the
  // tokenizer's <s>, </s>, <pad>, <unk>) get no weight.
  LexicalWeights lexical_weights(std::span<const TokenId> ids, const float* hidden_rows,
                                 std::span<const TokenId> dropped) const;
  // The vectors of rows 1..tokens-1 of `hidden_rows` [tokens, hidden].
  MultiVector colbert_vectors(const float* hidden_rows, std::size_t tokens) const;

 private:
  std::vector<float> sparse_weight_;  // [hidden]
  float sparse_bias_ = 0;
  std::shared_ptr<const Linear> colbert_;
};

}  // namespace ksearch
