// End-to-end: the ksearch binary's embed and tokenize commands against the fixtures' reference outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "tests/test_support.h"

namespace ksearch {
namespace {

std::string texts_as_jsonl(const std::vector<Json>& expected) {
  std::string input;
  for (const auto& line : expected) input += Json(line["text"]).dump() + "\n";
  return input;
}

// The sentencepiece-layout fixtures and the hub layouts that ship tokenizer.json (KURE-v1's with no sentencepiece
// model, KoEn-E5-Tiny's pruned vocabulary, multilingual-e5-small-ko's both files).
TEST(CliEmbed, ReproducesReferenceEmbeddings) {
  for (const char* name : {"tiny-e5-bert", "tiny-bge-m3-xlmr", "hub/e5-small-ko-layout", "hub/koen-e5-tiny-layout",
                           "hub/kure-v1-layout"}) {
    const auto dir = testing::fixture(name);
    const auto expected = testing::read_jsonl(dir / "expected.jsonl");
    const auto result = testing::run_ksearch(
        {"embed", "--model", dir.string(), "--input-format", "jsonl", "--batch-size", "5"}, texts_as_jsonl(expected));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::istringstream lines(result.out);
    std::string line;
    std::size_t count = 0;
    while (std::getline(lines, line)) {
      const Json got = Json::parse(line);
      const std::size_t index = got["index"];
      ASSERT_LT(index, expected.size());
      EXPECT_EQ(got["n_tokens"], expected[index]["token_ids"].size());
      const auto want = expected[index]["embedding"].get<std::vector<float>>();
      const auto have = got["embedding"].get<std::vector<float>>();
      ASSERT_EQ(have.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(have[i], want[i], 1e-4) << name << " " << index;
      ++count;
    }
    EXPECT_EQ(count, expected.size());
  }
}

// BGE-M3 read from pytorch_model.bin (F32 in the hub fixture, F16 and sharded here) with its sparse and ColBERT
// heads: every output of `ksearch embed --output` against the PyTorch reference.
TEST(CliEmbed, BgeM3OutputsFromPytorchCheckpointsMatchTheReference) {
  for (const auto& dir : {testing::fixture("hub/bge-m3-layout"), testing::test_data("models/bge-m3-f16-bin"),
                          testing::test_data("models/bge-m3-sharded-bin")}) {
    SCOPED_TRACE(dir.string());
    // Three texts keep the three runs short; tests/bge_m3_heads_test.cpp compares every text through the library.
    auto expected = testing::read_jsonl(dir / "expected.jsonl");
    expected.resize(3);
    std::map<std::string, std::vector<Json>> outputs;
    for (const char* output : {"dense", "sparse", "colbert"}) {
      const auto result = testing::run_ksearch(
          {"embed", "--model", dir.string(), "--input-format", "jsonl", "--output", output}, texts_as_jsonl(expected));
      ASSERT_EQ(result.exit_code, 0) << result.err;
      std::istringstream lines(result.out);
      for (std::string line; std::getline(lines, line);) outputs[output].push_back(Json::parse(line));
      ASSERT_EQ(outputs[output].size(), expected.size()) << output;
    }
    for (std::size_t t = 0; t < expected.size(); ++t) {
      const auto want_dense = expected[t]["embedding"].get<std::vector<float>>();
      const auto have_dense = outputs["dense"][t]["embedding"].get<std::vector<float>>();
      ASSERT_EQ(have_dense.size(), want_dense.size());
      for (std::size_t i = 0; i < want_dense.size(); ++i) EXPECT_NEAR(have_dense[i], want_dense[i], 1e-4);

      const Json& sparse = outputs["sparse"][t];
      EXPECT_EQ(sparse["index"], t);
      ASSERT_EQ(sparse["lexical_weights"].size(), expected[t]["lexical_weights"].size());
      for (const auto& [id, weight] : expected[t]["lexical_weights"].items()) {
        ASSERT_TRUE(sparse["lexical_weights"].contains(id)) << id;
        EXPECT_NEAR(sparse["lexical_weights"][id].get<float>(), weight.get<float>(), 1e-4) << id;
        EXPECT_FALSE(sparse["tokens"][id].get<std::string>().empty()) << id;
      }

      const Json& want_colbert =
          expected[t].contains("colbert_vecs") ? expected[t]["colbert_vecs"] : expected[t]["colbert_vecs_first3"];
      const Json& have_colbert = outputs["colbert"][t]["colbert_vecs"];
      EXPECT_EQ(have_colbert.size(), expected[t]["token_ids"].size() - 1);
      for (std::size_t r = 0; r < want_colbert.size(); ++r)
        for (std::size_t i = 0; i < want_colbert[r].size(); ++i)
          EXPECT_NEAR(have_colbert[r][i].get<float>(), want_colbert[r][i].get<float>(), 1e-4);
    }
  }
  const auto no_head = testing::run_ksearch(
      {"embed", "--model", testing::fixture("tiny-bge-m3-xlmr").string(), "--output", "sparse"}, "서울\n");
  EXPECT_NE(no_head.exit_code, 0);
  EXPECT_NE(no_head.err.find("sparse_linear.pt"), std::string::npos) << no_head.err;
}

TEST(CliTokenize, ReproducesReferenceIds) {
  const auto dir = testing::fixture("tiny-bge-m3-xlmr");
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  const auto result =
      testing::run_ksearch({"tokenize", "--model", dir.string(), "--input-format", "jsonl"}, texts_as_jsonl(expected));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  for (std::size_t i = 0; std::getline(lines, line); ++i)
    EXPECT_EQ(Json::parse(line)["ids"], expected[i]["token_ids"]) << i;
}

// The hub layouts through `ksearch tokenize --model DIR`: tokenizer.json decides, ids as Hugging Face's Rust
// tokenizers gives them.  (The reranker layout holds pairs: CliRerank below.)
TEST(CliTokenize, HubLayoutsGiveHuggingFaceIds) {
  for (const std::string layout : {"e5-small-ko-layout", "koen-e5-tiny-layout", "kure-v1-layout", "bge-m3-layout"}) {
    const auto dir = testing::fixture("hub/" + layout);
    const auto expected = testing::read_jsonl(dir / "expected.jsonl");
    const auto result = testing::run_ksearch({"tokenize", "--model", dir.string(), "--input-format", "jsonl"},
                                             texts_as_jsonl(expected));
    ASSERT_EQ(result.exit_code, 0) << layout << ": " << result.err;
    std::istringstream lines(result.out);
    std::string line;
    std::size_t count = 0;
    for (; std::getline(lines, line); ++count)
      EXPECT_EQ(Json::parse(line)["ids"], expected[count]["token_ids"]) << layout << " line " << count;
    EXPECT_EQ(count, expected.size()) << layout;
  }
}

TEST(CliEmbed, PlainLinesPrefixesAndTruncation) {
  const auto dir = testing::fixture("tiny-e5-bert");
  auto plain = testing::run_ksearch({"embed", "-m", dir.string()}, "query: 안녕하세요\r\n");
  auto prefixed = testing::run_ksearch({"embed", "-m", dir.string(), "--query"}, "query: 안녕하세요\n");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  // The fixture has no prompts, so --query adds nothing: same vector.
  EXPECT_EQ(Json::parse(plain.out)["embedding"], Json::parse(prefixed.out)["embedding"]);
  const auto cut =
      testing::run_ksearch({"embed", "-m", dir.string(), "--max-tokens", "4"}, "서울특별시는 대한민국의 수도\n");
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_EQ(Json::parse(cut.out)["n_tokens"], 4);
  EXPECT_EQ(Json::parse(cut.out)["truncated"], true);
  EXPECT_NE(cut.err.find("truncated"), std::string::npos);
}

TEST(CliEmbed, ErrorsAreClearAndNonZero) {
  auto missing = testing::run_ksearch({"embed", "-m", "acme/does-not-exist"}, "x\n", {{"HF_HOME", "/nonexistent"}});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("ksearch model pull acme/does-not-exist"), std::string::npos) << missing.err;
  auto bad_utf8 = testing::run_ksearch({"embed", "-m", testing::fixture("tiny-e5-bert").string()}, "ok\n\xFF\xFE\n");
  EXPECT_NE(bad_utf8.exit_code, 0);
  EXPECT_NE(bad_utf8.err.find("invalid UTF-8"), std::string::npos) << bad_utf8.err;
  auto bad_json = testing::run_ksearch(
      {"embed", "-m", testing::fixture("tiny-e5-bert").string(), "--input-format", "jsonl"}, "{\"txt\": 1}\n");
  EXPECT_NE(bad_json.exit_code, 0);
  EXPECT_NE(bad_json.err.find("<stdin>:1"), std::string::npos) << bad_json.err;
}

// The cross-encoder layout (tokenizer.json only, roberta.-prefixed classifier): each pair's raw logit through
// `ksearch rerank`, pairs truncated longest-first to 512 tokens as Hugging Face does.
TEST(CliRerank, HubRerankerLayoutMatchesTheReference) {
  const auto dir = testing::fixture("hub/reranker-layout");
  for (const Json& pair : testing::read_jsonl(dir / "expected.jsonl")) {
    const auto result = testing::run_ksearch(
        {"rerank", pair["query"].get<std::string>(), "--model", dir.string(), "--input-format", "jsonl"},
        Json(pair["passage"]).dump() + "\n");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Json scored = Json::parse(result.out);
    EXPECT_EQ(scored["index"], 0);
    EXPECT_NEAR(scored["score"].get<double>(), pair["logit"].get<double>(), 1e-3) << pair["query"];
  }
}

}  // namespace
}  // namespace ksearch
