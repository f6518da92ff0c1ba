// What one query costs on an existing index, stage by stage, in a warm process:
//   ksearch_query_bench INDEX_ROOT QUERIES_FILE [--k 10] [--rounds 5]
// QUERIES_FILE holds one query per line.  Each query is encoded once (timed), then every round runs, per query:
// the raw FAISS search and the raw FTS5 BM25 search at the depth hybrid search uses, their reciprocal rank fusion,
// the SQLite look-up of the fused top k (+8 spare, as the engine reads them), and the engine's dense, lexical and
// hybrid searches with the precomputed query vector.  "engine_overhead" is hybrid minus FAISS minus FTS5: everything
// the engine adds to the two retrievals (look-ups, filtering, fusion, result assembly).  Medians and 99th percentiles
// in microseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/blas_threads.h"
#include "embed/embedder.h"
#include "search/hybrid.h"
#include "search/searcher.h"
#include "search/vector_sync.h"
#include "store/lexical.h"

namespace {

using Clock = std::chrono::steady_clock;

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

double percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1))];
}

struct Samples {
  const char* name;
  std::vector<double> micros;
};

}  // namespace

int main(int argc, char** argv) {
  ksearch::release_blas_threads();  // as the ksearch binary does, so the first query is timed as a user meets it
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s INDEX_ROOT QUERIES_FILE [--k 10] [--rounds 5]\n", argv[0]);
    return 2;
  }
  std::size_t k = 10, rounds = 5;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--k") == 0) k = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::stoul(argv[i + 1]);
  }
  std::vector<std::string> queries;
  std::ifstream input(argv[2]);
  for (std::string line; std::getline(input, line);)
    if (!line.empty()) queries.push_back(line);
  if (queries.empty()) {
    std::fprintf(stderr, "%s: no queries\n", argv[2]);
    return 2;
  }

  try {
    const auto location = ksearch::IndexLocation::find_upward(argv[1]);
    auto start = Clock::now();
    const auto engine = ksearch::SearchEngine::open(location);
    const double open_us = micros_since(start);
    if (!engine->has_model()) {
      std::fprintf(stderr, "%s: the index has no loadable embedding model\n", argv[1]);
      return 2;
    }
    const ksearch::ChunkStore store(location.database(), false);
    const auto vectors = ksearch::load_vectors(store, location, engine->settings().dimension).index;

    Samples encode{"encode", {}}, faiss{"faiss", {}}, fts{"fts5", {}}, lookup{"chunk_lookup", {}}, fusion{"fusion", {}},
        dense{"dense", {}}, lexical{"lexical", {}}, hybrid{"hybrid", {}}, overhead{"engine_overhead", {}};
    std::vector<std::vector<float>> embeddings;
    for (const auto& query : queries) {
      start = Clock::now();
      embeddings.push_back(engine->embedder()->embed(std::vector<std::string>{query}, ksearch::TextKind::Query).values);
      encode.micros.push_back(micros_since(start));
    }

    // The depth SearchEngine uses for each list of a hybrid search.
    const std::size_t depth = std::max<std::size_t>(50, 4 * k);
    std::size_t results = 0;
    for (std::size_t round = 0; round < rounds; ++round) {
      for (std::size_t q = 0; q < queries.size(); ++q) {
        start = Clock::now();
        const auto vector_hits = vectors->search(embeddings[q], depth);
        const double faiss_us = micros_since(start);

        start = Clock::now();
        const auto lexical_hits = store.lexical_search(ksearch::lexical_query(queries[q]), depth);
        const double fts_us = micros_since(start);

        std::vector<std::vector<std::int64_t>> lists(2);
        for (const auto& hit : vector_hits) lists[0].push_back(hit.id);
        for (const auto& hit : lexical_hits) lists[1].push_back(hit.chunk_id);
        start = Clock::now();
        const auto fused = ksearch::reciprocal_rank_fusion(lists);
        fusion.micros.push_back(micros_since(start));

        start = Clock::now();
        std::vector<std::int64_t> ids;
        for (std::size_t i = 0; i < std::min(fused.size(), k + 8); ++i) ids.push_back(fused[i].id);
        const auto chunks = store.chunks(ids);
        lookup.micros.push_back(micros_since(start));

        ksearch::SearchOptions options;
        options.k = k;
        options.query_embedding = embeddings[q];
        for (auto [mode, samples] :
             {std::pair{ksearch::SearchMode::Dense, &dense}, std::pair{ksearch::SearchMode::Lexical, &lexical}}) {
          options.mode = mode;
          start = Clock::now();
          results += engine->search(queries[q], options).results.size();
          samples->micros.push_back(micros_since(start));
        }
        options.mode = ksearch::SearchMode::Hybrid;
        start = Clock::now();
        results += engine->search(queries[q], options).results.size();
        const double hybrid_us = micros_since(start);

        faiss.micros.push_back(faiss_us);
        fts.micros.push_back(fts_us);
        hybrid.micros.push_back(hybrid_us);
        overhead.micros.push_back(hybrid_us - faiss_us - fts_us);
        results += chunks.size() + fused.size();
      }
    }

    const auto counts = engine->counts();
    std::printf(
        "{\"chunks\": %lld, \"queries\": %zu, \"rounds\": %zu, \"k\": %zu, \"depth\": %zu, \"results\": %zu, "
        "\"open_ms\": %.1f, \"first_encode_ms\": %.1f",
        static_cast<long long>(counts.chunks), queries.size(), rounds, k, depth, results, open_us / 1000,
        encode.micros.front() / 1000);
    for (const Samples* samples : {&encode, &faiss, &fts, &lookup, &fusion, &dense, &lexical, &hybrid, &overhead})
      std::printf(", \"%s_us\": {\"p50\": %.1f, \"p99\": %.1f}", samples->name, percentile(samples->micros, 0.5),
                  percentile(samples->micros, 0.99));
    std::printf("}\n");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
  return 0;
}
