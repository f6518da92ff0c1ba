// A file the walker found, opened for reading.  Where the file really is gets checked again once it is open, so a
// symbolic link swapped in after the walk cannot lead where the walk would not go; reads stop at the size the walk
// saw, so a file that grows meanwhile is read as it was walked (and read again on the next run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/file_walker.h"

namespace ksearch {

class WalkedFile {
 public:
  // Throws SkipFile when the file cannot be opened, is no longer a regular file, or now lies where `guard` refuses.
  WalkedFile(const FoundFile& file, const PathGuard& guard);
  ~WalkedFile();
  WalkedFile(const WalkedFile&) = delete;
  WalkedFile& operator=(const WalkedFile&) = delete;

  // Reads up to `size` bytes into `out`; fewer only at the walked size or the end of the file; 0 at the end.
  // Throws SkipFile on read errors.
  std::size_t read(char* out, std::size_t size);
  // The rest of the file, up to the walked size.
  std::string read_all();

 private:
  int fd_ = -1;
  std::uint64_t left_ = 0;  // bytes still to read before the walked size
};

}  // namespace ksearch
