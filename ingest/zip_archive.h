// Read-only view of a ZIP archive in memory (libzip), for DOCX and HWPX.  Damaged archives throw SkipFile; every
// entry read is charged to the document's UnpackBudget before it is inflated, so a zip bomb cannot exhaust memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/document.h"

struct zip;

namespace ksearch {

class ZipArchive {
 public:
  explicit ZipArchive(std::string_view bytes);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const;
  // The uncompressed entry, nullopt when absent.  Throws SkipFile when its size is over what `budget` has left.
  std::optional<std::string> read(const std::string& name, UnpackBudget& budget) const;

 private:
  zip* archive_ = nullptr;
};

}  // namespace ksearch
