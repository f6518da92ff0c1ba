// Vector index at scale: build time, memory, queries per second and recall@10 against exact search, for FAISS
// factory strings through ksearch's VectorIndex (inner product over normalised vectors).
//   ksearch_index_bench [--count 1000000] [--dim 384] [--queries 1000] [--specs "auto;IVF1024,PQ48,RFlat;Flat"]
//                       [--breadths 64,96,160,256]   (efSearch / nprobe values measured on each approximate index)
// Data: synthetic embeddings of low intrinsic dimension (see Generator); queries are fresh draws from the same
// distribution.  QPS: two threads issuing one query at a time, as the server does.  One JSON line per spec.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/vector_index.h"

namespace {

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

// Embeddings have a low intrinsic dimension: points are drawn from a mixture of 2,000 Gaussians in a 48-d latent
// space, mapped to `dim` dimensions by a fixed random linear map, slightly perturbed and normalised.  (Uniform or
// isotropic noise in high dimension makes all neighbours nearly equidistant, which no real corpus looks like.)
struct Generator {
  int dim;
  static constexpr int kLatent = 48;
  std::vector<float> centres;  // 2000 x kLatent
  std::vector<float> map;      // kLatent x dim
  Generator(int dimension, unsigned seed) : dim(dimension) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal;
    centres.resize(2000 * kLatent);
    for (auto& value : centres) value = normal(random);
    map.resize(static_cast<std::size_t>(kLatent) * dim);
    for (auto& value : map) value = normal(random);
  }
  std::vector<float> draw(std::size_t count, unsigned seed) const {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal;
    std::vector<float> out(count * static_cast<std::size_t>(dim));
    float latent[kLatent];
    for (std::size_t i = 0; i < count; ++i) {
      const float* centre = centres.data() + (random() % 2000) * kLatent;
      for (int j = 0; j < kLatent; ++j) latent[j] = centre[j] + 0.5f * normal(random);
      float* v = out.data() + i * dim;
      double norm = 0;
      for (int d = 0; d < dim; ++d) {
        float value = 0.05f * normal(random);
        for (int j = 0; j < kLatent; ++j) value += latent[j] * map[static_cast<std::size_t>(j) * dim + d];
        v[d] = value;
        norm += static_cast<double>(value) * value;
      }
      const auto inverse = static_cast<float>(1.0 / std::sqrt(norm));
      for (int d = 0; d < dim; ++d) v[d] *= inverse;
    }
    return out;
  }
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto semicolon = text.find(';', start);
    out.push_back(text.substr(start, semicolon - start));
    if (semicolon == std::string::npos) break;
    start = semicolon + 1;
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 1'000'000, queries = 1000;
  int dim = 384;
  std::string specs = "auto;IVF1024,PQ48,RFlat;Flat";
  std::string breadths_text;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--count") == 0) count = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--dim") == 0) dim = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--queries") == 0) queries = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--specs") == 0) specs = argv[i + 1];  // ';'-separated (factory strings hold commas)
    if (std::strcmp(argv[i], "--breadths") == 0) breadths_text = argv[i + 1];
  }
  const Generator generator(dim, 7);
  const auto data = generator.draw(count, 1);
  const auto query_vectors = generator.draw(queries, 2);
  std::vector<std::int64_t> ids(count);
  for (std::size_t i = 0; i < count; ++i) ids[i] = static_cast<std::int64_t>(i);

  // Exact answers.
  std::vector<std::set<std::int64_t>> truth(queries);
  {
    ksearch::VectorIndex exact(dim, "Flat");
    exact.add(ids, data);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        for (std::size_t q = t; q < queries; q += 2)
          for (const auto& hit : exact.search(std::span(query_vectors).subspan(q * dim, dim), 10))
            truth[q].insert(hit.id);
      });
    for (auto& thread : threads) thread.join();
  }

  for (const std::string& requested : split(specs)) {
    const std::string spec = requested == "auto" ? ksearch::choose_index_spec(count, dim) : requested;
    const double memory_before = resident_mib();
    const auto build_start = std::chrono::steady_clock::now();
    ksearch::VectorIndex index(dim, spec);
    if (!index.is_trained()) {
      const std::size_t sample = std::min(count, std::max<std::size_t>(index.training_size(), 100'000));
      index.train(std::span(data).subspan(0, sample * dim));
    }
    for (std::size_t first = 0; first < count; first += 100'000) {
      const std::size_t n = std::min<std::size_t>(100'000, count - first);
      index.add(std::span(ids).subspan(first, n), std::span(data).subspan(first * dim, n * dim));
    }
    const double build_seconds = seconds_since(build_start);
    const double memory = resident_mib() - memory_before;
    std::vector<long> breadths = {0};  // 0: ksearch's default
    for (std::size_t start = 0; !breadths_text.empty() && spec != "Flat" && start < breadths_text.size();) {
      const auto comma = breadths_text.find(',', start);
      breadths.push_back(std::stol(breadths_text.substr(start, comma - start)));
      start = comma == std::string::npos ? breadths_text.size() : comma + 1;
    }
    for (const long breadth : breadths) {
      if (breadth > 0) index.set_search_breadth(static_cast<std::size_t>(breadth));
      std::atomic<std::size_t> found = 0;
      std::vector<double> latencies(queries);
      const auto search_start = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
          for (std::size_t q = t; q < queries; q += 2) {
            const auto start = std::chrono::steady_clock::now();
            const auto hits = index.search(std::span(query_vectors).subspan(q * dim, dim), 10);
            latencies[q] = seconds_since(start) * 1e3;
            std::size_t hit_count = 0;
            for (const auto& hit : hits) hit_count += truth[q].count(hit.id);
            found += hit_count;
          }
        });
      for (auto& thread : threads) thread.join();
      const double search_seconds = seconds_since(search_start);
      std::sort(latencies.begin(), latencies.end());
      std::printf(
          "{\"spec\": \"%s\", \"requested\": \"%s\", \"breadth\": %ld, \"count\": %zu, \"dim\": %d, "
          "\"build_s\": %.1f, \"memory_mib\": %.0f, \"qps\": %.0f, \"p50_ms\": %.3f, \"recall_at_10\": %.4f}\n",
          spec.c_str(), requested.c_str(), breadth, count, dim, build_seconds, memory,
          static_cast<double>(queries) / search_seconds, latencies[queries / 2],
          static_cast<double>(found.load()) / (10.0 * static_cast<double>(queries)));
      std::fflush(stdout);
    }
  }
  return 0;
}
