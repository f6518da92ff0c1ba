#include "search/last_search.h"

#include <filesystem>

#include "base/files.h"
#include "base/json.h"

namespace ksearch {
namespace {

constexpr int kFormatVersion = 1;

std::filesystem::path last_search_file(const IndexLocation& location) { return location.dir / "last-search.json"; }

}  // namespace

const ChunkRecord& LastSearch::result(long long n) const {
  if (results.empty()) fail("the last search (", query, ") found nothing to open");
  if (n < 1 || n > static_cast<long long>(results.size()))
    fail("result ", n, " does not exist: the last search (", query, ") has results 1 to ", results.size());
  return results[static_cast<std::size_t>(n - 1)];
}

void save_last_search(const IndexLocation& location, std::string_view query, const SearchResponse& response) {
  Json results = Json::array();
  for (const SearchHit& hit : response.results) {
    if (results.size() == kRememberedResults) break;
    results.push_back({{"path", hit.chunk.path},
                       {"line_begin", hit.chunk.line_begin},
                       {"line_end", hit.chunk.line_end},
                       {"page", hit.chunk.page},
                       {"text", hit.chunk.text}});
  }
  const Json file = {{"version", kFormatVersion}, {"query", query}, {"results", results}};
  write_file_atomically(last_search_file(location), to_json_text(file) + "\n");
}

LastSearch load_last_search(const IndexLocation& location) {
  const std::filesystem::path path = last_search_file(location);
  if (!std::filesystem::exists(path))
    fail("no search to open yet in ", location.root.string(), ": search first, e.g. ksearch search 시설 대여");
  return parse_last_search(read_file(path), path.string());
}

LastSearch parse_last_search(std::string_view text, std::string_view where) {
  const Json file = parse_json(text, where);
  if (const int version = required_field<int>(file, "version", where); version != kFormatVersion)
    fail(where, ": format version ", version, " (this ksearch reads ", kFormatVersion, "); search again");
  LastSearch last;
  last.query = required_field<std::string>(file, "query", where);
  const auto results = file.find("results");
  if (results == file.end() || !results->is_array()) fail(where, ": field 'results' must be an array");
  for (const Json& item : *results) {
    const std::string item_where = cat(where, ": results[", last.results.size(), "]");
    ChunkRecord chunk;
    chunk.path = required_field<std::string>(item, "path", item_where);
    chunk.line_begin = required_field<int>(item, "line_begin", item_where);
    chunk.line_end = required_field<int>(item, "line_end", item_where);
    chunk.page = required_field<int>(item, "page", item_where);
    chunk.text = required_field<std::string>(item, "text", item_where);
    if (chunk.path.empty() || chunk.line_begin < 1 || chunk.line_end < chunk.line_begin || chunk.page < 0)
      fail(item_where, ": path '", chunk.path, "', lines ", chunk.line_begin, "-", chunk.line_end, ", page ",
           chunk.page, " are not a result's");
    last.results.push_back(std::move(chunk));
  }
  return last;
}

}  // namespace ksearch
