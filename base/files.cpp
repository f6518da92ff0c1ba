#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace ksearch {

std::string read_file(const std::filesystem::path& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path.string(), ": cannot read: ", std::strerror(errno));
  // Sized once from the file's length: growing the string by appending copied a 5 MB tokenizer model several times
  // over, into fresh pages each time (a tenth of a one-off query's time).  Reading goes on to end of file, so a file
  // that grows meanwhile is still read whole.
  struct stat info {};
  const std::size_t expected =
      ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) ? static_cast<std::size_t>(info.st_size) : 0;
  std::string data(std::min(expected, limit) + 1, '\0');  // one byte over, so end of file shows as a short read
  std::size_t size = 0;
  while (size < limit) {
    if (size == data.size()) data.resize(std::min(limit, 2 * data.size()));
    const ssize_t n = ::read(fd, data.data() + size, std::min(data.size(), limit) - size);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail(path.string(), ": read error: ", std::strerror(err));
    }
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  data.resize(size);
  return data;
}

void sync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path.string(), ": cannot open for fsync: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(path.string(), ": fsync failed: ", std::strerror(err));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view data) {
  const std::span<const std::byte> piece(reinterpret_cast<const std::byte*>(data.data()), data.size());
  write_file_atomically(path, std::span(&piece, 1));
}

void write_file_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> pieces) {
  const std::filesystem::path temp = path.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(temp.string(), ": cannot create: ", std::strerror(errno));
  for (const auto& piece : pieces) {
    std::size_t written = 0;
    while (written < piece.size()) {
      const ssize_t n = ::write(fd, piece.data() + written, piece.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        fail(temp.string(), ": write failed: ", std::strerror(err));
      }
      written += static_cast<std::size_t>(n);
    }
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_error = errno;
  if (::close(fd) != 0 || !synced) {
    const int err = synced ? errno : sync_error;
    ::unlink(temp.c_str());
    fail(temp.string(), synced ? ": close failed: " : ": fsync failed: ", std::strerror(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail(path.string(), ": rename failed: ", std::strerror(err));
  }
  sync_path(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

}  // namespace ksearch
