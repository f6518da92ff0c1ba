// The HTTP API of `ksearch serve`, independent of the transport (server/http_server.h adapts cpp-httplib), so
// handlers are tested and fuzzed as plain functions.
//
// Routes (shapes match the services whose clients should work unchanged):
//   POST /v1/embeddings, /embeddings   OpenAI embeddings          errors: {"error": {"message","type","param","code"}}
//   POST /embed, /rerank, /tokenize    Hugging Face TEI           errors: {"error", "error_type"}
//   GET  /info                         TEI model info
//   POST /v1/rerank                    Jina / Cohere rerank       errors: OpenAI shape
//   POST /v1/search                    ksearch retrieval          errors: OpenAI shape
//   GET  /health                       no authentication
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "base/version.h"
#include "embed/embedder.h"
#include "search/searcher.h"
#include "server/model_worker.h"

namespace ksearch {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  const std::atomic<bool>* cancelled = nullptr;  // set by the transport when the client hung up (stops /v1/search)
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

struct ApiLimits {
  std::size_t max_body_bytes = 8 << 20;      // larger bodies: 413
  std::size_t max_search_body_bytes = 64 << 10;  // /v1/search: a query is at most kMaxQueryBytes
  double search_seconds = 10;                // a /v1/search running longer is stopped: 503
  std::size_t max_inputs = 512;              // texts per embedding request / documents per rerank: 413
  std::size_t max_queue = 512;               // model jobs waiting: 429 beyond
  std::size_t max_batch_tokens = kDefaultBatchTokens;  // one merged forward pass
  std::size_t max_top_k = 1000;
};

struct ApiConfig {
  std::string api_key;  // empty: no authentication
  ApiLimits limits;
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

  ModelWorker& worker() const { return *worker_; }
  const ApiConfig& config() const { return config_; }

 private:
  struct Route;
  HttpResponse route(const HttpRequest& request) const;
  HttpResponse openai_embeddings(const HttpRequest& request) const;
  HttpResponse tei_embed(const HttpRequest& request) const;
  HttpResponse tei_embed_sparse(const HttpRequest& request) const;
  HttpResponse tei_rerank(const HttpRequest& request) const;
  HttpResponse tei_tokenize(const HttpRequest& request) const;
  HttpResponse tei_info() const;
  HttpResponse jina_rerank(const HttpRequest& request) const;
  HttpResponse search(const HttpRequest& request) const;

  const Embedder& require_embedder() const;
  const CrossEncoder& require_reranker() const;
  std::vector<float> rerank_logits(const std::string& query, const std::vector<std::string>& texts, bool truncate) const;
  bool authorized(const HttpRequest& request) const;

  ApiConfig config_;
  std::shared_ptr<SearchEngine> engine_;
  std::shared_ptr<const Embedder> embedder_;
  std::shared_ptr<const CrossEncoder> reranker_;
  std::string unavailable_reranker_;
  std::unique_ptr<ModelWorker> worker_;
};

}  // namespace ksearch
