// End-to-end: the ksearch binary refusing a model that is not the index's (#32) and naming mistyped models clearly.
// Two tiny models of the same dimension: tiny-e5-bert (BERT, mean pooling) and tiny-bge-m3-xlmr (XLM-R, CLS).
#include <gtest/gtest.h>

#include <filesystem>

#include "base/files.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

const std::string kBert = testing::fixture("tiny-e5-bert").string();
const std::string kXlmr = testing::fixture("tiny-bge-m3-xlmr").string();

// An index of two small files built with `model` ("" = lexical only).
fs::path indexed_folder(const testing::TempDir& dir, const std::string& model) {
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", "서울특별시는 대한민국의 수도이다.\n");
  testing::write_text(docs / "busan.txt", "부산광역시는 항구 도시이다. 해운대 해수욕장이 유명하다.\n");
  std::vector<std::string> arguments = {"index", docs.string(), "-q"};
  if (model.empty()) {
    arguments.push_back("--no-model");
  } else {
    arguments.insert(arguments.end(), {"--model", model});
  }
  const auto result = testing::run_ksearch(arguments);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return docs;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CliModelIdentity, SearchingWithAnotherModelOfTheSameDimensionIsRefused) {
  testing::TempDir dir;
  const fs::path docs = indexed_folder(dir, kBert);
  const auto other = testing::run_ksearch({"search", "서울", "--model", kXlmr}, "", {}, docs);
  EXPECT_NE(other.exit_code, 0);
  EXPECT_TRUE(contains(other.err, "'" + kBert + "' (bert, mean pooling, 64 dimensions)")) << other.err;
  EXPECT_TRUE(contains(other.err, "not '" + kXlmr + "' (xlm-roberta, cls pooling, 64 dimensions)")) << other.err;
  EXPECT_TRUE(contains(other.err, "architecture xlm-roberta, not bert")) << other.err;
  EXPECT_TRUE(contains(other.err, "--force")) << other.err;
  // --force: the user vouches for the model; the dimensions agree, so the search runs.
  const auto forced = testing::run_ksearch({"search", "서울", "--model", kXlmr, "--force", "--json"}, "", {}, docs);
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  // The same model in another folder of the same name is the index's model.
  testing::copy_model(kBert, dir / "elsewhere" / "tiny-e5-bert");
  const auto moved =
      testing::run_ksearch({"search", "서울", "--model", (dir / "elsewhere" / "tiny-e5-bert").string()}, "", {}, docs);
  EXPECT_EQ(moved.exit_code, 0) << moved.err;
}

TEST(CliModelIdentity, SamePlaceAndTokenizerButOtherPoolingIsRefused) {
  testing::TempDir dir;
  const fs::path model = dir / "models" / "tiny-e5-bert";
  testing::copy_model(kBert, model);
  const fs::path docs = indexed_folder(dir, model.string());
  testing::write_text(model / "1_Pooling" / "config.json",
                      R"({"word_embedding_dimension": 64, "pooling_mode_cls_token": true})");
  const auto search = testing::run_ksearch({"search", "서울"}, "", {}, docs);
  EXPECT_NE(search.exit_code, 0);
  EXPECT_TRUE(contains(search.err, "pooling cls, not mean")) << search.err;
  EXPECT_FALSE(contains(search.err, "architecture")) << search.err;
}

TEST(CliModelIdentity, IndexingWithAnotherModelNamesBoth) {
  testing::TempDir dir;
  const fs::path docs = indexed_folder(dir, kBert);
  const auto index = testing::run_ksearch({"index", "--model", kXlmr}, "", {}, docs);
  EXPECT_NE(index.exit_code, 0);
  EXPECT_TRUE(contains(index.err, "built with model '" + kBert + "' (bert, mean pooling")) << index.err;
  EXPECT_TRUE(contains(index.err, "pooling cls, not mean")) << index.err;
  EXPECT_TRUE(contains(index.err, "--rebuild")) << index.err;
  // Nothing stored was touched: the index still searches with its own model.
  const auto search = testing::run_ksearch({"search", "해운대", "--json"}, "", {}, docs);
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_EQ(Json::parse(search.out)["results"][0]["path"], "busan.txt");
  EXPECT_EQ(testing::run_ksearch({"index", "--model", kXlmr, "--rebuild", "-q"}, "", {}, docs).exit_code, 0);
  EXPECT_EQ(testing::run_ksearch({"search", "서울", "--model", kXlmr}, "", {}, docs).exit_code, 0);
}

TEST(CliModelIdentity, ModelForALexicalOnlyIndexIsReported) {
  testing::TempDir dir;
  const fs::path docs = indexed_folder(dir, "");
  const auto search = testing::run_ksearch({"search", "서울", "--model", kBert}, "", {}, docs);
  EXPECT_NE(search.exit_code, 0);
  EXPECT_TRUE(contains(search.err, "lexical only")) << search.err;
  EXPECT_TRUE(contains(search.err, "--model " + kBert)) << search.err;
}

TEST(CliModelNames, MistypedNamesAreExplained) {
  testing::TempDir dir;
  const std::map<std::string, std::string> env = {{"HF_HOME", (dir / "hf").string()},
                                                  {"KSEARCH_MODELS", (dir / "none").string()}};
  fs::create_directories(dir / "models" / "tiny-e5-bert");
  const auto folder = testing::run_ksearch({"embed", "-m", "models/tiny-e5-brt"}, "서울\n", env, dir.path());
  EXPECT_NE(folder.exit_code, 0);
  EXPECT_TRUE(contains(folder.err, "model folder 'models/tiny-e5-brt' does not exist")) << folder.err;
  EXPECT_TRUE(contains(folder.err, "did you mean 'models/tiny-e5-bert'")) << folder.err;
  EXPECT_FALSE(contains(folder.err, "model pull")) << folder.err;

  const auto alias = testing::run_ksearch({"embed", "-m", "kuer"}, "서울\n", env, dir.path());
  EXPECT_NE(alias.exit_code, 0);
  EXPECT_TRUE(contains(alias.err, "did you mean 'kure' (nlpai-lab/KURE-v1)?")) << alias.err;

  auto offline_env = env;
  offline_env["HF_HUB_OFFLINE"] = "1";
  const auto offline = testing::run_ksearch({"embed", "-m", "acme/tiny"}, "서울\n", offline_env, dir.path());
  EXPECT_NE(offline.exit_code, 0);
  EXPECT_TRUE(contains(offline.err, "--model ./models/tiny")) << offline.err;
  EXPECT_FALSE(contains(offline.err, "model pull")) << offline.err;
}

}  // namespace
}  // namespace ksearch
