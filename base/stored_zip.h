// Entries of a ZIP archive that are stored uncompressed (method 0), as views into the archive's bytes: what
// torch.save writes (https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT, with ZIP64 for large files).
// Every offset and length is checked against the archive size, so a damaged archive is an Error naming `where`
// and the entry, never an out-of-bounds read.  Compressed entries are an error when read, not when listed.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace ksearch {

class StoredZip {
 public:
  // Parses the central directory of `archive` (which must outlive this object).
  StoredZip(std::span<const std::byte> archive, std::string where);

  bool contains(std::string_view name) const { return entries_.contains(name); }
  // The bytes of entry `name`; throws Error naming the archive and entry when it is absent or compressed.
  std::span<const std::byte> read(std::string_view name) const;
  // The stored entries by name.
  const std::map<std::string, std::span<const std::byte>, std::less<>>& entries() const { return entries_; }

 private:
  std::span<const std::byte> archive_;
  std::string where_;
  std::map<std::string, std::span<const std::byte>, std::less<>> entries_;
  std::map<std::string, std::uint16_t, std::less<>> compressed_;  // entry -> its compression method
};

}  // namespace ksearch
