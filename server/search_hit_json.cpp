#include "server/search_hit_json.h"

namespace ksearch {

Json search_hit_json(const SearchHit& hit) {
  Json scores = Json::object();
  if (hit.dense) scores["dense"] = *hit.dense;
  if (hit.lexical) scores["lexical"] = *hit.lexical;
  if (hit.rerank) scores["rerank"] = *hit.rerank;
  return {{"rank", hit.rank},
          {"score", hit.score},
          {"path", hit.chunk.path},
          {"chunk", hit.chunk.ordinal},
          {"text", hit.chunk.text},
          {"start_line", hit.chunk.line_begin},
          {"end_line", hit.chunk.line_end},
          {"page", hit.chunk.page > 0 ? Json(hit.chunk.page) : Json()},
          {"scores", scores}};
}

}  // namespace ksearch
