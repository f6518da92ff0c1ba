#include "store/lexical.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "base/utf8.h"

namespace ksearch {
namespace {

constexpr std::size_t kMaxTokenBytes = 64;
constexpr char kStemMarker = '~';  // never part of another token: ASCII punctuation separates tokens
// Query-side weights, measured on KorQuAD dev (docs/benchmarks.md, "Retrieval quality").
constexpr double kSuffixBigramWeight = 0.3;
constexpr double kStemWeight = 0.5;
constexpr double kAskedWordWeight = 0.5;  // the last word of a question

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
      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0x3200 && c <= 0x33FF) || c == 0xFFFD ||
      (c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7)
    return CharClass::Separator;
  if (c >= 0x1F000) return CharClass::Separator;       // emoji and symbols
  if (utf8::is_hangul(c)) return CharClass::Syllabic;  // jamo
  return CharClass::Word;
}

struct Char {
  char32_t code;
  std::uint32_t begin, end;
};

// Characters that NFC may compose onto the preceding one: combining marks and Hangul medial/final jamo.
bool joins_previous(char32_t c) {
  if ((c >= 0x1160 && c <= 0x11FF) || (c >= 0xD7B0 && c <= 0xD7FF)) return true;
  return c >= 0x300 && utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class != 0;
}

// The code points of `text` in NFC, each with the byte range of the input it came from (a composed character
// spans its decomposed pieces).  Composition only joins a starter with the characters that follow it, so each
// such group is composed on its own.
std::vector<Char> composed_characters(std::string_view text) {
  std::vector<Char> out;
  std::size_t group_start = 0;  // index into `out` of the current group's first character
  bool group_joined = false;
  const auto compose_group = [&] {
    if (!group_joined) return;
    std::string bytes;
    for (std::size_t i = group_start; i < out.size(); ++i) utf8::append(bytes, out[i].code);
    utf8proc_uint8_t* composed = nullptr;
    const utf8proc_ssize_t length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(bytes.data()),
                                                 static_cast<utf8proc_ssize_t>(bytes.size()), &composed,
                                                 static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (length < 0) return;  // unreachable for valid input; keep the characters as they are
    const std::string_view result(reinterpret_cast<const char*>(composed), static_cast<std::size_t>(length));
    const std::uint32_t begin = out[group_start].begin, end = out.back().end;
    out.resize(group_start);
    for (std::size_t pos = 0; pos < result.size();) out.push_back({utf8::decode(result, pos), begin, end});
    std::free(composed);
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto begin = static_cast<std::uint32_t>(pos);
    const char32_t code = utf8::decode(text, pos);
    if (!out.empty() && joins_previous(code)) {
      group_joined = true;
    } else {
      compose_group();
      group_start = out.size();
      group_joined = false;
    }
    out.push_back({code, begin, static_cast<std::uint32_t>(pos)});
  }
  compose_group();
  return out;
}

// Particles (조사) and endings (어미) stripped from the end of a Hangul run to find its stem; the longest that
// leaves enough of the word applies, at most twice ("학생들에게" -> 학생들 -> 학생).  Past-tense and question
// endings are among them so that a question's verb meets the text's: 사망했나 and 사망했다 -> 사망.  Grouped by
// their last character, longest first, so a run is compared only with the suffixes that can end it.
const std::vector<std::u32string>& suffixes_ending_in(char32_t last) {
  static const std::unordered_map<char32_t, std::vector<std::u32string>> by_last = [] {
    std::vector<std::u32string> out = {
        U"가",     U"이",     U"은",       U"는",      U"을",     U"를",     U"의",     U"에",     U"와",     U"과",
        U"도",     U"만",     U"로",       U"께",      U"나",     U"들",     U"인",     U"적",     U"한",     U"할",
        U"함",     U"된",     U"될",       U"됨",      U"으로",   U"에서",   U"에게",   U"한테",   U"께서",   U"까지",
        U"부터",   U"보다",   U"처럼",     U"만큼",    U"마다",   U"조차",   U"마저",   U"이나",   U"이랑",   U"에는",
        U"에도",   U"에선",   U"로는",     U"로도",    U"로서",   U"로써",   U"로의",   U"와의",   U"과의",   U"와는",
        U"과는",   U"와도",   U"과도",     U"라는",    U"라고",   U"이란",   U"이며",   U"이고",   U"이다",   U"였다",
        U"였던",   U"인가",   U"인지",     U"이자",    U"하다",   U"한다",   U"했다",   U"하는",   U"하던",   U"했던",
        U"하여",   U"해서",   U"하고",     U"하며",    U"하면",   U"하지",   U"하게",   U"하기",   U"되다",   U"된다",
        U"됐다",   U"되는",   U"되던",     U"되어",    U"되고",   U"되며",   U"시킨",   U"받은",   U"받는",   U"적인",
        U"으로는", U"으로도", U"으로서",   U"으로써",  U"으로의", U"에서는", U"에서도", U"에서의", U"에게는", U"에게도",
        U"에게서", U"이라는", U"이라고",   U"이었다",  U"이었던", U"하였다", U"되었다", U"시켰다", U"시키는", U"받았다",
        U"적으로", U"적이다", U"으로부터", U"에서부터"};
    // Past-tense and question endings, and past-tense stems left by a first strip (수상했었는가 -> 수상했 -> 수상).
    out.insert(
        out.end(),
        {U"었다",     U"았다",   U"었던",   U"았던",   U"었고",     U"았고",     U"였고",     U"했고",   U"하였고",
         U"되었고",   U"었으며", U"였으며", U"했으며", U"하였으며", U"되었으며", U"었으나",   U"였으나", U"했으나",
         U"하였으나", U"지만",   U"했지만", U"였지만", U"다고",     U"면서",     U"하면서",   U"는데",   U"으며",
         U"는가",     U"었는가", U"았는가", U"였는가", U"했는가",   U"하였는가", U"되었는가", U"됐는가", U"었나",
         U"았나",     U"였나",   U"했나",   U"하였나", U"되었나",   U"됐나",     U"나요",     U"니까",   U"습니까",
         U"을까",     U"일까",   U"는지",   U"었는지", U"했는지",   U"였",       U"했",       U"었",     U"았",
         U"하였",     U"되었",   U"됐",     U"시켰"});
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    std::unordered_map<char32_t, std::vector<std::u32string>> grouped;
    for (auto& suffix : out) grouped[suffix.back()].push_back(std::move(suffix));
    return grouped;
  }();
  static const std::vector<std::u32string> none;
  const auto found = by_last.find(last);
  return found != by_last.end() ? found->second : none;
}

// Whether `word` is in `run` at character `from`.
bool starts_with(const std::vector<Char>& run, const std::u32string& word, std::size_t from = 0) {
  return from + word.size() <= run.size() &&
         std::equal(word.begin(), word.end(), run.begin() + static_cast<std::ptrdiff_t>(from),
                    [](char32_t a, const Char& b) { return a == b.code; });
}

// Particles that end a two-syllable run as in 책을 or 왕은 and rarely end a two-syllable noun (unlike 가 of 국가,
// 이 of 나이, 도 of 제도), so the one-syllable word before them is its stem.
bool short_word_particle(char32_t c) { return c == U'을' || c == U'를' || c == U'은' || c == U'는' || c == U'에'; }

// Number of leading characters of a Hangul run that form its stem.  A run that counts something (the unit after
// a number: 3세가, 4위의) may keep a one-syllable stem before any particle but 만, which after a number is ten
// thousand (5천만), not "only".
std::size_t stem_length(const std::vector<Char>& run, bool counts) {
  std::size_t length = run.size();
  for (int round = 0; round < 2 && length > 0; ++round) {
    bool stripped = false;
    for (const auto& suffix : suffixes_ending_in(run[length - 1].code)) {
      if (counts && suffix == U"만") continue;
      const bool short_stem = counts || (round == 0 && short_word_particle(suffix[0]));
      const std::size_t keep = suffix.size() == 1 && !short_stem ? 2 : 1;
      if (length < suffix.size() + keep) continue;
      if (starts_with(run, suffix, length - suffix.size())) {
        length -= suffix.size();
        stripped = true;
        break;
      }
    }
    if (!stripped) break;
  }
  return length;
}

bool is_suffix(const std::vector<Char>& run) {
  if (run.empty()) return false;
  const auto& candidates = suffixes_ending_in(run.back().code);
  return std::any_of(candidates.begin(), candidates.end(), [&](const std::u32string& suffix) {
    return suffix.size() == run.size() && starts_with(run, suffix);
  });
}

// Interrogatives (무엇, 누구, 언제, ...) ask for what the answer holds; the answer rarely repeats them.
const std::vector<std::u32string>& question_words() {
  static const std::vector<std::u32string> words = {U"무엇", U"누구", U"언제",   U"어디", U"어느", U"무슨",
                                                    U"어떤", U"얼마", U"어떻게", U"왜",   U"몇"};
  return words;
}

bool is_question_word(const std::vector<Char>& run, std::size_t stem) {
  return std::any_of(question_words().begin(), question_words().end(),
                     [&](const std::u32string& word) { return word.size() == stem && starts_with(run, word); });
}

// The length of the interrogative at `from` in a run, or 0.  왜 is left out: it also begins nouns (왜곡, 왜구).
std::size_t question_word_at(const std::vector<Char>& run, std::size_t from) {
  for (const std::u32string& word : question_words())
    if (word != U"왜" && starts_with(run, word, from)) return word.size();
  return 0;
}

std::string joined(const std::vector<Char>& run, std::size_t begin, std::size_t end) {
  std::string text;
  for (std::size_t i = begin; i < end && text.size() < kMaxTokenBytes; ++i) utf8::append(text, run[i].code);
  return text;
}

// What ends right before a Hangul run, with no separator between.
struct RunStart {
  bool continues_word = false;  // a Latin or number word (S24의), or in a query an interrogative (무엇이라고)
  bool counts = false;          // a number, or in a query 몇: the run begins with a unit (3세가, 몇년도)
  std::string number;           // the number, if one (1990년에)
  std::uint32_t number_begin = 0;
};

// Calls emit(token, weight) for the tokens of one run.  In a query, bigrams that reach into a stripped suffix
// weigh less (they match particles, not the word: 울에 and 에서 of 서울에서), and the stem less than a bigram
// (it repeats what the stem's bigrams already match).  A number and the unit after it also form one term
// (1876년, 3세), which tells 3세 from 3위 where the number alone and the unit alone do not.
template <typename Emit>
void emit_run(const std::vector<Char>& run, CharClass kind, bool query, const RunStart& start, Emit&& emit) {
  if (kind == CharClass::Word) {
    emit(LexicalToken{joined(run, 0, run.size()), run.front().begin, run.back().end, TermKind::Word}, 1.0);
    return;
  }
  const std::size_t stem = stem_length(run, start.counts);
  if (!start.number.empty()) {
    const std::string unit = joined(run, 0, stem);
    if (start.number.size() + unit.size() <= kMaxTokenBytes)
      emit(LexicalToken{start.number + unit, start.number_begin, run[stem - 1].end, TermKind::Word}, 1.0);
  }
  if (query && is_question_word(run, stem)) return;
  // A particle on a Latin or number word (S24의, 1990년에는 -> 에는 after 년 is kept) asks for nothing itself.
  if (query && start.continues_word && is_suffix(run)) return;
  if (query) {
    // Interrogatives written together with more (어느나라, 무엇이라고, 몇년도) are left out as above, and the rest
    // is a run of its own when it has two syllables or more (a one-syllable rest, as a unigram, would miss the
    // text's bigram: 몇개).  Nothing is left to strip from the rest, so this recurses once at most.
    std::size_t skip = 0;
    bool counts = false;
    for (std::size_t asked; (asked = question_word_at(run, skip)) > 0 && run.size() - skip - asked >= 2;) {
      counts = asked == 1;  // 몇, the one-syllable interrogative, asks for a count: 몇년도 -> 년도 is a unit
      skip += asked;
    }
    if (skip > 0) {
      RunStart rest_start;
      rest_start.continues_word = true;
      rest_start.counts = counts;
      emit_run(std::vector<Char>(run.begin() + static_cast<std::ptrdiff_t>(skip), run.end()), kind, query, rest_start,
               emit);
      return;
    }
  }
  if (run.size() == 1) {
    emit(LexicalToken{joined(run, 0, 1), run[0].begin, run[0].end, TermKind::Bigram}, 1.0);
    emit(LexicalToken{kStemMarker + joined(run, 0, 1), run[0].begin, run[0].end, TermKind::Stem}, kStemWeight);
    return;
  }
  for (std::size_t i = 0; i + 1 < run.size(); ++i) {
    const double weight = query && i + 2 > stem ? kSuffixBigramWeight : 1.0;
    emit(LexicalToken{joined(run, i, i + 2), run[i].begin, run[i + 1].end, TermKind::Bigram}, weight);
  }
  emit(LexicalToken{kStemMarker + joined(run, 0, stem), run.front().begin, run[stem - 1].end, TermKind::Stem},
       kStemWeight);
}

bool is_number(const std::vector<Char>& run) {
  return std::all_of(run.begin(), run.end(), [](const Char& c) { return c.code >= '0' && c.code <= '9'; });
}

template <typename Emit>
void tokenize(std::string_view text, bool query, Emit&& emit) {
  std::vector<Char> run;
  CharClass run_class = CharClass::Separator;
  RunStart start;
  const auto flush = [&] {
    if (!run.empty()) emit_run(run, run_class, query, start, emit);
  };
  for (Char c : composed_characters(text)) {
    c.code = fold(c.code);
    const CharClass kind = classify(c.code);
    if (kind != run_class) {
      flush();
      start = {};
      if (run_class == CharClass::Word && !run.empty()) {
        start.continues_word = true;
        if (kind == CharClass::Syllabic && is_number(run)) {
          start.counts = true;
          start.number = joined(run, 0, run.size());
          start.number_begin = run.front().begin;
        }
      }
      run.clear();
      run_class = kind;
    }
    if (kind != CharClass::Separator) run.push_back(c);
  }
  flush();
}

bool is_question(std::string_view query) {
  const std::size_t end = query.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return false;
  return query[end] == '?' || query.substr(0, end + 1).ends_with("\uFF1F");  // or the full-width ？
}

}  // namespace

std::vector<LexicalToken> lexical_tokens(std::string_view text) {
  std::vector<LexicalToken> out;
  tokenize(text, false, [&](LexicalToken&& token, double) { out.push_back(std::move(token)); });
  return out;
}

LexicalQuery lexical_query(std::string_view query) {
  std::vector<std::pair<LexicalToken, double>> tokens;
  tokenize(query, true, [&](LexicalToken&& token, double weight) { tokens.emplace_back(std::move(token), weight); });
  if (is_question(query)) {
    // Each Hangul run ends with its stem, which begins where the run begins.
    const auto last_stem = std::find_if(tokens.rbegin(), tokens.rend(),
                                        [](const auto& token) { return token.first.kind == TermKind::Stem; });
    if (last_stem != tokens.rend())
      for (auto& [token, weight] : tokens)
        if (token.kind != TermKind::Word && token.begin >= last_stem->first.begin) weight *= kAskedWordWeight;
  }
  std::map<std::string, std::pair<double, TermKind>> terms;  // a term repeated in the query keeps its largest weight
  std::vector<std::string> order;
  for (auto& [token, weight] : tokens) {
    auto [it, inserted] = terms.try_emplace(token.text, weight, token.kind);
    if (inserted)
      order.push_back(token.text);
    else
      it->second.first = std::max(it->second.first, weight);
  }
  LexicalQuery out;
  for (const std::string& term : order) {
    if (!out.expression.empty()) out.expression += " OR ";
    out.expression += '"';
    for (char c : term) out.expression += c == '"' ? std::string("\"\"") : std::string(1, c);
    out.expression += '"';
    out.weights.push_back(terms.at(term).first);
    out.kinds.push_back(terms.at(term).second);
    out.terms.push_back(term);
  }
  return out;
}

Bm25Parameters bm25_parameters(TermKind kind) {
  // Low k1: a question names each fact once, so a chunk repeating a term is hardly more relevant; but a Latin or
  // number word (a year, a model name) repeated is.  Bigrams also match inside unrelated words, more often the
  // longer the chunk, so their scores are normalized by length more (docs/benchmarks.md, "Retrieval quality").
  switch (kind) {
    case TermKind::Bigram:
      return {0.4, 0.7};
    case TermKind::Word:
      return {1.2, 0.4};
    case TermKind::Stem:
      return {0.4, 0.4};
  }
  return {0.4, 0.4};
}

}  // namespace ksearch
