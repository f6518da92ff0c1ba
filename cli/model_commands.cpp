#include <filesystem>
#include <iostream>
#include <memory>

#include "base/json.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "embed/model_hub.h"
#include "embed/model_spec.h"
#include "embed/tensor_store.h"

namespace ksearch::cli {
namespace fs = std::filesystem;
namespace {

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

void run_pull(const std::string& name, const std::string& revision) {
  PullOptions options;
  options.revision = revision;
  const bool tty = is_terminal(stderr);
  if (tty)
    options.progress = [](const PullProgress& p) {
      const double fraction = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
      const int filled = static_cast<int>(fraction * 30);
      std::fprintf(stderr, "\r\x1b[K%-28.28s [%-30s] %s / %s  %.1f MB/s", p.file.c_str(),
                   std::string(static_cast<std::size_t>(filled), '#').c_str(), megabytes(p.done).c_str(),
                   megabytes(p.total).c_str(), p.seconds > 0 ? static_cast<double>(p.done) / 1e6 / p.seconds : 0.0);
    };
  const std::string id = canonical_model_id(name);
  const PullResult result = pull_model(id, options);
  if (tty) std::fprintf(stderr, "\r\x1b[K");
  std::cout << "pulled " << id << (result.commit.empty() ? "" : " @ " + result.commit.substr(0, 12)) << " ("
            << result.files.size() << " files, " << megabytes(result.bytes_downloaded) << " downloaded)\n"
            << result.snapshot.string() << '\n';
}

void run_list(bool json) {
  const fs::path cache = hub_cache_dir();
  Json rows = Json::array();
  for (const auto& model : cached_models(cache)) {
    const ModelPreset* preset = find_preset(model.id);
    std::string kind = "?";
    try {
      kind = load_model_spec(model.snapshot, model.id).kind == ModelKind::CrossEncoder ? "reranker" : "embedding";
    } catch (const Error&) {
      kind = "incomplete";
    }
    rows.push_back({{"id", model.id},
                    {"alias", preset ? Json(std::string(preset->alias)) : Json()},
                    {"revision", model.revision},
                    {"bytes", model.bytes},
                    {"kind", kind},
                    {"path", model.snapshot.string()}});
  }
  if (json) {
    std::cout << to_json_text(rows) << '\n';
    return;
  }
  if (rows.empty())
    std::cout << "no models in " << cache.string() << " (fetch one: ksearch model pull " << kDefaultEmbeddingModel
              << ")\n";
  for (const auto& row : rows)
    std::printf("%-40s %-13s %-10s %10s  %s\n", row["id"].get<std::string>().c_str(),
                row["alias"].is_null() ? "" : row["alias"].get<std::string>().c_str(),
                row["kind"].get<std::string>().c_str(), megabytes(row["bytes"].get<std::uint64_t>()).c_str(),
                row["revision"].get<std::string>().substr(0, 12).c_str());
  std::cout << "presets (aliases): ";
  for (const auto& preset : model_presets()) std::cout << preset.alias << ' ';
  std::cout << '\n';
}

void run_info(const std::string& name, bool json) {
  const ResolvedModel resolved = resolve_model(name);
  const ModelSpec spec = load_model_spec(resolved.dir, resolved.id);
  const TensorStore store = TensorStore::open_model_dir(resolved.dir);
  std::string dtype;
  if (const TensorView* words = store.find("embeddings.word_embeddings.weight")) dtype = dtype_name(words->dtype);
  const Json info = {{"id", spec.id},
                     {"path", resolved.dir.string()},
                     {"kind", spec.kind == ModelKind::CrossEncoder ? "reranker" : "embedding"},
                     {"architecture", architecture_name(spec.config.architecture)},
                     {"layers", spec.config.num_layers},
                     {"hidden", spec.config.hidden_size},
                     {"heads", spec.config.num_heads},
                     {"dimension", spec.dimension()},
                     {"pooling", pooling_name(spec.pooling)},
                     {"query_prefix", spec.query_prefix},
                     {"passage_prefix", spec.passage_prefix},
                     {"max_tokens", spec.max_seq_length},
                     {"vocabulary", spec.config.vocab_size},
                     {"weights_dtype", dtype},
                     {"default_chunk_tokens", spec.default_chunk_tokens}};
  if (json) {
    std::cout << to_json_text(info) << '\n';
    return;
  }
  for (const auto& [key, value] : info.items())
    std::printf("%-22s %s\n", key.c_str(),
                value.is_string() ? ("\"" + value.get<std::string>() + "\"").c_str() : value.dump().c_str());
}

void run_rm(const std::string& name) {
  const std::string id = canonical_model_id(name);
  const fs::path repo = hub_cache_dir() / hf_cache_folder_name(id);
  if (!fs::exists(repo)) fail("model '", id, "' is not in the cache (", repo.string(), ")");
  std::uint64_t bytes = 0;
  for (const auto& model : cached_models(hub_cache_dir()))
    if (model.id == id) bytes = model.bytes;
  fs::remove_all(repo);
  std::cout << "removed " << id << " (" << megabytes(bytes) << ")\n";
}

}  // namespace

void add_model_commands(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "fetch, list, inspect and remove models (Hugging Face cache)");
  model->require_subcommand(1);
  auto pull_name = std::make_shared<std::string>();
  auto revision = std::make_shared<std::string>("main");
  CLI::App* pull = model->add_subcommand("pull", "download a model into the Hugging Face cache");
  pull->add_option("model", *pull_name, "Hugging Face id or alias")->required();
  pull->add_option("--revision", *revision, "branch, tag or commit")->capture_default_str();
  pull->callback([pull_name, revision] { run_pull(*pull_name, *revision); });

  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = model->add_subcommand("list", "models in the cache");
  list->add_flag("--json", *list_json, "print JSON");
  list->callback([list_json] { run_list(*list_json); });

  auto info_name = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  CLI::App* info = model->add_subcommand("info", "architecture, dimension, pooling, prompts, max length");
  info->add_option("model", *info_name, "alias, id or folder")->required();
  info->add_flag("--json", *info_json, "print JSON");
  info->callback([info_name, info_json] { run_info(*info_name, *info_json); });

  auto rm_name = std::make_shared<std::string>();
  CLI::App* rm = model->add_subcommand("rm", "delete a model from the cache");
  rm->add_option("model", *rm_name, "alias or id")->required();
  rm->callback([rm_name] { run_rm(*rm_name); });
}

}  // namespace ksearch::cli
