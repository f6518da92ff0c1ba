// The HTTP API handlers as plain functions: every route, its response shape, and its errors.
#include "server/api.h"
#include "server/http_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "search/indexer.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder = std::make_unique<testing::TempDir>();
    testing::write_text(*folder / "docs" / "seoul.md", "# 서울\n\n서울특별시는 대한민국의 수도이다.\n");
    testing::write_text(*folder / "docs" / "busan.txt", "부산은 항구 도시이다.\n");
    IndexOptions options;
    options.folders = {*folder / "docs"};
    options.model = testing::fixture("tiny-e5-bert").string();
    run_index(options);
    embedder = std::make_shared<const Embedder>(Model::load_dir(testing::fixture("tiny-e5-bert"), "tiny-e5"));
    reranker = std::make_shared<const CrossEncoder>(
        Model::load_dir(testing::test_data("models/tiny-reranker"), "tiny-reranker"));
    EngineOptions engine_options;
    engine_options.reranker = reranker;
    engine = SearchEngine::open(IndexLocation::for_folder(*folder / "docs"), engine_options);
  }
  static void TearDownTestSuite() {
    engine.reset();
    folder.reset();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& body,
                    const ApiConfig& config = {}) {
    const Api api(config, engine, embedder, reranker);
    return api.handle({method, path, {{"authorization", "Bearer key"}}, body});
  }
  Json ok(const std::string& path, const Json& body) {
    const HttpResponse response = call("POST", path, body.dump());
    EXPECT_EQ(response.status, 200) << path << ": " << response.body;
    return Json::parse(response.body);
  }
  // Status and the error message, from either error shape.
  std::pair<int, std::string> error(const std::string& path, const std::string& body, const ApiConfig& config = {}) {
    const HttpResponse response = call("POST", path, body, config);
    const Json json = Json::parse(response.body);
    const std::string message =
        json["error"].is_object() ? json["error"]["message"].get<std::string>() : json["error"].get<std::string>();
    return {response.status, message};
  }

  static inline std::unique_ptr<testing::TempDir> folder;
  static inline std::shared_ptr<const Embedder> embedder;
  static inline std::shared_ptr<const CrossEncoder> reranker;
  static inline std::shared_ptr<SearchEngine> engine;
};

std::vector<float> decode_base64_floats(const std::string& text) {
  std::string bytes;
  int value = 0, bits = -8;
  for (char c : text) {
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* at = std::strchr(alphabet, c);
    if (c == '=' || at == nullptr) break;
    value = (value << 6) + static_cast<int>(at - alphabet);
    bits += 6;
    if (bits >= 0) {
      bytes.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TEST_F(ApiTest, OpenAiEmbeddings) {
  Json response = ok("/v1/embeddings", {{"input", {"서울", "부산"}}, {"model", "tiny-e5"}});
  EXPECT_EQ(response["object"], "list");
  EXPECT_EQ(response["model"], "tiny-e5");
  ASSERT_EQ(response["data"].size(), 2u);
  EXPECT_EQ(response["data"][1]["object"], "embedding");
  EXPECT_EQ(response["data"][1]["index"], 1);
  const auto first = response["data"][0]["embedding"].get<std::vector<float>>();
  EXPECT_EQ(first.size(), 64u);
  EXPECT_GT(response["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(response["usage"]["prompt_tokens"], response["usage"]["total_tokens"]);
  // Same as the library's embedding of the text.
  const auto direct = embedder->embed(std::vector<std::string>{"서울"}, TextKind::Raw);
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_NEAR(first[i], direct.row(0)[i], 1e-6);

  // base64 = little-endian float32, as the openai SDK requests by default.
  // The same batch, so the same floats bit for bit (a batch of another size may differ in the last bits on CPUs
  // whose kernels block rows differently).
  response = ok("/embeddings", {{"input", {"서울", "부산"}}, {"encoding_format", "base64"}});
  const auto decoded = decode_base64_floats(response["data"][0]["embedding"].get<std::string>());
  ASSERT_EQ(decoded.size(), 64u);
  for (std::size_t i = 0; i < decoded.size(); ++i) EXPECT_EQ(decoded[i], first[i]);

  // dimensions: truncated and renormalised.
  response = ok("/v1/embeddings", {{"input", "서울"}, {"dimensions", 8}});
  const auto short_vector = response["data"][0]["embedding"].get<std::vector<float>>();
  ASSERT_EQ(short_vector.size(), 8u);
  double norm = 0;
  for (float v : short_vector) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST_F(ApiTest, OpenAiErrors) {
  EXPECT_EQ(error("/v1/embeddings", R"({"input": [[1, 2, 3]]})").first, 400);
  EXPECT_NE(error("/v1/embeddings", R"({"input": [1, 2, 3]})").second.find("check_embedding_ctx_length=False"),
            std::string::npos);
  EXPECT_EQ(error("/v1/embeddings", R"({"input": []})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", R"({"input": [""]})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", R"({"input": 5})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", R"({"inputs": "x"})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", R"({"input": "x", "dimensions": 65})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", R"({"input": "x", "encoding_format": "int8"})").first, 400);
  EXPECT_EQ(error("/v1/embeddings", "{not json").first, 400);
  EXPECT_EQ(error("/v1/embeddings", "[1]").first, 400);
  EXPECT_EQ(error("/v1/embeddings", "").first, 400);
  EXPECT_EQ(error("/v1/embeddings", "{\"input\": \"\xFF\xFE\"}").first, 400);
  std::string deep(100000, '[');
  EXPECT_EQ(error("/v1/embeddings", deep).first, 400);
  const HttpResponse shaped = call("POST", "/v1/embeddings", R"({"input": []})");
  const Json json = Json::parse(shaped.body);
  EXPECT_TRUE(json["error"].contains("message"));
  EXPECT_EQ(json["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(json["error"].contains("code"));
}

TEST_F(ApiTest, LimitsGive413And429) {
  ApiConfig config;
  config.limits.max_inputs = 2;
  EXPECT_EQ(error("/v1/embeddings", R"({"input": ["a", "b", "c"]})", config).first, 413);
  config.limits.max_body_bytes = 16;
  EXPECT_EQ(error("/v1/embeddings", R"({"input": "a long enough body"})", config).first, 413);
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "서울 부산 ";
  const auto [status, message] = error("/embed", Json{{"inputs", long_text}}.dump());
  EXPECT_EQ(status, 413);
  EXPECT_NE(message.find("truncate"), std::string::npos);
  EXPECT_EQ(ok("/embed", {{"inputs", long_text}, {"truncate", true}}).size(), 1u);

  // A full queue answers 429 (overloaded) rather than waiting without bound.
  ModelWorker worker(16, 0);
  EXPECT_THROW(worker.run([] {}), Overloaded);
}

TEST_F(ApiTest, TeiRoutes) {
  Json vectors = ok("/embed", {{"inputs", "서울"}});
  ASSERT_TRUE(vectors.is_array());
  ASSERT_EQ(vectors.size(), 1u);
  EXPECT_EQ(vectors[0].size(), 64u);
  const Json raw = ok("/embed", {{"inputs", {"서울"}}, {"normalize", false}});
  double norm = 0;
  for (float v : raw[0].get<std::vector<float>>()) norm += v * v;
  EXPECT_GT(std::abs(norm - 1.0), 1e-3);  // the unnormalised mean-pooled vector
  EXPECT_EQ(error("/embed", R"({"inputs": "x", "prompt_name": "bogus"})").first, 422);
  EXPECT_EQ(error("/embed", R"({"inputs": "x", "normalize": "yes"})").first, 422);

  const Json ranked =
      ok("/rerank", {{"query", "대한민국의 수도"}, {"texts", {"부산은 항구", "서울은 수도"}}, {"return_text", true}});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_GE(ranked[0]["score"].get<double>(), ranked[1]["score"].get<double>());
  EXPECT_TRUE(ranked[0].contains("text"));
  const auto logits = reranker->score("대한민국의 수도", std::vector<std::string>{"부산은 항구", "서울은 수도"});
  const Json raw_scores =
      ok("/rerank", {{"query", "대한민국의 수도"}, {"texts", {"부산은 항구", "서울은 수도"}}, {"raw_scores", true}});
  for (const auto& item : raw_scores)
    EXPECT_NEAR(item["score"].get<double>(), logits[item["index"].get<std::size_t>()], 1e-5);
  for (const auto& item : ranked)
    EXPECT_NEAR(item["score"].get<double>(), sigmoid(logits[item["index"].get<std::size_t>()]), 1e-5);
  EXPECT_EQ(error("/rerank", R"({"query": "", "texts": ["a"]})").first, 422);

  const Json tokens = ok("/tokenize", {{"inputs", "서울"}});
  EXPECT_EQ(tokens[0][0]["id"], 0);
  EXPECT_EQ(tokens[0][0]["special"], true);
  EXPECT_EQ(tokens[0].back()["id"], 2);

  const HttpResponse info = call("GET", "/info", "");
  ASSERT_EQ(info.status, 200);
  const Json details = Json::parse(info.body);
  EXPECT_EQ(details["model_id"], "tiny-e5");
  EXPECT_EQ(details["model_type"]["embedding"]["pooling"], "mean");
  EXPECT_EQ(details["max_input_length"], 512);
  EXPECT_TRUE(details.contains("max_batch_tokens"));
  EXPECT_EQ(Json::parse(call("POST", "/embed", R"({"inputs": []})").body)["error_type"], "validation");
}

// TEI's /embed_sparse: BGE-M3's lexical weights as [[{"index": token id, "value": weight}, ...], ...].
TEST_F(ApiTest, TeiEmbedSparse) {
  const HttpResponse no_head = call("POST", "/embed_sparse", R"({"inputs": "서울"})");
  EXPECT_EQ(no_head.status, 400);
  const Json error = Json::parse(no_head.body);
  EXPECT_EQ(error["error_type"], "validation");
  EXPECT_NE(error["error"].get<std::string>().find("sparse_linear.pt"), std::string::npos) << no_head.body;

  const auto dir = testing::test_data("models/bge-m3-f16-bin");
  const auto bge = std::make_shared<const Embedder>(Model::load_dir(dir, "bge-m3-f16"));
  const Api api({}, engine, bge, reranker);
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  const Json body = {{"inputs", {expected[0]["text"], expected[1]["text"]}}};
  const HttpResponse response = api.handle({"POST", "/embed_sparse", {}, body.dump()});
  ASSERT_EQ(response.status, 200) << response.body;
  const Json weights = Json::parse(response.body);
  ASSERT_EQ(weights.size(), 2u);
  for (std::size_t t = 0; t < 2; ++t) {
    ASSERT_EQ(weights[t].size(), expected[t]["lexical_weights"].size());
    for (const Json& item : weights[t]) {
      const std::string id = std::to_string(item["index"].get<int>());
      ASSERT_TRUE(expected[t]["lexical_weights"].contains(id)) << id;
      EXPECT_NEAR(item["value"].get<float>(), expected[t]["lexical_weights"][id].get<float>(), 1e-4);
    }
  }
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "서울 ";
  const HttpResponse too_long = api.handle({"POST", "/embed_sparse", {}, Json{{"inputs", long_text}}.dump()});
  EXPECT_EQ(too_long.status, 413) << too_long.body;
}

TEST_F(ApiTest, JinaCohereRerank) {
  const Json response = ok("/v1/rerank", {{"model", "tiny-reranker"},
                                          {"query", "대한민국의 수도"},
                                          {"documents", {"부산은 항구", Json{{"text", "서울은 수도"}}, "김치"}},
                                          {"top_n", 2},
                                          {"return_documents", true}});
  EXPECT_EQ(response["model"], "tiny-reranker");
  EXPECT_EQ(response["meta"]["api_version"]["version"], "1");
  EXPECT_FALSE(response["id"].get<std::string>().empty());
  ASSERT_EQ(response["results"].size(), 2u);
  EXPECT_TRUE(response["results"][0].contains("relevance_score"));
  EXPECT_TRUE(response["results"][0]["document"].contains("text"));
  EXPECT_GE(response["results"][0]["relevance_score"].get<double>(),
            response["results"][1]["relevance_score"].get<double>());
  EXPECT_GT(response["usage"]["total_tokens"].get<int>(), 0);
  EXPECT_EQ(error("/v1/rerank", R"({"query": "q", "documents": [1]})").first, 400);
  EXPECT_EQ(error("/v1/rerank", R"({"query": "q", "documents": ["a"], "top_n": 0})").first, 400);
  EXPECT_EQ(error("/v1/rerank", R"({"query": "", "documents": ["a"]})").first, 400);
  EXPECT_EQ(error("/v1/rerank", R"({"model": "jina-reranker-v2", "query": "q", "documents": ["a"]})").first, 404);

  // Cohere v2: the same ranking, version 2 in meta, no documents echoed.
  const Json v2 = ok("/v2/rerank", {{"model", "tiny-reranker"},
                                    {"query", "대한민국의 수도"},
                                    {"documents", {"부산은 항구", "서울은 수도", "김치"}},
                                    {"top_n", 2}});
  ASSERT_EQ(v2["results"].size(), 2u);
  EXPECT_EQ(v2["results"][0]["index"], response["results"][0]["index"]);
  EXPECT_NEAR(v2["results"][0]["relevance_score"].get<double>(),
              response["results"][0]["relevance_score"].get<double>(), 1e-6);
  EXPECT_FALSE(v2["results"][0].contains("document"));
  EXPECT_EQ(v2["meta"]["api_version"]["version"], "2");
}

TEST_F(ApiTest, OpenAiModelsAndModelNames) {
  const HttpResponse listed = call("GET", "/v1/models", "");
  ASSERT_EQ(listed.status, 200);
  const Json models = Json::parse(listed.body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 2u);
  EXPECT_EQ(models["data"][0]["id"], "tiny-e5");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][1]["id"], "tiny-reranker");
  EXPECT_EQ(Json::parse(call("GET", "/v1/models/tiny-e5", "").body)["id"], "tiny-e5");
  const HttpResponse missing = call("GET", "/v1/models/org/other-model", "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json::parse(missing.body)["error"]["code"], "model_not_found");

  // An unknown model is refused as OpenAI does, naming the served one; --served-model-name adds names.
  const HttpResponse wrong = call("POST", "/v1/embeddings", R"({"input": "x", "model": "text-embedding-3-small"})");
  EXPECT_EQ(wrong.status, 404);
  const Json refused = Json::parse(wrong.body);
  EXPECT_EQ(refused["error"]["code"], "model_not_found");
  EXPECT_EQ(refused["error"]["param"], "model");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("tiny-e5"), std::string::npos);
  ApiConfig aliased;
  aliased.served_model_names = {"e5-small", "text-embedding-3-small"};
  const HttpResponse alias =
      call("POST", "/v1/embeddings", R"({"input": "x", "model": "text-embedding-3-small"})", aliased);
  ASSERT_EQ(alias.status, 200) << alias.body;
  EXPECT_EQ(Json::parse(alias.body)["model"], "e5-small");
  EXPECT_EQ(Json::parse(call("GET", "/v1/models", "", aliased).body)["data"][0]["id"], "e5-small");
  EXPECT_EQ(call("POST", "/v1/embeddings", R"({"input": "x", "model": "tiny-e5"})", aliased).status, 200);

  // `param` names the field at fault.
  EXPECT_EQ(Json::parse(call("POST", "/v1/embeddings", R"({"input": []})").body)["error"]["param"], "input");
  EXPECT_EQ(Json::parse(call("POST", "/v1/embeddings", R"({"input": "x", "dimensions": 0})").body)["error"]["param"],
            "dimensions");
  EXPECT_EQ(ApiConfig{}.limits.max_inputs, 2048u);
}

TEST_F(ApiTest, TeiConformance) {
  // POST / is /embed (TEI's InferenceClient posts there), or /rerank on a reranker-only server.
  const Json root = ok("/", {{"inputs", "서울"}});
  EXPECT_EQ(root, ok("/embed", {{"inputs", "서울"}}));
  const Api reranker_only({}, nullptr, nullptr, reranker);
  const HttpResponse ranked =
      reranker_only.handle({"POST", "/", {}, R"({"query": "수도", "texts": ["서울", "부산"]})"});
  ASSERT_EQ(ranked.status, 200) << ranked.body;
  EXPECT_EQ(Json::parse(ranked.body).size(), 2u);

  // Sentence similarity on /similarity and on / (where InferenceClient posts it): cosine of normalised vectors.
  const Json similar = ok("/similarity", {{"inputs", {{"source_sentence", "서울"}, {"sentences", {"서울", "부산"}}}}});
  ASSERT_EQ(similar.size(), 2u);
  EXPECT_NEAR(similar[0].get<double>(), 1.0, 1e-5);
  EXPECT_LT(similar[1].get<double>(), 1.0);
  EXPECT_EQ(ok("/", {{"inputs", {{"source_sentence", "서울"}, {"sentences", {"서울", "부산"}}}}}), similar);
  EXPECT_EQ(error("/similarity", R"({"inputs": {"sentences": ["a"]}})").first, 422);
  EXPECT_EQ(error("/similarity", R"({"inputs": {"source_sentence": "a", "sentences": []}})").first, 400);

  // Errors on TEI paths have TEI's shape, 404 and 405 included; 405 says what is allowed.
  const HttpResponse not_found = call("POST", "/predict_nothing", "{}");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_TRUE(Json::parse(not_found.body)["error"].is_string());
  EXPECT_TRUE(Json::parse(call("POST", "/v1/nothing", "{}").body)["error"].is_object());
  const HttpResponse wrong_method = call("GET", "/embed", "");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_TRUE(Json::parse(wrong_method.body)["error"].is_string());
  bool allow = false;
  for (const auto& [name, value] : wrong_method.headers) allow |= name == "Allow" && value == "POST, OPTIONS";
  EXPECT_TRUE(allow);

  // dimensions on /embed: leading components, renormalised.
  const Json short_vectors = ok("/embed", {{"inputs", "서울"}, {"dimensions", 8}});
  ASSERT_EQ(short_vectors[0].size(), 8u);
  double norm = 0;
  for (float v : short_vectors[0].get<std::vector<float>>()) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  const HttpResponse too_wide = call("POST", "/embed", R"({"inputs": "x", "dimensions": 65})");
  EXPECT_EQ(too_wide.status, 400);
  EXPECT_TRUE(Json::parse(too_wide.body)["error"].is_string());
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers)
    if (key == name) return value;
  return "";
}

TEST_F(ApiTest, HttpConformance) {
  ApiConfig config;
  config.api_key = "key";
  config.cors_origins = {"https://app.example"};
  const Api api(config, engine, embedder, reranker);
  // The Authorization scheme is case-insensitive; a refusal says which scheme to use.
  EXPECT_EQ(api.handle({"GET", "/info", {{"authorization", "bearer key"}}, ""}).status, 200);
  EXPECT_EQ(api.handle({"GET", "/info", {{"authorization", "BEARER key"}}, ""}).status, 200);
  const HttpResponse denied = api.handle({"GET", "/info", {}, ""});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(header(denied, "WWW-Authenticate"), "Bearer");

  // HEAD on GET routes; the transport drops the body.
  EXPECT_EQ(api.handle({"HEAD", "/health", {}, ""}).status, 200);
  EXPECT_EQ(api.handle({"HEAD", "/v1/models", {{"authorization", "Bearer key"}}, ""}).status, 200);

  // CORS: a preflight needs no key and is answered; every response to an allowed origin carries the header.
  const HttpResponse preflight = api.handle({"OPTIONS",
                                             "/v1/embeddings",
                                             {{"origin", "https://app.example"},
                                              {"access-control-request-method", "POST"},
                                              {"access-control-request-headers", "authorization, content-type"}},
                                             ""});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(header(preflight, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(header(preflight, "Access-Control-Allow-Headers"), "authorization, content-type");
  EXPECT_NE(header(preflight, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
  const HttpResponse embedded = api.handle({"POST",
                                            "/v1/embeddings",
                                            {{"origin", "https://app.example"}, {"authorization", "Bearer key"}},
                                            R"({"input": "x"})"});
  EXPECT_EQ(embedded.status, 200);
  EXPECT_EQ(header(embedded, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(
      header(api.handle({"GET", "/health", {{"origin", "https://evil.example"}}, ""}), "Access-Control-Allow-Origin"),
      "");
  ApiConfig any;
  any.cors_origins = {"*"};
  EXPECT_EQ(header(Api(any, engine, embedder, reranker).handle({"GET", "/health", {{"origin", "https://x"}}, ""}),
                   "Access-Control-Allow-Origin"),
            "*");

  // Compressed bodies are refused with 415, not misread.
  EXPECT_EQ(
      api.handle({"POST", "/embed", {{"authorization", "Bearer key"}, {"content-encoding", "gzip"}}, ""}).status,
      415);

  // 429 and 503 say when to retry.
  ApiConfig no_queue;
  no_queue.limits.max_queue = 0;
  const HttpResponse busy =
      Api(no_queue, engine, embedder, reranker).handle({"POST", "/embed", {}, R"({"inputs": "x"})"});
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(header(busy, "Retry-After"), "1");
  const HttpResponse unavailable =
      Api({}, nullptr, nullptr, nullptr).handle({"POST", "/v1/search", {}, R"({"query": "x"})"});
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(header(unavailable, "Retry-After"), "1");
}

TEST_F(ApiTest, PrometheusMetrics) {
  const Api api({}, engine, embedder, reranker);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(api.handle({"POST", "/embed", {}, R"({"inputs": ["서울", "부산"]})"}).status, 200);
  EXPECT_EQ(api.handle({"GET", "/nowhere/else", {}, ""}).status, 404);
  const HttpResponse metrics = api.handle({"GET", "/metrics", {}, ""});
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char* expected :
       {"ksearch_http_requests_total{route=\"/embed\",method=\"POST\",status=\"200\"} 3\n",
        "ksearch_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n",
        "ksearch_http_request_duration_seconds_count{route=\"/embed\"} 3\n", "ksearch_model_batch_sequences_count 3\n",
        "ksearch_model_batch_sequences_sum 6\n", "ksearch_model_batch_tokens_bucket{le=\"+Inf\"} 3\n",
        "# TYPE ksearch_model_queue_depth gauge\nksearch_model_queue_depth 0\n", "ksearch_index_chunks 2\n",
        "ksearch_index_generation "})
    EXPECT_NE(metrics.body.find(expected), std::string::npos) << expected << "\n" << metrics.body;
}

TEST_F(ApiTest, Search) {
  Json response = ok("/v1/search", {{"query", "서울에서"}, {"top_k", 1}, {"mode", "lexical"}});
  ASSERT_EQ(response["results"].size(), 1u);
  const Json& hit = response["results"][0];
  EXPECT_EQ(hit["path"], "seoul.md");
  for (const char* key : {"rank", "score", "path", "chunk", "text", "start_line", "end_line", "page"})
    EXPECT_TRUE(hit.contains(key)) << key;
  EXPECT_TRUE(response.contains("took_ms"));
  response = ok("/v1/search", {{"query", "항구"}, {"filter", {{"ext", {"txt"}}, {"path_glob", "*.txt"}}}});
  EXPECT_EQ(response["results"][0]["path"], "busan.txt");
  EXPECT_EQ(response["mode"], "hybrid");
  response = ok("/v1/search", {{"query", "수도"}, {"rerank", true}, {"top_k", 2}});
  EXPECT_EQ(response["score"], "rerank");
  EXPECT_EQ(error("/v1/search", R"({"query": ""})").first, 400);
  EXPECT_EQ(error("/v1/search", R"({"query": "x", "top_k": 0})").first, 400);
  EXPECT_EQ(error("/v1/search", R"({"query": "x", "mode": "fuzzy"})").first, 400);
  EXPECT_EQ(error("/v1/search", R"({"query": "x", "filter": 3})").first, 400);
}

// TEI /predict: the reranker is the sequence classifier; its scores match /rerank's for the same pairs.
TEST_F(ApiTest, TeiPredictScoresPairsWithTheReranker) {
  const Json ranked = ok("/rerank", {{"query", "수도"}, {"texts", {"서울은 수도이다", "부산은 항구이다"}}});
  std::map<int, double> by_index;
  for (const Json& item : ranked) by_index[item["index"].get<int>()] = item["score"].get<double>();
  const Json single = ok("/predict", {{"inputs", {"수도", "서울은 수도이다"}}});
  ASSERT_TRUE(single.is_array() && single.size() == 1u) << single;
  EXPECT_EQ(single[0]["label"], "LABEL_0");
  EXPECT_NEAR(single[0]["score"].get<double>(), by_index[0], 1e-6);
  const Json batch =
      ok("/predict",
         {{"inputs", Json::array({Json::array({"수도", "서울은 수도이다"}), Json::array({"수도", "부산은 항구이다"}),
                                  Json::array({"항구", "부산은 항구이다"})})}});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_NEAR(batch[0][0]["score"].get<double>(), by_index[0], 1e-6);
  EXPECT_NEAR(batch[1][0]["score"].get<double>(), by_index[1], 1e-6);
  const Json raw = ok("/predict", {{"inputs", {"수도", "서울은 수도이다"}}, {"raw_scores", true}});
  EXPECT_NEAR(sigmoid(raw[0]["score"].get<float>()), by_index[0], 1e-6);
  // TEI's error shape and statuses; a lone text cannot be scored by a reranker.
  for (const char* body : {R"({"inputs": "서울"})", R"({"inputs": ["a", "b", "c"]})", R"({"inputs": [["a"]]})",
                           R"({"inputs": []})", R"({})", R"({"inputs": [["", "b"]]})"}) {
    const HttpResponse response = call("POST", "/predict", body);
    EXPECT_EQ(response.status, 422) << body;
    EXPECT_TRUE(Json::parse(response.body)["error"].is_string()) << body;
  }
  ApiConfig two;
  two.limits.max_inputs = 2;
  EXPECT_EQ(error("/predict", R"({"inputs": [["a", "b"], ["a", "c"], ["a", "d"]]})", two).first, 413);
  EXPECT_EQ(Api({}, engine, embedder, nullptr).handle({"POST", "/predict", {}, R"({"inputs": ["a", "b"]})"}).status,
            503);
}

TEST_F(ApiTest, SearchSnippetsMarkTheQueryTerms) {
  const Json response = ok("/v1/search", {{"query", "수도"}, {"mode", "lexical"}, {"snippets", true}});
  const Json& snippet = response["results"][0]["snippet"];
  std::string text, marked;
  for (const Json& piece : snippet) {
    text += piece["text"].get<std::string>();
    if (piece["mark"].get<bool>()) marked += piece["text"].get<std::string>();
  }
  EXPECT_EQ(text, "# 서울  서울특별시는 대한민국의 수도이다.");
  EXPECT_EQ(marked, "수도");
  EXPECT_FALSE(ok("/v1/search", {{"query", "수도"}})["results"][0].contains("snippet"));
}

// The search page: served from the binary at `/` only where there is an index, with headers that keep it to its
// own files; TEI's POST / keeps working beside it.
TEST_F(ApiTest, SearchPage) {
  ApiConfig config;
  config.api_key = "key";
  const Api api(config, engine, embedder, reranker);
  const HttpResponse page = api.handle({"GET", "/", {}, ""});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<html lang=\"ko\">"), std::string::npos);
  EXPECT_NE(page.body.find("name=\"viewport\""), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_EQ(header(page, "Content-Security-Policy").rfind("default-src 'self'", 0), 0u);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(api.handle({"HEAD", "/", {}, ""}).status, 200);
  const HttpResponse script = api.handle({"GET", "/page/app.js", {}, ""});
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body.find("innerHTML"), std::string::npos) << "document text is never parsed as HTML";
  EXPECT_EQ(api.handle({"GET", "/page/app.css", {}, ""}).content_type, "text/css; charset=utf-8");
  EXPECT_EQ(api.handle({"GET", "/page/missing.js", {}, ""}).status, 404);
  EXPECT_EQ(api.handle({"POST", "/", {{"authorization", "Bearer key"}}, R"({"inputs": "서울"})"}).status, 200);
  const HttpResponse wrong_method = api.handle({"DELETE", "/", {}, ""});
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(header(wrong_method, "Allow"), "GET, HEAD, POST, OPTIONS");

  // Without an index, `/` is TEI's route alone, as before.
  const Api embed_only({}, nullptr, embedder, reranker);
  EXPECT_EQ(embed_only.handle({"GET", "/", {}, ""}).status, 405);
  EXPECT_EQ(embed_only.handle({"GET", "/page/app.js", {}, ""}).status, 404);
  EXPECT_EQ(embed_only.handle({"POST", "/", {}, R"({"inputs": "서울"})"}).status, 200);
}

TEST_F(ApiTest, IndexInfoSaysWhatSearchesWork) {
  const HttpResponse response = call("GET", "/v1/index", "");
  ASSERT_EQ(response.status, 200) << response.body;
  const Json info = Json::parse(response.body);
  EXPECT_EQ(info["files"], 2);
  EXPECT_EQ(info["chunks"], 2);
  EXPECT_EQ(info["default_mode"], "hybrid");
  for (const char* mode : {"hybrid", "dense", "lexical"}) EXPECT_EQ(info["modes"][mode]["available"], true) << mode;
  EXPECT_EQ(info["rerank"]["available"], true);
  const Json bare = Json::parse(Api({}, engine, embedder, nullptr).handle({"GET", "/v1/index", {}, ""}).body);
  EXPECT_EQ(bare["rerank"]["available"], false);
  EXPECT_EQ(bare["rerank"]["reason"], "no_reranker");
  EXPECT_EQ(Api({}, nullptr, embedder, reranker).handle({"GET", "/v1/index", {}, ""}).status, 503);
}

TEST_F(ApiTest, ContextGivesTheLinesAroundAResult) {
  const Json excerpt = ok("/v1/context", {{"path", "seoul.md"}, {"start_line", 3}, {"end_line", 3}, {"context", 1}});
  EXPECT_EQ(excerpt["total_lines"], 3);
  ASSERT_EQ(excerpt["lines"].size(), 2u);
  EXPECT_EQ(excerpt["lines"][0], Json({{"number", 2}, {"page", nullptr}, {"text", ""}, {"hit", false}}));
  EXPECT_EQ(excerpt["lines"][1],
            Json({{"number", 3}, {"page", nullptr}, {"text", "서울특별시는 대한민국의 수도이다."}, {"hit", true}}));
  // Only files the index holds are read, whatever the path says.
  for (const char* path : {"../docs/seoul.md", "/etc/passwd", ".ksearch/index.db", "missing.md"})
    EXPECT_EQ(error("/v1/context", Json({{"path", path}, {"start_line", 1}}).dump()).first, 404) << path;
  EXPECT_EQ(error("/v1/context", R"({"path": "seoul.md", "start_line": 9})").first, 404);
  EXPECT_EQ(error("/v1/context", R"({"path": "seoul.md", "start_line": 3, "end_line": 1})").first, 400);
  EXPECT_EQ(error("/v1/context", R"({"path": "seoul.md", "start_line": -1})").first, 400);
  EXPECT_EQ(error("/v1/context", R"({"path": "seoul.md", "context": 100000})").first, 400);
  EXPECT_EQ(error("/v1/context", R"({"start_line": 1})").first, 400);
}

// Issue #35 finding 2: a search's body, query and time are bounded, and a client that hung up stops its search.
TEST_F(ApiTest, SearchBudgetGives413And503) {
  const std::string huge = Json{{"query", std::string(100 << 10, 'a')}}.dump();
  const auto [status, message] = error("/v1/search", huge);
  EXPECT_EQ(status, 413);
  EXPECT_NE(message.find("/v1/search"), std::string::npos) << message;
  EXPECT_EQ(error("/v1/search", Json{{"query", std::string(kMaxQueryBytes + 1, 'a')}}.dump()).first, 413);
  std::string many_terms;
  for (std::size_t i = 0; i <= kMaxQueryTerms; ++i) many_terms += "w" + std::to_string(i) + " ";
  EXPECT_EQ(error("/v1/search", Json{{"query", many_terms}, {"mode", "lexical"}}.dump()).first, 413);
  ApiConfig config;
  config.limits.search_seconds = 0;
  EXPECT_EQ(error("/v1/search", R"({"query": "서울", "mode": "lexical"})", config).first, 503);
  const Api api({}, engine, embedder, reranker);
  auto gone = std::make_shared<std::atomic<bool>>(true);
  HttpRequest request{"POST", "/v1/search", {}, R"({"query": "서울", "mode": "lexical"})"};
  request.client_disconnected = gone;
  EXPECT_EQ(api.handle(request).status, 503);
  *gone = false;
  EXPECT_EQ(api.handle(request).status, 200);
}

// Issue #35 finding 12: a bare CR inside a header value is refused, not passed on to the handlers.
TEST(HttpParser, BareCarriageReturnInAHeaderIs400) {
  HeadError error{};
  EXPECT_FALSE(parse_request_head("GET /health HTTP/1.1\r\nX-Note: a\rInjected: b", 1024, error).has_value());
  EXPECT_EQ(error.status, 400);
  EXPECT_TRUE(parse_request_head("GET /health HTTP/1.1\r\nX-Note: a b", 1024, error).has_value());
}

TEST_F(ApiTest, AuthenticationAndRouting) {
  ApiConfig config;
  config.api_key = "key";
  const Api api(config, engine, embedder, reranker);
  EXPECT_EQ(api.handle({"GET", "/health", {}, ""}).status, 200);
  EXPECT_EQ(api.handle({"GET", "/info", {}, ""}).status, 401);
  EXPECT_EQ(api.handle({"GET", "/info", {{"authorization", "Bearer nope"}}, ""}).status, 401);
  EXPECT_EQ(api.handle({"GET", "/info", {{"authorization", "key"}}, ""}).status, 401);
  EXPECT_EQ(api.handle({"GET", "/info", {{"authorization", "Bearer key"}}, ""}).status, 200);
  const HttpResponse denied = api.handle({"POST", "/v1/embeddings", {}, R"({"input": "x"})"});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(Json::parse(denied.body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(api.handle({"GET", "/v1/embeddings", {{"authorization", "Bearer key"}}, ""}).status, 405);
  EXPECT_EQ(api.handle({"GET", "/nope", {}, ""}).status, 404);

  const Api empty({}, nullptr, nullptr, nullptr, "reranker unavailable: model 'x' not found");
  EXPECT_EQ(empty.handle({"POST", "/v1/search", {}, R"({"query": "x"})"}).status, 503);
  const HttpResponse no_reranker = empty.handle({"POST", "/rerank", {}, R"({"query": "x", "texts": ["y"]})"});
  EXPECT_EQ(no_reranker.status, 503);
  EXPECT_NE(no_reranker.body.find("model 'x' not found"), std::string::npos);
}

}  // namespace
}  // namespace ksearch
