#include "embed/tokenizer.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

class FixtureTokenizer : public ::testing::TestWithParam<std::string> {};

// Golden ids from the independent reference implementation, for every fixture text (Korean, mixed scripts,
// full-width and circled characters, runs of spaces, emoji, tabs/newlines, and a text truncated at 512 tokens).
TEST_P(FixtureTokenizer, MatchesReferenceIdsExactly) {
  const auto dir = testing::fixture(GetParam());
  const Tokenizer tokenizer = Tokenizer::load(dir);
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  ASSERT_EQ(expected.size(), 14u);
  for (const auto& line : expected) {
    const auto text = line["text"].get<std::string>();
    const auto want = line["token_ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(tokenizer.encode(text, 512).ids, want) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureTokenizer, ::testing::Values("tiny-e5-bert", "tiny-bge-m3-xlmr"));

class TokenizerTest : public ::testing::Test {
 protected:
  Tokenizer tokenizer = Tokenizer::load(testing::fixture("tiny-e5-bert"));
};

TEST_F(TokenizerTest, IdConventionAndVocabulary) {
  EXPECT_EQ(tokenizer.vocab_size(), 4002);
  EXPECT_EQ(tokenizer.mask_id(), 4001);
  EXPECT_EQ(tokenizer.encode("", 512).ids, (std::vector<TokenId>{0, 2}));
  EXPECT_EQ(tokenizer.piece(0), "<s>");
  EXPECT_EQ(tokenizer.piece(2), "</s>");
}

TEST_F(TokenizerTest, TruncationKeepsEndOfSequence) {
  const auto full = tokenizer.encode("서울특별시는 대한민국의 수도이자 최대 도시이다.", 512);
  const auto cut = tokenizer.encode("서울특별시는 대한민국의 수도이자 최대 도시이다.", 6);
  ASSERT_EQ(cut.ids.size(), 6u);
  EXPECT_EQ(cut.ids.back(), tokenizer.eos_id());
  EXPECT_TRUE(std::equal(cut.ids.begin(), cut.ids.end() - 1, full.ids.begin()));
  EXPECT_TRUE(cut.truncated());
  EXPECT_EQ(cut.untruncated_length, full.ids.size());
  EXPECT_FALSE(full.truncated());
  EXPECT_THROW(tokenizer.encode("x", 1), Error);
}

TEST_F(TokenizerTest, PairEncodingTruncatesTheLongerSide) {
  const auto a = tokenizer.encode("질문", 512).ids;
  const auto b = tokenizer.encode("긴 문단 하나가 여기에 들어갑니다. 아주 긴 문단입니다.", 512).ids;
  const auto pair = tokenizer.encode_pair("질문", "긴 문단 하나가 여기에 들어갑니다. 아주 긴 문단입니다.", 512).ids;
  std::vector<TokenId> want(a.begin(), a.end());
  want.push_back(tokenizer.eos_id());
  want.insert(want.end(), b.begin() + 1, b.end());
  EXPECT_EQ(pair, want);

  const std::size_t a_content = a.size() - 2;
  const auto cut =
      tokenizer.encode_pair("질문", "긴 문단 하나가 여기에 들어갑니다. 아주 긴 문단입니다.", a_content * 2 + 4);
  ASSERT_EQ(cut.ids.size(), a_content * 2 + 4);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), cut.ids.begin()));  // the short side is untouched
  EXPECT_EQ(cut.ids.back(), tokenizer.eos_id());
}

TEST_F(TokenizerTest, LiteralSpecialTokensBecomeTheirIds) {
  const auto ids = tokenizer.encode("앞<mask>뒤</s>", 512).ids;
  EXPECT_NE(std::find(ids.begin(), ids.end(), tokenizer.mask_id()), ids.end());
  EXPECT_EQ(ids[ids.size() - 2], tokenizer.eos_id());
  // Each side of a special token is segmented separately (gets its own word-start marker).
  const auto left = tokenizer.encode("앞", 512).ids;
  EXPECT_EQ(ids[1], left[1]);
}

TEST_F(TokenizerTest, InvalidUtf8IsAnErrorNamingTheOffset) {
  try {
    tokenizer.encode("abc\xFF", 512);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("byte 3"), std::string::npos);
  }
}

TEST_F(TokenizerTest, OffsetsPointIntoTheText) {
  const std::string text = "서울에서 만나요";
  const auto spans = tokenizer.tokenize_with_offsets(text);
  ASSERT_FALSE(spans.empty());
  EXPECT_EQ(spans.back().end, text.size());
  for (const auto& span : spans) {
    EXPECT_LE(span.begin, span.end);
    EXPECT_LE(span.end, text.size());
  }
}

class HubTokenizer : public ::testing::TestWithParam<std::string> {};

// Every hub layout's ids from Hugging Face's Rust tokenizers, through tokenizer.json (the reranker's pairs
// truncated longest-first to 512).
TEST_P(HubTokenizer, MatchesHuggingFaceIdsExactly) {
  const auto dir = testing::fixture("hub/" + GetParam());
  const Tokenizer tokenizer = Tokenizer::load(dir);
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  ASSERT_FALSE(expected.empty());
  for (const auto& line : expected) {
    const auto want = line["token_ids"].get<std::vector<TokenId>>();
    if (line.contains("query")) {
      const auto query = line["query"].get<std::string>();
      const auto passage = line["passage"].get<std::string>();
      EXPECT_EQ(tokenizer.encode_pair(query, passage, 512).ids, want) << query << " | " << passage;
    } else {
      const auto text = line["text"].get<std::string>();
      EXPECT_EQ(tokenizer.encode(text, 512).ids, want) << text;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Hub, HubTokenizer,
                         ::testing::Values("bge-m3-layout", "e5-small-ko-layout", "koen-e5-tiny-layout",
                                           "kure-v1-layout", "reranker-layout"));

}  // namespace
}  // namespace ksearch
