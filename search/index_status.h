// `ksearch status`: what an index holds and how it was built, read without writing anything.
#pragma once

#include <cstdint>
#include <string>

#include "search/fusion_calibration.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

struct IndexStatus {
  IndexLocation location;
  IndexSettings settings;
  StoreCounts counts;
  std::uint64_t generation = 0;
  std::uintmax_t database_bytes = 0, vector_file_bytes = 0;
  FusionCalibration fusion;  // fit_queries 0: none fitted (plain RRF)
};

IndexStatus index_status(const IndexLocation& location);

}  // namespace ksearch
