#include "fuzz/fuzz_targets.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "base/display_width.h"
#include "base/env.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json.h"
#include "base/utf8.h"
#include "embed/embedder.h"
#include "embed/model_hub.h"
#include "embed/pickle_reader.h"
#include "embed/safetensors.h"
#include "embed/tokenizer_json.h"
#include "embed/torch_checkpoint.h"
#include "embed/unicode_text.h"
#include "ingest/chunker.h"
#include "ingest/document.h"
#include "ingest/readers.h"
#include "search/hit_location.h"
#include "search/indexer.h"
#include "search/last_search.h"
#include "search/searcher.h"
#include "server/api.h"
#include "server/http_parser.h"
#include "server/mcp_server.h"
#include "store/chunk_store.h"
#include "store/lexical.h"
#include "store/rescore.h"

namespace ksearch::fuzz {
namespace {

// The tiny fixture model, for targets that need a tokenizer or an encoder ($KSEARCH_FUZZ_MODEL overrides).
std::shared_ptr<const Model> fixture_model() {
  static const std::shared_ptr<const Model> model = [] {
    const std::filesystem::path dir = env::text("KSEARCH_FUZZ_MODEL").value_or(KSEARCH_FUZZ_FIXTURE);
    return Model::load_dir(dir, "fuzz");
  }();
  return model;
}

bool utf8_invalid(std::string_view text) { return utf8::find_invalid(text).has_value(); }

template <typename Function>
void expecting_errors(Function&& function) {
  try {
    function();
  } catch (const Error&) {
    // Bad input is expected to be refused with an Error (SkipFile included).
  }
}

void reader(std::string_view data, Document (*read)(std::string_view)) {
  expecting_errors([&] {
    const Document document = read(data);
    KSEARCH_ASSERT(!utf8_invalid(document.text));
  });
}

}  // namespace

void safetensors_header(std::string_view data) {
  expecting_errors([&] {
    std::map<std::string, std::string> metadata;
    const auto bytes = std::span(reinterpret_cast<const std::byte*>(data.data()), data.size());
    for (const TensorView& tensor : SafetensorsFile::parse_header(bytes, "fuzz", &metadata))
      if (tensor.dtype == DType::F32 || tensor.dtype == DType::F16 || tensor.dtype == DType::BF16) to_float32(tensor);
  });
}

void pickle(std::string_view data) {
  expecting_errors(
      [&] { read_state_dict_pickle(std::span(reinterpret_cast<const std::byte*>(data.data()), data.size()), "fuzz"); });
}

void torch_checkpoint(std::string_view data) {
  expecting_errors([&] {
    const auto bytes = std::span(reinterpret_cast<const std::byte*>(data.data()), data.size());
    for (const TensorView& tensor : TorchCheckpoint::parse(bytes, "fuzz"))
      if (tensor.dtype == DType::F32 || tensor.dtype == DType::F16 || tensor.dtype == DType::BF16) to_float32(tensor);
  });
}

void model_config(std::string_view data) {
  expecting_errors([&] { TransformerConfig::from_json(parse_json(data, "config.json"), "config.json"); });
}

void tokenizer(std::string_view data) {
  const auto model = fixture_model();
  expecting_errors([&] {
    const std::size_t split = data.empty() ? 0 : static_cast<unsigned char>(data[0]) % (data.size() + 1);
    model->tokenizer.encode(data, 512);
    model->tokenizer.encode(data, 3);
    model->tokenizer.encode_pair(data.substr(0, split), data.substr(split), 64);
    for (const auto& span : model->tokenizer.tokenize_with_offsets(data)) KSEARCH_ASSERT(span.end <= data.size());
  });
}

void tokenizer_json(std::string_view data) {
  expecting_errors([&] {
    const auto tokenizer = TokenizerJson::parse(data, "tokenizer.json");
    const std::string text = "서울 특별시 <mask>  [CLS] Ａｂｃ 123 \u1112\u1161\u11ab 👩\u200d👩 \t끝";
    const NormalizedText composed = unicode::normalize(NormalizedText::identity(text), unicode::Form::Nfc);
    for (const auto& span : tokenizer->tokenize(composed)) {
      KSEARCH_ASSERT(span.begin <= span.end && span.end <= text.size());
      KSEARCH_ASSERT(span.id >= 0 && span.id <= tokenizer->max_id());
    }
  });
}

void text_decoding(std::string_view data) {
  expecting_errors([&] {
    Document document;
    KSEARCH_ASSERT(!utf8_invalid(decode_text(data, document)));
  });
}

void hub_listing(std::string_view data) {
  expecting_errors([&] {
    for (const HubFile& file : select_model_files(parse_hub_listing(data, "listing").files))
      KSEARCH_ASSERT(!file.name.empty() && file.name.find("..") == std::string::npos);
  });
}

void html_reader(std::string_view data) { reader(data, read_html); }
void pdf_reader(std::string_view data) { reader(data, read_pdf); }
void docx_reader(std::string_view data) {
  reader(data, [](std::string_view bytes) { return read_docx(bytes, DocumentLimits{}); });
}
void hwpx_reader(std::string_view data) {
  reader(data, [](std::string_view bytes) { return read_hwpx(bytes, DocumentLimits{}); });
}
void hwp_reader(std::string_view data) {
  reader(data, [](std::string_view bytes) { return read_hwp(bytes, DocumentLimits{}); });
}

void chunker(std::string_view data) {
  Document document;
  document.text = std::string(data);
  if (utf8_invalid(document.text)) return;  // the chunker's contract: valid UTF-8 in
  ChunkOptions options;
  options.max_tokens = 16 + (data.empty() ? 0 : static_cast<unsigned char>(data[0]) % 64);
  options.overlap_tokens = options.max_tokens / 4;
  for (const TextChunk& chunk : chunk_document(document, estimated_token_offsets, options)) {
    KSEARCH_ASSERT(chunk.byte_end <= document.text.size() && chunk.byte_begin <= chunk.byte_end);
    KSEARCH_ASSERT(!utf8_invalid(chunk.text));
  }
}

void terminal_text(std::string_view data) {
  // Escaped text must hold no byte a terminal interprets, and must wrap and fit to any width.
  const std::string escaped = escape_controls(data);
  KSEARCH_ASSERT(!utf8_invalid(escaped));
  for (const char c : escaped) KSEARCH_ASSERT(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  const std::size_t columns = 1 + (data.empty() ? 0 : static_cast<unsigned char>(data[0]) % 100);
  for (const auto& [begin, end] : wrap_lines(escaped, columns)) {
    KSEARCH_ASSERT(begin <= end && end <= escaped.size());
    const std::size_t width = display_width(std::string_view(escaped).substr(begin, end - begin));
    KSEARCH_ASSERT(width <= std::max<std::size_t>(columns, 2));  // a wide character alone may pass a 1-column line
  }
  KSEARCH_ASSERT(display_width(fit_width(escaped, columns)) <= columns);
  KSEARCH_ASSERT(display_width(fit_width_from_end(escaped, columns)) <= columns);
  // The hit locator on the text as a chunk, with its first half as the query.
  ChunkRecord chunk;
  chunk.line_begin = 1;
  chunk.text = std::string(data);
  const HitLocation location = locate_hit(chunk, data.substr(0, data.size() / 2));
  KSEARCH_ASSERT(location.line >= 1 && location.column >= 1);
}

void lexical(std::string_view data) {
  for (const LexicalToken& token : lexical_tokens(data)) {
    KSEARCH_ASSERT(!token.text.empty() && token.begin < token.end && token.end <= data.size());
    KSEARCH_ASSERT(!utf8_invalid(token.text));
  }
  const LexicalQuery query = lexical_query(data);
  if (utf8_invalid(data) || query.expression.empty()) return;  // chunks hold valid UTF-8
  TermWeights term_weights;
  for (const std::string& term : query.terms) term_weights.emplace(term, 1.0);
  const double cover = best_sentence_window(data, term_weights);  // some window holds a term of the text's own
  KSEARCH_ASSERT(cover >= 1 && cover <= static_cast<double>(term_weights.size()));
  const double named = file_name_match(data, term_weights);
  KSEARCH_ASSERT(named >= 0 && named <= static_cast<double>(term_weights.size()));
  // One database for the whole run, removed (with its WAL files) at exit.
  struct ScratchStore {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("ksearch-fuzz-lexical-" + std::to_string(getpid()) + ".db");
    std::unique_ptr<ChunkStore> open = std::make_unique<ChunkStore>(path, true);
    ~ScratchStore() {
      open.reset();
      std::error_code ignored;
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ignored);
    }
  };
  static ScratchStore scratch;
  ChunkStore* const store = scratch.open.get();
  FileUpdate update;
  update.file = {0, "fuzz.txt", static_cast<std::int64_t>(data.size()), 1, "h", FileStatus::Indexed, "", 0, 0, 1};
  update.chunks.push_back({});
  update.chunks[0].text = std::string(data);
  store->replace_files(std::span(&update, 1), 0);
  KSEARCH_ASSERT(store->lexical_search(query, 1).size() == 1);  // a text always matches its own terms
  const std::string path = update.file.path;
  store->remove_files(std::span(&path, 1));
  KSEARCH_ASSERT(store->lexical_search(query, 1).empty());
}

void http_request(std::string_view data) {
  static const std::unique_ptr<Api> api = [] {
    auto model = fixture_model();
    return std::make_unique<Api>(ApiConfig{}, nullptr, std::make_shared<const Embedder>(model), nullptr);
  }();
  const std::size_t head_end = data.find("\r\n\r\n");
  // The transport reads Origin from heads it refuses, so it must take any bytes.
  const std::string origin = header_in_raw_head(data, "origin");
  KSEARCH_ASSERT(origin.size() <= data.size());
  HeadError error{};
  if (head_end == std::string_view::npos) {
    parse_request_head(data, 1 << 20, error);
    return;
  }
  auto head = parse_request_head(data.substr(0, head_end), 1 << 20, error);
  if (!head) return;
  head->request.body = std::string(data.substr(head_end + 4));
  const HttpResponse response = api->handle(head->request);
  KSEARCH_ASSERT(response.status >= 200 && response.status < 600);
  format_response(response, head->keep_alive);
}

void search_routes(std::string_view data) {
  // One lexical-only index of two files for the whole run, removed at exit.
  struct ScratchIndex {
    std::filesystem::path folder =
        std::filesystem::temp_directory_path() / ("ksearch-fuzz-search-" + std::to_string(getpid()));
    std::unique_ptr<Api> api;
    ScratchIndex() {
      std::filesystem::create_directories(folder / "도시");
      write_file_atomically(folder / "도시" / "seoul.md",
                            "# 서울\n\n서울특별시는 대한민국의 수도이다.\n한강이 흐른다.\n");
      write_file_atomically(folder / "busan.txt", "부산은 항구 도시이다.\n");
      IndexOptions options;
      options.folders = {folder};
      options.no_model = true;
      run_index(options);
      api = std::make_unique<Api>(ApiConfig{}, SearchEngine::open(IndexLocation::for_folder(folder)), nullptr, nullptr);
    }
    ~ScratchIndex() {
      api.reset();
      std::error_code ignored;
      std::filesystem::remove_all(folder, ignored);
    }
  };
  static ScratchIndex scratch;
  if (data.empty()) return;
  // The first byte picks the route; the rest is the body.
  static const char* const kPaths[] = {"/v1/context", "/v1/search", "/v1/index"};
  const std::string path = kPaths[static_cast<unsigned char>(data.front()) % 3];
  data.remove_prefix(1);
  const HttpResponse response =
      scratch.api->handle({path == "/v1/index" ? "GET" : "POST", path, {}, std::string(data)});
  KSEARCH_ASSERT(response.status >= 200 && response.status < 600);
  if (path == "/v1/context" && response.status == 200) {
    const Json excerpt = parse_json(response.body, "response");
    KSEARCH_ASSERT(excerpt["path"] == "도시/seoul.md" || excerpt["path"] == "busan.txt");  // only indexed files
  }
}

namespace {

// What framing a byte stream yields: each request (method, path, body, keep-alive), then the failure status if any.
std::vector<std::string> frame_stream(std::string_view data, std::size_t read_size) {
  std::vector<std::string> outcomes;
  std::string input;
  std::optional<RequestHead> pending;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t take = std::min(read_size, data.size() - at);
    input.append(data.substr(at, take));
    at += take;
    while (true) {
      FramedRequest framed;
      HeadError error{};
      const Framing step = frame_request(input, pending, 1024, 4096, framed, error);
      if (step == Framing::NeedMore) break;
      if (step == Framing::Failed) {
        KSEARCH_ASSERT(error.status >= 400 && error.status < 600);
        outcomes.push_back("failed " + std::to_string(error.status));
        return outcomes;
      }
      KSEARCH_ASSERT(framed.request.body.size() <= 4096);
      outcomes.push_back(framed.request.method + " " + framed.request.path + " " + framed.request.body +
                         (framed.keep_alive ? " keep" : " close"));
    }
  }
  return outcomes;
}

}  // namespace

void http_stream(std::string_view data) {
  if (data.empty()) return;
  // The first byte picks a read size; the framing must not depend on how the stream was split.
  const std::size_t read_size = static_cast<unsigned char>(data.front()) % 64 + 1;
  data.remove_prefix(1);
  KSEARCH_ASSERT(frame_stream(data, read_size) == frame_stream(data, data.size() + 1));
}

namespace {

// An answer is one JSON-RPC message, or a batch of them.
void check_mcp_answer(const std::optional<std::string>& answer) {
  if (!answer) return;
  KSEARCH_ASSERT(Json::accept(*answer));
  const Json parsed = parse_json(*answer, "answer");
  KSEARCH_ASSERT(parsed.is_object() || (parsed.is_array() && !parsed.empty()));
  for (const Json& message : parsed.is_array() ? parsed : Json::array({parsed}))
    KSEARCH_ASSERT(message.at("jsonrpc") == "2.0" && (message.contains("result") != message.contains("error")));
}

}  // namespace

void mcp_message(std::string_view data) {
  // No index behind it: the tools fail with errors, which must come back as tool errors, not crashes.
  McpConfig config;
  config.location = IndexLocation::at("/nonexistent/ksearch-fuzz/.ksearch");
  McpServer server(config, []() -> std::shared_ptr<SearchEngine> { fail("no index in a fuzz run"); });
  check_mcp_answer(server.handle(data));
  // The first byte picks the version, so batches (2025-03-26 only) are reached too.
  const std::string version(!data.empty() && data[0] % 2 != 0 ? kMcpPreviousVersion : kMcpLatestVersion);
  check_mcp_answer(server.handle(
      cat(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")", version, "\"}}")));
  std::istringstream in{std::string(data)};
  std::ostringstream out;
  server.serve(in, out);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) check_mcp_answer(line);
}

void last_search(std::string_view data) {
  try {
    const LastSearch last = parse_last_search(data, "last-search.json");
    for (const ChunkRecord& chunk : last.results)
      KSEARCH_ASSERT(!chunk.path.empty() && chunk.line_begin >= 1 && chunk.line_end >= chunk.line_begin);
    if (!last.results.empty()) KSEARCH_ASSERT(&last.result(1) == &last.results.front());
  } catch (const Error&) {
  }
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"safetensors", safetensors_header},
      {"config", model_config},
      {"tokenizer", tokenizer},
      {"tokenizer_json", tokenizer_json},
      {"text", text_decoding},
      {"html", html_reader},
      {"pdf", pdf_reader},
      {"docx", docx_reader},
      {"hwpx", hwpx_reader},
      {"hwp", hwp_reader},
      {"chunker", chunker},
      {"http", http_request},
      {"pickle", pickle},
      {"torch_checkpoint", torch_checkpoint},
      {"hub_listing", hub_listing},
      {"http_stream", http_stream},
      {"search_routes", search_routes},
      {"terminal", terminal_text},
      {"lexical", lexical},
      {"mcp", mcp_message},
      {"last_search", last_search},
  };
  return all;
}

}  // namespace ksearch::fuzz
