#include "base/display_width.h"

#include <utf8proc.h>

#include <cassert>
#include <cstdio>

#include "base/utf8.h"

namespace ksearch {
namespace {

bool is_control(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

// Characters that reorder the text around them (Trojan Source, CVE-2021-42574): shown, never applied.
bool is_bidi_control(char32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

std::size_t char_width(char32_t c) {
  if (is_control(c)) return 0;
  // Conjoining jamo vowels and finals join the leading consonant's two columns (NFD Hangul, as in file names from
  // macOS); utf8proc counts them as one column each, terminals as none.
  if ((c >= 0x1160 && c <= 0x11FF) || (c >= 0xD7B0 && c <= 0xD7FF)) return 0;
  const int width = utf8proc_charwidth(static_cast<utf8proc_int32_t>(c));
  return width < 0 ? 1 : static_cast<std::size_t>(width);
}

std::size_t display_width(std::string_view text) {
  std::size_t columns = 0;
  for (std::size_t pos = 0; pos < text.size();) columns += char_width(utf8::decode(text, pos));
  return columns;
}

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t begin = pos;
    const char32_t c = utf8::decode(text, pos);
    char escaped[16];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x80 && is_control(c)) {
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(c));
      out += escaped;
    } else if (is_control(c) || is_bidi_control(c)) {
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else if (c == utf8::kReplacement) {
      utf8::append(out, c);
    } else {
      out.append(text, begin, pos - begin);
    }
  }
  return out;
}

std::string fit_width(std::string_view text, std::size_t columns) {
  if (display_width(text) <= columns) return std::string(text);
  if (columns == 0) return {};
  std::string out;
  std::size_t used = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t begin = pos;
    const std::size_t width = char_width(utf8::decode(text, pos));
    if (used + width > columns - 1) break;  // one column stays for the ellipsis
    out.append(text, begin, pos - begin);
    used += width;
  }
  return out + "…";
}

std::string fit_width_from_end(std::string_view text, std::size_t columns) {
  if (display_width(text) <= columns) return std::string(text);
  if (columns == 0) return {};
  std::size_t begin = text.size(), used = 0;
  while (begin > 0) {
    std::size_t start = utf8::floor_boundary(text, begin - 1);
    std::size_t pos = start;
    const std::size_t width = char_width(utf8::decode(text, pos));
    if (used + width > columns - 1) break;
    used += width;
    begin = start;
  }
  return "…" + std::string(text.substr(begin));
}

std::vector<std::pair<std::size_t, std::size_t>> wrap_lines(std::string_view text, std::size_t columns) {
  assert(columns > 0);
  std::vector<std::pair<std::size_t, std::size_t>> lines;
  std::size_t line_begin = 0, used = 0;
  std::size_t last_space = std::string_view::npos;  // byte offset of the latest space on the current line
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t begin = pos;
    const char32_t c = utf8::decode(text, pos);
    assert(!is_control(c));
    const std::size_t width = char_width(c);
    if (c == ' ') {
      if (used + width > columns) {  // a space at the edge ends the line by itself
        lines.emplace_back(line_begin, begin);
        line_begin = pos, used = 0, last_space = std::string_view::npos;
        continue;
      }
      last_space = begin;
    } else if (used + width > columns && used > 0) {  // a character wider than the line gets one to itself
      if (last_space != std::string_view::npos) {
        lines.emplace_back(line_begin, last_space);
        line_begin = last_space + 1;
        used = display_width(text.substr(line_begin, begin - line_begin));
      } else {
        lines.emplace_back(line_begin, begin);
        line_begin = begin, used = 0;
      }
      last_space = std::string_view::npos;
    }
    used += width;
  }
  if (line_begin < text.size() || lines.empty()) lines.emplace_back(line_begin, text.size());
  return lines;
}

}  // namespace ksearch
