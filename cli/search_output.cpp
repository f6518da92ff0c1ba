#include "cli/search_output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <utility>
#include <vector>

#include "base/display_width.h"
#include "cli/terminal.h"
#include "search/highlight.h"
#include "search/hit_location.h"
#include "server/search_hit_json.h"

namespace ksearch::cli {
namespace {

constexpr std::size_t kIndent = 4;  // snippet lines under the result's number
constexpr std::size_t kSnippetLines = 3;

std::string score_label(const std::string& kind) {
  if (kind == "cosine") return "score: cosine similarity";
  if (kind == "bm25") return "score: BM25 keyword relevance";
  if (kind == "rrf") return "dense and keyword ranks fused";
  if (kind == "rerank") return "score: cross-encoder relevance 0..1";
  return "score: " + kind;
}

// What a reader can weigh: a hybrid hit's place in each list it came from (a fusion score means little), else the
// score itself.
std::string hit_score(const SearchHit& hit, const std::string& kind) {
  char text[64];
  if (kind != "rrf") {
    std::snprintf(text, sizeof text, "%.3f", hit.score);
    return text;
  }
  std::string out;
  if (hit.dense_rank) out = cat("dense #", *hit.dense_rank);
  if (hit.lexical_rank) out += cat(out.empty() ? "" : " · ", "keyword #", *hit.lexical_rank);
  return out;
}

// The snippet with its control characters escaped, marks moved to match.
Snippet escaped(const Snippet& snippet) {
  Snippet out;
  std::size_t at = 0;
  for (const auto& [begin, end] : snippet.marks) {
    out.text += escape_controls(std::string_view(snippet.text).substr(at, begin - at));
    const std::size_t mark_begin = out.text.size();
    out.text += escape_controls(std::string_view(snippet.text).substr(begin, end - begin));
    out.marks.emplace_back(mark_begin, out.text.size());
    at = end;
  }
  out.text += escape_controls(std::string_view(snippet.text).substr(at));
  return out;
}

// Bytes [begin, end) of the snippet with the marks inside them highlighted.
std::string render_range(const Snippet& snippet, std::size_t begin, std::size_t end, const Style& style) {
  std::string out;
  std::size_t at = begin;
  for (const auto& [a, b] : snippet.marks) {
    const std::size_t from = std::max(a, begin), to = std::min(b, end);
    if (from >= to) continue;
    out.append(snippet.text, at, from - at);
    out += style.highlight_open() + snippet.text.substr(from, to - from) + style.highlight_close();
    at = to;
  }
  out.append(snippet.text, at, end - at);
  return out;
}

std::string fill_template(const std::string& format, const SearchHit& hit, const HitLocation& location,
                          const std::string& path) {
  char score[32];
  std::snprintf(score, sizeof score, "%.4f", hit.score);
  const std::pair<std::string, std::string> fields[] = {
      {"{rank}", std::to_string(hit.rank)},
      {"{path}", path},
      {"{line}", std::to_string(location.line)},
      {"{column}", std::to_string(location.column)},
      {"{page}", hit.chunk.page > 0 ? std::to_string(hit.chunk.page) : ""},
      {"{score}", score},
      {"{text}", escape_controls(location.line_text)}};
  std::string out;
  for (std::size_t pos = 0; pos < format.size();) {
    bool replaced = false;
    for (const auto& [name, value] : fields)
      if (format.compare(pos, name.size(), name) == 0) {
        out += value;
        pos += name.size();
        replaced = true;
        break;
      }
    if (!replaced) out += format[pos++];
  }
  return out;
}

void print_pretty(std::ostream& out, std::string_view query, const SearchResponse& response,
                  const std::filesystem::path& root, const OutputOptions& options) {
  const Style style{options.color};
  const std::size_t width = std::max<std::size_t>(options.width, 20);
  char took[32];
  std::snprintf(took, sizeof took, "%.1f ms", response.took_ms);
  out << style.dim(fit_width(
             cat(search_mode_name(response.mode), " search · ", score_label(response.score_kind), " · ", took),
             width - 1))
      << '\n';
  const std::size_t columns = width - 1 - kIndent;
  for (const SearchHit& hit : response.results) {
    const HitLocation location = locate_hit_in_file(hit.chunk, query, root);
    std::string where = cat(shown_path(hit.chunk.path, root, options), ":", location.line, ":", location.column);
    if (hit.chunk.page > 0) where += cat(" (p.", hit.chunk.page, ")");
    const std::string number = cat(hit.rank < 10 ? " " : "", hit.rank, ". ");
    const std::string score = hit_score(hit, response.score_kind);
    // The score goes on the same line when it fits, the path is never cut (it must stay usable).
    const bool same_line = display_width(number) + display_width(where) + 2 + display_width(score) < width;
    out << style.bold(number) << style.bold(where);
    if (same_line)
      out << "  ";
    else
      out << '\n' << std::string(kIndent, ' ');
    out << style.dim(score) << '\n';
    // Up to three lines of Hangul (two columns each), wrapped at words.
    const std::size_t characters = std::max<std::size_t>(40, columns * kSnippetLines / 2);
    const Snippet snippet = escaped(make_snippet(hit.chunk.text, query, characters));
    for (const auto& [begin, end] : wrap_lines(snippet.text, columns))
      out << std::string(kIndent, ' ') << render_range(snippet, begin, end, style) << '\n';
  }
}

}  // namespace

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

std::string shown_path(const std::string& indexed_path, const std::filesystem::path& root,
                       const OutputOptions& options) {
  const std::filesystem::path full = root / indexed_path;
  std::filesystem::path shown = full;
  if (!options.absolute && !options.working_dir.empty()) {
    const std::filesystem::path relative = full.lexically_relative(options.working_dir);
    if (!relative.empty()) shown = relative;
  }
  return escape_controls(shown.string());
}

void print_response(std::ostream& out, std::string_view query, const SearchResponse& response,
                    const std::filesystem::path& root, const OutputOptions& options) {
  if (!response.notice.empty()) std::cerr << "ksearch: " << response.notice << '\n';
  switch (options.format) {
    case ResultFormat::Pretty:
      print_pretty(out, query, response, root, options);
      if (response.results.empty()) out << "no results\n";
      return;
    case ResultFormat::Files: {
      std::set<std::string> printed;
      for (const SearchHit& hit : response.results)
        if (printed.insert(hit.chunk.path).second) out << shown_path(hit.chunk.path, root, options) << '\n';
      return;
    }
    case ResultFormat::Vimgrep:
    case ResultFormat::Template:
      for (const SearchHit& hit : response.results) {
        const HitLocation location = locate_hit_in_file(hit.chunk, query, root);
        const std::string path = shown_path(hit.chunk.path, root, options);
        if (options.format == ResultFormat::Vimgrep)
          out << path << ':' << location.line << ':' << location.column << ':' << escape_controls(location.line_text)
              << '\n';
        else
          out << fill_template(options.template_text, hit, location, path) << '\n';
      }
      return;
  }
}

}  // namespace ksearch::cli
