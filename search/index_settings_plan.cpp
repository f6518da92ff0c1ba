#include "search/index_settings_plan.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "index/vector_index.h"
#include "ingest/file_walker.h"
#include "search/model_check.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

constexpr int kMinChunkTokens = 16;
// Lexical-only indexes have no model to take the chunk size and its limit from.
constexpr int kLexicalChunkTokens = 512;
constexpr int kLexicalChunkTokenLimit = 8192;

// Why the run's model is not the index's, or "" when it is (or the index is fresh).
std::string model_difference(const IndexSettingsRequest& request, const ModelIdentity& identity) {
  if (!request.old_settings) return "";
  const IndexSettings& old = *request.old_settings;
  // Lexical-only on either side is a change too: identity_difference ignores what the index did not record.
  if (old.model_id.empty() != identity.id.empty()) return "semantic search added or dropped";
  return identity_difference(recorded_model(old), identity);
}

// The folders indexed before plus those named now; a folder below one already indexed is walked with it (walking it
// twice would report a loop).
std::vector<std::string> merge_roots(const std::vector<std::string>& indexed, const std::vector<fs::path>& named,
                                     const fs::path& root) {
  std::set<std::string> roots(indexed.begin(), indexed.end());
  for (const auto& folder : named) {
    const std::string relative = relative_to_root(folder, root);
    const bool covered = std::any_of(roots.begin(), roots.end(), [&](const std::string& existing) {
      if (fs::path(relative).is_absolute() != fs::path(existing).is_absolute()) return false;
      return existing.empty() || relative == existing || relative.starts_with(existing + "/");
    });
    if (!covered) roots.insert(relative);
  }
  if (roots.empty()) fail("nothing to index: name a folder, e.g. `ksearch index ~/docs`");
  return {roots.begin(), roots.end()};
}

}  // namespace

IndexSettingsPlan plan_index_settings(const IndexSettingsRequest& request) {
  const bool fresh = !request.old_settings.has_value();
  const IndexSettings old = request.old_settings.value_or(IndexSettings{});
  const ModelIdentity identity = request.model ? request.model->identity : ModelIdentity{};
  IndexSettingsPlan plan;
  IndexSettings& settings = plan.settings;
  settings = old;
  record_model(settings, identity);
  settings.query_prefix = request.model ? request.model->query_prefix : "";
  settings.passage_prefix = request.model ? request.model->passage_prefix : "";

  const std::string difference = model_difference(request, identity);
  if (!difference.empty() && !request.rebuild && request.store_has_files)
    fail("the index at ", request.location.dir.string(), " was built with model ",
         describe_identity(recorded_model(old)), ", not ", describe_identity(identity), " (", difference,
         "); re-embed everything with `ksearch index --rebuild",
         identity.id.empty()    ? " --no-model"
         : request.model_option ? " --model " + *request.model_option
                                : "",
         "`");
  // A fresh index has nothing to keep: it is built in place.
  plan.rebuild = !fresh && (request.rebuild || !difference.empty());
  const bool keep_chunking = !fresh && !plan.rebuild;

  const int model_default = request.model ? request.model->default_chunk_tokens : kLexicalChunkTokens;
  const int model_limit = request.model ? request.model->max_seq_length : kLexicalChunkTokenLimit;
  int chunk_tokens = request.chunk_tokens > 0                  ? request.chunk_tokens
                     : (keep_chunking && old.chunk_tokens > 0) ? old.chunk_tokens
                                                               : model_default;
  if (chunk_tokens > model_limit) {
    plan.notices.push_back(cat("--chunk-tokens ", chunk_tokens, " exceeds the model's limit; using ", model_limit));
    chunk_tokens = model_limit;
  }
  chunk_tokens = std::max(chunk_tokens, kMinChunkTokens);
  int overlap = request.overlap_tokens >= 0 ? request.overlap_tokens
                : (keep_chunking && old.overlap_tokens >= 0 && old.chunk_tokens == chunk_tokens) ? old.overlap_tokens
                                                                                                 : chunk_tokens / 8;
  overlap = std::clamp(overlap, 0, chunk_tokens / 2);
  plan.force_rechunk = keep_chunking && (chunk_tokens != old.chunk_tokens || overlap != old.overlap_tokens);
  settings.chunk_tokens = chunk_tokens;
  settings.overlap_tokens = overlap;

  if (!request.index_spec.empty()) settings.index_spec = request.index_spec;
  if (settings.index_spec.empty()) settings.index_spec = "auto";
  if (settings.dimension > 0 && settings.index_spec != "auto")
    VectorIndex(settings.dimension, settings.index_spec);  // throws on a spec FAISS cannot build

  const fs::path& root = request.location.root;
  settings.roots = merge_roots(settings.roots, request.folders, root);
  plan.folders = indexed_folders(request.location, settings);
  if (request.location.dir.parent_path() != root) settings.root = root.string();
  settings.excludes = request.excludes.value_or(old.excludes);
  settings.follow_symlinks = request.follow_symlinks.value_or(old.follow_symlinks);
  plan.walk_excludes = settings.excludes;
  // An index folder inside the tree (--db ./idx) is never indexed itself.
  if (const std::string inside = relative_to_root(request.location.dir, root); !fs::path(inside).is_absolute())
    plan.walk_excludes.push_back("/" + inside + "/");
  return plan;
}

}  // namespace ksearch
