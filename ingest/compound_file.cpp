#include "ingest/compound_file.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "base/utf8.h"
#include "ingest/document.h"

namespace ksearch {
namespace {

constexpr std::uint32_t kEndOfChain = 0xFFFFFFFE;
constexpr std::uint32_t kFreeSector = 0xFFFFFFFF;
constexpr std::uint32_t kNoStream = 0xFFFFFFFF;

std::uint32_t u32(std::string_view data, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, data.data() + offset, 4);
  return value;
}

std::uint16_t u16(std::string_view data, std::size_t offset) {
  std::uint16_t value;
  std::memcpy(&value, data.data() + offset, 2);
  return value;
}

[[noreturn]] void damaged(const std::string& why) { throw SkipFile("damaged OLE compound file (" + why + ")"); }

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

CompoundFile::CompoundFile(std::string_view bytes) : bytes_(bytes) {
  if (bytes.size() < 512 || std::memcmp(bytes.data(), "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) != 0)
    damaged("missing signature");
  const unsigned sector_shift = u16(bytes, 0x1E);
  const unsigned mini_shift = u16(bytes, 0x20);
  if ((sector_shift != 9 && sector_shift != 12) || mini_shift != 6) damaged("unsupported sector size");
  sector_size_ = std::size_t{1} << sector_shift;
  mini_sector_size_ = std::size_t{1} << mini_shift;
  const std::uint32_t fat_sectors = u32(bytes, 0x2C);
  const std::uint32_t directory_start = u32(bytes, 0x30);
  mini_cutoff_ = u32(bytes, 0x38);
  const std::uint32_t mini_fat_start = u32(bytes, 0x3C);
  std::uint32_t difat_next = u32(bytes, 0x44);
  const std::uint32_t difat_sectors = u32(bytes, 0x48);
  const std::size_t total_sectors = bytes.size() / sector_size_;
  if (fat_sectors > total_sectors || difat_sectors > total_sectors) damaged("sector counts exceed the file");

  // DIFAT: 109 FAT sector numbers in the header, the rest in a chain of DIFAT sectors.
  std::vector<std::uint32_t> fat_locations;
  for (std::size_t i = 0; i < 109 && fat_locations.size() < fat_sectors; ++i)
    fat_locations.push_back(u32(bytes, 0x4C + 4 * i));
  const std::size_t per_difat = sector_size_ / 4 - 1;
  for (std::uint32_t hops = 0; fat_locations.size() < fat_sectors; ++hops) {
    if (difat_next >= kEndOfChain || hops > difat_sectors) damaged("DIFAT chain ends early");
    const std::string_view difat = sector(difat_next);
    for (std::size_t i = 0; i < per_difat && fat_locations.size() < fat_sectors; ++i)
      fat_locations.push_back(u32(difat, 4 * i));
    difat_next = u32(difat, sector_size_ - 4);
  }
  for (std::uint32_t location : fat_locations) {
    const std::string_view part = sector(location);
    for (std::size_t i = 0; i < sector_size_ / 4; ++i) fat_.push_back(u32(part, 4 * i));
  }

  const std::string directory = read_chain(directory_start, UINT64_MAX, false);
  for (std::size_t offset = 0; offset + 128 <= directory.size(); offset += 128) {
    const std::string_view raw(directory.data() + offset, 128);
    Entry entry;
    const std::size_t name_bytes = std::min<std::size_t>(u16(raw, 64), 64);
    for (std::size_t i = 0; i + 1 < name_bytes; i += 2) {
      const char16_t unit = u16(raw, i);
      if (unit == 0) break;
      utf8::append(entry.name, unit >= 0xD800 && unit <= 0xDFFF ? utf8::kReplacement : unit);
    }
    entry.type = static_cast<std::uint8_t>(raw[66]);
    entry.left = u32(raw, 68);
    entry.right = u32(raw, 72);
    entry.child = u32(raw, 76);
    entry.start = u32(raw, 116);
    entry.size = sector_shift == 9 ? u32(raw, 120) : (static_cast<std::uint64_t>(u32(raw, 124)) << 32) | u32(raw, 120);
    entries_.push_back(std::move(entry));
  }
  if (entries_.empty() || entries_[0].type != 5) damaged("no root entry");
  if (mini_fat_start < kEndOfChain) {
    const std::string mini_fat = read_chain(mini_fat_start, UINT64_MAX, false);
    for (std::size_t i = 0; i + 4 <= mini_fat.size(); i += 4) mini_fat_.push_back(u32(mini_fat, i));
  }
  if (entries_[0].start < kEndOfChain) mini_stream_ = read_chain(entries_[0].start, entries_[0].size, false);
}

std::string_view CompoundFile::sector(std::uint32_t index) const {
  const std::size_t offset = (static_cast<std::size_t>(index) + 1) * sector_size_;
  if (index >= kEndOfChain || offset + sector_size_ > bytes_.size())
    damaged("sector " + std::to_string(index) + " lies outside the file");
  return bytes_.substr(offset, sector_size_);
}

std::string CompoundFile::read_chain(std::uint32_t start, std::uint64_t size, bool mini) const {
  const auto& table = mini ? mini_fat_ : fat_;
  const std::size_t unit = mini ? mini_sector_size_ : sector_size_;
  std::string out;
  std::uint32_t current = start;
  for (std::size_t steps = 0; current != kEndOfChain && out.size() < size; ++steps) {
    if (current == kFreeSector || current >= table.size() || steps > table.size()) damaged("broken sector chain");
    if (mini) {
      const std::size_t offset = static_cast<std::size_t>(current) * unit;
      if (offset + unit > mini_stream_.size()) damaged("mini sector outside the mini stream");
      out.append(mini_stream_, offset, unit);
    } else {
      out.append(sector(current));
    }
    current = table[current];
  }
  if (size != UINT64_MAX) {
    if (out.size() < size) damaged("stream shorter than its recorded size");
    out.resize(static_cast<std::size_t>(size));
  }
  return out;
}

std::vector<std::uint32_t> CompoundFile::children(std::uint32_t storage) const {
  std::vector<std::uint32_t> out;
  std::set<std::uint32_t> seen;
  std::vector<std::uint32_t> stack;
  if (storage < entries_.size() && entries_[storage].child != kNoStream) stack.push_back(entries_[storage].child);
  while (!stack.empty()) {
    const std::uint32_t id = stack.back();
    stack.pop_back();
    if (id >= entries_.size() || !seen.insert(id).second) continue;  // out of range or a cycle
    out.push_back(id);
    if (entries_[id].left != kNoStream) stack.push_back(entries_[id].left);
    if (entries_[id].right != kNoStream) stack.push_back(entries_[id].right);
  }
  return out;
}

std::optional<std::uint32_t> CompoundFile::find(std::string_view path) const {
  std::uint32_t current = 0;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string part = upper(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    std::optional<std::uint32_t> next;
    for (std::uint32_t id : children(current))
      if (upper(entries_[id].name) == part) next = id;
    if (!next) return std::nullopt;
    current = *next;
  }
  return current;
}

std::optional<std::string> CompoundFile::read(std::string_view path) const {
  const auto id = find(path);
  if (!id || entries_[*id].type != 2) return std::nullopt;
  const Entry& entry = entries_[*id];
  if (entry.size > bytes_.size()) damaged("stream size exceeds the file");
  return read_chain(entry.start, entry.size, entry.size < mini_cutoff_);
}

std::vector<std::string> CompoundFile::list(std::string_view storage) const {
  const auto id = find(storage);
  std::vector<std::string> out;
  if (!id) return out;
  for (std::uint32_t child : children(*id)) out.push_back(entries_[child].name);
  return out;
}

}  // namespace ksearch
