// Regular expressions for tokenizer.json patterns, on Oniguruma: the engine Hugging Face tokenizers itself uses
// (its Rust `onig` binding), so Split/Replace patterns keep their Unicode classes and syntax.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/normalized_text.h"

namespace ksearch {

class Regex {
 public:
  // Throws Error naming `where` and the pattern when Oniguruma rejects it.
  Regex(std::string_view pattern, std::string_view where);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Byte ranges of the successive non-overlapping matches in `text` (empty matches included).
  std::vector<ByteRange> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `literal` with every regex metacharacter escaped.
std::string regex_escape(std::string_view literal);

}  // namespace ksearch
