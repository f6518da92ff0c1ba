#include <gtest/gtest.h>

#include "base/error.h"
#include "base/files.h"
#include "embed/model.h"
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

class HubParity : public ::testing::TestWithParam<std::string> {};

// Whole KorQuAD paragraphs and hostile Unicode through the hub layouts' own tokenizer.json files (the reranker:
// question/paragraph pairs truncated longest-first to 512), against Hugging Face's Rust tokenizers.
TEST_P(HubParity, WholeParagraphsMatchHuggingFace) {
  const Tokenizer tokenizer = Tokenizer::load(testing::fixture("hub/" + GetParam()));
  const auto expected = testing::read_jsonl(testing::test_data("tokenizers/hub-parity/" + GetParam() + ".jsonl"));
  ASSERT_GE(expected.size(), 20u);
  std::size_t mismatches = 0;
  for (const auto& line : expected) {
    const auto text = line["text"].get<std::string>();
    const auto want = line["ids"].get<std::vector<TokenId>>();
    const Encoding got = line.contains("pair") ? tokenizer.encode_pair(text, line["pair"].get<std::string>(), 512)
                                               : tokenizer.encode(text, 1'000'000);
    EXPECT_EQ(got.ids, want) << to_json_text(line).substr(0, 300);
    mismatches += got.ids != want;
    ASSERT_LT(mismatches, 5u) << "stopping after 5 mismatches";
  }
}

INSTANTIATE_TEST_SUITE_P(Hub, HubParity,
                         ::testing::Values("bge-m3-layout", "e5-small-ko-layout", "koen-e5-tiny-layout",
                                           "reranker-layout"));

// NFC first: Hangul given as conjoining jamo (NFD, as macOS file names carry it) tokenizes like the composed
// syllables, where Hugging Face would produce <unk>, and offsets still point into the caller's bytes.
TEST(TokenizerJson, ComposesToNfcAndKeepsOriginalOffsets) {
  const Tokenizer tokenizer = Tokenizer::load(testing::fixture("hub/koen-e5-tiny-layout"));
  const std::string composed = "한글 검색";
  const std::string decomposed = "\u1112\u1161\u11ab\u1100\u1173\u11af \u1100\u1165\u11b7\u1109\u1162\u11a8";
  EXPECT_EQ(tokenizer.encode(decomposed, 512).ids, tokenizer.encode(composed, 512).ids);
  const auto spans = tokenizer.tokenize_with_offsets(decomposed);
  ASSERT_FALSE(spans.empty());
  EXPECT_EQ(spans.front().begin, 0u);
  EXPECT_EQ(spans.back().end, decomposed.size());
  for (const auto& span : spans) EXPECT_LE(span.end, decomposed.size());
}

TEST(TokenizerJson, OffsetsCoverTheOriginalText) {
  const Tokenizer tokenizer = Tokenizer::load(testing::test_data("tokenizers/wordpiece-bert-lowercase"));
  const std::string text = "Ａｂｃ 서울에서   만나요! café";
  const auto spans = tokenizer.tokenize_with_offsets(text);
  ASSERT_GE(spans.size(), 5u);
  for (std::size_t i = 0; i < spans.size(); ++i) {
    EXPECT_LT(spans[i].begin, spans[i].end);
    EXPECT_LE(spans[i].end, text.size());
    if (i > 0) {
      EXPECT_GE(spans[i].begin, spans[i - 1].begin);
    }
  }
  EXPECT_EQ(text.substr(spans.back().begin, spans.back().end - spans.back().begin), "é");
}

TEST(TokenizerJson, SpecialIdsComeFromTheFile) {
  const Tokenizer bert = Tokenizer::load(testing::test_data("tokenizers/wordpiece-bert"));
  EXPECT_EQ(bert.bos_id(), 2);
  EXPECT_EQ(bert.eos_id(), 3);
  EXPECT_EQ(bert.pad_id(), 0);
  EXPECT_EQ(bert.unk_id(), 1);
  EXPECT_EQ(bert.mask_id(), 4);
  EXPECT_EQ(bert.piece(2), "[CLS]");
  EXPECT_EQ(bert.encode_pair("a", "b", 512).type_ids, (std::vector<std::int32_t>{0, 0, 0, 1, 1}));
  const Tokenizer koen = Tokenizer::load(testing::fixture("hub/koen-e5-tiny-layout"));
  EXPECT_EQ(koen.vocab_size(), 3238);
  EXPECT_EQ(koen.mask_id(), 3237);
  EXPECT_NE(koen.fingerprint(), bert.fingerprint());
}

// Hostile tokenizer.json files: one clear error naming the file and the JSON path, never a crash.
class HostileTokenizerJson : public ::testing::Test {
 protected:
  std::string error_for(const std::string& json) {
    testing::write_text(dir.path() / "tokenizer.json", json);
    try {
      Tokenizer::load(dir.path());
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  testing::TempDir dir;
};

constexpr const char* kUnigram = R"("model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]]})";

TEST_F(HostileTokenizerJson, UnsupportedConstructsNameTheJsonPath) {
  EXPECT_NE(error_for(std::string(R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"},
      {"type": "Lowercase"}, {"type": "Nmt"}]}, )") +
                      kUnigram + "}")
                .find(R"(tokenizer.json: normalizer.normalizers[2].type: "Nmt" is not supported)"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})")
                .find(R"(model.type: "BPE" is not supported)"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"model": {"type": "WordLevel", "vocab": {}}})").find("WordLevel\" is not supported"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"pre_tokenizer": {"type": "ByteLevel"}, )") + kUnigram + "}")
                .find(R"(pre_tokenizer.type: "ByteLevel" is not supported)"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"post_processor": {"type": "ByteLevel"}, )") + kUnigram + "}")
                .find(R"(post_processor.type: "ByteLevel" is not supported)"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"pre_tokenizer": {"type": "Metaspace", "replacement": "_",
      "prepend_scheme": "sometimes"}, )") +
                      kUnigram + "}")
                .find(R"(pre_tokenizer.prepend_scheme: "sometimes" is not supported)"),
            std::string::npos);
}

TEST_F(HostileTokenizerJson, WrongTypesAndValuesAreErrors) {
  EXPECT_NE(
      error_for(std::string(R"({"normalizer": {"type": "BertNormalizer", "lowercase": "yes"}, )") + kUnigram + "}")
          .find("normalizer.lowercase: expected true or false, found string"),
      std::string::npos);
  EXPECT_NE(error_for(R"({"model": {"type": "Unigram", "unk_id": 7, "vocab": [["a", 0.0]]}})")
                .find("model.unk_id: 7 is outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"model": {"type": "Unigram", "vocab": [["a", "high"]]}})").find("model.vocab[0]"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"added_tokens": [{"id": 99999999999, "content": "x"}], )") + kUnigram + "}")
                .find("added_tokens[0].id"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"normalizer": {"type": "Replace", "pattern": {"Regex": "(["},
                      "content": ""}, )") +
                      kUnigram + "}")
                .find("normalizer.pattern: invalid regular expression"),
            std::string::npos);
  EXPECT_NE(error_for(std::string(R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"}, )") +
                      kUnigram + "}")
                .find("precompiled_charsmap"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}})")
                .find("model.unk_token: \"[UNK]\" is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_for("[1, 2, 3]").find("expected a JSON object"), std::string::npos);
}

TEST_F(HostileTokenizerJson, TruncatedAndDeeplyNestedFilesAreErrors) {
  const std::string full = read_file(testing::test_data("tokenizers/wordpiece-bert/tokenizer.json"));
  for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, full.size() / 3, full.size() - 2})
    EXPECT_NE(error_for(full.substr(0, cut)).find("tokenizer.json"), std::string::npos) << cut;
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"type": "Sequence", "normalizers": [)";
  EXPECT_NE(error_for(deep).find("nested deeper"), std::string::npos);
}

// The model refuses a tokenizer whose ids do not fit its embedding matrix.
TEST(TokenizerJson, IdsBeyondTheEmbeddingMatrixAreRefused) {
  testing::TempDir dir;
  testing::copy_model(testing::fixture("hub/koen-e5-tiny-layout"), dir.path());
  std::string json = read_file(dir.path() / "tokenizer.json");
  const std::string mask = R"("id": 3237, "content": "<mask>")";
  const auto at = json.find(mask);
  ASSERT_NE(at, std::string::npos);
  json.replace(at, mask.size(), R"("id": 4000, "content": "<mask>")");
  testing::write_text(dir.path() / "tokenizer.json", json);
  EXPECT_EQ(Tokenizer::load(dir.path()).vocab_size(), 4001);
  try {
    Model::load_dir(dir.path(), "koen");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4001 ids but the embedding matrix has only 3238 rows"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ksearch
