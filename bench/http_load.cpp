// Bounded loopback load generator for `ksearch serve`: N keep-alive connections send the same request for a fixed
// time; prints one JSON line with the request count, errors, QPS and latency percentiles.
//   ksearch_http_load --port P [--host 127.0.0.1] [--method POST|GET] [--path /v1/search] [--body JSON | --body-file F]
//                     [--connections 64] [--seconds 10] [--api-key KEY]
//                     [--idle N]        N more connections that finish one request and then stay open, idle
//                     [--slowloris N]   N more connections that trickle an endless request head, a line each 100 ms
//                     [--baseline]      first run the same load without the idle/slowloris sockets; print both and
//                                       the p99 ratio
//                     [--compare-batch N]  N connections each embedding the one text of --body ({"input": TEXT}) vs
//                                       one connection embedding N copies per request: texts/s of each and the ratio
// Only loopback hosts are accepted.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string method = "POST";
  std::string path = "/v1/search";
  std::string body = R"({"query": "서울", "top_k": 10})";
  std::string api_key;
  int connections = 64;
  double seconds = 10;
};

struct LoadResult {
  std::size_t requests = 0, errors = 0;
  double seconds = 0, p50_ms = 0, p99_ms = 0;
  std::map<int, std::size_t> statuses;
  double qps() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

LoadResult run_load(const LoadOptions& options) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.seconds);
  std::mutex mutex;
  std::vector<double> latencies;
  LoadResult result;
  std::atomic<std::size_t> transport_errors = 0;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < options.connections; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(options.host, options.port);
      client.set_keep_alive(true);
      client.set_connection_timeout(5);
      client.set_read_timeout(30);
      httplib::Headers headers;
      if (!options.api_key.empty()) headers.emplace("Authorization", "Bearer " + options.api_key);
      std::vector<double> mine;
      std::map<int, std::size_t> my_statuses;
      while (Clock::now() < deadline) {
        const auto begin = Clock::now();
        const auto response = options.method == "GET"
                                  ? client.Get(options.path.c_str(), headers)
                                  : client.Post(options.path.c_str(), headers, options.body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
        if (!response) {
          ++transport_errors;
          continue;
        }
        ++my_statuses[response->status];
        mine.push_back(ms);
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [status, count] : my_statuses) result.statuses[status] += count;
    });
  }
  for (auto& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  const auto percentile = [&](double p) {
    return latencies.empty()
               ? 0.0
               : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))];
  };
  result.requests = latencies.size();
  result.p50_ms = percentile(0.50);
  result.p99_ms = percentile(0.99);
  result.errors = transport_errors;
  for (const auto& [status, count] : result.statuses)
    if (status != 200) result.errors += count;
  return result;
}

std::string to_json(const LoadOptions& options, const LoadResult& result, const std::string& label) {
  std::string statuses;
  for (const auto& [status, count] : result.statuses) {
    if (!statuses.empty()) statuses.append(", ");
    statuses.append("\"").append(std::to_string(status)).append("\": ").append(std::to_string(count));
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "{%s\"path\": \"%s\", \"connections\": %d, \"seconds\": %.1f, \"requests\": %zu, \"errors\": %zu, "
                "\"qps\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"statuses\": {%s}}",
                label.empty() ? "" : ("\"run\": \"" + label + "\", ").c_str(), options.path.c_str(),
                options.connections, result.seconds, result.requests, result.errors, result.qps(), result.p50_ms,
                result.p99_ms, statuses.c_str());
  return line;
}

int connect_loopback(const LoadOptions& options) {
  const int fd = ::socket(options.host == "::1" ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int rc;
  if (options.host == "::1") {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<uint16_t>(options.port));
    address.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(options.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Idle keep-alive connections: each finishes one GET /health and stays open.
std::vector<int> open_idle(const LoadOptions& options, int count) {
  std::vector<int> sockets;
  const std::string request = "GET /health HTTP/1.1\r\nHost: load\r\n\r\n";
  for (int i = 0; i < count; ++i) {
    const int fd = connect_loopback(options);
    if (fd < 0) break;
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    sockets.push_back(fd);
  }
  char answer[1024];
  for (int fd : sockets) (void)!::recv(fd, answer, sizeof answer, 0);
  return sockets;
}

// A slowloris: `count` sockets that send a request head one header line per 100 ms and never finish it, reconnecting
// when the server cuts them off, until `stop`.
void slowloris(const LoadOptions& options, int count, const std::atomic<bool>& stop) {
  std::vector<int> sockets(static_cast<std::size_t>(count), -1);
  const std::string start = "GET /health HTTP/1.1\r\nHost: load\r\n";
  const std::string line = "X-Slow: 1\r\n";
  while (!stop) {
    for (int& fd : sockets) {
      if (fd >= 0 && ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        ::close(fd);
        fd = -1;
      }
      if (fd < 0 && (fd = connect_loopback(options)) >= 0) ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int fd : sockets)
    if (fd >= 0) ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions options;
  int idle = 0, slow = 0, compare_batch = 0;
  bool baseline = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--baseline") {
      baseline = true;
      continue;
    }
    if (i + 1 >= argc) break;
    const std::string value = argv[++i];
    if (flag == "--host")
      options.host = value;
    else if (flag == "--port")
      options.port = std::stoi(value);
    else if (flag == "--method")
      options.method = value;
    else if (flag == "--path")
      options.path = value;
    else if (flag == "--body")
      options.body = value;
    else if (flag == "--body-file") {
      std::ifstream in(value);
      std::stringstream text;
      text << in.rdbuf();
      options.body = text.str();
    } else if (flag == "--connections")
      options.connections = std::stoi(value);
    else if (flag == "--seconds")
      options.seconds = std::stod(value);
    else if (flag == "--api-key")
      options.api_key = value;
    else if (flag == "--idle")
      idle = std::stoi(value);
    else if (flag == "--slowloris")
      slow = std::stoi(value);
    else if (flag == "--compare-batch")
      compare_batch = std::stoi(value);
  }
  if (options.port <= 0 || !(options.host == "127.0.0.1" || options.host == "localhost" || options.host == "::1")) {
    std::fprintf(stderr,
                 "usage: %s --port P [--path /v1/search] [--body JSON] [--connections N] [--seconds S] "
                 "[--idle N] [--slowloris N] [--baseline] [--compare-batch N] (loopback hosts only)\n",
                 argv[0]);
    return 2;
  }
  if (options.host == "localhost") options.host = "127.0.0.1";
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);

  if (compare_batch > 0) {
    // The same texts either as N parallel one-text requests (merged by the server's model thread) or as one N-text
    // request at a time.
    const auto text = nlohmann::json::parse(options.body).at("input");
    LoadOptions parallel = options;
    parallel.connections = compare_batch;
    parallel.body = nlohmann::json{{"input", text}}.dump();
    LoadOptions batched = options;
    batched.connections = 1;
    nlohmann::json copies = nlohmann::json::array();
    for (int i = 0; i < compare_batch; ++i) copies.push_back(text);
    batched.body = nlohmann::json{{"input", copies}}.dump();
    const LoadResult many = run_load(parallel);
    const LoadResult one = run_load(batched);
    const double many_texts = many.qps(), one_texts = one.qps() * compare_batch;
    std::printf("%s\n%s\n", to_json(parallel, many, "parallel").c_str(), to_json(batched, one, "one request").c_str());
    std::printf("{\"texts_per_second_parallel\": %.1f, \"texts_per_second_one_request\": %.1f, \"ratio\": %.3f}\n",
                many_texts, one_texts, one_texts > 0 ? many_texts / one_texts : 0.0);
    return many.errors + one.errors == 0 ? 0 : 1;
  }

  LoadResult reference;
  if (baseline) {
    reference = run_load(options);
    std::printf("%s\n", to_json(options, reference, "baseline").c_str());
  }
  const std::vector<int> idle_sockets = open_idle(options, idle);
  std::atomic<bool> stop = false;
  std::thread loris;
  if (slow > 0) {
    loris = std::thread([&] { slowloris(options, slow, stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const LoadResult result = run_load(options);
  stop = true;
  if (loris.joinable()) loris.join();
  std::string label;
  if (idle > 0) label += "idle " + std::to_string(idle_sockets.size());
  if (slow > 0) label += (label.empty() ? "" : ", ") + std::string("slowloris ") + std::to_string(slow);
  std::printf("%s\n", to_json(options, result, baseline ? (label.empty() ? "again" : label) : label).c_str());
  if (baseline) std::printf("{\"p99_ratio\": %.3f}\n", reference.p99_ms > 0 ? result.p99_ms / reference.p99_ms : 0.0);
  for (int fd : idle_sockets) ::close(fd);
  return result.errors + reference.errors == 0 ? 0 : 1;
}
