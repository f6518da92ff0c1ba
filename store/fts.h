// Registers ksearch's FTS5 extensions on a connection:
//   tokenizer "ksearch"       - store/lexical.h's Korean-aware tokens
//   ksearch_bm25(tbl, k1, b)  - Okapi BM25 with Lucene's non-negative idf, higher is better
#pragma once

#include "store/sqlite.h"

namespace ksearch {

void register_fts_extensions(sql::Database& db);

}  // namespace ksearch
