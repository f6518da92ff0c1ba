// Where an index lives: DIR/.ksearch/ (like git's .git), found upward from the working folder.
#pragma once

#include <filesystem>
#include <optional>

namespace ksearch {

struct IndexLocation {
  std::filesystem::path dir;   // the .ksearch folder (or --db)
  std::filesystem::path root;  // paths in the index are relative to this folder

  std::filesystem::path database() const { return dir / "index.db"; }
  std::filesystem::path vectors() const { return dir / "vectors.faiss"; }
  std::filesystem::path lock() const { return dir / "lock"; }

  // DIR/.ksearch for a folder being indexed; root = DIR.
  static IndexLocation for_folder(const std::filesystem::path& folder);
  // --db DIR: the index folder itself; root = its parent unless `root` is given.
  static IndexLocation at(const std::filesystem::path& db_dir, const std::optional<std::filesystem::path>& root = {});
  // The nearest .ksearch/ containing an index.db, from `start` upward; throws Error when there is none.
  static IndexLocation find_upward(const std::filesystem::path& start);
};

// Exclusive writer lock (flock on DIR/lock holding the owner's PID).  A second writer fails fast naming the PID, or
// waits when `wait` is set.  Released on destruction or when the process dies (the kernel drops flock locks).
class IndexLock {
 public:
  IndexLock(const IndexLocation& location, bool wait);
  ~IndexLock();
  IndexLock(const IndexLock&) = delete;
  IndexLock& operator=(const IndexLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace ksearch
