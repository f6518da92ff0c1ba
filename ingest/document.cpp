#include <algorithm>
#include <fstream>

#include "base/files.h"
#include "base/utf8.h"
#include "ingest/document.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

struct FileType {
  std::string_view extension;
  DocumentFormat format;
};

constexpr FileType kFileTypes[] = {
    {".txt", DocumentFormat::Text},          {".text", DocumentFormat::Text}, {".md", DocumentFormat::Markdown},
    {".markdown", DocumentFormat::Markdown}, {".html", DocumentFormat::Html}, {".htm", DocumentFormat::Html},
    {".xhtml", DocumentFormat::Html},        {".pdf", DocumentFormat::Pdf},   {".docx", DocumentFormat::Docx},
    {".hwpx", DocumentFormat::Hwpx},         {".hwp", DocumentFormat::Hwp},   {".hwpml", DocumentFormat::Hwp},
};

}  // namespace

std::optional<DocumentFormat> format_of_extension(std::string_view extension) {
  for (const FileType& type : kFileTypes)
    if (extension == type.extension) return type.format;
  return std::nullopt;
}

std::optional<DocumentFormat> format_of_path(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return format_of_extension(extension);
}

bool is_supported_extension(std::string_view extension) { return format_of_extension(extension).has_value(); }

bool is_plain_text(DocumentFormat format) {
  return format == DocumentFormat::Text || format == DocumentFormat::Markdown;
}

std::string_view supported_formats_description() { return "text, Markdown, HTML, PDF, DOCX, HWPX and HWP"; }

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
  const auto format = format_of_path(path);
  // Content decides over the extension where the two disagree.
  if (bytes.starts_with("%PDF")) return read_pdf(bytes);
  if (bytes.starts_with("\xD0\xCF\x11\xE0") || looks_like_hwpml(bytes)) return read_hwp(bytes, limits);
  if (!format) throw SkipFile(cat("unsupported file type '", path.extension().string(), "'"));
  switch (*format) {
    case DocumentFormat::Hwp:
      return read_hwp(bytes, limits);
    case DocumentFormat::Docx:
      return read_docx(bytes, limits);
    case DocumentFormat::Hwpx:
      return read_hwpx(bytes, limits);
    case DocumentFormat::Html:
      return read_html(bytes);
    case DocumentFormat::Pdf:
      return read_pdf(bytes);
    case DocumentFormat::Markdown:
      return read_plain_text(bytes, "markdown");
    case DocumentFormat::Text:
      return read_plain_text(bytes, "text");
  }
  KSEARCH_ASSERT(false && "unknown DocumentFormat");
  return {};
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
