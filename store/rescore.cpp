#include "store/rescore.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "base/utf8.h"
#include "store/lexical.h"

namespace ksearch {
namespace {

bool is_end_mark(char32_t c) {
  return c == U'.' || c == U'?' || c == U'!' || c == U'…' || c == U'。' || c == U'｡' || c == U'．' || c == U'？' ||
         c == U'！' || c == U'‼' || c == U'⁇' || c == U'⁈' || c == U'⁉';
}

bool is_closing(char32_t c) {
  return c == U'"' || c == U'\'' || c == U')' || c == U']' || c == U'}' || c == U'”' || c == U'’' || c == U'»' ||
         c == U'›' || c == U'」' || c == U'』' || c == U'》' || c == U'〉' || c == U'】' || c == U'〕' || c == U'〗' ||
         c == U'）' || c == U'］' || c == U'＂' || c == U'＇' || c == U'｣';
}

// A list marker ends in a mark too (1. 가. 1.1. iv.), but does not end a sentence.
constexpr std::size_t kMaxListMarker = 4;

// Byte offsets where a sentence begins after the first, ascending.
std::vector<std::size_t> sentence_starts(std::string_view text) {
  std::vector<std::size_t> starts;
  bool ended = false;              // after an end mark and any closing quotes or brackets
  std::size_t sentence_chars = 0;  // characters since the sentence began
  bool sentence_spaced = false;    // white space since the sentence began
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char32_t c = utf8::decode(text, pos);
    if (!utf8::is_space(c)) {
      ++sentence_chars;
      if (is_end_mark(c))
        ended = true;
      else if (!is_closing(c))
        ended = false;
      continue;
    }
    // A run of white space. Line breaks: \n, \r\n or a lone \r, U+2028; U+2029 ends a paragraph.
    int line_breaks = 0;
    for (char32_t d = c;;) {
      if (d == U'\n' || d == 0x2028 || (d == U'\r' && (pos >= text.size() || text[pos] != '\n')))
        ++line_breaks;
      else if (d == 0x2029)
        line_breaks += 2;
      if (pos >= text.size()) break;
      std::size_t next = pos;
      d = utf8::decode(text, next);
      if (!utf8::is_space(d)) break;
      pos = next;
    }
    const bool list_marker = !sentence_spaced && sentence_chars <= kMaxListMarker;
    if ((ended && !list_marker) || line_breaks >= 2) {
      starts.push_back(pos);
      sentence_chars = 0;
      sentence_spaced = false;
    } else {
      sentence_spaced = true;
    }
    ended = false;
  }
  return starts;
}

// Sums the weights of a list of matched terms, each term once; in ascending order of weight (not the map's memory
// order), so equal term sets always give equal sums, to the last bit.
double sum_distinct(std::vector<const double*>& matched) {
  std::sort(matched.begin(), matched.end(),
            [](const double* x, const double* y) { return *x != *y ? *x < *y : std::less<>()(x, y); });
  matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
  double sum = 0;
  for (const double* weight : matched) sum += *weight;
  return sum;
}

}  // namespace

double best_sentence_window(std::string_view text, const TermWeights& weights) {
  if (weights.empty()) return 0;
  const std::vector<std::size_t> starts = sentence_starts(text);
  // For each sentence that holds a token, the query terms in it (pointers into `weights`, one per distinct term).
  std::vector<std::vector<const double*>> sentences;
  std::size_t current = static_cast<std::size_t>(-1);
  for (const LexicalToken& token : lexical_tokens(text)) {
    const auto sentence =
        static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), token.begin) - starts.begin());
    if (sentence != current) {
      sentences.emplace_back();
      current = sentence;
    }
    const auto found = weights.find(token.text);
    if (found != weights.end()) sentences.back().push_back(&found->second);
  }
  double best = 0;
  std::vector<const double*> window;
  for (std::size_t i = 0; i + 1 < std::max<std::size_t>(sentences.size(), 2); ++i) {
    window.clear();
    for (std::size_t j = i; j < std::min(i + 2, sentences.size()); ++j)
      window.insert(window.end(), sentences[j].begin(), sentences[j].end());
    best = std::max(best, sum_distinct(window));
  }
  return best;
}

double file_name_match(std::string_view path, const TermWeights& weights) {
  std::vector<const double*> matched;
  for (const LexicalToken& token : lexical_tokens(std::filesystem::path(path).stem().string())) {
    const auto found = weights.find(token.text);
    if (found != weights.end()) matched.push_back(&found->second);
  }
  return sum_distinct(matched);
}

}  // namespace ksearch
