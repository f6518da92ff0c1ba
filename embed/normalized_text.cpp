#include "embed/normalized_text.h"

#include <algorithm>

#include "base/error.h"
#include "base/utf8.h"

namespace ksearch {

NormalizedText NormalizedText::identity(std::string_view text, std::uint32_t base) {
  NormalizedText out;
  out.text = std::string(text);
  out.origin.resize(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    utf8::decode(text, pos);
    for (std::size_t i = start; i < pos; ++i)
      out.origin[i] = {base + static_cast<std::uint32_t>(start), base + static_cast<std::uint32_t>(pos)};
  }
  return out;
}

void NormalizedText::push(char32_t c, ByteRange from) {
  const std::size_t before = text.size();
  utf8::append(text, c);
  origin.insert(origin.end(), text.size() - before, from);
}

void NormalizedText::append(const NormalizedText& other, std::size_t begin, std::size_t end) {
  KSEARCH_ASSERT(begin <= end && end <= other.text.size());
  text.append(other.text, begin, end - begin);
  origin.insert(origin.end(), other.origin.begin() + static_cast<std::ptrdiff_t>(begin),
                other.origin.begin() + static_cast<std::ptrdiff_t>(end));
}

NormalizedText NormalizedText::slice(std::size_t begin, std::size_t end) const {
  NormalizedText out;
  out.append(*this, begin, end);
  return out;
}

ByteRange NormalizedText::original(std::size_t begin, std::size_t end) const {
  KSEARCH_ASSERT(begin <= end && end <= text.size());
  if (origin.empty()) return {};
  if (begin == end) {
    const std::uint32_t at = begin < origin.size() ? origin[begin].begin : origin.back().end;
    return {at, at};
  }
  ByteRange range = origin[begin];
  for (std::size_t i = begin + 1; i < end; ++i) {
    range.begin = std::min(range.begin, origin[i].begin);
    range.end = std::max(range.end, origin[i].end);
  }
  return range;
}

}  // namespace ksearch
