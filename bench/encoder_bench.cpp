// Encoder throughput and latency on a model folder: prints one JSON line per shape.
//   ksearch_encoder_bench MODEL_DIR [--shapes 1x16,32x128,8x512] [--seconds S] [--precision fp32,bf16,int8]
// For reduced precisions it also prints the cosine similarity of each sequence's mean-pooled last hidden state to the
// fp32 result (minimum over the batch).
// Token ids are random (fixed seed) inside the vocabulary; every sequence is BATCHxLENGTH tokens including <s> </s>.
// Timing: one warm-up pass, then repeated passes for at least S seconds (min 3), median reported.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "embed/embedder.h"
#include "embed/pooling.h"

namespace {

struct Shape {
  std::size_t batch, length;
};

std::vector<Shape> parse_shapes(const std::string& text) {
  std::vector<Shape> shapes;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto x = item.find('x');
    if (x == std::string::npos) ksearch::fail("bad shape '", item, "', expected BATCHxLENGTH");
    shapes.push_back({std::stoul(item.substr(0, x)), std::stoul(item.substr(x + 1))});
    start = comma == std::string::npos ? text.size() : comma + 1;
  }
  return shapes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [--shapes 1x16,32x128,8x512] [--seconds S]\n", argv[0]);
    return 2;
  }
  std::string shapes_text = "1x16,32x128,8x512";
  std::string precisions_text = "fp32";
  double seconds = 3.0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--shapes") == 0) shapes_text = argv[i + 1];
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
    if (std::strcmp(argv[i], "--precision") == 0) precisions_text = argv[i + 1];
  }
  try {
    std::vector<ksearch::Precision> precisions;
    for (std::size_t start = 0; start < precisions_text.size();) {
      const auto comma = precisions_text.find(',', start);
      precisions.push_back(ksearch::parse_precision(precisions_text.substr(start, comma - start)));
      start = comma == std::string::npos ? precisions_text.size() : comma + 1;
    }
    const auto reference = ksearch::Model::load_dir(argv[1], argv[1]);
    for (const ksearch::Precision precision : precisions) {
      const auto load_start = std::chrono::steady_clock::now();
      const auto model = precision == ksearch::Precision::Fp32 ? reference
                                                               : ksearch::Model::load_dir(argv[1], argv[1], precision);
      const double load_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
      std::mt19937 random(42);
      const int vocab = model->tokenizer.vocab_size();
      for (const Shape& shape : parse_shapes(shapes_text)) {
        std::vector<std::vector<ksearch::TokenId>> batch(shape.batch);
        for (auto& ids : batch) {
          ids.push_back(ksearch::Tokenizer::kBos);
          for (std::size_t t = 2; t < shape.length; ++t)
            ids.push_back(std::uniform_int_distribution<int>(4, vocab - 2)(random));
          ids.push_back(ksearch::Tokenizer::kEos);
        }
        const auto output = model->encoder.forward(batch);  // warm-up, and the vectors compared below
        double min_cosine = 1.0;
        if (precision != ksearch::Precision::Fp32) {
          const auto exact = reference->encoder.forward(batch);
          const auto a = ksearch::pool(output, ksearch::Pooling::Mean), b = ksearch::pool(exact, ksearch::Pooling::Mean);
          const std::size_t width = static_cast<std::size_t>(output.hidden);
          for (std::size_t s = 0; s < shape.batch; ++s) {
            double dot = 0, na = 0, nb = 0;
            for (std::size_t i = 0; i < width; ++i) {
              dot += a[s * width + i] * b[s * width + i];
              na += a[s * width + i] * a[s * width + i];
              nb += b[s * width + i] * b[s * width + i];
            }
            min_cosine = std::min(min_cosine, dot / std::sqrt(na * nb));
          }
        }
        std::vector<double> times;
        const auto begin = std::chrono::steady_clock::now();
        while (times.size() < 3 ||
               std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < seconds) {
          const auto start = std::chrono::steady_clock::now();
          model->encoder.forward(batch);
          times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        std::printf("{\"engine\": \"ksearch-%s\", \"batch\": %zu, \"length\": %zu, \"median_ms\": %.3f, "
                    "\"tokens_per_s\": %.1f, \"runs\": %zu, \"load_ms\": %.1f, \"min_cosine_vs_fp32\": %.6f}\n",
                    std::string(ksearch::precision_name(precision)).c_str(), shape.batch, shape.length, median * 1e3,
                    static_cast<double>(shape.batch * shape.length) / median, times.size(), load_ms, min_cosine);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ksearch_encoder_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
