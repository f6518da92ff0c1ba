#include "search/document_excerpt.h"

#include <algorithm>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "ingest/file_walker.h"
#include "ingest/walked_file.h"

namespace ksearch {

DocumentExcerpt excerpt_lines(const Document& document, const std::string& name, std::size_t first, std::size_t last,
                              std::size_t context) {
  std::vector<std::size_t> starts{0};
  for (std::size_t pos = document.text.find('\n'); pos != std::string::npos; pos = document.text.find('\n', pos + 1))
    starts.push_back(pos + 1);
  if (starts.size() > 1 && starts.back() == document.text.size()) starts.pop_back();  // the final line break
  if (first > starts.size()) fail(name, ": line ", first, " is past its end (", starts.size(), " lines)");
  if (first > 0 && last < first) fail(name, ": end line ", last, " is before line ", first);
  const std::size_t from = first == 0 ? 1 : first > context ? first - context : 1;
  const std::size_t to = std::min(starts.size(), first == 0 ? 2 * context + 1 : last + context);
  DocumentExcerpt excerpt;
  excerpt.total_lines = starts.size();
  for (std::size_t number = from; number <= to; ++number) {
    const std::size_t begin = starts[number - 1];
    const std::size_t end = number < starts.size() ? starts[number] - 1 : document.text.size();
    std::string text = document.text.substr(begin, end - begin);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();  // blank lines at the end
    excerpt.lines.push_back({number, std::max(document.page_of(begin), 0), std::move(text)});
  }
  return excerpt;
}

Document read_indexed_document(const IndexLocation& location, const IndexSettings& settings,
                               const std::string& stored_path) {
  namespace fs = std::filesystem;
  const fs::path file = fs::path(stored_path).is_absolute() ? fs::path(stored_path) : location.root / stored_path;
  std::error_code error;
  if (!fs::is_regular_file(fs::status(file, error)))
    fail(stored_path,
         error ? cat(": cannot be read: ", error.message()) : std::string(": is no longer a regular file"));
  const DocumentLimits limits;
  const auto size = fs::file_size(file, error);
  if (error) fail(stored_path, ": cannot be read: ", error.message());
  FoundFile found{file, stored_path, static_cast<std::int64_t>(std::min<std::uintmax_t>(size, limits.unpacked_bytes)),
                  0};
  const PathGuard guard(indexed_folders(location, settings), settings.follow_symlinks);
  return parse_document(file, WalkedFile(found, guard).read_all(), limits);
}

}  // namespace ksearch
