#include "server/api.h"

#include <malloc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <numeric>

#include "base/json.h"
#include "base/utf8.h"
#include "search/highlight.h"
#include "server/search_hit_json.h"
#include "server/search_page.h"

namespace ksearch {
namespace {

enum class Family { OpenAi, Tei };

// Requests larger than this return their memory to the system when answered.
constexpr std::size_t kTrimAfterBytes = 1 << 20;
// /v1/context: lines around the asked range, and the longest range, so one request reads a bounded excerpt.
constexpr long long kMaxContextLines = 200;
constexpr long long kMaxExcerptLines = 2000;

// A request the handler refuses: HTTP status, message, the error type of the route family, and for OpenAI's shape
// the request field at fault and a machine-readable code.
struct ApiError {
  int status;
  std::string message;
  std::string tei_type = "validation";
  std::string param = {};
  std::string code = {};
};

[[noreturn]] void reject(int status, std::string message, std::string tei_type = "validation") {
  throw ApiError{status, std::move(message), std::move(tei_type)};
}

// A refusal caused by one request field, named in OpenAI's `param`.
[[noreturn]] void reject_field(int status, std::string param, std::string message) {
  throw ApiError{status, std::move(message), "validation", std::move(param)};
}

HttpResponse json_response(const Json& body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.body = to_json_text(body);
  return response;
}

HttpResponse error_response(Family family, const ApiError& error) {
  HttpResponse response;
  if (family == Family::Tei) {
    response = json_response({{"error", error.message}, {"error_type", error.tei_type}}, error.status);
  } else {
    // OpenAI answers every invalid request 400; TEI keeps 422 for a well-formed request it cannot process.
    const int status = error.status == 422 ? 400 : error.status;
    std::string type = "invalid_request_error", code = error.code;
    if (status == 401) code = "invalid_api_key";
    if (status == 429) type = "rate_limit_error", code = "rate_limit_exceeded";
    if (status >= 500) type = "server_error";
    response = json_response({{"error",
                               {{"message", error.message},
                                {"type", type},
                                {"param", error.param.empty() ? Json() : Json(error.param)},
                                {"code", code.empty() ? Json() : Json(code)}}}},
                             status);
  }
  if (error.status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.status == 429 || error.status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Json parse_body(const HttpRequest& request) {
  if (request.body.empty()) reject(400, "request body is empty; expected a JSON object");
  if (auto bad = utf8::find_invalid(request.body))
    reject(400, cat("request body is not valid UTF-8 (byte ", *bad, ")"));
  Json body;
  try {
    body = parse_json(request.body, "request body");
  } catch (const Error& e) {
    reject(400, e.what());
  }
  if (!body.is_object()) reject(400, "request body must be a JSON object");
  return body;
}

template <typename T>
T field(const Json& body, const char* key, T fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    reject_field(422, key, cat("field '", key, "' has the wrong type (", it->type_name(), ")"));
  }
}

// A string or an array of strings, as embeddings and tokenize accept.  `what` names the field in errors.
std::vector<std::string> text_inputs(const Json& value, const char* what, std::size_t limit, int type_status) {
  std::vector<std::string> texts;
  if (value.is_string()) {
    texts.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_number_integer() || item.is_array())
        reject_field(400, what,
                     cat("'", what, "' holds token ids; ksearch takes text and tokenizes it with the model's own ",
                         "tokenizer. With LangChain's OpenAIEmbeddings pass check_embedding_ctx_length=False so it ",
                         "sends the text"));
      if (!item.is_string())
        reject_field(type_status, what, cat("'", what, "' must be a string or an array of strings"));
      texts.push_back(item.get<std::string>());
    }
  } else {
    reject_field(value.is_null() ? 400 : type_status, what,
                 cat("'", what, "' must be a string or an array of strings"));
  }
  if (texts.empty()) reject_field(400, what, cat("'", what, "' is empty"));
  if (texts.size() > limit)
    reject_field(413, what, cat("'", what, "' has ", texts.size(), " items; the limit is ", limit));
  for (const auto& text : texts)
    if (text.empty()) reject_field(400, what, cat("'", what, "' contains an empty string"));
  return texts;
}

std::string base64(std::span<const float> values) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(values.size() * 4, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);  // little-endian
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t chunk = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                                (i + 1 < bytes.size() ? static_cast<std::uint8_t>(bytes[i + 1]) << 8 : 0) |
                                (i + 2 < bytes.size() ? static_cast<std::uint8_t>(bytes[i + 2]) : 0);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

TextKind text_kind(const std::string& name, const Embedder& embedder) {
  if (name.empty()) return TextKind::Raw;
  if (name == "query") return TextKind::Query;
  if (name == "passage" || name == "document") return TextKind::Passage;
  reject(422, cat("unknown prompt '", name, "' (the model has 'query' and 'passage'; prompts: query='",
                  embedder.spec().query_prefix, "', passage='", embedder.spec().passage_prefix, "')"));
}

// Compares every byte whatever the first difference, so the time taken says nothing about where keys differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference = static_cast<unsigned char>(difference | (a[i] ^ b[i]));
  return difference == 0;
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

struct Api::Route {
  const char* method;
  const char* path;
  Family family;
  bool needs_auth;
};

Api::Api(ApiConfig config, std::shared_ptr<SearchEngine> engine, std::shared_ptr<const Embedder> embedder,
         std::shared_ptr<const CrossEncoder> reranker, std::string unavailable_reranker)
    : config_(std::move(config)),
      engine_(std::move(engine)),
      embedder_(std::move(embedder)),
      reranker_(std::move(reranker)),
      unavailable_reranker_(std::move(unavailable_reranker)),
      metrics_(std::make_unique<Metrics>()),
      worker_(std::make_unique<ModelWorker>(config_.limits.max_batch_tokens, config_.limits.max_queue, metrics_.get())),
      started_(static_cast<long long>(std::time(nullptr))) {}

Api::~Api() = default;

bool Api::authorized(const HttpRequest& request) const {
  if (config_.api_key.empty()) return true;
  const auto it = request.headers.find("authorization");
  if (it == request.headers.end()) return false;
  std::string_view value = it->second;
  // The scheme is case-insensitive (RFC 9110 11.1).
  if (value.size() < 7 || lower_case(value.substr(0, 7)) != "bearer ") return false;
  value.remove_prefix(7);
  while (value.starts_with(' ')) value.remove_prefix(1);
  return constant_time_equal(value, config_.api_key);
}

const Embedder& Api::require_embedder() const {
  if (!embedder_) reject(503, "no embedding model is loaded (start ksearch serve with --model)", "unhealthy");
  return *embedder_;
}

const SearchEngine& Api::require_engine() const {
  if (!engine_)
    reject(503, "no index is loaded (start ksearch serve with --db DIR, or in an indexed folder)", "unhealthy");
  return *engine_;
}

const CrossEncoder& Api::require_reranker() const {
  if (!reranker_)
    reject(503,
           unavailable_reranker_.empty() ? "no reranker model is loaded (start ksearch serve with --rerank-model)"
                                         : unavailable_reranker_,
           "unhealthy");
  return *reranker_;
}

HttpResponse Api::handle(const HttpRequest& request) const {
  const auto start = std::chrono::steady_clock::now();
  HttpResponse response = respond(request);
  add_cors_headers(request, response);
  std::string route = request.path.substr(0, request.path.find('?'));
  if (route.starts_with("/v1/models/")) route = "/v1/models/{id}";
  if (response.status == 404 && route != "/v1/models/{id}") route = "unmatched";
  metrics_->record_request(route, request.method, response.status, elapsed_ms(start) / 1000);
  return response;
}

bool Api::answers_at_once(const HttpRequest& request) {
  const std::string_view path = std::string_view(request.path).substr(0, request.path.find('?'));
  return request.method == "OPTIONS" || ((request.method == "GET" || request.method == "HEAD") && path == "/health");
}

namespace {

// Whether a Host header names this machine by a loopback name ("localhost:8080", "127.0.0.1", "[::1]:80").
bool names_loopback(std::string_view host) {
  const std::size_t end = host.starts_with('[') ? host.find(']') + 1 : host.find(':');
  std::string name(host.substr(0, end == std::string_view::npos ? host.size() : end));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.ends_with('.')) name.pop_back();
  return name == "localhost" || name == "[::1]" || name.starts_with("127.");
}

}  // namespace

HttpResponse Api::respond(const HttpRequest& request) const {
  // /health holds nothing to read, and probes may name the machine any way.
  if (const auto host = request.headers.find("host"); config_.local_host_names_only && host != request.headers.end() &&
                                                      !names_loopback(host->second) &&
                                                      !request.path.starts_with("/health")) {
    const bool openai = request.path.starts_with("/v1/") || request.path.starts_with("/v2/");
    return error_response(openai ? Family::OpenAi : Family::Tei,
                          {403,
                           cat("Host '", host->second,
                               "' is not a loopback name: a server on loopback without --api-key answers only "
                               "localhost, 127.0.0.1 and [::1] (set --api-key to serve other names)"),
                           "unauthorized"});
  }
  static const Route kRoutes[] = {
      {"POST", "/v1/embeddings", Family::OpenAi, true},
      {"POST", "/embeddings", Family::OpenAi, true},
      {"GET", "/v1/models", Family::OpenAi, true},
      {"GET", "/v1/models/", Family::OpenAi, true},
      {"POST", "/embed", Family::Tei, true},
      {"POST", "/rerank", Family::Tei, true},
      {"POST", "/predict", Family::Tei, true},
      {"POST", "/embed_sparse", Family::Tei, true},
      {"POST", "/tokenize", Family::Tei, true},
      {"GET", "/info", Family::Tei, true},
      {"POST", "/", Family::Tei, true},
      {"POST", "/similarity", Family::Tei, true},
      {"POST", "/v1/rerank", Family::OpenAi, true},
      {"POST", "/v2/rerank", Family::OpenAi, true},
      {"POST", "/v1/search", Family::OpenAi, true},
      {"GET", "/v1/index", Family::OpenAi, true},
      {"POST", "/v1/context", Family::OpenAi, true},
      {"GET", "/health", Family::Tei, false},
      {"GET", "/metrics", Family::Tei, false},
  };
  std::string path = request.path.substr(0, request.path.find('?'));
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  // /v1/models/{id}: ids hold slashes ("intfloat/multilingual-e5-small"), so everything after the prefix is the id.
  const std::string route_path = path.starts_with("/v1/models/") ? "/v1/models/" : path;
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  // The search page needs no key: it holds no data, and asks the user for the key its calls need.
  std::optional<HttpResponse> page = engine_ ? search_page_file(path) : std::nullopt;
  if (page && method == "GET") return std::move(*page);
  const Route* route = nullptr;
  std::string allowed = page ? "GET, HEAD" : "";
  for (const Route& candidate : kRoutes) {
    if (route_path != candidate.path) continue;
    allowed +=
        cat(allowed.empty() ? "" : ", ", candidate.method, std::string_view(candidate.method) == "GET" ? ", HEAD" : "");
    if (method == candidate.method) route = &candidate;
  }
  // Unknown paths answer in the shape of the family their prefix suggests, so each client shows the message.
  const Family family = route != nullptr                                       ? route->family
                        : path.starts_with("/v1/") || path.starts_with("/v2/") ? Family::OpenAi
                        : path == "/embeddings"                                ? Family::OpenAi
                                                                               : Family::Tei;
  if (route == nullptr && !allowed.empty() && request.method == "OPTIONS") {
    HttpResponse options;
    options.status = 204;
    options.headers.emplace_back("Allow", allowed + ", OPTIONS");
    return options;
  }
  if (route == nullptr) {
    HttpResponse refused = error_response(
        family, allowed.empty() ? ApiError{404, cat("no route ", path), "empty"}
                                : ApiError{405, cat("method ", request.method, " not allowed on ", path)});
    if (!allowed.empty()) refused.headers.emplace_back("Allow", allowed + ", OPTIONS");
    return refused;
  }
  try {
    if (route->needs_auth && !authorized(request))
      reject(401, "missing or wrong API key: send 'Authorization: Bearer KEY'", "unauthorized");
    const std::size_t limit =
        path == "/v1/search" ? config_.limits.max_search_body_bytes : config_.limits.max_body_bytes;
    if (request.body.size() > limit)
      reject(413, cat("request body of ", request.body.size(), " bytes exceeds the limit of ", limit, " for ", path));
    if (const auto encoding = request.headers.find("content-encoding");
        encoding != request.headers.end() && lower_case(encoding->second) != "identity")
      reject(415, cat("Content-Encoding '", encoding->second, "' is not supported; send the body uncompressed"));
    HttpRequest normalized = request;
    normalized.path = path;
    HttpResponse response = this->route(normalized);
    // glibc keeps freed arenas of a large request mapped; give them back (measured in docs/reliability.md).
    if (request.body.size() > kTrimAfterBytes) malloc_trim(0);
    return response;
  } catch (const QueryTooLarge& error) {
    return error_response(route->family, {413, error.what()});
  } catch (const SearchInterrupted& error) {
    return error_response(route->family, {503, error.what(), "unhealthy"});
  } catch (const ApiError& error) {
    return error_response(route->family, error);
  } catch (const Overloaded& error) {
    return error_response(route->family, {429, error.what(), "overloaded"});
  } catch (const Error& error) {
    return error_response(route->family, {422, error.what(), "validation"});
  } catch (const std::exception& error) {
    return error_response(route->family, {500, cat("internal error: ", error.what()), "backend"});
  }
}

HttpResponse Api::route(const HttpRequest& request) const {
  const std::string& path = request.path;
  if (path == "/health") return json_response({{"status", "ok"}});
  if (path == "/metrics") return prometheus_metrics();
  if (path == "/v1/embeddings" || path == "/embeddings") return openai_embeddings(request);
  if (path == "/v1/models" || path.starts_with("/v1/models/")) return openai_models(request);
  if (path == "/embed") return tei_embed(request);
  if (path == "/embed_sparse") return tei_embed_sparse(request);
  if (path == "/rerank") return tei_rerank(request);
  if (path == "/predict") return tei_predict(request);
  if (path == "/") return tei_root(request);
  if (path == "/similarity") return tei_similarity(request);
  if (path == "/tokenize") return tei_tokenize(request);
  if (path == "/info") return tei_info();
  if (path == "/v1/rerank") return jina_rerank(request);
  if (path == "/v1/index") return index_info();
  if (path == "/v1/context") return context(request);
  if (path == "/v2/rerank") return cohere_rerank(request);
  return search(request);
}

// CORS (https://fetch.spec.whatwg.org/#http-cors-protocol): the allowed origin on every response, and the answer to a
// preflight, which carries no credentials and so is never refused for a missing API key.
void Api::add_transport_cors_headers(std::string_view origin, HttpResponse& response) const {
  const auto& origins = config_.cors_origins;
  if (std::find(origins.begin(), origins.end(), "*") != origins.end()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else if (!origin.empty() && std::find(origins.begin(), origins.end(), origin) != origins.end()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    response.headers.emplace_back("Vary", "Origin");
  } else if (origin.empty() && origins.size() == 1) {
    // A browser compares the one allowed origin with its own, so naming it unasked tells no other origin anything.
    response.headers.emplace_back("Access-Control-Allow-Origin", origins.front());
    response.headers.emplace_back("Vary", "Origin");
  } else {
    return;
  }
  response.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
}

void Api::add_cors_headers(const HttpRequest& request, HttpResponse& response) const {
  if (config_.cors_origins.empty()) return;
  const auto origin = request.headers.find("origin");
  if (origin == request.headers.end()) return;
  const auto& origins = config_.cors_origins;
  const bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
  if (!any &&
      std::find(config_.cors_origins.begin(), config_.cors_origins.end(), origin->second) == config_.cors_origins.end())
    return;
  response.headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : origin->second);
  if (!any) response.headers.emplace_back("Vary", "Origin");
  if (request.method == "OPTIONS" && request.headers.contains("access-control-request-method")) {
    const auto asked = request.headers.find("access-control-request-headers");
    response.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers", asked != request.headers.end()
                                                                      ? asked->second
                                                                      : std::string("Authorization, Content-Type"));
    response.headers.emplace_back("Access-Control-Max-Age", "86400");
  } else {
    response.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
  }
}

std::string Api::embedding_model_name() const {
  if (!config_.served_model_names.empty()) return config_.served_model_names.front();
  return embedder_ ? embedder_->spec().id : std::string();
}

void Api::check_embedding_model(const Json& body) const {
  const std::string model = field<std::string>(body, "model", "");
  if (model.empty() || model == embedder_->spec().id) return;
  if (std::find(config_.served_model_names.begin(), config_.served_model_names.end(), model) !=
      config_.served_model_names.end())
    return;
  throw ApiError{404,
                 cat("the model '", model, "' does not exist; this server embeds with '", embedding_model_name(),
                     "' (GET /v1/models lists the models; --served-model-name adds names)"),
                 "validation", "model", "model_not_found"};
}

void Api::check_reranker_model(const Json& body) const {
  const std::string model = field<std::string>(body, "model", "");
  const std::string& id = require_reranker().model().spec.id;
  if (model.empty() || model == id) return;
  throw ApiError{404,
                 cat("the model '", model, "' does not exist; this server reranks with '", id,
                     "' (GET /v1/models lists the models)"),
                 "validation", "model", "model_not_found"};
}

HttpResponse Api::openai_models(const HttpRequest& request) const {
  const auto model = [&](const std::string& id) {
    return Json{{"id", id}, {"object", "model"}, {"created", started_}, {"owned_by", "ksearch"}};
  };
  Json data = Json::array();
  if (embedder_) data.push_back(model(embedding_model_name()));
  if (reranker_) data.push_back(model(reranker_->model().spec.id));
  if (request.path == "/v1/models") return json_response({{"object", "list"}, {"data", data}});
  const std::string wanted = request.path.substr(std::string_view("/v1/models/").size());
  for (const auto& item : data)
    if (item["id"] == wanted) return json_response(item);
  if (embedder_ &&
      (wanted == embedder_->spec().id || std::find(config_.served_model_names.begin(), config_.served_model_names.end(),
                                                   wanted) != config_.served_model_names.end()))
    return json_response(model(wanted));
  throw ApiError{404, cat("the model '", wanted, "' does not exist"), "validation", "model", "model_not_found"};
}

HttpResponse Api::prometheus_metrics() const {
  std::vector<Gauge> gauges = {
      {"ksearch_model_queue_depth", "Model jobs waiting for the model thread.", static_cast<double>(worker_->queued())},
  };
  if (engine_) {
    const StoreCounts counts = engine_->counts();
    gauges.push_back({"ksearch_index_chunks", "Chunks in the index.", static_cast<double>(counts.chunks)});
    gauges.push_back({"ksearch_index_vectors", "Vectors in the index.", static_cast<double>(counts.vectors)});
    gauges.push_back({"ksearch_index_files", "Files in the index.", static_cast<double>(counts.indexed_files)});
    gauges.push_back(
        {"ksearch_index_generation", "Index generation being served.", static_cast<double>(engine_->generation())});
  }
  HttpResponse response;
  response.body = metrics_->render(gauges);
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

namespace {

// Tokenizes for embedding: prefix by kind, and truncate or reject inputs over the model's limit.
std::vector<std::vector<TokenId>> tokenize_inputs(const Embedder& embedder, const std::vector<std::string>& texts,
                                                  TextKind kind, bool truncate) {
  std::vector<std::vector<TokenId>> sequences;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (auto bad = utf8::find_invalid(texts[i])) reject(400, cat("input ", i, " is not valid UTF-8 (byte ", *bad, ")"));
    Encoding encoding = embedder.tokenize(texts[i], kind);
    if (encoding.truncated() && !truncate)
      reject(413, cat("input ", i, " has ", encoding.untruncated_length, " tokens; the model takes at most ",
                      embedder.max_tokens(), " (send \"truncate\": true to cut it)"));
    sequences.push_back(std::move(encoding.ids));
  }
  return sequences;
}

// `dimensions` (OpenAI and TEI): how many leading components to keep, Matryoshka-style; the model's width if absent.
std::size_t requested_dimensions(const Json& body, const Embedder& embedder) {
  const auto dimension = static_cast<long long>(embedder.dimension());
  const long long dimensions = field<long long>(body, "dimensions", dimension);
  if (dimensions <= 0 || dimensions > dimension)
    reject_field(400, "dimensions",
                 cat("dimensions must be between 1 and ", dimension, " for this model, got ", dimensions));
  return static_cast<std::size_t>(dimensions);
}

}  // namespace

HttpResponse Api::openai_embeddings(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const Embedder& embedder = require_embedder();
  check_embedding_model(body);
  if (!body.contains("input")) reject_field(400, "input", "missing required field 'input'");
  const auto texts = text_inputs(body["input"], "input", config_.limits.max_inputs, 400);
  const std::string format = field<std::string>(body, "encoding_format", "float");
  if (format != "float" && format != "base64")
    reject_field(400, "encoding_format", cat("encoding_format '", format, "' is not supported (use float or base64)"));
  const std::size_t dimensions = requested_dimensions(body, embedder);
  const TextKind kind = text_kind(field<std::string>(body, "input_type", ""), embedder);
  const auto sequences = tokenize_inputs(embedder, texts, kind, field<bool>(body, "truncate", true));
  Embeddings embeddings = worker_->embed(embedder, sequences).get();
  Json data = Json::array();
  std::size_t tokens = 0;
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    const std::vector<float> row = embeddings.leading(i, dimensions, true);
    tokens += embeddings.token_counts[i];
    data.push_back(
        {{"object", "embedding"}, {"index", i}, {"embedding", format == "base64" ? Json(base64(row)) : Json(row)}});
  }
  return json_response({{"object", "list"},
                        {"data", data},
                        {"model", embedding_model_name()},
                        {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

HttpResponse Api::tei_embed(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const Embedder& embedder = require_embedder();
  if (!body.contains("inputs")) reject(422, "missing required field 'inputs'");
  const auto texts = text_inputs(body["inputs"], "inputs", config_.limits.max_inputs, 422);
  const TextKind kind = text_kind(field<std::string>(body, "prompt_name", ""), embedder);
  const std::size_t dimensions = requested_dimensions(body, embedder);
  const bool normalize = field<bool>(body, "normalize", true);
  const auto sequences = tokenize_inputs(embedder, texts, kind, field<bool>(body, "truncate", false));
  Embeddings embeddings = worker_->embed(embedder, sequences).get();
  Json out = Json::array();
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    out.push_back(embeddings.leading(i, dimensions, normalize));
  }
  return json_response(out);
}

// TEI's sparse embeddings: per input, [{"index": token id, "value": weight}, ...] (BGE-M3's lexical weights).
HttpResponse Api::tei_embed_sparse(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const Embedder& embedder = require_embedder();
  if (!embedder.model().heads.has_lexical())
    reject(400, cat(embedder.spec().id, " has no sparse head (sparse_linear.pt); /embed_sparse needs a BGE-M3 model"));
  if (!body.contains("inputs")) reject(422, "missing required field 'inputs'");
  const auto texts = text_inputs(body["inputs"], "inputs", config_.limits.max_inputs, 422);
  const TextKind kind = text_kind(field<std::string>(body, "prompt_name", ""), embedder);
  tokenize_inputs(embedder, texts, kind, field<bool>(body, "truncate", false));  // rejects over-long inputs
  std::vector<LexicalWeights> weights;
  worker_->run([&] { weights = embedder.lexical_weights(texts, kind); }).get();
  Json out = Json::array();
  for (const LexicalWeights& text : weights) {
    Json values = Json::array();
    for (std::size_t i = 0; i < text.tokens.size(); ++i)
      values.push_back({{"index", text.tokens[i]}, {"value", text.weights[i]}});
    out.push_back(std::move(values));
  }
  return json_response(out);
}

std::vector<float> Api::rerank_logits(const std::string& query, const std::vector<std::string>& texts,
                                      bool truncate) const {
  const CrossEncoder& reranker = require_reranker();
  if (query.empty()) reject(422, "'query' is empty");
  if (!truncate) {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const Encoding pair = reranker.model().tokenizer.encode_pair(query, texts[i], reranker.max_tokens());
      if (pair.truncated())
        reject(413, cat("query and text ", i, " have ", pair.untruncated_length, " tokens; the reranker takes at most ",
                        reranker.max_tokens(), " (send \"truncate\": true to cut them)"));
    }
  }
  std::vector<float> logits;
  worker_->run([&] { logits = reranker.score(query, texts); }).get();
  return logits;
}

// TEI's root route answers by payload, as `InferenceClient(url)` posts every task there: sentence similarity for
// {"inputs": {"source_sentence", "sentences"}}, else /embed (or /rerank on a server with only a reranker).
HttpResponse Api::tei_root(const HttpRequest& request) const {
  const Json body = parse_body(request);
  if (const auto inputs = body.find("inputs"); inputs != body.end() && inputs->is_object())
    return tei_similarity(request);
  return embedder_ || !reranker_ ? tei_embed(request) : tei_rerank(request);
}

// TEI /similarity: cosine similarity of `source_sentence` with each of `sentences`.
HttpResponse Api::tei_similarity(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const Embedder& embedder = require_embedder();
  const auto inputs = body.find("inputs");
  if (inputs == body.end() || !inputs->is_object())
    reject(422, "'inputs' must be an object {\"source_sentence\": string, \"sentences\": [string]}");
  const auto source = inputs->find("source_sentence");
  if (source == inputs->end() || !source->is_string() || source->get<std::string>().empty())
    reject(422, "'inputs.source_sentence' must be a non-empty string");
  if (!inputs->contains("sentences")) reject(422, "missing required field 'inputs.sentences'");
  std::vector<std::string> texts = {source->get<std::string>()};
  const auto sentences = text_inputs((*inputs)["sentences"], "inputs.sentences", config_.limits.max_inputs, 422);
  texts.insert(texts.end(), sentences.begin(), sentences.end());
  const auto sequences = tokenize_inputs(embedder, texts, TextKind::Raw, field<bool>(body, "truncate", false));
  Embeddings embeddings = worker_->embed(embedder, sequences).get();
  embeddings.normalize_rows();
  const auto reference = embeddings.row(0);
  Json scores = Json::array();
  for (std::size_t i = 1; i < embeddings.size(); ++i) {
    const auto row = embeddings.row(i);
    scores.push_back(std::inner_product(row.begin(), row.end(), reference.begin(), 0.0f));
  }
  return json_response(scores);
}

HttpResponse Api::tei_rerank(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const std::string query = field<std::string>(body, "query", "");
  if (!body.contains("texts")) reject(422, "missing required field 'texts'");
  const auto texts = text_inputs(body["texts"], "texts", config_.limits.max_inputs, 422);
  const auto logits = rerank_logits(query, texts, field<bool>(body, "truncate", false));
  const bool raw = field<bool>(body, "raw_scores", false);
  const bool return_text = field<bool>(body, "return_text", false);
  std::vector<std::size_t> order(texts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  Json out = Json::array();
  for (std::size_t index : order) {
    Json item = {{"index", index}, {"score", raw ? logits[index] : sigmoid(logits[index])}};
    if (return_text) item["text"] = texts[index];
    out.push_back(item);
  }
  return json_response(out);
}

namespace {

// One /predict sequence: [query, text].  A lone text cannot be scored, as the only classifier served is the reranker.
std::pair<std::string, std::string> predict_pair(const Json& sequence) {
  if (!sequence.is_array() || sequence.size() != 2 || !sequence[0].is_string() || !sequence[1].is_string())
    reject(422,
           "'inputs' must be a pair [\"query\", \"text\"] or a batch of pairs [[\"query\", \"text\"], ...]: "
           "the sequence classifier served is the reranker, which scores pairs");
  return {sequence[0].get<std::string>(), sequence[1].get<std::string>()};
}

}  // namespace

// TEI's sequence classification, answered by the reranker (one label): a pair or a batch of pairs -> [{"score",
// "label"}] per sequence, the sigmoid of the logit unless `raw_scores`.
HttpResponse Api::tei_predict(const HttpRequest& request) const {
  const Json body = parse_body(request);
  require_reranker();
  const auto inputs = body.find("inputs");
  if (inputs == body.end() || inputs->is_null()) reject(422, "missing required field 'inputs'");
  if (!inputs->is_array() || inputs->empty()) predict_pair(*inputs);  // rejects with the shapes accepted
  const bool batch = !(*inputs)[0].is_string();
  std::vector<std::pair<std::string, std::string>> pairs;
  if (batch) {
    if (inputs->size() > config_.limits.max_inputs)
      reject(413, cat("'inputs' has ", inputs->size(), " pairs; the limit is ", config_.limits.max_inputs));
    for (const Json& sequence : *inputs) pairs.push_back(predict_pair(sequence));
  } else {
    pairs.push_back(predict_pair(*inputs));
  }
  // Pairs that share a query are scored in one call, as /rerank scores its texts.
  std::map<std::string, std::vector<std::size_t>> by_query;
  for (std::size_t i = 0; i < pairs.size(); ++i) by_query[pairs[i].first].push_back(i);
  const bool truncate = field<bool>(body, "truncate", false);
  const bool raw = field<bool>(body, "raw_scores", false);
  std::vector<float> logits(pairs.size());
  for (const auto& [query, indices] : by_query) {
    std::vector<std::string> texts;
    for (std::size_t i : indices) texts.push_back(pairs[i].second);
    const auto scores = rerank_logits(query, texts, truncate);
    for (std::size_t j = 0; j < indices.size(); ++j) logits[indices[j]] = scores[j];
  }
  Json out = Json::array();
  for (float logit : logits)
    out.push_back(Json::array({{{"score", raw ? logit : sigmoid(logit)}, {"label", "LABEL_0"}}}));
  return json_response(batch ? out : out[0]);
}

HttpResponse Api::tei_tokenize(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const Embedder& embedder = require_embedder();
  if (!body.contains("inputs")) reject(422, "missing required field 'inputs'");
  const auto texts = text_inputs(body["inputs"], "inputs", config_.limits.max_inputs, 422);
  const bool specials = field<bool>(body, "add_special_tokens", true);
  const Tokenizer& tokenizer = embedder.model().tokenizer;
  Json out = Json::array();
  for (const auto& text : texts) {
    if (auto bad = utf8::find_invalid(text)) reject(422, cat("input is not valid UTF-8 (byte ", *bad, ")"));
    Json tokens = Json::array();
    const auto special = [&](TokenId id) {
      tokens.push_back(
          {{"id", id}, {"text", tokenizer.piece(id)}, {"special", true}, {"start", nullptr}, {"stop", nullptr}});
    };
    if (specials && tokenizer.bos_id() >= 0) special(tokenizer.bos_id());
    for (const auto& span : tokenizer.tokenize_with_offsets(text))
      tokens.push_back({{"id", span.id},
                        {"text", tokenizer.piece(span.id)},
                        {"special", span.begin == span.end},
                        {"start", span.begin},
                        {"stop", span.end}});
    if (specials && tokenizer.eos_id() >= 0) special(tokenizer.eos_id());
    out.push_back(tokens);
  }
  return json_response(out);
}

HttpResponse Api::tei_info() const {
  Json info = {{"version", config_.version},
               {"max_concurrent_requests", config_.limits.max_queue},
               {"max_client_batch_size", config_.limits.max_inputs},
               {"max_batch_tokens", config_.limits.max_batch_tokens},
               {"tokenization_workers", 1},
               {"model_dtype", "float32"}};
  if (embedder_) {
    info["model_id"] = embedder_->spec().id;
    info["model_type"] = {{"embedding", {{"pooling", pooling_name(embedder_->spec().pooling)}}}};
    info["max_input_length"] = embedder_->max_tokens();
    info["dimension"] = embedder_->dimension();
    info["prompts"] = {{"query", embedder_->spec().query_prefix}, {"passage", embedder_->spec().passage_prefix}};
  }
  if (reranker_) {
    info["reranker_model_id"] = reranker_->model().spec.id;
    if (!embedder_) {
      info["model_id"] = reranker_->model().spec.id;
      info["model_type"] = {{"reranker", {{"id2label", {{"0", "LABEL_0"}}}}}};
      info["max_input_length"] = reranker_->max_tokens();
    }
  }
  if (engine_) info["index"] = {{"chunks", engine_->counts().chunks}, {"model", engine_->settings().model_id}};
  return json_response(info);
}

namespace {

// A snippet as [{"text", "mark"}] pieces in order, so a page can show the marks without parsing markup.
Json snippet_segments(const Snippet& snippet) {
  Json out = Json::array();
  std::size_t at = 0;
  const auto piece = [&](std::size_t begin, std::size_t end, bool mark) {
    if (end > begin) out.push_back({{"text", snippet.text.substr(begin, end - begin)}, {"mark", mark}});
  };
  for (const auto& [begin, end] : snippet.marks) {
    if (end <= at) continue;
    piece(at, std::max(begin, at), false);
    piece(std::max(begin, at), end, true);
    at = end;
  }
  piece(at, snippet.text.size(), false);
  return out;
}

// A random-looking response id, as Cohere's responses carry one.
std::string response_id() {
  static std::atomic<std::uint64_t> counter = 0;
  const auto now = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  char text[40];
  std::snprintf(text, sizeof text, "%016llx%08llx", static_cast<unsigned long long>(now),
                static_cast<unsigned long long>(++counter));
  return text;
}

}  // namespace

// Jina's and Cohere's rerank (v1 on /v1/rerank, v2 on /v2/rerank): one request shape, one response that carries
// both services' fields.  Invalid requests are 400, as both services answer.
HttpResponse Api::rerank_documents(const HttpRequest& request, int cohere_version) const {
  const Json body = parse_body(request);
  check_reranker_model(body);
  const std::string query = field<std::string>(body, "query", "");
  if (!body.contains("documents") || !body["documents"].is_array())
    reject_field(400, "documents", "missing field 'documents' (an array of strings or {\"text\"} objects)");
  std::vector<std::string> texts;
  for (const auto& document : body["documents"]) {
    if (document.is_string())
      texts.push_back(document.get<std::string>());
    else if (document.is_object() && document.contains("text") && document["text"].is_string())
      texts.push_back(document["text"].get<std::string>());
    else
      reject_field(400, "documents", "each document must be a string or an object with a \"text\" string");
  }
  if (texts.empty()) reject_field(400, "documents", "'documents' is empty");
  if (texts.size() > config_.limits.max_inputs)
    reject_field(413, "documents",
                 cat("'documents' has ", texts.size(), " items; the limit is ", config_.limits.max_inputs));
  const auto top_n = field<long long>(body, "top_n", static_cast<long long>(texts.size()));
  if (top_n <= 0) reject_field(400, "top_n", "top_n must be positive");
  const bool return_documents = field<bool>(body, "return_documents", false);
  if (query.empty()) reject_field(400, "query", "'query' is missing or empty");
  const auto logits = rerank_logits(query, texts, true);
  std::vector<std::size_t> order(texts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(top_n)));
  Json results = Json::array();
  std::size_t tokens = 0;
  const CrossEncoder& reranker = require_reranker();
  for (const auto& text : texts)
    tokens += reranker.model().tokenizer.encode_pair(query, text, reranker.max_tokens()).ids.size();
  for (std::size_t index : order) {
    Json item = {{"index", index}, {"relevance_score", sigmoid(logits[index])}};
    if (return_documents) item["document"] = {{"text", texts[index]}};
    results.push_back(item);
  }
  return json_response(
      {{"id", response_id()},
       {"model", reranker.model().spec.id},
       {"results", results},
       {"usage", {{"total_tokens", tokens}}},
       {"meta",
        {{"api_version", {{"version", std::to_string(cohere_version)}}}, {"billed_units", {{"search_units", 1}}}}}});
}

HttpResponse Api::jina_rerank(const HttpRequest& request) const { return rerank_documents(request, 1); }

HttpResponse Api::cohere_rerank(const HttpRequest& request) const { return rerank_documents(request, 2); }

HttpResponse Api::search(const HttpRequest& request) const {
  const auto start = std::chrono::steady_clock::now();
  const Json body = parse_body(request);
  require_engine();
  const std::string query = field<std::string>(body, "query", "");
  if (query.find_first_not_of(" \t\r\n") == std::string::npos) reject(400, "'query' is missing or empty");
  SearchOptions options;
  options.deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(config_.limits.search_seconds));
  options.cancelled = request.client_disconnected.get();
  const long long top_k = field<long long>(body, "top_k", 10);
  if (top_k <= 0 || top_k > static_cast<long long>(config_.limits.max_top_k))
    reject(400, cat("top_k must be between 1 and ", config_.limits.max_top_k));
  options.k = static_cast<std::size_t>(top_k);
  try {
    options.mode = parse_search_mode(field<std::string>(body, "mode", "auto"));
  } catch (const Error& e) {
    reject(400, e.what());
  }
  options.rerank = field<bool>(body, "rerank", false);
  if (options.rerank) require_reranker();
  const bool snippets = field<bool>(body, "snippets", false);
  if (const auto filter = body.find("filter"); filter != body.end() && !filter->is_null()) {
    if (!filter->is_object()) reject(400, "'filter' must be an object");
    options.path_glob = field<std::string>(*filter, "path_glob", "");
    if (const auto ext = filter->find("ext"); ext != filter->end() && !ext->is_null()) {
      if (ext->is_string())
        options.extensions = {ext->get<std::string>()};
      else
        options.extensions = field<std::vector<std::string>>(*filter, "ext", {});
    }
  }
  const bool dense = engine_->has_model() && options.mode != SearchMode::Lexical;
  if (dense) {
    const Embedder& embedder = *engine_->embedder();
    const Encoding encoding = embedder.tokenize(query, TextKind::Query);
    Embeddings embeddings = worker_->embed(embedder, {encoding.ids}).get();
    embeddings.normalize_rows();
    options.query_embedding = embeddings.values;
  }
  SearchResponse response;
  if (options.rerank) {
    // The cross-encoder runs on the model thread; retrieval itself is cheap and runs here.
    worker_->run([&] { response = engine_->search(query, options); }).get();
  } else {
    response = engine_->search(query, options);
  }
  Json results = Json::array();
  for (const SearchHit& hit : response.results) {
    Json item = search_hit_json(hit);
    if (snippets) item["snippet"] = snippet_segments(make_snippet(hit.chunk.text, query));
    results.push_back(std::move(item));
  }
  return json_response({{"results", results},
                        {"mode", search_mode_name(response.mode)},
                        {"score", response.score_kind},
                        {"took_ms", elapsed_ms(start)}});
}

namespace {

Json capability(bool available, std::string_view reason, const std::string& message) {
  if (available) return {{"available", true}};
  return {{"available", false}, {"reason", reason}, {"message", message}};
}

}  // namespace

// What the served index holds and which searches it can answer, for the search page.
HttpResponse Api::index_info() const {
  const SearchEngine& engine = require_engine();
  const StoreCounts counts = engine.counts();
  const bool dense = engine.has_model();
  const std::string no_model =
      engine.notice().empty() ? "the index has no embedding model (indexed lexical-only)" : engine.notice();
  const std::string no_reranker = unavailable_reranker_.empty()
                                      ? "no reranker model is loaded (start ksearch serve with --rerank-model)"
                                      : unavailable_reranker_;
  return json_response({{"files", counts.indexed_files},
                        {"chunks", counts.chunks},
                        {"model", engine.settings().model_id.empty() ? Json() : Json(engine.settings().model_id)},
                        {"generation", engine.generation()},
                        {"default_mode", dense ? "hybrid" : "lexical"},
                        {"modes",
                         {{"hybrid", capability(dense, "no_model", no_model)},
                          {"dense", capability(dense, "no_model", no_model)},
                          {"lexical", capability(true, "", "")}}},
                        {"rerank", capability(reranker_ != nullptr, "no_reranker", no_reranker)}});
}

// Lines of an indexed file around a result, as `ksearch show` prints them.
HttpResponse Api::context(const HttpRequest& request) const {
  const Json body = parse_body(request);
  const SearchEngine& engine = require_engine();
  const std::string path = field<std::string>(body, "path", "");
  if (path.empty()) reject_field(400, "path", "'path' is missing or empty (a result's path)");
  const long long start_line = field<long long>(body, "start_line", 0);
  const long long end_line = field<long long>(body, "end_line", start_line);
  const long long context_lines = field<long long>(body, "context", 5);
  if (start_line < 0) reject_field(400, "start_line", cat("start_line must be 0 or more, not ", start_line));
  if (end_line < start_line || end_line - start_line >= kMaxExcerptLines)
    reject_field(400, "end_line",
                 cat("end_line must be from start_line to ", kMaxExcerptLines, " lines after it, not ", end_line));
  if (context_lines < 0 || context_lines > kMaxContextLines)
    reject_field(400, "context", cat("context must be between 0 and ", kMaxContextLines, ", not ", context_lines));
  DocumentExcerpt excerpt;
  try {
    excerpt = engine.excerpt(path, static_cast<std::size_t>(start_line), static_cast<std::size_t>(end_line),
                             static_cast<std::size_t>(context_lines));
  } catch (const Error& e) {
    reject_field(404, "path", e.what());
  }
  Json lines = Json::array();
  for (const ExcerptLine& line : excerpt.lines) {
    const auto number = static_cast<long long>(line.number);
    lines.push_back({{"number", line.number},
                     {"page", line.page > 0 ? Json(line.page) : Json()},
                     {"text", line.text},
                     {"hit", number >= start_line && number <= end_line}});
  }
  return json_response({{"path", path}, {"total_lines", excerpt.total_lines}, {"lines", lines}});
}

}  // namespace ksearch
