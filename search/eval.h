// Retrieval evaluation with BEIR definitions (nDCG@10 with graded gains, Recall@k, MRR@10), run through the real
// pipeline: the corpus is written to a temporary folder, indexed by run_index, and queried by SearchEngine.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
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

struct EvalOptions {
  SearchMode mode = SearchMode::Auto;
  std::optional<std::string> model;  // embedding model; none: lexical only
  std::size_t k = 10;
  bool rerank = false;
  std::optional<std::string> rerank_model;
  int chunk_tokens = 0;
  std::optional<std::size_t> limit_queries;
  Precision precision = Precision::Fp32;
  bool calibrated_fusion = true;  // false: hybrid by plain RRF (the index is calibrated either way)
};

struct EvalReport {
  std::size_t documents = 0, queries = 0;
  double ndcg_at_10 = 0, recall_at_1 = 0, recall_at_5 = 0, recall_at_10 = 0, mrr_at_10 = 0;
  double index_seconds = 0, search_seconds = 0;
  std::string mode;
  std::string model;
};

EvalReport evaluate(const EvalSet& set, const EvalOptions& options);

// Metrics of one ranked list of document ids against graded judgements (BEIR / trec_eval definitions).
struct QueryMetrics {
  double ndcg_at_10, recall_at_1, recall_at_5, recall_at_10, mrr_at_10;
};
QueryMetrics score_ranking(const std::vector<std::string>& ranked, const std::map<std::string, int>& relevant);

}  // namespace ksearch
