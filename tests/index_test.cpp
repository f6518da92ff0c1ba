#include "index/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "base/error.h"
#include "base/files.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

std::vector<float> random_unit_vectors(std::size_t count, int dimension, unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal;
  std::vector<float> out(count * static_cast<std::size_t>(dimension));
  for (std::size_t i = 0; i < count; ++i) {
    float norm = 0;
    for (int d = 0; d < dimension; ++d) norm += std::pow(out[i * dimension + d] = normal(random), 2.0f);
    for (int d = 0; d < dimension; ++d) out[i * dimension + d] /= std::sqrt(norm);
  }
  return out;
}

std::vector<std::int64_t> ids_from(std::int64_t first, std::size_t count) {
  std::vector<std::int64_t> ids(count);
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

TEST(VectorIndex, FlatIsExactAndRemoves) {
  const int dim = 16;
  const auto vectors = random_unit_vectors(100, dim, 1);
  VectorIndex index(dim, "Flat");
  index.add(ids_from(1000, 100), vectors);
  EXPECT_EQ(index.size(), 100);
  const auto hits = index.search(std::span(vectors).subspan(7 * dim, dim), 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 1007);
  EXPECT_NEAR(hits[0].score, 1.0f, 1e-5);
  EXPECT_TRUE(index.supports_remove());
  EXPECT_EQ(index.remove(std::vector<std::int64_t>{1007, 1008}), 2u);
  EXPECT_NE(index.search(std::span(vectors).subspan(7 * dim, dim), 1)[0].id, 1007);
  EXPECT_THROW(VectorIndex(dim, "NotAnIndex"), Error);
}

TEST(VectorIndex, SaveLoadRoundTripAndDamageDetection) {
  testing::TempDir dir;
  const int dim = 8;
  const auto vectors = random_unit_vectors(50, dim, 2);
  VectorIndex index(dim, "Flat");
  index.add(ids_from(1, 50), vectors);
  index.set_generation(42, "database/token");
  index.save(dir / "v.faiss");
  const VectorIndex loaded = VectorIndex::load(dir / "v.faiss", dim);
  EXPECT_EQ(loaded.generation(), 42u);
  EXPECT_EQ(loaded.stamp(), "database/token");
  EXPECT_TRUE(loaded.stores_exact_vectors());
  EXPECT_EQ(loaded.reconstruct(3), std::vector<float>(vectors.begin() + 2 * dim, vectors.begin() + 3 * dim));
  EXPECT_TRUE(loaded.reconstruct(51).empty());
  EXPECT_EQ(loaded.size(), 50);
  EXPECT_EQ(loaded.spec(), "Flat");
  EXPECT_EQ(loaded.search(std::span(vectors).subspan(0, dim), 1)[0].id, 1);

  const std::string bytes = read_file(dir / "v.faiss");
  std::string flipped = bytes;
  flipped[bytes.size() - 10] ^= 0x55;
  testing::write_text(dir / "flipped.faiss", flipped);
  testing::write_text(dir / "cut.faiss", bytes.substr(0, bytes.size() / 2));
  testing::write_text(dir / "junk.faiss", "hello");
  for (const char* name : {"flipped.faiss", "cut.faiss", "junk.faiss"}) {
    try {
      VectorIndex::load(dir / name, dim);
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("ksearch doctor --repair"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(VectorIndex::load(dir / "v.faiss", dim + 1), Error);
}

// Exact search is the reference for the approximate index.
TEST(VectorIndex, HnswRecallAgainstExact) {
  const int dim = 32;
  const std::size_t count = 20000;
  const auto vectors = random_unit_vectors(count, dim, 3);
  const auto queries = random_unit_vectors(200, dim, 4);
  VectorIndex exact(dim, "Flat"), hnsw(dim, "HNSW32");
  exact.add(ids_from(0, count), vectors);
  hnsw.add(ids_from(0, count), vectors);
  EXPECT_FALSE(hnsw.supports_remove());
  std::size_t found = 0;
  for (std::size_t q = 0; q < 200; ++q) {
    const auto query = std::span(queries).subspan(q * dim, dim);
    std::set<std::int64_t> truth;
    for (const auto& hit : exact.search(query, 10)) truth.insert(hit.id);
    for (const auto& hit : hnsw.search(query, 10)) found += truth.count(hit.id);
  }
  const double recall = static_cast<double>(found) / 2000.0;
  EXPECT_GE(recall, 0.95) << "recall@10 " << recall;
}

TEST(VectorIndex, IvfNeedsEnoughTrainingVectors) {
  VectorIndex index(8, "IVF64,Flat");
  EXPECT_FALSE(index.is_trained());
  EXPECT_EQ(index.training_size(), 64u * 39);
  const auto few = random_unit_vectors(100, 8, 5);
  EXPECT_THROW(index.train(few), Error);
  const auto many = random_unit_vectors(3000, 8, 6);
  index.train(many);
  index.add(ids_from(0, 3000), many);
  EXPECT_EQ(index.search(std::span(many).subspan(0, 8), 1)[0].id, 0);
}

TEST(IndexSpec, AutomaticChoice) {
  EXPECT_EQ(choose_index_spec(1000, 384), "Flat");
  EXPECT_EQ(choose_index_spec(5'000'000, 384), "HNSW32");
}

}  // namespace
}  // namespace ksearch
