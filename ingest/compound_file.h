// Microsoft Compound File Binary (OLE2) reader, as used by HWP 5.0 ([MS-CFB]).  Every sector number, chain and
// directory link is checked against the file, so damaged files throw SkipFile instead of reading out of bounds
// or looping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

class CompoundFile {
 public:
  explicit CompoundFile(std::string_view bytes);

  // Stream by '/'-separated path ("BodyText/Section0"), nullopt when absent.
  std::optional<std::string> read(std::string_view path) const;
  // Names of the entries directly inside a storage ("BodyText").
  std::vector<std::string> list(std::string_view storage) const;

 private:
  struct Entry {
    std::string name;
    std::uint8_t type = 0;  // 1 storage, 2 stream, 5 root
    std::uint32_t left = 0, right = 0, child = 0, start = 0;
    std::uint64_t size = 0;
  };
  std::string_view sector(std::uint32_t index) const;
  std::string read_chain(std::uint32_t start, std::uint64_t size, bool mini) const;
  std::vector<std::uint32_t> children(std::uint32_t storage) const;
  std::optional<std::uint32_t> find(std::string_view path) const;

  std::string_view bytes_;
  std::size_t sector_size_ = 512;
  std::size_t mini_sector_size_ = 64;
  std::uint32_t mini_cutoff_ = 4096;
  std::vector<std::uint32_t> fat_, mini_fat_;
  std::vector<Entry> entries_;
  std::string mini_stream_;
};

}  // namespace ksearch
