// The PDF plugin (ingest/pdf_words.h): each page's words and boxes from poppler-cpp.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>

#include "ingest/pdf_words.h"

extern "C" __attribute__((visibility("default"))) void ksearch_read_pdf_words(std::string_view bytes,
                                                                              ksearch::PdfWords& words) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
  std::unique_ptr<poppler::document> pdf(poppler::document::load_from_raw_data(
      bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX))));
  if (!pdf) {
    words.status = ksearch::PdfWords::Status::Damaged;
    return;
  }
  if (pdf->is_locked()) {
    words.status = ksearch::PdfWords::Status::Locked;
    return;
  }
  words.pages.resize(static_cast<std::size_t>(std::max(pdf->pages(), 0)));
  for (std::size_t index = 0; index < words.pages.size(); ++index) {
    std::unique_ptr<poppler::page> page(pdf->create_page(static_cast<int>(index)));
    if (!page) continue;
    for (const auto& box : page->text_list()) {
      const auto utf8_bytes = box.text().to_utf8();
      if (utf8_bytes.empty()) continue;
      const auto r = box.bbox();
      words.pages[index].push_back({std::string(utf8_bytes.begin(), utf8_bytes.end()), r.left(), r.top(), r.right(),
                                    r.bottom(), box.has_space_after()});
    }
  }
}
