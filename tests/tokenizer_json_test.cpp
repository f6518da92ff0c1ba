#include <gtest/gtest.h>

#include "base/error.h"
#include "embed/tokenizer.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

class TokenizerVariant : public ::testing::TestWithParam<std::string> {};

// tokenizer.json variants (tests/data/tokenizers/README.md) and their ids and type ids from Hugging Face's Rust
// tokenizers, on KorQuAD sentences and hostile Unicode, single texts and pairs.
TEST_P(TokenizerVariant, MatchesHuggingFaceIdsAndTypeIdsExactly) {
  const auto dir = testing::test_data("tokenizers/" + GetParam());
  const Tokenizer tokenizer = Tokenizer::load(dir);
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  ASSERT_GE(expected.size(), 150u);
  // The truncated variant's tokenizer.json sets truncation to 24; the others never truncate.
  const std::size_t max_length = GetParam().ends_with("-24") ? 24 : 1'000'000;
  std::size_t mismatches = 0;
  for (const auto& line : expected) {
    const auto text = line["text"].get<std::string>();
    const auto want_ids = line["ids"].get<std::vector<TokenId>>();
    const auto want_types = line["type_ids"].get<std::vector<std::int32_t>>();
    const Encoding got = line.contains("pair")
                             ? tokenizer.encode_pair(text, line["pair"].get<std::string>(), max_length)
                             : tokenizer.encode(text, max_length);
    EXPECT_EQ(got.ids, want_ids) << to_json_text(line);
    EXPECT_EQ(got.type_ids, want_types) << to_json_text(line);
    mismatches += got.ids != want_ids;
    ASSERT_LT(mismatches, 5u) << "stopping after 5 mismatches";
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, TokenizerVariant,
                         ::testing::Values("wordpiece-bert", "wordpiece-bert-lowercase",
                                           "wordpiece-bert-lowercase-keep-accents", "wordpiece-bert-truncated-24",
                                           "unigram-metaspace-first-nosplit", "unigram-metaspace-never-nfkc-lower",
                                           "unigram-byte-fallback-strip-accents", "unigram-split-punctuation-digits",
                                           "unigram-whitespace-contiguous", "unigram-added-tokens-prepend"));

}  // namespace
}  // namespace ksearch
