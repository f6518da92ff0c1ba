// WordPiece segmentation (BERT): greedy longest-match-first from the start of the word, continuation pieces
// carrying a prefix ("##"); a word with an unmatchable remainder, or longer than max_input_chars_per_word
// characters, becomes a single unknown token.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "embed/json_path.h"
#include "embed/subword_model.h"

namespace ksearch {

class WordPieceModel final : public SubwordModel {
 public:
  // `node` is the "model" object of tokenizer.json (type "WordPiece").
  static std::unique_ptr<WordPieceModel> parse(const JsonPath& node);

  void tokenize(std::string_view word, std::vector<WordToken>& out) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(TokenId id) const override;
  TokenId unk_id() const override { return unk_id_; }
  TokenId max_id() const override { return static_cast<TokenId>(tokens_.size()) - 1; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };
  std::unordered_map<std::string, TokenId, Hash, std::equal_to<>> ids_;
  std::vector<std::string> tokens_;  // by id; ids without a token are empty
  std::string continuing_prefix_;
  std::size_t max_input_chars_ = 100;
  TokenId unk_id_ = -1;
};

}  // namespace ksearch
