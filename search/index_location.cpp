#include "search/index_location.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/error.h"
#include "base/files.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace fs = std::filesystem;

IndexLocation IndexLocation::for_folder(const fs::path& folder) {
  const fs::path root = fs::absolute(folder).lexically_normal();
  return {root / ".ksearch", root};
}

IndexLocation IndexLocation::at(const fs::path& db_dir, const std::optional<fs::path>& root) {
  const fs::path dir = fs::absolute(db_dir).lexically_normal();
  return {dir, root ? fs::absolute(*root).lexically_normal() : dir.parent_path()};
}

IndexLocation IndexLocation::find_upward(const fs::path& start) {
  for (fs::path folder = fs::absolute(start).lexically_normal();; folder = folder.parent_path()) {
    std::error_code error;
    if (fs::exists(folder / ".ksearch" / "index.db", error)) return for_folder(folder);
    if (folder == folder.parent_path()) break;
  }
  fail("no ksearch index in ", fs::absolute(start).string(),
       " or any parent folder; create one with `ksearch index DIR`");
}

fs::path IndexLocation::rebuild_dir() const {
  const std::string name = dir.filename().string();
  return dir.parent_path() / ((name.starts_with(".") ? "" : ".") + name + ".rebuild");
}

void exchange_folders(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0) {
    sync_path(to.parent_path());
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    fail("cannot swap ", from.string(), " and ", to.string(), ": ", std::strerror(errno));
  const fs::path aside = from.string() + ".old";
  std::error_code ignored;
  fs::remove_all(aside, ignored);
  fs::rename(to, aside);
  fs::rename(from, to);
  fs::rename(aside, from);
  sync_path(to.parent_path());
}

IndexLock::IndexLock(const IndexLocation& location, bool wait) {
  fs::create_directories(location.dir);
  while (true) {
    fd_ = ::open(location.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(location.lock().string(), ": cannot open lock file: ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
      char owner[32] = {};
      const ssize_t n = ::pread(fd_, owner, sizeof owner - 1, 0);
      ::close(fd_);
      fd_ = -1;
      std::string pid = n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : std::string("?");
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      fail("index ", location.dir.string(), " is locked by PID ", pid,
           " (another ksearch process is writing it; wait for it, or pass --wait)");
    }
    struct stat held {
    }, current{};
    if (::fstat(fd_, &held) == 0 && ::stat(location.lock().c_str(), &current) == 0 && held.st_ino == current.st_ino &&
        held.st_dev == current.st_dev)
      break;
    ::close(fd_);  // a rebuild swapped the folder away while this waited: lock the one in place now
  }
  // The PID is informational (the flock is what excludes other writers), so a failed write is not an error.
  const std::string pid = std::to_string(::getpid()) + "\n";
  (void)!::ftruncate(fd_, 0);
  (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

IndexLock::~IndexLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

std::vector<fs::path> indexed_folders(const IndexLocation& location, const IndexSettings& settings) {
  std::vector<fs::path> folders;
  for (const auto& relative : settings.roots)
    folders.push_back(relative.empty()                   ? location.root
                      : fs::path(relative).is_absolute() ? fs::path(relative)
                                                         : location.root / relative);
  return folders;
}

}  // namespace ksearch
