// Vector index over L2-normalised embeddings (FAISS, inner-product metric, so scores are cosine similarities).
//
// Ids are the chunk ids of the SQLite store.  The index is a derived, rebuildable cache of the vectors kept in SQLite:
// its file carries the store generation it reflects, that generation's stamp (which database, which commit: see
// store/chunk_store.h) and a CRC of its payload, so a stale or damaged file is detected on open.  Indexes that cannot
// delete (HNSW) keep removed ids until the owner compacts; callers drop hits whose chunk no longer exists.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace faiss {
struct Index;
}

namespace ksearch {

struct VectorHit {
  std::int64_t id;
  float score;  // inner product = cosine similarity for normalised vectors
};

// FAISS factory string for a collection of `count` vectors when the user asked for "auto":
// exact "Flat" below 200,000 vectors, "HNSW32" (efSearch 160) above; see README "Vector index".
std::string choose_index_spec(std::size_t count, int dimension);

class VectorIndex {
 public:
  // An empty index from a FAISS factory string ("Flat", "HNSW32", "IVF4096,PQ64", ...). Throws Error on a bad spec.
  VectorIndex(int dimension, const std::string& spec);
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  // Reads a file written by save(); throws Error (naming the file and suggesting `ksearch doctor --repair`) when it
  // is truncated, corrupt or of another dimension.
  static VectorIndex load(const std::filesystem::path& path, int expected_dimension);
  // Atomic write (temp file, fsync, rename) recording generation() and stamp().
  void save(const std::filesystem::path& path) const;

  // Trains IVF/PQ indexes on `vectors` (row-major, count x dimension); no-op for indexes that need no training.
  void train(std::span<const float> vectors);
  bool is_trained() const;
  // Vectors needed to train this index (0 when it needs none).
  std::size_t training_size() const;

  void add(std::span<const std::int64_t> ids, std::span<const float> vectors);
  // Removes ids where the index supports it; returns how many were removed (0 for HNSW: the caller filters).
  std::size_t remove(std::span<const std::int64_t> ids);
  bool supports_remove() const;

  // How widely approximate indexes search: HNSW efSearch, IVF nprobe (defaults: 160 and 32).  No effect on Flat.
  void set_search_breadth(std::size_t breadth);

  // Top `k` by inner product, best first.
  std::vector<VectorHit> search(std::span<const float> query, std::size_t k) const;
  // The vector stored under `id` as the index holds it (approximate for PQ/SQ codes); empty when absent.
  std::vector<float> reconstruct(std::int64_t id) const;
  // True when reconstruct() returns exactly what was added (flat storage: Flat, HNSW over flat vectors).
  bool stores_exact_vectors() const;

  std::int64_t size() const;
  int dimension() const { return dimension_; }
  const std::string& spec() const { return spec_; }
  std::uint64_t generation() const { return generation_; }
  // Which database state the index reflects: "DATABASE-ID/COMMIT-TOKEN" of `generation`.
  const std::string& stamp() const { return stamp_; }
  void set_generation(std::uint64_t generation, std::string stamp) {
    generation_ = generation;
    stamp_ = std::move(stamp);
  }

 private:
  VectorIndex() = default;
  void configure_search();
  void set_effort(std::size_t ef_search, std::size_t probes);  // HNSW efSearch, IVF nprobe

  int dimension_ = 0;
  std::string spec_;
  std::uint64_t generation_ = 0;
  std::string stamp_;
  std::unique_ptr<faiss::Index> index_;
};

}  // namespace ksearch
