// Finds the documents under the folders being indexed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace ksearch {

struct FoundFile {
  std::filesystem::path absolute;
  std::string relative;  // '/'-separated path below the index root (absolute when outside it)
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct SkippedPath {
  std::string relative;
  std::string reason;
};

struct WalkResult {
  std::vector<FoundFile> files;            // supported documents, sorted by path
  std::vector<SkippedPath> skipped;        // unreadable folders, broken links, loops, links that leave the folders
  std::size_t other_types = 0;             // files of unsupported types, ignored...
  std::set<std::string> other_extensions;  // ...and their extensions, lower case (".csv"; "" for none)
};

struct WalkOptions {
  std::vector<std::string> exclude_globs;  // --exclude, gitignore syntax relative to the index root
  bool follow_symlinks = false;            // --follow-symlinks: also follow links that leave the indexed folders
};

// Where a walk may go and what may then be read, by real path (every symbolic link resolved): inside the indexed
// folders, or with follow_symlinks anywhere; never into the kernel's virtual file systems /proc, /sys and /dev.
class PathGuard {
 public:
  PathGuard(const std::vector<std::filesystem::path>& folders, bool follow_symlinks);

  // Why the real path `real` may not be entered or read; empty when it may.
  std::string refusal(const std::filesystem::path& real) const;

 private:
  std::vector<std::string> roots_;  // real paths of the indexed folders
  bool follow_symlinks_;
};

// Walks `folders` below `index_root`: skips hidden files and folders (".git", ".ksearch", ...), honours
// .ksearchignore files (gitignore syntax, per folder) and the exclude globs, follows symbolic links that the
// PathGuard of `folders` allows but never into a loop.  A single file may also be named.
WalkResult walk_documents(const std::vector<std::filesystem::path>& folders, const std::filesystem::path& index_root,
                          const WalkOptions& options);

// Path of `path` relative to `root` with '/' separators, or the absolute path when outside it.
std::string relative_to_root(const std::filesystem::path& path, const std::filesystem::path& root);

// The real path of `path` (every symbolic link resolved); throws Error naming the path when it cannot be resolved.
std::filesystem::path real_path(const std::filesystem::path& path);

}  // namespace ksearch
