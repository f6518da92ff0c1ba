// Fresh anonymous memory whose pages are faulted in by one call at allocation.  Writing a large new buffer page by page
// costs a fault per 4 KiB, serialised in the kernel: packing a model's weights spent more time in those faults than in
// the packing itself.
#pragma once

#include <cstddef>

namespace ksearch {

// Maps every page of the mapping [data, data + size) now, asking for 2 MiB pages where the kernel can give them (for
// a file: where its page cache holds them, which this requests for pages read now).  Packed weights are streamed whole
// on every query; with 4 KiB pages that is a TLB miss every 16 rows of a weight panel.  Best effort: the memory is
// usable whatever the kernel grants.
void populate_pages(void* data, std::size_t size, bool writable);

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
