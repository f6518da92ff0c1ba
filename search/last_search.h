// The results of the last search typed at a terminal (`ksearch search`, the shell), remembered per index in
// DIR/last-search.json so that `ksearch open N` opens the N-th one later, from another process.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "search/index_location.h"
#include "search/searcher.h"

namespace ksearch {

// Results kept beyond this are not remembered (each keeps its passage, to find the line of the hit again).
inline constexpr std::size_t kRememberedResults = 1000;

struct LastSearch {
  std::string query;
  std::vector<ChunkRecord> results;  // path, line_begin, line_end, page and text; ranked best first

  // The N-th result (1-based); throws Error naming N and how many there are.
  const ChunkRecord& result(long long n) const;
};

// Writes `response`'s first kRememberedResults results atomically (temp file, fsync, rename): a reader sees the old
// search or the new one, never a mix.
void save_last_search(const IndexLocation& location, std::string_view query, const SearchResponse& response);

// Reads what save_last_search wrote; throws Error when there is none yet or the file is damaged (naming the file
// and field).
LastSearch load_last_search(const IndexLocation& location);

// Parses the file's text; `where` names it in errors.
LastSearch parse_last_search(std::string_view text, std::string_view where);

}  // namespace ksearch
