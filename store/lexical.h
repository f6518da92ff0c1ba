// Korean-aware lexical analysis for the FTS5 index and query side.
//
// Korean attaches particles and endings to words ("서울에서", "서울은"), so whole-word matching fails.  Runs of
// Hangul (and Hanja/kana) are indexed as overlapping character bigrams ("서울에서" -> 서울 울에 에서), so "서울"
// matches every inflected form; a one-syllable run is kept as a unigram.  Latin letters and digits form whole
// lower-cased tokens ("Galaxy S24" -> galaxy s24); full-width forms fold to ASCII.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

struct LexicalToken {
  std::string text;
  std::uint32_t begin;  // byte range in the input
  std::uint32_t end;
};

std::vector<LexicalToken> lexical_tokens(std::string_view text);

// An FTS5 MATCH expression that ORs the distinct tokens of `query`, each quoted, so user text can never inject
// FTS5 syntax.  Empty when the query has no indexable token.
std::string fts_match_expression(std::string_view query);

}  // namespace ksearch
