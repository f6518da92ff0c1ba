#include "embed/unigram_model.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include "base/error.h"
#include "base/utf8.h"

namespace ksearch {
namespace {

// sentencepiece's penalty below the lowest piece score for an unknown character.
constexpr double kUnknownPenalty = 10.0;

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

}  // namespace

UnigramModel::UnigramModel(std::vector<std::pair<std::string, double>> vocab, TokenId unk_id, bool byte_fallback)
    : vocab_(std::move(vocab)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
  KSEARCH_ASSERT(!vocab_.empty());
  double min_score = std::numeric_limits<double>::infinity();
  std::vector<std::map<unsigned char, std::uint32_t>> children(1);
  std::vector<TokenId> tokens(1, -1);
  ids_.reserve(vocab_.size());
  for (std::size_t id = 0; id < vocab_.size(); ++id) {
    const auto& [piece, score] = vocab_[id];
    min_score = std::min(min_score, score);
    ids_[piece] = static_cast<TokenId>(id);  // a repeated piece maps to its last id, as in Hugging Face
    if (piece.empty()) continue;
    std::uint32_t node = 0;
    for (const char byte : piece) {
      const auto c = static_cast<unsigned char>(byte);
      auto it = children[node].find(c);
      if (it == children[node].end()) {
        it = children[node].emplace(c, static_cast<std::uint32_t>(children.size())).first;
        children.emplace_back();
        tokens.push_back(-1);
      }
      node = it->second;
    }
    tokens[node] = static_cast<TokenId>(id);
  }
  unknown_score_ = min_score - kUnknownPenalty;
  nodes_.resize(children.size());
  for (std::size_t n = 0; n < children.size(); ++n) {
    nodes_[n].first_edge = static_cast<std::uint32_t>(edge_bytes_.size());
    nodes_[n].edge_count = static_cast<std::uint32_t>(children[n].size());
    nodes_[n].token = tokens[n];
    for (const auto& [byte, target] : children[n]) {
      edge_bytes_.push_back(byte);
      edge_targets_.push_back(target);
    }
  }
  for (const auto& [byte, target] : children[0]) root_children_[byte] = target;
}

std::unique_ptr<UnigramModel> UnigramModel::parse(const JsonPath& node) {
  std::vector<std::pair<std::string, double>> vocab;
  const auto entries = node.elements("vocab");
  if (entries.empty()) node.fail_at("vocab", "is empty");
  vocab.reserve(entries.size());
  for (const auto& entry : entries) {
    const Json& pair = entry.json();
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_number())
      entry.fail_at({}, "expected [piece, score], found ", to_json_text(pair).substr(0, 80));
    vocab.emplace_back(pair[0].get<std::string>(), pair[1].get<double>());
  }
  TokenId unk_id = -1;
  if (node.has("unk_id")) {
    const std::int64_t id = node.integer("unk_id");
    if (id < 0 || id >= static_cast<std::int64_t>(vocab.size()))
      node.fail_at("unk_id", id, " is outside the vocabulary of ", vocab.size(), " pieces");
    unk_id = static_cast<TokenId>(id);
  }
  return std::make_unique<UnigramModel>(std::move(vocab), unk_id, node.boolean_or("byte_fallback", false));
}

template <typename Visit>
void UnigramModel::prefixes(std::string_view text, Visit&& visit) const {
  if (text.empty()) return;
  std::uint32_t node = root_children_[static_cast<unsigned char>(text[0])];
  if (node == 0) return;
  if (nodes_[node].token >= 0) visit(1, nodes_[node].token);
  for (std::size_t i = 1; i < text.size(); ++i) {
    const Node& current = nodes_[node];
    const auto c = static_cast<unsigned char>(text[i]);
    const auto first = edge_bytes_.begin() + current.first_edge;
    const auto last = first + current.edge_count;
    const auto it = std::lower_bound(first, last, c);
    if (it == last || *it != c) return;
    node = edge_targets_[static_cast<std::size_t>(it - edge_bytes_.begin())];
    if (nodes_[node].token >= 0) visit(i + 1, nodes_[node].token);
  }
}

void UnigramModel::tokenize(std::string_view word, std::vector<WordToken>& out) const {
  struct Best {
    double score = 0;
    TokenId id = -1;
    std::int64_t start = -1;  // -1: no path reaches this position yet
  };
  const std::size_t size = word.size();
  thread_local std::vector<Best> best;  // reused: one lattice per word would cost an allocation each
  best.assign(size + 1, Best{});
  best[0].start = 0;
  std::size_t start = 0;
  while (start < size) {
    const double score_here = best[start].score;
    const std::size_t char_length = std::min(utf8_length(static_cast<unsigned char>(word[start])), size - start);
    bool has_single_char = false;
    prefixes(word.substr(start), [&](std::size_t length, TokenId id) {
      Best& target = best[start + length];
      const double candidate = score_here + vocab_[static_cast<std::size_t>(id)].second;
      if (target.start < 0 || candidate > target.score) target = {candidate, id, static_cast<std::int64_t>(start)};
      if (length == char_length) has_single_char = true;
    });
    if (!has_single_char) {
      if (unk_id_ < 0) fail("tokenizer.json: the Unigram model has no unk_id but the text needs one");
      Best& target = best[start + char_length];
      const double candidate = score_here + unknown_score_;
      if (target.start < 0 || candidate > target.score) target = {candidate, unk_id_, static_cast<std::int64_t>(start)};
    }
    start += char_length;
  }
  // Walk the best path backwards, fusing runs of unknown characters.
  const std::size_t first_token = out.size();
  std::size_t end = size;
  std::size_t unknown_end = 0;
  bool in_unknown = false;
  while (end > 0) {
    const Best& node = best[end];
    const auto begin = static_cast<std::size_t>(node.start);
    if (node.id == unk_id_) {
      if (!in_unknown) unknown_end = end;
      in_unknown = true;
    } else {
      if (in_unknown) emit(word, static_cast<std::uint32_t>(end), static_cast<std::uint32_t>(unknown_end), out);
      in_unknown = false;
      out.push_back({node.id, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)});
    }
    end = begin;
  }
  if (in_unknown) emit(word, 0, static_cast<std::uint32_t>(unknown_end), out);
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first_token), out.end());
}

// A fused run of unknown characters: the piece itself if the vocabulary has it, else its bytes as `<0xNN>` pieces
// (byte_fallback), else one `<unk>`.  Byte tokens are appended in reverse, as the caller reverses the whole list.
void UnigramModel::emit(std::string_view word, std::uint32_t begin, std::uint32_t end,
                        std::vector<WordToken>& out) const {
  const std::string_view text = word.substr(begin, end - begin);
  if (auto id = token_to_id(text)) {
    out.push_back({*id, begin, end});
    return;
  }
  if (byte_fallback_) {
    std::vector<TokenId> bytes;
    bytes.reserve(text.size());
    for (const char byte : text) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned char>(byte));
      const auto id = token_to_id(name);
      if (!id) break;
      bytes.push_back(*id);
    }
    if (bytes.size() == text.size()) {
      for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out.push_back({*it, begin, end});
      return;
    }
  }
  out.push_back({unk_id_, begin, end});
}

std::optional<TokenId> UnigramModel::token_to_id(std::string_view token) const {
  const auto it = ids_.find(std::string(token));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> UnigramModel::id_to_token(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size()) return std::nullopt;
  return vocab_[static_cast<std::size_t>(id)].first;
}

}  // namespace ksearch
