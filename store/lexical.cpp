#include "store/lexical.h"

#include <set>

#include "base/utf8.h"

namespace ksearch {
namespace {

constexpr std::size_t kMaxTokenBytes = 64;

enum class CharClass { Separator, Syllabic, Word };

char32_t fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
  if (c >= 'A' && c <= 'Z') return c + 32;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F))
    return c + 32;  // Latin-1, Greek and Cyrillic capitals
  return c;
}

CharClass classify(char32_t c) {
  if ((c >= 0xAC00 && c <= 0xD7A3) || utf8::is_cjk(c)) return CharClass::Syllabic;
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ? CharClass::Word : CharClass::Separator;
  if (utf8::is_space(c) || (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0x3200 && c <= 0x33FF) ||
      c == 0xFFFD || (c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7)
    return CharClass::Separator;
  if (c >= 0x1F000) return CharClass::Separator;  // emoji and symbols
  if (utf8::is_hangul(c)) return CharClass::Syllabic;  // jamo
  return CharClass::Word;
}

struct Char {
  char32_t code;
  std::uint32_t begin, end;
};

void emit_word(const std::vector<Char>& run, std::vector<LexicalToken>& out) {
  std::string text;
  for (const Char& c : run) {
    if (text.size() >= kMaxTokenBytes) break;
    utf8::append(text, c.code);
  }
  out.push_back({std::move(text), run.front().begin, run.back().end});
}

void emit_syllables(const std::vector<Char>& run, std::vector<LexicalToken>& out) {
  if (run.size() == 1) {
    std::string text;
    utf8::append(text, run[0].code);
    out.push_back({std::move(text), run[0].begin, run[0].end});
    return;
  }
  for (std::size_t i = 0; i + 1 < run.size(); ++i) {
    std::string text;
    utf8::append(text, run[i].code);
    utf8::append(text, run[i + 1].code);
    out.push_back({std::move(text), run[i].begin, run[i + 1].end});
  }
}

}  // namespace

std::vector<LexicalToken> lexical_tokens(std::string_view text) {
  std::vector<LexicalToken> out;
  std::vector<Char> run;
  CharClass run_class = CharClass::Separator;
  const auto flush = [&] {
    if (!run.empty()) run_class == CharClass::Syllabic ? emit_syllables(run, out) : emit_word(run, out);
    run.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto begin = static_cast<std::uint32_t>(pos);
    const char32_t code = fold(utf8::decode(text, pos));
    const CharClass kind = classify(code);
    if (kind != run_class) {
      flush();
      run_class = kind;
    }
    if (kind != CharClass::Separator) run.push_back({code, begin, static_cast<std::uint32_t>(pos)});
  }
  flush();
  return out;
}

std::string fts_match_expression(std::string_view query) {
  std::set<std::string> seen;
  std::string expression;
  for (const auto& token : lexical_tokens(query)) {
    if (!seen.insert(token.text).second) continue;
    if (!expression.empty()) expression += " OR ";
    expression += '"';
    for (char c : token.text) expression += c == '"' ? std::string("\"\"") : std::string(1, c);
    expression += '"';
  }
  return expression;
}

}  // namespace ksearch
