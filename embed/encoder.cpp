#include "embed/encoder.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "base/error.h"
#include "embed/attention.h"
#include "embed/linear.h"
#include "embed/ops.h"
#include "embed/packed_cache.h"
#include "embed/tensor_store.h"

namespace ksearch {
namespace {

// What a layer writes for a group's rows, and attention's buffers for each thread it runs on.
struct Workspace {
  // Row t of qkv: token t's query, key and value projections side by side (and Attention::qkv_padding() floats at
  // the end, which attention may read past the last head's values).
  std::vector<float> qkv, context, attention_out, intermediate;
  std::vector<std::uint16_t> qkv_bf16, context_rounded, attention_out_rounded, intermediate_rounded;
  std::vector<Attention::Scratch> scratch;

  std::size_t capacity_bytes() const {
    std::size_t bytes = 0;
    for (const auto* v : {&qkv, &context, &attention_out, &intermediate}) bytes += v->capacity() * sizeof(float);
    for (const auto* v : {&qkv_bf16, &context_rounded, &attention_out_rounded, &intermediate_rounded})
      bytes += v->capacity() * sizeof(std::uint16_t);
    for (const Attention::Scratch& buffers : scratch) bytes += buffers.capacity_bytes();
    return bytes;
  }
};

}  // namespace

// Workspaces kept between forward passes: fresh ones cost a page fault per 4 KiB and a zeroing pass, ~8% of a bf16
// e5-small pass of 8 × 512 tokens.  Those above kKeptBytes (a sequence of thousands of tokens) are freed rather
// than kept, where faulting them in is a small part of the pass.
class TransformerEncoder::WorkspacePool {
 public:
  static constexpr std::size_t kKeptBytes = std::size_t{64} << 20;

  // A workspace taken from the pool (or a new one) for the lease's lifetime.
  class Lease {
   public:
    explicit Lease(WorkspacePool& pool) : pool_(&pool), workspace_(pool.take()) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (workspace_) pool_->give_back(std::move(workspace_));
    }
    Workspace& operator*() const { return *workspace_; }
    Workspace* operator->() const { return workspace_.get(); }

   private:
    WorkspacePool* pool_;
    std::unique_ptr<Workspace> workspace_;
  };

 private:
  std::unique_ptr<Workspace> take() {
    const std::lock_guard lock(mutex_);
    if (idle_.empty()) return std::make_unique<Workspace>();
    std::unique_ptr<Workspace> workspace = std::move(idle_.back());
    idle_.pop_back();
    return workspace;
  }
  void give_back(std::unique_ptr<Workspace> workspace) {
    if (workspace->capacity_bytes() > kKeptBytes) return;
    const std::lock_guard lock(mutex_);
    idle_.push_back(std::move(workspace));
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<Workspace>> idle_;
};

namespace {

// A float32 tensor: a view into the mapped file when stored as aligned F32, else an owned converted copy.
struct FloatTensor {
  const float* data = nullptr;
  std::vector<float> owned;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> stored;  // the checkpoint's bytes in the mapped file
};

const TensorView& require_shape(const TensorStore& store, const std::string& name,
                                const std::vector<std::int64_t>& expected) {
  const TensorView& view = store.require(name);
  if (view.shape != expected) {
    TensorView wanted;
    wanted.shape = expected;
    fail(view.file.string(), ": tensor ", view.name, " has shape ", view.shape_string(), ", config expects ",
         wanted.shape_string());
  }
  return view;
}

FloatTensor bind(const TensorStore& store, const std::string& name, std::vector<std::int64_t> expected) {
  const TensorView& view = require_shape(store, name, expected);
  FloatTensor tensor;
  tensor.shape = std::move(expected);
  tensor.stored = view.bytes;
  const bool aligned = reinterpret_cast<std::uintptr_t>(view.bytes.data()) % alignof(float) == 0;
  if (view.dtype == DType::F32 && aligned) {
    tensor.data = reinterpret_cast<const float*>(view.bytes.data());
  } else {
    tensor.owned = to_float32(view);
    tensor.data = tensor.owned.data();
  }
  return tensor;
}

// The packed-weight cache's layers for this load, and whether any layer had to be packed afresh.
struct Packing {
  std::map<std::string, PackedWeights, std::less<>> cached;
  std::atomic<bool> packed_afresh = false;
};

// A dense layer whose weight stacks the checkpoint's `parts` along the output (each "<part>.weight" [out, in] with
// "<part>.bias" [out]), packed for the chosen precision under `name`: taken from the packed-weight cache when it holds
// them in this CPU's layout, else read from the checkpoint (once, at load) and packed.  `packing` is null for layers
// kept out of the cache.
Linear bind_stacked_dense(const TensorStore& store, const std::string& name, const std::vector<std::string>& parts,
                          int out, int in, const KernelPlan& plan, Packing* packing,
                          Activation activation = Activation::None) {
  std::vector<float> bias;
  for (const std::string& part : parts) {
    const FloatTensor part_bias = bind(store, part + ".bias", {out});
    bias.insert(bias.end(), part_bias.data, part_bias.data + out);
  }
  const auto rows = parts.size() * static_cast<std::size_t>(out), columns = static_cast<std::size_t>(in);
  if (packing != nullptr) {
    for (const std::string& part : parts) require_shape(store, part + ".weight", {out, in});
    if (auto it = packing->cached.find(name); it != packing->cached.end()) {
      try {
        return Linear(it->second, bias.data(), rows, columns, plan, activation);
      } catch (const Error&) {
        // Packed for another layout (the file came from another CPU or oneDNN): packed afresh below.
      }
    }
    packing->packed_afresh = true;
  }
  std::vector<FloatTensor> weights;
  for (const std::string& part : parts) weights.push_back(bind(store, part + ".weight", {out, in}));
  std::vector<float> stacked;
  if (weights.size() > 1)
    for (const FloatTensor& weight : weights) stacked.insert(stacked.end(), weight.data, weight.data + out * in);
  Linear layer(weights.size() > 1 ? stacked.data() : weights.front().data, bias.data(), rows, columns, plan,
               activation);
  for (const FloatTensor& weight : weights) MappedFile::release_pages(weight.stored);  // the packed copy is what runs
  return layer;
}

Linear bind_dense(const TensorStore& store, const std::string& prefix, int out, int in, const KernelPlan& plan,
                  Packing* packing, Activation activation = Activation::None) {
  return bind_stacked_dense(store, prefix, {prefix}, out, in, plan, packing, activation);
}

struct Norm {
  FloatTensor gamma, beta;
};

Norm bind_norm(const TensorStore& store, const std::string& prefix, int width) {
  return {bind(store, prefix + ".weight", {width}), bind(store, prefix + ".bias", {width})};
}

struct Layer {
  // Names of the dense products below "encoder.layer.N.": the checkpoint's, and the packed-weight cache's for the
  // query, key and value projections stacked into one product (one pass over the activations instead of three; a
  // query's 384-column products of e5-small ran at ~110 GFLOPS, the 1,536-column one at ~130).
  static constexpr const char* kQuery = "attention.self.query";
  static constexpr const char* kKey = "attention.self.key";
  static constexpr const char* kValue = "attention.self.value";
  static constexpr const char* kQueryKeyValue = "attention.self.query_key_value";
  static constexpr const char* kAttentionOutput = "attention.output.dense";
  static constexpr const char* kIntermediate = "intermediate.dense";
  static constexpr const char* kOutput = "output.dense";

  Linear query_key_value;  // output row: the query, key and value projections side by side
  Linear attention_output, intermediate, output;
  Norm attention_norm, output_norm;
};

// Writes every layer's packed weights to the cache.  A cache that cannot be written only costs the next load time, so
// the failure is reported and the load goes on.
void save_packed(const PackedWeightCache& cache, const std::vector<Layer>& layers) {
  std::vector<std::pair<std::string, PackedWeights>> packed;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    const Layer& layer = layers[i];
    for (const auto& [name, dense] :
         {std::pair{Layer::kQueryKeyValue, &layer.query_key_value},
          std::pair{Layer::kAttentionOutput, &layer.attention_output},
          std::pair{Layer::kIntermediate, &layer.intermediate}, std::pair{Layer::kOutput, &layer.output}})
      packed.emplace_back(p + name, dense->packed());
  }
  try {
    cache.save(packed);
  } catch (const Error& e) {
    std::cerr << "ksearch: warning: " << e.what()
              << " (the model works; the next load packs its weights again: set KSEARCH_CACHE_DIR to a writable "
                 "folder, or to off)\n";
  }
}

}  // namespace

struct TransformerEncoder::Weights {
  const TensorView* word_embeddings = nullptr;  // looked up row by row, any float dtype
  FloatTensor position_embeddings, token_type_embeddings;
  Norm embedding_norm;
  std::vector<Layer> layers;
  // Classification head (cross-encoders only), kept in fp32: it runs on one token per pair.
  std::optional<Linear> head_dense, head_out;
  Attention attention;

  explicit Weights(const Attention& kernel) : attention(kernel) {}
};

TransformerEncoder::TransformerEncoder(const TransformerConfig& config, std::shared_ptr<const TensorStore> store,
                                       const KernelPlan& plan)
    : config_(config),
      store_(std::move(store)),
      weights_(std::make_unique<Weights>(
          Attention(plan, static_cast<std::size_t>(config.hidden_size), static_cast<std::size_t>(config.num_heads)))),
      plan_(plan),
      workspaces_(std::make_unique<WorkspacePool>()) {
  const TensorStore& s = *store_;
  const int hidden = config.hidden_size;
  const int ffn = config.intermediate_size;
  Weights& w = *weights_;

  const TensorView& words = s.require("embeddings.word_embeddings.weight");
  if (words.shape.size() != 2 || words.shape[0] != config.vocab_size || words.shape[1] != hidden)
    fail(words.file.string(), ": tensor ", words.name, " has shape ", words.shape_string(), ", config expects [",
         config.vocab_size, ",", hidden, "]");
  if (words.dtype != DType::F32 && words.dtype != DType::F16 && words.dtype != DType::BF16)
    fail(words.file.string(), ": tensor ", words.name, " has dtype ", dtype_name(words.dtype),
         ", expected F32, F16 or BF16");
  w.word_embeddings = &words;
  w.position_embeddings = bind(s, "embeddings.position_embeddings.weight", {config.max_position_embeddings, hidden});
  w.token_type_embeddings = bind(s, "embeddings.token_type_embeddings.weight", {config.type_vocab_size, hidden});
  w.embedding_norm = bind_norm(s, "embeddings.LayerNorm", hidden);
  // Where attention runs on oneDNN's sgemm, oneDNN generates its kernels on the first call in a process, a one-off
  // query's largest single cost after the weights: made on a side thread while the weights load.
  std::jthread gemm_warm_up;
  if (w.attention.uses_sgemm()) gemm_warm_up = std::jthread(ops::prepare_gemm);
  // Packing the weights is most of the load time: they come from the packed-weight cache when it has them, and
  // otherwise layers are packed in parallel, each on one thread.  An error is reported for the first failing layer,
  // as a serial load would.
  const PackedWeightCache cache(s, plan.precision);
  Packing packing;
  packing.cached = cache.load();
  std::vector<std::optional<Layer>> layers(static_cast<std::size_t>(config.num_layers));
  std::vector<std::exception_ptr> errors(layers.size());
#pragma omp parallel for num_threads(ops::thread_count()) schedule(dynamic)
  for (int i = 0; i < config.num_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    try {
      layers[static_cast<std::size_t>(i)].emplace(Layer{
          bind_stacked_dense(s, p + Layer::kQueryKeyValue, {p + Layer::kQuery, p + Layer::kKey, p + Layer::kValue},
                             hidden, hidden, plan, &packing),
          bind_dense(s, p + Layer::kAttentionOutput, hidden, hidden, plan, &packing),
          bind_dense(s, p + Layer::kIntermediate, ffn, hidden, plan, &packing, Activation::GeluErf),
          bind_dense(s, p + Layer::kOutput, hidden, ffn, plan, &packing),
          bind_norm(s, p + "attention.output.LayerNorm", hidden), bind_norm(s, p + "output.LayerNorm", hidden)});
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
  for (auto& layer : layers) w.layers.push_back(std::move(*layer));
  packing.cached.clear();
  if (cache.enabled() && packing.packed_afresh) save_packed(cache, w.layers);
  if (config.num_labels > 0) {
    const bool roberta_head = s.find("classifier.out_proj.weight") != nullptr;  // XLMRobertaClassificationHead
    // BertForSequenceClassification: pooler (dense + tanh) then classifier.
    const KernelPlan fp32 = KernelPlan::choose(Precision::Fp32);
    w.head_dense = bind_dense(s, roberta_head ? "classifier.dense" : "pooler.dense", hidden, hidden, fp32, nullptr);
    w.head_out =
        bind_dense(s, roberta_head ? "classifier.out_proj" : "classifier", config.num_labels, hidden, fp32, nullptr);
  }
}

TransformerEncoder::~TransformerEncoder() = default;
TransformerEncoder::TransformerEncoder(TransformerEncoder&&) noexcept = default;

PackedHidden TransformerEncoder::forward(std::span<const std::vector<TokenId>> batch, Rows rows_wanted,
                                         std::span<const std::vector<std::int32_t>> type_ids) const {
  const Weights& w = *weights_;
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const auto ffn = static_cast<std::size_t>(config_.intermediate_size);
  const auto heads = static_cast<std::size_t>(config_.num_heads);
  const std::size_t head_dim = hidden / heads;

  PackedHidden out;
  out.hidden = config_.hidden_size;
  out.offsets.reserve(batch.size() + 1);
  out.offsets.push_back(0);
  for (const auto& ids : batch) {
    if (ids.empty()) fail("cannot encode an empty token sequence");
    if (ids.size() > static_cast<std::size_t>(config_.max_tokens()))
      fail("sequence of ", ids.size(), " tokens exceeds the model's ", config_.max_tokens(), " positions");
    out.offsets.push_back(out.offsets.back() + ids.size());
  }
  const std::size_t tokens = out.offsets.back();
  out.values.resize(tokens * hidden);
  float* x = out.values.data();

  // Embeddings.
  KSEARCH_ASSERT(type_ids.empty() || type_ids.size() == batch.size());
  const std::size_t element = dtype_size(w.word_embeddings->dtype);
  for (std::size_t s = 0; s < batch.size(); ++s) {
    KSEARCH_ASSERT(type_ids.empty() || type_ids[s].size() == batch[s].size());
    for (std::size_t t = 0; t < batch[s].size(); ++t) {
      const std::int32_t type = type_ids.empty() ? 0 : type_ids[s][t];
      if (type < 0 || type >= config_.type_vocab_size)
        fail("token type id ", type, " is outside the model's ", config_.type_vocab_size, " token types");
      const float* token_type = w.token_type_embeddings.data + static_cast<std::size_t>(type) * hidden;
      const TokenId id = batch[s][t];
      if (id < 0 || id >= config_.vocab_size)
        fail("token id ", id, " is outside the model's vocabulary of ", config_.vocab_size);
      float* row = x + (out.offsets[s] + t) * hidden;
      TensorView word_row = *w.word_embeddings;
      word_row.shape = {static_cast<std::int64_t>(hidden)};
      word_row.bytes =
          w.word_embeddings->bytes.subspan(static_cast<std::size_t>(id) * hidden * element, hidden * element);
      if (word_row.dtype == DType::F32)
        std::memcpy(row, word_row.bytes.data(), hidden * sizeof(float));
      else
        std::ranges::copy(to_float32(word_row), row);
      const float* position = w.position_embeddings.data + (t + config_.position_offset()) * hidden;
      for (std::size_t i = 0; i < hidden; ++i) row[i] += position[i] + token_type[i];
    }
  }
  const Attention& attention = w.attention;
  // bf16 products chain in bfloat16: the layer norms also write their rows rounded, for the next product to read,
  // the query/key/value and intermediate products write bfloat16 for attention and the output product, and
  // attention writes its context in bfloat16 for the attention-output product.  The results are those of converting
  // each product's fp32 input, without the conversion passes.
  const bool bf16_chain = plan_.bf16_activations();
  const bool bf16_attention = attention.reads_bf16();
  const bool bf16_through_attention = bf16_chain && bf16_attention;  // the chain runs through our bf16 attention
  std::vector<std::uint16_t> x_rounded(bf16_chain ? tokens * hidden : 0);
  ops::add_layer_norm(x, nullptr, tokens, hidden, w.embedding_norm.gamma.data, w.embedding_norm.beta.data,
                      config_.layer_norm_eps, bf16_chain ? x_rounded.data() : nullptr);

  // The layers run on groups of whole sequences (a sequence longer than a group's tokens is a group of its own), so
  // the working buffers below are a group's size, not the batch's (a third of the peak memory on long batches).
  //
  // With at least two groups per thread, each thread encodes whole groups on its own, its products and attention
  // serial, so no thread waits on another inside a layer; groups of 256 tokens there keep a thread's activations in
  // its core's cache.  Otherwise, and for the groups left over (fewer than the threads), every product and the
  // attention are split over all threads, on groups of 512 tokens: products of 512 rows run at the speed of whole
  // batches.  Measurements: docs/performance-history.md, "Encoder work groups".
  constexpr std::size_t kSharedGroupTokens = 512, kThreadGroupTokens = 256;
  const auto team = static_cast<std::size_t>(ops::thread_count());
  std::vector<std::size_t> group_starts;  // first sequence of each group, then batch.size()
  std::size_t group_rows = 0;             // the largest group's tokens
  const auto form_groups = [&](std::size_t group_tokens) {
    group_starts.assign(1, 0);
    group_rows = 0;
    for (std::size_t s = 1; s <= batch.size(); ++s) {
      const std::size_t rows = out.offsets[s] - out.offsets[group_starts.back()];
      if (s == batch.size() || rows + batch[s].size() > group_tokens) {
        group_rows = std::max(group_rows, rows);
        group_starts.push_back(s);
      }
    }
    return group_starts.size() - 1;
  };
  std::size_t groups = form_groups(kSharedGroupTokens);
  std::size_t whole_groups = 0;  // groups 0 .. whole_groups-1 go to threads whole
  if (team > 1 && groups >= 2 * team) {
    groups = form_groups(kThreadGroupTokens);
    whole_groups = groups - groups % team;
  }

  const std::size_t qkv_width = 3 * hidden;
  std::size_t longest = 0;
  for (const auto& ids : batch) longest = std::max(longest, ids.size());

  // A workspace from the pool, sized for what a layer writes for `rows` rows, with attention's buffers for each of
  // `attention_threads` threads.  Vectors already that size are left as they are, neither reallocated nor zeroed.
  const auto make_workspace = [&](std::size_t rows, int attention_threads) {
    WorkspacePool::Lease lease(*workspaces_);
    Workspace& ws = *lease;
    ws.qkv.resize(bf16_through_attention ? 0 : rows * qkv_width + Attention::qkv_padding());
    ws.context.resize(bf16_through_attention ? 0 : rows * hidden);
    ws.context_rounded.resize(bf16_through_attention ? rows * hidden : 0);
    ws.attention_out.resize(rows * hidden);
    ws.intermediate.resize(bf16_chain ? 0 : rows * ffn);
    ws.attention_out_rounded.resize(bf16_chain ? rows * hidden : 0);
    ws.intermediate_rounded.resize(bf16_chain ? rows * ffn : 0);
    ws.qkv_bf16.resize(bf16_attention ? rows * qkv_width : 0);
    ws.scratch.resize(static_cast<std::size_t>(attention_threads));
    for (Attention::Scratch& buffers : ws.scratch) attention.fit(buffers, longest);
    return lease;
  };

  // Attention of a group's sequences (first_row: the first's row in x), per sequence and head: from ws.qkv (or
  // ws.qkv_bf16) into ws.context (or ws.context_rounded), rows relative to the group.  With first_queries_only, only
  // each sequence's first row attends (to every row) and gets a context row.
  const auto attend = [&](Workspace& ws, std::size_t first_sequence, std::size_t sequences, std::size_t first_row,
                          bool first_queries_only) {
    const std::size_t items = sequences * heads;
    const int attention_team = static_cast<int>(ws.scratch.size());
#pragma omp parallel for num_threads(attention_team) schedule(dynamic) if (attention_team > 1)
    for (std::size_t item = 0; item < items; ++item) {
      const std::size_t sequence = first_sequence + item / heads, column = item % heads * head_dim;
      const std::size_t begin = out.offsets[sequence] - first_row;  // in the group's rows
      AttentionHead head;
      head.length = out.offsets[sequence + 1] - out.offsets[sequence];
      head.queries = first_queries_only ? 1 : head.length;
      head.qkv_stride = qkv_width;
      const std::size_t query = begin * qkv_width + column, context = begin * hidden + column;
      if (bf16_attention)
        head.qkv_bf16 = ws.qkv_bf16.data() + query;
      else
        head.qkv = ws.qkv.data() + query;
      if (bf16_through_attention)
        head.context_bf16 = ws.context_rounded.data() + context;
      else
        head.context = ws.context.data() + context;
      head.context_stride = hidden;
      attention.attend(head, ws.scratch[static_cast<std::size_t>(omp_get_thread_num())]);
    }
  };

  // A group's rows of x (and x_rounded) and where its sequences start among them.
  struct Group {
    std::size_t first_sequence, sequences, first_row, rows;
    float* x;
    std::uint16_t* x_rounded;  // bf16 chains
  };
  const auto group_of = [&](std::size_t group) {
    const std::size_t first_sequence = group_starts[group], sequences = group_starts[group + 1] - first_sequence;
    const std::size_t first_row = out.offsets[first_sequence];
    return Group{first_sequence,
                 sequences,
                 first_row,
                 out.offsets[first_sequence + sequences] - first_row,
                 x + first_row * hidden,
                 bf16_chain ? x_rounded.data() + first_row * hidden : nullptr};
  };

  // The projections and attention of one layer on a group: ws.context (or ws.context_rounded) from its rows of x.
  const auto attend_group = [&](const Layer& layer, const Group& g, Workspace& ws, bool first_queries_only) {
    if (bf16_through_attention)
      layer.query_key_value.forward(g.x_rounded, g.rows, ws.qkv_bf16.data());
    else if (bf16_chain)
      layer.query_key_value.forward(g.x_rounded, g.rows, ws.qkv.data());
    else
      layer.query_key_value.forward(g.x, g.rows, ws.qkv.data());
    if (bf16_attention && !bf16_through_attention)  // int8
      ops::to_bfloat16(ws.qkv.data(), g.rows * qkv_width, ws.qkv_bf16.data());
    attend(ws, g.first_sequence, g.sequences, g.first_row, first_queries_only);
  };

  // The rest of a layer on `rows` rows: x = LN(x + Wo·context), then x = LN(x + W2·gelu(W1·x)); the rounded copies
  // for bf16 chains (x_rounded: the next layer's, null after the last).
  const auto transform = [&](const Layer& layer, std::size_t rows, Workspace& ws, float* x_rows,
                             std::uint16_t* x_rows_rounded) {
    if (bf16_through_attention)
      layer.attention_output.forward(ws.context_rounded.data(), rows, ws.attention_out.data());
    else
      layer.attention_output.forward(ws.context.data(), rows, ws.attention_out.data());
    ops::add_layer_norm(ws.attention_out.data(), x_rows, rows, hidden, layer.attention_norm.gamma.data,
                        layer.attention_norm.beta.data, config_.layer_norm_eps,
                        bf16_chain ? ws.attention_out_rounded.data() : nullptr);
    // GELU fused into the intermediate product.
    if (bf16_chain) {
      layer.intermediate.forward(ws.attention_out_rounded.data(), rows, ws.intermediate_rounded.data());
      layer.output.forward(ws.intermediate_rounded.data(), rows, x_rows);
    } else {
      layer.intermediate.forward(ws.attention_out.data(), rows, ws.intermediate.data());
      layer.output.forward(ws.intermediate.data(), rows, x_rows);
    }
    ops::add_layer_norm(x_rows, ws.attention_out.data(), rows, hidden, layer.output_norm.gamma.data,
                        layer.output_norm.beta.data, config_.layer_norm_eps, x_rows_rounded);
  };

  // Rows::First: the last layer attends per group from each sequence's first row only, and its output product and
  // feed-forward then run once on those rows of the whole batch (first_rows, with their contexts in `tail`), so the
  // weights are streamed once rather than once per group.
  const bool first_rows_only = rows_wanted == Rows::First;
  std::vector<float> first_rows(first_rows_only ? batch.size() * hidden : 0);
  std::optional<WorkspacePool::Lease> tail;
  if (first_rows_only) tail.emplace(make_workspace(batch.size(), 0));

  // One layer on one group's rows.
  const auto encode = [&](const Layer& layer, std::size_t group, Workspace& ws) {
    const Group g = group_of(group);
    const bool first_queries_only = first_rows_only && &layer == &w.layers.back();
    attend_group(layer, g, ws, first_queries_only);
    if (!first_queries_only) {
      transform(layer, g.rows, ws, g.x, g.x_rounded);
      return;
    }
    for (std::size_t i = 0; i < g.sequences; ++i) {
      const std::size_t row = out.offsets[g.first_sequence + i] - g.first_row, to = (g.first_sequence + i) * hidden;
      if (bf16_through_attention)
        std::memcpy((*tail)->context_rounded.data() + to, ws.context_rounded.data() + row * hidden,
                    hidden * sizeof(std::uint16_t));
      else
        std::memcpy((*tail)->context.data() + to, ws.context.data() + row * hidden, hidden * sizeof(float));
      std::memcpy(first_rows.data() + to, g.x + row * hidden, hidden * sizeof(float));
    }
  };

  if (whole_groups > 0) {
    std::exception_ptr error;
#pragma omp parallel num_threads(static_cast <int>(team))
    {
      omp_set_num_threads(1);  // this thread's products (oneDNN) and ops run serially
      try {
        const WorkspacePool::Lease ws = make_workspace(group_rows, 1);
#pragma omp for schedule(dynamic, 1)
        for (std::size_t group = 0; group < whole_groups; ++group)
          for (const Layer& layer : w.layers) encode(layer, group, *ws);
      } catch (...) {
#pragma omp critical(ksearch_encoder_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
  if (whole_groups < groups) {
    // Layer by layer, so each layer's weights are read while they are still in cache.
    const WorkspacePool::Lease ws = make_workspace(group_rows, static_cast<int>(team));
    for (const Layer& layer : w.layers)
      for (std::size_t group = whole_groups; group < groups; ++group) encode(layer, group, *ws);
  }
  if (first_rows_only) {
    transform(w.layers.back(), batch.size(), **tail, first_rows.data(), nullptr);
    out.values = std::move(first_rows);
    std::iota(out.offsets.begin(), out.offsets.end(), std::size_t{0});
  }
  return out;
}

std::size_t TransformerEncoder::dense_weight_bytes() const {
  std::size_t bytes = 0;
  for (const Layer& layer : weights_->layers)
    for (const Linear* dense : {&layer.query_key_value, &layer.attention_output, &layer.intermediate, &layer.output}) {
      const PackedWeights packed = dense->packed();
      bytes += packed.bytes.size() + packed.scales.size_bytes();
    }
  return bytes;
}

std::vector<float> TransformerEncoder::classify(const PackedHidden& hidden_states) const {
  const Weights& w = *weights_;
  if (!w.head_dense)
    fail("model has no sequence-classification head (config.json declares no *ForSequenceClassification)");
  const std::size_t batch = hidden_states.offsets.size() - 1;
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  std::vector<float> first(batch * hidden), dense(batch * hidden);
  for (std::size_t s = 0; s < batch; ++s)
    std::memcpy(first.data() + s * hidden, hidden_states.row(hidden_states.offsets[s]), hidden * sizeof(float));
  w.head_dense->forward(first.data(), batch, dense.data());
  ops::tanh_inplace(dense.data(), dense.size());
  std::vector<float> logits(batch * static_cast<std::size_t>(config_.num_labels));
  w.head_out->forward(dense.data(), batch, logits.data());
  return logits;
}

}  // namespace ksearch
