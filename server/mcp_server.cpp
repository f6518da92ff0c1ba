#include "server/mcp_server.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <thread>

#include "ingest/document.h"
#include "search/document_excerpt.h"
#include "search/hit_location.h"
#include "search/index_status.h"
#include "search/search_request.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace {

namespace fs = std::filesystem;

// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

// A message that gets a JSON-RPC error instead of a result.
struct RpcError {
  int code;
  std::string message;
};

Json error_response(const Json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// A tool's failure, answered as a result with isError so the model reads the message and can correct its call.
struct ToolError {
  std::string message;
};

Json tool_result(const Json& structured) {
  // 2025-06-18: structured content, and the same JSON as text for clients that read only `content`.
  return {{"content", Json::array({{{"type", "text"}, {"text", to_json_text(structured)}}})},
          {"structuredContent", structured},
          {"isError", false}};
}

Json tool_error_result(const std::string& message) {
  return {{"content", Json::array({{{"type", "text"}, {"text", message}}})}, {"isError", true}};
}

// Arguments are checked by hand, not against the schema, so each message names the argument and the value.
void check_argument_names(const Json& arguments, std::string_view tool, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : arguments.items()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (const auto& each : known) list += (list.empty() ? "" : ", ") + std::string(each);
    throw ToolError{cat(tool, ": unknown argument '", name, "' (", tool, " takes ", list, ")")};
  }
}

template <typename T>
std::optional<T> argument(const Json& arguments, const std::string& name, std::string_view tool) {
  const auto it = arguments.find(name);
  if (it == arguments.end() || it->is_null()) return std::nullopt;
  const bool fits = std::is_same_v<T, std::string> ? it->is_string()
                    : std::is_same_v<T, bool>      ? it->is_boolean()
                                                   : it->is_number_integer();
  if (!fits)
    throw ToolError{cat(tool, ": argument '", name, "' must be ",
                        std::is_same_v<T, std::string> ? "a string"
                        : std::is_same_v<T, bool>      ? "true or false"
                                                       : "an integer",
                        ", not ", to_json_text(*it))};
  return it->template get<T>();
}

// `ext` as one string ("pdf,md") or an array of strings.
std::vector<std::string> extensions_argument(const Json& arguments) {
  const auto it = arguments.find("ext");
  if (it == arguments.end() || it->is_null()) return {};
  std::vector<std::string> items;
  const auto split = [&items](const std::string& text) {
    std::size_t begin = 0;
    for (std::size_t comma = text.find(',');; comma = text.find(',', begin)) {
      items.push_back(text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  };
  if (it->is_string()) {
    split(it->get<std::string>());
  } else if (it->is_array() && std::all_of(it->begin(), it->end(), [](const Json& x) { return x.is_string(); })) {
    for (const Json& item : *it) split(item.get<std::string>());
  } else {
    throw ToolError{cat("search: argument 'ext' must be a string or an array of strings, not ", to_json_text(*it))};
  }
  return items;
}

Json schema_object(Json properties, std::vector<std::string> required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

Json tool_list(long long max_results) {
  const Json nullable_integer = {{"type", Json::array({"integer", "null"})}};
  Json search_input = schema_object(
      {{"query", {{"type", "string"}, {"description", "what to look for, in Korean or English; a question works"}}},
       {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", max_results}, {"description", "results (default 10)"}}},
       {"mode",
        {{"type", "string"},
         {"enum", {"auto", "hybrid", "dense", "lexical"}},
         {"description", "auto (default): hybrid when the index has a model; lexical: keywords only"}}},
       {"path",
        {{"type", "string"}, {"description", "only paths matching this glob (gitignore syntax), e.g. 공지/**"}}},
       {"ext",
        {{"anyOf", Json::array({{{"type", "string"}}, {{"type", "array"}, {"items", {{"type", "string"}}}}})},
         {"description", "only these extensions, e.g. \"pdf\" or [\"hwp\", \"docx\"]"}}},
       {"rerank", {{"type", "boolean"}, {"description", "rescore with the cross-encoder (slower, more precise)"}}}},
      {"query"});
  search_input["additionalProperties"] = false;
  const Json hit =
      schema_object({{"rank", {{"type", "integer"}}},
                     {"path", {{"type", "string"}, {"description", "relative to the index root"}}},
                     {"absolute_path", {{"type", "string"}}},
                     {"start_line", {{"type", "integer"}}},
                     {"end_line", {{"type", "integer"}}},
                     {"line", {{"type", "integer"}, {"description", "the line that best matches"}}},
                     {"page", nullable_integer},
                     {"score", {{"type", "number"}}},
                     {"text", {{"type", "string"}}}},
                    {"rank", "path", "absolute_path", "start_line", "end_line", "line", "page", "score", "text"});
  const Json search_output = schema_object({{"query", {{"type", "string"}}},
                                            {"mode", {{"type", "string"}}},
                                            {"score_kind", {{"type", "string"}}},
                                            {"notice", {{"type", "string"}}},
                                            {"results", {{"type", "array"}, {"items", hit}}}},
                                           {"query", "mode", "score_kind", "results"});

  Json get_input = schema_object(
      {{"path",
        {{"type", "string"},
         {"description",
          "an indexed file: relative to the index root (as search "
          "returns it) or absolute"}}},
       {"start_line", {{"type", "integer"}, {"minimum", 1}, {"description", "first line (default 1)"}}},
       {"end_line", {{"type", "integer"}, {"minimum", 1}, {"description", "last line (default: the end)"}}}},
      {"path"});
  get_input["additionalProperties"] = false;
  const Json get_output = schema_object({{"path", {{"type", "string"}}},
                                         {"absolute_path", {{"type", "string"}}},
                                         {"format", {{"type", "string"}}},
                                         {"start_line", {{"type", "integer"}}},
                                         {"end_line", {{"type", "integer"}}},
                                         {"total_lines", {{"type", "integer"}}},
                                         {"page", nullable_integer},
                                         {"end_page", nullable_integer},
                                         {"truncated", {{"type", "boolean"}}},
                                         {"next_line", nullable_integer},
                                         {"text", {{"type", "string"}}}},
                                        {"path", "absolute_path", "format", "start_line", "end_line", "total_lines",
                                         "page", "end_page", "truncated", "next_line", "text"});

  Json status_input = schema_object(Json::object(), {});
  status_input["additionalProperties"] = false;
  const Json status_output = schema_object({{"index", {{"type", "string"}}},
                                            {"root", {{"type", "string"}}},
                                            {"files", {{"type", "integer"}}},
                                            {"chunks", {{"type", "integer"}}},
                                            {"model", {{"type", Json::array({"string", "null"})}}}},
                                           {"index", "root", "files", "chunks", "model"});

  const Json read_only = {{"readOnlyHint", true}, {"openWorldHint", false}};
  return Json::array(
      {{{"name", "search"},
        {"title", "Search documents"},
        {"description",
         "Semantic and keyword search over the indexed documents (Korean and English; text, Markdown, HTML, PDF, "
         "DOCX, HWP, HWPX). Returns ranked passages with their file, lines and page."},
        {"inputSchema", search_input},
        {"outputSchema", search_output},
        {"annotations", read_only}},
       {{"name", "get"},
        {"title", "Read a document"},
        {"description",
         "The text of an indexed document, or of a range of its lines (office formats and PDF as extracted text). "
         "Long text is cut at a line; call again from next_line for the rest."},
        {"inputSchema", get_input},
        {"outputSchema", get_output},
        {"annotations", read_only}},
       {{"name", "status"},
        {"title", "Index status"},
        {"description", "What the index holds: its root folder, files, chunks, model and settings."},
        {"inputSchema", status_input},
        {"outputSchema", status_output},
        {"annotations", read_only}}});
}

// A path an agent named, as the index stores it (relative to the root); throws ToolError for one outside the root.
std::string indexed_path(const std::string& named, const fs::path& root) {
  if (named.empty()) throw ToolError{"get: argument 'path' is empty"};
  const fs::path path = fs::path(named).lexically_normal();
  const fs::path relative = path.is_absolute() ? path.lexically_relative(root.lexically_normal()) : path;
  if (relative.empty() || *relative.begin() == ".." || relative.is_absolute() || relative == ".")
    throw ToolError{cat("get: ", named, " is outside the index root ", root.string())};
  return relative.generic_string();
}

}  // namespace

McpServer::McpServer(McpConfig config, std::function<std::shared_ptr<SearchEngine>()> open_engine)
    : config_(std::move(config)), open_engine_(std::move(open_engine)) {}

McpServer::~McpServer() = default;

void McpServer::start_engine() {
  if (!engine_.valid()) engine_ = std::async(std::launch::async, open_engine_).share();
}

std::shared_ptr<SearchEngine> McpServer::engine() {
  start_engine();
  while (engine_.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
    if (cancel_running_) throw SearchInterrupted("cancelled by the client while the model was loading");
  return engine_.get();  // rethrows the opening's Error (a missing or mismatched model) at every search
}

void McpServer::log(const std::string& line) const {
  if (config_.log != nullptr) *config_.log << "ksearch mcp: " << line << std::endl;
}

std::optional<std::string> McpServer::handle(std::string_view message) { return answer(message, true); }

void McpServer::note_cancellations(const Json& message) {
  for (const Json& item : message.is_array() ? message : Json::array({message})) {
    if (!item.is_object() || item.value("method", Json()) != "notifications/cancelled" || item.contains("id")) continue;
    const auto params = item.find("params");
    if (params == item.end() || !params->is_object() || !params->contains("requestId")) continue;
    const std::string id = to_json_text(params->at("requestId"));
    std::lock_guard lock(cancel_mutex_);
    if (id == running_id_) {
      cancel_running_ = true;
    } else {
      // A request not read yet (or already answered; ids are not reused in a session, so that entry is inert).
      if (cancelled_ids_.size() >= kMaxCancelledIds) cancelled_ids_.clear();
      cancelled_ids_.insert(id);
    }
  }
}

std::optional<std::string> McpServer::answer(std::string_view message, bool note) {
  Json parsed;
  try {
    parsed = parse_json(message, "message");
  } catch (const Error& e) {
    return to_json_text(error_response(nullptr, kParseError, cat("parse error: ", e.what())));
  }
  if (note) note_cancellations(parsed);
  if (!parsed.is_array()) {
    const Json answer = respond(parsed, false);
    return answer.is_null() ? std::nullopt : std::optional(to_json_text(answer));
  }
  if (protocol_version_ != kMcpPreviousVersion)
    return to_json_text(
        error_response(nullptr, kInvalidRequest,
                       protocol_version_.empty()
                           ? std::string("invalid request: a batch before initialize (initialize is sent alone)")
                           : cat("invalid request: protocol version ", protocol_version_, " has no JSON-RPC batches")));
  if (parsed.empty()) return to_json_text(error_response(nullptr, kInvalidRequest, "invalid request: empty batch"));
  Json answers = Json::array();
  for (const Json& item : parsed)
    if (Json answer = respond(item, true); !answer.is_null()) answers.push_back(std::move(answer));
  return answers.empty() ? std::nullopt : std::optional(to_json_text(answers));
}

Json McpServer::respond(const Json& message, bool in_batch) {
  if (!message.is_object())
    return error_response(nullptr, kInvalidRequest, "invalid request: a message is a JSON object");
  const auto id_field = message.find("id");
  const bool has_id = id_field != message.end();
  const Json id = has_id && (id_field->is_string() || id_field->is_number()) ? *id_field : Json();
  const auto jsonrpc = message.find("jsonrpc");
  if (jsonrpc == message.end() || *jsonrpc != "2.0")
    return error_response(id, kInvalidRequest, "invalid request: 'jsonrpc' must be \"2.0\"");
  const auto method_field = message.find("method");
  if (method_field == message.end()) {
    // A response to a request of ours; this server sends none, so there is nothing to match it with.
    if (message.contains("result") || message.contains("error")) return nullptr;
    return error_response(id, kInvalidRequest, "invalid request: no 'method'");
  }
  if (!method_field->is_string())
    return error_response(id, kInvalidRequest, "invalid request: 'method' must be a string");
  const std::string method = method_field->get<std::string>();
  if (has_id && id.is_null())
    return error_response(nullptr, kInvalidRequest, "invalid request: 'id' must be a string or a number");
  const auto params_field = message.find("params");
  const Json params = params_field == message.end() || params_field->is_null() ? Json::object() : *params_field;
  if (!has_id) return nullptr;  // notifications get no answer (cancellations were noted on arrival)
  if (!params.is_object()) return error_response(id, kInvalidParams, "invalid params: 'params' must be an object");
  if (in_batch && method == "initialize")
    return error_response(id, kInvalidRequest, "invalid request: initialize cannot be part of a batch");
  const std::string id_text = to_json_text(id);
  {
    std::lock_guard lock(cancel_mutex_);
    if (cancelled_ids_.erase(id_text) > 0) return nullptr;  // cancelled before it was read: no answer
    running_id_ = id_text;
    cancel_running_ = false;
  }
  // The spec asks for no answer to a cancelled request.
  const auto finish = [this](Json answer) -> Json {
    std::lock_guard lock(cancel_mutex_);
    running_id_.clear();
    return cancel_running_.exchange(false) ? Json() : std::move(answer);
  };
  try {
    return finish({{"jsonrpc", "2.0"}, {"id", id}, {"result", dispatch(method, params)}});
  } catch (const RpcError& e) {
    log(cat(method, ": ", e.message));
    return finish(error_response(id, e.code, e.message));
  } catch (const std::exception& e) {
    log(cat(method, ": internal error: ", e.what()));
    return finish(error_response(id, kInternalError, cat("internal error: ", e.what())));
  }
}

Json McpServer::dispatch(const std::string& method, const Json& params) {
  if (method == "ping") return Json::object();
  if (method == "initialize") return initialize(params);
  if (!initialized_) throw RpcError{kInvalidRequest, cat("invalid request: ", method, " before initialize")};
  if (method == "tools/list") {
    Json tools = tool_list(config_.max_results);
    // 2025-03-26 has neither a tool's title nor output schemas (nor structured results).
    if (protocol_version_ == kMcpPreviousVersion)
      for (Json& tool : tools) {
        tool.erase("title");
        tool.erase("outputSchema");
      }
    return {{"tools", tools}};
  }
  if (method == "tools/call") return tools_call(params);
  throw RpcError{kMethodNotFound, cat("method not found: ", method)};
}

Json McpServer::initialize(const Json& params) {
  if (initialized_) throw RpcError{kInvalidRequest, "invalid request: initialize was already answered"};
  const auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string())
    throw RpcError{kInvalidParams, "invalid params: initialize needs 'protocolVersion' (a string)"};
  const std::string version = requested->get<std::string>();
  protocol_version_ =
      version == kMcpPreviousVersion ? std::string(kMcpPreviousVersion) : std::string(kMcpLatestVersion);
  initialized_ = true;
  std::string client = "a client";
  if (const auto info = params.find("clientInfo"); info != params.end() && info->is_object())
    for (const char* key : {"name", "version"})
      if (const auto part = info->find(key); part != info->end() && part->is_string())
        client = (key == std::string_view("name") ? "" : client + " ") + part->get<std::string>();
  log(cat("initialized by ", client, " (asked ", version, ", speaking ", protocol_version_, ")"));
  const std::string root = config_.location.root.string();
  return {{"protocolVersion", protocol_version_},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo", {{"name", "ksearch"}, {"title", "ksearch document search"}, {"version", config_.version}}},
          {"instructions",
           cat("Searches the documents indexed under ", root,
               " (Korean and English text, Markdown, HTML, PDF, DOCX, HWP, HWPX). Call `search` with a question or "
               "keywords; each result names its file, lines and page. Call `get` with a result's path and lines to "
               "read more around it. `status` says what the index holds.")}};
}

Json McpServer::tools_call(const Json& params) {
  const auto name = params.find("name");
  if (name == params.end() || !name->is_string())
    throw RpcError{kInvalidParams, "invalid params: tools/call needs 'name' (a string)"};
  const auto arguments_field = params.find("arguments");
  const Json arguments =
      arguments_field == params.end() || arguments_field->is_null() ? Json::object() : *arguments_field;
  if (!arguments.is_object()) throw RpcError{kInvalidParams, "invalid params: 'arguments' must be an object"};
  const std::string tool = name->get<std::string>();
  if (tool != "search" && tool != "get" && tool != "status")
    throw RpcError{kInvalidParams, cat("Unknown tool: ", tool, " (the tools are search, get and status)")};
  const auto start = std::chrono::steady_clock::now();
  try {
    const Json structured = tool == "search" ? search_tool(arguments)
                            : tool == "get"  ? get_tool(arguments)
                                             : status_tool(arguments);
    log(cat(tool, " answered in ",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count(),
            " ms"));
    Json result = tool_result(structured);
    if (protocol_version_ == kMcpPreviousVersion) result.erase("structuredContent");
    return result;
  } catch (const ToolError& e) {
    log(e.message);
    return tool_error_result(e.message);
  } catch (const Error& e) {
    log(cat(tool, ": ", e.what()));
    return tool_error_result(cat(tool, ": ", e.what()));
  }
}

Json McpServer::search_tool(const Json& arguments) {
  check_argument_names(arguments, "search", {"query", "k", "mode", "path", "ext", "rerank"});
  SearchRequest request;
  const auto query = argument<std::string>(arguments, "query", "search");
  if (!query) throw ToolError{"search: argument 'query' is missing: say what to look for"};
  request.query = *query;
  request.k = argument<long long>(arguments, "k", "search").value_or(10);
  if (request.k < 1 || request.k > config_.max_results)
    throw ToolError{cat("search: k is ", request.k, ": ask for 1 to ", config_.max_results, " results")};
  request.mode = argument<std::string>(arguments, "mode", "search").value_or("auto");
  request.path_glob = argument<std::string>(arguments, "path", "search").value_or("");
  request.extensions = extensions_argument(arguments);
  request.rerank = argument<bool>(arguments, "rerank", "search").value_or(false);
  SearchOptions options;
  try {
    options = search_options(request);
  } catch (const Error& e) {
    throw ToolError{cat("search: ", e.what())};
  }
  options.cancelled = &cancel_running_;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(config_.search_seconds));
  const std::shared_ptr<SearchEngine> searcher = engine();
  searcher->refresh();  // an index updated by `ksearch index` since the last call
  const SearchResponse response = searcher->search(request.query, options);
  const fs::path& root = searcher->location().root;
  Json results = Json::array();
  for (const SearchHit& hit : response.results) {
    results.push_back({{"rank", hit.rank},
                       {"path", hit.chunk.path},
                       {"absolute_path", (root / hit.chunk.path).string()},
                       {"start_line", hit.chunk.line_begin},
                       {"end_line", hit.chunk.line_end},
                       {"line", locate_hit(hit.chunk, request.query).line},
                       {"page", hit.chunk.page > 0 ? Json(hit.chunk.page) : Json()},
                       {"score", hit.score},
                       {"text", hit.chunk.text}});
  }
  Json structured = {{"query", request.query},
                     {"mode", search_mode_name(response.mode)},
                     {"score_kind", response.score_kind},
                     {"results", results}};
  if (!response.notice.empty()) structured["notice"] = response.notice;
  return structured;
}

Json McpServer::get_tool(const Json& arguments) {
  check_argument_names(arguments, "get", {"path", "start_line", "end_line"});
  const auto named = argument<std::string>(arguments, "path", "get");
  if (!named) throw ToolError{"get: argument 'path' is missing: name a file as search returns it"};
  const fs::path& root = config_.location.root;
  const ChunkStore store(config_.location.database(), false, sql::Database::Mode::ReadOnly);
  // Folders outside the root are stored under absolute paths, as search returns them.
  std::string path = fs::path(*named).lexically_normal().generic_string();
  if (!fs::path(path).is_absolute() || !store.find_file(path)) path = indexed_path(*named, root);
  if (!store.find_file(path))
    throw ToolError{cat("get: ", path, " is not in the index (search returns the paths it holds)")};
  const fs::path file = fs::path(path).is_absolute() ? fs::path(path) : root / path;
  if (!fs::exists(file)) throw ToolError{cat("get: ", path, " was indexed but no longer exists")};
  const long long first = argument<long long>(arguments, "start_line", "get").value_or(1);
  const auto last = argument<long long>(arguments, "end_line", "get");
  if (first < 1) throw ToolError{cat("get: start_line is ", first, ": lines are numbered from 1")};
  if (last && *last < 1) throw ToolError{cat("get: end_line is ", *last, ": lines are numbered from 1")};
  // The lines as `ksearch show` reads them (office formats through the ingest readers); past the end is clamped.
  const Document document = read_indexed_document(config_.location, store.settings(), path);
  const DocumentExcerpt excerpt =
      excerpt_lines(document, path, static_cast<std::size_t>(first),
                    last ? static_cast<std::size_t>(*last) : std::numeric_limits<std::size_t>::max(), 0);
  // Whole lines up to max_get_bytes; a first line longer than that is cut at a character boundary.
  std::string text;
  std::size_t taken = 0;
  for (const ExcerptLine& line : excerpt.lines) {
    if (text.size() + line.text.size() + 1 > config_.max_get_bytes) break;
    text += line.text + "\n";
    ++taken;
  }
  bool cut_line = false;
  if (taken == 0 && !excerpt.lines.empty()) {
    std::size_t end = std::min(config_.max_get_bytes, excerpt.lines.front().text.size());
    while (end > 0 && (static_cast<unsigned char>(excerpt.lines.front().text[end]) & 0xC0) == 0x80) --end;
    text = excerpt.lines.front().text.substr(0, end);
    taken = 1;
    cut_line = true;
  }
  const bool truncated = cut_line || taken < excerpt.lines.size();
  const auto page = [](int number) { return number > 0 ? Json(number) : Json(); };
  const std::size_t end_line = excerpt.lines.empty() ? 0 : excerpt.lines[taken - 1].number;
  return {{"path", path},
          {"absolute_path", file.string()},
          {"format", document.format},
          {"start_line", excerpt.lines.empty() ? 0 : excerpt.lines.front().number},
          {"end_line", end_line},
          {"total_lines", excerpt.total_lines},
          {"page", page(excerpt.lines.empty() ? 0 : excerpt.lines.front().page)},
          {"end_page", page(excerpt.lines.empty() ? 0 : excerpt.lines[taken - 1].page)},
          {"truncated", truncated},
          {"next_line", truncated ? Json(end_line + 1) : Json()},
          {"text", text}};
}

Json McpServer::status_tool(const Json& arguments) {
  check_argument_names(arguments, "status", {});
  return index_status_json(read_index_status(config_.location));
}

void McpServer::serve(std::istream& in, std::ostream& out) {
  // A reader thread takes lines as they come, so a notifications/cancelled reaches the request being handled; the
  // calling thread answers them in order.  nullopt in the queue: a line over max_message_bytes.  A client that sends
  // faster than it is answered waits once kMaxQueuedMessages are pending (at most that many times
  // max_message_bytes held), as a pipe makes a writer wait.
  constexpr std::size_t kMaxQueuedMessages = 32;
  std::mutex mutex;
  std::condition_variable ready, room;
  std::deque<std::optional<std::string>> queue;
  bool ended = false;
  std::thread reader([&] {
    std::string line;
    for (bool more = true; more;) {
      line.clear();
      bool too_long = false;
      int c = 0;
      while ((c = in.get()) != std::char_traits<char>::eof() && c != '\n') {
        if (line.size() < config_.max_message_bytes)
          line.push_back(static_cast<char>(c));
        else
          too_long = true;
      }
      more = c != std::char_traits<char>::eof();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!too_long && line.find_first_not_of(" \t") == std::string::npos) continue;
      if (!too_long) {
        try {
          note_cancellations(parse_json(line, "message"));
        } catch (const Error&) {
          // answered as a parse error in turn
        }
      }
      std::unique_lock lock(mutex);
      room.wait(lock, [&] { return queue.size() < kMaxQueuedMessages; });
      queue.push_back(too_long ? std::nullopt : std::optional(line));
      ready.notify_one();
    }
    std::lock_guard lock(mutex);
    ended = true;
    ready.notify_one();
  });
  while (true) {
    std::optional<std::string> line;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return !queue.empty() || ended; });
      if (queue.empty()) break;
      line = std::move(queue.front());
      queue.pop_front();
      room.notify_one();
    }
    std::optional<std::string> answer_text;
    if (!line) {
      log(cat("a message over ", config_.max_message_bytes, " bytes was skipped"));
      answer_text = to_json_text(error_response(
          nullptr, kInvalidRequest, cat("invalid request: message over ", config_.max_message_bytes, " bytes")));
    } else {
      answer_text = answer(*line, false);
    }
    if (answer_text) out << *answer_text << '\n' << std::flush;
  }
  reader.join();
}

}  // namespace ksearch
