// BGE-M3's dense, lexical-weight and ColBERT outputs through the library, against the PyTorch reference
// (FlagEmbedding's BGEM3FlagModel semantics) on models read from pytorch_model.bin in F32, F16, BF16, sharded, and
// beside safetensors.
#include "embed/bge_m3_heads.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "embed/embedder.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> model_dirs() {
  return {testing::fixture("hub/bge-m3-layout"), testing::test_data("models/bge-m3-f16-bin"),
          testing::test_data("models/bge-m3-bf16-bin"), testing::test_data("models/bge-m3-sharded-bin"),
          testing::test_data("models/bge-m3-safetensors-and-bin")};
}

// The reference's ColBERT rows: all of them, or the first three in the hub fixture.
const Json& expected_colbert(const Json& expected) {
  return expected.contains("colbert_vecs") ? expected["colbert_vecs"] : expected["colbert_vecs_first3"];
}

TEST(BgeM3Heads, DenseSparseAndColbertMatchTheReference) {
  for (const fs::path& dir : model_dirs()) {
    SCOPED_TRACE(dir.string());
    const Embedder embedder(Model::load_dir(dir, dir.filename().string()));
    ASSERT_TRUE(embedder.model().heads.has_lexical());
    ASSERT_TRUE(embedder.model().heads.has_colbert());
    EXPECT_EQ(embedder.model().heads.colbert_dimension(), 64u);
    std::vector<std::string> texts;
    std::vector<Json> expected;
    for (const Json& line : testing::read_jsonl(dir / "expected.jsonl")) {
      texts.push_back(line["text"].get<std::string>());
      expected.push_back(line);
      ASSERT_EQ(embedder.tokenize(texts.back(), TextKind::Raw).ids, line["token_ids"].get<std::vector<TokenId>>());
    }
    const Embeddings dense = embedder.embed(texts, TextKind::Raw);
    const std::vector<LexicalWeights> sparse = embedder.lexical_weights(texts, TextKind::Raw);
    const std::vector<MultiVector> colbert = embedder.colbert_vectors(texts, TextKind::Raw);
    std::size_t lexical_seen = 0;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      SCOPED_TRACE(texts[t]);
      const auto want_dense = expected[t]["embedding"].get<std::vector<float>>();
      const auto have_dense = dense.row(t);
      ASSERT_EQ(have_dense.size(), want_dense.size());
      for (std::size_t i = 0; i < want_dense.size(); ++i) EXPECT_NEAR(have_dense[i], want_dense[i], 1e-4);

      const Json& want_sparse = expected[t]["lexical_weights"];
      ASSERT_EQ(sparse[t].tokens.size(), want_sparse.size());
      for (std::size_t i = 0; i < sparse[t].tokens.size(); ++i) {
        const std::string id = std::to_string(sparse[t].tokens[i]);
        ASSERT_TRUE(want_sparse.contains(id)) << id;
        EXPECT_NEAR(sparse[t].weights[i], want_sparse[id].get<float>(), 1e-4) << id;
      }
      lexical_seen += want_sparse.size();

      const Json& want_colbert = expected_colbert(expected[t]);
      const std::size_t tokens = expected[t]["token_ids"].size();
      EXPECT_EQ(colbert[t].rows(), tokens - 1);  // every token after <s>
      ASSERT_LE(want_colbert.size(), colbert[t].rows());
      for (std::size_t r = 0; r < want_colbert.size(); ++r)
        for (std::size_t i = 0; i < colbert[t].dimension; ++i)
          EXPECT_NEAR(colbert[t].values[r * colbert[t].dimension + i], want_colbert[r][i].get<float>(), 1e-4);
    }
    if (dir.filename() != "bge-m3-layout") {
      EXPECT_GT(lexical_seen, 0u);  // that fixture's head gives no weight > 0
    }
  }
}

TEST(BgeM3Heads, ModelsWithoutHeadsSayWhichFileIsMissing) {
  const Embedder embedder(Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "tiny"));
  EXPECT_FALSE(embedder.model().heads.has_lexical());
  const std::vector<std::string> texts = {"서울"};
  try {
    embedder.lexical_weights(texts, TextKind::Raw);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sparse_linear.pt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(embedder.colbert_vectors(texts, TextKind::Raw), Error);
}

TEST(BgeM3Heads, AHeadOfTheWrongWidthIsAnError) {
  const testing::TempDir dir;
  for (const auto& entry : fs::directory_iterator(testing::test_data("models/bge-m3-f16-bin")))
    if (entry.is_regular_file()) fs::copy(entry.path(), dir / entry.path().filename().string());
  fs::copy(testing::test_data("models/bge-m3-f16-bin/1_Pooling"), dir / "1_Pooling");
  fs::copy_file(testing::test_data("torch-checkpoints/linear-state-dict.pt"), dir / "colbert_linear.pt",
                fs::copy_options::overwrite_existing);
  try {
    Model::load_dir(dir.path(), "wrong-head");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("colbert_linear.pt: tensor weight has shape [2,3], expected [C,64]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ksearch
