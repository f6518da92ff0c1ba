// Read-only view of a ZIP archive in memory (libzip), for DOCX and HWPX.  Damaged archives and oversized entries
// throw SkipFile; entries are size-limited so a zip bomb cannot exhaust memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct zip;

namespace ksearch {

class ZipArchive {
 public:
  explicit ZipArchive(std::string_view bytes);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const;
  // The uncompressed entry, nullopt when absent.  Entries over `limit` bytes throw SkipFile.
  std::optional<std::string> read(const std::string& name, std::size_t limit = 256u << 20) const;

 private:
  zip* archive_ = nullptr;
};

}  // namespace ksearch
