// Read-only memory map of a whole file.  Embedding tables and small tensors are used in place from the map; dense
// weights are packed into their own buffers at load and their mapped pages released.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace ksearch {

class MappedFile {
 public:
  // Whether every page is mapped at once (populate_pages: one call, 2 MiB pages where the page cache has them) rather
  // than faulted in on first touch, one fault per 4 KiB: for files that are read whole right after opening.
  enum class Prefault { No, Yes };
  // Maps `path` read-only; throws Error naming the path if it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path, Prefault prefault = Prefault::No);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }

  // Gives the whole pages inside `range` (a part of some mapping) back to the kernel: data that was copied elsewhere
  // (weights packed at load) stops counting twice.  The pages stay mapped; reading them again re-reads the file.
  static void release_pages(std::span<const std::byte> range);
  const std::filesystem::path& path() const { return path_; }

 private:
  void release();

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ksearch
