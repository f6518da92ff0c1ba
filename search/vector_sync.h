// Keeps the FAISS file (a cache) in step with the vectors in SQLite (the truth).
#pragma once

#include <memory>
#include <string>

#include "index/vector_index.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

struct VectorState {
  std::shared_ptr<VectorIndex> index;
  std::string note;  // why it was rebuilt, if it was ("vector file damaged: ...")
};

// The FAISS index as of the store's current generation: the saved file plus the changes committed after it
// (removals, then additions), read in one SQLite snapshot.  A missing, damaged or future file is replaced by a
// rebuild from the stored vectors.  Nothing is written.
VectorState load_vectors(const ChunkStore& store, const IndexLocation& location, int dimension);

// A fresh index of `spec` ("auto" resolved by collection size) holding every stored vector.
std::shared_ptr<VectorIndex> rebuild_vectors(const ChunkStore& store, int dimension, const std::string& spec);

// Applies the changes committed after index.generation() (removals, then additions).
void catch_up(VectorIndex& index, const ChunkStore& store);

// Throws Error unless `index` (a loaded file) reflects a generation of exactly this database's history: same
// database id and the same commit token for its generation.
void check_stamp(const VectorIndex& index, const ChunkStore& store, const IndexLocation& location);

// Checkpoints the database (the commit the file names must be durable first), writes the index atomically with its
// generation and stamp, then drops the removal log it now reflects.
void save_vectors(VectorIndex& index, ChunkStore& store, const IndexLocation& location);

// The spec an index should have: the user's factory string, or the automatic choice for `count` vectors.
std::string resolve_index_spec(const std::string& requested, std::size_t count, int dimension);

}  // namespace ksearch
