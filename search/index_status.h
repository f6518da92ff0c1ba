// `ksearch status`: what an index holds, how it was built, what its last run did and what has changed on disk since,
// read without writing anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "search/fusion_calibration.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

// Supported files whose size or modification time differ from the index's record (a stat walk of the roots with
// the index's excludes; contents are not read), sorted by path.
struct ChangedFiles {
  std::vector<std::string> added, modified, removed;
  std::size_t total() const { return added.size() + modified.size() + removed.size(); }
};

struct IndexRoot {
  std::filesystem::path path;  // absolute
  bool exists = false;
};

struct IndexStatus {
  IndexLocation location;
  IndexSettings settings;
  StoreCounts counts;
  std::uint64_t generation = 0;
  std::uintmax_t database_bytes = 0, vector_file_bytes = 0;
  FusionCalibration fusion;           // fit_queries 0: none fitted (plain RRF)
  std::string fusion_problem;         // the saved fusion cannot be read: why (hybrid uses plain RRF until a fit)
  std::optional<RunRecord> last_run;  // none: indexed before runs were recorded
  std::vector<std::string> pending;   // large files an interrupted run left part-indexed
  ChangedFiles changed;
  std::vector<std::pair<std::string, std::string>> skipped;  // path, reason
  std::vector<IndexRoot> roots;
  // The index's model on this machine: its folder, or why it cannot be used (then searches are lexical only).
  std::filesystem::path model_dir;
  std::string model_problem;
};

// Reads the status of the index at `location` (`ksearch status`, the MCP tool `status`); `stat_walk` false leaves
// `changed` empty (no walk of the roots).
IndexStatus read_index_status(const IndexLocation& location, bool stat_walk = true);

// The JSON of `ksearch status --json` and the MCP tool: index, root, counts, model (null: lexical only),
// model_available, model_dir, model_problem, settings, sizes, last_run, pending, changed_since_last_run, skipped,
// root_folders, excludes, follow_symlinks, fusion (null: none), fusion_problem (null: none).
Json index_status_json(const IndexStatus& status);

// The fitted fusion for people (describe_fusion), or why it cannot be read; empty for a lexical-only index.
std::string describe_index_fusion(const IndexStatus& status);

}  // namespace ksearch
