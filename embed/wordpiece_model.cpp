#include "embed/wordpiece_model.h"

#include <algorithm>

#include "base/error.h"
#include "base/utf8.h"

namespace ksearch {
std::unique_ptr<WordPieceModel> WordPieceModel::parse(const JsonPath& node) {
  auto model = std::make_unique<WordPieceModel>();
  const auto vocab = node.members("vocab");
  // Ids are dense in real files; the bound keeps a hostile id from sizing the id -> token table.
  const std::int64_t max_id = std::min<std::int64_t>(kMaxTokenId, static_cast<std::int64_t>(vocab.size()) + 1024);
  for (const auto& [token, id_node] : vocab) {
    if (!id_node.json().is_number_integer())
      id_node.fail_at({}, "expected an integer id, found ", to_json_text(id_node.json()));
    const std::int64_t id = id_node.json().get<std::int64_t>();
    if (id < 0 || id > max_id) id_node.fail_at({}, "id ", id, " is out of range [0, ", max_id, "]");
    model->ids_[token] = static_cast<TokenId>(id);
    if (static_cast<std::size_t>(id) >= model->tokens_.size()) model->tokens_.resize(static_cast<std::size_t>(id) + 1);
    model->tokens_[static_cast<std::size_t>(id)] = token;
  }
  if (model->tokens_.empty()) node.fail_at("vocab", "is empty");
  const std::string unk = node.string_or("unk_token", "[UNK]");
  const auto unk_id = model->token_to_id(unk);
  if (!unk_id) node.fail_at("unk_token", "\"", unk, "\" is not in the vocabulary");
  model->unk_id_ = *unk_id;
  model->continuing_prefix_ = node.string_or("continuing_subword_prefix", "##");
  const std::int64_t max_chars = node.integer_or("max_input_chars_per_word", 100);
  if (max_chars < 0) node.fail_at("max_input_chars_per_word", "must not be negative, found ", max_chars);
  model->max_input_chars_ = static_cast<std::size_t>(max_chars);
  return model;
}

void WordPieceModel::tokenize(std::string_view word, std::vector<WordToken>& out) const {
  const auto whole = static_cast<std::uint32_t>(word.size());
  if (utf8::length(word) > max_input_chars_) {
    out.push_back({unk_id_, 0, whole});
    return;
  }
  const std::size_t first = out.size();
  std::string candidate;
  std::size_t start = 0;
  while (start < word.size()) {
    std::size_t end = word.size();
    std::optional<TokenId> found;
    while (start < end) {
      std::string_view piece = word.substr(start, end - start);
      if (start > 0) {
        candidate.assign(continuing_prefix_);
        candidate.append(piece);
        piece = candidate;
      }
      if (const auto it = ids_.find(piece); it != ids_.end()) {
        found = it->second;
        break;
      }
      end = utf8::floor_boundary(word, end - 1);
    }
    if (!found) {
      out.resize(first);
      out.push_back({unk_id_, 0, whole});
      return;
    }
    out.push_back({*found, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)});
    start = end;
  }
}

std::optional<TokenId> WordPieceModel::token_to_id(std::string_view token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPieceModel::id_to_token(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || tokens_[static_cast<std::size_t>(id)].empty())
    return std::nullopt;
  return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace ksearch
