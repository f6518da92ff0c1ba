#include "store/fts.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <vector>

#include "base/error.h"
#include "store/lexical.h"

namespace ksearch {
namespace {

int tokenizer_create(void*, const char**, int, Fts5Tokenizer** out) {
  static int instance = 0;
  *out = reinterpret_cast<Fts5Tokenizer*>(&instance);
  return SQLITE_OK;
}

void tokenizer_delete(Fts5Tokenizer*) {}

int tokenizer_tokenize(Fts5Tokenizer*, void* context, int flags, const char* text, int length,
                       int (*emit)(void*, int, const char*, int, int, int)) {
  // Query phrases come from lexical_query(), already one token each (stems carry a marker the tokenizer would
  // split off), so they pass through unchanged.
  if (flags & FTS5_TOKENIZE_QUERY) return length > 0 ? emit(context, 0, text, length, 0, length) : SQLITE_OK;
  try {
    for (const auto& token : lexical_tokens(std::string_view(text, static_cast<std::size_t>(length)))) {
      const int rc = emit(context, 0, token.text.data(), static_cast<int>(token.text.size()),
                          static_cast<int>(token.begin), static_cast<int>(token.end));
      if (rc != SQLITE_OK) return rc;
    }
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

struct PhraseStatistics {
  double idf;  // times the phrase's weight
  double k1;   // negative: the function's k1 (and b)
  double b;
};

struct QueryStatistics {
  std::vector<PhraseStatistics> phrases;
  double average_length = 1;
};

int count_hit(const Fts5ExtensionApi*, Fts5Context*, void* user_data) {
  ++*static_cast<sqlite3_int64*>(user_data);
  return SQLITE_OK;
}

// Reads a number at the front of `text` and removes it; `value` stays as it is when there is none.
void read_number(std::string_view& text, double& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
}

// `weights`: per phrase "weight" or "weight/k1/b", separated by spaces; missing ones weigh 1 with the function's
// k1 and b.  `idf`, when given, receives each phrase's scaled idf once, when they are first computed.
QueryStatistics* statistics(const Fts5ExtensionApi* api, Fts5Context* context, std::string_view weights,
                            std::vector<double>* idf, int* rc) {
  auto* cached = static_cast<QueryStatistics*>(api->xGetAuxdata(context, 0));
  if (cached != nullptr) return cached;
  auto stats = std::make_unique<QueryStatistics>();
  sqlite3_int64 rows = 0, tokens = 0;
  if ((*rc = api->xRowCount(context, &rows)) != SQLITE_OK) return nullptr;
  if ((*rc = api->xColumnTotalSize(context, -1, &tokens)) != SQLITE_OK) return nullptr;
  stats->average_length = rows > 0 ? std::max(1.0, static_cast<double>(tokens) / static_cast<double>(rows)) : 1.0;
  const int phrases = api->xPhraseCount(context);
  for (int i = 0; i < phrases; ++i) {
    sqlite3_int64 hits = 0;
    if ((*rc = api->xQueryPhrase(context, i, &hits, count_hit)) != SQLITE_OK) return nullptr;
    const double n = static_cast<double>(rows), h = static_cast<double>(hits);
    PhraseStatistics phrase{1, -1, -1};
    while (!weights.empty() && weights.front() == ' ') weights.remove_prefix(1);
    read_number(weights, phrase.idf);
    if (weights.starts_with('/')) {
      weights.remove_prefix(1);
      read_number(weights, phrase.k1);
      if (weights.starts_with('/')) weights.remove_prefix(1);
      read_number(weights, phrase.b);
    }
    phrase.idf *= std::log(1.0 + (n - h + 0.5) / (h + 0.5));
    stats->phrases.push_back(phrase);
  }
  if (idf != nullptr) {
    idf->clear();
    for (const PhraseStatistics& phrase : stats->phrases) idf->push_back(phrase.idf);
  }
  cached = stats.release();
  if ((*rc = api->xSetAuxdata(context, cached, [](void* p) { delete static_cast<QueryStatistics*>(p); })) != SQLITE_OK)
    return nullptr;
  return cached;
}

void score_bm25(const Fts5ExtensionApi* api, Fts5Context* context, sqlite3_context* result, int argc,
                sqlite3_value** argv) {
  const double k1 = argc > 0 ? sqlite3_value_double(argv[0]) : 0.9;
  const double b = argc > 1 ? sqlite3_value_double(argv[1]) : 0.4;
  int rc = SQLITE_OK;
  const char* weights = argc > 2 ? reinterpret_cast<const char*>(sqlite3_value_text(argv[2])) : nullptr;
  auto* idf = argc > 3 ? static_cast<std::vector<double>*>(sqlite3_value_pointer(argv[3], kPhraseIdfPointer)) : nullptr;
  const QueryStatistics* stats = statistics(api, context, weights != nullptr ? weights : "", idf, &rc);
  if (stats == nullptr) {
    sqlite3_result_error_code(result, rc);
    return;
  }
  std::vector<int> frequency(stats->phrases.size(), 0);
  int instances = 0;
  if ((rc = api->xInstCount(context, &instances)) != SQLITE_OK) {
    sqlite3_result_error_code(result, rc);
    return;
  }
  for (int i = 0; i < instances; ++i) {
    int phrase = 0, column = 0, offset = 0;
    if (api->xInst(context, i, &phrase, &column, &offset) == SQLITE_OK && phrase >= 0 &&
        static_cast<std::size_t>(phrase) < frequency.size())
      ++frequency[static_cast<std::size_t>(phrase)];
  }
  int length = 0;
  api->xColumnSize(context, -1, &length);
  const double relative_length = static_cast<double>(length) / stats->average_length;
  double score = 0;
  for (std::size_t i = 0; i < frequency.size(); ++i) {
    if (frequency[i] == 0) continue;
    const PhraseStatistics& phrase = stats->phrases[i];
    const double phrase_k1 = phrase.k1 >= 0 ? phrase.k1 : k1, phrase_b = phrase.b >= 0 ? phrase.b : b;
    const double norm = phrase_k1 * (1.0 - phrase_b + phrase_b * relative_length);
    score += phrase.idf * frequency[i] * (phrase_k1 + 1.0) / (frequency[i] + norm);
  }
  sqlite3_result_double(result, score);
}

// No exception may cross SQLite's C frames.
void bm25(const Fts5ExtensionApi* api, Fts5Context* context, sqlite3_context* result, int argc, sqlite3_value** argv) {
  try {
    score_bm25(api, context, result, argc, argv);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(result);
  }
}

}  // namespace

void register_fts_extensions(sql::Database& db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.handle(), "SELECT fts5(?1)", -1, &raw, nullptr) != SQLITE_OK)
    db.raise("SQLite was built without FTS5");
  sqlite3_bind_pointer(raw, 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(raw);
  sqlite3_finalize(raw);
  if (api == nullptr) fail(db.path().string(), ": SQLite has no FTS5 support");
  static fts5_tokenizer tokenizer = {tokenizer_create, tokenizer_delete, tokenizer_tokenize};
  if (api->xCreateTokenizer(api, "ksearch", nullptr, &tokenizer, nullptr) != SQLITE_OK)
    db.raise("cannot register the ksearch FTS5 tokenizer");
  if (api->xCreateFunction(api, "ksearch_bm25", nullptr, bm25, nullptr) != SQLITE_OK)
    db.raise("cannot register ksearch_bm25");
}

}  // namespace ksearch
