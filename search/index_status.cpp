#include "search/index_status.h"

#include <map>

#include "base/error.h"
#include "base/json.h"
#include "embed/model_spec.h"
#include "ingest/file_walker.h"
#include "search/index_handle.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

std::vector<IndexRoot> roots_of(const IndexLocation& location, const IndexSettings& settings) {
  std::vector<IndexRoot> roots;
  for (const auto& relative : settings.roots) {
    const fs::path path = relative.empty()                   ? location.root
                          : fs::path(relative).is_absolute() ? fs::path(relative)
                                                             : location.root / relative;
    std::error_code error;
    roots.push_back({path, fs::is_directory(path, error) || fs::is_regular_file(path, error)});
  }
  return roots;
}

ChangedFiles changed_files(const IndexLocation& location, const IndexSettings& settings,
                           const std::vector<IndexRoot>& roots, const std::vector<FileRecord>& files) {
  std::vector<fs::path> folders;
  for (const auto& root : roots)
    if (root.exists) folders.push_back(root.path);
  std::vector<std::string> excludes = settings.excludes;
  if (const std::string inside = relative_to_root(location.dir, location.root); !fs::path(inside).is_absolute())
    excludes.push_back("/" + inside + "/");
  const WalkResult walk = walk_documents(folders, location.root, {excludes, settings.follow_symlinks});
  std::map<std::string, const FileRecord*> known;
  for (const auto& file : files) known.emplace(file.path, &file);
  ChangedFiles changed;
  for (const FoundFile& found : walk.files) {
    const auto it = known.find(found.relative);
    if (it == known.end())
      changed.added.push_back(found.relative);
    else if (it->second->size != found.size || it->second->mtime_ns != found.mtime_ns)
      changed.modified.push_back(found.relative);
    if (it != known.end()) known.erase(it);
  }
  // A file under a missing root is gone too.
  for (const auto& [path, file] : known) changed.removed.push_back(path);
  return changed;
}

Json run_json(const RunRecord& run) {
  return {{"started", run.started},
          {"finished", run.finished > 0 ? Json(run.finished) : Json()},
          {"interrupted", run.finished == 0},
          {"seconds", run.seconds},
          {"added", run.added},
          {"changed", run.changed},
          {"removed", run.removed},
          {"unchanged", run.unchanged},
          {"skipped", run.skipped},
          {"rebuild", run.rebuild}};
}

}  // namespace

Json index_status_json(const IndexStatus& status) {
  const IndexSettings& settings = status.settings;
  const StoreCounts& counts = status.counts;
  Json roots = Json::array();
  for (const auto& root : status.roots) roots.push_back({{"path", root.path.string()}, {"exists", root.exists}});
  Json skipped = Json::array();
  for (const auto& [path, reason] : status.skipped) skipped.push_back({{"path", path}, {"reason", reason}});
  return {
      {"index", status.location.dir.string()},
      {"root", status.location.root.string()},
      {"files", counts.files},
      {"indexed_files", counts.indexed_files},
      {"skipped_files", counts.skipped_files},
      {"chunks", counts.chunks},
      {"vectors", counts.vectors},
      {"model", settings.model_id.empty() ? Json() : Json(settings.model_id)},
      {"model_available", !settings.model_id.empty() && status.model_problem.empty()},
      {"model_dir", status.model_dir.empty() ? Json() : Json(status.model_dir.string())},
      {"model_problem", status.model_problem.empty() ? Json() : Json(status.model_problem)},
      {"dimension", settings.dimension},
      {"index_type", settings.model_id.empty() ? "none" : settings.index_spec},
      {"chunk_tokens", settings.chunk_tokens},
      {"overlap_tokens", settings.overlap_tokens},
      {"generation", status.generation},
      {"roots", settings.roots},
      {"root_folders", roots},
      {"excludes", settings.excludes},
      {"follow_symlinks", settings.follow_symlinks},
      {"database_bytes", status.database_bytes},
      {"vector_file_bytes", status.vector_file_bytes},
      {"last_run", status.last_run ? run_json(*status.last_run) : Json()},
      {"pending", status.pending},
      {"changed_since_last_run",
       {{"added", status.changed.added}, {"modified", status.changed.modified}, {"removed", status.changed.removed}}},
      {"skipped", skipped},
      {"fusion", status.fusion.in_effect() ? fusion_calibration_json(status.fusion) : Json()},
      {"fusion_problem", status.fusion_problem.empty() ? Json() : Json(status.fusion_problem)}};
}

IndexStatus read_index_status(const IndexLocation& location, bool stat_walk) {
  IndexStatus status;
  status.location = location;
  std::vector<FileRecord> files;
  {
    const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
    const auto snapshot = store.read_snapshot();
    status.settings = store.settings();
    status.counts = store.counts();
    status.generation = store.generation();
    if (!status.settings.model_id.empty())  // a lexical-only index has no fusion to read
      status.fusion = saved_fusion_or_plain(store, status.fusion_problem);
    status.last_run = store.last_run();
    files = store.files();
  }
  for (const auto& file : files) {
    if (file.status == FileStatus::Partial) status.pending.push_back(file.path);
    if (file.status == FileStatus::Skipped) status.skipped.emplace_back(file.path, file.reason);
  }
  status.roots = roots_of(location, status.settings);
  if (stat_walk) status.changed = changed_files(location, status.settings, status.roots, files);
  if (!status.settings.model_id.empty()) {
    try {
      status.model_dir = resolve_model(status.settings.model_id).dir;
    } catch (const Error& e) {
      status.model_problem = e.what();
    }
  }
  std::error_code error;
  status.database_bytes = fs::file_size(location.database(), error);
  if (error) status.database_bytes = 0;
  status.vector_file_bytes = fs::file_size(location.vectors(), error);
  if (error) status.vector_file_bytes = 0;
  return status;
}

std::string describe_index_fusion(const IndexStatus& status) {
  if (status.settings.model_id.empty()) return {};
  if (!status.fusion_problem.empty()) return cat("fusion: ", status.fusion_problem);
  return describe_fusion(status.fusion);
}

}  // namespace ksearch
