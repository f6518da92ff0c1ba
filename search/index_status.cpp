#include "search/index_status.h"

#include <map>

#include "base/error.h"
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

}  // namespace

IndexStatus index_status(const IndexLocation& location, bool stat_walk) {
  IndexStatus status;
  status.location = location;
  std::vector<FileRecord> files;
  {
    const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
    const auto snapshot = store.read_snapshot();
    status.settings = store.settings();
    status.counts = store.counts();
    status.generation = store.generation();
    status.fusion = saved_fusion(store);
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

}  // namespace ksearch
