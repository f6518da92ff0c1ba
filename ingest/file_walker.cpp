#include "ingest/file_walker.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "base/files.h"
#include "ingest/document.h"
#include "ingest/glob.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Walker {
  const fs::path root;
  IgnoreRules excludes;
  WalkResult result;
  std::set<std::pair<dev_t, ino_t>> visited;
  std::set<std::string> seen_files;

  struct Scope {
    std::string folder;  // relative path of the folder owning the rules ("" = root)
    IgnoreRules rules;
  };

  bool ignored(const std::string& relative, bool is_directory, const std::vector<Scope>& scopes) const {
    int decision = excludes.decide(relative, is_directory);
    for (const Scope& scope : scopes) {
      if (scope.rules.empty()) continue;
      std::string_view below = relative;
      if (!scope.folder.empty()) {
        if (!below.starts_with(scope.folder + "/")) continue;
        below.remove_prefix(scope.folder.size() + 1);
      }
      if (int d = scope.rules.decide(below, is_directory); d != 0) decision = d;
    }
    return decision > 0;
  }

  void add_file(const fs::path& path, const struct stat& info) {
    const std::string relative = relative_to_root(path, root);
    if (!is_supported_extension(lower(path.extension().string()))) {
      ++result.other_types;
      return;
    }
    if (!seen_files.insert(relative).second) return;
    result.files.push_back({path, relative, static_cast<std::int64_t>(info.st_size),
                            static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec});
  }

  void walk_folder(const fs::path& folder, std::vector<Scope>& scopes, int depth) {
    const std::string relative_folder = relative_to_root(folder, root);
    if (depth > 256) {
      result.skipped.push_back({relative_folder, "folder nesting deeper than 256 levels"});
      return;
    }
    struct stat info {};
    if (::stat(folder.c_str(), &info) != 0) {
      result.skipped.push_back({relative_folder, std::strerror(errno)});
      return;
    }
    if (!visited.insert({info.st_dev, info.st_ino}).second) {
      result.skipped.push_back({relative_folder, "symbolic link loop (folder already visited)"});
      return;
    }
    DIR* dir = ::opendir(folder.c_str());
    if (dir == nullptr) {
      result.skipped.push_back({relative_folder, cat("cannot read folder: ", std::strerror(errno))});
      return;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) names.emplace_back(entry->d_name);
    ::closedir(dir);
    std::sort(names.begin(), names.end());

    const bool has_rules = std::find(names.begin(), names.end(), ".ksearchignore") != names.end();
    if (has_rules) {
      Scope scope;
      scope.folder = folder == root ? std::string() : relative_folder;
      try {
        scope.rules.add_lines(read_file(folder / ".ksearchignore"));
      } catch (const Error& e) {
        result.skipped.push_back({relative_folder + "/.ksearchignore", e.what()});
      }
      scopes.push_back(std::move(scope));
    }
    for (const std::string& name : names) {
      if (name.empty() || name.front() == '.') continue;  // ".", "..", hidden files and folders (.ksearch, .git)
      const fs::path path = folder / name;
      const std::string relative = relative_to_root(path, root);
      struct stat entry {};
      if (::stat(path.c_str(), &entry) != 0) {
        result.skipped.push_back({relative, errno == ENOENT ? "broken symbolic link" : std::strerror(errno)});
        continue;
      }
      const bool is_directory = S_ISDIR(entry.st_mode);
      if (ignored(relative, is_directory, scopes)) continue;
      if (is_directory) {
        walk_folder(path, scopes, depth + 1);
      } else if (S_ISREG(entry.st_mode)) {
        add_file(path, entry);
      }
    }
    if (has_rules) scopes.pop_back();
  }
};

}  // namespace

std::string relative_to_root(const fs::path& path, const fs::path& root) {
  const fs::path normal = path.lexically_normal();
  const fs::path relative = normal.lexically_relative(root.lexically_normal());
  if (relative.empty() || *relative.begin() == "..") return normal.generic_string();
  if (relative == ".") return "";
  return relative.generic_string();
}

WalkResult walk_documents(const std::vector<fs::path>& folders, const fs::path& index_root,
                          const WalkOptions& options) {
  Walker walker{fs::absolute(index_root).lexically_normal(), {}, {}, {}, {}};
  for (const auto& glob : options.exclude_globs) walker.excludes.add(glob);
  for (const auto& folder : folders) {
    const fs::path absolute = fs::absolute(folder).lexically_normal();
    struct stat info {};
    if (::stat(absolute.c_str(), &info) != 0) {
      walker.result.skipped.push_back({absolute.string(), std::strerror(errno)});
      continue;
    }
    std::vector<Walker::Scope> scopes;
    if (S_ISDIR(info.st_mode)) {
      walker.walk_folder(absolute, scopes, 0);
    } else if (S_ISREG(info.st_mode)) {
      walker.add_file(absolute, info);
    }
  }
  std::sort(walker.result.files.begin(), walker.result.files.end(),
            [](const FoundFile& a, const FoundFile& b) { return a.relative < b.relative; });
  return std::move(walker.result);
}

}  // namespace ksearch
