#include "search/highlight.h"

#include <algorithm>
#include <set>

#include "base/utf8.h"
#include "store/lexical.h"

namespace ksearch {

Snippet make_snippet(std::string_view text, std::string_view query, std::size_t max_characters) {
  std::set<std::string> terms;
  for (const auto& token : lexical_tokens(query)) terms.insert(token.text);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const auto& token : lexical_tokens(text))
    if (terms.contains(token.text)) {
      if (!matches.empty() && token.begin <= matches.back().second)
        matches.back().second = std::max<std::size_t>(matches.back().second, token.end);
      else
        matches.emplace_back(token.begin, token.end);
    }

  // Character boundaries, to cut by characters and never inside a UTF-8 sequence.
  std::vector<std::size_t> starts;
  for (std::size_t pos = 0; pos < text.size();) {
    starts.push_back(pos);
    utf8::decode(text, pos);
  }
  starts.push_back(text.size());
  const std::size_t characters = starts.size() - 1;
  std::size_t first = 0;
  if (characters > max_characters && !matches.empty()) {
    // Slide over match starts: the window beginning a little before match i covering the most matches.
    std::size_t best_count = 0;
    for (std::size_t i = 0; i < matches.size(); ++i) {
      const std::size_t at =
          static_cast<std::size_t>(std::lower_bound(starts.begin(), starts.end(), matches[i].first) - starts.begin());
      const std::size_t begin = at > 20 ? at - 20 : 0;
      const std::size_t end_byte = starts[std::min(characters, begin + max_characters)];
      std::size_t count = 0;
      for (std::size_t j = i; j < matches.size() && matches[j].second <= end_byte; ++j) ++count;
      if (count > best_count) best_count = count, first = begin;
    }
  }
  // Begin at a word: skip the rest of a word the window cuts into, up to its lead of 20 characters before the match.
  const auto space_at = [&](std::size_t i) {
    std::size_t pos = starts[i];
    return utf8::is_space(utf8::decode(text, pos));
  };
  if (first > 0 && !space_at(first - 1))
    for (std::size_t i = first; i < std::min(characters, first + 20); ++i)
      if (space_at(i)) {
        first = i + 1;
        break;
      }
  const std::size_t last = std::min(characters, first + max_characters);
  const std::size_t begin_byte = starts[first], end_byte = starts[last];
  Snippet snippet;
  if (first > 0) snippet.text = "…";
  const std::size_t shift = snippet.text.size();
  for (std::size_t pos = begin_byte; pos < end_byte; ++pos)
    snippet.text += (text[pos] == '\n' || text[pos] == '\t' || text[pos] == '\r') ? ' ' : text[pos];
  if (last < characters) snippet.text += "…";
  for (const auto& [a, b] : matches)
    if (a >= begin_byte && b <= end_byte) snippet.marks.emplace_back(a - begin_byte + shift, b - begin_byte + shift);
  return snippet;
}

std::string render_snippet(const Snippet& snippet, std::string_view before, std::string_view after) {
  std::string out;
  std::size_t at = 0;
  for (const auto& [a, b] : snippet.marks) {
    out.append(snippet.text, at, a - at);
    out.append(before).append(snippet.text, a, b - a).append(after);
    at = b;
  }
  out.append(snippet.text, at, std::string::npos);
  return out;
}

}  // namespace ksearch
