// tokenizer.json normalizers: rewrite text before pre-tokenization while keeping each byte's original range.
// Supported: Sequence, Precompiled, Replace (String or Regex), Strip, StripAccents, NFC, NFD, NFKC, NFKD,
// Lowercase, Prepend, BertNormalizer.  Anything else is an error naming the JSON path.
#pragma once

#include <memory>

#include "embed/json_path.h"
#include "embed/normalized_text.h"

namespace ksearch {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual NormalizedText apply(NormalizedText text) const = 0;

  // The normalizer described by `node` (an object with a "type").
  static std::unique_ptr<Normalizer> parse(const JsonPath& node);
};

}  // namespace ksearch
