#include "base/stored_zip.h"

#include "base/error.h"

namespace ksearch {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr std::uint16_t kZip64Extra = 0x0001;
constexpr std::size_t kEndOfDirectorySize = 22;
constexpr std::size_t kMaxComment = 0xFFFF;

// Little-endian reads that fail (naming `what`) instead of reading past the end.
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::string& where) : bytes_(bytes), where_(where) {}

  std::uint64_t le(std::uint64_t offset, int size, std::string_view what) const {
    if (offset > bytes_.size() || static_cast<std::uint64_t>(size) > bytes_.size() - offset)
      fail(where_, ": corrupt zip archive: ", what, " at byte ", offset, " lies past the end (", bytes_.size(),
           " bytes)");
    std::uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(bytes_[offset + i]);
    return value;
  }
  std::span<const std::byte> range(std::uint64_t offset, std::uint64_t size, std::string_view what) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset)
      fail(where_, ": corrupt zip archive: ", what, " [", offset, ", +", size, ") lies outside the ", bytes_.size(),
           " bytes of the file (truncated?)");
    return bytes_.subspan(offset, size);
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& where_;
};

}  // namespace

StoredZip::StoredZip(std::span<const std::byte> archive, std::string where)
    : archive_(archive), where_(std::move(where)) {
  const Reader in(archive_, where_);
  if (archive_.size() < kEndOfDirectorySize) fail(where_, ": not a zip archive (", archive_.size(), " bytes)");
  // The end-of-directory record is followed only by its comment: search the last 64 KiB + 22 bytes backwards.
  std::uint64_t end = archive_.size() - kEndOfDirectorySize;
  const std::uint64_t lowest = end > kMaxComment ? end - kMaxComment : 0;
  while (in.le(end, 4, "end of central directory") != kEndOfDirectory) {
    if (end == lowest) fail(where_, ": not a zip archive (no end-of-central-directory record)");
    --end;
  }
  std::uint64_t count = in.le(end + 10, 2, "entry count");
  std::uint64_t directory_size = in.le(end + 12, 4, "central directory size");
  std::uint64_t directory_offset = in.le(end + 16, 4, "central directory offset");
  if (end >= 20 && in.le(end - 20, 4, "zip64 locator") == kZip64Locator) {
    const std::uint64_t record = in.le(end - 20 + 8, 8, "zip64 end of directory offset");
    if (in.le(record, 4, "zip64 end of directory") != kZip64EndOfDirectory)
      fail(where_, ": corrupt zip archive: no zip64 end-of-directory record at byte ", record);
    count = in.le(record + 32, 8, "zip64 entry count");
    directory_size = in.le(record + 40, 8, "zip64 central directory size");
    directory_offset = in.le(record + 48, 8, "zip64 central directory offset");
  }
  const std::span<const std::byte> directory = in.range(directory_offset, directory_size, "central directory");
  // Each central entry takes at least 46 bytes, which bounds the count a corrupt record can claim.
  if (count > directory.size() / 46)
    fail(where_, ": corrupt zip archive: ", count, " entries cannot fit in a central directory of ", directory.size(),
         " bytes");
  std::uint64_t at = directory_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (in.le(at, 4, "central directory entry") != kCentralHeader)
      fail(where_, ": corrupt zip archive: central directory entry ", i, " at byte ", at, " has a bad signature");
    const auto method = static_cast<std::uint16_t>(in.le(at + 10, 2, "compression method"));
    std::uint64_t compressed = in.le(at + 20, 4, "compressed size");
    std::uint64_t size = in.le(at + 24, 4, "uncompressed size");
    const std::uint64_t name_length = in.le(at + 28, 2, "name length");
    const std::uint64_t extra_length = in.le(at + 30, 2, "extra length");
    const std::uint64_t comment_length = in.le(at + 32, 2, "comment length");
    std::uint64_t local = in.le(at + 42, 4, "local header offset");
    const auto name_bytes = in.range(at + 46, name_length, "entry name");
    std::string name(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    // ZIP64: the fields saturated at 0xFFFFFFFF follow in the 0x0001 extra field, in this order.
    for (std::uint64_t extra = at + 46 + name_length; extra + 4 <= at + 46 + name_length + extra_length;) {
      const auto id = in.le(extra, 2, "extra field id");
      const std::uint64_t length = in.le(extra + 2, 2, "extra field length");
      if (id == kZip64Extra) {
        std::uint64_t field = extra + 4;
        const std::uint64_t field_end = field + length;
        for (std::uint64_t* value : {&size, &compressed, &local}) {
          if (*value != 0xFFFFFFFFu) continue;
          if (field + 8 > field_end) fail(where_, ": corrupt zip archive: short zip64 field of entry ", name);
          *value = in.le(field, 8, "zip64 field");
          field += 8;
        }
      }
      extra += 4 + length;
    }
    at += 46 + name_length + extra_length + comment_length;
    if (method != 0 || compressed != size) {
      compressed_[name] = method;
      continue;
    }
    if (in.le(local, 4, "local header") != kLocalHeader)
      fail(where_, ": corrupt zip archive: entry ", name, " has no local header at byte ", local);
    const std::uint64_t data =
        local + 30 + in.le(local + 26, 2, "local name length") + in.le(local + 28, 2, "local extra length");
    entries_[name] = in.range(data, size, "data of entry " + name);
  }
}

std::span<const std::byte> StoredZip::read(std::string_view name) const {
  if (auto it = entries_.find(name); it != entries_.end()) return it->second;
  if (auto it = compressed_.find(name); it != compressed_.end())
    fail(where_, ": zip entry ", name, " is compressed (method ", it->second,
         "); only stored entries are read, as torch.save writes them");
  fail(where_, ": zip entry ", name, " is missing");
}

}  // namespace ksearch
