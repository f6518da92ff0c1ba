// sentencepiece's precompiled normalization rules (the `precompiled_charsmap` of a Precompiled normalizer): a Darts
// double-array trie over UTF-8 bytes whose values point into a pool of NUL-terminated replacement strings.
//
//   blob = u32 little-endian trie size in bytes | trie units (u32 LE each) | replacement pool
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/normalized_text.h"

namespace ksearch {

class PrecompiledCharsmap {
 public:
  // Throws Error naming `where` when the blob is malformed.
  PrecompiledCharsmap(std::string_view blob, std::string_view where);

  // Replacement for the shortest rule that matches a prefix of `chunk` (Hugging Face's choice), if any.
  std::optional<std::string_view> transform(std::string_view chunk) const;

  // Applies the rules per grapheme cluster as Hugging Face tokenizers does: a cluster shorter than 6 bytes is
  // looked up whole first, otherwise (or when that misses) each of its characters on its own.
  NormalizedText apply(const NormalizedText& text) const;

 private:
  std::vector<std::uint32_t> units_;
  std::string pool_;
};

}  // namespace ksearch
