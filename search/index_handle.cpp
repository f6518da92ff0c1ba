#include "search/index_handle.h"

#include "base/error.h"
#include "base/json.h"
#include "ingest/file_walker.h"

namespace ksearch {
namespace fs = std::filesystem;

IndexLocation locate_index(const std::optional<fs::path>& db_dir) {
  if (!db_dir) return IndexLocation::find_upward(fs::current_path());
  const IndexLocation at = IndexLocation::at(*db_dir);
  if (!fs::exists(at.database()))
    fail(db_dir->string(), ": no ksearch index here (expected ", at.database().string(), ")");
  std::string root;
  try {
    root = ChunkStore(at.database(), false, sql::Database::Mode::ReadOnly).settings().root;
  } catch (const sql::DamagedDatabase&) {
    // `doctor` reports it and `doctor --repair` rebuilds it; the root is then the folder above.
  }
  return IndexLocation::at(*db_dir, root.empty() ? std::nullopt : std::optional<fs::path>(root));
}

IndexSettings read_index_settings(const IndexLocation& location) {
  return ChunkStore(location.database(), false, sql::Database::Mode::ReadOnly).settings();
}

FusionCalibration saved_fusion(const ChunkStore& store) {
  const std::string text = store.fusion_calibration();
  if (text.empty()) return {};
  const std::string where = store.path().string() + " (meta.fusion_calibration)";
  return fusion_calibration_from_json(parse_json(text, where), where);
}

FusionCalibration saved_fusion_or_plain(const ChunkStore& store, std::string& problem) {
  try {
    return saved_fusion(store);
  } catch (const Error& e) {
    problem = cat(e.what(), "; hybrid search uses plain reciprocal rank fusion");
    return {};
  }
}

RemovedFiles remove_from_index(const IndexLocation& location, std::span<const fs::path> paths, bool wait_for_lock) {
  IndexLock lock(location, wait_for_lock);
  ChunkStore store(location.database(), false);
  const auto files = store.files();
  RemovedFiles result;
  std::vector<std::string> targets;
  for (const auto& path : paths) {
    const std::string relative = relative_to_root(fs::absolute(path), location.root);
    bool matched = false;
    for (const auto& file : files)
      if (file.path == relative || relative.empty() || file.path.starts_with(relative + "/")) {
        targets.push_back(file.path);
        matched = true;
      }
    if (!matched) result.unmatched.push_back(path.string());
  }
  if (targets.empty()) {
    std::string named;
    for (const auto& path : result.unmatched) named += (named.empty() ? "" : ", ") + path;
    fail(named, ": not in the index at ", location.dir.string(), "; nothing to remove");
  }
  result.removed = store.remove_files(targets);
  return result;
}

}  // namespace ksearch
