#include "search/vector_sync.h"

#include <algorithm>
#include <random>

#include "base/error.h"

namespace ksearch {
namespace {

constexpr std::size_t kBatch = 8192;

}  // namespace

std::string resolve_index_spec(const std::string& requested, std::size_t count, int dimension) {
  return requested.empty() || requested == "auto" ? choose_index_spec(count, dimension) : requested;
}

void catch_up(VectorIndex& index, const ChunkStore& store) {
  const auto snapshot = store.read_snapshot();
  const std::uint64_t target = store.generation();
  if (target == index.generation()) return;
  index.remove(store.removed_since(index.generation()));
  store.for_each_vector(
      index.generation(), kBatch,
      [&](std::span<const std::int64_t> ids, std::span<const float> vectors) { index.add(ids, vectors); },
      index.dimension());
  index.set_generation(target, store.commit_stamp(target));
}

std::shared_ptr<VectorIndex> rebuild_vectors(const ChunkStore& store, int dimension, const std::string& spec) {
  const auto snapshot = store.read_snapshot();
  const std::uint64_t generation = store.generation();
  const auto count = static_cast<std::size_t>(store.counts().vectors);
  auto index = std::make_shared<VectorIndex>(dimension, resolve_index_spec(spec, count, dimension));
  if (!index->is_trained()) {
    // Train on an evenly spread sample of the stored vectors.
    const std::size_t wanted = std::min(count, std::max<std::size_t>(index->training_size(), 65536));
    const std::size_t stride = std::max<std::size_t>(1, count / std::max<std::size_t>(wanted, 1));
    std::vector<float> sample;
    std::size_t seen = 0;
    store.for_each_vector(
        0, kBatch,
        [&](std::span<const std::int64_t> ids, std::span<const float> vectors) {
          for (std::size_t i = 0; i < ids.size(); ++i, ++seen)
            if (seen % stride == 0)
              sample.insert(sample.end(), vectors.begin() + static_cast<std::ptrdiff_t>(i * dimension),
                            vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * dimension));
        },
        dimension);
    index->train(sample);
  }
  store.for_each_vector(
      0, kBatch, [&](std::span<const std::int64_t> ids, std::span<const float> vectors) { index->add(ids, vectors); },
      dimension);
  index->set_generation(generation, store.commit_stamp(generation));
  return index;
}

VectorState load_vectors(const ChunkStore& store, const IndexLocation& location, int dimension) {
  VectorState state;
  const IndexSettings settings = store.settings();
  std::error_code error;
  if (std::filesystem::exists(location.vectors(), error)) {
    try {
      auto index = std::make_shared<VectorIndex>(VectorIndex::load(location.vectors(), dimension));
      check_stamp(*index, store, location);
      catch_up(*index, store);
      state.index = std::move(index);
      return state;
    } catch (const Error& e) {
      state.note = cat(e.what(), "; rebuilt the vector index from the database");
    }
  } else if (store.counts().vectors > 0) {
    state.note = "vector file missing; rebuilt the vector index from the database";
  }
  state.index = rebuild_vectors(store, dimension, settings.index_spec);
  return state;
}

void check_stamp(const VectorIndex& index, const ChunkStore& store, const IndexLocation& location) {
  const auto snapshot = store.read_snapshot();
  if (index.generation() > store.generation())
    fail(location.vectors().string(), ": vector file is newer (generation ", index.generation(),
         ") than the database (", store.generation(), ")");
  const std::string expected = store.commit_stamp(index.generation());
  if (expected.empty() || expected != index.stamp())
    fail(location.vectors().string(), ": vector file does not belong to this database's generation ",
         index.generation(), " (stamp '", index.stamp(), "', the database has '", expected,
         "'; restored from a backup, or a lost WAL?)");
}

void save_vectors(VectorIndex& index, ChunkStore& store, const IndexLocation& location) {
  // The file names a commit; that commit must outlive a crash or a lost WAL before the file says it exists.
  store.make_durable();
  index.save(location.vectors());
  store.prune_removals(index.generation());
}

}  // namespace ksearch
