#include <algorithm>
#include <fstream>

#include "base/files.h"
#include "base/utf8.h"
#include "ingest/document.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

std::string lower_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace

bool is_supported_extension(std::string_view extension) {
  for (std::string_view known :
       {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ".pdf", ".docx", ".hwpx", ".hwp", ".hwpml"})
    if (extension == known) return true;
  return false;
}

Document read_plain_text(std::string_view bytes, std::string_view format) {
  Document document;
  document.format = format;
  document.text = decode_text(bytes, document);
  return document;
}

namespace {

std::string describe_bytes(std::size_t bytes) {
  return bytes % (1u << 20) == 0 ? cat(bytes >> 20, " MiB") : cat(bytes, " bytes");
}

}  // namespace

void UnpackBudget::charge(std::size_t bytes) {
  if (bytes > limit_ - used_)
    throw SkipFile(cat("unpacks to more than ", describe_bytes(limit_), " (--max-document-bytes raises the limit)"));
  used_ += bytes;
}

namespace {

Document read_by_type(const std::filesystem::path& path, std::string_view bytes, const DocumentLimits& limits) {
  const std::string extension = lower_extension(path);
  // Content decides over the extension where the two disagree.
  if (bytes.starts_with("%PDF") || extension == ".pdf") return read_pdf(bytes);
  if (bytes.starts_with("\xD0\xCF\x11\xE0") || looks_like_hwpml(bytes)) return read_hwp(bytes, limits);
  if (extension == ".hwp" || extension == ".hwpml") return read_hwp(bytes, limits);
  if (extension == ".docx") return read_docx(bytes, limits);
  if (extension == ".hwpx") return read_hwpx(bytes, limits);
  if (extension == ".html" || extension == ".htm" || extension == ".xhtml") return read_html(bytes);
  if (extension == ".md" || extension == ".markdown") return read_plain_text(bytes, "markdown");
  if (extension == ".txt" || extension == ".text") return read_plain_text(bytes, "text");
  throw SkipFile(cat("unsupported file type '", extension, "'"));
}

}  // namespace

Document parse_document(const std::filesystem::path& path, std::string_view bytes, const DocumentLimits& limits) {
  Document document = read_by_type(path, bytes, limits);
  if (document.text.size() > limits.unpacked_bytes) {
    std::size_t cut = document.text.rfind('\n', limits.unpacked_bytes);
    cut = cut == std::string::npos ? utf8::floor_boundary(document.text, limits.unpacked_bytes) : cut + 1;
    document.text.resize(cut);
    while (!document.page_starts.empty() && document.page_starts.back() >= cut) document.page_starts.pop_back();
    const std::string note =
        cat("text truncated at ", describe_bytes(limits.unpacked_bytes), " (--max-document-bytes raises the limit)");
    document.warning += (document.warning.empty() ? "" : "; ") + note;
  }
  return document;
}

Document read_document(const std::filesystem::path& path, const DocumentLimits& limits) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    throw SkipFile(e.what());
  }
  return parse_document(path, bytes, limits);
}

}  // namespace ksearch
