#include "embed/model_spec.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

std::string config_error(const std::string& json) {
  try {
    TransformerConfig::from_json(Json::parse(json), "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpec, ReadsSentenceTransformersFiles) {
  const auto bert = load_model_spec(testing::fixture("tiny-e5-bert"), "tiny");
  EXPECT_EQ(bert.config.architecture, Architecture::Bert);
  EXPECT_EQ(bert.pooling, Pooling::Mean);
  EXPECT_EQ(bert.dimension(), 64);
  EXPECT_EQ(bert.max_seq_length, 512);
  EXPECT_TRUE(bert.normalize);
  EXPECT_EQ(bert.config.position_offset(), 0);

  const auto xlmr = load_model_spec(testing::fixture("tiny-bge-m3-xlmr"), "tiny");
  EXPECT_EQ(xlmr.config.architecture, Architecture::XlmRoberta);
  EXPECT_EQ(xlmr.pooling, Pooling::Cls);
  EXPECT_EQ(xlmr.config.position_offset(), 2);
  EXPECT_EQ(xlmr.config.max_tokens(), 512);
  EXPECT_EQ(xlmr.kind, ModelKind::Embedding);
}

TEST(ModelSpec, PresetsCoverTheSeedModels) {
  for (const char* id :
       {"nlpai-lab/KURE-v1", "dragonkue/BGE-m3-ko", "nlpai-lab/KoE5", "dragonkue/multilingual-e5-small-ko",
        "exp-models/dragonkue-KoEn-E5-Tiny", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base",
        "intfloat/multilingual-e5-large", "BAAI/bge-m3", "BAAI/bge-reranker-v2-m3", "dragonkue/bge-reranker-v2-m3-ko"})
    EXPECT_NE(find_preset(id), nullptr) << id;
  const auto* kure = find_preset("kure");
  ASSERT_NE(kure, nullptr);
  EXPECT_EQ(kure->id, "nlpai-lab/KURE-v1");
  EXPECT_EQ(kure->pooling, Pooling::Cls);
  EXPECT_EQ(kure->max_seq_length, 8192);
  EXPECT_EQ(kure->query_prefix, "");
  const auto* koe5 = find_preset("koe5");
  EXPECT_EQ(koe5->pooling, Pooling::Mean);
  EXPECT_EQ(koe5->query_prefix, "query: ");
  EXPECT_EQ(koe5->passage_prefix, "passage: ");
  EXPECT_EQ(find_preset("e5-small-ko")->dimension, 384);
  // WordPiece Korean sentence-transformers: mean pooling, no prompts, 768 dimensions, 128-token training length.
  for (const char* alias : {"ko-sroberta", "kr-sbert"}) {
    const ModelPreset* preset = find_preset(alias);
    ASSERT_NE(preset, nullptr) << alias;
    EXPECT_EQ(preset->pooling, Pooling::Mean) << alias;
    EXPECT_EQ(preset->query_prefix, "") << alias;
    EXPECT_EQ(preset->passage_prefix, "") << alias;
    EXPECT_EQ(preset->dimension, 768) << alias;
    EXPECT_EQ(preset->max_seq_length, 128) << alias;
  }
  EXPECT_EQ(canonical_model_id("ko-sroberta"), "jhgan/ko-sroberta-multitask");
  EXPECT_EQ(canonical_model_id("kr-sbert"), "snunlp/KR-SBERT-V40K-klueNLI-augSTS");
  EXPECT_EQ(canonical_model_id("bge-m3-ko"), "dragonkue/BGE-m3-ko");
  EXPECT_EQ(hf_cache_folder_name("nlpai-lab/KURE-v1"), "models--nlpai-lab--KURE-v1");
}

TEST(ModelSpec, PresetAppliesByFolderNameAndPromptsFileOverrides) {
  testing::TempDir dir;
  const auto folder = dir / "multilingual-e5-small-ko";
  testing::copy_model(testing::fixture("tiny-e5-bert"), folder);
  auto spec = load_model_spec(folder, folder.string());
  EXPECT_EQ(spec.query_prefix, "query: ");
  EXPECT_EQ(spec.passage_prefix, "passage: ");
  testing::write_text(folder / "config_sentence_transformers.json",
                      R"({"prompts": {"query": "질문: ", "document": "문서: "}})");
  spec = load_model_spec(folder, folder.string());
  EXPECT_EQ(spec.query_prefix, "질문: ");
  EXPECT_EQ(spec.passage_prefix, "문서: ");
}

TEST(ModelSpec, ConfigValuesOutOfRangeAreNamed) {
  const std::string base = R"("model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
                              "vocab_size": 100, "max_position_embeddings": 512)";
  EXPECT_NE(config_error("{" + base + R"(, "num_attention_heads": 0})").find("num_attention_heads = 0"),
            std::string::npos);
  EXPECT_NE(config_error("{" + base + R"(, "num_attention_heads": 5})").find("not divisible"), std::string::npos);
  EXPECT_NE(config_error(R"({"model_type": "gpt2"})").find("gpt2"), std::string::npos);
  EXPECT_NE(config_error("{" + base + R"(, "num_attention_heads": 4, "hidden_act": "relu"})").find("relu"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"model_type": "bert"})").find("missing field 'hidden_size'"), std::string::npos);
  EXPECT_NE(config_error("{" + base + R"(, "num_attention_heads": "4"})").find("wrong type"), std::string::npos);
}

TEST(ModelResolver, FindsModelsInKsearchModelsAndTheHuggingFaceCache) {
  testing::TempDir dir;
  ModelSearchPaths paths;
  paths.roots = {dir / "models"};
  paths.hf_hub = dir / "hub";
  testing::copy_model(testing::fixture("tiny-e5-bert"), dir / "models" / "acme" / "tiny");
  auto resolved = resolve_model("acme/tiny", paths);
  EXPECT_EQ(resolved.dir, dir / "models" / "acme" / "tiny");
  EXPECT_EQ(resolved.id, "acme/tiny");

  const auto repo = dir / "hub" / "models--nlpai-lab--KURE-v1";
  testing::copy_model(testing::fixture("tiny-bge-m3-xlmr"), repo / "snapshots" / "abc123");
  testing::copy_model(testing::fixture("tiny-bge-m3-xlmr"), repo / "snapshots" / "def456");
  testing::write_text(repo / "refs" / "main", "abc123\n");
  resolved = resolve_model("kure", paths);
  EXPECT_EQ(resolved.id, "nlpai-lab/KURE-v1");
  EXPECT_EQ(resolved.dir, repo / "snapshots" / "abc123");

  resolved = resolve_model((dir / "models" / "acme" / "tiny").string(), paths);
  EXPECT_EQ(resolved.dir, dir / "models" / "acme" / "tiny");
}

TEST(ModelResolver, MissingModelSaysWhereItLookedAndHowToGetIt) {
  testing::TempDir dir;
  ModelSearchPaths paths;
  paths.roots = {dir / "models"};
  paths.hf_hub = dir / "hub";
  try {
    resolve_model("e5-small-ko", paths);
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("ksearch model pull dragonkue/multilingual-e5-small-ko"), std::string::npos) << message;
    EXPECT_NE(message.find((dir / "hub" / "models--dragonkue--multilingual-e5-small-ko").string()), std::string::npos);
  }
}

std::string resolve_error(std::string_view name, const ModelSearchPaths& paths) {
  try {
    resolve_model(name, paths);
  } catch (const Error& e) {
    return e.what();
  }
  return "(resolved)";
}

TEST(ModelResolver, EveryPresetResolvesByIdAndAlias) {
  testing::TempDir dir;
  ModelSearchPaths paths;
  paths.roots = {dir / "models"};
  for (const auto& preset : model_presets()) {
    const std::string id(preset.id);
    testing::copy_model(testing::fixture("tiny-e5-bert"), dir / "models" / id);
    for (const std::string_view name : {preset.id, preset.alias}) {
      const ResolvedModel resolved = resolve_model(name, paths);
      EXPECT_EQ(resolved.id, id) << name;
      EXPECT_EQ(resolved.dir, dir / "models" / id) << name;
    }
  }
}

TEST(ModelResolver, MistypedFolderIsAMissingFolderNotAHubId) {
  testing::TempDir dir;
  ModelSearchPaths paths;
  paths.hf_hub = dir / "hub";
  testing::copy_model(testing::fixture("tiny-e5-bert"), dir / "models" / "KURE-v1");
  for (const std::string& name : {(dir / "models" / "KURE-v2").string(), (dir / "nowhere" / "KURE-v1").string(),
                                  std::string("./KURE-v1"), std::string("~/models/KURE-v1"), std::string("a/b/c")}) {
    const std::string message = resolve_error(name, paths);
    EXPECT_NE(message.find("model folder '" + name + "' does not exist"), std::string::npos) << message;
    EXPECT_EQ(message.find("model pull"), std::string::npos) << message;
  }
  // The deepest existing folder and its nearest entry are named.
  const std::string message = resolve_error((dir / "models" / "KURE-v2").string(), paths);
  const std::string models = (dir / "models").string();
  EXPECT_NE(message.find(cat("('", models, "' does)")), std::string::npos) << message;
  EXPECT_NE(message.find(cat("did you mean '", models, "/KURE-v1'?")), std::string::npos) << message;
  // A hub id whose organisation is not a local folder is still looked up as a hub id.
  EXPECT_NE(resolve_error("acme/none", paths).find("ksearch model pull acme/none"), std::string::npos);
}

TEST(ModelResolver, SuggestsTheNearestAliasAndHonoursOfflineMode) {
  testing::TempDir dir;
  ModelSearchPaths paths;
  paths.hf_hub = dir / "hub";
  EXPECT_NE(resolve_error("kuer", paths).find("did you mean 'kure' (nlpai-lab/KURE-v1)?"), std::string::npos);
  EXPECT_NE(resolve_error("e5-smal-ko", paths).find("did you mean 'e5-small-ko'"), std::string::npos);
  EXPECT_NE(resolve_error("nlpai-lab/kure-v1", paths).find("did you mean 'nlpai-lab/KURE-v1'?"), std::string::npos);
  EXPECT_EQ(resolve_error("completely-different", paths).find("did you mean"), std::string::npos);
  paths.offline = true;
  const std::string offline = resolve_error("kure", paths);
  EXPECT_NE(offline.find("HF_HUB_OFFLINE"), std::string::npos) << offline;
  EXPECT_NE(offline.find("--model ./models/KURE-v1"), std::string::npos) << offline;
  EXPECT_EQ(offline.find("model pull"), std::string::npos) << offline;
}

}  // namespace
}  // namespace ksearch
