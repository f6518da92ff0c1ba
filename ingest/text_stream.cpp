#include "ingest/text_stream.h"

#include <iconv.h>

#include <cerrno>
#include <cstring>

#include "base/utf8.h"
#include "ingest/document.h"

namespace ksearch {
namespace {

// Where a multi-byte sequence that the end of `bytes` cuts short begins (bytes.size() when none is cut): its lead
// byte is one of the last three bytes and announces more bytes than follow it.
std::size_t incomplete_utf8_tail(std::string_view bytes) {
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, bytes.size()); ++back) {
    const auto byte = static_cast<unsigned char>(bytes[bytes.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: the lead is further back
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return length > back ? bytes.size() - back : bytes.size();
  }
  return bytes.size();
}

}  // namespace

TextStream::TextStream(WalkedFile& file, std::size_t block_bytes) : file_(file), block_bytes_(block_bytes) {}

TextStream::~TextStream() {
  if (converter_ != nullptr) iconv_close(static_cast<iconv_t>(converter_));
}

std::string TextStream::convert(std::string_view bytes, bool last) {
  std::string input = pending_bytes_;
  input.append(bytes);
  pending_bytes_.clear();
  if (converter_ == nullptr) {  // UTF-8: keep an incomplete trailing sequence for the next block
    std::size_t cut = input.size();
    if (!last) {
      cut = incomplete_utf8_tail(input);
      pending_bytes_ = input.substr(cut);
    }
    const std::string_view text(input.data(), cut);
    if (!utf8::find_invalid(text)) return std::string(text);
    std::string clean = utf8::sanitize(text);
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t at = pos;
      if (utf8::decode(text, pos) == utf8::kReplacement && pos - at == 1) ++replaced_;
    }
    return clean;
  }
  std::string out(input.size() * 2 + 16, '\0');
  char* in_ptr = input.data();
  std::size_t in_left = input.size();
  char* out_ptr = out.data();
  std::size_t out_left = out.size();
  auto* cd = static_cast<iconv_t>(converter_);
  while (in_left > 0) {
    if (iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left) != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) {
      const std::size_t used = static_cast<std::size_t>(out_ptr - out.data());
      out.resize(out.size() * 2);
      out_ptr = out.data() + used;
      out_left = out.size() - used;
    } else if (errno == EINVAL && !last) {  // incomplete sequence at the end: finish it with the next block
      pending_bytes_.assign(in_ptr, in_left);
      break;
    } else {  // invalid (or incomplete at the very end): replace one byte and go on
      ++replaced_;
      ++in_ptr;
      --in_left;
      if (out_left < 3) {
        const std::size_t used = static_cast<std::size_t>(out_ptr - out.data());
        out.resize(out.size() + 16);
        out_ptr = out.data() + used;
        out_left = out.size() - used;
      }
      std::memcpy(out_ptr, "\xEF\xBF\xBD", 3);
      out_ptr += 3;
      out_left -= 3;
    }
  }
  out.resize(static_cast<std::size_t>(out_ptr - out.data()));
  return out;
}

std::optional<std::string> TextStream::next() {
  while (!done_) {
    std::string bytes(block_bytes_, '\0');
    bytes.resize(file_.read(bytes.data(), bytes.size()));
    digest_.update(bytes);
    const bool last = bytes.size() < block_bytes_;
    if (first_) {
      first_ = false;
      // The first block decides the encoding exactly as whole-file decoding would.
      // The probe must not end inside a character: cut UTF-16 at an even offset, other text after a line break
      // ('\n' never occurs inside a UTF-8 or CP949 character).
      Document probe;
      std::string_view head(bytes.data(), std::min<std::size_t>(bytes.size(), 1u << 20));
      if (head.size() < bytes.size() || !last) {
        if (head.find('\0') != std::string_view::npos) {
          head = head.substr(0, head.size() & ~std::size_t{1});
        } else if (const auto newline = head.rfind('\n'); newline != std::string_view::npos) {
          head = head.substr(0, newline + 1);
        } else {
          head = head.substr(0, utf8::floor_boundary(head, head.size() - 1));
        }
      }
      decode_text(head, probe);
      encoding_ = probe.encoding;
      const char* charset = encoding_ == "utf-16le"   ? "UTF-16LE"
                            : encoding_ == "utf-16be" ? "UTF-16BE"
                            : encoding_ == "cp949"    ? "CP949"
                                                      : nullptr;
      if (encoding_ == "utf-8-bom") bytes.erase(0, 3);
      if ((encoding_ == "utf-16le" || encoding_ == "utf-16be") &&
          (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")))
        bytes.erase(0, 2);
      if (charset != nullptr) {
        iconv_t cd = iconv_open("UTF-8", charset);
        if (cd == reinterpret_cast<iconv_t>(-1)) throw SkipFile(cat("unsupported character set ", charset));
        converter_ = cd;
      }
    }
    pending_text_ += convert(bytes, last);
    if (last) {
      done_ = true;
      if (pending_text_.empty()) return std::nullopt;
      return std::exchange(pending_text_, {});
    }
    // Hand out everything up to the last line break; keep the rest.  A block with no line break at all (one huge
    // line) is cut at a character boundary instead, so memory stays bounded.
    std::size_t cut = pending_text_.rfind('\n');
    if (cut == std::string::npos) {
      if (pending_text_.size() < block_bytes_) continue;
      cut = utf8::floor_boundary(pending_text_, pending_text_.size()) - 1;
    }
    std::string block = pending_text_.substr(0, cut + 1);
    pending_text_.erase(0, cut + 1);
    if (!block.empty()) return block;
  }
  return std::nullopt;
}

}  // namespace ksearch
