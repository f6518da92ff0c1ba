// tokenizer.json pre-tokenizers: split normalized text into the words the model segments.
// Supported: Sequence, Metaspace (prepend_scheme always/first/never, split, legacy add_prefix_space),
// WhitespaceSplit, Whitespace, BertPreTokenizer, Punctuation, Digits, Split (every behavior, invert),
// CharDelimiterSplit.  Anything else is an error naming the JSON path.
#pragma once

#include <memory>
#include <vector>

#include "embed/json_path.h"
#include "embed/normalized_text.h"

namespace ksearch {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every piece of `pieces` by the pieces it splits into (empty pieces are dropped).
  virtual void split(std::vector<NormalizedText>& pieces) const = 0;

  static std::unique_ptr<PreTokenizer> parse(const JsonPath& node);
};

}  // namespace ksearch
