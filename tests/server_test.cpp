// `ksearch serve` as a process: every route over real HTTP on loopback, transport limits, the API key, and a bounded
// 64-connection load test while `ksearch index` commits changes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "base/files.h"
#include "search/indexer.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

class ServerProcess {
 public:
  ServerProcess(const fs::path& working_dir, std::vector<std::string> arguments) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      if (chdir(working_dir.c_str()) != 0) _exit(127);
      std::vector<char*> argv;
      std::string binary = KSEARCH_BINARY;
      argv.push_back(binary.data());
      for (auto& argument : arguments) argv.push_back(argument.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    port_ = line.empty() ? 0 : Json::parse(line)["port"].get<int>();
  }
  ~ServerProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Sends raw bytes and returns what the server answers before closing (or `wait` passes).
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "connect failed";
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  timeval timeout{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  return answer;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir / "docs" / "seoul.md", "# 서울\n\n서울특별시는 대한민국의 수도이다.\n");
    testing::write_text(dir / "docs" / "busan.txt", "부산은 항구 도시이다.\n");
    options.folders = {dir / "docs"};
    options.model = testing::fixture("tiny-e5-bert").string();
    run_index(options);
  }
  testing::TempDir dir;
  IndexOptions options;
  const std::string reranker = testing::test_data("models/tiny-reranker").string();
};

TEST_F(ServerTest, EveryRouteOverHttpWithApiKey) {
  ServerProcess server(dir / "docs", {"serve", "--port", "0", "--api-key", "s3cret", "--rerank-model", reranker,
                                      "--read-timeout", "1", "--max-body-bytes", "65536"});
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(client.Post("/v1/embeddings", R"({"input": "서울"})", "application/json")->status, 401);

  const auto post = [&](const std::string& path, const Json& body) {
    auto result = client.Post(path.c_str(), auth, body.dump(), "application/json");
    EXPECT_TRUE(result) << path;
    EXPECT_EQ(result->status, 200) << path << ": " << result->body;
    return Json::parse(result->body);
  };
  EXPECT_EQ(post("/v1/embeddings", {{"input", {"서울", "부산"}}})["data"].size(), 2u);
  EXPECT_EQ(post("/embeddings", {{"input", "서울"}, {"encoding_format", "base64"}})["data"][0]["embedding"].is_string(), true);
  EXPECT_EQ(post("/embed", {{"inputs", {"서울"}}})[0].size(), 64u);
  EXPECT_EQ(post("/rerank", {{"query", "수도"}, {"texts", {"서울", "부산"}}}).size(), 2u);
  EXPECT_EQ(post("/tokenize", {{"inputs", "서울"}})[0][0]["id"], 0);
  EXPECT_EQ(post("/v1/rerank", {{"query", "수도"}, {"documents", {"서울", "부산"}}})["results"].size(), 2u);
  const Json found = post("/v1/search", {{"query", "서울에서"}, {"top_k", 1}});
  EXPECT_EQ(found["results"][0]["path"], "seoul.md");
  auto info = client.Get("/info", auth);
  ASSERT_TRUE(info);
  EXPECT_EQ(Json::parse(info->body)["model_type"]["embedding"]["pooling"], "mean");

  // Transport limits: oversized body, malformed request, chunked body, slow client.  The server stays up.
  auto big = client.Post("/v1/embeddings", auth, std::string(70000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(raw_exchange(server.port(), "GARBAGE\r\n\r\n").find("400 Bad Request"), std::string::npos);
  EXPECT_NE(raw_exchange(server.port(), "POST /embed HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").find("411"),
            std::string::npos);
  EXPECT_NE(raw_exchange(server.port(), "GET /health HTTP/1.1\r\nHost: x\r\n").find("408"), std::string::npos);
  EXPECT_NE(raw_exchange(server.port(), "GET /health HTTP/1.0\r\n\r\n").find("\"ok\""), std::string::npos);
  const std::string body = R"({"inputs": "서울"})";
  const std::string continued = raw_exchange(
      server.port(), "POST /embed HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(continued.find("200 OK"), std::string::npos) << continued;
  health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, LoadWhileIndexingCommits) {
  ServerProcess server(dir / "docs", {"serve", "--port", "0", "--no-rerank"});
  ASSERT_GT(server.port(), 0);
  // Every version of every file the writer produces; a search result must be exactly one of them (no torn reads).
  std::mutex known_mutex;
  std::set<std::string> known_texts = {"# 서울\n\n서울특별시는 대한민국의 수도이다.", "부산은 항구 도시이다."};
  std::atomic<bool> done = false;
  std::atomic<int> commits = 0;
  std::thread writer([&] {
    IndexOptions update;
    update.db_dir = dir / "docs" / ".ksearch";
    update.wait_for_lock = true;
    for (int version = 0; !done; ++version) {
      const std::string text = "제주도 버전 " + std::to_string(version) + "은 화산섬이다.";
      {
        std::lock_guard lock(known_mutex);
        known_texts.insert(text);
      }
      testing::write_text(dir / "docs" / "jeju.txt", text + "\n");
      run_index(update);
      ++commits;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::atomic<int> torn = 0, checked = 0;
  std::thread checker([&] {
    httplib::Client client("127.0.0.1", server.port());
    while (!done) {
      auto result = client.Post("/v1/search", R"({"query": "제주도 화산섬", "top_k": 3})", "application/json");
      if (!result || result->status != 200) {
        ++torn;
        continue;
      }
      const Json response = Json::parse(result->body);
      for (const auto& hit : response["results"]) {
        std::lock_guard lock(known_mutex);
        if (!known_texts.contains(hit["text"].get<std::string>())) ++torn;
        ++checked;
      }
    }
  });
  const auto load = [&](const std::string& path, const std::string& body) {
    const std::string command = std::string(KSEARCH_LOAD_BINARY) + " --port " + std::to_string(server.port()) +
                                " --connections 64 --seconds 2 --path " + path + " --body '" + body + "'";
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    pclose(pipe);
    return Json::parse(output);
  };
  const Json search = load("/v1/search", R"({"query": "서울 수도", "top_k": 5})");
  const Json embed = load("/v1/embeddings", R"({"input": "서울특별시는 대한민국의 수도이다."})");
  done = true;
  writer.join();
  checker.join();
  EXPECT_EQ(search["errors"], 0) << search.dump();
  EXPECT_GT(search["requests"].get<int>(), 100);
  EXPECT_EQ(embed["errors"], 0) << embed.dump();
  EXPECT_GT(commits.load(), 2);
  EXPECT_GT(checked.load(), 0);
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace ksearch
