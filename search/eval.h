// Retrieval evaluation with BEIR definitions (nDCG@10 with graded gains, Recall@k, MRR@10), run through the real
// pipeline: the corpus is written to a temporary folder, indexed by run_index, and queried by SearchEngine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/searcher.h"

namespace ksearch {

struct EvalDocument {
  std::string id, title, text;
};

struct EvalQuery {
  std::string id, text;
  std::map<std::string, int> relevant;  // document id -> relevance grade (> 0)
};

struct EvalSet {
  std::vector<EvalDocument> documents;
  std::vector<EvalQuery> queries;
};

// BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (or qrels.tsv), header line in the TSV.
EvalSet load_beir(const std::filesystem::path& folder);
// SQuAD-format file (KorQuAD): distinct paragraphs are the corpus, each question's paragraph its relevant document.
EvalSet load_squad(const std::filesystem::path& file);

// The rankings `ksearch eval` compares: each leg alone, hybrid with the index's fitted fusion and with plain
// (equal-weight) reciprocal rank fusion, and the cross-encoder over the best first stage (hybrid, or lexical without
// an embedding model).
enum class EvalMode { Lexical, Dense, Hybrid, PlainRrf, Rerank };
std::string_view eval_mode_name(EvalMode mode);   // lexical, dense, hybrid, plain-rrf, rerank
EvalMode parse_eval_mode(std::string_view name);  // throws Error for unknown names

struct EvalOptions {
  std::vector<EvalMode> modes;       // empty: all five
  std::optional<std::string> model;  // embedding model; none: dense, hybrid and plain-rrf are skipped
  std::size_t k = 10;
  bool rerank = false;  // false: rerank is skipped
  std::optional<std::string> rerank_model;
  int chunk_tokens = 0;
  std::optional<std::size_t> limit_queries;
  Precision precision = Precision::Fp32;
  std::size_t bootstrap_resamples = 1000;
  std::uint64_t bootstrap_seed = 1;
};

// A mean over queries with its 95% percentile-bootstrap interval (resampling the queries).
struct Estimate {
  double value = 0, low = 0, high = 0;
};

struct EvalModeReport {
  EvalMode mode = EvalMode::Lexical;
  std::string skipped;  // why the mode did not run; empty when it ran
  std::string over;     // rerank: the first stage it reorders ("hybrid" or "lexical")
  Estimate ndcg_at_10, recall_at_1, recall_at_5, recall_at_10, mrr_at_10;
  // nDCG@10 minus lexical's on the same queries, bootstrapped with the same resamples (paired); absent for lexical
  // itself and when lexical did not run.
  std::optional<Estimate> ndcg_vs_lexical;
  std::size_t refused = 0;  // queries over the search limits (kMaxQueryTerms, ...), scored as finding nothing
  double search_seconds = 0;
};

struct EvalReport {
  std::size_t documents = 0, queries = 0;
  std::string model;
  std::string fusion;  // the index's fitted fusion, as `search --explain` prints it (empty without a model)
  double index_seconds = 0;
  std::size_t bootstrap_resamples = 0;
  std::uint64_t bootstrap_seed = 0;
  std::vector<EvalModeReport> modes;  // in EvalMode order
};

// Indexes the set once, then runs every asked mode over the same queries.
EvalReport evaluate(const EvalSet& set, const EvalOptions& options);

// The mean of `values` with a 95% percentile interval from `resamples` bootstrap resamples drawn by a generator
// seeded with `seed` (the same seed draws the same resamples for any values of the same length: paired).
Estimate bootstrap_mean(std::span<const double> values, std::size_t resamples, std::uint64_t seed);

// Metrics of one ranked list of document ids against graded judgements (BEIR / trec_eval definitions).
struct QueryMetrics {
  double ndcg_at_10, recall_at_1, recall_at_5, recall_at_10, mrr_at_10;
};
QueryMetrics score_ranking(const std::vector<std::string>& ranked, const std::map<std::string, int>& relevant);

}  // namespace ksearch
