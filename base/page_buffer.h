// Fresh anonymous memory whose pages are faulted in by one call at allocation (MAP_POPULATE).  Writing a large new
// buffer page by page costs a fault per 4 KiB, serialised in the kernel: packing a model's weights spent more time in
// those faults than in the packing itself.
#pragma once

#include <cstddef>

namespace ksearch {

class PageBuffer {
 public:
  PageBuffer() = default;
  // Throws Error if `size` bytes cannot be mapped.
  explicit PageBuffer(std::size_t size);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  void* data() const { return data_; }  // page-aligned; null when empty
  std::size_t size() const { return size_; }

 private:
  void release();

  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ksearch
