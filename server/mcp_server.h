// `ksearch mcp`: a Model Context Protocol server (https://modelcontextprotocol.io/specification/2025-06-18) over
// stdio, so that agents (Claude Code, Claude Desktop, Cursor, ...) search an index.  JSON-RPC 2.0, one message per
// line; docs/mcp.md describes the tools.
//
// Protocol versions 2025-06-18 and 2025-03-26: initialize answers with the client's version when it is one of
// them, else the latest.  JSON-RPC batches (arrays) are accepted only under 2025-03-26, which has them.
// Tools: `search` (the searcher, with the same checks as `ksearch search`), `get` (a document's text or lines,
// through the ingest readers as `ksearch show`) and `status` (as `ksearch status --json`).  A tool that fails
// answers a result with isError and the message; malformed JSON-RPC gets the JSON-RPC error codes.  Requests are
// answered one at a time, in order.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <future>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/version.h"
#include "search/index_location.h"
#include "search/searcher.h"

namespace ksearch {

inline constexpr std::string_view kMcpLatestVersion = "2025-06-18";
inline constexpr std::string_view kMcpPreviousVersion = "2025-03-26";

struct McpConfig {
  IndexLocation location;
  std::string version = kVersion;
  std::size_t max_message_bytes = 1 << 20;  // a longer line is answered "invalid request" and skipped
  std::size_t max_get_bytes = 100000;       // text one `get` returns; the rest is left for a call from next_line
  long long max_results = 100;              // `search`'s k at most: each result carries its passage
  double search_seconds = 30;               // a search running longer is stopped and answered as a tool error
  std::ostream* log = nullptr;              // one line per tool call and failure (stderr); null: quiet
};

class McpServer {
 public:
  // `open_engine` opens the index's search engine (loading its model): once, on a background thread started by
  // start_engine() or by the first search, so that initialize is answered at once.
  McpServer(McpConfig config, std::function<std::shared_ptr<SearchEngine>()> open_engine);
  ~McpServer();
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  void start_engine();

  // Answers one message (a line, without its line break): the response's JSON text, or nothing where JSON-RPC
  // wants no answer (notifications, responses, a batch of notifications).  Never throws for any input.
  std::optional<std::string> handle(std::string_view message);

  // Reads messages from `in` until its end, writing each answer and a line break to `out` and flushing it.  A
  // notifications/cancelled stops the request it names (a search, or the wait for the model) and suppresses its
  // answer, as the spec asks.
  void serve(std::istream& in, std::ostream& out);

  // The version initialize settled on (empty before it).
  const std::string& protocol_version() const { return protocol_version_; }

 private:
  // handle(), noting notifications/cancelled first when `note` (serve()'s reader thread has noted them already).
  std::optional<std::string> answer(std::string_view message, bool note);
  // Marks the request a notifications/cancelled names: the running one stops and gets no answer, a later one is
  // skipped.
  void note_cancellations(const Json& message);
  Json respond(const Json& message, bool in_batch);
  Json dispatch(const std::string& method, const Json& params);
  Json initialize(const Json& params);
  Json tools_call(const Json& params);
  Json search_tool(const Json& arguments);
  Json get_tool(const Json& arguments);
  Json status_tool(const Json& arguments);
  std::shared_ptr<SearchEngine> engine();
  void log(const std::string& line) const;

  McpConfig config_;
  std::function<std::shared_ptr<SearchEngine>()> open_engine_;
  std::shared_future<std::shared_ptr<SearchEngine>> engine_;
  std::string protocol_version_;
  bool initialized_ = false;  // initialize answered (the client's notifications/initialized is not required)
  static constexpr std::size_t kMaxCancelledIds = 1024;
  std::mutex cancel_mutex_;
  std::string running_id_;                    // JSON text of the request's id being answered; empty between requests
  std::set<std::string> cancelled_ids_;       // ids cancelled before their request was read
  std::atomic<bool> cancel_running_ = false;  // the running request was cancelled (the searcher polls it)
};

}  // namespace ksearch
