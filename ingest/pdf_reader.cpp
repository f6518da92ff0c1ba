// PDF: text per page from the word boxes poppler finds (through the PDF plugin, ingest/pdf_words.h), rebuilt in
// reading order.  Lines that wrap inside a paragraph are joined; when a Korean word was split by the layout (a Hangul
// syllable ends one line and another starts the next), the parts are joined without a space.  Pages without
// extractable text (scans) are reported.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "base/error.h"
#include "base/utf8.h"
#include "ingest/pdf_words.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

struct Line {
  std::string text;
  double left = 0, top = 0, right = 0, bottom = 0;
  double height() const { return bottom - top; }
};

char32_t first_char(std::string_view text) {
  std::size_t pos = 0;
  return text.empty() ? 0 : utf8::decode(text, pos);
}

char32_t last_char(std::string_view text) {
  if (text.empty()) return 0;
  std::size_t start = utf8::floor_boundary(text, text.size() - 1);
  return utf8::decode(text, start);
}

bool is_syllable(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }

std::vector<Line> build_lines(const std::vector<PdfWord>& words) {
  std::vector<Line> lines;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const PdfWord& word = words[i];
    const double center = (word.top + word.bottom) / 2;
    const bool same_line = !lines.empty() && center > lines.back().top && center < lines.back().bottom &&
                           word.left >= lines.back().right - (word.bottom - word.top);
    if (!same_line) {
      lines.push_back({word.text, word.left, word.top, word.right, word.bottom});
      continue;
    }
    Line& line = lines.back();
    if (i > 0 && words[i - 1].space_after) line.text += ' ';
    line.text += word.text;
    line.right = std::max(line.right, word.right);
    line.top = std::min(line.top, word.top);
    line.bottom = std::max(line.bottom, word.bottom);
  }
  return lines;
}

// Joins wrapped lines into paragraphs, one paragraph per output line.
std::string reflow(const std::vector<Line>& lines) {
  if (lines.empty()) return {};
  double right_margin = 0, heights = 0;
  for (const Line& line : lines) right_margin = std::max(right_margin, line.right), heights += line.height();
  const double line_height = heights / static_cast<double>(lines.size());
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string text = lines[i].text;
    while (!text.empty() && text.back() == ' ') text.pop_back();
    if (i == 0) {
      out += text;
      continue;
    }
    const Line& previous = lines[i - 1];
    const bool filled = previous.right >= right_margin - 2.5 * line_height;
    const double gap = lines[i].top - previous.bottom;
    const bool continues = filled && gap >= -0.5 * line_height && gap < 1.0 * line_height &&
                           std::abs(lines[i].left - previous.left) < 4 * line_height;
    if (!continues) {
      out += '\n';
    } else if (!(is_syllable(last_char(out)) && is_syllable(first_char(text)))) {
      out += ' ';
    }
    out += text;
  }
  return out;
}

// The plugin: installed beside the binary (<prefix>/bin/ksearch, <prefix>/lib/ksearch/), else the build tree's.
// Loaded once; a PDF met without it is skipped with the reason, and the other files are read.
ReadPdfWords pdf_plugin() {
  static const ReadPdfWords read = []() -> ReadPdfWords {
    std::vector<std::filesystem::path> candidates;
    std::error_code error;
    const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error)
      candidates.push_back(executable.parent_path().parent_path() / "lib" / "ksearch" / KSEARCH_PDF_PLUGIN_NAME);
    candidates.emplace_back(KSEARCH_PDF_PLUGIN_BUILD_PATH);
    std::string tried;
    for (const std::filesystem::path& path : candidates) {
      if (!std::filesystem::exists(path, error)) {
        tried += cat(tried.empty() ? "" : "; ", "no ", path.string());
        continue;
      }
      void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (module == nullptr) {
        tried += cat(tried.empty() ? "" : "; ", ::dlerror());
        continue;
      }
      if (void* symbol = ::dlsym(module, kReadPdfWordsSymbol)) return reinterpret_cast<ReadPdfWords>(symbol);
      tried += cat(tried.empty() ? "" : "; ", path.string(), " has no ", kReadPdfWordsSymbol);
    }
    throw SkipFile(cat("PDF support is not installed (", tried, ")"));
  }();
  return read;
}

}  // namespace

Document read_pdf(std::string_view bytes) {
  if (!bytes.starts_with("%PDF") && bytes.substr(0, 1024).find("%PDF") == std::string_view::npos)
    throw SkipFile("not a PDF file (no %PDF header)");
  PdfWords words;
  pdf_plugin()(bytes, words);
  if (words.status == PdfWords::Status::Damaged) throw SkipFile("damaged PDF (poppler could not open it)");
  if (words.status == PdfWords::Status::Locked) throw SkipFile("encrypted PDF (a password is required)");
  Document document;
  document.format = "pdf";
  for (std::size_t index = 0; index < words.pages.size(); ++index) {
    document.page_starts.push_back(document.text.size());
    for (PdfWord& word : words.pages[index]) word.text = utf8::sanitize(word.text);
    const std::string text = reflow(build_lines(words.pages[index]));
    if (utf8::length(text) < 2) document.empty_pages.push_back(static_cast<int>(index) + 1);
    document.text += text;
    document.text += '\n';
  }
  return document;
}

}  // namespace ksearch
