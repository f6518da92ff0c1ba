// Format readers behind read_document().  Each takes the file's bytes and returns a Document, or throws SkipFile
// (with the reason) for input it cannot read; malformed input never crashes a reader.
#pragma once

#include <string_view>

#include "ingest/document.h"

namespace ksearch {

Document read_plain_text(std::string_view bytes, std::string_view format);
Document read_html(std::string_view bytes);
Document read_pdf(std::string_view bytes);
// Containers unpack within `limits` (SkipFile beyond them).
Document read_docx(std::string_view bytes, const DocumentLimits& limits);
Document read_hwpx(std::string_view bytes, const DocumentLimits& limits);
// HWP 5.0 binary, or HWPML (XML) by content.
Document read_hwp(std::string_view bytes, const DocumentLimits& limits);
bool looks_like_hwpml(std::string_view bytes);

}  // namespace ksearch
