// Where a chunk states what a query asks, the query's terms stand together in one or two sentences; elsewhere they
// are scattered over the chunk.  BM25 sees only how often each term occurs in the chunk, so the keyword leg adds
// the weight of the query terms found within the best pair of consecutive sentences to its best candidates' scores
// (docs/benchmarks.md, "Lexical leg, issue #34, fifth round").
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace ksearch {

// How many of the keyword leg's best chunks get the bonus, and its weight against their BM25 scores.
inline constexpr std::size_t kSentenceWindowCandidates = 20;
inline constexpr double kSentenceWindowWeight = 0.7;

// The largest sum of `term_weights` over the distinct terms (lexical_tokens) found within two consecutive
// sentences of `text`; a sentence ends after . ? or ! and a space, or at a line break.  A text of one or two
// sentences is one window.
double best_sentence_window(std::string_view text, const std::unordered_map<std::string, double>& term_weights);

}  // namespace ksearch
