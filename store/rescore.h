// What the keyword leg adds to the BM25 scores of its best chunks, which BM25 cannot see: where the query's terms
// stand in a chunk, and whether its file's name holds them (docs/benchmarks.md, "Lexical leg, issue #34, fifth
// round").  Where a chunk states what a query asks, the query's words stand together in one or two sentences;
// elsewhere they are scattered over the chunk.  A file's name is its title, which its chunks rarely repeat.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ksearch {

// How many of the keyword leg's best chunks are re-scored, and the weights of what they gain.
inline constexpr std::size_t kRescoredChunks = 20;
inline constexpr double kSentenceWindowWeight = 0.7;
inline constexpr double kFileNameWeight = 0.3;

// A query term (as lexical_query() gives it) and its weight: ksearch_bm25's weighted idf.
using TermWeights = std::unordered_map<std::string, double>;

// The largest sum of weights of the distinct terms (lexical_tokens) found within two consecutive sentences of
// `text`; a text of one or two sentences is one window.  A sentence ends at an end mark (. ? ! … 。 and their
// full-width forms), with any closing quotes or brackets after it, before white space, unless all it holds is a list
// marker (1. 가. iv.); or at a blank line.  A single line break does not end one: plain text and PDFs wrap
// sentences over lines.  A sentence without a term (a lone ※) is passed over: those around it count as consecutive.
double best_sentence_window(std::string_view text, const TermWeights& weights);

// The sum of weights of the distinct terms found in the name of the file at `path`, less its extension.
double file_name_match(std::string_view path, const TermWeights& weights);

}  // namespace ksearch
