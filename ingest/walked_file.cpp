#include "ingest/walked_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "ingest/document.h"

namespace ksearch {
namespace {

// Where the open file descriptor really points: /proc/self/fd names it even after a rename or a swapped link.
// Without /proc, the path is resolved again and must lead to the same file.
std::filesystem::path opened_path(int fd, const std::filesystem::path& path, const struct stat& opened) {
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string target(4096, '\0');
  const ssize_t length = ::readlink(link.c_str(), target.data(), target.size());
  if (length > 0 && static_cast<std::size_t>(length) < target.size()) {
    target.resize(static_cast<std::size_t>(length));
    return target;
  }
  const std::filesystem::path real = real_path(path);
  struct stat info {};
  if (::stat(real.c_str(), &info) != 0 || info.st_dev != opened.st_dev || info.st_ino != opened.st_ino)
    throw SkipFile("changed while being opened (replaced or moved)");
  return real;
}

}  // namespace

WalkedFile::WalkedFile(const FoundFile& file, const PathGuard& guard) {
  // O_NONBLOCK: a FIFO swapped in after the walk must not block the open; it is refused below.
  fd_ = ::open(file.absolute.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd_ < 0) throw SkipFile(cat("cannot open: ", std::strerror(errno)));
  try {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw SkipFile(cat("cannot open: ", std::strerror(errno)));
    if (!S_ISREG(info.st_mode)) throw SkipFile("no longer a regular file (replaced after the folder was walked)");
    const std::filesystem::path real = opened_path(fd_, file.absolute, info);
    if (const std::string refusal = guard.refusal(real); !refusal.empty())
      throw SkipFile(cat("now leads to ", real.string(), ", which ", refusal));
    ::fcntl(fd_, F_SETFL, 0);
  } catch (...) {
    ::close(fd_);
    throw;
  }
  left_ = static_cast<std::uint64_t>(std::max<std::int64_t>(file.size, 0));
}

WalkedFile::~WalkedFile() { ::close(fd_); }

std::size_t WalkedFile::read(char* out, std::size_t size) {
  std::size_t done = 0;
  size = static_cast<std::size_t>(std::min<std::uint64_t>(size, left_));
  while (done < size) {
    const ssize_t n = ::read(fd_, out + done, size - done);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SkipFile(cat("read error: ", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  left_ -= done;
  if (done < size) left_ = 0;  // the file shrank: its end is here
  return done;
}

std::string WalkedFile::read_all() {
  std::string data(static_cast<std::size_t>(left_), '\0');
  data.resize(read(data.data(), data.size()));
  return data;
}

}  // namespace ksearch
