#include "search/doctor.h"

#include <algorithm>
#include <optional>
#include <set>

#include "base/error.h"
#include "index/vector_index.h"
#include "search/indexer.h"
#include "search/vector_sync.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace {

// The consistency checks; `report` collects problems.  Returns files that must be indexed again.
std::vector<std::string> check_database(const ChunkStore& store, DoctorReport& report) {
  for (const auto& problem : store.integrity_problems(report.notes)) report.problems.push_back("database: " + problem);
  const IndexSettings settings = store.settings();
  std::set<std::string> redo;
  if (!settings.model_id.empty()) {
    for (const auto& path : store.files_with_unembedded_chunks()) {
      report.problems.push_back("chunks without a vector in " + path);
      redo.insert(path);
    }
    for (const auto& path : store.files_with_vectors_not_of_dimension(settings.dimension)) {
      report.problems.push_back("vectors of the wrong dimension in " + path);
      redo.insert(path);
    }
  } else if (const auto stray = store.counts().vectors; stray > 0) {
    report.problems.push_back(cat(stray, " vectors in an index without a model"));
  }
  if (const auto orphans = store.orphan_vectors(); orphans > 0)
    report.problems.push_back(cat(orphans, " vectors without a chunk"));
  for (const auto& path : store.indexed_files_without_chunks()) {
    report.problems.push_back("file marked indexed has no chunks: " + path);
    redo.insert(path);
  }
  for (const auto& file : store.files())
    if (file.status == FileStatus::Partial)
      report.notes.push_back("interrupted large file, finished by the next `ksearch index`: " + file.path);
  return {redo.begin(), redo.end()};
}

constexpr std::size_t kSampledVectors = 64;

// The vector file checks; `report` collects problems and notes.
void check_vector_file(const ChunkStore& store, const IndexLocation& location, const IndexSettings& settings,
                       DoctorReport& report) {
  std::error_code error;
  if (!std::filesystem::exists(location.vectors(), error)) {
    if (store.counts().vectors > 0)
      report.notes.push_back(
          "no vector file yet (a run stopped before its first save): it is rebuilt from the "
          "database on open, and written by the next `ksearch index` or `doctor --repair`");
    return;
  }
  try {
    VectorIndex index = VectorIndex::load(location.vectors(), settings.dimension);
    report.vector_file_count = index.size();
    check_stamp(index, store, location);
    if (index.generation() < store.generation())
      report.notes.push_back(cat("vector file is at generation ", index.generation(), ", the database at ",
                                 store.generation(), ": later commits are replayed on open"));
    catch_up(index, store);
    const auto stored = store.counts().vectors;
    if (index.supports_remove() ? index.size() != stored : index.size() < stored) {
      report.problems.push_back(
          cat("vector file holds ", index.size(), " vectors after replay, the database ", stored));
      return;
    }
    if (index.size() > stored)
      report.notes.push_back(cat(index.size() - stored, " deleted vectors still in the HNSW graph (compacted ",
                                 "by `ksearch index` when over 20%)"));
    if (!index.stores_exact_vectors()) return;
    for (const auto& [id, vector] : store.sample_vectors(kSampledVectors, settings.dimension))
      if (index.reconstruct(id) != vector) {
        report.problems.push_back(cat("vector file disagrees with the database on the vector of chunk ", id));
        return;
      }
  } catch (const Error& e) {
    report.problems.push_back(e.what());
  }
}

// The folders an index was built from, as `ksearch index` takes them.
std::vector<std::filesystem::path> source_folders(const IndexLocation& location, const IndexSettings& settings) {
  std::vector<std::filesystem::path> folders;
  for (const auto& root : settings.roots) {
    const std::filesystem::path folder(root);
    folders.push_back(root.empty() ? location.root : folder.is_absolute() ? folder : location.root / folder);
  }
  if (folders.empty()) folders.push_back(location.root);
  return folders;
}

// Indexes the source folders again into a new database that replaces the damaged one.
void rebuild_from_sources(const IndexLocation& location, const std::optional<IndexSettings>& settings,
                          const DoctorOptions& options, DoctorReport& report) {
  IndexOptions index;
  index.db_dir = location.dir;
  index.root = location.root;
  index.folders = source_folders(location, settings.value_or(IndexSettings{}));
  index.rebuild = true;
  index.wait_for_lock = options.wait_for_lock;
  if (settings && settings->model_id.empty()) index.no_model = true;
  if (settings && !settings->model_id.empty()) index.model = settings->model_id;
  if (settings && settings->chunk_tokens > 0) index.chunk_tokens = settings->chunk_tokens;
  if (settings && settings->chunk_tokens > 0) index.overlap_tokens = settings->overlap_tokens;
  if (settings) {
    index.index_spec = settings->index_spec;
    index.excludes = settings->excludes;
    index.follow_symlinks = settings->follow_symlinks;
  }
  const IndexSummary summary = run_index(index);
  report.repairs.push_back(cat("the database was damaged: indexed the source folders again into a new database (",
                               summary.indexed, " files, ", summary.chunks_added, " chunks",
                               settings ? "" : "; its settings were unreadable, so with the default model", ")"));
  if (!summary.notice.empty()) report.notes.push_back(summary.notice);
}

void fill_counts(const ChunkStore& store, DoctorReport& report) {
  const StoreCounts counts = store.counts();
  report.generation = store.generation();
  report.files = counts.files;
  report.chunks = counts.chunks;
  report.vectors = counts.vectors;
}

}  // namespace

DoctorReport run_doctor(const IndexLocation& location, const DoctorOptions& options) {
  DoctorReport report;
  std::optional<IndexSettings> settings;
  std::vector<std::string> redo;
  bool damaged = false;
  try {
    const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
    const auto snapshot = store.read_snapshot();
    settings = store.settings();
    redo = check_database(store, report);
    damaged = std::any_of(report.problems.begin(), report.problems.end(), [](const std::string& problem) {
      return problem.starts_with("database: ") && problem.find("full-text") == std::string::npos;
    });
    if (!settings->model_id.empty()) check_vector_file(store, location, *settings, report);
    fill_counts(store, report);
  } catch (const sql::DamagedDatabase& e) {
    report.problems.push_back(e.what());
    damaged = true;
  }
  if (!options.repair || report.problems.empty()) {
    report.healthy_after = report.problems.empty();
    return report;
  }

  if (damaged) {
    rebuild_from_sources(location, settings, options, report);
  } else {
    IndexLock lock(location, options.wait_for_lock);
    ChunkStore store(location.database(), false);
    const bool fts_damaged = std::any_of(report.problems.begin(), report.problems.end(),
                                         [](const std::string& p) { return p.find("full-text") != std::string::npos; });
    if (fts_damaged) {
      store.rebuild_keyword_index();
      report.repairs.push_back("rebuilt the full-text index from the chunks");
    }
    if (!redo.empty()) {
      store.remove_files(redo);
      report.repairs.push_back(
          cat("dropped ", redo.size(), " inconsistent file(s); the next `ksearch index` reads them again"));
    }
    if (store.delete_orphan_vectors() > 0) report.repairs.push_back("deleted vectors without a chunk");
    if (!settings->model_id.empty()) {
      auto index = rebuild_vectors(store, settings->dimension, settings->index_spec);
      save_vectors(*index, store, location);
      report.vector_file_count = index->size();
      report.repairs.push_back(cat("rebuilt the vector file from ", index->size(), " stored vectors"));
    }
  }
  DoctorReport after;
  const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
  check_database(store, after);
  report.healthy_after = after.problems.empty();
  fill_counts(store, report);
  return report;
}

}  // namespace ksearch
