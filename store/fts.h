// Registers ksearch's FTS5 extensions on a connection:
//   tokenizer "ksearch"       - store/lexical.h's Korean-aware tokens
//   ksearch_bm25(tbl, k1, b, weights, idf) - Okapi BM25 with Lucene's non-negative idf, higher is better;
//                                      `weights` (text, optional) scales each phrase's idf, in phrase order, and
//                                      may give a phrase its own k1 and b: "1 0.5/1.2/0.4 ..." (weight/k1/b);
//                                      `idf` (optional, a pointer of type kPhraseIdfPointer to a
//                                      std::vector<double>) receives each phrase's scaled idf; it stays as it
//                                      was when no row matches
#pragma once

#include "store/sqlite.h"

namespace ksearch {

inline constexpr const char* kPhraseIdfPointer = "ksearch_phrase_idf";

void register_fts_extensions(sql::Database& db);

}  // namespace ksearch
