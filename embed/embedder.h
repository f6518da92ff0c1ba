// Text -> sentence embedding: prefix, tokenize, batch, encode, pool, normalise.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embed/model.h"

namespace ksearch {

// Which prompt the model's prefix table applies ("query: " / "passage: " for the e5 family; none for bge-m3).
enum class TextKind { Raw, Query, Passage };

// Token budget of one forward pass: sequences are packed end to end, never padded, so this bounds a pass's work.
inline constexpr std::size_t kDefaultBatchTokens = 16384;

struct EmbedOptions {
  std::size_t max_tokens = 0;  // 0: the model's max_seq_length
  std::size_t batch_tokens = kDefaultBatchTokens;
  bool normalize = true;  // L2-normalise (cosine similarity = inner product)
};

struct Embeddings {
  std::size_t dimension = 0;
  std::vector<float> values;              // [count, dimension], in input order
  std::vector<std::size_t> token_counts;  // tokens encoded per input (after truncation)
  std::vector<bool> truncated;            // input was longer than max_tokens
  std::span<const float> row(std::size_t i) const { return {values.data() + i * dimension, dimension}; }
  std::size_t size() const { return token_counts.size(); }
  // L2-normalises every row in place (for embeddings computed without normalisation).
  void normalize_rows();
  // The first `components` values of row i (Matryoshka-style shortening), L2-normalised again when `normalize`.
  std::vector<float> leading(std::size_t i, std::size_t components, bool normalize) const;
};

class Embedder {
 public:
  explicit Embedder(std::shared_ptr<const Model> model, EmbedOptions options = {});

  // Prefix + tokenize + truncate, as embed() does.
  Encoding tokenize(std::string_view text, TextKind kind) const;
  Embeddings embed(std::span<const std::string> texts, TextKind kind) const;
  // Embeds already tokenized sequences (each `<s> … </s>`, within max_tokens).  Sequences are sorted by length and
  // grouped into token-budgeted batches; results come back in input order.  `normalize` overrides the option.
  Embeddings embed_tokens(std::span<const std::vector<TokenId>> sequences) const;
  Embeddings embed_tokens(std::span<const std::vector<TokenId>> sequences, bool normalize) const;

  // BGE-M3 lexical weights / ColBERT vectors of each text, in input order (see embed/bge_m3_heads.h): the same
  // tokens as embed() encodes, all rows of the last layer.  Throw Error when the model has no such head.
  std::vector<LexicalWeights> lexical_weights(std::span<const std::string> texts, TextKind kind) const;
  std::vector<MultiVector> colbert_vectors(std::span<const std::string> texts, TextKind kind) const;

  const Model& model() const { return *model_; }
  const ModelSpec& spec() const { return model_->spec; }
  std::size_t dimension() const { return static_cast<std::size_t>(model_->spec.dimension()); }
  std::size_t max_tokens() const;

 private:
  // Runs `texts` through the encoder in token-budgeted batches and calls visit(index, ids, last hidden rows) for
  // each.
  template <typename Visit>
  void for_each_hidden_state(std::span<const std::string> texts, TextKind kind, Visit visit) const;

  std::shared_ptr<const Model> model_;
  EmbedOptions options_;
};

// Cross-encoder relevance scores for (query, passage) pairs.
class CrossEncoder {
 public:
  explicit CrossEncoder(std::shared_ptr<const Model> model, std::size_t max_tokens = 0,
                        std::size_t batch_tokens = kDefaultBatchTokens);

  // Raw logits (first label), one per passage, in input order.  Sigmoid them for a 0..1 relevance.
  std::vector<float> score(std::string_view query, std::span<const std::string> passages) const;
  const Model& model() const { return *model_; }
  std::size_t max_tokens() const { return max_tokens_; }

 private:
  std::shared_ptr<const Model> model_;
  std::size_t max_tokens_;
  std::size_t batch_tokens_;
};

float sigmoid(float logit);

// Groups the indices of `lengths` into batches, longest first, each within `budget` total tokens (a single longer
// sequence forms its own batch).  Sorting keeps similar lengths together so attention work is balanced.
std::vector<std::vector<std::size_t>> length_sorted_batches(std::span<const std::size_t> lengths, std::size_t budget);

}  // namespace ksearch
