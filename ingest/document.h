// A document as read from a file: UTF-8 text plus where each page starts.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace ksearch {

struct Document {
  std::string text;                      // valid UTF-8; paragraphs separated by newlines
  std::vector<std::size_t> page_starts;  // byte offset of each page's first character (empty: no pages)
  std::vector<int> empty_pages;          // 1-based pages with no extractable text (scanned images)
  std::string format;                    // "text", "markdown", "html", "pdf", "docx", "hwpx", "hwp"
  std::string encoding;                  // source encoding of text formats ("utf-8", "cp949", "utf-16le", ...)
  std::string warning;                   // non-fatal notes (invalid bytes replaced, ...)

  // 1-based page containing byte `offset`, or 0 when the document has no pages.
  int page_of(std::size_t offset) const;
};

// A file that is deliberately not indexed (binary, encrypted, unsupported): the message is the reason shown in the
// summary.  The run continues with the next file.
class SkipFile : public Error {
 public:
  using Error::Error;
};

// What one document may cost, so a small hostile file (a zip bomb, a huge extraction) cannot exhaust memory.
struct DocumentLimits {
  // --max-document-bytes: what a document may unpack to (DOCX/HWPX entries, HWP sections, in total; over it the
  // file is skipped) and the most text kept from it (longer text is truncated, with a warning).
  std::size_t unpacked_bytes = 64u << 20;
  // --max-document-chunks: chunks indexed from one document; the rest is left out, with a warning.  Plain-text
  // files streamed block by block (over 32 MiB) are bounded by their size instead.
  std::size_t chunks = 10000;
};

// Counts the bytes a document unpacks against DocumentLimits::unpacked_bytes.
class UnpackBudget {
 public:
  explicit UnpackBudget(const DocumentLimits& limits) : limit_(limits.unpacked_bytes) {}
  // Throws SkipFile when `bytes` more would pass the limit.
  void charge(std::size_t bytes);
  std::size_t left() const { return limit_ - used_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

// Parses a file's bytes into a Document, choosing the reader by content, then extension.  Throws SkipFile with a
// reason for files that cannot or should not be indexed; text beyond limits.unpacked_bytes is cut off at a line
// break, with a warning.
Document parse_document(const std::filesystem::path& path, std::string_view bytes, const DocumentLimits& limits = {});
// read_file + parse_document.
Document read_document(const std::filesystem::path& path, const DocumentLimits& limits = {});

// How a supported file is read; the one table of supported file types (document.cpp) maps extensions to these.
enum class DocumentFormat { Text, Markdown, Html, Pdf, Docx, Hwpx, Hwp };
// The format of an extension (lower case, with the dot: ".md"); nullopt for types ksearch does not read.
std::optional<DocumentFormat> format_of_extension(std::string_view extension);
// The format of `path` by its extension (any case); nullopt for types ksearch does not read.
std::optional<DocumentFormat> format_of_path(const std::filesystem::path& path);
// Extensions (lower-case, with dot) read_document() accepts.
bool is_supported_extension(std::string_view extension);
// Plain text and Markdown: streamed when large, and opened in an editor rather than a viewer (as is HTML).
bool is_plain_text(DocumentFormat format);
// "text, Markdown, HTML, PDF, DOCX, HWPX and HWP", for messages.
std::string_view supported_formats_description();

// Decodes text bytes: BOM (UTF-8, UTF-16LE/BE), valid UTF-8, UTF-16 without BOM, else CP949/EUC-KR.  Throws
// SkipFile for binary data.  Sets document.encoding / warning.
std::string decode_text(std::string_view bytes, Document& document);

// Converts `bytes` from `charset` (any iconv name) to UTF-8; throws SkipFile when the bytes are not valid in it.
std::string convert_to_utf8(std::string_view bytes, const char* charset);

}  // namespace ksearch
