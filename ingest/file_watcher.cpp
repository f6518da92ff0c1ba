#include "ingest/file_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "ingest/document.h"
#include "ingest/file_walker.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

// IN_MODIFY keeps a batch open while a large file is still being written; IN_CLOSE_WRITE ends that file's writes.
constexpr std::uint32_t kEvents = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;

bool is_hidden(const fs::path& name) { return name.native().starts_with('.') && name != ".ksearchignore"; }

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string watch_limit() {
  std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
  std::string value;
  in >> value;
  return value.empty() ? "the" : value;
}

}  // namespace

FileWatcher::FileWatcher(const std::vector<fs::path>& folders, const fs::path& root, const StopSignal& stop,
                         WatchOptions options)
    : root_(root), options_(std::move(options)), stop_(stop) {
  for (const auto& pattern : options_.exclude_globs) excludes_.add(pattern);
  for (const auto& folder : folders) {
    if (!fs::is_directory(folder)) fail(folder.string(), ": not a folder (watch mode watches folders)");
    folders_.push_back(fs::absolute(folder).lexically_normal());
  }
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0)
    fail("cannot start watching (inotify_init1: ", std::strerror(errno), ")",
         errno == EMFILE ? "; raise the limit with `sudo sysctl fs.inotify.max_user_instances=1024`" : "");
  try {
    for (const auto& folder : folders_) watch_tree(folder);
  } catch (...) {
    ::close(inotify_fd_);
    throw;
  }
}

FileWatcher::~FileWatcher() { ::close(inotify_fd_); }

void FileWatcher::watch_tree(const fs::path& folder) {
  std::vector<fs::path> pending{folder};
  while (!pending.empty()) {
    const fs::path current = std::move(pending.back());
    pending.pop_back();
    const int watch = ::inotify_add_watch(inotify_fd_, current.c_str(), kEvents);
    if (watch < 0) {
      // A folder deleted or made unreadable meanwhile is skipped (the walker reports unreadable ones).
      if (errno == ENOENT || errno == EACCES || errno == ENOTDIR) continue;
      if (errno == ENOSPC)
        fail(current.string(), ": cannot watch more folders: the limit of ", watch_limit(),
             " inotify watches per user is reached (", folders_by_watch_.size(),
             " held here); raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add the line "
             "fs.inotify.max_user_watches=524288 to /etc/sysctl.d/ksearch.conf to keep it)");
      fail(current.string(), ": cannot watch the folder (inotify_add_watch: ", std::strerror(errno), ")");
    }
    folders_by_watch_[watch] = current;
    std::error_code error;
    for (fs::directory_iterator it(current, error), end; !error && it != end; it.increment(error)) {
      std::error_code type_error;
      if (!it->is_directory(type_error) || it->is_symlink(type_error)) continue;
      if (relevant(it->path(), true)) pending.push_back(it->path());
    }
  }
}

void FileWatcher::rewatch() {
  for (const auto& [watch, folder] : folders_by_watch_) ::inotify_rm_watch(inotify_fd_, watch);
  folders_by_watch_.clear();
  for (const auto& folder : folders_) watch_tree(folder);
  rewatch_needed_ = false;
}

bool FileWatcher::relevant(const fs::path& path, bool is_directory) const {
  const std::string relative = relative_to_root(path, root_);
  for (const auto& part : fs::path(relative))
    if (is_hidden(part)) return false;
  if (excludes_.decide(relative, is_directory) > 0) return false;
  return is_directory || path.filename() == ".ksearchignore" ||
         is_supported_extension(lower(path.extension().string()));
}

bool FileWatcher::read_events(WatchBatch& batch) {
  bool any = false;
  alignas(inotify_event) char buffer[64 * 1024];
  while (true) {
    const ssize_t size = ::read(inotify_fd_, buffer, sizeof buffer);
    if (size < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      fail("reading file change events failed (inotify: ", std::strerror(errno), ")");
    }
    for (ssize_t offset = 0; offset < size;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        batch.overflow = true;
        rewatch_needed_ = true;
        any = true;
        continue;
      }
      const auto folder = folders_by_watch_.find(event->wd);
      if (folder == folders_by_watch_.end()) continue;
      if (event->mask & IN_IGNORED) {
        folders_by_watch_.erase(folder);
        continue;
      }
      const fs::path path = event->len > 0 ? folder->second / event->name : folder->second;
      const bool is_directory = (event->mask & IN_ISDIR) != 0 || event->len == 0;
      if (!relevant(path, is_directory)) continue;
      if (event->len > 0 && (event->mask & IN_ISDIR)) {
        // A folder renamed away takes its watches' paths with it: watch the tree again before the next batch.
        if (event->mask & IN_MOVED_FROM) rewatch_needed_ = true;
        if (event->mask & (IN_CREATE | IN_MOVED_TO)) watch_tree(path);
      }
      batch.paths.insert(relative_to_root(path, root_));
      any = true;
    }
  }
  return any;
}

std::optional<WatchBatch> FileWatcher::next() {
  using Clock = std::chrono::steady_clock;
  WatchBatch batch;
  std::optional<Clock::time_point> first, last;
  while (true) {
    int timeout = -1;
    if (first) {
      const Clock::time_point due = std::min(*last + options_.quiet, *first + options_.max_delay);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count();
      if (left <= 0) {
        if (rewatch_needed_) rewatch();
        return batch;
      }
      timeout = static_cast<int>(left);
    }
    pollfd fds[2] = {{stop_.fd(), POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail("waiting for file changes failed (poll: ", std::strerror(errno), ")");
    }
    if (fds[0].revents & POLLIN) return std::nullopt;
    if ((fds[1].revents & POLLIN) && read_events(batch)) {
      last = Clock::now();
      if (!first) first = last;
    }
  }
}

}  // namespace ksearch
