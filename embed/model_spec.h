// What a model folder is: its transformer configuration (config.json), how sentence embeddings are made from it
// (sentence-transformers files or a built-in preset), and where it lives (local path, $KSEARCH_MODELS, or the
// Hugging Face cache).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace ksearch {

enum class Architecture { Bert, XlmRoberta };
enum class Pooling { Cls, Mean };
enum class ModelKind { Embedding, CrossEncoder };

std::string_view architecture_name(Architecture architecture);
std::string_view pooling_name(Pooling pooling);

// config.json of a BertModel / XLMRobertaModel (or *ForSequenceClassification) checkpoint.
struct TransformerConfig {
  Architecture architecture = Architecture::Bert;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;
  int pad_token_id = 0;
  float layer_norm_eps = 1e-12f;
  int num_labels = 0;  // > 0 for sequence-classification checkpoints (cross-encoders)

  // Validates ranges (positive sizes, hidden divisible by heads, supported activation); `where` names the file.
  static TransformerConfig from_json(const Json& json, const std::string& where);
  int head_dim() const { return hidden_size / num_heads; }
  // First position id: XLM-R positions start at padding_idx + 1, BERT at 0.
  int position_offset() const { return architecture == Architecture::XlmRoberta ? pad_token_id + 1 : 0; }
  // Longest sequence the position table allows.
  int max_tokens() const { return max_position_embeddings - position_offset(); }
};

// Built-in knowledge of the seed models (their folders do not always carry sentence-transformers prompts).
struct ModelPreset {
  std::string_view id;
  std::string_view alias;
  ModelKind kind;
  Pooling pooling;
  std::string_view query_prefix;
  std::string_view passage_prefix;
  int max_seq_length;
  int dimension;
  int default_chunk_tokens;
};

const std::vector<ModelPreset>& model_presets();
// Finds a preset by id ("nlpai-lab/KURE-v1"), alias ("kure") or folder name ("KURE-v1").
const ModelPreset* find_preset(std::string_view name);

// The default models of ksearch.
inline constexpr std::string_view kDefaultEmbeddingModel = "dragonkue/multilingual-e5-small-ko";
inline constexpr std::string_view kDefaultRerankModel = "dragonkue/bge-reranker-v2-m3-ko";

struct ModelSpec {
  std::string id;  // hub id when known, else the folder path
  std::filesystem::path dir;
  TransformerConfig config;
  ModelKind kind = ModelKind::Embedding;
  Pooling pooling = Pooling::Cls;
  bool normalize = true;
  std::string query_prefix;
  std::string passage_prefix;
  int max_seq_length = 512;
  int default_chunk_tokens = 512;

  int dimension() const { return config.hidden_size; }
};

// Reads a model folder.  `id` is the name the user gave (hub id or alias) used to find a preset; sentence-
// transformers files in the folder override the preset's pooling, length and prompts.
ModelSpec load_model_spec(const std::filesystem::path& dir, const std::string& id);

// Where models are looked for, in order.
struct ModelSearchPaths {
  std::vector<std::filesystem::path> roots;  // $KSEARCH_MODELS entries (ORG/NAME or ORG--NAME below them)
  std::filesystem::path hf_hub;              // $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub
  bool offline = false;                      // $HF_HUB_OFFLINE: hints name local folders, not `model pull`
  static ModelSearchPaths from_environment();
};

struct ResolvedModel {
  std::string id;  // canonical hub id when the name was an id or alias
  std::filesystem::path dir;
};

// Resolves a user's model name: an alias ("kure"), an existing folder, or a hub id looked up in $KSEARCH_MODELS
// then the Hugging Face cache (snapshot named by refs/main, else the newest).  A missing model throws Error saying
// where it looked and which `ksearch model pull` fetches it (offline: a local-folder example), with the nearest
// preset name when the name looks mistyped.  A name that looks like a path (./x, /x, ~/x, a/b/c, or ORG/NAME whose
// ORG is a folder here) and does not exist is reported as a missing folder, never as a hub id.
ResolvedModel resolve_model(std::string_view name,
                            const ModelSearchPaths& paths = ModelSearchPaths::from_environment());

// The preset alias, id or folder name nearest to `name` when it is near enough to be a typo of it (edit distance with
// transpositions, case-insensitive), quoted for a message: "'kure' (nlpai-lab/KURE-v1)" or "'BAAI/bge-m3'".
std::optional<std::string> closest_preset_name(std::string_view name);

// Canonical hub id for an alias or id (unchanged when unknown).
std::string canonical_model_id(std::string_view name);

// HF cache folder name of a hub id: "nlpai-lab/KURE-v1" -> "models--nlpai-lab--KURE-v1".
std::string hf_cache_folder_name(std::string_view id);

// The hub cache folder from the environment ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub); empty when
// none of them is set.
std::filesystem::path hub_cache_dir();

}  // namespace ksearch
