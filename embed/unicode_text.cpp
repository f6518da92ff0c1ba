#include "embed/unicode_text.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "base/error.h"
#include "base/utf8.h"

namespace ksearch::unicode {
namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool is_letter(utf8proc_category_t cat) { return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO; }
bool is_mark(utf8proc_category_t cat) { return cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME; }
bool is_number(utf8proc_category_t cat) { return cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO; }

int options_of(Form form) {
  switch (form) {
    case Form::Nfc:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case Form::Nfd:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case Form::Nfkc:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    case Form::Nfkd:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  }
  return 0;
}

std::string map(std::string_view text, Form form) {
  utf8proc_uint8_t* out = nullptr;
  const auto length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &out, static_cast<utf8proc_option_t>(options_of(form)));
  if (length < 0) fail("cannot normalize text: ", utf8proc_errmsg(length));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
}

bool is_ascii(std::string_view text) {
  for (const char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

bool is_whitespace(char32_t c) { return utf8::is_space(c); }

bool is_word_char(char32_t c) {
  const auto cat = category(c);
  return is_letter(cat) || is_mark(cat) || cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
         cat == UTF8PROC_CATEGORY_PC || c == 0x200C || c == 0x200D;
}

bool is_punctuation(char32_t c) {
  if (c < 0x80)
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_numeric(char32_t c) { return is_number(category(c)); }

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
         cat == UTF8PROC_CATEGORY_CN;
}

bool is_nonspacing_mark(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::size_t grapheme_end(std::string_view text, std::size_t pos) {
  utf8proc_int32_t state = 0;
  char32_t previous = utf8::decode(text, pos);
  while (pos < text.size()) {
    std::size_t next = pos;
    const char32_t c = utf8::decode(text, next);
    if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(previous), static_cast<utf8proc_int32_t>(c),
                                         &state))
      break;
    previous = c;
    pos = next;
  }
  return pos;
}

NormalizedText normalize(NormalizedText text, Form form) {
  if (is_ascii(text.text)) return text;
  if (map(text.text, form) == text.text) return text;
  NormalizedText out;
  out.text.reserve(text.text.size());
  out.origin.reserve(text.text.size());
  std::size_t pos = 0;
  while (pos < text.text.size()) {
    const std::size_t end = grapheme_end(text.text, pos);
    const std::string_view cluster(text.text.data() + pos, end - pos);
    const std::string mapped = map(cluster, form);
    if (mapped == cluster) {
      out.append(text, pos, end);
    } else {
      const ByteRange from = text.original(pos, end);
      out.text += mapped;
      out.origin.insert(out.origin.end(), mapped.size(), from);
    }
    pos = end;
  }
  return out;
}

NormalizedText lowercase(const NormalizedText& text) {
  NormalizedText out;
  out.text.reserve(text.text.size());
  out.origin.reserve(text.text.size());
  std::size_t pos = 0;
  while (pos < text.text.size()) {
    const std::size_t start = pos;
    const char32_t c = utf8::decode(text.text, pos);
    const ByteRange from = text.original(start, pos);
    if (c == 0x130) {
      out.push(U'i', from);
      out.push(0x307, from);
    } else {
      out.push(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), from);
    }
  }
  return out;
}

}  // namespace ksearch::unicode
