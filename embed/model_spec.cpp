#include "embed/model_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "base/env.h"
#include "base/error.h"
#include "base/files.h"

namespace ksearch {
namespace fs = std::filesystem;

std::string_view architecture_name(Architecture architecture) {
  return architecture == Architecture::Bert ? "bert" : "xlm-roberta";
}

std::string_view pooling_name(Pooling pooling) { return pooling == Pooling::Cls ? "cls" : "mean"; }

TransformerConfig TransformerConfig::from_json(const Json& json, const std::string& where) {
  TransformerConfig config;
  const auto model_type = required_field<std::string>(json, "model_type", where);
  if (model_type == "bert") {
    config.architecture = Architecture::Bert;
  } else if (model_type == "xlm-roberta" || model_type == "roberta") {
    config.architecture = Architecture::XlmRoberta;
  } else {
    fail(where, ": model_type '", model_type, "' is not supported (ksearch runs bert and xlm-roberta encoders)");
  }
  const auto positive = [&](std::string_view key, int limit) {
    const auto value = required_field<long long>(json, key, where);
    if (value <= 0 || value > limit) fail(where, ": ", key, " = ", value, " is out of range (1..", limit, ")");
    return static_cast<int>(value);
  };
  config.hidden_size = positive("hidden_size", 16384);
  config.num_layers = positive("num_hidden_layers", 256);
  config.num_heads = positive("num_attention_heads", 1024);
  config.intermediate_size = positive("intermediate_size", 65536);
  config.vocab_size = positive("vocab_size", 4'000'000);
  config.max_position_embeddings = positive("max_position_embeddings", 1 << 20);
  config.type_vocab_size = json.contains("type_vocab_size") ? positive("type_vocab_size", 1024) : 1;
  if (config.hidden_size % config.num_heads != 0)
    fail(where, ": hidden_size ", config.hidden_size, " is not divisible by num_attention_heads ", config.num_heads);
  config.pad_token_id = static_cast<int>(optional_field<long long>(json, "pad_token_id", where).value_or(0));
  if (config.pad_token_id < 0 || config.pad_token_id >= config.vocab_size)
    fail(where, ": pad_token_id ", config.pad_token_id, " is outside the vocabulary");
  config.layer_norm_eps = static_cast<float>(optional_field<double>(json, "layer_norm_eps", where).value_or(1e-12));
  if (!(config.layer_norm_eps > 0 && config.layer_norm_eps < 1))
    fail(where, ": layer_norm_eps ", config.layer_norm_eps, " is out of range");
  const auto activation = optional_field<std::string>(json, "hidden_act", where).value_or("gelu");
  if (activation != "gelu")
    fail(where, ": hidden_act '", activation, "' is not supported (ksearch implements exact erf \"gelu\")");
  const auto position_type = optional_field<std::string>(json, "position_embedding_type", where).value_or("absolute");
  if (position_type != "absolute")
    fail(where, ": position_embedding_type '", position_type, "' is not supported (only \"absolute\")");
  if (config.max_tokens() < 2)
    fail(where, ": max_position_embeddings ", config.max_position_embeddings, " is too small");

  bool classifier = false;
  if (auto architectures = json.find("architectures"); architectures != json.end() && architectures->is_array())
    for (const auto& name : *architectures)
      if (name.is_string() && name.get<std::string>().ends_with("ForSequenceClassification")) classifier = true;
  if (classifier) {
    config.num_labels = 1;
    if (auto labels = json.find("id2label"); labels != json.end() && labels->is_object() && !labels->empty())
      config.num_labels = static_cast<int>(labels->size());
    if (auto count = optional_field<long long>(json, "num_labels", where)) config.num_labels = static_cast<int>(*count);
    if (config.num_labels <= 0 || config.num_labels > 1024)
      fail(where, ": num_labels ", config.num_labels, " is out of range");
  }
  return config;
}

const std::vector<ModelPreset>& model_presets() {
  using enum ModelKind;
  using enum Pooling;
  static const std::vector<ModelPreset> kPresets = {
      {"dragonkue/multilingual-e5-small-ko", "e5-small-ko", Embedding, Mean, "query: ", "passage: ", 512, 384, 512},
      {"exp-models/dragonkue-KoEn-E5-Tiny", "e5-tiny-ko", Embedding, Mean, "query: ", "passage: ", 512, 384, 512},
      {"nlpai-lab/KURE-v1", "kure", Embedding, Cls, "", "", 8192, 1024, 1024},
      {"dragonkue/BGE-m3-ko", "bge-m3-ko", Embedding, Cls, "", "", 8192, 1024, 1024},
      {"nlpai-lab/KoE5", "koe5", Embedding, Mean, "query: ", "passage: ", 512, 1024, 512},
      {"BAAI/bge-m3", "bge-m3", Embedding, Cls, "", "", 8192, 1024, 1024},
      {"intfloat/multilingual-e5-small", "e5-small", Embedding, Mean, "query: ", "passage: ", 512, 384, 512},
      {"intfloat/multilingual-e5-base", "e5-base", Embedding, Mean, "query: ", "passage: ", 512, 768, 512},
      {"intfloat/multilingual-e5-large", "e5-large", Embedding, Mean, "query: ", "passage: ", 512, 1024, 512},
      {"dragonkue/bge-reranker-v2-m3-ko", "reranker-ko", CrossEncoder, Cls, "", "", 1024, 1, 0},
      {"BAAI/bge-reranker-v2-m3", "bge-reranker", CrossEncoder, Cls, "", "", 1024, 1, 0},
      // WordPiece Korean sentence-transformers (klue/roberta-base and KR-BERT V40K): mean pooling, no prompts, trained
      // on 128-token pairs (their sentence_bert_config.json), positions up to 512.
      {"jhgan/ko-sroberta-multitask", "ko-sroberta", Embedding, Mean, "", "", 128, 768, 128},
      {"snunlp/KR-SBERT-V40K-klueNLI-augSTS", "kr-sbert", Embedding, Mean, "", "", 128, 768, 128},
  };
  return kPresets;
}

const ModelPreset* find_preset(std::string_view name) {
  for (const auto& preset : model_presets()) {
    const std::string_view folder = preset.id.substr(preset.id.find('/') + 1);
    if (name == preset.id || name == preset.alias || name == folder) return &preset;
  }
  return nullptr;
}

std::string canonical_model_id(std::string_view name) {
  const ModelPreset* preset = find_preset(name);
  return preset != nullptr && (name == preset->id || name == preset->alias) ? std::string(preset->id)
                                                                            : std::string(name);
}

std::string hf_cache_folder_name(std::string_view id) {
  std::string out = "models--";
  for (char c : id) out += c == '/' ? std::string("--") : std::string(1, c);
  return out;
}

ModelSpec load_model_spec(const fs::path& dir, const std::string& id) {
  ModelSpec spec;
  spec.id = id;
  spec.dir = dir;
  const auto config_path = dir / "config.json";
  if (!fs::exists(config_path)) fail(config_path.string(), ": missing (not a Hugging Face model folder?)");
  spec.config = TransformerConfig::from_json(read_json_file(config_path), config_path.string());
  spec.kind = spec.config.num_labels > 0 ? ModelKind::CrossEncoder : ModelKind::Embedding;

  const ModelPreset* preset = find_preset(id);
  if (preset == nullptr) preset = find_preset(dir.filename().string());
  if (preset != nullptr) {
    spec.pooling = preset->pooling;
    spec.query_prefix = preset->query_prefix;
    spec.passage_prefix = preset->passage_prefix;
    spec.max_seq_length = preset->max_seq_length;
    if (preset->default_chunk_tokens > 0) spec.default_chunk_tokens = preset->default_chunk_tokens;
  } else {
    spec.pooling = spec.config.architecture == Architecture::XlmRoberta ? Pooling::Cls : Pooling::Mean;
    spec.max_seq_length = std::min(512, spec.config.max_tokens());
  }

  // sentence-transformers files, when present, describe the folder exactly.
  const auto modules_path = dir / "modules.json";
  fs::path pooling_dir = dir / "1_Pooling";
  if (fs::exists(modules_path)) {
    const Json modules = read_json_file(modules_path);
    if (!modules.is_array()) fail(modules_path.string(), ": expected a JSON array of modules");
    spec.normalize = false;
    for (const auto& module : modules) {
      const auto type = optional_field<std::string>(module, "type", modules_path.string()).value_or("");
      if (type.ends_with("Normalize")) spec.normalize = true;
      if (type.ends_with("Pooling"))
        pooling_dir = dir / optional_field<std::string>(module, "path", modules_path.string()).value_or("1_Pooling");
    }
  }
  const auto pooling_path = pooling_dir / "config.json";
  if (fs::exists(pooling_path)) {
    const Json pooling = read_json_file(pooling_path);
    const auto flag = [&](const char* key) { return pooling.value(key, false); };
    if (flag("pooling_mode_cls_token")) {
      spec.pooling = Pooling::Cls;
    } else if (flag("pooling_mode_mean_tokens")) {
      spec.pooling = Pooling::Mean;
    } else {
      fail(pooling_path.string(), ": unsupported pooling mode (ksearch supports pooling_mode_cls_token and ",
           "pooling_mode_mean_tokens)");
    }
    if (pooling.contains("include_prompt") && !pooling.value("include_prompt", true))
      fail(pooling_path.string(), ": include_prompt=false is not supported");
  }
  const auto st_config_path = dir / "sentence_bert_config.json";
  if (fs::exists(st_config_path)) {
    const Json st_config = read_json_file(st_config_path);
    if (auto length = optional_field<long long>(st_config, "max_seq_length", st_config_path.string())) {
      if (*length < 2) fail(st_config_path.string(), ": max_seq_length ", *length, " is too small");
      spec.max_seq_length = static_cast<int>(std::min<long long>(*length, 1 << 20));
    }
  }
  const auto prompts_path = dir / "config_sentence_transformers.json";
  if (fs::exists(prompts_path)) {
    const Json prompts = read_json_file(prompts_path).value("prompts", Json::object());
    if (prompts.is_object()) {
      if (auto query = prompts.find("query"); query != prompts.end() && query->is_string())
        spec.query_prefix = query->get<std::string>();
      for (const char* key : {"passage", "document"})
        if (auto passage = prompts.find(key); passage != prompts.end() && passage->is_string())
          spec.passage_prefix = passage->get<std::string>();
    }
  }
  spec.max_seq_length = std::min(spec.max_seq_length, spec.config.max_tokens());
  spec.default_chunk_tokens = std::min(spec.default_chunk_tokens, spec.max_seq_length);
  return spec;
}

fs::path hub_cache_dir() {
  if (const auto hub = env::text("HF_HUB_CACHE")) return *hub;
  if (const auto home = env::text("HF_HOME")) return fs::path(*home) / "hub";
  if (const fs::path home = env::home(); !home.empty()) return home / ".cache" / "huggingface" / "hub";
  return {};
}

ModelSearchPaths ModelSearchPaths::from_environment() {
  ModelSearchPaths paths;
  if (const auto roots = env::text("KSEARCH_MODELS")) {
    std::string_view rest = *roots;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto entry = rest.substr(0, colon);
      if (!entry.empty()) paths.roots.emplace_back(entry);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  paths.offline = env::flag("HF_HUB_OFFLINE").value_or(false);
  paths.hf_hub = hub_cache_dir();
  return paths;
}

namespace {

bool is_model_dir(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / "config.json", error);
}

// snapshots/<refs/main> of a Hugging Face cache repo folder, else the most recently modified snapshot.
std::optional<fs::path> hf_snapshot(const fs::path& repo) {
  std::error_code error;
  if (!fs::is_directory(repo / "snapshots", error)) return std::nullopt;
  const auto ref = repo / "refs" / "main";
  if (fs::exists(ref, error)) {
    std::string revision = read_file(ref);
    while (!revision.empty() && std::isspace(static_cast<unsigned char>(revision.back()))) revision.pop_back();
    const auto snapshot = repo / "snapshots" / revision;
    if (!revision.empty() && revision.find('/') == std::string::npos && is_model_dir(snapshot)) return snapshot;
  }
  std::optional<fs::path> newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(repo / "snapshots", error)) {
    if (!is_model_dir(entry.path())) continue;
    const auto time = fs::last_write_time(entry.path(), error);
    if (!newest || time > newest_time) newest = entry.path(), newest_time = time;
  }
  return newest;
}

// Edit distance with adjacent transpositions (optimal string alignment), ASCII case-insensitive: a mistyped model
// name differs mostly by case, a letter or two, or two swapped letters ("kuer" for "kure").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> closest_preset_name(std::string_view name) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 4) + 1;
  for (const auto& preset : model_presets()) {
    const std::string_view folder = preset.id.substr(preset.id.find('/') + 1);
    for (const std::string_view candidate : {preset.alias, preset.id, folder}) {
      const std::size_t distance = edit_distance(name, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate == preset.id ? cat("'", preset.id, "'") : cat("'", candidate, "' (", preset.id, ")");
      }
    }
  }
  return best;
}

namespace {

// A hub id is exactly ORG/NAME; paths start with ./, ../, / or ~, have more than one slash, or begin with a folder
// that exists here (a mistyped "models/KURE-v1" should not become a hub id to pull).
bool looks_like_path(std::string_view name) {
  if (name.starts_with('.') || name.starts_with('/') || name.starts_with('~')) return true;
  if (name.find('\\') != std::string_view::npos || name.ends_with('/')) return true;
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) return false;
  if (name.find('/', slash + 1) != std::string_view::npos) return true;
  std::error_code error;
  return fs::is_directory(fs::path(name.substr(0, slash)), error);
}

[[noreturn]] void fail_missing_folder(std::string_view name) {
  const fs::path path(name);
  fs::path existing = path.parent_path();
  std::error_code error;
  while (!existing.empty() && !fs::is_directory(existing, error)) existing = existing.parent_path();
  std::string message = cat("model folder '", name, "' does not exist");
  if (!existing.empty()) {
    message += cat(" ('", existing.string(), "' does)");
    // The entry of the deepest existing folder nearest to the next missing component of the path.
    const fs::path wanted = *path.lexically_relative(existing).begin();
    std::optional<std::string> nearest;
    std::size_t nearest_distance = std::max<std::size_t>(2, wanted.string().size() / 4) + 1;
    for (const auto& entry : fs::directory_iterator(existing, error)) {
      const std::string candidate = entry.path().filename().string();
      if (const std::size_t distance = edit_distance(wanted.string(), candidate); distance < nearest_distance)
        nearest_distance = distance, nearest = (existing / candidate).string();
    }
    if (nearest) message += cat("; did you mean '", *nearest, "'?");
  }
  message += "\nname a folder holding config.json, the tokenizer and the weights of a Hugging Face model";
  throw Error(message);
}

}  // namespace

ResolvedModel resolve_model(std::string_view name, const ModelSearchPaths& paths) {
  if (name.empty()) fail("empty model name");
  const std::string id = canonical_model_id(name);
  std::error_code error;
  if (fs::is_directory(fs::path(name), error)) {
    if (!is_model_dir(fs::path(name))) fail(name, ": folder has no config.json (not a Hugging Face model folder)");
    const ModelPreset* preset = find_preset(fs::path(name).filename().string());
    return {preset != nullptr ? std::string(preset->id) : std::string(name), fs::path(name)};
  }
  if (find_preset(name) == nullptr && looks_like_path(name)) fail_missing_folder(name);
  std::vector<std::string> looked;
  const std::string folder = id.substr(id.find('/') + 1);
  for (const auto& root : paths.roots) {
    for (const fs::path& candidate : {root / id, root / (id.substr(0, id.find('/')) + "--" + folder), root / folder}) {
      looked.push_back(candidate.string());
      if (is_model_dir(candidate)) return {id, candidate};
    }
    const auto repo = root / hf_cache_folder_name(id);
    looked.push_back(repo.string());
    if (auto snapshot = hf_snapshot(repo)) return {id, *snapshot};
  }
  if (!paths.hf_hub.empty()) {
    const auto repo = paths.hf_hub / hf_cache_folder_name(id);
    looked.push_back(repo.string());
    if (auto snapshot = hf_snapshot(repo)) return {id, *snapshot};
  }
  std::string message = cat("model '", name, "' not found; looked in:");
  for (const auto& place : looked) message += "\n  " + place;
  if (paths.offline) {
    message += cat("\nHF_HUB_OFFLINE is set, so nothing is downloaded: name a model folder instead, e.g. --model ",
                   "./models/", folder, " (a folder with config.json, the tokenizer and the weights)");
  } else if (id.find('/') != std::string::npos) {
    message += cat("\nfetch it with: ksearch model pull ", id);
  } else {
    message += "\nname a model folder, a Hugging Face id (ORG/NAME) or an alias (see `ksearch model list`)";
  }
  if (find_preset(name) == nullptr)
    if (const auto suggestion = closest_preset_name(name)) message += cat("\ndid you mean ", *suggestion, "?");
  throw Error(message);
}

}  // namespace ksearch
