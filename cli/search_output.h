// Printing search results for people (terminal) and programs (--json).
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "search/searcher.h"

namespace ksearch::cli {

Json response_json(std::string_view query, const SearchResponse& response);
void print_response(std::string_view query, const SearchResponse& response, bool color);
std::string score_meaning(const std::string& score_kind);

}  // namespace ksearch::cli
