// What the front ends do to an index besides indexing (indexer.h), searching (searcher.h) and checking (doctor.h):
// find it, read its settings, remove files.  cli/ and server/ reach the store only through search/.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/fusion_calibration.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

// The index in `db_dir` (--db; its root as recorded in its settings), else the nearest .ksearch/ upward from the
// working folder.  Throws Error naming the folder when there is no index there.
IndexLocation locate_index(const std::optional<std::filesystem::path>& db_dir);

// The settings the index at `location` was built with (read-only; nothing is written).
IndexSettings read_index_settings(const IndexLocation& location);

// The fitted hybrid fusion saved in `store`; fit_queries 0 (plain RRF) when none was fitted.
FusionCalibration saved_fusion(const ChunkStore& store);
// The same, except that a damaged saved fusion is plain RRF with `problem` saying why (so search still runs and the
// next fit replaces it).
FusionCalibration saved_fusion_or_plain(const ChunkStore& store, std::string& problem);

struct RemovedFiles {
  std::size_t removed = 0;
  std::vector<std::string> unmatched;  // the given paths that name nothing in the index
};

// `ksearch rm`: removes the files at or below each of `paths` (absolute or relative to the working folder) from the
// index, holding its writer lock (waiting for it when `wait_for_lock`).  Throws Error naming the paths when none
// of them matched.
RemovedFiles remove_from_index(const IndexLocation& location, std::span<const std::filesystem::path> paths,
                               bool wait_for_lock);

}  // namespace ksearch
