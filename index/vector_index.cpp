#include "index/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexRefine.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "base/cpu_dispatch.h"
#include "base/error.h"
#include "base/files.h"
#include "base/mapped_file.h"

namespace ksearch {
namespace {

// Version 02 added the stamp; a version 01 file reads as damaged and is rebuilt from the database.
constexpr char kMagic[8] = {'K', 'S', 'V', 'E', 'C', 'T', '0', '2'};
constexpr std::size_t kHnswEfSearch = 160;  // recall@10 >= 0.95 at 1M x 384 (bench/index_bench.cpp)
constexpr std::size_t kIvfProbes = 32;
constexpr float kRefineFactor = 8;

// File layout: magic, then this header, then the spec string, then the stamp, then the FAISS payload.
struct FileHeader {
  std::uint64_t generation;
  std::int64_t count;
  std::int32_t dimension;
  std::uint32_t spec_length;
  std::uint64_t payload_size;
  std::uint32_t payload_crc;
  std::uint32_t stamp_length;
};

// FAISS reads its payload straight from the mapped file (faiss::VectorIOReader would want a copy in a vector).
class PayloadReader : public faiss::IOReader {
 public:
  PayloadReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t operator()(void* destination, std::size_t item_size, std::size_t items) override {
    if (item_size == 0) return 0;
    items = std::min(items, (size_ - position_) / item_size);
    std::memcpy(destination, data_ + position_, item_size * items);
    position_ += item_size * items;
    return items;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, position_ = 0;
};

std::string damaged(const std::filesystem::path& path, const std::string& why) {
  return cat(path.string(), ": vector index is damaged (", why,
             "); run `ksearch doctor --repair` to rebuild it from the database");
}

faiss::Index* unwrap(faiss::Index* index) {
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index)) return map->index;
  return index;
}

KSEARCH_VECTOR_CLONES void inner_products(const float* base, std::size_t rows, std::size_t dimension,
                                          const float* query, float* out) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = base + r * dimension;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::size_t i = 0; i < dimension; ++i) sum += row[i] * query[i];
    out[r] = sum;
  }
}

// Exact search over a flat index with ksearch's own scan: Debian's FAISS is built for baseline x86-64, where its scan
// runs at about 1 GFLOP/s; this one uses the CPU's widest vectors and splits long scans over the cores.
std::vector<VectorHit> flat_search(const faiss::IndexFlat& flat, const std::vector<faiss::Index::idx_t>& ids,
                                   std::span<const float> query, std::size_t k) {
  const auto count = static_cast<std::size_t>(flat.ntotal);
  const auto dimension = static_cast<std::size_t>(flat.d);
  std::vector<float> scores(count);
  constexpr std::size_t kBlock = 4096;
  const std::size_t blocks = (count + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (count * dimension > (1u << 21))
  for (std::size_t b = 0; b < blocks; ++b)
    inner_products(flat.get_xb() + b * kBlock * dimension, std::min(kBlock, count - b * kBlock), dimension,
                   query.data(), scores.data() + b * kBlock);
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto better = [&](std::size_t a, std::size_t b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  };
  k = std::min(k, count);
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), better);
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), better);
  std::vector<VectorHit> hits;
  for (std::size_t i = 0; i < k; ++i) hits.push_back({ids[order[i]], scores[order[i]]});
  return hits;
}

std::uint32_t crc_of(const std::uint8_t* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const auto step = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = crc32(crc, data, step);
    data += step;
    size -= step;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::string choose_index_spec(std::size_t count, int) { return count < 200'000 ? "Flat" : "HNSW32"; }

VectorIndex::VectorIndex(int dimension, const std::string& spec) : dimension_(dimension), spec_(spec) {
  if (dimension <= 0) fail("vector dimension must be positive, got ", dimension);
  try {
    std::unique_ptr<faiss::Index> inner(faiss::index_factory(dimension, spec.c_str(), faiss::METRIC_INNER_PRODUCT));
    auto map = std::make_unique<faiss::IndexIDMap2>(inner.release());
    map->own_fields = true;
    index_ = std::move(map);
  } catch (const faiss::FaissException& e) {
    fail("invalid FAISS index spec '", spec, "': ", e.what());
  }
  configure_search();
}

VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

void VectorIndex::configure_search() {
  if (auto* refine = dynamic_cast<faiss::IndexRefine*>(unwrap(index_.get())))
    refine->k_factor = kRefineFactor;  // re-rank this many times k candidates with exact distances
  set_effort(kHnswEfSearch, kIvfProbes);
}

void VectorIndex::set_search_breadth(std::size_t breadth) { set_effort(breadth, breadth); }

void VectorIndex::set_effort(std::size_t ef_search, std::size_t probes) {
  // Debian's FAISS 1.7.3 IndexIDMap::search rejects SearchParameters, so effort is set on the wrapped index.
  faiss::Index* inner = unwrap(index_.get());
  if (auto* refine = dynamic_cast<faiss::IndexRefine*>(inner)) inner = refine->base_index;
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(inner)) hnsw->hnsw.efSearch = static_cast<int>(ef_search);
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(inner)) ivf->nprobe = std::min<std::size_t>(probes, ivf->nlist);
}

void VectorIndex::train(std::span<const float> vectors) {
  if (is_trained()) return;
  const std::size_t count = vectors.size() / static_cast<std::size_t>(dimension_);
  if (count < training_size())
    fail("index '", spec_, "' needs at least ", training_size(), " vectors to train, the collection has ", count,
         "; use --index Flat or HNSW32 for small collections");
  try {
    index_->train(static_cast<faiss::Index::idx_t>(count), vectors.data());
  } catch (const faiss::FaissException& e) {
    fail("training index '", spec_, "' failed: ", e.what());
  }
}

bool VectorIndex::is_trained() const { return index_->is_trained; }

std::size_t VectorIndex::training_size() const {
  if (is_trained()) return 0;
  faiss::Index* inner = unwrap(index_.get());
  if (auto* refine = dynamic_cast<faiss::IndexRefine*>(inner)) inner = refine->base_index;
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(inner)) return std::max<std::size_t>(ivf->nlist * 39, 256);
  return 256;
}

void VectorIndex::add(std::span<const std::int64_t> ids, std::span<const float> vectors) {
  KSEARCH_ASSERT(vectors.size() == ids.size() * static_cast<std::size_t>(dimension_));
  if (ids.empty()) return;
  if (!is_trained()) fail("index '", spec_, "' is not trained yet");
  index_->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), vectors.data(), ids.data());
}

bool VectorIndex::supports_remove() const {
  const faiss::Index* inner = unwrap(index_.get());
  return dynamic_cast<const faiss::IndexHNSW*>(inner) == nullptr &&
         dynamic_cast<const faiss::IndexRefine*>(inner) == nullptr;
}

std::size_t VectorIndex::remove(std::span<const std::int64_t> ids) {
  if (ids.empty() || !supports_remove()) return 0;
  faiss::IDSelectorBatch selector(ids.size(), ids.data());
  try {
    return index_->remove_ids(selector);
  } catch (const faiss::FaissException&) {
    return 0;  // this index kind cannot delete: the ids stay until compaction, and searches drop them
  }
}

std::vector<VectorHit> VectorIndex::search(std::span<const float> query, std::size_t k) const {
  KSEARCH_ASSERT(query.size() == static_cast<std::size_t>(dimension_));
  k = std::min<std::size_t>(k, static_cast<std::size_t>(std::max<std::int64_t>(size(), 0)));
  if (k == 0) return {};
  const auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get());
  if (const auto* flat = map ? dynamic_cast<const faiss::IndexFlat*>(map->index) : nullptr;
      flat != nullptr && flat->metric_type == faiss::METRIC_INNER_PRODUCT)
    return flat_search(*flat, map->id_map, query, k);
  std::vector<float> scores(k);
  std::vector<faiss::Index::idx_t> labels(k);
  index_->search(1, query.data(), static_cast<faiss::Index::idx_t>(k), scores.data(), labels.data());
  std::vector<VectorHit> hits;
  for (std::size_t i = 0; i < k; ++i)
    if (labels[i] >= 0) hits.push_back({labels[i], scores[i]});
  return hits;
}

std::int64_t VectorIndex::size() const { return index_->ntotal; }

std::vector<float> VectorIndex::reconstruct(std::int64_t id) const {
  const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(index_.get());
  if (map == nullptr) return {};
  const auto found = map->rev_map.find(id);
  if (found == map->rev_map.end()) return {};
  std::vector<float> vector(static_cast<std::size_t>(dimension_));
  try {
    map->index->reconstruct(found->second, vector.data());
  } catch (const faiss::FaissException&) {
    return {};  // this index kind keeps no reconstructible codes
  }
  return vector;
}

bool VectorIndex::stores_exact_vectors() const {
  const faiss::Index* inner = unwrap(index_.get());
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(inner))
    return dynamic_cast<const faiss::IndexFlat*>(hnsw->storage) != nullptr;
  return dynamic_cast<const faiss::IndexFlat*>(inner) != nullptr;
}

void VectorIndex::save(const std::filesystem::path& path) const {
  faiss::VectorIOWriter writer;
  try {
    faiss::write_index(index_.get(), &writer);
  } catch (const faiss::FaissException& e) {
    fail(path.string(), ": cannot serialise the vector index: ", e.what());
  }
  FileHeader header{};
  header.generation = generation_;
  header.stamp_length = static_cast<std::uint32_t>(stamp_.size());
  header.count = index_->ntotal;
  header.dimension = dimension_;
  header.spec_length = static_cast<std::uint32_t>(spec_.size());
  header.payload_size = writer.data.size();
  header.payload_crc = crc_of(writer.data.data(), writer.data.size());
  std::string bytes(kMagic, sizeof kMagic);
  bytes.append(reinterpret_cast<const char*>(&header), sizeof header);
  bytes += spec_;
  bytes += stamp_;
  bytes.append(reinterpret_cast<const char*>(writer.data.data()), writer.data.size());
  write_file_atomically(path, bytes);
}

VectorIndex VectorIndex::load(const std::filesystem::path& path, int expected_dimension) {
  // Mapped, and FAISS reads the payload in place: a 1M x 384 flat index is 1.5 GB, held three times over at load when
  // the file was read into a string and the payload copied for FAISS's vector reader.
  const MappedFile file(path, MappedFile::Prefault::Yes);
  const std::string_view bytes(reinterpret_cast<const char*>(file.bytes().data()), file.bytes().size());
  if (bytes.size() < sizeof kMagic + sizeof(FileHeader) || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw Error(damaged(path, "not a ksearch vector file or truncated header"));
  FileHeader header;
  std::memcpy(&header, bytes.data() + sizeof kMagic, sizeof header);
  const std::size_t payload_offset = sizeof kMagic + sizeof header + header.spec_length + header.stamp_length;
  if (header.spec_length > 1024 || header.stamp_length > 1024 || payload_offset > bytes.size() ||
      bytes.size() - payload_offset != header.payload_size)
    throw Error(damaged(path, cat("size ", bytes.size(), " does not match its header (truncated?)")));
  const auto* payload = reinterpret_cast<const std::uint8_t*>(bytes.data() + payload_offset);
  if (crc_of(payload, header.payload_size) != header.payload_crc) throw Error(damaged(path, "checksum mismatch"));
  if (header.dimension != expected_dimension)
    throw Error(damaged(path, cat("dimension ", header.dimension, ", the database says ", expected_dimension)));

  VectorIndex index;
  index.dimension_ = header.dimension;
  index.spec_ = std::string(bytes.substr(sizeof kMagic + sizeof header, header.spec_length));
  index.generation_ = header.generation;
  index.stamp_ = std::string(bytes.substr(sizeof kMagic + sizeof header + header.spec_length, header.stamp_length));
  PayloadReader reader(payload, header.payload_size);
  try {
    index.index_.reset(faiss::read_index(&reader));
  } catch (const faiss::FaissException& e) {
    throw Error(damaged(path, e.what()));
  }
  if (index.index_->d != header.dimension || index.index_->ntotal != header.count)
    throw Error(damaged(path, "payload disagrees with its header"));
  if (dynamic_cast<faiss::IndexIDMap*>(index.index_.get()) == nullptr) throw Error(damaged(path, "missing id map"));
  index.configure_search();
  return index;
}

}  // namespace ksearch
