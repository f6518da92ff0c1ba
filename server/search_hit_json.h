// The JSON form of a search hit, shared by `/v1/search` and `ksearch search --json` (the cli reaches it because cli/
// sits above server/; it needs nothing of the HTTP server).
#pragma once

#include "base/json.h"
#include "search/searcher.h"

namespace ksearch {

// rank, score, path, chunk, text, start_line, end_line, page (null without pages), and scores {dense, lexical,
// rerank} as present.
Json search_hit_json(const SearchHit& hit);

}  // namespace ksearch
