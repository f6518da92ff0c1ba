#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "index/vector_index.h"
#include "search/index_location.h"
#include "search/vector_sync.h"
#include "store/chunk_store.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

constexpr int kDimension = 4;

IndexLocation created_location(const fs::path& dir) {
  fs::create_directories(dir);
  return IndexLocation::at(dir);
}

// Every stored vector by chunk id.
std::map<std::int64_t, std::vector<float>> stored_vectors(const ChunkStore& store) {
  std::map<std::int64_t, std::vector<float>> out;
  store.for_each_vector(
      0, 64,
      [&](std::span<const std::int64_t> ids, std::span<const float> vectors) {
        for (std::size_t i = 0; i < ids.size(); ++i)
          out[ids[i]].assign(vectors.begin() + static_cast<std::ptrdiff_t>(i * kDimension),
                             vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * kDimension));
      },
      kDimension);
  return out;
}

// Whether `index` holds exactly the store's vectors under their chunk ids, as of the store's generation (the specs used
// here keep vectors exactly).
void expect_holds_the_stored_vectors(const VectorIndex& index, const ChunkStore& store) {
  const auto stored = stored_vectors(store);
  EXPECT_EQ(index.size(), static_cast<std::int64_t>(stored.size()));
  for (const auto& [id, vector] : stored) EXPECT_EQ(index.reconstruct(id), vector) << "chunk " << id;
  EXPECT_EQ(index.generation(), store.generation());
  EXPECT_EQ(index.stamp(), store.commit_stamp(store.generation()));
}

class VectorSyncTest : public ::testing::Test {
 protected:
  // Stores `path` with `chunks` chunks, their vectors made of `seed` so that two stores can hold different ones.
  static void put(ChunkStore& store, const std::string& path, int chunks, int seed = 0) {
    FileUpdate update;
    update.file.path = path;
    update.file.size = 1;
    update.file.mtime_ns = 1;
    update.file.hash = "h-" + path;
    for (int i = 0; i < chunks; ++i) {
      ChunkRecord chunk;
      chunk.ordinal = i;
      chunk.text = path + " 조각 " + std::to_string(i);
      chunk.line_begin = chunk.line_end = i + 1;
      update.chunks.push_back(chunk);
      for (int d = 0; d < kDimension; ++d) update.embeddings.push_back(static_cast<float>(seed * 1000 + i * 10 + d));
    }
    store.replace_files(std::span(&update, 1), kDimension);
  }
  static void save_settings(ChunkStore& store, const std::string& index_spec = "auto") {
    IndexSettings settings;
    settings.model_id = "m";
    settings.dimension = kDimension;
    settings.index_spec = index_spec;
    store.save_settings(settings);
  }
  void SetUp() override { save_settings(store); }
  void put(const std::string& path, int chunks) { put(store, path, chunks); }

  testing::TempDir dir;
  IndexLocation location = created_location(dir / ".ksearch");
  ChunkStore store{location.database(), true};
};

TEST_F(VectorSyncTest, AMissingFileIsRebuiltFromTheStoredVectorsWithANote) {
  put("a.txt", 2);
  put("b.txt", 1);
  const VectorState state = load_vectors(store, location, kDimension);
  EXPECT_EQ(state.note, "vector file missing; rebuilt the vector index from the database");
  ASSERT_TRUE(state.index);
  EXPECT_EQ(state.index->spec(), "Flat");
  expect_holds_the_stored_vectors(*state.index, store);
  EXPECT_FALSE(fs::exists(location.vectors())) << "loading writes nothing";
}

TEST_F(VectorSyncTest, ARebuildKeepsTheIndexSpecOfTheSettings) {
  save_settings(store, "HNSW32");  // what "auto" picks only for large collections
  put("a.txt", 3);
  const VectorState state = load_vectors(store, location, kDimension);
  ASSERT_TRUE(state.index);
  EXPECT_EQ(state.index->spec(), "HNSW32");
  expect_holds_the_stored_vectors(*state.index, store);
}

TEST_F(VectorSyncTest, AnIndexWithoutVectorsNeedsNoFileAndNoNote) {
  const VectorState state = load_vectors(store, location, kDimension);
  EXPECT_EQ(state.note, "");
  ASSERT_TRUE(state.index);
  EXPECT_EQ(state.index->size(), 0);
}

TEST_F(VectorSyncTest, ADamagedFileIsRebuiltWithANoteNamingTheDamage) {
  put("a.txt", 3);
  save_vectors(*rebuild_vectors(store, kDimension, "auto"), store, location);
  {
    std::fstream file(location.vectors(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('\x7f');  // the last payload byte: the checksum no longer matches
  }
  const VectorState state = load_vectors(store, location, kDimension);
  EXPECT_NE(state.note.find("checksum mismatch"), std::string::npos) << state.note;
  EXPECT_NE(state.note.find("rebuilt the vector index from the database"), std::string::npos) << state.note;
  ASSERT_TRUE(state.index);
  expect_holds_the_stored_vectors(*state.index, store);
}

TEST_F(VectorSyncTest, AFileFromAFutureGenerationIsRebuiltWithANote) {
  put("a.txt", 2);
  VectorIndex future = std::move(*rebuild_vectors(store, kDimension, "auto"));
  future.set_generation(store.generation() + 1, store.commit_stamp(store.generation()));
  future.save(location.vectors());
  const VectorState state = load_vectors(store, location, kDimension);
  EXPECT_NE(state.note.find(cat("vector file is newer (generation ", store.generation() + 1, ") than the database (",
                                store.generation(), ")")),
            std::string::npos)
      << state.note;
  ASSERT_TRUE(state.index);
  expect_holds_the_stored_vectors(*state.index, store);
}

TEST_F(VectorSyncTest, CatchUpAppliesTheRemovalsAndAdditionsCommittedAfterTheFile) {
  put("a.txt", 2);
  put("b.txt", 1);
  put("c.txt", 1);
  const auto index = rebuild_vectors(store, kDimension, "auto");
  save_vectors(*index, store, location);
  const std::uint64_t saved_generation = index->generation();
  const auto before = stored_vectors(store);

  put("a.txt", 1);  // replaced: two vectors removed, one added
  const std::vector<std::string> gone = {"b.txt"};
  store.remove_files(gone);
  put("d.txt", 2);
  put("e.txt", 1);  // added and removed after the file: in neither list's effect
  const std::vector<std::string> short_lived = {"e.txt"};
  store.remove_files(short_lived);
  ASSERT_GT(store.generation(), saved_generation);

  catch_up(*index, store);
  expect_holds_the_stored_vectors(*index, store);
  const auto after = stored_vectors(store);
  for (const auto& [id, vector] : before) {
    if (!after.contains(id)) {
      EXPECT_TRUE(index->reconstruct(id).empty()) << "removed chunk " << id;
    }
  }

  // Loading the file saved before the changes catches up the same way, without a note.
  const VectorState loaded = load_vectors(store, location, kDimension);
  EXPECT_EQ(loaded.note, "");
  ASSERT_TRUE(loaded.index);
  expect_holds_the_stored_vectors(*loaded.index, store);
}

TEST_F(VectorSyncTest, CheckStampRefusesAFileOfAnotherDatabase) {
  // Another database with the same history of generations, but its own id and commit tokens.
  const IndexLocation other_location = created_location(dir / "other" / ".ksearch");
  ChunkStore other(other_location.database(), true);
  save_settings(other);
  put("a.txt", 2);
  put(other, "a.txt", 2, 1);
  ASSERT_EQ(other.generation(), store.generation());
  save_vectors(*rebuild_vectors(store, kDimension, "auto"), store, location);
  const VectorIndex saved = VectorIndex::load(location.vectors(), kDimension);

  EXPECT_NO_THROW(check_stamp(saved, store, location));
  try {
    check_stamp(saved, other, other_location);
    ADD_FAILURE() << "a file of another database passed its stamp check";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not belong to this database"), std::string::npos) << e.what();
  }
  // Copied beside the other database, the file is replaced by the other database's own vectors.
  fs::copy_file(location.vectors(), other_location.vectors());
  const VectorState state = load_vectors(other, other_location, kDimension);
  EXPECT_NE(state.note.find("does not belong to this database"), std::string::npos) << state.note;
  ASSERT_TRUE(state.index);
  expect_holds_the_stored_vectors(*state.index, other);
}

TEST_F(VectorSyncTest, SaveThenLoadRoundTripsAndDropsTheReflectedRemovals) {
  put("a.txt", 2);
  put("b.txt", 3);
  const auto index = rebuild_vectors(store, kDimension, "auto");
  const std::vector<std::string> gone = {"b.txt"};
  store.remove_files(gone);
  catch_up(*index, store);
  ASSERT_FALSE(store.removed_since(0).empty());
  save_vectors(*index, store, location);
  EXPECT_TRUE(store.removed_since(0).empty()) << "the file reflects them";

  const VectorState loaded = load_vectors(store, location, kDimension);
  EXPECT_EQ(loaded.note, "");
  ASSERT_TRUE(loaded.index);
  EXPECT_EQ(loaded.index->spec(), index->spec());
  expect_holds_the_stored_vectors(*loaded.index, store);
}

TEST(VectorSync, ResolveIndexSpecChoosesByCountForAutoAndKeepsAUserSpec) {
  EXPECT_EQ(resolve_index_spec("auto", 0, 384), "Flat");
  EXPECT_EQ(resolve_index_spec("auto", 199'999, 384), "Flat");
  EXPECT_EQ(resolve_index_spec("auto", 200'000, 384), "HNSW32");
  EXPECT_EQ(resolve_index_spec("", 200'000, 384), "HNSW32");
  EXPECT_EQ(resolve_index_spec("Flat", 1'000'000, 384), "Flat");
  EXPECT_EQ(resolve_index_spec("IVF64,PQ16", 10, 384), "IVF64,PQ16");
}

}  // namespace
}  // namespace ksearch
