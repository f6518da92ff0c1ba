// Counters and histograms of `ksearch serve`, exposed in the Prometheus text format on GET /metrics
// (https://prometheus.io/docs/instrumenting/exposition_formats/).  Safe to record from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ksearch {

// A value sampled when /metrics is read.
struct Gauge {
  std::string name;
  std::string help;
  double value;
};

class Metrics {
 public:
  // One answered request: `route` is the matched route's path ("unmatched" for 404s, so labels stay bounded).
  void record_request(std::string_view route, std::string_view method, int status, double seconds);
  // One merged forward pass of the model thread: how many requests, sequences and tokens it held.
  void record_forward_pass(std::size_t requests, std::size_t sequences, std::size_t tokens);
  void set_open_connections(std::size_t count) { open_connections_ = count; }

  // The exposition text: every counter and histogram, the open connections, then `gauges`.
  std::string render(const std::vector<Gauge>& gauges) const;

 private:
  // Cumulative-bucket histogram with fixed upper bounds.
  struct Histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;  // per bound, plus +Inf
    double sum = 0;
    std::uint64_t total = 0;
    void observe(double value);
  };
  static Histogram latency_histogram();
  static Histogram size_histogram(std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // (route, method, status)
  std::map<std::string, Histogram> latency_;                                     // by route
  Histogram batch_requests_ = size_histogram({1, 2, 4, 8, 16, 32, 64, 128});
  Histogram batch_sequences_ = size_histogram({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
  Histogram batch_tokens_ = size_histogram({16, 64, 256, 1024, 4096, 16384, 65536});
  std::atomic<std::size_t> open_connections_ = 0;
};

}  // namespace ksearch
