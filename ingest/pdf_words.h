// The PDF plugin's interface.  poppler-cpp and the 24 libraries it pulls in (NSS, freetype, fontconfig, image codecs)
// live in a module of their own, libksearch_pdf.so, opened on the first PDF: linked into ksearch they would slow the
// start of every process, searches included (docs/performance-history.md, "Start-up costs").
// Built from the same sources by the same compiler as ksearch, so C++ types cross the boundary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

struct PdfWord {
  std::string text;  // UTF-8 as poppler gives it (not yet sanitised)
  double left, top, right, bottom;
  bool space_after;
};

struct PdfWords {
  enum class Status { Ok, Damaged, Locked } status = Status::Ok;
  std::vector<std::vector<PdfWord>> pages;  // every page, in order; a page poppler could not open has no words
};

// The module's one exported function, looked up by this name.
using ReadPdfWords = void (*)(std::string_view bytes, PdfWords& words);
inline constexpr const char* kReadPdfWordsSymbol = "ksearch_read_pdf_words";

}  // namespace ksearch
