// What a caller asks a search for, checked the same way for every front end (`ksearch search`, the shell, `ksearch
// mcp`), so a bad value gets the same message wherever it is typed.
#pragma once

#include <string>
#include <vector>

#include "search/searcher.h"

namespace ksearch {

inline constexpr long long kMaxResults = 100000;

struct SearchRequest {
  std::string query;
  long long k = 10;  // signed, so that -1 from a JSON client is refused rather than wrapped
  std::string mode = "auto";
  std::string path_glob;                // gitignore syntax, on the path relative to the index root
  std::vector<std::string> extensions;  // "pdf", ".md", "HWP": dot and case are ignored
  bool rerank = false;
  long long rerank_top = 50;
};

// The query as typed; throws Error when it is empty or only white space.
std::string checked_query(std::string query);

// SearchOptions for `request`; throws Error naming the field and its value: an empty query, k or rerank_top outside
// 1..kMaxResults, an unknown mode, an empty extension.
SearchOptions search_options(const SearchRequest& request);

}  // namespace ksearch
