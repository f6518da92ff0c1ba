#include "embed/packed_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/files.h"
#include "embed/embedder.h"
#include "embed/tensor_store.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

using testing::random_values;
namespace fs = std::filesystem;

std::vector<fs::path> cache_files(const fs::path& root) {
  std::vector<fs::path> files;
  if (!fs::exists(root / "packed")) return files;
  for (const auto& entry : fs::directory_iterator(root / "packed")) files.push_back(entry.path());
  return files;
}

class PackedWeightCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::copy_model(testing::fixture("tiny-e5-bert"), model_);
    store_ = std::make_unique<TensorStore>(TensorStore::open_model_dir(model_));
  }

  // Two layers packed from random weights, as the encoder would save them.
  std::vector<std::pair<std::string, PackedWeights>> save_two(const PackedWeightCache& cache, Precision precision) {
    layers_.clear();
    for (unsigned i = 0; i < 2; ++i) {
      const auto weight = random_values(24 * 16, 10 + i), bias = random_values(24, 20 + i);
      layers_.emplace_back(weight.data(), bias.data(), 24, 16, KernelPlan::choose(precision));
    }
    std::vector<std::pair<std::string, PackedWeights>> packed = {{"a.query", layers_[0].packed()},
                                                                 {"b.value", layers_[1].packed()}};
    cache.save(packed);
    return packed;
  }

  testing::TempDir temp_;
  fs::path model_ = temp_ / "model";
  testing::ScopedEnvironment cache_dir_{"KSEARCH_CACHE_DIR",
                                        (temp_ / "cache").string()};  // not the shared build-tree cache
  std::unique_ptr<TensorStore> store_;
  std::vector<Linear> layers_;
};

TEST_F(PackedWeightCacheTest, SavedLayersLoadBackByteForByte) {
  for (Precision precision : {Precision::Fp32, Precision::Int8}) {
    const PackedWeightCache cache(*store_, precision);
    ASSERT_TRUE(cache.enabled());
    EXPECT_EQ(cache.path().parent_path(), temp_ / "cache" / "packed");
    EXPECT_TRUE(cache.load().empty());
    const auto saved = save_two(cache, precision);
    const auto loaded = cache.load();
    ASSERT_EQ(loaded.size(), 2u);
    for (const auto& [name, weights] : saved) {
      const PackedWeights& back = loaded.at(name);
      EXPECT_EQ(back.layout, weights.layout);
      ASSERT_EQ(back.bytes.size(), weights.bytes.size());
      EXPECT_EQ(std::memcmp(back.bytes.data(), weights.bytes.data(), weights.bytes.size()), 0);
      EXPECT_EQ(std::vector<float>(back.scales.begin(), back.scales.end()),
                std::vector<float>(weights.scales.begin(), weights.scales.end()));
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(back.bytes.data()) % 4096, 0u);
    }
  }
  EXPECT_EQ(cache_files(temp_ / "cache").size(), 2u);  // one file per precision
}

TEST_F(PackedWeightCacheTest, ChangedWeightsMakeTheFileStale) {
  const PackedWeightCache before(*store_, Precision::Fp32);
  save_two(before, Precision::Fp32);
  ASSERT_FALSE(before.load().empty());
  fs::last_write_time(model_ / "model.safetensors",
                      fs::last_write_time(model_ / "model.safetensors") + std::chrono::seconds(5));
  const PackedWeightCache after(*store_, Precision::Fp32);
  EXPECT_EQ(after.path(), before.path());  // the same model's file is replaced, not added to
  EXPECT_TRUE(after.load().empty());
}

TEST_F(PackedWeightCacheTest, DamagedFilesAreIgnored) {
  const PackedWeightCache cache(*store_, Precision::Fp32);
  save_two(cache, Precision::Fp32);
  const std::string whole = read_file(cache.path());
  const auto rewrite = [&](const std::string& content) {
    std::ofstream(cache.path(), std::ios::binary | std::ios::trunc) << content;
  };
  rewrite(whole.substr(0, whole.size() - 100));  // truncated inside the last layer
  EXPECT_TRUE(cache.load().empty());
  rewrite(whole.substr(0, 200));  // truncated inside the header
  EXPECT_TRUE(cache.load().empty());
  std::string bad_number = whole;
  bad_number.replace(bad_number.find(" 0000"), 5, " 00x0");
  rewrite(bad_number);
  EXPECT_TRUE(cache.load().empty());
  rewrite("");
  EXPECT_TRUE(cache.load().empty());
  rewrite(whole);
  EXPECT_EQ(cache.load().size(), 2u);
}

TEST_F(PackedWeightCacheTest, FilesOfDeletedModelsAreRemovedOnTheNextSave) {
  testing::copy_model(model_, temp_ / "other");
  {
    const TensorStore other = TensorStore::open_model_dir(temp_ / "other");
    save_two(PackedWeightCache(other, Precision::Fp32), Precision::Fp32);
  }
  testing::write_text(temp_ / "cache" / "packed" / "x.bin.tmp.1", "left by a writer that died");
  fs::last_write_time(temp_ / "cache" / "packed" / "x.bin.tmp.1",
                      fs::file_time_type::clock::now() - std::chrono::hours(25));
  ASSERT_EQ(cache_files(temp_ / "cache").size(), 2u);
  fs::remove_all(temp_ / "other");
  const PackedWeightCache cache(*store_, Precision::Fp32);
  save_two(cache, Precision::Fp32);
  EXPECT_EQ(cache_files(temp_ / "cache"), std::vector<fs::path>{cache.path()});
}

TEST_F(PackedWeightCacheTest, OffDisablesTheCache) {
  const testing::ScopedEnvironment off("KSEARCH_CACHE_DIR", "off");
  const PackedWeightCache cache(*store_, Precision::Fp32);
  EXPECT_FALSE(cache.enabled());
  save_two(cache, Precision::Fp32);
  EXPECT_TRUE(cache.load().empty());
  EXPECT_TRUE(cache_files(temp_ / "cache").empty());
}

// The encoder end to end: the first load writes the cache, later loads use it, and every load matches the
// reference embeddings whether the cache is there, damaged or cannot be written.
TEST_F(PackedWeightCacheTest, EncoderLoadsFromTheCacheWithTheSameResults) {
  const auto expected = testing::read_jsonl(model_ / "expected.jsonl");
  std::vector<std::string> texts;
  for (const auto& line : expected) texts.push_back(line["text"]);
  const auto embed = [&]() { return Embedder(Model::load_dir(model_, "m")).embed(texts, TextKind::Raw).values; };
  const auto expect_reference = [&](const std::vector<float>& got) {
    const std::size_t width = got.size() / texts.size();
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto want = expected[i]["embedding"].get<std::vector<float>>();
      for (std::size_t d = 0; d < width; ++d) EXPECT_NEAR(got[i * width + d], want[d], 1e-4f) << texts[i];
    }
  };
  const auto first = embed();
  expect_reference(first);
  const PackedWeightCache cache(*store_, Precision::Fp32);
  ASSERT_TRUE(fs::exists(cache.path()));
  EXPECT_EQ(cache.load().size(), 2u * 4);  // two layers of four dense products (query, key, value stacked in one)
  const auto modified = fs::last_write_time(cache.path());

  EXPECT_EQ(embed(), first);  // from the cache
  EXPECT_EQ(fs::last_write_time(cache.path()), modified);

  fs::resize_file(cache.path(), fs::file_size(cache.path()) / 2);
  EXPECT_EQ(embed(), first);  // damaged: packed afresh and rewritten
  EXPECT_EQ(cache.load().size(), 2u * 4);

  const testing::ScopedEnvironment unwritable("KSEARCH_CACHE_DIR",
                                              (temp_ / "model" / "config.json").string());  // a file, not a folder
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(embed(), first);
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(warning.find("warning"), std::string::npos) << warning;
  EXPECT_NE(warning.find("config.json"), std::string::npos) << warning;
}

}  // namespace
}  // namespace ksearch
