#include <algorithm>
#include <fstream>

#include "base/files.h"
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

Document parse_document(const std::filesystem::path& path, std::string_view bytes) {
  const std::string extension = lower_extension(path);
  // Content decides over the extension where the two disagree.
  if (bytes.starts_with("%PDF") || extension == ".pdf") return read_pdf(bytes);
  if (bytes.starts_with("\xD0\xCF\x11\xE0") || looks_like_hwpml(bytes)) return read_hwp(bytes);
  if (extension == ".hwp" || extension == ".hwpml") return read_hwp(bytes);
  if (extension == ".docx") return read_docx(bytes);
  if (extension == ".hwpx") return read_hwpx(bytes);
  if (extension == ".html" || extension == ".htm" || extension == ".xhtml") return read_html(bytes);
  if (extension == ".md" || extension == ".markdown") return read_plain_text(bytes, "markdown");
  if (extension == ".txt" || extension == ".text") return read_plain_text(bytes, "text");
  throw SkipFile(cat("unsupported file type '", extension, "'"));
}

Document read_document(const std::filesystem::path& path) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    throw SkipFile(e.what());
  }
  return parse_document(path, bytes);
}

}  // namespace ksearch
