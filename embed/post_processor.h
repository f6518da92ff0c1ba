// tokenizer.json post-processors, all expressed as templates: TemplateProcessing, RobertaProcessing
// (`<s> A </s>`, `<s> A </s></s> B </s>`, type ids 0) and BertProcessing (`[CLS] A [SEP]`, `B [SEP]` with type
// id 1).  A null post-processor adds nothing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "embed/json_path.h"
#include "embed/subword_model.h"

namespace ksearch {

class PostProcessor {
 public:
  // `node` is the "post_processor" member; null means none.
  static PostProcessor parse(const JsonPath& root);
  // `cls A sep` and `cls A sep sep B sep`, all type id 0 (RobertaProcessing).
  static PostProcessor roberta(TokenId cls, TokenId sep);

  // Number of special tokens added around one text (pair = false) or two.
  std::size_t added_tokens(bool pair) const;
  // Appends the template for `a` (and `b` when `pair`) to ids and type_ids.
  void apply(std::span<const TokenId> a, std::span<const TokenId> b, bool pair, std::vector<TokenId>& ids,
             std::vector<std::int32_t>& type_ids) const;
  // The special tokens before and after a single sequence (CLS/BOS and SEP/EOS), -1 when there are none.
  TokenId leading_special() const;
  TokenId trailing_special() const;
  // Every id a template can emit, for the vocabulary check.
  TokenId max_id() const;

 private:
  struct Item {
    int sequence = -1;  // 0: A, 1: B, -1: special tokens
    std::vector<TokenId> ids;
    std::int32_t type_id = 0;
  };
  std::vector<Item> single_;
  std::vector<Item> pair_;
};

}  // namespace ksearch
