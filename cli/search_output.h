// Printing search results for people (terminal), editors and scripts (--vimgrep, -l, --format) and programs (--json).
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

#include "base/json.h"
#include "search/searcher.h"

namespace ksearch::cli {

enum class ResultFormat {
  Pretty,    // numbered results with wrapped, highlighted snippets
  Vimgrep,   // path:line:column:text, one line per result (as `rg --vimgrep`)
  Files,     // each matching path once (-l)
  Template,  // --format: {rank} {path} {line} {column} {page} {score} {text} filled in per result
};

struct OutputOptions {
  ResultFormat format = ResultFormat::Pretty;
  std::string template_text;  // for ResultFormat::Template
  bool color = false;
  std::size_t width = 80;             // terminal columns for Pretty
  bool absolute = false;              // absolute paths instead of paths from the working folder
  std::filesystem::path working_dir;  // relative paths start here
};

Json response_json(std::string_view query, const SearchResponse& response);

// Prints `response` to `out` (its notice to stderr).  Paths are shown relative to the working folder (or absolute),
// with control characters escaped, as is all document text.
void print_response(std::ostream& out, std::string_view query, const SearchResponse& response,
                    const std::filesystem::path& root, const OutputOptions& options);

// An indexed path (relative to `root`) as the user should type it: from the working folder, or absolute.
std::string shown_path(const std::string& indexed_path, const std::filesystem::path& root,
                       const OutputOptions& options);

}  // namespace ksearch::cli
