#include "store/sentence_window.h"

#include <algorithm>
#include <vector>

#include "store/lexical.h"

namespace ksearch {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Byte offsets where a sentence begins after the first, ascending.
std::vector<std::size_t> sentence_starts(std::string_view text) {
  std::vector<std::size_t> starts;
  std::size_t i = 0;
  while (i < text.size()) {
    const bool after_end_mark = i > 0 && (text[i - 1] == '.' || text[i - 1] == '?' || text[i - 1] == '!');
    if (after_end_mark && is_space(text[i])) {
      while (i < text.size() && is_space(text[i])) ++i;
      starts.push_back(i);
    } else if (text[i] == '\n') {
      while (i < text.size() && text[i] == '\n') ++i;
      starts.push_back(i);
    } else {
      ++i;
    }
  }
  return starts;
}

}  // namespace

double best_sentence_window(std::string_view text, const std::unordered_map<std::string, double>& term_weights) {
  if (term_weights.empty()) return 0;
  const std::vector<std::size_t> starts = sentence_starts(text);
  // For each sentence that holds a token, the query terms in it (pointers into term_weights: one per distinct term).
  std::vector<std::vector<const double*>> sentences;
  std::size_t current = static_cast<std::size_t>(-1);
  for (const LexicalToken& token : lexical_tokens(text)) {
    const auto sentence =
        static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), token.begin) - starts.begin());
    if (sentence != current) {
      sentences.emplace_back();
      current = sentence;
    }
    const auto found = term_weights.find(token.text);
    if (found != term_weights.end()) sentences.back().push_back(&found->second);
  }
  double best = 0;
  std::vector<const double*> window;
  for (std::size_t i = 0; i + 1 < std::max<std::size_t>(sentences.size(), 2); ++i) {
    window.clear();
    for (std::size_t j = i; j < std::min(i + 2, sentences.size()); ++j)
      window.insert(window.end(), sentences[j].begin(), sentences[j].end());
    std::sort(window.begin(), window.end());
    window.erase(std::unique(window.begin(), window.end()), window.end());
    double sum = 0;
    for (const double* weight : window) sum += *weight;
    best = std::max(best, sum);
  }
  return best;
}

}  // namespace ksearch
