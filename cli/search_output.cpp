#include "cli/search_output.h"

#include <cstdio>
#include <iostream>

#include "cli/terminal.h"
#include "search/highlight.h"

namespace ksearch::cli {

std::string score_meaning(const std::string& kind) {
  if (kind == "cosine") return "cosine similarity of query and passage embeddings";
  if (kind == "bm25") return "BM25 keyword relevance (Hangul bigrams and words)";
  if (kind == "rrf") return "reciprocal rank fusion of dense and keyword ranks";
  if (kind == "rerank") return "cross-encoder relevance (sigmoid of its logit, 0..1)";
  return kind;
}

Json response_json(std::string_view query, const SearchResponse& response) {
  Json results = Json::array();
  for (const SearchHit& hit : response.results) results.push_back(search_hit_json(hit));
  Json out = {{"query", query},
              {"mode", search_mode_name(response.mode)},
              {"score", response.score_kind},
              {"results", results},
              {"took_ms", response.took_ms}};
  if (!response.notice.empty()) out["notice"] = response.notice;
  return out;
}

void print_response(std::string_view query, const SearchResponse& response, bool color) {
  const Style style{color};
  if (!response.notice.empty()) std::cerr << "ksearch: " << response.notice << '\n';
  char took[32];
  std::snprintf(took, sizeof took, "%.1f ms", response.took_ms);
  std::cout << style.dim(cat(search_mode_name(response.mode), " search · score = ", score_meaning(response.score_kind),
                             " · ", took))
            << '\n';
  if (response.results.empty()) {
    std::cout << "no results\n";
    return;
  }
  for (const SearchHit& hit : response.results) {
    const ChunkRecord& chunk = hit.chunk;
    std::string where = chunk.path;
    if (chunk.page > 0) where += cat(" p.", chunk.page);
    where += chunk.line_begin == chunk.line_end ? cat(":", chunk.line_begin) : cat(":", chunk.line_begin, "-", chunk.line_end);
    char score[32];
    std::snprintf(score, sizeof score, response.score_kind == "rrf" ? "%.4f" : "%.3f", hit.score);
    std::cout << style.bold(cat(hit.rank < 10 ? " " : "", hit.rank, ". ")) << style.bold(where) << "  "
              << style.dim(score) << '\n';
    const Snippet snippet = make_snippet(chunk.text, query);
    std::cout << "    " << render_snippet(snippet, style.highlight_open(), style.highlight_close()) << '\n';
  }
}

}  // namespace ksearch::cli
