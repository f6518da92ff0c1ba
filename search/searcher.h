// The query pipeline: query prefix -> encode -> FAISS top-k (over-fetching when filtering) -> chunks from SQLite;
// FTS5 BM25 for lexical; reciprocal rank fusion for hybrid; optional cross-encoder reranking.
//
// A SearchEngine is shared by threads (the HTTP server): it serves one consistent snapshot of the vector index and
// swaps in a newer one when `ksearch index` commits (refresh()).  Chunk ids are never reused, so a chunk looked up
// after a concurrent change is either exactly the indexed one or gone (and dropped).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "embed/linear.h"
#include "search/document_excerpt.h"
#include "search/fusion_calibration.h"
#include "search/hybrid.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

class Embedder;
class CrossEncoder;
class VectorIndex;

// Per-query limits.  A lexical query ORs its distinct terms and each term walks its posting list, so cost grows with
// the number of terms; a query longer than any model reads adds nothing but cost.
inline constexpr std::size_t kMaxQueryBytes = 16384;
inline constexpr std::size_t kMaxQueryTerms = 256;

// A query over kMaxQueryBytes or kMaxQueryTerms (HTTP 413).
class QueryTooLarge : public Error {
 public:
  using Error::Error;
};

// A search abandoned at its deadline or cancelled by its caller (HTTP 503).
class SearchInterrupted : public Error {
 public:
  using Error::Error;
};

enum class SearchMode { Auto, Dense, Lexical, Hybrid };
std::string_view search_mode_name(SearchMode mode);
SearchMode parse_search_mode(std::string_view name);  // throws Error for unknown names

struct SearchOptions {
  std::size_t k = 10;
  SearchMode mode = SearchMode::Auto;   // Auto: hybrid when the index has a model, else lexical
  std::string path_glob;                // gitignore-style pattern on the path relative to the index root
  std::vector<std::string> extensions;  // "pdf", ".md", ...
  double rrf_k = 60.0;
  bool calibrated_fusion = true;  // false: plain RRF, equal weights (the index's fitted ones otherwise)
  std::size_t candidates = 0;     // depth of each list before fusion (0: max(50, 4k))
  bool rerank = false;
  std::size_t rerank_top = 50;         // candidates the cross-encoder rescores
  std::vector<float> query_embedding;  // precomputed normalised query vector (empty: the engine encodes)
  // The search stops with SearchInterrupted once this passes (checked inside SQLite and between the steps)...
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // ...or once this is set (e.g. by the server when the client hung up).
  const std::atomic<bool>* cancelled = nullptr;
};

struct SearchHit {
  std::size_t rank = 0;
  double score = 0;  // meaning given by SearchResponse::score_kind
  ChunkRecord chunk;
  std::optional<double> dense;    // cosine similarity
  std::optional<double> lexical;  // BM25
  std::optional<double> rerank;   // cross-encoder logit
  // Hybrid: 1-based places in the dense and keyword lists that were fused (absent: not in that list).
  std::optional<std::size_t> dense_rank, lexical_rank;
};

struct SearchResponse {
  std::vector<SearchHit> results;
  SearchMode mode = SearchMode::Lexical;
  // "cosine" (dense), "bm25" (lexical), "rrf" (hybrid), "rerank" (sigmoid of the cross-encoder logit)
  std::string score_kind;
  std::string notice;
  double took_ms = 0;
};

struct EngineOptions {
  std::optional<std::string> model;              // override the index's model name (same weights elsewhere)
  std::optional<std::string> rerank_model;       // loaded on first use when reranking is asked
  bool load_model = true;                        // false: lexical only (no model loading cost)
  bool force_model = false;                      // accept a model unlike the index's (same dimension) for queries
  Precision precision = Precision::Fp32;         // encoder precision for query embedding
  std::shared_ptr<const Embedder> embedder;      // an already loaded model to use (must match the index)
  std::shared_ptr<const CrossEncoder> reranker;  // an already loaded reranker to use
};

class SearchEngine {
 public:
  // Opens the index at `location`.  A missing embedding model leaves the engine lexical-only with a notice; a
  // model that does not match the index (id, architecture, pooling, dimension, tokenizer) is an Error unless
  // `force_model` and the dimensions agree; `model` given for a lexical-only index is an Error.
  static std::shared_ptr<SearchEngine> open(const IndexLocation& location, const EngineOptions& options = {});
  ~SearchEngine();

  SearchResponse search(std::string_view query, const SearchOptions& options) const;
  // Lines `first`..`last` of an indexed file (`path` relative to the index root, as results give it) with `context`
  // lines around, read from the file as it is now.  Throws Error for a path the index does not hold, so no other
  // file under the root is ever read.
  DocumentExcerpt excerpt(const std::string& path, std::size_t first, std::size_t last, std::size_t context) const;
  // Raw cross-encoder logits for (query, passage) pairs (loads the reranker on first use).
  std::vector<float> rerank_scores(std::string_view query, const std::vector<std::string>& passages) const;

  // Swaps in a newer vector snapshot if the database generation moved, and reopens the index when its database file
  // was replaced (a --rebuild swapped in, or the folder deleted and indexed again).  Returns true when anything
  // changed; `event`, when given, receives a line for the log about a replaced, rejected or missing index.
  bool refresh(std::string* event = nullptr);

  const IndexLocation& location() const { return location_; }
  const IndexSettings& settings() const { return settings_; }
  bool has_model() const { return embedder_ != nullptr; }
  const std::shared_ptr<const Embedder>& embedder() const { return embedder_; }
  const CrossEncoder* reranker() const;
  const std::string& notice() const { return notice_; }
  std::uint64_t generation() const;
  StoreCounts counts() const;
  // The index's fitted hybrid fusion (fit_queries 0: none, plain RRF).
  FusionCalibration fusion() const;

 private:
  class StoreLease;
  // Device and inode of the database file; equal identities mean the same file.
  struct FileIdentity {
    std::uint64_t device = 0, inode = 0;
    bool operator==(const FileIdentity&) const = default;
  };
  static std::optional<FileIdentity> identity_of(const std::filesystem::path& path);
  bool reopen(const FileIdentity& identity, std::string* event);
  static bool interrupted(const SearchOptions& options);
  // Throws SearchInterrupted when the options' deadline passed or their caller cancelled.
  static void check_budget(const SearchOptions& options);
  SearchEngine() = default;
  StoreLease store() const;
  std::shared_ptr<const VectorIndex> vectors() const;
  struct ScoredId {
    std::int64_t id;
    double score;
  };
  // Hits from `retrieve(fetch)` joined with their chunks and filtered, fetching deeper until `depth` pass or the
  // retriever runs dry.
  std::vector<SearchHit> collect(const std::function<std::vector<ScoredId>(std::size_t)>& retrieve, std::size_t depth,
                                 bool dense_scores, const SearchOptions& options) const;
  // Ranked ids with their scores, best first: cosine from the vector index, BM25 from FTS5.
  static std::vector<ScoredId> nearest(const VectorIndex& index, const std::vector<float>& vector, std::size_t count);
  static std::vector<ScoredId> keyword_matches(const ChunkStore& store, const LexicalQuery& query, std::size_t count,
                                               const SearchOptions& options);
  // The query's embedding: the precomputed one, or encoded with the query prefix.
  std::vector<float> query_vector(std::string_view query, const SearchOptions& options, const VectorIndex& index) const;
  std::vector<SearchHit> dense(std::string_view query, std::size_t depth, const SearchOptions& options) const;
  std::vector<SearchHit> lexical(std::string_view query, std::size_t depth, const SearchOptions& options) const;
  // Hybrid: the two lists of `depth` fused by reciprocal rank, best `wanted` returned.
  std::vector<SearchHit> fused(std::string_view query, std::size_t depth, std::size_t wanted,
                               const SearchOptions& options) const;
  std::vector<SearchHit> fused_filtered(std::string_view query, std::size_t depth, std::size_t wanted,
                                        const SearchOptions& options) const;
  static bool filtered(const SearchOptions& options);
  // Reciprocal rank fusion of the dense and lexical lists, with the fitted weights unless options say plain.
  std::vector<FusedHit> fuse(std::span<const std::vector<std::int64_t>> lists, const SearchOptions& options) const;
  bool accepts(const ChunkRecord& chunk, const SearchOptions& options) const;

  IndexLocation location_;
  IndexSettings settings_;
  EngineOptions options_;
  std::string notice_;
  std::shared_ptr<const Embedder> embedder_;
  mutable std::shared_ptr<const CrossEncoder> reranker_;
  mutable std::mutex reranker_mutex_;
  mutable std::mutex vectors_mutex_;
  std::shared_ptr<const VectorIndex> vectors_;
  FusionCalibration fusion_;  // guarded by vectors_mutex_, refreshed with the vectors
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<ChunkStore>> pool_;  // idle connections (SQLite handles are per thread)
  std::uint64_t pool_epoch_ = 0;                           // bumped on reopen; older leases are not pooled again
  FileIdentity identity_;                                  // of the database file opened
  std::optional<FileIdentity> reported_;                   // last identity a log event was given for
};

}  // namespace ksearch
