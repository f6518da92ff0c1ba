// tokenizer.json "added_tokens": literal strings (special tokens like `<s>` and `<mask>`, or user tokens) that are
// cut out of the text before the model sees it, as Hugging Face's AddedVocabulary does: tokens with
// normalized=false match the raw text, the others match each remaining piece after normalization.  Matching is
// leftmost-longest; `single_word` requires no word character on either side, `lstrip`/`rstrip` swallow the
// whitespace beside the token.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/json_path.h"
#include "embed/normalized_text.h"
#include "embed/subword_model.h"

namespace ksearch {

class Normalizer;

struct AddedToken {
  TokenId id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of text after the added tokens are cut out: either an added token or text for the model.
struct AddedSplit {
  NormalizedText text;
  std::optional<TokenId> token;
};

class AddedVocabulary {
 public:
  // `root` is the whole tokenizer.json; `normalizer` (may be null) normalizes the normalized tokens' contents.
  static AddedVocabulary parse(const JsonPath& root, const Normalizer* normalizer);

  // Cuts the raw-text tokens out of `text`, normalizes the rest with `normalizer` (may be null) and cuts the
  // normalized tokens out of that.  Empty pieces are dropped.
  std::vector<AddedSplit> split(const NormalizedText& text, const Normalizer* normalizer) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  std::optional<TokenId> find(std::string_view content) const;

 private:
  struct Pattern {
    std::string text;   // what is matched (the normalized content for normalized tokens)
    std::size_t token;  // index into tokens_
  };
  struct PatternSet {
    std::vector<Pattern> patterns;
    std::array<bool, 256> first_bytes{};  // bytes some pattern starts with: other positions are skipped quickly
    void add(std::string text, std::size_t token);
  };
  void split_with(const PatternSet& set, const NormalizedText& text, std::vector<AddedSplit>& out) const;

  std::vector<AddedToken> tokens_;
  PatternSet raw_patterns_;
  PatternSet normalized_patterns_;
};

}  // namespace ksearch
