// Encoder throughput and latency on a model folder: prints one JSON line per shape.
//   ksearch_encoder_bench MODEL_DIR [--shapes 1x16,32x128,8x512] [--seconds S] [--precision fp32,bf16,int8]
// Each pass encodes as ksearch embeds: the hidden states the model's pooling reads (CLS pooling: each sequence's first
// only, see TransformerEncoder::Rows).  For reduced precisions it also prints the cosine similarity of each
// sequence's pooled vector to the fp32 one (minimum over the batch).
// Token ids are random (fixed seed) inside the vocabulary; every sequence is BATCHxLENGTH tokens including <s> </s>.
// Timing: one warm-up pass, then repeated passes for at least S seconds (min 3), median reported.
// Query shapes (16 tokens or fewer) stream every dense weight once per pass, so their floor is memory bandwidth:
// after each timed pass the bench reads a buffer of the same size as the packed dense weights (2 MiB pages where the
// kernel grants them, as the weights have) with the encoder's threads, and reports that read's median time and the
// ratio to it, both taken in the same run: this VM's bandwidth has been seen to swing from 31 to 15 GB/s within
// minutes.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_dispatch.h"
#include "base/error.h"
#include "base/page_buffer.h"
#include "embed/embedder.h"
#include "embed/ops.h"
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

// Reads every word (eight independent chains, so the loads, not the XORs, set the pace).
KSEARCH_VECTOR_CLONES std::uint64_t xor_words(const std::uint64_t* words, std::size_t count) {
  std::uint64_t lanes[8] = {};
  for (std::size_t i = 0; i + 8 <= count; i += 8)
    for (std::size_t j = 0; j < 8; ++j) lanes[j] ^= words[i + j];
  std::uint64_t all = 0;
  for (const std::uint64_t lane : lanes) all ^= lane;
  return all;
}

// Seconds to read `buffer` once, split between `threads` threads in contiguous halves as the weights' panels are.
double read_seconds(const ksearch::PageBuffer& buffer, int threads) {
  const auto* words = static_cast<const std::uint64_t*>(buffer.data());
  const std::size_t count = buffer.size() / sizeof(std::uint64_t);
  std::uint64_t all = 0;
  const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(^ : all)
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = count * thread / team, end = count * (thread + 1) / team;
    all ^= xor_words(words + begin, end - begin);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (all == 1) std::fputc(' ', stderr);  // keeps the reads (the buffer is zeros: never true)
  return seconds;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
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
      const auto model = precision == ksearch::Precision::Fp32
                             ? reference
                             : ksearch::Model::load_dir(argv[1], argv[1], ksearch::KernelPlan::choose(precision));
      const double load_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
      std::mt19937 random(42);
      const int vocab = model->tokenizer.vocab_size();
      for (const Shape& shape : parse_shapes(shapes_text)) {
        std::vector<std::vector<ksearch::TokenId>> batch(shape.batch);
        for (auto& ids : batch) {
          ids.push_back(model->tokenizer.bos_id());
          for (std::size_t t = 2; t < shape.length; ++t)
            ids.push_back(std::uniform_int_distribution<int>(4, vocab - 2)(random));
          ids.push_back(model->tokenizer.eos_id());
        }
        const ksearch::Pooling pooling = model->spec.pooling;
        const auto rows = ksearch::rows_read_by(pooling);
        const auto output = model->encoder.forward(batch, rows);  // warm-up, and the vectors compared below
        double min_cosine = 1.0;
        if (precision != ksearch::Precision::Fp32) {
          const auto exact = reference->encoder.forward(batch, rows);
          const auto a = ksearch::pool(output, pooling), b = ksearch::pool(exact, pooling);
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
        const bool query = shape.batch * shape.length <= 16;
        const ksearch::PageBuffer weights_sized(query ? model->encoder.dense_weight_bytes() : 0);
        std::vector<double> times, reads;
        const auto begin = std::chrono::steady_clock::now();
        while (times.size() < 3 ||
               std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < seconds) {
          const auto start = std::chrono::steady_clock::now();
          model->encoder.forward(batch, rows);
          times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          if (query) reads.push_back(read_seconds(weights_sized, ksearch::ops::thread_count()));
        }
        const double pass = median(times);
        std::string floor;
        if (query) {
          const double read = median(reads);
          char text[160];
          std::snprintf(text, sizeof text,
                        ", \"weights_mb\": %.1f, \"memory_floor_ms\": %.3f, \"vs_memory_floor\": %.2f",
                        static_cast<double>(weights_sized.size()) / 1e6, read * 1e3, pass / read);
          floor = text;
        }
        std::printf(
            "{\"engine\": \"ksearch-%s\", \"batch\": %zu, \"length\": %zu, \"median_ms\": %.3f, "
            "\"tokens_per_s\": %.1f, \"runs\": %zu, \"load_ms\": %.1f, \"min_cosine_vs_fp32\": %.6f%s}\n",
            std::string(ksearch::precision_name(precision)).c_str(), shape.batch, shape.length, pass * 1e3,
            static_cast<double>(shape.batch * shape.length) / pass, times.size(), load_ms, min_cosine, floor.c_str());
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ksearch_encoder_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
