#include "ingest/chunker.h"

#include <algorithm>

#include "base/utf8.h"

namespace ksearch {
namespace {

enum class Boundary { Sentence = 0, Line = 1, Paragraph = 2 };

struct Unit {
  std::size_t begin, end;
  Boundary boundary;  // strength of the break after this unit
  std::size_t tokens;
};

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; });
}

// Sentence and line units of `text`, each with the strength of the break that ends it.
std::vector<Unit> split_units(std::string_view text) {
  std::vector<Unit> units;
  std::size_t start = 0;
  const auto push = [&](std::size_t end, Boundary boundary) {
    if (end > start && !is_blank(text.substr(start, end - start))) {
      units.push_back({start, end, boundary, 0});
    } else if (!units.empty() && boundary > units.back().boundary) {
      units.back().boundary = boundary;
    }
    start = end;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t at = pos;
    const char32_t c = utf8::decode(text, pos);
    if (c == '\n') {
      // A blank line (only spaces until the next newline) ends a paragraph.
      std::size_t next = pos;
      while (next < text.size() && (text[next] == ' ' || text[next] == '\t' || text[next] == '\r')) ++next;
      const bool paragraph = next >= text.size() || text[next] == '\n';
      push(pos, paragraph ? Boundary::Paragraph : Boundary::Line);
      continue;
    }
    const bool ender = c == '?' || c == '!' || c == U'。' || c == U'？' || c == U'！' ||
                       (c == '.' && !(at > 0 && text[at - 1] >= '0' && text[at - 1] <= '9'));
    if (!ender) continue;
    // Closing quotes and brackets stay with their sentence.
    while (pos < text.size()) {
      std::size_t peek = pos;
      const char32_t next = utf8::decode(text, peek);
      if (next == '"' || next == '\'' || next == ')' || next == U'”' || next == U'’' || next == U'」' ||
          next == U'』' || next == U'）' || next == '.' || next == '?' || next == '!')
        pos = peek;
      else
        break;
    }
    if (pos >= text.size() || text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')
      push(pos, Boundary::Sentence);
  }
  push(text.size(), Boundary::Paragraph);
  return units;
}

std::size_t count_newlines(std::string_view text, std::size_t from, std::size_t to) {
  return static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(from),
                                             text.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
}

}  // namespace

std::vector<std::uint32_t> estimated_token_offsets(std::string_view text) {
  std::vector<std::uint32_t> offsets;
  std::size_t pos = 0;
  std::size_t in_word = 0;  // characters since the last token start within the current word
  while (pos < text.size()) {
    const auto at = static_cast<std::uint32_t>(pos);
    const char32_t c = utf8::decode(text, pos);
    if (utf8::is_space(c)) {
      in_word = 0;
      continue;
    }
    if (in_word == 0 || in_word >= 2) {
      offsets.push_back(at);
      in_word = 0;
    }
    ++in_word;
  }
  return offsets;
}

std::vector<TextChunk> chunk_document(const Document& document, const TokenOffsets& token_offsets,
                                      const ChunkOptions& options) {
  const std::string_view text = document.text;
  const std::size_t budget = std::max<std::size_t>(options.max_tokens, 8);
  const std::size_t overlap = std::min(options.overlap_tokens, budget / 2);

  // Units, with over-long sentences cut at token boundaries.
  std::vector<Unit> units;
  for (Unit unit : split_units(text)) {
    const auto offsets = token_offsets(text.substr(unit.begin, unit.end - unit.begin));
    if (offsets.size() <= budget) {
      unit.tokens = offsets.size();
      units.push_back(unit);
      continue;
    }
    for (std::size_t first = 0; first < offsets.size(); first += budget) {
      const std::size_t last = std::min(first + budget, offsets.size());
      const std::size_t begin = unit.begin + (first == 0 ? 0 : offsets[first]);
      const std::size_t end = last == offsets.size() ? unit.end : unit.begin + offsets[last];
      units.push_back({utf8::floor_boundary(text, begin), utf8::floor_boundary(text, end),
                       last == offsets.size() ? unit.boundary : Boundary::Sentence, last - first});
    }
  }

  std::vector<TextChunk> chunks;
  std::size_t first = 0;
  while (first < units.size()) {
    // Grow while the budget allows.
    std::size_t last = first, tokens = 0;
    while (last < units.size() && (last == first || tokens + units[last].tokens <= budget))
      tokens += units[last++].tokens;
    // Prefer to end at the strongest break in the second half of the chunk.
    if (last < units.size()) {
      std::size_t best = last;
      Boundary strength = units[last - 1].boundary;
      std::size_t running = tokens;
      for (std::size_t end = last; end > first + 1; --end) {
        running -= units[end - 1].tokens;
        if (running < budget / 2) break;
        if (units[end - 2].boundary > strength) best = end - 1, strength = units[end - 2].boundary;
      }
      for (std::size_t i = best; i < last; ++i) tokens -= units[i].tokens;
      last = best;
    }
    TextChunk chunk;
    std::size_t begin = units[first].begin, end = units[last - 1].end;
    while (begin < end && (text[begin] == ' ' || text[begin] == '\n' || text[begin] == '\t' || text[begin] == '\r'))
      ++begin;
    while (end > begin &&
           (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\t' || text[end - 1] == '\r'))
      --end;
    chunk.byte_begin = begin;
    chunk.byte_end = end;
    chunk.tokens = tokens;
    chunk.text = std::string(text.substr(begin, end - begin));
    chunk.page = document.page_of(begin);
    if (!chunk.text.empty()) chunks.push_back(std::move(chunk));
    if (last >= units.size()) break;
    // Overlap: restart at the earliest unit whose tail fits the overlap budget, always moving forward.
    std::size_t next = last, carried = 0;
    while (next > first + 1 && carried + units[next - 1].tokens <= overlap) carried += units[--next].tokens;
    first = next;
  }
  // Line numbers in one pass: chunk starts only move forward.
  std::size_t line = 1, position = 0;
  for (TextChunk& chunk : chunks) {
    line += count_newlines(text, position, chunk.byte_begin);
    chunk.line_begin = static_cast<int>(line);
    chunk.line_end = static_cast<int>(line + count_newlines(text, chunk.byte_begin, chunk.byte_end));
    position = chunk.byte_begin;
  }
  return chunks;
}

}  // namespace ksearch
