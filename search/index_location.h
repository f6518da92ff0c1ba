// Where an index lives: DIR/.ksearch/ (like git's .git), found upward from the working folder.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

namespace ksearch {

struct IndexLocation {
  std::filesystem::path dir;   // the .ksearch folder (or --db)
  std::filesystem::path root;  // paths in the index are relative to this folder

  std::filesystem::path database() const { return dir / "index.db"; }
  std::filesystem::path vectors() const { return dir / "vectors.faiss"; }
  std::filesystem::path lock() const { return dir / "lock"; }
  // Where `ksearch index --rebuild` builds the new index: a hidden folder beside `dir` (same file system, so the two
  // swap with one rename; hidden, so the file walker never indexes it).
  std::filesystem::path rebuild_dir() const;

  // DIR/.ksearch for a folder being indexed; root = DIR.
  static IndexLocation for_folder(const std::filesystem::path& folder);
  // --db DIR: the index folder itself; root = its parent unless `root` is given.
  static IndexLocation at(const std::filesystem::path& db_dir, const std::optional<std::filesystem::path>& root = {});
  // The nearest .ksearch/ containing an index.db, from `start` upward; throws Error when there is none.
  static IndexLocation find_upward(const std::filesystem::path& start);
};

struct IndexSettings;

// The folders an index covers (IndexSettings::roots: relative to the index root, or absolute), as paths.
std::vector<std::filesystem::path> indexed_folders(const IndexLocation& location, const IndexSettings& settings);

// Swaps two folders atomically (renameat2 RENAME_EXCHANGE); where the file system cannot, renames `to` aside and
// `from` in its place.  Afterwards `from` names the old `to`.
void exchange_folders(const std::filesystem::path& from, const std::filesystem::path& to);

// Exclusive writer lock (flock on DIR/lock holding the owner's PID).  A second writer fails fast naming the PID, or
// waits when `wait` is set.  Released on destruction or when the process dies (the kernel drops flock locks).  A lock
// taken on a folder that a rebuild swapped away meanwhile is taken again on the folder now in place.
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
