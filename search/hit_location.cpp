#include "search/hit_location.h"

#include <set>
#include <vector>

#include "ingest/document.h"
#include "store/lexical.h"

namespace ksearch {

HitLocation locate_hit(const ChunkRecord& chunk, std::string_view query, std::string_view line_prefix) {
  std::set<std::string> terms;
  for (const auto& token : lexical_tokens(query)) terms.insert(token.text);
  const std::string text = std::string(line_prefix) + chunk.text;

  // Line starts in `text`; then the distinct terms on each line and where its first match begins.
  std::vector<std::size_t> starts{0};
  for (std::size_t pos = text.find('\n'); pos != std::string::npos; pos = text.find('\n', pos + 1))
    starts.push_back(pos + 1);
  std::vector<std::set<std::string>> found(starts.size());
  std::vector<std::size_t> first_match(starts.size(), std::string::npos);
  std::size_t line = 0;
  for (const auto& token : lexical_tokens(text)) {
    if (!terms.contains(token.text)) continue;
    while (line + 1 < starts.size() && starts[line + 1] <= token.begin) ++line;
    found[line].insert(token.text);
    if (first_match[line] == std::string::npos) first_match[line] = token.begin;
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < starts.size(); ++i)
    if (found[i].size() > found[best].size()) best = i;

  HitLocation location;
  location.line = chunk.line_begin + static_cast<int>(best);
  location.matched = !found[best].empty();
  if (location.matched) location.column = static_cast<int>(first_match[best] - starts[best]) + 1;
  const std::size_t end = best + 1 < starts.size() ? starts[best + 1] - 1 : text.size();
  location.line_text = text.substr(starts[best], end - starts[best]);
  if (!location.line_text.empty() && location.line_text.back() == '\r') location.line_text.pop_back();
  return location;
}

HitLocation locate_hit_in_file(const ChunkRecord& chunk, std::string_view query, const std::filesystem::path& root) {
  HitLocation location = locate_hit(chunk, query);
  if (location.line != chunk.line_begin || chunk.byte_begin == 0) return location;
  std::string text;
  try {
    text = read_document(root / chunk.path).text;
  } catch (const Error&) {
    return location;
  }
  const auto begin = static_cast<std::size_t>(chunk.byte_begin);
  // The file changed since it was indexed: its text no longer holds the chunk where the index says.
  if (begin > text.size() || text.compare(begin, chunk.text.size(), chunk.text) != 0) return location;
  const std::size_t line_start = text.rfind('\n', begin == 0 ? 0 : begin - 1);
  const std::size_t prefix_begin = line_start == std::string::npos || begin == 0 ? 0 : line_start + 1;
  return locate_hit(chunk, query, std::string_view(text).substr(prefix_begin, begin - prefix_begin));
}

}  // namespace ksearch
