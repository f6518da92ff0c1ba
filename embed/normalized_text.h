// Text that normalizers and pre-tokenizers rewrite, with the byte range of the original text behind every byte, so
// a token found in the rewritten text maps back to the caller's text (Hugging Face's NormalizedString alignments).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

struct ByteRange {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

struct NormalizedText {
  std::string text;
  std::vector<ByteRange> origin;  // origin[i]: the original bytes that produced text[i]

  // `text` unchanged: byte i comes from byte base + i.
  static NormalizedText identity(std::string_view text, std::uint32_t base = 0);

  // Appends code point `c` produced by the original bytes `from`.
  void push(char32_t c, ByteRange from);
  // Appends bytes [begin, end) of `other` with their origins.
  void append(const NormalizedText& other, std::size_t begin, std::size_t end);
  NormalizedText slice(std::size_t begin, std::size_t end) const;
  // Original range of normalized bytes [begin, end); empty ranges sit at the original position of `begin`.
  ByteRange original(std::size_t begin, std::size_t end) const;
  bool empty() const { return text.empty(); }
};

}  // namespace ksearch
