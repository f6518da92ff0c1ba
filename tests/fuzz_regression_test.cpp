// Replays the inputs kept in tests/data/fuzz/TARGET/ (crashers found by fuzz/run.sh, and seeds) through the fuzz
// entry points, and runs a small deterministic mutation pass (truncations and byte flips of real samples) so the
// default test suite exercises the same robustness contract as the fuzzers.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "base/files.h"
#include "fuzz/fuzz_targets.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

const fuzz::Target& target(const std::string& name) {
  for (const auto& candidate : fuzz::targets())
    if (candidate.name == name) return candidate;
  throw std::runtime_error("no fuzz target " + name);
}

TEST(FuzzRegression, KeptInputsDoNotCrash) {
  std::size_t replayed = 0;
  for (const auto& entry : fs::directory_iterator(testing::test_data("fuzz"))) {
    if (!entry.is_directory()) continue;
    const auto& run = target(entry.path().filename().string()).run;
    for (const auto& input : fs::directory_iterator(entry.path())) {
      run(read_file(input.path()));
      ++replayed;
    }
  }
  EXPECT_GT(replayed, 0u);
}

// Truncations and byte flips of real files, for every reader.
TEST(FuzzRegression, MutatedSamplesDoNotCrash) {
  const fs::path samples = testing::test_data("doc-samples");
  const std::vector<std::pair<std::string, fs::path>> seeds = {
      {"hwp", samples / "hwp-noori-press-release.hwp"},
      {"hwp", samples / "hwp-distribution-tender-notice.hwp"},
      {"hwp", samples / "hwp-table-uncompressed.hwp"},
      {"hwpx", samples / "hwpx-table-grades.hwpx"},
      {"docx", samples / "docx-tables-latin.docx"},
      {"pdf", samples / "pdf-korean-bill-hancom.pdf"},
      {"html", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "음식" / "bibimbap.html"},
      {"text", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "공지" / "library_notice_cp949.txt"},
      {"text", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "공지" / "apartment_fee_utf16.txt"},
      {"safetensors", testing::fixture("tiny-e5-bert") / "model.safetensors"},
      {"torch_checkpoint", testing::test_data("torch-checkpoints/views.pt")},
      {"torch_checkpoint", testing::test_data("torch-checkpoints/linear-state-dict.pt")},
      {"pickle", testing::test_data("fuzz/pickle/linear-state-dict.pkl")},
      {"config", testing::fixture("tiny-bge-m3-xlmr") / "config.json"},
      {"chunker", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "도시" / "seoul.md"},
      {"tokenizer", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "도시" / "seoul.md"},
      {"tokenizer_json", testing::test_data("tokenizers/unigram-added-tokens-prepend/tokenizer.json")},
      {"tokenizer_json", testing::test_data("tokenizers/wordpiece-bert-lowercase/tokenizer.json")},
      {"hub_listing", testing::test_data("fuzz") / "hub_listing" / "bge-m3-listing.json"},
      {"lexical", fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / "도시" / "seoul.md"},
      {"mcp", testing::test_data("fuzz") / "mcp" / "session.jsonl"},
      {"last_search", testing::test_data("fuzz") / "last_search" / "two-results.json"},
  };
  std::mt19937 random(99);
  std::size_t runs = 0;
  for (const auto& [name, path] : seeds) {
    const auto& run = target(name).run;
    const std::string bytes = read_file(path);
    // The PDF parser is slow on big inputs: fewer mutations there.
    const int mutations = name == "pdf" ? 6 : 40;
    for (int i = 0; i < mutations; ++i) {
      std::string mutated = bytes;
      if (i % 2 == 0) {
        mutated.resize(std::uniform_int_distribution<std::size_t>(0, bytes.size())(random));
      } else {
        for (int flips = 0; flips < 8; ++flips)
          mutated[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(random)] ^=
              static_cast<char>(1 << std::uniform_int_distribution<int>(0, 7)(random));
      }
      run(mutated);
      ++runs;
    }
  }
  const auto& http = target("http").run;
  for (const std::string request :
       {"POST /v1/embeddings HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"input\": \"서울\"}",
        "POST /embed HTTP/1.1\r\n\r\n{\"inputs\": [[[[[[[[[[[[[]]]]]]]]]]]]]}",
        "GET /../../etc/passwd HTTP/1.1\r\n\r\n", "POST /v1/search HTTP/1.1\r\n\r\n{\"query\": 12}",
        "POST /tokenize HTTP/1.1\r\n\r\n{\"inputs\": \"\xFF\"}", "BREW /pot HTTP/9.9\r\n\r\n",
        "POST /rerank HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
    http(request);
    ++runs;
  }
  EXPECT_GT(runs, 400u);
}

}  // namespace
}  // namespace ksearch
