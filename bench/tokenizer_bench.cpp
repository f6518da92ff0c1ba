// Tokenizer throughput: ksearch's tokenizer.json path against the sentencepiece library on the same model and
// text, in the same run.
//
//   ksearch_tokenizer_bench [MODEL_DIR] [KORQUAD_JSON]
//   (defaults: tests/data/fixtures/hub/e5-small-ko-layout, tests/data/korquad-v1-dev/KorQuAD_v1.0_dev.json)
//
// Tokenizes every KorQuAD dev paragraph; one warm-up pass each, then 7 rounds that time both tokenizers back to back
// (so load changes on a shared machine hit both alike), median reported.
#include <sentencepiece_processor.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/json.h"
#include "embed/tokenizer.h"

namespace {

template <typename Function>
double seconds(Function&& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path source = KSEARCH_SOURCE_DIR;
  const std::filesystem::path model_dir =
      argc > 1 ? std::filesystem::path(argv[1]) : source / "tests/data/fixtures/hub/e5-small-ko-layout";
  const std::filesystem::path korquad =
      argc > 2 ? std::filesystem::path(argv[2]) : source / "tests/data/korquad-v1-dev/KorQuAD_v1.0_dev.json";
  try {
    std::vector<std::string> paragraphs;
    std::size_t bytes = 0;
    const ksearch::Json dataset = ksearch::read_json_file(korquad);
    for (const auto& article : dataset["data"])
      for (const auto& paragraph : article["paragraphs"]) {
        paragraphs.push_back(paragraph["context"].get<std::string>());
        bytes += paragraphs.back().size();
      }

    const ksearch::Tokenizer tokenizer = ksearch::Tokenizer::load(model_dir);
    sentencepiece::SentencePieceProcessor processor;
    const auto status = processor.Load((model_dir / "sentencepiece.bpe.model").string());
    if (!status.ok()) {
      std::fprintf(stderr, "%s/sentencepiece.bpe.model: %s\n", model_dir.c_str(), status.ToString().c_str());
      return 1;
    }

    std::size_t ours_tokens = 0;
    const auto run_ours = [&] {
      ours_tokens = 0;
      for (const auto& text : paragraphs) ours_tokens += tokenizer.tokenize_with_offsets(text).size();
    };
    std::size_t sp_tokens = 0;
    const auto run_sp = [&] {
      sp_tokens = 0;
      std::vector<int> ids;
      for (const auto& text : paragraphs) {
        processor.Encode(text, &ids);
        sp_tokens += ids.size();
      }
    };
    run_ours();  // warm-up
    run_sp();
    std::vector<double> ours_times, sp_times;
    for (int round = 0; round < 7; ++round) {
      ours_times.push_back(seconds(run_ours));
      sp_times.push_back(seconds(run_sp));
    }
    const double ours = median(ours_times);
    const double sp = median(sp_times);
    std::printf("%zu KorQuAD dev paragraphs, %.1f MB, model %s\n", paragraphs.size(), bytes / 1e6,
                model_dir.filename().c_str());
    std::printf("%-34s %10s %12s %10s\n", "tokenizer", "tokens", "tokens/s", "MB/s");
    std::printf("%-34s %10zu %12.0f %10.2f\n", "ksearch tokenizer.json (offsets)", ours_tokens, ours_tokens / ours,
                bytes / 1e6 / ours);
    std::printf("%-34s %10zu %12.0f %10.2f\n", "sentencepiece library (ids)", sp_tokens, sp_tokens / sp,
                bytes / 1e6 / sp);
    std::printf("ratio ksearch / sentencepiece: %.2f\n", sp / ours);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
