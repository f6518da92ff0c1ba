// The MCP server (server/mcp_server.h): JSON-RPC framing and errors, version negotiation, batches, the tools on a
// lexical index of Korean documents, and `ksearch mcp` end to end (stdout carries only protocol lines).
#include <unistd.h>

#include <gtest/gtest.h>

#include <ext/stdio_filebuf.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "base/files.h"
#include "search/indexer.h"
#include "server/mcp_server.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

// A lexical index of a Markdown file, a DOCX and a PDF, shared by the tests (built once).
class McpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new testing::TempDir();
    const fs::path docs = *folder_ / "docs";
    fs::create_directories(docs / "공지");
    testing::write_text(docs / "시설.md",
                        "# 시설 대여 안내\n\n체육관 대여는 평일 오전 9시부터 가능합니다.\n"
                        "신청은 주민센터에서 받습니다.\n");
    fs::copy_file(testing::test_data("doc-samples/docx-sample-korean-line.docx"), docs / "공지" / "안내.docx");
    fs::copy_file(testing::test_data("doc-samples/pdf-korean-bill-hancom.pdf"), docs / "공지" / "법안.pdf");
    IndexOptions options;
    options.folders = {docs};
    options.no_model = true;
    location_ = run_index(options).location;
  }
  static void TearDownTestSuite() { delete folder_; }

  static McpServer server(McpConfig config = {}) {
    config.location = location_;
    return McpServer(std::move(config), [] {
      EngineOptions options;
      options.load_model = false;
      return SearchEngine::open(location_, options);
    });
  }

  // The answer to `message` as JSON (null when there is none).
  static Json ask(McpServer& server, const Json& message) {
    const auto answer = server.handle(to_json_text(message));
    return answer ? parse_json(*answer, "answer") : Json();
  }

  static Json request(int id, const std::string& method, const Json& params = Json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  }

  static Json initialize(McpServer& server, const std::string& version = std::string(kMcpLatestVersion)) {
    const Json answer = ask(server, request(0, "initialize",
                                            {{"protocolVersion", version},
                                             {"capabilities", Json::object()},
                                             {"clientInfo", {{"name", "test"}, {"version", "1"}}}}));
    ask(server, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return answer;
  }

  static Json call(McpServer& server, const std::string& tool, const Json& arguments) {
    return ask(server, request(7, "tools/call", {{"name", tool}, {"arguments", arguments}}));
  }

  // A tool's structured result; fails the test on a tool error.
  static Json result_of(const Json& answer) {
    EXPECT_FALSE(answer["result"]["isError"].get<bool>()) << answer.dump();
    EXPECT_EQ(parse_json(answer["result"]["content"][0]["text"].get<std::string>(), "text"),
              answer["result"]["structuredContent"]);
    return answer["result"]["structuredContent"];
  }

  // A tool error's message; fails the test when the tool succeeded.
  static std::string error_of(const Json& answer) {
    EXPECT_TRUE(answer["result"]["isError"].get<bool>()) << answer.dump();
    EXPECT_FALSE(answer["result"].contains("structuredContent"));
    return answer["result"]["content"][0]["text"].get<std::string>();
  }

  static testing::TempDir* folder_;
  static IndexLocation location_;
};

testing::TempDir* McpTest::folder_ = nullptr;
IndexLocation McpTest::location_;

TEST_F(McpTest, InitializeAnswersTheClientsVersionWhenKnownElseTheLatest) {
  for (const auto& [asked, answered] : std::vector<std::pair<std::string, std::string>>{{"2025-06-18", "2025-06-18"},
                                                                                        {"2025-03-26", "2025-03-26"},
                                                                                        {"2024-11-05", "2025-06-18"},
                                                                                        {"2099-01-01", "2025-06-18"}}) {
    McpServer mcp = server();
    const Json answer = initialize(mcp, asked);
    EXPECT_EQ(answer["id"], 0);
    EXPECT_EQ(answer["result"]["protocolVersion"], answered) << asked;
    EXPECT_EQ(answer["result"]["serverInfo"]["name"], "ksearch");
    EXPECT_EQ(answer["result"]["capabilities"]["tools"]["listChanged"], false);
    EXPECT_NE(answer["result"]["instructions"].get<std::string>().find(location_.root.string()), std::string::npos);
  }
  McpServer mcp = server();
  EXPECT_EQ(ask(mcp, request(1, "initialize", {{"capabilities", Json::object()}}))["error"]["code"], -32602);
  initialize(mcp);
  EXPECT_EQ(ask(mcp, request(2, "initialize", {{"protocolVersion", "2025-06-18"}}))["error"]["code"], -32600);
}

TEST_F(McpTest, OnlyPingIsAnsweredBeforeInitialize) {
  McpServer mcp = server();
  EXPECT_EQ(ask(mcp, request(1, "ping"))["result"], Json::object());
  const Json early = ask(mcp, request(2, "tools/list"));
  EXPECT_EQ(early["error"]["code"], -32600);
  EXPECT_NE(early["error"]["message"].get<std::string>().find("before initialize"), std::string::npos);
}

TEST_F(McpTest, ToolsListDescribesEachToolWithSchemas) {
  McpServer mcp = server();
  initialize(mcp);
  const Json tools = ask(mcp, request(1, "tools/list"))["result"]["tools"];
  ASSERT_EQ(tools.size(), 3u);
  std::vector<std::string> names;
  for (const Json& tool : tools) {
    names.push_back(tool["name"]);
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
    EXPECT_EQ(tool["outputSchema"]["type"], "object");
    EXPECT_FALSE(tool["description"].get<std::string>().empty());
    EXPECT_EQ(tool["annotations"]["readOnlyHint"], true);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"search", "get", "status"}));
  EXPECT_EQ(tools[0]["inputSchema"]["required"], Json::array({"query"}));
}

TEST_F(McpTest, UnderTheEarlierVersionToolsHaveNoOutputSchemaAndResultsAreText) {
  McpServer mcp = server();
  initialize(mcp, "2025-03-26");
  const Json listed = ask(mcp, request(1, "tools/list"));  // kept: a range-for over a temporary's member dangles
  for (const Json& tool : listed["result"]["tools"]) {
    EXPECT_FALSE(tool.contains("outputSchema"));
    EXPECT_FALSE(tool.contains("title"));
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
  }
  const Json answer = call(mcp, "status", Json::object());
  EXPECT_FALSE(answer["result"].contains("structuredContent"));
  EXPECT_EQ(parse_json(answer["result"]["content"][0]["text"].get<std::string>(), "text")["files"], 3);
}

TEST_F(McpTest, SearchFindsAKoreanQueryWithParticlesAndNamesTheLine) {
  McpServer mcp = server();
  initialize(mcp);
  const Json found = result_of(call(mcp, "search", {{"query", "체육관에서 대여"}, {"k", 2}}));
  EXPECT_EQ(found["mode"], "lexical");
  EXPECT_EQ(found["score_kind"], "bm25");
  ASSERT_FALSE(found["results"].empty());
  const Json& first = found["results"][0];
  EXPECT_EQ(first["rank"], 1);
  EXPECT_EQ(first["path"], "시설.md");
  EXPECT_EQ(first["absolute_path"], (location_.root / "시설.md").string());
  EXPECT_EQ(first["line"], 3);  // the line holding 체육관 and 대여
  EXPECT_EQ(first["page"], nullptr);
  EXPECT_NE(first["text"].get<std::string>().find("체육관 대여는"), std::string::npos);
  EXPECT_LE(found["results"].size(), 2u);
}

TEST_F(McpTest, SearchFiltersByExtensionAndPath) {
  McpServer mcp = server();
  initialize(mcp);
  const Json everything = result_of(call(mcp, "search", {{"query", "법률안"}, {"k", 10}}));
  for (const Json& ext : {Json("PDF"), Json(".pdf"), Json::array({"pdf", "docx"}), Json("pdf,docx")}) {
    const Json pdf = result_of(call(mcp, "search", {{"query", "법률안"}, {"ext", ext}}));
    ASSERT_FALSE(pdf["results"].empty()) << ext;
    for (const Json& hit : pdf["results"]) {
      EXPECT_TRUE(hit["path"].get<std::string>().ends_with(".pdf")) << hit["path"];
      EXPECT_GE(hit["page"].get<int>(), 1);
    }
  }
  const Json none = result_of(call(mcp, "search", {{"query", "법률안"}, {"path", "*.md"}}));
  EXPECT_TRUE(none["results"].empty());
  EXPECT_FALSE(everything["results"].empty());
}

TEST_F(McpTest, BadSearchArgumentsAreToolErrorsNamingTheArgument) {
  McpServer mcp = server();
  initialize(mcp);
  const std::vector<std::pair<Json, std::string>> cases = {
      {Json::object(), "argument 'query' is missing"},
      {{{"query", "  "}}, "query is empty"},
      {{{"query", 3}}, "argument 'query' must be a string, not 3"},
      {{{"query", "서울"}, {"k", 0}}, "k is 0: ask for 1 to 100 results"},
      {{{"query", "서울"}, {"k", -1}}, "k is -1"},
      {{{"query", "서울"}, {"k", 101}}, "k is 101"},
      {{{"query", "서울"}, {"k", "abc"}}, "argument 'k' must be an integer, not \"abc\""},
      {{{"query", "서울"}, {"k", 2.5}}, "argument 'k' must be an integer, not 2.5"},
      {{{"query", "서울"}, {"mode", "fuzzy"}}, "unknown search mode 'fuzzy'"},
      {{{"query", "서울"}, {"mode", "dense"}}, "no embedding model"},
      {{{"query", "서울"}, {"ext", Json::array({"pdf", 1})}}, "argument 'ext' must be a string or an array"},
      {{{"query", "서울"}, {"ext", "."}}, "extension '.' is empty"},
      {{{"query", "서울"}, {"rerank", "yes"}}, "argument 'rerank' must be true or false"},
      {{{"query", "서울"}, {"top_k", 3}}, "unknown argument 'top_k' (search takes query, k, mode, path, ext, rerank)"},
      {{{"query", std::string(kMaxQueryBytes + 1, 'a')}}, "over the limit"},
  };
  for (const auto& [arguments, expected] : cases) {
    const std::string message = error_of(call(mcp, "search", arguments));
    EXPECT_NE(message.find(expected), std::string::npos) << arguments << " -> " << message;
  }
}

TEST_F(McpTest, GetReturnsLinesOfTextAndOfficeDocuments) {
  McpServer mcp = server();
  initialize(mcp);
  const Json lines = result_of(call(mcp, "get", {{"path", "시설.md"}, {"start_line", 3}, {"end_line", 4}}));
  EXPECT_EQ(lines["text"], "체육관 대여는 평일 오전 9시부터 가능합니다.\n신청은 주민센터에서 받습니다.\n");
  EXPECT_EQ(lines["start_line"], 3);
  EXPECT_EQ(lines["end_line"], 4);
  EXPECT_EQ(lines["total_lines"], 4);
  EXPECT_EQ(lines["truncated"], false);
  EXPECT_EQ(lines["next_line"], nullptr);
  EXPECT_EQ(lines["format"], "markdown");
  // An absolute path inside the root, and end_line past the end (clamped).
  const Json whole = result_of(call(mcp, "get", {{"path", (location_.root / "시설.md").string()}, {"end_line", 1000}}));
  EXPECT_EQ(whole["end_line"], 4);
  EXPECT_EQ(whole["text"], read_file(location_.root / "시설.md"));

  const Json docx = result_of(call(mcp, "get", {{"path", "공지/안내.docx"}}));
  EXPECT_EQ(docx["format"], "docx");
  EXPECT_EQ(docx["text"].get<std::string>() + (docx["text"].get<std::string>().ends_with("\n") ? "" : "\n"),
            read_file(testing::test_data("doc-samples/docx-sample-korean-line.expected.txt")));
  const Json pdf = result_of(call(mcp, "get", {{"path", "공지/법안.pdf"}, {"start_line", 1}, {"end_line", 1}}));
  EXPECT_EQ(pdf["format"], "pdf");
  EXPECT_EQ(pdf["page"], 1);
}

TEST_F(McpTest, GetBoundsItsOutputAtALineAndSaysWhereToGoOn) {
  McpConfig config;
  config.max_get_bytes = 60;
  McpServer mcp = server(config);
  initialize(mcp);
  const Json first = result_of(call(mcp, "get", {{"path", "시설.md"}}));
  EXPECT_EQ(first["truncated"], true);
  EXPECT_LE(first["text"].get<std::string>().size(), 60u);
  EXPECT_EQ(first["text"], "# 시설 대여 안내\n\n");
  EXPECT_EQ(first["end_line"], 2);
  EXPECT_EQ(first["next_line"], 3);
  // Line 3 alone is longer than 60 bytes: cut at a character boundary, valid UTF-8.
  const Json cut = result_of(call(mcp, "get", {{"path", "시설.md"}, {"start_line", 3}}));
  EXPECT_EQ(cut["truncated"], true);
  EXPECT_EQ(cut["next_line"], 4);
  const std::string text = cut["text"];
  EXPECT_LE(text.size(), 60u);
  EXPECT_TRUE(std::string("체육관 대여는 평일 오전 9시부터 가능합니다.").starts_with(text)) << text;
}

TEST_F(McpTest, GetRefusesFilesOutsideTheIndex) {
  McpServer mcp = server();
  initialize(mcp);
  testing::write_text(location_.root / "새파일.txt", "아직 색인되지 않은 파일\n");
  const std::vector<std::pair<Json, std::string>> cases = {
      {{{"path", "/etc/passwd"}}, "outside the index root"},
      {{{"path", "../../etc/passwd"}}, "outside the index root"},
      {{{"path", "공지/../../x"}}, "outside the index root"},
      {{{"path", ""}}, "argument 'path' is empty"},
      {Json::object(), "argument 'path' is missing"},
      {{{"path", "새파일.txt"}}, "새파일.txt is not in the index"},
      {{{"path", "시설.md"}, {"start_line", 0}}, "start_line is 0"},
      {{{"path", "시설.md"}, {"start_line", 9}}, "get: 시설.md: line 9 is past its end (4 lines)"},
      {{{"path", "시설.md"}, {"start_line", 3}, {"end_line", 2}}, "get: 시설.md: end line 2 is before line 3"},
      {{{"path", "시설.md"}, {"lines", 2}}, "unknown argument 'lines'"},
  };
  for (const auto& [arguments, expected] : cases) {
    const std::string message = error_of(call(mcp, "get", arguments));
    EXPECT_NE(message.find(expected), std::string::npos) << arguments << " -> " << message;
  }
  fs::remove(location_.root / "새파일.txt");
}

TEST_F(McpTest, GetSaysWhenAnIndexedFileIsGone) {
  McpServer mcp = server();
  initialize(mcp);
  const fs::path file = location_.root / "시설.md";
  const std::string kept = read_file(file);
  fs::remove(file);
  const std::string message = error_of(call(mcp, "get", {{"path", "시설.md"}}));
  testing::write_text(file, kept);
  EXPECT_NE(message.find("시설.md was indexed but no longer exists"), std::string::npos) << message;
}

TEST_F(McpTest, StatusIsWhatKsearchStatusComputes) {
  McpServer mcp = server();
  initialize(mcp);
  const Json status = result_of(call(mcp, "status", Json::object()));
  EXPECT_EQ(status["files"], 3);
  EXPECT_EQ(status["model"], nullptr);
  EXPECT_EQ(status["root"], location_.root.string());
  EXPECT_GT(status["chunks"].get<int>(), 2);
  EXPECT_NE(error_of(call(mcp, "status", {{"verbose", true}})).find("unknown argument 'verbose'"), std::string::npos);
}

TEST_F(McpTest, MalformedMessagesGetJsonRpcErrors) {
  McpServer mcp = server();
  initialize(mcp);
  const auto error = [&](std::string_view text) {
    const auto answer = mcp.handle(text);
    EXPECT_TRUE(answer.has_value()) << text;
    return answer ? parse_json(*answer, "answer") : Json();
  };
  EXPECT_EQ(error("{\"jsonrpc\": \"2.0\", \"id\": 1, ")["error"]["code"], -32700);
  EXPECT_EQ(error("{\"jsonrpc\": \"2.0\", \"id\": 1, ")["id"], nullptr);
  EXPECT_EQ(error("\"just a string\"")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"id": 1, "method": "ping"})")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"jsonrpc": "1.0", "id": 1, "method": "ping"})")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": 1, "method": 5})")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": 1})")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": null, "method": "ping"})")["error"]["code"], -32600);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"})")["error"]["code"], -32600);
  const Json unknown = error(R"({"jsonrpc": "2.0", "id": "a-7", "method": "resources/list"})");
  EXPECT_EQ(unknown["error"]["code"], -32601);
  EXPECT_EQ(unknown["id"], "a-7");
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": [1]})")["error"]["code"], -32602);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {}})")["error"]["code"], -32602);
  EXPECT_EQ(error(R"({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "search",
                      "arguments": [1]}})")["error"]["code"],
            -32602);
  const Json unknown_tool = error(R"({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "rm"}})");
  EXPECT_EQ(unknown_tool["error"]["code"], -32602);
  EXPECT_EQ(unknown_tool["error"]["message"], "Unknown tool: rm (the tools are search, get and status)");
  std::string deep(kMaxJsonDepth + 10, '[');
  EXPECT_EQ(error(deep)["error"]["code"], -32700);
}

TEST_F(McpTest, NotificationsAndResponsesGetNoAnswer) {
  McpServer mcp = server();
  initialize(mcp);
  EXPECT_FALSE(mcp.handle(R"({"jsonrpc": "2.0", "method": "notifications/initialized"})"));
  EXPECT_FALSE(mcp.handle(R"({"jsonrpc": "2.0", "method": "notifications/cancelled",
                              "params": {"requestId": 7, "reason": "user"}})"));
  EXPECT_FALSE(mcp.handle(R"({"jsonrpc": "2.0", "method": "notifications/whatever", "params": 1})"));
  EXPECT_FALSE(mcp.handle(R"({"jsonrpc": "2.0", "id": 5, "result": {}})"));
  EXPECT_FALSE(mcp.handle(R"({"jsonrpc": "2.0", "id": 5, "error": {"code": 1, "message": "x"}})"));
  EXPECT_EQ(ask(mcp, request(9, "ping"))["result"], Json::object());  // still answering
}

TEST_F(McpTest, BatchesAreAcceptedOnlyUnderTheVersionThatHasThem) {
  McpServer latest = server();
  initialize(latest);
  const Json batch = Json::array({request(1, "ping"), {{"jsonrpc", "2.0"}, {"method", "notifications/x"}}});
  const Json refused = ask(latest, batch);
  EXPECT_EQ(refused["error"]["code"], -32600);
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("2025-06-18 has no JSON-RPC batches"),
            std::string::npos);
  McpServer fresh = server();
  EXPECT_EQ(ask(fresh, Json::array({request(0, "initialize", {{"protocolVersion", "2025-03-26"}})}))["error"]["code"],
            -32600);

  McpServer previous = server();
  initialize(previous, "2025-03-26");
  const Json answers = ask(previous, Json::array({request(1, "ping"),
                                                  {{"jsonrpc", "2.0"}, {"method", "notifications/x"}},
                                                  request(2, "tools/list"),
                                                  Json(3)}));
  ASSERT_TRUE(answers.is_array());
  ASSERT_EQ(answers.size(), 3u);  // the notification gets none
  EXPECT_EQ(answers[0]["id"], 1);
  EXPECT_EQ(answers[1]["result"]["tools"].size(), 3u);
  EXPECT_EQ(answers[2]["error"]["code"], -32600);
  EXPECT_FALSE(previous.handle(to_json_text(Json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/x"}}}))));
  EXPECT_EQ(ask(previous, Json::array())["error"]["code"], -32600);
  EXPECT_EQ(
      ask(previous, Json::array({request(4, "initialize", {{"protocolVersion", "2025-03-26"}})}))[0]["error"]["code"],
      -32600);
}

TEST_F(McpTest, InitializeDoesNotWaitForTheModelAndAFailedLoadIsAToolError) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  McpConfig config;
  config.location = location_;
  McpServer mcp(config, [released]() -> std::shared_ptr<SearchEngine> {
    released.wait();
    fail("model.safetensors: cannot read (a model that fails to load)");
  });
  mcp.start_engine();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(initialize(mcp)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(call(mcp, "status", Json::object())["result"]["isError"], false);  // needs no model
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  release.set_value();
  for (int attempt = 0; attempt < 2; ++attempt)
    EXPECT_NE(error_of(call(mcp, "search", {{"query", "서울"}})).find("a model that fails to load"), std::string::npos);
}

TEST_F(McpTest, ServeAnswersLineByLineAndSkipsAnOversizedMessage) {
  McpConfig config;
  config.max_message_bytes = 200;
  McpServer mcp = server(config);
  std::istringstream in(
      to_json_text(request(0, "initialize", {{"protocolVersion", "2025-06-18"}})) + "\r\n\n   \n" +
      to_json_text(request(1, "tools/call", {{"name", "search"}, {"arguments", {{"query", std::string(300, 'x')}}}})) +
      "\n" + R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n" +
      to_json_text(request(2, "ping")));  // the last line has no line break
  std::ostringstream out;
  mcp.serve(in, out);
  std::istringstream lines(out.str());
  std::vector<Json> answers;
  for (std::string line; std::getline(lines, line);) answers.push_back(parse_json(line, "line"));
  ASSERT_EQ(answers.size(), 3u) << out.str();
  EXPECT_EQ(answers[0]["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(answers[1]["error"]["code"], -32600);
  EXPECT_NE(answers[1]["error"]["message"].get<std::string>().find("over 200 bytes"), std::string::npos);
  EXPECT_EQ(answers[2]["id"], 2);
  EXPECT_TRUE(out.str().ends_with("\n"));
}

// More messages than the reader holds at once (a client writing without waiting for answers): each is answered, in
// order, and nothing is dropped.
TEST_F(McpTest, AFloodOfMessagesIsAnsweredInOrder) {
  McpServer mcp = server();
  std::string messages = to_json_text(request(0, "initialize", {{"protocolVersion", "2025-06-18"}})) + "\n";
  constexpr int kPings = 500;
  for (int id = 1; id <= kPings; ++id) messages += to_json_text(request(id, "ping")) + "\n";
  std::istringstream in(messages);
  std::ostringstream out;
  mcp.serve(in, out);
  std::istringstream lines(out.str());
  int expected = 0;
  for (std::string line; std::getline(lines, line); ++expected) ASSERT_EQ(parse_json(line, "line")["id"], expected);
  EXPECT_EQ(expected, kPings + 1);
}

Json cancellation(int id) {
  return {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", id}}}};
}

TEST_F(McpTest, ACancelledRequestStopsAndGetsNoAnswer) {
  std::promise<void> loading, release;
  std::shared_future<void> released = release.get_future().share();
  McpConfig config;
  config.location = location_;
  McpServer mcp(config, [&loading, released] {
    loading.set_value();
    released.wait();  // a model that takes until the end of the test to load
    EngineOptions options;
    options.load_model = false;
    return SearchEngine::open(location_, options);
  });
  // The client's side of stdin is a pipe, written step by step.
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  __gnu_cxx::stdio_filebuf<char> input(pipe_ends[0], std::ios::in);
  std::istream in(&input);
  std::ostringstream out;
  std::thread server([&] { mcp.serve(in, out); });
  const auto send = [&](const Json& message) {
    const std::string line = to_json_text(message) + "\n";
    ASSERT_EQ(::write(pipe_ends[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
  };
  send(request(0, "initialize", {{"protocolVersion", "2025-06-18"}}));
  send(request(5, "tools/call", {{"name", "search"}, {"arguments", {{"query", "서울"}}}}));
  loading.get_future().wait();  // request 5 now waits for the model
  send(cancellation(5));
  send(request(6, "ping"));
  ::close(pipe_ends[1]);
  server.join();
  release.set_value();
  std::istringstream lines(out.str());
  std::vector<Json> ids;
  for (std::string line; std::getline(lines, line);) ids.push_back(parse_json(line, "line")["id"]);
  EXPECT_EQ(ids, (std::vector<Json>{0, 6})) << out.str();
}

TEST_F(McpTest, ARequestCancelledBeforeItIsReadIsSkipped) {
  McpServer mcp = server();
  initialize(mcp);
  EXPECT_FALSE(mcp.handle(to_json_text(cancellation(7))));
  EXPECT_FALSE(mcp.handle(to_json_text(request(7, "tools/call", {{"name", "status"}}))));
  EXPECT_EQ(ask(mcp, request(8, "ping"))["id"], 8);
}

TEST_F(McpTest, KsearchMcpSpeaksOnlyProtocolOnStdout) {
  const std::string input =
      to_json_text(request(0, "initialize", {{"protocolVersion", "2025-03-26"}})) + "\n" +
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n" +
      to_json_text(request(1, "tools/call", {{"name", "search"}, {"arguments", {{"query", "주민센터에서 신청"}}}})) +
      "\n" + to_json_text(request(2, "tools/call", {{"name", "status"}})) + "\n";
  // --index names the indexed folder here; the index folder itself works too.
  for (const fs::path& index : {location_.root, location_.dir}) {
    const auto run = testing::run_ksearch({"mcp", "--index", index.string()}, input);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::istringstream lines(run.out);
    std::vector<Json> answers;
    for (std::string line; std::getline(lines, line);) answers.push_back(parse_json(line, "stdout line"));
    ASSERT_EQ(answers.size(), 3u) << run.out;
    EXPECT_EQ(answers[0]["result"]["protocolVersion"], "2025-03-26");
    const auto text = [](const Json& answer) {  // 2025-03-26: results as JSON text
      return parse_json(answer["result"]["content"][0]["text"].get<std::string>(), "text");
    };
    EXPECT_EQ(text(answers[1])["results"][0]["path"], "시설.md");
    EXPECT_EQ(text(answers[2])["files"], 3);
    EXPECT_NE(run.err.find("ksearch mcp: serving"), std::string::npos) << run.err;
  }
  const auto missing = testing::run_ksearch({"mcp", "--index", (*folder_ / "nowhere").string()}, input);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.out.empty());
  EXPECT_NE(missing.err.find("no ksearch index"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ksearch
