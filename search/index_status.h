// What an index holds (`ksearch status`, the MCP tool `status`): counts, model, settings and sizes, read through a
// read-only connection so it works while a writer runs and on read-only folders.
#pragma once

#include <cstdint>

#include "base/json.h"
#include "search/fusion_calibration.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

struct IndexStatus {
  IndexLocation location;
  StoreCounts counts;
  IndexSettings settings;
  std::uint64_t generation = 0;
  std::uintmax_t database_bytes = 0, vector_file_bytes = 0;
  std::string fusion_json;  // the fitted hybrid fusion as stored (empty: none)
};

IndexStatus read_index_status(const IndexLocation& location);

// index, root, files, indexed_files, skipped_files, chunks, vectors, model (null: lexical only), dimension,
// index_type ("none" without a model), chunk_tokens, overlap_tokens, generation, roots, database_bytes,
// vector_file_bytes, fusion (null: none).
Json index_status_json(const IndexStatus& status);

// The fitted fusion for people (describe_fusion); empty for a lexical-only index.
std::string describe_index_fusion(const IndexStatus& status);

}  // namespace ksearch
