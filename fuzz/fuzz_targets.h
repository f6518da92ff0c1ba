// Entry points exercised by the libFuzzer targets (fuzz/) and replayed by tests/fuzz_regression_test.cpp on the
// crashers kept in tests/data/fuzz/TARGET/.  Each takes arbitrary bytes; expected failures (ksearch::Error,
// SkipFile) are swallowed, anything else (a crash, a sanitizer report, another exception) is a bug.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ksearch::fuzz {

void safetensors_header(std::string_view data);
void pickle(std::string_view data);            // a state dict's data.pkl
void torch_checkpoint(std::string_view data);  // a torch.save zip archive
void model_config(std::string_view data);      // config.json and sentence-transformers JSON
void tokenizer(std::string_view data);         // encode / encode_pair / offsets on arbitrary bytes
void tokenizer_json(std::string_view data);    // a tokenizer.json description, then encoding with it
void text_decoding(std::string_view data);     // BOM, UTF-16, CP949/EUC-KR detection
void html_reader(std::string_view data);
void pdf_reader(std::string_view data);
void docx_reader(std::string_view data);
void hwpx_reader(std::string_view data);
void hwp_reader(std::string_view data);
void chunker(std::string_view data);
void lexical(std::string_view data);        // FTS5 tokens and query terms; a chunk holding the bytes matches them
void http_request(std::string_view data);   // request-head parser, then the API handlers on the body
void hub_listing(std::string_view data);    // the hub's file listing, then the choice of files to download
void http_stream(std::string_view data);    // request framing of a connection's bytes, split into reads two ways
void search_routes(std::string_view data);  // /v1/context, /v1/search, /v1/index on a small index (first byte: route)
void terminal_text(std::string_view data);  // escaping, widths, wrapping and hit location on untrusted text
void mcp_message(std::string_view data);  // MCP JSON-RPC: the input as one message, then line by line after initialize
void last_search(std::string_view data);  // the last-search file `ksearch open` reads

struct Target {
  const char* name;
  void (*run)(std::string_view);
};
const std::vector<Target>& targets();

}  // namespace ksearch::fuzz
