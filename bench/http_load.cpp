// Bounded loopback load generator for `ksearch serve`: N keep-alive connections send the same request for a fixed
// time; prints one JSON line with the request count, errors, QPS and latency percentiles.
//   ksearch_http_load --port P [--host 127.0.0.1] [--path /v1/search] [--body JSON | --body-file F]
//                     [--connections 64] [--seconds 10] [--api-key KEY]
// Only loopback hosts are accepted.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", path = "/v1/search", body = R"({"query": "서울", "top_k": 10})", api_key;
  int port = 0, connections = 64;
  double seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--host") host = value;
    else if (flag == "--port") port = std::stoi(value);
    else if (flag == "--path") path = value;
    else if (flag == "--body") body = value;
    else if (flag == "--body-file") {
      std::ifstream in(value);
      std::stringstream text;
      text << in.rdbuf();
      body = text.str();
    } else if (flag == "--connections") connections = std::stoi(value);
    else if (flag == "--seconds") seconds = std::stod(value);
    else if (flag == "--api-key") api_key = value;
  }
  if (port <= 0 || !(host == "127.0.0.1" || host == "localhost" || host == "::1")) {
    std::fprintf(stderr, "usage: %s --port P [--path /v1/search] [--body JSON] [--connections N] [--seconds S] "
                         "(loopback hosts only)\n", argv[0]);
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::mutex mutex;
  std::vector<double> latencies;
  std::map<int, std::size_t> statuses;
  std::atomic<std::size_t> transport_errors = 0;
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_connection_timeout(5);
      client.set_read_timeout(30);
      httplib::Headers headers;
      if (!api_key.empty()) headers.emplace("Authorization", "Bearer " + api_key);
      std::vector<double> mine;
      std::map<int, std::size_t> my_statuses;
      while (std::chrono::steady_clock::now() < deadline) {
        const auto begin = std::chrono::steady_clock::now();
        const auto result = client.Post(path.c_str(), headers, body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
        if (!result) {
          ++transport_errors;
          continue;
        }
        ++my_statuses[result->status];
        mine.push_back(ms);
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [status, count] : my_statuses) statuses[status] += count;
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  const auto percentile = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))];
  };
  std::size_t failed = transport_errors;
  std::string status_text;
  for (const auto& [status, count] : statuses) {
    if (status != 200) failed += count;
    if (!status_text.empty()) status_text.append(", ");
    status_text.append("\"").append(std::to_string(status)).append("\": ").append(std::to_string(count));
  }
  std::printf("{\"path\": \"%s\", \"connections\": %d, \"seconds\": %.1f, \"requests\": %zu, \"errors\": %zu, "
              "\"qps\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"statuses\": {%s}}\n",
              path.c_str(), connections, elapsed, latencies.size(), failed, latencies.size() / elapsed,
              percentile(0.50), percentile(0.99), status_text.c_str());
  return failed == 0 ? 0 : 1;
}
