// `ksearch index`: walk folders, read and chunk new or changed documents, embed the chunks, and commit them with
// their vectors every few thousand tokens, so an interrupted run loses little and the next run resumes.  --rebuild
// builds a new database beside the old one and swaps the folders when it is complete: readers see the old index
// until then, and an interrupted rebuild leaves it untouched.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "embed/linear.h"
#include "embed/model.h"
#include "ingest/document.h"
#include "search/fusion_calibration.h"
#include "search/index_location.h"

namespace ksearch {

struct IndexOptions {
  std::vector<std::filesystem::path> folders;   // empty: the folders the index was built from
  std::optional<std::filesystem::path> db_dir;  // --db; default: the index enclosing FIRST_FOLDER, else its .ksearch
  std::optional<std::filesystem::path> root;    // with db_dir: the folder paths are relative to (default: the first
                                                // folder, else the index's, else db_dir's parent)
  bool nested = false;                          // --new: FIRST_FOLDER/.ksearch even inside an indexed tree
  std::optional<std::string> model;             // --model; default: the index's model, else the default model
  bool no_model = false;                        // --no-model: lexical only
  int chunk_tokens = 0;                         // 0: the model's default
  int overlap_tokens = -1;                      // -1: chunk_tokens / 8
  std::string index_spec;                       // --index FAISS factory string; "" keeps the index's, else "auto"
  // --exclude globs: given, they replace the index's (empty: none); not given, the index's are kept.
  std::optional<std::vector<std::string>> excludes;
  std::optional<bool> follow_symlinks;  // follow links out of the folders too; not given: as the index was built
  DocumentLimits document_limits;       // --max-document-bytes, --max-document-chunks
  bool rebuild = false;                 // index from scratch into a new database, swapped in when complete
  bool wait_for_lock = false;
  // A commit follows every `commit_tokens` chunk tokens (a file with more is committed in parts, and an
  // interrupted one resumes after its last part) or `commit_seconds` of reading, whichever comes first.
  std::size_t commit_tokens = 8192;
  double commit_seconds = 5;
  std::size_t batch_tokens = kDefaultBatchTokens;
  Precision precision = Precision::Fp32;  // encoder precision (bf16/int8: faster, cosine >= 0.999 to fp32)
  bool calibrate_fusion = true;           // refit hybrid fusion when the chunks changed (model indexes)
  // A model already loaded, used instead of loading one when its id is the model the run needs (watch mode keeps
  // it across runs rather than reading the weights for every change).
  std::shared_ptr<const Model> loaded_model;
};

struct IndexProgress {
  std::size_t files_done = 0, files_total = 0;
  std::size_t chunks = 0, tokens = 0;
  double elapsed_seconds = 0;
  std::string current;  // file being processed
};

struct IndexSummary {
  IndexLocation location;
  std::string model_id;  // empty: lexical only
  std::string notice;    // e.g. why the index is lexical-only, that the vector file was rebuilt, or that the run
                         // resumes an interrupted one
  std::size_t indexed = 0, unchanged = 0, removed = 0, skipped = 0;
  std::size_t added = 0;  // of `indexed`, the files new to the index (the others changed)
  std::size_t chunks_added = 0, tokens_embedded = 0, other_types = 0;
  std::vector<std::string> other_extensions;        // of the other_types files, sorted (".csv", ".json"; "" for none)
  std::map<std::string, std::size_t> skip_reasons;  // reason -> count
  std::vector<std::pair<std::string, std::string>> skipped_files;  // path, reason
  std::vector<std::pair<std::string, std::string>> warnings;       // path, warning (near-empty extraction, ...)
  double seconds = 0;
  std::string index_spec;
  std::string fusion;  // describe_fusion() of the fusion fitted in this run, empty when none was
};

// Runs one indexing pass.  Throws Error for problems with the index itself (locked, incompatible model, damaged
// database); problems with single files are reported in the summary.
IndexSummary run_index(const IndexOptions& options, const std::function<void(const IndexProgress&)>& progress = {});

// `ksearch calibrate`: fits the hybrid fusion of the index at `location` anew, or sets `by_hand` weights (kept by
// later index runs until the next fit), and saves it, holding the index lock.
FusionCalibration calibrate_index(const IndexLocation& location, Precision precision, bool wait_for_lock,
                                  std::optional<FusionWeights> by_hand = std::nullopt);

}  // namespace ksearch
