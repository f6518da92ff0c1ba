#include "search/searcher.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>
#include <unordered_map>

#include "base/error.h"
#include "embed/embedder.h"
#include "index/vector_index.h"
#include "ingest/document.h"
#include "ingest/glob.h"
#include "search/hybrid.h"
#include "search/index_handle.h"
#include "search/model_check.h"
#include "search/vector_sync.h"
#include "store/lexical.h"

namespace ksearch {

std::string_view search_mode_name(SearchMode mode) {
  switch (mode) {
    case SearchMode::Auto:
      return "auto";
    case SearchMode::Dense:
      return "dense";
    case SearchMode::Lexical:
      return "lexical";
    case SearchMode::Hybrid:
      return "hybrid";
  }
  return "?";
}

SearchMode parse_search_mode(std::string_view name) {
  for (SearchMode mode : {SearchMode::Auto, SearchMode::Dense, SearchMode::Lexical, SearchMode::Hybrid})
    if (name == search_mode_name(mode)) return mode;
  fail("unknown search mode '", name, "' (use dense, lexical or hybrid)");
}

class SearchEngine::StoreLease {
 public:
  StoreLease(const SearchEngine& engine, std::unique_ptr<ChunkStore> store, std::uint64_t epoch)
      : engine_(engine), store_(std::move(store)), epoch_(epoch) {}
  ~StoreLease() {
    std::lock_guard lock(engine_.pool_mutex_);
    if (epoch_ == engine_.pool_epoch_) engine_.pool_.push_back(std::move(store_));
  }
  StoreLease(const StoreLease&) = delete;
  ChunkStore* operator->() const { return store_.get(); }
  ChunkStore& operator*() const { return *store_; }

 private:
  const SearchEngine& engine_;
  std::unique_ptr<ChunkStore> store_;
  std::uint64_t epoch_;
};

SearchEngine::StoreLease SearchEngine::store() const {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(pool_mutex_);
    epoch = pool_epoch_;
    if (!pool_.empty()) {
      auto store = std::move(pool_.back());
      pool_.pop_back();
      return StoreLease(*this, std::move(store), epoch);
    }
  }
  return StoreLease(*this, std::make_unique<ChunkStore>(location_.database(), false, sql::Database::Mode::ReadOnly),
                    epoch);
}

std::optional<SearchEngine::FileIdentity> SearchEngine::identity_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino)};
}

SearchEngine::~SearchEngine() = default;

std::shared_ptr<SearchEngine> SearchEngine::open(const IndexLocation& location, const EngineOptions& options) {
  std::shared_ptr<SearchEngine> engine(new SearchEngine());
  engine->location_ = location;
  engine->options_ = options;
  engine->identity_ = identity_of(location.database()).value_or(FileIdentity{});
  auto store = std::make_unique<ChunkStore>(location.database(), false, sql::Database::Mode::ReadOnly);
  engine->settings_ = store->settings();
  const IndexSettings& settings = engine->settings_;
  engine->reranker_ = options.reranker;
  if (options.model && settings.model_id.empty())
    fail("the index at ", location.dir.string(), " has no embedding model (lexical only), so --model ", *options.model,
         " cannot be used; search without --model, or add semantic search with `ksearch index --rebuild --model ",
         *options.model, "`");
  if (options.load_model && !settings.model_id.empty()) {
    const std::string name = options.model.value_or(settings.model_id);
    std::shared_ptr<const Model> model;
    if (options.embedder) {
      model = std::shared_ptr<const Model>(options.embedder, &options.embedder->model());
    } else {
      try {
        model = Model::load(name, options.precision);
      } catch (const Error& e) {
        if (options.model) throw;  // a model the user named must not be dropped silently
        engine->notice_ = cat("embedding model unavailable (", e.what(), "); using lexical search");
      }
    }
    if (model) {
      check_query_model(settings, model_identity(model->spec, model->tokenizer.fingerprint()), options.force_model,
                        location.dir.string());
      engine->embedder_ = options.embedder ? options.embedder : std::make_shared<const Embedder>(model);
      VectorState state = load_vectors(*store, location, settings.dimension);
      engine->vectors_ = std::move(state.index);
      engine->fusion_ = saved_fusion_or_plain(*store, engine->notice_);
      if (!state.note.empty()) engine->notice_ = state.note;
    }
  }
  engine->pool_.push_back(std::move(store));
  return engine;
}

std::shared_ptr<const VectorIndex> SearchEngine::vectors() const {
  std::lock_guard lock(vectors_mutex_);
  return vectors_;
}

std::uint64_t SearchEngine::generation() const { return store()->generation(); }

StoreCounts SearchEngine::counts() const { return store()->counts(); }

DocumentExcerpt SearchEngine::excerpt(const std::string& path, std::size_t first, std::size_t last,
                                      std::size_t context) const {
  if (!store()->find_file(path)) fail(path, ": not a file in the index");
  return excerpt_lines(read_indexed_document(location_, settings_, path), path, first, last, context);
}

bool SearchEngine::refresh(std::string* event) {
  const auto identity = identity_of(location_.database());
  if (!identity) {
    if (reported_ != FileIdentity{} && event != nullptr)
      *event = cat(location_.database().string(), " is gone; serving the index as it was until one takes its place");
    reported_ = FileIdentity{};
    return false;
  }
  if (*identity != identity_) return reopen(*identity, event);
  if (!embedder_) return false;
  auto lease = store();
  const auto current = vectors();
  if (current && lease->generation() == current->generation()) return false;
  VectorState state = load_vectors(*lease, location_, settings_.dimension);
  std::string damaged;  // said when the engine was opened
  FusionCalibration fusion = saved_fusion_or_plain(*lease, damaged);
  std::lock_guard lock(vectors_mutex_);
  vectors_ = std::move(state.index);
  fusion_ = fusion;
  return true;
}

bool SearchEngine::reopen(const FileIdentity& identity, std::string* event) {
  if (reported_ == identity) return false;  // this file was refused before
  try {
    auto store = std::make_unique<ChunkStore>(location_.database(), false, sql::Database::Mode::ReadOnly);
    const IndexSettings settings = store->settings();
    // The loaded model and the settings callers read stay as they are, so the new index must match them.
    if (settings.model_id != settings_.model_id || settings.dimension != settings_.dimension ||
        settings.tokenizer_fingerprint != settings_.tokenizer_fingerprint)
      fail("it was built with model '", settings.model_id, "', this server serves '", settings_.model_id,
           "' (restart ksearch serve)");
    std::shared_ptr<const VectorIndex> vectors;
    if (embedder_) vectors = load_vectors(*store, location_, settings_.dimension).index;
    {
      std::lock_guard lock(pool_mutex_);
      pool_.clear();
      ++pool_epoch_;
      pool_.push_back(std::move(store));
    }
    {
      std::lock_guard lock(vectors_mutex_);
      vectors_ = std::move(vectors);
    }
    identity_ = identity;
    reported_.reset();
    if (event != nullptr) *event = cat("index ", location_.dir.string(), " was replaced; serving the new one");
    return true;
  } catch (const Error& e) {
    reported_ = identity;
    if (event != nullptr)
      *event = cat("index ", location_.dir.string(), " was replaced, but the new one cannot be served: ", e.what());
    return false;
  }
}

bool SearchEngine::interrupted(const SearchOptions& options) {
  return (options.cancelled != nullptr && options.cancelled->load(std::memory_order_relaxed)) ||
         std::chrono::steady_clock::now() > options.deadline;
}

void SearchEngine::check_budget(const SearchOptions& options) {
  if (options.cancelled != nullptr && options.cancelled->load(std::memory_order_relaxed))
    throw SearchInterrupted("search cancelled by its caller (the client went away)");
  if (std::chrono::steady_clock::now() > options.deadline) throw SearchInterrupted("search ran past its deadline");
}

FusionCalibration SearchEngine::fusion() const {
  std::lock_guard lock(vectors_mutex_);
  return fusion_;
}

std::vector<FusedHit> SearchEngine::fuse(std::span<const std::vector<std::int64_t>> lists,
                                         const SearchOptions& options) const {
  const FusionWeights weights = options.calibrated_fusion ? fusion().weights : FusionWeights{};
  const double list_weights[] = {weights.dense, weights.lexical};
  return reciprocal_rank_fusion(lists, options.rrf_k, list_weights);
}

const CrossEncoder* SearchEngine::reranker() const {
  std::lock_guard lock(reranker_mutex_);
  if (!reranker_)
    reranker_ = std::make_shared<const CrossEncoder>(
        Model::load(options_.rerank_model.value_or(std::string(kDefaultRerankModel)), options_.precision));
  return reranker_.get();
}

std::vector<float> SearchEngine::rerank_scores(std::string_view query, const std::vector<std::string>& passages) const {
  return reranker()->score(query, passages);
}

bool SearchEngine::accepts(const ChunkRecord& chunk, const SearchOptions& options) const {
  if (!options.extensions.empty()) {
    const auto dot = chunk.path.rfind('.');
    std::string extension = dot == std::string::npos ? "" : chunk.path.substr(dot + 1);
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool listed = std::any_of(options.extensions.begin(), options.extensions.end(), [&](std::string wanted) {
      if (wanted.starts_with(".")) wanted.erase(0, 1);
      std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return wanted == extension;
    });
    if (!listed) return false;
  }
  if (!options.path_glob.empty()) {
    IgnoreRules rules;
    rules.add(options.path_glob);
    bool matched = rules.decide(chunk.path, false) > 0;
    for (std::size_t slash = chunk.path.find('/'); !matched && slash != std::string::npos;
         slash = chunk.path.find('/', slash + 1))
      matched = rules.decide(chunk.path.substr(0, slash), true) > 0;
    if (!matched) return false;
  }
  return true;
}

std::vector<SearchHit> SearchEngine::collect(const std::function<std::vector<ScoredId>(std::size_t)>& retrieve,
                                             std::size_t depth, bool dense_scores, const SearchOptions& options) const {
  auto lease = store();
  std::size_t fetch = filtered(options) ? depth * 4 : depth + 8;
  std::vector<SearchHit> hits;
  while (true) {
    check_budget(options);
    const auto found = retrieve(fetch);
    std::vector<std::int64_t> ids;
    for (const auto& hit : found) ids.push_back(hit.id);
    std::unordered_map<std::int64_t, ChunkRecord> chunks;
    for (auto& chunk : lease->chunks(ids)) chunks.emplace(chunk.id, std::move(chunk));
    hits.clear();
    for (const auto& hit : found) {
      auto it = chunks.find(hit.id);
      if (it == chunks.end() || !accepts(it->second, options)) continue;  // removed since, or filtered out
      SearchHit out;
      out.chunk = std::move(it->second);
      out.score = hit.score;
      (dense_scores ? out.dense : out.lexical) = hit.score;
      hits.push_back(std::move(out));
      if (hits.size() == depth) break;
    }
    // Done when enough passed the filters, or when the retriever has nothing more to give.
    if (hits.size() >= depth || found.size() < fetch) break;
    fetch *= 4;
  }
  return hits;
}

std::vector<float> SearchEngine::query_vector(std::string_view query, const SearchOptions& options,
                                              const VectorIndex& index) const {
  std::vector<float> vector = options.query_embedding;
  if (vector.empty()) vector = embedder_->embed(std::vector<std::string>{std::string(query)}, TextKind::Query).values;
  if (vector.size() != static_cast<std::size_t>(index.dimension()))
    fail("query embedding has ", vector.size(), " dimensions, the index ", index.dimension());
  return vector;
}

std::vector<SearchEngine::ScoredId> SearchEngine::nearest(const VectorIndex& index, const std::vector<float>& vector,
                                                          std::size_t count) {
  std::vector<ScoredId> found;
  for (const auto& hit : index.search(vector, count)) found.push_back({hit.id, hit.score});
  return found;
}

std::vector<SearchEngine::ScoredId> SearchEngine::keyword_matches(const ChunkStore& store, const LexicalQuery& query,
                                                                  std::size_t count, const SearchOptions& options) {
  std::function<bool()> stop;
  if (options.cancelled != nullptr || options.deadline != std::chrono::steady_clock::time_point::max())
    stop = [&options] { return interrupted(options); };
  std::vector<LexicalHit> hits;
  try {
    hits = store.lexical_search(query, count, stop);
  } catch (const Error&) {
    check_budget(options);  // an interruption is reported as such
    throw;
  }
  std::vector<ScoredId> found;
  for (const auto& hit : hits) found.push_back({hit.chunk_id, hit.score});
  return found;
}

std::vector<SearchHit> SearchEngine::dense(std::string_view query, std::size_t depth,
                                           const SearchOptions& options) const {
  const auto index = vectors();
  if (!index || !embedder_) return {};
  const std::vector<float> vector = query_vector(query, options, *index);
  return collect([&](std::size_t fetch) { return nearest(*index, vector, fetch); }, depth, true, options);
}

std::vector<SearchHit> SearchEngine::lexical(std::string_view query, std::size_t depth,
                                             const SearchOptions& options) const {
  const LexicalQuery terms = lexical_query(query);
  if (terms.expression.empty()) return {};
  auto lease = store();
  return collect([&](std::size_t fetch) { return keyword_matches(*lease, terms, fetch, options); }, depth, false,
                 options);
}

bool SearchEngine::filtered(const SearchOptions& options) {
  return !options.extensions.empty() || !options.path_glob.empty();
}

std::vector<SearchHit> SearchEngine::fused(std::string_view query, std::size_t depth, std::size_t wanted,
                                           const SearchOptions& options) const {
  // Without filters fusion needs only ids, so just the fused top `wanted` chunks are read from SQLite.
  std::vector<ScoredId> ranked[2];  // dense, lexical
  if (const auto index = vectors()) ranked[0] = nearest(*index, query_vector(query, options, *index), depth);
  check_budget(options);
  auto lease = store();
  if (const LexicalQuery terms = lexical_query(query); !terms.expression.empty())
    ranked[1] = keyword_matches(*lease, terms, depth, options);
  std::vector<std::vector<std::int64_t>> lists(2);
  std::unordered_map<std::int64_t, std::pair<double, std::size_t>> scores[2];  // id -> score, rank
  for (std::size_t list = 0; list < 2; ++list) {
    for (const ScoredId& hit : ranked[list]) {
      lists[list].push_back(hit.id);
      scores[list].emplace(hit.id, std::pair(hit.score, lists[list].size()));
    }
  }
  const std::vector<FusedHit> ranking = fuse(lists, options);
  std::vector<SearchHit> hits;
  for (std::size_t begin = 0; begin < ranking.size() && hits.size() < wanted;) {
    // Chunks removed since the vector snapshot are skipped, so read a few more than still needed.
    const std::size_t end = std::min(ranking.size(), begin + (wanted - hits.size()) + 8);
    std::vector<std::int64_t> ids;
    for (std::size_t i = begin; i < end; ++i) ids.push_back(ranking[i].id);
    std::unordered_map<std::int64_t, ChunkRecord> chunks;
    for (auto& chunk : lease->chunks(ids)) chunks.emplace(chunk.id, std::move(chunk));
    for (std::size_t i = begin; i < end && hits.size() < wanted; ++i) {
      const auto chunk = chunks.find(ranking[i].id);
      if (chunk == chunks.end()) continue;
      SearchHit hit;
      hit.chunk = std::move(chunk->second);
      hit.score = ranking[i].score;
      if (const auto it = scores[0].find(hit.chunk.id); it != scores[0].end())
        std::tie(hit.dense, hit.dense_rank) = it->second;
      if (const auto it = scores[1].find(hit.chunk.id); it != scores[1].end())
        std::tie(hit.lexical, hit.lexical_rank) = it->second;
      hits.push_back(std::move(hit));
    }
    begin = end;
  }
  return hits;
}

std::vector<SearchHit> SearchEngine::fused_filtered(std::string_view query, std::size_t depth, std::size_t wanted,
                                                    const SearchOptions& options) const {
  // Each list is filtered before fusion, so ranks count only the chunks that pass.
  auto dense_hits = dense(query, depth, options);
  auto lexical_hits = lexical(query, depth, options);
  std::vector<std::vector<std::int64_t>> lists(2);
  std::unordered_map<std::int64_t, SearchHit> by_id;
  for (auto& hit : dense_hits) {
    lists[0].push_back(hit.chunk.id);
    hit.dense_rank = lists[0].size();
    by_id.emplace(hit.chunk.id, std::move(hit));
  }
  for (auto& hit : lexical_hits) {
    lists[1].push_back(hit.chunk.id);
    hit.lexical_rank = lists[1].size();
    auto [it, inserted] = by_id.try_emplace(hit.chunk.id, hit);
    if (!inserted) it->second.lexical = hit.lexical, it->second.lexical_rank = hit.lexical_rank;
  }
  std::vector<SearchHit> hits;
  for (const FusedHit& item : fuse(lists, options)) {
    SearchHit hit = std::move(by_id.at(item.id));
    hit.score = item.score;
    hits.push_back(std::move(hit));
    if (hits.size() == wanted) break;
  }
  return hits;
}

SearchResponse SearchEngine::search(std::string_view query, const SearchOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  if (query.size() > kMaxQueryBytes)
    throw QueryTooLarge(cat("query of ", query.size(), " bytes is over the limit of ", kMaxQueryBytes, " bytes"));
  std::set<std::string> terms;
  for (auto& token : lexical_tokens(query))
    if (terms.insert(std::move(token.text)).second && terms.size() > kMaxQueryTerms)
      throw QueryTooLarge(cat("query has over ", kMaxQueryTerms, " distinct terms (words and Hangul syllable pairs)"));
  check_budget(options);
  SearchResponse response;
  response.notice = notice_;
  SearchMode mode = options.mode;
  if (mode == SearchMode::Auto) mode = embedder_ ? SearchMode::Hybrid : SearchMode::Lexical;
  if ((mode == SearchMode::Dense || mode == SearchMode::Hybrid) && !embedder_) {
    if (settings_.model_id.empty())
      fail("this index has no embedding model (lexical only); use --mode lexical, or re-index with a model: ",
           "ksearch index --rebuild --model ", kDefaultEmbeddingModel);
    if (options.mode != SearchMode::Auto) fail(notice_.empty() ? std::string("no embedding model loaded") : notice_);
    mode = SearchMode::Lexical;
  }
  response.mode = mode;
  const std::size_t k = std::max<std::size_t>(options.k, 1);
  const std::size_t wanted = options.rerank ? std::max(k, options.rerank_top) : k;
  const std::size_t depth = options.candidates > 0 ? options.candidates : std::max<std::size_t>(50, 4 * wanted);

  std::vector<SearchHit> hits;
  if (mode == SearchMode::Dense) {
    hits = dense(query, wanted, options);
    response.score_kind = "cosine";
  } else if (mode == SearchMode::Lexical) {
    hits = lexical(query, wanted, options);
    response.score_kind = "bm25";
  } else {
    hits = filtered(options) ? fused_filtered(query, depth, wanted, options) : fused(query, depth, wanted, options);
    response.score_kind = "rrf";
  }

  if (options.rerank && !hits.empty()) {
    check_budget(options);
    if (hits.size() > options.rerank_top) hits.resize(options.rerank_top);
    std::vector<std::string> passages;
    for (const auto& hit : hits) passages.push_back(hit.chunk.text);
    const auto logits = rerank_scores(query, passages);
    for (std::size_t i = 0; i < hits.size(); ++i) {
      hits[i].rerank = logits[i];
      hits[i].score = sigmoid(logits[i]);
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const SearchHit& a, const SearchHit& b) { return *a.rerank > *b.rerank; });
    response.score_kind = "rerank";
  }
  if (hits.size() > k) hits.resize(k);
  for (std::size_t i = 0; i < hits.size(); ++i) hits[i].rank = i + 1;
  response.results = std::move(hits);
  response.took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return response;
}

}  // namespace ksearch
