// `ksearch serve` as a process: every route over real HTTP on loopback, transport limits, the API key, and a bounded
// 64-connection load test while `ksearch index` commits changes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

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
    if (pid_ > 0) stop(SIGTERM);
  }
  // Sends `signal` and returns the wait status.
  int stop(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Sends raw bytes and returns what the server answers before closing (or `wait` passes).
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
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

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends on `fd` until it closes or `wait` passes; "RESET" is appended after a connection reset.
std::string read_all(int fd, std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
  timeval timeout{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  if (n < 0 && errno == ECONNRESET) answer += "RESET";
  return answer;
}

// Milliseconds a GET /health takes on a fresh connection; -1 if it fails.
double health_ms(int port) {
  const auto start = std::chrono::steady_clock::now();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20);
  const auto result = client.Get("/health");
  if (!result || result->status != 200) return -1;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Room for a thousand sockets in this process.
void raise_open_file_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
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
  EXPECT_EQ(post("/embeddings", {{"input", "서울"}, {"encoding_format", "base64"}})["data"][0]["embedding"].is_string(),
            true);
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
  // HEAD: GET's head, Content-Length included, and no body.
  const std::string head_only = raw_exchange(server.port(), "HEAD /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(head_only.find("Content-Length: 15\r\n"), std::string::npos) << head_only;
  EXPECT_EQ(head_only.substr(head_only.find("\r\n\r\n") + 4), "");
  const std::string body = R"({"inputs": "서울"})";
  const std::string continued = raw_exchange(
      server.port(),
      "POST /embed HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nExpect: 100-continue\r\nConnection: close\r\n"
      "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(continued.find("200 OK"), std::string::npos) << continued;
  health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// Answers the transport gives before a request reaches the API carry CORS headers too, so a browser app on an allowed
// origin sees the status rather than an opaque network error.
TEST_F(ServerTest, TransportErrorsCarryCorsHeaders) {
  ServerProcess server(dir / "docs",
                       {"serve", "--port", "0", "--no-rerank", "--read-timeout", "1", "--max-body-bytes", "1000",
                        "--cors-allow-origin", "https://app.example", "--cors-allow-origin", "https://other.example"});
  ASSERT_GT(server.port(), 0);
  const std::string allowed = "Access-Control-Allow-Origin: https://app.example\r\n";
  const std::string origin = "Origin: https://app.example\r\n";
  std::string answer =
      raw_exchange(server.port(), "POST /v1/embeddings HTTP/1.1\r\n" + origin + "Content-Length: 5000\r\n\r\n");
  EXPECT_NE(answer.find("413 Payload Too Large"), std::string::npos) << answer;
  EXPECT_NE(answer.find(allowed), std::string::npos) << answer;
  answer = raw_exchange(server.port(), "GARBAGE\r\n" + origin + "\r\n");
  EXPECT_NE(answer.find("400 Bad Request"), std::string::npos) << answer;
  EXPECT_NE(answer.find(allowed), std::string::npos) << answer;
  answer = raw_exchange(server.port(), "GET /health HTTP/1.1\r\n" + origin);
  EXPECT_NE(answer.find("408"), std::string::npos) << answer;
  EXPECT_NE(answer.find(allowed), std::string::npos) << answer;
  std::string huge = "GET /health HTTP/1.1\r\n" + origin;
  while (huge.size() < 20000) huge += "X-Filler: " + std::string(100, 'a') + "\r\n";
  answer = raw_exchange(server.port(), huge);
  EXPECT_NE(answer.find("431"), std::string::npos) << answer;
  EXPECT_NE(answer.find(allowed), std::string::npos) << answer;
  // Another origin is not named.
  answer = raw_exchange(server.port(), "GARBAGE\r\nOrigin: https://evil.example\r\n\r\n");
  EXPECT_NE(answer.find("400 Bad Request"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("Access-Control-Allow-Origin"), std::string::npos) << answer;

  // A connection refused before anything is read: `*` (or a single allowed origin) is named all the same.
  ServerProcess any(dir / "docs",
                    {"serve", "--port", "0", "--no-rerank", "--max-connections", "1", "--cors-allow-origin", "*"});
  ASSERT_GT(any.port(), 0);
  const int holder = connect_to(any.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  answer = raw_exchange(any.port(), "GET /health HTTP/1.1\r\n" + origin + "\r\n");
  close(holder);
  EXPECT_NE(answer.find("503"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos) << answer;
}

// Idle and silent connections cost a socket, not a request thread: with 4 threads, a thousand idle keep-alive
// connections and a slowloris of 500 sockets leave /health answering at once.
TEST_F(ServerTest, IdleAndSlowConnectionsHoldNoThreads) {
  raise_open_file_limit();
  ServerProcess server(dir / "docs", {"serve", "--port", "0", "--no-rerank", "--threads", "4", "--read-timeout", "2",
                                      "--keep-alive", "30"});
  ASSERT_GT(server.port(), 0);
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(connect_to(server.port()));
  for (int i = 0; i < 1000; i += 2) {  // half have finished a request and stay open as keep-alive
    const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    send(idle[i], request.data(), request.size(), MSG_NOSIGNAL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double with_idle = health_ms(server.port());
  EXPECT_GE(with_idle, 0);
  EXPECT_LT(with_idle, 500) << "GET /health with 1000 idle connections";
  for (int fd : idle) close(fd);  // within a 1,024-descriptor limit in CI, the slowloris below still fits

  std::vector<int> slow;
  for (int i = 0; i < 500; ++i) {
    slow.push_back(connect_to(server.port()));
    send(slow.back(), "GET /health HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
  }
  for (int round = 0; round < 5; ++round) {
    for (int fd : slow) send(fd, "X-a: b\r\n", 8, MSG_NOSIGNAL);
    const double during = health_ms(server.port());
    EXPECT_GE(during, 0);
    EXPECT_LT(during, 500) << "GET /health during a slowloris, round " << round;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The read timeout ends every slow request with 408.
  std::size_t timed_out = 0;
  for (int fd : slow) {
    timed_out += read_all(fd, std::chrono::milliseconds(4000)).find("408 Request Timeout") != std::string::npos;
    close(fd);
  }
  EXPECT_EQ(timed_out, slow.size());
}

TEST_F(ServerTest, HostileHttpClients) {
  ServerProcess server(dir / "docs", {"serve", "--port", "0", "--no-rerank", "--threads", "2", "--read-timeout", "2",
                                      "--max-body-bytes", "65536", "--max-connections", "40"});
  ASSERT_GT(server.port(), 0);
  // Request smuggling: both framings in one request are refused and the connection is closed.
  const std::string smuggled =
      raw_exchange(server.port(),
                   "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                   "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(smuggled.find("400 Bad Request"), std::string::npos) << smuggled;
  EXPECT_EQ(smuggled.find("200 OK"), std::string::npos) << smuggled;
  EXPECT_NE(raw_exchange(server.port(), "GET /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                .find("400 Bad Request"),
            std::string::npos);

  // Pipelined requests are answered in order on one connection.
  const std::string body = R"({"inputs": "서울"})";
  const std::string pipelined = raw_exchange(
      server.port(),
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /embed HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body + "GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(pipelined, "HTTP/1.1 200 OK"), 2u) << pipelined;
  EXPECT_LT(pipelined.find("\"ok\""), pipelined.find("[["));
  EXPECT_LT(pipelined.find("[["), pipelined.find("404 Not Found"));
  std::string flood;
  for (int i = 0; i < 20000; ++i) flood += "GET /health HTTP/1.1\r\n\r\n";
  flood += "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(count_of(raw_exchange(server.port(), flood, std::chrono::milliseconds(10000)), "200 OK"), 20001u);

  // A megabyte of headers is refused with 431, and the client reads the answer rather than a reset.
  int fd = connect_to(server.port());
  std::string huge = "GET /health HTTP/1.1\r\n";
  while (huge.size() < (1 << 20)) huge += "X-Filler: " + std::string(100, 'a') + "\r\n";
  std::thread sender([&] { send(fd, huge.data(), huge.size(), MSG_NOSIGNAL); });
  std::string answer = read_all(fd);
  sender.join();
  close(fd);
  EXPECT_NE(answer.find("431"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("RESET"), std::string::npos);

  // An over-limit body is answered 413 and drained, so the uploading client sees the 413, not a reset.
  fd = connect_to(server.port());
  const std::string big_body(1 << 20, 'x');
  const std::string upload =
      "POST /v1/embeddings HTTP/1.1\r\nContent-Length: " + std::to_string(big_body.size()) + "\r\n\r\n" + big_body;
  sender = std::thread([&] { send(fd, upload.data(), upload.size(), MSG_NOSIGNAL); });
  answer = read_all(fd);
  sender.join();
  close(fd);
  EXPECT_NE(answer.find("413 Payload Too Large"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("RESET"), std::string::npos);

  // A client that reads its response slowly holds no request thread; one that never reads is cut off.
  const int slow_reader = connect_to(server.port());
  const int small = 4096;
  setsockopt(slow_reader, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  Json many = Json::array();
  for (int i = 0; i < 400; ++i) many.push_back("서울특별시는 대한민국의 수도이다 " + std::to_string(i));
  const std::string many_body = Json{{"inputs", many}}.dump();
  const std::string slow_request =
      "POST /embed HTTP/1.1\r\nContent-Length: " + std::to_string(many_body.size()) + "\r\n\r\n" + many_body;
  send(slow_reader, slow_request.data(), slow_request.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 4; ++i) {
    const double ms = health_ms(server.port());
    EXPECT_GE(ms, 0);
    EXPECT_LT(ms, 500);
  }
  // Read in small sips, the whole response arrives intact.
  std::string slowly;
  char chunk[2048];
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t expected = std::string::npos;
  while (std::chrono::steady_clock::now() < give_up && slowly.size() != expected) {
    const ssize_t n = recv(slow_reader, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    slowly.append(chunk, static_cast<std::size_t>(n));
    const std::size_t head_end = slowly.find("\r\n\r\n");
    const std::size_t length_at = slowly.find("Content-Length: ");
    if (head_end != std::string::npos && length_at < head_end)
      expected = head_end + 4 + std::stoul(slowly.substr(length_at + 16));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  close(slow_reader);
  ASSERT_NE(expected, std::string::npos) << slowly.substr(0, 200);
  EXPECT_GT(expected, 100000u);
  EXPECT_EQ(slowly.size(), expected);
  EXPECT_EQ(Json::parse(slowly.substr(slowly.find("\r\n\r\n") + 4)).size(), 400u);

  // Connections over --max-connections are refused with 503 and Retry-After; the earlier ones stay served.
  std::vector<int> open;
  for (int i = 0; i < 40; ++i) open.push_back(connect_to(server.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string refused = raw_exchange(server.port(), "GET /health HTTP/1.1\r\n\r\n");
  EXPECT_NE(refused.find("503 Service Unavailable"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  const std::string still = "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n";
  send(open[0], still.data(), still.size(), MSG_NOSIGNAL);
  EXPECT_NE(read_all(open[0]).find("200 OK"), std::string::npos);
  for (int open_fd : open) close(open_fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GE(health_ms(server.port()), 0);
}

// The model worker and BLAS threads start before the server listens; a signal any of them receives must still stop
// the server cleanly rather than kill the process.
TEST_F(ServerTest, InterruptAndTerminateStopCleanly) {
  for (const int signal : {SIGINT, SIGTERM}) {
    ServerProcess server(dir / "docs", {"serve", "--port", "0", "--no-rerank", "--model", *options.model});
    ASSERT_GT(server.port(), 0);
    httplib::Client client("127.0.0.1", server.port());
    ASSERT_TRUE(client.Post("/v1/embeddings", R"({"input": ["서울"]})", "application/json"));
    const int status = server.stop(signal);
    EXPECT_TRUE(WIFEXITED(status)) << "signal " << signal << " killed the server (" << WTERMSIG(status) << ")";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "signal " << signal;
  }
}

// Review finding: on loopback without a key, a page that rebinds its own domain to 127.0.0.1 must not read the index
// through the user's browser; requests must name a loopback host (or carry none, as HTTP/1.0 may).
TEST_F(ServerTest, LoopbackWithoutKeyAnswersOnlyLoopbackHostNames) {
  ServerProcess server(dir / "docs", {"serve", "--port", "0", "--no-rerank"});
  ASSERT_GT(server.port(), 0);
  const auto status_for = [&](const std::string& path, const std::string& host) {
    const std::string answer = raw_exchange(
        server.port(),
        cat("GET ", path, " HTTP/1.1\r\n", host.empty() ? "" : "Host: " + host + "\r\n", "Connection: close\r\n\r\n"));
    return answer.substr(0, answer.find("\r\n"));
  };
  const std::string port = std::to_string(server.port());
  EXPECT_EQ(status_for("/v1/models", "rebound.example:" + port), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(status_for("/", "rebound.example"), "HTTP/1.1 403 Forbidden");
  for (const std::string& host :
       std::vector<std::string>{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "LOCALHOST", ""})
    EXPECT_EQ(status_for("/v1/models", host), "HTTP/1.1 200 OK") << host;
  EXPECT_EQ(status_for("/health", "rebound.example"), "HTTP/1.1 200 OK") << "probes may name the host any way";
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
