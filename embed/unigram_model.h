// Unigram language-model segmentation (sentencepiece's algorithm as Hugging Face tokenizers runs it): the
// segmentation with the highest total piece score, found by Viterbi over a byte trie of the vocabulary.
// Characters no piece covers score min_score - 10 as `<unk>`, and adjacent unknowns fuse into one `<unk>` token
// (or into byte pieces `<0xNN>` when byte_fallback is set and all of them exist).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embed/json_path.h"
#include "embed/subword_model.h"

namespace ksearch {

class UnigramModel final : public SubwordModel {
 public:
  UnigramModel(std::vector<std::pair<std::string, double>> vocab, TokenId unk_id, bool byte_fallback);
  // `node` is the "model" object of tokenizer.json (type "Unigram").
  static std::unique_ptr<UnigramModel> parse(const JsonPath& node);

  void tokenize(std::string_view word, std::vector<WordToken>& out) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(TokenId id) const override;
  TokenId unk_id() const override { return unk_id_; }
  TokenId max_id() const override { return static_cast<TokenId>(vocab_.size()) - 1; }

 private:
  struct Node {
    std::uint32_t first_edge = 0;
    std::uint32_t edge_count = 0;
    TokenId token = -1;
  };
  // Calls visit(length, id) for every vocabulary piece that is a prefix of `text`.
  template <typename Visit>
  void prefixes(std::string_view text, Visit&& visit) const;
  void emit(std::string_view word, std::uint32_t begin, std::uint32_t end, std::vector<WordToken>& out) const;

  std::vector<std::pair<std::string, double>> vocab_;
  std::unordered_map<std::string, TokenId> ids_;
  std::vector<Node> nodes_;                // nodes_[0] is the root
  std::vector<unsigned char> edge_bytes_;  // sorted per node
  std::vector<std::uint32_t> edge_targets_;
  std::array<std::uint32_t, 256> root_children_{};  // the root's children by byte (0: none), the busiest lookup
  TokenId unk_id_;
  bool byte_fallback_;
  double unknown_score_;
};

}  // namespace ksearch
