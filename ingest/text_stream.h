// Reads a large text file block by block in bounded memory: the encoding is detected from the first block (as
// decode_text() does), bytes are converted to UTF-8 incrementally, and each block ends at a line break (or a
// character boundary when a line is longer than a block), so no character or line is split between blocks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "base/hash.h"

namespace ksearch {

class TextStream {
 public:
  // Throws SkipFile when the file cannot be opened or its first block is not text.
  explicit TextStream(const std::filesystem::path& path, std::size_t block_bytes = 8u << 20);
  ~TextStream();

  // The next block of UTF-8 text, nullopt at the end.  Throws SkipFile on read errors.
  std::optional<std::string> next();

  const std::string& encoding() const { return encoding_; }
  std::size_t replaced() const { return replaced_; }  // invalid sequences replaced with U+FFFD

 private:
  std::string convert(std::string_view bytes, bool last);

  std::ifstream in_;
  std::size_t block_bytes_;
  std::string encoding_;
  void* converter_ = nullptr;  // iconv_t for UTF-16 and CP949
  std::string pending_bytes_;  // undecoded tail (incomplete sequence)
  std::string pending_text_;   // decoded text after the last line break
  bool first_ = true;
  bool done_ = false;
  std::size_t replaced_ = 0;
};

}  // namespace ksearch
