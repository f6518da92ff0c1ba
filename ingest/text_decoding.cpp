#include <iconv.h>

#include <algorithm>
#include <cerrno>

#include "base/utf8.h"
#include "ingest/document.h"

namespace ksearch {
namespace {

std::string utf16_to_utf8(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size() * 3 / 2);
  const auto unit = [&](std::size_t i) {
    const auto a = static_cast<unsigned char>(bytes[i]), b = static_cast<unsigned char>(bytes[i + 1]);
    return static_cast<char32_t>(little_endian ? a | (b << 8) : (a << 8) | b);
  };
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    char32_t c = unit(i);
    if (c >= 0xD800 && c <= 0xDBFF && i + 3 < bytes.size()) {
      const char32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      } else {
        c = utf8::kReplacement;
      }
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = utf8::kReplacement;
    }
    utf8::append(out, c);
  }
  return out;
}

// UTF-16 text without BOM: zero bytes (high bytes of ASCII characters) on one side only, and a decoding made of
// plausible characters (Korean UTF-16 has zeros only at spaces, digits and punctuation).
bool looks_like_utf16(std::string_view bytes, bool& little_endian) {
  if (bytes.size() < 8 || bytes.size() % 2 != 0) return false;
  const std::size_t sample = std::min<std::size_t>(bytes.size(), 8192) & ~std::size_t{1};
  std::size_t even_zero = 0, odd_zero = 0;
  for (std::size_t i = 0; i < sample; ++i)
    if (bytes[i] == '\0') (i % 2 == 0 ? even_zero : odd_zero)++;
  const std::size_t units = sample / 2;
  if (odd_zero * 100 >= units && even_zero == 0) {
    little_endian = true;
  } else if (even_zero * 100 >= units && odd_zero == 0) {
    little_endian = false;
  } else {
    return false;
  }
  const std::string decoded = utf16_to_utf8(bytes.substr(0, sample), little_endian);
  std::size_t plausible = 0, total = 0;
  for (std::size_t pos = 0; pos < decoded.size(); ++total) {
    const char32_t c = utf8::decode(decoded, pos);
    if ((c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t' || utf8::is_hangul(c) || utf8::is_cjk(c) ||
        (c >= 0xA0 && c < 0x2000) || (c >= 0x2000 && c < 0x3100))
      ++plausible;
  }
  return total > 0 && plausible * 10 >= total * 9;
}

bool is_binary(std::string_view text) {
  const std::size_t sample = std::min<std::size_t>(text.size(), 8192);
  std::size_t control = 0;
  for (std::size_t i = 0; i < sample; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return true;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) ++control;
  }
  return control * 20 > sample;  // more than 5% control characters
}

}  // namespace

std::string convert_to_utf8(std::string_view bytes, const char* charset) {
  iconv_t converter = iconv_open("UTF-8", charset);
  if (converter == reinterpret_cast<iconv_t>(-1)) throw SkipFile(cat("unsupported character set ", charset));
  std::string out(bytes.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  char* out_ptr = out.data();
  std::size_t out_left = out.size();
  while (in_left > 0) {
    if (iconv(converter, &in, &in_left, &out_ptr, &out_left) != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) {
      const std::size_t used = static_cast<std::size_t>(out_ptr - out.data());
      out.resize(out.size() * 2);
      out_ptr = out.data() + used;
      out_left = out.size() - used;
      continue;
    }
    iconv_close(converter);
    throw SkipFile(cat("not valid ", charset, " text at byte ", bytes.size() - in_left));
  }
  iconv_close(converter);
  out.resize(static_cast<std::size_t>(out_ptr - out.data()));
  return out;
}

std::string decode_text(std::string_view bytes, Document& document) {
  if (bytes.starts_with("\xEF\xBB\xBF")) {
    bytes.remove_prefix(3);
    document.encoding = "utf-8-bom";
  } else if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) {
    const bool little_endian = bytes[0] == '\xFF';
    document.encoding = little_endian ? "utf-16le" : "utf-16be";
    return utf16_to_utf8(bytes.substr(2), little_endian);
  }

  bool little_endian = true;
  if (bytes.find('\0') != std::string_view::npos && looks_like_utf16(bytes, little_endian)) {
    document.encoding = little_endian ? "utf-16le" : "utf-16be";
    return utf16_to_utf8(bytes, little_endian);
  }
  if (!utf8::find_invalid(bytes)) {
    if (is_binary(bytes)) throw SkipFile("binary file (control bytes in the content)");
    if (document.encoding.empty()) document.encoding = "utf-8";
    return std::string(bytes);
  }
  if (is_binary(bytes)) throw SkipFile("binary file (not text in any supported encoding)");
  try {
    std::string converted = convert_to_utf8(bytes, "CP949");
    document.encoding = "cp949";
    return converted;
  } catch (const SkipFile&) {
  }
  // Mostly UTF-8 with a few broken bytes (valid multi-byte characters far outnumber the bad bytes): keep the text,
  // replace the bytes, and say so.
  std::size_t bad = 0, multibyte = 0;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t start = pos;
    const char32_t c = utf8::decode(bytes, pos);
    if (c == utf8::kReplacement && pos - start == 1)
      ++bad;
    else if (pos - start > 1)
      ++multibyte;
  }
  if (multibyte < 4 * bad) throw SkipFile("unknown text encoding (neither UTF-8, UTF-16 nor CP949/EUC-KR)");
  document.encoding = "utf-8";
  document.warning = cat(bad, " invalid UTF-8 byte(s) replaced with U+FFFD");
  return utf8::sanitize(bytes);
}

int Document::page_of(std::size_t offset) const {
  if (page_starts.empty()) return 0;
  const auto it = std::upper_bound(page_starts.begin(), page_starts.end(), offset);
  return static_cast<int>(std::max<std::ptrdiff_t>(1, it - page_starts.begin()));
}

}  // namespace ksearch
