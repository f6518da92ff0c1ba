#include "embed/added_vocabulary.h"

#include <algorithm>

#include "base/utf8.h"
#include "embed/normalizer.h"
#include "embed/unicode_text.h"

namespace ksearch {
namespace {

char32_t last_char(std::string_view text) {
  std::size_t pos = utf8::floor_boundary(text, text.size() - 1);
  return utf8::decode(text, pos);
}

char32_t first_char(std::string_view text) {
  std::size_t pos = 0;
  return utf8::decode(text, pos);
}

}  // namespace

AddedVocabulary AddedVocabulary::parse(const JsonPath& root, const Normalizer* normalizer) {
  AddedVocabulary vocabulary;
  if (!root.has("added_tokens")) return vocabulary;
  for (const auto& node : root.elements("added_tokens")) {
    AddedToken token;
    const std::int64_t id = node.integer("id");
    if (id < 0 || id > kMaxTokenId) node.fail_at("id", id, " is out of range [0, ", kMaxTokenId, "]");
    token.id = static_cast<TokenId>(id);
    token.content = node.string("content");
    if (token.content.empty()) node.fail_at("content", "is empty");
    if (auto bad = utf8::find_invalid(token.content)) node.fail_at("content", "invalid UTF-8 at byte ", *bad);
    token.single_word = node.boolean_or("single_word", false);
    token.lstrip = node.boolean_or("lstrip", false);
    token.rstrip = node.boolean_or("rstrip", false);
    token.normalized = node.boolean_or("normalized", true);
    token.special = node.boolean_or("special", false);
    vocabulary.tokens_.push_back(std::move(token));
  }
  for (std::size_t i = 0; i < vocabulary.tokens_.size(); ++i) {
    const AddedToken& token = vocabulary.tokens_[i];
    if (!token.normalized) {
      vocabulary.raw_patterns_.add(token.content, i);
      continue;
    }
    std::string pattern = token.content;
    if (normalizer != nullptr) pattern = normalizer->apply(NormalizedText::identity(token.content)).text;
    if (!pattern.empty()) vocabulary.normalized_patterns_.add(std::move(pattern), i);
  }
  return vocabulary;
}

std::optional<TokenId> AddedVocabulary::find(std::string_view content) const {
  for (const auto& token : tokens_)
    if (token.content == content) return token.id;
  return std::nullopt;
}

void AddedVocabulary::PatternSet::add(std::string text, std::size_t token) {
  first_bytes[static_cast<unsigned char>(text.front())] = true;
  patterns.push_back({std::move(text), token});
}

void AddedVocabulary::split_with(const PatternSet& set, const NormalizedText& text,
                                 std::vector<AddedSplit>& out) const {
  const std::string_view sentence = text.text;
  const auto push_text = [&](std::size_t begin, std::size_t end) {
    if (end > begin) out.push_back({text.slice(begin, end), std::nullopt});
  };
  std::size_t done = 0;  // end of the last emitted split
  std::size_t pos = 0;   // where the next match search starts
  while (pos < sentence.size()) {
    // Leftmost match, longest at that position.
    const Pattern* match = nullptr;
    std::size_t start = pos;
    for (; start < sentence.size() && match == nullptr; ++start) {
      if (!set.first_bytes[static_cast<unsigned char>(sentence[start])]) continue;
      for (const auto& pattern : set.patterns)
        if (sentence.compare(start, pattern.text.size(), pattern.text) == 0 &&
            (match == nullptr || pattern.text.size() > match->text.size()))
          match = &pattern;
    }
    if (match == nullptr) break;
    --start;
    std::size_t stop = start + match->text.size();
    pos = stop;
    const AddedToken& token = tokens_[match->token];
    if (token.single_word) {
      const bool word_before = start > 0 && unicode::is_word_char(last_char(sentence.substr(0, start)));
      const bool word_after = stop < sentence.size() && unicode::is_word_char(first_char(sentence.substr(stop)));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      std::size_t new_start = start;
      while (new_start > 0) {
        const std::size_t previous = utf8::floor_boundary(sentence, new_start - 1);
        std::size_t at = previous;
        if (!unicode::is_whitespace(utf8::decode(sentence, at))) break;
        new_start = previous;
      }
      start = std::max(new_start, done);
    }
    if (token.rstrip) {
      while (stop < sentence.size()) {
        std::size_t next = stop;
        if (!unicode::is_whitespace(utf8::decode(sentence, next))) break;
        stop = next;
      }
    }
    push_text(done, start);
    out.push_back({text.slice(start, stop), token.id});
    done = stop;
  }
  push_text(done, sentence.size());
}

std::vector<AddedSplit> AddedVocabulary::split(const NormalizedText& text, const Normalizer* normalizer) const {
  std::vector<AddedSplit> raw;
  split_with(raw_patterns_, text, raw);
  std::vector<AddedSplit> out;
  out.reserve(raw.size());
  for (auto& piece : raw) {
    if (piece.token) {
      out.push_back(std::move(piece));
      continue;
    }
    if (normalizer != nullptr) piece.text = normalizer->apply(std::move(piece.text));
    split_with(normalized_patterns_, piece.text, out);
  }
  return out;
}

}  // namespace ksearch
