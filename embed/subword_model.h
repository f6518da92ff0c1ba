// The model step of a tokenizer.json: segments one pre-tokenized word into vocabulary ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

using TokenId = std::int32_t;

// Largest id a tokenizer description may use: real vocabularies stay far below, a larger id is a corrupt file.
inline constexpr TokenId kMaxTokenId = (1 << 24) - 1;

// A token with the byte range of the original text it came from (special tokens added around a sequence have
// begin == end).
struct TokenSpan {
  TokenId id;
  std::uint32_t begin;
  std::uint32_t end;
};

// A token of a word, with its byte range inside the word.
struct WordToken {
  TokenId id;
  std::uint32_t begin;
  std::uint32_t end;
};

class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the tokens of the non-empty `word` to `out`.
  virtual void tokenize(std::string_view word, std::vector<WordToken>& out) const = 0;
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  // The vocabulary entry of `id`; nullopt when the model has none.
  virtual std::optional<std::string> id_to_token(TokenId id) const = 0;
  virtual TokenId unk_id() const = 0;  // -1 when the model has no unknown token
  virtual TokenId max_id() const = 0;
};

}  // namespace ksearch
