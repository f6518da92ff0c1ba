// HWP 5.0 binary documents (Hancom's published "HWP 5.0 file format" specification): an OLE compound file whose
// FileHeader says whether the body is compressed (raw deflate), password-encrypted (skipped) or a distribution
// document (body in ViewText/, AES-128-ECB with a key hidden in the DISTRIBUTE_DOC_DATA record).  Section streams
// are records; paragraph text is HWPTAG_PARA_TEXT in UTF-16LE with inline control characters.  Older "HWPML" files
// with a .hwp name are XML and read as such.
#include <openssl/evp.h>
#include <zlib.h>
#include <pugixml.hpp>

#include <algorithm>
#include <cstring>
#include <new>
#include <regex>

#include "base/utf8.h"
#include "ingest/compound_file.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

constexpr std::uint32_t kTagBegin = 0x10;
constexpr std::uint32_t kTagDistributeDocData = kTagBegin + 12;
constexpr std::uint32_t kTagParaHeader = kTagBegin + 50;
constexpr std::uint32_t kTagParaText = kTagBegin + 51;

std::uint32_t u32(std::string_view data, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, data.data() + offset, 4);
  return value;
}

// Inflates within what `budget` has left; the section's size is charged to it.
std::string inflate_raw(std::string_view compressed, UnpackBudget& budget) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw SkipFile("zlib initialisation failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && stream.avail_in == 0)) {
      inflateEnd(&stream);
      throw SkipFile("damaged compressed HWP section");
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > budget.left()) {
      inflateEnd(&stream);
      budget.charge(out.size());
    }
    if (rc == Z_BUF_ERROR || (stream.avail_in == 0 && stream.avail_out != 0 && rc != Z_STREAM_END)) break;
  }
  inflateEnd(&stream);
  budget.charge(out.size());
  return out;
}

struct Record {
  std::uint32_t tag;
  std::uint32_t level;
  std::string_view data;
};

std::vector<Record> parse_records(std::string_view stream) {
  std::vector<Record> records;
  std::size_t pos = 0;
  while (pos + 4 <= stream.size()) {
    const std::uint32_t header = u32(stream, pos);
    pos += 4;
    std::size_t size = header >> 20;
    if (size == 0xFFF) {
      if (pos + 4 > stream.size()) throw SkipFile("damaged HWP record (truncated size)");
      size = u32(stream, pos);
      pos += 4;
    }
    if (size > stream.size() - pos) throw SkipFile("damaged HWP record (length beyond the stream)");
    records.push_back({header & 0x3FF, (header >> 10) & 0x3FF, stream.substr(pos, size)});
    pos += size;
  }
  return records;
}

// MSVC rand(), which the distribution format uses to mask its key record.
class MsvcRandom {
 public:
  explicit MsvcRandom(std::uint32_t seed) : state_(seed) {}
  std::uint32_t next() {
    state_ = state_ * 214013u + 2531011u;
    return (state_ >> 16) & 0x7FFF;
  }

 private:
  std::uint32_t state_;
};

// ViewText/Section*: a DISTRIBUTE_DOC_DATA record (256 bytes masked by an MSVC-rand stream seeded by its first
// 4 bytes; the AES key is 16 bytes at 4 + (seed & 15)), then the section, AES-128-ECB encrypted.
std::string decrypt_distribution(std::string_view stream) {
  const auto records = stream.size() >= 4 ? parse_records(stream.substr(0, std::min<std::size_t>(stream.size(), 260)))
                                          : std::vector<Record>{};
  if (records.empty() || records[0].tag != kTagDistributeDocData || records[0].data.size() != 256)
    throw SkipFile("distribution HWP without a DISTRIBUTE_DOC_DATA record");
  unsigned char data[256];
  std::memcpy(data, records[0].data.data(), 256);
  const std::uint32_t seed = u32(records[0].data, 0);
  MsvcRandom random(seed);
  unsigned char mask = 0;
  int run = 0;
  for (int i = 0; i < 256; ++i) {
    if (run == 0) {
      mask = static_cast<unsigned char>(random.next() & 0xFF);
      run = static_cast<int>(random.next() & 0xF) + 1;
    }
    if (i >= 4) data[i] ^= mask;
    --run;
  }
  const unsigned char* key = data + 4 + (seed & 0xF);
  const std::string_view encrypted = stream.substr(4 + 256);
  const std::size_t length = encrypted.size() / 16 * 16;
  std::string out(length + 16, '\0');
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int written = 0, final_bytes = 0;
  const bool ok =
      context != nullptr && EVP_DecryptInit_ex(context, EVP_aes_128_ecb(), nullptr, key, nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(context, 0) == 1 &&
      EVP_DecryptUpdate(context, reinterpret_cast<unsigned char*>(out.data()), &written,
                        reinterpret_cast<const unsigned char*>(encrypted.data()), static_cast<int>(length)) == 1 &&
      EVP_DecryptFinal_ex(context, reinterpret_cast<unsigned char*>(out.data()) + written, &final_bytes) == 1;
  EVP_CIPHER_CTX_free(context);
  if (!ok) throw SkipFile("distribution HWP could not be decrypted");
  out.resize(static_cast<std::size_t>(written + final_bytes));
  return out;
}

// Paragraph text: UTF-16LE with control characters.  Char controls take one unit; inline and extended controls
// take eight (the control code, six units of parameters, the code again).
void append_para_text(std::string_view data, std::string& line) {
  const std::size_t units = data.size() / 2;
  for (std::size_t i = 0; i < units; ++i) {
    char16_t c;
    std::memcpy(&c, data.data() + 2 * i, 2);
    if (c >= 32) {
      char32_t code = c;
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units) {
        char16_t low;
        std::memcpy(&low, data.data() + 2 * (i + 1), 2);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          code = 0x10000 + ((static_cast<char32_t>(c) - 0xD800) << 10) + (low - 0xDC00);
          ++i;
        } else {
          code = utf8::kReplacement;
        }
      } else if (c >= 0xD800 && c <= 0xDFFF) {
        code = utf8::kReplacement;
      }
      utf8::append(line, code);
      continue;
    }
    switch (c) {
      case 9:
        line += '\t';
        break;  // tab (an inline control)
      case 10:
        line += '\n';
        break;  // line break
      case 24:
        line += '-';
        break;  // hyphen
      case 30:
      case 31:
        line += ' ';
        break;  // non-breaking / fixed-width space
      default:
        break;  // paragraph end, fields, tables, pictures…: no text
    }
    const bool wide = (c >= 1 && c <= 9) || (c >= 11 && c <= 12) || (c >= 14 && c <= 23);
    if (wide) i += 7;
  }
}

// One line per paragraph in stream order, which puts a paragraph's own text before the paragraphs nested in its
// controls (table cells, text boxes), as the expected reading order has it.
void append_section(std::string_view stream, std::string& text) {
  bool open = false;
  std::string line;
  for (const Record& record : parse_records(stream)) {
    if (record.tag == kTagParaHeader) {
      if (open) text += line + '\n';
      line.clear();
      open = true;
    } else if (record.tag == kTagParaText && open) {
      append_para_text(record.data, line);
    }
  }
  if (open) text += line + '\n';
}

int section_index(const std::string& name) {
  static const std::regex pattern(R"(Section(\d+))", std::regex::icase);
  std::smatch match;
  return std::regex_match(name, match, pattern) ? std::stoi(match[1]) : -1;
}

// HWPML (the XML form Hancom also writes): <P> paragraphs with <TEXT><CHAR> runs; tables nest <P> in cells.
void hwpml_paragraph(const pugi::xml_node& node, std::string& text, int depth) {
  if (depth > 64) return;
  std::string line;
  std::vector<pugi::xml_node> nested;
  std::vector<pugi::xml_node> stack(node.children().begin(), node.children().end());
  std::reverse(stack.begin(), stack.end());
  while (!stack.empty()) {
    const pugi::xml_node child = stack.back();
    stack.pop_back();
    const std::string_view name = child.name();
    if (name == "P") {
      nested.push_back(child);
    } else if (name == "CHAR") {
      line += child.text().get();
    } else if (name == "TAB") {
      line += '\t';
    } else if (name == "LINEBREAK") {
      line += '\n';
    } else {
      std::vector<pugi::xml_node> inner(child.children().begin(), child.children().end());
      stack.insert(stack.end(), inner.rbegin(), inner.rend());
    }
  }
  text += line + '\n';
  for (const auto& inner : nested) hwpml_paragraph(inner, text, depth + 1);
}

Document read_hwpml(std::string_view bytes) {
  pugi::xml_document xml;
  const auto result = xml.load_buffer(bytes.data(), bytes.size());
  if (result.status == pugi::status_out_of_memory) throw std::bad_alloc();  // the indexer skips the file for it
  if (!result) throw SkipFile("damaged HWPML (XML) document");
  std::string text;
  std::vector<pugi::xml_node> stack = {xml.document_element()};
  while (!stack.empty()) {
    const pugi::xml_node node = stack.back();
    stack.pop_back();
    if (std::string_view(node.name()) == "P") {
      hwpml_paragraph(node, text, 0);
      continue;
    }
    std::vector<pugi::xml_node> inner(node.children().begin(), node.children().end());
    stack.insert(stack.end(), inner.rbegin(), inner.rend());
  }
  Document document;
  document.format = "hwpml";
  document.text = utf8::sanitize(text);
  return document;
}

}  // namespace

bool looks_like_hwpml(std::string_view bytes) {
  const std::string_view head = bytes.substr(0, 2048);
  return head.find("<HWPML") != std::string_view::npos;
}

Document read_hwp(std::string_view bytes, const DocumentLimits& limits) {
  if (looks_like_hwpml(bytes)) return read_hwpml(bytes);
  const CompoundFile file(bytes);
  const auto header = file.read("FileHeader");
  if (!header || header->size() < 40 || !header->starts_with("HWP Document File"))
    throw SkipFile("not an HWP 5.0 document (no FileHeader)");
  const std::uint32_t flags = u32(*header, 36);
  const bool compressed = flags & 1;
  if (flags & 2) throw SkipFile("password-protected HWP document (ksearch cannot read encrypted documents)");
  const bool distribution = flags & 4;
  const std::string storage = distribution ? "ViewText" : "BodyText";
  std::vector<std::pair<int, std::string>> sections;
  for (const auto& name : file.list(storage))
    if (const int index = section_index(name); index >= 0) sections.emplace_back(index, name);
  if (sections.empty()) throw SkipFile("HWP document without " + storage + " sections");
  std::sort(sections.begin(), sections.end());
  UnpackBudget budget(limits);
  std::string text;
  for (const auto& [index, name] : sections) {
    std::string stream = *file.read(storage + "/" + name);
    if (distribution) stream = decrypt_distribution(stream);
    if (compressed)
      stream = inflate_raw(stream, budget);
    else
      budget.charge(stream.size());
    append_section(stream, text);
  }
  Document document;
  document.format = "hwp";
  document.text = utf8::sanitize(text);
  return document;
}

}  // namespace ksearch
