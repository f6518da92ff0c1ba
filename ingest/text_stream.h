// Reads a large text file block by block in bounded memory: the encoding is detected from the first block (as
// decode_text() does), bytes are converted to UTF-8 incrementally, and each block ends at a line break (or a
// character boundary when a line is longer than a block), so no character or line is split between blocks.  Reads
// stop at the walked size, and the stream hashes the bytes it read, so the text and the hash describe the same bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/hash.h"
#include "ingest/walked_file.h"

namespace ksearch {

class TextStream {
 public:
  // Reads `file` (which must outlive the stream) from its current position.  next() throws SkipFile when the first
  // block is not text.
  explicit TextStream(WalkedFile& file, std::size_t block_bytes = 8u << 20);
  ~TextStream();
  TextStream(const TextStream&) = delete;
  TextStream& operator=(const TextStream&) = delete;

  // The next block of UTF-8 text, nullopt at the end.  Throws SkipFile on read errors.
  std::optional<std::string> next();

  const std::string& encoding() const { return encoding_; }
  std::size_t replaced() const { return replaced_; }  // invalid sequences replaced with U+FFFD
  // SHA-256 (hex) of the bytes read; call once, after next() returned nullopt.
  std::string bytes_hash() { return digest_.hex(); }

 private:
  std::string convert(std::string_view bytes, bool last);

  WalkedFile& file_;
  Digest digest_;
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
