#include "base/page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.h"

namespace ksearch {

void populate_pages(void* data, std::size_t size, bool writable) {
  ::madvise(data, size, MADV_HUGEPAGE);
  if (::madvise(data, size, writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0) return;
  // Kernels before 5.14 have no MADV_POPULATE_*: touch each page instead.
  const long page = ::sysconf(_SC_PAGESIZE);
  auto* bytes = static_cast<volatile std::byte*>(data);
  for (std::size_t offset = 0; offset < size; offset += static_cast<std::size_t>(page)) {
    if (writable)
      bytes[offset] = std::byte{0};
    else
      static_cast<void>(bytes[offset]);
  }
}

PageBuffer::PageBuffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) fail("cannot allocate ", size, " bytes: ", std::strerror(errno));
  data_ = mapped;
  populate_pages(data_, size_, true);
}

PageBuffer::~PageBuffer() { release(); }

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void PageBuffer::release() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ksearch
