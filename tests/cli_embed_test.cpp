// End-to-end: the ksearch binary's embed and tokenize commands against the fixtures' reference outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/test_support.h"

namespace ksearch {
namespace {

std::string texts_as_jsonl(const std::vector<Json>& expected) {
  std::string input;
  for (const auto& line : expected) input += Json(line["text"]).dump() + "\n";
  return input;
}

TEST(CliEmbed, ReproducesReferenceEmbeddings) {
  for (const char* name : {"tiny-e5-bert", "tiny-bge-m3-xlmr"}) {
    const auto dir = testing::fixture(name);
    const auto expected = testing::read_jsonl(dir / "expected.jsonl");
    const auto result = testing::run_ksearch({"embed", "--model", dir.string(), "--input-format", "jsonl",
                                              "--batch-size", "5"},
                                             texts_as_jsonl(expected));
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

TEST(CliTokenize, ReproducesReferenceIds) {
  const auto dir = testing::fixture("tiny-bge-m3-xlmr");
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  const auto result = testing::run_ksearch({"tokenize", "--model", dir.string(), "--input-format", "jsonl"},
                                           texts_as_jsonl(expected));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  for (std::size_t i = 0; std::getline(lines, line); ++i)
    EXPECT_EQ(Json::parse(line)["ids"], expected[i]["token_ids"]) << i;
}

// Every hub layout through `ksearch tokenize --model DIR`: tokenizer.json decides, ids as Hugging Face's Rust
// tokenizers gives them.
TEST(CliTokenize, HubLayoutsGiveHuggingFaceIds) {
  for (const std::string layout :
       {"bge-m3-layout", "e5-small-ko-layout", "koen-e5-tiny-layout", "kure-v1-layout"}) {
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
  const auto cut = testing::run_ksearch({"embed", "-m", dir.string(), "--max-tokens", "4"}, "서울특별시는 대한민국의 수도\n");
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

}  // namespace
}  // namespace ksearch
