#include "embed/precompiled_charsmap.h"

#include <cstring>

#include "base/error.h"
#include "base/utf8.h"
#include "embed/unicode_text.h"

namespace ksearch {
namespace {

bool has_leaf(std::uint32_t unit) { return ((unit >> 8) & 1) != 0; }
std::uint32_t value(std::uint32_t unit) { return unit & ((1u << 31) - 1); }
std::uint32_t label(std::uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
std::uint32_t offset(std::uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

std::uint32_t read_u32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (x86-64, aarch64)
}

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob, std::string_view where) {
  if (blob.empty()) return;  // no rules
  if (blob.size() < 4) fail(where, ": precompiled_charsmap is truncated (", blob.size(), " bytes)");
  const std::uint32_t trie_bytes = read_u32(blob.data());
  if (trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4)
    fail(where, ": precompiled_charsmap declares a trie of ", trie_bytes, " bytes in a blob of ", blob.size());
  units_.resize(trie_bytes / 4);
  for (std::size_t i = 0; i < units_.size(); ++i) units_[i] = read_u32(blob.data() + 4 + 4 * i);
  pool_ = std::string(blob.substr(4 + trie_bytes));
  if (utf8::find_invalid(pool_)) fail(where, ": precompiled_charsmap replacements are not valid UTF-8");
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view chunk) const {
  if (units_.empty()) return std::nullopt;
  std::size_t node = offset(units_[0]);
  for (const char byte : chunk) {
    const auto c = static_cast<unsigned char>(byte);
    if (c == 0) return std::nullopt;
    node ^= c;
    if (node >= units_.size()) return std::nullopt;
    const std::uint32_t unit = units_[node];
    if (label(unit) != c) return std::nullopt;
    node ^= offset(unit);
    if (node >= units_.size()) return std::nullopt;
    if (has_leaf(unit)) {
      const std::uint32_t start = value(units_[node]);
      if (start >= pool_.size()) return std::nullopt;
      const std::size_t end = pool_.find('\0', start);
      return std::string_view(pool_).substr(start, (end == std::string::npos ? pool_.size() : end) - start);
    }
  }
  return std::nullopt;
}

NormalizedText PrecompiledCharsmap::apply(const NormalizedText& text) const {
  if (units_.empty()) return text;
  NormalizedText out;
  out.text.reserve(text.text.size());
  out.origin.reserve(text.text.size());
  const auto replace = [&](std::size_t begin, std::size_t end, std::string_view with) {
    const ByteRange from = text.original(begin, end);
    out.text += with;
    out.origin.insert(out.origin.end(), with.size(), from);
  };
  std::size_t pos = 0;
  while (pos < text.text.size()) {
    const std::size_t end = unicode::grapheme_end(text.text, pos);
    const std::string_view cluster(text.text.data() + pos, end - pos);
    std::optional<std::string_view> whole;
    if (cluster.size() < 6) whole = transform(cluster);
    if (whole) {
      replace(pos, end, *whole);
    } else {
      std::size_t at = pos;
      while (at < end) {
        const std::size_t start = at;
        utf8::decode(text.text, at);
        if (auto part = transform(std::string_view(text.text.data() + start, at - start)))
          replace(start, at, *part);
        else
          out.append(text, start, at);
      }
    }
    pos = end;
  }
  return out;
}

}  // namespace ksearch
