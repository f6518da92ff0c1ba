// PDF: text per page via poppler-cpp, rebuilt from word boxes in reading order.  Lines that wrap inside a paragraph
// are joined; when a Korean word was split by the layout (a Hangul syllable ends one line and another starts the
// next), the parts are joined without a space.  Pages without extractable text (scans) are reported.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

#include "base/utf8.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

struct Word {
  std::string text;
  double left, top, right, bottom;
  bool space_after;
};

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

std::vector<Line> build_lines(const std::vector<Word>& words) {
  std::vector<Line> lines;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const Word& word = words[i];
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

}  // namespace

Document read_pdf(std::string_view bytes) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
  if (!bytes.starts_with("%PDF") && bytes.substr(0, 1024).find("%PDF") == std::string_view::npos)
    throw SkipFile("not a PDF file (no %PDF header)");
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT32_MAX))));
  if (!pdf) throw SkipFile("damaged PDF (poppler could not open it)");
  if (pdf->is_locked()) throw SkipFile("encrypted PDF (a password is required)");
  Document document;
  document.format = "pdf";
  for (int index = 0; index < pdf->pages(); ++index) {
    std::unique_ptr<poppler::page> page(pdf->create_page(index));
    document.page_starts.push_back(document.text.size());
    std::vector<Word> words;
    if (page) {
      for (const auto& box : page->text_list()) {
        const auto utf8_bytes = box.text().to_utf8();
        std::string text(utf8_bytes.begin(), utf8_bytes.end());
        if (text.empty()) continue;
        const auto r = box.bbox();
        words.push_back({utf8::sanitize(text), r.left(), r.top(), r.right(), r.bottom(), box.has_space_after()});
      }
    }
    const std::string text = reflow(build_lines(words));
    if (utf8::length(text) < 2) document.empty_pages.push_back(index + 1);
    document.text += text;
    document.text += '\n';
  }
  return document;
}

}  // namespace ksearch
