// Snippets of a chunk around the query's matching terms, with the matches marked.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksearch {

struct Snippet {
  std::string text;                                        // excerpt (whole words/syllables, "…" at cut ends)
  std::vector<std::pair<std::size_t, std::size_t>> marks;  // byte ranges in `text` matching query terms
};

// The window of at most `max_characters` with the most query-term matches (lexical tokens: Hangul bigrams, words).
Snippet make_snippet(std::string_view text, std::string_view query, std::size_t max_characters = 220);

// `snippet` with marks wrapped in `before` / `after` (ANSI colours on a terminal).
std::string render_snippet(const Snippet& snippet, std::string_view before, std::string_view after);

}  // namespace ksearch
