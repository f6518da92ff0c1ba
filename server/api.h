// The HTTP API of `ksearch serve`, independent of the transport (server/http_server.h), so handlers are tested and
// fuzzed as plain functions.  docs/http-api.md describes every route.
//
// Routes (shapes match the services whose clients should work unchanged):
//   POST /v1/embeddings, /embeddings   OpenAI embeddings          errors: {"error": {"message","type","param","code"}}
//   GET  /v1/models, /v1/models/{id}   OpenAI model list
//   POST /embed, /rerank, /tokenize    Hugging Face TEI           errors: {"error", "error_type"}
//   POST /predict                      TEI sequence classification, by the reranker (pairs only)
//   POST /similarity                   TEI sentence similarity
//   POST /                             TEI: /similarity for {"inputs": {...}}, else /embed (/rerank: reranker only)
//   GET  /info                         TEI model info
//   POST /v1/rerank                    Jina / Cohere v1 rerank    errors: OpenAI shape
//   POST /v2/rerank                    Cohere v2 rerank           errors: OpenAI shape
//   POST /v1/search                    ksearch retrieval          errors: OpenAI shape
//   GET  /v1/index, POST /v1/context   what the index can do; lines of an indexed file around a result
//   GET  /, /page/*                    the search page (server/search_page.h), on a server with an index
//   GET  /health, /metrics             no authentication
// HEAD is answered on every GET route, OPTIONS on every route (CORS preflight where origins are allowed).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/version.h"
#include "embed/embedder.h"
#include "search/searcher.h"
#include "server/metrics.h"
#include "server/model_worker.h"

namespace ksearch {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // Set by the transport once the client has closed its connection while this request is handled, so a long
  // handler may stop early; null where no connection exists (tests, fuzzing).
  std::shared_ptr<const std::atomic<bool>> client_disconnected = nullptr;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};  // extra headers, e.g. Retry-After
};

struct ApiLimits {
  std::size_t max_body_bytes = 8 << 20;                // larger bodies: 413
  std::size_t max_search_body_bytes = 64 << 10;        // /v1/search: a query is at most kMaxQueryBytes
  double search_seconds = 10;                          // a /v1/search running longer is stopped: 503
  std::size_t max_inputs = 2048;                       // texts per embedding request / documents per rerank: 413
  std::size_t max_queue = 512;                         // model jobs waiting: 429 beyond
  std::size_t max_batch_tokens = kDefaultBatchTokens;  // one merged forward pass
  std::size_t max_top_k = 1000;
};

struct ApiConfig {
  std::string api_key;  // empty: no authentication
  ApiLimits limits;
  // Names the embedding model answers to besides its id; the first is the id reported.  A request naming another
  // model gets 404 model_not_found.
  std::vector<std::string> served_model_names;
  std::vector<std::string> cors_origins;  // origins browsers may call from; "*" any
  // Bound to loopback without a key: answer only requests addressed to a local name, so a web page that rebinds its
  // own domain to 127.0.0.1 (DNS rebinding) cannot read the index through the user's browser.
  bool local_host_names_only = false;

  std::string version = kVersion;
};

class Api {
 public:
  // Any of engine / embedder / reranker may be null; their routes then answer 503 saying what is missing.
  Api(ApiConfig config, std::shared_ptr<SearchEngine> engine, std::shared_ptr<const Embedder> embedder,
      std::shared_ptr<const CrossEncoder> reranker, std::string unavailable_reranker = {});
  ~Api();

  // Never throws: every failure becomes a 4xx/5xx response with a message.
  HttpResponse handle(const HttpRequest& request) const;
  // True for requests answered from memory in microseconds (GET/HEAD /health, OPTIONS), which the transport answers
  // on its event loop, so health checks pass even while every request thread is busy.
  static bool answers_at_once(const HttpRequest& request);

  // CORS headers for an answer the transport gives before a request reaches the API (400, 408, 413, 431, 503), so a
  // browser app on an allowed origin sees the error.  `origin` is the request's Origin where its head was read,
  // empty where nothing was (a refused connection): then only `*` or a single allowed origin can be named.
  void add_transport_cors_headers(std::string_view origin, HttpResponse& response) const;

  ModelWorker& worker() const { return *worker_; }
  Metrics& metrics() const { return *metrics_; }
  const ApiConfig& config() const { return config_; }

 private:
  struct Route;
  HttpResponse respond(const HttpRequest& request) const;
  HttpResponse route(const HttpRequest& request) const;
  HttpResponse openai_embeddings(const HttpRequest& request) const;
  HttpResponse tei_embed(const HttpRequest& request) const;
  HttpResponse tei_embed_sparse(const HttpRequest& request) const;
  HttpResponse tei_root(const HttpRequest& request) const;
  HttpResponse tei_similarity(const HttpRequest& request) const;
  HttpResponse tei_rerank(const HttpRequest& request) const;
  HttpResponse tei_predict(const HttpRequest& request) const;
  HttpResponse tei_tokenize(const HttpRequest& request) const;
  HttpResponse tei_info() const;
  HttpResponse jina_rerank(const HttpRequest& request) const;
  HttpResponse cohere_rerank(const HttpRequest& request) const;
  HttpResponse rerank_documents(const HttpRequest& request, int cohere_version) const;
  HttpResponse openai_models(const HttpRequest& request) const;
  HttpResponse prometheus_metrics() const;
  void add_cors_headers(const HttpRequest& request, HttpResponse& response) const;
  void check_embedding_model(const Json& body) const;
  void check_reranker_model(const Json& body) const;
  std::string embedding_model_name() const;
  HttpResponse search(const HttpRequest& request) const;
  HttpResponse index_info() const;
  HttpResponse context(const HttpRequest& request) const;

  const SearchEngine& require_engine() const;
  const Embedder& require_embedder() const;
  const CrossEncoder& require_reranker() const;
  std::vector<float> rerank_logits(const std::string& query, const std::vector<std::string>& texts,
                                   bool truncate) const;
  bool authorized(const HttpRequest& request) const;

  ApiConfig config_;
  std::shared_ptr<SearchEngine> engine_;
  std::shared_ptr<const Embedder> embedder_;
  std::shared_ptr<const CrossEncoder> reranker_;
  std::string unavailable_reranker_;
  std::unique_ptr<Metrics> metrics_;  // before worker_, which records into it
  std::unique_ptr<ModelWorker> worker_;
  long long started_ = 0;  // Unix seconds, the "created" of /v1/models
};

}  // namespace ksearch
