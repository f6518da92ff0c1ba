// Korean-aware lexical analysis for the FTS5 index and query side.
//
// Korean attaches particles and endings to words ("서울에서", "서울은"), so whole-word matching fails.  Runs of
// Hangul (and Hanja/kana) are indexed as overlapping character bigrams ("서울에서" -> 서울 울에 에서), so "서울"
// matches every inflected form; a one-syllable run is kept as a unigram.  Each run also yields its stem: the run
// with common particles (조사) and endings (어미) stripped by a small suffix rule set, no dictionary ("서울에서" ->
// ~서울, "책을" -> ~책, "책" -> ~책), kept apart from the bigrams by a marker.  Latin letters and digits form whole
// lower-cased tokens ("Galaxy S24의" -> galaxy s24 의; a query leaves out such a trailing particle), and a number
// with the unit written after it one more ("1876년에" -> 1876 1876년); full-width forms fold to ASCII.  Text is
// composed to NFC first, so a document saved in NFD (macOS) matches an NFC query.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

// Bumped whenever lexical_tokens() changes what it emits: an index holds the version its FTS table was built with.
inline constexpr int kLexicalTokenizerVersion = 5;

enum class TermKind : std::uint8_t { Bigram, Word, Stem };

struct LexicalToken {
  std::string text;
  std::uint32_t begin;  // byte range in the input
  std::uint32_t end;
  TermKind kind;
};

std::vector<LexicalToken> lexical_tokens(std::string_view text);

// A query for ChunkStore::lexical_search: an FTS5 MATCH expression that ORs the distinct terms of the query text,
// each quoted (user text can never inject FTS5 syntax), and one BM25 weight and term kind per term in expression
// order.  In a question (ending in ?), the last Hangul word names what is asked ("이름은?", "연도는?"), which the
// answer states by its value instead, so that word's terms weigh less.
struct LexicalQuery {
  std::string expression;  // empty when the query has no indexable term
  std::vector<double> weights;
  std::vector<TermKind> kinds;
  std::vector<std::string> terms;  // unquoted, in expression order (store/rescore.h)
};

LexicalQuery lexical_query(std::string_view query);

// BM25 term saturation (k1) and length normalization (b) for each kind of term.
struct Bm25Parameters {
  double k1;
  double b;
};

Bm25Parameters bm25_parameters(TermKind kind);

}  // namespace ksearch
