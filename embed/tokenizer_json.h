// A Hugging Face tokenizer.json (the `tokenizers` library's format), run with the semantics of its Rust
// implementation: added tokens are cut out, the rest is normalized, pre-tokenized and segmented by the model, and
// the post-processor adds the special tokens.  See docs/tokenizers.md for what is supported.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/added_vocabulary.h"
#include "embed/normalized_text.h"
#include "embed/normalizer.h"
#include "embed/post_processor.h"
#include "embed/pre_tokenizer.h"
#include "embed/subword_model.h"

namespace ksearch {

class TokenizerJson {
 public:
  // Parses `json_text`; `file` names the source in errors ("DIR/tokenizer.json: model.type: ...").
  static std::unique_ptr<TokenizerJson> parse(std::string_view json_text, const std::string& file);

  // Content tokens (no post-processor specials) of `text`, whose origins give the offsets reported.
  std::vector<TokenSpan> tokenize(const NormalizedText& text) const;

  const PostProcessor& post_processor() const { return post_processor_; }
  const SubwordModel& model() const { return *model_; }
  const AddedVocabulary& added_vocabulary() const { return added_; }
  // Highest id any step can produce.
  TokenId max_id() const;
  std::optional<std::string> piece(TokenId id) const;

 private:
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<SubwordModel> model_;
  AddedVocabulary added_;
  PostProcessor post_processor_;
};

}  // namespace ksearch
