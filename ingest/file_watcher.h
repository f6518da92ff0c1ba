// Watches folders for changes to documents with inotify (recursively), for `ksearch watch` and `serve --watch`.
// Events are only a trigger: the indexer walks the folders again and compares sizes, times and hashes, so a burst of
// changes (a `git checkout`, an editor's save dance) becomes one batch once it has been quiet for a while.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/stop_signal.h"
#include "ingest/glob.h"

namespace ksearch {

struct WatchOptions {
  std::chrono::milliseconds quiet{300};       // a batch ends after this long without a relevant event...
  std::chrono::milliseconds max_delay{1500};  // ...or this long after its first event, whichever comes first
  std::vector<std::string> exclude_globs;     // --exclude, gitignore syntax relative to `root`
};

struct WatchBatch {
  std::set<std::string> paths;  // documents and folders created, written, renamed or deleted, relative to the root
  bool overflow = false;        // the kernel dropped events (IN_Q_OVERFLOW): everything must be walked again
};

class FileWatcher {
 public:
  // Watches `folders` and every folder below them (hidden ones excepted, as the walker skips them).  Paths are
  // reported relative to `root`.  next() returns nothing once `stop` is requested; it must outlive the watcher.
  // Throws Error naming the folder when a watch cannot be added; running out of watches (ENOSPC) names the sysctl
  // that raises the limit.
  FileWatcher(const std::vector<std::filesystem::path>& folders, const std::filesystem::path& root,
              const StopSignal& stop, WatchOptions options = {});
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Blocks until a batch of relevant changes has settled, or returns nothing once stop is requested.  Events on
  // hidden files, excluded paths and unsupported file types (editor swap and backup files among them) are ignored.
  std::optional<WatchBatch> next();

  std::size_t watched_folders() const { return folders_by_watch_.size(); }

 private:
  // Adds a watch on `folder` and every folder below it.
  void watch_tree(const std::filesystem::path& folder);
  // Drops every watch and adds them again (after an overflow or a folder renamed inside the tree).
  void rewatch();
  // Reads the pending events into `batch`; returns false when nothing relevant was among them.
  bool read_events(WatchBatch& batch);
  bool relevant(const std::filesystem::path& path, bool is_directory) const;

  std::vector<std::filesystem::path> folders_;
  std::filesystem::path root_;
  WatchOptions options_;
  IgnoreRules excludes_;
  int inotify_fd_ = -1;
  const StopSignal& stop_;
  std::map<int, std::filesystem::path> folders_by_watch_;
  bool rewatch_needed_ = false;
};

}  // namespace ksearch
