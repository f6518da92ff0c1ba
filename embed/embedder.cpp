#include "embed/embedder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "base/error.h"
#include "embed/ops.h"
#include "embed/pooling.h"

namespace ksearch {

std::vector<std::vector<std::size_t>> length_sorted_batches(std::span<const std::size_t> lengths, std::size_t budget) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<std::size_t>> batches;
  std::size_t used = 0;
  for (std::size_t index : order) {
    if (batches.empty() || used + lengths[index] > budget) {
      batches.emplace_back();
      used = 0;
    }
    batches.back().push_back(index);
    used += lengths[index];
  }
  return batches;
}

float sigmoid(float logit) { return 1.0f / (1.0f + std::exp(-logit)); }

void Embeddings::normalize_rows() { ops::l2_normalize_rows(values.data(), size(), dimension); }

std::vector<float> Embeddings::leading(std::size_t i, std::size_t components, bool normalize) const {
  KSEARCH_ASSERT(i < size() && components <= dimension);
  const auto full = row(i);
  std::vector<float> kept(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(components));
  if (normalize) ops::l2_normalize_rows(kept.data(), 1, kept.size());
  return kept;
}

Embedder::Embedder(std::shared_ptr<const Model> model, EmbedOptions options)
    : model_(std::move(model)), options_(options) {
  if (model_->spec.kind != ModelKind::Embedding)
    fail(model_->spec.id, " is a cross-encoder (reranker), not an embedding model");
}

std::size_t Embedder::max_tokens() const {
  const auto model_limit = static_cast<std::size_t>(model_->spec.max_seq_length);
  return options_.max_tokens == 0 ? model_limit : std::min(options_.max_tokens, model_limit);
}

Encoding Embedder::tokenize(std::string_view text, TextKind kind) const {
  const ModelSpec& spec = model_->spec;
  const std::string& prefix = kind == TextKind::Query     ? spec.query_prefix
                              : kind == TextKind::Passage ? spec.passage_prefix
                                                          : std::string();
  if (prefix.empty()) return model_->tokenizer.encode(text, max_tokens());
  std::string prefixed;
  prefixed.reserve(prefix.size() + text.size());
  prefixed.append(prefix).append(text);
  return model_->tokenizer.encode(prefixed, max_tokens());
}

Embeddings Embedder::embed(std::span<const std::string> texts, TextKind kind) const {
  std::vector<std::vector<TokenId>> sequences;
  std::vector<bool> truncated;
  sequences.reserve(texts.size());
  for (const auto& text : texts) {
    Encoding encoding = tokenize(text, kind);
    truncated.push_back(encoding.truncated());
    sequences.push_back(std::move(encoding.ids));
  }
  Embeddings out = embed_tokens(sequences);
  out.truncated = std::move(truncated);
  return out;
}

template <typename Visit>
void Embedder::for_each_hidden_state(std::span<const std::string> texts, TextKind kind, Visit visit) const {
  std::vector<std::vector<TokenId>> sequences;
  std::vector<std::size_t> lengths;
  for (const auto& text : texts) {
    sequences.push_back(tokenize(text, kind).ids);
    lengths.push_back(sequences.back().size());
  }
  for (const auto& batch : length_sorted_batches(lengths, options_.batch_tokens)) {
    std::vector<std::vector<TokenId>> group;
    for (std::size_t index : batch) group.push_back(sequences[index]);
    const PackedHidden hidden = model_->encoder.forward(group, TransformerEncoder::Rows::All);
    for (std::size_t i = 0; i < batch.size(); ++i) visit(batch[i], group[i], hidden.row(hidden.offsets[i]));
  }
}

std::vector<LexicalWeights> Embedder::lexical_weights(std::span<const std::string> texts, TextKind kind) const {
  if (!model_->heads.has_lexical())
    fail(model_->spec.id, " has no lexical-weight head (sparse_linear.pt): sparse output needs a BGE-M3 model");
  // FlagEmbedding drops the tokenizer's cls, eos, pad and unk tokens.
  const Tokenizer& tokenizer = model_->tokenizer;
  const TokenId dropped[] = {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id(), tokenizer.unk_id()};
  std::vector<LexicalWeights> out(texts.size());
  for_each_hidden_state(texts, kind, [&](std::size_t index, const std::vector<TokenId>& ids, const float* rows) {
    out[index] = model_->heads.lexical_weights(ids, rows, dropped);
  });
  return out;
}

std::vector<MultiVector> Embedder::colbert_vectors(std::span<const std::string> texts, TextKind kind) const {
  if (!model_->heads.has_colbert())
    fail(model_->spec.id, " has no ColBERT head (colbert_linear.pt): colbert output needs a BGE-M3 model");
  std::vector<MultiVector> out(texts.size());
  for_each_hidden_state(texts, kind, [&](std::size_t index, const std::vector<TokenId>& ids, const float* rows) {
    out[index] = model_->heads.colbert_vectors(rows, ids.size());
  });
  return out;
}

Embeddings Embedder::embed_tokens(std::span<const std::vector<TokenId>> sequences) const {
  return embed_tokens(sequences, options_.normalize);
}

Embeddings Embedder::embed_tokens(std::span<const std::vector<TokenId>> sequences, bool normalize) const {
  Embeddings out;
  out.dimension = dimension();
  out.values.resize(sequences.size() * out.dimension);
  out.token_counts.resize(sequences.size());
  out.truncated.assign(sequences.size(), false);
  std::vector<std::size_t> lengths;
  for (const auto& ids : sequences) {
    if (ids.size() > max_tokens()) fail("sequence of ", ids.size(), " tokens exceeds max_tokens ", max_tokens());
    lengths.push_back(ids.size());
  }
  for (const auto& batch : length_sorted_batches(lengths, options_.batch_tokens)) {
    std::vector<std::vector<TokenId>> group;
    group.reserve(batch.size());
    for (std::size_t index : batch) group.push_back(sequences[index]);
    const PackedHidden hidden = model_->encoder.forward(group, rows_read_by(model_->spec.pooling));
    std::vector<float> pooled = pool(hidden, model_->spec.pooling);
    if (normalize) ops::l2_normalize_rows(pooled.data(), batch.size(), out.dimension);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::memcpy(out.values.data() + batch[i] * out.dimension, pooled.data() + i * out.dimension,
                  out.dimension * sizeof(float));
      out.token_counts[batch[i]] = lengths[batch[i]];
    }
  }
  return out;
}

CrossEncoder::CrossEncoder(std::shared_ptr<const Model> model, std::size_t max_tokens, std::size_t batch_tokens)
    : model_(std::move(model)), batch_tokens_(batch_tokens) {
  if (model_->spec.kind != ModelKind::CrossEncoder)
    fail(model_->spec.id, " is an embedding model, not a cross-encoder (its config.json has no ",
         "*ForSequenceClassification architecture)");
  const auto limit = static_cast<std::size_t>(model_->spec.max_seq_length);
  max_tokens_ = max_tokens == 0 ? limit : std::min(max_tokens, limit);
}

std::vector<float> CrossEncoder::score(std::string_view query, std::span<const std::string> passages) const {
  std::vector<std::vector<TokenId>> sequences;
  std::vector<std::vector<std::int32_t>> type_ids;  // BERT cross-encoders give the passage segment 1
  std::vector<std::size_t> lengths;
  for (const auto& passage : passages) {
    Encoding pair = model_->tokenizer.encode_pair(query, passage, max_tokens_);
    sequences.push_back(std::move(pair.ids));
    type_ids.push_back(std::move(pair.type_ids));
    lengths.push_back(sequences.back().size());
  }
  std::vector<float> scores(passages.size());
  const auto labels = static_cast<std::size_t>(model_->spec.config.num_labels);
  for (const auto& batch : length_sorted_batches(lengths, batch_tokens_)) {
    std::vector<std::vector<TokenId>> group;
    std::vector<std::vector<std::int32_t>> group_types;
    for (std::size_t index : batch) {
      group.push_back(sequences[index]);
      group_types.push_back(type_ids[index]);
    }
    const std::vector<float> logits =
        model_->encoder.classify(model_->encoder.forward(group, TransformerEncoder::Rows::First, group_types));
    for (std::size_t i = 0; i < batch.size(); ++i) scores[batch[i]] = logits[i * labels];
  }
  return scores;
}

}  // namespace ksearch
