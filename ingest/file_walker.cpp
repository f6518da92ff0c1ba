#include "ingest/file_walker.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "base/files.h"
#include "ingest/document.h"
#include "ingest/glob.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

constexpr const char* kVirtualFileSystems[] = {"/proc", "/sys", "/dev"};

bool is_inside(std::string_view path, std::string_view folder) {
  if (folder == "/") return true;
  return path.starts_with(folder) && (path.size() == folder.size() || path[folder.size()] == '/');
}

// realpath(3) with its errno, so the walker can tell a broken link from a loop.
std::optional<fs::path> resolve(const fs::path& path, int& error) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) {
    error = errno;
    return std::nullopt;
  }
  fs::path out = resolved;
  std::free(resolved);
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Walker {
  const fs::path root;
  const PathGuard guard;
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
    if (std::string extension = lower(path.extension().string()); !is_supported_extension(extension)) {
      ++result.other_types;
      result.other_extensions.insert(std::move(extension));
      return;
    }
    if (!seen_files.insert(relative).second) return;
    result.files.push_back({path, relative, static_cast<std::int64_t>(info.st_size),
                            static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec});
  }

  // `folder` is the path as walked (through links), `real_folder` where it really is.
  void walk_folder(const fs::path& folder, const fs::path& real_folder, std::vector<Scope>& scopes, int depth) {
    const std::string relative_folder = relative_to_root(folder, root);
    if (depth > 256) {
      result.skipped.push_back({relative_folder, "folder nesting deeper than 256 levels"});
      return;
    }
    struct stat info {};
    if (::stat(real_folder.c_str(), &info) != 0) {
      result.skipped.push_back({relative_folder, std::strerror(errno)});
      return;
    }
    if (!visited.insert({info.st_dev, info.st_ino}).second) {
      result.skipped.push_back({relative_folder, "symbolic link loop (folder already visited)"});
      return;
    }
    DIR* dir = ::opendir(real_folder.c_str());
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
        scope.rules.add_lines(read_file(real_folder / ".ksearchignore"));
      } catch (const Error& e) {
        result.skipped.push_back({relative_folder + "/.ksearchignore", e.what()});
      }
      scopes.push_back(std::move(scope));
    }
    for (const std::string& name : names) {
      if (name.empty() || name.front() == '.') continue;  // ".", "..", hidden files and folders (.ksearch, .git)
      const fs::path path = folder / name;
      const std::string relative = relative_to_root(path, root);
      fs::path real = real_folder / name;
      struct stat entry {};
      if (::lstat(real.c_str(), &entry) != 0) {
        result.skipped.push_back({relative, std::strerror(errno)});
        continue;
      }
      const bool is_link = S_ISLNK(entry.st_mode);
      if (is_link) {
        int error = 0;
        const auto target = resolve(real, error);
        if (!target) {
          result.skipped.push_back({relative, error == ENOENT  ? std::string("broken symbolic link")
                                              : error == ELOOP ? std::string("symbolic link loop")
                                                               : std::string(std::strerror(error))});
          continue;
        }
        real = *target;
      }
      if (is_link && ::stat(real.c_str(), &entry) != 0) {
        result.skipped.push_back({relative, std::strerror(errno)});
        continue;
      }
      const bool is_directory = S_ISDIR(entry.st_mode);
      if (ignored(relative, is_directory, scopes)) continue;
      if (const std::string refusal = guard.refusal(real); !refusal.empty()) {
        result.skipped.push_back({relative, is_link ? cat("symbolic link to ", real.string(), " ", refusal) : refusal});
        continue;
      }
      if (is_directory) {
        walk_folder(path, real, scopes, depth + 1);
      } else if (S_ISREG(entry.st_mode)) {
        add_file(path, entry);
      }
    }
    if (has_rules) scopes.pop_back();
  }
};

}  // namespace

PathGuard::PathGuard(const std::vector<fs::path>& folders, bool follow_symlinks) : follow_symlinks_(follow_symlinks) {
  for (const auto& folder : folders) {
    int error = 0;
    if (const auto real = resolve(fs::absolute(folder), error)) roots_.push_back(real->string());
  }
}

std::string PathGuard::refusal(const fs::path& real) const {
  const std::string path = real.string();
  for (const char* virtual_root : kVirtualFileSystems)
    if (is_inside(path, virtual_root)) return cat("lies in ", virtual_root, ", which is never read");
  if (follow_symlinks_) return {};
  for (const auto& root : roots_)
    if (is_inside(path, root)) return {};
  return "leaves the indexed folders (--follow-symlinks follows it)";
}

fs::path real_path(const fs::path& path) {
  int error = 0;
  auto real = resolve(path, error);
  if (!real) fail(path.string(), ": cannot resolve: ", std::strerror(error));
  return *real;
}

std::string relative_to_root(const fs::path& path, const fs::path& root) {
  const fs::path normal = path.lexically_normal();
  const fs::path relative = normal.lexically_relative(root.lexically_normal());
  if (relative.empty() || *relative.begin() == "..") return normal.generic_string();
  if (relative == ".") return "";
  return relative.generic_string();
}

WalkResult walk_documents(const std::vector<fs::path>& folders, const fs::path& index_root,
                          const WalkOptions& options) {
  Walker walker{
      fs::absolute(index_root).lexically_normal(), PathGuard(folders, options.follow_symlinks), {}, {}, {}, {}};
  for (const auto& glob : options.exclude_globs) walker.excludes.add(glob);
  for (const auto& folder : folders) {
    const fs::path absolute = fs::absolute(folder).lexically_normal();
    int error = 0;
    const auto real = resolve(absolute, error);
    struct stat info {};
    if (!real || ::stat(real->c_str(), &info) != 0) {
      walker.result.skipped.push_back({absolute.string(), std::strerror(real ? errno : error)});
      continue;
    }
    if (const std::string refusal = walker.guard.refusal(*real); !refusal.empty()) {
      walker.result.skipped.push_back({absolute.string(), refusal});
      continue;
    }
    std::vector<Walker::Scope> scopes;
    if (S_ISDIR(info.st_mode)) {
      walker.walk_folder(absolute, *real, scopes, 0);
    } else if (S_ISREG(info.st_mode)) {
      walker.add_file(absolute, info);
    }
  }
  std::sort(walker.result.files.begin(), walker.result.files.end(),
            [](const FoundFile& a, const FoundFile& b) { return a.relative < b.relative; });
  return std::move(walker.result);
}

}  // namespace ksearch
