#include "search/search_request.h"

namespace ksearch {

std::string checked_query(std::string query) {
  if (query.find_first_not_of(" \t\r\n") == std::string::npos)
    fail("query is empty: type what to look for, e.g. 시설 대여");
  return query;
}

SearchOptions search_options(const SearchRequest& request) {
  checked_query(request.query);
  if (request.k < 1 || request.k > kMaxResults) fail("k is ", request.k, ": ask for 1 to ", kMaxResults, " results");
  if (request.rerank_top < 1 || request.rerank_top > kMaxResults)
    fail("rerank_top is ", request.rerank_top, ": rerank 1 to ", kMaxResults, " candidates");
  SearchOptions options;
  options.k = static_cast<std::size_t>(request.k);
  options.mode = parse_search_mode(request.mode);
  options.path_glob = request.path_glob;
  for (const std::string& extension : request.extensions) {
    if (extension.find_first_not_of(". ") == std::string::npos)
      fail("extension '", extension, "' is empty: name one such as pdf, md or hwp");
    options.extensions.push_back(extension);
  }
  options.rerank = request.rerank;
  options.rerank_top = static_cast<std::size_t>(request.rerank_top);
  return options;
}

}  // namespace ksearch
