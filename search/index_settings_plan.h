// How `ksearch index` reconciles the settings an index was built with, the options of this run and the model it
// embeds with (#33): which model, chunking, vector index, folders and excludes the index gets, and whether the run
// rebuilds or re-chunks.  A pure decision without I/O, so that every rule is testable without a model or a database.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "embed/model_identity.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

// What the settings need to know of the model a run embeds with.
struct IndexingModel {
  ModelIdentity identity;
  int default_chunk_tokens = 512;
  int max_seq_length = 512;
  std::string query_prefix;
  std::string passage_prefix;
};

struct IndexSettingsRequest {
  std::optional<IndexSettings> old_settings;  // the index's settings before this run; none for a fresh index
  IndexLocation location;
  bool store_has_files = false;                // the index holds files (a model change then needs --rebuild)
  std::optional<IndexingModel> model;          // none: lexical only
  std::optional<std::string> model_option;     // --model as given, for the command a model change suggests
  std::vector<std::filesystem::path> folders;  // the folders named on this run, absolute
  int chunk_tokens = 0;                        // 0: kept from the index, else the model's default
  int overlap_tokens = -1;                     // -1: kept from the index when the chunk size is, else chunk_tokens / 8
  std::string index_spec;                      // "": kept from the index, else "auto"
  std::optional<std::vector<std::string>> excludes;  // given: replace the index's (empty: none)
  std::optional<bool> follow_symlinks;               // not given: as the index was built
  bool rebuild = false;                              // --rebuild
};

struct IndexSettingsPlan {
  IndexSettings settings;      // what the index records after this run
  bool rebuild = false;        // the existing index is built anew beside the old one (--rebuild, or the model changed)
  bool force_rechunk = false;  // chunk size or overlap changed: every file is chunked and embedded again
  std::vector<std::filesystem::path> folders;  // the folders to walk
  std::vector<std::string> walk_excludes;      // the index's excludes plus the index folder when inside the tree
  std::vector<std::string> notices;            // for the user, e.g. that --chunk-tokens was lowered
};

// The settings for this run.  Throws Error when the model differs from the index's and the index holds files
// without --rebuild (naming both models and the command to run), when the vector index spec is invalid, or when
// there is nothing to index.
IndexSettingsPlan plan_index_settings(const IndexSettingsRequest& request);

}  // namespace ksearch
